//! Finnhub: quotes (`/api/v1/quote`), candles (`/api/v1/stock/candle`, premium), company news
//! (`/api/v1/company-news`).
//!
//! Free tier: 60 requests a minute, and 30 a second on every plan. Live trades: [`stream`].

pub mod raw;
mod settings;
pub mod stream;
pub mod wire;

pub use self::settings::{DESCRIPTOR, FinnhubSettings, ID};
pub use self::stream::{DEFAULT_STREAM_URL, FinnhubStream, FinnhubStreamConfig};

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use secrecy::SecretString;
use stockdata_domain::{
    Adjustment, Bar, BarQuery, Decimal, FetchError, Interval, NewsArticle, NewsQuery, Provenance,
    ProviderId, Quote, Symbol,
};
use stockdata_ports::{BarSource, Capabilities, Clock, NewsSource, QuoteSource};
use url::Url;

use self::raw::RawClient;
use self::wire::{CandlesWire, NewsItemWire, QuoteWire};
use crate::numbers;
use crate::provider::ProviderCapabilities;
use crate::series::{default_base_url, finish_news};
use crate::transport::{LogSafeUrl, PacerRegistry, RateWindow, Transport, TransportConfig};

/// `https://finnhub.io`; `/api/v1/...` is appended.
pub const DEFAULT_BASE_URL: &str = "https://finnhub.io";
/// Free tier: 60 requests per minute.
pub const FREE_REQUESTS_PER_MINUTE: NonZeroU32 = NonZeroU32::new(60).unwrap();
/// Every plan: 30 requests per second.
pub const MAX_REQUESTS_PER_SECOND: NonZeroU32 = NonZeroU32::new(30).unwrap();
/// Intraday candles come one month per call.
pub const INTRADAY_RANGE_PER_REQUEST: Duration = Duration::from_secs(30 * 86_400);

/// What the Finnhub ports can do.
#[must_use]
pub fn capabilities() -> ProviderCapabilities {
    ProviderCapabilities {
        quotes: Capabilities::single_symbol(),
        bars: Capabilities {
            intervals: Interval::ALL.to_vec(),
            max_range_per_request: None,
            // Daily and longer candles come split-adjusted, intraday ones as traded; neither
            // can be asked for otherwise.
            adjustments: vec![Adjustment::Split],
            intraday_adjustments: vec![Adjustment::Raw],
            ..Capabilities::single_symbol()
        },
        news: Capabilities::single_symbol(),
    }
}

/// Everything the Finnhub adapter needs.
#[derive(Clone)]
pub struct FinnhubConfig {
    /// The API key (sent as `X-Finnhub-Token`).
    pub api_key: SecretString,
    /// `scheme://host[:port][/prefix]`.
    pub base_url: Url,
    /// Timeouts and retries.
    pub transport: TransportConfig,
    /// Quota windows (defaults: 60/min and 30/s).
    pub windows: Vec<RateWindow>,
}

impl FinnhubConfig {
    /// The free-tier defaults for `api_key`.
    #[must_use]
    pub fn new(api_key: SecretString) -> Self {
        Self {
            api_key,
            base_url: default_base_url(DEFAULT_BASE_URL),
            transport: TransportConfig::default(),
            windows: vec![
                RateWindow::per_minute(FREE_REQUESTS_PER_MINUTE),
                RateWindow::per_second(MAX_REQUESTS_PER_SECOND),
            ],
        }
    }
}

/// Debug without credentials: keys are `SecretString`s, and the base URL's userinfo is
/// redacted.
impl std::fmt::Debug for FinnhubConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FinnhubConfig")
            .field("api_key", &self.api_key)
            .field("base_url", &LogSafeUrl::new(self.base_url.clone()))
            .field("transport", &self.transport)
            .field("windows", &self.windows)
            .finish()
    }
}

/// The Finnhub adapter: implements [`QuoteSource`], [`BarSource`] and [`NewsSource`].
#[derive(Debug)]
pub struct Finnhub {
    raw: RawClient,
    clock: Arc<dyn Clock>,
    single: Capabilities,
    bar_caps: Capabilities,
}

impl Finnhub {
    /// Builds the adapter, drawing its pacer from `pacers` (one per key, shared).
    ///
    /// # Errors
    /// `Transport` when the HTTP client cannot be built.
    pub fn new(
        config: FinnhubConfig,
        pacers: &PacerRegistry,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, FetchError> {
        let pacer = pacers.pacer(&ID, &config.api_key, &config.windows, Duration::ZERO);
        let transport = Transport::new(config.transport, pacer)?;
        Ok(Self::from_raw(
            RawClient::new(transport, config.base_url, config.api_key),
            clock,
        ))
    }

    /// Wraps an existing raw client.
    #[must_use]
    pub fn from_raw(raw: RawClient, clock: Arc<dyn Clock>) -> Self {
        let caps = capabilities();
        Self {
            raw,
            clock,
            single: caps.quotes,
            bar_caps: caps.bars,
        }
    }

    fn provenance(&self) -> Provenance {
        Provenance::new(ID, self.clock.now())
    }
}

#[async_trait]
impl QuoteSource for Finnhub {
    fn provider(&self) -> ProviderId {
        ID
    }

    fn capabilities(&self) -> &Capabilities {
        &self.single
    }

    async fn quote(&self, symbol: &Symbol) -> Result<Quote, FetchError> {
        let wire = self.raw.quote(symbol).await?;
        to_quote(symbol, &wire, self.provenance())
    }
}

/// Maps a quote body into a [`Quote`].
///
/// # Errors
/// `UnknownSymbol` for the all-zero body; `Malformed` for a missing price or bad time.
pub fn to_quote(
    symbol: &Symbol,
    wire: &QuoteWire,
    provenance: Provenance,
) -> Result<Quote, FetchError> {
    if wire.is_unknown() {
        return Err(FetchError::UnknownSymbol {
            symbol: symbol.clone(),
        });
    }
    let price = wire
        .c
        .ok_or_else(|| FetchError::malformed("Finnhub quote has no current price \"c\""))?;
    // A zero price is not a quote (Finnhub answers `c: 0` with a real `t` for symbols it has no
    // trades for): another provider may have one.
    if price.is_zero() {
        return Err(FetchError::NoData);
    }
    // Zeros in the session fields mean "none" in Finnhub's answers, not a price of zero; a
    // change computed against a zero previous close is meaningless.
    let some = |v: Option<Decimal>| v.filter(|d| !d.is_zero());
    let previous_close = some(wire.pc);
    let (change, change_percent) = if previous_close.is_some() {
        (wire.d, wire.dp)
    } else {
        (None, None)
    };
    let as_of = match wire.t {
        Some(t) if t > 0 => Timestamp::from_second(t).map_err(|_| {
            FetchError::malformed(format!("Finnhub quote time {t} is out of range"))
        })?,
        _ => provenance.fetched_at,
    };
    let mut quote = Quote {
        symbol: symbol.clone(),
        price,
        bid: None,
        bid_size: None,
        ask: None,
        ask_size: None,
        open: some(wire.o),
        high: some(wire.h),
        low: some(wire.l),
        previous_close,
        change,
        change_percent,
        volume: None,
        as_of,
        provenance,
    };
    quote.derive_change();
    Ok(quote)
}

fn resolution(interval: Interval) -> &'static str {
    match interval {
        Interval::Minute1 => "1",
        Interval::Minute5 => "5",
        Interval::Minute15 => "15",
        Interval::Minute30 => "30",
        Interval::Hour1 => "60",
        Interval::Day1 => "D",
        Interval::Week1 => "W",
        Interval::Month1 => "M",
    }
}

#[async_trait]
impl BarSource for Finnhub {
    fn provider(&self) -> ProviderId {
        ID
    }

    fn capabilities(&self) -> &Capabilities {
        &self.bar_caps
    }

    async fn bars(&self, query: &BarQuery) -> Result<Vec<Bar>, FetchError> {
        // Finnhub's daily and longer candles are split-adjusted, intraday ones are not; the
        // provenance says which was served.
        let served = if query.interval.is_intraday() {
            Adjustment::Raw
        } else {
            Adjustment::Split
        };
        let chunk = if query.interval.is_intraday() {
            INTRADAY_RANGE_PER_REQUEST
        } else {
            Duration::MAX
        };
        let start = query.range.start().as_second();
        let end = query.range.end().as_second();
        let step = i64::try_from(chunk.as_secs()).unwrap_or(i64::MAX);
        let mut bars = Vec::new();
        let mut from = start;
        while from < end {
            let to = from.saturating_add(step).min(end);
            let wire = self
                .raw
                .candles(&query.symbol, resolution(query.interval), from, to - 1)
                .await?;
            let provenance = self.provenance().with_adjustment(served);
            candle_bars(&query.symbol, query.interval, &wire, &provenance, &mut bars)?;
            from = to;
        }
        crate::series::tidy(&mut bars, query.range);
        if bars.is_empty() {
            return Err(FetchError::NoData);
        }
        Ok(bars)
    }
}

/// Maps a candle body into bars; `no_data` adds none.
///
/// # Errors
/// `Malformed` for an unknown status, arrays of different lengths, bad times or volumes.
#[allow(
    clippy::indexing_slicing,
    reason = "every array is checked to have length n before the loop over 0..n"
)]
pub fn candle_bars(
    symbol: &Symbol,
    interval: Interval,
    wire: &CandlesWire,
    provenance: &Provenance,
    out: &mut Vec<Bar>,
) -> Result<(), FetchError> {
    match wire.s.as_str() {
        "no_data" => return Ok(()),
        "ok" => {}
        other => {
            return Err(FetchError::malformed(format!(
                "Finnhub candles status {other:?} (expected \"ok\" or \"no_data\")"
            )));
        }
    }
    let n = wire.t.len();
    if [
        wire.o.len(),
        wire.h.len(),
        wire.l.len(),
        wire.c.len(),
        wire.v.len(),
    ]
    .iter()
    .any(|&len| len != n)
    {
        return Err(FetchError::malformed(
            "Finnhub candles: t/o/h/l/c/v arrays differ in length",
        ));
    }
    out.reserve(n);
    for i in 0..n {
        let start = Timestamp::from_second(wire.t[i]).map_err(|_| {
            FetchError::malformed(format!("Finnhub candle time {} is out of range", wire.t[i]))
        })?;
        out.push(Bar {
            symbol: symbol.clone(),
            interval,
            start,
            open: wire.o[i],
            high: wire.h[i],
            low: wire.l[i],
            close: wire.c[i],
            volume: numbers::volume_from_f64("v", wire.v[i])?,
            vwap: None,
            trades: None,
            provenance: provenance.clone(),
        });
    }
    Ok(())
}

#[async_trait]
impl NewsSource for Finnhub {
    fn provider(&self) -> ProviderId {
        ID
    }

    fn capabilities(&self) -> &Capabilities {
        &self.single
    }

    async fn news(&self, query: &NewsQuery) -> Result<Vec<NewsArticle>, FetchError> {
        let utc = jiff::tz::TimeZone::UTC;
        let from = utc.to_datetime(query.range.start()).date();
        let last = query
            .range
            .end()
            .checked_sub(jiff::SignedDuration::from_nanos(1))
            .unwrap_or(query.range.end());
        let to = utc.to_datetime(last.max(query.range.start())).date();
        let mut articles = Vec::new();
        for symbol in &query.symbols {
            let items = self.raw.company_news(symbol, from, to).await?;
            let provenance = self.provenance();
            for item in &items {
                articles.push(to_article(symbol, item, &provenance)?);
            }
        }
        articles.retain(|a| query.range.contains(a.published_at));
        Ok(finish_news(articles, query.limit))
    }
}

/// Maps a company-news item into an article with id `finnhub:<id>`.
///
/// # Errors
/// `Malformed` for an out-of-range `datetime`.
pub fn to_article(
    asked: &Symbol,
    item: &NewsItemWire,
    provenance: &Provenance,
) -> Result<NewsArticle, FetchError> {
    let published_at = Timestamp::from_second(item.datetime).map_err(|_| {
        FetchError::malformed(format!(
            "Finnhub news datetime {} is out of range",
            item.datetime
        ))
    })?;
    let mut symbols: Vec<Symbol> = item
        .related
        .as_deref()
        .unwrap_or("")
        .split(',')
        .filter_map(|s| Symbol::parse(s).ok())
        .collect();
    if !symbols.contains(asked) {
        symbols.insert(0, asked.clone());
    }
    Ok(NewsArticle {
        id: format!("finnhub:{}", item.id),
        headline: item.headline.clone(),
        summary: item.summary.clone().unwrap_or_default(),
        url: item.url.clone(),
        source: item.source.clone().unwrap_or_default(),
        published_at,
        symbols,
        author: None,
        image: item.image.clone().filter(|s| !s.trim().is_empty()),
        sentiment: None,
        provenance: provenance.clone(),
    })
}
