//! # stockdata-store-postgres
//!
//! [`PostgresStore`], the [`Store`] port on a PostgreSQL database that several hosts share:
//! bar series, latest quotes and news articles kept with their provenance, the spans each write
//! covered, and a log of what was fetched when from whom. It passes the same conformance suite
//! as the SQLite store (`stockdata_ports::conformance`).
//!
//! ## The database
//! - Everything lives in one schema of its own, `stockdata` unless
//!   [`PostgresOptions::schema`] says otherwise: nothing outside it is ever read or written, so
//!   the database may hold anything else. A schema of that name that holds objects but no
//!   `stockdata_schema` table of ours is refused as [`StoreError::Foreign`] and left untouched;
//!   an empty one (say, made by a DBA for the store's role) is adopted.
//! - The schema is the SQL files in `migrations/` (embedded at build time), applied in order
//!   inside one transaction that first takes `pg_advisory_xact_lock`, so hosts starting at once
//!   migrate once; each file adds a row to `stockdata_schema`, and the highest version is the
//!   store's ([`SCHEMA_VERSION`]). A store migrated by a newer stockdata is
//!   [`StoreError::TooNew`]. `migrations/0001_init.sql` documents every table and how values are
//!   encoded: decimals are `numeric` (which keeps their scale) with a bit for a negative zero,
//!   counts `numeric(20)`, instants a `bigint` of seconds and an `integer` of nanoseconds (which
//!   `timestamptz` could not hold: microseconds, from 4713 BC only).
//!
//! ## Concurrency
//! A pool of connections ([`PostgresOptions::max_connections`]) per store; clones share it.
//! Every write is one READ COMMITTED transaction, so several hosts syncing the same symbols
//! leave one row per bar (the natural keys are unique) and a failed write keeps nothing. A bar
//! write locks its series row first, so writes to one series apply one after the other and the
//! last to commit wins every bar they share, consistently: its bars go in by binary `COPY`
//! when none is stored between its first and last start (a sync's new history), else by
//! `INSERT … ON CONFLICT … DO UPDATE`. Quotes and articles are upserted on their keys. A
//! deadlock or serialization failure is retried a few times; a lock held longer than
//! [`PostgresOptions::busy_timeout`] (the session's `lock_timeout`), or a pool with no free
//! connection for as long, is [`StoreError::Busy`]. Every read is one statement, so it sees
//! one consistent state of the store.
//!
//! Commits do not wait for the server's disk unless [`PostgresOptions::synchronous_commit`]
//! says so: the SQLite store's trade (a crash of the server may lose the last commits, never
//! consistency).
//!
//! ## Connections
//! [`PostgresStore::connect`] takes a libpq-style URL (`postgres://user:password@host:5432/db`)
//! or key-value string (`host=/run/postgresql dbname=market`), as a secret since it may hold a
//! password; errors and [`StoreStats::location`] name the store without it. TLS is left out of
//! this build (it would bring a TLS stack for one connection string option): a URL with
//! `sslmode=require` is refused (as [`StoreError::Io`], saying so); `sslmode=prefer`, the
//! default, connects in plain text. Reach a remote server over a private network, a Unix
//! socket or an SSH tunnel. Behind PgBouncer, use session pooling (statements are prepared
//! per connection).

// Panicking code on outside input is forbidden outside tests: what the database answers is
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
        clippy::string_slice,
        clippy::panic,
        reason = "unit tests fail by panicking"
    )
)]

mod codec;
mod error;
mod migrate;
mod read;
#[cfg(feature = "testing")]
pub mod testing;
mod write;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::str::FromStr as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use deadpool_postgres::{Hook, HookError, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use secrecy::{ExposeSecret as _, SecretString};
use stockdata_domain::{Bar, NewsArticle, ProviderId, Quote, Symbol, TimeRange, Timestamp};
use stockdata_ports::{
    BarsWrite, Dataset, FetchLogEntry, NewsWrite, SeriesKey, SeriesSummary, Store, StoreError,
    StoreStats,
};
use stockdata_store_common::rows::interned;
use tokio::sync::OnceCell;
use tokio_postgres::NoTls;
use tokio_postgres::config::{Host, SslMode};

use crate::error::{Ctx, Fail};

/// The schema version this build writes: the number of files in `migrations/`.
pub const SCHEMA_VERSION: u32 = 2;

/// The PostgreSQL schema a store lives in unless [`PostgresOptions::schema`] says otherwise.
pub const DEFAULT_SCHEMA: &str = "stockdata";

/// Whether `url` names a PostgreSQL database (`postgres://` or `postgresql://`), the URLs
/// [`PostgresStore::connect`] is for.
#[must_use]
pub fn is_postgres_url(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// How to reach and use a store's database.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PostgresOptions {
    /// The schema the store's tables live in: lowercase ASCII letters, digits and `_`, not
    /// starting with a digit, at most 63 bytes. Default [`DEFAULT_SCHEMA`].
    pub schema: String,
    /// Connections kept open at most (each store operation holds one while it runs).
    /// Default 4.
    pub max_connections: usize,
    /// How long an operation waits for a lock another host holds (the session's
    /// `lock_timeout`), or for a free connection of the pool, before it fails with
    /// [`StoreError::Busy`]. Default 10 s.
    pub busy_timeout: Duration,
    /// How long connecting may take, unless the URL says (`connect_timeout`). Default 10 s.
    pub connect_timeout: Duration,
    /// Whether a commit waits for its WAL to reach the server's disk. Default `false`: the
    /// store's sessions run with `synchronous_commit = off`, so a crash of the database server
    /// or its machine may lose the last commits (at most about three `wal_writer_delay`s,
    /// 600 ms by default), never consistency, and a crash of this process loses nothing
    /// committed; the trade the SQLite store makes with `synchronous=NORMAL`, for the same
    /// reason: what a store loses is fetched again, and a sync writes a third faster. `true`
    /// keeps the server's setting.
    pub synchronous_commit: bool,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            schema: DEFAULT_SCHEMA.to_owned(),
            max_connections: 4,
            busy_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            synchronous_commit: false,
        }
    }
}

impl PostgresOptions {
    /// The same options with another schema.
    #[must_use]
    pub fn with_schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// The same options with another pool size (at least 1).
    #[must_use]
    pub fn with_max_connections(mut self, max_connections: usize) -> Self {
        self.max_connections = max_connections.max(1);
        self
    }

    /// The same options with another busy timeout.
    #[must_use]
    pub fn with_busy_timeout(mut self, busy_timeout: Duration) -> Self {
        self.busy_timeout = busy_timeout;
        self
    }

    /// The same options with another connect timeout.
    #[must_use]
    pub fn with_connect_timeout(mut self, connect_timeout: Duration) -> Self {
        self.connect_timeout = connect_timeout;
        self
    }

    /// The same options with commits waiting for the server's disk, or not.
    #[must_use]
    pub fn with_synchronous_commit(mut self, synchronous_commit: bool) -> Self {
        self.synchronous_commit = synchronous_commit;
        self
    }
}

/// The [`Store`] on PostgreSQL. Cloning is cheap and shares the pool.
///
/// Must be used from within a tokio runtime (connections run as tokio tasks).
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("location", &self.inner.ctx.location)
            .finish_non_exhaustive()
    }
}

struct Inner {
    pool: Pool,
    ctx: Ctx,
    sql: Sql,
    /// Set once the schema is known to be ours and current.
    ready: OnceCell<()>,
    providers: Mutex<Providers>,
}

/// Statements of this store: the SQL of the crate with its schema filled in.
#[derive(Debug)]
pub(crate) struct Sql {
    /// The schema's name.
    pub(crate) schema: String,
    /// `"schema".`, prefixed to every table name.
    prefix: String,
    /// Hash of the schema's name: the second key of its advisory locks.
    pub(crate) lock_key: i32,
}

impl Sql {
    fn new(schema: &str) -> Self {
        Self {
            schema: schema.to_owned(),
            prefix: format!("\"{schema}\"."),
            lock_key: fnv32(schema.as_bytes()),
        }
    }

    /// `template` with every `{s}.` replaced by this store's schema.
    pub(crate) fn q(&self, template: &str) -> String {
        template.replace("{s}.", &self.prefix)
    }
}

/// FNV-1a, 32 bits, as a PostgreSQL `integer`: keys of advisory locks.
pub(crate) fn fnv32(bytes: &[u8]) -> i32 {
    let hash = bytes.iter().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    });
    i32::from_be_bytes(hash.to_be_bytes())
}

/// Provider ids both ways, as far as this store has seen them (ids never change).
#[derive(Debug, Default)]
pub(crate) struct Providers {
    pub(crate) by_name: HashMap<String, i32>,
    pub(crate) by_id: HashMap<i32, ProviderId>,
}

/// A transaction rolled back by a deadlock or a serialization failure is run again this many
/// times before the error goes up.
const RETRIES: u32 = 4;

/// A session idle inside a transaction this long is ended by the server, so a host that hangs
/// mid-write does not hold its locks for ever.
const IDLE_IN_TRANSACTION: Duration = Duration::from_secs(60);

impl PostgresStore {
    /// Connects to the database `url` names, creating the store's schema when it is absent or
    /// empty and migrating an older one, and checks it is a store this build can use.
    ///
    /// # Errors
    /// [`StoreError::Foreign`] when the schema holds another program's objects (left
    /// untouched); [`StoreError::TooNew`] for a store migrated by a newer stockdata;
    /// [`StoreError::Busy`] when another host holds the migration lock past the busy timeout;
    /// [`StoreError::Io`] for a malformed URL or options, an unreachable server, refused
    /// credentials or missing privileges (the message says which).
    pub async fn connect(
        url: &SecretString,
        options: &PostgresOptions,
    ) -> Result<Self, StoreError> {
        let store = Self::connect_lazy(url, options)?;
        store.ready().await?;
        Ok(store)
    }

    /// A store for `url` that connects, checks and migrates on its first operation: for
    /// callers that cannot await where they build the store. The errors of
    /// [`connect`](Self::connect) then come from that operation.
    ///
    /// # Errors
    /// [`StoreError::Io`] for a malformed URL or options (nothing is connected yet).
    pub fn connect_lazy(url: &SecretString, options: &PostgresOptions) -> Result<Self, StoreError> {
        let schema_ok = {
            let s = options.schema.as_bytes();
            !s.is_empty()
                && s.len() <= 63
                && s.iter()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
                && s.first().is_some_and(|b| !b.is_ascii_digit())
        };
        let mut config =
            tokio_postgres::Config::from_str(url.expose_secret()).map_err(|e| StoreError::Io {
                path: "postgres://".to_owned(),
                detail: format!(
                    "the store URL cannot be read ({e}); expected \
                     postgres://user:password@host:port/database"
                ),
            })?;
        let ctx = Ctx {
            location: location(&config, &options.schema),
            busy_timeout: options.busy_timeout,
        };
        if !schema_ok {
            return Err(ctx.io(format!(
                "schema {:?} is not a plain lowercase name (a-z, 0-9, _; at most 63 bytes)",
                options.schema
            )));
        }
        if config.get_ssl_mode() == SslMode::Require {
            return Err(ctx.io(
                "the URL requires TLS (sslmode=require), which this build of stockdata leaves \
                 out: reach the server over a private network, a Unix socket or an SSH tunnel, \
                 with sslmode=prefer or disable",
            ));
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.connect_timeout);
        }
        if config.get_application_name().is_none() {
            config.application_name("stockdata");
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let mut session = format!(
            "SET lock_timeout = {}; SET idle_in_transaction_session_timeout = {}",
            options.busy_timeout.as_millis().max(1),
            IDLE_IN_TRANSACTION.as_millis()
        );
        if !options.synchronous_commit {
            session.push_str("; SET synchronous_commit = off");
        }
        let pool = Pool::builder(manager)
            .max_size(options.max_connections.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(options.busy_timeout))
            .create_timeout(Some(options.connect_timeout))
            .recycle_timeout(Some(options.connect_timeout))
            .post_create(Hook::async_fn(move |client, _| {
                let session = session.clone();
                Box::pin(async move {
                    client
                        .batch_execute(&session)
                        .await
                        .map_err(HookError::Backend)
                })
            }))
            .build()
            .map_err(|e| ctx.io(format!("cannot build the connection pool: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                sql: Sql::new(&options.schema),
                ctx,
                ready: OnceCell::new(),
                providers: Mutex::new(Providers::default()),
            }),
        })
    }

    /// Where the store is: `postgres://user@host:port/database (schema name)`, never with
    /// the password.
    #[must_use]
    pub fn location(&self) -> &str {
        &self.inner.ctx.location
    }

    /// Closes the pool: connections are dropped as they come back, and every later operation
    /// fails with [`StoreError::Io`].
    pub fn close(&self) {
        self.inner.pool.close();
    }

    /// Checks and migrates the schema, once per store.
    async fn ready(&self) -> Result<(), StoreError> {
        self.inner
            .ready
            .get_or_try_init(|| async {
                let started = Instant::now();
                let result = async {
                    let mut client = self.inner.pool.get().await?;
                    migrate::prepare(&mut client, &self.inner.sql, &self.inner.ctx).await
                }
                .await;
                self.finish("migrate", started, result)
            })
            .await?;
        Ok(())
    }

    /// A connection from the pool, the schema known to be ready.
    async fn client(&self) -> Result<deadpool_postgres::Object, Fail> {
        self.ready().await?;
        Ok(self.inner.pool.get().await?)
    }

    /// Logs the operation and names the store in its error.
    fn finish<T>(
        &self,
        op: &'static str,
        started: Instant,
        result: Result<T, Fail>,
    ) -> Result<T, StoreError> {
        let result = result.map_err(|e| e.into_store(&self.inner.ctx));
        tracing::debug!(
            store = %self.inner.ctx.location,
            op,
            elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            ok = result.is_ok(),
            "store operation"
        );
        result
    }

    /// Runs `attempt` until it succeeds, fails for good, or has been rolled back by deadlocks
    /// or serialization failures [`RETRIES`] times more.
    async fn retrying<T, F, Fut>(&self, mut attempt: F) -> Result<T, Fail>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Fail>>,
    {
        let mut tries = 0;
        loop {
            match attempt().await {
                Err(e) if e.is_transient() && tries < RETRIES => {
                    tries += 1;
                    tracing::debug!(store = %self.inner.ctx.location, tries, "retrying: {e}");
                    tokio::time::sleep(backoff(tries)).await;
                }
                other => return other,
            }
        }
    }

    /// One write, timed and logged as `op`: `encode` makes its job before any connection is
    /// taken, the job's provider names get their ids, then the job is applied in one
    /// transaction, run again by [`retrying`](Self::retrying).
    async fn write_job<J: write::Job>(
        &self,
        op: &'static str,
        encode: impl FnOnce() -> J + Send,
    ) -> Result<(), StoreError> {
        let started = Instant::now();
        let job = encode();
        let result = async {
            let client = self.client().await?;
            let ids = self.provider_ids(&client, job.names()).await?;
            drop(client);
            let (store, job, ids) = (self, &job, &ids);
            self.retrying(move || async move {
                let mut client = store.client().await?;
                job.apply(&store.inner.sql, &mut client, ids).await
            })
            .await
        }
        .await;
        self.finish(op, started, result)
    }

    /// The ids of provider `names`, in order, adding the names not stored yet (outside any
    /// write transaction: an id, once given, is never taken back).
    async fn provider_ids(
        &self,
        client: &deadpool_postgres::Object,
        names: &[String],
    ) -> Result<Vec<i32>, Fail> {
        let missing: Vec<&String> = {
            let cache = self.providers();
            names
                .iter()
                .filter(|n| !cache.by_name.contains_key(*n))
                .collect()
        };
        if !missing.is_empty() {
            let sql = &self.inner.sql;
            let insert = client
                .prepare_cached(&sql.q(
                    "INSERT INTO {s}.providers (name) SELECT unnest($1::text[]) \
                     ORDER BY 1 ON CONFLICT (name) DO NOTHING",
                ))
                .await?;
            client.execute(&insert, &[&missing]).await?;
            self.load_providers(client).await?;
        }
        let cache = self.providers();
        names
            .iter()
            .map(|n| {
                cache
                    .by_name
                    .get(n)
                    .copied()
                    .ok_or_else(|| Fail::bad(format!("provider {n:?} has no id")))
            })
            .collect()
    }

    /// Reads every provider id into the cache.
    async fn load_providers(&self, client: &deadpool_postgres::Object) -> Result<(), Fail> {
        let st = client
            .prepare_cached(&self.inner.sql.q("SELECT id, name FROM {s}.providers"))
            .await?;
        let rows = client.query(&st, &[]).await?;
        let mut cache = self.providers();
        for r in rows {
            let (id, name): (i32, String) = (read::get(&r, 0)?, read::get(&r, 1)?);
            cache.by_id.insert(id, interned(&name));
            cache.by_name.insert(name, id);
        }
        Ok(())
    }

    /// The providers of `ids`, reading the table again when one is not cached yet.
    async fn provider_names(
        &self,
        client: &deadpool_postgres::Object,
        ids: impl IntoIterator<Item = i32>,
    ) -> Result<HashMap<i32, ProviderId>, Fail> {
        let ids: Vec<i32> = ids.into_iter().collect();
        if ids
            .iter()
            .any(|id| !self.providers().by_id.contains_key(id))
        {
            self.load_providers(client).await?;
        }
        let cache = self.providers();
        ids.into_iter()
            .map(|id| match cache.by_id.get(&id) {
                Some(p) => Ok((id, p.clone())),
                None => Err(Fail::bad(format!("unknown provider id {id}"))),
            })
            .collect()
    }

    fn providers(&self) -> std::sync::MutexGuard<'_, Providers> {
        // The cache is only ever extended, so a panic while it was locked left it usable.
        self.inner
            .providers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// A short wait before retrying, growing with `tries`, jittered so that two hosts that
/// deadlocked do not meet again.
fn backoff(tries: u32) -> Duration {
    let base = 5_u64.saturating_mul(1 << tries.min(6));
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()) % base.max(1));
    Duration::from_millis(base + jitter)
}

/// `postgres://user@host:port/database (schema s)`: what the URL names, never its password.
fn location(config: &tokio_postgres::Config, schema: &str) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let host = match h {
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            };
            match config.get_ports().get(i).or(config.get_ports().first()) {
                Some(port) => format!("{host}:{port}"),
                None => host,
            }
        })
        .collect();
    let user = config
        .get_user()
        .map_or_else(String::new, |u| format!("{u}@"));
    let db = config.get_dbname().unwrap_or_default();
    format!(
        "postgres://{user}{}/{db} (schema {schema})",
        hosts.join(",")
    )
}

#[async_trait]
impl Store for PostgresStore {
    async fn bars(&self, key: &SeriesKey, range: TimeRange) -> Result<Vec<Bar>, StoreError> {
        let started = Instant::now();
        let result = async {
            let client = self.client().await?;
            read::bars(self, &client, key, range).await
        }
        .await;
        self.finish("bars", started, result)
    }

    async fn coverage(&self, key: &SeriesKey) -> Result<Vec<TimeRange>, StoreError> {
        let started = Instant::now();
        let result = async {
            let client = self.client().await?;
            read::coverage(&self.inner.sql, &client, key).await
        }
        .await;
        self.finish("coverage", started, result)
    }

    async fn last_bar_before(
        &self,
        key: &SeriesKey,
        before: Timestamp,
    ) -> Result<Option<Bar>, StoreError> {
        let started = Instant::now();
        let result = async {
            let client = self.client().await?;
            read::last_bar_before(self, &client, key, before).await
        }
        .await;
        self.finish("last_bar_before", started, result)
    }

    async fn write_bars(&self, write: BarsWrite<'_>) -> Result<(), StoreError> {
        self.write_job("write_bars", || write::BarsJob::new(&write))
            .await
    }

    async fn write_quotes(&self, dataset: Dataset, quotes: &[Quote]) -> Result<(), StoreError> {
        if quotes.is_empty() {
            return Ok(());
        }
        self.write_job("write_quotes", || write::QuotesJob::new(dataset, quotes))
            .await
    }

    async fn quote(&self, dataset: Dataset, symbol: &Symbol) -> Result<Option<Quote>, StoreError> {
        let started = Instant::now();
        let result = async {
            let client = self.client().await?;
            read::quote(self, &client, dataset, symbol).await
        }
        .await;
        self.finish("quote", started, result)
    }

    async fn write_news(&self, write: NewsWrite<'_>) -> Result<(), StoreError> {
        self.write_job("write_news", || {
            write::NewsJob::new(&write, &self.inner.sql)
        })
        .await
    }

    async fn news(
        &self,
        dataset: Dataset,
        symbols: &[Symbol],
        range: TimeRange,
        limit: usize,
    ) -> Result<Vec<NewsArticle>, StoreError> {
        if limit == 0 || symbols.is_empty() {
            return Ok(Vec::new());
        }
        let started = Instant::now();
        let result = async {
            let client = self.client().await?;
            read::news(self, &client, dataset, symbols, range, limit).await
        }
        .await;
        self.finish("news", started, result)
    }

    async fn news_coverage(
        &self,
        dataset: Dataset,
        symbol: &Symbol,
    ) -> Result<Vec<TimeRange>, StoreError> {
        let started = Instant::now();
        let result = async {
            let client = self.client().await?;
            read::news_coverage(&self.inner.sql, &client, dataset, symbol).await
        }
        .await;
        self.finish("news_coverage", started, result)
    }

    async fn series(&self) -> Result<Vec<SeriesSummary>, StoreError> {
        let started = Instant::now();
        let result = async {
            let client = self.client().await?;
            read::series(&self.inner.sql, &client).await
        }
        .await;
        self.finish("series", started, result)
    }

    async fn fetch_log(&self, limit: usize) -> Result<Vec<FetchLogEntry>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let started = Instant::now();
        let result = async {
            let client = self.client().await?;
            read::fetch_log(self, &client, limit).await
        }
        .await;
        self.finish("fetch_log", started, result)
    }

    async fn stats(&self) -> Result<StoreStats, StoreError> {
        let started = Instant::now();
        let result = async {
            let client = self.client().await?;
            read::stats(&self.inner.sql, &client, &self.inner.ctx.location).await
        }
        .await;
        self.finish("stats", started, result)
    }

    async fn vacuum(&self) -> Result<(), StoreError> {
        let started = Instant::now();
        let result = async {
            let mut client = self.client().await?;
            read::vacuum(&self.inner.sql, &mut client).await
        }
        .await;
        self.finish("vacuum", started, result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn urls_are_told_apart() {
        assert!(is_postgres_url("postgres://h/db"));
        assert!(is_postgres_url("PostgreSQL://h/db"));
        assert!(!is_postgres_url("/var/lib/stockdata/store.db"));
        assert!(!is_postgres_url("sqlite://x"));
    }

    #[tokio::test]
    async fn the_location_never_holds_the_password() {
        let store = PostgresStore::connect_lazy(
            &secret("postgres://trader:hunter2@db.invalid:6543/market?sslmode=disable"),
            &PostgresOptions::default(),
        )
        .unwrap();
        assert_eq!(
            store.location(),
            "postgres://trader@db.invalid:6543/market (schema stockdata)"
        );
        assert!(!format!("{store:?}").contains("hunter2"));
        let kv = PostgresStore::connect_lazy(
            &secret("host=/run/postgresql dbname=market password=hunter2"),
            &PostgresOptions::default().with_schema("s2"),
        )
        .unwrap();
        assert_eq!(
            kv.location(),
            "postgres:///run/postgresql/market (schema s2)"
        );
    }

    #[test]
    fn bad_urls_and_schemas_are_refused_without_echoing_them() {
        for url in ["postgres://u:hunter2@h:notaport/db", "host=h port"] {
            let err =
                PostgresStore::connect_lazy(&secret(url), &PostgresOptions::default()).unwrap_err();
            assert!(matches!(err, StoreError::Io { .. }), "{err:?}");
            assert!(!err.to_string().contains("hunter2"), "{err}");
        }
        for schema in ["", "Stock", "1st", "a-b", "a\"b", &"x".repeat(64)] {
            let err = PostgresStore::connect_lazy(
                &secret("postgres://h/db"),
                &PostgresOptions::default().with_schema(schema),
            )
            .unwrap_err();
            assert!(err.to_string().contains("schema"), "{schema}: {err}");
        }
    }

    #[test]
    fn advisory_keys_are_stable() {
        assert_eq!(
            fnv32(b""),
            i32::from_be_bytes(0x811c_9dc5_u32.to_be_bytes())
        );
        assert_eq!(
            fnv32(b"a"),
            i32::from_be_bytes(0xe40c_292c_u32.to_be_bytes())
        );
    }
}
