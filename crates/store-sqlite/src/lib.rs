//! # stockdata-store-sqlite
//!
//! [`SqliteStore`], the [`Store`] port over one SQLite file (or memory): bar series, latest
//! quotes and news articles kept with their provenance, the spans each write covered, and a
//! log of what was fetched when from whom.
//!
//! ## The file
//! - The schema is the SQL files in `migrations/` (embedded at build time), applied in order
//!   inside one `BEGIN IMMEDIATE` transaction and counted by `PRAGMA user_version`
//!   ([`SCHEMA_VERSION`]). `PRAGMA application_id` is [`APPLICATION_ID`] (`"STKD"`), which is
//!   how a stockdata store is told from any other SQLite file. `migrations/0001_init.sql`
//!   documents every table and how values are encoded (decimals with their scale, instants to
//!   the nanosecond, provenance).
//! - Opening never harms what is there: a file that is not an SQLite database, or an SQLite
//!   database of another program, is refused as [`StoreError::Foreign`] and left
//!   byte-identical (it is read through an immutable read-only connection first); a store of a
//!   newer stockdata is [`StoreError::TooNew`]; a damaged one is [`StoreError::Corrupt`]. A
//!   missing file (and its folders) or an empty one is created. Two processes opening the same
//!   fresh path at once initialize it once: the second waits for the first's transaction.
//! - The journal is WAL with `synchronous=NORMAL`: readers never wait for the writer, and a
//!   commit survives a crash of the process (a power cut may lose the last commits, never
//!   consistency). Foreign keys are enforced.
//!
//! ## Concurrency
//! One connection per [`SqliteStore`] (clones share it), used from tokio's blocking pool
//! (`spawn_blocking`), so SQLite never blocks an async worker. Every write is one
//! `BEGIN IMMEDIATE` transaction with upserts: concurrent writers (threads or processes, each
//! with its own store) queue on SQLite's lock for up to the busy timeout
//! ([`SqliteOptions::busy_timeout`]), then get [`StoreError::Busy`]; repeated or overlapping
//! writes never duplicate a row.

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

mod codec;
mod error;
mod open;
mod read;
mod write;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rusqlite::Connection;
use stockdata_domain::{Bar, NewsArticle, Quote, Symbol, TimeRange, Timestamp};
use stockdata_ports::{
    BarsWrite, Dataset, FetchLogEntry, NewsWrite, SeriesKey, SeriesSummary, Store, StoreError,
    StoreStats,
};

use crate::error::{Ctx, Fail};

/// `PRAGMA application_id` of a stockdata store: `0x53544B44`, the ASCII bytes `STKD`.
pub const APPLICATION_ID: i32 = 0x5354_4B44;

/// The schema version this build writes (`PRAGMA user_version`): the number of migrations.
pub const SCHEMA_VERSION: u32 = 2;

/// How to open a store file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// How long an operation waits for another connection's write lock before it fails with
    /// [`StoreError::Busy`]. Default 10 s.
    pub busy_timeout: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            busy_timeout: Duration::from_secs(10),
        }
    }
}

impl SqliteOptions {
    /// The same options with another busy timeout.
    #[must_use]
    pub fn with_busy_timeout(mut self, busy_timeout: Duration) -> Self {
        self.busy_timeout = busy_timeout;
        self
    }
}

/// The [`Store`] over SQLite. Cloning is cheap and shares the connection.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    conn: Mutex<Connection>,
    ctx: Ctx,
    path: Option<PathBuf>,
}

impl SqliteStore {
    /// Opens the store at `path`, creating the file and its folders when missing and the
    /// schema when the file is new or empty, migrating an older store.
    ///
    /// Blocking (file system and SQLite); call it from a blocking context or at start-up.
    ///
    /// # Errors
    /// [`StoreError::Foreign`] for a directory, a file that is not an SQLite database or an
    /// SQLite database of another program (all left untouched); [`StoreError::TooNew`] for a
    /// store written by a newer schema; [`StoreError::Corrupt`] for a damaged database;
    /// [`StoreError::Busy`] when another process holds the lock past the busy timeout;
    /// [`StoreError::Io`] when the file or its folder cannot be created or read.
    pub fn open(path: &Path, options: &SqliteOptions) -> Result<Self, StoreError> {
        let (conn, ctx) = open::open_file(path, options)?;
        Ok(Self::new(conn, ctx, Some(path.to_owned())))
    }

    /// A fresh, empty store in memory, gone when the last clone is dropped.
    ///
    /// # Errors
    /// [`StoreError::Io`] when SQLite cannot allocate it.
    pub fn in_memory() -> Result<Self, StoreError> {
        let (conn, ctx) = open::open_memory(&SqliteOptions::default())?;
        Ok(Self::new(conn, ctx, None))
    }

    fn new(conn: Connection, ctx: Ctx, path: Option<PathBuf>) -> Self {
        Self {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                ctx,
                path,
            }),
        }
    }

    /// The file's path, `None` in memory.
    #[must_use]
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// Runs `f` on the connection on tokio's blocking pool (inline when called outside a
    /// tokio runtime), turning its failure into a [`StoreError`] that names the store.
    async fn call<T, F>(&self, op: &'static str, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &Inner) -> Result<T, Fail> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let job = move || {
            let started = Instant::now();
            // A panic while the lock was held cannot leave a transaction open (rusqlite rolls
            // back on drop), so a poisoned connection is still a good one.
            let mut conn = inner.conn.lock().unwrap_or_else(PoisonError::into_inner);
            let result = f(&mut conn, &inner).map_err(|e| e.into_store(&inner.ctx));
            tracing::debug!(
                store = %inner.ctx.location,
                op,
                elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
                ok = result.is_ok(),
                "store operation"
            );
            result
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => handle.spawn_blocking(job).await.unwrap_or_else(|e| {
                Err(self
                    .inner
                    .ctx
                    .io(format!("the store's worker thread stopped: {e}")))
            }),
            Err(_) => job(),
        }
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn bars(&self, key: &SeriesKey, range: TimeRange) -> Result<Vec<Bar>, StoreError> {
        let key = key.clone();
        self.call("bars", move |conn, _| read::bars(conn, &key, range))
            .await
    }

    async fn coverage(&self, key: &SeriesKey) -> Result<Vec<TimeRange>, StoreError> {
        let key = key.clone();
        self.call("coverage", move |conn, _| read::coverage(conn, &key))
            .await
    }

    async fn last_bar_before(
        &self,
        key: &SeriesKey,
        before: Timestamp,
    ) -> Result<Option<Bar>, StoreError> {
        let key = key.clone();
        self.call("last_bar_before", move |conn, _| {
            read::last_bar_before(conn, &key, before)
        })
        .await
    }

    async fn write_bars(&self, write: BarsWrite<'_>) -> Result<(), StoreError> {
        let job = write::BarsJob::new(&write);
        self.call("write_bars", move |conn, _| write::write_bars(conn, &job))
            .await
    }

    async fn write_quotes(&self, dataset: Dataset, quotes: &[Quote]) -> Result<(), StoreError> {
        let job = write::QuotesJob::new(dataset, quotes);
        self.call("write_quotes", move |conn, _| {
            write::write_quotes(conn, &job)
        })
        .await
    }

    async fn quote(&self, dataset: Dataset, symbol: &Symbol) -> Result<Option<Quote>, StoreError> {
        let symbol = symbol.clone();
        self.call("quote", move |conn, _| read::quote(conn, dataset, &symbol))
            .await
    }

    async fn write_news(&self, write: NewsWrite<'_>) -> Result<(), StoreError> {
        let job = write::NewsJob::new(&write);
        self.call("write_news", move |conn, _| write::write_news(conn, &job))
            .await
    }

    async fn news(
        &self,
        dataset: Dataset,
        symbols: &[Symbol],
        range: TimeRange,
        limit: usize,
    ) -> Result<Vec<NewsArticle>, StoreError> {
        let symbols = symbols.to_vec();
        self.call("news", move |conn, _| {
            read::news(conn, dataset, &symbols, range, limit)
        })
        .await
    }

    async fn news_coverage(
        &self,
        dataset: Dataset,
        symbol: &Symbol,
    ) -> Result<Vec<TimeRange>, StoreError> {
        let symbol = symbol.clone();
        self.call("news_coverage", move |conn, _| {
            read::news_coverage(conn, dataset, &symbol)
        })
        .await
    }

    async fn series(&self) -> Result<Vec<SeriesSummary>, StoreError> {
        self.call("series", |conn, _| read::series(conn)).await
    }

    async fn fetch_log(&self, limit: usize) -> Result<Vec<FetchLogEntry>, StoreError> {
        self.call("fetch_log", move |conn, _| read::fetch_log(conn, limit))
            .await
    }

    async fn stats(&self) -> Result<StoreStats, StoreError> {
        self.call("stats", |conn, inner| {
            read::stats(conn, &inner.ctx.location, inner.path.as_deref())
        })
        .await
    }

    async fn vacuum(&self) -> Result<(), StoreError> {
        self.call("vacuum", |conn, inner| {
            read::vacuum(conn, inner.path.is_some())
        })
        .await
    }
}
