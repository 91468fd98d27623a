//! The store port: what was fetched, kept, so history is bought once and read offline.
//!
//! A [`Store`] keeps bar series, the latest quote per symbol and news articles, each with its
//! provenance, and a log of what was fetched when from whom. Two rules hold for every adapter:
//!
//! - **Series never mix.** A series is keyed by symbol, interval, adjustment and [`Dataset`]:
//!   raw bars are never answered for an adjusted query, and the sandbox's synthetic data never
//!   for market data (nor the other way round).
//! - **Coverage is explicit.** A write records the span it answered for, bars or not, so a
//!   holiday or a quiet stretch is not fetched again, and a span never written is never
//!   mistaken for an empty one. Judging which missing spans are worth fetching (the trading
//!   calendar) is the caller's business, not the store's.
//!
//! `crate::conformance` (feature `conformance`) is the suite every adapter must pass.

use std::fmt::Debug;

use async_trait::async_trait;
use stockdata_domain::{
    Adjustment, Bar, Interval, NewsArticle, ProviderId, Quote, Symbol, TimeRange, Timestamp,
};

/// Market data, or the sandbox's synthetic data. The two never share a series, a quote or an
/// article, even for the same symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dataset {
    /// Data from real providers.
    Market,
    /// Data made up by the sandbox simulator (provenance `synthetic`).
    Sandbox,
}

impl Dataset {
    /// `market` or `sandbox`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Dataset::Market => "market",
            Dataset::Sandbox => "sandbox",
        }
    }

    /// The dataset a record with this `synthetic` flag belongs to.
    #[must_use]
    pub const fn of_synthetic(synthetic: bool) -> Self {
        if synthetic {
            Dataset::Sandbox
        } else {
            Dataset::Market
        }
    }
}

/// One stored bar series.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    /// The symbol.
    pub symbol: Symbol,
    /// Bar width.
    pub interval: Interval,
    /// Corporate-action adjustment of the prices.
    pub adjustment: Adjustment,
    /// Market or sandbox data.
    pub dataset: Dataset,
}

/// Bars fetched for one series over one span, written in one transaction.
#[derive(Debug, Clone, Copy)]
pub struct BarsWrite<'a> {
    /// The series.
    pub key: &'a SeriesKey,
    /// The instants the fetch answered for. Recorded as covered whether or not bars lie in it,
    /// so a later read does not fetch it again. Callers leave out what is not final yet (a
    /// session still trading, the future).
    pub covered: TimeRange,
    /// The bars, any order; a bar whose start is already stored replaces it.
    pub bars: &'a [Bar],
    /// Drop every bar and every covered span the series held first: the provider restated
    /// history (a split in an adjusted series, a corrected print).
    pub replace: bool,
    /// Who answered, for the fetch log.
    pub provider: &'a ProviderId,
    /// When the answer came, for the fetch log.
    pub fetched_at: Timestamp,
}

/// News fetched for some symbols over one span, written in one transaction.
#[derive(Debug, Clone, Copy)]
pub struct NewsWrite<'a> {
    /// Market or sandbox data.
    pub dataset: Dataset,
    /// The symbols asked about: each gets `covered` recorded.
    pub symbols: &'a [Symbol],
    /// The publication instants the fetch answered for completely.
    pub covered: TimeRange,
    /// The articles, stored once per id (a repeated id updates the stored article).
    pub articles: &'a [NewsArticle],
    /// Who answered, for the fetch log.
    pub provider: &'a ProviderId,
    /// When the answer came, for the fetch log.
    pub fetched_at: Timestamp,
}

/// What a fetch log entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoredKind {
    /// A bar series.
    Bars,
    /// Latest quotes.
    Quotes,
    /// News articles.
    News,
}

impl StoredKind {
    /// `bars`, `quotes` or `news`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            StoredKind::Bars => "bars",
            StoredKind::Quotes => "quotes",
            StoredKind::News => "news",
        }
    }
}

/// One line of the log of what was fetched when from whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchLogEntry {
    /// What was fetched.
    pub kind: StoredKind,
    /// Market or sandbox data.
    pub dataset: Dataset,
    /// The symbol (the first one, for a news fetch about several).
    pub symbol: Symbol,
    /// The bar width, for bars.
    pub interval: Option<Interval>,
    /// The span answered for, for bars and news.
    pub covered: Option<TimeRange>,
    /// Who answered.
    pub provider: ProviderId,
    /// When.
    pub fetched_at: Timestamp,
    /// Records written.
    pub records: u64,
    /// Whether the write replaced the whole series (restated history).
    pub replaced: bool,
}

/// One stored series, summarized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesSummary {
    /// The series.
    pub key: SeriesKey,
    /// Bars stored.
    pub bars: u64,
    /// The oldest bar's start.
    pub first: Option<Timestamp>,
    /// The newest bar's start.
    pub last: Option<Timestamp>,
    /// The most recent write.
    pub last_fetched: Option<Timestamp>,
}

/// Totals over the whole store.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoreStats {
    /// Where the store lives (a path, or `:memory:`).
    pub location: String,
    /// Size on disk, in bytes (0 in memory).
    pub bytes: u64,
    /// Bar series.
    pub series: u64,
    /// Bars over all series.
    pub bars: u64,
    /// Latest quotes kept.
    pub quotes: u64,
    /// Articles kept.
    pub articles: u64,
    /// Fetch log entries.
    pub fetches: u64,
    /// The schema version the store is at.
    pub schema_version: u32,
}

/// A store that cannot answer or write. Every message says what to do next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The path holds something else: another program's database, or not a database at all.
    /// Nothing was written to it.
    #[error(
        "{path} is not a stockdata store ({reason}); it was left untouched: pass another \
         path with --store or [store] path, or move the file away"
    )]
    Foreign {
        /// The store's path.
        path: String,
        /// What was found there instead.
        reason: String,
    },
    /// A newer stockdata wrote the store.
    #[error(
        "the store at {path} has schema version {found}, newer than this stockdata knows \
         ({known}): upgrade stockdata, or pass another path with --store"
    )]
    TooNew {
        /// The store's path.
        path: String,
        /// The version found.
        found: u32,
        /// The newest version this build knows.
        known: u32,
    },
    /// The store failed its integrity check or a read found a damaged page.
    #[error(
        "the store at {path} is damaged ({detail}): move it away and run `stockdata sync` \
         again to rebuild it"
    )]
    Corrupt {
        /// The store's path.
        path: String,
        /// What the database engine said.
        detail: String,
    },
    /// Another process kept the store locked longer than the busy timeout.
    #[error(
        "the store at {path} stayed locked by another process for {waited_ms} ms: retry \
         when it is done, or raise [store] busy_timeout_ms"
    )]
    Busy {
        /// The store's path.
        path: String,
        /// How long this process waited.
        waited_ms: u64,
    },
    /// The file system or the database engine failed.
    #[error("the store at {path} failed: {detail}")]
    Io {
        /// The store's path.
        path: String,
        /// What failed.
        detail: String,
    },
}

/// Where fetched data is kept. See the module docs for the rules every adapter keeps.
#[async_trait]
pub trait Store: Send + Sync + Debug {
    /// Stored bars of `key` whose start lies in `range`, oldest first, with their provenance
    /// (`synthetic` set for [`Dataset::Sandbox`]).
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    async fn bars(&self, key: &SeriesKey, range: TimeRange) -> Result<Vec<Bar>, StoreError>;

    /// The spans of `key` written so far, sorted, with touching or overlapping spans merged.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    async fn coverage(&self, key: &SeriesKey) -> Result<Vec<TimeRange>, StoreError>;

    /// The newest stored bar of `key` whose start lies before `before`.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    async fn last_bar_before(
        &self,
        key: &SeriesKey,
        before: Timestamp,
    ) -> Result<Option<Bar>, StoreError>;

    /// Writes bars and their covered span in one transaction and logs the fetch: a bar whose
    /// start is stored replaces it, so repeating a write (two processes syncing the same
    /// symbol) leaves one row per start. With `replace`, the series' bars and coverage are
    /// dropped first, in the same transaction.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be written; nothing of the write is kept then.
    async fn write_bars(&self, write: BarsWrite<'_>) -> Result<(), StoreError>;

    /// Keeps `quotes` as the latest quote of each symbol (a stored quote with a later
    /// `fetched_at` is kept instead), and logs the fetch.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be written.
    async fn write_quotes(&self, dataset: Dataset, quotes: &[Quote]) -> Result<(), StoreError>;

    /// The latest quote kept for `symbol`.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    async fn quote(&self, dataset: Dataset, symbol: &Symbol) -> Result<Option<Quote>, StoreError>;

    /// Keeps articles by id and the covered span for each symbol, in one transaction, and logs
    /// the fetch.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be written; nothing of the write is kept then.
    async fn write_news(&self, write: NewsWrite<'_>) -> Result<(), StoreError>;

    /// Up to `limit` kept articles about any of `symbols` published in `range`, newest first
    /// (ties by id), each once.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    async fn news(
        &self,
        dataset: Dataset,
        symbols: &[Symbol],
        range: TimeRange,
        limit: usize,
    ) -> Result<Vec<NewsArticle>, StoreError>;

    /// The publication spans written for `symbol` so far, sorted and merged.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    async fn news_coverage(
        &self,
        dataset: Dataset,
        symbol: &Symbol,
    ) -> Result<Vec<TimeRange>, StoreError>;

    /// Every stored series, summarized, ordered by key.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    async fn series(&self) -> Result<Vec<SeriesSummary>, StoreError>;

    /// The `limit` most recent fetch log entries, newest first.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    async fn fetch_log(&self, limit: usize) -> Result<Vec<FetchLogEntry>, StoreError>;

    /// Totals over the whole store.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    async fn stats(&self) -> Result<StoreStats, StoreError>;

    /// Checks the store's integrity and gives back the space of deleted rows.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when the integrity check fails; other [`StoreError`]s when the
    /// store cannot be written.
    async fn vacuum(&self) -> Result<(), StoreError>;
}
