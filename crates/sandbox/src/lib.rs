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
//!
//! Layout: `dialect/` holds one module per provider (routes, query parsing, auth and quota rules,
//! wire shapes), nested under its prefix; `faults` is the one middleware in front of them all (a
//! stream's upgrade passes it: streams have their own faults); `quota` counts fixed windows;
//! `market` and `series` make the synthetic data from `generator`'s keyed draws: one path of
//! minutes per symbol and session, from which every bar width, the quotes and the snapshots are
//! aggregated, and nothing after the clock's now.
//!
//! # Streams
//!
//! Alpaca and Finnhub also stream over WebSocket, from the same minute path as their bars:
//! `ws://ADDR/alpaca/stream/v2/{iex,sip,test}` (Alpaca's market data stream v2 protocol) and
//! `ws://ADDR/finnhub/stream?token=KEY` (Finnhub's trades). A minute's streamed trades are its
//! bar taken apart (first at the open, last at the close, through the high and the low, sizes
//! summing to the volume, inside the minute), quotes bracket each trade, and the `b` bar sent at
//! each minute mark is the REST 1Min bar. Only the calendar's regular sessions trade; outside
//! them the streams send heartbeats only, and never anything after the stream clock's now. The
//! stream clock starts at the sandbox's now and runs at [`StreamConfig::speed`] (REST never lags
//! what was streamed); the trade rate, heartbeats, the free plans' connection and symbol
//! limits, and the stream faults (disconnects, refused authentication, malformed frames, stalls)
//! are [`SandboxConfig::stream`]'s. Layout: `stream` runs an authenticated connection (clock,
//! `stream::tape`, batching, faults); `dialect::alpaca_stream` and `dialect::finnhub_stream`
//! speak the protocols.
//!
//! Repeated slashes in a path are collapsed before routing (finnhub-python asks for
//! `/api/v1//quote`, which Finnhub serves), so `//` reaches the same endpoint as `/`.

// Panicking code on outside input is forbidden outside tests: every path and parameter comes
// from a client.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::panic,
    clippy::get_unwrap
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::string_slice,
        clippy::panic,
        reason = "unit tests fail by panicking"
    )
)]

mod dialect;
mod faults;
mod generator;
pub mod market;
mod quota;
mod series;
mod stream;
#[cfg(test)]
mod testing;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::Uri;
use axum::middleware::{Next, from_fn_with_state, map_request};
use axum::response::Response;
use jiff::Timestamp;
use stockdata_ports::Clock;
use tokio::net::TcpListener;
use url::Url;

pub use faults::Faults;
pub use quota::{Quotas, Tally};
pub use stream::{StreamConfig, StreamFaults, StreamLimits, StreamTally};

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
    /// How the streams behave: their clock, trade rate, limits and faults.
    pub stream: StreamConfig,
}

impl SandboxConfig {
    /// Free-tier quotas, no faults; streams in real time at each bar's own trade count.
    #[must_use]
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            quotas: Some(Quotas::FREE),
            faults: Faults::default(),
            clock,
            seed: 7,
            stream: StreamConfig::default(),
        }
    }
}

/// A running sandbox.
#[derive(Debug)]
pub struct Sandbox {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    state: Arc<Shared>,
}

impl Sandbox {
    /// The providers the sandbox speaks, each under its own prefix: the names
    /// [`Sandbox::base_url`] takes.
    pub const PROVIDERS: [&'static str; 4] = dialect::NAMES;

    /// Binds `addr` (use port 0 for any free port) and serves in the background.
    ///
    /// # Errors
    /// The address cannot be bound.
    pub async fn start(config: SandboxConfig, addr: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Shared::new(config));
        let app = app(Arc::clone(&state));
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
    /// `serverless`). The streams are under it too, with the `ws` scheme:
    /// `ws://ADDR/alpaca/stream/v2/{feed}` and `ws://ADDR/finnhub/stream?token=KEY`.
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

    /// Per provider, the requests its quotas admitted and refused so far.
    #[must_use]
    pub fn tally(&self) -> std::collections::BTreeMap<&'static str, Tally> {
        self.state.windows.tally()
    }

    /// Per provider, what its streams have done so far: connections open and made, data
    /// messages sent (a client that counted the same number dropped none).
    #[must_use]
    pub fn stream_tally(&self) -> std::collections::BTreeMap<&'static str, StreamTally> {
        self.state.streams.tallies()
    }

    /// The stream clock's now: where a stream connected now starts.
    #[must_use]
    pub fn stream_now(&self) -> Timestamp {
        self.state.timeline.now()
    }

    /// Stops serving (streams are closed with a close frame) and waits for the server to
    /// finish.
    pub async fn stop(mut self) {
        self.state.stopping.send_replace(true);
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

/// What every handler and middleware shares.
pub(crate) struct Shared {
    config: SandboxConfig,
    windows: quota::Windows,
    dice: generator::Dice,
    requests: AtomicU64,
    timeline: stream::Timeline,
    streams: stream::Registry,
    /// Turns `true` when the sandbox stops: open streams close.
    stopping: tokio::sync::watch::Sender<bool>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Shared {
    fn new(config: SandboxConfig) -> Self {
        Self {
            dice: generator::Dice::new(config.seed),
            timeline: stream::Timeline::new(config.clock.now(), config.stream.speed),
            config,
            windows: quota::Windows::default(),
            requests: AtomicU64::new(0),
            streams: stream::Registry::default(),
            stopping: tokio::sync::watch::Sender::new(false),
        }
    }

    /// Synthetic "now", from the configured clock, or later where a stream has sent beyond it.
    fn now(&self) -> Timestamp {
        self.timeline.rest_now(self.config.clock.now())
    }
}

/// The whole server: the dialects under their prefixes, behind the fault middleware, behind
/// the request counter (so faulted requests count too), behind the path normalization (a
/// router's own layers run after it has routed, so the normalizing router routes everything to
/// the real one).
fn app(shared: Arc<Shared>) -> Router {
    let stats_state = Arc::clone(&shared);
    let dialects = dialect::routes(&shared)
        .layer(from_fn_with_state(Arc::clone(&shared), faults::inject))
        .layer(from_fn_with_state(Arc::clone(&shared), count))
        .with_state(Arc::clone(&shared));
    let stats = stats_state;
    Router::new()
        .route(
            "/_sandbox/stats",
            axum::routing::get(move || {
                let shared = Arc::clone(&stats);
                async move { axum::Json(stats_body(&shared)) }
            }),
        )
        .fallback_service(dialects)
        .layer(map_request(normalize_path))
}

/// `GET /_sandbox/stats`: requests seen, per provider the requests its quotas admitted and
/// refused (a bot tested against the sandbox asserts it drew no 429), and per streaming provider
/// its connections and the data messages sent (a stream's reader compares its count).
fn stats_body(shared: &Shared) -> serde_json::Value {
    let providers: serde_json::Map<String, serde_json::Value> = shared
        .windows
        .tally()
        .into_iter()
        .map(|(p, t)| {
            let counts = serde_json::json!({ "admitted": t.admitted, "refused": t.refused });
            (p.to_owned(), counts)
        })
        .collect();
    let streams: serde_json::Map<String, serde_json::Value> = shared
        .streams
        .tallies()
        .into_iter()
        .map(|(p, t)| {
            let counts = serde_json::json!({
                "open": t.open, "connections": t.connections, "messages": t.messages,
            });
            (p.to_owned(), counts)
        })
        .collect();
    serde_json::json!({
        "requests": shared.requests.load(Ordering::Relaxed),
        "providers": providers,
        "streams": streams,
    })
}

/// The request with runs of `/` in its path collapsed to one (the query is left alone).
async fn normalize_path(mut request: Request) -> Request {
    let uri = request.uri();
    if uri.path().contains("//") {
        let mut path = String::with_capacity(uri.path().len());
        for c in uri.path().chars() {
            if !(c == '/' && path.ends_with('/')) {
                path.push(c);
            }
        }
        let path_and_query = match uri.query() {
            Some(q) => format!("{path}?{q}"),
            None => path,
        };
        let mut parts = uri.clone().into_parts();
        if let Ok(pq) = path_and_query.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(normal) = Uri::from_parts(parts) {
                *request.uri_mut() = normal;
            }
        }
    }
    request
}

async fn count(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    shared.requests.fetch_add(1, Ordering::Relaxed);
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};

    use stockdata_ports::FixedClock;

    use super::*;

    /// A blocking HTTP/1.1 GET over a real loopback socket: the status line.
    fn status_line(url: &Url) -> String {
        let addr = url.socket_addrs(|| None).unwrap()[0];
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        let request = format!(
            "GET {}?{} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n",
            url.path(),
            url.query().unwrap_or("")
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer.lines().next().unwrap_or("").to_owned()
    }

    #[tokio::test]
    async fn serves_every_provider_under_its_base_url() {
        let clock = Arc::new(FixedClock(testing::NOW.parse().unwrap()));
        let config = SandboxConfig {
            quotas: None,
            ..SandboxConfig::new(clock)
        };
        let sb = Sandbox::start(config, SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        assert_eq!(
            Sandbox::PROVIDERS,
            ["alpha_vantage", "finnhub", "alpaca", "serverless"]
        );
        let probes = [
            "query?function=GLOBAL_QUOTE&symbol=AAPL&apikey=k",
            "api/v1/quote?symbol=AAPL&token=k",
            "v1beta1/news?symbols=AAPL",
            "v1/quotes?symbols=AAPL",
        ];
        for (provider, probe) in Sandbox::PROVIDERS.into_iter().zip(probes) {
            let base = sb.base_url(provider);
            assert_eq!(base.as_str(), format!("http://{}/{provider}", sb.addr()));
            let url = Url::parse(&format!("{base}/{probe}")).unwrap();
            let line = tokio::task::spawn_blocking(move || status_line(&url))
                .await
                .unwrap();
            let want = if provider == "alpaca" { "401" } else { "200" };
            assert!(
                line.starts_with(&format!("HTTP/1.1 {want}")),
                "{provider}: {line}"
            );
        }
        assert_eq!(sb.requests(), 4);
        sb.stop().await;
    }
}
