//! The `otel` feature end to end: the real binary exports its spans over OTLP/HTTP to a
//! loopback collector (wiremock), and the test decodes what arrived with the OpenTelemetry
//! protobuf definitions. An agent run is one trace, run → symbol → provider request, carrying
//! `run_id` and `request_id`; a `serve` request continues the caller's W3C `traceparent`; and
//! the last spans of a process are sent when it exits (also on SIGTERM for `serve`).

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::cli::{NOW, stdout};

/// A collector on loopback that accepts every export.
async fn collector() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/traces"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    server
}

/// Every span the collector received, decoded.
async fn spans(server: &MockServer) -> Vec<Span> {
    let mut out = Vec::new();
    for request in server.received_requests().await.unwrap_or_default() {
        assert_eq!(
            request
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/x-protobuf"),
            "OTLP/HTTP with protobuf bodies"
        );
        let export = ExportTraceServiceRequest::decode(request.body.as_slice()).unwrap();
        for resource in export.resource_spans {
            let service = resource
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| text(kv.value.as_ref()?.value.as_ref()?));
            assert_eq!(service.as_deref(), Some("stockdata"));
            out.extend(resource.scope_spans.into_iter().flat_map(|s| s.spans));
        }
    }
    out
}

fn text(value: &AnyValue) -> Option<String> {
    match value {
        AnyValue::StringValue(s) => Some(s.clone()),
        AnyValue::IntValue(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A span's attribute, as text.
fn attr(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| text(kv.value.as_ref()?.value.as_ref()?))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The spans by id, and the first span named `name` with `key` = `value`.
fn find<'a>(spans: &'a [Span], name: &str, key: &str, value: &str) -> &'a Span {
    spans
        .iter()
        .find(|s| s.name == name && attr(s, key).as_deref() == Some(value))
        .unwrap_or_else(|| {
            let seen: Vec<_> = spans
                .iter()
                .map(|s| (s.name.clone(), attr(s, key)))
                .collect();
            panic!("no {name} span with {key} = {value}; spans: {seen:?}")
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_run_is_one_trace_run_symbol_provider_request() {
    let collector = collector().await;
    let endpoint = collector.uri();
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = crate::cli::stockdata();
        cmd.env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint).args([
            "--sandbox",
            "--now",
            NOW,
            "--provider",
            "finnhub",
            "agent",
            "--watchlist",
            "AAPL,MSFT",
            "--format",
            "json",
        ]);
        stdout(&mut cmd, 0)
    })
    .await
    .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let run_id = doc["run_id"].as_str().unwrap().to_owned();

    // Everything was sent before the process exited: nothing arrives later.
    let spans = spans(&collector).await;
    let run = find(&spans, "run", "run_id", &run_id);
    assert!(run.parent_span_id.is_empty(), "the run is the trace's root");
    assert_eq!(run.trace_id.len(), 16);
    let by_id: HashMap<&[u8], &Span> = spans.iter().map(|s| (s.span_id.as_slice(), s)).collect();
    for symbol in ["AAPL", "MSFT"] {
        let requests: Vec<&Span> = spans
            .iter()
            .filter(|s| {
                s.name == "provider_request" && attr(s, "symbol").as_deref() == Some(symbol)
            })
            .collect();
        assert!(!requests.is_empty(), "{symbol}: no provider request span");
        for request in requests {
            assert_eq!(attr(request, "provider").as_deref(), Some("finnhub"));
            let request_id = attr(request, "request_id").unwrap();
            assert_eq!(request_id.len(), 16, "64 random bits in hex: {request_id}");
            assert_eq!(
                request.trace_id, run.trace_id,
                "{symbol}: one trace per run"
            );
            // provider request → symbol → … → run
            let parent = by_id[request.parent_span_id.as_slice()];
            assert_eq!(parent.name, "symbol");
            assert_eq!(attr(parent, "symbol").as_deref(), Some(symbol));
            let mut up = parent;
            while up.name != "run" {
                up = by_id
                    .get(up.parent_span_id.as_slice())
                    .unwrap_or_else(|| panic!("{symbol}: {} has no parent in the trace", up.name));
            }
            assert_eq!(up.span_id, run.span_id);
            assert!(request.end_time_unix_nano >= request.start_time_unix_nano);
            assert!(run.start_time_unix_nano <= request.start_time_unix_nano);
            assert!(run.end_time_unix_nano >= request.end_time_unix_nano);
        }
    }
    let request_ids: std::collections::HashSet<_> = spans
        .iter()
        .filter(|s| s.name == "provider_request")
        .filter_map(|s| attr(s, "request_id"))
        .collect();
    let requests = spans
        .iter()
        .filter(|s| s.name == "provider_request")
        .count();
    assert_eq!(
        request_ids.len(),
        requests,
        "one request_id per provider request"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_served_request_continues_the_callers_traceparent() {
    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const PARENT: &str = "00f067aa0ba902b7";
    let collector = collector().await;
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("stockdata"))
        .env_clear()
        .env("PACT_DO_NOT_TRACK", "true")
        .env("STOCKDATA__STORE__PATH", crate::cli::fresh_store())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.uri())
        .current_dir(crate::cli::empty_dir())
        .args(["--sandbox", "--now", NOW, "--provider", "finnhub"])
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(addr) = line.split("listening on ").nth(1) {
                let _ = tx.send(addr.to_owned());
            }
        }
    });
    let base = rx.recv_timeout(Duration::from_secs(30)).unwrap();

    let client = reqwest::Client::new();
    let traced = client
        .get(format!("{base}/v1/quotes?symbols=AAPL"))
        .header("traceparent", format!("00-{TRACE}-{PARENT}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(traced.status(), 200);
    let traced_id = traced.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    // Without a traceparent a request starts its own trace; a malformed one is ignored.
    let mut own_ids = Vec::new();
    for header in [None, Some("00-zz-not-a-trace-01")] {
        let mut request = client.get(format!("{base}/v1/quotes?symbols=MSFT"));
        if let Some(h) = header {
            request = request.header("traceparent", h);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        own_ids.push(
            response.headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
    }

    // SIGTERM: serve drains and exits 0, sending its last spans on the way out.
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "serve did not exit on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");

    let spans = spans(&collector).await;
    let request = find(&spans, "request", "request_id", &traced_id);
    assert_eq!(
        hex(&request.trace_id),
        TRACE,
        "the caller's trace continues"
    );
    assert_eq!(
        hex(&request.parent_span_id),
        PARENT,
        "under the caller's span"
    );
    let by_id: HashMap<&[u8], &Span> = spans.iter().map(|s| (s.span_id.as_slice(), s)).collect();
    let provider = spans
        .iter()
        .find(|s| s.name == "provider_request" && attr(s, "symbol").as_deref() == Some("AAPL"))
        .expect("the provider request of the traced call");
    assert_eq!(hex(&provider.trace_id), TRACE);
    let mut up = provider;
    while up.span_id != request.span_id {
        up = by_id
            .get(up.parent_span_id.as_slice())
            .unwrap_or_else(|| panic!("{} has no parent in the trace", up.name));
    }
    for id in own_ids {
        let own = find(&spans, "request", "request_id", &id);
        assert_ne!(hex(&own.trace_id), TRACE);
        assert!(
            own.parent_span_id.is_empty(),
            "a request without a valid traceparent is a root"
        );
    }
}
