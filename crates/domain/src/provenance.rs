//! Where a record came from.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;

/// A provider's stable identifier, e.g. `alpha_vantage`, `finnhub`, `alpaca`, `serverless`.
///
/// Open-ended on purpose: a host application may inject an adapter of its own with its own id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProviderId(Cow<'static, str>);

impl ProviderId {
    /// An id known at compile time.
    #[must_use]
    pub const fn from_static(id: &'static str) -> Self {
        Self(Cow::Borrowed(id))
    }

    /// An id chosen at run time.
    #[must_use]
    pub fn new(id: impl Into<String>) -> Self {
        Self(Cow::Owned(id.into()))
    }

    /// The id's text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProviderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How historical prices are adjusted for corporate actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Adjustment {
    /// As traded.
    #[default]
    Raw,
    /// Adjusted for splits.
    Split,
    /// Adjusted for dividends.
    Dividend,
    /// Adjusted for splits and dividends.
    All,
}

impl Adjustment {
    /// Every adjustment, in order.
    pub const EVERY: [Adjustment; 4] = [
        Adjustment::Raw,
        Adjustment::Split,
        Adjustment::Dividend,
        Adjustment::All,
    ];

    /// `raw`, `split`, `dividend` or `all`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Adjustment::Raw => "raw",
            Adjustment::Split => "split",
            Adjustment::Dividend => "dividend",
            Adjustment::All => "all",
        }
    }
}

impl fmt::Display for Adjustment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Text that names no [`Adjustment`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown adjustment {input:?}: use raw, split, dividend or all")]
pub struct AdjustmentError {
    /// The rejected input.
    pub input: String,
}

impl FromStr for Adjustment {
    type Err = AdjustmentError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "raw" => Ok(Adjustment::Raw),
            "split" => Ok(Adjustment::Split),
            "dividend" => Ok(Adjustment::Dividend),
            "all" => Ok(Adjustment::All),
            _ => Err(AdjustmentError {
                input: s.to_owned(),
            }),
        }
    }
}

/// Where and when a record was fetched. Every quote, bar and article carries one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// The provider that answered.
    pub provider: ProviderId,
    /// When the answer was received.
    pub fetched_at: Timestamp,
    /// The data feed, where the provider has several (Alpaca `iex` / `sip`).
    pub feed: Option<Cow<'static, str>>,
    /// The price adjustment applied, for historical bars.
    pub adjustment: Option<Adjustment>,
    /// True for data made up by the sandbox simulator: never to be mistaken for market data.
    pub synthetic: bool,
    /// The relay the record came through, when it did not come from `provider` directly (a
    /// serverless fetcher relays Alpaca's data: provider `alpaca`, via `serverless`).
    pub via: Option<ProviderId>,
}

impl Provenance {
    /// Real data from `provider`, fetched at `fetched_at`, with no feed or adjustment noted.
    #[must_use]
    pub fn new(provider: ProviderId, fetched_at: Timestamp) -> Self {
        Self {
            provider,
            fetched_at,
            feed: None,
            adjustment: None,
            synthetic: false,
            via: None,
        }
    }

    /// The same provenance with the price adjustment noted.
    #[must_use]
    pub fn with_adjustment(mut self, adjustment: Adjustment) -> Self {
        self.adjustment = Some(adjustment);
        self
    }

    /// The same provenance with the feed noted.
    #[must_use]
    pub fn with_feed(mut self, feed: impl Into<Cow<'static, str>>) -> Self {
        self.feed = Some(feed.into());
        self
    }
}
