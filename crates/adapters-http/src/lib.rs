//! # stockdata-adapters-http
//!
//! reqwest clients implementing the stockdata ports. One module per provider, each the same
//! shape: `raw` (a client whose methods mirror the provider's endpoints, with wire types) and
//! the port implementation in `mod.rs` ("build query → call raw → parse into domain").
//! Every provider goes through the one [`transport`]: timeouts, pacing, retries, tracing and
//! redaction live there and nowhere else. Live streams (Alpaca, Finnhub) share the websocket
//! plumbing of [`stream`] the same way.

// Panicking code on outside input is forbidden outside tests: headers, bodies and numbers come
// from providers that may be hostile (issue #12; the fuzz targets in crates/fuzz hold the line).
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::panic,
    clippy::unreachable,
    clippy::get_unwrap,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::float_cmp,
    clippy::allow_attributes_without_reason
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::string_slice,
        clippy::panic,
        reason = "unit tests fail by panicking"
    )
)]

pub mod alpaca;
pub mod alpha_vantage;
pub mod batch;
pub mod finnhub;
pub mod numbers;
pub mod provider;
mod series;
pub mod serverless;
pub mod stream;
pub mod transport;
