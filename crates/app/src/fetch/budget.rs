//! Quota budgets: a run never spends more than its share of a provider's daily quota, so Alpha
//! Vantage's 25 requests a day last the day. A call over budget is not sent: the router records
//! it in the trail (`over_budget`) and moves on, and a symbol no provider could answer reports
//! `QuotaExhausted`, never a wait of hours.

use std::collections::HashMap;
use std::sync::Mutex;

use stockdata_domain::ProviderId;

/// Calls each provider may take in one run; providers not listed are unlimited.
#[derive(Debug, Default)]
pub struct RunBudget {
    limits: HashMap<ProviderId, u64>,
    used: Mutex<HashMap<ProviderId, u64>>,
}

impl RunBudget {
    /// No limit for anyone (one-shot commands, `serve`).
    #[must_use]
    pub fn unlimited() -> Self {
        Self::default()
    }

    /// `limits`: the calls each listed provider may take in a run.
    #[must_use]
    pub fn new(limits: impl IntoIterator<Item = (ProviderId, u64)>) -> Self {
        Self {
            limits: limits.into_iter().collect(),
            used: Mutex::new(HashMap::new()),
        }
    }

    /// `share` of each provider's `daily` quota (at least one call when the quota is not
    /// zero): what `[agent] daily_quota_share` gives a run.
    #[must_use]
    pub fn daily_share(daily: impl IntoIterator<Item = (ProviderId, u64)>, share: f64) -> Self {
        Self::new(daily.into_iter().map(|(p, n)| (p, share_of(n, share))))
    }

    /// Whether `provider` has a budget at all: its calls are scarce, spent only where needed.
    #[must_use]
    pub fn is_scarce(&self, provider: &ProviderId) -> bool {
        self.limits.contains_key(provider)
    }

    /// Takes one call from `provider`'s budget; `false` when none is left.
    pub fn try_take(&self, provider: &ProviderId) -> bool {
        let Some(limit) = self.limits.get(provider) else {
            return true;
        };
        let mut used = self
            .used
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = used.entry(provider.clone()).or_default();
        if *n >= *limit {
            return false;
        }
        *n += 1;
        true
    }

    /// Calls left for `provider` (`None`: unlimited).
    #[must_use]
    pub fn remaining(&self, provider: &ProviderId) -> Option<u64> {
        let limit = self.limits.get(provider)?;
        let used = self
            .used
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Some(limit.saturating_sub(used.get(provider).copied().unwrap_or(0)))
    }

    /// Starts a new run: every budget full again.
    pub fn reset(&self) {
        self.used
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }
}

/// `share` of `n`, rounded down, at least 1 when `n` is not zero.
fn share_of(n: u64, share: f64) -> u64 {
    if n == 0 {
        return 0;
    }
    let share = share.clamp(0.0, 1.0);
    // Exact for any realistic quota: both sides are far below 2^52.
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "quotas are small integers; the result is clamped to 1..=n"
    )]
    let taken = (n as f64 * share).floor() as u64;
    taken.clamp(1, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_of_the_daily_quota() {
        let av = ProviderId::from_static("av");
        let b = RunBudget::daily_share([(av.clone(), 25)], 0.5);
        assert_eq!(b.remaining(&av), Some(12));
        assert!(b.is_scarce(&av));
        for _ in 0..12 {
            assert!(b.try_take(&av));
        }
        assert!(!b.try_take(&av));
        assert_eq!(b.remaining(&av), Some(0));
        b.reset();
        assert_eq!(b.remaining(&av), Some(12));
        let other = ProviderId::from_static("other");
        assert!(b.try_take(&other) && b.remaining(&other).is_none());
        assert_eq!(share_of(25, 0.01), 1, "at least one call");
        assert_eq!(share_of(25, 1.0), 25);
    }
}
