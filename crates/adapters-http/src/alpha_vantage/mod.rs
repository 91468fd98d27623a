//! Alpha Vantage: quotes (GLOBAL_QUOTE), daily and intraday bars (TIME_SERIES_*), news
//! (NEWS_SENTIMENT).
//!
//! Free tier: 25 requests a day and 1 a second, paced client-side because Alpha Vantage sends
//! no rate-limit headers and answers throttles with HTTP 200 bodies.

pub mod raw;
mod settings;
pub mod wire;

pub use self::settings::{AlphaVantageSettings, DESCRIPTOR, ID};

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::civil::{Date, Time};
use jiff::{Timestamp, ToSpan as _};
use secrecy::SecretString;
use stockdata_domain::time::{new_york, new_york_date, new_york_to_utc};
use stockdata_domain::{
    Adjustment, Bar, BarQuery, FetchError, Interval, NewsArticle, NewsQuery, Provenance,
    ProviderId, Quote, Sentiment, SentimentLabel, Symbol, TickerSentiment, stable_hash_hex,
};
use stockdata_ports::{BarSource, Capabilities, Clock, NewsSource, QuoteSource};
use url::Url;

use self::raw::{NewsParams, OutputSize, RawClient};
use self::wire::{FeedItem, GlobalQuote, Series};
use crate::numbers;
use crate::provider::ProviderCapabilities;
use crate::series::{default_base_url, finish_news};
use crate::transport::{LogSafeUrl, PacerRegistry, RateWindow, Transport, TransportConfig};

/// `https://www.alphavantage.co`; `/query` is appended.
pub const DEFAULT_BASE_URL: &str = "https://www.alphavantage.co";

/// Free tier: 25 requests per day.
pub const FREE_REQUESTS_PER_DAY: NonZeroU32 = NonZeroU32::new(25).unwrap();
/// Free tier: 1 request per second (burst limit).
pub const FREE_REQUESTS_PER_SECOND: NonZeroU32 = NonZeroU32::new(1).unwrap();

/// `outputsize=compact` holds the latest 100 trading days; ranges starting within this many
/// calendar days of today fit in it (100 trading days ≈ 145 calendar days, less holidays).
const COMPACT_CALENDAR_DAYS: i64 = 130;
/// Intraday `outputsize=full` without `month` covers the trailing 30 days.
const TRAILING_INTRADAY_DAYS: i64 = 28;
/// The most articles one NEWS_SENTIMENT call returns.
pub const MAX_NEWS_LIMIT: usize = 1000;

/// What the Alpha Vantage ports can do.
#[must_use]
pub fn capabilities() -> ProviderCapabilities {
    ProviderCapabilities {
        quotes: Capabilities::single_symbol(),
        bars: Capabilities {
            intervals: vec![
                Interval::Minute1,
                Interval::Minute5,
                Interval::Minute15,
                Interval::Minute30,
                Interval::Hour1,
                Interval::Day1,
            ],
            // Raw or fully adjusted series only (split or dividend alone are served as all).
            adjustments: vec![Adjustment::Raw, Adjustment::All],
            intraday_adjustments: vec![Adjustment::Raw, Adjustment::All],
            ..Capabilities::single_symbol()
        },
        news: Capabilities {
            page_size: Some(MAX_NEWS_LIMIT),
            // `tickers` are ANDed: one symbol per request gives "any of" semantics.
            ..Capabilities::single_symbol()
        },
    }
}

/// Everything the Alpha Vantage adapter needs.
#[derive(Clone)]
pub struct AlphaVantageConfig {
    /// The API key.
    pub api_key: SecretString,
    /// `scheme://host[:port][/prefix]`.
    pub base_url: Url,
    /// Timeouts and retries.
    pub transport: TransportConfig,
    /// Quota windows (defaults: 25/day and 1/s).
    pub windows: Vec<RateWindow>,
    /// The longest wait for the daily quota before answering `QuotaExhausted`.
    pub max_quota_wait: Duration,
}

impl AlphaVantageConfig {
    /// The free-tier defaults for `api_key`.
    #[must_use]
    pub fn new(api_key: SecretString) -> Self {
        Self {
            api_key,
            base_url: default_base_url(DEFAULT_BASE_URL),
            transport: TransportConfig::default(),
            windows: vec![
                RateWindow::per_day(FREE_REQUESTS_PER_DAY),
                RateWindow::per_second(FREE_REQUESTS_PER_SECOND),
            ],
            max_quota_wait: Duration::ZERO,
        }
    }
}

/// Debug without credentials: keys are `SecretString`s, and the base URL's userinfo is
/// redacted.
impl std::fmt::Debug for AlphaVantageConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlphaVantageConfig")
            .field("api_key", &self.api_key)
            .field("base_url", &LogSafeUrl::new(self.base_url.clone()))
            .field("transport", &self.transport)
            .field("windows", &self.windows)
            .field("max_quota_wait", &self.max_quota_wait)
            .finish()
    }
}

/// The Alpha Vantage adapter: implements [`QuoteSource`], [`BarSource`] and [`NewsSource`].
#[derive(Debug)]
pub struct AlphaVantage {
    raw: RawClient,
    clock: Arc<dyn Clock>,
    quote_caps: Capabilities,
    bar_caps: Capabilities,
    news_caps: Capabilities,
}

impl AlphaVantage {
    /// Builds the adapter, drawing its pacer from `pacers` (one per key, shared).
    ///
    /// # Errors
    /// `Transport` when the HTTP client cannot be built.
    pub fn new(
        config: AlphaVantageConfig,
        pacers: &PacerRegistry,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, FetchError> {
        let pacer = pacers.pacer(&ID, &config.api_key, &config.windows, config.max_quota_wait);
        let transport = Transport::new(config.transport, pacer)?;
        Ok(Self::from_raw(
            RawClient::new(transport, &config.base_url, config.api_key),
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
            quote_caps: caps.quotes,
            bar_caps: caps.bars,
            news_caps: caps.news,
        }
    }

    fn provenance(&self) -> Provenance {
        Provenance::new(ID, self.clock.now())
    }
}

#[async_trait]
impl QuoteSource for AlphaVantage {
    fn provider(&self) -> ProviderId {
        ID
    }

    fn capabilities(&self) -> &Capabilities {
        &self.quote_caps
    }

    async fn quote(&self, symbol: &Symbol) -> Result<Quote, FetchError> {
        let wire = self.raw.global_quote(symbol).await?;
        to_quote(symbol, &wire, self.provenance())
    }
}

/// Maps a GLOBAL_QUOTE object into a [`Quote`]. `as_of` is the close (16:00 New York) of the
/// latest trading day, or the fetch time while that session is still open.
///
/// # Errors
/// `UnknownSymbol` for the `{}` object; `Malformed` for unparsable fields.
pub fn to_quote(
    symbol: &Symbol,
    wire: &GlobalQuote,
    provenance: Provenance,
) -> Result<Quote, FetchError> {
    if wire.is_empty() {
        return Err(FetchError::UnknownSymbol {
            symbol: symbol.clone(),
        });
    }
    let field = |name: &str, v: &Option<String>| numbers::opt_decimal(name, v.as_deref());
    let price = field("05. price", &wire.price)?
        .ok_or_else(|| FetchError::malformed("GLOBAL_QUOTE has no price"))?;
    let as_of = match wire.latest_trading_day.as_deref() {
        Some(day) if !numbers::is_absent(day) => {
            let date: Date = day.parse().map_err(|_| {
                FetchError::malformed(format!("07. latest trading day: {day:?} is not a date"))
            })?;
            let close = new_york_to_utc(date.to_datetime(Time::constant(16, 0, 0, 0)));
            close.min(provenance.fetched_at)
        }
        _ => provenance.fetched_at,
    };
    let volume = match wire.volume.as_deref() {
        Some(v) if !numbers::is_absent(v) => Some(numbers::volume("06. volume", v)?),
        _ => None,
    };
    let mut quote = Quote {
        symbol: symbol.clone(),
        price,
        bid: None,
        bid_size: None,
        ask: None,
        ask_size: None,
        open: field("02. open", &wire.open)?,
        high: field("03. high", &wire.high)?,
        low: field("04. low", &wire.low)?,
        previous_close: field("08. previous close", &wire.previous_close)?,
        change: field("09. change", &wire.change)?,
        change_percent: field("10. change percent", &wire.change_percent)?,
        volume,
        as_of,
        provenance,
    };
    quote.derive_change();
    Ok(quote)
}

#[async_trait]
impl BarSource for AlphaVantage {
    fn provider(&self) -> ProviderId {
        ID
    }

    fn capabilities(&self) -> &Capabilities {
        &self.bar_caps
    }

    async fn bars(&self, query: &BarQuery) -> Result<Vec<Bar>, FetchError> {
        if !self.bar_caps.supports(query.interval) {
            return Err(FetchError::InvalidRequest {
                reason: format!(
                    "Alpha Vantage does not serve {} bars: use 1m, 5m, 15m, 30m, 1h or 1d",
                    query.interval
                ),
            });
        }
        // Alpha Vantage has raw and fully adjusted series only: any adjustment is served fully
        // adjusted, and provenance says so.
        let adjusted = query.adjustment != Adjustment::Raw;
        let served = if adjusted {
            Adjustment::All
        } else {
            Adjustment::Raw
        };
        let today = new_york_date(self.clock.now());
        let start_date = new_york_date(query.range.start());
        let mut bars = Vec::new();
        if query.interval == Interval::Day1 {
            let size = if days_between(start_date, today) <= COMPACT_CALENDAR_DAYS {
                OutputSize::Compact
            } else {
                OutputSize::Full
            };
            let series = self
                .raw
                .time_series_daily(&query.symbol, size, adjusted)
                .await?;
            let provenance = self.provenance().with_adjustment(served);
            daily_bars(&query.symbol, &series, adjusted, &provenance, &mut bars)?;
        } else {
            let interval = intraday_param(query.interval);
            let provenance = self.provenance().with_adjustment(served);
            if days_between(start_date, today) <= TRAILING_INTRADAY_DAYS {
                let series = self
                    .raw
                    .time_series_intraday(&query.symbol, interval, None, OutputSize::Full, adjusted)
                    .await?;
                intraday_bars(
                    &query.symbol,
                    query.interval,
                    &series,
                    &provenance,
                    &mut bars,
                )?;
            } else {
                let end_date = new_york_date(query.range.end());
                for month in months(start_date, end_date) {
                    let series = self
                        .raw
                        .time_series_intraday(
                            &query.symbol,
                            interval,
                            Some(&month),
                            OutputSize::Full,
                            adjusted,
                        )
                        .await?;
                    intraday_bars(
                        &query.symbol,
                        query.interval,
                        &series,
                        &provenance,
                        &mut bars,
                    )?;
                }
            }
        }
        crate::series::tidy(&mut bars, query.range);
        if bars.is_empty() {
            return Err(FetchError::NoData);
        }
        Ok(bars)
    }
}

fn days_between(from: Date, to: Date) -> i64 {
    from.until(to)
        .map_or(i64::MAX, |span| i64::from(span.get_days()))
}

fn intraday_param(interval: Interval) -> &'static str {
    match interval {
        Interval::Minute1 => "1min",
        Interval::Minute5 => "5min",
        Interval::Minute15 => "15min",
        Interval::Minute30 => "30min",
        _ => "60min",
    }
}

/// `YYYY-MM` for every month from `start`'s to `end`'s, inclusive.
fn months(start: Date, end: Date) -> Vec<String> {
    let mut out = Vec::new();
    let mut month = start.first_of_month();
    while month <= end {
        out.push(format!("{:04}-{:02}", month.year(), month.month()));
        match month.checked_add(1.month()) {
            Ok(next) => month = next,
            Err(_) => break,
        }
    }
    out
}

/// New York wall times to UTC instants ([`new_york_to_utc`]) for a run of nearby rows, without
/// a tz database lookup per row: the offset in force only changes at a transition (twice a
/// year), so while no transition lies within three days of the instant (more than any two
/// offsets differ), the wall time has exactly one instant, at that offset. Near a transition
/// the database is asked, and the window around the answer kept.
#[derive(Debug, Default)]
struct NewYorkWall {
    /// The offset in force from the first second (a transition) to before the second.
    window: Option<(jiff::tz::Offset, i64, i64)>,
}

impl NewYorkWall {
    const MARGIN_SECONDS: i64 = 72 * 3600;

    fn instant(&mut self, wall: jiff::civil::DateTime) -> Timestamp {
        if let Some((offset, from, until)) = self.window
            && let Ok(at) = offset.to_timestamp(wall)
            && from <= at.as_second() - Self::MARGIN_SECONDS
            && at.as_second() + Self::MARGIN_SECONDS < until
        {
            return at;
        }
        let at = new_york_to_utc(wall);
        let tz = new_york();
        let after = at
            .checked_add(jiff::SignedDuration::from_nanos(1))
            .unwrap_or(at);
        let from = tz
            .preceding(after)
            .next()
            .map_or(i64::MIN, |t| t.timestamp().as_second());
        let until = tz
            .following(at)
            .next()
            .map_or(i64::MAX, |t| t.timestamp().as_second());
        self.window = Some((tz.to_offset(at), from, until));
        at
    }
}

/// Maps daily rows into bars opening at 00:00 New York. With `adjusted`, open/high/low/close
/// are scaled by `adjusted close / close` (split and dividend adjusted), to 4 decimal places.
///
/// # Errors
/// `Malformed` when an adjusted row lacks its adjusted close.
pub fn daily_bars(
    symbol: &Symbol,
    series: &Series,
    adjusted: bool,
    provenance: &Provenance,
    out: &mut Vec<Bar>,
) -> Result<(), FetchError> {
    out.reserve(series.rows.len());
    let mut wall = NewYorkWall::default();
    for row in &series.rows {
        let (open, high, low, close) = if adjusted {
            let adj = row.adjusted_close.ok_or_else(|| {
                FetchError::malformed(format!(
                    "row {} has no adjusted close",
                    row.wall_time.date()
                ))
            })?;
            if row.close.is_zero() {
                (row.open, row.high, row.low, adj)
            } else {
                let scale = |p: rust_decimal::Decimal| {
                    let scaled = adj.checked_div(row.close).and_then(|f| p.checked_mul(f));
                    scaled.map(|v| v.round_dp(4)).ok_or_else(|| {
                        FetchError::malformed(format!(
                            "row {}: adjusting {p} by {adj}/{} is out of range",
                            row.wall_time.date(),
                            row.close
                        ))
                    })
                };
                (scale(row.open)?, scale(row.high)?, scale(row.low)?, adj)
            }
        } else {
            (row.open, row.high, row.low, row.close)
        };
        out.push(Bar {
            symbol: symbol.clone(),
            interval: Interval::Day1,
            // `daily_bar_start`: 00:00 New York of the row's date.
            start: wall.instant(row.wall_time.date().to_datetime(Time::midnight())),
            open,
            high,
            low,
            close,
            volume: row.volume,
            vwap: None,
            trades: None,
            provenance: provenance.clone(),
        });
    }
    Ok(())
}

/// Maps intraday rows (US/Eastern wall times labelling each bar's start) into bars.
///
/// # Errors
/// Never at present; the signature leaves room for row-level checks.
pub fn intraday_bars(
    symbol: &Symbol,
    interval: Interval,
    series: &Series,
    provenance: &Provenance,
    out: &mut Vec<Bar>,
) -> Result<(), FetchError> {
    out.reserve(series.rows.len());
    let mut wall = NewYorkWall::default();
    for row in &series.rows {
        out.push(Bar {
            symbol: symbol.clone(),
            interval,
            start: wall.instant(row.wall_time),
            open: row.open,
            high: row.high,
            low: row.low,
            close: row.close,
            volume: row.volume,
            vwap: None,
            trades: None,
            provenance: provenance.clone(),
        });
    }
    Ok(())
}

#[async_trait]
impl NewsSource for AlphaVantage {
    fn provider(&self) -> ProviderId {
        ID
    }

    fn capabilities(&self) -> &Capabilities {
        &self.news_caps
    }

    async fn news(&self, query: &NewsQuery) -> Result<Vec<NewsArticle>, FetchError> {
        let mut articles = Vec::new();
        for symbol in &query.symbols {
            let params = NewsParams {
                tickers: symbol.as_str(),
                time_from: news_time(query.range.start()),
                time_to: news_time(query.range.end()),
                limit: query.limit.clamp(1, MAX_NEWS_LIMIT),
            };
            let items = match self.raw.news_sentiment(&params).await {
                Ok(items) => items,
                Err(FetchError::NoData) => Vec::new(),
                Err(err) => return Err(err),
            };
            let provenance = self.provenance();
            for item in &items {
                articles.push(to_article(item, &provenance)?);
            }
        }
        articles.retain(|a| query.range.contains(a.published_at));
        Ok(finish_news(articles, query.limit))
    }
}

/// `YYYYMMDDTHHMM` in UTC.
fn news_time(t: Timestamp) -> String {
    t.strftime("%Y%m%dT%H%M").to_string()
}

/// Maps one NEWS_SENTIMENT feed item into an article. Its id is `alpha_vantage:` plus a stable
/// hash of its URL (Alpha Vantage gives articles no id).
///
/// # Errors
/// `Malformed` for an unreadable `time_published`.
pub fn to_article(item: &FeedItem, provenance: &Provenance) -> Result<NewsArticle, FetchError> {
    let published_at = wire::parse_news_time(&item.time_published).ok_or_else(|| {
        FetchError::malformed(format!(
            "time_published {:?} is not YYYYMMDDTHHMMSS",
            item.time_published
        ))
    })?;
    let sentiment = match (item.overall_sentiment_score, &item.overall_sentiment_label) {
        (Some(score), Some(label)) if !numbers::is_absent(label) => Some(Sentiment {
            score,
            label: SentimentLabel::parse(label),
            tickers: ticker_sentiments(&item.ticker_sentiment)?,
        }),
        _ => None,
    };
    Ok(NewsArticle {
        id: format!("alpha_vantage:{}", stable_hash_hex(&item.url)),
        headline: item.title.clone(),
        summary: item.summary.clone().unwrap_or_default(),
        url: item.url.clone(),
        source: item.source.clone().unwrap_or_default(),
        published_at,
        // Crypto and forex tickers (`CRYPTO:BTC`) are not equity symbols: left out.
        symbols: item
            .ticker_sentiment
            .iter()
            .filter_map(|t| Symbol::parse(&t.ticker).ok())
            .collect(),
        author: (!item.authors.is_empty()).then(|| item.authors.join(", ")),
        image: item.banner_image.clone().filter(|s| !s.trim().is_empty()),
        sentiment,
        provenance: provenance.clone(),
    })
}

/// The per-ticker scores of one feed item, every digit as sent. Crypto and forex tickers
/// (`CRYPTO:BTC`) are left out as they are from `symbols`, and so is an entry that lacks its
/// relevance, score or label ("", "None").
///
/// # Errors
/// `Malformed` for a relevance or score that is present but not a decimal number.
fn ticker_sentiments(
    entries: &[wire::TickerSentiment],
) -> Result<Vec<TickerSentiment>, FetchError> {
    let mut out = Vec::with_capacity(entries.len());
    for t in entries {
        let Ok(symbol) = Symbol::parse(&t.ticker) else {
            continue;
        };
        let relevance = numbers::opt_decimal("relevance_score", t.relevance_score.as_deref())?;
        let score = numbers::opt_decimal(
            "ticker_sentiment_score",
            t.ticker_sentiment_score.as_deref(),
        )?;
        let label = t
            .ticker_sentiment_label
            .as_deref()
            .filter(|l| !numbers::is_absent(l));
        if let (Some(relevance), Some(score), Some(label)) = (relevance, score, label) {
            out.push(TickerSentiment {
                symbol,
                relevance,
                score,
                label: SentimentLabel::parse(label),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use jiff::civil::{DateTime, date};
    use stockdata_domain::time::daily_bar_start;

    use super::*;

    /// Every wall time answers as `new_york_to_utc` answers, in any order: midnights of every
    /// day from 1880 to 2150, and every 10 minutes of the days around each transition of the
    /// 20th and 21st centuries (the spring-forward gap and the fall-back fold included).
    #[test]
    fn cached_offsets_give_the_tz_database_answer() {
        let mut walls: Vec<DateTime> = Vec::new();
        let mut day = date(1880, 1, 1);
        while day < date(2150, 1, 1) {
            walls.push(day.to_datetime(Time::midnight()));
            day = day.tomorrow().unwrap();
        }
        let tz = new_york();
        let end = daily_bar_start(date(2100, 1, 1));
        for transition in tz
            .following(daily_bar_start(date(1900, 1, 1)))
            .take_while(|t| t.timestamp() < end)
        {
            let local = new_york_date(transition.timestamp());
            let mut at = local.yesterday().unwrap().to_datetime(Time::midnight());
            let last = local.tomorrow().unwrap().to_datetime(Time::midnight());
            while at <= last {
                walls.push(at);
                at = at.checked_add(10.minutes()).unwrap();
            }
        }
        let check = |walls: &[DateTime]| {
            let mut cached = NewYorkWall::default();
            for &wall in walls {
                assert_eq!(cached.instant(wall), new_york_to_utc(wall), "{wall}");
            }
        };
        walls.sort();
        check(&walls);
        walls.reverse();
        check(&walls);
        let mut state: u64 = 0x1234_5678_9abc_def1;
        for i in (1..walls.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            walls.swap(i, usize::try_from(state % (i as u64 + 1)).unwrap());
        }
        check(&walls);
    }
}
