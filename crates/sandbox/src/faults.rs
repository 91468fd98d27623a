//! Fault injection: one middleware in front of every dialect (and of the unknown-path
//! fallback), so a handler never knows faults exist. Faults are what the network and an
//! overloaded provider do, whatever the path: latency, a dropped connection, a 503, a body cut
//! in half.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::Shared;

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

/// The middleware: latency first, then a reset or a 503 instead of the answer (the dialect
/// never sees the request, so it counts against no quota), else the dialect's answer, cut in
/// half now and then. A stream's upgrade request passes untouched: streams have their own
/// faults (`crate::StreamFaults`).
pub(crate) async fn inject(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    if request.headers().contains_key(header::UPGRADE) {
        return next.run(request).await;
    }
    let faults = shared.config.faults;
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    if shared.dice.hit(faults.reset_rate) {
        return reset();
    }
    if shared.dice.hit(faults.error_rate) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "<html><body>503 Service Unavailable (sandbox fault)</body></html>",
        )
            .into_response();
    }
    let response = next.run(request).await;
    if shared.dice.hit(faults.malformed_rate) {
        truncate(response).await
    } else {
        response
    }
}

/// A 200 whose body fails before its first byte: the client sees the connection drop.
fn reset() -> Response {
    let stream = futures_util::stream::once(async {
        Err::<Bytes, _>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "sandbox fault: connection reset",
        ))
    });
    Response::new(Body::from_stream(stream))
}

/// The same answer with the first half of its body only.
async fn truncate(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(bytes.slice(..bytes.len() / 2)))
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use axum::http::StatusCode;

    use super::Faults;
    use crate::testing::{Sim, get};

    fn with(faults: Faults) -> Sim {
        Sim::new(None, faults)
    }

    #[tokio::test]
    async fn no_faults_by_default() {
        let sim = with(Faults::default());
        for _ in 0..20 {
            let a = get(&sim, "/serverless/v1/quotes?symbols=AAPL", &[]).await;
            assert_eq!(a.status, StatusCode::OK);
            assert!(a.json().is_ok());
        }
    }

    #[tokio::test]
    async fn error_rate_1_always_answers_503_before_the_dialect() {
        let sim = with(Faults {
            error_rate: 1.0,
            ..Faults::default()
        });
        for uri in [
            "/serverless/v1/quotes?symbols=AAPL",
            "/alpha_vantage/query?function=GLOBAL_QUOTE&symbol=AAPL&apikey=k",
            "/nowhere",
        ] {
            for _ in 0..10 {
                let a = get(&sim, uri, &[]).await;
                assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{uri}");
                assert!(a.text().contains("sandbox fault"));
            }
        }
        assert_eq!(
            sim.requests(),
            30,
            "every request is counted, faulted or not"
        );
    }

    #[tokio::test]
    async fn reset_rate_1_always_drops_the_body() {
        let sim = with(Faults {
            reset_rate: 1.0,
            error_rate: 1.0,
            ..Faults::default()
        });
        for _ in 0..10 {
            let a = get(&sim, "/serverless/v1/quotes?symbols=AAPL", &[]).await;
            assert!(a.body.is_err(), "the reset comes first");
        }
    }

    #[tokio::test]
    async fn malformed_rate_1_always_cuts_the_body_in_half() {
        let whole = get(
            &with(Faults::default()),
            "/serverless/v1/quotes?symbols=AAPL",
            &[],
        )
        .await;
        let sim = with(Faults {
            malformed_rate: 1.0,
            ..Faults::default()
        });
        for _ in 0..10 {
            let cut = get(&sim, "/serverless/v1/quotes?symbols=AAPL", &[]).await;
            assert_eq!(cut.status, StatusCode::OK);
            assert_eq!(cut.text(), whole.text()[..whole.text().len() / 2]);
            assert!(cut.json().is_err());
        }
    }

    #[tokio::test]
    async fn latency_delays_every_answer() {
        let sim = with(Faults {
            latency: std::time::Duration::from_millis(60),
            ..Faults::default()
        });
        let started = Instant::now();
        let a = get(&sim, "/serverless/v1/quotes?symbols=AAPL", &[]).await;
        assert_eq!(a.status, StatusCode::OK);
        assert!(started.elapsed() >= std::time::Duration::from_millis(60));
    }

    #[tokio::test]
    async fn a_faulted_request_uses_no_quota() {
        let quotas = crate::Quotas {
            alpaca_per_minute: 1,
            ..crate::Quotas::FREE
        };
        let auth = [("apca-api-key-id", "k"), ("apca-api-secret-key", "s")];
        let uri = "/alpaca/v2/stocks/snapshots?symbols=AAPL";
        let faulty = Sim::new(
            Some(quotas),
            Faults {
                error_rate: 1.0,
                ..Faults::default()
            },
        );
        for _ in 0..3 {
            assert_eq!(
                get(&faulty, uri, &auth).await.status,
                StatusCode::SERVICE_UNAVAILABLE
            );
        }
        let standing =
            faulty
                .shared
                .windows
                .standing("alpaca", "k", crate::quota::Window::per_minute(1));
        assert_eq!(standing.remaining, 1);
    }
}
