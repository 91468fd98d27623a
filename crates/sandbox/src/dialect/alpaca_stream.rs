//! Alpaca's real-time stock stream (Market Data v2, docs "WebSocket Stream" and "Real-time
//! Stock Data"): `ws://ADDR/alpaca/stream/v2/{feed}`, the sandbox's counterpart of
//! `wss://stream.data.alpaca.markets/v2/{feed}`.
//!
//! - Feeds: `iex`; `sip` is refused at authentication (`409 insufficient subscription`: the free
//!   plan streams IEX only); `test` (Alpaca's always-open test stream, for `FAKEPACA`) trades
//!   day and night, replaying a session's minutes. Any other feed is a 404.
//! - On connect `[{"T":"success","msg":"connected"}]`. Authentication by the
//!   `APCA-API-KEY-ID` / `APCA-API-SECRET-KEY` headers of the upgrade request, or by
//!   `{"action":"auth","key":..,"secret":..}` within 10 seconds (`404 auth timeout`), answered
//!   `[{"T":"success","msg":"authenticated"}]`. Any non-empty key and secret are accepted, as
//!   by the REST dialect. A failed authentication (`402`, `404`, `406`, `409`) closes the
//!   connection after its error.
//! - `{"action":"subscribe"|"unsubscribe", "trades":[..], "quotes":[..], "bars":[..]}` (also
//!   `updatedBars`, `dailyBars`, `statuses`, `lulds`: acknowledged, nothing sent on them) adds
//!   or removes symbols, `*` for every symbol (the sandbox's [`UNIVERSE`]); the answer is the
//!   whole subscription, `corrections` and `cancelErrors` following `trades`, as the docs show.
//! - Errors, always an array of one: `[{"T":"error","code":N,"msg":".."}]` with the documented
//!   codes: 400 invalid syntax (not JSON, an unknown action, a symbol of a bad format), 401 not
//!   authenticated, 402 auth failed, 403 already authenticated, 404 auth timeout, 405 symbol
//!   limit exceeded (the subscription stays as it was), 406 connection limit exceeded, 407 slow
//!   client, 409 insufficient subscription, 410 invalid subscribe action for this feed.
//! - Free plan (while quotas are on): one connection per key, 30 symbols over every channel
//!   ("Websocket subscriptions: 30 symbols", docs "About Market Data API"), and no `*` (Alpaca's
//!   staff: "in the free plan you can not subscribe to `*`", alpacahq/alpaca-trade-api-js#188).
//! - Data in arrays of up to 1000 messages: trades `{"T":"t","S","i","x","p","s","t","c","z"}`,
//!   quotes `{"T":"q","S","bx","bp","bs","ax","ap","as","t","c","z"}`, and right after each
//!   minute mark the minute's bar `{"T":"b","S","o","h","l","c","v","t","n","vw"}`, equal to
//!   the REST 1Min bar field by field. Times RFC 3339 with nanoseconds; venue `V` (IEX), tape
//!   `C`. Heartbeats are WebSocket pings. JSON only (no msgpack).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse as _, Response};
use axum::routing::get;
use serde_json::Value;
use stockdata_domain::Symbol;

use super::json::{number, string};
use crate::Shared;
use crate::market::SynthBar;
use crate::stream::tape::{Calendar, Event, Interest, Tick, What};
use crate::stream::{self, Protocol, Reply, StreamLimits, text};

/// The provider's name (its connections' key).
const NAME: &str = super::alpaca::NAME;

/// What `*` subscribes to.
pub(crate) const UNIVERSE: [&str; 10] = [
    "AAPL", "AMD", "AMZN", "GOOGL", "META", "MSFT", "NVDA", "QQQ", "SPY", "TSLA",
];

/// The channels a subscription names, in the acknowledgement's order; the first three stream.
const CHANNELS: [&str; 7] = [
    "trades",
    "quotes",
    "bars",
    "updatedBars",
    "dailyBars",
    "statuses",
    "lulds",
];

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new().route("/stream/v2/{feed}", get(upgrade))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Feed {
    Iex,
    Sip,
    Test,
}

async fn upgrade(
    State(shared): State<Arc<Shared>>,
    Path(feed): Path<String>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let feed = match feed.as_str() {
        "iex" => Feed::Iex,
        "sip" => Feed::Sip,
        "test" => Feed::Test,
        _ => return (StatusCode::NOT_FOUND, "Not Found").into_response(),
    };
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let key = match (header("apca-api-key-id"), header("apca-api-secret-key")) {
        (Some(key), Some(_)) => Some(key),
        _ => None,
    };
    ws.on_upgrade(move |socket| session(socket, shared, feed, key))
}

fn error(code: u16, msg: &str) -> String {
    format!(r#"[{{"T":"error","code":{code},"msg":{}}}]"#, string(msg))
}

async fn say(socket: &mut WebSocket, frame: String) -> bool {
    socket.send(text(frame)).await.is_ok()
}

async fn refuse(mut socket: WebSocket, code: u16, msg: &str) {
    if say(&mut socket, error(code, msg)).await {
        let _ = socket.send(Message::Close(None)).await;
    }
}

/// Connected, authenticated (by headers or message), then streaming.
async fn session(mut socket: WebSocket, shared: Arc<Shared>, feed: Feed, key: Option<String>) {
    if !say(
        &mut socket,
        r#"[{"T":"success","msg":"connected"}]"#.to_owned(),
    )
    .await
    {
        return;
    }
    let key = match key {
        Some(key) => key,
        None => match authentication(&mut socket, &shared).await {
            Ok(key) => key,
            Err(Some((code, msg))) => return refuse(socket, code, msg).await,
            Err(None) => return,
        },
    };
    let config = shared.config.stream;
    if config.faults.refuse_auth {
        return refuse(socket, 402, "auth failed").await;
    }
    if feed == Feed::Sip {
        return refuse(socket, 409, "insufficient subscription").await;
    }
    let limits = shared.config.quotas.map(|_| config.limits);
    let Some(claim) = stream::claim(&shared, NAME, &key, limits.map(|l| l.alpaca_connections))
    else {
        return refuse(socket, 406, "connection limit exceeded").await;
    };
    if !say(
        &mut socket,
        r#"[{"T":"success","msg":"authenticated"}]"#.to_owned(),
    )
    .await
    {
        return;
    }
    stream::run(socket, Alpaca::new(feed, limits), shared, claim).await;
}

/// Waits for the auth message: the key, or the error to close with (`None`: the client left).
async fn authentication(
    socket: &mut WebSocket,
    shared: &Shared,
) -> Result<String, Option<(u16, &'static str)>> {
    let deadline = tokio::time::Instant::now() + shared.config.stream.auth_timeout;
    loop {
        let frame = match tokio::time::timeout_at(deadline, socket.recv()).await {
            Err(_) => return Err(Some((404, "auth timeout"))),
            Ok(Some(Ok(Message::Text(t)))) => t.as_str().to_owned(),
            Ok(Some(Ok(Message::Binary(b)))) => String::from_utf8_lossy(&b).into_owned(),
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            Ok(Some(Ok(Message::Close(_)) | Err(_)) | None) => return Err(None),
        };
        let message: Option<Value> = serde_json::from_str(&frame).ok();
        let field = |name: &str| {
            message
                .as_ref()
                .and_then(|m| m.get(name))
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
        };
        let answer = match field("action") {
            Some("auth") => match (field("key"), field("secret")) {
                (Some(key), Some(_)) => return Ok(key.to_owned()),
                _ => return Err(Some((402, "auth failed"))),
            },
            Some("subscribe" | "unsubscribe") => error(401, "not authenticated"),
            _ => error(400, "invalid syntax"),
        };
        if !say(socket, answer).await {
            return Err(None);
        }
    }
}

/// Subscribed symbols of one channel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Subscribed {
    every: bool,
    symbols: BTreeSet<String>,
}

impl Subscribed {
    fn wants(&self, symbol: &str) -> bool {
        self.every || self.symbols.contains(symbol)
    }

    fn json(&self) -> String {
        let every = self.every.then(|| string("*"));
        let names = self.symbols.iter().map(|s| string(s));
        let items: Vec<String> = every.into_iter().chain(names).collect();
        format!("[{}]", items.join(","))
    }
}

/// An authenticated Alpaca connection.
#[derive(Debug)]
struct Alpaca {
    feed: Feed,
    limits: Option<StreamLimits>,
    channels: [Subscribed; 7],
    interest: Vec<Interest>,
    /// Each interest's symbol as a JSON string.
    quoted: Vec<String>,
}

impl Alpaca {
    fn new(feed: Feed, limits: Option<StreamLimits>) -> Self {
        Self {
            feed,
            limits,
            channels: Default::default(),
            interest: Vec::new(),
            quoted: Vec::new(),
        }
    }

    /// The subscription after `message`, or the error refusing it.
    fn change(
        &self,
        message: &serde_json::Map<String, Value>,
        add: bool,
    ) -> Result<[Subscribed; 7], String> {
        let mut next = self.channels.clone();
        for (name, list) in message {
            if name == "action" {
                continue;
            }
            let Some(channel) = CHANNELS
                .iter()
                .position(|c| c == name)
                .and_then(|i| next.get_mut(i))
            else {
                return Err(error(410, "invalid subscribe action for this feed"));
            };
            let Some(list) = list.as_array() else {
                return Err(error(400, "invalid syntax"));
            };
            for item in list {
                let Some(item) = item.as_str() else {
                    return Err(error(400, "invalid syntax"));
                };
                if item == "*" {
                    channel.every = add;
                    continue;
                }
                let Ok(symbol) = Symbol::parse(item) else {
                    return Err(error(400, "invalid syntax"));
                };
                if add {
                    channel.symbols.insert(symbol.as_str().to_owned());
                } else {
                    channel.symbols.remove(symbol.as_str());
                }
            }
        }
        if let (true, Some(limits)) = (add, self.limits) {
            if next.iter().any(|c| c.every) {
                return Err(error(409, "insufficient subscription"));
            }
            let distinct: BTreeSet<&String> = next.iter().flat_map(|c| &c.symbols).collect();
            if distinct.len() > limits.alpaca_symbols {
                return Err(error(405, "symbol limit exceeded"));
            }
        }
        Ok(next)
    }

    fn acknowledgement(&self) -> String {
        let mut obj = String::from(r#"[{"T":"subscription""#);
        for (name, channel) in CHANNELS.iter().zip(&self.channels) {
            let _ = write!(obj, r#","{name}":{}"#, channel.json());
        }
        let trades = self
            .channels
            .first()
            .map(Subscribed::json)
            .unwrap_or_default();
        let _ = write!(obj, r#","corrections":{trades},"cancelErrors":{trades}}}]"#);
        obj
    }

    fn rebuild(&mut self) {
        let [trades, quotes, bars, ..] = &self.channels;
        let streamed = [trades, quotes, bars];
        let mut symbols: BTreeSet<&str> = BTreeSet::new();
        for c in streamed {
            symbols.extend(c.symbols.iter().map(String::as_str));
            if c.every {
                symbols.extend(UNIVERSE);
            }
        }
        self.interest = symbols
            .into_iter()
            .map(|s| Interest {
                symbol: s.to_owned(),
                trades: trades.wants(s),
                quotes: quotes.wants(s),
                bars: bars.wants(s),
            })
            .collect();
        self.quoted = self.interest.iter().map(|i| string(&i.symbol)).collect();
    }
}

impl Protocol for Alpaca {
    fn provider(&self) -> &'static str {
        NAME
    }

    fn calendar(&self) -> Calendar {
        match self.feed {
            Feed::Test => Calendar::Always,
            Feed::Iex | Feed::Sip => Calendar::Sessions,
        }
    }

    fn receive(&mut self, text: &str) -> Reply {
        let one = |frame: String| Reply {
            frames: vec![frame],
        };
        let Ok(Value::Object(message)) = serde_json::from_str::<Value>(text) else {
            return one(error(400, "invalid syntax"));
        };
        let add = match message.get("action").and_then(Value::as_str) {
            Some("subscribe") => true,
            Some("unsubscribe") => false,
            Some("auth") => return one(error(403, "already authenticated")),
            _ => return one(error(400, "invalid syntax")),
        };
        match self.change(&message, add) {
            Ok(next) => {
                self.channels = next;
                self.rebuild();
                one(self.acknowledgement())
            }
            Err(refusal) => one(refusal),
        }
    }

    fn interest(&self) -> &[Interest] {
        &self.interest
    }

    fn message(&self, event: &Event, out: &mut String) {
        let symbol = self.quoted.get(event.symbol).map_or("\"\"", String::as_str);
        match &event.what {
            What::Trade(t) => trade(out, symbol, t),
            What::Quote(t) => quote(out, symbol, t),
            What::Bar(b) => bar(out, symbol, b),
        }
    }

    fn frame(&self, messages: &str) -> String {
        format!("[{messages}]")
    }

    fn heartbeat(&self) -> Message {
        Message::Ping(axum::body::Bytes::new())
    }

    fn too_slow(&self) -> Option<String> {
        Some(error(407, "slow client"))
    }
}

fn trade(out: &mut String, symbol: &str, t: &Tick) {
    let _ = write!(
        out,
        r#"{{"T":"t","S":{symbol},"i":{},"x":"V","p":{},"s":{},"t":"{}","c":["@"],"z":"C"}}"#,
        t.id,
        number(t.price),
        t.size,
        t.at
    );
}

fn quote(out: &mut String, symbol: &str, t: &Tick) {
    let _ = write!(
        out,
        concat!(
            r#"{{"T":"q","S":{},"bx":"V","bp":{},"bs":{},"ax":"V","ap":{},"as":{},"#,
            r#""t":"{}","c":["R"],"z":"C"}}"#
        ),
        symbol,
        number(t.bid),
        t.bid_size,
        number(t.ask),
        t.ask_size,
        t.quoted_at
    );
}

/// The REST bar's fields and values (`bar_json`), with the type and symbol first.
fn bar(out: &mut String, symbol: &str, b: &SynthBar) {
    let _ = write!(
        out,
        r#"{{"T":"b","S":{symbol},"o":{},"h":{},"l":{},"c":{},"v":{},"t":"{}","n":{},"vw":{}}}"#,
        number(b.open),
        number(b.high),
        number(b.low),
        number(b.close),
        b.volume,
        b.start,
        b.trades,
        number(b.vwap())
    );
}
