//! The serverless fetcher: a user-deployed endpoint (Lambda, Cloud Run, `stockdata serve`)
//! speaking stockdata's own schema, documented in `docs/serverless-api.md` and
//! `docs/openapi.yaml`.
//!
//! `GET {base}/v1/quotes?symbols=A,B`, `GET {base}/v1/bars?symbols=&interval=&start=&end=`,
//! `GET {base}/v1/news?symbols=&start=&end=&limit=`; `Authorization: Bearer <token>`; the
//! request id as `X-Request-Id`. Batch answers carry one entry per symbol, data or error.

pub mod raw;
mod settings;
pub mod wire;

pub use self::settings::{DESCRIPTOR, ID, ServerlessSettings};

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;
use stockdata_domain::{
    Adjustment, Bar, BarQuery, BatchBarQuery, FetchError, Interval, NewsArticle, NewsQuery,
    Provenance, ProviderId, Quote, Sentiment, SentimentLabel, Symbol, SymbolResult,
    TickerSentiment, Timestamp,
};
use stockdata_ports::{BarSource, Capabilities, Clock, NewsSource, QuoteSource};
use url::Url;

use self::raw::RawClient;
use self::wire::{BarRecord, NewsRecord, QuoteRecord, SentimentRecord};
use crate::batch::split_symbols;
use crate::numbers;
use crate::provider::ProviderCapabilities;
use crate::series::finish_news;
use crate::transport::{LogSafeUrl, PacerRegistry, RateWindow, Transport, TransportConfig};

/// One symbol group and what the deployment answered for it.
type GroupAnswer<R> = (Vec<Symbol>, Result<wire::Results<R>, FetchError>);

/// Symbols per request: the limit `stockdata serve` enforces.
pub const MAX_SYMBOLS_PER_REQUEST: usize = 100;
/// The longest comma-joined `symbols` value sent.
pub const MAX_SYMBOLS_QUERY_BYTES: usize = 4000;
/// The most bars one bars request may answer (the API's limit, estimated with
/// [`TimeRange::max_bars`] for each symbol: about 4.6 MB of JSON, within a Lambda function
/// URL's 6 MB answer). Requests are split so that none goes over it.
pub const MAX_BARS_PER_REQUEST: u64 = 20_000;

/// The longest range one request may ask for: the API's `max_range_days`, 3660 days.
pub const MAX_RANGE_PER_REQUEST: Duration = Duration::from_secs(3660 * 86_400);

/// What the serverless ports can do: native batches of every kind, every interval.
#[must_use]
pub fn capabilities() -> ProviderCapabilities {
    let caps = Capabilities {
        intervals: Interval::ALL.to_vec(),
        max_symbols_per_request: MAX_SYMBOLS_PER_REQUEST,
        // The API's `max_range_days` (docs/serverless-api.md): longer ranges go in pieces.
        max_range_per_request: Some(MAX_RANGE_PER_REQUEST),
        ..Capabilities::single_symbol()
    };
    ProviderCapabilities {
        quotes: caps.clone(),
        bars: caps.clone(),
        news: caps,
    }
}

/// Everything the serverless adapter needs.
#[derive(Clone)]
pub struct ServerlessConfig {
    /// The deployment's base URL (`https://….lambda-url….on.aws`, `http://127.0.0.1:8080/prefix`).
    pub base_url: Url,
    /// The bearer token, when the deployment requires one.
    pub token: Option<SecretString>,
    /// Timeouts and retries.
    pub transport: TransportConfig,
    /// Pacing windows, if the deployment has limits (none by default).
    pub windows: Vec<RateWindow>,
}

impl ServerlessConfig {
    /// Defaults for a deployment at `base_url`.
    #[must_use]
    pub fn new(base_url: Url, token: Option<SecretString>) -> Self {
        Self {
            base_url,
            token,
            transport: TransportConfig::default(),
            windows: Vec::new(),
        }
    }
}

/// Debug without credentials: keys are `SecretString`s, and the base URL's userinfo is
/// redacted.
impl std::fmt::Debug for ServerlessConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerlessConfig")
            .field("base_url", &LogSafeUrl::new(self.base_url.clone()))
            .field("token", &self.token)
            .field("transport", &self.transport)
            .field("windows", &self.windows)
            .finish()
    }
}

/// The serverless-fetcher adapter: implements [`QuoteSource`], [`BarSource`] and
/// [`NewsSource`] with native batches.
#[derive(Debug)]
pub struct Serverless {
    raw: RawClient,
    clock: Arc<dyn Clock>,
    caps: Capabilities,
}

impl Serverless {
    /// Builds the adapter.
    ///
    /// # Errors
    /// `Transport` when the HTTP client cannot be built.
    pub fn new(
        config: ServerlessConfig,
        pacers: &PacerRegistry,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, FetchError> {
        let key = config
            .token
            .clone()
            .unwrap_or_else(|| SecretString::from(config.base_url.as_str().to_owned()));
        let pacer = pacers.pacer(&ID, &key, &config.windows, Duration::ZERO);
        let transport = Transport::new(config.transport, pacer)?;
        Ok(Self::from_raw(
            RawClient::new(transport, config.base_url, config.token),
            clock,
        ))
    }

    /// Wraps an existing raw client.
    #[must_use]
    pub fn from_raw(raw: RawClient, clock: Arc<dyn Clock>) -> Self {
        Self {
            raw,
            clock,
            caps: capabilities().quotes,
        }
    }

    fn provenance(&self, provider: &str, synthetic: bool, fetched_at: Timestamp) -> Provenance {
        let mut p = Provenance::new(ProviderId::new(provider), fetched_at);
        p.synthetic = synthetic;
        p.via = Some(ID);
        p
    }

    fn groups(symbols: &[Symbol]) -> Vec<Vec<Symbol>> {
        split_symbols(symbols, MAX_SYMBOLS_PER_REQUEST, MAX_SYMBOLS_QUERY_BYTES)
    }

    /// Spreads each group's per-symbol entries (or its whole-request error) over the
    /// requested symbols: one result per requested symbol.
    fn spread<T: Clone, R>(
        symbols: &[Symbol],
        answers: Vec<GroupAnswer<R>>,
        convert: impl Fn(&Symbol, R) -> Result<T, FetchError>,
    ) -> Vec<SymbolResult<T>> {
        let mut found = HashMap::with_capacity(symbols.len());
        for (group, answer) in answers {
            match answer {
                Ok(results) => {
                    let by_text: HashMap<&str, &Symbol> =
                        group.iter().map(|s| (s.as_str(), s)).collect();
                    for entry in results.results {
                        let Some(symbol) = by_text
                            .get(entry.symbol.to_ascii_uppercase().as_str())
                            .copied()
                        else {
                            continue;
                        };
                        let result = match (entry.data, entry.error) {
                            (_, Some(error)) => Err(error.to_error(Some(symbol))),
                            (Some(data), None) => convert(symbol, data),
                            (None, None) => Err(FetchError::malformed(format!(
                                "serverless entry for {symbol} has neither data nor error"
                            ))),
                        };
                        found.insert(symbol.clone(), result);
                    }
                }
                Err(err) => {
                    for symbol in group {
                        found.insert(symbol, Err(err.clone()));
                    }
                }
            }
        }
        SymbolResult::in_request_order(symbols, found, |s| {
            FetchError::malformed(format!("serverless answer has no entry for {s}"))
        })
    }

    fn to_quote(&self, symbol: &Symbol, r: QuoteRecord) -> Result<Quote, FetchError> {
        let fetched_at = self.clock.now();
        let mut quote = Quote {
            symbol: symbol.clone(),
            price: r.price,
            bid: r.bid,
            bid_size: r.bid_size,
            ask: r.ask,
            ask_size: r.ask_size,
            open: r.open,
            high: r.high,
            low: r.low,
            previous_close: r.previous_close,
            change: r.change,
            change_percent: r.change_percent,
            volume: r.volume,
            as_of: numbers::instant("as_of", &r.as_of)?,
            provenance: self.provenance(&r.provider, r.synthetic, fetched_at),
        };
        quote.derive_change();
        Ok(quote)
    }

    fn to_bars(
        &self,
        symbol: &Symbol,
        interval: Interval,
        records: Vec<BarRecord>,
    ) -> Result<Vec<Bar>, FetchError> {
        let fetched_at = self.clock.now();
        let mut bars = Vec::with_capacity(records.len());
        for r in records {
            let mut provenance = self.provenance(&r.provider, r.synthetic, fetched_at);
            provenance.adjustment = r
                .adjustment
                .as_deref()
                .and_then(|a| a.parse::<Adjustment>().ok());
            bars.push(Bar {
                symbol: symbol.clone(),
                interval,
                start: numbers::instant("start", &r.start)?,
                open: r.open,
                high: r.high,
                low: r.low,
                close: r.close,
                volume: r.volume,
                vwap: r.vwap,
                trades: r.trades,
                provenance,
            });
        }
        bars.sort_by_key(|b| b.start);
        bars.dedup_by_key(|b| b.start);
        if bars.is_empty() {
            return Err(FetchError::NoData);
        }
        Ok(bars)
    }

    fn to_article(&self, r: NewsRecord) -> Result<NewsArticle, FetchError> {
        Ok(NewsArticle {
            published_at: numbers::instant("published_at", &r.published_at)?,
            provenance: self.provenance(&r.provider, r.synthetic, self.clock.now()),
            symbols: r
                .symbols
                .iter()
                .filter_map(|s| Symbol::parse(s).ok())
                .collect(),
            id: r.id,
            headline: r.headline,
            summary: r.summary,
            url: r.url,
            source: r.source,
            author: r.author,
            image: r.image,
            sentiment: r.sentiment.map(to_sentiment),
        })
    }
}

/// An article's sentiment as `serve` writes it. A ticker that is not a symbol is left out, as
/// from `symbols`.
fn to_sentiment(r: SentimentRecord) -> Sentiment {
    Sentiment {
        score: r.score,
        label: SentimentLabel::parse(&r.label),
        tickers: r
            .tickers
            .into_iter()
            .filter_map(|t| {
                Some(TickerSentiment {
                    symbol: Symbol::parse(&t.symbol).ok()?,
                    relevance: t.relevance,
                    score: t.score,
                    label: SentimentLabel::parse(&t.label),
                })
            })
            .collect(),
    }
}

#[async_trait]
impl QuoteSource for Serverless {
    fn provider(&self) -> ProviderId {
        ID
    }

    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    async fn quote(&self, symbol: &Symbol) -> Result<Quote, FetchError> {
        self.quotes(std::slice::from_ref(symbol))
            .await
            .pop()
            .map_or(Err(FetchError::NoData), |a| a.result)
    }

    async fn quotes(&self, symbols: &[Symbol]) -> Vec<SymbolResult<Quote>> {
        let mut answers = Vec::new();
        for group in Self::groups(symbols) {
            let answer = self.raw.quotes(&group).await;
            answers.push((group, answer));
        }
        Self::spread(symbols, answers, |s, r| self.to_quote(s, r))
    }
}

#[async_trait]
impl BarSource for Serverless {
    fn provider(&self) -> ProviderId {
        ID
    }

    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    async fn bars(&self, query: &BarQuery) -> Result<Vec<Bar>, FetchError> {
        let batch = BatchBarQuery {
            symbols: vec![query.symbol.clone()],
            interval: query.interval,
            range: query.range,
            adjustment: query.adjustment,
        };
        self.bars_batch(&batch)
            .await
            .pop()
            .map_or(Err(FetchError::NoData), |a| a.result)
    }

    async fn bars_batch(&self, query: &BatchBarQuery) -> Vec<SymbolResult<Vec<Bar>>> {
        let each = query.range.max_bars(query.interval);
        if each > MAX_BARS_PER_REQUEST {
            return self.bars_in_pieces(query).await;
        }
        // As many symbols per request as keep the answer within the API's bar limit.
        let per_request = usize::try_from(MAX_BARS_PER_REQUEST / each.max(1))
            .unwrap_or(usize::MAX)
            .clamp(1, MAX_SYMBOLS_PER_REQUEST);
        let mut answers = Vec::new();
        for group in split_symbols(&query.symbols, per_request, MAX_SYMBOLS_QUERY_BYTES) {
            let answer = self
                .raw
                .bars(&group, query.interval, query.range, query.adjustment)
                .await;
            answers.push((group, answer));
        }
        Self::spread(&query.symbols, answers, |s, records| {
            self.to_bars(s, query.interval, records)
        })
    }
}

impl Serverless {
    /// One symbol's range is more than one request may answer: each symbol alone, its range
    /// in consecutive pieces of at most [`MAX_BARS_PER_REQUEST`] bar widths, merged. A piece
    /// without data is fine; any other failing piece fails the symbol (no truncated history).
    async fn bars_in_pieces(&self, query: &BatchBarQuery) -> Vec<SymbolResult<Vec<Bar>>> {
        let width = query
            .interval
            .fixed_duration()
            .unwrap_or(Duration::from_secs(86_400));
        let piece = width.saturating_mul(u32::try_from(MAX_BARS_PER_REQUEST).unwrap_or(u32::MAX));
        let pieces = query.range.split(Some(piece));
        let mut found = HashMap::with_capacity(query.symbols.len());
        for symbol in &query.symbols {
            if found.contains_key(symbol) {
                continue;
            }
            let group = std::slice::from_ref(symbol);
            let mut bars = Vec::new();
            let mut failed = None;
            for range in &pieces {
                let answer = self
                    .raw
                    .bars(group, query.interval, *range, query.adjustment)
                    .await;
                let result = Self::spread(group, vec![(group.to_vec(), answer)], |s, records| {
                    self.to_bars(s, query.interval, records)
                })
                .pop()
                .map(|r| r.result);
                match result {
                    Some(Ok(piece)) => bars.extend(piece),
                    Some(Err(FetchError::NoData)) | None => {}
                    Some(Err(e)) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            let result = match failed {
                Some(e) => Err(e),
                None if bars.is_empty() => Err(FetchError::NoData),
                None => {
                    bars.sort_by_key(|b| b.start);
                    bars.dedup_by_key(|b| b.start);
                    Ok(bars)
                }
            };
            found.insert(symbol.clone(), result);
        }
        SymbolResult::in_request_order(&query.symbols, found, |s| {
            FetchError::malformed(format!("serverless answer has no entry for {s}"))
        })
    }
}

#[async_trait]
impl NewsSource for Serverless {
    fn provider(&self) -> ProviderId {
        ID
    }

    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    async fn news(&self, query: &NewsQuery) -> Result<Vec<NewsArticle>, FetchError> {
        let mut articles = Vec::new();
        for group in Self::groups(&query.symbols) {
            let answer = self.raw.news(&group, query.range, query.limit).await?;
            for record in answer.articles {
                articles.push(self.to_article(record)?);
            }
        }
        articles.retain(|a| query.range.contains(a.published_at));
        Ok(finish_news(articles, query.limit))
    }
}
