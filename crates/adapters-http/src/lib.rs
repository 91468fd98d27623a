//! # stockdata-adapters-http
//!
//! reqwest clients implementing the stockdata ports. One module per provider, each the same
//! shape: `raw` (a client whose methods mirror the provider's endpoints, with wire types) and
//! the port implementation in `mod.rs` ("build query → call raw → parse into domain").
//! Every provider goes through the one [`transport`]: timeouts, pacing, retries, tracing and
//! redaction live there and nowhere else.

pub mod alpaca;
pub mod alpha_vantage;
pub mod batch;
pub mod finnhub;
mod numbers;
pub mod provider;
mod series;
pub mod serverless;
pub mod transport;
