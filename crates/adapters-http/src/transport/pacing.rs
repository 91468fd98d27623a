//! Pacing: never send a request the provider's quota will refuse.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::Clock as _;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use secrecy::{ExposeSecret, SecretString};
use stockdata_domain::{FetchError, ProviderId, Timestamp};

/// One quota window: at most `requests` per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateWindow {
    /// Requests allowed in the window.
    pub requests: NonZeroU32,
    /// The window's length.
    pub per: Duration,
}

impl RateWindow {
    /// `requests` per second.
    #[must_use]
    pub const fn per_second(requests: NonZeroU32) -> Self {
        Self {
            requests,
            per: Duration::from_secs(1),
        }
    }

    /// `requests` per minute.
    #[must_use]
    pub const fn per_minute(requests: NonZeroU32) -> Self {
        Self {
            requests,
            per: Duration::from_secs(60),
        }
    }

    /// `requests` per day.
    #[must_use]
    pub const fn per_day(requests: NonZeroU32) -> Self {
        Self {
            requests,
            per: Duration::from_secs(86_400),
        }
    }

    /// Windows of an hour or more are quotas: waiting them out is not pacing, it is giving up
    /// for a long time, so the caller gets `QuotaExhausted` instead.
    fn is_quota(&self) -> bool {
        self.per >= Duration::from_secs(3600)
    }

    fn quota(&self) -> Quota {
        // Headroom per refill (2%, plus up to 10 ms): a provider counting when requests arrive
        // must never see one too many in a window because of network jitter.
        let even = self.per / self.requests.get();
        let period = even.mul_f64(1.02) + (even / 20).min(Duration::from_millis(10));
        // Sub-minute windows are paced evenly (no burst): a burst of N followed by the GCRA
        // refill would put up to 2N into a provider's first fixed window. Minute and longer
        // windows keep their whole count as a burst, so interactive use is not slowed down.
        let burst = if self.per < Duration::from_secs(60) {
            NonZeroU32::MIN
        } else {
            self.requests
        };
        Quota::with_period(period.max(Duration::from_nanos(1)))
            .unwrap_or_else(|| Quota::per_second(self.requests))
            .allow_burst(burst)
    }
}

impl fmt::Display for RateWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.per.as_secs() {
            1 => "s".to_owned(),
            60 => "min".to_owned(),
            3600 => "h".to_owned(),
            86_400 => "day".to_owned(),
            _ => format!("{:?}", self.per),
        };
        write!(f, "{}/{unit}", self.requests)
    }
}

/// A governor clock on tokio's time, so a paused test runtime controls pacing too.
#[derive(Debug, Clone, Copy, Default)]
struct TokioClock;

impl governor::clock::Clock for TokioClock {
    type Instant = std::time::Instant;
    fn now(&self) -> Self::Instant {
        tokio::time::Instant::now().into_std()
    }
}

type Limiter = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<std::time::Instant>>;

/// Paces one API key at one provider across several windows at once (e.g. 25/day and 1/s).
///
/// Built on governor's GCRA: windows of a minute or more allow their full count as a burst and
/// then refill evenly; shorter windows are paced evenly from the start. Windows shorter than an
/// hour are waited out; when a window of an hour or more would make the caller wait longer than
/// `max_quota_wait`, [`Pacer::acquire`] answers `QuotaExhausted` with the instant the next
/// request would be allowed.
pub struct Pacer {
    windows: Vec<(RateWindow, Limiter)>,
    max_quota_wait: Duration,
    stats: PacerStats,
}

/// What was spent against one key: counted by the transport, read by run statistics.
#[derive(Debug, Default)]
pub struct PacerStats {
    /// HTTP requests sent (every attempt).
    pub requests: AtomicU64,
    /// Attempts that were retries.
    pub retries: AtomicU64,
    /// Answers that said "too many requests" (429 or an in-body throttle).
    pub throttled: AtomicU64,
    /// Times a request waited for pacing.
    pub waits: AtomicU64,
    /// Total time spent waiting for pacing, in milliseconds.
    pub waited_ms: AtomicU64,
}

/// A copy of [`PacerStats`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// HTTP requests sent.
    pub requests: u64,
    /// Retries among them.
    pub retries: u64,
    /// Throttle answers received.
    pub throttled: u64,
    /// Pacing waits.
    pub waits: u64,
    /// Milliseconds spent in pacing waits.
    pub waited_ms: u64,
}

impl PacerStats {
    /// The current counts.
    #[must_use]
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
            waits: self.waits.load(Ordering::Relaxed),
            waited_ms: self.waited_ms.load(Ordering::Relaxed),
        }
    }
}

impl std::ops::AddAssign for StatsSnapshot {
    fn add_assign(&mut self, o: Self) {
        self.requests += o.requests;
        self.retries += o.retries;
        self.throttled += o.throttled;
        self.waits += o.waits;
        self.waited_ms += o.waited_ms;
    }
}

impl fmt::Debug for Pacer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let windows: Vec<String> = self.windows.iter().map(|(w, _)| w.to_string()).collect();
        f.debug_struct("Pacer")
            .field("windows", &windows)
            .field("max_quota_wait", &self.max_quota_wait)
            .finish()
    }
}

impl Pacer {
    /// A pacer enforcing every window in `windows`.
    #[must_use]
    pub fn new(windows: &[RateWindow], max_quota_wait: Duration) -> Self {
        let mut sorted = windows.to_vec();
        // Longest first: a refused quota consumes nothing from the shorter windows.
        sorted.sort_by_key(|w| std::cmp::Reverse(w.per));
        Self {
            windows: sorted
                .into_iter()
                .map(|w| (w, RateLimiter::direct_with_clock(w.quota(), TokioClock)))
                .collect(),
            max_quota_wait,
            stats: PacerStats::default(),
        }
    }

    /// What has been spent against this key.
    #[must_use]
    pub fn stats(&self) -> &PacerStats {
        &self.stats
    }

    /// A pacer that never waits.
    #[must_use]
    pub fn unlimited() -> Self {
        Self::new(&[], Duration::ZERO)
    }

    /// The windows enforced, longest first.
    pub fn windows(&self) -> impl Iterator<Item = RateWindow> + '_ {
        self.windows.iter().map(|(w, _)| *w)
    }

    /// Waits until every window allows one more request and takes it. Returns how long it
    /// waited.
    ///
    /// # Errors
    /// `QuotaExhausted` when a quota window (an hour or longer) would make the caller wait
    /// longer than `max_quota_wait`; nothing is consumed from any window then.
    pub async fn acquire(&self) -> Result<Duration, FetchError> {
        let started = tokio::time::Instant::now();
        let mut slept = false;
        for (window, limiter) in &self.windows {
            loop {
                match limiter.check() {
                    Ok(()) => break,
                    Err(not_until) => {
                        let wait = not_until.wait_time_from(TokioClock.now());
                        if window.is_quota() && wait > self.max_quota_wait {
                            let resets_at = Timestamp::now().checked_add(wait).ok();
                            return Err(FetchError::QuotaExhausted { resets_at });
                        }
                        tracing::debug!(
                            window = %window,
                            wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                            "pacing: waiting for quota"
                        );
                        tokio::time::sleep(wait).await;
                        slept = true;
                    }
                }
            }
        }
        let waited = if slept {
            started.elapsed()
        } else {
            Duration::ZERO
        };
        if slept {
            self.stats.waits.fetch_add(1, Ordering::Relaxed);
            self.stats.waited_ms.fetch_add(
                u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
                Ordering::Relaxed,
            );
        }
        Ok(waited)
    }
}

/// Hands out one shared [`Pacer`] per (provider, API key): every client using the same key
/// draws from the same budget, because two limiters would silently double the rate.
///
/// Keys are remembered only as a keyed hash (random per registry), never as text.
#[derive(Debug, Default)]
pub struct PacerRegistry {
    hasher: RandomState,
    pacers: Mutex<HashMap<(ProviderId, u64), Arc<Pacer>>>,
}

impl PacerRegistry {
    /// An empty registry.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The pacer for `key` at `provider`, created with `windows` on first use.
    pub fn pacer(
        &self,
        provider: &ProviderId,
        key: &SecretString,
        windows: &[RateWindow],
        max_quota_wait: Duration,
    ) -> Arc<Pacer> {
        let fingerprint = self.hasher.hash_one(key.expose_secret());
        let mut pacers = self
            .pacers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(
            pacers
                .entry((provider.clone(), fingerprint))
                .or_insert_with(|| Arc::new(Pacer::new(windows, max_quota_wait))),
        )
    }

    /// Statistics per provider, summed over its keys.
    #[must_use]
    pub fn stats(&self) -> Vec<(ProviderId, StatsSnapshot)> {
        let pacers = self
            .pacers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut by_provider: Vec<(ProviderId, StatsSnapshot)> = Vec::new();
        for ((provider, _), pacer) in pacers.iter() {
            let snap = pacer.stats().snapshot();
            match by_provider.iter_mut().find(|(p, _)| p == provider) {
                Some((_, total)) => *total += snap,
                None => by_provider.push((provider.clone(), snap)),
            }
        }
        by_provider.sort_by(|a, b| a.0.cmp(&b.0));
        by_provider
    }
}
