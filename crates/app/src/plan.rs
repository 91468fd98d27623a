//! The agent's request plan, made before anything is sent: for each kind of data, which
//! provider answers which symbols and with how many requests, from the providers'
//! capabilities (batch sizes, pages), the run's quota budgets and their pacing windows; and
//! the time pacing alone will take. `stockdata agent --plan` prints it.
//!
//! The plan assumes each symbol is answered by the first provider that may be asked about it
//! (batch providers first where routing puts them first; a provider with a daily quota only
//! within its budget): it is the minimum a run needs, which fail-overs can only add to.

use std::collections::BTreeMap;
use std::time::Duration;

use stockdata_adapters_http::transport::RateWindow;
use stockdata_domain::ProviderId;
use stockdata_ports::Capabilities;

use crate::StockData;
use crate::agent::{CHUNK, NEWS_PER_SYMBOL};
use crate::fetch::RunBudget;

/// Requests one provider is planned to get for one kind of data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// `quotes`, `bars` or `news`.
    pub kind: &'static str,
    /// The provider.
    pub provider: ProviderId,
    /// Symbols it answers.
    pub symbols: usize,
    /// Requests it takes.
    pub requests: u64,
}

/// One provider's share of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderPlan {
    /// The provider.
    pub provider: ProviderId,
    /// Requests, all kinds together.
    pub requests: u64,
    /// Time its pacing windows need for them (0 when they fit in the windows' bursts).
    pub pacing: Duration,
    /// Its windows (`60/min`), as configured.
    pub windows: Vec<RateWindow>,
}

/// The plan for one agent run.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Symbols in the watchlist (distinct).
    pub symbols: usize,
    /// Who answers what.
    pub steps: Vec<Step>,
    /// Per provider, in the order first used.
    pub providers: Vec<ProviderPlan>,
    /// Symbols per kind no provider may be asked about (budgets spent): reported
    /// `quota_exhausted` without a request.
    pub unanswered: Vec<(&'static str, usize)>,
    /// The run's expected time from pacing alone: the slowest provider (kinds and providers
    /// run concurrently). Network time comes on top.
    pub expected: Duration,
}

/// Plans an agent run over `symbols` distinct symbols.
#[must_use]
pub fn agent_plan(stockdata: &StockData, symbols: usize) -> Plan {
    let budget = stockdata.run_budget();
    let chains: [(&'static str, Vec<(ProviderId, Capabilities)>); 3] = [
        ("quotes", stockdata.prices().capabilities()),
        ("bars", stockdata.history().capabilities()),
        ("news", stockdata.news().capabilities()),
    ];
    let mut steps = Vec::new();
    let mut unanswered = Vec::new();
    let mut left: BTreeMap<ProviderId, Option<u64>> = BTreeMap::new();
    for (kind, chain) in &chains {
        let mut pending = symbols;
        for (provider, caps) in chain {
            if pending == 0 {
                break;
            }
            let remaining = left
                .entry(provider.clone())
                .or_insert_with(|| budget.remaining(provider));
            let (answered, requests) = requests_for(kind, pending, caps, *remaining);
            if answered == 0 {
                continue;
            }
            if let Some(r) = remaining.as_mut() {
                *r = r.saturating_sub(requests);
            }
            steps.push(Step {
                kind,
                provider: provider.clone(),
                symbols: answered,
                requests,
            });
            pending -= answered;
        }
        if pending > 0 {
            unanswered.push((*kind, pending));
        }
    }
    let mut providers: Vec<ProviderPlan> = Vec::new();
    for step in &steps {
        match providers.iter_mut().find(|p| p.provider == step.provider) {
            Some(p) => p.requests += step.requests,
            None => providers.push(ProviderPlan {
                provider: step.provider.clone(),
                requests: step.requests,
                pacing: Duration::ZERO,
                windows: stockdata
                    .config()
                    .providers
                    .get(&step.provider)
                    .map(|p| p.settings.limits())
                    .unwrap_or_default(),
            }),
        }
    }
    for p in &mut providers {
        p.pacing = pacing_time(p.requests, &p.windows);
    }
    let expected = providers.iter().map(|p| p.pacing).max().unwrap_or_default();
    Plan {
        symbols,
        steps,
        providers,
        unanswered,
        expected,
    }
}

/// How many of `pending` symbols a provider answers and with how many requests: whole
/// batches of [`CHUNK`] (the agent's unit) split to the provider's batch size, news pages
/// for the articles asked; one request per symbol where it takes one symbol, at most
/// `budget`.
fn requests_for(
    kind: &str,
    pending: usize,
    caps: &Capabilities,
    budget: Option<u64>,
) -> (usize, u64) {
    let per_request = caps.max_symbols_per_request.max(1);
    let as_u64 = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    if per_request == 1 {
        let answered = budget.map_or(pending, |b| pending.min(usize::try_from(b).unwrap_or(0)));
        return (answered, as_u64(answered));
    }
    let mut requests = 0;
    let mut rest = pending;
    while rest > 0 {
        let chunk = rest.min(CHUNK);
        let batches = chunk.div_ceil(per_request);
        let pages = match (kind, caps.page_size) {
            ("news", Some(page)) if page > 0 => (chunk * NEWS_PER_SYMBOL).div_ceil(page),
            _ => batches,
        };
        requests += as_u64(pages.max(batches));
        rest -= chunk;
    }
    match budget {
        Some(b) if b < requests => (0, 0),
        _ => (pending, requests),
    }
}

/// The time `requests`, all ready at once, take under `windows`, as the pacer sends them:
/// each window lets its count go at once, and a request goes only when every window has sent
/// fewer than its count within its span (the window plus the pacer's safety margin). Windows
/// of an hour or more are quotas the budget already accounts for.
#[must_use]
pub fn pacing_time(requests: u64, windows: &[RateWindow]) -> Duration {
    let windows: Vec<&RateWindow> = windows.iter().filter(|w| !w.is_quota()).collect();
    let count = usize::try_from(requests).unwrap_or(usize::MAX);
    let mut sent: Vec<Duration> = Vec::with_capacity(count.min(1 << 20));
    for i in 0..count {
        let at = windows
            .iter()
            .filter_map(|w| {
                let n = usize::try_from(w.requests.get()).unwrap_or(usize::MAX);
                let earlier = i.checked_sub(n)?;
                sent.get(earlier).map(|t| t.saturating_add(w.span()))
            })
            .max()
            .unwrap_or(Duration::ZERO);
        sent.push(at);
    }
    sent.last().copied().unwrap_or(Duration::ZERO)
}

impl StockData {
    /// A fresh run budget, as an agent run starts with.
    #[must_use]
    pub fn run_budget(&self) -> RunBudget {
        RunBudget::daily_share(
            self.daily_quotas().iter().cloned(),
            self.config().agent.daily_quota_share,
        )
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    fn rate(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
    }

    #[test]
    fn pacing_times() {
        let finnhub = [
            RateWindow::per_minute(rate(60)),
            RateWindow::per_second(rate(30)),
        ];
        let second = RateWindow::per_second(rate(30)).span();
        let minute = RateWindow::per_minute(rate(60)).span();
        assert_eq!(pacing_time(30, &finnhub), Duration::ZERO, "a burst of 30");
        assert_eq!(pacing_time(60, &finnhub), second);
        assert_eq!(pacing_time(61, &finnhub), minute);
        assert_eq!(pacing_time(120, &finnhub), minute + second);
        let av = [
            RateWindow::per_day(rate(25)),
            RateWindow::per_second(rate(1)),
        ];
        assert_eq!(
            pacing_time(12, &av),
            RateWindow::per_second(rate(1)).span() * 11
        );
        assert_eq!(pacing_time(0, &av), Duration::ZERO);
        assert_eq!(pacing_time(500, &[]), Duration::ZERO);
    }

    #[test]
    fn batches_pages_and_budgets() {
        let multi = Capabilities {
            max_symbols_per_request: 100,
            page_size: Some(50),
            ..Capabilities::single_symbol()
        };
        assert_eq!(requests_for("quotes", 300, &multi, None), (300, 3));
        assert_eq!(requests_for("news", 300, &multi, None), (300, 120));
        let single = Capabilities::single_symbol();
        assert_eq!(requests_for("quotes", 40, &single, Some(12)), (12, 12));
        assert_eq!(requests_for("quotes", 40, &single, None), (40, 40));
    }
}
