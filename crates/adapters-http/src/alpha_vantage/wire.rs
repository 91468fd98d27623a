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
#[derive(Debug, Default, PartialEq, Eq)]
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
/// A body of the usual shape is read by [`fast::series`]; anything else (a notice, an escape,
/// an unknown key, an error) goes through serde, which gives the same data or the precise error.
///
/// # Errors
/// `Malformed` for invalid JSON, a bad number or time key (with the row named), or a body
/// with neither a series nor a notice.
pub fn parse_series(body: &[u8]) -> Result<Body<Series>, FetchError> {
    if let Some(series) = fast::series(body) {
        return Ok(Body::Data(series));
    }
    parse_series_serde(body)
}

/// [`parse_series`] through serde alone: every body, every error.
fn parse_series_serde(body: &[u8]) -> Result<Body<Series>, FetchError> {
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
    parse_wall_time_bytes(key.as_bytes())
}

fn parse_wall_time_bytes(b: &[u8]) -> Option<DateTime> {
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

/// The time-series body as Alpha Vantage sends it, read in one pass over the bytes: a top-level
/// object holding `Meta Data` and one `Time Series (...)` object whose rows hold `1. open` ...
/// `6. volume` as plain strings. Each row is read the way [`RowWire::into_row`] reads it (the
/// same number and time parsers), without serde's per-string UTF-8 check and field visitor.
///
/// It answers only where serde would answer the same. Anything outside that shape returns
/// `None` and the caller re-reads the body through serde: a notice or any other top-level key,
/// a key given twice, a `null` or a number anywhere, a string with an escape, a
/// control character or a non-ASCII byte, a row that does not parse, invalid JSON, trailing
/// bytes.
mod fast {
    use super::{Series, SeriesRow, parse_wall_time_bytes};
    use crate::numbers;

    struct Cursor<'a> {
        bytes: &'a [u8],
        pos: usize,
    }

    /// Bytes a string may hold here: printable ASCII but `"` and `\`.
    static PLAIN: [bool; 256] = plain_bytes();

    #[allow(
        clippy::indexing_slicing,
        reason = "evaluated at compile time: an index out of range fails the build"
    )]
    const fn plain_bytes() -> [bool; 256] {
        let mut table = [false; 256];
        let mut b = 0x20;
        while b < 0x7f {
            table[b] = b != b'"' as usize && b != b'\\' as usize;
            b += 1;
        }
        table
    }

    impl<'a> Cursor<'a> {
        /// The next byte after JSON whitespace, not consumed.
        fn peek(&mut self) -> Option<u8> {
            while let Some(&b) = self.bytes.get(self.pos) {
                if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                    return Some(b);
                }
                self.pos += 1;
            }
            None
        }

        fn eat(&mut self, byte: u8) -> Option<()> {
            (self.peek()? == byte).then(|| self.pos += 1)
        }

        /// A string of printable ASCII without escapes: its content.
        fn string(&mut self) -> Option<&'a [u8]> {
            self.eat(b'"')?;
            let rest = self.bytes.get(self.pos..)?;
            let len = rest
                .iter()
                .position(|&b| PLAIN.get(usize::from(b)) != Some(&true))?;
            if rest.get(len) != Some(&b'"') {
                return None;
            }
            self.pos += len + 1;
            rest.get(..len)
        }

        /// An object: `entry` reads each value after its key.
        fn object(
            &mut self,
            mut entry: impl FnMut(&mut Self, &'a [u8]) -> Option<()>,
        ) -> Option<()> {
            self.eat(b'{')?;
            if self.peek()? == b'}' {
                self.pos += 1;
                return Some(());
            }
            loop {
                let key = self.string()?;
                self.eat(b':')?;
                entry(self, key)?;
                match self.peek()? {
                    b',' => self.pos += 1,
                    b'}' => {
                        self.pos += 1;
                        return Some(());
                    }
                    _ => return None,
                }
            }
        }
    }

    /// Keeps `value` in `slot` unless the key was seen already (serde's duplicate-field error).
    fn once<'a>(slot: &mut Option<&'a [u8]>, value: &'a [u8]) -> Option<()> {
        slot.is_none().then(|| *slot = Some(value))
    }

    fn text(bytes: Option<&[u8]>) -> Option<Option<String>> {
        match bytes {
            Some(b) => Some(Some(std::str::from_utf8(b).ok()?.to_owned())),
            None => Some(None),
        }
    }

    /// What `numbers::decimal("", text)` gives, or `None` where it fails.
    fn decimal(bytes: Option<&[u8]>) -> Option<rust_decimal::Decimal> {
        let bytes = bytes?;
        numbers::plain_decimal_bytes(bytes)
            .or_else(|| numbers::decimal("", std::str::from_utf8(bytes).ok()?).ok())
    }

    /// What `numbers::volume("", text)` gives, or `None` where it fails.
    fn volume(bytes: &[u8]) -> Option<u64> {
        numbers::plain_count(bytes)
            .or_else(|| numbers::volume("", std::str::from_utf8(bytes).ok()?).ok())
    }

    pub(super) fn series(body: &[u8]) -> Option<Series> {
        let mut c = Cursor {
            bytes: body,
            pos: 0,
        };
        let mut series = Series::default();
        let mut meta_seen = false;
        c.object(|c, key| match key {
            b"Meta Data" if !meta_seen => {
                meta_seen = true;
                let (mut symbol, mut daily_tz, mut intraday_tz) = (None, None, None);
                c.object(|c, key| {
                    let value = c.string()?;
                    match key {
                        b"2. Symbol" => once(&mut symbol, value),
                        b"5. Time Zone" => once(&mut daily_tz, value),
                        b"6. Time Zone" => once(&mut intraday_tz, value),
                        _ => Some(()),
                    }
                })?;
                series.symbol = text(symbol)?;
                series.time_zone = text(daily_tz.or(intraday_tz))?;
                Some(())
            }
            k if k.starts_with(b"Time Series") && !series.has_series => {
                // Rows take 100 to 200 bytes: one allocation for the usual body.
                let mut rows = Vec::with_capacity((body.len() / 100).min(1 << 20));
                c.object(|c, key| {
                    rows.push(row(c, key)?);
                    Some(())
                })?;
                series.rows = rows;
                series.has_series = true;
                Some(())
            }
            _ => None,
        })?;
        (c.peek().is_none() && series.has_series).then_some(series)
    }

    fn row(c: &mut Cursor<'_>, key: &[u8]) -> Option<SeriesRow> {
        let wall_time = parse_wall_time_bytes(key)?;
        let mut f: [Option<&[u8]>; 7] = [None; 7];
        let [
            open,
            high,
            low,
            close,
            volume_,
            adjusted_close,
            adjusted_volume,
        ] = &mut f;
        c.object(|c, field| {
            let value = c.string()?;
            let slot = match field {
                b"1. open" => &mut *open,
                b"2. high" => &mut *high,
                b"3. low" => &mut *low,
                b"4. close" => &mut *close,
                b"5. volume" => &mut *volume_,
                b"5. adjusted close" => &mut *adjusted_close,
                b"6. volume" => &mut *adjusted_volume,
                // `7. dividend amount`, `8. split coefficient`: not kept.
                _ => return Some(()),
            };
            once(slot, value)
        })?;
        Some(SeriesRow {
            wall_time,
            open: decimal(*open)?,
            high: decimal(*high)?,
            low: decimal(*low)?,
            close: decimal(*close)?,
            volume: volume(volume_.or(*adjusted_volume)?)?,
            adjusted_close: match adjusted_close {
                Some(v) => Some(decimal(Some(v))?),
                None => None,
            },
        })
    }
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
    /// A string like `relevance_score` (`"-0.044634"`).
    #[serde(default)]
    pub ticker_sentiment_score: Option<String>,
    /// `Bearish` … `Bullish`, hyphenated.
    #[serde(default)]
    pub ticker_sentiment_label: Option<String>,
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

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/tests/fixtures/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    const SERIES_FIXTURES: [&str; 5] = [
        "alphavantage_time_series_daily.json",
        "alphavantage_time_series_daily_adjusted.json",
        "alphavantage_time_series_daily_tsco_lon_compact.json",
        "alphavantage_time_series_intraday_1min_compact.json",
        "alphavantage_time_series_intraday_5min.json",
    ];

    /// The fast path's one rule: where it answers, serde answers the same.
    #[track_caller]
    fn agrees(body: &[u8]) -> bool {
        let Some(fast) = fast::series(body) else {
            return false;
        };
        match parse_series_serde(body) {
            Ok(Body::Data(slow)) => assert_eq!(fast, slow, "{}", String::from_utf8_lossy(body)),
            other => panic!(
                "fast path answered where serde says {other:?}: {}",
                String::from_utf8_lossy(body)
            ),
        }
        true
    }

    #[test]
    fn recorded_series_take_the_fast_path_and_read_as_serde_reads_them() {
        for name in SERIES_FIXTURES {
            let body = fixture(name);
            assert!(agrees(&body), "{name} takes the fast path");
            // Compact, as the sandbox and proxies send it, too.
            let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert!(
                agrees(&serde_json::to_vec(&value).unwrap()),
                "{name} compact"
            );
        }
    }

    /// One row's fields, quoted: `open` and `volume` are given, the rest fixed.
    fn fields(open: &str, volume: &str) -> String {
        format!(r#""1. open": {open}, "2. high": "2", "3. low": "1", "4. close": "1", "#,)
            + &format!(r#""5. volume": {volume}"#)
    }

    fn one_row(fields: &str) -> String {
        format!(r#"{{"Time Series (Daily)": {{"2020-05-08": {{{fields}}}}}}}"#)
    }

    #[test]
    fn other_shapes_go_through_serde() {
        let ok = fields(r#""1.5""#, r#""10""#);
        let row = format!(r#""2020-05-08": {{{ok}}}"#);
        for body in [
            one_row(&ok),
            format!(r#"{{"Meta Data": {{"2. Symbol": "IBM"}}, "Time Series (Daily)": {{{row}}}}}"#),
            r#" {"Time Series (Daily)": {}} "#.to_owned(),
            // Skipped as serde skips them.
            one_row(&format!(r#""8. split coefficient": "1.0", {ok}"#)),
        ] {
            assert!(agrees(body.as_bytes()), "{body}");
        }
        let series = |rest: &str| format!(r#"{{{rest}"Time Series (Daily)": {{{row}}}}}"#);
        for body in [
            // Notices, other keys, repeated keys.
            r#"{"Note": "Thank you for using Alpha Vantage!"}"#.to_owned(),
            series(r#""Information": "x", "#),
            series(r#""Other": 1, "#),
            series(r#""Time Series (5min)": {}, "#),
            series(r#""Meta Data": {}, "Meta Data": {}, "#),
            series(r#""Meta Data": {"2. Symbol": "A", "2. Symbol": "B"}, "#),
            series(r#""Meta Data": {"2. Symbol": null}, "#),
            series(r#""Meta Data": {"1. Information": 5}, "#),
            // Rows: repeated, null, missing, escaped and numeric fields, bad numbers and keys.
            one_row(&format!(r#""1. open": "1", {ok}"#)),
            one_row(&format!(r#"{ok}, "7. dividend amount": 0"#)),
            one_row(&fields(r#""1""#, "null")),
            one_row(r#""1. open": "1", "2. high": "2", "3. low": "1", "4. close": "1""#),
            one_row(&fields(r#""\u0031""#, r#""1""#)),
            one_row(&fields(r#""x""#, r#""1""#)),
            one_row(&fields(r#""1""#, r#""-1""#)),
            one_row(&fields("1", r#""1""#)),
            one_row(&fields(r#""1""#, r#""1é""#)),
            one_row(&format!("{ok},")),
            r#"{"Time Series (Daily)": {"2020-13-08": {}}}"#.to_owned(),
            // Not JSON, or more than one value.
            format!("{} x", one_row(&ok)),
            format!("\u{feff}{}", one_row(&ok)),
            format!(r#"{{"Time Series (Daily)": {{{row}}}"#),
            format!(r#"{{"Time Series (Daily)": {{{row},}}}}"#),
            String::new(),
        ] {
            assert!(!agrees(body.as_bytes()), "{body}");
        }
    }

    /// Bodies broken at random: the fast path never answers where serde would not answer the
    /// same.
    #[test]
    fn mutated_series_never_disagree() {
        let mut state: u64 = 0x853c_49e6_748f_ea9b;
        let mut next = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            usize::try_from(state % u64::try_from(n).unwrap()).unwrap()
        };
        let bytes = b"\"\\{}[],: \t\n0.-e9nE%x\x00\x7f\xc3\xa9";
        let mut fast_answers = 0;
        for name in SERIES_FIXTURES {
            let original = fixture(name);
            for _ in 0..2_000 {
                let mut body = original.clone();
                for _ in 0..=next(3) {
                    let at = next(body.len());
                    match next(3) {
                        0 => body[at] = bytes[next(bytes.len())],
                        1 => {
                            body.remove(at);
                        }
                        _ => body.insert(at, bytes[next(bytes.len())]),
                    }
                }
                if agrees(&body) {
                    fast_answers += 1;
                }
            }
        }
        assert!(
            fast_answers > 0,
            "some mutations stay in the fast path's shape"
        );
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
