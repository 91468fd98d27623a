//! # stockdata-store-common
//!
//! What the [`Store`](stockdata_ports::Store) adapters (`stockdata-store-sqlite`,
//! `stockdata-store-postgres`) encode the same way, written once:
//!
//! - [`codec`]: instants as `(seconds, nanoseconds)` pairs that order like the instants, and
//!   the text and small-integer codes of datasets, intervals, adjustments, fetch kinds,
//!   sentiment labels and symbols, both ways. Reading refuses anything these functions would
//!   not have written ([`BadValue`]).
//! - [`rows`]: the backend-neutral parts of a write's encoded job: a series key in its column
//!   form ([`rows::SeriesRow`]), the provider names a write refers to by index
//!   ([`rows::Names`]), its fetch log lines ([`rows::LogRow`], which decides what one write
//!   logs), and provider names interned for the life of the process ([`rows::interned`]).
//!
//! Numbers (decimals, counts) and everything about SQL, connections and transactions stay in
//! each adapter: their column types differ. This crate does no I/O and depends on the domain
//! and ports only.

// Panicking code on outside input is forbidden outside tests: what a database answers is
// outside input too (issue #12).
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
        clippy::panic,
        reason = "unit tests fail by panicking"
    )
)]

pub mod codec;
pub mod rows;

use std::fmt;

/// A stored value that is not one the store writes: the detail says which and why. Each
/// adapter reports it as [`StoreError::Corrupt`](stockdata_ports::StoreError::Corrupt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadValue(pub String);

impl fmt::Display for BadValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadValue {}
