//! The fetchers: one responsibility each, all routing through the configured provider chain
//! with per-symbol fail-over, and an attempt trail on every result.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::{self, StreamExt};
use stockdata_domain::quality::{Finding, check_bars};
use stockdata_domain::{
    Bar, BatchBarQuery, ErrorKind, FetchError, NewsArticle, NewsQuery, ProviderId, Quote, Symbol,
    SymbolResult, TimeRange,
};
use stockdata_ports::{BarSource, NewsSource, QuoteSource};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tracing::Instrument as _;

/// How one provider attempt for one symbol ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Data came back.
    Ok,
    /// It failed with this kind.
    Failed(ErrorKind),
    /// Not asked: it cannot serve the request (e.g. the interval).
    Skipped,
}

impl Outcome {
    /// `ok`, `skipped` or the error kind's name.
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Failed(kind) => kind.as_str(),
            Outcome::Skipped => "skipped",
        }
    }
}

/// One step of the attempt trail: which provider, how it ended, how long it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The provider asked.
    pub provider: ProviderId,
    /// How it ended.
    pub outcome: Outcome,
    /// Time spent, pacing and retries included.
    pub elapsed: Duration,
}

/// One requested symbol's result with the trail of attempts that produced it.
#[derive(Debug, Clone)]
pub struct Report<T> {
    /// The symbol as requested.
    pub symbol: Symbol,
    /// Data, or the error reported when every provider failed.
    pub result: Result<T, FetchError>,
    /// Every provider attempt, in order.
    pub trail: Vec<Attempt>,
}

/// A bar series with its data-quality findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    /// Bars, oldest first, one per start instant.
    pub bars: Vec<Bar>,
    /// Data-quality findings about them.
    pub findings: Vec<Finding>,
}

/// Counters shared by the fetchers of one `StockData`, for run statistics.
#[derive(Debug, Default)]
pub struct Counters {
    inner: Mutex<CounterState>,
}

#[derive(Debug, Default, Clone)]
struct CounterState {
    calls: HashMap<ProviderId, u64>,
    failovers: u64,
}

impl Counters {
    fn call(&self, provider: &ProviderId) {
        let mut s = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *s.calls.entry(provider.clone()).or_default() += 1;
    }

    fn failover(&self) {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .failovers += 1;
    }

    /// Port calls per provider, and fail-overs, so far.
    #[must_use]
    pub fn snapshot(&self) -> (Vec<(ProviderId, u64)>, u64) {
        let s = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let mut calls: Vec<_> = s.calls.into_iter().collect();
        calls.sort();
        (calls, s.failovers)
    }
}

/// What every fetcher shares: the bound on provider calls in flight and the counters.
#[derive(Debug, Clone)]
pub struct Shared {
    /// Provider calls in flight at once, across all fetchers of one `StockData`.
    pub permits: Arc<Semaphore>,
    /// Concurrency used for single-symbol fan-out.
    pub concurrency: usize,
    /// Run counters.
    pub counters: Arc<Counters>,
    /// What to configure when no provider serves a kind of data (from the registry).
    pub unconfigured_hint: Arc<str>,
}

impl Shared {
    /// A bound of `concurrency` calls in flight.
    #[must_use]
    pub fn new(concurrency: usize) -> Self {
        let concurrency = concurrency.max(1);
        Self {
            permits: Arc::new(Semaphore::new(concurrency)),
            concurrency,
            counters: Arc::new(Counters::default()),
            unconfigured_hint: Arc::from("`stockdata providers` says what each provider needs"),
        }
    }

    /// The same bound, with `hint` saying what to configure when no provider serves a kind.
    #[must_use]
    pub fn with_unconfigured_hint(mut self, hint: impl Into<Arc<str>>) -> Self {
        self.unconfigured_hint = hint.into();
        self
    }

    /// The error reported when no provider is configured for a kind of data.
    fn no_provider(&self, kind: &str) -> FetchError {
        FetchError::InvalidRequest {
            reason: format!(
                "no provider is configured for {kind}: {}",
                self.unconfigured_hint
            ),
        }
    }
}

/// Asks one provider about one symbol.
type AskOne<T> = Box<dyn Fn(Symbol) -> BoxFuture<'static, Result<T, FetchError>> + Send + Sync>;
/// Asks one provider about many symbols in one batch.
type AskMany<T> =
    Box<dyn Fn(Vec<Symbol>) -> BoxFuture<'static, Vec<SymbolResult<T>>> + Send + Sync>;

/// One provider in a chain, seen through the operations the router needs.
struct Hop<T> {
    provider: ProviderId,
    batch: bool,
    skip: bool,
    one: AskOne<T>,
    many: AskMany<T>,
}

/// Routes `symbols` through `hops` in order: each symbol goes to the next provider only when
/// its error allows fail-over; the first provider's error is reported when all fail.
async fn route<T: Clone + Send + 'static>(
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
        let answers: Vec<(Symbol, Result<T, FetchError>, Duration)> = if hop.batch {
            let _permit = shared.permits.acquire().await;
            shared.counters.call(&hop.provider);
            let started = Instant::now();
            let results = (hop.many)(pending.clone()).await;
            let elapsed = started.elapsed();
            results
                .into_iter()
                .map(|r| (r.symbol, r.result, elapsed))
                .collect()
        } else {
            stream::iter(pending.clone())
                .map(|symbol| {
                    let fut = (hop.one)(symbol.clone());
                    let permits = Arc::clone(&shared.permits);
                    let counters = Arc::clone(&shared.counters);
                    let provider = hop.provider.clone();
                    async move {
                        let _permit = permits.acquire().await;
                        counters.call(&provider);
                        let started = Instant::now();
                        let result = fut
                            .instrument(tracing::info_span!("symbol", symbol = %symbol))
                            .await;
                        (symbol, result, started.elapsed())
                    }
                })
                .buffer_unordered(shared.concurrency)
                .collect()
                .await
        };
        let asked: std::collections::HashSet<&Symbol> = pending.iter().collect();
        let mut still: std::collections::HashSet<Symbol> = std::collections::HashSet::new();
        for (symbol, result, elapsed) in answers {
            let Some(report) = reports.get_mut(&symbol) else {
                continue;
            };
            if !asked.contains(&symbol) {
                continue;
            }
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
                        tracing::info!(provider = %hop.provider, symbol = %symbol, error.kind = err.kind().as_str(), "failing over to the next provider");
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

// ---------------------------------------------------------------------------------------------

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

/// Historical bars through the bar chain: ranges split to what each provider takes per
/// request, merged, sorted, de-duplicated, with data-quality findings.
#[derive(Debug, Clone)]
pub struct HistoricalDataFetcher {
    chain: Vec<Arc<dyn BarSource>>,
    shared: Shared,
}

/// Splits `range` into consecutive pieces no longer than `max`.
#[must_use]
pub fn split_range(range: TimeRange, max: Option<Duration>) -> Vec<TimeRange> {
    let Some(max) = max.filter(|m| !m.is_zero()) else {
        return vec![range];
    };
    let step = jiff::SignedDuration::try_from(max).unwrap_or(jiff::SignedDuration::MAX);
    let mut out = Vec::new();
    let mut start = range.start();
    while start < range.end() {
        let end = start
            .checked_add(step)
            .map_or(range.end(), |e| e.min(range.end()));
        match TimeRange::new(start, end) {
            Ok(piece) => out.push(piece),
            Err(_) => break,
        }
        start = end;
    }
    if out.is_empty() {
        out.push(range);
    }
    out
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
                let pieces = split_range(query.range, caps.max_range_per_request);
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

/// How far apart two articles with the same headline may be and still be one story.
pub const SAME_STORY_WINDOW: Duration = Duration::from_secs(3 * 3600);

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
                let permits = Arc::clone(&self.shared.permits);
                let counters = Arc::clone(&self.shared.counters);
                let query = query.clone();
                Box::pin(async move {
                    let _permit = permits.acquire().await;
                    let provider = source.provider();
                    counters.call(&provider);
                    let started = Instant::now();
                    let result = source.news(&query).await;
                    (provider, result, started.elapsed())
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
                let _permit = self.shared.permits.acquire().await;
                self.shared.counters.call(&provider);
                let started = Instant::now();
                let query = NewsQuery {
                    symbols: distinct.clone(),
                    range,
                    limit: per_symbol.saturating_mul(distinct.len()).max(1),
                };
                let result = source.news(&query).await;
                let elapsed = started.elapsed();
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
                        let permits = Arc::clone(&self.shared.permits);
                        let counters = Arc::clone(&self.shared.counters);
                        let query = NewsQuery {
                            symbols: vec![symbol.clone()],
                            range,
                            limit: per_symbol,
                        };
                        let symbol = symbol.clone();
                        Box::pin(async move {
                            let _permit = permits.acquire().await;
                            counters.call(&source.provider());
                            let started = Instant::now();
                            let span = tracing::info_span!("symbol", symbol = %symbol);
                            let result = source.news(&query).instrument(span).await;
                            (symbol, result, started.elapsed())
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

/// Newest first, one article per story: an article is dropped when an earlier-published one
/// has the same canonical URL, or the same normalized headline within [`SAME_STORY_WINDOW`]
/// (the first publication of a story is the one kept).
#[must_use]
pub fn dedupe_news(mut articles: Vec<NewsArticle>, limit: usize) -> Vec<NewsArticle> {
    articles.sort_by(|a, b| {
        a.published_at
            .cmp(&b.published_at)
            .then_with(|| a.id.cmp(&b.id))
    });
    let mut urls = std::collections::HashSet::new();
    let mut headlines: HashMap<String, Vec<jiff::Timestamp>> = HashMap::new();
    let window =
        jiff::SignedDuration::try_from(SAME_STORY_WINDOW).unwrap_or(jiff::SignedDuration::ZERO);
    let mut kept = Vec::new();
    for article in articles {
        let url = canonical_url(&article.url);
        if !url.is_empty() && urls.contains(&url) {
            continue;
        }
        let headline = normalized_headline(&article.headline);
        let times = headlines.entry(headline.clone()).or_default();
        if !headline.is_empty()
            && times
                .iter()
                .any(|t| t.duration_since(article.published_at).abs() <= window)
        {
            continue;
        }
        times.push(article.published_at);
        urls.insert(url);
        kept.push(article);
    }
    kept.reverse();
    kept.truncate(limit);
    kept
}

/// Scheme and `www.` dropped, host lower-cased, tracking parameters, fragment and trailing
/// slash removed.
#[must_use]
pub fn canonical_url(text: &str) -> String {
    let Ok(mut url) = url::Url::parse(text.trim()) else {
        return text.trim().to_ascii_lowercase();
    };
    url.set_fragment(None);
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !k.starts_with("utm_") && k != "ref" && k != "cmpid")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
    let host = url
        .host_str()
        .unwrap_or("")
        .trim_start_matches("www.")
        .to_ascii_lowercase();
    let path = url.path().trim_end_matches('/');
    match url.query() {
        Some(q) => format!("{host}{path}?{q}"),
        None => format!("{host}{path}"),
    }
}

/// Lower-case words of letters and digits, single-spaced.
#[must_use]
pub fn normalized_headline(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}
