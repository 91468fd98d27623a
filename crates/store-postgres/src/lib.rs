//! # stockdata-store-postgres
//!
//! The store port ([`stockdata_ports::Store`]) on PostgreSQL (issue #18; being built).
