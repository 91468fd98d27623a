//! `NewsFetcher`: news merged from every provider, de-duplicated by the domain's rules.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::{self, StreamExt};
use jiff::SignedDuration;
use stockdata_domain::news::dedupe_news;
use stockdata_domain::{
    FetchError, NewsArticle, NewsQuery, ProviderId, Symbol, TimeRange, Timestamp,
};
use stockdata_ports::{NewsSource, NewsWrite};
use tracing::Instrument as _;

use super::stored::{self, StoreLayer};
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

    /// Articles about any of `query.symbols`: from every provider, or through the store when
    /// one is configured (each symbol asked only for what was published since its last fetch).
    pub async fn news(&self, query: &NewsQuery) -> NewsReport {
        let Some(layer) = &self.shared.store else {
            return self.fetch(query).await;
        };
        let per = self
            .through_store(
                layer,
                &query.symbols,
                query.range,
                query.limit,
                NewsMerge::All,
            )
            .await;
        let mut articles = Vec::new();
        let mut trail: Vec<Attempt> = Vec::new();
        let mut first_error = None;
        let mut any_ok = false;
        for symbol in distinct(&query.symbols) {
            let Some(report) = per.get(&symbol) else {
                continue;
            };
            for step in &report.trail {
                if !trail
                    .iter()
                    .any(|t| t.provider == step.provider && t.outcome == step.outcome)
                {
                    trail.push(step.clone());
                }
            }
            match &report.result {
                Ok(list) => {
                    any_ok = true;
                    articles.extend(list.iter().cloned());
                }
                Err(e) => {
                    first_error.get_or_insert_with(|| e.clone());
                }
            }
        }
        let result = match (any_ok, first_error) {
            (false, Some(e)) => Err(e),
            (false, None) => Err(self.shared.no_provider("news")),
            (true, _) => Ok(dedupe_news(articles, query.limit)),
        };
        NewsReport { result, trail }
    }

    /// Articles about any of `query.symbols` from every provider, the store left aside.
    async fn fetch(&self, query: &NewsQuery) -> NewsReport {
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
    ///
    /// With a store, each symbol is answered from it where its news is covered up to now, and
    /// asked only for what was published since its last fetch otherwise.
    pub async fn news_for_each(
        &self,
        symbols: &[Symbol],
        range: TimeRange,
        per_symbol: usize,
    ) -> HashMap<Symbol, NewsReport> {
        match &self.shared.store {
            Some(layer) => {
                self.through_store(layer, symbols, range, per_symbol, self.merge)
                    .await
            }
            None => {
                self.fetch_each(symbols, range, per_symbol, self.merge, &HashSet::new())
                    .await
            }
        }
    }

    /// News for each symbol from the providers, the store left aside.
    ///
    /// `kept`: symbols whose news the store already holds. Under [`NewsMerge::Budget`] such a
    /// symbol is answered by the first provider that answers at all: "nothing new since the
    /// last fetch" is an answer, not a reason to ask every other provider.
    async fn fetch_each(
        &self,
        symbols: &[Symbol],
        range: TimeRange,
        per_symbol: usize,
        merge: NewsMerge,
        kept: &HashSet<Symbol>,
    ) -> HashMap<Symbol, NewsReport> {
        let distinct = distinct(symbols);
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
                    acc.get(*s).is_none_or(|a| match merge {
                        NewsMerge::All => true,
                        NewsMerge::First => !a.any_ok,
                        NewsMerge::Budget if kept.contains(*s) => !a.any_ok,
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

/// Each symbol once, in the order given.
fn distinct(symbols: &[Symbol]) -> Vec<Symbol> {
    let mut seen = HashSet::new();
    symbols
        .iter()
        .filter(|s| seen.insert((*s).clone()))
        .cloned()
        .collect()
}

impl NewsFetcher {
    /// News for each symbol through the store: what is covered up to now comes from it; the
    /// rest is asked for since the newest covered instant, kept, and answered with it.
    async fn through_store(
        &self,
        layer: &StoreLayer,
        symbols: &[Symbol],
        range: TimeRange,
        per_symbol: usize,
        merge: NewsMerge,
    ) -> HashMap<Symbol, NewsReport> {
        let now = layer.clock.now();
        let end = range.end().min(now).max(range.start());
        let Ok(until_now) = TimeRange::new(range.start(), end) else {
            return HashMap::new();
        };
        let mut out: HashMap<Symbol, NewsReport> = HashMap::new();
        let mut covered_any: HashSet<Symbol> = HashSet::new();
        let mut groups: BTreeMap<Timestamp, Vec<Symbol>> = BTreeMap::new();
        let mut hits = 0;
        for symbol in distinct(symbols) {
            let covered = match layer.store.news_coverage(layer.dataset, &symbol).await {
                Ok(c) => c,
                Err(e) if layer.offline => {
                    out.insert(symbol, failed(stored::store_error(&e)));
                    continue;
                }
                Err(e) => {
                    stored::bypassed(&e, "reading news coverage");
                    groups.entry(range.start()).or_default().push(symbol);
                    continue;
                }
            };
            let since = self
                .since(layer, &symbol, until_now, &covered, per_symbol)
                .await;
            match since {
                None => {
                    hits += 1;
                    let answer = read(layer, &symbol, range, per_symbol, Vec::new()).await;
                    out.insert(
                        symbol,
                        NewsReport {
                            result: answer,
                            trail: vec![stored::hit()],
                        },
                    );
                }
                Some(_) if layer.offline => {
                    let missing = format!(
                        "news about {symbol} for {until_now}; fetch it first: stockdata news \
                         {symbol} (without --offline)"
                    );
                    out.insert(symbol, failed(FetchError::NotStored { missing }));
                }
                Some(since) => {
                    if !covered.is_empty() {
                        covered_any.insert(symbol.clone());
                    }
                    groups.entry(since).or_default().push(symbol);
                }
            }
        }
        self.shared.store_hits(hits);
        for (since, group) in groups {
            let Ok(span) = TimeRange::new(since.min(end), end) else {
                continue;
            };
            let fetched = self
                .fetch_each(&group, span, per_symbol, merge, &covered_any)
                .await;
            for symbol in group {
                let Some(mut report) = fetched.get(&symbol).cloned() else {
                    continue;
                };
                if let Ok(articles) = &report.result {
                    // A full page may have left older articles out: only the span from the
                    // oldest article kept is complete.
                    let complete_from = if articles.len() >= per_symbol {
                        articles
                            .iter()
                            .map(|a| a.published_at)
                            .min()
                            .unwrap_or(span.start())
                    } else {
                        span.start()
                    };
                    let covered =
                        TimeRange::new(complete_from.max(span.start()), span.end()).unwrap_or(span);
                    let provider = report
                        .trail
                        .iter()
                        .rev()
                        .find(|a| a.outcome == Outcome::Ok)
                        .map_or(stored::STORE, |a| a.provider.clone());
                    // Kept under the symbol asked about, whatever the article's own list says,
                    // so the store finds it again by that symbol.
                    let articles: Vec<NewsArticle> = articles
                        .iter()
                        .cloned()
                        .map(|mut a| {
                            if !a.symbols.contains(&symbol) {
                                a.symbols.push(symbol.clone());
                            }
                            a
                        })
                        .collect();
                    let write = NewsWrite {
                        dataset: layer.dataset,
                        symbols: std::slice::from_ref(&symbol),
                        covered,
                        articles: &articles,
                        provider: &provider,
                        fetched_at: now,
                    };
                    if stored::refuse_synthetic(layer, articles.iter().map(|a| &a.provenance)) {
                        // Not kept: see `refuse_synthetic`.
                    } else if let Err(e) = layer.store.write_news(write).await {
                        tracing::warn!(error = %e, "could not keep the news in the store");
                    }
                    let fresh = articles;
                    report.result = read(layer, &symbol, range, per_symbol, fresh).await;
                    if covered_any.contains(&symbol) {
                        report.trail.insert(0, stored::hit());
                    }
                }
                out.insert(symbol, report);
            }
        }
        out
    }

    /// Where to start asking about `symbol`: `None` when the store answers (its news is
    /// covered up to `[cache] news_ttl` ago, and back to the range's start or far enough to
    /// hold `limit` articles).
    async fn since(
        &self,
        layer: &StoreLayer,
        symbol: &Symbol,
        until_now: TimeRange,
        covered: &[TimeRange],
        limit: usize,
    ) -> Option<Timestamp> {
        let ttl = SignedDuration::try_from(layer.news_ttl).unwrap_or(SignedDuration::ZERO);
        let mut gaps = until_now.subtract(covered);
        // A last gap younger than the TTL is not worth a request.
        if let Some(last) = gaps.last()
            && last.end() == until_now.end()
            && last.start().duration_until(last.end()) < ttl
        {
            gaps.pop();
        }
        let newest = gaps.last().copied()?;
        let older: Vec<TimeRange> = gaps
            .iter()
            .copied()
            .filter(|g| g.end() < until_now.end())
            .collect();
        if let Some(last_older) = older.last() {
            // Older gaps matter only when the span after them holds fewer than `limit`.
            let after = TimeRange::new(last_older.end(), until_now.end()).ok()?;
            let kept = layer
                .store
                .news(layer.dataset, std::slice::from_ref(symbol), after, limit)
                .await
                .map_or(0, |a| a.len());
            if kept >= limit {
                return (newest.end() == until_now.end()).then_some(newest.start());
            }
        }
        gaps.first().map(TimeRange::start)
    }
}

/// The stored news about `symbol` in `range` with `fresh` articles merged, newest first.
async fn read(
    layer: &StoreLayer,
    symbol: &Symbol,
    range: TimeRange,
    limit: usize,
    mut fresh: Vec<NewsArticle>,
) -> Result<Vec<NewsArticle>, FetchError> {
    let stored = layer
        .store
        .news(layer.dataset, std::slice::from_ref(symbol), range, limit)
        .await
        .map_err(|e| stored::store_error(&e))?;
    fresh.retain(|a| range.contains(a.published_at));
    fresh.extend(stored);
    Ok(dedupe_news(fresh, limit))
}

fn failed(e: FetchError) -> NewsReport {
    NewsReport {
        result: Err(e),
        trail: Vec::new(),
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
