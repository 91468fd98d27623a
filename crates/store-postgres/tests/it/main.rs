//! The PostgreSQL store's tests: one binary (see STYLE.md), one module per feature. Each test
//! gets a database of its own on the process's private server (`testing::TestServer`), and is
//! skipped (or fails, with `CI` set) when PostgreSQL is not installed.

mod atomic;
mod bulk;
mod concurrency;
mod conformance;
mod exact;
mod locks;
mod schema;
mod support;
