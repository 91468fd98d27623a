//! Alpha Vantage wire types and their parsers.
//!
//! Alpha Vantage answers HTTP 200 for every error, with a one-key body: `Error Message`, `Note`
//! or `Information`. Each parser here reads the top-level keys in one pass and returns the
//! notice, if there is one, in place of data; [`Notice::classify`] turns it into a
//! `FetchError` by key and keywords (never exact text: the wording changes).
//!
//! Numbers are strings (`"112.6300"`, `"6.3e-05"`, `"-0.5852%"`); time-series keys are
//! US/Eastern wall times; news times are UTC `YYYYMMDDTHHMMSS`.

use std::borrow::Cow;
use std::fmt;

use jiff::civil::{Date, DateTime, Time};
use rust_decimal::Decimal;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use stockdata_domain::{FetchError, Symbol, Volume};

use crate::numbers;
use crate::transport::provider_message;

/// An in-body error or throttle notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// `{"Error Message": ...}`: a rejected call (bad key, unknown symbol, bad parameter).
    ErrorMessage(String),
    /// `{"Note": ...}`: the legacy per-minute throttle.
    Note(String),
    /// `{"Information": ...}`: daily quota, burst throttle, premium endpoint, demo key.
    Information(String),
}

impl Notice {
    /// Classifies the notice by key and keywords. `symbol` is the symbol the call was about,
    /// if any; `secrets` are redacted from any text kept (the daily-limit message can echo the
    /// API key).
    #[must_use]
    pub fn classify(&self, symbol: Option<&Symbol>, secrets: &[&str]) -> FetchError {
        match self {
            Notice::ErrorMessage(msg) => {
                let lower = msg.to_ascii_lowercase();
                if lower.contains("apikey") || lower.contains("api key") {
                    FetchError::Unauthorized
                } else if let (Some(symbol), true) = (symbol, lower.contains("invalid api call")) {
                    FetchError::UnknownSymbol {
                        symbol: symbol.clone(),
                    }
                } else {
                    FetchError::InvalidRequest {
                        reason: redact(msg, secrets),
                    }
                }
            }
            // The legacy notice was a per-minute limit.
            Notice::Note(_) => FetchError::RateLimited {
                retry_after: Some(std::time::Duration::from_secs(60)),
            },
            Notice::Information(msg) => {
                let lower = msg.to_ascii_lowercase();
                // Throttle wording first: the burst message also advertises premium plans and
                // mentions the daily limit.
                if lower.contains("per second")
                    || lower.contains("burst")
                    || lower.contains("spreading out")
                    || lower.contains("per minute")
                    || lower.contains("frequency")
                {
                    let retry = if lower.contains("per minute") { 60 } else { 1 };
                    FetchError::RateLimited {
                        retry_after: Some(std::time::Duration::from_secs(retry)),
                    }
                } else if lower.contains("premium endpoint") || lower.contains("premium feature") {
                    FetchError::EntitlementDenied {
                        reason: "this Alpha Vantage endpoint needs a premium plan".to_owned(),
                    }
                } else if lower.contains("per day") || lower.contains("daily") {
                    FetchError::QuotaExhausted { resets_at: None }
                } else if lower.contains("no articles") || lower.contains("no data") {
                    FetchError::NoData
                } else if lower.contains("demo") {
                    FetchError::Unauthorized
                } else {
                    FetchError::InvalidRequest {
                        reason: redact(msg, secrets),
                    }
                }
            }
        }
    }
}

/// Alpha Vantage reports its errors in HTTP 200 bodies; any other status is unexpected and
/// means the request itself was refused: 401 `Unauthorized`, 403 `EntitlementDenied`, anything
/// else `InvalidRequest`, with the body (`secrets` redacted) kept.
#[must_use]
pub fn status_error(status: u16, body: &[u8], secrets: &[&str]) -> FetchError {
    let text = provider_message(&String::from_utf8_lossy(body), secrets);
    match status {
        401 => FetchError::Unauthorized,
        403 => FetchError::EntitlementDenied { reason: text },
        _ => FetchError::InvalidRequest {
            reason: format!("HTTP {status}: {text}"),
        },
    }
}

/// Provider text with the key redacted, including the "detected your API key as XXXX" echo.
fn redact(msg: &str, secrets: &[&str]) -> String {
    let mut text = provider_message(msg, secrets);
    const ECHO: &str = "api key as ";
    if let Some(pos) = text.to_ascii_lowercase().find(ECHO) {
        // ASCII lower-casing keeps byte offsets, so `start` is a boundary in `text` too.
        let start = pos + ECHO.len();
        if let Some(rest) = text.get(start..) {
            let end = rest
                .find(|c: char| c.is_whitespace() || c == ',' || c == ';')
                .map_or(text.len(), |i| start + i);
            text.replace_range(start..end, crate::transport::REDACTED);
        }
    }
    text
}

/// A body whose data was replaced by a notice, or the data.
#[derive(Debug)]
pub enum Body<T> {
    /// The endpoint's data.
    Data(T),
    /// An in-body error.
    Notice(Notice),
}

fn json_error(err: &serde_json::Error) -> FetchError {
    FetchError::malformed(format!("Alpha Vantage body: {err}"))
}

// ---------------------------------------------------------------------------------------------
// GLOBAL_QUOTE

/// The `"Global Quote"` object. Every field is optional: an unknown symbol answers `{}`.
#[derive(Debug, Default, Deserialize)]
pub struct GlobalQuote {
    /// `01. symbol`
    #[serde(rename = "01. symbol")]
    pub symbol: Option<String>,
    /// `02. open`
    #[serde(rename = "02. open")]
    pub open: Option<String>,
    /// `03. high`
    #[serde(rename = "03. high")]
    pub high: Option<String>,
    /// `04. low`
    #[serde(rename = "04. low")]
    pub low: Option<String>,
    /// `05. price`
    #[serde(rename = "05. price")]
    pub price: Option<String>,
    /// `06. volume`
    #[serde(rename = "06. volume")]
    pub volume: Option<String>,
    /// `07. latest trading day` (`YYYY-MM-DD`)
    #[serde(rename = "07. latest trading day")]
    pub latest_trading_day: Option<String>,
    /// `08. previous close`
    #[serde(rename = "08. previous close")]
    pub previous_close: Option<String>,
    /// `09. change`
    #[serde(rename = "09. change")]
    pub change: Option<String>,
    /// `10. change percent` (`"-0.5852%"`)
    #[serde(rename = "10. change percent")]
    pub change_percent: Option<String>,
}

impl GlobalQuote {
    /// Whether the object is the `{}` an unknown symbol gets.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.price.as_deref().is_none_or(numbers::is_absent)
    }
}

/// Parses a GLOBAL_QUOTE body.
///
/// # Errors
/// `Malformed` when the body is not JSON of the documented shape.
pub fn parse_global_quote(body: &[u8]) -> Result<Body<GlobalQuote>, FetchError> {
    #[derive(Deserialize)]
    struct Envelope {
        #[serde(rename = "Global Quote")]
        quote: Option<GlobalQuote>,
        #[serde(rename = "Error Message")]
        error_message: Option<String>,
        #[serde(rename = "Note")]
        note: Option<String>,
        #[serde(rename = "Information")]
        information: Option<String>,
    }
    let env: Envelope = serde_json::from_slice(body).map_err(|e| json_error(&e))?;
    if let Some(n) = notice(env.error_message, env.note, env.information) {
        return Ok(Body::Notice(n));
    }
    env.quote
        .map(Body::Data)
        .ok_or_else(|| FetchError::malformed("Alpha Vantage body has no \"Global Quote\""))
}

fn notice(
    error_message: Option<String>,
    note: Option<String>,
    information: Option<String>,
) -> Option<Notice> {
    error_message
        .map(Notice::ErrorMessage)
        .or_else(|| note.map(Notice::Note))
        .or_else(|| information.map(Notice::Information))
}

// ---------------------------------------------------------------------------------------------
// TIME_SERIES_DAILY / TIME_SERIES_DAILY_ADJUSTED / TIME_SERIES_INTRADAY

/// One row of a time series, numbers parsed, time still a New York wall time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesRow {
    /// The row's key: a date (daily, at midnight) or a wall time (intraday), US/Eastern.
    pub wall_time: DateTime,
    /// `1. open`
    pub open: Decimal,
    /// `2. high`
    pub high: Decimal,
    /// `3. low`
    pub low: Decimal,
    /// `4. close`
    pub close: Decimal,
    /// `5. volume` (`6. volume` in the adjusted series)
    pub volume: Volume,
    /// `5. adjusted close` (adjusted series only)
    pub adjusted_close: Option<Decimal>,
}

/// A time-series body: the `Meta Data` fields kept and the rows, in document order (newest
/// first as Alpha Vantage sends them).
#[derive(Debug, Default)]
pub struct Series {
    /// `2. Symbol`
    pub symbol: Option<String>,
    /// The `Time Zone` entry (`5.` in daily, `6.` in intraday).
    pub time_zone: Option<String>,
    /// The rows.
    pub rows: Vec<SeriesRow>,
    /// Whether a `Time Series (...)` key was present at all.
    pub has_series: bool,
}

/// Parses a TIME_SERIES_DAILY, TIME_SERIES_DAILY_ADJUSTED or TIME_SERIES_INTRADAY body in one
/// pass, without building a JSON tree.
///
/// # Errors
/// `Malformed` for invalid JSON, a bad number or time key (with the row named), or a body
/// with neither a series nor a notice.
pub fn parse_series(body: &[u8]) -> Result<Body<Series>, FetchError> {
    let top: SeriesTop = serde_json::from_slice(body).map_err(|e| json_error(&e))?;
    if let Some(n) = top.notice {
        return Ok(Body::Notice(n));
    }
    if !top.series.has_series {
        return Err(FetchError::malformed(
            "Alpha Vantage body has no \"Time Series (...)\" object",
        ));
    }
    Ok(Body::Data(top.series))
}

struct SeriesTop {
    series: Series,
    notice: Option<Notice>,
}

impl<'de> Deserialize<'de> for SeriesTop {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(SeriesTopVisitor)
    }
}

struct SeriesTopVisitor;

impl<'de> Visitor<'de> for SeriesTopVisitor {
    type Value = SeriesTop;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an Alpha Vantage time-series object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SeriesTop, A::Error> {
        let mut top = SeriesTop {
            series: Series::default(),
            notice: None,
        };
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "Error Message" => top.notice = Some(Notice::ErrorMessage(map.next_value()?)),
                "Note" => top.notice = Some(Notice::Note(map.next_value()?)),
                "Information" => top.notice = Some(Notice::Information(map.next_value()?)),
                "Meta Data" => {
                    let meta: MetaData = map.next_value()?;
                    top.series.symbol = meta.symbol;
                    top.series.time_zone = meta.time_zone_daily.or(meta.time_zone_intraday);
                }
                k if k.starts_with("Time Series") => {
                    top.series.rows = map.next_value_seed(RowsSeed)?;
                    top.series.has_series = true;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(top)
    }
}

#[derive(Deserialize)]
struct MetaData {
    #[serde(rename = "2. Symbol")]
    symbol: Option<String>,
    #[serde(rename = "5. Time Zone")]
    time_zone_daily: Option<String>,
    #[serde(rename = "6. Time Zone")]
    time_zone_intraday: Option<String>,
}

struct RowsSeed;

impl<'de> DeserializeSeed<'de> for RowsSeed {
    type Value = Vec<SeriesRow>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowsSeed {
    type Value = Vec<SeriesRow>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of time keys to OHLCV rows")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut rows = Vec::with_capacity(map.size_hint().unwrap_or(128));
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let row: RowWire<'de> = map.next_value()?;
            rows.push(row.into_row(&key).map_err(de::Error::custom)?);
        }
        Ok(rows)
    }
}

#[derive(Deserialize)]
struct RowWire<'a> {
    #[serde(rename = "1. open", borrow)]
    open: Cow<'a, str>,
    #[serde(rename = "2. high", borrow)]
    high: Cow<'a, str>,
    #[serde(rename = "3. low", borrow)]
    low: Cow<'a, str>,
    #[serde(rename = "4. close", borrow)]
    close: Cow<'a, str>,
    #[serde(rename = "5. volume", borrow, default)]
    volume: Option<Cow<'a, str>>,
    #[serde(rename = "5. adjusted close", borrow, default)]
    adjusted_close: Option<Cow<'a, str>>,
    #[serde(rename = "6. volume", borrow, default)]
    adjusted_volume: Option<Cow<'a, str>>,
}

impl RowWire<'_> {
    fn into_row(self, key: &str) -> Result<SeriesRow, String> {
        // Context is formatted only on failure: this runs once per row of 20-year series.
        let fail =
            |field: &str, value: &str| format!("row {key:?} {field}: {value:?} is not a number");
        let dec = |field: &str, v: &str| numbers::decimal("", v).map_err(|_| fail(field, v));
        let volume_text = self
            .volume
            .as_deref()
            .or(self.adjusted_volume.as_deref())
            .ok_or_else(|| format!("row {key:?} has no volume"))?;
        Ok(SeriesRow {
            wall_time: parse_wall_time(key)
                .ok_or_else(|| format!("row key {key:?} is not a date or date-time"))?,
            open: dec("open", &self.open)?,
            high: dec("high", &self.high)?,
            low: dec("low", &self.low)?,
            close: dec("close", &self.close)?,
            volume: numbers::volume("", volume_text).map_err(|_| {
                format!("row {key:?} volume: {volume_text:?} is not a non-negative count")
            })?,
            adjusted_close: match self.adjusted_close.as_deref() {
                Some(v) => Some(dec("adjusted close", v)?),
                None => None,
            },
        })
    }
}

/// `YYYY-MM-DD` (midnight) or `YYYY-MM-DD HH:MM[:SS]`.
fn parse_wall_time(key: &str) -> Option<DateTime> {
    let b = key.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i16> {
        let digits = b.get(range)?;
        let mut n: i16 = 0;
        for d in digits {
            if !d.is_ascii_digit() {
                return None;
            }
            n = n * 10 + i16::from(d - b'0');
        }
        Some(n)
    };
    if b.len() < 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let date = Date::new(
        num(0..4)?,
        i8::try_from(num(5..7)?).ok()?,
        i8::try_from(num(8..10)?).ok()?,
    )
    .ok()?;
    let time = match b.len() {
        10 => Time::midnight(),
        16 | 19 if matches!(b.get(10), Some(b' ' | b'T')) => {
            let h = i8::try_from(num(11..13)?).ok()?;
            let m = i8::try_from(num(14..16)?).ok()?;
            let s = if b.len() == 19 {
                i8::try_from(num(17..19)?).ok()?
            } else {
                0
            };
            Time::new(h, m, s, 0).ok()?
        }
        _ => return None,
    };
    Some(date.to_datetime(time))
}

// ---------------------------------------------------------------------------------------------
// NEWS_SENTIMENT

/// One `feed` item.
#[derive(Debug, Deserialize)]
pub struct FeedItem {
    /// Headline.
    pub title: String,
    /// Link.
    pub url: String,
    /// `YYYYMMDDTHHMMSS`, UTC.
    pub time_published: String,
    /// Authors.
    #[serde(default)]
    pub authors: Vec<String>,
    /// Summary.
    #[serde(default)]
    pub summary: Option<String>,
    /// Image link (nullable).
    #[serde(default)]
    pub banner_image: Option<String>,
    /// Publisher.
    #[serde(default)]
    pub source: Option<String>,
    /// A JSON number (unlike the per-ticker scores, which are strings).
    #[serde(default)]
    pub overall_sentiment_score: Option<Decimal>,
    /// `Bearish` … `Bullish`, hyphenated.
    #[serde(default)]
    pub overall_sentiment_label: Option<String>,
    /// Tickers the article is about.
    #[serde(default)]
    pub ticker_sentiment: Vec<TickerSentiment>,
}

/// One `ticker_sentiment` entry.
#[derive(Debug, Deserialize)]
pub struct TickerSentiment {
    /// The ticker (`AAPL`, `CRYPTO:BTC`, `FOREX:USD`).
    pub ticker: String,
    /// A string, possibly in scientific notation (`"6.3e-05"`).
    #[serde(default)]
    pub relevance_score: Option<String>,
}

/// Parses a NEWS_SENTIMENT body.
///
/// # Errors
/// `Malformed` when the body is not JSON of the documented shape.
pub fn parse_news(body: &[u8]) -> Result<Body<Vec<FeedItem>>, FetchError> {
    #[derive(Deserialize)]
    struct Envelope {
        feed: Option<Vec<FeedItem>>,
        #[serde(rename = "Error Message")]
        error_message: Option<String>,
        #[serde(rename = "Note")]
        note: Option<String>,
        #[serde(rename = "Information")]
        information: Option<String>,
    }
    let env: Envelope = serde_json::from_slice(body).map_err(|e| json_error(&e))?;
    if let Some(n) = notice(env.error_message, env.note, env.information) {
        return Ok(Body::Notice(n));
    }
    env.feed
        .map(Body::Data)
        .ok_or_else(|| FetchError::malformed("Alpha Vantage news body has no \"feed\""))
}

/// `YYYYMMDDTHHMM[SS]` in UTC, as NEWS_SENTIMENT writes times.
#[must_use]
pub fn parse_news_time(text: &str) -> Option<jiff::Timestamp> {
    let b = text.as_bytes();
    if !(b.len() == 13 || b.len() == 15) || b.get(8) != Some(&b'T') {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<i16> {
        std::str::from_utf8(b.get(r)?).ok()?.parse().ok()
    };
    let date = Date::new(
        digits(0..4)?,
        i8::try_from(digits(4..6)?).ok()?,
        i8::try_from(digits(6..8)?).ok()?,
    )
    .ok()?;
    let sec = if b.len() == 15 { digits(13..15)? } else { 0 };
    let time = Time::new(
        i8::try_from(digits(9..11)?).ok()?,
        i8::try_from(digits(11..13)?).ok()?,
        i8::try_from(sec).ok()?,
        0,
    )
    .ok()?;
    jiff::tz::TimeZone::UTC
        .to_ambiguous_timestamp(date.to_datetime(time))
        .compatible()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_times() {
        assert_eq!(
            parse_wall_time("2020-05-08"),
            Some("2020-05-08T00:00:00".parse().unwrap())
        );
        assert_eq!(
            parse_wall_time("2020-05-08 14:05:00"),
            Some("2020-05-08T14:05:00".parse().unwrap())
        );
        assert_eq!(
            parse_wall_time("2020-05-08 14:05"),
            Some("2020-05-08T14:05:00".parse().unwrap())
        );
        assert_eq!(parse_wall_time("2020-13-08"), None);
        assert_eq!(parse_wall_time("2020-05-08 25:00:00"), None);
        assert_eq!(parse_wall_time("nonsense"), None);
    }

    #[test]
    fn news_times_are_utc() {
        assert_eq!(
            parse_news_time("20231129T131000"),
            Some("2023-11-29T13:10:00Z".parse().unwrap())
        );
        assert_eq!(
            parse_news_time("20231129T1310"),
            Some("2023-11-29T13:10:00Z".parse().unwrap())
        );
        assert_eq!(parse_news_time("2023-11-29"), None);
    }

    #[test]
    fn key_echo_is_redacted() {
        let msg = "We have detected your API key as ABC123XYZ and our standard API rate limit \
                   is 25 requests per day.";
        let out = redact(msg, &[]);
        assert!(!out.contains("ABC123XYZ"), "{out}");
        assert!(out.contains("API key as REDACTED and"), "{out}");
    }
}
