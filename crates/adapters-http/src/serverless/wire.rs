//! The serverless fetcher's wire types: stockdata's own normalized schema
//! (`docs/serverless-api.md`, `docs/openapi.yaml`). Decimals are JSON numbers read from their
//! text; instants are RFC 3339 UTC.

use rust_decimal::Decimal;
use serde::Deserialize;
use stockdata_domain::{FetchError, Symbol, Volume};

use crate::numbers::json;
use crate::transport::{provider_message, secs_f64_hint};

/// `{"kind": "...", "message": "...", "retry_after_s": n}`: a whole-request error (inside
/// `{"error": ...}`) or one symbol's error inside a batch.
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorWire {
    /// An `ErrorKind` name: `rate_limited`, `unknown_symbol`, …
    pub kind: String,
    /// Human-readable detail.
    #[serde(default)]
    pub message: String,
    /// Seconds to wait, for `rate_limited`.
    #[serde(default)]
    pub retry_after_s: Option<f64>,
    /// When the quota resets, for `quota_exhausted` (RFC 3339).
    #[serde(default)]
    pub resets_at: Option<String>,
    /// The upstream HTTP status, for `provider_unavailable`.
    #[serde(default)]
    pub status: Option<u16>,
}

impl ErrorWire {
    /// Redacts `secrets` from the text an error may quote: the message, and the kind (an
    /// unknown kind is quoted in the `Malformed` it becomes; a known one is unchanged).
    pub fn redact(&mut self, secrets: &[&str]) {
        self.message = provider_message(&self.message, secrets);
        self.kind = provider_message(&self.kind, secrets);
    }

    /// The `FetchError` this envelope names. `symbol` is the symbol it is about, if known.
    #[must_use]
    pub fn to_error(&self, symbol: Option<&Symbol>) -> FetchError {
        let message = self.message.clone();
        match self.kind.as_str() {
            "rate_limited" => FetchError::RateLimited {
                retry_after: self.retry_after_s.and_then(secs_f64_hint),
            },
            "quota_exhausted" => FetchError::QuotaExhausted {
                resets_at: self.resets_at.as_deref().and_then(|t| t.parse().ok()),
            },
            "unauthorized" => FetchError::Unauthorized,
            "entitlement_denied" => FetchError::EntitlementDenied { reason: message },
            "unknown_symbol" => match symbol {
                Some(symbol) => FetchError::UnknownSymbol {
                    symbol: symbol.clone(),
                },
                None => FetchError::InvalidRequest { reason: message },
            },
            "no_data" => FetchError::NoData,
            "invalid_request" => FetchError::InvalidRequest { reason: message },
            "timeout" => FetchError::Timeout,
            "transport" => FetchError::Transport { detail: message },
            "provider_unavailable" => FetchError::ProviderUnavailable {
                status: self.status,
            },
            "malformed" => FetchError::Malformed { detail: message },
            "cancelled" => FetchError::Cancelled,
            // A relay reading its own store offline lacks it: another provider may have it.
            "not_stored" => FetchError::NoData,
            "store" => FetchError::ProviderUnavailable {
                status: self.status,
            },
            other => FetchError::malformed(format!("serverless error kind {other:?} is not known")),
        }
    }
}

/// `{"error": {...}}`, the whole-request error envelope.
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorEnvelope {
    /// The error.
    pub error: ErrorWire,
}

/// A quote record.
#[derive(Debug, Clone, Deserialize)]
pub struct QuoteRecord {
    /// Price.
    #[serde(deserialize_with = "json::decimal")]
    pub price: Decimal,
    /// Bid.
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub bid: Option<Decimal>,
    /// Ask.
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub ask: Option<Decimal>,
    /// Bid size.
    #[serde(default)]
    pub bid_size: Option<Volume>,
    /// Ask size.
    #[serde(default)]
    pub ask_size: Option<Volume>,
    /// Open.
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub open: Option<Decimal>,
    /// High.
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub high: Option<Decimal>,
    /// Low.
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub low: Option<Decimal>,
    /// Previous close.
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub previous_close: Option<Decimal>,
    /// Change.
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub change: Option<Decimal>,
    /// Change in percent.
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub change_percent: Option<Decimal>,
    /// Volume.
    #[serde(default)]
    pub volume: Option<Volume>,
    /// Instant of the price.
    pub as_of: String,
    /// Upstream provider.
    pub provider: String,
    /// Synthetic (sandbox) data.
    #[serde(default)]
    pub synthetic: bool,
}

/// A bar record.
#[derive(Debug, Clone, Deserialize)]
pub struct BarRecord {
    /// Start instant.
    pub start: String,
    /// Open.
    #[serde(deserialize_with = "json::decimal")]
    pub open: Decimal,
    /// High.
    #[serde(deserialize_with = "json::decimal")]
    pub high: Decimal,
    /// Low.
    #[serde(deserialize_with = "json::decimal")]
    pub low: Decimal,
    /// Close.
    #[serde(deserialize_with = "json::decimal")]
    pub close: Decimal,
    /// Volume.
    #[serde(deserialize_with = "json::volume")]
    pub volume: Volume,
    /// VWAP.
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub vwap: Option<Decimal>,
    /// Trade count.
    #[serde(default)]
    pub trades: Option<u64>,
    /// Upstream provider.
    pub provider: String,
    /// Synthetic (sandbox) data.
    #[serde(default)]
    pub synthetic: bool,
    /// Adjustment applied (`raw`, `split`, `dividend`, `all`).
    #[serde(default)]
    pub adjustment: Option<String>,
}

/// A news record.
#[derive(Debug, Clone, Deserialize)]
pub struct NewsRecord {
    /// Stable id.
    pub id: String,
    /// Symbols.
    #[serde(default)]
    pub symbols: Vec<String>,
    /// Headline.
    pub headline: String,
    /// Summary.
    #[serde(default)]
    pub summary: String,
    /// Link.
    pub url: String,
    /// Publisher.
    #[serde(default)]
    pub source: String,
    /// Publication instant.
    pub published_at: String,
    /// Author.
    #[serde(default)]
    pub author: Option<String>,
    /// Image.
    #[serde(default)]
    pub image: Option<String>,
    /// Upstream provider.
    pub provider: String,
    /// Synthetic (sandbox) data.
    #[serde(default)]
    pub synthetic: bool,
    /// Sentiment scores: absent from older servers, `null` where none.
    #[serde(default)]
    pub sentiment: Option<SentimentRecord>,
}

/// `{"score", "label", "tickers": [...]}`.
#[derive(Debug, Clone, Deserialize)]
pub struct SentimentRecord {
    /// Overall score.
    #[serde(deserialize_with = "json::decimal")]
    pub score: Decimal,
    /// `somewhat_bullish` …, or a provider's own label verbatim.
    pub label: String,
    /// Per-ticker scores.
    #[serde(default)]
    pub tickers: Vec<TickerSentimentRecord>,
}

/// `{"symbol", "relevance", "score", "label"}`.
#[derive(Debug, Clone, Deserialize)]
pub struct TickerSentimentRecord {
    /// The ticker.
    pub symbol: String,
    /// Relevance.
    #[serde(deserialize_with = "json::decimal")]
    pub relevance: Decimal,
    /// Score.
    #[serde(deserialize_with = "json::decimal")]
    pub score: Decimal,
    /// Label, as the overall label.
    pub label: String,
}

/// One symbol's entry in a batch answer: data or an error.
#[derive(Debug, Clone, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct SymbolEntry<T> {
    /// The symbol, as requested.
    pub symbol: String,
    /// Its data (`quote` or `bars`, by endpoint).
    #[serde(default, alias = "quote", alias = "bars")]
    pub data: Option<T>,
    /// Its error.
    #[serde(default)]
    pub error: Option<ErrorWire>,
}

/// `{"results": [...]}` from `/v1/quotes` and `/v1/bars`.
#[derive(Debug, Clone, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct Results<T> {
    /// One entry per requested symbol.
    pub results: Vec<SymbolEntry<T>>,
}

impl<T> Results<T> {
    /// Redacts `secrets` from every per-symbol error message (a deployment may echo the
    /// token), as the whole-request envelope's message is.
    pub fn redact_messages(&mut self, secrets: &[&str]) {
        for error in self.results.iter_mut().filter_map(|e| e.error.as_mut()) {
            error.redact(secrets);
        }
    }
}

/// `{"articles": [...]}` from `/v1/news`.
#[derive(Debug, Clone, Deserialize)]
pub struct Articles {
    /// Articles, newest first.
    pub articles: Vec<NewsRecord>,
}

/// Parses any serverless body.
///
/// # Errors
/// `Malformed` for a body of the wrong shape.
pub fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, FetchError> {
    serde_json::from_slice(body)
        .map_err(|e| FetchError::malformed(format!("serverless fetcher: {e}")))
}

/// Classifies a non-2xx answer the way the adapter does: the error envelope when there is one
/// (its message with `secrets` redacted), else 401/403 `Unauthorized` and anything else
/// `InvalidRequest`.
#[must_use]
pub fn status_error(status: u16, body: &[u8], secrets: &[&str]) -> FetchError {
    if let Ok(envelope) = parse::<ErrorEnvelope>(body) {
        let mut error = envelope.error;
        error.redact(secrets);
        return error.to_error(None);
    }
    match status {
        401 | 403 => FetchError::Unauthorized,
        status => FetchError::InvalidRequest {
            reason: format!(
                "serverless fetcher HTTP {status}: {}",
                provider_message(&String::from_utf8_lossy(body), secrets)
            ),
        },
    }
}
