//! Marks every record of a source as synthetic: what `--sandbox` wraps each adapter in, so
//! sandbox data can never be mistaken for market data, whatever path it takes.

use std::sync::Arc;

use async_trait::async_trait;
use stockdata_domain::{
    Bar, BarQuery, BatchBarQuery, FetchError, NewsArticle, NewsQuery, ProviderId, Quote, Symbol,
    SymbolResult,
};
use stockdata_ports::{BarSource, Capabilities, NewsSource, QuoteSource};

/// A source whose records all say `synthetic: true`.
#[derive(Debug)]
pub struct Synthetic<S: ?Sized>(pub Arc<S>);

#[async_trait]
impl<S: QuoteSource + ?Sized> QuoteSource for Synthetic<S> {
    fn provider(&self) -> ProviderId {
        self.0.provider()
    }
    fn capabilities(&self) -> &Capabilities {
        self.0.capabilities()
    }
    async fn quote(&self, symbol: &Symbol) -> Result<Quote, FetchError> {
        self.0.quote(symbol).await.map(|mut q| {
            q.provenance.synthetic = true;
            q
        })
    }
    async fn quotes(&self, symbols: &[Symbol]) -> Vec<SymbolResult<Quote>> {
        let mut out = self.0.quotes(symbols).await;
        for r in &mut out {
            if let Ok(q) = &mut r.result {
                q.provenance.synthetic = true;
            }
        }
        out
    }
}

fn mark(bars: &mut [Bar]) {
    for b in bars {
        b.provenance.synthetic = true;
    }
}

#[async_trait]
impl<S: BarSource + ?Sized> BarSource for Synthetic<S> {
    fn provider(&self) -> ProviderId {
        self.0.provider()
    }
    fn capabilities(&self) -> &Capabilities {
        self.0.capabilities()
    }
    async fn bars(&self, query: &BarQuery) -> Result<Vec<Bar>, FetchError> {
        self.0.bars(query).await.map(|mut b| {
            mark(&mut b);
            b
        })
    }
    async fn bars_batch(&self, query: &BatchBarQuery) -> Vec<SymbolResult<Vec<Bar>>> {
        let mut out = self.0.bars_batch(query).await;
        for r in &mut out {
            if let Ok(b) = &mut r.result {
                mark(b);
            }
        }
        out
    }
}

#[async_trait]
impl<S: NewsSource + ?Sized> NewsSource for Synthetic<S> {
    fn provider(&self) -> ProviderId {
        self.0.provider()
    }
    fn capabilities(&self) -> &Capabilities {
        self.0.capabilities()
    }
    async fn news(&self, query: &NewsQuery) -> Result<Vec<NewsArticle>, FetchError> {
        self.0.news(query).await.map(|mut list| {
            for a in &mut list {
                a.provenance.synthetic = true;
            }
            list
        })
    }
}
