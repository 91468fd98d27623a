//! Finnhub's trades stream (docs "Trades - Last Price Updates"): `ws://ADDR/finnhub/stream?
//! token=KEY`, the sandbox's counterpart of `wss://ws.finnhub.io?token=KEY`.
//!
//! - The token is the `token` parameter (or, as the REST dialect takes it, the
//!   `X-Finnhub-Token` header); a missing one is refused as Finnhub refuses a bad key: a 401 on
//!   the upgrade request (finnhubio/Finnhub-API#465). Any non-empty token is accepted.
//! - `{"type":"subscribe","symbol":"AAPL"}` and `{"type":"unsubscribe","symbol":"AAPL"}`, one
//!   symbol each, no acknowledgement; anything else is ignored.
//! - Trades in batches of up to 1000: `{"data":[{"c":["1"],"p":72.47,"s":"AAPL","t":
//!   1709906400123,"v":100}],"type":"trade"}` (milliseconds, the keys in the order real frames
//!   have them); `{"type":"ping"}` when quiet. Trades only: no quotes, no bars.
//! - Free plan (while quotas are on): 50 symbols per connection, a subscription past them
//!   answered `{"msg":"Subscribing to too many symbols","type":"error"}` and not made (the
//!   message real clients report); one connection per key (AsyncAPI description of the stream:
//!   "One API key supports one open connection at a time"): a second is closed at once.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse as _, Response};
use axum::routing::get;
use serde_json::Value;

use super::Params;
use super::json::{number, string};
use crate::Shared;
use crate::stream::tape::{Event, Interest, What};
use crate::stream::{self, Protocol, Reply, StreamLimits};

/// The provider's name (its connections' key).
const NAME: &str = super::finnhub::NAME;

/// The longest symbol a subscription may name.
const MAX_SYMBOL: usize = 40;

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new().route("/stream", get(upgrade))
}

async fn upgrade(
    State(shared): State<Arc<Shared>>,
    params: Params,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let key = params
        .get("token")
        .or_else(|| headers.get("x-finnhub-token").and_then(|v| v.to_str().ok()))
        .unwrap_or("")
        .to_owned();
    if key.is_empty() || shared.config.stream.faults.refuse_auth {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let limits = shared.config.quotas.map(|_| shared.config.stream.limits);
    let claim = stream::claim(&shared, NAME, &key, limits.map(|l| l.finnhub_connections));
    ws.on_upgrade(move |socket| async move {
        match claim {
            Some(claim) => stream::run(socket, Finnhub::new(limits), shared, claim).await,
            // Past the key's connections: closed at once, without a word.
            None => drop(socket),
        }
    })
}

/// A Finnhub connection.
#[derive(Debug)]
struct Finnhub {
    limits: Option<StreamLimits>,
    symbols: BTreeSet<String>,
    interest: Vec<Interest>,
    quoted: Vec<String>,
}

impl Finnhub {
    fn new(limits: Option<StreamLimits>) -> Self {
        Self {
            limits,
            symbols: BTreeSet::new(),
            interest: Vec::new(),
            quoted: Vec::new(),
        }
    }

    fn rebuild(&mut self) {
        self.interest = self
            .symbols
            .iter()
            .map(|s| Interest {
                symbol: s.clone(),
                trades: true,
                quotes: false,
                bars: false,
            })
            .collect();
        self.quoted = self.symbols.iter().map(|s| string(s)).collect();
    }
}

impl Protocol for Finnhub {
    fn provider(&self) -> &'static str {
        NAME
    }

    fn receive(&mut self, text: &str) -> Reply {
        let message: Option<Value> = serde_json::from_str(text).ok();
        let field = |name: &str| {
            message
                .as_ref()
                .and_then(|m| m.get(name))
                .and_then(Value::as_str)
        };
        let symbol = field("symbol")
            .map(|s| s.trim().to_ascii_uppercase())
            .filter(|s| !s.is_empty() && s.len() <= MAX_SYMBOL);
        let mut reply = Reply::default();
        match (field("type"), symbol) {
            (Some("subscribe"), Some(symbol)) if !self.symbols.contains(&symbol) => {
                let full = self
                    .limits
                    .is_some_and(|l| self.symbols.len() >= l.finnhub_symbols);
                if full {
                    reply
                        .frames
                        .push(r#"{"msg":"Subscribing to too many symbols","type":"error"}"#.into());
                } else {
                    self.symbols.insert(symbol);
                    self.rebuild();
                }
            }
            (Some("unsubscribe"), Some(symbol)) if self.symbols.remove(&symbol) => self.rebuild(),
            _ => {}
        }
        reply
    }

    fn interest(&self) -> &[Interest] {
        &self.interest
    }

    fn message(&self, event: &Event, out: &mut String) {
        let What::Trade(t) = &event.what else {
            return;
        };
        let symbol = self.quoted.get(event.symbol).map_or("\"\"", String::as_str);
        let millis = t.at.as_millisecond();
        let _ = write!(
            out,
            r#"{{"c":["1"],"p":{},"s":{symbol},"t":{millis},"v":{}}}"#,
            number(t.price),
            t.size
        );
    }

    fn frame(&self, messages: &str) -> String {
        format!(r#"{{"data":[{messages}],"type":"trade"}}"#)
    }

    fn heartbeat(&self) -> Message {
        stream::text(r#"{"type":"ping"}"#.to_owned())
    }
}
