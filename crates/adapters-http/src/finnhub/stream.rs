//! Finnhub's websocket (`wss://ws.finnhub.io?token=…`): trades, JSON text frames.
//!
//! The key can only travel in the `token` query parameter of the upgrade request
//! (finnhub.io/docs/api/websocket-trades), so the URL carrying it is never shown: logs and
//! `Debug` print it through [`LogSafeUrl`] (which redacts `token`), and every error text is
//! redacted of the key. Subscriptions are one `{"type":"subscribe","symbol":…}` per symbol
//! and are not acknowledged: the connection reports `Subscribed` itself once they are sent.
//!
//! Frames: `{"type":"trade","data":[{"p","s","t" (epoch ms),"v","c"}]}`, `{"type":"ping"}` (a
//! heartbeat), `{"type":"error","msg":…}` (for example "Subscribing to too many symbols").
//!
//! Limits: one connection per key (the AsyncAPI transcription of Finnhub's docs in
//! api-evangelist/finnhub `asyncapi/finnhub-asyncapi.yml`: "One API key supports one open
//! connection at a time"); 50 symbols on the free plan, measured by two independent users who
//! both saw the 51st refused with "Subscribing to too many symbols" (no first-party number was
//! found; see `crates/contract-tests/fixtures/streams/SOURCES.md`).

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use rust_decimal::Decimal;
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use stockdata_domain::stream::{
    Channel, StreamEvent, StreamState, StreamStatus, Subscription, Trade,
};
use stockdata_domain::{FetchError, Provenance, ProviderId, Symbol};
use stockdata_ports::Clock;
use stockdata_ports::stream::{StreamCapabilities, StreamConnection, StreamSource};
use url::Url;

use super::ID;
use crate::numbers::json;
use crate::stream::{StreamConfig, WsSocket, preview};
use crate::transport::{LogSafeUrl, provider_message};

/// `wss://ws.finnhub.io`; `?token=` is appended.
pub const DEFAULT_STREAM_URL: &str = "wss://ws.finnhub.io";
/// Free plan: trades of at most 50 symbols on one connection.
pub const FREE_MAX_SYMBOLS: usize = 50;
/// Connections one key may hold.
pub const MAX_CONNECTIONS: u32 = 1;

/// One trade of a `trade` message. Finnhub types price and volume as floats: both are read from
/// their JSON text, exactly.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TradeWire {
    /// Symbol.
    pub s: String,
    /// Last price.
    #[serde(deserialize_with = "json::decimal")]
    pub p: Decimal,
    /// Unix milliseconds.
    pub t: i64,
    /// Volume (0 for a price update without a trade).
    #[serde(deserialize_with = "json::decimal")]
    pub v: Decimal,
    /// Trade condition codes.
    #[serde(default)]
    pub c: Option<Vec<String>>,
}

/// One frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinnhubMessage {
    /// `trade`: trades or price updates, possibly of several symbols.
    Trades(Vec<TradeWire>),
    /// `ping`: a heartbeat.
    Ping,
    /// `error`, with Finnhub's message.
    Error {
        /// The message.
        msg: String,
    },
    /// `news` or `pr`: documented streams stockdata never subscribes to.
    Unmodelled {
        /// Its `type`.
        kind: String,
    },
}

#[derive(Deserialize)]
struct Tag<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
}

#[derive(Deserialize)]
struct TradesWire {
    #[serde(default)]
    data: Option<Vec<TradeWire>>,
}

#[derive(Deserialize)]
struct ErrorWire {
    #[serde(default)]
    msg: Option<String>,
}

fn malformed(what: &str, e: impl fmt::Display) -> FetchError {
    FetchError::malformed(format!("Finnhub stream {what}: {e}"))
}

/// Parses one frame.
///
/// # Errors
/// `Malformed` when the frame is not a JSON object with a `type` Finnhub documents, or a
/// `trade` message's trades lack a field or have the wrong type.
pub fn parse_frame(frame: &[u8]) -> Result<FinnhubMessage, FetchError> {
    let raw: &RawValue =
        serde_json::from_slice(frame).map_err(|e| malformed("frame (not JSON)", e))?;
    let tag: Tag<'_> =
        serde_json::from_str(raw.get()).map_err(|e| malformed("frame (no \"type\")", e))?;
    match tag.kind.as_ref() {
        "trade" => {
            let trades: TradesWire =
                serde_json::from_str(raw.get()).map_err(|e| malformed("trade", e))?;
            Ok(FinnhubMessage::Trades(trades.data.unwrap_or_default()))
        }
        "ping" => Ok(FinnhubMessage::Ping),
        "error" => {
            let e: ErrorWire =
                serde_json::from_str(raw.get()).map_err(|e| malformed("error", e))?;
            Ok(FinnhubMessage::Error {
                msg: e.msg.unwrap_or_default(),
            })
        }
        kind @ ("news" | "pr") => Ok(FinnhubMessage::Unmodelled {
            kind: kind.to_owned(),
        }),
        other => Err(FetchError::malformed(format!(
            "Finnhub stream message type {:?} is not one Finnhub documents",
            other.chars().take(20).collect::<String>()
        ))),
    }
}

/// Maps one trade into a [`Trade`].
///
/// # Errors
/// `Malformed` for a symbol stockdata cannot hold (Finnhub's crypto and forex symbols such as
/// `BINANCE:BTCUSDT`) or a time out of range.
pub fn to_trade(t: &TradeWire, provenance: &Provenance) -> Result<Trade, FetchError> {
    let symbol = Symbol::parse(&t.s).map_err(|e| {
        let shown: String = t.s.chars().take(40).collect();
        FetchError::malformed(format!("Finnhub stream symbol {shown:?}: {e}"))
    })?;
    let at = Timestamp::from_millisecond(t.t).map_err(|_| {
        FetchError::malformed(format!("Finnhub stream trade time {} is out of range", t.t))
    })?;
    Ok(Trade {
        symbol,
        price: t.p,
        size: t.v,
        at,
        id: None,
        exchange: None,
        conditions: t.c.clone().unwrap_or_default(),
        provenance: provenance.clone(),
    })
}

/// Classifies a Finnhub stream error message by what it says (Finnhub gives no codes):
/// too many symbols → `InvalidRequest`; a refused key → `Unauthorized`; no access →
/// `EntitlementDenied`; anything else → `ProviderUnavailable`. The message (`secrets`
/// redacted) is kept where the variant has room for it.
#[must_use]
pub fn classify(msg: &str, secrets: &[&str]) -> FetchError {
    let message = provider_message(msg, secrets);
    let lower = message.to_ascii_lowercase();
    if lower.contains("too many symbols") || lower.contains("symbol limit") {
        FetchError::InvalidRequest {
            reason: format!("Finnhub stream: {message}"),
        }
    } else if lower.contains("api key") || lower.contains("token") || lower.contains("unauthor") {
        FetchError::Unauthorized
    } else if lower.contains("access") || lower.contains("subscription") {
        FetchError::EntitlementDenied {
            reason: format!("Finnhub stream: {message}"),
        }
    } else {
        FetchError::ProviderUnavailable { status: None }
    }
}

/// The events of one frame, for tests, contract tests and fuzzing: trades mapped, a ping as
/// nothing, an `error` as its classified [`FetchError`] (`secrets` redacted).
///
/// # Errors
/// `Malformed` for a frame of the wrong shape; the classified error for an `error` message.
pub fn frame_events(
    frame: &[u8],
    provenance: &Provenance,
    secrets: &[&str],
) -> Result<Vec<StreamEvent>, FetchError> {
    match parse_frame(frame)? {
        FinnhubMessage::Trades(trades) => trades
            .iter()
            .map(|t| to_trade(t, provenance).map(StreamEvent::Trade))
            .collect(),
        FinnhubMessage::Ping => Ok(Vec::new()),
        FinnhubMessage::Error { msg } => Err(classify(&msg, secrets)),
        FinnhubMessage::Unmodelled { kind } => {
            tracing::debug!(provider = %ID, kind = %kind, "stream message not modelled");
            Ok(Vec::new())
        }
    }
}

/// `{"type":"subscribe"|"unsubscribe","symbol":…}`.
#[derive(Debug, Serialize)]
pub struct SubscribeAction<'a> {
    /// `subscribe` or `unsubscribe`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// One symbol.
    pub symbol: &'a str,
}

/// Everything the Finnhub stream needs.
#[derive(Clone)]
pub struct FinnhubStreamConfig {
    /// The API key (sent as the `token` query parameter: the only way Finnhub's websocket
    /// takes it).
    pub api_key: SecretString,
    /// `scheme://host[:port][/path]`; `?token=` is appended.
    pub stream_url: Url,
    /// Symbols one connection may subscribe to (`None`: unlimited).
    pub max_symbols: Option<usize>,
    /// Timeouts and limits.
    pub stream: StreamConfig,
}

impl FinnhubStreamConfig {
    /// The free-plan defaults for `api_key`: 50 symbols.
    #[must_use]
    pub fn new(api_key: SecretString) -> Self {
        Self {
            api_key,
            stream_url: crate::series::default_base_url(DEFAULT_STREAM_URL),
            max_symbols: Some(FREE_MAX_SYMBOLS),
            stream: StreamConfig::default(),
        }
    }
}

/// Debug without credentials.
impl fmt::Debug for FinnhubStreamConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FinnhubStreamConfig")
            .field("api_key", &self.api_key)
            .field("stream_url", &LogSafeUrl::new(self.stream_url.clone()))
            .field("max_symbols", &self.max_symbols)
            .field("stream", &self.stream)
            .finish()
    }
}

/// Opens Finnhub stream connections: implements [`StreamSource`].
#[derive(Debug, Clone)]
pub struct FinnhubStream {
    config: Arc<FinnhubStreamConfig>,
    api_key: Arc<SecretString>,
    clock: Arc<dyn Clock>,
}

impl FinnhubStream {
    /// A source for `config`, stamping events with `clock`.
    #[must_use]
    pub fn new(config: FinnhubStreamConfig, clock: Arc<dyn Clock>) -> Self {
        Self {
            api_key: Arc::new(config.api_key.clone()),
            config: Arc::new(config),
            clock,
        }
    }
}

#[async_trait]
impl StreamSource for FinnhubStream {
    fn provider(&self) -> ProviderId {
        ID
    }

    fn stream_capabilities(&self) -> StreamCapabilities {
        StreamCapabilities {
            channels: vec![Channel::Trades],
            max_symbols: self.config.max_symbols,
            max_connections: Some(MAX_CONNECTIONS),
            idle_timeout: self.config.stream.idle_timeout,
        }
    }

    async fn connect(&self) -> Result<Box<dyn StreamConnection>, FetchError> {
        let mut url = self.config.stream_url.clone();
        url.set_query(None);
        // The one place the key leaves its secret wrapper for the stream.
        url.query_pairs_mut()
            .append_pair("token", self.api_key.expose_secret());
        let key = self.api_key.clone();
        let socket = WsSocket::connect(
            ID,
            &url,
            Vec::new(),
            &self.config.stream,
            vec![self.api_key.clone()],
            move |status, body| super::wire::status_error(status, body, &[key.expose_secret()]),
        )
        .await?;
        let at = self.clock.now();
        let mut pending = VecDeque::new();
        pending.push_back(Ok(vec![StreamEvent::Status(StreamStatus {
            provider: ID,
            at,
            state: StreamState::Connected,
        })]));
        tracing::info!(provider = %ID, "stream connected");
        Ok(Box::new(FinnhubConnection {
            socket,
            max_symbols: self.config.max_symbols,
            api_key: self.api_key.clone(),
            clock: self.clock.clone(),
            current: Subscription::default(),
            pending,
        }))
    }
}

/// One Finnhub connection: implements [`StreamConnection`].
pub struct FinnhubConnection {
    socket: WsSocket,
    max_symbols: Option<usize>,
    api_key: Arc<SecretString>,
    clock: Arc<dyn Clock>,
    /// What was sent (Finnhub confirms nothing).
    current: Subscription,
    pending: VecDeque<Result<Vec<StreamEvent>, FetchError>>,
}

impl fmt::Debug for FinnhubConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FinnhubConnection")
            .field("socket", &self.socket)
            .field("current", &self.current)
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl FinnhubConnection {
    async fn send_each(
        &mut self,
        kind: &'static str,
        symbols: &[Symbol],
    ) -> Result<(), FetchError> {
        tracing::debug!(
            provider = %ID,
            action = kind,
            symbols = %preview(symbols.iter().map(Symbol::as_str)),
            "stream subscription change"
        );
        for symbol in symbols {
            let text = serde_json::to_string(&SubscribeAction {
                kind,
                symbol: symbol.as_str(),
            })
            .map_err(|e| FetchError::malformed(format!("Finnhub {kind} message: {e}")))?;
            self.socket.send_text(text).await?;
            match kind {
                "subscribe" => self.current.trades.insert(symbol.clone()),
                _ => self.current.trades.remove(symbol),
            };
        }
        self.pending
            .push_back(Ok(vec![StreamEvent::Status(StreamStatus {
                provider: ID,
                at: self.clock.now(),
                state: StreamState::Subscribed(self.current.clone()),
            })]));
        Ok(())
    }
}

#[async_trait]
impl StreamConnection for FinnhubConnection {
    async fn subscribe(&mut self, add: &Subscription) -> Result<(), FetchError> {
        if !add.quotes.is_empty() || !add.bars.is_empty() {
            return Err(FetchError::InvalidRequest {
                reason: "Finnhub streams trades only: no quotes or minute bars".to_owned(),
            });
        }
        let new: Vec<Symbol> = add
            .trades
            .difference(&self.current.trades)
            .cloned()
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        if let Some(max) = self.max_symbols {
            let total = self.current.trades.len() + new.len();
            if total > max {
                return Err(FetchError::InvalidRequest {
                    reason: format!(
                        "Finnhub streams trades of at most {max} symbols on one connection; \
                         this subscription would cover {total}"
                    ),
                });
            }
        }
        self.send_each("subscribe", &new).await
    }

    async fn unsubscribe(&mut self, remove: &Subscription) -> Result<(), FetchError> {
        let held: Vec<Symbol> = remove
            .trades
            .intersection(&self.current.trades)
            .cloned()
            .collect();
        if held.is_empty() {
            return Ok(());
        }
        self.send_each("unsubscribe", &held).await
    }

    async fn next(&mut self) -> Result<Vec<StreamEvent>, FetchError> {
        if let Some(kept) = self.pending.pop_front() {
            return kept;
        }
        let frame = self.socket.recv().await?;
        let provenance = Provenance::new(ID, self.clock.now());
        match frame_events(&frame, &provenance, &[self.api_key.expose_secret()]) {
            Ok(events) => Ok(events),
            Err(err @ FetchError::Malformed { .. }) => Err(err),
            Err(err) => {
                tracing::warn!(provider = %ID, error = %err, "stream error message");
                Err(self.socket.fail(err))
            }
        }
    }
}
