//! `stockdata serve`: the serverless fetcher as a hardened HTTP service (`docs/openapi.yaml`),
//! backed by the fetchers, so fail-over, batching and pacing all apply.
//!
//! - `server`: the accept loop: connection cap, header read / idle bound, graceful shutdown.
//! - `guards`: what runs around every request, outermost first: request id (accepted when
//!   short visible ASCII, else generated; echoed) → request span, panic catching, metrics and
//!   the one access line → route label and size limits → bearer auth → concurrency limit
//!   (503 + `Retry-After`) → per-request timeout (504).
//! - `params`: the query string, parsed strictly (what `openapi.yaml` declares is what is
//!   accepted); `handlers`: validate, then ask the fetchers.
//! - `envelope`: the error body, the status of a whole-request error and `Retry-After`.
//! - `metrics`: the registry, the scrape-time provider collector and format negotiation.
//! - `stream`: `/v1/stream`, live events as Server-Sent Events, one bounded reader per client.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod envelope;
mod guards;
mod handlers;
mod metrics;
mod params;
mod server;
mod stream;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::middleware;
use axum::routing::get;
use secrecy::SecretString;
use tokio::sync::Semaphore;

use crate::StockData;
use crate::config::ServeConfig;

pub use server::{ConnectionLimits, run, run_with_limits};

/// The longest query string accepted.
pub const MAX_QUERY_BYTES: usize = 8 * 1024;
/// The most header bytes accepted.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// The most articles one news request may ask for.
pub const MAX_NEWS_LIMIT: usize = 1000;
/// The most bars one bars request may answer, estimated before asking any provider
/// ([`TimeRange::max_bars`](stockdata_domain::TimeRange::max_bars) for each symbol): the
/// serverless API's limit, which the serverless adapter splits its requests to respect.
pub const MAX_BARS_PER_REQUEST: u64 = stockdata_adapters_http::serverless::MAX_BARS_PER_REQUEST;
/// The longest `X-Request-Id` accepted from a client; longer ones are replaced.
pub const MAX_REQUEST_ID_LEN: usize = 128;
/// Time a connection has to deliver a complete request head, counted from when it opens or
/// from the end of its previous response: bounds slow headers (slowloris) and idle keep-alive
/// connections alike.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections open at once; past it, new connections wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 1024;
/// The tracing target of the one access line each request logs (at `info`).
pub const ACCESS_LOG_TARGET: &str = "stockdata::access";

/// Refuses an exposed bind address without a token.
///
/// # Errors
/// A message saying how to set a token.
pub fn check_exposure(bind: &SocketAddr, tokens: &[SecretString]) -> Result<(), String> {
    if bind.ip().is_loopback() || !tokens.is_empty() {
        return Ok(());
    }
    Err(format!(
        "refusing to serve on {bind} without a bearer token: set STOCKDATA_SERVE_TOKEN, \
         or `tokens = [\"...\"]` under [serve] in stockdata.toml (or bind to 127.0.0.1)"
    ))
}

/// The three kinds of data served, each with its own provider chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Quotes,
    Bars,
    News,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Quotes, Kind::Bars, Kind::News];

    fn as_str(self) -> &'static str {
        match self {
            Kind::Quotes => "quotes",
            Kind::Bars => "bars",
            Kind::News => "news",
        }
    }

    fn has_provider(self, sd: &StockData) -> bool {
        match self {
            Kind::Quotes => !sd.prices().providers().is_empty(),
            Kind::Bars => !sd.history().providers().is_empty(),
            Kind::News => !sd.news().providers().is_empty(),
        }
    }
}

struct AppState {
    stockdata: StockData,
    config: ServeConfig,
    metrics: metrics::Metrics,
    permits: Semaphore,
    /// One per `/v1/stream` client (`serve.max_streams`), held while it streams.
    streams: Arc<Semaphore>,
    /// Per kind with no provider: what to configure (the 503 message).
    unconfigured: Vec<(Kind, String)>,
}

impl AppState {
    fn unconfigured(&self, kind: Kind) -> Option<&str> {
        self.unconfigured
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, m)| m.as_str())
    }
}

/// What to configure so that `kind` has a provider, from the providers' own reasons.
fn what_to_configure(kind: Kind, sd: &StockData) -> String {
    let reasons: Vec<String> = sd
        .provider_status()
        .iter()
        .filter_map(|s| s.reason.as_ref().map(|r| format!("{}: {r}", s.provider)))
        .collect();
    let how = if reasons.is_empty() {
        format!(
            "add a provider to [routing] {} in stockdata.toml (or inject a source)",
            kind.as_str()
        )
    } else {
        reasons.join("; ")
    };
    format!(
        "no provider is configured for {}: {how}; `stockdata providers` says what is missing",
        kind.as_str()
    )
}

/// The service's routes and guards. Logs a warning for each kind of data with no provider
/// (its endpoint answers 503 until one is configured).
pub fn router(stockdata: StockData, config: ServeConfig) -> Router {
    let unconfigured: Vec<(Kind, String)> = Kind::ALL
        .into_iter()
        .filter(|k| !k.has_provider(&stockdata))
        .map(|k| (k, what_to_configure(k, &stockdata)))
        .collect();
    for (kind, message) in &unconfigured {
        tracing::warn!(
            kind = kind.as_str(),
            "/v1/{} will answer 503: {message}",
            kind.as_str()
        );
    }
    let state = Arc::new(AppState {
        permits: Semaphore::new(config.concurrency.max(1)),
        streams: Arc::new(Semaphore::new(config.max_streams.max(1))),
        metrics: metrics::Metrics::new(
            Arc::clone(stockdata.pacers()),
            Arc::clone(stockdata.streams()),
        ),
        stockdata,
        config,
        unconfigured,
    });
    let guarded = Router::new()
        .route("/v1/quotes", get(handlers::quotes))
        .route("/v1/bars", get(handlers::bars))
        .route("/v1/news", get(handlers::news))
        .route("/v1/stream", get(stream::stream))
        .route("/metrics", get(handlers::metrics))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            guards::admit,
        ));
    Router::new()
        .route("/healthz", get(handlers::healthz))
        .route("/readyz", get(handlers::readyz))
        .merge(guarded)
        .route_layer(middleware::from_fn(guards::classify))
        .fallback(handlers::not_found)
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            guards::observe,
        ))
        .with_state(state)
}
