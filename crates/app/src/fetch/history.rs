//! `HistoricalDataFetcher`: bars, with ranges split to what each provider takes per request.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use stockdata_domain::quality::check_bars;
use stockdata_domain::{Bar, BatchBarQuery, FetchError, ProviderId, Symbol, SymbolResult};
use stockdata_ports::BarSource;

use super::route::{Hop, route};
use super::{Report, Series, Shared};

/// Historical bars through the bar chain: ranges split to what each provider takes per
/// request, merged, sorted, de-duplicated, with data-quality findings.
#[derive(Debug, Clone)]
pub struct HistoricalDataFetcher {
    chain: Vec<Arc<dyn BarSource>>,
    shared: Shared,
}

fn merge_pieces(pieces: Vec<Result<Vec<Bar>, FetchError>>) -> Result<Vec<Bar>, FetchError> {
    let mut bars = Vec::new();
    let mut first_error = None;
    for piece in pieces {
        match piece {
            Ok(mut b) => bars.append(&mut b),
            Err(FetchError::NoData) => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    // A failed piece fails the series: never a silently truncated history.
    if let Some(e) = first_error {
        return Err(e);
    }
    bars.sort_by_key(|b| b.start);
    bars.dedup_by_key(|b| b.start);
    if bars.is_empty() {
        Err(FetchError::NoData)
    } else {
        Ok(bars)
    }
}

impl HistoricalDataFetcher {
    /// A fetcher over `chain`, tried in order.
    #[must_use]
    pub fn new(chain: Vec<Arc<dyn BarSource>>, shared: Shared) -> Self {
        Self { chain, shared }
    }

    /// The same chain under another bound, counters or budget (an agent run's).
    #[must_use]
    pub fn with_shared(mut self, shared: Shared) -> Self {
        self.shared = shared;
        self
    }

    /// Each provider in order, with what its port can do (what a plan is made from).
    #[must_use]
    pub fn capabilities(&self) -> Vec<(ProviderId, stockdata_ports::Capabilities)> {
        self.chain
            .iter()
            .map(|s| (s.provider(), s.capabilities().clone()))
            .collect()
    }

    /// The providers tried, in order.
    #[must_use]
    pub fn providers(&self) -> Vec<ProviderId> {
        self.chain.iter().map(|s| s.provider()).collect()
    }

    /// One report per requested symbol, in order.
    pub async fn bars(&self, query: &BatchBarQuery) -> Vec<Report<Series>> {
        let hops = self
            .chain
            .iter()
            .map(|source| {
                let caps = source.capabilities();
                let pieces = query.range.split(caps.max_range_per_request);
                let (a, b) = (Arc::clone(source), Arc::clone(source));
                let (qa, qb) = (query.clone(), query.clone());
                let pieces_b = pieces.clone();
                Hop {
                    provider: source.provider(),
                    batch: caps.max_symbols_per_request > 1,
                    skip: !caps.supports(query.interval),
                    one: Box::new(move |s: Symbol| {
                        let a = Arc::clone(&a);
                        let q = qa.clone();
                        let pieces = pieces.clone();
                        Box::pin(async move {
                            let mut parts = Vec::with_capacity(pieces.len());
                            for range in pieces {
                                let mut piece = q.for_symbol(&s);
                                piece.range = range;
                                parts.push(a.bars(&piece).await);
                            }
                            merge_pieces(parts)
                        }) as BoxFuture<'static, _>
                    }),
                    many: Box::new(move |ss: Vec<Symbol>| {
                        let b = Arc::clone(&b);
                        let q = qb.clone();
                        let pieces = pieces_b.clone();
                        Box::pin(async move {
                            let mut per_symbol: HashMap<Symbol, Vec<Result<Vec<Bar>, FetchError>>> =
                                HashMap::new();
                            for range in pieces {
                                let piece = BatchBarQuery {
                                    symbols: ss.clone(),
                                    range,
                                    ..q.clone()
                                };
                                for answer in b.bars_batch(&piece).await {
                                    per_symbol
                                        .entry(answer.symbol)
                                        .or_default()
                                        .push(answer.result);
                                }
                            }
                            ss.iter()
                                .map(|s| SymbolResult {
                                    symbol: s.clone(),
                                    result: merge_pieces(per_symbol.remove(s).unwrap_or_default()),
                                })
                                .collect()
                        }) as BoxFuture<'static, _>
                    }),
                }
            })
            .collect();
        route::<Vec<Bar>>(hops, &query.symbols, &self.shared, "bars")
            .await
            .into_iter()
            .map(|r| Report {
                symbol: r.symbol,
                trail: r.trail,
                result: r.result.map(|bars| Series {
                    findings: check_bars(&bars),
                    bars,
                }),
            })
            .collect()
    }
}
