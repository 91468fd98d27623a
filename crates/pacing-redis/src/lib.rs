//! # stockdata-pacing-redis
//!
//! [`RedisPacing`]: the [`Pacing`] port over Redis, so that every process using one API key
//! draws from one budget (three `stockdata serve` replicas and a `stockdata sync` on one
//! Finnhub key stay within its 60/min and 30/s together).
//!
//! ## The decision
//! A budget is an exact sliding log, the one the in-process pacer keeps: one sorted set whose
//! members are grant ids and whose scores are the instants (in microseconds) at which the
//! grants go. Every request counts in every window of the provider's, so the one log serves
//! every window: window `i` holds the grants of its last span. One Lua script
//! (`reserve.lua`, sent once and then called by its SHA with `EVALSHA`) reads the server's
//! clock (`TIME`), checks every window and either adds the grant (to all windows at once: it
//! is one entry) or adds nothing, and answers the wait:
//! - a window holding `requests` grants within its span lets the next one go a span after the
//!   `requests`-th most recent; a fresh window lets its whole count go at once;
//! - the grant goes at the earliest instant every window allows, and never before the latest
//!   grant already made (first come, first served);
//! - when a quota window (an hour or more) would make the caller wait longer than it allows,
//!   nothing is added and the wait is answered instead.
//!
//! Redis runs a script atomically, so two processes can never both take the last slot, and
//! the script reads no clock but the server's: a client's clock (or its skew) plays no part;
//! a client only sleeps for the wait it is answered. Not GCRA: GCRA with a burst of N lets up
//! to 2N into one fixed window of the provider's, which is what the sliding log prevents.
//!
//! ## Keys
//! `stockdata:pace:{<provider>:<fingerprint>}`, e.g. `stockdata:pace:{finnhub:9f86d081884c7d65}`.
//! The fingerprint is the first 16 hex digits of the key's SHA-256: the same in every process,
//! never the key. The braces are a Redis Cluster hash tag. One log per budget, not one per
//! window: processes configured with different windows for one key (one with 60/min and 30/s,
//! another with 60/min alone) still count each other's requests in every window, as the
//! provider does. A log keeps the grants of its longest span and expires a span after its
//! latest grant.
//!
//! ## Failure
//! Any error (refused connection, timeout, a server that restarted empty) is
//! [`PacingError::Unavailable`]: the caller (the transport's `Pacer`) paces locally at a share
//! of every window, probes with [`Pacing::probe`], and on its return hands back what it
//! granted meanwhile ([`Pacing::restore`], `restore.lua`: grants are named, so restoring one
//! the server still holds counts it once).

// Panicking code is forbidden outside tests, as in every crate that talks to the outside.
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

#[cfg(feature = "testing")]
pub mod testing;

use std::fmt::{self, Write as _};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Script, ScriptInvocation};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest as _, Sha256};
use stockdata_domain::ProviderId;
pub use stockdata_ports::pacing::Pacing;
use stockdata_ports::pacing::{
    BudgetId, GrantAge, GrantId, PacingError, PastGrant, RateWindow, WindowState,
};

/// The prefix of every key this crate writes.
pub const KEY_PREFIX: &str = "stockdata:pace";

/// Spans and waits are held to a century, so microseconds stay exact in Lua's doubles.
const CENTURY: Duration = Duration::from_secs(100 * 365 * 86_400);

/// Timeouts of the connection to Redis. A pacer waits for these before pacing locally, so they
/// are short: Redis answers a loopback or LAN script call in well under a millisecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedisOptions {
    /// Time allowed to connect (default 1 s).
    pub connect_timeout: Duration,
    /// Time allowed for one answer (default 500 ms).
    pub response_timeout: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(1),
            response_timeout: Duration::from_millis(500),
        }
    }
}

/// A `quota.redis_url` that cannot be used. The message never holds the URL (it may hold a
/// password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidRedisUrl {
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for InvalidRedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not a usable Redis URL ({}): use redis://[:password@]host[:port][/db] or \
             unix:///path/to/redis.sock",
            self.reason
        )
    }
}

impl std::error::Error for InvalidRedisUrl {}

/// The [`Pacing`] port over Redis. Cheap to share; one multiplexed connection, opened on first
/// use and again after any error (so a restarted server is found again).
pub struct RedisPacing {
    client: redis::Client,
    location: String,
    options: RedisOptions,
    conn: Mutex<Option<(u64, MultiplexedConnection)>>,
    connecting: tokio::sync::Mutex<u64>,
    reserve: Script,
    restore: Script,
    state: Script,
}

impl fmt::Debug for RedisPacing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisPacing")
            .field("location", &self.location)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl RedisPacing {
    /// A store at `url` (`redis://…` or `unix://…`), with default timeouts. Nothing is
    /// connected yet: an unreachable server is found, and paced around, at first use.
    ///
    /// # Errors
    /// [`InvalidRedisUrl`] when `url` is not a Redis URL this build can use (TLS is not
    /// built in).
    pub fn new(url: &SecretString) -> Result<Self, InvalidRedisUrl> {
        Self::with_options(url, RedisOptions::default())
    }

    /// [`new`](Self::new) with other timeouts.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn with_options(
        url: &SecretString,
        options: RedisOptions,
    ) -> Result<Self, InvalidRedisUrl> {
        let text = url.expose_secret().trim();
        let location = format!("Redis at {}", redact(text)?);
        let client = redis::Client::open(text).map_err(|e| InvalidRedisUrl {
            reason: format!("{:?}", e.kind()),
        })?;
        Ok(Self {
            client,
            location,
            options,
            conn: Mutex::new(None),
            connecting: tokio::sync::Mutex::new(0),
            reserve: Script::new(include_str!("reserve.lua")),
            restore: Script::new(include_str!("restore.lua")),
            state: Script::new(include_str!("state.lua")),
        })
    }

    /// The Redis key of `budget`'s log: `stockdata:pace:{<provider>:<fingerprint>}`.
    #[must_use]
    pub fn key(budget: &BudgetId) -> String {
        format!(
            "{KEY_PREFIX}:{{{}:{}}}",
            budget.provider, budget.fingerprint
        )
    }

    /// The arguments of one reservation (after the grant id): the longest quota wait, the
    /// longest span, then each window's count, span and quota flag. Durations only: nothing
    /// the client sends is an instant, the script reads the server's clock.
    #[must_use]
    pub fn reserve_args(windows: &[RateWindow], max_quota_wait: Duration) -> Vec<u64> {
        let mut args = vec![micros(max_quota_wait), longest(windows)];
        for w in windows {
            args.push(u64::from(w.requests.get()));
            args.push(micros(w.span()));
            args.push(u64::from(w.is_quota()));
        }
        args
    }

    /// The open connection, or a new one (one caller connects; the others wait for it).
    async fn connection(&self) -> Result<(u64, MultiplexedConnection), PacingError> {
        if let Some(open) = self.open() {
            return Ok(open);
        }
        let mut generation = self.connecting.lock().await;
        if let Some(open) = self.open() {
            return Ok(open);
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.options.connect_timeout))
            .set_response_timeout(Some(self.options.response_timeout));
        let conn = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| unavailable(&e))?;
        *generation += 1;
        let open = (*generation, conn);
        *lock(&self.conn) = Some(open.clone());
        Ok(open)
    }

    fn open(&self) -> Option<(u64, MultiplexedConnection)> {
        lock(&self.conn).clone()
    }

    /// Drops connection `generation` after an error, so the next call connects afresh.
    fn forget(&self, generation: u64) {
        let mut conn = lock(&self.conn);
        if conn.as_ref().is_some_and(|(g, _)| *g == generation) {
            *conn = None;
        }
    }

    async fn invoke<T: redis::FromRedisValue>(
        &self,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T, PacingError> {
        let (generation, mut conn) = self.connection().await?;
        invocation.invoke_async(&mut conn).await.map_err(|e| {
            self.forget(generation);
            unavailable(&e)
        })
    }
}

#[async_trait]
impl Pacing for RedisPacing {
    fn budget(&self, provider: &ProviderId, key: &str) -> BudgetId {
        BudgetId {
            provider: provider.clone(),
            fingerprint: fingerprint(key),
        }
    }

    async fn reserve(
        &self,
        budget: &BudgetId,
        windows: &[RateWindow],
        max_quota_wait: Duration,
        grant: GrantId,
    ) -> Result<Duration, PacingError> {
        if windows.is_empty() {
            return Ok(Duration::ZERO);
        }
        let mut invocation = self.reserve.prepare_invoke();
        invocation.key(Self::key(budget)).arg(grant.to_string());
        for arg in Self::reserve_args(windows, max_quota_wait) {
            invocation.arg(arg);
        }
        let (granted, wait): (i64, i64) = self.invoke(&invocation).await?;
        let wait = Duration::from_micros(u64::try_from(wait).unwrap_or(0));
        match granted {
            1 => Ok(wait),
            0 => Err(PacingError::QuotaExhausted { retry_in: wait }),
            other => Err(PacingError::Unavailable {
                reason: format!("the reservation script answered {other}"),
            }),
        }
    }

    async fn restore(
        &self,
        budget: &BudgetId,
        windows: &[RateWindow],
        grants: &[PastGrant],
    ) -> Result<(), PacingError> {
        if windows.is_empty() || grants.is_empty() {
            return Ok(());
        }
        let mut invocation = self.restore.prepare_invoke();
        invocation.key(Self::key(budget)).arg(longest(windows));
        for g in grants {
            let ago = match g.age {
                GrantAge::Ago(d) => i64::try_from(micros(d)).unwrap_or(i64::MAX),
                GrantAge::Ahead(d) => -i64::try_from(micros(d)).unwrap_or(i64::MAX),
            };
            invocation.arg(g.id.to_string()).arg(ago);
        }
        let _: i64 = self.invoke(&invocation).await?;
        Ok(())
    }

    async fn state(
        &self,
        budget: &BudgetId,
        windows: &[RateWindow],
    ) -> Result<Vec<WindowState>, PacingError> {
        if windows.is_empty() {
            return Ok(Vec::new());
        }
        let mut sorted = windows.to_vec();
        sorted.sort_by_key(|w| std::cmp::Reverse(w.per));
        let mut invocation = self.state.prepare_invoke();
        invocation.key(Self::key(budget));
        for w in &sorted {
            invocation.arg(w.requests.get()).arg(micros(w.span()));
        }
        let answer: Vec<i64> = self.invoke(&invocation).await?;
        if answer.len() != 2 * sorted.len() {
            return Err(PacingError::Unavailable {
                reason: format!(
                    "the state script answered {} numbers for {} windows",
                    answer.len(),
                    sorted.len()
                ),
            });
        }
        Ok(sorted
            .into_iter()
            .zip(answer.chunks_exact(2))
            .map(|(window, pair)| {
                let (remaining, next_free) = match pair {
                    [r, n] => (*r, *n),
                    _ => (0, 0),
                };
                WindowState {
                    window,
                    remaining: u32::try_from(remaining).unwrap_or(0),
                    next_free_in: Duration::from_micros(u64::try_from(next_free).unwrap_or(0)),
                }
            })
            .collect())
    }

    async fn probe(&self) -> Result<(), PacingError> {
        let (generation, mut conn) = self.connection().await?;
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map(drop)
            .map_err(|e| {
                self.forget(generation);
                unavailable(&e)
            })
    }

    fn location(&self) -> String {
        self.location.clone()
    }
}

/// The first 16 hex digits of `key`'s SHA-256: the same in every process, never the key.
#[must_use]
pub fn fingerprint(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let mut out = String::with_capacity(16);
    for byte in digest.iter().take(8) {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// `url` for people and logs: its user and password replaced, its query and fragment
/// dropped (`redis://REDACTED@cache.internal:6379/0`).
///
/// # Errors
/// [`InvalidRedisUrl`] when it is not a URL, or not a Redis one.
pub fn redact(url: &str) -> Result<String, InvalidRedisUrl> {
    let mut parsed = url::Url::parse(url).map_err(|e| InvalidRedisUrl {
        reason: e.to_string(),
    })?;
    match parsed.scheme() {
        "redis" | "redis+unix" | "unix" => {}
        "rediss" => {
            return Err(InvalidRedisUrl {
                reason: "TLS (rediss://) is not built in".to_owned(),
            });
        }
        other => {
            return Err(InvalidRedisUrl {
                reason: format!("the scheme is {other}"),
            });
        }
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        // Only URLs with a host have credentials, and those accept both changes.
        let _ = parsed.set_password(None);
        let _ = parsed.set_username("REDACTED");
    }
    parsed.set_query(None);
    parsed.set_fragment(None);
    Ok(parsed.to_string())
}

/// The longest span of `windows`, in microseconds: how long a grant counts anywhere.
fn longest(windows: &[RateWindow]) -> u64 {
    windows.iter().map(|w| micros(w.span())).max().unwrap_or(0)
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.min(CENTURY).as_micros()).unwrap_or(u64::MAX)
}

fn unavailable(e: &redis::RedisError) -> PacingError {
    PacingError::Unavailable {
        reason: e.to_string(),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "tests state their expectations directly"
)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_sha256_and_stable() {
        // sha256("test") = 9f86d081884c7d65...
        assert_eq!(fingerprint("test"), "9f86d081884c7d65");
        assert_eq!(fingerprint(""), "e3b0c44298fc1c14");
    }

    #[test]
    fn urls_are_redacted_and_checked() {
        for (url, shown) in [
            ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379"),
            (
                "redis://:hunter2@cache:6380/2",
                "redis://REDACTED@cache:6380/2",
            ),
            (
                "redis://user:pw@cache/?password=x",
                "redis://REDACTED@cache/",
            ),
            ("unix:///run/redis.sock?pass=x", "unix:///run/redis.sock"),
        ] {
            assert_eq!(redact(url).unwrap(), shown);
        }
        for bad in ["rediss://h", "http://h", "not a url", ""] {
            let err = redact(bad).unwrap_err().to_string();
            assert!(!err.contains("hunter2"), "{err}");
        }
        let secret = SecretString::from("redis://:hunter2@[::1");
        let err = RedisPacing::new(&secret).unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn keys_name_the_budget() {
        let budget = BudgetId {
            provider: ProviderId::from_static("finnhub"),
            fingerprint: fingerprint("k"),
        };
        assert_eq!(
            RedisPacing::key(&budget),
            format!("stockdata:pace:{{finnhub:{}}}", fingerprint("k"))
        );
    }
}
