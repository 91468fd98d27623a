//! The watchlist agent: quotes, recent daily bars and recent news for every symbol,
//! concurrently under one bound, cancellable, with one entry per requested symbol.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use stockdata_adapters_http::transport::{PacerRegistry, StatsSnapshot};
use stockdata_domain::time::new_york_date;
use stockdata_domain::{
    Adjustment, BatchBarQuery, DateRange, FetchError, Interval, NewsArticle, ProviderId, Quote,
    Symbol, TimeRange,
};
use stockdata_ports::Clock;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::config::AgentConfig;
use crate::fetch::{Attempt, HistoricalDataFetcher, NewsFetcher, PriceFetcher, Series, Shared};
use crate::logging::RunId;

/// Articles asked for per symbol.
pub const NEWS_PER_SYMBOL: usize = 20;

/// Symbols fetched together: one batch of the multi-symbol providers (Alpaca, the serverless
/// fetcher), so chunking never costs an extra request.
pub const CHUNK: usize = 100;

/// The instants the agent asks for.
struct Ranges {
    history: Result<TimeRange, stockdata_domain::RangeError>,
    news: Result<TimeRange, stockdata_domain::RangeError>,
}

/// Everything the agent found for one requested symbol.
#[derive(Debug, Clone)]
pub struct SymbolReport {
    /// The symbol.
    pub symbol: Symbol,
    /// Its latest quote, or why not.
    pub quote: Result<Quote, FetchError>,
    /// Provider attempts for the quote.
    pub quote_trail: Vec<Attempt>,
    /// Its recent daily bars with findings, or why not.
    pub bars: Result<Series, FetchError>,
    /// Provider attempts for the bars.
    pub bars_trail: Vec<Attempt>,
    /// Its recent news, or why not.
    pub news: Result<Vec<NewsArticle>, FetchError>,
    /// Provider attempts for the news.
    pub news_trail: Vec<Attempt>,
}

impl SymbolReport {
    /// Whether nothing at all came back: no quote, no bar and no article (an empty news list
    /// next to two failures is not "partly fetched").
    #[must_use]
    pub fn fetched_nothing(&self) -> bool {
        self.quote.is_err()
            && self.bars.as_ref().map_or(true, |s| s.bars.is_empty())
            && self.news.as_ref().map_or(true, Vec::is_empty)
    }

    /// Every error, by section (`quote`, `bars`, `news`).
    #[must_use]
    pub fn errors(&self) -> Vec<(&'static str, &FetchError)> {
        let mut out = Vec::new();
        if let Err(e) = &self.quote {
            out.push(("quote", e));
        }
        if let Err(e) = &self.bars {
            out.push(("bars", e));
        }
        if let Err(e) = &self.news {
            out.push(("news", e));
        }
        out
    }
}

/// Run statistics.
#[derive(Debug, Clone, Default)]
pub struct RunStats {
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Port calls per provider.
    pub calls: Vec<(ProviderId, u64)>,
    /// HTTP requests, retries, throttles and pacing waits per provider.
    pub http: Vec<(ProviderId, StatsSnapshot)>,
    /// Times a symbol moved on to the next provider.
    pub failovers: u64,
    /// Symbol sections answered from the store (no provider asked, no quota spent).
    pub store_hits: u64,
    /// Symbols with every section fetched.
    pub complete: usize,
    /// Symbols with at least one section missing.
    pub partial: usize,
    /// Symbols with nothing fetched.
    pub failed: usize,
}

/// What one agent run produced.
#[derive(Debug, Clone)]
pub struct AgentReport {
    /// The run's id (also on every log line of the run).
    pub run_id: RunId,
    /// One entry per requested symbol, in request order.
    pub symbols: Vec<SymbolReport>,
    /// Statistics.
    pub stats: RunStats,
}

/// Fetches quotes, the last `history_days` of daily bars and the last `news_days` of news for a
/// watchlist.
#[derive(Debug, Clone)]
pub struct StockDataAgent {
    prices: PriceFetcher,
    history: HistoricalDataFetcher,
    news: NewsFetcher,
    config: AgentConfig,
    adjustment: Adjustment,
    clock: Arc<dyn Clock>,
    pacers: Arc<PacerRegistry>,
    shared: Shared,
}

impl StockDataAgent {
    /// An agent over the given fetchers.
    #[allow(clippy::too_many_arguments)]
    #[must_use]
    pub fn new(
        prices: PriceFetcher,
        history: HistoricalDataFetcher,
        news: NewsFetcher,
        config: AgentConfig,
        adjustment: Adjustment,
        clock: Arc<dyn Clock>,
        pacers: Arc<PacerRegistry>,
        shared: Shared,
    ) -> Self {
        Self {
            prices,
            history,
            news,
            config,
            adjustment,
            clock,
            pacers,
            shared,
        }
    }

    /// Runs the watchlist and returns the whole report. When `cancel` fires, what finished is
    /// kept and everything else is reported `Cancelled`; `on_progress` is called with
    /// (symbols done, symbols in all), a section at a time.
    pub async fn run(
        &self,
        watchlist: &[Symbol],
        cancel: &CancellationToken,
        on_progress: &(dyn Fn(usize, usize) + Send + Sync),
    ) -> AgentReport {
        let run_id = RunId::new();
        let mut symbols = Vec::with_capacity(watchlist.len());
        let stats = self
            .run_each(watchlist, cancel, on_progress, run_id, &mut |r| {
                symbols.push(r)
            })
            .await;
        AgentReport {
            run_id,
            symbols,
            stats,
        }
    }

    /// Runs the watchlist [`CHUNK`] symbols at a time and hands each symbol's report to
    /// `on_symbol` in request order as soon as its chunk is done, so a caller that writes
    /// them out holds at most one chunk in memory, whatever the watchlist's size.
    pub async fn run_each(
        &self,
        watchlist: &[Symbol],
        cancel: &CancellationToken,
        on_progress: &(dyn Fn(usize, usize) + Send + Sync),
        run_id: RunId,
        on_symbol: &mut dyn FnMut(SymbolReport),
    ) -> RunStats {
        let span = tracing::info_span!("run", run_id = %run_id, symbols = watchlist.len());
        self.run_chunks(watchlist, cancel, on_progress, on_symbol)
            .instrument(span)
            .await
    }

    async fn run_chunks(
        &self,
        watchlist: &[Symbol],
        cancel: &CancellationToken,
        on_progress: &(dyn Fn(usize, usize) + Send + Sync),
        on_symbol: &mut dyn FnMut(SymbolReport),
    ) -> RunStats {
        let started = Instant::now();
        // A run's quota budget starts full.
        self.shared.budget.reset();
        let now = self.clock.now();
        let today = new_york_date(now);
        let first = today
            .checked_sub(jiff::Span::new().days(i64::from(self.config.history_days)))
            .unwrap_or(today);
        let history_range = DateRange::new(first, today)
            .map_or_else(|_| TimeRange::new(now, now), |r| Ok(r.to_time_range()));
        let news_from = now
            .checked_sub(jiff::SignedDuration::from_hours(
                24 * i64::from(self.config.news_days),
            ))
            .unwrap_or(now);
        let ranges = Ranges {
            history: history_range,
            news: TimeRange::new(news_from, now),
        };
        tracing::info!(symbols = watchlist.len(), "agent run started");

        let distinct_in = |chunk: &[Symbol]| -> usize {
            let mut seen = std::collections::HashSet::new();
            chunk.iter().filter(|s| seen.insert(*s)).count()
        };
        let total: usize = watchlist.chunks(CHUNK).map(|c| distinct_in(c) * 3).sum();
        let done = std::sync::atomic::AtomicUsize::new(0);
        // Progress counts symbols: a symbol is a third done per section (quotes, bars, news).
        let tick = |n: usize| {
            let d = done.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n;
            on_progress(d / 3, total / 3);
        };
        let (mut complete, mut partial, mut failed) = (0, 0, 0);
        for chunk in watchlist.chunks(CHUNK) {
            for report in self.chunk(chunk, cancel, &ranges, &tick).await {
                if report.errors().is_empty() {
                    complete += 1;
                } else if report.fetched_nothing() {
                    failed += 1;
                } else {
                    partial += 1;
                }
                on_symbol(report);
            }
        }

        let (calls, failovers) = self.shared.counters.snapshot();
        let stats = RunStats {
            elapsed: started.elapsed(),
            calls,
            http: self.pacers.stats(),
            failovers,
            store_hits: self.shared.counters.store_hit_count(),
            complete,
            partial,
            failed,
        };
        tracing::info!(
            elapsed_ms = u64::try_from(stats.elapsed.as_millis()).unwrap_or(u64::MAX),
            complete,
            partial,
            failed,
            failovers,
            "agent run finished"
        );
        stats
    }

    /// Quotes, bars and news for one chunk, concurrently; one report per entry, in order.
    async fn chunk(
        &self,
        chunk: &[Symbol],
        cancel: &CancellationToken,
        ranges: &Ranges,
        tick: &(dyn Fn(usize) + Sync),
    ) -> Vec<SymbolReport> {
        let mut seen = std::collections::HashSet::new();
        let distinct: Vec<Symbol> = chunk.iter().filter(|s| seen.insert(*s)).cloned().collect();
        let quotes = async {
            tokio::select! {
                biased;
                () = cancel.cancelled() => None,
                r = self.prices.quotes(&distinct) => { tick(distinct.len()); Some(r) }
            }
        };
        let bars = async {
            let Ok(range) = ranges.history.clone() else {
                return None;
            };
            let query = BatchBarQuery {
                symbols: distinct.clone(),
                interval: Interval::Day1,
                range,
                adjustment: self.adjustment,
            };
            tokio::select! {
                biased;
                () = cancel.cancelled() => None,
                r = self.history.bars(&query) => { tick(distinct.len()); Some(r) }
            }
        };
        let news = async {
            let Ok(range) = ranges.news.clone() else {
                return HashMap::new();
            };
            tokio::select! {
                biased;
                () = cancel.cancelled() => HashMap::new(),
                r = self.news.news_for_each(&distinct, range, NEWS_PER_SYMBOL) => {
                    tick(distinct.len());
                    r
                }
            }
        };
        let (quotes, bars, mut news) = tokio::join!(quotes, bars, news);
        let mut quotes: HashMap<Symbol, _> = quotes
            .unwrap_or_default()
            .into_iter()
            .map(|r| (r.symbol.clone(), r))
            .collect();
        let mut bars: HashMap<Symbol, _> = bars
            .unwrap_or_default()
            .into_iter()
            .map(|r| (r.symbol.clone(), r))
            .collect();

        let mut remaining: HashMap<&Symbol, usize> = HashMap::new();
        for s in chunk {
            *remaining.entry(s).or_default() += 1;
        }
        let mut out = Vec::with_capacity(chunk.len());
        for symbol in chunk {
            // Move each section out on the symbol's last occurrence; clone before that.
            let last = remaining.get_mut(symbol).is_some_and(|n| {
                *n -= 1;
                *n == 0
            });
            fn take<T: Clone>(map: &mut HashMap<Symbol, T>, key: &Symbol, last: bool) -> Option<T> {
                if last {
                    map.remove(key)
                } else {
                    map.get(key).cloned()
                }
            }
            let (quote, quote_trail) = match take(&mut quotes, symbol, last) {
                Some(r) => (r.result, r.trail),
                None => (Err(FetchError::Cancelled), Vec::new()),
            };
            let (bars, bars_trail) = match take(&mut bars, symbol, last) {
                Some(r) => (r.result, r.trail),
                None => (
                    Err(ranges
                        .history
                        .clone()
                        .err()
                        .map_or(FetchError::Cancelled, |e| FetchError::InvalidRequest {
                            reason: e.to_string(),
                        })),
                    Vec::new(),
                ),
            };
            let (news, news_trail) = match take(&mut news, symbol, last) {
                Some(r) => (r.result, r.trail),
                None => (Err(FetchError::Cancelled), Vec::new()),
            };
            out.push(SymbolReport {
                symbol: symbol.clone(),
                quote,
                quote_trail,
                bars,
                bars_trail,
                news,
                news_trail,
            });
        }
        out
    }
}
