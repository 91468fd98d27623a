//! One provider's upstream connection, shared by every reader in the process: connected while
//! anyone reads, subscribed to the union of what they want, reconnected with capped jittered
//! backoff and resubscribed when it breaks, and closed once the last reader leaves.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use stockdata_adapters_http::transport::RetryPolicy;
use stockdata_domain::stream::{Channel, StreamEvent, StreamState, StreamStatus, Subscription};
use stockdata_domain::{ErrorKind, FetchError, ProviderId, Symbol};
use stockdata_ports::Clock;
use stockdata_ports::stream::{StreamConnection, StreamSource};
use tokio::sync::Notify;
use tracing::Instrument as _;

use super::LiveEvent;
use super::ring::{End, Ring};

/// Counters of one provider's stream, since the process started.
#[derive(Debug, Default)]
pub struct StreamStats {
    /// Connections opened (the first included).
    pub connects: AtomicU64,
    /// Connections lost and attempted again.
    pub reconnects: AtomicU64,
    /// Market events received (trades, quotes, bars).
    pub received: AtomicU64,
    /// Events handed to readers' buffers (one event read by three readers counts three).
    pub delivered: AtomicU64,
    /// Events dropped because a reader fell behind.
    pub dropped: AtomicU64,
    /// Frames that did not have the documented shape (each reported, none skipped silently).
    pub malformed: AtomicU64,
    /// Readers now.
    pub readers: AtomicU64,
    /// Whether the connection is up now.
    pub connected: AtomicBool,
}

/// A copy of [`StreamStats`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct StreamStatsSnapshot {
    /// Connections opened.
    pub connects: u64,
    /// Reconnection attempts.
    pub reconnects: u64,
    /// Market events received.
    pub received: u64,
    /// Events handed to readers.
    pub delivered: u64,
    /// Events dropped for readers that fell behind.
    pub dropped: u64,
    /// Malformed frames.
    pub malformed: u64,
    /// Readers now.
    pub readers: u64,
    /// Connected now.
    pub connected: bool,
}

impl StreamStats {
    /// The current counts.
    #[must_use]
    pub fn snapshot(&self) -> StreamStatsSnapshot {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StreamStatsSnapshot {
            connects: get(&self.connects),
            reconnects: get(&self.reconnects),
            received: get(&self.received),
            delivered: get(&self.delivered),
            dropped: get(&self.dropped),
            malformed: get(&self.malformed),
            readers: get(&self.readers),
            connected: self.connected.load(Ordering::Relaxed),
        }
    }
}

/// How a hub reconnects.
#[derive(Debug, Clone, Copy)]
pub struct Reconnect {
    /// The first wait's ceiling (full jitter); each later one doubles.
    pub base: Duration,
    /// The largest wait.
    pub max: Duration,
}

impl Default for Reconnect {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(500),
            max: Duration::from_secs(30),
        }
    }
}

impl Reconnect {
    fn backoff(self, attempt: u32) -> Duration {
        RetryPolicy {
            base_delay: self.base,
            max_delay: self.max,
            ..RetryPolicy::default()
        }
        .backoff(attempt)
    }
}

/// Errors retrying cannot mend: the stream ends with them.
fn is_fatal(e: &FetchError) -> bool {
    matches!(
        e.kind(),
        ErrorKind::Unauthorized
            | ErrorKind::EntitlementDenied
            | ErrorKind::InvalidRequest
            | ErrorKind::UnknownSymbol
            | ErrorKind::Cancelled
    )
}

#[derive(Debug)]
struct Slot {
    subscription: Subscription,
    ring: Arc<Ring>,
}

#[derive(Debug, Default)]
struct Readers {
    next_id: u64,
    slots: HashMap<u64, Slot>,
    /// Who wants each (channel, symbol): rebuilt when readers come and go.
    routes: HashMap<(Channel, Symbol), Vec<Arc<Ring>>>,
    /// The union of what readers want.
    wanted: Subscription,
    /// Whether the hub's task runs.
    running: bool,
}

impl Readers {
    fn rebuild(&mut self) {
        self.routes.clear();
        self.wanted = Subscription::default();
        for slot in self.slots.values() {
            self.wanted.extend(&slot.subscription);
            for channel in Channel::ALL {
                for symbol in slot.subscription.channel(channel) {
                    self.routes
                        .entry((channel, symbol.clone()))
                        .or_default()
                        .push(Arc::clone(&slot.ring));
                }
            }
        }
    }
}

/// One provider's shared upstream connection.
#[derive(Debug)]
pub(crate) struct Hub {
    source: Arc<dyn StreamSource>,
    provider: ProviderId,
    clock: Arc<dyn Clock>,
    reconnect: Reconnect,
    readers: Mutex<Readers>,
    changed: Notify,
    pub(crate) stats: StreamStats,
    /// Every event is marked synthetic (a sandbox's stream).
    pub(crate) synthetic: AtomicBool,
}

impl Hub {
    pub(crate) fn new(
        source: Arc<dyn StreamSource>,
        clock: Arc<dyn Clock>,
        reconnect: Reconnect,
    ) -> Self {
        Self {
            provider: source.provider(),
            source,
            clock,
            reconnect,
            readers: Mutex::new(Readers::default()),
            changed: Notify::new(),
            stats: StreamStats::default(),
            synthetic: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Readers> {
        self.readers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// After readers came or went: the routes, the union wanted and the readers' count.
    fn resync(&self, readers: &mut Readers) {
        readers.rebuild();
        self.stats.readers.store(
            u64::try_from(readers.slots.len()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// The provider streamed.
    pub(crate) fn provider(&self) -> &ProviderId {
        &self.provider
    }

    /// What readers want now, all together.
    pub(crate) fn wanted(&self) -> Subscription {
        self.lock().wanted.clone()
    }

    /// Adds a reader of `subscription` with `ring`; starts the connection when it is the
    /// first. Answers the reader's id.
    pub(crate) fn add(self: &Arc<Self>, subscription: Subscription, ring: Arc<Ring>) -> u64 {
        let mut readers = self.lock();
        let id = readers.next_id;
        readers.next_id += 1;
        // A reader joining a live connection hears that it is live, as the first ones did.
        if self.stats.connected.load(Ordering::Relaxed) {
            ring.push(self.status(StreamState::Connected));
            self.stats.delivered.fetch_add(1, Ordering::Relaxed);
        }
        readers.slots.insert(id, Slot { subscription, ring });
        self.resync(&mut readers);
        let start = !readers.running;
        readers.running = true;
        drop(readers);
        if start {
            let hub = Arc::clone(self);
            let span = tracing::info_span!("stream", provider = %self.provider);
            tokio::spawn(async move { hub.run().await }.instrument(span));
        } else {
            self.changed.notify_one();
        }
        id
    }

    /// Removes reader `id`; the connection follows what is left (closed when nothing is).
    pub(crate) fn remove(&self, id: u64) {
        let mut readers = self.lock();
        if let Some(slot) = readers.slots.remove(&id) {
            slot.ring.end(End::Upstream);
        }
        self.resync(&mut readers);
        drop(readers);
        self.changed.notify_one();
    }

    fn status(&self, state: StreamState) -> Arc<LiveEvent> {
        LiveEvent::new(StreamEvent::Status(StreamStatus {
            provider: self.provider.clone(),
            at: self.clock.now(),
            state,
        }))
    }

    /// Hands `event` to every reader that wants it (every reader, for a status), quietly:
    /// the rings that owe their reader a wake are added to `owed`.
    fn route(&self, readers: &Readers, event: Arc<LiveEvent>, owed: &mut Vec<Arc<Ring>>) {
        let mut push = |ring: &Arc<Ring>, event: Arc<LiveEvent>| {
            let (dropped, first) = ring.push_quiet(event);
            if first {
                owed.push(Arc::clone(ring));
            }
            self.stats.delivered.fetch_add(1, Ordering::Relaxed);
            if dropped > 0 {
                self.stats.dropped.fetch_add(dropped, Ordering::Relaxed);
            }
        };
        match (event.channel(), event.symbol()) {
            (Some(channel), Some(symbol)) => {
                if let Some(rings) = readers.routes.get(&(channel, symbol.clone())) {
                    for ring in rings {
                        push(ring, Arc::clone(&event));
                    }
                }
            }
            _ => {
                for slot in readers.slots.values() {
                    push(&slot.ring, Arc::clone(&event));
                }
            }
        }
    }

    fn broadcast(&self, state: StreamState) {
        let event = self.status(state);
        let mut owed = Vec::new();
        self.route(&self.lock(), event, &mut owed);
        wake(owed);
    }

    /// Ends every reader after `state` (the stream cannot go on).
    fn close_all(&self, state: StreamState) {
        let event = self.status(state);
        let mut readers = self.lock();
        let mut owed = Vec::new();
        self.route(&readers, event, &mut owed);
        wake(owed);
        for slot in readers.slots.values() {
            slot.ring.end(End::Upstream);
        }
        readers.slots.clear();
        self.resync(&mut readers);
        readers.running = false;
    }

    /// Whether the task should end now (no reader left); marks it stopped under the lock, so a
    /// reader arriving later starts a new one.
    fn stop_if_idle(&self) -> bool {
        let mut readers = self.lock();
        if readers.slots.is_empty() {
            readers.running = false;
            true
        } else {
            false
        }
    }

    /// The hub's task: connect, follow what readers want, reconnect, until no one reads.
    async fn run(self: Arc<Self>) {
        let mut attempt: u32 = 0;
        loop {
            if self.stop_if_idle() {
                return;
            }
            let outcome = match self.source.connect().await {
                Ok(conn) => {
                    self.stats.connects.fetch_add(1, Ordering::Relaxed);
                    self.stats.connected.store(true, Ordering::Relaxed);
                    self.broadcast(StreamState::Connected);
                    let outcome = self.serve(conn, &mut attempt).await;
                    self.stats.connected.store(false, Ordering::Relaxed);
                    outcome
                }
                Err(e) => Err(e),
            };
            let reason = match outcome {
                // The last reader left (the loop's first step ends the task, unless one came
                // back meanwhile).
                Ok(()) => continue,
                Err(e) if is_fatal(&e) => {
                    tracing::warn!(error = %e, "the stream ended: {e}");
                    self.close_all(StreamState::Closed { reason: Some(e) });
                    return;
                }
                Err(e) => e,
            };
            if self.stop_if_idle() {
                return;
            }
            attempt = attempt.saturating_add(1);
            let mut after = self.reconnect.backoff(attempt);
            // Another connection holds the key's one slot: it will not free in milliseconds.
            if reason.kind() == ErrorKind::RateLimited {
                after = after.max(self.reconnect.max / 4);
            }
            self.stats.reconnects.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(attempt, wait_ms = after.as_millis(), error = %reason,
                "the stream connection was lost: reconnecting");
            self.broadcast(StreamState::Reconnecting {
                attempt,
                after,
                reason,
            });
            tokio::time::sleep(after).await;
        }
    }

    /// One connection: subscribe to what is wanted, route what arrives, follow changes. `Ok`
    /// when the last reader left; the error that ended the connection otherwise.
    async fn serve(
        &self,
        mut conn: Box<dyn StreamConnection>,
        attempt: &mut u32,
    ) -> Result<(), FetchError> {
        let mut have = Subscription::default();
        loop {
            let wanted = {
                let readers = self.lock();
                (!readers.slots.is_empty()).then(|| readers.wanted.clone())
            };
            let Some(wanted) = wanted else {
                // Unsubscribing is a courtesy: the connection is dropped next anyway.
                if !have.is_empty() {
                    let _ = conn.unsubscribe(&have).await;
                }
                return Ok(());
            };
            let add = wanted.minus(&have);
            if !add.is_empty() {
                conn.subscribe(&add).await?;
                have.extend(&add);
            }
            let remove = have.minus(&wanted);
            if !remove.is_empty() {
                conn.unsubscribe(&remove).await?;
                have = have.minus(&remove);
            }
            tokio::select! {
                () = self.changed.notified() => {}
                next = conn.next() => match next {
                    Ok(events) => self.deliver(events, attempt),
                    Err(FetchError::Malformed { detail }) => {
                        let n = self.stats.malformed.fetch_add(1, Ordering::Relaxed) + 1;
                        tracing::warn!(malformed = n, "a stream frame was malformed: {detail}");
                    }
                    Err(e) => return Err(e),
                },
            }
        }
    }

    fn deliver(&self, events: Vec<StreamEvent>, attempt: &mut u32) {
        if events.is_empty() {
            return;
        }
        let synthetic = self.synthetic.load(Ordering::Relaxed);
        let readers = self.lock();
        let mut owed = Vec::new();
        for mut event in events {
            // The hub says when a connection is up (to every reader, joining ones included):
            // an adapter's own `Connected` would say it twice.
            if matches!(
                &event,
                StreamEvent::Status(StreamStatus {
                    state: StreamState::Connected,
                    ..
                })
            ) {
                continue;
            }
            if synthetic {
                mark_synthetic(&mut event);
            }
            if event.channel().is_some() {
                self.stats.received.fetch_add(1, Ordering::Relaxed);
                // Data flows again: the next loss starts its backoff afresh.
                *attempt = 0;
            }
            self.route(&readers, LiveEvent::new(event), &mut owed);
        }
        drop(readers);
        wake(owed);
    }
}

/// Wakes each reader once for what was routed to it quietly.
fn wake(owed: Vec<Arc<Ring>>) {
    for ring in owed {
        ring.wake();
    }
}

/// Marks a market event as made up by the sandbox, whatever its adapter said.
fn mark_synthetic(event: &mut StreamEvent) {
    match event {
        StreamEvent::Trade(t) => t.provenance.synthetic = true,
        StreamEvent::Cancel(c) => c.provenance.synthetic = true,
        StreamEvent::Correction(c) => c.provenance.synthetic = true,
        StreamEvent::Quote(q) => q.provenance.synthetic = true,
        StreamEvent::Bar(b) => b.provenance.synthetic = true,
        StreamEvent::Status(_) => {}
    }
}
