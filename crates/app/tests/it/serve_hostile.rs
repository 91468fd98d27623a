//! `stockdata serve` against hostile or unusual input (issue #12): each test is a defect that
//! was found, driven over real HTTP on loopback.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use stockdata_app::config::{LogConfig, LogFormat, ServeConfig, from_toml};
use stockdata_app::domain::{FetchError, ProviderId, Quote, Symbol};
use stockdata_app::ports::{Capabilities, FixedClock, QuoteSource};
use stockdata_app::serve::{ACCESS_LOG_TARGET, ConnectionLimits};
use stockdata_app::{StockData, logging};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::fakes::{quote, ts};
use crate::logs::Capture;
use crate::serve::{TOKEN, client, config, fake, get, start, start_with, stockdata};

/// Far longer than any bound under test: only reached when the server never closes.
const FAILSAFE: Duration = Duration::from_secs(10);

/// Reads until the server closes the connection; the bytes read, or `None` if it is still
/// open after [`FAILSAFE`].
async fn until_closed(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut seen = Vec::new();
    let read = async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(FAILSAFE, read)
        .await
        .ok()
        .map(|()| seen)
}

fn short_header_timeout() -> ConnectionLimits {
    ConnectionLimits {
        header_read_timeout: Duration::from_millis(300),
        ..ConnectionLimits::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn slowloris_partial_headers_are_cut_off() {
    let s = start_with(
        stockdata(Arc::new(fake())),
        config(),
        short_header_timeout(),
    )
    .await;
    let mut stream = TcpStream::connect(s.base.trim_start_matches("http://"))
        .await
        .unwrap();
    // A request head that never ends.
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let answer = until_closed(&mut stream).await;
    assert!(
        answer.is_some(),
        "the connection is still open after {FAILSAFE:?}"
    );
    assert!(started.elapsed() < FAILSAFE);
    s.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_keep_alive_connections_are_closed() {
    let s = start_with(
        stockdata(Arc::new(fake())),
        config(),
        short_header_timeout(),
    )
    .await;
    let mut stream = TcpStream::connect(s.base.trim_start_matches("http://"))
        .await
        .unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = until_closed(&mut stream)
        .await
        .expect("an idle keep-alive connection is closed");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains(r#"{"status":"ok"}"#), "{text}");
    s.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn request_ids_are_short_visible_ascii_or_replaced() {
    let s = start(Arc::new(fake()), config()).await;
    let url = format!("{}/v1/quotes?symbols=AAPL", s.base);
    let send = |id: Vec<u8>| {
        let url = url.clone();
        async move {
            let r = client()
                .get(url)
                .bearer_auth(TOKEN)
                .header(
                    "x-request-id",
                    reqwest::header::HeaderValue::from_bytes(&id).unwrap(),
                )
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 200);
            r.headers().get("x-request-id").unwrap().as_bytes().to_vec()
        }
    };
    let longest = "k".repeat(128).into_bytes();
    assert_eq!(send(longest.clone()).await, longest, "128 characters: kept");
    let visible = b"!#$%&'()*+-./:;<=>?@[]^_`{|}~AZaz09\"\\".to_vec();
    assert_eq!(
        send(visible.clone()).await,
        visible,
        "any visible ASCII: kept"
    );
    for hostile in [
        "x".repeat(5000).into_bytes(),
        "k".repeat(129).into_bytes(),
        b"\xff\xfe<script>".to_vec(),
        b"two words".to_vec(),
    ] {
        let echoed = send(hostile.clone()).await;
        assert_ne!(echoed, hostile);
        assert_eq!(echoed.len(), 16, "a generated id");
        assert!(echoed.iter().all(u8::is_ascii_hexdigit));
    }
    s.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bearer_scheme_is_case_insensitive() {
    let s = start(Arc::new(fake()), config()).await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let r = client()
            .get(format!("{}/v1/quotes?symbols=AAPL", s.base))
            .header("authorization", format!("{scheme} {TOKEN}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{scheme}");
    }
    let r = client()
        .get(format!("{}/v1/quotes?symbols=AAPL", s.base))
        .header("authorization", format!("Basic {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401, "another scheme");
    s.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn repeated_symbols_parameters_are_merged_in_order_without_duplicates() {
    let s = start(Arc::new(fake()), config()).await;
    let (status, _, body) = get(&format!(
        "{}/v1/quotes?symbols=AAPL,msft&symbols=ZZZZ,aapl&symbols=MSFT",
        s.base
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    let symbols: Vec<&str> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["symbol"].as_str().unwrap())
        .collect();
    assert_eq!(symbols, ["AAPL", "MSFT", "ZZZZ"]);
    let many = (0..60)
        .map(|i| format!("S{i}"))
        .collect::<Vec<_>>()
        .join(",");
    let (status, _, body) = get(&format!(
        "{}/v1/quotes?symbols={many}&symbols={many}",
        s.base
    ))
    .await;
    assert_eq!(status, 400, "120 symbols in all: {body}");
    let (status, _, body) = get(&format!(
        "{}/v1/bars?symbols=AAPL&interval=1d&interval=1m\
         &start=2024-03-07T05:00:00Z&end=2024-03-09T05:00:00Z",
        s.base
    ))
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("interval is given more than once")
    );
    s.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn every_rfc3339_instant_is_accepted_and_empty_ranges_ask_no_provider() {
    let fake = Arc::new(fake());
    let s = start(fake.clone(), config()).await;
    let no_data_for_each = |body: &serde_json::Value| {
        let results = body["results"].as_array().unwrap();
        assert!(!results.is_empty());
        for r in results {
            assert_eq!(r["error"]["kind"], "no_data", "{body}");
        }
    };
    for range in [
        // The last instant of year 9999, which jiff cannot represent: empty either way.
        "start=9999-12-31T23:59:59Z&end=9999-12-31T23:59:59Z",
        // Equal bounds: the range is empty.
        "start=2024-03-01T00:00:00Z&end=2024-03-01T00:00:00Z",
        "start=0999-01-01T00:00:00Z&end=0999-01-01T00:00:00Z",
        // After the clock's now: nothing can be there yet.
        "start=2030-01-01T00:00:00Z&end=2031-01-01T00:00:00z",
        "start=9999-12-30T00:00:00%2B05:00&end=9999-12-31T23:59:59.999999999-23:59",
    ] {
        for interval in ["1m", "1d"] {
            let (status, _, body) = get(&format!(
                "{}/v1/bars?symbols=AAPL,MSFT&interval={interval}&{range}",
                s.base
            ))
            .await;
            assert_eq!(status, 200, "{range}: {body}");
            no_data_for_each(&body);
        }
        let (status, _, body) = get(&format!("{}/v1/news?symbols=AAPL&{range}", s.base)).await;
        assert_eq!(status, 200, "{range}: {body}");
        assert_eq!(body["articles"], serde_json::json!([]));
    }
    assert_eq!(fake.calls(), 0, "no provider was asked");

    // Years before 1000 are RFC 3339 too: asked for, and answered from what the providers have.
    let (status, _, body) = get(&format!(
        "{}/v1/bars?symbols=AAPL&interval=1d&start=0999-01-01T00:00:00Z&end=0999-02-01T00:00:00Z",
        s.base
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    no_data_for_each(&body);
    assert_eq!(fake.calls(), 1);
    s.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kind_without_provider_is_503_naming_what_to_configure() {
    let capture = Capture::default();
    let log = LogConfig {
        format: Some(LogFormat::Json),
        level: "warn".into(),
        otlp_endpoint: None,
    };
    let subscriber = logging::subscriber(&log, None, capture.clone(), false).unwrap();
    let _guard = tracing::subscriber::set_default(subscriber);
    tracing::callsite::rebuild_interest_cache();
    // Quotes only: bars and news have no provider.
    let quotes_only = StockData::builder()
        .clock(Arc::new(FixedClock(ts("2024-03-08T21:30:00Z"))))
        .quote_source(Arc::new(fake()) as Arc<dyn QuoteSource>)
        .build()
        .unwrap();
    let s = start_with(quotes_only, config(), ConnectionLimits::default()).await;
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    for kind in ["bars", "news"] {
        assert!(
            logs.lines().any(|l| l.contains("\"level\":\"WARN\"")
                && l.contains(&format!("/v1/{kind} will answer 503"))),
            "a start-up warning for {kind}:\n{logs}"
        );
    }
    assert!(!logs.contains("/v1/quotes will answer 503"), "{logs}");
    for path in [
        "/v1/news?symbols=AAPL",
        "/v1/bars?symbols=AAPL&interval=1d&start=2024-03-07T05:00:00Z&end=2024-03-09T05:00:00Z",
    ] {
        let (status, _, body) = get(&format!("{}{path}", s.base)).await;
        assert_eq!(status, 503, "{path}: {body}");
        assert_eq!(body["error"]["kind"], "provider_unavailable", "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("no provider is configured for"),
            "{message}"
        );
        assert!(message.contains("stockdata providers"), "{message}");
    }
    let (status, _, body) = get(&format!("{}/v1/news?symbols=A%20B", s.base)).await;
    assert_eq!(status, 400, "bad input is still the client's fault: {body}");
    let (status, _, _) = get(&format!("{}/v1/quotes?symbols=AAPL", s.base)).await;
    assert_eq!(status, 200);
    let (status, _, body) = get(&format!("{}/readyz", s.base)).await;
    assert_eq!(status, 200);
    assert_eq!(body["unconfigured"], serde_json::json!(["bars", "news"]));
    s.shutdown.cancel();

    let none = StockData::builder().build().unwrap();
    let s = start_with(none, config(), ConnectionLimits::default()).await;
    let (status, _, body) = get(&format!("{}/v1/quotes?symbols=AAPL", s.base)).await;
    assert_eq!(status, 503, "{body}");
    let (status, _, body) = get(&format!("{}/readyz", s.base)).await;
    assert_eq!(status, 503, "{body}");
    s.shutdown.cancel();
}

fn scrape(text: &str) -> prometheus_parse::Scrape {
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap()
}

async fn metrics(base: &str, accept: Option<&str>) -> (String, String) {
    let mut req = client().get(format!("{base}/metrics")).bearer_auth(TOKEN);
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let content_type = r.headers()["content-type"].to_str().unwrap().to_owned();
    (content_type, r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_speak_the_format_asked_for() {
    // A serve whose quotes come through the serverless adapter from another serve: real
    // transport counters, read by the collector at scrape time.
    let upstream = start(Arc::new(fake()), config()).await;
    let toml = format!(
        "[providers.serverless]\nbase_url = \"{}\"\ntoken = \"{TOKEN}\"\n\n\
         [routing]\nquotes = [\"serverless\"]\nbars = [\"serverless\"]\nnews = [\"serverless\"]\n",
        upstream.base
    );
    let sd = StockData::builder()
        .config(from_toml(&toml, std::path::Path::new("test.toml")).unwrap())
        .clock(Arc::new(FixedClock(ts("2024-03-08T21:30:00Z"))))
        .build()
        .unwrap();
    let s = start_with(sd, config(), ConnectionLimits::default()).await;
    get(&format!("{}/v1/quotes?symbols=AAPL,MSFT", s.base)).await;
    get(&format!("{}/v1/quotes?symbols=", s.base)).await;

    for accept in [None, Some("text/plain;version=0.0.4"), Some("*/*")] {
        let (content_type, text) = metrics(&s.base, accept).await;
        assert_eq!(
            content_type, "text/plain; version=0.0.4; charset=utf-8",
            "{accept:?}"
        );
        assert!(!text.contains("# EOF"));
        let parsed = scrape(&text);
        let value = |metric: &str, labels: &[(&str, &str)]| {
            parsed
                .samples
                .iter()
                .find(|s| {
                    s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(v))
                })
                .map(|s| s.value.clone())
                .unwrap_or_else(|| panic!("no {metric} {labels:?} in\n{text}"))
        };
        use prometheus_parse::Value::Counter;
        assert_eq!(
            value(
                "stockdata_http_requests_total",
                &[("route", "/v1/quotes"), ("status", "200")]
            ),
            Counter(1.0)
        );
        assert_eq!(
            value(
                "stockdata_http_requests_total",
                &[("route", "/v1/quotes"), ("status", "400")]
            ),
            Counter(1.0)
        );
        // One batched request went upstream, however often it is scraped.
        assert_eq!(
            value(
                "stockdata_provider_requests_total",
                &[("provider", "serverless")]
            ),
            Counter(1.0),
            "{text}"
        );
        for family in [
            "stockdata_provider_errors_total",
            "stockdata_rate_limit_waits_total",
            "stockdata_provider_throttled_total",
        ] {
            let typed: Vec<_> = parsed
                .samples
                .iter()
                .filter(|s| s.metric == family)
                .collect();
            assert!(!typed.is_empty(), "{family} in\n{text}");
            assert!(
                typed.iter().all(|s| matches!(s.value, Counter(_))),
                "{family} typed"
            );
        }
        // (This parser leaves a histogram's `_sum` and `_count` untyped, whatever the input.)
        assert!(
            parsed
                .samples
                .iter()
                .filter(|s| !s.metric.ends_with("_sum") && !s.metric.ends_with("_count"))
                .all(|s| !matches!(s.value, prometheus_parse::Value::Untyped(_))),
            "every family is typed:\n{text}"
        );
    }

    let (content_type, text) = metrics(
        &s.base,
        Some("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"),
    )
    .await;
    assert_eq!(
        content_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert_eq!(text.lines().last(), Some("# EOF"));
    assert!(
        text.contains("# TYPE stockdata_http_requests counter\n"),
        "{text}"
    );
    assert!(text.contains("stockdata_provider_requests_total{provider=\"serverless\"} 1\n"));
    s.shutdown.cancel();
    upstream.shutdown.cancel();
}

/// A quote port with a bug: it panics on `BOOM`.
#[derive(Debug)]
struct Panicky(Capabilities);

#[async_trait]
impl QuoteSource for Panicky {
    fn provider(&self) -> ProviderId {
        ProviderId::from_static("panicky")
    }
    fn capabilities(&self) -> &Capabilities {
        &self.0
    }
    async fn quote(&self, symbol: &Symbol) -> Result<Quote, FetchError> {
        assert_ne!(symbol.as_str(), "BOOM", "a bug in a port");
        Ok(quote("panicky", symbol.as_str(), "1.25"))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panicking_handler_answers_500_and_the_service_goes_on() {
    let sd = StockData::builder()
        .quote_source(Arc::new(Panicky(Capabilities::single_symbol())))
        .build()
        .unwrap();
    let s = start_with(sd, config(), ConnectionLimits::default()).await;
    let c = client();
    let r = c
        .get(format!("{}/v1/quotes?symbols=BOOM", s.base))
        .bearer_auth(TOKEN)
        .header("x-request-id", "panic-7")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 500);
    assert_eq!(r.headers()["x-request-id"], "panic-7");
    let body: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(body["error"]["kind"], "provider_unavailable", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("panic-7"),
        "{body}"
    );
    let r = c
        .get(format!("{}/v1/quotes?symbols=AAPL", s.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "the next request is served");
    let (_, text) = metrics(&s.base, None).await;
    assert!(
        text.contains(r#"stockdata_http_requests_total{route="/v1/quotes",status="500"} 1"#),
        "{text}"
    );
    s.shutdown.cancel();
}

#[tokio::test]
async fn one_access_line_per_request_and_nothing_else_at_info() {
    let capture = Capture::default();
    let log = LogConfig {
        format: Some(LogFormat::Json),
        // What serve itself says at info, and its access lines.
        level: format!("warn,stockdata_app::serve=info,{ACCESS_LOG_TARGET}=info"),
        otlp_endpoint: None,
    };
    let subscriber = logging::subscriber(&log, None, capture.clone(), false).unwrap();
    let _guard = tracing::subscriber::set_default(subscriber);
    tracing::callsite::rebuild_interest_cache();
    let s = start(Arc::new(fake()), ServeConfig::default()).await;
    let hostile = "h".repeat(500);
    for (path, id) in [
        ("/v1/quotes?symbols=AAPL", "first-1"),
        ("/v1/quotes?symbols=", "second-2"),
        ("/nowhere", hostile.as_str()),
    ] {
        client()
            .get(format!("{}{path}", s.base))
            .header("x-request-id", id)
            .send()
            .await
            .unwrap();
    }
    s.shutdown.cancel();
    let _ = s.task.await;
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.len(),
        3,
        "one line per request, nothing else:\n{logs}"
    );
    let expected = [
        ("first-1", "/v1/quotes", 200, false),
        ("second-2", "/v1/quotes", 400, false),
        ("", "other", 404, true),
    ];
    for (line, (id, route, status, replaced)) in lines.iter().zip(expected) {
        assert_eq!(line["level"], "INFO", "{line}");
        assert_eq!(line["message"], "request served", "{line}");
        assert_eq!(line["route"], route, "{line}");
        assert_eq!(line["status"], status, "{line}");
        assert_eq!(line["request_id_replaced"], replaced, "{line}");
        assert!(line["latency_ms"].as_f64().is_some(), "{line}");
        let logged_id = line["request_id"].as_str().unwrap();
        if replaced {
            assert_eq!(logged_id.len(), 16, "{line}");
            assert!(!logs.contains(&hostile), "the hostile id is not logged");
        } else {
            assert_eq!(logged_id, id, "{line}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bars_answer_is_bounded_before_any_provider_is_asked() {
    let fake = Arc::new(fake());
    let s = start(fake.clone(), config()).await;
    let hundred = (0..100)
        .map(|i| format!("S{i}"))
        .collect::<Vec<_>>()
        .join(",");
    for (symbols, interval, start, end) in [
        // 100 symbols of 1m bars over a week: 100 × 5 sessions × 390.
        (
            hundred.as_str(),
            "1m",
            "2024-03-04T00:00:00Z",
            "2024-03-09T00:00:00Z",
        ),
        // A decade of 1m bars for one symbol.
        ("AAPL", "1m", "2014-01-01T00:00:00Z", "2024-01-01T00:00:00Z"),
    ] {
        let (status, _, body) = get(&format!(
            "{}/v1/bars?symbols={symbols}&interval={interval}&start={start}&end={end}",
            s.base
        ))
        .await;
        assert_eq!(status, 400, "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("at most 20000 per request"), "{message}");
    }
    assert_eq!(fake.calls(), 0, "no provider was asked");
    // Within the bound: 50 symbols of 1m bars for one session, a decade of daily bars.
    let fifty = (0..50)
        .map(|i| format!("S{i}"))
        .collect::<Vec<_>>()
        .join(",");
    for (symbols, interval, start, end) in [
        (
            fifty.as_str(),
            "1m",
            "2024-03-08T00:00:00Z",
            "2024-03-09T00:00:00Z",
        ),
        ("AAPL", "1d", "2014-01-01T00:00:00Z", "2024-01-01T00:00:00Z"),
    ] {
        let (status, _, body) = get(&format!(
            "{}/v1/bars?symbols={symbols}&interval={interval}&start={start}&end={end}",
            s.base
        ))
        .await;
        assert_eq!(status, 200, "{body}");
    }
    s.shutdown.cancel();
}
