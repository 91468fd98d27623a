//! API keys never appear in logs, errors or Debug output.

use std::io::Write;
use std::sync::{Arc, Mutex};

use stockdata_domain::{FetchError, NewsQuery, TimeRange};
use stockdata_ports::{NewsSource, QuoteSource};
use tracing_subscriber::fmt::MakeWriter;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{
    APCA_KEY_ID, APCA_SECRET, AV_KEY, FH_KEY, SERVERLESS_TOKEN, alpaca, alpaca_config, av,
    av_config, fh, fh_config, json, serverless, serverless_config, sym, ts,
};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

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
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn body(text: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(text.to_owned(), "application/json")
}

#[tokio::test]
async fn keys_appear_nowhere_through_failing_and_succeeding_exchanges() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(capture.clone())
        .with_ansi(false)
        .json()
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mut errors: Vec<FetchError> = Vec::new();
    let mut shown_extra = String::new();

    // Alpha Vantage: in-body errors that echo the key, throttling, a 5xx, then success.
    let server = MockServer::start().await;
    let echo_info = format!(
        "{{\"Information\": \"We have detected your API key as {AV_KEY} and our standard API \
         rate limit is 25 requests per day.\"}}"
    );
    let echo_other = format!(
        "{{\"Information\": \"We have detected your API key as {AV_KEY}. \
         Please read the documentation.\"}}"
    );
    let echo_error =
        format!(r#"{{"Error Message": "Invalid API call with {AV_KEY}. Please retry."}}"#);
    for text in [&echo_info, &echo_other, &echo_error] {
        Mock::given(path("/query"))
            .respond_with(body(text))
            .up_to_n_times(1)
            .mount(&server)
            .await;
    }
    Mock::given(path("/query"))
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/query"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/query"))
        .respond_with(json("alphavantage_global_quote.json"))
        .mount(&server)
        .await;

    let client = av(&server.uri(), "2018-10-08T14:00:00Z");
    let news = NewsQuery {
        symbols: vec![sym("MSFT")],
        range: TimeRange::new(ts("2023-11-29T00:00:00Z"), ts("2023-11-30T00:00:00Z")).unwrap(),
        limit: 5,
    };
    errors.push(client.quote(&sym("MSFT")).await.unwrap_err());
    errors.push(client.news(&news).await.unwrap_err());
    errors.push(client.news(&news).await.unwrap_err());
    client.quote(&sym("MSFT")).await.unwrap();
    assert!(
        matches!(errors[0], FetchError::QuotaExhausted { .. }),
        "{:?}",
        errors[0]
    );
    let FetchError::InvalidRequest { reason } = &errors[1] else {
        panic!("{:?}", errors[1])
    };
    assert!(reason.contains("API key as REDACTED"), "{reason}");

    // Finnhub: error bodies that echo the token, then success.
    let server = MockServer::start().await;
    let echo = format!(r#"{{"error":"You don't have access with {FH_KEY}"}}"#);
    Mock::given(path("/api/v1/quote"))
        .respond_with(ResponseTemplate::new(403).set_body_raw(echo, "application/json"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/quote"))
        .respond_with(
            ResponseTemplate::new(401).set_body_string(format!("Invalid API key {FH_KEY}")),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/quote"))
        .respond_with(json("finnhub_quote.json"))
        .mount(&server)
        .await;
    let finnhub = fh(&server.uri(), "2020-02-25T16:00:00Z");
    errors.push(finnhub.quote(&sym("AAPL")).await.unwrap_err());
    errors.push(finnhub.quote(&sym("AAPL")).await.unwrap_err());
    finnhub.quote(&sym("AAPL")).await.unwrap();

    // Alpaca and the serverless fetcher: error bodies that echo credentials.
    let server = MockServer::start().await;
    Mock::given(path("/v2/stocks/snapshots"))
        .respond_with(ResponseTemplate::new(403).set_body_string(format!(
            r#"{{"message":"subscription does not permit SIP for {APCA_KEY_ID}/{APCA_SECRET}"}}"#
        )))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/v2/stocks/snapshots"))
        .respond_with(json("alpaca_snapshots_multi.json"))
        .mount(&server)
        .await;
    Mock::given(path("/v1/quotes"))
        .respond_with(ResponseTemplate::new(400).set_body_string(format!(
            r#"{{"error":{{"kind":"invalid_request","message":"bad token {SERVERLESS_TOKEN}"}}}}"#
        )))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/v1/quotes"))
        .respond_with(json("serverless_quotes.json"))
        .mount(&server)
        .await;
    let apca = alpaca(&server.uri(), "2021-05-03T15:00:00Z");
    errors.push(apca.quote(&sym("AAPL")).await.unwrap_err());
    apca.quote(&sym("AAPL")).await.unwrap();
    let sl = serverless(&server.uri(), "2024-03-08T21:00:00Z");
    errors.push(sl.quote(&sym("AAPL")).await.unwrap_err());
    sl.quote(&sym("AAPL")).await.unwrap();
    shown_extra.push_str(&format!(
        "{apca:?}\n{sl:?}\n{:?}\n{:?}\n",
        alpaca_config("http://x"),
        serverless_config("http://x")
    ));

    // Transport errors too.
    let dead = av("http://127.0.0.1:9", "2024-01-02T15:00:00Z");
    errors.push(dead.quote(&sym("MSFT")).await.unwrap_err());

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let mut shown = logs.clone() + &shown_extra;
    for err in &errors {
        shown.push_str(&format!("{err}\n{err:?}\n"));
    }
    shown.push_str(&format!(
        "{client:?}\n{finnhub:?}\n{:?}\n{:?}\n",
        av_config("http://x"),
        fh_config("http://x")
    ));

    for key in [AV_KEY, FH_KEY, APCA_KEY_ID, APCA_SECRET, SERVERLESS_TOKEN] {
        assert!(!shown.contains(key), "key {key} leaked:\n{shown}");
    }
    // The test could fail: URLs, attempts and request ids were logged.
    assert!(logs.contains("apikey=REDACTED"), "{logs}");
    assert!(logs.contains("\"request_id\""), "{logs}");
    assert!(logs.contains("\"attempt\""), "{logs}");
    assert!(logs.contains("\"elapsed_ms\""), "{logs}");
    assert!(logs.contains("\"provider\":\"finnhub\""), "{logs}");
}

const URL_USER: &str = "stockuser-3c1f";
const URL_PASSWORD: &str = "URLPASS-a07b-do-not-log";

/// A base URL with userinfo (`http://user:PASSWORD@host`) must not put the password in any log
/// line, error or Debug output, for any provider.
#[tokio::test]
async fn userinfo_in_a_base_url_appears_nowhere() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(capture.clone())
        .with_ansi(false)
        .json()
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    // Every endpoint fails once (retried, so logged at every level), then answers.
    for (p, ok) in [
        ("/query", "alphavantage_global_quote.json"),
        ("/api/v1/quote", "finnhub_quote.json"),
        ("/v2/stocks/snapshots", "alpaca_snapshots_multi.json"),
        ("/v1/quotes", "serverless_quotes.json"),
    ] {
        Mock::given(path(p))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(path(p))
            .respond_with(json(ok))
            .mount(&server)
            .await;
    }
    let addr = server.address();
    let base = format!("http://{URL_USER}:{URL_PASSWORD}@{addr}");
    let mut shown = String::new();
    let client = av(&base, "2018-10-08T14:00:00Z");
    client.quote(&sym("MSFT")).await.unwrap();
    let finnhub = fh(&base, "2020-02-25T16:00:00Z");
    finnhub.quote(&sym("AAPL")).await.unwrap();
    let apca = alpaca(&base, "2021-05-03T15:00:00Z");
    apca.quote(&sym("AAPL")).await.unwrap();
    let sl = serverless(&base, "2024-03-08T21:00:00Z");
    sl.quote(&sym("AAPL")).await.unwrap();
    shown.push_str(&format!("{client:?}\n{finnhub:?}\n{apca:?}\n{sl:?}\n"));

    // A dead host with userinfo: the transport error must not carry it either.
    let dead = fh(
        &format!("http://{URL_USER}:{URL_PASSWORD}@127.0.0.1:9"),
        "2024-01-02T15:00:00Z",
    );
    let err = dead.quote(&sym("AAPL")).await.unwrap_err();
    shown.push_str(&format!("{err}\n{err:?}\n"));

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    shown.push_str(&logs);
    for secret in [URL_USER, URL_PASSWORD, AV_KEY] {
        assert!(!shown.contains(secret), "{secret} leaked:\n{shown}");
    }
    // The test could fail: the URLs were logged, userinfo replaced.
    assert!(
        logs.contains(&format!("http://REDACTED:REDACTED@{addr}/api/v1/quote")),
        "{logs}"
    );
    assert!(logs.contains("apikey=REDACTED"), "{logs}");
}

#[test]
fn redact_url_hides_userinfo_and_query_credentials() {
    use stockdata_adapters_http::transport::redact_url;
    let check = |input: &str, want: &str| {
        assert_eq!(
            redact_url(&url::Url::parse(input).unwrap()),
            want,
            "{input}"
        );
    };
    check(
        "http://user:pw@example.com:8080/query?function=X&apikey=k&token=t",
        "http://REDACTED:REDACTED@example.com:8080/query?function=X&apikey=REDACTED&token=REDACTED",
    );
    check(
        "https://user@example.com/v1",
        "https://REDACTED@example.com/v1",
    );
    check(
        "https://:pw@example.com/v1",
        "https://:REDACTED@example.com/v1",
    );
    check(
        "https://example.com/v1?symbols=A,B",
        "https://example.com/v1?symbols=A,B",
    );
    check(
        "https://example.com/v1?symbols=A%2CB&API_KEY=k",
        "https://example.com/v1?symbols=A%2CB&API_KEY=REDACTED",
    );
}

/// A deployment echoing the token in one symbol's error: redacted like the whole-request one.
#[tokio::test]
async fn serverless_per_symbol_errors_are_redacted() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/quotes"))
        .respond_with(body(&format!(
            "{{\"results\":[{{\"symbol\":\"AAPL\",\"error\":{{\"kind\":\"entitlement_denied\",\
             \"message\":\"token {SERVERLESS_TOKEN} may not\"}}}}]}}"
        )))
        .mount(&server)
        .await;
    let err = serverless(&server.uri(), "2024-03-08T21:00:00Z")
        .quote(&sym("AAPL"))
        .await
        .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(SERVERLESS_TOKEN), "{shown}");
    assert!(shown.contains("token REDACTED may not"), "{shown}");
}

#[test]
fn adapter_configs_debug_without_userinfo_or_keys() {
    use stockdata_adapters_http::{alpaca, alpha_vantage, finnhub, serverless};
    let url = url::Url::parse("http://user:PASSWORD-7@127.0.0.1:1/p").unwrap();
    let key = || secrecy::SecretString::from("KEY-7".to_owned());
    let shown = [
        format!(
            "{:?}",
            alpha_vantage::AlphaVantageConfig {
                base_url: url.clone(),
                ..alpha_vantage::AlphaVantageConfig::new(key())
            }
        ),
        format!(
            "{:?}",
            finnhub::FinnhubConfig {
                base_url: url.clone(),
                ..finnhub::FinnhubConfig::new(key())
            }
        ),
        format!(
            "{:?}",
            alpaca::AlpacaConfig {
                base_url: url.clone(),
                ..alpaca::AlpacaConfig::new(key(), key())
            }
        ),
        format!(
            "{:?}",
            serverless::ServerlessConfig::new(url.clone(), Some(key()))
        ),
    ];
    for text in shown {
        assert!(text.contains("127.0.0.1"), "{text}");
        assert!(
            !text.contains("PASSWORD-7") && !text.contains("KEY-7"),
            "{text}"
        );
    }
}
