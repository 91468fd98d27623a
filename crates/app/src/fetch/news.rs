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
    merge: NewsMerge,
}

/// Which providers [`NewsFetcher::news_for_each`] asks (`[news] merge`). `stockdata news`
/// for a few symbols always merges every provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NewsMerge {
    /// Every provider about every symbol: the most articles, the most requests.
    All,
    /// Each provider, in routing order, only about the symbols still without articles (a
    /// provider that takes many symbols gets one request for all of them), within the run's
    /// quota budget: the first batch provider usually answers everything in a request or two.
    #[default]
    Budget,
    /// Each symbol from the first provider that answers for it.
    First,
}

impl NewsMerge {
    /// `all`, `budget` or `first`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            NewsMerge::All => "all",
            NewsMerge::Budget => "budget",
            NewsMerge::First => "first",
        }
    }

    /// The policy named `text`.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        [NewsMerge::All, NewsMerge::Budget, NewsMerge::First]
            .into_iter()
            .find(|m| m.as_str() == text.trim())
    }
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
        Self {
            sources,
            shared,
            merge: NewsMerge::default(),
        }
    }

    /// The same fetcher with another [`NewsMerge`] policy for `news_for_each`.
    #[must_use]
    pub fn with_merge(mut self, merge: NewsMerge) -> Self {
        self.merge = merge;
        self
    }

    /// The same sources under another bound, counters or budget (an agent run's).
    #[must_use]
    pub fn with_shared(mut self, shared: Shared) -> Self {
        self.shared = shared;
        self
    }

    /// Each provider in order, with what its port can do (what a plan is made from).
    #[must_use]
    pub fn capabilities(&self) -> Vec<(ProviderId, stockdata_ports::Capabilities)> {
        self.sources
            .iter()
            .map(|s| (s.provider(), s.capabilities().clone()))
            .collect()
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
        type Answer = (ProviderId, Option<Called>);
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
                Box::pin(async move { (provider, call.await) }) as BoxFuture<'static, Answer>
            })
            .collect();
        let answers: Vec<Answer> = stream::iter(asks)
            .buffered(self.shared.concurrency)
            .collect()
            .await;
        let mut acc = NewsAcc::default();
        for (provider, answer) in answers {
            acc.record(&provider, answer);
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
            let batch = source.capabilities().max_symbols_per_request > 1;
            // Who this provider is asked about, under the merge policy.
            let wanted: Vec<Symbol> = distinct
                .iter()
                .filter(|s| {
                    acc.get(*s).is_none_or(|a| match self.merge {
                        NewsMerge::All => true,
                        NewsMerge::First => !a.any_ok,
                        NewsMerge::Budget => a.articles.is_empty(),
                    })
                })
                .cloned()
                .collect();
            if wanted.is_empty() {
                continue;
            }
            if batch {
                let query = NewsQuery {
                    symbols: wanted.clone(),
                    range,
                    limit: per_symbol.saturating_mul(wanted.len()).max(1),
                };
                match self.shared.call(&provider, source.news(&query)).await {
                    Some((Ok(articles), elapsed)) => {
                        let mut by_symbol: HashMap<Symbol, Vec<NewsArticle>> = HashMap::new();
                        for article in &articles {
                            for s in article.symbols.iter().filter(|s| acc.contains_key(*s)) {
                                by_symbol
                                    .entry(s.clone())
                                    .or_default()
                                    .push(article.clone());
                            }
                        }
                        for s in &wanted {
                            if let Some(a) = acc.get_mut(s) {
                                let list = by_symbol.remove(s).unwrap_or_default();
                                a.record(&provider, Some((Ok(list), elapsed)));
                            }
                        }
                    }
                    other => {
                        for s in &wanted {
                            if let Some(a) = acc.get_mut(s) {
                                a.record(&provider, other.clone());
                            }
                        }
                    }
                }
            } else {
                type Answer = (Symbol, Option<Called>);
                let asks: Vec<BoxFuture<'static, Answer>> = wanted
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
                        let call = self.shared.call(
                            &provider,
                            async move { source.news(&query).await }.instrument(span),
                        );
                        Box::pin(async move { (symbol, call.await) }) as BoxFuture<'static, Answer>
                    })
                    .collect();
                let answers: Vec<Answer> = stream::iter(asks)
                    .buffer_unordered(self.shared.concurrency)
                    .collect()
                    .await;
                for (symbol, answer) in answers {
                    if let Some(a) = acc.get_mut(&symbol) {
                        a.record(&provider, answer);
                    }
                }
            }
        }
        acc.into_iter()
            .map(|(symbol, a)| (symbol, a.finish(per_symbol, &self.shared)))
            .collect()
    }
}

/// What one call answered, and how long it took (`None`: over budget, not sent).
type Called = (Result<Vec<NewsArticle>, FetchError>, Duration);

/// One symbol's news while providers are being asked.
#[derive(Default)]
struct NewsAcc {
    articles: Vec<NewsArticle>,
    trail: Vec<Attempt>,
    first_error: Option<FetchError>,
    any_ok: bool,
}

impl NewsAcc {
    fn record(&mut self, provider: &ProviderId, answer: Option<Called>) {
        let Some((result, elapsed)) = answer else {
            self.trail.push(Attempt {
                provider: provider.clone(),
                outcome: Outcome::OverBudget,
                elapsed: Duration::ZERO,
            });
            self.first_error.get_or_insert_with(Shared::over_budget);
            return;
        };
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
