//! What runs around every request: `observe` (outermost, every request), `classify` (every
//! matched route) and `admit` (the data endpoints and `/metrics`).

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use futures_util::FutureExt as _;
use secrecy::{ExposeSecret as _, SecretString};
use stockdata_domain::ErrorKind;
use subtle::ConstantTimeEq as _;
use tracing::Instrument as _;

use super::envelope::{bad_request, envelope};
use super::{ACCESS_LOG_TARGET, AppState, MAX_HEADER_BYTES, MAX_QUERY_BYTES, MAX_REQUEST_ID_LEN};

static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Where `classify` writes the matched route for `observe`, which runs before routing. A
/// shared slot rather than a response extension, so a request whose handler panicked is
/// still counted under its route.
#[derive(Clone, Debug, Default)]
struct RouteSlot(Arc<OnceLock<String>>);

/// A client's request id is used when it is 1 to [`MAX_REQUEST_ID_LEN`] visible ASCII
/// characters (`!` to `~`: no space, no control character, nothing outside ASCII).
fn acceptable_request_id(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    (1..=MAX_REQUEST_ID_LEN).contains(&bytes.len()) && bytes.iter().all(u8::is_ascii_graphic)
}

/// 16 random hex digits, like a run id.
fn generated_request_id() -> HeaderValue {
    HeaderValue::from_str(&stockdata_adapters_http::transport::RequestId::new().to_string())
        .unwrap_or_else(|_| HeaderValue::from_static("0000000000000000"))
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not a string)")
}

/// Request id, request span, panics, metrics and the access line: the outermost layer.
pub(super) async fn observe(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let given_len = request.headers().get(&X_REQUEST_ID).map(HeaderValue::len);
    let (id, replaced) = match request.headers().get(&X_REQUEST_ID) {
        Some(v) if acceptable_request_id(v) => (v.clone(), false),
        Some(_) => (generated_request_id(), true),
        None => (generated_request_id(), false),
    };
    request
        .headers_mut()
        .insert(X_REQUEST_ID.clone(), id.clone());
    let id_text = id.to_str().unwrap_or_default().to_owned();
    let method = request.method().clone();
    let slot = RouteSlot::default();
    request.extensions_mut().insert(slot.clone());
    let span = tracing::info_span!("request", request_id = %id_text, method = %method);
    crate::logging::continue_trace(&span, request.headers());
    let mut response = async {
        if replaced {
            tracing::debug!(
                len = given_len,
                "the client's X-Request-Id is not 1 to {MAX_REQUEST_ID_LEN} visible ASCII \
                 characters: replaced"
            );
        }
        match AssertUnwindSafe(next.run(request)).catch_unwind().await {
            Ok(response) => response,
            Err(payload) => {
                tracing::error!(
                    panic = panic_message(payload.as_ref()),
                    "the handler panicked: answered 500"
                );
                envelope(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorKind::ProviderUnavailable,
                    &format!("internal error while serving request {id_text}: it has been logged"),
                    None,
                )
            }
        }
    }
    .instrument(span.clone())
    .await;
    response.headers_mut().insert(X_REQUEST_ID.clone(), id);
    let route = slot.0.get().map_or("other", String::as_str);
    let status = response.status().as_u16();
    let latency = started.elapsed();
    state.metrics.request(route, status, latency);
    span.in_scope(|| {
        tracing::info!(
            target: ACCESS_LOG_TARGET,
            method = %method,
            route,
            status,
            latency_ms = latency.as_secs_f64() * 1000.0,
            request_id = %id_text,
            request_id_replaced = replaced,
            "request served"
        );
    });
    response
}

/// Labels the request with its matched route and refuses oversized requests.
pub(super) async fn classify(request: Request, next: Next) -> Response {
    if let (Some(slot), Some(path)) = (
        request.extensions().get::<RouteSlot>(),
        request.extensions().get::<MatchedPath>(),
    ) {
        let _ = slot.0.set(path.as_str().to_owned());
    }
    if request
        .uri()
        .query()
        .is_some_and(|q| q.len() > MAX_QUERY_BYTES)
    {
        return bad_request(format!(
            "the query string is longer than {MAX_QUERY_BYTES} bytes: \
             ask for fewer symbols per request"
        ));
    }
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len().saturating_add(v.len()))
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return bad_request(format!(
            "the request headers are larger than {MAX_HEADER_BYTES} bytes"
        ));
    }
    next.run(request).await
}

/// The token of an `Authorization: Bearer <token>` header. The scheme is case-insensitive
/// (RFC 7235 section 2.1); one or more spaces separate it from the token.
fn bearer_token(headers: &HeaderMap) -> Option<&[u8]> {
    let value = headers.get(header::AUTHORIZATION)?.as_bytes();
    let space = value.iter().position(|&c| c == b' ')?;
    let (scheme, rest) = value.split_at(space);
    scheme
        .eq_ignore_ascii_case(b"bearer")
        .then(|| rest.trim_ascii())
        .filter(|token| !token.is_empty())
}

fn authorized(headers: &HeaderMap, tokens: &[SecretString]) -> bool {
    if tokens.is_empty() {
        return true;
    }
    let Some(given) = bearer_token(headers) else {
        return false;
    };
    // Constant time per token, and every token is compared.
    tokens.iter().fold(false, |ok, t| {
        ok | bool::from(t.expose_secret().as_bytes().ct_eq(given))
    })
}

/// Bearer auth, then the concurrency limit, then the per-request timeout.
pub(super) async fn admit(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
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
            Some(std::time::Duration::from_secs(1)),
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

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "tests state their expectations directly"
)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        let token = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
            bearer_token(&h).map(|t| String::from_utf8(t.to_vec()).unwrap())
        };
        for v in ["Bearer abc", "bearer abc", "BEARER abc", "bEaReR   abc"] {
            assert_eq!(token(v).as_deref(), Some("abc"), "{v}");
        }
        for v in ["Basic abc", "Bearer", "Bearer ", "Bearerabc", "abc"] {
            assert_eq!(token(v), None, "{v}");
        }
    }

    #[test]
    fn request_ids() {
        let ok = |v: &[u8]| acceptable_request_id(&HeaderValue::from_bytes(v).unwrap());
        assert!(ok(b"client-id-42"));
        assert!(ok(b"!~"));
        assert!(ok("a".repeat(128).as_bytes()));
        assert!(!ok("a".repeat(129).as_bytes()));
        assert!(!ok(b""));
        assert!(!ok(b"two words"));
        assert!(!ok(b"\xff\xfe<script>"));
        assert!(!ok(b"tab\there"));
    }
}
