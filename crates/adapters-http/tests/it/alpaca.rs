use std::time::{Duration, SystemTime, UNIX_EPOCH};

use stockdata_domain::{
    Adjustment, BatchBarQuery, Decimal, FetchError, Interval, NewsQuery, Symbol, TimeRange,
};
use stockdata_ports::{BarSource, NewsSource, QuoteSource};
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::{
    APCA_KEY_ID, APCA_SECRET, alpaca, bar_query, fixture, json, sym, symbols_param, ts,
};

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

#[tokio::test]
async fn snapshots_answer_every_symbol_in_order() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/stocks/snapshots"))
        .and(query_param("symbols", "AAPL,INVALID,MSFT,NOTSENT"))
        .and(query_param("feed", "iex"))
        .and(header("apca-api-key-id", APCA_KEY_ID))
        .and(header("apca-api-secret-key", APCA_SECRET))
        .respond_with(json("alpaca_snapshots_multi.json"))
        .expect(1)
        .mount(&server)
        .await;
    let symbols: Vec<Symbol> = ["AAPL", "INVALID", "MSFT", "NOTSENT", "AAPL"]
        .map(sym)
        .to_vec();
    let answers = alpaca(&server.uri(), "2021-05-03T15:00:00Z")
        .quotes(&symbols)
        .await;
    let order: Vec<&str> = answers.iter().map(|a| a.symbol.as_str()).collect();
    assert_eq!(
        order,
        ["AAPL", "INVALID", "MSFT", "NOTSENT", "AAPL"],
        "one answer per requested symbol"
    );

    let aapl = answers[0].result.as_ref().unwrap();
    assert_eq!(aapl.price, d("133.4201"));
    assert_eq!((aapl.bid, aapl.bid_size), (Some(d("133.42")), Some(15)));
    assert_eq!((aapl.ask, aapl.ask_size), (Some(d("133.43")), Some(7)));
    assert_eq!(aapl.open, Some(d("132.04")));
    assert_eq!(aapl.previous_close, Some(d("131.46")));
    assert_eq!(aapl.change, Some(d("1.9601")));
    assert_eq!(aapl.volume, Some(25_846_800));
    assert_eq!(aapl.as_of, ts("2021-05-03T14:48:06.563Z"));
    assert_eq!(aapl.provenance.feed.as_deref(), Some("iex"));
    assert_eq!(
        answers[1].result,
        Err(FetchError::UnknownSymbol {
            symbol: sym("INVALID")
        })
    );
    assert!(answers[2].result.is_ok());
    assert_eq!(
        answers[3].result,
        Err(FetchError::UnknownSymbol {
            symbol: sym("NOTSENT")
        })
    );
    assert_eq!(answers[4].result, answers[0].result);
}

/// Answers any snapshots request with one snapshot per requested symbol.
struct EverySymbol;

impl Respond for EverySymbol {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let symbols = symbols_param(request);
        let body: serde_json::Map<String, serde_json::Value> = symbols
            .iter()
            .map(|s| {
                let snap = serde_json::json!({
                    "latestTrade": {
                        "t": "2021-05-03T14:48:06.563Z",
                        "x": "D", "p": 10.25, "s": 1, "c": ["@"], "i": 1, "z": "C",
                    }
                });
                (s.to_owned(), snap)
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(body)
    }
}

#[tokio::test]
async fn two_hundred_fifty_symbols_take_the_minimum_requests() {
    let server = MockServer::start().await;
    Mock::given(path("/v2/stocks/snapshots"))
        .respond_with(EverySymbol)
        .expect(3)
        .mount(&server)
        .await;
    let symbols: Vec<Symbol> = (0..250).map(|i| sym(&format!("T{i:03}"))).collect();
    let answers = alpaca(&server.uri(), "2021-05-03T15:00:00Z")
        .quotes(&symbols)
        .await;
    assert_eq!(answers.len(), 250);
    for (asked, answer) in symbols.iter().zip(&answers) {
        assert_eq!(&answer.symbol, asked);
        assert_eq!(answer.result.as_ref().unwrap().price, d("10.25"));
    }
    for request in server.received_requests().await.unwrap() {
        assert!(request.url.as_str().len() < 4096, "a safe URL length");
    }
}

fn page(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.to_owned(), "application/json")
}

fn bar(t: &str, c: &str) -> String {
    format!(r#"{{"t":"{t}","o":{c},"h":{c},"l":{c},"c":{c},"v":100,"n":3,"vw":{c}}}"#)
}

#[tokio::test]
async fn three_pages_for_two_symbols_merge_into_exact_ordered_series() {
    let server = MockServer::start().await;
    // Pages are sorted by symbol, then time, and the limit counts across symbols.
    let p1 = format!(
        r#"{{"bars":{{"AAPL":[{},{}]}},"next_page_token":"QUFQTHwy"}}"#,
        bar("2024-03-04T05:00:00Z", "175.1"),
        bar("2024-03-05T05:00:00Z", "170.12")
    );
    let p2 = format!(
        r#"{{"bars":{{"AAPL":[{}],"MSFT":[{}]}},"next_page_token":"TVNGVHwz"}}"#,
        bar("2024-03-06T05:00:00Z", "169.12"),
        bar("2024-03-04T05:00:00Z", "414.92")
    );
    let p3 = format!(
        r#"{{"bars":{{"MSFT":[{},{}]}},"next_page_token":null}}"#,
        bar("2024-03-05T05:00:00Z", "402.65"),
        bar("2024-03-06T05:00:00Z", "402.09")
    );
    let common = || {
        Mock::given(path("/v2/stocks/bars"))
            .and(query_param("symbols", "AAPL,MSFT"))
            .and(query_param("timeframe", "1Day"))
            .and(query_param("start", "2024-03-04T05:00:00Z"))
            .and(query_param("end", "2024-03-07T05:00:00Z"))
            .and(query_param("limit", "10000"))
            .and(query_param("adjustment", "split"))
            .and(query_param("feed", "iex"))
    };
    common()
        .and(query_param_is_missing("page_token"))
        .respond_with(page(&p1))
        .expect(1)
        .mount(&server)
        .await;
    common()
        .and(query_param("page_token", "QUFQTHwy"))
        .respond_with(page(&p2))
        .expect(1)
        .mount(&server)
        .await;
    common()
        .and(query_param("page_token", "TVNGVHwz"))
        .respond_with(page(&p3))
        .expect(1)
        .mount(&server)
        .await;

    let query = BatchBarQuery {
        symbols: vec![sym("AAPL"), sym("MSFT")],
        interval: Interval::Day1,
        range: bar_query("AAPL", Interval::Day1, "2024-03-04", "2024-03-06").range,
        adjustment: Adjustment::Split,
    };
    let answers = alpaca(&server.uri(), "2024-03-08T00:00:00Z")
        .bars_batch(&query)
        .await;
    let closes = |i: usize| -> Vec<(String, String)> {
        answers[i]
            .result
            .as_ref()
            .unwrap()
            .iter()
            .map(|b| (b.start.to_string(), b.close.to_string()))
            .collect()
    };
    assert_eq!(
        closes(0),
        [
            ("2024-03-04T05:00:00Z".to_owned(), "175.1".to_owned()),
            ("2024-03-05T05:00:00Z".to_owned(), "170.12".to_owned()),
            ("2024-03-06T05:00:00Z".to_owned(), "169.12".to_owned()),
        ]
    );
    assert_eq!(
        closes(1),
        [
            ("2024-03-04T05:00:00Z".to_owned(), "414.92".to_owned()),
            ("2024-03-05T05:00:00Z".to_owned(), "402.65".to_owned()),
            ("2024-03-06T05:00:00Z".to_owned(), "402.09".to_owned()),
        ]
    );
    let b = &answers[0].result.as_ref().unwrap()[0];
    assert_eq!(
        (b.volume, b.trades, b.vwap),
        (100, Some(3), Some(d("175.1")))
    );
    assert_eq!(b.provenance.adjustment, Some(Adjustment::Split));
}

#[tokio::test]
async fn recorded_pages_are_followed_until_the_token_is_absent() {
    let server = MockServer::start().await;
    let t1 = "TUVUQXxEfDIwMjItMDYtMDlUMDQ6MDA6MDAuMDAwMDAwMDAwWg==";
    let t2 = "TUVUQXxEfDIwMjItMDYtMTNUMDQ6MDA6MDAuMDAwMDAwMDAwWg==";
    Mock::given(path("/v2/stocks/bars"))
        .and(query_param_is_missing("page_token"))
        .respond_with(json("alpaca_bars_page1.json"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/v2/stocks/bars"))
        .and(query_param("page_token", t1))
        .respond_with(json("alpaca_bars_page2.json"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/v2/stocks/bars"))
        .and(query_param("page_token", t2))
        .respond_with(json("alpaca_bars_empty.json"))
        .expect(1)
        .mount(&server)
        .await;
    let bars = alpaca(&server.uri(), "2022-06-20T00:00:00Z")
        .bars(&bar_query(
            "META",
            Interval::Day1,
            "2022-06-08",
            "2022-06-13",
        ))
        .await
        .unwrap();
    let starts: Vec<String> = bars.iter().map(|b| b.start.to_string()).collect();
    assert_eq!(
        starts,
        [
            "2022-06-08T04:00:00Z",
            "2022-06-09T04:00:00Z",
            "2022-06-10T04:00:00Z",
            "2022-06-13T04:00:00Z"
        ]
    );
    assert_eq!(bars[1].close, d("184"));
    assert_eq!(bars[3].high, d("172.575"));
    assert_eq!(bars[0].vwap, Some(d("198.364578")));
}

#[tokio::test]
async fn null_and_missing_bars_are_no_data_for_that_symbol_only() {
    let server = MockServer::start().await;
    Mock::given(path("/v2/stocks/bars"))
        .respond_with(page(&format!(
            r#"{{"bars":{{"AAPL":[{}],"TSLA":null}},"next_page_token":null}}"#,
            concat!(
                r#"{"t":"2022-03-09T05:00:00Z","#,
                r#""o":161.51,"h":163.41,"l":159.41,"c":162.95,"v":88496480}"#,
            )
        )))
        .mount(&server)
        .await;
    let query = BatchBarQuery {
        symbols: vec![sym("AAPL"), sym("TSLA"), sym("GOOG")],
        interval: Interval::Day1,
        range: bar_query("AAPL", Interval::Day1, "2022-03-09", "2022-03-09").range,
        adjustment: Adjustment::Raw,
    };
    let answers = alpaca(&server.uri(), "2022-03-10T00:00:00Z")
        .bars_batch(&query)
        .await;
    let bar = &answers[0].result.as_ref().unwrap()[0];
    assert_eq!(
        (bar.vwap, bar.trades),
        (None, None),
        "n and vw are optional"
    );
    assert_eq!(answers[1].result, Err(FetchError::NoData));
    assert_eq!(answers[2].result, Err(FetchError::NoData));
}

#[tokio::test]
async fn news_pages_newest_first() {
    let server = MockServer::start().await;
    let common = || {
        Mock::given(path("/v1beta1/news"))
            .and(query_param("symbols", "TSLA"))
            .and(query_param("start", "2021-04-03T00:00:00Z"))
            .and(query_param("end", "2021-04-04T00:00:00Z"))
            .and(query_param("sort", "desc"))
    };
    common()
        .and(query_param_is_missing("page_token"))
        .and(query_param("limit", "10"))
        .respond_with(json("alpaca_news_page1.json"))
        .expect(1)
        .mount(&server)
        .await;
    common()
        .and(query_param(
            "page_token",
            "MTYxNzQ2MzIxMjAwMDAwMDAwMHwyMDQ3MjUxMg==",
        ))
        .and(query_param("limit", "8"))
        .respond_with(json("alpaca_news_page2.json"))
        .expect(1)
        .mount(&server)
        .await;
    let query = NewsQuery {
        symbols: vec![sym("TSLA")],
        range: TimeRange::new(ts("2021-04-03T00:00:00Z"), ts("2021-04-04T00:00:00Z")).unwrap(),
        limit: 10,
    };
    let news = alpaca(&server.uri(), "2021-04-04T00:00:00Z")
        .news(&query)
        .await
        .unwrap();
    let ids: Vec<&str> = news.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(
        ids,
        ["alpaca:20472678", "alpaca:20472512", "alpaca:20471562"]
    );
    assert_eq!(news[0].published_at, ts("2021-04-03T15:35:21Z"));
    assert_eq!(news[0].author.as_deref(), Some("Bibhu Pattnaik"));
    assert!(
        news[0].image.as_deref().unwrap().contains("2048x1536"),
        "the large image"
    );
    assert_eq!(news[0].symbols, [sym("GOOG"), sym("GOOGL"), sym("TSLA")]);
}

#[tokio::test]
async fn error_bodies_are_classified() {
    let cases: Vec<(u16, Vec<u8>, FetchError)> = vec![
        (
            403,
            fixture("alpaca_error_403_sip_subscription.json"),
            FetchError::EntitlementDenied {
                reason: "Alpaca: subscription does not permit querying recent SIP data".into(),
            },
        ),
        (
            403,
            br#"{"message": "forbidden."}"#.to_vec(),
            FetchError::Unauthorized,
        ),
        (
            401,
            br#"{"code": 40110000, "message": "access key verification failed"}"#.to_vec(),
            FetchError::Unauthorized,
        ),
        (
            422,
            fixture("alpaca_error_422_invalid_timeframe.json"),
            FetchError::InvalidRequest {
                reason: "Alpaca HTTP 422: invalid timeframe".into(),
            },
        ),
    ];
    for (status, body, want) in cases {
        let server = MockServer::start().await;
        Mock::given(path("/v2/stocks/bars"))
            .respond_with(ResponseTemplate::new(status).set_body_raw(body, "application/json"))
            .expect(1)
            .mount(&server)
            .await;
        let err = alpaca(&server.uri(), "2024-03-08T00:00:00Z")
            .bars(&bar_query(
                "AAPL",
                Interval::Day1,
                "2024-03-04",
                "2024-03-06",
            ))
            .await
            .unwrap_err();
        assert_eq!(err, want);
    }
}

#[tokio::test]
async fn plain_text_429_waits_for_the_rate_limit_reset() {
    let server = MockServer::start().await;
    let reset = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 2;
    Mock::given(path("/v2/stocks/snapshots"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("X-RateLimit-Reset", reset.to_string().as_str())
                .set_body_string("too many requests"),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/v2/stocks/snapshots"))
        .respond_with(json("alpaca_snapshots_multi.json"))
        .mount(&server)
        .await;
    let started = std::time::Instant::now();
    alpaca(&server.uri(), "2021-05-03T15:00:00Z")
        .quote(&sym("AAPL"))
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited for the reset"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}
