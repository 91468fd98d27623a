//! Live streams: trades, quotes and minute bars from the providers' websocket streams, for any
//! number of readers in one process.
//!
//! [`Streams`] holds one hub per stream source: one upstream connection per provider and
//! process (Alpaca's free plan allows one), opened when the first reader arrives, subscribed to
//! the union of what its readers want, reconnected with capped, jittered backoff and
//! resubscribed when it breaks (a dead connection is found by the adapter's idle timeout), and
//! closed when the last reader leaves. Each channel of a subscription goes to the first source,
//! in routing order, that streams it.
//!
//! Every reader has a bounded buffer of its own, so a slow reader never stalls the hub or the
//! other readers. What a full buffer does is the reader's [`Overflow`] policy: drop the oldest
//! (counted in [`StreamStats`], logged once per burst, and reported to the reader as a
//! `Dropped` status before what follows) or disconnect the reader with a last `Closed` status.
//! Memory never grows without bound and nothing is dropped silently.

mod hub;
mod ring;

use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use stockdata_domain::stream::{Channel, StreamEvent, StreamState, StreamStatus, Subscription};
use stockdata_domain::{FetchError, ProviderId};
use stockdata_ports::Clock;
use stockdata_ports::stream::{StreamCapabilities, StreamSource};

use self::hub::Hub;
pub use self::hub::{Reconnect, StreamStats, StreamStatsSnapshot};
pub use self::ring::Overflow;
use self::ring::{End, Popped, Ring};

/// One event as readers get it: a single allocation shared by every reader it goes to, whose
/// JSON record is made at most once for all of them (a server fanning one trade out to
/// hundreds of clients serializes it once).
#[derive(Debug)]
pub struct LiveEvent {
    event: StreamEvent,
    json: OnceLock<Box<str>>,
}

impl LiveEvent {
    pub(crate) fn new(event: StreamEvent) -> Arc<Self> {
        Arc::new(Self {
            event,
            json: OnceLock::new(),
        })
    }

    /// The event.
    #[must_use]
    pub fn event(&self) -> &StreamEvent {
        &self.event
    }

    /// The event's record ([`StreamRecord`](crate::records::StreamRecord), docs/output.md)
    /// as one line of JSON, made on the first call.
    #[must_use]
    pub fn json(&self) -> &str {
        self.json.get_or_init(|| {
            serde_json::to_string(&crate::records::StreamRecord::from(&self.event))
                .unwrap_or_else(|e| {
                    // A record of strings and numbers always serializes; were it ever not to,
                    // the reader is told one event was dropped rather than losing it silently.
                    tracing::warn!("a stream event could not be serialized: {e}");
                    let at = match &self.event {
                        StreamEvent::Trade(t) => t.at,
                        StreamEvent::Cancel(c) => c.at,
                        StreamEvent::Correction(c) => c.at,
                        StreamEvent::Quote(q) => q.at,
                        StreamEvent::Bar(b) => b.start,
                        StreamEvent::Status(s) => s.at,
                    };
                    serde_json::json!({
                        "type": "status",
                        "provider": LOCAL.to_string(),
                        "at": at.to_string(),
                        "state": "dropped",
                        "dropped": 1,
                    })
                    .to_string()
                })
                .into_boxed_str()
        })
    }
}

impl PartialEq for LiveEvent {
    fn eq(&self, other: &Self) -> bool {
        self.event == other.event
    }
}

impl Eq for LiveEvent {}

impl Deref for LiveEvent {
    type Target = StreamEvent;

    fn deref(&self) -> &StreamEvent {
        &self.event
    }
}

/// How one reader is buffered.
#[derive(Debug, Clone, Copy)]
pub struct ReaderOptions {
    /// Events buffered at most.
    pub buffer: usize,
    /// What a full buffer does.
    pub overflow: Overflow,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        Self {
            buffer: 65_536,
            overflow: Overflow::DropOldest,
        }
    }
}

/// Every stream source of one instance, and their shared connections.
#[derive(Debug)]
pub struct Streams {
    hubs: Vec<(Arc<Hub>, StreamCapabilities)>,
    clock: Arc<dyn Clock>,
}

impl Streams {
    /// `sources` in routing order: each channel goes to the first that streams it.
    #[must_use]
    pub fn new(
        sources: Vec<Arc<dyn StreamSource>>,
        clock: Arc<dyn Clock>,
        reconnect: Reconnect,
    ) -> Self {
        let hubs = sources
            .into_iter()
            .map(|source| {
                let capabilities = source.stream_capabilities();
                (
                    Arc::new(Hub::new(source, Arc::clone(&clock), reconnect)),
                    capabilities,
                )
            })
            .collect();
        Self { hubs, clock }
    }

    /// Every event marked synthetic: the sources are a sandbox's (`--sandbox`).
    #[must_use]
    pub fn marked_synthetic(self) -> Self {
        for (hub, _) in &self.hubs {
            hub.synthetic
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        self
    }

    /// No source is configured.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.hubs.is_empty()
    }

    /// Each source's provider and capabilities, in routing order.
    #[must_use]
    pub fn providers(&self) -> Vec<(ProviderId, StreamCapabilities)> {
        self.hubs
            .iter()
            .map(|(hub, caps)| (hub.provider().clone(), caps.clone()))
            .collect()
    }

    /// Every channel some source streams, in [`Channel::ALL`] order: what a reader gets when it
    /// names none.
    #[must_use]
    pub fn channels(&self) -> Vec<Channel> {
        Channel::ALL
            .into_iter()
            .filter(|c| self.hubs.iter().any(|(_, caps)| caps.channels.contains(c)))
            .collect()
    }

    /// Which provider streams which part of `subscription`.
    ///
    /// # Errors
    /// `InvalidRequest` when nothing is asked, when no source streams a channel asked for, or
    /// when a source would be asked for more symbols than one connection may carry (counting
    /// what this process streams from it already); the message says what to do.
    pub fn plan(
        &self,
        subscription: &Subscription,
    ) -> Result<Vec<(ProviderId, Subscription)>, FetchError> {
        Ok(self
            .assign(subscription)?
            .into_iter()
            .map(|(hub, part)| (hub.provider().clone(), part))
            .collect())
    }

    fn assign(
        &self,
        subscription: &Subscription,
    ) -> Result<Vec<(Arc<Hub>, Subscription)>, FetchError> {
        if subscription.is_empty() {
            return Err(FetchError::InvalidRequest {
                reason: "nothing to stream: name at least one symbol and one of trades, quotes, \
                         bars"
                    .to_owned(),
            });
        }
        let mut parts: Vec<(&Arc<Hub>, &StreamCapabilities, Subscription)> = Vec::new();
        for channel in Channel::ALL {
            let symbols = subscription.channel(channel);
            if symbols.is_empty() {
                continue;
            }
            let Some((hub, caps)) = self
                .hubs
                .iter()
                .find(|(_, caps)| caps.channels.contains(&channel))
            else {
                return Err(FetchError::InvalidRequest {
                    reason: format!(
                        "no configured provider streams {channel}: {}",
                        who_streams(channel)
                    ),
                });
            };
            let mut part = Subscription::default();
            part.channel_mut(channel).extend(symbols.iter().cloned());
            match parts.iter_mut().find(|(h, _, _)| Arc::ptr_eq(h, hub)) {
                Some((_, _, have)) => have.extend(&part),
                None => parts.push((hub, caps, part)),
            }
        }
        for (hub, caps, part) in &parts {
            let Some(max) = caps.max_symbols else {
                continue;
            };
            let mut total = hub.wanted();
            let before = total.symbols().len();
            total.extend(part);
            let after = total.symbols().len();
            if after > max {
                return Err(FetchError::InvalidRequest {
                    reason: format!(
                        "{} streams at most {max} symbols on one connection; this would make \
                         {after} ({before} already streamed by this process): ask for fewer",
                        hub.provider()
                    ),
                });
            }
        }
        Ok(parts
            .into_iter()
            .map(|(hub, _, part)| (Arc::clone(hub), part))
            .collect())
    }

    /// A reader of `subscription`. Its events start once the provider's connection is up;
    /// dropping it unsubscribes.
    ///
    /// # Errors
    /// As [`plan`](Self::plan).
    pub fn open(
        &self,
        subscription: Subscription,
        options: ReaderOptions,
    ) -> Result<Reader, FetchError> {
        let parts = self.assign(&subscription)?;
        let ring = Arc::new(Ring::new(options.buffer, options.overflow));
        let joined = parts
            .into_iter()
            .map(|(hub, part)| {
                let id = hub.add(part, Arc::clone(&ring));
                (hub, id)
            })
            .collect();
        Ok(Reader {
            hubs: joined,
            ring,
            clock: Arc::clone(&self.clock),
            done: false,
            behind: false,
        })
    }

    /// Each source's counters.
    #[must_use]
    pub fn stats(&self) -> Vec<(ProviderId, StreamStatsSnapshot)> {
        self.hubs
            .iter()
            .map(|(hub, _)| (hub.provider().clone(), hub.stats.snapshot()))
            .collect()
    }
}

/// Who could stream `channel`, for a message.
fn who_streams(channel: Channel) -> String {
    format!(
        "configure a provider that streams {channel}: {} (`stockdata providers` says what each \
         streams)",
        crate::registry::streaming_providers()
    )
}

/// One reader of live events. Dropping it unsubscribes what it alone wanted.
#[derive(Debug)]
pub struct Reader {
    hubs: Vec<(Arc<Hub>, u64)>,
    ring: Arc<Ring>,
    clock: Arc<dyn Clock>,
    done: bool,
    /// Dropping since it last found its buffer empty (a burst, logged once).
    behind: bool,
}

/// The provider named on what a reader's own buffer reports (`Dropped`, a slow reader's
/// `Closed`): stockdata itself, not a provider.
const LOCAL: ProviderId = ProviderId::from_static("stockdata");

impl Reader {
    /// The next event: market data, or a status (connected, subscribed, reconnecting, events
    /// dropped because this reader fell behind, closed). `None` once the stream has ended.
    /// Cancel-safe.
    pub async fn next(&mut self) -> Option<Arc<LiveEvent>> {
        if self.done {
            return None;
        }
        loop {
            match self.ring.pop() {
                Popped::Event(event) => return Some(event),
                Popped::Dropped(dropped) => {
                    // Logged once per burst: until this reader has caught up (found its
                    // buffer empty), later drops are only counted and reported to it.
                    if !self.behind {
                        self.behind = true;
                        tracing::warn!(
                            dropped,
                            "a stream reader fell behind: events are being dropped, oldest \
                             first (each drop is reported in the stream as a `dropped` status)"
                        );
                    }
                    return Some(self.local(StreamState::Dropped { dropped }));
                }
                Popped::End(End::Overflowed { capacity }) => {
                    self.done = true;
                    tracing::warn!(capacity, "a stream reader fell behind: disconnected");
                    return Some(self.local(StreamState::Closed {
                        reason: Some(FetchError::Transport {
                            detail: format!(
                                "slow reader: more than {capacity} events waited for it, so it \
                                 was disconnected; read faster or ask for fewer symbols"
                            ),
                        }),
                    }));
                }
                Popped::End(End::Upstream) => {
                    self.done = true;
                    return None;
                }
                Popped::Empty => {
                    if self.behind {
                        self.behind = false;
                        tracing::info!("a stream reader caught up");
                    }
                    self.ring.wait().await;
                }
            }
        }
    }

    fn local(&self, state: StreamState) -> Arc<LiveEvent> {
        LiveEvent::new(StreamEvent::Status(StreamStatus {
            provider: LOCAL,
            at: self.clock.now(),
            state,
        }))
    }

    /// Events dropped for this reader so far.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.ring.dropped()
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        for (hub, id) in &self.hubs {
            hub.remove(*id);
        }
    }
}
