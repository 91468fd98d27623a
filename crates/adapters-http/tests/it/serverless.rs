use stockdata_domain::{
    Adjustment, BatchBarQuery, Decimal, FetchError, Interval, NewsQuery, Symbol, TimeRange,
};
use stockdata_ports::{BarSource, NewsSource, QuoteSource};
use wiremock::matchers::{header, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::{
    SERVERLESS_TOKEN, bar_query, fixture, json, serverless, sym, symbols_param, ts,
};

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

#[tokio::test]
async fn quotes_with_per_symbol_errors_and_a_request_id() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/quotes"))
        .and(query_param("symbols", "AAPL,ZZZZ"))
        .and(header(
            "authorization",
            format!("Bearer {SERVERLESS_TOKEN}").as_str(),
        ))
        .respond_with(json("serverless_quotes.json"))
        .expect(1)
        .mount(&server)
        .await;
    let answers = serverless(&server.uri(), "2024-03-08T21:00:00Z")
        .quotes(&[sym("AAPL"), sym("ZZZZ")])
        .await;
    let q = answers[0].result.as_ref().unwrap();
    assert_eq!(q.price, d("189.98"));
    assert_eq!(
        q.price.to_string(),
        "189.98",
        "exact digits, never 189.97999…"
    );
    assert_eq!(q.change_percent, Some(d("1.0478")));
    assert_eq!(q.as_of, ts("2024-03-08T20:59:59.912Z"));
    assert_eq!(q.provenance.provider, stockdata_adapters_http::alpaca::ID);
    assert_eq!(
        q.provenance.via,
        Some(stockdata_adapters_http::serverless::ID)
    );
    assert_eq!(
        answers[1].result,
        Err(FetchError::UnknownSymbol {
            symbol: sym("ZZZZ")
        })
    );
    let request = &server.received_requests().await.unwrap()[0];
    let id = request
        .headers
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(id.len(), 16, "X-Request-Id carries the request id: {id}");
}

#[tokio::test]
async fn bars_and_per_symbol_rate_limits() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/bars"))
        .and(query_param("symbols", "AAPL,MSFT"))
        .and(query_param("interval", "1d"))
        .and(query_param("start", "2024-03-07T05:00:00Z"))
        .and(query_param("end", "2024-03-09T05:00:00Z"))
        .and(query_param("adjustment", "raw"))
        .respond_with(json("serverless_bars.json"))
        .expect(1)
        .mount(&server)
        .await;
    let query = BatchBarQuery {
        symbols: vec![sym("AAPL"), sym("MSFT")],
        interval: Interval::Day1,
        range: bar_query("AAPL", Interval::Day1, "2024-03-07", "2024-03-08").range,
        adjustment: Adjustment::Raw,
    };
    let answers = serverless(&server.uri(), "2024-03-09T00:00:00Z")
        .bars_batch(&query)
        .await;
    let bars = answers[0].result.as_ref().unwrap();
    assert_eq!(bars.len(), 2);
    assert_eq!(bars[1].start, ts("2024-03-08T05:00:00Z"));
    assert_eq!(
        (bars[0].vwap, bars[0].trades),
        (Some(d("169.6217")), Some(812_345))
    );
    assert_eq!(bars[1].close, d("170.73"));
    assert_eq!(
        answers[1].result,
        Err(FetchError::RateLimited {
            retry_after: Some(std::time::Duration::from_secs(12))
        })
    );
}

/// AAPL's news from 2024-03-08 00:00 to 2024-03-09 00:00 UTC, at most `limit` articles.
fn aapl_news(limit: usize) -> NewsQuery {
    NewsQuery {
        symbols: vec![sym("AAPL")],
        range: TimeRange::new(ts("2024-03-08T00:00:00Z"), ts("2024-03-09T00:00:00Z")).unwrap(),
        limit,
    }
}

#[tokio::test]
async fn news_articles() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/news"))
        .and(query_param("symbols", "AAPL"))
        .and(query_param("limit", "20"))
        .respond_with(json("serverless_news.json"))
        .expect(1)
        .mount(&server)
        .await;
    let query = aapl_news(20);
    let news = serverless(&server.uri(), "2024-03-09T00:00:00Z")
        .news(&query)
        .await
        .unwrap();
    assert_eq!(news.len(), 1);
    assert_eq!(news[0].id, "alpaca:37521234");
    assert_eq!(news[0].published_at, ts("2024-03-08T14:31:07Z"));
    let s = news[0].sentiment.as_ref().unwrap();
    let t = &s.tickers;
    assert_eq!(
        format!("{} {:?} {}", s.score, s.label, t.len()),
        "0.297506 SomewhatBullish 1"
    );
    assert_eq!(
        format!(
            "{} {} {} {:?}",
            t[0].symbol, t[0].relevance, t[0].score, t[0].label
        ),
        "AAPL 0.922387 0.588718 Bullish"
    );
}

/// An article from a server that predates sentiment (no `sentiment` key) or with `null` has
/// none; a sentiment without `tickers` has no per-ticker scores.
#[tokio::test]
async fn news_without_sentiment() {
    let body = String::from_utf8(fixture("serverless_news.json")).unwrap();
    let start = body
        .find(r#","sentiment""#)
        .or_else(|| body.find(",\n      \"sentiment\""))
        .unwrap();
    let end = body.rfind("}\n  ]").unwrap();
    let without = format!("{}\n    {}", &body[..start], &body[end..]);
    let with_null = format!(
        "{}, \"sentiment\": null\n    {}",
        &body[..start],
        &body[end..]
    );
    let no_tickers = body.replace(r#""tickers": ["#, r#""unused": ["#);
    for (case, body, want) in [
        ("no key", without, "None"),
        ("null", with_null, "None"),
        ("no tickers", no_tickers, "Some(0)"),
    ] {
        let server = MockServer::start().await;
        Mock::given(path("/v1/news"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
            .mount(&server)
            .await;
        let query = aapl_news(20);
        let news = serverless(&server.uri(), "2024-03-09T00:00:00Z")
            .news(&query)
            .await
            .unwrap();
        let got = format!("{:?}", news[0].sentiment.as_ref().map(|s| s.tickers.len()));
        assert_eq!(got, want, "{case}");
    }
}

#[tokio::test]
async fn the_error_envelope_is_mapped_for_every_symbol_of_the_request() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/bars"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            fixture("serverless_error_invalid_request.json"),
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let answers = serverless(&server.uri(), "2024-03-09T00:00:00Z")
        .bars_batch(&BatchBarQuery {
            symbols: vec![sym("AAPL"), sym("MSFT")],
            interval: Interval::Day1,
            range: bar_query("AAPL", Interval::Day1, "2024-03-07", "2024-03-08").range,
            adjustment: Adjustment::Raw,
        })
        .await;
    for answer in answers {
        let Err(FetchError::InvalidRequest { reason }) = answer.result else {
            panic!("{answer:?}")
        };
        assert!(reason.contains("is not one of 1m"), "{reason}");
    }
}

struct EchoQuotes;

impl Respond for EchoQuotes {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let symbols = symbols_param(request);
        let results: Vec<serde_json::Value> = symbols
            .iter()
            .map(|s| {
                serde_json::json!({
                    "symbol": s,
                    "quote": {"price": 1.5, "as_of": "2024-03-08T20:00:00Z", "provider": "finnhub"},
                })
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(serde_json::json!({ "results": results }))
    }
}

#[tokio::test]
async fn batches_split_at_the_serve_limit() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/quotes"))
        .respond_with(EchoQuotes)
        .expect(3)
        .mount(&server)
        .await;
    let symbols: Vec<Symbol> = (0..250).map(|i| sym(&format!("S{i}"))).collect();
    let answers = serverless(&server.uri(), "2024-03-09T00:00:00Z")
        .quotes(&symbols)
        .await;
    assert_eq!(answers.len(), 250);
    assert!(
        answers
            .iter()
            .all(|a| a.result.as_ref().is_ok_and(|q| q.price == d("1.5")))
    );
}

#[tokio::test]
async fn news_limits_are_capped_at_the_documented_maximum() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/news"))
        .and(query_param("limit", "1000"))
        .respond_with(json("serverless_news.json"))
        .expect(1)
        .mount(&server)
        .await;
    let query = aapl_news(2000);
    let news = serverless(&server.uri(), "2024-03-09T00:00:00Z")
        .news(&query)
        .await
        .unwrap();
    assert_eq!(news.len(), 1);
}

/// Answers one 1m bar at the request's `start` for every symbol asked, and records the bars
/// the request could hold at most.
struct EchoBars(std::sync::Mutex<Vec<u64>>);

impl Respond for EchoBars {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let symbols = symbols_param(request);
        let param = |name: &str| {
            request
                .url
                .query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
                .unwrap()
        };
        let (start, end) = (param("start"), param("end"));
        let range = TimeRange::new(ts(&start), ts(&end)).unwrap();
        let bound = range.max_bars(Interval::Minute1) * symbols.len() as u64;
        self.0.lock().unwrap().push(bound);
        let results: Vec<serde_json::Value> = symbols
            .iter()
            .map(|s| {
                serde_json::json!({"symbol": s, "bars": [{
                    "symbol": s, "interval": "1m", "start": start,
                    "open": 1, "high": 1, "low": 1, "close": 1, "volume": 1, "provider": "alpaca",
                }]})
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(serde_json::json!({ "results": results }))
    }
}

#[tokio::test]
async fn bars_requests_stay_within_the_api_bar_limit() {
    use stockdata_adapters_http::serverless::MAX_BARS_PER_REQUEST;
    // 150 symbols of 1m bars over one session (390 bars each): 51 symbols a request.
    let server = MockServer::start().await;
    let bounds = std::sync::Arc::new(EchoBars(std::sync::Mutex::new(Vec::new())));
    Mock::given(path("/v1/bars"))
        .respond_with(EchoBarsRef(bounds.clone()))
        .mount(&server)
        .await;
    let client = serverless(&server.uri(), "2024-06-01T00:00:00Z");
    let day = TimeRange::new(ts("2024-03-08T14:30:00Z"), ts("2024-03-08T21:00:00Z")).unwrap();
    let symbols: Vec<Symbol> = (0..150).map(|i| sym(&format!("S{i}"))).collect();
    let answers = client
        .bars_batch(&BatchBarQuery {
            symbols: symbols.clone(),
            interval: Interval::Minute1,
            range: day,
            adjustment: Adjustment::Raw,
        })
        .await;
    assert_eq!(answers.len(), 150);
    assert!(answers.iter().all(|a| a.result.is_ok()));
    {
        let seen = bounds.0.lock().unwrap();
        assert_eq!(seen.len(), 3, "{seen:?}");
        assert!(seen.iter().all(|b| *b <= MAX_BARS_PER_REQUEST), "{seen:?}");
        drop(seen);
    }
    bounds.0.lock().unwrap().clear();

    // One symbol, 1m bars over three months: more than one request may answer, so the range
    // goes in pieces, merged in order.
    let quarter = TimeRange::new(ts("2024-01-01T00:00:00Z"), ts("2024-04-01T00:00:00Z")).unwrap();
    let answers = client
        .bars_batch(&BatchBarQuery {
            symbols: vec![sym("AAPL"), sym("MSFT")],
            interval: Interval::Minute1,
            range: quarter,
            adjustment: Adjustment::Raw,
        })
        .await;
    let seen = bounds.0.lock().unwrap().clone();
    assert!(seen.len() >= 2 * 2, "{seen:?}");
    assert!(seen.iter().all(|b| *b <= MAX_BARS_PER_REQUEST), "{seen:?}");
    let bars = answers[0].result.as_ref().unwrap();
    assert_eq!(bars.len(), seen.len() / 2, "one bar per piece, merged");
    assert!(bars.windows(2).all(|w| w[0].start < w[1].start));
}

/// Shares one [`EchoBars`] between the mock and the test.
struct EchoBarsRef(std::sync::Arc<EchoBars>);

impl Respond for EchoBarsRef {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.respond(request)
    }
}
