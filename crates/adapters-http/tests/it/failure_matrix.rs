//! The same failure matrix for every adapter: what the shared transport promises.

use std::time::{Duration, Instant};

use stockdata_domain::FetchError;
use stockdata_ports::QuoteSource;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{alpaca, av, fh, fixture, json, serverless, sym};

#[derive(Clone, Copy, Debug)]
enum Target {
    AlphaVantage,
    Finnhub,
    Alpaca,
    Serverless,
}

impl Target {
    fn path(self) -> &'static str {
        match self {
            Target::AlphaVantage => "/query",
            Target::Finnhub => "/api/v1/quote",
            Target::Alpaca => "/v2/stocks/snapshots",
            Target::Serverless => "/v1/quotes",
        }
    }

    fn ok(self) -> ResponseTemplate {
        match self {
            Target::AlphaVantage => json("alphavantage_global_quote.json"),
            Target::Finnhub => json("finnhub_quote.json"),
            Target::Alpaca => json("alpaca_snapshots_multi.json"),
            Target::Serverless => json("serverless_quotes.json"),
        }
    }

    async fn call(self, base: &str) -> Result<(), FetchError> {
        let now = "2024-01-02T15:00:00Z";
        match self {
            Target::AlphaVantage => av(base, now).quote(&sym("MSFT")).await.map(drop),
            Target::Finnhub => fh(base, now).quote(&sym("AAPL")).await.map(drop),
            Target::Alpaca => alpaca(base, now).quote(&sym("AAPL")).await.map(drop),
            Target::Serverless => serverless(base, now).quote(&sym("AAPL")).await.map(drop),
        }
    }
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.map_or(0, |r| r.len())
}

async fn rate_limited_then_ok(t: Target) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(t.path()))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .set_body_raw(
                    fixture("finnhub_error_429_rate_limit.json"),
                    "application/json",
                ),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(t.path()))
        .respond_with(t.ok())
        .mount(&server)
        .await;
    let started = Instant::now();
    t.call(&server.uri()).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 must be honoured, waited {:?}",
        started.elapsed()
    );
    assert_eq!(requests(&server).await, 2);
}

async fn unavailable_then_ok(t: Target) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(t.path()))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(t.path()))
        .respond_with(t.ok())
        .mount(&server)
        .await;
    t.call(&server.uri()).await.unwrap();
    assert_eq!(requests(&server).await, 2);
}

async fn delay_past_timeout(t: Target) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(t.path()))
        .respond_with(t.ok().set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    assert_eq!(t.call(&server.uri()).await, Err(FetchError::Timeout));
    assert_eq!(
        requests(&server).await,
        3,
        "timeouts are retried up to max_attempts"
    );
}

async fn reset_connection(t: Target) {
    // A server that reads the request and drops the connection without answering.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = tokio::spawn(async move {
        let mut count = 0;
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf).await;
            drop(stream);
            count += 1;
            if count == 3 {
                break;
            }
        }
        count
    });
    let err = t.call(&format!("http://{addr}")).await.unwrap_err();
    assert!(matches!(err, FetchError::Transport { .. }), "{err:?}");
    assert_eq!(
        accepted.await.unwrap(),
        3,
        "connection failures are retried"
    );
}

async fn html_error_page(t: Target) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(t.path()))
        .respond_with(ResponseTemplate::new(502).set_body_raw(
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
            "text/html",
        ))
        .mount(&server)
        .await;
    assert_eq!(
        t.call(&server.uri()).await,
        Err(FetchError::ProviderUnavailable { status: Some(502) })
    );
}

async fn truncated_json(t: Target) {
    let server = MockServer::start().await;
    let mut body = match t {
        Target::AlphaVantage => fixture("alphavantage_global_quote.json"),
        Target::Finnhub => fixture("finnhub_quote.json"),
        Target::Alpaca => fixture("alpaca_snapshots_multi.json"),
        Target::Serverless => fixture("serverless_quotes.json"),
    };
    body.truncate(body.len() / 2);
    Mock::given(method("GET"))
        .and(path(t.path()))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let err = t.call(&server.uri()).await.unwrap_err();
    assert!(matches!(err, FetchError::Malformed { .. }), "{err:?}");
}

macro_rules! matrix {
    ($($name:ident),*) => {
        mod alpha_vantage {
            $(
                #[tokio::test]
                async fn $name() { super::$name(super::Target::AlphaVantage).await }
            )*
        }
        mod finnhub {
            $(
                #[tokio::test]
                async fn $name() { super::$name(super::Target::Finnhub).await }
            )*
        }
        mod alpaca {
            $(
                #[tokio::test]
                async fn $name() { super::$name(super::Target::Alpaca).await }
            )*
        }
        mod serverless {
            $(
                #[tokio::test]
                async fn $name() { super::$name(super::Target::Serverless).await }
            )*
        }
    };
}

matrix!(
    rate_limited_then_ok,
    unavailable_then_ok,
    delay_past_timeout,
    reset_connection,
    html_error_page,
    truncated_json
);
