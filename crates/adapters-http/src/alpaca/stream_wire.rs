//! Alpaca market data stream v2 wire types (JSON text frames). Every frame is an array of
//! messages tagged by `"T"`: control messages (`success`, `error`, `subscription`) arrive one
//! per frame, data points (`t` trades, `q` quotes, `b` minute bars) possibly many. Prices are
//! JSON numbers read from their text, times RFC 3339 UTC with up to nanosecond precision.
//!
//! Source: docs.alpaca.markets/docs/streaming-market-data and
//! docs.alpaca.markets/docs/real-time-stock-pricing-data (samples and their origin in
//! `crates/contract-tests/fixtures/streams/SOURCES.md`).

use std::borrow::Cow;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use stockdata_domain::{FetchError, Volume};

use crate::numbers::json;

/// A trade (`"T": "t"`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TradeMsg {
    /// Symbol.
    #[serde(rename = "S")]
    pub symbol: String,
    /// Trade id.
    #[serde(default)]
    pub i: Option<u64>,
    /// Exchange code.
    #[serde(default)]
    pub x: Option<String>,
    /// Price.
    #[serde(deserialize_with = "json::decimal")]
    pub p: Decimal,
    /// Size (shares).
    #[serde(deserialize_with = "json::decimal")]
    pub s: Decimal,
    /// Time, RFC 3339 with nanoseconds.
    pub t: String,
    /// Condition codes.
    #[serde(default)]
    pub c: Option<Vec<String>>,
    /// Tape.
    #[serde(default)]
    pub z: Option<String>,
}

/// A trade cancel or error (`"T": "x"`), sent for subscribed trades.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CancelMsg {
    /// Symbol.
    #[serde(rename = "S")]
    pub symbol: String,
    /// The cancelled trade's id.
    pub i: u64,
    /// Exchange code.
    #[serde(default)]
    pub x: Option<String>,
    /// The cancelled trade's price.
    #[serde(deserialize_with = "json::decimal")]
    pub p: Decimal,
    /// The cancelled trade's size.
    #[serde(deserialize_with = "json::decimal")]
    pub s: Decimal,
    /// Action: `C` cancel, `E` error.
    pub a: String,
    /// Tape.
    #[serde(default)]
    pub z: Option<String>,
    /// Time, RFC 3339 with nanoseconds.
    pub t: String,
}

/// A trade correction (`"T": "c"`), sent for subscribed trades: the original trade's id,
/// price, size and conditions (`oi`, `op`, `os`, `oc`) and the corrected ones (`ci`, `cp`,
/// `cs`, `cc`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CorrectionMsg {
    /// Symbol.
    #[serde(rename = "S")]
    pub symbol: String,
    /// Exchange code.
    #[serde(default)]
    pub x: Option<String>,
    /// Original trade id.
    pub oi: u64,
    /// Original price.
    #[serde(deserialize_with = "json::decimal")]
    pub op: Decimal,
    /// Original size.
    #[serde(deserialize_with = "json::decimal")]
    pub os: Decimal,
    /// Original conditions.
    #[serde(default)]
    pub oc: Option<Vec<String>>,
    /// Corrected trade id.
    pub ci: u64,
    /// Corrected price.
    #[serde(deserialize_with = "json::decimal")]
    pub cp: Decimal,
    /// Corrected size.
    #[serde(deserialize_with = "json::decimal")]
    pub cs: Decimal,
    /// Corrected conditions.
    #[serde(default)]
    pub cc: Option<Vec<String>>,
    /// Tape.
    #[serde(default)]
    pub z: Option<String>,
    /// Time, RFC 3339 with nanoseconds.
    pub t: String,
}

/// A quote (`"T": "q"`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct QuoteMsg {
    /// Symbol.
    #[serde(rename = "S")]
    pub symbol: String,
    /// Ask exchange code.
    #[serde(default)]
    pub ax: Option<String>,
    /// Ask price.
    #[serde(deserialize_with = "json::decimal")]
    pub ap: Decimal,
    /// Ask size.
    #[serde(rename = "as", deserialize_with = "json::decimal")]
    pub ask_size: Decimal,
    /// Bid exchange code.
    #[serde(default)]
    pub bx: Option<String>,
    /// Bid price.
    #[serde(deserialize_with = "json::decimal")]
    pub bp: Decimal,
    /// Bid size.
    #[serde(deserialize_with = "json::decimal")]
    pub bs: Decimal,
    /// Time, RFC 3339 with nanoseconds.
    pub t: String,
    /// Condition codes.
    #[serde(default)]
    pub c: Option<Vec<String>>,
    /// Tape.
    #[serde(default)]
    pub z: Option<String>,
}

/// A minute bar (`"T": "b"`), stamped with its minute's start.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BarMsg {
    /// Symbol.
    #[serde(rename = "S")]
    pub symbol: String,
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
    /// Start of the minute, RFC 3339.
    pub t: String,
    /// Trade count (absent in older messages).
    #[serde(default)]
    pub n: Option<u64>,
    /// Volume-weighted average price (absent in older messages).
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub vw: Option<Decimal>,
}

/// The confirmed subscription (`"T": "subscription"`): the connection's whole list, not the
/// change. Channels stockdata never asks for (`dailyBars`, `statuses`, `corrections` …) are
/// not read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct SubscriptionMsg {
    /// Symbols whose trades are streamed (`*` for all).
    #[serde(default)]
    pub trades: Option<Vec<String>>,
    /// Symbols whose quotes are streamed.
    #[serde(default)]
    pub quotes: Option<Vec<String>>,
    /// Symbols whose minute bars are streamed.
    #[serde(default)]
    pub bars: Option<Vec<String>>,
}

/// One message of a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlpacaMessage {
    /// `success`: `connected` on connection, `authenticated` after authentication.
    Success {
        /// `connected`, `authenticated`.
        msg: String,
    },
    /// `error`, with Alpaca's code (400 invalid syntax … 500 internal error).
    Error {
        /// The code.
        code: u16,
        /// The message (`auth failed`, `symbol limit exceeded` …).
        msg: String,
    },
    /// `subscription`: what the connection now receives.
    Subscription(SubscriptionMsg),
    /// `t`.
    Trade(TradeMsg),
    /// `q`.
    Quote(QuoteMsg),
    /// `b`.
    Bar(BarMsg),
    /// `x`: a trade cancel or error (Alpaca adds these to every trade subscription).
    Cancel(CancelMsg),
    /// `c`: a trade correction (likewise).
    Correction(CorrectionMsg),
    /// A documented message stockdata does not model and never subscribes to on purpose:
    /// `d` daily bars, `u` updated bars, `s` trading statuses, `l` LULD bands, `i` order
    /// imbalances.
    Unmodelled {
        /// Its `T`.
        kind: String,
    },
}

/// The `T` values of [`AlpacaMessage::Unmodelled`].
pub const UNMODELLED: &[&str] = &["d", "u", "s", "l", "i"];

#[derive(Deserialize)]
struct Tag<'a> {
    #[serde(rename = "T", borrow)]
    t: Cow<'a, str>,
}

#[derive(Deserialize)]
struct SuccessWire {
    #[serde(default)]
    msg: String,
}

#[derive(Deserialize)]
struct ErrorWire {
    code: u16,
    #[serde(default)]
    msg: String,
}

fn malformed(what: &str, e: impl std::fmt::Display) -> FetchError {
    FetchError::malformed(format!("Alpaca stream {what}: {e}"))
}

fn one<'a, T: Deserialize<'a>>(what: &str, raw: &'a RawValue) -> Result<T, FetchError> {
    serde_json::from_str(raw.get()).map_err(|e| malformed(what, e))
}

/// Parses one frame into its messages, in order.
///
/// # Errors
/// `Malformed` when the frame is not a JSON array of objects tagged `T`, a message of a known
/// type lacks a field or has the wrong type, or a `T` is not one Alpaca documents.
pub fn parse_frame(frame: &[u8]) -> Result<Vec<AlpacaMessage>, FetchError> {
    let items: Vec<&RawValue> =
        serde_json::from_slice(frame).map_err(|e| malformed("frame (not an array)", e))?;
    let mut out = Vec::with_capacity(items.len());
    for raw in items {
        let tag: Tag<'_> = one("message (no \"T\")", raw)?;
        let message = match tag.t.as_ref() {
            "success" => AlpacaMessage::Success {
                msg: one::<SuccessWire>("success", raw)?.msg,
            },
            "error" => {
                let e: ErrorWire = one("error", raw)?;
                AlpacaMessage::Error {
                    code: e.code,
                    msg: e.msg,
                }
            }
            "subscription" => AlpacaMessage::Subscription(one("subscription", raw)?),
            "t" => AlpacaMessage::Trade(one("trade", raw)?),
            "q" => AlpacaMessage::Quote(one("quote", raw)?),
            "b" => AlpacaMessage::Bar(one("bar", raw)?),
            "x" => AlpacaMessage::Cancel(one("trade cancel", raw)?),
            "c" => AlpacaMessage::Correction(one("trade correction", raw)?),
            kind if UNMODELLED.contains(&kind) => AlpacaMessage::Unmodelled {
                kind: kind.to_owned(),
            },
            other => {
                return Err(FetchError::malformed(format!(
                    "Alpaca stream message type {:?} is not one Alpaca documents",
                    other.chars().take(20).collect::<String>()
                )));
            }
        };
        out.push(message);
    }
    Ok(out)
}

/// `{"action":"auth","key":…,"secret":…}`: the fallback when the upgrade headers were not
/// taken for authentication.
#[derive(Serialize)]
pub(crate) struct AuthAction<'a> {
    pub(crate) action: &'static str,
    pub(crate) key: &'a str,
    pub(crate) secret: &'a str,
}

/// `{"action":"subscribe"|"unsubscribe","trades":[…],"quotes":[…],"bars":[…]}`; empty lists
/// are left out (Alpaca wants at least one).
#[derive(Debug, Serialize)]
pub struct SubscribeAction<'a> {
    /// `subscribe` or `unsubscribe`.
    pub action: &'static str,
    /// Trades.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trades: Vec<&'a str>,
    /// Quotes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub quotes: Vec<&'a str>,
    /// Minute bars.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bars: Vec<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_messages_parse_and_unknown_ones_are_refused() {
        let frame = br#"[{"T":"t","S":"AAPL","i":628,"x":"K","p":162.92,"s":3,
            "c":["@","F","T","I"],"z":"C","t":"2023-04-06T11:54:26.838232225Z"},
            {"T":"c","S":"EEM","x":"M","oi":52983525033527,"op":39.1582,"os":440000,
            "oc":[" ","7"],"ci":52983525034326,"cp":39.1809,"cs":440000,"cc":[" ","7"],
            "z":"B","t":"2023-04-06T14:25:06.542305024Z"}]"#;
        let parsed = parse_frame(frame).unwrap();
        assert!(matches!(&parsed[0], AlpacaMessage::Trade(t) if t.p.to_string() == "162.92"));
        let AlpacaMessage::Correction(c) = &parsed[1] else {
            panic!("{:?}", parsed[1]);
        };
        assert_eq!(
            (
                c.oi,
                c.op.to_string(),
                c.ci,
                c.cp.to_string(),
                c.cs.to_string()
            ),
            (
                52_983_525_033_527,
                "39.1582".to_owned(),
                52_983_525_034_326,
                "39.1809".to_owned(),
                "440000".to_owned()
            )
        );
        assert_eq!(
            parse_frame(br#"[{"T":"i","S":"AAPL"}]"#).unwrap(),
            [AlpacaMessage::Unmodelled {
                kind: "i".to_owned()
            }]
        );
        for bad in [
            &br#"{"T":"t"}"#[..],
            br#"[{"T":"zz"}]"#,
            br#"[{"S":"AAPL"}]"#,
            br#"[{"T":"t","S":"AAPL","p":"x","s":1,"t":"2021-02-22T15:51:44.208Z"}]"#,
            b"",
        ] {
            let err = parse_frame(bad).unwrap_err();
            assert_eq!(err.kind(), stockdata_domain::ErrorKind::Malformed, "{err}");
        }
    }

    #[test]
    fn actions_leave_out_empty_channels() {
        let action = SubscribeAction {
            action: "subscribe",
            trades: vec!["AAPL"],
            quotes: vec![],
            bars: vec!["AAPL", "VOO"],
        };
        assert_eq!(
            serde_json::to_string(&action).unwrap(),
            r#"{"action":"subscribe","trades":["AAPL"],"bars":["AAPL","VOO"]}"#
        );
    }
}
