//! Pacing: never send a request the provider's quota will refuse.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::BuildHasher;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use stockdata_domain::{FetchError, ProviderId, Timestamp};
use tokio::time::Instant;

/// The fixed part of every window's safety margin: how much later than its neighbours a request
/// may reach the provider after leaving the pacer (a cold connection's DNS, TCP and TLS round
/// trips against a pooled one's none, scheduling, a provider stamping arrivals coarsely)
/// without any of the provider's windows counting one too many.
pub const SKEW_MARGIN: Duration = Duration::from_millis(200);

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
    /// for a long time, so the caller gets `QuotaExhausted` instead (unless the pacer's
    /// `max_quota_wait` allows the wait).
    #[must_use]
    pub fn is_quota(&self) -> bool {
        self.per >= Duration::from_secs(3600)
    }

    /// The safety margin kept on top of the window's length: [`SKEW_MARGIN`] for network
    /// skew, plus 0.1% of the window for the provider's clock running at another rate than
    /// ours (NTP keeps clocks within 0.01%): 201 ms on a second, 260 ms on a minute, 86.6 s
    /// on a day.
    #[must_use]
    pub fn margin(&self) -> Duration {
        SKEW_MARGIN.saturating_add(self.per / 1000)
    }

    /// The shortest time between a request and the `requests`-th after it: the window's
    /// length plus its [`margin`](Self::margin). Then no interval of the window's length
    /// holds more than `requests`, so neither does any fixed window, wherever it is aligned,
    /// even with every request's arrival delayed by up to the margin.
    #[must_use]
    pub fn span(&self) -> Duration {
        self.per.saturating_add(self.margin())
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

/// Where one window stands at one moment: what a planner needs to avoid a wait, and what a
/// progress bar shows ("finnhub quota: next request in 12 s").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowState {
    /// The window.
    pub window: RateWindow,
    /// Requests this window lets go now without waiting.
    pub remaining: u32,
    /// Until one more slot frees (`remaining` grows by one); zero when no slot is in use.
    pub next_free_in: Duration,
}

/// A sliding log of one window: the instants granted (sent, or reserved for a caller that is
/// waiting) within the last [`RateWindow::span`], oldest first, at most `requests` of them.
#[derive(Debug)]
struct Log {
    window: RateWindow,
    granted: VecDeque<Instant>,
}

impl Log {
    fn new(window: RateWindow) -> Self {
        Self {
            window,
            granted: VecDeque::new(),
        }
    }

    fn limit(&self) -> usize {
        usize::try_from(self.window.requests.get()).unwrap_or(usize::MAX)
    }

    /// When a grant made at `at` stops counting. A window longer than a century is held to
    /// one, so the arithmetic never overflows an `Instant`.
    fn expiry(&self, at: Instant) -> Instant {
        const CENTURY: Duration = Duration::from_secs(100 * 365 * 86_400);
        at + self.window.span().min(CENTURY)
    }

    /// Forgets grants that no longer count at `now`.
    fn prune(&mut self, now: Instant) {
        while self
            .granted
            .front()
            .is_some_and(|&at| self.expiry(at) <= now)
        {
            self.granted.pop_front();
        }
    }

    /// The earliest instant from `now` on at which one more grant keeps every interval of
    /// the span at `requests` or fewer: now while the log has room, else a span after the
    /// oldest grant (the `requests`-th before the new one).
    fn earliest(&self, now: Instant) -> Instant {
        match self.granted.front() {
            Some(&oldest) if self.granted.len() >= self.limit() => now.max(self.expiry(oldest)),
            _ => now,
        }
    }

    fn grant(&mut self, at: Instant) {
        if self.granted.len() >= self.limit() {
            self.granted.pop_front();
        }
        self.granted.push_back(at);
    }

    fn state(&self, now: Instant) -> WindowState {
        let used = u32::try_from(self.granted.len()).unwrap_or(u32::MAX);
        WindowState {
            window: self.window,
            remaining: self.window.requests.get().saturating_sub(used),
            next_free_in: self.granted.front().map_or(Duration::ZERO, |&oldest| {
                self.expiry(oldest).saturating_duration_since(now)
            }),
        }
    }
}

/// Paces one API key at one provider across several windows at once (e.g. 25/day and 1/s),
/// so that no fixed window of the provider's, wherever it is aligned, ever counts one request
/// too many.
///
/// Each window keeps a sliding log of the instants it granted: a request goes when every
/// window has granted fewer than `requests` within the last [`RateWindow::span`] (its length
/// plus a safety margin). No interval of a window's length then holds more than its count, and
/// so no fixed window at any alignment does. A fresh window lets its whole count go at once.
///
/// Callers are served in order: [`acquire`](Self::acquire) reserves the earliest instant
/// every window allows, then sleeps until it (a caller dropped while waiting keeps its slot:
/// the pacer errs towards sending less). Windows shorter than an hour are waited out; when a
/// window of an hour or more would make the caller wait longer than `max_quota_wait`,
/// `acquire` answers `QuotaExhausted` with the instant the next request would be allowed, and
/// consumes nothing.
pub struct Pacer {
    windows: Vec<RateWindow>,
    logs: Mutex<Vec<Log>>,
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
        let windows: Vec<String> = self.windows.iter().map(ToString::to_string).collect();
        f.debug_struct("Pacer")
            .field("windows", &windows)
            .field("max_quota_wait", &self.max_quota_wait)
            .finish_non_exhaustive()
    }
}

impl Pacer {
    /// A pacer enforcing every window in `windows`.
    #[must_use]
    pub fn new(windows: &[RateWindow], max_quota_wait: Duration) -> Self {
        let mut sorted = windows.to_vec();
        // Longest first, the order `windows` and `remaining` report.
        sorted.sort_by_key(|w| std::cmp::Reverse(w.per));
        Self {
            logs: Mutex::new(sorted.iter().copied().map(Log::new).collect()),
            windows: sorted,
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
        self.windows.iter().copied()
    }

    /// Every window's standing now, longest first: how many requests it lets go at once and
    /// when its next slot frees. Requests already reserved by waiting callers count as used.
    #[must_use]
    pub fn remaining(&self) -> Vec<WindowState> {
        let now = Instant::now();
        let mut logs = self.logs();
        logs.iter_mut()
            .map(|log| {
                log.prune(now);
                log.state(now)
            })
            .collect()
    }

    /// The earliest instant the next request could be sent: now when it would not wait. A
    /// quota window may still refuse it (see [`acquire`](Self::acquire)).
    #[must_use]
    pub fn ready_at(&self) -> Instant {
        let now = Instant::now();
        let mut logs = self.logs();
        logs.iter_mut().for_each(|log| log.prune(now));
        earliest(&logs, now)
    }

    /// How long the next request would wait for pacing: zero when it could go now.
    #[must_use]
    pub fn ready_in(&self) -> Duration {
        self.ready_at().saturating_duration_since(Instant::now())
    }

    /// Waits until every window allows one more request and takes it. Returns how long it
    /// waited.
    ///
    /// # Errors
    /// `QuotaExhausted` when a quota window (an hour or longer) would make the caller wait
    /// longer than `max_quota_wait`; nothing is consumed from any window then.
    pub async fn acquire(&self) -> Result<Duration, FetchError> {
        let now = Instant::now();
        let at = {
            let mut logs = self.logs();
            logs.iter_mut().for_each(|log| log.prune(now));
            for log in logs.iter().filter(|log| log.window.is_quota()) {
                let wait = log.earliest(now) - now;
                if wait > self.max_quota_wait {
                    let resets_at = Timestamp::now().checked_add(wait).ok();
                    return Err(FetchError::QuotaExhausted { resets_at });
                }
            }
            let at = earliest(&logs, now);
            if at > now {
                let binding = logs.iter().max_by_key(|log| log.earliest(now));
                let window = binding
                    .map(|log| log.window.to_string())
                    .unwrap_or_default();
                let wait_ms = millis(at - now);
                tracing::debug!(window, wait_ms, "pacing: waiting for quota");
            }
            logs.iter_mut().for_each(|log| log.grant(at));
            at
        };
        if at <= now {
            return Ok(Duration::ZERO);
        }
        tokio::time::sleep_until(at).await;
        let waited = now.elapsed();
        self.stats.waits.fetch_add(1, Ordering::Relaxed);
        self.stats
            .waited_ms
            .fetch_add(millis(waited), Ordering::Relaxed);
        Ok(waited)
    }

    fn logs(&self) -> MutexGuard<'_, Vec<Log>> {
        // Every critical section leaves the logs consistent: a poisoned lock is still usable.
        self.logs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The earliest instant from `now` every window allows, and never before a grant already made:
/// callers are served in the order they asked, and every log stays sorted.
fn earliest(logs: &[Log], now: Instant) -> Instant {
    logs.iter()
        .flat_map(|log| {
            [
                log.earliest(now),
                log.granted.back().copied().unwrap_or(now),
            ]
        })
        .fold(now, Instant::max)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
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

    /// For each provider, how long until its next request may go (the longest over its
    /// keys): what a progress bar shows while a quota makes the run wait.
    #[must_use]
    pub fn ready_in(&self) -> Vec<(ProviderId, Duration)> {
        let pacers = self
            .pacers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out: Vec<(ProviderId, Duration)> = Vec::new();
        for ((provider, _), pacer) in pacers.iter() {
            let wait = pacer.ready_in();
            match out.iter_mut().find(|(p, _)| p == provider) {
                Some((_, w)) => *w = (*w).max(wait),
                None => out.push((provider.clone(), wait)),
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
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
