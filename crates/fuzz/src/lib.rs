//! # stockdata-fuzz
//!
//! Fuzz targets for everything stockdata reads from outside, and the engine that runs them on
//! the stable toolchain (`cargo xtask fuzz`, or `cargo run -p stockdata-fuzz -- --help`).
//!
//! A target ([`Target`]) is a name and a `check` function: it takes raw bytes, feeds them to the
//! same function the product uses (a provider body parser and its domain mapping, a header
//! parser, the decimal reader, URL redaction, config loading from `stockdata.toml` text or an
//! environment map, the watchlist parser, the `serve` router driven in-process over fake ports)
//! and returns `Err` when a property is violated. A panic anywhere is always a failure.
//! [`TARGETS`] lists them all.
//!
//! The engine ([`engine`]) first replays the target's corpus (`corpus/<name>/`, committed:
//! real provider samples, hostile values, and every crash found so far under
//! `corpus/<name>/regressions/`), then mutates those seeds for a bounded time with proptest
//! strategies ([`mutate`]): byte flips and splices, and JSON-aware swaps of numbers and strings
//! for hostile tokens (`1e300`, `NaN`, `Decimal::MAX + 1`, the year 9999, config keys, Unicode
//! whitespace, query parameters, a planted secret).
//! proptest shrinks a failing case to its smallest mutation list before it is reported.
//!
//! ## Adding a target
//! 1. Write `fn check(input: &[u8]) -> Result<(), String>` and a `pub(crate) const NAME: Target`
//!    in the module of its area under `targets/` (or a new module there).
//! 2. Add the const to [`TARGETS`] in `targets/mod.rs`.
//! 3. Put a few seed files in `corpus/<name>/`.
//!
//! The crate's tests check that every target has a corpus and every corpus a target.

pub mod engine;
pub mod mutate;
pub mod targets;

pub use targets::{TARGETS, Target};
