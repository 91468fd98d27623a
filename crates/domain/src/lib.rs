//! # stockdata-domain
//!
//! The pure core of stockdata: validated symbols, intervals and ranges, quotes, bars and news
//! articles priced in exact decimals and stamped in UTC, live stream events, their provenance, the
//! NYSE trading calendar, data-quality checks, and the one error taxonomy every port shares.
//!
//! This crate does no I/O and knows no async runtime, no HTTP and no provider JSON.

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

mod batch;
pub mod calendar;
mod error;
mod interval;
mod market;
pub mod news;
mod provenance;
pub mod quality;
mod query;
mod range;
pub mod stream;
mod symbol;
pub mod time;

pub use batch::{BatchBarQuery, SymbolResult};
pub use error::{ErrorKind, FetchError};
pub use interval::{Interval, IntervalError};
pub use market::{
    Bar, NewsArticle, Quote, Sentiment, SentimentLabel, TickerSentiment, Volume, stable_hash_hex,
};
pub use provenance::{Adjustment, AdjustmentError, Provenance, ProviderId};
pub use query::{BarQuery, NewsQuery};
pub use range::{DateRange, RangeError, TimeRange};
pub use symbol::{MAX_SYMBOL_LEN, Symbol, SymbolError};

/// Dates and instants.
pub use jiff::{Timestamp, civil::Date};
/// Exact decimal prices (never `f64`).
pub use rust_decimal::Decimal;
