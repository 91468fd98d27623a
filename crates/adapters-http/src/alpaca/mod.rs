//! Alpaca market data v2: quotes from snapshots, bars and news, many symbols per request, with
//! pagination followed to the end.
//!
//! Free plan: 200 requests a minute; IEX feed in real time, SIP only for data older than 15
//! minutes. Live trades, quotes and minute bars: [`stream`].

pub mod raw;
mod settings;
pub mod stream;
pub mod stream_wire;
pub mod wire;

pub use self::settings::{AlpacaSettings, DESCRIPTOR, Feed, ID};
pub use self::stream::{AlpacaStream, AlpacaStreamConfig, DEFAULT_STREAM_URL};

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;
use stockdata_domain::{
    Bar, BarQuery, BatchBarQuery, FetchError, Interval, NewsArticle, NewsQuery, Provenance,
    ProviderId, Quote, Symbol, SymbolResult,
};
use stockdata_ports::{BarSource, Capabilities, Clock, NewsSource, QuoteSource};
use url::Url;

use self::raw::{BarsParams, NewsParams, RawClient};
use self::wire::{BarRow, NewsItemWire, SnapshotWire};
use crate::batch::{join, split_symbols};
use crate::numbers;
use crate::provider::ProviderCapabilities;
use crate::series::{default_base_url, finish_news};
use crate::transport::{LogSafeUrl, PacerRegistry, RateWindow, Transport, TransportConfig};

/// `https://data.alpaca.markets`; `/v2/...` and `/v1beta1/...` are appended.
pub const DEFAULT_BASE_URL: &str = "https://data.alpaca.markets";
/// Free plan: 200 requests per minute.
pub const FREE_REQUESTS_PER_MINUTE: NonZeroU32 = NonZeroU32::new(200).unwrap();
/// Symbols per request. Alpaca documents no hard cap on the multi-symbol endpoints; 100 keeps
/// snapshot bodies and bar pages small, and 250 symbols still take only 3 requests.
pub const MAX_SYMBOLS_PER_REQUEST: usize = 100;
/// The longest comma-joined `symbols` value sent, well under common 8 KiB URL limits.
pub const MAX_SYMBOLS_QUERY_BYTES: usize = 4000;
/// `limit` for bars: the maximum, counted across symbols and pages.
pub const BARS_PAGE_LIMIT: u32 = 10_000;
/// `limit` for news: the maximum per page.
pub const NEWS_PAGE_LIMIT: usize = 50;
/// A guard against a provider that never stops paging.
const MAX_PAGES: usize = 10_000;

/// What the Alpaca ports can do: native multi-symbol batches everywhere.
#[must_use]
pub fn capabilities() -> ProviderCapabilities {
    let multi = Capabilities {
        max_symbols_per_request: MAX_SYMBOLS_PER_REQUEST,
        ..Capabilities::single_symbol()
    };
    ProviderCapabilities {
        bars: Capabilities {
            intervals: Interval::ALL.to_vec(),
            page_size: Some(BARS_PAGE_LIMIT as usize),
            ..multi.clone()
        },
        news: Capabilities {
            page_size: Some(NEWS_PAGE_LIMIT),
            ..multi.clone()
        },
        quotes: multi,
    }
}

/// Everything the Alpaca adapter needs.
#[derive(Clone)]
pub struct AlpacaConfig {
    /// `APCA-API-KEY-ID`.
    pub key_id: SecretString,
    /// `APCA-API-SECRET-KEY`.
    pub secret_key: SecretString,
    /// `scheme://host[:port][/prefix]`.
    pub base_url: Url,
    /// `feed`: `iex` (free) or `sip` (paid); changes the numbers, so it is in provenance.
    pub feed: String,
    /// Timeouts and retries.
    pub transport: TransportConfig,
    /// Quota windows (default: 200/min).
    pub windows: Vec<RateWindow>,
}

impl AlpacaConfig {
    /// The free-plan defaults for a key pair.
    #[must_use]
    pub fn new(key_id: SecretString, secret_key: SecretString) -> Self {
        Self {
            key_id,
            secret_key,
            base_url: default_base_url(DEFAULT_BASE_URL),
            feed: "iex".to_owned(),
            transport: TransportConfig::default(),
            windows: vec![RateWindow::per_minute(FREE_REQUESTS_PER_MINUTE)],
        }
    }
}

/// Debug without credentials: keys are `SecretString`s, and the base URL's userinfo is
/// redacted.
impl std::fmt::Debug for AlpacaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlpacaConfig")
            .field("key_id", &self.key_id)
            .field("secret_key", &self.secret_key)
            .field("base_url", &LogSafeUrl::new(self.base_url.clone()))
            .field("feed", &self.feed)
            .field("transport", &self.transport)
            .field("windows", &self.windows)
            .finish()
    }
}

/// The Alpaca adapter: implements [`QuoteSource`], [`BarSource`] and [`NewsSource`] with
/// native multi-symbol batches.
#[derive(Debug)]
pub struct Alpaca {
    raw: RawClient,
    feed: String,
    clock: Arc<dyn Clock>,
    quote_caps: Capabilities,
    bar_caps: Capabilities,
    news_caps: Capabilities,
}

impl Alpaca {
    /// Builds the adapter, drawing its pacer from `pacers` (one per key, shared).
    ///
    /// # Errors
    /// `Transport` when the HTTP client cannot be built.
    pub fn new(
        config: AlpacaConfig,
        pacers: &PacerRegistry,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, FetchError> {
        let pacer = pacers.pacer(&ID, &config.key_id, &config.windows, Duration::ZERO);
        let transport = Transport::new(config.transport, pacer)?;
        Ok(Self::from_raw(
            RawClient::new(transport, config.base_url, config.key_id, config.secret_key),
            config.feed,
            clock,
        ))
    }

    /// Wraps an existing raw client.
    #[must_use]
    pub fn from_raw(raw: RawClient, feed: String, clock: Arc<dyn Clock>) -> Self {
        let caps = capabilities();
        Self {
            raw,
            feed,
            clock,
            quote_caps: caps.quotes,
            bar_caps: caps.bars,
            news_caps: caps.news,
        }
    }

    fn provenance(&self) -> Provenance {
        Provenance::new(ID, self.clock.now()).with_feed(self.feed.clone())
    }

    fn groups(symbols: &[Symbol]) -> Vec<Vec<Symbol>> {
        split_symbols(symbols, MAX_SYMBOLS_PER_REQUEST, MAX_SYMBOLS_QUERY_BYTES)
    }
}

#[async_trait]
impl QuoteSource for Alpaca {
    fn provider(&self) -> ProviderId {
        ID
    }

    fn capabilities(&self) -> &Capabilities {
        &self.quote_caps
    }

    async fn quote(&self, symbol: &Symbol) -> Result<Quote, FetchError> {
        let mut answers = self.quotes(std::slice::from_ref(symbol)).await;
        answers.pop().map_or_else(
            || {
                Err(FetchError::UnknownSymbol {
                    symbol: symbol.clone(),
                })
            },
            |a| a.result,
        )
    }

    async fn quotes(&self, symbols: &[Symbol]) -> Vec<SymbolResult<Quote>> {
        let mut found = HashMap::with_capacity(symbols.len());
        for group in Self::groups(symbols) {
            match self.raw.snapshots(&group, &self.feed).await {
                Ok(mut snapshots) => {
                    let provenance = self.provenance();
                    for symbol in group {
                        let result = match snapshots.remove(symbol.as_str()).flatten() {
                            Some(snapshot) => to_quote(&symbol, &snapshot, provenance.clone()),
                            None => Err(FetchError::UnknownSymbol {
                                symbol: symbol.clone(),
                            }),
                        };
                        found.insert(symbol, result);
                    }
                }
                Err(err) => {
                    for symbol in group {
                        found.insert(symbol, Err(err.clone()));
                    }
                }
            }
        }
        SymbolResult::in_request_order(symbols, found, |s| FetchError::UnknownSymbol {
            symbol: s.clone(),
        })
    }
}

/// Maps a snapshot into a [`Quote`]: last trade price, best bid/ask (0 means none), today's
/// bar, the previous close.
///
/// # Errors
/// `NoData` when the snapshot has neither a trade nor a daily bar; `Malformed` for bad times.
pub fn to_quote(
    symbol: &Symbol,
    snap: &SnapshotWire,
    provenance: Provenance,
) -> Result<Quote, FetchError> {
    let (price, as_of) = match (&snap.latest_trade, &snap.daily_bar) {
        (Some(trade), _) => (trade.p, numbers::instant("latestTrade.t", &trade.t)?),
        (None, Some(bar)) => (bar.c, numbers::instant("dailyBar.t", &bar.t)?),
        (None, None) => return Err(FetchError::NoData),
    };
    let quote_side = |p: Option<rust_decimal::Decimal>| p.filter(|p| !p.is_zero());
    let q = snap.latest_quote.as_ref();
    let daily = snap.daily_bar.as_ref();
    let mut quote = Quote {
        symbol: symbol.clone(),
        price,
        bid: q.and_then(|q| quote_side(q.bp)),
        bid_size: q.and_then(|q| quote_side(q.bp).and(q.bs)),
        ask: q.and_then(|q| quote_side(q.ap)),
        ask_size: q.and_then(|q| quote_side(q.ap).and(q.ask_size)),
        open: daily.map(|b| b.o),
        high: daily.map(|b| b.h),
        low: daily.map(|b| b.l),
        previous_close: snap.prev_daily_bar.as_ref().map(|b| b.c),
        change: None,
        change_percent: None,
        volume: daily.map(|b| b.v),
        as_of,
        provenance,
    };
    quote.derive_change();
    Ok(quote)
}

fn timeframe(interval: Interval) -> &'static str {
    match interval {
        Interval::Minute1 => "1Min",
        Interval::Minute5 => "5Min",
        Interval::Minute15 => "15Min",
        Interval::Minute30 => "30Min",
        Interval::Hour1 => "1Hour",
        Interval::Day1 => "1Day",
        Interval::Week1 => "1Week",
        Interval::Month1 => "1Month",
    }
}

#[async_trait]
impl BarSource for Alpaca {
    fn provider(&self) -> ProviderId {
        ID
    }

    fn capabilities(&self) -> &Capabilities {
        &self.bar_caps
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
        let mut found = HashMap::with_capacity(query.symbols.len());
        for group in Self::groups(&query.symbols) {
            match self.bars_group(&group, query).await {
                Ok(mut rows) => {
                    for symbol in group {
                        let bars = rows.remove(symbol.as_str()).unwrap_or_default();
                        let result = if bars.is_empty() {
                            Err(FetchError::NoData)
                        } else {
                            Ok(bars)
                        };
                        found.insert(symbol, result);
                    }
                }
                Err(err) => {
                    for symbol in group {
                        found.insert(symbol, Err(err.clone()));
                    }
                }
            }
        }
        SymbolResult::in_request_order(&query.symbols, found, |_| FetchError::NoData)
    }
}

impl Alpaca {
    /// Every page of one symbol group, merged per symbol in order, de-duplicated, inside the
    /// range. A failure on any page fails the group: a truncated series is never returned.
    async fn bars_group(
        &self,
        group: &[Symbol],
        query: &BatchBarQuery,
    ) -> Result<HashMap<String, Vec<Bar>>, FetchError> {
        let params = BarsParams {
            symbols: join(group),
            timeframe: timeframe(query.interval),
            start: query.range.start().to_string(),
            end: query.range.end().to_string(),
            adjustment: query.adjustment.as_str(),
            feed: self.feed.clone(),
            limit: BARS_PAGE_LIMIT,
        };
        let by_text: HashMap<&str, &Symbol> = group.iter().map(|s| (s.as_str(), s)).collect();
        let mut merged: HashMap<String, Vec<Bar>> = HashMap::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self.raw.bars_page(&params, token.as_deref()).await?;
            let provenance = self.provenance().with_adjustment(query.adjustment);
            for (symbol_text, rows) in page.bars {
                // Symbols the provider added on its own are not ours to report.
                let Some(symbol) = by_text.get(symbol_text.as_str()) else {
                    continue;
                };
                let out = merged.entry(symbol_text).or_default();
                out.reserve(rows.len());
                out.extend(
                    rows.into_iter()
                        .map(|row| to_bar(symbol, query.interval, row, &provenance)),
                );
            }
            match page.next_page_token {
                Some(next) if Some(&next) == token.as_ref() => {
                    return Err(FetchError::malformed("Alpaca repeated the same page token"));
                }
                Some(next) => token = Some(next),
                None => {
                    for bars in merged.values_mut() {
                        crate::series::tidy(bars, query.range);
                    }
                    return Ok(merged);
                }
            }
        }
        Err(FetchError::malformed(format!(
            "Alpaca bars did not end after {MAX_PAGES} pages"
        )))
    }
}

/// Maps one bar row into a [`Bar`].
#[must_use]
pub fn to_bar(symbol: &Symbol, interval: Interval, row: BarRow, provenance: &Provenance) -> Bar {
    Bar {
        symbol: symbol.clone(),
        interval,
        start: row.start,
        open: row.o,
        high: row.h,
        low: row.l,
        close: row.c,
        volume: row.v,
        vwap: row.vw,
        trades: row.n,
        provenance: provenance.clone(),
    }
}

#[async_trait]
impl NewsSource for Alpaca {
    fn provider(&self) -> ProviderId {
        ID
    }

    fn capabilities(&self) -> &Capabilities {
        &self.news_caps
    }

    async fn news(&self, query: &NewsQuery) -> Result<Vec<NewsArticle>, FetchError> {
        let mut articles = Vec::new();
        for group in Self::groups(&query.symbols) {
            let mut params = NewsParams {
                symbols: join(&group),
                start: query.range.start().to_string(),
                end: query.range.end().to_string(),
                limit: 0,
            };
            let mut collected = 0;
            let mut token: Option<String> = None;
            for _ in 0..MAX_PAGES {
                params.limit =
                    u32::try_from((query.limit - collected).clamp(1, NEWS_PAGE_LIMIT)).unwrap_or(1);
                let page = self.raw.news_page(&params, token.as_deref()).await?;
                let provenance = self.provenance();
                for item in &page.news {
                    articles.push(to_article(item, &provenance)?);
                }
                collected += page.news.len();
                match page.next_page_token {
                    Some(next) if collected < query.limit && Some(&next) != token.as_ref() => {
                        token = Some(next)
                    }
                    _ => break,
                }
            }
        }
        articles.retain(|a| query.range.contains(a.published_at));
        Ok(finish_news(articles, query.limit))
    }
}

/// Maps a news item into an article with id `alpaca:<id>`; the large image is preferred.
///
/// # Errors
/// `Malformed` for a bad `created_at`.
pub fn to_article(item: &NewsItemWire, provenance: &Provenance) -> Result<NewsArticle, FetchError> {
    let image = item
        .images
        .iter()
        .find(|i| i.size.as_deref() == Some("large"))
        .or_else(|| item.images.first())
        .map(|i| i.url.clone());
    Ok(NewsArticle {
        id: format!("alpaca:{}", item.id),
        headline: item.headline.clone(),
        summary: item.summary.clone().unwrap_or_default(),
        url: item.url.clone().unwrap_or_default(),
        source: item.source.clone().unwrap_or_default(),
        published_at: numbers::instant("created_at", &item.created_at)?,
        symbols: item
            .symbols
            .iter()
            .filter_map(|s| Symbol::parse(s).ok())
            .collect(),
        author: item.author.clone().filter(|a| !a.trim().is_empty()),
        image,
        sentiment: None,
        provenance: provenance.clone(),
    })
}
