//! Live data: the events a market-data stream carries (trades, quotes, minute bars) and what
//! the stream says about itself (connected, subscribed, reconnecting, messages dropped).
//!
//! Prices and sizes are exact decimals and instants UTC, as everywhere else; every event
//! carries a [`Provenance`] (the provider, when it was received, the feed, synthetic or not).

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use jiff::Timestamp;
use rust_decimal::Decimal;

use crate::{Bar, FetchError, Provenance, ProviderId, Symbol};

/// What a subscription asks a stream for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Channel {
    /// Every trade (price and size).
    Trades,
    /// Top-of-book quotes (best bid and ask).
    Quotes,
    /// One-minute bars, as each minute closes.
    Bars,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 3] = [Channel::Trades, Channel::Quotes, Channel::Bars];

    /// The wire and command-line name: `trades`, `quotes`, `bars`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Channel::Trades => "trades",
            Channel::Quotes => "quotes",
            Channel::Bars => "bars",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A channel name that is none of `trades`, `quotes`, `bars`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown stream channel {given:?}: use trades, quotes or bars")]
pub struct ChannelError {
    /// What was given.
    pub given: String,
}

impl FromStr for Channel {
    type Err = ChannelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "trades" | "trade" => Ok(Channel::Trades),
            "quotes" | "quote" => Ok(Channel::Quotes),
            "bars" | "bar" => Ok(Channel::Bars),
            _ => Err(ChannelError {
                given: s.chars().take(40).collect(),
            }),
        }
    }
}

/// Which symbols each channel is wanted for. Ordered sets: a subscription message lists its
/// symbols in one stable order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscription {
    /// Symbols whose trades are wanted.
    pub trades: BTreeSet<Symbol>,
    /// Symbols whose quotes are wanted.
    pub quotes: BTreeSet<Symbol>,
    /// Symbols whose minute bars are wanted.
    pub bars: BTreeSet<Symbol>,
}

impl Subscription {
    /// `symbols` on every channel of `channels`.
    #[must_use]
    pub fn new<'a>(
        symbols: impl IntoIterator<Item = &'a Symbol>,
        channels: impl IntoIterator<Item = Channel>,
    ) -> Self {
        let symbols: Vec<&Symbol> = symbols.into_iter().collect();
        let mut out = Self::default();
        for channel in channels {
            out.channel_mut(channel)
                .extend(symbols.iter().map(|s| (*s).clone()));
        }
        out
    }

    /// The symbols of one channel.
    #[must_use]
    pub fn channel(&self, channel: Channel) -> &BTreeSet<Symbol> {
        match channel {
            Channel::Trades => &self.trades,
            Channel::Quotes => &self.quotes,
            Channel::Bars => &self.bars,
        }
    }

    /// The symbols of one channel, to change.
    pub fn channel_mut(&mut self, channel: Channel) -> &mut BTreeSet<Symbol> {
        match channel {
            Channel::Trades => &mut self.trades,
            Channel::Quotes => &mut self.quotes,
            Channel::Bars => &mut self.bars,
        }
    }

    /// Nothing is wanted.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        Channel::ALL.iter().all(|c| self.channel(*c).is_empty())
    }

    /// Every symbol wanted on any channel, once each.
    #[must_use]
    pub fn symbols(&self) -> BTreeSet<Symbol> {
        Channel::ALL
            .iter()
            .flat_map(|c| self.channel(*c).iter().cloned())
            .collect()
    }

    /// Whether `channel` of `symbol` is wanted.
    #[must_use]
    pub fn wants(&self, channel: Channel, symbol: &Symbol) -> bool {
        self.channel(channel).contains(symbol)
    }

    /// What `self` has and `other` lacks, channel by channel.
    #[must_use]
    pub fn minus(&self, other: &Subscription) -> Subscription {
        let mut out = Subscription::default();
        for c in Channel::ALL {
            *out.channel_mut(c) = self
                .channel(c)
                .difference(other.channel(c))
                .cloned()
                .collect();
        }
        out
    }

    /// `self` with everything `other` has too.
    pub fn extend(&mut self, other: &Subscription) {
        for c in Channel::ALL {
            self.channel_mut(c).extend(other.channel(c).iter().cloned());
        }
    }
}

/// One trade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trade {
    /// The symbol traded.
    pub symbol: Symbol,
    /// The price.
    pub price: Decimal,
    /// Shares (or units) traded: a decimal, as some venues trade fractions.
    pub size: Decimal,
    /// When it happened, UTC.
    pub at: Timestamp,
    /// The trade's id at the venue, where the provider gives one.
    pub id: Option<u64>,
    /// The venue's code, where the provider gives one (Alpaca `V` for IEX).
    pub exchange: Option<String>,
    /// Trade condition codes, as the provider gives them.
    pub conditions: Vec<String>,
    /// Who sent it, and when it was received.
    pub provenance: Provenance,
}

/// A trade the venue cancelled, or reported in error, after it was streamed: it no longer
/// counts (a bar or volume built from the trades should take it out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeCancel {
    /// The symbol.
    pub symbol: Symbol,
    /// The cancelled trade's id at the venue.
    pub id: u64,
    /// The cancelled trade's price.
    pub price: Decimal,
    /// The cancelled trade's size.
    pub size: Decimal,
    /// A cancel or an error.
    pub action: CancelAction,
    /// The venue's code, where the provider gives one.
    pub exchange: Option<String>,
    /// When the cancelled trade happened, UTC.
    pub at: Timestamp,
    /// Who sent it, and when it was received.
    pub provenance: Provenance,
}

/// What a [`TradeCancel`] says of its trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelAction {
    /// The trade was cancelled.
    Cancel,
    /// The trade was reported in error.
    Error,
}

impl CancelAction {
    /// `cancel` or `error`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            CancelAction::Cancel => "cancel",
            CancelAction::Error => "error",
        }
    }
}

/// A trade the venue corrected after it was streamed: the original is replaced by the
/// corrected one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeCorrection {
    /// The symbol.
    pub symbol: Symbol,
    /// The venue's code, where the provider gives one.
    pub exchange: Option<String>,
    /// The original trade as it was streamed.
    pub original: TradeTerms,
    /// The trade as it stands now.
    pub corrected: TradeTerms,
    /// When the original trade happened, UTC.
    pub at: Timestamp,
    /// Who sent it, and when it was received.
    pub provenance: Provenance,
}

/// A trade's id, price, size and conditions: one side of a [`TradeCorrection`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeTerms {
    /// The trade's id at the venue.
    pub id: u64,
    /// The price.
    pub price: Decimal,
    /// The size.
    pub size: Decimal,
    /// Trade condition codes, as the provider gives them.
    pub conditions: Vec<String>,
}

/// One top-of-book quote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteTick {
    /// The symbol quoted.
    pub symbol: Symbol,
    /// Best bid price.
    pub bid: Decimal,
    /// Size at the best bid.
    pub bid_size: Decimal,
    /// Best ask price.
    pub ask: Decimal,
    /// Size at the best ask.
    pub ask_size: Decimal,
    /// When it was quoted, UTC.
    pub at: Timestamp,
    /// The bid's venue, where the provider gives one.
    pub bid_exchange: Option<String>,
    /// The ask's venue, where the provider gives one.
    pub ask_exchange: Option<String>,
    /// Quote condition codes, as the provider gives them.
    pub conditions: Vec<String>,
    /// Who sent it, and when it was received.
    pub provenance: Provenance,
}

/// What a stream says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamState {
    /// Connected and authenticated.
    Connected,
    /// The provider confirmed what the connection now receives.
    Subscribed(Subscription),
    /// The connection was lost (or refused); the next attempt is made after `after`.
    Reconnecting {
        /// Attempts since the last good connection (1 for the first).
        attempt: u32,
        /// The wait before it.
        after: Duration,
        /// Why the connection was lost.
        reason: FetchError,
    },
    /// Events were dropped because their reader fell behind: `dropped` since the last such
    /// report (the oldest go first). Never silent.
    Dropped {
        /// How many.
        dropped: u64,
    },
    /// The stream ended: by request (`reason` is `None`), or on an error retrying cannot mend
    /// (credentials refused, a plan without streaming).
    Closed {
        /// Why, when it was not asked for.
        reason: Option<FetchError>,
    },
}

/// One [`StreamState`] change of one provider's stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamStatus {
    /// Whose stream.
    pub provider: ProviderId,
    /// When it was noticed.
    pub at: Timestamp,
    /// What happened.
    pub state: StreamState,
}

/// One event of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    /// A trade.
    Trade(Trade),
    /// A streamed trade cancelled or in error (on the trades channel).
    Cancel(TradeCancel),
    /// A streamed trade corrected (on the trades channel).
    Correction(TradeCorrection),
    /// A quote.
    Quote(QuoteTick),
    /// A one-minute bar, once its minute has closed.
    Bar(Bar),
    /// Something about the stream itself.
    Status(StreamStatus),
}

impl StreamEvent {
    /// The channel a market event belongs to (`None` for a status).
    #[must_use]
    pub fn channel(&self) -> Option<Channel> {
        match self {
            StreamEvent::Trade(_) | StreamEvent::Cancel(_) | StreamEvent::Correction(_) => {
                Some(Channel::Trades)
            }
            StreamEvent::Quote(_) => Some(Channel::Quotes),
            StreamEvent::Bar(_) => Some(Channel::Bars),
            StreamEvent::Status(_) => None,
        }
    }

    /// The symbol a market event is about (`None` for a status).
    #[must_use]
    pub fn symbol(&self) -> Option<&Symbol> {
        match self {
            StreamEvent::Trade(t) => Some(&t.symbol),
            StreamEvent::Cancel(c) => Some(&c.symbol),
            StreamEvent::Correction(c) => Some(&c.symbol),
            StreamEvent::Quote(q) => Some(&q.symbol),
            StreamEvent::Bar(b) => Some(&b.symbol),
            StreamEvent::Status(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t: &str) -> Symbol {
        Symbol::parse(t).unwrap()
    }

    #[test]
    fn channels_parse_forgivingly_and_name_the_valid_ones() {
        assert_eq!("Trades".parse::<Channel>(), Ok(Channel::Trades));
        assert_eq!(" bar ".parse::<Channel>(), Ok(Channel::Bars));
        let err = "ticks".parse::<Channel>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown stream channel \"ticks\": use trades, quotes or bars"
        );
        for c in Channel::ALL {
            assert_eq!(c.as_str().parse::<Channel>(), Ok(c));
        }
    }

    #[test]
    fn subscriptions_add_and_subtract_channel_by_channel() {
        let (aapl, msft) = (s("AAPL"), s("MSFT"));
        let mut a = Subscription::new([&aapl, &msft], [Channel::Trades, Channel::Bars]);
        let b = Subscription::new([&aapl], [Channel::Trades, Channel::Quotes]);
        let left = a.minus(&b);
        assert_eq!(left.trades, BTreeSet::from([msft.clone()]));
        assert!(left.quotes.is_empty());
        assert_eq!(left.bars, BTreeSet::from([aapl.clone(), msft.clone()]));
        a.extend(&b);
        assert!(a.wants(Channel::Quotes, &aapl));
        assert!(!a.wants(Channel::Quotes, &msft));
        assert_eq!(a.symbols(), BTreeSet::from([aapl, msft]));
        assert!(Subscription::default().is_empty());
        assert!(!a.is_empty());
    }
}
