//! The output records both front ends write (`docs/output.md`): the CLI's formats and
//! `serve`'s JSON. Stable field names, decimals as JSON numbers with their exact digits,
//! instants in RFC 3339 UTC, every record naming its provider.
//!
//! Each record is written two ways from one field list. The serde types ([`BarRecord`] ...)
//! are what `serve` and the agent report embed in larger documents. [`bar_fields`],
//! [`quote_fields`] and [`news_fields`] list a domain value's fields in output order as
//! borrowed [`FieldValue`]s, which the CLI writes straight into its buffer (no `String` per
//! cell, no record built first): a 20-year series is 5,000 rows. Tests hold both ways to the
//! same bytes.

use std::collections::BTreeMap;

use serde::Serialize;
use serde::ser::Serializer;
use serde_json::value::RawValue;
use stockdata_domain::stream::{Channel, StreamEvent, StreamState, StreamStatus, TradeTerms};
use stockdata_domain::{
    Bar, Decimal, FetchError, NewsArticle, Quote, Sentiment, Symbol, TickerSentiment, Timestamp,
};

use crate::agent::{RunStats, SymbolReport};
use crate::fetch::Attempt;

/// A decimal written as a JSON number with exactly its digits (`189.98`, never
/// `189.97999999`).
#[derive(Debug, Clone, Copy)]
pub struct Num(pub Decimal);

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let raw = RawValue::from_string(decimal_text(self.0)).map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}

fn num(d: Option<Decimal>) -> Option<Num> {
    d.map(Num)
}

/// A decimal's text, or "" for none.
pub fn text(d: Option<Decimal>) -> String {
    d.map(decimal_text).unwrap_or_default()
}

fn decimal_text(d: Decimal) -> String {
    let mut out = Vec::with_capacity(24);
    write_decimal(&mut out, d);
    // Digits, a sign and a point: ASCII.
    String::from_utf8(out).unwrap_or_default()
}

/// Appends `d` with exactly its digits and no trailing fractional zeros (`112.6300` →
/// `112.63`, `-0.000063`, `0` for every zero): the text of `d.normalize().to_string()`,
/// without its per-digit 96-bit division or a `String`.
pub fn write_decimal(out: &mut Vec<u8>, d: Decimal) {
    let mut scale = d.scale();
    let mut buf = itoa::Buffer::new();
    let digits = match u64::try_from(d.mantissa().unsigned_abs()) {
        Ok(0) => {
            out.push(b'0');
            return;
        }
        Ok(mut m) => {
            while scale > 0 && m.is_multiple_of(10) {
                m /= 10;
                scale -= 1;
            }
            buf.format(m)
        }
        Err(_) => {
            let mut m = d.mantissa().unsigned_abs();
            while scale > 0 && m.is_multiple_of(10) {
                m /= 10;
                scale -= 1;
            }
            buf.format(m)
        }
    };
    if d.is_sign_negative() {
        out.push(b'-');
    }
    let digits = digits.as_bytes();
    let scale = usize::try_from(scale).unwrap_or(usize::MAX);
    match digits.len().checked_sub(scale) {
        Some(0) | None => {
            out.extend_from_slice(b"0.");
            out.resize(out.len() + (scale - digits.len()), b'0');
            out.extend_from_slice(digits);
        }
        Some(whole) => {
            let (int, frac) = digits.split_at(whole);
            out.extend_from_slice(int);
            if !frac.is_empty() {
                out.push(b'.');
                out.extend_from_slice(frac);
            }
        }
    }
}

/// One field of a record as the machine formats write it, borrowed from the domain value.
#[derive(Debug, Clone, Copy)]
pub enum FieldValue<'a> {
    /// Text, written exactly (JSON-escaped, CSV-quoted where needed).
    Text(&'a str),
    /// Text or `null` (empty in CSV).
    OptText(Option<&'a str>),
    /// A JSON number with exactly its digits ([`write_decimal`]).
    Decimal(Decimal),
    /// A decimal or `null`.
    OptDecimal(Option<Decimal>),
    /// A whole count.
    Count(u64),
    /// A count or `null`.
    OptCount(Option<u64>),
    /// An RFC 3339 instant in UTC.
    Instant(Timestamp),
    /// `true` or `false`.
    Bool(bool),
    /// A JSON array of symbols; space-separated in CSV.
    Symbols(&'a [Symbol]),
    /// An article's sentiment: a JSON object ([`SentimentRecord`]) or `null`; JSON only.
    Sentiment(Option<&'a Sentiment>),
    /// Per-ticker scores as one cell, `AAPL=0.193592 MSFT=-0.044634`; CSV only.
    TickerScores(&'a [TickerSentiment]),
    /// Left out: the key is not written at all (`adjustment` where none was noted).
    Omitted,
}

/// A named field in output order.
#[derive(Debug, Clone, Copy)]
pub struct Field<'a> {
    /// The stable field name.
    pub name: &'static str,
    /// Its value.
    pub value: FieldValue<'a>,
    /// Whether CSV and the table have the column.
    pub csv: bool,
    /// Whether JSON and NDJSON have the field.
    pub json: bool,
}

const fn both<'a>(name: &'static str, value: FieldValue<'a>) -> Field<'a> {
    Field {
        name,
        value,
        csv: true,
        json: true,
    }
}

const fn json_only<'a>(name: &'static str, value: FieldValue<'a>) -> Field<'a> {
    Field {
        name,
        value,
        csv: false,
        json: true,
    }
}

/// A CSV column whose JSON field sits elsewhere in the record (CSV columns are only ever
/// appended; JSON keeps its field order).
const fn csv_only<'a>(name: &'static str, value: FieldValue<'a>) -> Field<'a> {
    Field {
        name,
        value,
        csv: true,
        json: false,
    }
}

impl Field<'_> {
    /// The value as a CSV or table cell, before any quoting: the table's text.
    #[must_use]
    pub fn text(&self) -> String {
        match self.value {
            FieldValue::Text(t) | FieldValue::OptText(Some(t)) => t.to_owned(),
            FieldValue::Decimal(d) | FieldValue::OptDecimal(Some(d)) => decimal_text(d),
            FieldValue::Count(n) | FieldValue::OptCount(Some(n)) => n.to_string(),
            FieldValue::Instant(t) => t.to_string(),
            FieldValue::Bool(b) => b.to_string(),
            FieldValue::Symbols(list) => list
                .iter()
                .map(Symbol::as_str)
                .collect::<Vec<_>>()
                .join(" "),
            FieldValue::TickerScores(list) => {
                let mut out = Vec::new();
                write_ticker_scores(&mut out, list);
                String::from_utf8_lossy(&out).into_owned()
            }
            FieldValue::Sentiment(Some(s)) => {
                serde_json::to_string(&SentimentRecord::from(s)).unwrap_or_default()
            }
            FieldValue::OptText(None)
            | FieldValue::OptDecimal(None)
            | FieldValue::OptCount(None)
            | FieldValue::Sentiment(None)
            | FieldValue::Omitted => String::new(),
        }
    }
}

/// Appends per-ticker scores as `SYMBOL=score`, space-separated (`AAPL=0.193592 MSFT=-0.04`):
/// a symbol holds neither `=` nor a space.
pub fn write_ticker_scores(out: &mut Vec<u8>, tickers: &[TickerSentiment]) {
    for (i, t) in tickers.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(t.symbol.as_str().as_bytes());
        out.push(b'=');
        write_decimal(out, t.score);
    }
}

/// The CSV and table cells of `fields`, in order.
#[must_use]
pub fn csv_cells(fields: &[Field<'_>]) -> Vec<String> {
    fields.iter().filter(|f| f.csv).map(Field::text).collect()
}

/// A quote as output.
#[derive(Debug, Serialize)]
pub struct QuoteRecord {
    symbol: String,
    price: Num,
    bid: Option<Num>,
    ask: Option<Num>,
    bid_size: Option<u64>,
    ask_size: Option<u64>,
    open: Option<Num>,
    high: Option<Num>,
    low: Option<Num>,
    previous_close: Option<Num>,
    change: Option<Num>,
    change_percent: Option<Num>,
    volume: Option<u64>,
    as_of: String,
    provider: String,
    synthetic: bool,
}

impl From<&Quote> for QuoteRecord {
    fn from(q: &Quote) -> Self {
        Self {
            symbol: q.symbol.to_string(),
            price: Num(q.price),
            bid: num(q.bid),
            ask: num(q.ask),
            bid_size: q.bid_size,
            ask_size: q.ask_size,
            open: num(q.open),
            high: num(q.high),
            low: num(q.low),
            previous_close: num(q.previous_close),
            change: num(q.change),
            change_percent: num(q.change_percent),
            volume: q.volume,
            as_of: q.as_of.to_string(),
            provider: q.provenance.provider.to_string(),
            synthetic: q.provenance.synthetic,
        }
    }
}

/// Quote columns, in order.
pub const QUOTE_FIELDS: [&str; 16] = [
    "symbol",
    "price",
    "bid",
    "ask",
    "bid_size",
    "ask_size",
    "open",
    "high",
    "low",
    "previous_close",
    "change",
    "change_percent",
    "volume",
    "as_of",
    "provider",
    "synthetic",
];

/// A quote's fields in output order (the [`QuoteRecord`] shape; all are CSV columns).
#[must_use]
pub fn quote_fields(q: &Quote) -> [Field<'_>; 16] {
    use FieldValue::{Bool, Decimal, Instant, OptCount, OptDecimal, Text};
    [
        both("symbol", Text(q.symbol.as_str())),
        both("price", Decimal(q.price)),
        both("bid", OptDecimal(q.bid)),
        both("ask", OptDecimal(q.ask)),
        both("bid_size", OptCount(q.bid_size)),
        both("ask_size", OptCount(q.ask_size)),
        both("open", OptDecimal(q.open)),
        both("high", OptDecimal(q.high)),
        both("low", OptDecimal(q.low)),
        both("previous_close", OptDecimal(q.previous_close)),
        both("change", OptDecimal(q.change)),
        both("change_percent", OptDecimal(q.change_percent)),
        both("volume", OptCount(q.volume)),
        both("as_of", Instant(q.as_of)),
        both("provider", Text(q.provenance.provider.as_str())),
        both("synthetic", Bool(q.provenance.synthetic)),
    ]
}

/// A bar as output.
#[derive(Debug, Serialize)]
pub struct BarRecord {
    symbol: String,
    interval: String,
    start: String,
    open: Num,
    high: Num,
    low: Num,
    close: Num,
    volume: u64,
    vwap: Option<Num>,
    trades: Option<u64>,
    provider: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    adjustment: Option<&'static str>,
    synthetic: bool,
}

impl From<&Bar> for BarRecord {
    fn from(b: &Bar) -> Self {
        Self {
            symbol: b.symbol.to_string(),
            interval: b.interval.to_string(),
            start: b.start.to_string(),
            open: Num(b.open),
            high: Num(b.high),
            low: Num(b.low),
            close: Num(b.close),
            volume: b.volume,
            vwap: num(b.vwap),
            trades: b.trades,
            provider: b.provenance.provider.to_string(),
            adjustment: b.provenance.adjustment.map(|a| a.as_str()),
            synthetic: b.provenance.synthetic,
        }
    }
}

/// Bar columns, in order.
pub const BAR_FIELDS: [&str; 13] = [
    "symbol",
    "interval",
    "start",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "vwap",
    "trades",
    "provider",
    "synthetic",
    "adjustment",
];

/// A bar's fields in output order (the [`BarRecord`] shape). `adjustment` is left out of JSON
/// where none was noted; CSV has it as its last column (appended after `synthetic`), empty
/// where none was noted.
#[must_use]
pub fn bar_fields(b: &Bar) -> [Field<'_>; 14] {
    use FieldValue::{Bool, Count, Decimal, Instant, OptCount, OptDecimal, OptText, Text};
    let adjustment = b.provenance.adjustment.map(|a| a.as_str());
    [
        both("symbol", Text(b.symbol.as_str())),
        both("interval", Text(b.interval.as_str())),
        both("start", Instant(b.start)),
        both("open", Decimal(b.open)),
        both("high", Decimal(b.high)),
        both("low", Decimal(b.low)),
        both("close", Decimal(b.close)),
        both("volume", Count(b.volume)),
        both("vwap", OptDecimal(b.vwap)),
        both("trades", OptCount(b.trades)),
        both("provider", Text(b.provenance.provider.as_str())),
        json_only(
            "adjustment",
            match adjustment {
                Some(a) => Text(a),
                None => FieldValue::Omitted,
            },
        ),
        both("synthetic", Bool(b.provenance.synthetic)),
        csv_only("adjustment", OptText(adjustment)),
    ]
}

/// An article as output.
#[derive(Debug, Serialize)]
pub struct NewsRecord {
    id: String,
    symbols: Vec<String>,
    headline: String,
    summary: String,
    url: String,
    source: String,
    published_at: String,
    provider: String,
    author: Option<String>,
    image: Option<String>,
    synthetic: bool,
    sentiment: Option<SentimentRecord>,
}

/// An article's sentiment as output: `{"score", "label", "tickers": [{"symbol", "relevance",
/// "score", "label"}]}`, decimals with their exact digits, labels as
/// [`stockdata_domain::SentimentLabel::as_str`] writes them.
#[derive(Debug, Serialize)]
pub struct SentimentRecord {
    score: Num,
    label: String,
    tickers: Vec<TickerSentimentRecord>,
}

/// One ticker's sentiment as output.
#[derive(Debug, Serialize)]
pub struct TickerSentimentRecord {
    symbol: String,
    relevance: Num,
    score: Num,
    label: String,
}

impl From<&Sentiment> for SentimentRecord {
    fn from(s: &Sentiment) -> Self {
        Self {
            score: Num(s.score),
            label: s.label.as_str().to_owned(),
            tickers: s
                .tickers
                .iter()
                .map(|t| TickerSentimentRecord {
                    symbol: t.symbol.as_str().to_owned(),
                    relevance: Num(t.relevance),
                    score: Num(t.score),
                    label: t.label.as_str().to_owned(),
                })
                .collect(),
        }
    }
}

impl From<&NewsArticle> for NewsRecord {
    fn from(a: &NewsArticle) -> Self {
        Self {
            id: a.id.clone(),
            symbols: a.symbols.iter().map(ToString::to_string).collect(),
            headline: a.headline.clone(),
            summary: a.summary.clone(),
            url: a.url.clone(),
            source: a.source.clone(),
            published_at: a.published_at.to_string(),
            provider: a.provenance.provider.to_string(),
            author: a.author.clone(),
            image: a.image.clone(),
            synthetic: a.provenance.synthetic,
            sentiment: a.sentiment.as_ref().map(SentimentRecord::from),
        }
    }
}

/// News columns, in order.
pub const NEWS_FIELDS: [&str; 12] = [
    "id",
    "symbols",
    "headline",
    "summary",
    "url",
    "source",
    "published_at",
    "provider",
    "synthetic",
    "sentiment_score",
    "sentiment_label",
    "ticker_scores",
];

/// An article's fields in output order (the [`NewsRecord`] shape; `author`, `image` and the
/// `sentiment` object are JSON only, the flat sentiment columns CSV only).
#[must_use]
pub fn news_fields(a: &NewsArticle) -> [Field<'_>; 15] {
    use FieldValue::{Bool, Instant, OptDecimal, OptText, Symbols, Text, TickerScores};
    let sentiment = a.sentiment.as_ref();
    [
        both("id", Text(&a.id)),
        both("symbols", Symbols(&a.symbols)),
        both("headline", Text(&a.headline)),
        both("summary", Text(&a.summary)),
        both("url", Text(&a.url)),
        both("source", Text(&a.source)),
        both("published_at", Instant(a.published_at)),
        both("provider", Text(a.provenance.provider.as_str())),
        json_only("author", OptText(a.author.as_deref())),
        json_only("image", OptText(a.image.as_deref())),
        both("synthetic", Bool(a.provenance.synthetic)),
        json_only("sentiment", FieldValue::Sentiment(sentiment)),
        csv_only("sentiment_score", OptDecimal(sentiment.map(|s| s.score))),
        csv_only(
            "sentiment_label",
            OptText(sentiment.map(|s| s.label.as_str())),
        ),
        csv_only(
            "ticker_scores",
            TickerScores(sentiment.map_or(&[], |s| s.tickers.as_slice())),
        ),
    ]
}

#[derive(Debug, Serialize)]
pub struct AttemptRecord {
    section: &'static str,
    provider: String,
    outcome: &'static str,
    elapsed_ms: u64,
}

/// A symbol that could not be fetched, as the machine formats of `quote`, `bars` and `news`
/// write it after the data records: `{"symbol": "XYZ", "error": {"kind", "message",
/// "attempts"}}`.
#[derive(Debug, Serialize)]
pub struct FailedRecord {
    /// The symbol as requested.
    pub symbol: String,
    /// Why it failed.
    pub error: FailureDetail,
}

/// The error of a [`FailedRecord`].
#[derive(Debug, Serialize)]
pub struct FailureDetail {
    /// The error kind (`unknown_symbol`, `rate_limited`, ...).
    pub kind: &'static str,
    /// What happened and what to do next.
    pub message: String,
    /// Every provider asked, in order.
    pub attempts: Vec<AttemptRecord>,
}

/// The record of `symbol` failing with `error` after `attempts`.
#[must_use]
pub fn failed(
    section: &'static str,
    symbol: &Symbol,
    error: &stockdata_domain::FetchError,
    attempts: &[Attempt],
) -> FailedRecord {
    FailedRecord {
        symbol: symbol.to_string(),
        error: FailureDetail {
            kind: error.kind().as_str(),
            message: error.to_string(),
            attempts: trail(section, attempts).collect(),
        },
    }
}

#[derive(Debug, Serialize)]
pub struct ErrorRecord {
    section: &'static str,
    kind: &'static str,
    message: String,
}

#[derive(Debug, Serialize)]
pub struct AgentSymbol {
    symbol: String,
    quote: Option<QuoteRecord>,
    bars: Vec<BarRecord>,
    findings: Vec<String>,
    news: Vec<NewsRecord>,
    errors: Vec<ErrorRecord>,
    attempts: Vec<AttemptRecord>,
}

#[derive(Debug, Serialize, Default)]
pub struct ProviderStats {
    provider: String,
    calls: u64,
    requests: u64,
    retries: u64,
    throttled: u64,
    rate_limit_waits: u64,
    rate_limit_wait_ms: u64,
}

#[derive(Debug, Serialize)]
pub struct Stats {
    pub elapsed_ms: u64,
    pub symbols: usize,
    pub complete: usize,
    pub partial: usize,
    pub failed: usize,
    pub failovers: u64,
    pub store_hits: u64,
    pub providers: Vec<ProviderStats>,
}

pub fn trail<'a>(
    section: &'static str,
    attempts: &'a [Attempt],
) -> impl Iterator<Item = AttemptRecord> + 'a {
    attempts.iter().map(move |a| AttemptRecord {
        section,
        provider: a.provider.to_string(),
        outcome: a.outcome.as_str(),
        elapsed_ms: u64::try_from(a.elapsed.as_millis()).unwrap_or(u64::MAX),
    })
}

pub fn agent_symbol(s: &SymbolReport) -> AgentSymbol {
    AgentSymbol {
        symbol: s.symbol.to_string(),
        quote: s.quote.as_ref().ok().map(QuoteRecord::from),
        bars: s
            .bars
            .as_ref()
            .map(|b| b.bars.iter().map(BarRecord::from).collect())
            .unwrap_or_default(),
        findings: s
            .bars
            .as_ref()
            .map(|b| b.findings.iter().map(|f| format!("{f:?}")).collect())
            .unwrap_or_default(),
        news: s
            .news
            .as_ref()
            .map(|n| n.iter().map(NewsRecord::from).collect())
            .unwrap_or_default(),
        errors: s
            .errors()
            .into_iter()
            .map(|(section, e)| ErrorRecord {
                section,
                kind: e.kind().as_str(),
                message: e.to_string(),
            })
            .collect(),
        attempts: trail("quote", &s.quote_trail)
            .chain(trail("bars", &s.bars_trail))
            .chain(trail("news", &s.news_trail))
            .collect(),
    }
}

pub fn stats(stats: &RunStats) -> Stats {
    let mut providers: Vec<ProviderStats> = stats
        .calls
        .iter()
        .map(|(p, calls)| ProviderStats {
            provider: p.to_string(),
            calls: *calls,
            ..ProviderStats::default()
        })
        .collect();
    for (p, http) in &stats.http {
        let i = match providers.iter().position(|s| s.provider == p.as_str()) {
            Some(i) => i,
            None => {
                providers.push(ProviderStats {
                    provider: p.to_string(),
                    ..ProviderStats::default()
                });
                providers.len() - 1
            }
        };
        let entry = &mut providers[i];
        entry.requests = http.requests;
        entry.retries = http.retries;
        entry.throttled = http.throttled;
        entry.rate_limit_waits = http.waits;
        entry.rate_limit_wait_ms = http.waited_ms;
    }
    Stats {
        elapsed_ms: u64::try_from(stats.elapsed.as_millis()).unwrap_or(u64::MAX),
        symbols: stats.complete + stats.partial + stats.failed,
        complete: stats.complete,
        partial: stats.partial,
        failed: stats.failed,
        failovers: stats.failovers,
        store_hits: stats.store_hits,
        providers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(d: Decimal) {
        let mut out = Vec::new();
        write_decimal(&mut out, d);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            d.normalize().to_string(),
            "{d:?}"
        );
    }

    #[test]
    fn decimals_are_written_as_normalize_displays_them() {
        for text in [
            "0",
            "0.0000",
            "-0",
            "1",
            "10",
            "100.00",
            "112.6300",
            "-0.58",
            "0.000063",
            "-0.000063",
            "6.3",
            "0.1",
            "1.000000000000000000000000000",
            "0.0000000000000000000000000001",
            "18446744073709551615",
            "18446744073709551616",
            "1844674407370955161.5",
            "-12345678901234567890.123456789",
            "79228162514264337593543950335",
            "-79228162514264337593543950335",
            "7.9228162514264337593543950335",
        ] {
            check(text.parse().unwrap());
        }
        for scale in 0..=28 {
            for (lo, mid, hi) in [(0, 0, 0), (1, 0, 0), (10, 0, 0), (u32::MAX, u32::MAX, 0)] {
                check(Decimal::from_parts(lo, mid, hi, true, scale));
                check(Decimal::from_parts(lo, mid, hi, false, scale));
            }
            check(Decimal::from_parts(0, 0, 1, false, scale));
            check(Decimal::from_parts(
                u32::MAX,
                u32::MAX,
                u32::MAX,
                true,
                scale,
            ));
        }
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let [a, b, c, d, e, f, g, h] = state.to_le_bytes();
            let scale = u32::from(a) % 29;
            let lo = u32::from_le_bytes([b, c, d, e]);
            let (mid, hi) = match f % 3 {
                0 => (0, 0),
                1 => (u32::from(g), 0),
                _ => (u32::from_le_bytes([g, h, b, c]), u32::from(h)),
            };
            // Trailing zeros to strip: a mantissa times a power of ten.
            let d = Decimal::from_parts(lo, mid, hi, e & 1 == 1, scale);
            check(d);
            if let Some(z) = d.checked_mul(Decimal::from(10_u64.pow(u32::from(g) % 6))) {
                check(z);
            }
        }
    }

    #[test]
    fn field_lists_match_the_csv_headers() {
        let at = Timestamp::UNIX_EPOCH;
        let provenance =
            stockdata_domain::Provenance::new(stockdata_domain::ProviderId::from_static("p"), at);
        let symbol = Symbol::parse("A").unwrap();
        let bar = Bar {
            symbol: symbol.clone(),
            interval: stockdata_domain::Interval::Day1,
            start: at,
            open: Decimal::ONE,
            high: Decimal::ONE,
            low: Decimal::ONE,
            close: Decimal::ONE,
            volume: 1,
            vwap: None,
            trades: None,
            provenance: provenance.clone(),
        };
        let names = |fields: &[Field<'_>]| -> Vec<&str> {
            fields.iter().filter(|f| f.csv).map(|f| f.name).collect()
        };
        assert_eq!(names(&bar_fields(&bar)), BAR_FIELDS);
        let quote = Quote {
            symbol: symbol.clone(),
            price: Decimal::ONE,
            bid: None,
            bid_size: None,
            ask: None,
            ask_size: None,
            open: None,
            high: None,
            low: None,
            previous_close: None,
            change: None,
            change_percent: None,
            volume: None,
            as_of: at,
            provenance: provenance.clone(),
        };
        assert_eq!(names(&quote_fields(&quote)), QUOTE_FIELDS);
        let article = NewsArticle {
            id: String::new(),
            headline: String::new(),
            summary: String::new(),
            url: String::new(),
            source: String::new(),
            published_at: at,
            symbols: vec![symbol],
            author: None,
            image: None,
            sentiment: None,
            provenance,
        };
        assert_eq!(names(&news_fields(&article)), NEWS_FIELDS);
    }
}

/// One stream event as output: `type` says which (`trade`, `quote`, `bar`, `status`), the
/// rest are its fields. The same shape in NDJSON (`stockdata stream`) and in `serve`'s
/// Server-Sent Events (as each event's `data`). Decimals are exact JSON numbers and instants
/// RFC 3339 UTC, as everywhere.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamRecord {
    /// A trade.
    Trade {
        /// The symbol.
        symbol: String,
        /// The price.
        price: Num,
        /// Shares traded.
        size: Num,
        /// When, UTC.
        at: String,
        /// The venue's trade id.
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
        /// The venue's code.
        #[serde(skip_serializing_if = "Option::is_none")]
        exchange: Option<String>,
        /// Condition codes.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        conditions: Vec<String>,
        /// Who sent it.
        provider: String,
        /// Made up by the sandbox.
        synthetic: bool,
    },
    /// A streamed trade the venue cancelled or reported in error: it no longer counts.
    Cancel {
        /// The symbol.
        symbol: String,
        /// The cancelled trade's id (a `trade` record's `id`).
        id: u64,
        /// Its price.
        price: Num,
        /// Its size.
        size: Num,
        /// `cancel` or `error`.
        action: &'static str,
        /// The venue's code.
        #[serde(skip_serializing_if = "Option::is_none")]
        exchange: Option<String>,
        /// When the trade happened, UTC.
        at: String,
        /// Who sent it.
        provider: String,
        /// Made up by the sandbox.
        synthetic: bool,
    },
    /// A streamed trade the venue corrected: `original` is replaced by `corrected`.
    Correction {
        /// The symbol.
        symbol: String,
        /// The venue's code.
        #[serde(skip_serializing_if = "Option::is_none")]
        exchange: Option<String>,
        /// The trade as it was streamed.
        original: TermsRecord,
        /// The trade as it stands now.
        corrected: TermsRecord,
        /// When the trade happened, UTC.
        at: String,
        /// Who sent it.
        provider: String,
        /// Made up by the sandbox.
        synthetic: bool,
    },
    /// A top-of-book quote.
    Quote {
        /// The symbol.
        symbol: String,
        /// Best bid.
        bid: Num,
        /// Size at the bid.
        bid_size: Num,
        /// Best ask.
        ask: Num,
        /// Size at the ask.
        ask_size: Num,
        /// When, UTC.
        at: String,
        /// Condition codes.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        conditions: Vec<String>,
        /// Who sent it.
        provider: String,
        /// Made up by the sandbox.
        synthetic: bool,
    },
    /// A closed one-minute bar, as [`BarRecord`].
    Bar(BarRecord),
    /// Something about the stream itself.
    Status {
        /// Whose stream (`stockdata` for what a reader's own buffer reports).
        provider: String,
        /// When it was noticed.
        at: String,
        /// `connected`, `subscribed`, `reconnecting`, `dropped` or `closed`.
        state: &'static str,
        /// `reconnecting`: attempts since the last good connection.
        #[serde(skip_serializing_if = "Option::is_none")]
        attempt: Option<u32>,
        /// `reconnecting`: milliseconds until the next attempt.
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_in_ms: Option<u64>,
        /// `dropped`: events lost since the last report (oldest first).
        #[serde(skip_serializing_if = "Option::is_none")]
        dropped: Option<u64>,
        /// `subscribed`: what the connection now receives, by channel.
        #[serde(skip_serializing_if = "Option::is_none")]
        subscribed: Option<BTreeMap<&'static str, Vec<String>>>,
        /// `reconnecting` and `closed`: why.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<StreamError>,
    },
}

/// One side of a `correction` record: a trade's id, price, size and conditions.
#[derive(Debug, Serialize)]
pub struct TermsRecord {
    /// The trade's id.
    pub id: u64,
    /// The price.
    pub price: Num,
    /// The size.
    pub size: Num,
    /// Condition codes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<String>,
}

impl From<&TradeTerms> for TermsRecord {
    fn from(t: &TradeTerms) -> Self {
        Self {
            id: t.id,
            price: Num(t.price),
            size: Num(t.size),
            conditions: t.conditions.clone(),
        }
    }
}

impl From<&StreamEvent> for StreamRecord {
    fn from(event: &StreamEvent) -> Self {
        match event {
            StreamEvent::Trade(t) => Self::Trade {
                symbol: t.symbol.to_string(),
                price: Num(t.price),
                size: Num(t.size),
                at: t.at.to_string(),
                id: t.id,
                exchange: t.exchange.clone(),
                conditions: t.conditions.clone(),
                provider: t.provenance.provider.to_string(),
                synthetic: t.provenance.synthetic,
            },
            StreamEvent::Cancel(c) => Self::Cancel {
                symbol: c.symbol.to_string(),
                id: c.id,
                price: Num(c.price),
                size: Num(c.size),
                action: c.action.as_str(),
                exchange: c.exchange.clone(),
                at: c.at.to_string(),
                provider: c.provenance.provider.to_string(),
                synthetic: c.provenance.synthetic,
            },
            StreamEvent::Correction(c) => Self::Correction {
                symbol: c.symbol.to_string(),
                exchange: c.exchange.clone(),
                original: TermsRecord::from(&c.original),
                corrected: TermsRecord::from(&c.corrected),
                at: c.at.to_string(),
                provider: c.provenance.provider.to_string(),
                synthetic: c.provenance.synthetic,
            },
            StreamEvent::Quote(q) => Self::Quote {
                symbol: q.symbol.to_string(),
                bid: Num(q.bid),
                bid_size: Num(q.bid_size),
                ask: Num(q.ask),
                ask_size: Num(q.ask_size),
                at: q.at.to_string(),
                conditions: q.conditions.clone(),
                provider: q.provenance.provider.to_string(),
                synthetic: q.provenance.synthetic,
            },
            StreamEvent::Bar(b) => Self::Bar(BarRecord::from(b)),
            StreamEvent::Status(s) => status_record(s),
        }
    }
}

fn status_record(s: &StreamStatus) -> StreamRecord {
    let (mut attempt, mut retry_in_ms, mut dropped, mut subscribed, mut error) =
        (None, None, None, None, None);
    let state = match &s.state {
        StreamState::Connected => "connected",
        StreamState::Subscribed(sub) => {
            subscribed = Some(
                Channel::ALL
                    .iter()
                    .map(|c| {
                        let symbols = sub.channel(*c).iter().map(ToString::to_string).collect();
                        (c.as_str(), symbols)
                    })
                    .collect(),
            );
            "subscribed"
        }
        StreamState::Reconnecting {
            attempt: n,
            after,
            reason,
        } => {
            attempt = Some(*n);
            retry_in_ms = Some(u64::try_from(after.as_millis()).unwrap_or(u64::MAX));
            error = Some(StreamError::from(reason));
            "reconnecting"
        }
        StreamState::Dropped { dropped: n } => {
            dropped = Some(*n);
            "dropped"
        }
        StreamState::Closed { reason } => {
            error = reason.as_ref().map(StreamError::from);
            "closed"
        }
    };
    StreamRecord::Status {
        provider: s.provider.to_string(),
        at: s.at.to_string(),
        state,
        attempt,
        retry_in_ms,
        dropped,
        subscribed,
        error,
    }
}

/// Why a stream reconnects or closed.
#[derive(Debug, Serialize)]
pub struct StreamError {
    /// The error's kind (`unauthorized`, `timeout`, ...).
    kind: &'static str,
    /// What happened and what to do (credentials redacted by the adapter).
    message: String,
}

impl From<&FetchError> for StreamError {
    fn from(e: &FetchError) -> Self {
        Self {
            kind: e.kind().as_str(),
            message: e.to_string(),
        }
    }
}
