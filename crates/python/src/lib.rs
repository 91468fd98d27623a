//! # stockdata-python
//!
//! The `stockdata._native` extension module behind `import stockdata`: bindings only, no rule
//! of its own. [`client`] is the `StockData` class (config, sandbox, the four calls and their
//! awaitable twins), [`convert`] turns domain values into the Python package's dataclasses and
//! Python values into domain ones, and [`source`] implements the quote, bar and news ports over
//! a Python object, so a provider written in Python is routed, failed over and trailed like a
//! built-in adapter. The dataclasses, exceptions and pandas/polars conversions are Python
//! (`python/stockdata/`): this crate constructs them.
//!
//! One tokio runtime per process (pyo3-async-runtimes'): sync calls block on it with the
//! interpreter released; awaitable calls run on it and resolve an asyncio future.

// Panicking code on outside input is forbidden outside tests: every argument comes from Python
// code we do not control, and a panic in an extension module is an interpreter-level error.
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

mod client;
mod convert;
mod source;

use pyo3::prelude::*;

/// The compiled half of `stockdata`: import `stockdata`, not this module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<client::Client>()?;
    m.add_class::<convert::NativeSeries>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
