//! The SQLite store's tests: one binary (see STYLE.md), one module per feature.

mod atomic;
mod bulk;
mod concurrency;
mod conformance;
mod files;
