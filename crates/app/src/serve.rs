//! `stockdata serve`: the serverless fetcher as a hardened HTTP service (`docs/openapi.yaml`),
//! backed by the fetchers, so fail-over, batching and pacing all apply.
//!
//! Order of the guards, outermost first: request id (accepted or generated, echoed) → request
//! span, metrics and size limits → bearer auth → concurrency limit (503 + `Retry-After`) →
//! per-request timeout (504) → the handler, which validates its input before touching any
//! provider.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use stockdata_adapters_http::transport::StatsSnapshot;
use stockdata_domain::{
    Adjustment, BatchBarQuery, ErrorKind, FetchError, Interval, NewsQuery, ProviderId, Symbol,
    TimeRange, Timestamp,
};
use subtle::ConstantTimeEq as _;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tracing::Instrument as _;

use crate::StockData;
use crate::config::ServeConfig;
use crate::fetch::{Attempt, Outcome};
use crate::records::{BarRecord, NewsRecord, QuoteRecord};

/// The longest query string accepted.
pub const MAX_QUERY_BYTES: usize = 8 * 1024;
/// The most header bytes accepted.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// The most articles one news request may ask for.
pub const MAX_NEWS_LIMIT: usize = 1000;

/// Refuses an exposed bind address without a token.
///
/// # Errors
/// A message saying how to set a token.
pub fn check_exposure(bind: &SocketAddr, tokens: &[SecretString]) -> Result<(), String> {
    if bind.ip().is_loopback() || !tokens.is_empty() {
        return Ok(());
    }
    Err(format!(
        "refusing to serve on {bind} without a bearer token: set STOCKDATA_SERVE_TOKEN, or `tokens = [\"...\"]` under [serve] in stockdata.toml (or bind to 127.0.0.1)"
    ))
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteStatus {
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderKind {
    provider: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderLabel {
    provider: String,
}

struct Metrics {
    registry: Registry,
    requests: Family<RouteStatus, Counter>,
    latency: Family<RouteLabel, Histogram>,
    provider_errors: Family<ProviderKind, Counter>,
    failovers: Counter,
    provider_requests: Family<ProviderLabel, Counter>,
    rate_limit_waits: Family<ProviderLabel, Counter>,
    throttled: Family<ProviderLabel, Counter>,
    last: Mutex<HashMap<ProviderId, StatsSnapshot>>,
}

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("stockdata");
        let requests = Family::<RouteStatus, Counter>::default();
        let latency = Family::<RouteLabel, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let provider_errors = Family::<ProviderKind, Counter>::default();
        let failovers = Counter::default();
        let provider_requests = Family::<ProviderLabel, Counter>::default();
        let rate_limit_waits = Family::<ProviderLabel, Counter>::default();
        let throttled = Family::<ProviderLabel, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        registry.register(
            "provider_errors",
            "Failed provider attempts by provider and error kind",
            provider_errors.clone(),
        );
        registry.register(
            "failovers",
            "Times a symbol moved on to the next provider",
            failovers.clone(),
        );
        registry.register(
            "provider_requests",
            "HTTP requests sent to providers",
            provider_requests.clone(),
        );
        registry.register(
            "rate_limit_waits",
            "Requests that waited for a provider's quota",
            rate_limit_waits.clone(),
        );
        registry.register(
            "provider_throttled",
            "Throttle answers (429 or in-body) received from providers",
            throttled.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            provider_errors,
            failovers,
            provider_requests,
            rate_limit_waits,
            throttled,
            last: Mutex::new(HashMap::new()),
        }
    }

    fn trail(&self, trail: &[Attempt]) {
        let mut failed = 0;
        for a in trail {
            if let Outcome::Failed(kind) = a.outcome {
                failed += 1;
                self.provider_errors
                    .get_or_create(&ProviderKind {
                        provider: a.provider.to_string(),
                        kind: kind.as_str().to_owned(),
                    })
                    .inc();
            }
        }
        if trail.len() > 1 && failed > 0 {
            self.failovers
                .inc_by(u64::try_from(trail.len() - 1).unwrap_or(0));
        }
    }

    fn render(&self, stats: Vec<(ProviderId, StatsSnapshot)>) -> String {
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (provider, now) in stats {
            let before = last.get(&provider).copied().unwrap_or_default();
            let label = ProviderLabel {
                provider: provider.to_string(),
            };
            self.provider_requests
                .get_or_create(&label)
                .inc_by(now.requests.saturating_sub(before.requests));
            self.rate_limit_waits
                .get_or_create(&label)
                .inc_by(now.waits.saturating_sub(before.waits));
            self.throttled
                .get_or_create(&label)
                .inc_by(now.throttled.saturating_sub(before.throttled));
            last.insert(provider, now);
        }
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

struct AppState {
    stockdata: StockData,
    config: ServeConfig,
    metrics: Metrics,
    permits: Semaphore,
}

/// The request id: accepted from the client when it is short printable ASCII, else generated.
#[derive(Clone, Copy, Debug, Default)]
struct MakeId;

impl MakeRequestId for MakeId {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&crate::logging::RunId::new().to_string())
            .ok()
            .map(RequestId::new)
    }
}

/// The service's routes and guards.
pub fn router(stockdata: StockData, config: ServeConfig) -> Router {
    let state = Arc::new(AppState {
        permits: Semaphore::new(config.concurrency.max(1)),
        metrics: Metrics::new(),
        stockdata,
        config,
    });
    let guarded = Router::new()
        .route("/v1/quotes", get(quotes))
        .route("/v1/bars", get(bars))
        .route("/v1/news", get(news))
        .route("/metrics", get(metrics))
        .route_layer(middleware::from_fn_with_state(Arc::clone(&state), guard));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(guarded)
        .fallback(|| async {
            envelope(
                StatusCode::NOT_FOUND,
                ErrorKind::InvalidRequest,
                "no such endpoint: use /v1/quotes, /v1/bars or /v1/news",
                None,
            )
        })
        .layer(middleware::from_fn_with_state(Arc::clone(&state), observe))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeId))
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then gives in-flight requests
/// `grace` to finish.
///
/// # Errors
/// The listener fails.
pub async fn run(
    listener: tokio::net::TcpListener,
    router: Router,
    grace: Duration,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let stop = shutdown.clone();
    let server =
        axum::serve(listener, router).with_graceful_shutdown(async move { stop.cancelled().await });
    tokio::select! {
        result = server => result,
        () = async {
            shutdown.cancelled().await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(grace_ms = u64::try_from(grace.as_millis()).unwrap_or(u64::MAX), "grace period over: dropping requests still in flight");
            Ok(())
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    kind: &'static str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
}

fn error_body(e: &FetchError) -> serde_json::Value {
    let message = e.to_string();
    let status = match e {
        FetchError::ProviderUnavailable { status } => *status,
        _ => None,
    };
    let mut v = serde_json::to_value(ErrorBody {
        kind: e.kind().as_str(),
        message: &message,
        retry_after_s: e.retry_after().map(|d| d.as_secs_f64()),
        status,
    })
    .unwrap_or_default();
    if let (
        FetchError::QuotaExhausted {
            resets_at: Some(at),
        },
        Some(map),
    ) = (e, v.as_object_mut())
    {
        map.insert("resets_at".into(), at.to_string().into());
    }
    v
}

fn envelope(
    status: StatusCode,
    kind: ErrorKind,
    message: &str,
    retry_after: Option<Duration>,
) -> Response {
    let body = serde_json::json!({ "error": ErrorBody { kind: kind.as_str(), message, retry_after_s: retry_after.map(|d| d.as_secs_f64()), status: None } });
    let mut response = (status, axum::Json(body)).into_response();
    if let Some(wait) = retry_after
        && let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

fn bad_request(message: impl AsRef<str>) -> Response {
    envelope(
        StatusCode::BAD_REQUEST,
        ErrorKind::InvalidRequest,
        message.as_ref(),
        None,
    )
}

/// The status a whole-request provider failure answers with.
fn status_for(e: &FetchError) -> StatusCode {
    match e.kind() {
        ErrorKind::RateLimited | ErrorKind::QuotaExhausted => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::EntitlementDenied => StatusCode::FORBIDDEN,
        ErrorKind::InvalidRequest | ErrorKind::UnknownSymbol => StatusCode::BAD_REQUEST,
        ErrorKind::NoData => StatusCode::NOT_FOUND,
        ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
        ErrorKind::Cancelled => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Unauthorized
        | ErrorKind::Transport
        | ErrorKind::ProviderUnavailable
        | ErrorKind::Malformed => StatusCode::BAD_GATEWAY,
    }
}

fn route_of(path: &str) -> &'static str {
    match path {
        "/v1/quotes" => "/v1/quotes",
        "/v1/bars" => "/v1/bars",
        "/v1/news" => "/v1/news",
        "/metrics" => "/metrics",
        "/healthz" => "/healthz",
        "/readyz" => "/readyz",
        _ => "other",
    }
}

async fn observe(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = route_of(request.uri().path());
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let span =
        tracing::info_span!("request", request_id = %request_id, method = %request.method(), route);
    let response = async {
        let header_bytes: usize = request.headers().iter().map(|(k, v)| k.as_str().len() + v.len()).sum();
        if request.uri().query().is_some_and(|q| q.len() > MAX_QUERY_BYTES) {
            return bad_request(format!("the query string is longer than {MAX_QUERY_BYTES} bytes: ask for fewer symbols per request"));
        }
        if header_bytes > MAX_HEADER_BYTES {
            return bad_request(format!("the request headers are larger than {MAX_HEADER_BYTES} bytes"));
        }
        let response = next.run(request).await;
        tracing::info!(status = response.status().as_u16(), elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX), "request served");
        response
    }
    .instrument(span)
    .await;
    state
        .metrics
        .requests
        .get_or_create(&RouteStatus {
            route: route.to_owned(),
            status: response.status().as_u16(),
        })
        .inc();
    state
        .metrics
        .latency
        .get_or_create(&RouteLabel {
            route: route.to_owned(),
        })
        .observe(started.elapsed().as_secs_f64());
    response
}

fn authorized(headers: &HeaderMap, tokens: &[SecretString]) -> bool {
    if tokens.is_empty() {
        return true;
    }
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    // Constant time per token, and every token is compared.
    tokens.iter().fold(false, |ok, t| {
        ok | bool::from(t.expose_secret().as_bytes().ct_eq(given.trim().as_bytes()))
    })
}

async fn guard(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    if !authorized(request.headers(), &state.config.tokens) {
        let mut r = envelope(
            StatusCode::UNAUTHORIZED,
            ErrorKind::Unauthorized,
            "unauthorized",
            None,
        );
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return r;
    }
    let Ok(_permit) = state.permits.try_acquire() else {
        return envelope(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::ProviderUnavailable,
            "the service is at its concurrency limit: retry shortly",
            Some(Duration::from_secs(1)),
        );
    };
    match tokio::time::timeout(state.config.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => envelope(
            StatusCode::GATEWAY_TIMEOUT,
            ErrorKind::Timeout,
            "the request took longer than the configured timeout",
            None,
        ),
    }
}

async fn healthz() -> Response {
    axum::Json(serde_json::json!({"status": "ok"})).into_response()
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let sd = &state.stockdata;
    let providers: Vec<String> = sd
        .prices()
        .providers()
        .iter()
        .chain(sd.history().providers().iter())
        .chain(sd.news().providers().iter())
        .map(ToString::to_string)
        .collect();
    if providers.is_empty() {
        return envelope(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::InvalidRequest,
            "no provider is configured",
            None,
        );
    }
    let mut unique = providers;
    unique.sort();
    unique.dedup();
    axum::Json(serde_json::json!({"status": "ready", "providers": unique})).into_response()
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let text = state.metrics.render(state.stockdata.pacers().stats());
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

fn params(query: Option<&str>) -> HashMap<String, String> {
    query
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

/// Input problems are messages; the handler turns them into a 400 envelope.
type Checked<T> = Result<T, String>;

fn symbols(p: &HashMap<String, String>, max: usize) -> Checked<Vec<Symbol>> {
    let Some(text) = p.get("symbols").filter(|t| !t.trim().is_empty()) else {
        return Err("symbols is required: pass ?symbols=AAPL,MSFT".to_owned());
    };
    let parts: Vec<&str> = text.split(',').collect();
    if parts.len() > max {
        return Err(format!(
            "{} symbols requested: at most {max} per request",
            parts.len()
        ));
    }
    parts
        .into_iter()
        .map(|s| Symbol::parse(s).map_err(|e| e.to_string()))
        .collect()
}

fn range(
    p: &HashMap<String, String>,
    max_days: u32,
    now: Timestamp,
    default_days: Option<i64>,
) -> Checked<TimeRange> {
    let instant = |name: &str| -> Checked<Option<Timestamp>> {
        match p.get(name) {
            None => Ok(None),
            Some(t) => t.parse::<Timestamp>().map(Some).map_err(|_| {
                format!("{name} {t:?} is not an RFC 3339 instant (e.g. 2024-03-08T05:00:00Z)")
            }),
        }
    };
    let end = instant("end")?;
    let start = instant("start")?;
    let (start, end) = match (start, end, default_days) {
        (Some(s), Some(e), _) => (s, e),
        (s, e, Some(days)) => {
            let e = e.unwrap_or(now);
            let s = s.unwrap_or_else(|| {
                e.checked_sub(jiff::SignedDuration::from_hours(24 * days))
                    .unwrap_or(e)
            });
            (s, e)
        }
        _ => return Err("start and end are required (RFC 3339)".to_owned()),
    };
    let r = TimeRange::new(start, end).map_err(|_| format!("start {start} is after end {end}"))?;
    if r.duration() > Duration::from_secs(u64::from(max_days) * 86_400) {
        return Err(format!(
            "the range is longer than {max_days} days: split it into smaller requests"
        ));
    }
    Ok(r)
}

async fn quotes(State(state): State<Arc<AppState>>, RawQuery(q): RawQuery) -> Response {
    let p = params(q.as_deref());
    let symbols = match symbols(&p, state.config.max_symbols) {
        Ok(s) => s,
        Err(m) => return bad_request(m),
    };
    let reports = state.stockdata.prices().quotes(&symbols).await;
    let results: Vec<serde_json::Value> = reports
        .iter()
        .map(|r| {
            state.metrics.trail(&r.trail);
            match &r.result {
                Ok(quote) => serde_json::json!({"symbol": r.symbol.as_str(), "quote": QuoteRecord::from(quote)}),
                Err(e) => serde_json::json!({"symbol": r.symbol.as_str(), "error": error_body(e)}),
            }
        })
        .collect();
    axum::Json(serde_json::json!({ "results": results })).into_response()
}

async fn bars(State(state): State<Arc<AppState>>, RawQuery(q): RawQuery) -> Response {
    let p = params(q.as_deref());
    let symbols = match symbols(&p, state.config.max_symbols) {
        Ok(s) => s,
        Err(m) => return bad_request(m),
    };
    let interval = match p.get("interval").map(|t| t.parse::<Interval>()) {
        Some(Ok(i)) => i,
        Some(Err(e)) => return bad_request(e.to_string()),
        None => {
            return bad_request("interval is required: one of 1m, 5m, 15m, 30m, 1h, 1d, 1w, 1mo");
        }
    };
    let adjustment = match p.get("adjustment").map(|t| t.parse::<Adjustment>()) {
        Some(Ok(a)) => a,
        Some(Err(e)) => return bad_request(e.to_string()),
        None => Adjustment::Raw,
    };
    let range = match range(
        &p,
        state.config.max_range_days,
        state.stockdata.clock().now(),
        None,
    ) {
        Ok(r) => r,
        Err(m) => return bad_request(m),
    };
    let query = BatchBarQuery {
        symbols,
        interval,
        range,
        adjustment,
    };
    let reports = state.stockdata.history().bars(&query).await;
    let results: Vec<serde_json::Value> = reports
        .iter()
        .map(|r| {
            state.metrics.trail(&r.trail);
            match &r.result {
                Ok(series) => serde_json::json!({"symbol": r.symbol.as_str(), "bars": series.bars.iter().map(BarRecord::from).collect::<Vec<_>>()}),
                Err(e) => serde_json::json!({"symbol": r.symbol.as_str(), "error": error_body(e)}),
            }
        })
        .collect();
    axum::Json(serde_json::json!({ "results": results })).into_response()
}

async fn news(State(state): State<Arc<AppState>>, RawQuery(q): RawQuery) -> Response {
    let p = params(q.as_deref());
    let symbols = match symbols(&p, state.config.max_symbols) {
        Ok(s) => s,
        Err(m) => return bad_request(m),
    };
    let limit = match p.get("limit").map(|l| l.parse::<usize>()) {
        None => 50,
        Some(Ok(l)) if (1..=MAX_NEWS_LIMIT).contains(&l) => l,
        Some(_) => {
            return bad_request(format!(
                "limit must be a whole number from 1 to {MAX_NEWS_LIMIT}"
            ));
        }
    };
    let range = match range(
        &p,
        state.config.max_range_days,
        state.stockdata.clock().now(),
        Some(3),
    ) {
        Ok(r) => r,
        Err(m) => return bad_request(m),
    };
    let report = state
        .stockdata
        .news()
        .news(&NewsQuery {
            symbols,
            range,
            limit,
        })
        .await;
    state.metrics.trail(&report.trail);
    match report.result {
        Ok(articles) => axum::Json(serde_json::json!({"articles": articles.iter().map(NewsRecord::from).collect::<Vec<_>>()})).into_response(),
        Err(e) => {
            let mut response = (status_for(&e), axum::Json(serde_json::json!({ "error": error_body(&e) }))).into_response();
            if let Some(wait) = e.retry_after()
                && let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string())
            {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            response
        }
    }
}
