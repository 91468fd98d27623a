use stockdata_domain::{
    Adjustment, Decimal, FetchError, Interval, NewsQuery, SentimentLabel, TimeRange,
};
use stockdata_ports::{BarSource, NewsSource, QuoteSource};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{AV_KEY, av, bar_query, fixture, json, sym, ts};

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

async fn serve(function: &str, fixture_name: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/query"))
        .and(query_param("function", function))
        .and(query_param("apikey", AV_KEY))
        .respond_with(json(fixture_name))
        .expect(1)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn global_quote_strings_become_exact_decimals() {
    let server = serve("GLOBAL_QUOTE", "alphavantage_global_quote.json").await;
    let q = av(&server.uri(), "2018-10-08T14:00:00Z")
        .quote(&sym("msft"))
        .await
        .unwrap();
    assert_eq!(q.symbol.as_str(), "MSFT");
    assert_eq!(q.price, d("112.13"));
    assert_eq!(q.open, Some(d("112.63")));
    assert_eq!(q.high, Some(d("113.17")));
    assert_eq!(q.low, Some(d("110.64")));
    assert_eq!(q.previous_close, Some(d("112.79")));
    assert_eq!(q.change, Some(d("-0.66")));
    assert_eq!(q.change_percent, Some(d("-0.5852")));
    assert_eq!(q.volume, Some(29_062_853));
    // The close (16:00 EDT) of the latest trading day.
    assert_eq!(q.as_of, ts("2018-10-05T20:00:00Z"));
    assert_eq!(
        q.provenance.provider,
        stockdata_adapters_http::alpha_vantage::ID
    );
    assert_eq!(q.provenance.fetched_at, ts("2018-10-08T14:00:00Z"));
    assert!(!q.provenance.synthetic);
}

#[tokio::test]
async fn empty_global_quote_is_an_unknown_symbol() {
    let server = MockServer::start().await;
    Mock::given(path("/query"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(r#"{"Global Quote": {}}"#, "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = av(&server.uri(), "2024-01-02T15:00:00Z")
        .quote(&sym("ZZZZ"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        FetchError::UnknownSymbol {
            symbol: sym("ZZZZ")
        }
    );
}

#[tokio::test]
async fn daily_bars_open_at_new_york_midnight_oldest_first() {
    let server = MockServer::start().await;
    Mock::given(path("/query"))
        .and(query_param("function", "TIME_SERIES_DAILY"))
        .and(query_param("symbol", "IBM"))
        .and(query_param("outputsize", "compact"))
        .respond_with(json("alphavantage_time_series_daily.json"))
        .expect(1)
        .mount(&server)
        .await;
    let bars = av(&server.uri(), "2020-05-09T12:00:00Z")
        .bars(&bar_query(
            "IBM",
            Interval::Day1,
            "2020-05-01",
            "2020-05-08",
        ))
        .await
        .unwrap();
    assert_eq!(bars.len(), 2);
    assert_eq!(bars[0].start, ts("2020-05-07T04:00:00Z"));
    assert_eq!(bars[1].start, ts("2020-05-08T04:00:00Z"));
    let b = &bars[1];
    assert_eq!(
        (b.open, b.high, b.low, b.close),
        (d("122.67"), d("122.8"), d("121.06"), d("121.79"))
    );
    assert_eq!(b.volume, 2_538_547);
    assert_eq!(b.provenance.adjustment, Some(Adjustment::Raw));
}

#[tokio::test]
async fn old_ranges_ask_for_the_full_daily_history() {
    let server = MockServer::start().await;
    Mock::given(path("/query"))
        .and(query_param("function", "TIME_SERIES_DAILY"))
        .and(query_param("outputsize", "full"))
        .respond_with(json("alphavantage_time_series_daily_tsco_lon_compact.json"))
        .expect(1)
        .mount(&server)
        .await;
    let bars = av(&server.uri(), "2024-06-01T12:00:00Z")
        .bars(&bar_query(
            "TSCO.LON",
            Interval::Day1,
            "2023-11-01",
            "2023-11-28",
        ))
        .await
        .unwrap();
    // 2023-11-01 ..= 2023-11-28 holds 20 of the 100 compact rows.
    assert_eq!(bars.len(), 20);
    assert_eq!(bars.first().unwrap().start, ts("2023-11-01T04:00:00Z"));
    // DST ended on 2023-11-05: midnight New York is 05:00Z afterwards.
    assert_eq!(bars.last().unwrap().start, ts("2023-11-28T05:00:00Z"));
    assert!(bars.windows(2).all(|w| w[0].start < w[1].start));
}

#[tokio::test]
async fn a_range_with_no_rows_is_no_data() {
    let server = serve("TIME_SERIES_DAILY", "alphavantage_time_series_daily.json").await;
    let err = av(&server.uri(), "2020-05-09T12:00:00Z")
        .bars(&bar_query(
            "IBM",
            Interval::Day1,
            "2020-04-01",
            "2020-04-30",
        ))
        .await
        .unwrap_err();
    assert_eq!(err, FetchError::NoData);
}

#[tokio::test]
async fn intraday_wall_times_are_us_eastern() {
    let server = MockServer::start().await;
    Mock::given(path("/query"))
        .and(query_param("function", "TIME_SERIES_INTRADAY"))
        .and(query_param("interval", "5min"))
        .and(query_param("adjusted", "false"))
        .and(query_param_is_missing("month"))
        .respond_with(json("alphavantage_time_series_intraday_5min.json"))
        .expect(1)
        .mount(&server)
        .await;
    let bars = av(&server.uri(), "2020-05-08T20:00:00Z")
        .bars(&bar_query(
            "IBM",
            Interval::Minute5,
            "2020-05-08",
            "2020-05-08",
        ))
        .await
        .unwrap();
    let starts: Vec<_> = bars.iter().map(|b| b.start).collect();
    // 14:00 and 14:05 EDT, labelled by their start.
    assert_eq!(
        starts,
        [ts("2020-05-08T18:00:00Z"), ts("2020-05-08T18:05:00Z")]
    );
    assert_eq!(bars[0].low, d("121.685"));
    assert_eq!(bars[1].low, d("121.7225"));
}

#[tokio::test]
async fn older_intraday_ranges_ask_month_by_month() {
    let server = MockServer::start().await;
    for month in ["2017-11", "2017-12"] {
        Mock::given(path("/query"))
            .and(query_param("function", "TIME_SERIES_INTRADAY"))
            .and(query_param("interval", "1min"))
            .and(query_param("month", month))
            .respond_with(json("alphavantage_time_series_intraday_1min_compact.json"))
            .expect(1)
            .mount(&server)
            .await;
    }
    let bars = av(&server.uri(), "2024-01-02T15:00:00Z")
        .bars(&bar_query(
            "MSFT",
            Interval::Minute1,
            "2017-11-20",
            "2017-12-18",
        ))
        .await
        .unwrap();
    // Both months answered the same 100 rows: merged without duplicates, in order.
    assert_eq!(bars.len(), 100);
    assert_eq!(bars.first().unwrap().start, ts("2017-12-18T18:17:00Z"));
    // 14:56 EST = 19:56Z.
    assert_eq!(bars.last().unwrap().start, ts("2017-12-18T19:56:00Z"));
}

#[tokio::test]
async fn unsupported_interval_sends_nothing() {
    let server = MockServer::start().await;
    Mock::given(path("/query"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let err = av(&server.uri(), "2024-01-02T15:00:00Z")
        .bars(&bar_query(
            "IBM",
            Interval::Week1,
            "2023-01-01",
            "2023-12-31",
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::InvalidRequest { .. }), "{err:?}");
}

#[tokio::test]
async fn news_sentiment_in_utc_newest_first() {
    let server = MockServer::start().await;
    Mock::given(path("/query"))
        .and(query_param("function", "NEWS_SENTIMENT"))
        .and(query_param("tickers", "AAPL"))
        .and(query_param("time_from", "20231129T0000"))
        .and(query_param("time_to", "20231130T0000"))
        .and(query_param("limit", "50"))
        .respond_with(json("alphavantage_news_sentiment.json"))
        .expect(1)
        .mount(&server)
        .await;
    let query = NewsQuery {
        symbols: vec![sym("AAPL")],
        range: TimeRange::new(ts("2023-11-29T00:00:00Z"), ts("2023-11-30T00:00:00Z")).unwrap(),
        limit: 50,
    };
    let news = av(&server.uri(), "2023-11-30T00:00:00Z")
        .news(&query)
        .await
        .unwrap();
    assert_eq!(news.len(), 5);
    assert_eq!(news[0].published_at, ts("2023-11-29T13:10:00Z"));
    assert_eq!(
        news[0].headline,
        "Futures Rise Ahead Of GDP, Fed Data; GM Surges"
    );
    assert_eq!(
        news[0].author.as_deref(),
        Some("Investor's Business Daily, SCOTT LEHTONEN")
    );
    assert!(news[0].id.starts_with("alpha_vantage:"));
    assert!(news[0].symbols.contains(&sym("NVDA")));
    let sentiment = news[0].sentiment.as_ref().unwrap();
    assert_eq!(sentiment.label, SentimentLabel::SomewhatBullish);
    assert!(
        news.windows(2)
            .all(|w| w[0].published_at >= w[1].published_at)
    );
    assert_eq!(
        news[3].sentiment.as_ref().unwrap().label,
        SentimentLabel::SomewhatBearish
    );
}

/// The articles Alpha Vantage's adapter makes of a NEWS_SENTIMENT `body`, for AAPL on the
/// sample's day.
async fn news_of(body: Vec<u8>) -> Result<Vec<stockdata_domain::NewsArticle>, FetchError> {
    let server = MockServer::start().await;
    Mock::given(path("/query"))
        .and(query_param("function", "NEWS_SENTIMENT"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let query = NewsQuery {
        symbols: vec![sym("AAPL")],
        range: TimeRange::new(ts("2023-11-29T00:00:00Z"), ts("2023-11-30T00:00:00Z")).unwrap(),
        limit: 50,
    };
    av(&server.uri(), "2023-11-30T00:00:00Z").news(&query).await
}

/// One line per article of its sentiment: `score label | SYMBOL relevance score label ...`.
fn sentiment_lines(news: &[stockdata_domain::NewsArticle]) -> Vec<String> {
    let mut lines: Vec<(String, String)> = news
        .iter()
        .map(|a| {
            let s = a.sentiment.as_ref().unwrap();
            let tickers: Vec<String> = s
                .tickers
                .iter()
                .map(|t| format!("{} {} {} {:?}", t.symbol, t.relevance, t.score, t.label))
                .collect();
            let line = format!("{} {:?} | {}", s.score, s.label, tickers.join(", "));
            (a.url.clone(), line)
        })
        .collect();
    lines.sort();
    lines.into_iter().map(|(_, l)| l).collect()
}

/// Every article of the real sample carries its overall and per-ticker sentiment with every
/// digit as sent, in the provider's ticker order: the expectation is built from the payload's
/// own text.
#[tokio::test]
async fn news_sentiment_keeps_every_digit_of_the_sample() {
    let body = fixture("alphavantage_news_sentiment.json");
    let news = news_of(body.clone()).await.unwrap();
    let label =
        |text: &serde_json::Value| format!("{:?}", SentimentLabel::parse(text.as_str().unwrap()));
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let mut want: Vec<(String, String)> = doc["feed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            let tickers: Vec<String> = item["ticker_sentiment"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| {
                    format!(
                        "{} {} {} {}",
                        t["ticker"].as_str().unwrap(),
                        t["relevance_score"].as_str().unwrap(),
                        t["ticker_sentiment_score"].as_str().unwrap(),
                        label(&t["ticker_sentiment_label"]),
                    )
                })
                .collect();
            let line = format!(
                "{} {} | {}",
                item["overall_sentiment_score"],
                label(&item["overall_sentiment_label"]),
                tickers.join(", ")
            );
            (item["url"].as_str().unwrap().to_owned(), line)
        })
        .collect();
    want.sort();
    let want: Vec<String> = want.into_iter().map(|(_, l)| l).collect();
    assert_eq!(sentiment_lines(&news), want);
    // Spot checks, so the expectation cannot drift with the code: trailing digits and signs.
    let all = sentiment_lines(&news).join("\n");
    assert!(
        all.contains("SHOP 0.129516 0.17391 SomewhatBullish"),
        "{all}"
    );
    assert!(all.contains("HPQ 0.079656 -0.044634 Neutral"), "{all}");
    assert!(
        all.contains("-0.233106 SomewhatBearish | AAPL 0.722509 -0.234186"),
        "{all}"
    );
}

/// Edited copies of the real sample: a crypto ticker is left out as it is from `symbols`, a
/// scientific-notation relevance is read exactly, an entry without its score is left out, and
/// a score that is no number is `Malformed`.
#[tokio::test]
async fn ticker_sentiment_edge_values() {
    let body = String::from_utf8(fixture("alphavantage_news_sentiment.json")).unwrap();
    let edited = body
        .replacen(r#""ticker": "HPQ""#, r#""ticker": "CRYPTO:BTC""#, 1)
        .replacen(
            r#""ticker": "DAKT",
                    "relevance_score": "0.079656""#,
            r#""ticker": "DAKT",
                    "relevance_score": "6.3e-05""#,
            1,
        )
        .replacen(
            r#""ticker_sentiment_score": "0.134488""#,
            r#""ticker_sentiment_score": "None""#,
            1,
        );
    assert_ne!(edited, body);
    let news = news_of(edited.clone().into_bytes()).await.unwrap();
    let second = news
        .iter()
        .find(|a| a.symbols.contains(&sym("DAKT")))
        .unwrap();
    let tickers: Vec<String> = second
        .sentiment
        .as_ref()
        .unwrap()
        .tickers
        .iter()
        .map(|t| format!("{} {} {}", t.symbol, t.relevance, t.score))
        .collect();
    assert_eq!(
        tickers,
        [
            "DAKT 0.000063 -0.044634",
            "AAPL 0.657888 0.193592",
            "VTKLF 0.039878 -0.042363"
        ]
    );
    let broken = edited.replacen(
        r#""ticker_sentiment_score": "0.193592""#,
        r#""ticker_sentiment_score": "0.19x""#,
        1,
    );
    let err = news_of(broken.into_bytes()).await.unwrap_err();
    assert!(matches!(err, FetchError::Malformed { .. }), "{err:?}");
    assert!(err.to_string().contains("ticker_sentiment_score"), "{err}");
}

#[tokio::test]
async fn in_body_errors_are_classified_before_data_is_read() {
    type Expect = fn(&FetchError) -> bool;
    let cases: [(&str, Expect); 5] = [
        ("alphavantage_note_throttle.json", |e| {
            matches!(e, FetchError::RateLimited { .. })
        }),
        ("alphavantage_information_daily_limit.json", |e| {
            matches!(e, FetchError::QuotaExhausted { .. })
        }),
        ("alphavantage_information_premium_endpoint.json", |e| {
            matches!(e, FetchError::EntitlementDenied { .. })
        }),
        ("alphavantage_error_invalid_apikey.json", |e| {
            *e == FetchError::Unauthorized
        }),
        ("alphavantage_error_invalid_call.json", |e| {
            *e == FetchError::UnknownSymbol { symbol: sym("IBM") }
        }),
    ];
    for (name, expected) in cases {
        for function in ["quote", "bars", "news"] {
            let server = MockServer::start().await;
            Mock::given(path("/query"))
                .respond_with(json(name))
                .mount(&server)
                .await;
            let client = av(&server.uri(), "2024-01-02T15:00:00Z");
            let result = match function {
                "quote" => client.quote(&sym("IBM")).await.map(drop),
                "bars" => client
                    .bars(&bar_query(
                        "IBM",
                        Interval::Day1,
                        "2023-12-01",
                        "2023-12-29",
                    ))
                    .await
                    .map(drop),
                _ => client
                    .news(&NewsQuery {
                        symbols: vec![sym("IBM")],
                        range: TimeRange::new(
                            ts("2023-12-01T00:00:00Z"),
                            ts("2023-12-02T00:00:00Z"),
                        )
                        .unwrap(),
                        limit: 10,
                    })
                    .await
                    .map(drop),
            };
            let err = result.unwrap_err();
            // News is not about one symbol: an invalid call there is an invalid request.
            let ok = expected(&err)
                || (function == "news"
                    && name.contains("invalid_call")
                    && matches!(err, FetchError::InvalidRequest { .. }));
            assert!(ok, "{name} via {function}: got {err:?}");
            let sent = server.received_requests().await.unwrap().len();
            assert_eq!(
                sent, 1,
                "{name} via {function}: \
                 in-body errors with a long or no retry-after are not retried"
            );
        }
    }
}

#[tokio::test]
async fn burst_throttle_is_retried_after_a_second() {
    let server = MockServer::start().await;
    Mock::given(path("/query"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            concat!(
                r#"{"Information": "Thank you for using Alpha Vantage! "#,
                r#"Please consider spreading out your free API requests more sparingly "#,
                r#"(1 request per second). You may subscribe to any of the premium plans "#,
                r#"to lift the free key rate limit (25 requests per day)."}"#,
            ),
            "application/json",
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/query"))
        .respond_with(json("alphavantage_global_quote.json"))
        .mount(&server)
        .await;
    let q = av(&server.uri(), "2018-10-08T14:00:00Z")
        .quote(&sym("MSFT"))
        .await
        .unwrap();
    assert_eq!(q.price, d("112.13"));
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn negative_volume_is_malformed_not_a_bar() {
    let server = MockServer::start().await;
    let body = String::from_utf8(fixture("alphavantage_time_series_daily.json"))
        .unwrap()
        .replace("\"2538547\"", "\"-2538547\"");
    Mock::given(path("/query"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
        .mount(&server)
        .await;
    let err = av(&server.uri(), "2020-05-09T12:00:00Z")
        .bars(&bar_query(
            "IBM",
            Interval::Day1,
            "2020-05-01",
            "2020-05-08",
        ))
        .await
        .unwrap_err();
    let FetchError::Malformed { detail } = err else {
        panic!("{err:?}")
    };
    assert!(
        detail.contains("2020-05-08") && detail.contains("volume"),
        "{detail}"
    );
}
