//! The pacing port: where the budget of one (provider, API key) is kept, so that every request
//! stays within the provider's quota windows.
//!
//! A budget is a set of [`RateWindow`]s (Finnhub: 60/min and 30/s; Alpha Vantage: 25/day and
//! 1/s) enforced with sliding logs of the instants granted. [`Pacing::reserve`] checks every
//! window and, when each allows it, consumes one slot in all of them together, at the earliest
//! instant all of them allow: one decision, atomic over the windows. The in-process
//! implementation keeps the logs in memory (one process); a shared one (Redis) keeps them
//! where several processes using the same key draw from one budget.
//!
//! The contract every implementation honours:
//! - **All or nothing.** A reservation either takes one slot in every window or, when a quota
//!   window (an hour or longer, [`RateWindow::is_quota`]) would make the caller wait longer than
//!   it allows, takes nothing anywhere and answers [`PacingError::QuotaExhausted`].
//! - **Sliding logs, not token buckets.** A request and the `requests`-th after it are at least
//!   [`RateWindow::span`] apart, so no interval of the window's length holds more than its
//!   count, and no fixed window of the provider's, wherever it is aligned, counts one too many.
//!   A fresh window lets its whole count go at once.
//! - **First come, first served.** A reservation is never earlier than one already made.
//! - **One clock.** The wait is measured on the store's own clock; a caller only sleeps for the
//!   duration it is given.
//! - **Never the key.** A budget is named by a [`BudgetId`], a fingerprint of the key that the
//!   implementation derives once ([`Pacing::budget`]) and never reverses.
//! - **Unreachable is not a verdict.** A store that cannot answer says
//!   [`PacingError::Unavailable`]; the caller then paces locally at a share of each window
//!   (never unpaced) until the store answers again.

use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

use async_trait::async_trait;
use stockdata_domain::ProviderId;

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

    /// `share` of this window (above 0, at most 1): what one process may spend on its own
    /// while the shared store is unreachable. The count is scaled and rounded down; a window
    /// whose share is less than one request keeps one request over a proportionally longer
    /// period (1/s at 0.25 is 1 per 4 s), so `1 / share` processes never exceed the window's
    /// rate between them. A share outside (0, 1] (or not a number) is taken as 1.
    #[must_use]
    pub fn share(&self, share: f64) -> Self {
        let share = if share > 0.0 && share <= 1.0 {
            share
        } else {
            1.0
        };
        let scaled = f64::from(self.requests.get()) * share;
        if let Some(requests) = NonZeroU32::new(floor_u32(scaled)) {
            return Self {
                requests,
                per: self.per,
            };
        }
        // Less than one request a window: one request per `k` windows, `k` = ⌈1 / scaled⌉.
        let k = ceil_u32(1.0 / scaled);
        Self {
            requests: NonZeroU32::MIN,
            per: self.per.checked_mul(k).unwrap_or(Duration::MAX),
        }
    }
}

/// The largest `u32` at most `x` (0 for anything below 1 or not a number; `u32::MAX` above
/// it), found without a lossy cast.
fn floor_u32(x: f64) -> u32 {
    if x.is_nan() || x < 1.0 {
        return 0;
    }
    let (mut lo, mut hi) = (0u32, u32::MAX);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if f64::from(mid) <= x {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

/// The smallest `u32` at least `x`, at least 1 (`u32::MAX` above it or for not a number).
fn ceil_u32(x: f64) -> u32 {
    if x.is_nan() || x > f64::from(u32::MAX) {
        return u32::MAX;
    }
    let (mut lo, mut hi) = (1u32, u32::MAX);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if f64::from(mid) >= x {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
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

/// Names one budget: a provider and a fingerprint of the API key that draws from it. Never the
/// key: the fingerprint is a one-way hash, stable across processes when the budget is shared.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BudgetId {
    /// The provider.
    pub provider: ProviderId,
    /// A one-way fingerprint of the key (hex).
    pub fingerprint: String,
}

/// One reservation's id, unique within its budget: restoring a grant the store still holds
/// counts it once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GrantId {
    /// Random per process.
    pub process: u64,
    /// A counter within the process.
    pub seq: u64,
}

impl fmt::Display for GrantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}-{:x}", self.process, self.seq)
    }
}

/// When a grant was made, from now: what a process hands back to a store that lost it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantAge {
    /// This long ago.
    Ago(Duration),
    /// Reserved for this long from now (a caller still waiting for its slot).
    Ahead(Duration),
}

/// A grant this process made, to be restored in a store (see [`Pacing::restore`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PastGrant {
    /// Its id (the one it was reserved with, or a fresh one for a grant made locally).
    pub id: GrantId,
    /// When it was made.
    pub age: GrantAge,
}

/// Why a reservation was not made. Either way nothing was consumed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacingError {
    /// A quota window (an hour or longer) would make the caller wait longer than it allows.
    #[error("quota exhausted: the next request is allowed in {retry_in:?}")]
    QuotaExhausted {
        /// Until a slot frees in that window.
        retry_in: Duration,
    },
    /// The store cannot be reached, or its answer made no sense: pace locally instead.
    #[error("the quota store is unavailable: {reason}")]
    Unavailable {
        /// What went wrong (never a credential).
        reason: String,
    },
}

/// Where budgets are kept. See the module documentation for the contract.
#[async_trait]
pub trait Pacing: Send + Sync + fmt::Debug {
    /// The budget `key` draws from at `provider`. `key` is read once, to derive a one-way
    /// fingerprint (stable across processes when the store is shared); it is never kept,
    /// logged or sent anywhere.
    fn budget(&self, provider: &ProviderId, key: &str) -> BudgetId;

    /// Checks every window of `windows` for `budget` and, when a slot can be had without a
    /// quota window making the caller wait longer than `max_quota_wait`, takes one slot in
    /// every window, at the earliest instant all of them allow and no earlier than any
    /// reservation already made. Returns how long from now the caller must wait before
    /// sending (zero: send now). `grant` names the reservation (see [`restore`](Self::restore)).
    ///
    /// # Errors
    /// [`PacingError::QuotaExhausted`] (nothing consumed) with the wait the quota window
    /// imposes; [`PacingError::Unavailable`] when the store cannot answer (nothing known to
    /// be consumed).
    async fn reserve(
        &self,
        budget: &BudgetId,
        windows: &[RateWindow],
        max_quota_wait: Duration,
        grant: GrantId,
    ) -> Result<Duration, PacingError>;

    /// Adds `grants` (made by this process while the store was unreachable, or held by a
    /// store that restarted empty) to `budget`'s windows, each counting only while it is
    /// within the window's span. A grant the store still holds (same id) is not counted
    /// twice.
    ///
    /// # Errors
    /// [`PacingError::Unavailable`] when the store cannot answer.
    async fn restore(
        &self,
        budget: &BudgetId,
        windows: &[RateWindow],
        grants: &[PastGrant],
    ) -> Result<(), PacingError>;

    /// Where every window of `windows` stands for `budget` now, on the store's clock, longest
    /// window first: what is left for every process drawing from the budget, not only the
    /// caller (a shared store's answer to "how much of the quota is left?"). Grants reserved
    /// for callers still waiting count as used. Reads only: nothing is consumed.
    ///
    /// # Errors
    /// [`PacingError::Unavailable`] when the store cannot answer.
    async fn state(
        &self,
        budget: &BudgetId,
        windows: &[RateWindow],
    ) -> Result<Vec<WindowState>, PacingError>;

    /// Whether the store answers now (one cheap round trip).
    ///
    /// # Errors
    /// [`PacingError::Unavailable`] when it does not.
    async fn probe(&self) -> Result<(), PacingError>;

    /// Where budgets are kept, for people and logs, credentials redacted ("in-process",
    /// "Redis at redis://127.0.0.1:6379/").
    fn location(&self) -> String;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(v: u32) -> NonZeroU32 {
        NonZeroU32::new(v).unwrap()
    }

    #[test]
    fn a_share_scales_the_count_and_keeps_the_rate_when_below_one() {
        let check = |w: RateWindow, share: f64, expect: RateWindow| {
            assert_eq!(w.share(share), expect, "{w} at {share}");
        };
        check(
            RateWindow::per_minute(n(60)),
            0.25,
            RateWindow::per_minute(n(15)),
        );
        check(
            RateWindow::per_second(n(30)),
            0.25,
            RateWindow::per_second(n(7)),
        );
        check(RateWindow::per_day(n(25)), 0.25, RateWindow::per_day(n(6)));
        check(
            RateWindow::per_second(n(1)),
            0.25,
            RateWindow {
                requests: n(1),
                per: Duration::from_secs(4),
            },
        );
        check(
            RateWindow::per_second(n(2)),
            0.3,
            RateWindow {
                requests: n(1),
                per: Duration::from_secs(2),
            },
        );
        check(
            RateWindow::per_minute(n(200)),
            1.0,
            RateWindow::per_minute(n(200)),
        );
        for odd in [0.0, -1.0, 1.5, f64::NAN, f64::INFINITY] {
            check(
                RateWindow::per_minute(n(60)),
                odd,
                RateWindow::per_minute(n(60)),
            );
        }
        let forever = RateWindow {
            requests: n(1),
            per: Duration::MAX,
        };
        assert_eq!(forever.share(0.001).per, Duration::MAX, "no overflow");
        assert_eq!(
            RateWindow::per_second(n(1)).share(1e-300).per,
            Duration::from_secs(u64::from(u32::MAX))
        );
    }

    #[test]
    fn rounding_without_casts() {
        assert_eq!(floor_u32(0.99), 0);
        assert_eq!(floor_u32(1.0), 1);
        assert_eq!(floor_u32(7.5), 7);
        assert_eq!(floor_u32(1e20), u32::MAX);
        assert_eq!(ceil_u32(0.2), 1);
        assert_eq!(ceil_u32(4.0), 4);
        assert_eq!(ceil_u32(4.000_001), 5);
        assert_eq!(ceil_u32(1e20), u32::MAX);
    }
}
