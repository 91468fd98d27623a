use stockdata_domain::{Adjustment, Decimal, FetchError, Interval, NewsQuery, TimeRange};
use stockdata_ports::{BarSource, NewsSource, QuoteSource};
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{FH_KEY, bar_query, fh, fixture, json, sym, ts};

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

#[tokio::test]
async fn quote_with_token_in_header_never_in_url() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/quote"))
        .and(query_param("symbol", "AAPL"))
        .and(header("x-finnhub-token", FH_KEY))
        .and(query_param_is_missing("token"))
        .respond_with(json("finnhub_quote.json"))
        .expect(1)
        .mount(&server)
        .await;
    let q = fh(&server.uri(), "2020-02-25T16:00:00Z")
        .quote(&sym("AAPL"))
        .await
        .unwrap();
    assert_eq!(q.price, d("261.74"));
    assert_eq!(q.previous_close, Some(d("259.45")));
    // The docs sample has no d/dp: derived exactly.
    assert_eq!(q.change, Some(d("2.29")));
    assert_eq!(q.change_percent, Some(d("0.8826")));
    assert_eq!(q.as_of.as_second(), 1_582_641_000);
    let sent = &server.received_requests().await.unwrap()[0];
    assert!(!sent.url.as_str().contains(FH_KEY));
}

#[tokio::test]
async fn all_zero_quote_is_an_unknown_symbol() {
    let server = MockServer::start().await;
    Mock::given(path("/api/v1/quote"))
        .respond_with(json("finnhub_quote_unknown_symbol.json"))
        .expect(1)
        .mount(&server)
        .await;
    let err = fh(&server.uri(), "2024-01-02T15:00:00Z")
        .quote(&sym("NOPE"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        FetchError::UnknownSymbol {
            symbol: sym("NOPE")
        }
    );
}

#[tokio::test]
async fn a_zero_price_is_no_quote_and_zero_session_fields_are_absent() {
    let server = MockServer::start().await;
    // A real `t` with `c = 0`: before the fix, price 0, change -55, change_percent -100.
    Mock::given(path("/api/v1/quote"))
        .and(query_param("symbol", "ZERO"))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"{"c":0,"d":-55,"dp":-100,"h":0,"l":0,"o":0,"pc":55,"t":1709913600}"#,
        ))
        .mount(&server)
        .await;
    // A price with zero session fields (pre-market, a thin listing): those are "none".
    Mock::given(path("/api/v1/quote"))
        .and(query_param("symbol", "THIN"))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"{"c":12.5,"d":null,"dp":null,"h":0,"l":0,"o":0,"pc":0,"t":1709913600}"#,
        ))
        .mount(&server)
        .await;
    let adapter = fh(&server.uri(), "2024-03-08T16:00:00Z");
    let err = adapter.quote(&sym("ZERO")).await.unwrap_err();
    assert_eq!(
        err,
        FetchError::NoData,
        "a zero price fails over, never a quote"
    );
    let q = adapter.quote(&sym("THIN")).await.unwrap();
    assert_eq!(q.price, d("12.5"));
    assert_eq!(
        (q.open, q.high, q.low, q.previous_close),
        (None, None, None, None)
    );
    assert_eq!((q.change, q.change_percent), (None, None));
}

#[tokio::test]
async fn daily_candles_exact_and_split_adjusted() {
    let server = MockServer::start().await;
    Mock::given(path("/api/v1/stock/candle"))
        .and(query_param("symbol", "AAPL"))
        .and(query_param("resolution", "D"))
        .and(query_param("from", "1569297600"))
        .respond_with(json("finnhub_stock_candle.json"))
        .expect(1)
        .mount(&server)
        .await;
    let bars = fh(&server.uri(), "2019-10-01T00:00:00Z")
        .bars(&bar_query(
            "AAPL",
            Interval::Day1,
            "2019-09-24",
            "2019-09-26",
        ))
        .await
        .unwrap();
    assert_eq!(bars.len(), 3);
    assert_eq!(bars[0].start, ts("2019-09-24T04:00:00Z"));
    assert_eq!((bars[0].open, bars[0].close), (d("221.03"), d("217.68")));
    assert_eq!(bars[1].low, d("217.1402"));
    assert_eq!(bars[0].volume, 33_463_820);
    assert_eq!(bars[0].provenance.adjustment, Some(Adjustment::Split));
}

#[tokio::test]
async fn no_data_status_is_no_data() {
    let server = MockServer::start().await;
    Mock::given(path("/api/v1/stock/candle"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(r#"{"s":"no_data"}"#, "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = fh(&server.uri(), "2024-01-02T15:00:00Z")
        .bars(&bar_query(
            "AAPL",
            Interval::Day1,
            "2023-12-01",
            "2023-12-29",
        ))
        .await
        .unwrap_err();
    assert_eq!(err, FetchError::NoData);
}

#[tokio::test]
async fn intraday_ranges_are_fetched_a_month_per_request() {
    let server = MockServer::start().await;
    Mock::given(path("/api/v1/stock/candle"))
        .and(query_param("resolution", "5"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(r#"{"s":"no_data"}"#, "application/json"),
        )
        .expect(3)
        .mount(&server)
        .await;
    let err = fh(&server.uri(), "2024-06-01T15:00:00Z")
        .bars(&bar_query(
            "AAPL",
            Interval::Minute5,
            "2024-01-01",
            "2024-03-05",
        ))
        .await
        .unwrap_err();
    assert_eq!(err, FetchError::NoData);
}

#[tokio::test]
async fn mismatched_candle_arrays_are_malformed() {
    let server = MockServer::start().await;
    Mock::given(path("/api/v1/stock/candle"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            concat!(
                r#"{"s":"ok","t":[1569297600,1569384000],"#,
                r#""o":[1],"h":[1,2],"l":[1,2],"c":[1,2],"v":[1,2]}"#,
            ),
            "application/json",
        ))
        .mount(&server)
        .await;
    let err = fh(&server.uri(), "2019-10-01T00:00:00Z")
        .bars(&bar_query(
            "AAPL",
            Interval::Day1,
            "2019-09-24",
            "2019-09-26",
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Malformed { .. }), "{err:?}");
}

#[tokio::test]
async fn company_news_newest_first() {
    let server = MockServer::start().await;
    Mock::given(path("/api/v1/company-news"))
        .and(query_param("symbol", "AAPL"))
        .and(query_param("from", "2019-09-26"))
        .and(query_param("to", "2019-09-27"))
        .respond_with(json("finnhub_company_news.json"))
        .expect(1)
        .mount(&server)
        .await;
    let query = NewsQuery {
        symbols: vec![sym("AAPL")],
        range: TimeRange::new(ts("2019-09-26T00:00:00Z"), ts("2019-09-28T00:00:00Z")).unwrap(),
        limit: 2,
    };
    let news = fh(&server.uri(), "2019-09-28T00:00:00Z")
        .news(&query)
        .await
        .unwrap();
    let ids: Vec<&str> = news.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(
        ids,
        ["finnhub:25286", "finnhub:25287"],
        "newest first, limited to 2"
    );
    assert_eq!(news[0].published_at.as_second(), 1_569_550_360);
    assert_eq!(news[0].symbols, [sym("AAPL")]);
    assert_eq!(news[0].source, "The Economic Times India");
}

#[tokio::test]
async fn error_statuses_are_classified() {
    let cases = [
        (401, "finnhub_error_401_invalid_key.json", 1),
        (403, "finnhub_error_403_no_access.json", 1),
        (429, "finnhub_error_429_rate_limit.json", 3),
    ];
    for (status, name, attempts) in cases {
        let server = MockServer::start().await;
        Mock::given(path("/api/v1/stock/candle"))
            .respond_with(
                ResponseTemplate::new(status).set_body_raw(fixture(name), "application/json"),
            )
            .mount(&server)
            .await;
        let err = fh(&server.uri(), "2024-01-02T15:00:00Z")
            .bars(&bar_query(
                "AAPL",
                Interval::Day1,
                "2023-12-01",
                "2023-12-29",
            ))
            .await
            .unwrap_err();
        match status {
            401 => assert_eq!(err, FetchError::Unauthorized),
            403 => assert_eq!(
                err,
                FetchError::EntitlementDenied {
                    reason: "Finnhub: You don't have access to this resource.".into()
                }
            ),
            _ => assert_eq!(err, FetchError::RateLimited { retry_after: None }),
        }
        assert_eq!(
            server.received_requests().await.unwrap().len(),
            attempts,
            "{name}"
        );
    }
}

#[tokio::test]
async fn plain_text_error_bodies_are_read() {
    let server = MockServer::start().await;
    Mock::given(path("/api/v1/quote"))
        .respond_with(ResponseTemplate::new(401).set_body_string("Invalid API key"))
        .mount(&server)
        .await;
    let err = fh(&server.uri(), "2024-01-02T15:00:00Z")
        .quote(&sym("AAPL"))
        .await
        .unwrap_err();
    assert_eq!(err, FetchError::Unauthorized);
}
