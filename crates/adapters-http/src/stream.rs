//! The websocket plumbing every streaming adapter shares: connecting over rustls with a time
//! limit, pinging on an interval, taking a connection that stays silent past its idle limit for
//! dead, reading frames cancel-safely, classifying refused upgrades, close frames and dropped
//! connections, and keeping credentials out of every error, log line and `Debug`.
//!
//! Adapters only build the URL and headers, speak their provider's messages and map them into
//! domain events (JSON text frames only: no provider's msgpack encoding is asked for).

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use reqwest::header::{HeaderName, HeaderValue};
use secrecy::{ExposeSecret as _, SecretString};
use stockdata_domain::{FetchError, ProviderId};
use tokio::net::TcpStream;
use tokio::time::{Instant, Interval, MissedTickBehavior};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Bytes, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};
use url::Url;

use crate::transport::{LogSafeUrl, provider_message, redact_secrets};

/// Timeouts and limits of one provider's stream connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamConfig {
    /// Time allowed to connect: TCP, TLS and the websocket upgrade.
    pub connect_timeout: Duration,
    /// Time allowed for the provider's answer to authentication or a subscription.
    pub reply_timeout: Duration,
    /// How often the client pings: well inside `idle_timeout`, so a healthy quiet connection
    /// always answers in time.
    pub ping_interval: Duration,
    /// How long a connection may stay silent (no frame, no pong) before it is taken for dead.
    pub idle_timeout: Duration,
    /// The largest message accepted; a larger one breaks the connection.
    pub max_message_bytes: usize,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            // Alpaca closes a connection that has not authenticated within 10 s.
            reply_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            max_message_bytes: 16 * 1024 * 1024,
        }
    }
}

/// The TLS client configuration of every stream: ring and the webpki roots, chosen explicitly
/// (as reqwest's rustls client is), so no process-wide crypto provider has to be installed.
fn tls() -> Result<Arc<rustls::ClientConfig>, FetchError> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    if let Some(config) = CONFIG.get() {
        return Ok(config.clone());
    }
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| FetchError::Transport {
        detail: format!("cannot set up TLS for streams: {e}"),
    })?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(CONFIG.get_or_init(|| Arc::new(config)).clone())
}

/// One websocket connection to a provider. Every read goes through [`recv`](Self::recv), which
/// pings, watches the idle limit and classifies the end of the connection; once the connection
/// is broken every call answers the same error.
pub(crate) struct WsSocket {
    provider: ProviderId,
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    ping: Interval,
    idle_timeout: Duration,
    write_timeout: Duration,
    last_heard: Instant,
    broken: Option<FetchError>,
    secrets: Vec<Arc<SecretString>>,
}

impl fmt::Debug for WsSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsSocket")
            .field("provider", &self.provider)
            .field("idle_timeout", &self.idle_timeout)
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

/// What one pass of the read loop saw.
enum Step {
    Message(Option<Result<Message, tungstenite::Error>>),
    Ping,
    Idle,
}

impl WsSocket {
    /// Connects to `url` (which may carry a credential in its query, as Finnhub's does) with
    /// `headers` on the upgrade request, within `config.connect_timeout`. `classify` turns a
    /// refused upgrade (status, body) into the provider's error; 429, 408 and 5xx are
    /// classified here. `secrets` are redacted from every error text.
    pub(crate) async fn connect(
        provider: ProviderId,
        url: &Url,
        headers: Vec<(HeaderName, HeaderValue)>,
        config: &StreamConfig,
        secrets: Vec<Arc<SecretString>>,
        classify: impl Fn(u16, &[u8]) -> FetchError,
    ) -> Result<Self, FetchError> {
        let shown = LogSafeUrl::new(url.clone());
        let redact = |text: &str| {
            let list: Vec<&str> = secrets.iter().map(|s| s.expose_secret()).collect();
            redact_secrets(text, &list)
        };
        let mut request =
            url.as_str()
                .into_client_request()
                .map_err(|e| FetchError::InvalidRequest {
                    reason: format!(
                        "{provider}: the stream URL {shown} cannot be requested: {}",
                        redact(&e.to_string())
                    ),
                })?;
        for (name, value) in headers {
            request.headers_mut().insert(name, value);
        }
        let ws_config = WebSocketConfig::default()
            .max_message_size(Some(config.max_message_bytes))
            .max_frame_size(Some(config.max_message_bytes));
        let connecting = tokio_tungstenite::connect_async_tls_with_config(
            request,
            Some(ws_config),
            true,
            Some(Connector::Rustls(tls()?)),
        );
        let (ws, _response) = match tokio::time::timeout(config.connect_timeout, connecting).await {
            Err(_) => {
                tracing::warn!(%provider, url = %shown, "stream connect timed out");
                return Err(FetchError::Timeout);
            }
            Ok(Err(tungstenite::Error::Http(response))) => {
                let status = response.status().as_u16();
                let body = response.body().as_deref().unwrap_or_default();
                let err = match status {
                    429 => FetchError::RateLimited { retry_after: None },
                    408 | 500..=599 => FetchError::ProviderUnavailable {
                        status: Some(status),
                    },
                    _ => classify(status, body),
                };
                tracing::warn!(%provider, url = %shown, status, error = %err, "stream refused");
                return Err(err);
            }
            Ok(Err(e)) => {
                let err = FetchError::Transport {
                    detail: format!(
                        "{provider}: cannot open the stream: {}",
                        redact(&error_text(&e))
                    ),
                };
                tracing::warn!(%provider, url = %shown, error = %err, "stream connect failed");
                return Err(err);
            }
            Ok(Ok(connected)) => connected,
        };
        tracing::debug!(%provider, url = %shown, "stream connected");
        let mut ping =
            tokio::time::interval_at(Instant::now() + config.ping_interval, config.ping_interval);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Ok(Self {
            provider,
            ws,
            ping,
            idle_timeout: config.idle_timeout,
            write_timeout: config.reply_timeout,
            last_heard: Instant::now(),
            broken: None,
            secrets,
        })
    }

    fn redact(&self, text: &str) -> String {
        let list: Vec<&str> = self.secrets.iter().map(|s| s.expose_secret()).collect();
        provider_message(text, &list)
    }

    /// Marks the connection broken by `err` and answers it.
    pub(crate) fn fail(&mut self, err: FetchError) -> FetchError {
        self.broken = Some(err.clone());
        err
    }

    /// The next text or binary message, as received. Cancel-safe: dropping the future loses
    /// no message (the websocket stream keeps a partly read one, and the idle clock runs from
    /// the last thing heard, not from the call).
    ///
    /// # Errors
    /// `Timeout` after the idle limit without a frame or a pong; `ProviderUnavailable` for a
    /// close frame; `Transport` for a dropped connection or a broken protocol.
    pub(crate) async fn recv(&mut self) -> Result<Bytes, FetchError> {
        loop {
            if let Some(err) = &self.broken {
                return Err(err.clone());
            }
            let deadline = self.last_heard + self.idle_timeout;
            let step = tokio::select! {
                biased;
                message = self.ws.next() => Step::Message(message),
                _ = self.ping.tick() => Step::Ping,
                () = tokio::time::sleep_until(deadline) => Step::Idle,
            };
            match step {
                Step::Message(Some(Ok(message))) => {
                    if let Some(bytes) = self.received(message)? {
                        return Ok(bytes);
                    }
                }
                Step::Message(Some(Err(e))) => return Err(self.read_error(&e)),
                Step::Message(None) => {
                    tracing::warn!(provider = %self.provider, "stream connection dropped");
                    return Err(self.fail(FetchError::Transport {
                        detail: format!(
                            "{}: the stream connection was dropped without a close frame",
                            self.provider
                        ),
                    }));
                }
                Step::Ping => {
                    // A ping is liveness only: failing to send one is found by the next read.
                    let _ = self.write(Message::Ping(Bytes::new())).await;
                }
                Step::Idle => {
                    tracing::warn!(
                        provider = %self.provider,
                        idle_ms = u64::try_from(self.idle_timeout.as_millis()).unwrap_or(u64::MAX),
                        "stream silent past its idle limit: taken for dead"
                    );
                    return Err(self.fail(FetchError::Timeout));
                }
            }
        }
    }

    /// One message read: data is handed over, control frames only prove the connection alive.
    fn received(&mut self, message: Message) -> Result<Option<Bytes>, FetchError> {
        self.last_heard = Instant::now();
        match message {
            Message::Text(text) => Ok(Some(Bytes::from(text))),
            Message::Binary(bytes) => Ok(Some(bytes)),
            // tungstenite queues the pong and sends it with the next read.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => Ok(None),
            Message::Close(frame) => {
                let (code, reason) = frame.map_or((None, String::new()), |f| {
                    (Some(u16::from(f.code)), self.redact(&f.reason))
                });
                // Debug: whoever owns the connection says what follows (a reconnect is logged
                // there at warn; a close at shutdown is no news).
                tracing::debug!(
                    provider = %self.provider,
                    code,
                    reason = %reason,
                    "the provider closed the stream"
                );
                Err(self.fail(FetchError::ProviderUnavailable { status: None }))
            }
        }
    }

    fn read_error(&mut self, e: &tungstenite::Error) -> FetchError {
        let detail = match e {
            tungstenite::Error::Capacity(_) => {
                format!(
                    "{}: a stream message exceeded the size limit",
                    self.provider
                )
            }
            other => format!(
                "{}: the stream connection failed: {}",
                self.provider,
                self.redact(&error_text(other))
            ),
        };
        tracing::warn!(provider = %self.provider, error = %detail, "stream read failed");
        self.fail(FetchError::Transport { detail })
    }

    /// Sends one text message (a subscription, an authentication).
    ///
    /// # Errors
    /// `Timeout` or `Transport` when it cannot be sent; the connection is then broken.
    pub(crate) async fn send_text(&mut self, text: String) -> Result<(), FetchError> {
        if let Some(err) = &self.broken {
            return Err(err.clone());
        }
        self.write(Message::text(text)).await
    }

    async fn write(&mut self, message: Message) -> Result<(), FetchError> {
        match tokio::time::timeout(self.write_timeout, self.ws.send(message)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(self.read_error(&e)),
            Err(_) => Err(self.fail(FetchError::Timeout)),
        }
    }
}

/// A tungstenite error and its sources, one line. Never holds the URL: tungstenite's errors
/// name no request, and the callers redact secrets anyway.
fn error_text(err: &tungstenite::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// `[]`-free view of a provider's symbol list for logs: at most 20 names.
pub(crate) fn preview<'a>(symbols: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for (i, s) in symbols.into_iter().enumerate() {
        if i == 20 {
            out.push_str(",…");
            break;
        }
        if i > 0 {
            out.push(',');
        }
        out.push_str(s);
    }
    out
}
