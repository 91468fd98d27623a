//! `PriceFetcher`: latest quotes.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use stockdata_domain::{ProviderId, Quote, Symbol};
use stockdata_ports::QuoteSource;

use super::route::{Hop, route};
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

    /// One report per requested symbol, in order.
    pub async fn quotes(&self, symbols: &[Symbol]) -> Vec<Report<Quote>> {
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
