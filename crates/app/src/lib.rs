//! # stockdata-app
//!
//! The composition root: the only crate that knows which adapters exist. It holds the typed
//! [`config`], the [`StockData`] builder other services embed, the fetchers
//! ([`PriceFetcher`], [`HistoricalDataFetcher`], [`NewsFetcher`]), the [`StockDataAgent`],
//! and [`logging`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use stockdata_app::{StockData, config};
//! use stockdata_app::domain::Symbol;
//!
//! let config = config::load(&config::ConfigSources::from_process(None))?;
//! let stockdata = StockData::builder().config(config).build()?;
//! let report = stockdata.prices().quote(&Symbol::parse("AAPL")?).await;
//! println!("{:?} via {:?}", report.result, report.trail);
//! # Ok(()) }
//! ```

pub mod agent;
pub mod brief;
mod builder;
pub mod config;
pub mod fetch;
pub mod logging;
pub mod plan;
pub mod records;
pub mod registry;
pub mod serve;
pub mod stream;
pub mod synthetic;
pub mod text;
pub mod watchlist;

pub use agent::{AgentReport, RunStats, StockDataAgent, SymbolReport};
pub use builder::{ProviderStatus, StockData, StockDataBuilder};
pub use fetch::{
    Attempt, HistoricalDataFetcher, NewsFetcher, NewsReport, Outcome, PriceFetcher, Report, Series,
};
pub use stockdata_adapters_http as adapters;
pub use stockdata_domain as domain;
pub use stockdata_ports as ports;
pub use tokio_util::sync::CancellationToken;
