//! `PriceFetcher`: latest quotes.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use stockdata_domain::{FetchError, ProviderId, Quote, Symbol};
use stockdata_ports::QuoteSource;

use super::route::{Hop, route};
use super::stored;
use super::{Report, Shared};

/// Latest quotes through the quote chain, batched where the provider allows.
#[derive(Debug, Clone)]
pub struct PriceFetcher {
    chain: Vec<Arc<dyn QuoteSource>>,
    shared: Shared,
}

impl PriceFetcher {
    /// A fetcher over `chain`, tried in order.
    #[must_use]
    pub fn new(chain: Vec<Arc<dyn QuoteSource>>, shared: Shared) -> Self {
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

    /// One quote.
    pub async fn quote(&self, symbol: &Symbol) -> Report<Quote> {
        let mut reports = self.quotes(std::slice::from_ref(symbol)).await;
        reports.pop().unwrap_or_else(|| Report {
            symbol: symbol.clone(),
            result: Err(self.shared.no_provider("quotes")),
            trail: Vec::new(),
        })
    }

    /// One report per requested symbol, in order: fresh quotes from the store (see
    /// [`StoreLayer`](super::StoreLayer)), the rest from the providers, kept for next time.
    pub async fn quotes(&self, symbols: &[Symbol]) -> Vec<Report<Quote>> {
        let Some(layer) = &self.shared.store else {
            return self.fetch(symbols).await;
        };
        let now = layer.clock.now();
        let mut done: HashMap<Symbol, Report<Quote>> = HashMap::new();
        let mut misses: Vec<Symbol> = Vec::new();
        for symbol in symbols {
            if done.contains_key(symbol) || misses.contains(symbol) {
                continue;
            }
            let result = match layer.store.quote(layer.dataset, symbol).await {
                Ok(Some(q))
                    if layer.offline || layer.quote_is_fresh(q.provenance.fetched_at, now) =>
                {
                    Ok(q)
                }
                Ok(_) if layer.offline => Err(FetchError::NotStored {
                    missing: format!(
                        "a quote of {symbol}; fetch one first: stockdata quote {symbol} (without \
                         --offline)"
                    ),
                }),
                Err(e) if layer.offline => Err(stored::store_error(&e)),
                Ok(_) => {
                    misses.push(symbol.clone());
                    continue;
                }
                Err(e) => {
                    stored::bypassed(&e, "reading a quote");
                    misses.push(symbol.clone());
                    continue;
                }
            };
            let trail = if result.is_ok() {
                vec![stored::hit()]
            } else {
                Vec::new()
            };
            done.insert(
                symbol.clone(),
                Report {
                    symbol: symbol.clone(),
                    result,
                    trail,
                },
            );
        }
        self.shared
            .store_hits(done.values().filter(|r| r.result.is_ok()).count());
        if !misses.is_empty() {
            let fetched = self.fetch(&misses).await;
            let fresh: Vec<Quote> = fetched
                .iter()
                .filter_map(|r| r.result.as_ref().ok().cloned())
                .collect();
            if !fresh.is_empty()
                && !stored::refuse_synthetic(layer, fresh.iter().map(|q| &q.provenance))
                && let Err(e) = layer.store.write_quotes(layer.dataset, &fresh).await
            {
                tracing::warn!(error = %e, "could not keep the quotes in the store");
            }
            for report in fetched {
                done.insert(report.symbol.clone(), report);
            }
        }
        symbols
            .iter()
            .map(|s| {
                done.get(s).cloned().unwrap_or_else(|| Report {
                    symbol: s.clone(),
                    result: Err(self.shared.no_provider("quotes")),
                    trail: Vec::new(),
                })
            })
            .collect()
    }

    /// Quotes from the providers only.
    async fn fetch(&self, symbols: &[Symbol]) -> Vec<Report<Quote>> {
        let hops = self
            .chain
            .iter()
            .map(|source| {
                let (a, b) = (Arc::clone(source), Arc::clone(source));
                Hop {
                    provider: source.provider(),
                    batch: source.capabilities().max_symbols_per_request > 1,
                    skip: false,
                    one: Box::new(move |s: Symbol| {
                        let a = Arc::clone(&a);
                        Box::pin(async move { a.quote(&s).await }) as BoxFuture<'static, _>
                    }),
                    many: Box::new(move |ss: Vec<Symbol>| {
                        let b = Arc::clone(&b);
                        Box::pin(async move { b.quotes(&ss).await }) as BoxFuture<'static, _>
                    }),
                }
            })
            .collect();
        route(hops, symbols, &self.shared, "quotes").await
    }
}
