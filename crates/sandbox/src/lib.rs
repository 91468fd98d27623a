//! # stockdata-sandbox
//!
//! A provider simulator on loopback. It answers Alpha Vantage-, Finnhub-, Alpaca- and
//! serverless-shaped requests with the providers' own payload shapes, filled with
//! deterministic synthetic data (`market`), enforces each provider's quotas the way the
//! provider does (Alpha Vantage: HTTP 200 with an `Information` body; Finnhub and Alpaca: 429),
//! and injects faults on demand (error rate, latency, connection resets, malformed bodies).
//!
//! Every provider lives under its own prefix: `http://ADDR/alpha_vantage/query`,
//! `http://ADDR/finnhub/api/v1/...`, `http://ADDR/alpaca/v2/...`, `http://ADDR/serverless/v1/...`.
//! Sandbox data is never real: headlines say `[SANDBOX]`, links use a `.invalid` domain, and
//! serverless records carry `"synthetic": true`.

mod generator;
pub mod market;
mod providers;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use stockdata_ports::Clock;
use tokio::net::TcpListener;
use url::Url;

/// Injected faults, each a probability per request (0.0 to 1.0) except `latency`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Faults {
    /// Answer 503.
    pub error_rate: f64,
    /// Added to every answer.
    pub latency: Duration,
    /// Drop the connection without an answer.
    pub reset_rate: f64,
    /// Answer 200 with a truncated body.
    pub malformed_rate: f64,
}

/// Per-provider quotas, as the providers enforce them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quotas {
    /// Alpha Vantage requests per day (per key).
    pub alpha_vantage_per_day: u32,
    /// Alpha Vantage requests per second (per key).
    pub alpha_vantage_per_second: u32,
    /// Finnhub requests per minute (per key).
    pub finnhub_per_minute: u32,
    /// Finnhub requests per second (per key).
    pub finnhub_per_second: u32,
    /// Alpaca requests per minute (per key).
    pub alpaca_per_minute: u32,
}

impl Quotas {
    /// The providers' free tiers.
    pub const FREE: Quotas = Quotas {
        alpha_vantage_per_day: 25,
        alpha_vantage_per_second: 1,
        finnhub_per_minute: 60,
        finnhub_per_second: 30,
        alpaca_per_minute: 200,
    };
}

/// How the sandbox behaves.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Quotas to enforce; `None` turns them off.
    pub quotas: Option<Quotas>,
    /// Faults to inject.
    pub faults: Faults,
    /// The clock synthetic "now" comes from.
    pub clock: Arc<dyn Clock>,
    /// Seed of the fault dice.
    pub seed: u64,
}

impl SandboxConfig {
    /// Free-tier quotas, no faults.
    #[must_use]
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            quotas: Some(Quotas::FREE),
            faults: Faults::default(),
            clock,
            seed: 7,
        }
    }
}

/// A running sandbox.
#[derive(Debug)]
pub struct Sandbox {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    state: Arc<Inner>,
}

impl Sandbox {
    /// Binds `addr` (use port 0 for any free port) and serves in the background.
    ///
    /// # Errors
    /// The address cannot be bound.
    pub async fn start(config: SandboxConfig, addr: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Inner {
            dice: generator::Dice::new(config.seed),
            config,
            windows: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
        });
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
            if let Err(e) = served {
                tracing::warn!(error = %e, "sandbox server stopped");
            }
        });
        Ok(Self {
            addr,
            shutdown: Some(tx),
            task,
            state,
        })
    }

    /// The bound address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL to configure for `provider` (`alpha_vantage`, `finnhub`, `alpaca`,
    /// `serverless`).
    #[must_use]
    pub fn base_url(&self, provider: &str) -> Url {
        let text = format!("http://{}/{provider}", self.addr);
        Url::parse(&text).unwrap_or_else(|_| unreachable!("a socket address and a path make a URL"))
    }

    /// Requests answered so far.
    #[must_use]
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
    }

    /// Stops serving and waits for the server to finish.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }

    /// Serves until the process ends (for `stockdata sandbox serve`).
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// Fixed quota windows: (provider, key, window length in ms) → (window start, requests in it).
type Windows = HashMap<(String, String, u64), (Instant, u32)>;

struct Inner {
    config: SandboxConfig,
    windows: Mutex<Windows>,
    dice: generator::Dice,
    requests: AtomicU64,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Inner {
    fn now(&self) -> Timestamp {
        self.config.clock.now()
    }

    /// Counts a request against a fixed window; false when the window is full.
    fn allow(&self, provider: &str, key: &str, per: Duration, limit: u32) -> bool {
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let per_ms = u64::try_from(per.as_millis()).unwrap_or(u64::MAX);
        let entry = windows
            .entry((provider.to_owned(), key.to_owned(), per_ms))
            .or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= per {
            *entry = (Instant::now(), 0);
        }
        if entry.1 >= limit {
            return false;
        }
        entry.1 += 1;
        true
    }

    fn window_reset(&self, provider: &str, key: &str, per: Duration) -> Duration {
        let windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let per_ms = u64::try_from(per.as_millis()).unwrap_or(u64::MAX);
        windows
            .get(&(provider.to_owned(), key.to_owned(), per_ms))
            .map_or(Duration::ZERO, |(start, _)| {
                per.saturating_sub(start.elapsed())
            })
    }
}

/// What a provider handler answers.
pub(crate) struct Answer {
    status: StatusCode,
    headers: Vec<(&'static str, String)>,
    body: String,
    content_type: &'static str,
}

impl Answer {
    pub(crate) fn json(status: StatusCode, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
            content_type: "application/json",
        }
    }

    pub(crate) fn text(status: StatusCode, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
            content_type: "text/plain",
        }
    }

    pub(crate) fn header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// A parsed request.
pub(crate) struct Ask<'a> {
    pub(crate) path: &'a str,
    pub(crate) query: HashMap<String, String>,
    pub(crate) headers: &'a HeaderMap,
}

impl Ask<'_> {
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn handle(State(state): State<Arc<Inner>>, request: Request) -> Response {
    state.requests.fetch_add(1, Ordering::Relaxed);
    let faults = state.config.faults;
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    if state.dice.hit(faults.reset_rate) {
        // A body that fails mid-stream: the connection is dropped without a complete answer.
        let stream = futures_stream_error();
        return Response::builder()
            .status(200)
            .body(Body::from_stream(stream))
            .unwrap_or_default();
    }
    if state.dice.hit(faults.error_rate) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "<html><body>503 Service Unavailable (sandbox fault)</body></html>",
        )
            .into_response();
    }
    let query: HashMap<String, String> = request
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let path = request.uri().path().to_owned();
    let ask = Ask {
        path: &path,
        query,
        headers: request.headers(),
    };
    let answer = providers::dispatch(&state, &ask);
    let mut body = answer.body;
    if state.dice.hit(faults.malformed_rate) {
        body.truncate(body.len() / 2);
    }
    let mut response = Response::builder()
        .status(answer.status)
        .header("content-type", answer.content_type)
        .body(Body::from(body))
        .unwrap_or_default();
    for (name, value) in answer.headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, v);
        }
    }
    response
}

/// A body that fails before its first byte: the client sees the connection drop.
fn futures_stream_error()
-> impl futures_util::Stream<Item = Result<axum::body::Bytes, std::io::Error>> + Send + 'static {
    futures_util::stream::once(async {
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "sandbox fault: connection reset",
        ))
    })
}
