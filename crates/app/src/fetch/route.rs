//! The one router: sends each symbol down a provider chain, batching where a provider takes
//! many symbols, fanning out under the bound where not, failing over per symbol when the error
//! allows it, and recording the attempt trail. Results come back in request order, one per
//! requested symbol.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::{self, StreamExt};
use stockdata_domain::{FetchError, ProviderId, Symbol, SymbolResult};
use tracing::Instrument as _;

use super::{Attempt, Outcome, Report, Shared};

/// What one call answered and how long it took; `None` when it was over budget (not sent).
type Called<T> = (Result<T, FetchError>, Duration);

/// Asks one provider about one symbol.
pub(super) type AskOne<T> =
    Box<dyn Fn(Symbol) -> BoxFuture<'static, Result<T, FetchError>> + Send + Sync>;
/// Asks one provider about many symbols in one batch.
pub(super) type AskMany<T> =
    Box<dyn Fn(Vec<Symbol>) -> BoxFuture<'static, Vec<SymbolResult<T>>> + Send + Sync>;

/// One provider in a chain, seen through the operations the router needs.
pub(super) struct Hop<T> {
    pub(super) provider: ProviderId,
    pub(super) batch: bool,
    pub(super) skip: bool,
    pub(super) one: AskOne<T>,
    pub(super) many: AskMany<T>,
}

/// Routes `symbols` through `hops` in order: each symbol goes to the next provider only when
/// its error allows fail-over; the first provider's error is reported when all fail.
pub(super) async fn route<T: Clone + Send + 'static>(
    hops: Vec<Hop<T>>,
    symbols: &[Symbol],
    shared: &Shared,
    kind: &str,
) -> Vec<Report<T>> {
    let mut reports: HashMap<Symbol, Report<T>> = HashMap::new();
    let mut pending: Vec<Symbol> = Vec::new();
    for s in symbols {
        if !reports.contains_key(s) {
            reports.insert(
                s.clone(),
                Report {
                    symbol: s.clone(),
                    result: Err(shared.no_provider(kind)),
                    trail: Vec::new(),
                },
            );
            pending.push(s.clone());
        }
    }
    let mut first_error: HashMap<Symbol, FetchError> = HashMap::new();
    for hop in &hops {
        if pending.is_empty() {
            break;
        }
        if hop.skip {
            for s in &pending {
                if let Some(r) = reports.get_mut(s) {
                    r.trail.push(Attempt {
                        provider: hop.provider.clone(),
                        outcome: Outcome::Skipped,
                        elapsed: Duration::ZERO,
                    });
                }
            }
            continue;
        }
        // A provider whose calls are scarce (a daily quota) is not asked about a symbol an
        // earlier provider already called unknown: coverage rarely differs that much, and
        // Alpha Vantage's 25 a day are worth more than a third opinion.
        let mut still: HashSet<Symbol> = HashSet::new();
        let mut ask: Vec<Symbol> = Vec::with_capacity(pending.len());
        for s in &pending {
            let unknown = matches!(first_error.get(s), Some(FetchError::UnknownSymbol { .. }));
            if unknown && shared.budget.is_scarce(&hop.provider) {
                if let Some(r) = reports.get_mut(s) {
                    r.trail.push(Attempt {
                        provider: hop.provider.clone(),
                        outcome: Outcome::Skipped,
                        elapsed: Duration::ZERO,
                    });
                }
                still.insert(s.clone());
            } else {
                ask.push(s.clone());
            }
        }
        let answers: Vec<(Symbol, Option<Called<T>>)> = if ask.is_empty() {
            Vec::new()
        } else if hop.batch {
            match shared.call(&hop.provider, (hop.many)(ask.clone())).await {
                Some((results, elapsed)) => results
                    .into_iter()
                    .map(|r| (r.symbol, Some((r.result, elapsed))))
                    .collect(),
                None => ask.iter().map(|s| (s.clone(), None)).collect(),
            }
        } else {
            stream::iter(ask.clone())
                .map(|symbol| {
                    let span = tracing::info_span!("symbol", symbol = %symbol);
                    let call =
                        shared.call(&hop.provider, (hop.one)(symbol.clone()).instrument(span));
                    async move { (symbol, call.await) }
                })
                .buffer_unordered(shared.concurrency)
                .collect()
                .await
        };
        let asked: HashSet<&Symbol> = ask.iter().collect();
        for (symbol, answer) in answers {
            let Some(report) = reports.get_mut(&symbol) else {
                continue;
            };
            if !asked.contains(&symbol) {
                continue;
            }
            let Some((result, elapsed)) = answer else {
                // Over budget: nothing was sent; the next provider may still answer.
                report.trail.push(Attempt {
                    provider: hop.provider.clone(),
                    outcome: Outcome::OverBudget,
                    elapsed: Duration::ZERO,
                });
                first_error
                    .entry(symbol.clone())
                    .or_insert_with(Shared::over_budget);
                still.insert(symbol);
                continue;
            };
            match result {
                Ok(value) => {
                    report.trail.push(Attempt {
                        provider: hop.provider.clone(),
                        outcome: Outcome::Ok,
                        elapsed,
                    });
                    report.result = Ok(value);
                }
                Err(err) => {
                    report.trail.push(Attempt {
                        provider: hop.provider.clone(),
                        outcome: Outcome::Failed(err.kind()),
                        elapsed,
                    });
                    let allows = err.allows_failover();
                    first_error
                        .entry(symbol.clone())
                        .or_insert_with(|| err.clone());
                    if allows {
                        tracing::info!(
                            provider = %hop.provider,
                            symbol = %symbol,
                            error.kind = err.kind().as_str(),
                            "failing over to the next provider"
                        );
                        still.insert(symbol);
                    } else {
                        report.result = Err(err);
                    }
                }
            }
        }
        // A symbol the provider did not answer at all is a malformed answer: fail over.
        for s in &pending {
            let answered = still.contains(s)
                || reports
                    .get(s)
                    .is_some_and(|r| r.trail.last().is_some_and(|a| a.provider == hop.provider));
            if !answered {
                let err = FetchError::malformed(format!("{} did not answer for {s}", hop.provider));
                if let Some(r) = reports.get_mut(s) {
                    r.trail.push(Attempt {
                        provider: hop.provider.clone(),
                        outcome: Outcome::Failed(err.kind()),
                        elapsed: Duration::ZERO,
                    });
                }
                first_error.entry(s.clone()).or_insert(err);
                still.insert(s.clone());
            }
        }
        if !still.is_empty() {
            shared.counters.failover();
        }
        // Keep request order.
        drop(asked);
        pending.retain(|s| still.contains(s));
    }
    for symbol in pending {
        if let (Some(report), Some(err)) = (reports.get_mut(&symbol), first_error.remove(&symbol)) {
            report.result = Err(err);
        }
    }
    // Move each report out on its last request; clone only for symbols asked twice.
    symbols
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let report = if symbols[i + 1..].contains(s) {
                reports.get(s).cloned()
            } else {
                reports.remove(s)
            };
            report.unwrap_or_else(|| Report {
                symbol: s.clone(),
                result: Err(shared.no_provider(kind)),
                trail: Vec::new(),
            })
        })
        .collect()
}
