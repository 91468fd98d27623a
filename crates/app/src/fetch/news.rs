//! `NewsFetcher`: news merged from every provider, de-duplicated by the domain's rules.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::{self, StreamExt};
use stockdata_domain::news::dedupe_news;
use stockdata_domain::{FetchError, NewsArticle, NewsQuery, ProviderId, Symbol, TimeRange};
use stockdata_ports::NewsSource;
use tracing::Instrument as _;

use super::{Attempt, Outcome, Shared};

/// News from every configured news provider, merged and de-duplicated, newest first.
#[derive(Debug, Clone)]
pub struct NewsFetcher {
    sources: Vec<Arc<dyn NewsSource>>,
    shared: Shared,
}

/// Merged news with the attempt of every provider asked.
#[derive(Debug, Clone)]
pub struct NewsReport {
    /// Articles newest first, duplicates removed; or the first error when every provider
    /// failed.
    pub result: Result<Vec<NewsArticle>, FetchError>,
    /// One attempt per provider asked.
    pub trail: Vec<Attempt>,
}

impl NewsFetcher {
    /// A fetcher asking every source.
    #[must_use]
    pub fn new(sources: Vec<Arc<dyn NewsSource>>, shared: Shared) -> Self {
        Self { sources, shared }
    }

    /// The providers asked.
    #[must_use]
    pub fn providers(&self) -> Vec<ProviderId> {
        self.sources.iter().map(|s| s.provider()).collect()
    }

    /// Articles about any of `query.symbols`.
    pub async fn news(&self, query: &NewsQuery) -> NewsReport {
        if self.sources.is_empty() {
            return NewsReport {
                result: Err(self.shared.no_provider("news")),
                trail: Vec::new(),
            };
        }
        type Answer = (ProviderId, Result<Vec<NewsArticle>, FetchError>, Duration);
        let asks: Vec<BoxFuture<'static, Answer>> = self
            .sources
            .iter()
            .map(|source| {
                let source = Arc::clone(source);
                let provider = source.provider();
                let query = query.clone();
                let call = self
                    .shared
                    .call(&provider, async move { source.news(&query).await });
                Box::pin(async move {
                    let (result, elapsed) = call.await;
                    (provider, result, elapsed)
                }) as BoxFuture<'static, Answer>
            })
            .collect();
        let answers: Vec<Answer> = stream::iter(asks)
            .buffered(self.shared.concurrency)
            .collect()
            .await;
        let mut acc = NewsAcc::default();
        for (provider, result, elapsed) in answers {
            acc.record(&provider, result, elapsed);
        }
        acc.finish(query.limit, &self.shared)
    }
}

impl NewsFetcher {
    /// News for each symbol separately (the agent's view), asking every provider: a provider
    /// that takes many symbols per request gets one request for all of them (its adapter splits
    /// to its batch size) and the articles are given to each symbol they are about; others are
    /// asked symbol by symbol under the concurrency bound. One report per distinct symbol.
    pub async fn news_for_each(
        &self,
        symbols: &[Symbol],
        range: TimeRange,
        per_symbol: usize,
    ) -> HashMap<Symbol, NewsReport> {
        let distinct: Vec<Symbol> = {
            let mut seen = std::collections::HashSet::new();
            symbols
                .iter()
                .filter(|s| seen.insert((*s).clone()))
                .cloned()
                .collect()
        };
        let mut acc: HashMap<Symbol, NewsAcc> = distinct
            .iter()
            .map(|s| (s.clone(), NewsAcc::default()))
            .collect();
        for source in &self.sources {
            let provider = source.provider();
            if source.capabilities().max_symbols_per_request > 1 {
                let query = NewsQuery {
                    symbols: distinct.clone(),
                    range,
                    limit: per_symbol.saturating_mul(distinct.len()).max(1),
                };
                let (result, elapsed) = self.shared.call(&provider, source.news(&query)).await;
                match result {
                    Ok(articles) => {
                        let mut by_symbol: HashMap<Symbol, Vec<NewsArticle>> = HashMap::new();
                        for article in &articles {
                            for s in article.symbols.iter().filter(|s| acc.contains_key(*s)) {
                                by_symbol
                                    .entry(s.clone())
                                    .or_default()
                                    .push(article.clone());
                            }
                        }
                        for (s, a) in &mut acc {
                            a.record(
                                &provider,
                                Ok(by_symbol.remove(s).unwrap_or_default()),
                                elapsed,
                            );
                        }
                    }
                    Err(e) => {
                        for a in acc.values_mut() {
                            a.record(&provider, Err(e.clone()), elapsed);
                        }
                    }
                }
            } else {
                type Answer = (Symbol, Result<Vec<NewsArticle>, FetchError>, Duration);
                let asks: Vec<BoxFuture<'static, Answer>> = distinct
                    .iter()
                    .map(|symbol| {
                        let source = Arc::clone(source);
                        let query = NewsQuery {
                            symbols: vec![symbol.clone()],
                            range,
                            limit: per_symbol,
                        };
                        let symbol = symbol.clone();
                        let span = tracing::info_span!("symbol", symbol = %symbol);
                        let provider = source.provider();
                        let call = self.shared.call(
                            &provider,
                            async move { source.news(&query).await }.instrument(span),
                        );
                        Box::pin(async move {
                            let (result, elapsed) = call.await;
                            (symbol, result, elapsed)
                        }) as BoxFuture<'static, Answer>
                    })
                    .collect();
                let answers: Vec<Answer> = stream::iter(asks)
                    .buffer_unordered(self.shared.concurrency)
                    .collect()
                    .await;
                for (symbol, result, elapsed) in answers {
                    if let Some(a) = acc.get_mut(&symbol) {
                        a.record(&provider, result, elapsed);
                    }
                }
            }
        }
        acc.into_iter()
            .map(|(symbol, a)| (symbol, a.finish(per_symbol, &self.shared)))
            .collect()
    }
}

/// One symbol's news while providers are being asked.
#[derive(Default)]
struct NewsAcc {
    articles: Vec<NewsArticle>,
    trail: Vec<Attempt>,
    first_error: Option<FetchError>,
    any_ok: bool,
}

impl NewsAcc {
    fn record(
        &mut self,
        provider: &ProviderId,
        result: Result<Vec<NewsArticle>, FetchError>,
        elapsed: Duration,
    ) {
        match result {
            Ok(mut list) => {
                self.any_ok = true;
                self.trail.push(Attempt {
                    provider: provider.clone(),
                    outcome: Outcome::Ok,
                    elapsed,
                });
                self.articles.append(&mut list);
            }
            Err(e) => {
                self.trail.push(Attempt {
                    provider: provider.clone(),
                    outcome: Outcome::Failed(e.kind()),
                    elapsed,
                });
                self.first_error.get_or_insert(e);
            }
        }
    }

    fn finish(self, limit: usize, shared: &Shared) -> NewsReport {
        let result = match (self.any_ok, self.first_error) {
            (false, Some(e)) => Err(e),
            (false, None) => Err(shared.no_provider("news")),
            (true, _) => Ok(dedupe_news(self.articles, limit)),
        };
        NewsReport {
            result,
            trail: self.trail,
        }
    }
}
