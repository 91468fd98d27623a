//! The one HTTP transport every provider adapter shares: timeouts, pacing, retries with
//! jittered backoff, tracing, and redaction. Adapters only build requests and parse answers.

mod pacing;
mod redact;
mod retry;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use stockdata_domain::{FetchError, ProviderId};
use tracing::Instrument as _;
use url::Url;

pub use pacing::{
    BudgetId, GrantAge, GrantId, LocalPacing, Pacer, PacerRegistry, PacerStats, Pacing,
    PacingError, PastGrant, ProbeBackoff, QuotaStatus, RateWindow, SKEW_MARGIN, StatsSnapshot,
    WindowState, describe_share,
};
pub use redact::{
    LogSafeUrl, REDACTED, provider_message, redact_secrets, redact_url, redact_url_text,
};
pub use retry::{MAX_RETRY_AFTER, RetryPolicy, retry_after, secs_f64_hint};

/// The largest body read from a provider; anything larger is `Malformed`, not an out-of-memory.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Redirects within the request's own origin followed per attempt; one more is answered
/// `Malformed`. A redirect to another origin is never followed (see [`http_client`]).
pub const MAX_SAME_ORIGIN_REDIRECTS: usize = 5;

/// Timeouts and retry policy for one provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportConfig {
    /// Time allowed to establish a connection.
    pub connect_timeout: Duration,
    /// Time allowed for one attempt, from sending to the last body byte.
    pub request_timeout: Duration,
    /// What is retried, and how.
    pub retry: RetryPolicy,
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
            retry: RetryPolicy::default(),
        }
    }
}

/// A response as received, whatever its status.
#[derive(Debug)]
pub struct RawResponse {
    /// HTTP status code.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The body as text, for error messages (lossy).
    #[must_use]
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// Whether the body looks like an HTML page (proxies and load balancers answer with one).
    #[must_use]
    pub fn is_html(&self) -> bool {
        let head = self
            .body
            .iter()
            .skip_while(|b| b.is_ascii_whitespace())
            .take(15);
        let head: Vec<u8> = head.map(u8::to_ascii_lowercase).collect();
        head.starts_with(b"<!doctype html") || head.starts_with(b"<html")
    }
}

/// One logical request: what to fetch and how to describe it in logs.
#[derive(Debug)]
pub struct Call<'a> {
    /// The provider asked.
    pub provider: &'a ProviderId,
    /// A short endpoint name for logs and metrics (`GLOBAL_QUOTE`, `/api/v1/quote`).
    pub endpoint: &'static str,
    /// The full URL. Logged only through [`redact_url`].
    pub url: Url,
    /// Extra headers; credential headers must be marked sensitive.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The symbol(s) concerned, for logs.
    pub symbol: Option<&'a str>,
    /// Send the request id as `X-Request-Id` (for services that log it, such as the
    /// serverless fetcher).
    pub send_request_id: bool,
}

/// A unique id for one logical request, shared by all its attempts and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestId(u64);

impl RequestId {
    /// A fresh random id.
    #[must_use]
    pub fn new() -> Self {
        Self(fastrand::u64(..))
    }
}

impl Default for RequestId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// The shared transport. Cheap to clone; clones share the connection pool and the pacer.
#[derive(Debug, Clone)]
pub struct Transport {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: reqwest::Client,
    config: TransportConfig,
    pacer: Arc<Pacer>,
}

impl Transport {
    /// A transport with its own connection pool.
    ///
    /// # Errors
    /// `Transport` when the TLS backend cannot be initialised.
    pub fn new(config: TransportConfig, pacer: Arc<Pacer>) -> Result<Self, FetchError> {
        Ok(Self::with_client(http_client(&config)?, config, pacer))
    }

    /// A transport on an existing client (to share one connection pool between providers).
    /// Build the client with [`http_client`]: a client that follows redirects to other origins
    /// would carry credential headers there before the transport could refuse the answer.
    #[must_use]
    pub fn with_client(
        client: reqwest::Client,
        config: TransportConfig,
        pacer: Arc<Pacer>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                client,
                config,
                pacer,
            }),
        }
    }

    /// The pacer this transport draws from.
    #[must_use]
    pub fn pacer(&self) -> &Arc<Pacer> {
        &self.inner.pacer
    }

    /// The configuration in force.
    #[must_use]
    pub fn config(&self) -> &TransportConfig {
        &self.inner.config
    }

    /// Sends an idempotent GET, pacing every attempt, and hands each response to `parse`.
    ///
    /// 429, 408 and 5xx answers (and HTML error pages) are classified here, the same for every
    /// provider; every other response goes to `parse`, which classifies provider-specific
    /// error bodies and reads the data. Whenever the outcome is a retryable error (including
    /// an in-body throttle `parse` found) the request is retried under the policy, honouring
    /// `Retry-After` / `X-RateLimit-Reset`.
    ///
    /// # Errors
    /// The last attempt's error when retries are exhausted or not allowed; `QuotaExhausted`
    /// from the pacer.
    pub async fn get<T>(
        &self,
        call: Call<'_>,
        parse: impl Fn(&RawResponse) -> Result<T, FetchError>,
    ) -> Result<T, FetchError> {
        let request_id = RequestId::new();
        let span = tracing::info_span!(
            "provider_request",
            provider = %call.provider,
            endpoint = call.endpoint,
            symbol = call.symbol.unwrap_or(""),
            request_id = %request_id,
        );
        self.run(&call, request_id, &parse).instrument(span).await
    }

    /// [`get`](Self::get) for providers that signal errors by status: a 2xx body goes to
    /// `parse`, any other answer to the provider's `status_error` classification.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub async fn get_body<T>(
        &self,
        call: Call<'_>,
        parse: fn(&[u8]) -> Result<T, FetchError>,
        status_error: impl Fn(&RawResponse) -> FetchError,
    ) -> Result<T, FetchError> {
        self.get(call, |resp| {
            if (200..300).contains(&resp.status) {
                parse(&resp.body)
            } else {
                Err(status_error(resp))
            }
        })
        .await
    }

    async fn run<T>(
        &self,
        call: &Call<'_>,
        request_id: RequestId,
        parse: &impl Fn(&RawResponse) -> Result<T, FetchError>,
    ) -> Result<T, FetchError> {
        let policy = self.inner.config.retry;
        let started = tokio::time::Instant::now();
        let url = redact_url(&call.url);
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let waited = self.inner.pacer.acquire().await?;
            let stats = self.inner.pacer.stats();
            stats.requests.fetch_add(1, Ordering::Relaxed);
            if attempt > 1 {
                stats.retries.fetch_add(1, Ordering::Relaxed);
            }
            let sent = tokio::time::Instant::now();
            let response = self.send_once(call, request_id).await;
            let status = response.as_ref().map_or(0, |r| r.status);
            let outcome = response.and_then(|resp| match generic_error(&resp) {
                Some(err) => Err(err),
                None => parse(&resp),
            });
            let elapsed_ms = u64::try_from(sent.elapsed().as_millis()).unwrap_or(u64::MAX);
            let paced_ms = u64::try_from(waited.as_millis()).unwrap_or(u64::MAX);
            let err = match outcome {
                Ok(value) => {
                    tracing::debug!(
                        attempt,
                        status,
                        elapsed_ms,
                        paced_ms,
                        url = %url,
                        "attempt succeeded"
                    );
                    return Ok(value);
                }
                Err(err) => err,
            };
            let kind = err.kind().as_str();
            if matches!(err, FetchError::RateLimited { .. }) {
                stats.throttled.fetch_add(1, Ordering::Relaxed);
            }
            if !err.is_retryable() || attempt >= policy.max_attempts {
                tracing::warn!(
                    attempt,
                    status,
                    elapsed_ms,
                    paced_ms,
                    url = %url,
                    error.kind = kind,
                    error = %err,
                    "attempt failed; giving up"
                );
                return Err(err);
            }
            let wait = err.retry_after().unwrap_or_else(|| policy.backoff(attempt));
            if started.elapsed().saturating_add(wait) > policy.total_budget {
                tracing::warn!(
                    attempt,
                    status,
                    elapsed_ms,
                    url = %url,
                    error.kind = kind,
                    wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    "attempt failed; retry would exceed the time budget"
                );
                return Err(err);
            }
            tracing::info!(
                attempt,
                status,
                elapsed_ms,
                paced_ms,
                url = %url,
                error.kind = kind,
                error = %err,
                retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "attempt failed; retrying"
            );
            tokio::time::sleep(wait).await;
        }
    }

    async fn send_once(
        &self,
        call: &Call<'_>,
        request_id: RequestId,
    ) -> Result<RawResponse, FetchError> {
        let mut request = self
            .inner
            .client
            .get(call.url.clone())
            .timeout(self.inner.config.request_timeout);
        for (name, value) in &call.headers {
            request = request.header(name, value);
        }
        if call.send_request_id {
            request = request.header("x-request-id", request_id.to_string());
        }
        let mut response = request.send().await.map_err(map_reqwest_error)?;
        let status = response.status().as_u16();
        if let Some(err) = redirect_error(call, response.url(), status, response.headers()) {
            return Err(err);
        }
        let headers = std::mem::take(response.headers_mut());
        let mut body = Vec::with_capacity(
            response
                .content_length()
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(8 * 1024)
                .min(MAX_BODY_BYTES),
        );
        while let Some(chunk) = response.chunk().await.map_err(map_reqwest_error)? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(FetchError::malformed(format!(
                    "response body exceeds {MAX_BODY_BYTES} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(RawResponse {
            status,
            headers,
            body,
        })
    }
}

/// The HTTP client every transport should use: timeouts, user agent, no `Referer`, and a
/// redirect policy that follows at most [`MAX_SAME_ORIGIN_REDIRECTS`] redirects within the
/// request's origin and stops at the first hop to another origin (scheme, host or port), so
/// credential headers (`X-Finnhub-Token`, `APCA-API-*`, which reqwest would carry along) and
/// query keys never reach it. The transport answers such a redirect as `Malformed`.
///
/// # Errors
/// `Transport` when the TLS backend cannot be initialised.
pub fn http_client(config: &TransportConfig) -> Result<reqwest::Client, FetchError> {
    reqwest::Client::builder()
        .connect_timeout(config.connect_timeout)
        .user_agent(concat!("stockdata/", env!("CARGO_PKG_VERSION")))
        .referer(false)
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            // `previous()` starts with the URL first requested.
            let same_origin = attempt
                .previous()
                .first()
                .is_some_and(|first| first.origin() == attempt.url().origin());
            if same_origin && attempt.previous().len() <= MAX_SAME_ORIGIN_REDIRECTS {
                attempt.follow()
            } else {
                attempt.stop()
            }
        }))
        .build()
        .map_err(|e| FetchError::Transport {
            detail: format!("cannot build the HTTP client: {}", error_chain(&e)),
        })
}

/// A redirect that was not followed (or a client that followed one off the request's origin),
/// as a typed error: not retryable (the provider will redirect again) but open to fail-over
/// (another provider's `base_url` may be right). Names the origin only, never a path, query or
/// userinfo.
fn redirect_error(
    call: &Call<'_>,
    answered: &Url,
    status: u16,
    headers: &HeaderMap,
) -> Option<FetchError> {
    let provider = call.provider;
    let asked = call.url.origin();
    if answered.origin() != asked {
        return Some(FetchError::malformed(format!(
            "{provider} answered from another origin ({}); check the configured base_url and \
             build the HTTP client with transport::http_client",
            answered.origin().ascii_serialization()
        )));
    }
    if !(300..400).contains(&status) {
        return None;
    }
    let target = headers
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|location| answered.join(location).ok());
    Some(FetchError::malformed(match target {
        Some(target) if target.origin() != asked => format!(
            "{provider} redirected to another origin ({}); stockdata did not follow it with \
             credentials: check the configured base_url for {provider} (it must be the API's \
             own address, not one that redirects)",
            target.origin().ascii_serialization()
        ),
        Some(_) => format!(
            "{provider} redirected more than {MAX_SAME_ORIGIN_REDIRECTS} times within its \
             origin (HTTP {status}); stockdata stopped following: check the configured \
             base_url for {provider}"
        ),
        None => format!(
            "{provider} answered HTTP {status} without a usable Location; check the \
             configured base_url for {provider}"
        ),
    }))
}

/// The classification every provider shares: throttling, server failures, HTML error pages.
fn generic_error(resp: &RawResponse) -> Option<FetchError> {
    match resp.status {
        429 => Some(FetchError::RateLimited {
            retry_after: retry_after(&resp.headers, SystemTime::now()),
        }),
        408 | 500..=599 => Some(FetchError::ProviderUnavailable {
            status: Some(resp.status),
        }),
        200..=299 if resp.is_html() => Some(FetchError::ProviderUnavailable {
            status: Some(resp.status),
        }),
        _ => None,
    }
}

fn map_reqwest_error(err: reqwest::Error) -> FetchError {
    let err = err.without_url();
    if err.is_timeout() {
        FetchError::Timeout
    } else if err.is_connect() {
        FetchError::Transport {
            detail: format!("cannot connect: {}", error_chain(&err)),
        }
    } else {
        FetchError::Transport {
            detail: error_chain(&err),
        }
    }
}

/// An error and its sources, one line (reqwest's own message is terse).
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
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

/// `base` (`scheme://host[:port][/prefix]`) with a provider's documented `path` appended.
#[must_use]
pub fn endpoint_url(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let joined = format!("{}{}", base.path().trim_end_matches('/'), path);
    url.set_path(&joined);
    url.set_query(None);
    url
}

/// A header value carrying a credential: marked sensitive so it never shows in Debug output.
///
/// # Errors
/// `InvalidRequest` when the secret contains characters a header cannot carry (the secret
/// itself is not echoed).
pub fn secret_header(secret: &str) -> Result<HeaderValue, FetchError> {
    let mut value = HeaderValue::from_str(secret).map_err(|_| FetchError::InvalidRequest {
        reason: "the configured API key contains characters that cannot be sent in a header"
            .to_owned(),
    })?;
    value.set_sensitive(true);
    Ok(value)
}
