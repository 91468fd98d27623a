//! Pacing: never send a request the provider's quota will refuse.
//!
//! [`Pacer`] paces one (provider, key) for the transport. By default its budget lives in this
//! process (sliding logs in memory). A registry built with [`PacerRegistry::shared`] keeps
//! every budget in a shared store (the [`Pacing`] port: Redis), so that processes using the
//! same key draw from one budget; while that store is unreachable each pacer falls back to
//! pacing locally at a share of every window, and goes back to the store when it answers.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use stockdata_domain::{FetchError, ProviderId, Timestamp};
pub use stockdata_ports::pacing::{
    BudgetId, GrantAge, GrantId, Pacing, PacingError, PastGrant, RateWindow, SKEW_MARGIN,
    WindowState,
};
use tokio::time::Instant;

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

    /// The log as if its whole count had been granted at `at` (later than every grant it
    /// holds): the next grant waits a span from `at`.
    fn fill(&mut self, at: Instant) {
        self.granted.clear();
        self.granted.resize(self.limit(), at);
    }

    /// Records a grant made elsewhere (by the shared store, whose answers may arrive out of
    /// order): kept sorted, the oldest dropped past `requests`.
    fn record(&mut self, at: Instant) {
        let i = self.granted.partition_point(|&t| t <= at);
        self.granted.insert(i, at);
        if self.granted.len() > self.limit() {
            self.granted.pop_front();
        }
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

/// The longest span a log keeps: a window longer than a century is held to one.
const CENTURY: Duration = Duration::from_secs(100 * 365 * 86_400);

/// The logs of `windows`, longest first (the order `windows` and `remaining` report).
fn logs_for(windows: &[RateWindow]) -> Vec<Log> {
    let mut sorted = windows.to_vec();
    sorted.sort_by_key(|w| std::cmp::Reverse(w.per));
    sorted.into_iter().map(Log::new).collect()
}

/// The one pacing decision, on in-process logs: the earliest instant every window allows (from
/// `now`, never before a grant already made), taken in every log; or, when a quota window
/// would make the caller wait longer than `max_quota_wait`, that wait, and nothing taken.
fn reserve_in(
    logs: &mut [Log],
    now: Instant,
    max_quota_wait: Duration,
) -> Result<Instant, Duration> {
    logs.iter_mut().for_each(|log| log.prune(now));
    for log in logs.iter().filter(|log| log.window.is_quota()) {
        let wait = log.earliest(now) - now;
        if wait > max_quota_wait {
            return Err(wait);
        }
    }
    let at = earliest(logs, now);
    if at > now {
        let binding = logs.iter().max_by_key(|log| log.earliest(now));
        let window = binding
            .map(|log| log.window.to_string())
            .unwrap_or_default();
        let wait_ms = millis(at - now);
        tracing::debug!(window, wait_ms, "pacing: waiting for quota");
    }
    logs.iter_mut().for_each(|log| log.grant(at));
    Ok(at)
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
///
/// A pacer handed out by a [`PacerRegistry::shared`] registry makes the same decision in the
/// shared store instead (one atomic call over every window), and keeps in memory only what
/// this process was granted: what [`remaining`](Self::remaining) reports, and what it paces
/// against, at the registry's fallback share of every window, while the store is
/// unreachable.
pub struct Pacer {
    windows: Vec<RateWindow>,
    logs: Mutex<Vec<Log>>,
    max_quota_wait: Duration,
    stats: PacerStats,
    shared: Option<SharedBudget>,
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
    /// Pacing decisions made in this process, at the fallback share, because the shared
    /// quota store was unreachable (always zero for an in-process budget).
    pub local_decisions: AtomicU64,
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
    /// Decisions made locally while the shared quota store was unreachable.
    pub local_decisions: u64,
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
            local_decisions: self.local_decisions.load(Ordering::Relaxed),
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
        self.local_decisions += o.local_decisions;
    }
}

impl fmt::Debug for Pacer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let windows: Vec<String> = self.windows.iter().map(ToString::to_string).collect();
        f.debug_struct("Pacer")
            .field("windows", &windows)
            .field("max_quota_wait", &self.max_quota_wait)
            .field("shared", &self.shared.as_ref().map(|s| &s.budget))
            .finish_non_exhaustive()
    }
}

impl Pacer {
    /// A pacer enforcing every window in `windows`, in this process.
    #[must_use]
    pub fn new(windows: &[RateWindow], max_quota_wait: Duration) -> Self {
        let logs = logs_for(windows);
        Self {
            windows: logs.iter().map(|log| log.window).collect(),
            logs: Mutex::new(logs),
            max_quota_wait,
            stats: PacerStats::default(),
            shared: None,
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

    /// Whether this pacer's budget is kept in a shared store.
    #[must_use]
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// Every window's standing now, longest first: how many requests it lets go at once and
    /// when its next slot frees. Requests already reserved by waiting callers count as used.
    ///
    /// For a shared budget, what this process knows: its own grants against the windows, or,
    /// while the store is unreachable, against the fallback share it paces to.
    #[must_use]
    pub fn remaining(&self) -> Vec<WindowState> {
        let now = Instant::now();
        let mut logs = self.current_logs();
        logs.iter_mut()
            .map(|log| {
                log.prune(now);
                log.state(now)
            })
            .collect()
    }

    /// For a pacer on a shared budget, every window's standing in the shared store now,
    /// longest first: what every process on this key has left, not only this one. `None` for
    /// an in-process budget (see [`remaining`](Self::remaining)).
    pub async fn shared_remaining(&self) -> Option<Result<Vec<WindowState>, PacingError>> {
        let shared = self.shared.as_ref()?;
        Some(
            shared
                .quota
                .store
                .state(&shared.budget, &self.windows)
                .await,
        )
    }

    /// The earliest instant the next request could be sent: now when it would not wait. A
    /// quota window may still refuse it (see [`acquire`](Self::acquire)). For a shared
    /// budget, as far as this process knows (see [`remaining`](Self::remaining)).
    #[must_use]
    pub fn ready_at(&self) -> Instant {
        let now = Instant::now();
        let mut logs = self.current_logs();
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
        if let Some(shared) = &self.shared {
            return self.acquire_shared(shared).await;
        }
        let now = Instant::now();
        let at = reserve_in(&mut self.logs(), now, self.max_quota_wait);
        match at {
            Ok(at) => self.wait_until(now, at).await,
            Err(wait) => Err(quota_exhausted(wait)),
        }
    }

    async fn acquire_shared(&self, shared: &SharedBudget) -> Result<Duration, FetchError> {
        let id = shared.next_grant();
        if !shared.quota.is_degraded() {
            let reply = shared
                .quota
                .store
                .reserve(&shared.budget, &self.windows, self.max_quota_wait, id)
                .await;
            match reply {
                Ok(wait) => {
                    // The slot is `wait` after the store decided; counting it from the answer
                    // errs late by the round trip, never early.
                    let now = Instant::now();
                    let at = now.checked_add(wait).unwrap_or(now + CENTURY);
                    self.record(shared, at, id, false);
                    return self.wait_until(now, at).await;
                }
                Err(PacingError::QuotaExhausted { retry_in }) => {
                    return Err(quota_exhausted(retry_in));
                }
                Err(PacingError::Unavailable { reason }) => shared.quota.degrade(&reason),
            }
        }
        self.stats.local_decisions.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let at = {
            let mut fallback = lock(&shared.fallback);
            // What the other processes were granted through the store before it was lost is
            // unknown here: the fallback starts as if every window were full at the loss, so
            // its first grant waits a span. No window of the provider's, wherever it is
            // aligned, then holds grants from before the loss and from the fallback, and the
            // processes' shares add up to at most the quota.
            let episode = shared.quota.episode.load(Ordering::Acquire);
            if shared.seeded.swap(episode, Ordering::AcqRel) != episode {
                fallback.iter_mut().for_each(|log| log.fill(now));
            }
            match reserve_in(&mut fallback, now, self.max_quota_wait) {
                Ok(at) => at,
                Err(wait) => return Err(quota_exhausted(wait)),
            }
        };
        self.record(shared, at, id, true);
        self.wait_until(now, at).await
    }

    /// Remembers a grant of this process's: in its own view of the windows, in the fallback
    /// logs (unless the fallback made it, and so holds it already), and as a grant to restore.
    fn record(&self, shared: &SharedBudget, at: Instant, id: GrantId, by_fallback: bool) {
        self.logs().iter_mut().for_each(|log| log.record(at));
        if !by_fallback {
            lock(&shared.fallback)
                .iter_mut()
                .for_each(|log| log.record(at));
        }
        let mut own = lock(&shared.own);
        let i = own.partition_point(|(t, _)| *t <= at);
        own.insert(i, (at, id));
        let now = Instant::now();
        while own
            .front()
            .is_some_and(|(t, _)| t.checked_add(shared.keep).is_some_and(|end| end <= now))
        {
            own.pop_front();
        }
        while own.len() > shared.keep_count {
            own.pop_front();
        }
    }

    /// Hands the grants of this process's that still count to the shared store (after it was
    /// unreachable, or restarted empty).
    async fn restore(&self) -> Result<(), PacingError> {
        let Some(shared) = &self.shared else {
            return Ok(());
        };
        let now = Instant::now();
        let grants: Vec<PastGrant> = lock(&shared.own)
            .iter()
            .map(|&(at, id)| PastGrant {
                id,
                age: if at <= now {
                    GrantAge::Ago(now - at)
                } else {
                    GrantAge::Ahead(at - now)
                },
            })
            .collect();
        if grants.is_empty() {
            return Ok(());
        }
        shared
            .quota
            .store
            .restore(&shared.budget, &self.windows, &grants)
            .await
    }

    async fn wait_until(&self, now: Instant, at: Instant) -> Result<Duration, FetchError> {
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
        lock(&self.logs)
    }

    /// The logs a planner reads: this process's own, or the fallback it paces to while the
    /// shared store is unreachable.
    fn current_logs(&self) -> MutexGuard<'_, Vec<Log>> {
        match &self.shared {
            Some(shared) if shared.quota.is_degraded() => lock(&shared.fallback),
            _ => self.logs(),
        }
    }
}

/// Every critical section leaves its data consistent: a poisoned lock is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn quota_exhausted(wait: Duration) -> FetchError {
    let resets_at = Timestamp::now().checked_add(wait).ok();
    FetchError::QuotaExhausted { resets_at }
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

// ---------------------------------------------------------------------------------------------
// A shared store, and what a process does while it is unreachable

/// One pacer's budget in the shared store.
struct SharedBudget {
    quota: Arc<SharedQuota>,
    budget: BudgetId,
    /// The windows at the fallback share, with every grant of this process's in them.
    fallback: Mutex<Vec<Log>>,
    /// This process's grants that may still count (the longest span), to restore.
    own: Mutex<VecDeque<(Instant, GrantId)>>,
    keep: Duration,
    keep_count: usize,
    seq: AtomicU64,
    /// The degraded episode whose start the fallback logs were filled for.
    seeded: AtomicU64,
}

impl SharedBudget {
    fn next_grant(&self) -> GrantId {
        GrantId {
            process: self.quota.process,
            seq: self.seq.fetch_add(1, Ordering::Relaxed),
        }
    }
}

/// A shared store, and whether it answers: one per registry, shared by its pacers.
struct SharedQuota {
    store: Arc<dyn Pacing>,
    fallback_share: f64,
    probe_first: Duration,
    probe_max: Duration,
    /// Names this process's grants (random per registry).
    process: u64,
    degraded: AtomicBool,
    /// Counts the times the store was lost (an episode starts at each).
    episode: AtomicU64,
    health: Mutex<Health>,
    pacers: Mutex<Vec<Weak<Pacer>>>,
}

#[derive(Debug, Default)]
struct Health {
    /// A task is probing the store.
    probing: bool,
    /// Why it was last found unreachable.
    reason: Option<String>,
}

impl fmt::Debug for SharedQuota {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedQuota")
            .field("store", &self.store.location())
            .field("fallback_share", &self.fallback_share)
            .field("degraded", &self.is_degraded())
            .finish_non_exhaustive()
    }
}

impl SharedQuota {
    fn is_degraded(&self) -> bool {
        self.degraded.load(Ordering::Acquire)
    }

    /// The store did not answer: pace locally (said once, at warn) and probe it in the
    /// background until it answers.
    fn degrade(self: &Arc<Self>, reason: &str) {
        let mut health = lock(&self.health);
        if !self.degraded.swap(true, Ordering::AcqRel) {
            self.episode.fetch_add(1, Ordering::AcqRel);
            health.reason = Some(reason.to_owned());
            tracing::warn!(
                quota_store = %self.store.location(),
                fallback_share = self.fallback_share,
                reason,
                "quota store unreachable: each process paces locally at {} of every window \
                 until it answers again",
                describe_share(self.fallback_share)
            );
        }
        if health.probing {
            return;
        }
        // No runtime (a caller outside tokio): the next failure tries again.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            health.probing = true;
            runtime.spawn(Arc::clone(self).probe_until_back());
        }
    }

    /// Probes the store with a capped exponential backoff; once it answers, hands it this
    /// process's recent grants and goes back to it (said once, at info).
    async fn probe_until_back(self: Arc<Self>) {
        let mut delay = self.probe_first;
        loop {
            tokio::time::sleep(delay).await;
            delay = delay.saturating_mul(2).min(self.probe_max);
            if self.store.probe().await.is_err() || self.restore_all().await.is_err() {
                continue;
            }
            // Under the lock `degrade` takes: a failure right after is a new episode, with a
            // prober of its own.
            {
                let mut health = lock(&self.health);
                self.degraded.store(false, Ordering::Release);
                health.probing = false;
                health.reason = None;
            }
            tracing::info!(
                quota_store = %self.store.location(),
                "quota store answers again: quotas are shared through it again"
            );
            // Grants made between the restore and the switch: restoring twice counts each
            // once (grants are named).
            let _ = self.restore_all().await;
            return;
        }
    }

    async fn restore_all(&self) -> Result<(), PacingError> {
        let pacers: Vec<Arc<Pacer>> = {
            let mut pacers = lock(&self.pacers);
            pacers.retain(|p| p.strong_count() > 0);
            pacers.iter().filter_map(Weak::upgrade).collect()
        };
        for pacer in pacers {
            pacer.restore().await?;
        }
        Ok(())
    }

    /// Probes the store now, unless it is already known unreachable (a task is probing it).
    async fn check(self: &Arc<Self>) {
        if self.is_degraded() {
            return;
        }
        if let Err(e) = self.store.probe().await {
            let reason = match e {
                PacingError::Unavailable { reason } => reason,
                other => other.to_string(),
            };
            self.degrade(&reason);
        }
    }

    fn status(&self) -> QuotaStatus {
        QuotaStatus {
            location: self.store.location(),
            fallback_share: self.fallback_share,
            degraded: self.is_degraded(),
            reason: lock(&self.health).reason.clone(),
        }
    }
}

/// Where a registry keeps its budgets, and whether that store answers: what `stockdata
/// providers` and `/metrics` report.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaStatus {
    /// The store, credentials redacted ("Redis at redis://127.0.0.1:6379/").
    pub location: String,
    /// The share of every window each process paces to on its own while the store is
    /// unreachable.
    pub fallback_share: f64,
    /// The store is unreachable: quotas are paced locally at `fallback_share`.
    pub degraded: bool,
    /// Why it was found unreachable, while it is.
    pub reason: Option<String>,
}

/// A share for people: `1/4` for 0.25, `1/2` for 0.5, `30%` for 0.3, `all` for 1.
#[must_use]
pub fn describe_share(share: f64) -> String {
    if share >= 1.0 {
        return "all".to_owned();
    }
    let inverse = 1.0 / share;
    let rounded = inverse.round();
    if share > 0.0 && (inverse - rounded).abs() < 1e-9 && rounded <= 1000.0 {
        return format!("1/{rounded}");
    }
    format!("{}%", (share * 100.0 * 10.0).round() / 10.0)
}

// ---------------------------------------------------------------------------------------------
// The in-process store

/// The in-process implementation of the [`Pacing`] port: one set of sliding logs per budget,
/// in memory, exactly the decision a [`Pacer`] makes on its own. Budgets are named by a keyed
/// hash random per instance (nothing outside this process needs to find them), and it never
/// fails, so a registry sharing it never degrades. Useful to embed several pacing users in one
/// process, and as the reference a shared store is tested against.
#[derive(Debug, Default)]
pub struct LocalPacing {
    hasher: RandomState,
    logs: Mutex<HashMap<BudgetId, Vec<Log>>>,
}

impl LocalPacing {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl Pacing for LocalPacing {
    fn budget(&self, provider: &ProviderId, key: &str) -> BudgetId {
        BudgetId {
            provider: provider.clone(),
            fingerprint: format!("{:016x}", self.hasher.hash_one(key)),
        }
    }

    async fn reserve(
        &self,
        budget: &BudgetId,
        windows: &[RateWindow],
        max_quota_wait: Duration,
        _grant: GrantId,
    ) -> Result<Duration, PacingError> {
        let now = Instant::now();
        let mut all = lock(&self.logs);
        let logs = all
            .entry(budget.clone())
            .or_insert_with(|| logs_for(windows));
        match reserve_in(logs, now, max_quota_wait) {
            Ok(at) => Ok(at - now),
            Err(retry_in) => Err(PacingError::QuotaExhausted { retry_in }),
        }
    }

    async fn restore(
        &self,
        _budget: &BudgetId,
        _windows: &[RateWindow],
        _grants: &[PastGrant],
    ) -> Result<(), PacingError> {
        // Memory is never lost while this process runs.
        Ok(())
    }

    async fn state(
        &self,
        budget: &BudgetId,
        windows: &[RateWindow],
    ) -> Result<Vec<WindowState>, PacingError> {
        let now = Instant::now();
        let mut all = lock(&self.logs);
        Ok(match all.get_mut(budget) {
            Some(logs) => logs
                .iter_mut()
                .map(|log| {
                    log.prune(now);
                    log.state(now)
                })
                .collect(),
            // Nothing was ever reserved: every window is whole.
            None => logs_for(windows).iter().map(|log| log.state(now)).collect(),
        })
    }

    async fn probe(&self) -> Result<(), PacingError> {
        Ok(())
    }

    fn location(&self) -> String {
        "in-process".to_owned()
    }
}

// ---------------------------------------------------------------------------------------------
// The registry

/// How often a registry probes a shared store that stopped answering: after `first`, then
/// twice as long each time, at most `max` apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeBackoff {
    /// The first probe, after the store was found unreachable.
    pub first: Duration,
    /// The longest time between two probes.
    pub max: Duration,
}

impl Default for ProbeBackoff {
    fn default() -> Self {
        Self {
            first: Duration::from_millis(500),
            max: Duration::from_secs(10),
        }
    }
}

/// Hands out one shared [`Pacer`] per (provider, API key): every client using the same key
/// draws from the same budget, because two limiters would silently double the rate.
///
/// Keys are remembered only as a keyed hash (random per registry), never as text. A registry
/// built with [`shared`](Self::shared) also names each budget in the shared store by the
/// store's own fingerprint of the key (stable across processes, one-way).
#[derive(Debug, Default)]
pub struct PacerRegistry {
    hasher: RandomState,
    pacers: Mutex<HashMap<(ProviderId, u64), Arc<Pacer>>>,
    shared: Option<Arc<SharedQuota>>,
}

impl PacerRegistry {
    /// An empty registry whose budgets live in this process.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty registry whose budgets live in `store`, shared with every process using it.
    /// While the store is unreachable each pacer paces on its own at `fallback_share` of
    /// every window (see [`RateWindow::share`]; a share outside (0, 1] is taken as 1/4).
    #[must_use]
    pub fn shared(store: Arc<dyn Pacing>, fallback_share: f64) -> Self {
        Self::shared_with_backoff(store, fallback_share, ProbeBackoff::default())
    }

    /// [`shared`](Self::shared), probing an unreachable store on `backoff`.
    #[must_use]
    pub fn shared_with_backoff(
        store: Arc<dyn Pacing>,
        fallback_share: f64,
        backoff: ProbeBackoff,
    ) -> Self {
        let fallback_share = if fallback_share > 0.0 && fallback_share <= 1.0 {
            fallback_share
        } else {
            0.25
        };
        Self {
            shared: Some(Arc::new(SharedQuota {
                store,
                fallback_share,
                probe_first: backoff.first,
                probe_max: backoff.max.max(backoff.first),
                process: fastrand::u64(..),
                degraded: AtomicBool::new(false),
                episode: AtomicU64::new(0),
                health: Mutex::new(Health::default()),
                pacers: Mutex::new(Vec::new()),
            })),
            ..Self::default()
        }
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
        let mut pacers = lock(&self.pacers);
        let pacer = pacers
            .entry((provider.clone(), fingerprint))
            .or_insert_with(|| {
                let mut pacer = Pacer::new(windows, max_quota_wait);
                let Some(quota) = self.shared.as_ref().filter(|_| !windows.is_empty()) else {
                    return Arc::new(pacer);
                };
                let budget = quota.store.budget(provider, key.expose_secret());
                pacer.shared = Some(SharedBudget {
                    quota: Arc::clone(quota),
                    budget,
                    fallback: Mutex::new(logs_for(
                        &windows
                            .iter()
                            .map(|w| w.share(quota.fallback_share))
                            .collect::<Vec<_>>(),
                    )),
                    own: Mutex::new(VecDeque::new()),
                    keep: windows
                        .iter()
                        .map(|w| w.span().min(CENTURY))
                        .max()
                        .unwrap_or_default(),
                    keep_count: windows
                        .iter()
                        .map(|w| usize::try_from(w.requests.get()).unwrap_or(usize::MAX))
                        .max()
                        .unwrap_or(0)
                        .saturating_mul(2),
                    seq: AtomicU64::new(0),
                    seeded: AtomicU64::new(0),
                });
                let pacer = Arc::new(pacer);
                lock(&quota.pacers).push(Arc::downgrade(&pacer));
                pacer
            });
        Arc::clone(pacer)
    }

    /// Where budgets are kept and whether that store answers; `None` for an in-process
    /// registry.
    #[must_use]
    pub fn quota_status(&self) -> Option<QuotaStatus> {
        self.shared.as_ref().map(|q| q.status())
    }

    /// Probes the shared store now (when it is not already known unreachable) and says where
    /// things stand; `None` for an in-process registry.
    pub async fn check_quota_store(&self) -> Option<QuotaStatus> {
        let quota = self.shared.as_ref()?;
        quota.check().await;
        Some(quota.status())
    }

    /// [`check_quota_store`](Self::check_quota_store) in a task of the current tokio runtime
    /// (nothing without one or without a shared store): a store unreachable at start is
    /// reported at start, not at the first request.
    pub fn check_quota_store_in_background(&self) {
        let Some(quota) = self.shared.as_ref().map(Arc::clone) else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { quota.check().await });
        }
    }

    /// For each provider with a pacer on a shared budget, whether it is paced locally now
    /// because the store is unreachable (empty for an in-process registry).
    #[must_use]
    pub fn degraded(&self) -> Vec<(ProviderId, bool)> {
        let pacers = lock(&self.pacers);
        let mut out: Vec<(ProviderId, bool)> = Vec::new();
        for ((provider, _), pacer) in pacers.iter() {
            let Some(shared) = &pacer.shared else {
                continue;
            };
            if !out.iter().any(|(p, _)| p == provider) {
                out.push((provider.clone(), shared.quota.is_degraded()));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// For each provider with a pacer on a shared budget, where its windows stand in the
    /// shared store now (see [`Pacer::shared_remaining`]; over several keys, the least left in
    /// each window). Empty for an in-process registry.
    pub async fn shared_remaining(
        &self,
    ) -> Vec<(ProviderId, Result<Vec<WindowState>, PacingError>)> {
        let pacers: Vec<(ProviderId, Arc<Pacer>)> = lock(&self.pacers)
            .iter()
            .filter(|(_, pacer)| pacer.shared.is_some())
            .map(|((provider, _), pacer)| (provider.clone(), Arc::clone(pacer)))
            .collect();
        let mut out: Vec<(ProviderId, Result<Vec<WindowState>, PacingError>)> = Vec::new();
        for (provider, pacer) in pacers {
            let Some(state) = pacer.shared_remaining().await else {
                continue;
            };
            match (out.iter_mut().find(|(p, _)| *p == provider), state) {
                (None, state) => out.push((provider, state)),
                (Some((_, Ok(have))), Ok(more)) => {
                    for (h, m) in have.iter_mut().zip(more) {
                        h.remaining = h.remaining.min(m.remaining);
                        h.next_free_in = h.next_free_in.max(m.next_free_in);
                    }
                }
                (Some(slot), Err(e)) => slot.1 = Err(e),
                (Some((_, Err(_))), Ok(_)) => {}
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// For each provider, how long until its next request may go (the longest over its
    /// keys): what a progress bar shows while a quota makes the run wait.
    #[must_use]
    pub fn ready_in(&self) -> Vec<(ProviderId, Duration)> {
        let pacers = lock(&self.pacers);
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
        let pacers = lock(&self.pacers);
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

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    #[test]
    fn shares_for_people() {
        for (share, text) in [
            (0.25, "1/4"),
            (0.5, "1/2"),
            (1.0, "all"),
            (0.3, "30%"),
            (0.125, "1/8"),
            (0.333, "33.3%"),
        ] {
            assert_eq!(describe_share(share), text, "{share}");
        }
    }

    /// The in-process store behind a switch: "unreachable" while `down`; remembers what it was
    /// handed back.
    #[derive(Debug, Default)]
    struct Flaky {
        inner: LocalPacing,
        down: AtomicBool,
        restored: Mutex<Vec<PastGrant>>,
    }

    impl Flaky {
        fn check(&self) -> Result<(), PacingError> {
            if self.down.load(Ordering::SeqCst) {
                Err(PacingError::Unavailable {
                    reason: "down".to_owned(),
                })
            } else {
                Ok(())
            }
        }
    }

    #[async_trait]
    impl Pacing for Flaky {
        fn budget(&self, provider: &ProviderId, key: &str) -> BudgetId {
            self.inner.budget(provider, key)
        }
        async fn reserve(
            &self,
            budget: &BudgetId,
            windows: &[RateWindow],
            max_quota_wait: Duration,
            grant: GrantId,
        ) -> Result<Duration, PacingError> {
            self.check()?;
            self.inner
                .reserve(budget, windows, max_quota_wait, grant)
                .await
        }
        async fn restore(
            &self,
            _: &BudgetId,
            _: &[RateWindow],
            grants: &[PastGrant],
        ) -> Result<(), PacingError> {
            self.check()?;
            lock(&self.restored).extend_from_slice(grants);
            Ok(())
        }
        async fn state(
            &self,
            budget: &BudgetId,
            windows: &[RateWindow],
        ) -> Result<Vec<WindowState>, PacingError> {
            self.check()?;
            self.inner.state(budget, windows).await
        }
        async fn probe(&self) -> Result<(), PacingError> {
            self.check()
        }
        fn location(&self) -> String {
            "flaky".to_owned()
        }
    }

    fn n(v: u32) -> NonZeroU32 {
        NonZeroU32::new(v).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn an_unreachable_store_means_local_pacing_at_the_share_then_back() {
        let store = Arc::new(Flaky::default());
        let backoff = ProbeBackoff {
            first: Duration::from_secs(1),
            max: Duration::from_secs(4),
        };
        let registry = PacerRegistry::shared_with_backoff(store.clone(), 0.25, backoff);
        let provider = ProviderId::from_static("finnhub");
        let windows = [RateWindow::per_second(n(8))];
        let pacer = registry.pacer(
            &provider,
            &SecretString::from("k"),
            &windows,
            Duration::ZERO,
        );
        assert!(pacer.is_shared());
        for _ in 0..2 {
            assert_eq!(pacer.acquire().await.unwrap(), Duration::ZERO);
        }
        assert_eq!(registry.degraded(), [(provider.clone(), false)]);

        store.down.store(true, Ordering::SeqCst);
        // 8/s at 1/4 is 2/s, and the two shared grants of a moment ago count in it.
        let waited = pacer.acquire().await.unwrap();
        assert_eq!(waited, Duration::from_millis(1201));
        assert_eq!(pacer.acquire().await.unwrap(), Duration::ZERO);
        assert_eq!(
            pacer.acquire().await.unwrap(),
            Duration::from_millis(1201),
            "never unpaced"
        );
        let status = registry.quota_status().unwrap();
        assert!(status.degraded && status.reason.as_deref() == Some("down"));
        assert_eq!(registry.degraded(), [(provider.clone(), true)]);
        assert_eq!(pacer.stats().snapshot().local_decisions, 3);
        assert_eq!(pacer.remaining()[0].window, windows[0].share(0.25));

        store.down.store(false, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(!registry.quota_status().unwrap().degraded);
        let restored = lock(&store.restored).len();
        assert!(restored >= 5, "its grants were handed back: {restored}");
        pacer.acquire().await.unwrap();
        assert_eq!(pacer.stats().snapshot().local_decisions, 3, "shared again");
        assert_eq!(pacer.remaining()[0].window, windows[0]);
    }

    /// What the other processes were granted before the store was lost is unknown: a process
    /// that made no grant itself still waits a full span before its first local one, so no
    /// window of the provider's holds grants from before the loss and from the fallback.
    #[tokio::test(start_paused = true)]
    async fn after_the_loss_the_fallback_starts_from_a_full_window() {
        let store = Arc::new(Flaky::default());
        let busy = PacerRegistry::shared(store.clone(), 0.25);
        let quiet = PacerRegistry::shared(store.clone(), 0.25);
        let provider = ProviderId::from_static("finnhub");
        let windows = [RateWindow::per_minute(n(60))];
        let key = SecretString::from("shared-key");
        let busy = busy.pacer(&provider, &key, &windows, Duration::ZERO);
        let quiet = quiet.pacer(&provider, &key, &windows, Duration::ZERO);
        for _ in 0..60 {
            assert_eq!(busy.acquire().await.unwrap(), Duration::ZERO);
        }
        store.down.store(true, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(10)).await;
        let waited = quiet.acquire().await.unwrap();
        assert!(
            waited >= windows[0].span(),
            "the quiet process waited {waited:?}: the busy one filled the window"
        );
        // Then 15 a minute (a quarter), never more.
        for _ in 1..15 {
            assert_eq!(quiet.acquire().await.unwrap(), Duration::ZERO);
        }
        assert!(quiet.acquire().await.unwrap() >= windows[0].span() - Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_quota_refused_by_the_store_is_quota_exhausted_not_a_fallback() {
        let registry = PacerRegistry::shared(Arc::new(LocalPacing::new()), 0.25);
        let pacer = registry.pacer(
            &ProviderId::from_static("alpha_vantage"),
            &SecretString::from("k"),
            &[RateWindow::per_day(n(1))],
            Duration::ZERO,
        );
        pacer.acquire().await.unwrap();
        let err = pacer.acquire().await.unwrap_err();
        assert!(matches!(err, FetchError::QuotaExhausted { .. }), "{err:?}");
        assert_eq!(pacer.stats().snapshot().local_decisions, 0);
        assert!(!registry.quota_status().unwrap().degraded);
    }

    #[test]
    fn a_provider_without_windows_is_never_shared() {
        let registry = PacerRegistry::shared(Arc::new(LocalPacing::new()), 0.25);
        let pacer = registry.pacer(
            &ProviderId::from_static("serverless"),
            &SecretString::from(""),
            &[],
            Duration::ZERO,
        );
        assert!(!pacer.is_shared());
        assert!(registry.degraded().is_empty());
    }
}
