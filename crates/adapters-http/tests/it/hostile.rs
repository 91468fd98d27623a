//! Hostile upstream numbers: absurd waits, out-of-range prices and counts never panic. An
//! absurd wait is clamped (the transport then refuses it and the error goes up for fail-over);
//! garbage is "no hint".

use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{HeaderMap, HeaderValue};
use stockdata_adapters_http::alpha_vantage::{self, wire::Body};
use stockdata_adapters_http::serverless::wire::ErrorWire;
use stockdata_adapters_http::transport::{MAX_RETRY_AFTER, retry_after};
use stockdata_adapters_http::{finnhub, serverless};
use stockdata_domain::{ErrorKind, FetchError, Provenance, ProviderId, Timestamp};
use stockdata_ports::QuoteSource;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{fh, serverless as serverless_adapter, sym};

/// 2024-01-02T15:00:00Z
fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_704_207_600)
}

#[track_caller]
fn check(headers: &[(&'static str, &str)], expect: Option<Duration>) {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.insert(*name, HeaderValue::from_str(value).unwrap());
    }
    assert_eq!(retry_after(&map, now()), expect, "{headers:?}");
}

#[test]
fn retry_after_values_from_a_hostile_upstream() {
    let max = Some(MAX_RETRY_AFTER);
    // Usable hints.
    check(&[("retry-after", "2")], Some(Duration::from_secs(2)));
    check(
        &[("retry-after", " 1.5 ")],
        Some(Duration::from_millis(1500)),
    );
    check(
        &[("retry-after", "Tue, 02 Jan 2024 15:00:30 GMT")],
        Some(Duration::from_secs(30)),
    );
    check(
        &[("retry-after", "Mon, 01 Jan 2024 00:00:00 GMT")],
        Some(Duration::ZERO),
    );
    // Absurdly long: clamped, so the transport refuses the wait instead of panicking.
    for absurd in [
        "1e300",
        "1e20",
        "18446744073709551615",
        "18446744073709551616",
        "99999999999999999999999999999",
        "1.8e19",
        "Fri, 31 Dec 9999 23:59:59 GMT",
    ] {
        check(&[("retry-after", absurd)], max);
    }
    // Garbage: no usable hint.
    for garbage in [
        "NaN", "-1", "-0.5", "inf", "-inf", "infinity", "", "soon", "1e", "0x10",
    ] {
        check(&[("retry-after", garbage)], None);
    }
    // X-RateLimit-Reset: epoch seconds (or a small delta), far future, past, garbage.
    check(
        &[("x-ratelimit-reset", "1704207630")],
        Some(Duration::from_secs(30)),
    );
    check(&[("x-ratelimit-reset", "1000000000")], Some(Duration::ZERO));
    check(
        &[("x-ratelimit-reset", "42")],
        Some(Duration::from_secs(42)),
    );
    for absurd in ["18446744073709551615", "99999999999", "253402300800000"] {
        check(&[("x-ratelimit-reset", absurd)], max);
    }
    for garbage in ["-5", "abc", "1e300", "NaN", ""] {
        check(&[("x-ratelimit-reset", garbage)], None);
    }
}

#[test]
fn serverless_retry_hints_are_checked() {
    let wire = |s: f64| ErrorWire {
        kind: "rate_limited".to_owned(),
        message: String::new(),
        retry_after_s: Some(s),
        resets_at: None,
        status: None,
    };
    let wait = |s: f64| wire(s).to_error(None).retry_after();
    assert_eq!(wait(12.0), Some(Duration::from_secs(12)));
    assert_eq!(wait(1e300), Some(MAX_RETRY_AFTER));
    assert_eq!(wait(1e20), Some(MAX_RETRY_AFTER));
    assert_eq!(wait(f64::MAX), Some(MAX_RETRY_AFTER));
    assert_eq!(wait(-1.0), None);
    assert_eq!(wait(f64::NAN), None);
    assert_eq!(wait(f64::INFINITY), None);
    assert_eq!(wait(f64::NEG_INFINITY), None);
}

/// A 429 asking for an absurd wait: one request, no wait, no panic; the error goes up.
#[tokio::test]
async fn an_absurd_retry_after_goes_up_for_failover_at_once() {
    for value in ["1e300", "18446744073709551615", "1e20"] {
        let server = MockServer::start().await;
        Mock::given(path("/api/v1/quote"))
            .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", value))
            .expect(1)
            .mount(&server)
            .await;
        let started = Instant::now();
        let err = fh(&server.uri(), "2024-01-02T15:00:00Z")
            .quote(&sym("AAPL"))
            .await
            .unwrap_err();
        assert_eq!(
            err,
            FetchError::RateLimited {
                retry_after: Some(MAX_RETRY_AFTER)
            },
            "Retry-After: {value}"
        );
        assert!(err.allows_failover());
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{value}: no wait"
        );
    }
    let server = MockServer::start().await;
    Mock::given(path("/api/v1/quote"))
        .respond_with(
            ResponseTemplate::new(429).insert_header("X-RateLimit-Reset", "18446744073709551615"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = fh(&server.uri(), "2024-01-02T15:00:00Z")
        .quote(&sym("AAPL"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
}

/// The serverless error envelope carries its own retry hint, per request and per symbol.
#[tokio::test]
async fn serverless_envelopes_with_absurd_retry_hints() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/quotes"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            concat!(
                r#"{"results":[{"symbol":"AAPL","#,
                r#""error":{"kind":"rate_limited","message":"slow","retry_after_s":1e300}}]}"#,
            ),
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/v1/bars"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            concat!(
                r#"{"error":{"kind":"rate_limited","message":"slow","#,
                r#""retry_after_s":1.7976931348623157e308}}"#,
            ),
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let adapter = serverless_adapter(&server.uri(), "2024-03-08T21:00:00Z");
    let answer = adapter.quote(&sym("AAPL")).await;
    assert_eq!(
        answer,
        Err(FetchError::RateLimited {
            retry_after: Some(MAX_RETRY_AFTER)
        })
    );
    let bars = stockdata_ports::BarSource::bars(
        &adapter,
        &crate::support::bar_query(
            "AAPL",
            stockdata_domain::Interval::Day1,
            "2024-03-07",
            "2024-03-08",
        ),
    )
    .await;
    assert_eq!(bars.unwrap_err().kind(), ErrorKind::RateLimited);
    // Parsing the envelope alone never panics either.
    let parsed: serverless::wire::ErrorEnvelope =
        serverless::wire::parse(br#"{"error":{"kind":"rate_limited","retry_after_s":1e308}}"#)
            .unwrap();
    assert_eq!(
        parsed.error.to_error(None).retry_after(),
        Some(MAX_RETRY_AFTER)
    );
}

fn prov() -> Provenance {
    Provenance::new(ProviderId::new("test"), Timestamp::UNIX_EPOCH)
}

/// Prices at the edge of `Decimal`: deriving the change cannot overflow into a panic.
#[test]
fn extreme_prices_do_not_overflow() {
    let body =
        br#"{"c": 79228162514264337593543950335, "pc": -79228162514264337593543950335, "t": 1}"#;
    let wire = finnhub::wire::parse_quote(body).unwrap();
    let quote = finnhub::to_quote(&sym("AAPL"), &wire, prov()).unwrap();
    assert_eq!(quote.change, None, "not representable: left out");
    let body =
        br#"{"c": 79228162514264337593543950335, "pc": 0.0000000000000000000000000001, "t": 1}"#;
    let wire = finnhub::wire::parse_quote(body).unwrap();
    let quote = finnhub::to_quote(&sym("AAPL"), &wire, prov()).unwrap();
    assert_eq!(quote.change_percent, None, "not representable: left out");
}

/// The adjusted series scales prices by `adjusted close / close`: absurd ratios are malformed.
#[test]
fn extreme_adjustment_factors_are_malformed() {
    let body = br#"{"Meta Data": {"2. Symbol": "IBM"}, "Time Series (Daily)": {
        "2020-05-08": {"1. open": "79228162514264337593543950335", "2. high": "1", "3. low": "1",
            "4. close": "0.0000000000000000000000000001",
            "5. adjusted close": "79228162514264337593543950335", "6. volume": "1"}}}"#;
    let Body::Data(series) = alpha_vantage::wire::parse_series(body).unwrap() else {
        panic!("a series")
    };
    let mut out = Vec::new();
    let err = alpha_vantage::daily_bars(&sym("IBM"), &series, true, &prov(), &mut out).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Malformed, "{err}");
}

/// 19 digits overflow the fast path's i64 mantissa: the general parser takes over.
#[test]
fn nineteen_digit_prices_parse() {
    let body = br#"{"Global Quote": {"01. symbol": "IBM", "05. price": "9999999999999999999",
        "06. volume": "99999999999999999999", "08. previous close": "9223372036854775808"}}"#;
    let Body::Data(q) = alpha_vantage::wire::parse_global_quote(body).unwrap() else {
        panic!("a quote")
    };
    let err = alpha_vantage::to_quote(&sym("IBM"), &q, prov()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Malformed, "volume past u64: {err}");
    let body = br#"{"Global Quote": {"01. symbol": "IBM", "05. price": "9999999999999999999",
        "08. previous close": "-9223372036854775808"}}"#;
    let Body::Data(q) = alpha_vantage::wire::parse_global_quote(body).unwrap() else {
        panic!("a quote")
    };
    let quote = alpha_vantage::to_quote(&sym("IBM"), &q, prov()).unwrap();
    assert_eq!(quote.price.to_string(), "9999999999999999999");
    assert_eq!(
        quote.previous_close.map(|p| p.to_string()).as_deref(),
        Some("-9223372036854775808")
    );
}
