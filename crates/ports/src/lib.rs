//! # stockdata-ports
//!
//! The async traits the stockdata core needs from the outside world: sources of quotes, bars and
//! news, live streams ([`stream::StreamSource`]), a store that keeps what was fetched ([`Store`]),
//! a clock, and where provider budgets are kept ([`pacing::Pacing`]). Adapters (HTTP clients, the
//! sandbox, SQLite, Redis, a host's own code, test fakes) implement them; the core only ever sees
//! these traits and domain types.
//!
//! ## The error contract
//! Every method returns [`FetchError`]. Whatever the provider, an adapter MUST map:
//!
//! | situation | variant |
//! |---|---|
//! | too many requests now (burst, per-minute limit, HTTP 429) | `RateLimited { retry_after }` |
//! | the day's (or period's) quota is used up | `QuotaExhausted { resets_at }` |
//! | missing, wrong or revoked credentials | `Unauthorized` |
//! | the plan or feed does not cover it (premium endpoint, SIP feed) | `EntitlementDenied` |
//! | the provider does not know the symbol | `UnknownSymbol` |
//! | the symbol is known but nothing lies in the range | `NoData` |
//! | cannot be served as asked (interval unsupported, range too long) | `InvalidRequest` |
//! | timeout / connection failure / 5xx | `Timeout` / `Transport` / `ProviderUnavailable` |
//! | the body does not have the documented shape | `Malformed` |
//!
//! This is what lets the core retry and fail over without knowing any provider.

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

mod store;

#[cfg(feature = "conformance")]
pub mod conformance;
pub mod pacing;
pub mod stream;

use std::fmt::Debug;
use std::time::Duration;

use async_trait::async_trait;
use stockdata_domain::{
    Adjustment, Bar, BarQuery, BatchBarQuery, FetchError, Interval, NewsArticle, NewsQuery,
    ProviderId, Quote, Symbol, SymbolResult, Timestamp,
};
pub use store::{
    BarsWrite, Dataset, FetchLogEntry, NewsWrite, SeriesKey, SeriesSummary, Store, StoreError,
    StoreStats, StoredKind,
};

/// What a source can do, so the core can plan requests instead of discovering limits by failing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// Bar intervals served (empty for quote and news sources).
    pub intervals: Vec<Interval>,
    /// How far back history reaches, when limited.
    pub max_history: Option<Duration>,
    /// The longest range one request may cover, when limited (the core splits longer ranges).
    pub max_range_per_request: Option<Duration>,
    /// Records one page holds, when the provider pages.
    pub page_size: Option<usize>,
    /// How many symbols one request may carry (1 for single-symbol endpoints).
    pub max_symbols_per_request: usize,
    /// The adjustments served exactly as asked for daily and longer bars (Finnhub: split
    /// only; Alpha Vantage: raw and all).
    pub adjustments: Vec<Adjustment>,
    /// The adjustments served exactly as asked for intraday bars.
    pub intraday_adjustments: Vec<Adjustment>,
}

impl Capabilities {
    /// A single-symbol source with no documented limits.
    #[must_use]
    pub fn single_symbol() -> Self {
        Self {
            intervals: Vec::new(),
            max_history: None,
            max_range_per_request: None,
            page_size: None,
            max_symbols_per_request: 1,
            adjustments: Adjustment::EVERY.to_vec(),
            intraday_adjustments: Adjustment::EVERY.to_vec(),
        }
    }

    /// Whether `interval` is served.
    #[must_use]
    pub fn supports(&self, interval: Interval) -> bool {
        self.intervals.contains(&interval)
    }

    /// The adjustments served exactly as asked for `interval`.
    #[must_use]
    pub fn adjustments_for(&self, interval: Interval) -> &[Adjustment] {
        if interval.is_intraday() {
            &self.intraday_adjustments
        } else {
            &self.adjustments
        }
    }
}

/// Latest quotes.
#[async_trait]
pub trait QuoteSource: Send + Sync + Debug {
    /// The provider answering.
    fn provider(&self) -> ProviderId;

    /// What this source can do.
    fn capabilities(&self) -> &Capabilities;

    /// The latest quote for `symbol`.
    ///
    /// # Errors
    /// Per the table in the crate docs. In particular: `UnknownSymbol` when the provider does
    /// not know `symbol` (including "empty" success bodies such as all-zero quotes);
    /// `RateLimited` for throttling; `QuotaExhausted` for a used-up daily quota;
    /// `Unauthorized` for bad credentials; `EntitlementDenied` when the plan does not cover the
    /// symbol or feed; `Malformed` for a body of the wrong shape.
    async fn quote(&self, symbol: &Symbol) -> Result<Quote, FetchError>;

    /// The latest quotes for many symbols: exactly one [`SymbolResult`] per entry of
    /// `symbols`, in order, each with data or its own typed error. One symbol's failure never
    /// fails the others, and no symbol is ever silently missing.
    ///
    /// The default fans out to [`quote`](Self::quote) one symbol at a time; sources whose
    /// provider answers many symbols per request override it and split `symbols` into as few
    /// requests as [`Capabilities::max_symbols_per_request`] allows.
    async fn quotes(&self, symbols: &[Symbol]) -> Vec<SymbolResult<Quote>> {
        let mut out = Vec::with_capacity(symbols.len());
        for symbol in symbols {
            out.push(SymbolResult {
                symbol: symbol.clone(),
                result: self.quote(symbol).await,
            });
        }
        out
    }
}

/// Historical OHLCV bars.
#[async_trait]
pub trait BarSource: Send + Sync + Debug {
    /// The provider answering.
    fn provider(&self) -> ProviderId;

    /// What this source can do: intervals, history depth, range per request, page size.
    fn capabilities(&self) -> &Capabilities;

    /// Every bar of `query.symbol` at `query.interval` whose start lies in `query.range`,
    /// oldest first. An adapter follows the provider's pagination to the end: it never returns
    /// a silently truncated series.
    ///
    /// # Errors
    /// Per the table in the crate docs. In particular: `NoData` when the symbol is known but no
    /// bar lies in the range (an empty series is never `Ok`); `UnknownSymbol` for an unknown
    /// symbol; `InvalidRequest` for an interval outside [`Capabilities::intervals`];
    /// `EntitlementDenied` for premium endpoints or feeds; `RateLimited` / `QuotaExhausted` /
    /// `Unauthorized` / `Malformed` as for quotes.
    async fn bars(&self, query: &BarQuery) -> Result<Vec<Bar>, FetchError>;

    /// Bars for many symbols over one range: exactly one [`SymbolResult`] per entry of
    /// `query.symbols`, in order, with the same per-symbol contract as [`bars`](Self::bars).
    ///
    /// The default fans out to [`bars`](Self::bars) one symbol at a time; multi-symbol
    /// providers override it.
    async fn bars_batch(&self, query: &BatchBarQuery) -> Vec<SymbolResult<Vec<Bar>>> {
        let mut out = Vec::with_capacity(query.symbols.len());
        for symbol in &query.symbols {
            out.push(SymbolResult {
                symbol: symbol.clone(),
                result: self.bars(&query.for_symbol(symbol)).await,
            });
        }
        out
    }
}

/// Company news.
#[async_trait]
pub trait NewsSource: Send + Sync + Debug {
    /// The provider answering.
    fn provider(&self) -> ProviderId;

    /// What this source can do: page size, symbols per request.
    fn capabilities(&self) -> &Capabilities;

    /// Up to `query.limit` articles about any of `query.symbols` published in `query.range`,
    /// newest first. No articles is `Ok(vec![])`: quiet days are normal.
    ///
    /// # Errors
    /// Per the table in the crate docs: `UnknownSymbol` where the provider says so explicitly;
    /// `RateLimited`, `QuotaExhausted`, `Unauthorized`, `EntitlementDenied`, `Malformed` as for
    /// quotes.
    async fn news(&self, query: &NewsQuery) -> Result<Vec<NewsArticle>, FetchError>;
}

/// The current instant, injectable so tests and the sandbox control time.
pub trait Clock: Send + Sync + Debug {
    /// Now, in UTC.
    fn now(&self) -> Timestamp;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that always says the same instant: for tests and reproducible runs.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}
