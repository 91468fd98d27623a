//! The error envelope (`{"error": {...}}`), the status a whole-request error answers with, and
//! the one place a `Retry-After` header is built.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use stockdata_domain::{ErrorKind, FetchError};

#[derive(Serialize)]
struct ErrorBody<'a> {
    kind: &'static str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resets_at: Option<String>,
}

/// The `error` object for `e`: inside a batch answer, or inside the envelope.
pub(super) fn error_body(e: &FetchError) -> serde_json::Value {
    let message = e.to_string();
    let status = match e {
        FetchError::ProviderUnavailable { status } => *status,
        _ => None,
    };
    let resets_at = match e {
        FetchError::QuotaExhausted {
            resets_at: Some(at),
        } => Some(at.to_string()),
        _ => None,
    };
    serde_json::to_value(ErrorBody {
        kind: e.kind().as_str(),
        message: &message,
        retry_after_s: e.retry_after().map(|d| d.as_secs_f64()),
        status,
        resets_at,
    })
    .unwrap_or_default()
}

/// The `error` object of a symbol whose range nothing can be in (answered without asking any
/// provider): the same kind a provider would answer.
pub(super) fn no_data(why: &str) -> serde_json::Value {
    serde_json::to_value(ErrorBody {
        kind: ErrorKind::NoData.as_str(),
        message: &format!("no data for the requested range: {why}"),
        retry_after_s: None,
        status: None,
        resets_at: None,
    })
    .unwrap_or_default()
}

/// `Retry-After` in whole seconds, rounded up (never 0: a client must not come back before
/// the wait is over).
pub(super) fn retry_after(wait: Duration) -> HeaderValue {
    let secs = wait
        .as_secs()
        .saturating_add(u64::from(wait.subsec_nanos() > 0))
        .max(1);
    HeaderValue::from(secs)
}

fn with_retry_after(mut response: Response, wait: Option<Duration>) -> Response {
    if let Some(wait) = wait {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, retry_after(wait));
    }
    response
}

/// A whole-request failure of the service itself (bad input, auth, overload, timeout).
pub(super) fn envelope(
    status: StatusCode,
    kind: ErrorKind,
    message: &str,
    retry_after: Option<Duration>,
) -> Response {
    let body = serde_json::json!({ "error": ErrorBody {
        kind: kind.as_str(),
        message,
        retry_after_s: retry_after.map(|d| d.as_secs_f64()),
        status: None,
        resets_at: None,
    } });
    with_retry_after((status, axum::Json(body)).into_response(), retry_after)
}

/// A whole-request failure reported by the providers (news).
pub(super) fn fetch_error(e: &FetchError) -> Response {
    let body = serde_json::json!({ "error": error_body(e) });
    with_retry_after(
        (status_for(e), axum::Json(body)).into_response(),
        e.retry_after(),
    )
}

/// 400 `invalid_request`.
pub(super) fn bad_request(message: impl AsRef<str>) -> Response {
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
        ErrorKind::NoData | ErrorKind::NotStored => StatusCode::NOT_FOUND,
        ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
        ErrorKind::Cancelled | ErrorKind::Store => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Unauthorized
        | ErrorKind::Transport
        | ErrorKind::ProviderUnavailable
        | ErrorKind::Malformed => StatusCode::BAD_GATEWAY,
    }
}
