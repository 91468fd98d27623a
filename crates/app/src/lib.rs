//! # stockdata-app
//!
//! The composition root: the only crate that knows which adapters exist. It will hold the typed
//! config, the `StockData` builder other services embed, the fetchers and the `StockDataAgent`.

pub use stockdata_adapters_http as adapters;
pub use stockdata_domain as domain;
pub use stockdata_ports as ports;
