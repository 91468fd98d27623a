//! Alpaca's market data stream v2 (`wss://stream.data.alpaca.markets/v2/{feed}`): trades,
//! quotes and minute bars over one authenticated websocket, JSON frames.
//!
//! Authentication goes in the `APCA-API-KEY-ID` / `APCA-API-SECRET-KEY` headers of the upgrade
//! request ("Authenticate with HTTP headers", docs.alpaca.markets/docs/streaming-market-data);
//! should the server greet without confirming it, the documented `auth` message follows (and
//! "already authenticated" counts as authenticated). Subscriptions are acknowledged with the
//! connection's whole list, which [`StreamConnection::subscribe`] waits for.
//!
//! Limits (docs.alpaca.markets/docs/about-market-data-api, "Websocket subscriptions: 30
//! symbols" on the free plan; docs/streaming-market-data: one connection per endpoint on most
//! plans, error 406 for a second): on the IEX feed trades and quotes together cover at most
//! [`FREE_MAX_SYMBOLS`] symbols, minute bars are not limited ("There is no limit for the number
//! of channels with minute bars", the real-time stock data page of alpacahq/alpaca-docs).

use std::collections::{BTreeSet, VecDeque};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::HeaderName;
use secrecy::{ExposeSecret as _, SecretString};
use stockdata_domain::stream::{
    CancelAction, Channel, QuoteTick, StreamEvent, StreamState, StreamStatus, Subscription, Trade,
    TradeCancel, TradeCorrection, TradeTerms,
};
use stockdata_domain::{Adjustment, Bar, FetchError, Interval, Provenance, ProviderId, Symbol};
use stockdata_ports::Clock;
use stockdata_ports::stream::{StreamCapabilities, StreamConnection, StreamSource};
use url::Url;

use super::ID;
use super::stream_wire::{
    AlpacaMessage, AuthAction, BarMsg, CancelMsg, CorrectionMsg, QuoteMsg, SubscribeAction,
    SubscriptionMsg, TradeMsg,
};
use crate::numbers;
use crate::stream::{StreamConfig, WsSocket, preview};
use crate::transport::{LogSafeUrl, endpoint_url, provider_message, secret_header};

pub use super::stream_wire::parse_frame;

/// `wss://stream.data.alpaca.markets/v2`; `/{feed}` is appended.
pub const DEFAULT_STREAM_URL: &str = "wss://stream.data.alpaca.markets/v2";
/// Free plan (IEX feed): trades and quotes of at most 30 symbols on one connection.
pub const FREE_MAX_SYMBOLS: usize = 30;
/// Connections one key may hold on most plans.
pub const MAX_CONNECTIONS: u32 = 1;
/// How long after the greeting the header authentication may take to be confirmed before the
/// `auth` message is sent, by default.
pub const HEADER_AUTH_GRACE: Duration = Duration::from_secs(2);

const KEY_ID: HeaderName = HeaderName::from_static("apca-api-key-id");
const SECRET_KEY: HeaderName = HeaderName::from_static("apca-api-secret-key");

/// Everything the Alpaca stream needs.
#[derive(Clone)]
pub struct AlpacaStreamConfig {
    /// `APCA-API-KEY-ID`.
    pub key_id: SecretString,
    /// `APCA-API-SECRET-KEY`.
    pub secret_key: SecretString,
    /// `scheme://host[:port][/prefix]`; `/{feed}` is appended.
    pub stream_url: Url,
    /// `iex` (free) or `sip` (paid); in every event's provenance.
    pub feed: String,
    /// Symbols trades and quotes may cover together (`None`: unlimited, as on SIP plans).
    pub max_symbols: Option<usize>,
    /// How long after the greeting the header authentication may take to be confirmed before
    /// the `auth` message is sent.
    pub auth_grace: Duration,
    /// Timeouts and limits.
    pub stream: StreamConfig,
}

impl AlpacaStreamConfig {
    /// The free-plan defaults for a key pair: IEX, 30 symbols.
    #[must_use]
    pub fn new(key_id: SecretString, secret_key: SecretString) -> Self {
        Self {
            key_id,
            secret_key,
            stream_url: crate::series::default_base_url(DEFAULT_STREAM_URL),
            feed: "iex".to_owned(),
            max_symbols: Some(FREE_MAX_SYMBOLS),
            auth_grace: HEADER_AUTH_GRACE,
            stream: StreamConfig::default(),
        }
    }

    /// The symbol limit Alpaca documents for `feed`: 30 on IEX (free), none on the paid feeds.
    #[must_use]
    pub fn documented_max_symbols(feed: &str) -> Option<usize> {
        (feed == "iex").then_some(FREE_MAX_SYMBOLS)
    }

    /// The URL connected to: `stream_url` + `/{feed}`.
    #[must_use]
    pub fn url(&self) -> Url {
        endpoint_url(&self.stream_url, &format!("/{}", self.feed))
    }
}

/// Debug without credentials.
impl fmt::Debug for AlpacaStreamConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlpacaStreamConfig")
            .field("key_id", &self.key_id)
            .field("secret_key", &self.secret_key)
            .field("stream_url", &LogSafeUrl::new(self.stream_url.clone()))
            .field("feed", &self.feed)
            .field("max_symbols", &self.max_symbols)
            .field("auth_grace", &self.auth_grace)
            .field("stream", &self.stream)
            .finish()
    }
}

/// Opens Alpaca stream connections: implements [`StreamSource`].
#[derive(Debug, Clone)]
pub struct AlpacaStream {
    config: Arc<AlpacaStreamConfig>,
    key_id: Arc<SecretString>,
    secret_key: Arc<SecretString>,
    clock: Arc<dyn Clock>,
}

impl AlpacaStream {
    /// A source for `config`, stamping events with `clock`.
    #[must_use]
    pub fn new(config: AlpacaStreamConfig, clock: Arc<dyn Clock>) -> Self {
        Self {
            key_id: Arc::new(config.key_id.clone()),
            secret_key: Arc::new(config.secret_key.clone()),
            config: Arc::new(config),
            clock,
        }
    }
}

#[async_trait]
impl StreamSource for AlpacaStream {
    fn provider(&self) -> ProviderId {
        ID
    }

    fn stream_capabilities(&self) -> StreamCapabilities {
        StreamCapabilities {
            channels: Channel::ALL.to_vec(),
            max_symbols: self.config.max_symbols,
            max_connections: Some(MAX_CONNECTIONS),
            idle_timeout: self.config.stream.idle_timeout,
        }
    }

    async fn connect(&self) -> Result<Box<dyn StreamConnection>, FetchError> {
        let url = self.config.url();
        let secrets = vec![self.key_id.clone(), self.secret_key.clone()];
        // The one place the credentials leave their secret wrappers for the stream.
        let headers = vec![
            (KEY_ID, secret_header(self.key_id.expose_secret())?),
            (SECRET_KEY, secret_header(self.secret_key.expose_secret())?),
        ];
        let (key_id, secret_key) = (self.key_id.clone(), self.secret_key.clone());
        let socket = WsSocket::connect(
            ID,
            &url,
            headers,
            &self.config.stream,
            secrets,
            move |status, body| {
                let secrets = [key_id.expose_secret(), secret_key.expose_secret()];
                super::wire::status_error(status, body, &secrets)
            },
        )
        .await?;
        let mut connection = AlpacaConnection {
            socket,
            feed: self.config.feed.clone(),
            max_symbols: self.config.max_symbols,
            reply_timeout: self.config.stream.reply_timeout,
            auth_grace: self.config.auth_grace,
            key_id: self.key_id.clone(),
            secret_key: self.secret_key.clone(),
            clock: self.clock.clone(),
            current: Subscription::default(),
            pending: VecDeque::new(),
        };
        connection.authenticate().await?;
        let at = connection.clock.now();
        connection
            .pending
            .push_back(Ok(vec![StreamEvent::Status(StreamStatus {
                provider: ID,
                at,
                state: StreamState::Connected,
            })]));
        tracing::info!(provider = %ID, feed = %self.config.feed, "stream authenticated");
        Ok(Box::new(connection))
    }
}

/// One authenticated Alpaca connection: implements [`StreamConnection`].
pub struct AlpacaConnection {
    socket: WsSocket,
    feed: String,
    max_symbols: Option<usize>,
    reply_timeout: Duration,
    auth_grace: Duration,
    key_id: Arc<SecretString>,
    secret_key: Arc<SecretString>,
    clock: Arc<dyn Clock>,
    /// What Alpaca last confirmed.
    current: Subscription,
    /// What arrived while `subscribe` waited for its acknowledgement, for `next`.
    pending: VecDeque<Result<Vec<StreamEvent>, FetchError>>,
}

impl fmt::Debug for AlpacaConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlpacaConnection")
            .field("socket", &self.socket)
            .field("feed", &self.feed)
            .field("current", &self.current)
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

/// What one frame meant to the connection.
struct Read {
    events: Vec<StreamEvent>,
    /// The subscription Alpaca confirmed in it, if any.
    confirmed: Option<Subscription>,
    /// `success` messages (`connected`, `authenticated`).
    successes: Vec<String>,
}

impl AlpacaConnection {
    fn secrets(&self) -> [&str; 2] {
        [self.key_id.expose_secret(), self.secret_key.expose_secret()]
    }

    fn provenance(&self) -> Provenance {
        Provenance::new(ID, self.clock.now()).with_feed(self.feed.clone())
    }

    /// One frame, interpreted. A provider error is returned as the error (and breaks the
    /// connection when retrying on it cannot help).
    fn read(&mut self, frame: &[u8]) -> Result<Read, FetchError> {
        let messages = parse_frame(frame)?;
        self.take(messages)
    }

    fn take(&mut self, messages: Vec<AlpacaMessage>) -> Result<Read, FetchError> {
        let provenance = self.provenance();
        let secrets = self.secrets();
        match interpret(messages, &provenance, &secrets) {
            Ok(read) => Ok(read),
            Err(Reported { err, fatal: true }) => Err(self.socket.fail(err)),
            Err(Reported { err, fatal: false }) => Err(err),
        }
    }

    /// Waits for `authenticated` after the greeting; sends the `auth` message when the headers
    /// were not confirmed within the grace period.
    async fn authenticate(&mut self) -> Result<(), FetchError> {
        let deadline = tokio::time::Instant::now() + self.reply_timeout;
        let mut grace: Option<tokio::time::Instant> = None;
        let mut sent_auth = false;
        loop {
            let wait_until = match grace {
                Some(g) if !sent_auth => g.min(deadline),
                _ => deadline,
            };
            let frame = match tokio::time::timeout_at(wait_until, self.socket.recv()).await {
                Ok(frame) => frame?,
                Err(_) if wait_until < deadline => {
                    self.send_auth().await?;
                    sent_auth = true;
                    continue;
                }
                Err(_) => {
                    tracing::warn!(provider = %ID, "no authentication answer in time");
                    return Err(self.socket.fail(FetchError::Timeout));
                }
            };
            let messages = parse_frame(&frame).map_err(|e| self.socket.fail(e))?;
            // 403 "already authenticated": the headers were taken after all.
            if sent_auth
                && messages
                    .iter()
                    .any(|m| matches!(m, AlpacaMessage::Error { code: 403, .. }))
            {
                return Ok(());
            }
            let read = self.take(messages).map_err(|e| self.socket.fail(e))?;
            if !read.events.is_empty() {
                self.pending.push_back(Ok(read.events));
            }
            if read.successes.iter().any(|m| m == "authenticated") {
                return Ok(());
            }
            if grace.is_none() && read.successes.iter().any(|m| m == "connected") {
                grace = Some(tokio::time::Instant::now() + self.auth_grace);
            }
        }
    }

    async fn send_auth(&mut self) -> Result<(), FetchError> {
        tracing::debug!(provider = %ID, "headers not confirmed: authenticating by message");
        let text = serde_json::to_string(&AuthAction {
            action: "auth",
            key: self.key_id.expose_secret(),
            secret: self.secret_key.expose_secret(),
        })
        .map_err(|e| FetchError::malformed(format!("Alpaca auth message: {e}")))?;
        self.socket.send_text(text).await
    }

    /// Sends a subscribe or unsubscribe action and waits for the acknowledgement, keeping what
    /// arrives meanwhile (the acknowledgement too) for `next`.
    async fn change(
        &mut self,
        action: &'static str,
        change: &Subscription,
    ) -> Result<(), FetchError> {
        let names = |c: Channel| change.channel(c).iter().map(Symbol::as_str).collect();
        let text = serde_json::to_string(&SubscribeAction {
            action,
            trades: names(Channel::Trades),
            quotes: names(Channel::Quotes),
            bars: names(Channel::Bars),
        })
        .map_err(|e| FetchError::malformed(format!("Alpaca {action} message: {e}")))?;
        tracing::debug!(
            provider = %ID,
            action,
            symbols = %preview(change.symbols().iter().map(Symbol::as_str)),
            "stream subscription change"
        );
        self.socket.send_text(text).await?;
        let deadline = tokio::time::Instant::now() + self.reply_timeout;
        loop {
            let frame = match tokio::time::timeout_at(deadline, self.socket.recv()).await {
                Ok(frame) => frame?,
                Err(_) => {
                    tracing::warn!(provider = %ID, action, "no subscription answer in time");
                    return Err(self.socket.fail(FetchError::Timeout));
                }
            };
            match self.read(&frame) {
                Ok(read) => {
                    let confirmed = read.confirmed;
                    if !read.events.is_empty() {
                        self.pending.push_back(Ok(read.events));
                    }
                    if let Some(confirmed) = confirmed {
                        self.current = confirmed;
                        return Ok(());
                    }
                }
                // A frame of the wrong shape is kept for `next`, in order: never skipped.
                Err(err @ FetchError::Malformed { .. }) => self.pending.push_back(Err(err)),
                Err(err) => return Err(err),
            }
        }
    }

    /// Refuses, before sending anything, a subscription past the plan's symbol limit.
    fn check_limit(&self, add: &Subscription) -> Result<(), FetchError> {
        let Some(max) = self.max_symbols else {
            return Ok(());
        };
        let mut wanted = self.current.clone();
        wanted.extend(add);
        let limited: BTreeSet<&Symbol> = wanted.trades.iter().chain(&wanted.quotes).collect();
        if limited.len() > max {
            return Err(FetchError::InvalidRequest {
                reason: format!(
                    "Alpaca's {} feed streams trades and quotes of at most {max} symbols on one \
                     connection; this subscription would cover {}",
                    self.feed,
                    limited.len()
                ),
            });
        }
        Ok(())
    }
}

#[async_trait]
impl StreamConnection for AlpacaConnection {
    async fn subscribe(&mut self, add: &Subscription) -> Result<(), FetchError> {
        let new = add.minus(&self.current);
        if new.is_empty() {
            return Ok(());
        }
        self.check_limit(&new)?;
        self.change("subscribe", &new).await
    }

    async fn unsubscribe(&mut self, remove: &Subscription) -> Result<(), FetchError> {
        let held = remove.minus(&remove.minus(&self.current));
        if held.is_empty() {
            return Ok(());
        }
        self.change("unsubscribe", &held).await
    }

    async fn next(&mut self) -> Result<Vec<StreamEvent>, FetchError> {
        if let Some(kept) = self.pending.pop_front() {
            return kept;
        }
        let frame = self.socket.recv().await?;
        let read = self.read(&frame)?;
        if let Some(confirmed) = read.confirmed {
            self.current = confirmed;
        }
        Ok(read.events)
    }
}

/// A provider error, and whether the connection is finished by it.
struct Reported {
    err: FetchError,
    fatal: bool,
}

fn interpret(
    messages: Vec<AlpacaMessage>,
    provenance: &Provenance,
    secrets: &[&str],
) -> Result<Read, Reported> {
    let mut read = Read {
        events: Vec::with_capacity(messages.len()),
        confirmed: None,
        successes: Vec::new(),
    };
    let reported = |err: FetchError| Reported { err, fatal: false };
    for message in messages {
        match message {
            AlpacaMessage::Trade(t) => read.events.push(StreamEvent::Trade(
                to_trade(&t, provenance).map_err(reported)?,
            )),
            AlpacaMessage::Quote(q) => read.events.push(StreamEvent::Quote(
                to_quote(&q, provenance).map_err(reported)?,
            )),
            AlpacaMessage::Bar(b) => read
                .events
                .push(StreamEvent::Bar(to_bar(&b, provenance).map_err(reported)?)),
            AlpacaMessage::Cancel(x) => read.events.push(StreamEvent::Cancel(
                to_cancel(&x, provenance).map_err(reported)?,
            )),
            AlpacaMessage::Correction(c) => read.events.push(StreamEvent::Correction(
                to_correction(&c, provenance).map_err(reported)?,
            )),
            AlpacaMessage::Subscription(s) => {
                let confirmed = to_subscription(&s);
                read.events.push(StreamEvent::Status(StreamStatus {
                    provider: ID,
                    at: provenance.fetched_at,
                    state: StreamState::Subscribed(confirmed.clone()),
                }));
                read.confirmed = Some(confirmed);
            }
            AlpacaMessage::Success { msg } => read.successes.push(msg),
            AlpacaMessage::Error { code, msg } => {
                let (err, fatal) = classify(code, &msg, secrets);
                tracing::warn!(provider = %ID, code, error = %err, "stream error message");
                return Err(Reported { err, fatal });
            }
            AlpacaMessage::Unmodelled { kind } => {
                tracing::debug!(provider = %ID, kind = %kind, "stream message not modelled");
            }
        }
    }
    Ok(read)
}

/// The events of one frame, for tests, contract tests and fuzzing: market data mapped, a
/// `subscription` as a `Subscribed` status (wildcards left out), `success` and unmodelled
/// messages as nothing, an `error` as its classified [`FetchError`] (`secrets` redacted).
///
/// # Errors
/// `Malformed` for a frame of the wrong shape; the classified error for an `error` message.
pub fn frame_events(
    frame: &[u8],
    provenance: &Provenance,
    secrets: &[&str],
) -> Result<Vec<StreamEvent>, FetchError> {
    interpret(parse_frame(frame)?, provenance, secrets)
        .map(|read| read.events)
        .map_err(|r| r.err)
}

/// Classifies an Alpaca stream error (codes from docs.alpaca.markets/docs/streaming-market-data
/// and alpaca-trade-api-go `marketdata/stream/errors.go`), and says whether it ends the
/// connection. The message (`secrets` redacted) is kept.
#[must_use]
pub fn classify(code: u16, msg: &str, secrets: &[&str]) -> (FetchError, bool) {
    let message = provider_message(msg, secrets);
    let said = || format!("Alpaca stream error {code}: {message}");
    match code {
        // 401 "not authenticated", 402 "auth failed".
        401 | 402 => (FetchError::Unauthorized, true),
        // 404 "auth timeout": the connection is closed; a new one may authenticate in time.
        404 => (FetchError::Timeout, true),
        // 406 "connection limit exceeded": another session holds the key's connection.
        406 => (FetchError::RateLimited { retry_after: None }, true),
        // 407 "slow client": disconnected for falling behind; a new connection may keep up.
        407 => (
            FetchError::Transport {
                detail: format!("{} (read faster, or subscribe to less)", said()),
            },
            true,
        ),
        // 408 "v2 not enabled", 409 "insufficient subscription", 411 "insufficient scope".
        408 | 409 | 411 => (FetchError::EntitlementDenied { reason: said() }, true),
        // 400 invalid syntax, 403 already authenticated, 405 symbol limit exceeded (the
        // subscription is unchanged), 410 invalid subscribe action: the connection goes on.
        400..=499 => (FetchError::InvalidRequest { reason: said() }, false),
        _ => (FetchError::ProviderUnavailable { status: None }, true),
    }
}

fn symbol(text: &str) -> Result<Symbol, FetchError> {
    Symbol::parse(text).map_err(|e| {
        let shown: String = text.chars().take(40).collect();
        FetchError::malformed(format!("Alpaca stream symbol {shown:?}: {e}"))
    })
}

fn text(value: Option<&String>) -> Option<String> {
    value
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Maps a trade message into a [`Trade`].
///
/// # Errors
/// `Malformed` for a bad symbol or time.
pub fn to_trade(t: &TradeMsg, provenance: &Provenance) -> Result<Trade, FetchError> {
    Ok(Trade {
        symbol: symbol(&t.symbol)?,
        price: t.p,
        size: t.s,
        at: numbers::instant("trade t", &t.t)?,
        id: t.i,
        exchange: text(t.x.as_ref()),
        conditions: t.c.clone().unwrap_or_default(),
        provenance: provenance.clone(),
    })
}

/// Maps a trade cancel message into a [`TradeCancel`].
///
/// # Errors
/// `Malformed` for a bad symbol or time, or an action other than `C` or `E`.
pub fn to_cancel(x: &CancelMsg, provenance: &Provenance) -> Result<TradeCancel, FetchError> {
    let action = match x.a.as_str() {
        "C" | "c" => CancelAction::Cancel,
        "E" | "e" => CancelAction::Error,
        other => {
            return Err(FetchError::malformed(format!(
                "Alpaca stream trade cancel action {:?} is neither C nor E",
                other.chars().take(20).collect::<String>()
            )));
        }
    };
    Ok(TradeCancel {
        symbol: symbol(&x.symbol)?,
        id: x.i,
        price: x.p,
        size: x.s,
        action,
        exchange: text(x.x.as_ref()),
        at: numbers::instant("trade cancel t", &x.t)?,
        provenance: provenance.clone(),
    })
}

/// Maps a trade correction message into a [`TradeCorrection`].
///
/// # Errors
/// `Malformed` for a bad symbol or time.
pub fn to_correction(
    c: &CorrectionMsg,
    provenance: &Provenance,
) -> Result<TradeCorrection, FetchError> {
    Ok(TradeCorrection {
        symbol: symbol(&c.symbol)?,
        exchange: text(c.x.as_ref()),
        original: TradeTerms {
            id: c.oi,
            price: c.op,
            size: c.os,
            conditions: c.oc.clone().unwrap_or_default(),
        },
        corrected: TradeTerms {
            id: c.ci,
            price: c.cp,
            size: c.cs,
            conditions: c.cc.clone().unwrap_or_default(),
        },
        at: numbers::instant("trade correction t", &c.t)?,
        provenance: provenance.clone(),
    })
}

/// Maps a quote message into a [`QuoteTick`].
///
/// # Errors
/// `Malformed` for a bad symbol or time.
pub fn to_quote(q: &QuoteMsg, provenance: &Provenance) -> Result<QuoteTick, FetchError> {
    Ok(QuoteTick {
        symbol: symbol(&q.symbol)?,
        bid: q.bp,
        bid_size: q.bs,
        ask: q.ap,
        ask_size: q.ask_size,
        at: numbers::instant("quote t", &q.t)?,
        bid_exchange: text(q.bx.as_ref()),
        ask_exchange: text(q.ax.as_ref()),
        conditions: q.c.clone().unwrap_or_default(),
        provenance: provenance.clone(),
    })
}

/// Maps a minute bar message into a one-minute [`Bar`].
///
/// # Errors
/// `Malformed` for a bad symbol or time.
pub fn to_bar(b: &BarMsg, provenance: &Provenance) -> Result<Bar, FetchError> {
    Ok(Bar {
        symbol: symbol(&b.symbol)?,
        interval: Interval::Minute1,
        start: numbers::instant("bar t", &b.t)?,
        open: b.o,
        high: b.h,
        low: b.l,
        close: b.c,
        volume: b.v,
        vwap: b.vw,
        trades: b.n,
        // Live minute bars are as traded: never adjusted (the REST 1Min bar with
        // `adjustment=raw` is the same bar).
        provenance: Provenance {
            adjustment: Some(Adjustment::Raw),
            ..provenance.clone()
        },
    })
}

/// The confirmed subscription in domain terms. Alpaca's `*` (every symbol) has no [`Symbol`]
/// and stockdata never asks for it: it is left out, as is any name that is not a symbol.
#[must_use]
pub fn to_subscription(s: &SubscriptionMsg) -> Subscription {
    let set = |names: &Option<Vec<String>>| -> BTreeSet<Symbol> {
        names
            .iter()
            .flatten()
            .filter_map(|n| Symbol::parse(n).ok())
            .collect()
    };
    Subscription {
        trades: set(&s.trades),
        quotes: set(&s.quotes),
        bars: set(&s.bars),
    }
}
