//! Finnhub wire types. Numbers are JSON numbers; times are unix seconds.

use rust_decimal::Decimal;
use serde::Deserialize;
use stockdata_domain::FetchError;

use crate::numbers::json;
use crate::transport::provider_message;

/// `GET /api/v1/quote`. An unknown symbol answers all zeros with null `d`/`dp` and `t = 0`.
#[derive(Debug, Clone, Deserialize)]
pub struct QuoteWire {
    /// Current price.
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub c: Option<Decimal>,
    /// Change (null for unknown symbols; absent in old bodies).
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub d: Option<Decimal>,
    /// Percent change (same).
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub dp: Option<Decimal>,
    /// Day high.
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub h: Option<Decimal>,
    /// Day low.
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub l: Option<Decimal>,
    /// Day open.
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub o: Option<Decimal>,
    /// Previous close.
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub pc: Option<Decimal>,
    /// Unix seconds of the price (absent from the swagger, present in real bodies).
    #[serde(default)]
    pub t: Option<i64>,
}

impl QuoteWire {
    /// Whether this is the "not found" body: zero price and zero time.
    #[must_use]
    pub fn is_unknown(&self) -> bool {
        self.c.is_none_or(|c| c.is_zero()) && self.t.unwrap_or(0) == 0
    }
}

/// `GET /api/v1/stock/candle`: parallel arrays, or `{"s":"no_data"}` with no arrays.
#[derive(Debug, Clone, Deserialize)]
pub struct CandlesWire {
    /// `ok` or `no_data`.
    pub s: String,
    /// Bar starts, unix seconds.
    #[serde(default)]
    pub t: Vec<i64>,
    /// Opens.
    #[serde(default, deserialize_with = "json::decimals")]
    pub o: Vec<Decimal>,
    /// Highs.
    #[serde(default, deserialize_with = "json::decimals")]
    pub h: Vec<Decimal>,
    /// Lows.
    #[serde(default, deserialize_with = "json::decimals")]
    pub l: Vec<Decimal>,
    /// Closes.
    #[serde(default, deserialize_with = "json::decimals")]
    pub c: Vec<Decimal>,
    /// Volumes, typed as floats by Finnhub.
    #[serde(default)]
    pub v: Vec<f64>,
}

/// One item of `GET /api/v1/company-news`.
#[derive(Debug, Clone, Deserialize)]
pub struct NewsItemWire {
    /// `company news`, `technology` …
    #[serde(default)]
    pub category: Option<String>,
    /// Unix seconds.
    pub datetime: i64,
    /// Headline.
    pub headline: String,
    /// Finnhub's article id.
    pub id: i64,
    /// Image link, often empty.
    #[serde(default)]
    pub image: Option<String>,
    /// Related symbols, comma-separated, often empty.
    #[serde(default)]
    pub related: Option<String>,
    /// Publisher.
    #[serde(default)]
    pub source: Option<String>,
    /// Summary.
    #[serde(default)]
    pub summary: Option<String>,
    /// Link.
    pub url: String,
}

/// `{"error": "..."}`, Finnhub's error envelope (older bodies are plain text).
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorWire {
    /// The message.
    pub error: String,
}

fn parse<'a, T: Deserialize<'a>>(what: &str, body: &'a [u8]) -> Result<T, FetchError> {
    serde_json::from_slice(body).map_err(|e| FetchError::malformed(format!("Finnhub {what}: {e}")))
}

/// Parses a quote body.
///
/// # Errors
/// `Malformed` for a body of the wrong shape.
pub fn parse_quote(body: &[u8]) -> Result<QuoteWire, FetchError> {
    parse("quote", body)
}

/// Parses a candle body.
///
/// # Errors
/// `Malformed` for a body of the wrong shape.
pub fn parse_candles(body: &[u8]) -> Result<CandlesWire, FetchError> {
    parse("candles", body)
}

/// Parses a company-news body.
///
/// # Errors
/// `Malformed` for a body of the wrong shape.
pub fn parse_news(body: &[u8]) -> Result<Vec<NewsItemWire>, FetchError> {
    parse("company news", body)
}

/// The message of an error body, JSON or plain text.
#[must_use]
pub fn error_message(body: &[u8]) -> String {
    serde_json::from_slice::<ErrorWire>(body)
        .map(|e| e.error)
        .unwrap_or_else(|_| String::from_utf8_lossy(body).into_owned())
}

/// Classifies a non-2xx answer the way the adapter does: 401 is `Unauthorized`, 403
/// `EntitlementDenied`, anything else `InvalidRequest`, with the provider's message (`secrets`
/// redacted) kept.
#[must_use]
pub fn status_error(status: u16, body: &[u8], secrets: &[&str]) -> FetchError {
    let message = provider_message(&error_message(body), secrets);
    match status {
        401 => FetchError::Unauthorized,
        403 => FetchError::EntitlementDenied {
            reason: format!("Finnhub: {message}"),
        },
        status => FetchError::InvalidRequest {
            reason: format!("Finnhub HTTP {status}: {message}"),
        },
    }
}
