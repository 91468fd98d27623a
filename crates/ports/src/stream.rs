//! The stream port: live trades, quotes and minute bars over one provider connection.
//!
//! A [`StreamSource`] opens connections; a [`StreamConnection`] is one authenticated
//! connection that is told what to receive ([`subscribe`](StreamConnection::subscribe),
//! [`unsubscribe`](StreamConnection::unsubscribe)) and yields typed events
//! ([`next`](StreamConnection::next)). Everything above one connection (reconnecting with
//! backoff, resubscribing, sharing one upstream connection between many readers, bounded
//! buffers and what is dropped when a reader falls behind) is the core's, the same for every
//! provider.
//!
//! The contract every adapter honours:
//! - **Typed or refused.** A frame becomes domain events (exact decimals, UTC instants), or the
//!   connection answers [`FetchError::Malformed`]; a frame is never silently skipped. Frames
//!   that carry no market data (heartbeats, acknowledgements already reported) yield nothing.
//! - **Errors classified** as the HTTP adapters classify them: credentials refused →
//!   `Unauthorized`; a plan or feed without streaming, or without a symbol → `EntitlementDenied`;
//!   too many connections for the key → `RateLimited` (another process holds the connection:
//!   retry later); too many symbols → `InvalidRequest`; a dead or dropped connection →
//!   `Timeout` / `Transport`; a server error → `ProviderUnavailable`.
//! - **Dead connections are found.** `next` answers `Timeout` when nothing at all (no frame,
//!   no pong) arrived for the connection's idle limit; the adapter pings to make sure a healthy
//!   quiet connection is never taken for a dead one.
//! - **Cancel-safe reads.** `next` may be dropped unfinished (the core selects between it and
//!   its own work) without losing a frame.
//! - **Never the key.** Credentials go in the authentication message or header only: never in
//!   an error, a log line or `Debug`.

use std::fmt::Debug;
use std::time::Duration;

use async_trait::async_trait;
use stockdata_domain::stream::{Channel, StreamEvent, Subscription};
use stockdata_domain::{FetchError, ProviderId};

/// What a stream source can do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamCapabilities {
    /// The channels it streams.
    pub channels: Vec<Channel>,
    /// How many symbols one connection may subscribe to (over every channel), when limited.
    pub max_symbols: Option<usize>,
    /// How many connections one key may hold at once (Alpaca's free plan: one), when limited.
    /// The core opens one per process and shares it.
    pub max_connections: Option<u32>,
    /// How long a connection may stay silent before it is taken for dead.
    pub idle_timeout: Duration,
}

/// Opens connections to one provider's stream.
#[async_trait]
pub trait StreamSource: Send + Sync + Debug {
    /// The provider.
    fn provider(&self) -> ProviderId;

    /// What it streams, and its limits.
    fn stream_capabilities(&self) -> StreamCapabilities;

    /// Opens one connection and authenticates it. It receives nothing until subscribed.
    ///
    /// # Errors
    /// Classified as the module says: `Unauthorized`, `RateLimited` (connection limit),
    /// `EntitlementDenied`, `Timeout`, `Transport`, `ProviderUnavailable`, `Malformed`.
    async fn connect(&self) -> Result<Box<dyn StreamConnection>, FetchError>;
}

/// One authenticated connection.
#[async_trait]
pub trait StreamConnection: Send + Debug {
    /// Adds `add` to what the connection receives. Where the protocol acknowledges, the
    /// acknowledgement is waited for (events arriving meanwhile are kept for `next`) and also
    /// reported by `next` as a `Subscribed` status.
    ///
    /// # Errors
    /// `InvalidRequest` (too many symbols, a channel this source lacks), `EntitlementDenied`,
    /// or a broken connection.
    async fn subscribe(&mut self, add: &Subscription) -> Result<(), FetchError>;

    /// Stops receiving `remove`.
    ///
    /// # Errors
    /// A broken connection.
    async fn unsubscribe(&mut self, remove: &Subscription) -> Result<(), FetchError>;

    /// The events of the next frame (possibly none: a heartbeat). Cancel-safe.
    ///
    /// # Errors
    /// The connection is broken or closed (`Timeout`, `Transport`, `ProviderUnavailable`), or
    /// the provider reported an error (classified as the module says), or a frame did not have
    /// the documented shape (`Malformed`). After an error other than `Malformed` the connection
    /// is not used again.
    async fn next(&mut self) -> Result<Vec<StreamEvent>, FetchError>;
}
