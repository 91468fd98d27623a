//! Quotes, bars and news articles.

use jiff::Timestamp;
use rust_decimal::Decimal;

use crate::{Interval, Provenance, Symbol};

/// Share or contract counts. Unsigned: a negative volume cannot be represented, and adapters
/// reject one at the parse boundary as `FetchError::Malformed`.
pub type Volume = u64;

/// The latest price of one symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    /// The symbol quoted.
    pub symbol: Symbol,
    /// Last trade (or current) price.
    pub price: Decimal,
    /// Best bid price, where the provider gives one.
    pub bid: Option<Decimal>,
    /// Shares at the best bid.
    pub bid_size: Option<Volume>,
    /// Best ask price, where the provider gives one.
    pub ask: Option<Decimal>,
    /// Shares at the best ask.
    pub ask_size: Option<Volume>,
    /// The day's open.
    pub open: Option<Decimal>,
    /// The day's high.
    pub high: Option<Decimal>,
    /// The day's low.
    pub low: Option<Decimal>,
    /// The previous session's close.
    pub previous_close: Option<Decimal>,
    /// `price - previous_close`, as the provider reports it or derived.
    pub change: Option<Decimal>,
    /// The change in percent of the previous close (`-0.5852` for -0.5852 %).
    pub change_percent: Option<Decimal>,
    /// The day's volume so far.
    pub volume: Option<Volume>,
    /// The instant the price refers to.
    pub as_of: Timestamp,
    /// Who answered, and when.
    pub provenance: Provenance,
}

impl Quote {
    /// Fills `change` and `change_percent` from `price` and `previous_close` where the provider
    /// left them out. Percent is rounded to 4 decimal places, as providers report it. A value
    /// `Decimal` cannot represent (prices at its edge, from a hostile upstream) is left out.
    pub fn derive_change(&mut self) {
        let Some(prev) = self.previous_close else {
            return;
        };
        let change = self.price.checked_sub(prev);
        if self.change.is_none() {
            self.change = change;
        }
        if self.change_percent.is_none() {
            self.change_percent = change
                .and_then(|c| c.checked_mul(Decimal::ONE_HUNDRED))
                .and_then(|c| c.checked_div(prev))
                .map(|pct| pct.round_dp(4));
        }
    }
}

/// One OHLCV bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bar {
    /// The symbol.
    pub symbol: Symbol,
    /// The bar's width.
    pub interval: Interval,
    /// The UTC instant the bar opens (see [`crate::time`] for daily bars).
    pub start: Timestamp,
    /// Opening price.
    pub open: Decimal,
    /// Highest price.
    pub high: Decimal,
    /// Lowest price.
    pub low: Decimal,
    /// Closing price.
    pub close: Decimal,
    /// Shares traded.
    pub volume: Volume,
    /// Volume-weighted average price, where the provider gives one.
    pub vwap: Option<Decimal>,
    /// Number of trades, where the provider gives one.
    pub trades: Option<u64>,
    /// Who answered, and when.
    pub provenance: Provenance,
}

/// A provider's sentiment label for an article.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SentimentLabel {
    /// Bearish.
    Bearish,
    /// Somewhat bearish.
    SomewhatBearish,
    /// Neutral.
    Neutral,
    /// Somewhat bullish.
    SomewhatBullish,
    /// Bullish.
    Bullish,
    /// A label this version does not know, kept verbatim.
    Other(String),
}

impl SentimentLabel {
    /// The label as stockdata writes it: `bearish`, `somewhat_bearish`, `neutral`,
    /// `somewhat_bullish`, `bullish`, or an unknown label's verbatim text.
    /// [`SentimentLabel::parse`] reads every one of these back to the same label.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            SentimentLabel::Bearish => "bearish",
            SentimentLabel::SomewhatBearish => "somewhat_bearish",
            SentimentLabel::Neutral => "neutral",
            SentimentLabel::SomewhatBullish => "somewhat_bullish",
            SentimentLabel::Bullish => "bullish",
            SentimentLabel::Other(text) => text,
        }
    }

    /// Reads a label, tolerating `Somewhat-Bullish`, `Somewhat_Bullish` and case differences.
    #[must_use]
    pub fn parse(text: &str) -> Self {
        let norm: String = text
            .chars()
            .filter(|c| c.is_ascii_alphabetic())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        match norm.as_str() {
            "bearish" => SentimentLabel::Bearish,
            "somewhatbearish" => SentimentLabel::SomewhatBearish,
            "neutral" => SentimentLabel::Neutral,
            "somewhatbullish" => SentimentLabel::SomewhatBullish,
            "bullish" => SentimentLabel::Bullish,
            _ => SentimentLabel::Other(text.to_owned()),
        }
    }
}

/// An article's sentiment as the provider scored it: overall, and per ticker where given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentiment {
    /// The score, typically in [-1, 1].
    pub score: Decimal,
    /// The provider's label.
    pub label: SentimentLabel,
    /// Per-ticker scores, in the provider's order; empty where the provider gives none.
    /// Only equity symbols: tickers that are not a [`Symbol`] (`CRYPTO:BTC`, `FOREX:USD`) are
    /// left out, as they are from [`NewsArticle::symbols`].
    pub tickers: Vec<TickerSentiment>,
}

/// How an article reads for one ticker it mentions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TickerSentiment {
    /// The ticker.
    pub symbol: Symbol,
    /// How much the article is about this ticker, typically in [0, 1].
    pub relevance: Decimal,
    /// The score for this ticker, typically in [-1, 1].
    pub score: Decimal,
    /// The provider's label for this ticker.
    pub label: SentimentLabel,
}

/// One news article.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewsArticle {
    /// Stable id: `provider:native-id`, or `provider:url-hash` where the provider has no id.
    pub id: String,
    /// Headline.
    pub headline: String,
    /// Summary (may be empty).
    pub summary: String,
    /// Link to the article.
    pub url: String,
    /// Publisher (`Benzinga`, `Reuters` ...).
    pub source: String,
    /// Publication instant, UTC.
    pub published_at: Timestamp,
    /// Symbols the article is about.
    pub symbols: Vec<Symbol>,
    /// Author(s), where given.
    pub author: Option<String>,
    /// Image link, where given.
    pub image: Option<String>,
    /// Sentiment, where the provider scores it.
    pub sentiment: Option<Sentiment>,
    /// Who answered, and when.
    pub provenance: Provenance,
}

/// A stable 64-bit FNV-1a digest of `text` in hex, for ids of articles whose provider has none.
/// Stable across Rust versions and platforms (unlike `DefaultHasher`).
#[must_use]
pub fn stable_hash_hex(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}
