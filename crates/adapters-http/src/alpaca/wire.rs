//! Alpaca market data v2 wire types. Prices are JSON numbers (read from their text), times
//! RFC 3339 UTC with up to nanosecond precision; many fields and whole objects may be null or
//! absent.

use std::borrow::Cow;
use std::collections::HashMap;

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::Deserialize;
use stockdata_domain::{FetchError, Volume};

use crate::numbers::{self, json};
use crate::transport::provider_message;

/// A trade (`latestTrade`).
#[derive(Debug, Clone, Deserialize)]
pub struct TradeWire {
    /// Time.
    pub t: String,
    /// Price.
    #[serde(deserialize_with = "json::decimal")]
    pub p: Decimal,
    /// Size.
    #[serde(default)]
    pub s: Option<u64>,
}

/// A quote (`latestQuote`). A price of 0 means no bid or ask.
#[derive(Debug, Clone, Deserialize)]
pub struct QuoteWire {
    /// Time.
    pub t: String,
    /// Ask price.
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub ap: Option<Decimal>,
    /// Ask size.
    #[serde(default, rename = "as")]
    pub ask_size: Option<u64>,
    /// Bid price.
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub bp: Option<Decimal>,
    /// Bid size.
    #[serde(default)]
    pub bs: Option<u64>,
}

/// A bar inside a snapshot (`minuteBar`, `dailyBar`, `prevDailyBar`); `n`/`vw` absent in old
/// bodies.
#[derive(Debug, Clone, Deserialize)]
pub struct SnapshotBarWire {
    /// Start time.
    pub t: String,
    /// Open.
    #[serde(deserialize_with = "json::decimal")]
    pub o: Decimal,
    /// High.
    #[serde(deserialize_with = "json::decimal")]
    pub h: Decimal,
    /// Low.
    #[serde(deserialize_with = "json::decimal")]
    pub l: Decimal,
    /// Close.
    #[serde(deserialize_with = "json::decimal")]
    pub c: Decimal,
    /// Volume.
    #[serde(deserialize_with = "json::volume")]
    pub v: Volume,
}

/// One symbol's snapshot. Every part may be null.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotWire {
    /// The latest trade.
    #[serde(default)]
    pub latest_trade: Option<TradeWire>,
    /// The latest quote.
    #[serde(default)]
    pub latest_quote: Option<QuoteWire>,
    /// The latest minute bar.
    #[serde(default)]
    pub minute_bar: Option<SnapshotBarWire>,
    /// Today's bar so far.
    #[serde(default)]
    pub daily_bar: Option<SnapshotBarWire>,
    /// The previous session's bar.
    #[serde(default)]
    pub prev_daily_bar: Option<SnapshotBarWire>,
}

/// `GET /v2/stocks/snapshots`: a top-level map; `"SYM": null` for an unknown symbol.
pub type Snapshots = HashMap<String, Option<SnapshotWire>>;

/// Parses a snapshots body.
///
/// # Errors
/// `Malformed` for a body of the wrong shape.
pub fn parse_snapshots(body: &[u8]) -> Result<Snapshots, FetchError> {
    serde_json::from_slice(body)
        .map_err(|e| FetchError::malformed(format!("Alpaca snapshots: {e}")))
}

/// One bar row of `/v2/stocks/bars`, time parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BarRow {
    /// The bar's start.
    pub start: Timestamp,
    /// Open.
    pub o: Decimal,
    /// High.
    pub h: Decimal,
    /// Low.
    pub l: Decimal,
    /// Close.
    pub c: Decimal,
    /// Volume.
    pub v: Volume,
    /// Trade count (absent in old bodies).
    pub n: Option<u64>,
    /// VWAP (absent in old bodies).
    pub vw: Option<Decimal>,
}

#[derive(Deserialize)]
struct BarWire<'a> {
    #[serde(borrow)]
    t: Cow<'a, str>,
    #[serde(deserialize_with = "json::decimal")]
    o: Decimal,
    #[serde(deserialize_with = "json::decimal")]
    h: Decimal,
    #[serde(deserialize_with = "json::decimal")]
    l: Decimal,
    #[serde(deserialize_with = "json::decimal")]
    c: Decimal,
    #[serde(deserialize_with = "json::volume")]
    v: Volume,
    #[serde(default)]
    n: Option<u64>,
    #[serde(default, deserialize_with = "json::opt_decimal")]
    vw: Option<Decimal>,
}

/// One page of `/v2/stocks/bars`: rows per symbol, in the order the page lists them.
#[derive(Debug, Clone, Default)]
pub struct BarsPage {
    /// Rows per symbol (a `null` or empty `bars` map gives none).
    pub bars: Vec<(String, Vec<BarRow>)>,
    /// The token for the next page; `None` ends the loop.
    pub next_page_token: Option<String>,
}

/// Parses a multi-symbol bars page.
///
/// # Errors
/// `Malformed` for a body of the wrong shape or a bad bar time.
pub fn parse_bars_page(body: &[u8]) -> Result<BarsPage, FetchError> {
    #[derive(Deserialize)]
    struct Page<'a> {
        #[serde(borrow, default)]
        bars: Option<HashMap<String, Option<Vec<BarWire<'a>>>>>,
        #[serde(default)]
        next_page_token: Option<String>,
    }
    let page: Page<'_> = serde_json::from_slice(body)
        .map_err(|e| FetchError::malformed(format!("Alpaca bars: {e}")))?;
    let mut bars = Vec::new();
    for (symbol, rows) in page.bars.unwrap_or_default() {
        let rows = rows.unwrap_or_default();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(BarRow {
                start: numbers::instant("bar t", &row.t)?,
                o: row.o,
                h: row.h,
                l: row.l,
                c: row.c,
                v: row.v,
                n: row.n,
                vw: row.vw,
            });
        }
        bars.push((symbol, out));
    }
    Ok(BarsPage {
        bars,
        next_page_token: page.next_page_token.filter(|t| !t.is_empty()),
    })
}

/// An image of a news item.
#[derive(Debug, Clone, Deserialize)]
pub struct ImageWire {
    /// `large`, `small` or `thumb`.
    #[serde(default)]
    pub size: Option<String>,
    /// Link.
    pub url: String,
}

/// One `/v1beta1/news` item. `source` and `content` are absent in older bodies.
#[derive(Debug, Clone, Deserialize)]
pub struct NewsItemWire {
    /// Alpaca's id.
    pub id: i64,
    /// Headline.
    pub headline: String,
    /// Author.
    #[serde(default)]
    pub author: Option<String>,
    /// Creation time (publication).
    pub created_at: String,
    /// Summary (may hold HTML entities).
    #[serde(default)]
    pub summary: Option<String>,
    /// Link.
    #[serde(default)]
    pub url: Option<String>,
    /// Images.
    #[serde(default)]
    pub images: Vec<ImageWire>,
    /// Symbols (may include crypto pairs).
    #[serde(default)]
    pub symbols: Vec<String>,
    /// Publisher.
    #[serde(default)]
    pub source: Option<String>,
}

/// One page of `/v1beta1/news`.
#[derive(Debug, Clone, Deserialize)]
pub struct NewsPage {
    /// Articles.
    #[serde(default)]
    pub news: Vec<NewsItemWire>,
    /// The token for the next page.
    #[serde(default)]
    pub next_page_token: Option<String>,
}

/// Parses a news page.
///
/// # Errors
/// `Malformed` for a body of the wrong shape.
pub fn parse_news_page(body: &[u8]) -> Result<NewsPage, FetchError> {
    let mut page: NewsPage = serde_json::from_slice(body)
        .map_err(|e| FetchError::malformed(format!("Alpaca news: {e}")))?;
    page.next_page_token = page.next_page_token.filter(|t| !t.is_empty());
    Ok(page)
}

/// Alpaca's error body: `{"code": 42210000, "message": "..."}`, `code` optional; sometimes plain
/// text (`too many requests`).
#[must_use]
pub fn error_message(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct ErrorWire {
        message: String,
    }
    serde_json::from_slice::<ErrorWire>(body)
        .map(|e| e.message)
        .unwrap_or_else(|_| String::from_utf8_lossy(body).into_owned())
}

/// Classifies a non-2xx answer the way the adapter does: a 403 about the subscription or feed
/// is `EntitlementDenied`, other 401/403 `Unauthorized`, anything else `InvalidRequest`, with
/// the provider's message (`secrets` redacted) kept.
#[must_use]
pub fn status_error(status: u16, body: &[u8], secrets: &[&str]) -> FetchError {
    let message = provider_message(&error_message(body), secrets);
    let lower = message.to_ascii_lowercase();
    match status {
        403 if lower.contains("subscription")
            || lower.contains("sip")
            || lower.contains("permit") =>
        {
            FetchError::EntitlementDenied {
                reason: format!("Alpaca: {message}"),
            }
        }
        401 | 403 => FetchError::Unauthorized,
        status => FetchError::InvalidRequest {
            reason: format!("Alpaca HTTP {status}: {message}"),
        },
    }
}
