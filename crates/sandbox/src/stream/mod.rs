//! Market-data streams: what the WebSocket endpoints of the dialects (`dialect::alpaca_stream`,
//! `dialect::finnhub_stream`) share. A dialect speaks its provider's protocol (handshake,
//! authentication, subscriptions, wire shapes); this module runs the connection once it is
//! authenticated: the stream clock, the tape (`tape`: trades, quotes and minute bars from the
//! same minute path as the REST bars), batching, heartbeats, the plan's connection limit, and
//! the injected faults.
//!
//! # Time
//!
//! A stream needs time to move, while the sandbox's clock may be fixed (`--now`). The stream
//! clock starts at the sandbox's now when the sandbox starts and runs at [`StreamConfig::speed`]
//! times real time. A connection sends, every few milliseconds, everything of the tape between
//! where it was and the stream clock's now: never anything later. REST never lags what a stream
//! has sent: once a stream has sent up to an instant, the REST endpoints' now is at least that
//! instant, so a minute bar streamed is the 1m bar fetched over REST afterwards.
//!
//! # Faults
//!
//! [`StreamFaults`] are rolled with the sandbox's seeded dice, once per data frame, and counted in
//! data messages (each trade, quote or bar is one, however they are batched).

pub(crate) mod tape;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket};
use jiff::{SignedDuration, Timestamp};

use crate::Shared;
use tape::{Calendar, Event, Interest, Tape};

/// How the sandbox's streams behave.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreamConfig {
    /// How fast stream time runs: market seconds per real second from the sandbox's now at
    /// start (1: real time; 60: a market minute a second; 0: frozen). Not finite: 1.
    pub speed: f64,
    /// Trades per symbol and minute; `None`: each minute bar's own trade count `n`, so a bar is
    /// exactly its trades. At least 4 (open, high, low, close), at most the minute's volume.
    pub trades_per_minute: Option<u32>,
    /// A heartbeat is sent after this long without a frame (Finnhub `{"type":"ping"}`, Alpaca a
    /// WebSocket ping), outside market hours too.
    pub heartbeat: Duration,
    /// Alpaca: how long a connection may stay unauthenticated (the docs: 10 seconds).
    pub auth_timeout: Duration,
    /// The plans' stream limits, enforced while [`crate::SandboxConfig::quotas`] is on.
    pub limits: StreamLimits,
    /// Faults to inject.
    pub faults: StreamFaults,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            speed: 1.0,
            trades_per_minute: None,
            heartbeat: Duration::from_secs(30),
            auth_timeout: Duration::from_secs(10),
            limits: StreamLimits::FREE,
            faults: StreamFaults::default(),
        }
    }
}

/// Per-key stream limits of the providers' plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamLimits {
    /// Alpaca: distinct symbols one connection may subscribe to, over every channel; the
    /// wildcard `*` is refused (`409 insufficient subscription`).
    pub alpaca_symbols: usize,
    /// Alpaca: open connections per key (`406 connection limit exceeded` past it).
    pub alpaca_connections: usize,
    /// Finnhub: symbols per connection (`Subscribing to too many symbols` past it).
    pub finnhub_symbols: usize,
    /// Finnhub: open connections per key (a connection past it is closed at once).
    pub finnhub_connections: usize,
}

impl StreamLimits {
    /// The free plans: Alpaca's "Websocket subscriptions: 30 symbols" and one connection (docs
    /// "About Market Data API", "WebSocket Stream"); Finnhub's 50 symbols and one connection per
    /// key.
    pub const FREE: StreamLimits = StreamLimits {
        alpaca_symbols: 30,
        alpaca_connections: 1,
        finnhub_symbols: 50,
        finnhub_connections: 1,
    };
}

/// Faults injected into streams. None by default.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StreamFaults {
    /// Close the connection abruptly (no close frame) after this many data messages.
    pub disconnect_after: Option<u64>,
    /// The probability, per data frame, of closing the connection abruptly instead of sending it.
    pub disconnect_rate: f64,
    /// Refuse every authentication (Alpaca `402 auth failed`; Finnhub a 401 on the upgrade).
    pub refuse_auth: bool,
    /// The probability, per data frame, of sending only its first half (invalid JSON) instead.
    pub malformed_rate: f64,
    /// After this many data messages, stall: nothing more at all (no data, no heartbeat, no
    /// pong) until the client gives up, then the connection is dropped.
    pub stall_after: Option<u64>,
}

/// The most data messages one frame holds.
pub(crate) const MAX_BATCH: usize = 1000;
/// How often a connection looks at the stream clock.
const TICK: Duration = Duration::from_millis(10);
/// A frame the client does not take within this long: the client is too slow (Alpaca's 407).
const SLOW_CLIENT: Duration = Duration::from_secs(15);
/// How long a stalled connection is held open before it is dropped.
const STALL_HOLD: Duration = Duration::from_secs(600);

/// The stream clock, and how far streams have sent (which REST never lags).
#[derive(Debug)]
pub(crate) struct Timeline {
    anchor: Timestamp,
    started: Instant,
    speed: f64,
    /// Unix nanoseconds up to which a stream has sent; `i64::MIN` before any.
    streamed: AtomicI64,
}

impl Timeline {
    pub(crate) fn new(anchor: Timestamp, speed: f64) -> Self {
        Self {
            anchor,
            started: Instant::now(),
            speed: if speed.is_finite() {
                speed.max(0.0)
            } else {
                1.0
            },
            streamed: AtomicI64::new(i64::MIN),
        }
    }

    /// The stream clock's now.
    pub(crate) fn now(&self) -> Timestamp {
        #[allow(clippy::cast_precision_loss)]
        let scaled = self.started.elapsed().as_nanos() as f64 * self.speed;
        // Below 2^63 the conversion is in range; past it (centuries) the clock stops.
        #[allow(clippy::cast_possible_truncation)]
        let nanos = if scaled < 9.2e18 {
            scaled as i64
        } else {
            i64::MAX
        };
        self.anchor
            .checked_add(SignedDuration::from_nanos(nanos))
            .unwrap_or(Timestamp::MAX)
    }

    /// A stream has sent everything up to `until`.
    fn sent_until(&self, until: Timestamp) {
        if let Ok(nanos) = i64::try_from(until.as_nanosecond()) {
            self.streamed.fetch_max(nanos, Ordering::Relaxed);
        }
    }

    /// REST's now: the configured clock's, or later when a stream has sent beyond it.
    pub(crate) fn rest_now(&self, clock: Timestamp) -> Timestamp {
        let streamed = self.streamed.load(Ordering::Relaxed);
        if streamed == i64::MIN {
            return clock;
        }
        Timestamp::from_nanosecond(i128::from(streamed)).map_or(clock, |s| s.max(clock))
    }
}

/// Open connections per provider and key, and what the streams have sent.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    open: Mutex<BTreeMap<(&'static str, String), usize>>,
    tally: Mutex<BTreeMap<&'static str, StreamTally>>,
}

/// What one provider's streams have done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamTally {
    /// Connections open now (authenticated).
    pub open: u64,
    /// Connections authenticated so far.
    pub connections: u64,
    /// Data messages sent (trades, quotes, bars).
    pub messages: u64,
}

impl Registry {
    fn tally(&self, provider: &'static str, f: impl FnOnce(&mut StreamTally)) {
        let mut tally = self
            .tally
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(tally.entry(provider).or_default());
    }

    /// Per provider, what its streams have done so far.
    pub(crate) fn tallies(&self) -> BTreeMap<&'static str, StreamTally> {
        self.tally
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// One open connection of a key, given back when dropped.
#[derive(Debug)]
pub(crate) struct Claim {
    shared: Arc<Shared>,
    provider: &'static str,
    key: String,
}

/// Opens a connection for `key`, unless it already holds `limit` (`None`: no limit).
pub(crate) fn claim(
    shared: &Arc<Shared>,
    provider: &'static str,
    key: &str,
    limit: Option<usize>,
) -> Option<Claim> {
    let registry = &shared.streams;
    let mut open = registry
        .open
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let count = open.entry((provider, key.to_owned())).or_insert(0);
    if limit.is_some_and(|l| *count >= l) {
        return None;
    }
    *count += 1;
    drop(open);
    registry.tally(provider, |t| {
        t.open += 1;
        t.connections += 1;
    });
    Some(Claim {
        shared: Arc::clone(shared),
        provider,
        key: key.to_owned(),
    })
}

impl Drop for Claim {
    fn drop(&mut self) {
        let registry = &self.shared.streams;
        let mut open = registry
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = open.get_mut(&(self.provider, self.key.clone())) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&(self.provider, self.key.clone()));
            }
        }
        drop(open);
        registry.tally(self.provider, |t| t.open = t.open.saturating_sub(1));
    }
}

/// What a protocol answers to a client's frame: frames to send back, in order.
#[derive(Debug, Default)]
pub(crate) struct Reply {
    pub(crate) frames: Vec<String>,
}

/// A provider's stream protocol, once authenticated. The driver ([`run`]) does the I/O, the
/// clock, batching and the faults; a protocol decides what a client's frame means and how a
/// data message looks on its wire.
pub(crate) trait Protocol: Send {
    /// The provider's name (the tally's key).
    fn provider(&self) -> &'static str;
    /// Which minutes trade.
    fn calendar(&self) -> Calendar {
        Calendar::Sessions
    }
    /// Answers a client's text frame (subscribe, unsubscribe, ...).
    fn receive(&mut self, text: &str) -> Reply;
    /// What the connection receives now, per symbol.
    fn interest(&self) -> &[Interest];
    /// Appends `event` (about `interest()[event.symbol]`) as one JSON message.
    fn message(&self, event: &Event, out: &mut String);
    /// A data frame of messages already written, comma-separated.
    fn frame(&self, messages: &str) -> String;
    /// The heartbeat sent after a quiet spell.
    fn heartbeat(&self) -> Message;
    /// The frame telling a client it was too slow, when the protocol has one.
    fn too_slow(&self) -> Option<String> {
        None
    }
}

/// A text frame.
pub(crate) fn text(frame: String) -> Message {
    Message::Text(frame.into())
}

/// Why a connection ends.
enum End {
    /// Politely: a close frame.
    Close,
    /// Abruptly: the socket is dropped.
    Drop,
    /// Silence, then dropped.
    Stall,
}

/// Runs an authenticated connection until it ends: the client's frames go to `protocol`; the
/// tape's messages of its interest go out as the stream clock moves.
pub(crate) async fn run<P: Protocol>(
    mut socket: WebSocket,
    mut protocol: P,
    shared: Arc<Shared>,
    claim: Claim,
) {
    let mut stop = shared.stopping.subscribe();
    let mut feed = Feed::new(&shared, &protocol);
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let end = loop {
        tokio::select! {
            _ = stop.changed() => break End::Close,
            incoming = socket.recv() => {
                let frame = match incoming {
                    Some(Ok(Message::Text(t))) => t.as_str().to_owned(),
                    Some(Ok(Message::Binary(b))) => String::from_utf8_lossy(&b).into_owned(),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_))) => break End::Close,
                    Some(Err(_)) | None => break End::Drop,
                };
                let reply = protocol.receive(&frame);
                if !feed.send_all(&mut socket, reply.frames).await {
                    break End::Drop;
                }
            }
            _ = ticker.tick() => {
                if let Some(end) = feed.catch_up(&mut socket, &protocol).await {
                    break end;
                }
                if feed.last_sent.elapsed() >= shared.config.stream.heartbeat
                    && !feed.send(&mut socket, protocol.heartbeat()).await
                {
                    break End::Drop;
                }
            }
        }
    };
    match end {
        End::Close => {
            let _ = socket.send(Message::Close(None)).await;
        }
        End::Drop => {}
        End::Stall => {
            tokio::select! {
                () = tokio::time::sleep(STALL_HOLD) => {}
                _ = stop.changed() => {}
            }
        }
    }
    drop(socket);
    drop(claim);
}

/// A connection's side of the tape: where it is, what it has sent, its faults.
struct Feed {
    shared: Arc<Shared>,
    provider: &'static str,
    tape: Tape,
    cursor: Timestamp,
    sent: u64,
    last_sent: Instant,
    buffer: String,
}

impl Feed {
    fn new<P: Protocol>(shared: &Arc<Shared>, protocol: &P) -> Self {
        let config = shared.config.stream;
        Self {
            shared: Arc::clone(shared),
            provider: protocol.provider(),
            tape: Tape::new(protocol.calendar(), config.trades_per_minute),
            cursor: shared.timeline.now(),
            sent: 0,
            last_sent: Instant::now(),
            buffer: String::new(),
        }
    }

    /// Sends one frame, giving up on a client too slow to take it. Whether it went.
    async fn send(&mut self, socket: &mut WebSocket, message: Message) -> bool {
        match tokio::time::timeout(SLOW_CLIENT, socket.send(message)).await {
            Ok(Ok(())) => {
                self.last_sent = Instant::now();
                true
            }
            Ok(Err(_)) | Err(_) => false,
        }
    }

    async fn send_all(&mut self, socket: &mut WebSocket, frames: Vec<String>) -> bool {
        for frame in frames {
            if !self.send(socket, text(frame)).await {
                return false;
            }
        }
        true
    }

    /// Sends everything from the cursor to the stream clock's now, a minute at most per step;
    /// how the connection ends, if a fault or the client ends it.
    async fn catch_up<P: Protocol>(&mut self, socket: &mut WebSocket, protocol: &P) -> Option<End> {
        let now = self.shared.timeline.now();
        while self.cursor < now {
            let until = self.tape.step(self.cursor, now);
            let events = self.tape.events(protocol.interest(), self.cursor, until);
            self.cursor = until;
            self.shared.timeline.sent_until(until);
            for batch in events.chunks(MAX_BATCH) {
                if let Some(end) = self.send_batch(socket, protocol, batch).await {
                    return Some(end);
                }
            }
        }
        None
    }

    /// One data frame, through the faults.
    async fn send_batch<P: Protocol>(
        &mut self,
        socket: &mut WebSocket,
        protocol: &P,
        batch: &[Event],
    ) -> Option<End> {
        let faults = self.shared.config.stream.faults;
        if self.shared.dice.hit(faults.disconnect_rate) {
            return Some(End::Drop);
        }
        // The counted faults: the first limit reached ends the connection, exactly there.
        let drop_at = faults.disconnect_after.unwrap_or(u64::MAX);
        let stall_at = faults.stall_after.unwrap_or(u64::MAX);
        let limit = drop_at.min(stall_at);
        let room = usize::try_from(limit.saturating_sub(self.sent)).unwrap_or(usize::MAX);
        let take = batch.len().min(room);
        if take > 0 {
            self.buffer.clear();
            for event in batch.iter().take(take) {
                if !self.buffer.is_empty() {
                    self.buffer.push(',');
                }
                protocol.message(event, &mut self.buffer);
            }
            let mut frame = protocol.frame(&self.buffer);
            if self.shared.dice.hit(faults.malformed_rate) {
                frame = first_half(frame);
            }
            if !self.send(socket, text(frame)).await {
                if let Some(frame) = protocol.too_slow() {
                    let _ =
                        tokio::time::timeout(Duration::from_millis(100), socket.send(text(frame)))
                            .await;
                }
                return Some(End::Drop);
            }
            let n = u64::try_from(take).unwrap_or(u64::MAX);
            self.sent = self.sent.saturating_add(n);
            self.shared
                .streams
                .tally(self.provider, |t| t.messages = t.messages.saturating_add(n));
        }
        if self.sent >= limit {
            return Some(if drop_at <= stall_at {
                End::Drop
            } else {
                End::Stall
            });
        }
        None
    }
}

/// The first half of `frame` (cut at a character boundary).
fn first_half(frame: String) -> String {
    let mut cut = frame.len() / 2;
    while !frame.is_char_boundary(cut) {
        cut -= 1;
    }
    frame.get(..cut).unwrap_or("").to_owned()
}
