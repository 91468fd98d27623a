//! # stockdata-pacing-redis
//!
//! Pacing shared across processes through Redis (issue #18; being built).
