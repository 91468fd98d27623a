//! `stockdata serve` over real HTTP on loopback, with fakes behind the ports.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use stockdata_app::adapters::serverless::{Serverless, ServerlessConfig};
use stockdata_app::adapters::transport::PacerRegistry;
use stockdata_app::config::ServeConfig;
use stockdata_app::domain::{ErrorKind, FetchError};
use stockdata_app::ports::{BarSource, FixedClock, NewsSource, QuoteSource};
use stockdata_app::serve::{ConnectionLimits, check_exposure, router, run_with_limits};
use stockdata_app::{CancellationToken, StockData};

use crate::fakes::{Fake, article, daily_bar, sym, ts};

pub(crate) const TOKEN: &str = "serve-token-0d1f";

pub(crate) struct Running {
    pub(crate) base: String,
    pub(crate) shutdown: CancellationToken,
    pub(crate) task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// `serve` for `sd` on a free loopback port.
pub(crate) async fn start_with(
    sd: StockData,
    config: ServeConfig,
    limits: ConnectionLimits,
) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    let grace = config.grace_period;
    let task = tokio::spawn(run_with_limits(
        listener,
        router(sd, config),
        limits,
        grace,
        shutdown.clone(),
    ));
    Running {
        base,
        shutdown,
        task,
    }
}

/// `fake` behind all three ports, at 2024-03-08T21:30:00Z.
pub(crate) fn stockdata(fake: Arc<Fake>) -> StockData {
    StockData::builder()
        .clock(Arc::new(FixedClock(ts("2024-03-08T21:30:00Z"))))
        .quote_source(fake.clone() as Arc<dyn QuoteSource>)
        .bar_source(fake.clone() as Arc<dyn BarSource>)
        .news_source(fake as Arc<dyn NewsSource>)
        .build()
        .unwrap()
}

pub(crate) async fn start(fake: Arc<Fake>, config: ServeConfig) -> Running {
    start_with(stockdata(fake), config, ConnectionLimits::default()).await
}

pub(crate) fn config() -> ServeConfig {
    ServeConfig {
        tokens: vec![SecretString::from(TOKEN)],
        ..ServeConfig::default()
    }
}

pub(crate) fn fake() -> Fake {
    Fake::new("fake")
        .quote("AAPL", Ok("189.98"))
        .quote(
            "MSFT",
            Err(FetchError::RateLimited {
                retry_after: Some(Duration::from_secs(7)),
            }),
        )
        .bars(
            "AAPL",
            Ok(vec![
                daily_bar("fake", "AAPL", "2024-03-07", "169.00"),
                daily_bar("fake", "AAPL", "2024-03-08", "170.73"),
            ]),
        )
        .news(Ok(vec![article(
            "fake",
            "1",
            "Apple news",
            "https://e.com/1",
            "2024-03-08T14:31:07Z",
        )]))
}

/// Waits until a call has reached `fake` and is still running there (no guessing with sleeps).
pub(crate) async fn until_in_flight(fake: &Fake) {
    let reached = async {
        while fake.in_flight.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), reached)
        .await
        .expect("a call reached the port");
}

pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::new()
}

pub(crate) async fn get(url: &str) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    let r = client().get(url).bearer_auth(TOKEN).send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn quotes_with_per_symbol_errors_and_exact_decimals() {
    let s = start(Arc::new(fake()), config()).await;
    let (status, headers, body) =
        get(&format!("{}/v1/quotes?symbols=AAPL,MSFT,ZZZZ", s.base)).await;
    assert_eq!(status, 200);
    assert!(
        headers.contains_key("x-request-id"),
        "a generated request id is echoed"
    );
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["quote"]["price"].to_string(), "189.98");
    assert_eq!(results[1]["error"]["kind"], "rate_limited");
    assert_eq!(results[1]["error"]["retry_after_s"], 7.0);
    assert_eq!(results[2]["error"]["kind"], "unknown_symbol");
    s.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn bars_and_news() {
    let s = start(Arc::new(fake()), config()).await;
    let (status, _, body) = get(&format!(
        "{}/v1/bars?symbols=AAPL&interval=1d&start=2024-03-07T05:00:00Z&end=2024-03-09T05:00:00Z",
        s.base
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    let bars = body["results"][0]["bars"].as_array().unwrap();
    assert_eq!(bars.len(), 2);
    assert_eq!(bars[1]["start"], "2024-03-08T05:00:00Z");
    assert_eq!(bars[1]["close"].to_string(), "170.73");
    let (status, _, body) = get(&format!(
        "{}/v1/news?symbols=AAPL&start=2024-03-08T00:00:00Z&end=2024-03-09T00:00:00Z&limit=5",
        s.base
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["articles"][0]["id"], "fake:1");
    s.shutdown.cancel();
}

/// Quotes and bars keep every digit a provider sent, past what an f64 holds (a body built
/// through `serde_json::Value` would round them to 17 significant digits).
#[tokio::test(flavor = "multi_thread")]
async fn quotes_and_bars_keep_every_digit() {
    let many = "612345.678901234567891";
    let fake = Fake::new("fake").quote("BRK.A", Ok(many)).bars(
        "BRK.A",
        Ok(vec![daily_bar("fake", "BRK.A", "2024-03-08", many)]),
    );
    let s = start(Arc::new(fake), config()).await;
    for path in [
        "/v1/quotes?symbols=BRK.A",
        "/v1/bars?symbols=BRK.A&interval=1d&start=2024-03-07T05:00:00Z&end=2024-03-09T05:00:00Z",
    ] {
        let text = client()
            .get(format!("{}{path}", s.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(text.contains(&format!(":{many}")), "{path}: {text}");
        assert!(
            text.starts_with(r#"{"results":[{"symbol":"BRK.A","#),
            "{text}"
        );
    }
    s.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_400_and_touches_no_provider() {
    let fake = Arc::new(fake());
    let s = start(fake.clone(), config()).await;
    let many = (0..101)
        .map(|i| format!("S{i}"))
        .collect::<Vec<_>>()
        .join(",");
    let long = "A".repeat(9000);
    let cases = [
        (
            "/v1/bars?symbols=AAPL&interval=2m&start=2024-03-01T00:00:00Z&end=2024-03-02T00:00:00Z",
            "unknown interval",
        ),
        ("/v1/quotes?symbols=AAPL%20MSFT", "whitespace"),
        ("/v1/quotes?symbols=", "symbols is required"),
        (&format!("/v1/quotes?symbols={many}"), "at most 100"),
        (
            "/v1/bars?symbols=AAPL&interval=1d&start=2024-03-09T00:00:00Z&end=2024-03-01T00:00:00Z",
            "is after end",
        ),
        (
            "/v1/bars?symbols=AAPL&interval=1d&start=2000-01-01T00:00:00Z&end=2024-03-01T00:00:00Z",
            "longer than 3660 days",
        ),
        (
            "/v1/bars?symbols=AAPL&interval=1d&start=yesterday&end=2024-03-01T00:00:00Z",
            "RFC 3339",
        ),
        ("/v1/news?symbols=AAPL&limit=0", "limit must be"),
        ("/v1/news?symbols=AAPL&limit=5000", "limit must be"),
        (
            &format!("/v1/quotes?symbols=AAPL&pad={long}"),
            "query string is longer",
        ),
    ];
    for (path, needle) in cases {
        let (status, _, body) = get(&format!("{}{path}", s.base)).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["error"]["kind"], "invalid_request", "{path}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{path}: {message}");
    }
    let big = "x".repeat(17 * 1024);
    let r = client()
        .get(format!("{}/v1/quotes?symbols=AAPL", s.base))
        .bearer_auth(TOKEN)
        .header("x-padding", big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400, "oversized headers");
    assert_eq!(fake.calls(), 0, "no provider was asked");
    s.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn auth_is_required_and_reveals_nothing() {
    let s = start(Arc::new(fake()), config()).await;
    for auth in [None, Some("wrong"), Some("serve-token-0d1")] {
        let mut req = client().get(format!("{}/v1/quotes?symbols=AAPL", s.base));
        if let Some(t) = auth {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status().as_u16(), 401);
        let body: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"error": {"kind": "unauthorized", "message": "unauthorized"}})
        );
    }
    let r = client()
        .get(format!("{}/healthz", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "health needs no token");
    s.shutdown.cancel();

    let loopback: SocketAddr = "127.0.0.1:8080".parse().unwrap();
    let exposed: SocketAddr = "0.0.0.0:8080".parse().unwrap();
    assert!(check_exposure(&loopback, &[]).is_ok());
    assert!(check_exposure(&exposed, &[SecretString::from("t")]).is_ok());
    let err = check_exposure(&exposed, &[]).unwrap_err();
    assert!(err.contains("STOCKDATA_SERVE_TOKEN"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn saturation_is_503_with_retry_after_and_slow_requests_time_out() {
    let slow = Arc::new(fake().delay(Duration::from_millis(400)));
    let s = start(
        slow.clone(),
        ServeConfig {
            concurrency: 1,
            request_timeout: Duration::from_millis(1500),
            ..config()
        },
    )
    .await;
    let url = format!("{}/v1/quotes?symbols=AAPL", s.base);
    let first = tokio::spawn({
        let url = url.clone();
        async move { get(&url).await }
    });
    until_in_flight(&slow).await;
    let b = get(&url).await;
    let a = first.await.unwrap();
    assert_eq!(a.0, 200);
    assert_eq!(b.0, 503, "{}", b.2);
    assert_eq!(b.1.get("retry-after").unwrap(), "1");
    s.shutdown.cancel();

    let slower = Arc::new(fake().delay(Duration::from_secs(3)));
    let s = start(
        slower,
        ServeConfig {
            request_timeout: Duration::from_millis(200),
            ..config()
        },
    )
    .await;
    let (status, _, body) = get(&url.replace(&url[..url.find("/v1").unwrap()], &s.base)).await;
    assert_eq!(status, 504);
    assert_eq!(body["error"]["kind"], "timeout");
    s.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn request_ids_are_accepted_and_echoed() {
    let s = start(Arc::new(fake()), config()).await;
    let r = client()
        .get(format!("{}/v1/quotes?symbols=AAPL", s.base))
        .bearer_auth(TOKEN)
        .header("x-request-id", "client-id-42")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers().get("x-request-id").unwrap(), "client-id-42");
    s.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_routes_statuses_and_provider_errors() {
    let s = start(Arc::new(fake()), config()).await;
    get(&format!("{}/v1/quotes?symbols=AAPL,MSFT", s.base)).await;
    get(&format!("{}/v1/quotes?symbols=", s.base)).await;
    let (status, _, body) = get(&format!("{}/metrics", s.base)).await;
    assert_eq!(status, 200);
    let text = body.as_str().unwrap().to_owned();
    for needle in [
        r#"stockdata_http_requests_total{route="/v1/quotes",status="200"} 1"#,
        r#"stockdata_http_requests_total{route="/v1/quotes",status="400"} 1"#,
        r#"stockdata_http_request_duration_seconds_count{route="/v1/quotes"} 2"#,
        r#"stockdata_provider_errors_total{provider="fake",kind="rate_limited"} 1"#,
        "stockdata_failovers_total",
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
    s.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_drains_in_flight_requests() {
    let slow = Arc::new(fake().delay(Duration::from_millis(500)));
    let s = start(
        slow.clone(),
        ServeConfig {
            grace_period: Duration::from_secs(5),
            ..config()
        },
    )
    .await;
    let url = format!("{}/v1/quotes?symbols=AAPL", s.base);
    let in_flight = tokio::spawn(async move { get(&url).await.0 });
    until_in_flight(&slow).await;
    s.shutdown.cancel();
    assert_eq!(
        in_flight.await.unwrap(),
        200,
        "the in-flight request finished"
    );
    s.task.await.unwrap().unwrap();
    let refused = client().get(format!("{}/healthz", s.base)).send().await;
    assert!(refused.is_err(), "no new connections after shutdown");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_serverless_adapter_reads_what_serve_writes() {
    let s = start(Arc::new(fake()), config()).await;
    let adapter = Serverless::new(
        ServerlessConfig::new(s.base.parse().unwrap(), Some(SecretString::from(TOKEN))),
        &PacerRegistry::new(),
        Arc::new(FixedClock(ts("2024-03-08T21:30:00Z"))),
    )
    .unwrap();
    let answers = adapter
        .quotes(&[sym("AAPL"), sym("MSFT"), sym("ZZZZ")])
        .await;
    assert_eq!(
        answers[0].result.as_ref().unwrap().price.to_string(),
        "189.98"
    );
    assert_eq!(
        answers[1].result.as_ref().unwrap_err().kind(),
        ErrorKind::RateLimited
    );
    assert_eq!(
        answers[2].result.as_ref().unwrap_err().kind(),
        ErrorKind::UnknownSymbol
    );
    let bars = adapter
        .bars(&stockdata_app::domain::BarQuery {
            symbol: sym("AAPL"),
            interval: stockdata_app::domain::Interval::Day1,
            range: stockdata_app::domain::TimeRange::new(
                ts("2024-03-07T05:00:00Z"),
                ts("2024-03-09T05:00:00Z"),
            )
            .unwrap(),
            adjustment: stockdata_app::domain::Adjustment::Raw,
        })
        .await
        .unwrap();
    assert_eq!(bars.len(), 2);
    s.shutdown.cancel();
}

#[tokio::test]
async fn every_log_line_of_a_request_carries_its_request_id() {
    let capture = crate::logs::Capture::default();
    let log = stockdata_app::config::LogConfig {
        format: Some(stockdata_app::config::LogFormat::Json),
        level: "info".into(),
        otlp_endpoint: None,
    };
    let subscriber =
        stockdata_app::logging::subscriber(&log, None, capture.clone(), false).unwrap();
    let _guard = tracing::subscriber::set_default(subscriber);
    let s = start(Arc::new(fake()), config()).await;
    // Other tests of this binary may register the same callsites concurrently, before this
    // thread's subscriber existed (cargo test runs them on threads): warm up, then have
    // tracing recompute which callsites are enabled.
    get(&format!("{}/v1/quotes?symbols=AAPL", s.base)).await;
    tracing::callsite::rebuild_interest_cache();
    capture.0.lock().unwrap().clear();
    let r = client()
        .get(format!("{}/v1/quotes?symbols=AAPL,MSFT", s.base))
        .bearer_auth(TOKEN)
        .header("x-request-id", "trace-me-7")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    s.shutdown.cancel();
    let _ = s.task.await;
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("\"name\":\"request\""))
        .collect();
    assert!(
        lines.len() >= 2,
        "the fail-over and the served line at least:\n{logs}"
    );
    for line in &lines {
        assert!(line.contains("\"request_id\":\"trace-me-7\""), "{line}");
    }
}

/// `/v1/news` writes an article's sentiment with every digit (past what an f64 holds), and
/// the serverless adapter reads it back equal: sentiment survives serve → serverless.
#[tokio::test(flavor = "multi_thread")]
async fn news_sentiment_survives_serve_and_the_serverless_adapter() {
    use stockdata_app::domain::{NewsQuery, Sentiment, SentimentLabel, TickerSentiment, TimeRange};

    let mut scored = article(
        "fake",
        "1",
        "Apple news",
        "https://e.com/1",
        "2024-03-08T14:31:07Z",
    );
    scored.sentiment = Some(Sentiment {
        score: "0.12345678901234567891".parse().unwrap(),
        label: SentimentLabel::SomewhatBullish,
        tickers: vec![
            TickerSentiment {
                symbol: sym("AAPL"),
                relevance: "0.000063".parse().unwrap(),
                score: "-0.234186".parse().unwrap(),
                label: SentimentLabel::Other("Mixed".to_owned()),
            },
            TickerSentiment {
                symbol: sym("MSFT"),
                relevance: "1".parse().unwrap(),
                score: "0.588718".parse().unwrap(),
                label: SentimentLabel::Bullish,
            },
        ],
    });
    let plain = article(
        "fake",
        "2",
        "More news",
        "https://e.com/2",
        "2024-03-08T14:00:00Z",
    );
    let fake = Fake::new("fake").news(Ok(vec![scored.clone(), plain.clone()]));
    let s = start(Arc::new(fake), config()).await;
    let url = format!(
        "{}/v1/news?symbols=AAPL&start=2024-03-08T00:00:00Z&end=2024-03-09T00:00:00Z",
        s.base
    );
    let r = client().get(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let text = r.text().await.unwrap();
    let want = concat!(
        r#""synthetic":false,"sentiment":{"score":0.12345678901234567891,"#,
        r#""label":"somewhat_bullish","tickers":[{"symbol":"AAPL","relevance":0.000063,"#,
        r#""score":-0.234186,"label":"Mixed"},{"symbol":"MSFT","relevance":1,"#,
        r#""score":0.588718,"label":"bullish"}]}}"#,
    );
    assert!(text.contains(want), "{text}");
    assert!(
        text.contains(r#""synthetic":false,"sentiment":null}"#),
        "{text}"
    );

    let adapter = Serverless::new(
        ServerlessConfig::new(s.base.parse().unwrap(), Some(SecretString::from(TOKEN))),
        &PacerRegistry::new(),
        Arc::new(FixedClock(ts("2024-03-08T21:30:00Z"))),
    )
    .unwrap();
    let got = adapter
        .news(&NewsQuery {
            symbols: vec![sym("AAPL")],
            range: TimeRange::new(ts("2024-03-08T00:00:00Z"), ts("2024-03-09T00:00:00Z")).unwrap(),
            limit: 10,
        })
        .await
        .unwrap();
    let sentiments: Vec<_> = got.iter().map(|a| format!("{:?}", a.sentiment)).collect();
    assert_eq!(
        sentiments,
        [
            format!("{:?}", scored.sentiment),
            format!("{:?}", plain.sentiment)
        ]
    );
    s.shutdown.cancel();
}
