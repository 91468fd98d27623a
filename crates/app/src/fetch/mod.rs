//! The fetchers: one responsibility each, all routing through the configured provider chain
//! with per-symbol fail-over, and an attempt trail on every result.

//!
//! `route` is the one router (fail-over, batching, the attempt trail); each fetcher is its own
//! file; `Shared::call` is the one place a provider call takes a permit, is counted and timed.
//! Pure rules (range splitting, news de-duplication) live in the domain.

mod budget;
mod history;
mod news;
mod prices;
mod route;
mod stored;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use stockdata_domain::TimeRange;
pub use stockdata_domain::news::{
    SAME_STORY_WINDOW, canonical_url, dedupe_news, normalized_headline,
};
use stockdata_domain::quality::Finding;
use stockdata_domain::{Bar, ErrorKind, FetchError, ProviderId, Symbol};
use tokio::sync::Semaphore;
use tokio::time::Instant;

pub use self::budget::RunBudget;
pub use self::history::HistoricalDataFetcher;
pub use self::news::{NewsFetcher, NewsMerge, NewsReport};
pub use self::prices::PriceFetcher;
pub use self::stored::{
    DEFAULT_NEWS_TTL, DEFAULT_QUOTES_TTL, STORE, StoreLayer, bar_gaps, can_hold_bars,
    final_boundary, quote_is_fresh,
};

/// Splits `range` into consecutive pieces no longer than `max` (see [`TimeRange::split`]).
#[must_use]
pub fn split_range(range: TimeRange, max: Option<Duration>) -> Vec<TimeRange> {
    range.split(max)
}

/// How one provider attempt for one symbol ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Data came back.
    Ok,
    /// It failed with this kind.
    Failed(ErrorKind),
    /// Not asked: the run's share of its daily quota is spent (`[agent] daily_quota_share`).
    OverBudget,
    /// Not asked: it cannot serve the request (e.g. the interval).
    Skipped,
}

impl Outcome {
    /// `ok`, `skipped` or the error kind's name.
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Failed(kind) => kind.as_str(),
            Outcome::Skipped => "skipped",
            Outcome::OverBudget => "over_budget",
        }
    }
}

/// One step of the attempt trail: which provider, how it ended, how long it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The provider asked.
    pub provider: ProviderId,
    /// How it ended.
    pub outcome: Outcome,
    /// Time spent, pacing and retries included.
    pub elapsed: Duration,
}

/// One requested symbol's result with the trail of attempts that produced it.
#[derive(Debug, Clone)]
pub struct Report<T> {
    /// The symbol as requested.
    pub symbol: Symbol,
    /// Data, or the error reported when every provider failed.
    pub result: Result<T, FetchError>,
    /// Every provider attempt, in order.
    pub trail: Vec<Attempt>,
}

/// A bar series with its data-quality findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    /// Bars, oldest first, one per start instant.
    pub bars: Vec<Bar>,
    /// Data-quality findings about them.
    pub findings: Vec<Finding>,
}

/// Counters shared by the fetchers of one `StockData`, for run statistics.
#[derive(Debug, Default)]
pub struct Counters {
    inner: Mutex<CounterState>,
}

#[derive(Debug, Default, Clone)]
struct CounterState {
    calls: HashMap<ProviderId, u64>,
    failovers: u64,
    store_hits: u64,
}

impl Counters {
    fn call(&self, provider: &ProviderId) {
        let mut s = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *s.calls.entry(provider.clone()).or_default() += 1;
    }

    fn failover(&self) {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .failovers += 1;
    }

    fn store_hits(&self, n: u64) {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .store_hits += n;
    }

    /// Symbols answered from the store so far (no provider asked, no quota spent).
    #[must_use]
    pub fn store_hit_count(&self) -> u64 {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .store_hits
    }

    /// Port calls per provider, and fail-overs, so far.
    #[must_use]
    pub fn snapshot(&self) -> (Vec<(ProviderId, u64)>, u64) {
        let s = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let mut calls: Vec<_> = s.calls.into_iter().collect();
        calls.sort();
        (calls, s.failovers)
    }
}

/// What every fetcher shares: the bound on provider calls in flight and the counters.
#[derive(Debug, Clone)]
pub struct Shared {
    /// Provider calls in flight at once, across all fetchers of one `StockData`.
    pub permits: Arc<Semaphore>,
    /// Concurrency used for single-symbol fan-out.
    pub concurrency: usize,
    /// Run counters.
    pub counters: Arc<Counters>,
    /// What to configure when no provider serves a kind of data (from the registry).
    pub unconfigured_hint: Arc<str>,
    /// Calls each scarce provider may still take in this run.
    pub budget: Arc<RunBudget>,
    /// The store asked before any provider, when one is configured.
    pub store: Option<StoreLayer>,
}

impl Shared {
    /// A bound of `concurrency` calls in flight.
    #[must_use]
    pub fn new(concurrency: usize) -> Self {
        let concurrency = concurrency.max(1);
        Self {
            permits: Arc::new(Semaphore::new(concurrency)),
            concurrency,
            counters: Arc::new(Counters::default()),
            unconfigured_hint: Arc::from("`stockdata providers` says what each provider needs"),
            budget: Arc::new(RunBudget::unlimited()),
            store: None,
        }
    }

    /// The same bound and budget with counters of its own (one agent run's statistics).
    #[must_use]
    pub fn with_fresh_counters(mut self) -> Self {
        self.counters = Arc::new(Counters::default());
        self
    }

    /// The same bound, asking `store` before any provider.
    #[must_use]
    pub fn with_store(mut self, store: Option<StoreLayer>) -> Self {
        self.store = store;
        self
    }

    /// Counts `n` symbols answered from the store.
    pub(crate) fn store_hits(&self, n: usize) {
        if n > 0 {
            self.counters
                .store_hits(u64::try_from(n).unwrap_or(u64::MAX));
        }
    }

    /// The same bound and counters, with a budget of its own (an agent run's).
    #[must_use]
    pub fn with_budget(mut self, budget: RunBudget) -> Self {
        self.budget = Arc::new(budget);
        self
    }

    /// The same bound, with `hint` saying what to configure when no provider serves a kind.
    #[must_use]
    pub fn with_unconfigured_hint(mut self, hint: impl Into<Arc<str>>) -> Self {
        self.unconfigured_hint = hint.into();
        self
    }

    /// One provider call: takes one call from the provider's run budget (`None`, and nothing
    /// sent, when it is spent), waits for a permit, counts the call, times it. Every provider
    /// call of every fetcher goes through here; decorators (synthetic marking, later a cache)
    /// sit inside the port and are neither counted nor trailed as providers.
    pub(crate) fn call<F: Future>(
        &self,
        provider: &ProviderId,
        fut: F,
    ) -> impl Future<Output = Option<(F::Output, Duration)>> + use<F> {
        let permits = Arc::clone(&self.permits);
        let counters = Arc::clone(&self.counters);
        let budget = Arc::clone(&self.budget);
        let provider = provider.clone();
        async move {
            if !budget.try_take(&provider) {
                return None;
            }
            let _permit = permits.acquire().await;
            counters.call(&provider);
            let started = Instant::now();
            let out = fut.await;
            Some((out, started.elapsed()))
        }
    }

    /// What a call over budget reports for its symbols.
    pub(crate) fn over_budget() -> FetchError {
        FetchError::QuotaExhausted { resets_at: None }
    }

    /// The error reported when no provider is configured for a kind of data.
    pub(crate) fn no_provider(&self, kind: &str) -> FetchError {
        FetchError::InvalidRequest {
            reason: format!(
                "no provider is configured for {kind}: {}",
                self.unconfigured_hint
            ),
        }
    }
}
