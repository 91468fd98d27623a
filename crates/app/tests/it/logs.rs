use std::io::Write;
use std::sync::{Arc, Mutex};

use stockdata_app::config::{LogConfig, LogFormat, from_toml};
use stockdata_app::ports::FixedClock;
use stockdata_app::{CancellationToken, StockData, logging};
use tracing_subscriber::fmt::MakeWriter;
use wiremock::matchers::{path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::fakes::{sym, ts};

#[derive(Clone, Default)]
pub(crate) struct Capture(pub(crate) Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../adapters-http/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

const KEY: &str = "LOGTEST-av-key-4471";

#[tokio::test]
async fn every_provider_line_carries_run_and_request_ids_and_no_secret() {
    let server = MockServer::start().await;
    Mock::given(path("/query"))
        .and(query_param("function", "GLOBAL_QUOTE"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/query"))
        .and(query_param("function", "GLOBAL_QUOTE"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            fixture("alphavantage_global_quote.json"),
            "application/json",
        ))
        .mount(&server)
        .await;
    Mock::given(path("/query"))
        .and(query_param("function", "TIME_SERIES_DAILY"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            fixture("alphavantage_information_daily_limit.json"),
            "application/json",
        ))
        .mount(&server)
        .await;
    Mock::given(path("/query"))
        .and(query_param("function", "NEWS_SENTIMENT"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            fixture("alphavantage_news_sentiment.json"),
            "application/json",
        ))
        .mount(&server)
        .await;

    let text = format!(
        "[providers.alpha_vantage]\napi_key = \"{KEY}\"\nbase_url = \"{}\"\n\
         requests_per_second = 100\nrequests_per_day = 1000\n",
        server.uri()
    );
    let config = from_toml(&text, std::path::Path::new("test.toml")).unwrap();
    let capture = Capture::default();
    let log = LogConfig {
        format: Some(LogFormat::Json),
        level: "trace".into(),
        otlp_endpoint: None,
    };
    let subscriber = logging::subscriber(&log, None, capture.clone(), false).unwrap();
    let _guard = tracing::subscriber::set_default(subscriber);

    let sd = StockData::builder()
        .config(config)
        .clock(Arc::new(FixedClock(ts("2023-11-30T00:00:00Z"))))
        .build()
        .unwrap();
    let report = sd
        .agent()
        .run(&[sym("MSFT")], &CancellationToken::new(), &|_, _| {})
        .await;
    assert!(report.symbols[0].quote.is_ok());
    assert!(report.symbols[0].bars.is_err(), "quota exhausted in-body");
    let run_id = report.run_id.to_string();

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let mut provider_lines = 0;
    for line in logs.lines() {
        assert!(!line.contains(KEY), "secret leaked: {line}");
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        for field in ["timestamp", "level"] {
            assert!(v.get(field).is_some(), "{field} missing: {line}");
        }
        let spans = v
            .get("spans")
            .and_then(|s| s.as_array())
            .cloned()
            .unwrap_or_default();
        let in_span = |name: &str| spans.iter().find(|s| s["name"] == name).cloned();
        if let Some(run) = in_span("run") {
            assert_eq!(run["run_id"], run_id.as_str(), "{line}");
        }
        if let Some(req) = in_span("provider_request") {
            provider_lines += 1;
            assert!(
                in_span("run").is_some(),
                "provider line outside the run span: {line}"
            );
            assert_eq!(req["request_id"].as_str().map(str::len), Some(16), "{line}");
            assert_eq!(req["provider"], "alpha_vantage", "{line}");
            assert!(req.get("symbol").is_some(), "{line}");
        }
    }
    assert!(
        provider_lines >= 4,
        "attempt events were logged: {provider_lines}\n{logs}"
    );
    assert!(logs.contains("apikey=REDACTED"));
    assert!(logs.contains("agent run finished"));
}
