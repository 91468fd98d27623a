//! Pact consumer tests: one pact per provider, every interaction driven through the real
//! adapter against the Pact mock server. Matchers pin shapes, not values (`like`, `each_like`,
//! regex terms for dates and instants). The regenerated pact must equal the committed one in
//! `pacts/` (drift is a reviewed diff: `STOCKDATA_UPDATE_PACTS=1 cargo xtask contract`), and
//! every real sample kept as a fixture must satisfy its interaction's response under Pact's own
//! matching rules.

use std::panic::RefUnwindSafe;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use pact_consumer::builders::{InteractionBuilder, PactBuilder};
use pact_consumer::mock_server::StartMockServer;
use pact_consumer::patterns::{
    EachLike, JsonPattern, Like, ObjectMatching, StringPattern, Term, build_regex, each_key,
    each_value,
};
use pact_consumer::prelude::*;
use pact_models::bodies::OptionalBody;
use pact_models::content_types::JSON;
use pact_models::pact::{Pact, read_pact};
use pact_models::v4::http_parts::HttpResponse;
use secrecy::SecretString;
use serde_json::Value;
use stockdata_adapters_http::alpaca::{Alpaca, AlpacaConfig};
use stockdata_adapters_http::alpha_vantage::{AlphaVantage, AlphaVantageConfig};
use stockdata_adapters_http::finnhub::{Finnhub, FinnhubConfig};
use stockdata_adapters_http::serverless::{Serverless, ServerlessConfig};
use stockdata_adapters_http::transport::{PacerRegistry, RetryPolicy, TransportConfig};
use stockdata_domain::{
    Adjustment, BarQuery, BatchBarQuery, DateRange, ErrorKind, FetchError, Interval, NewsQuery,
    Symbol, TimeRange,
};
use stockdata_ports::{BarSource, FixedClock, NewsSource, QuoteSource};

use crate::drift::fixture;

pub(crate) const RFC3339: &str = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$";
const DATE: &str = r"^\d{4}-\d{2}-\d{2}$";
const DATE_KEY: &str = r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?$";
const AV_NUMBER: &str = r"^-?\d+(\.\d+)?([eE]-?\d+)?%?$";

fn sym(s: &str) -> Symbol {
    Symbol::parse(s).unwrap()
}

fn json(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).unwrap()
}

fn term(regex: &str, example: &str) -> JsonPattern {
    Term::<JsonPattern>::new(build_regex(regex), example).into()
}

/// A pattern with the example's shape: types, not values; regex terms for dates, instants and
/// Alpha Vantage's string numbers; one element per array; date-keyed maps by key pattern.
pub(crate) fn shape(v: &Value) -> JsonPattern {
    match v {
        Value::Object(map) => {
            let dated = !map.is_empty() && map.keys().all(|k| regex_match(DATE_KEY, k));
            if dated {
                let (k, first) = map.iter().next().unwrap_or_else(|| unreachable!());
                let example_pattern =
                    JsonPattern::Object(std::iter::once((k.clone(), shape(first))).collect());
                ObjectMatching::new(
                    example_pattern,
                    vec![
                        each_key(Term::<StringPattern>::new(build_regex(DATE_KEY), k.clone()))
                            .into(),
                        each_value(shape(first)).into(),
                    ],
                )
                .into()
            } else {
                JsonPattern::Object(map.iter().map(|(k, v)| (k.clone(), shape(v))).collect())
            }
        }
        // Arrays of one kind of element: "each like the first". Arrays mixing kinds (a batch's
        // data entries next to its error entries) are pinned position by position.
        Value::Array(items) => match items.first() {
            Some(first) if items.iter().all(|i| same_keys(i, first)) => {
                EachLike::new(shape(first)).into()
            }
            Some(_) => JsonPattern::Array(items.iter().map(shape).collect()),
            None => JsonPattern::Json(Value::Array(Vec::new())),
        },
        Value::String(s) if regex_match(RFC3339, s) => term(RFC3339, s),
        Value::String(s) if regex_match(DATE, s) => term(DATE, s),
        Value::String(s) if regex_match(r"^\d{8}T\d{6}$", s) => term(r"^\d{8}T\d{4}(\d{2})?$", s),
        Value::String(s) if !s.is_empty() && regex_match(AV_NUMBER, s) => term(AV_NUMBER, s),
        Value::Null => JsonPattern::Json(Value::Null),
        other => Like::<JsonPattern>::new(JsonPattern::Json(other.clone())).into(),
    }
}

fn same_keys(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => x.keys().eq(y.keys()),
        _ => std::mem::discriminant(a) == std::mem::discriminant(b),
    }
}

fn regex_match(re: &str, text: &str) -> bool {
    build_regex(re).is_match(text)
}

/// A query parameter: an exact value, or a regex with an example.
enum Q<'a> {
    Is(&'a str),
    Re(&'a str, &'a str),
}

fn request(i: &mut InteractionBuilder, path: &str, params: &[(&str, Q<'_>)]) {
    i.request.get().path(path.to_owned());
    for (k, q) in params {
        match q {
            Q::Is(v) => {
                i.request.query_param(*k, *v);
            }
            Q::Re(re, ex) => {
                i.request
                    .query_param(*k, Term::<StringPattern>::new(build_regex(re), *ex));
            }
        }
    }
}

fn respond(i: &mut InteractionBuilder, status: u16, body: &Value) {
    i.response
        .status(status)
        .content_type("application/json")
        .json_body(shape(body));
}

/// A directory of its own for a regenerated pact, removed when the guard drops.
pub(crate) fn fresh_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("stockdata-pacts-{name}-"))
        .tempdir()
        .unwrap()
}

fn transport() -> TransportConfig {
    TransportConfig {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        retry: RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        },
    }
}

fn clock(at: &str) -> Arc<FixedClock> {
    Arc::new(FixedClock(at.parse().unwrap()))
}

fn days(from: &str, to: &str) -> TimeRange {
    DateRange::new(from.parse().unwrap(), to.parse().unwrap())
        .unwrap()
        .to_time_range()
}

/// Compares the pact written to `dir` with the committed one in `pacts/` (or updates the
/// committed one when `STOCKDATA_UPDATE_PACTS` is set) and reads it back.
pub(crate) fn committed(dir: &Path, provider: &str) -> Box<dyn Pact + Send + Sync + RefUnwindSafe> {
    let written = dir.join(format!("stockdata-{provider}.json"));
    let committed = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("pacts")
        .join(format!("stockdata-{provider}.json"));
    let fresh =
        std::fs::read_to_string(&written).unwrap_or_else(|e| panic!("{}: {e}", written.display()));
    if std::env::var_os("STOCKDATA_UPDATE_PACTS").is_some() {
        std::fs::write(&committed, &fresh).unwrap();
    } else {
        let old = std::fs::read_to_string(&committed).unwrap_or_default();
        assert!(
            old == fresh,
            "the {provider} pact changed: review `diff {} {}`, \
             then run `STOCKDATA_UPDATE_PACTS=1 cargo xtask contract` and commit pacts/",
            committed.display(),
            written.display()
        );
    }
    read_pact(&written).unwrap()
}

/// Compares the written pact with the committed one (or updates it when asked) and checks
/// every listed sample against its interaction's response.
async fn settle(dir: &Path, provider: &str, samples: &[(&str, u16, Value)]) {
    let pact = committed(dir, provider);
    let interactions = pact.interactions();
    for (description, status, sample) in samples {
        let interaction = interactions
            .iter()
            .find(|i| i.description() == *description)
            .unwrap_or_else(|| panic!("{provider}: no interaction {description:?}"));
        let expected = interaction.as_v4_http().unwrap().response;
        let actual = HttpResponse {
            status: *status,
            headers: Some(
                [(
                    "content-type".to_owned(),
                    vec!["application/json".to_owned()],
                )]
                .into(),
            ),
            body: OptionalBody::Present(
                serde_json::to_vec(sample).unwrap().into(),
                Some(JSON.clone()),
                None,
            ),
            ..HttpResponse::default()
        };
        let boxed = interaction.boxed();
        let mismatches = pact_matching::match_response(expected, actual, &pact, &boxed)
            .await
            .unwrap();
        assert!(
            mismatches.is_empty(),
            "{provider}: the real sample no longer satisfies {description:?}:\n{}",
            mismatches
                .iter()
                .map(|m| format!("  - {}", m.description()))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn started<'a>(pact: &'a mut PactBuilder, dir: &Path) -> &'a mut PactBuilder {
    pact.with_output_dir(dir)
}

// ---------------------------------------------------------------------------------------------

#[test]
fn alpha_vantage() {
    let rt = runtime();
    let tmp = fresh_dir("alpha_vantage");
    let dir = tmp.path().to_path_buf();
    let samples = [
        (
            "a global quote for a traded symbol",
            "alphavantage_global_quote.json",
        ),
        ("daily prices", "alphavantage_time_series_daily.json"),
        (
            "intraday prices",
            "alphavantage_time_series_intraday_5min.json",
        ),
        ("news with sentiment", "alphavantage_news_sentiment.json"),
        (
            "the per-minute throttle notice",
            "alphavantage_note_throttle.json",
        ),
        (
            "the daily quota notice",
            "alphavantage_information_daily_limit.json",
        ),
        (
            "the premium endpoint notice",
            "alphavantage_information_premium_endpoint.json",
        ),
        (
            "an invalid API key",
            "alphavantage_error_invalid_apikey.json",
        ),
        (
            "an invalid call for an unknown symbol",
            "alphavantage_error_invalid_call.json",
        ),
    ];
    let mut pact = PactBuilder::new_v4("stockdata", "alpha_vantage");
    started(&mut pact, &dir);
    let quote = |symbol: &'static str| {
        vec![
            ("function", Q::Is("GLOBAL_QUOTE")),
            ("symbol", Q::Is(symbol)),
            ("apikey", Q::Re(r"^\S+$", "pact-key")),
        ]
    };
    pact.interaction(samples[0].0, "", |mut i| {
        i.given("MSFT is traded");
        request(&mut i, "/query", &quote("MSFT"));
        respond(&mut i, 200, &json(samples[0].1));
        i
    })
    .interaction("an empty global quote", "", |mut i| {
        i.given("ZZZZ is not a listed symbol");
        request(&mut i, "/query", &quote("ZZZZ"));
        i.response
            .ok()
            .content_type("application/json")
            .json_body(JsonPattern::Json(serde_json::json!({"Global Quote": {}})));
        i
    })
    .interaction(samples[1].0, "", |mut i| {
        i.given("IBM has daily history");
        request(
            &mut i,
            "/query",
            &[
                ("function", Q::Is("TIME_SERIES_DAILY")),
                ("symbol", Q::Is("IBM")),
                ("outputsize", Q::Is("compact")),
                ("apikey", Q::Re(r"^\S+$", "pact-key")),
            ],
        );
        respond(&mut i, 200, &json(samples[1].1));
        i
    })
    .interaction(samples[2].0, "", |mut i| {
        i.given("IBM has intraday history");
        request(
            &mut i,
            "/query",
            &[
                ("function", Q::Is("TIME_SERIES_INTRADAY")),
                ("symbol", Q::Is("IBM")),
                ("interval", Q::Is("5min")),
                ("outputsize", Q::Is("full")),
                ("adjusted", Q::Is("false")),
                ("extended_hours", Q::Is("false")),
                ("apikey", Q::Re(r"^\S+$", "pact-key")),
            ],
        );
        respond(&mut i, 200, &json(samples[2].1));
        i
    })
    .interaction(samples[3].0, "", |mut i| {
        i.given("AAPL has news");
        request(
            &mut i,
            "/query",
            &[
                ("function", Q::Is("NEWS_SENTIMENT")),
                ("tickers", Q::Is("AAPL")),
                ("time_from", Q::Re(r"^\d{8}T\d{4}$", "20231129T0000")),
                ("time_to", Q::Re(r"^\d{8}T\d{4}$", "20231130T0000")),
                ("sort", Q::Is("LATEST")),
                ("limit", Q::Re(r"^\d+$", "50")),
                ("apikey", Q::Re(r"^\S+$", "pact-key")),
            ],
        );
        respond(&mut i, 200, &json(samples[3].1));
        i
    })
    .interaction(samples[4].0, "", |mut i| {
        i.given("the key is over its per-minute limit");
        request(&mut i, "/query", &quote("NOTE"));
        respond(&mut i, 200, &json(samples[4].1));
        i
    })
    .interaction("the burst throttle notice", "", |mut i| {
        i.given("the key is sending faster than one request per second");
        request(&mut i, "/query", &quote("BURST"));
        // Wording quoted in PROVIDERS.md §1.2 (2025-26 captures; no recorded file).
        let burst = "Thank you for using Alpha Vantage! Please consider spreading out your free \
            API requests more sparingly (1 request per second). You may subscribe to any of the \
            premium plans at https://www.alphavantage.co/premium/ to lift the free key rate limit \
            (25 requests per day) and instantly unlock all premium endpoints";
        respond(&mut i, 200, &serde_json::json!({"Information": burst}));
        i
    })
    .interaction(samples[5].0, "", |mut i| {
        i.given("the key is over its daily quota");
        request(&mut i, "/query", &quote("QUOTA"));
        respond(&mut i, 200, &json(samples[5].1));
        i
    })
    .interaction(samples[6].0, "", |mut i| {
        i.given("adjusted daily prices are a premium endpoint");
        request(
            &mut i,
            "/query",
            &[
                ("function", Q::Is("TIME_SERIES_DAILY_ADJUSTED")),
                ("symbol", Q::Is("IBM")),
                ("outputsize", Q::Is("compact")),
                ("apikey", Q::Re(r"^\S+$", "pact-key")),
            ],
        );
        respond(&mut i, 200, &json(samples[6].1));
        i
    })
    .interaction(samples[7].0, "", |mut i| {
        i.given("the API key is invalid");
        request(&mut i, "/query", &quote("BADKEY"));
        respond(&mut i, 200, &json(samples[7].1));
        i
    })
    .interaction(samples[8].0, "", |mut i| {
        i.given("NOSUCH is not a listed symbol");
        request(
            &mut i,
            "/query",
            &[
                ("function", Q::Is("TIME_SERIES_DAILY")),
                ("symbol", Q::Is("NOSUCH")),
                ("outputsize", Q::Is("compact")),
                ("apikey", Q::Re(r"^\S+$", "pact-key")),
            ],
        );
        respond(&mut i, 200, &json(samples[8].1));
        i
    });
    {
        let server = pact.start_mock_server(None, None);
        rt.block_on(async {
            let base = server.url();
            let config = AlphaVantageConfig {
                base_url: base.clone(),
                transport: transport(),
                windows: Vec::new(),
                ..AlphaVantageConfig::new(SecretString::from("pact-key"))
            };
            let av =
                AlphaVantage::new(config, &PacerRegistry::new(), clock("2020-05-09T12:00:00Z"))
                    .unwrap();
            assert!(av.quote(&sym("MSFT")).await.is_ok());
            assert_eq!(
                av.quote(&sym("ZZZZ")).await.unwrap_err().kind(),
                ErrorKind::UnknownSymbol
            );
            let daily = |s: &str, adj| BarQuery {
                symbol: sym(s),
                interval: Interval::Day1,
                range: days("2020-05-01", "2020-05-08"),
                adjustment: adj,
            };
            assert!(av.bars(&daily("IBM", Adjustment::Raw)).await.is_ok());
            assert!(
                av.bars(&BarQuery {
                    interval: Interval::Minute5,
                    range: days("2020-05-08", "2020-05-08"),
                    ..daily("IBM", Adjustment::Raw)
                })
                .await
                .is_ok()
            );
            let news = NewsQuery {
                symbols: vec![sym("AAPL")],
                range: TimeRange::new(
                    "2023-11-29T00:00:00Z".parse().unwrap(),
                    "2023-11-30T00:00:00Z".parse().unwrap(),
                )
                .unwrap(),
                limit: 50,
            };
            assert!(av.news(&news).await.is_ok());
            assert_eq!(
                av.quote(&sym("NOTE")).await.unwrap_err().kind(),
                ErrorKind::RateLimited
            );
            assert_eq!(
                av.quote(&sym("BURST")).await.unwrap_err().retry_after(),
                Some(Duration::from_secs(1))
            );
            assert_eq!(
                av.quote(&sym("QUOTA")).await.unwrap_err().kind(),
                ErrorKind::QuotaExhausted
            );
            assert_eq!(
                av.bars(&daily("IBM", Adjustment::All))
                    .await
                    .unwrap_err()
                    .kind(),
                ErrorKind::EntitlementDenied
            );
            assert_eq!(
                av.quote(&sym("BADKEY")).await.unwrap_err(),
                FetchError::Unauthorized
            );
            assert_eq!(
                av.bars(&daily("NOSUCH", Adjustment::Raw))
                    .await
                    .unwrap_err()
                    .kind(),
                ErrorKind::UnknownSymbol
            );
        });
    }
    let checks: Vec<(&str, u16, Value)> = samples.iter().map(|(d, f)| (*d, 200, json(f))).collect();
    rt.block_on(settle(&dir, "alpha_vantage", &checks));
}

#[test]
fn finnhub() {
    let rt = runtime();
    let tmp = fresh_dir("finnhub");
    let dir = tmp.path().to_path_buf();
    let token = |i: &mut InteractionBuilder| {
        i.request.header(
            "x-finnhub-token",
            Term::<StringPattern>::new(build_regex(r"^\S+$"), "pact-token"),
        );
    };
    let mut pact = PactBuilder::new_v4("stockdata", "finnhub");
    started(&mut pact, &dir);
    let quote = |s: &'static str| vec![("symbol", Q::Is(s))];
    let candle = |s: &'static str| {
        vec![
            ("symbol", Q::Is(s)),
            ("resolution", Q::Is("D")),
            ("from", Q::Re(r"^\d+$", "1569297600")),
            ("to", Q::Re(r"^\d+$", "1569556799")),
        ]
    };
    pact.interaction("a quote for a traded symbol", "", |mut i| {
        i.given("AAPL is traded");
        token(&mut i);
        request(&mut i, "/api/v1/quote", &quote("AAPL"));
        respond(&mut i, 200, &json("finnhub_quote.json"));
        i
    })
    .interaction("the all-zero quote of an unknown symbol", "", |mut i| {
        i.given("ZZZZ is not covered");
        token(&mut i);
        request(&mut i, "/api/v1/quote", &quote("ZZZZ"));
        respond(&mut i, 200, &json("finnhub_quote_unknown_symbol.json"));
        i
    })
    .interaction("daily candles", "", |mut i| {
        i.given("AAPL has daily candles and the key is premium");
        token(&mut i);
        request(&mut i, "/api/v1/stock/candle", &candle("AAPL"));
        respond(&mut i, 200, &json("finnhub_stock_candle.json"));
        i
    })
    .interaction("no candles in the range", "", |mut i| {
        i.given("NODATA has no candles in the range");
        token(&mut i);
        request(&mut i, "/api/v1/stock/candle", &candle("NODATA"));
        respond(&mut i, 200, &serde_json::json!({"s": "no_data"}));
        i
    })
    .interaction("no access to candles", "", |mut i| {
        i.given("the key has no access to candles");
        token(&mut i);
        request(&mut i, "/api/v1/stock/candle", &candle("NOACCESS"));
        respond(&mut i, 403, &json("finnhub_error_403_no_access.json"));
        i
    })
    .interaction("company news", "", |mut i| {
        i.given("AAPL has company news");
        token(&mut i);
        request(
            &mut i,
            "/api/v1/company-news",
            &[
                ("symbol", Q::Is("AAPL")),
                ("from", Q::Re(DATE, "2019-09-26")),
                ("to", Q::Re(DATE, "2019-09-27")),
            ],
        );
        respond(&mut i, 200, &json("finnhub_company_news.json"));
        i
    })
    .interaction("an invalid token", "", |mut i| {
        i.given("the token is invalid");
        token(&mut i);
        request(&mut i, "/api/v1/quote", &quote("UNAUTH"));
        respond(&mut i, 401, &json("finnhub_error_401_invalid_key.json"));
        i
    })
    .interaction("the rate limit", "", |mut i| {
        i.given("the key is over its per-minute limit");
        token(&mut i);
        request(&mut i, "/api/v1/quote", &quote("LIMIT"));
        respond(&mut i, 429, &json("finnhub_error_429_rate_limit.json"));
        i
    });
    {
        let server = pact.start_mock_server(None, None);
        rt.block_on(async {
            let config = FinnhubConfig {
                base_url: server.url(),
                transport: transport(),
                windows: Vec::new(),
                ..FinnhubConfig::new(SecretString::from("pact-token"))
            };
            let fh =
                Finnhub::new(config, &PacerRegistry::new(), clock("2019-10-01T00:00:00Z")).unwrap();
            assert!(fh.quote(&sym("AAPL")).await.is_ok());
            assert_eq!(
                fh.quote(&sym("ZZZZ")).await.unwrap_err().kind(),
                ErrorKind::UnknownSymbol
            );
            let daily = |s: &str| BarQuery {
                symbol: sym(s),
                interval: Interval::Day1,
                range: days("2019-09-24", "2019-09-26"),
                adjustment: Adjustment::Raw,
            };
            assert!(fh.bars(&daily("AAPL")).await.is_ok());
            assert_eq!(
                fh.bars(&daily("NODATA")).await.unwrap_err(),
                FetchError::NoData
            );
            assert_eq!(
                fh.bars(&daily("NOACCESS")).await.unwrap_err().kind(),
                ErrorKind::EntitlementDenied
            );
            let news = NewsQuery {
                symbols: vec![sym("AAPL")],
                range: TimeRange::new(
                    "2019-09-26T00:00:00Z".parse().unwrap(),
                    "2019-09-28T00:00:00Z".parse().unwrap(),
                )
                .unwrap(),
                limit: 10,
            };
            assert!(fh.news(&news).await.is_ok());
            assert_eq!(
                fh.quote(&sym("UNAUTH")).await.unwrap_err(),
                FetchError::Unauthorized
            );
            assert_eq!(
                fh.quote(&sym("LIMIT")).await.unwrap_err().kind(),
                ErrorKind::RateLimited
            );
        });
    }
    let checks = vec![
        (
            "a quote for a traded symbol",
            200,
            json("finnhub_quote.json"),
        ),
        (
            "the all-zero quote of an unknown symbol",
            200,
            json("finnhub_quote_unknown_symbol.json"),
        ),
        ("daily candles", 200, json("finnhub_stock_candle.json")),
        (
            "no access to candles",
            403,
            json("finnhub_error_403_no_access.json"),
        ),
        ("company news", 200, json("finnhub_company_news.json")),
        (
            "an invalid token",
            401,
            json("finnhub_error_401_invalid_key.json"),
        ),
        (
            "the rate limit",
            429,
            json("finnhub_error_429_rate_limit.json"),
        ),
    ];
    rt.block_on(settle(&dir, "finnhub", &checks));
}

#[test]
fn alpaca() {
    let rt = runtime();
    let tmp = fresh_dir("alpaca");
    let dir = tmp.path().to_path_buf();
    let auth = |i: &mut InteractionBuilder| {
        i.request.header(
            "apca-api-key-id",
            Term::<StringPattern>::new(build_regex(r"^\S+$"), "pact-id"),
        );
        i.request.header(
            "apca-api-secret-key",
            Term::<StringPattern>::new(build_regex(r"^\S+$"), "pact-secret"),
        );
    };
    let mut snapshots = json("alpaca_snapshots_multi.json");
    snapshots.as_object_mut().unwrap().remove("INVALID");
    let bars = |token: Option<&'static str>, feed: &'static str, s: &'static str| {
        let mut q = vec![
            ("symbols", Q::Is(s)),
            ("timeframe", Q::Is("1Day")),
            ("start", Q::Re(RFC3339, "2022-06-08T04:00:00Z")),
            ("end", Q::Re(RFC3339, "2022-06-14T04:00:00Z")),
            ("limit", Q::Is("10000")),
            ("adjustment", Q::Is("raw")),
            ("feed", Q::Is(feed)),
            ("sort", Q::Is("asc")),
        ];
        if let Some(t) = token {
            q.push(("page_token", Q::Is(t)));
        }
        q
    };
    let t1 = "TUVUQXxEfDIwMjItMDYtMDlUMDQ6MDA6MDAuMDAwMDAwMDAwWg==";
    let t2 = "TUVUQXxEfDIwMjItMDYtMTNUMDQ6MDA6MDAuMDAwMDAwMDAwWg==";
    let news = |token: Option<&'static str>| {
        let mut q = vec![
            ("symbols", Q::Is("TSLA")),
            ("start", Q::Re(RFC3339, "2021-04-03T00:00:00Z")),
            ("end", Q::Re(RFC3339, "2021-04-04T00:00:00Z")),
            ("limit", Q::Re(r"^\d+$", "10")),
            ("sort", Q::Is("desc")),
        ];
        if let Some(t) = token {
            q.push(("page_token", Q::Is(t)));
        }
        q
    };
    let news_token = "MTYxNzQ2MzIxMjAwMDAwMDAwMHwyMDQ3MjUxMg==";
    let mut pact = PactBuilder::new_v4("stockdata", "alpaca");
    started(&mut pact, &dir);
    pact.interaction("snapshots of traded symbols", "", |mut i| {
        i.given("AAPL and MSFT are traded");
        auth(&mut i);
        request(
            &mut i,
            "/v2/stocks/snapshots",
            &[("symbols", Q::Is("AAPL,MSFT")), ("feed", Q::Is("iex"))],
        );
        respond(&mut i, 200, &snapshots);
        i
    })
    .interaction("the snapshot of an unknown symbol", "", |mut i| {
        i.given("INVALID is not a listed symbol");
        auth(&mut i);
        request(
            &mut i,
            "/v2/stocks/snapshots",
            &[("symbols", Q::Is("INVALID")), ("feed", Q::Is("iex"))],
        );
        i.response
            .ok()
            .content_type("application/json")
            .json_body(JsonPattern::Json(serde_json::json!({"INVALID": null})));
        i
    })
    .interaction("bars, first page", "", |mut i| {
        i.given("META has daily bars over three pages");
        auth(&mut i);
        request(&mut i, "/v2/stocks/bars", &bars(None, "iex", "META"));
        respond(&mut i, 200, &json("alpaca_bars_page1.json"));
        i
    })
    .interaction("bars, second page", "", |mut i| {
        i.given("META has daily bars over three pages");
        auth(&mut i);
        request(&mut i, "/v2/stocks/bars", &bars(Some(t1), "iex", "META"));
        respond(&mut i, 200, &json("alpaca_bars_page2.json"));
        i
    })
    .interaction("bars, last page", "", |mut i| {
        i.given("META has daily bars over three pages");
        auth(&mut i);
        request(&mut i, "/v2/stocks/bars", &bars(Some(t2), "iex", "META"));
        i.response
            .ok()
            .content_type("application/json")
            .json_body(JsonPattern::Json(json("alpaca_bars_empty.json")));
        i
    })
    .interaction("recent SIP data without a subscription", "", |mut i| {
        i.given("the plan does not cover recent SIP data");
        auth(&mut i);
        request(&mut i, "/v2/stocks/bars", &bars(None, "sip", "META"));
        respond(&mut i, 403, &json("alpaca_error_403_sip_subscription.json"));
        i
    })
    .interaction("an invalid request", "", |mut i| {
        i.given("the request is rejected as invalid");
        auth(&mut i);
        request(&mut i, "/v2/stocks/bars", &bars(None, "iex", "BADREQ"));
        respond(
            &mut i,
            422,
            &json("alpaca_error_422_invalid_timeframe.json"),
        );
        i
    })
    .interaction("the rate limit", "", |mut i| {
        i.given("the key is over its per-minute limit");
        auth(&mut i);
        request(
            &mut i,
            "/v2/stocks/snapshots",
            &[("symbols", Q::Is("BUSY")), ("feed", Q::Is("iex"))],
        );
        i.response
            .status(429)
            .header(
                "x-ratelimit-reset",
                Term::<StringPattern>::new(build_regex(r"^\d+$"), "1700000000"),
            )
            .body("too many requests");
        i
    })
    .interaction("news, first page", "", |mut i| {
        i.given("TSLA has two pages of news");
        auth(&mut i);
        request(&mut i, "/v1beta1/news", &news(None));
        respond(&mut i, 200, &json("alpaca_news_page1.json"));
        i
    })
    .interaction("news, last page", "", |mut i| {
        i.given("TSLA has two pages of news");
        auth(&mut i);
        request(&mut i, "/v1beta1/news", &news(Some(news_token)));
        respond(&mut i, 200, &json("alpaca_news_page2.json"));
        i
    });
    {
        let server = pact.start_mock_server(None, None);
        rt.block_on(async {
            let config = |feed: &str| AlpacaConfig {
                base_url: server.url(),
                feed: feed.to_owned(),
                transport: transport(),
                windows: Vec::new(),
                ..AlpacaConfig::new(
                    SecretString::from("pact-id"),
                    SecretString::from("pact-secret"),
                )
            };
            let ap = Alpaca::new(
                config("iex"),
                &PacerRegistry::new(),
                clock("2022-06-20T00:00:00Z"),
            )
            .unwrap();
            let sip = Alpaca::new(
                config("sip"),
                &PacerRegistry::new(),
                clock("2022-06-20T00:00:00Z"),
            )
            .unwrap();
            let answers = ap.quotes(&[sym("AAPL"), sym("MSFT")]).await;
            assert!(answers.iter().all(|a| a.result.is_ok()), "{answers:?}");
            assert_eq!(
                ap.quote(&sym("INVALID")).await.unwrap_err().kind(),
                ErrorKind::UnknownSymbol
            );
            let q = |s: &str| BarQuery {
                symbol: sym(s),
                interval: Interval::Day1,
                range: days("2022-06-08", "2022-06-13"),
                adjustment: Adjustment::Raw,
            };
            // The pact's example pages hold one bar each: followed to the end and merged.
            assert_eq!(
                ap.bars(&q("META")).await.unwrap().len(),
                2,
                "three pages merged"
            );
            assert_eq!(
                sip.bars(&q("META")).await.unwrap_err().kind(),
                ErrorKind::EntitlementDenied
            );
            assert_eq!(
                ap.bars(&q("BADREQ")).await.unwrap_err().kind(),
                ErrorKind::InvalidRequest
            );
            assert_eq!(
                ap.quote(&sym("BUSY")).await.unwrap_err().kind(),
                ErrorKind::RateLimited
            );
            let news = NewsQuery {
                symbols: vec![sym("TSLA")],
                range: TimeRange::new(
                    "2021-04-03T00:00:00Z".parse().unwrap(),
                    "2021-04-04T00:00:00Z".parse().unwrap(),
                )
                .unwrap(),
                limit: 10,
            };
            assert_eq!(
                ap.news(&news).await.unwrap().len(),
                2,
                "one article per example page"
            );
        });
    }
    let mut unknown = serde_json::Map::new();
    unknown.insert("INVALID".into(), Value::Null);
    let checks = vec![
        ("snapshots of traded symbols", 200, snapshots.clone()),
        (
            "the snapshot of an unknown symbol",
            200,
            Value::Object(unknown),
        ),
        ("bars, first page", 200, json("alpaca_bars_page1.json")),
        ("bars, second page", 200, json("alpaca_bars_page2.json")),
        ("bars, last page", 200, json("alpaca_bars_empty.json")),
        (
            "recent SIP data without a subscription",
            403,
            json("alpaca_error_403_sip_subscription.json"),
        ),
        (
            "an invalid request",
            422,
            json("alpaca_error_422_invalid_timeframe.json"),
        ),
        ("news, first page", 200, json("alpaca_news_page1.json")),
        ("news, last page", 200, json("alpaca_news_page2.json")),
    ];
    rt.block_on(settle(&dir, "alpaca", &checks));
}

/// The serverless pact's interactions, shared with the provider verification against serve.
pub(crate) fn serverless_pact(dir: &Path) -> PactBuilder {
    let auth = |i: &mut InteractionBuilder| {
        i.request.header(
            "authorization",
            Term::<StringPattern>::new(build_regex(r"^Bearer \S+$"), "Bearer pact-token"),
        );
        i.request.header(
            "x-request-id",
            Term::<StringPattern>::new(build_regex(r"^[0-9a-f]{16}$"), "0123456789abcdef"),
        );
    };
    let mut pact = PactBuilder::new_v4("stockdata", "serverless");
    started(&mut pact, dir);
    pact.interaction("quotes with a per-symbol error", "", |mut i| {
        i.given("AAPL is traded and ZZZZ is not");
        auth(&mut i);
        request(&mut i, "/v1/quotes", &[("symbols", Q::Is("AAPL,ZZZZ"))]);
        respond(&mut i, 200, &json("serverless_quotes.json"));
        i
    })
    .interaction("bars with a per-symbol rate limit", "", |mut i| {
        i.given("AAPL has daily bars and MSFT is rate limited");
        auth(&mut i);
        request(
            &mut i,
            "/v1/bars",
            &[
                ("symbols", Q::Is("AAPL,MSFT")),
                ("interval", Q::Is("1d")),
                ("start", Q::Re(RFC3339, "2024-03-07T05:00:00Z")),
                ("end", Q::Re(RFC3339, "2024-03-09T05:00:00Z")),
                ("adjustment", Q::Is("raw")),
            ],
        );
        respond(&mut i, 200, &json("serverless_bars.json"));
        i
    })
    .interaction("news", "", |mut i| {
        i.given("AAPL has news");
        auth(&mut i);
        request(
            &mut i,
            "/v1/news",
            &[
                ("symbols", Q::Is("AAPL")),
                ("start", Q::Re(RFC3339, "2024-03-08T00:00:00Z")),
                ("end", Q::Re(RFC3339, "2024-03-09T00:00:00Z")),
                ("limit", Q::Re(r"^\d+$", "20")),
            ],
        );
        respond(&mut i, 200, &json("serverless_news.json"));
        i
    })
    .interaction("the error envelope", "", |mut i| {
        i.given("ranges are limited to ten years");
        auth(&mut i);
        request(
            &mut i,
            "/v1/bars",
            &[
                ("symbols", Q::Is("AAPL")),
                ("interval", Q::Is("1d")),
                ("start", Q::Re(RFC3339, "2000-01-03T05:00:00Z")),
                ("end", Q::Re(RFC3339, "2024-03-09T05:00:00Z")),
                ("adjustment", Q::Is("raw")),
            ],
        );
        respond(&mut i, 400, &json("serverless_error_invalid_request.json"));
        i
    });
    pact
}

#[test]
fn serverless() {
    let rt = runtime();
    let tmp = fresh_dir("serverless");
    let dir = tmp.path().to_path_buf();
    let pact = serverless_pact(&dir);
    {
        let server = pact.start_mock_server(None, None);
        rt.block_on(async {
            let config = ServerlessConfig {
                transport: transport(),
                ..ServerlessConfig::new(server.url(), Some(SecretString::from("pact-token")))
            };
            let sl = Serverless::new(config, &PacerRegistry::new(), clock("2024-03-09T00:00:00Z"))
                .unwrap();
            let quotes = sl.quotes(&[sym("AAPL"), sym("ZZZZ")]).await;
            assert!(quotes[0].result.is_ok());
            assert_eq!(
                quotes[1].result.as_ref().unwrap_err().kind(),
                ErrorKind::UnknownSymbol
            );
            let bars = sl
                .bars_batch(&BatchBarQuery {
                    symbols: vec![sym("AAPL"), sym("MSFT")],
                    interval: Interval::Day1,
                    range: days("2024-03-07", "2024-03-08"),
                    adjustment: Adjustment::Raw,
                })
                .await;
            assert!(bars[0].result.is_ok());
            assert_eq!(
                bars[1].result.as_ref().unwrap_err().kind(),
                ErrorKind::RateLimited
            );
            let news = NewsQuery {
                symbols: vec![sym("AAPL")],
                range: TimeRange::new(
                    "2024-03-08T00:00:00Z".parse().unwrap(),
                    "2024-03-09T00:00:00Z".parse().unwrap(),
                )
                .unwrap(),
                limit: 20,
            };
            assert!(sl.news(&news).await.is_ok());
            let too_long = BarQuery {
                symbol: sym("AAPL"),
                interval: Interval::Day1,
                range: days("2000-01-03", "2024-03-08"),
                adjustment: Adjustment::Raw,
            };
            assert_eq!(
                sl.bars(&too_long).await.unwrap_err().kind(),
                ErrorKind::InvalidRequest
            );
        });
    }
    let checks = vec![
        (
            "quotes with a per-symbol error",
            200,
            json("serverless_quotes.json"),
        ),
        (
            "bars with a per-symbol rate limit",
            200,
            json("serverless_bars.json"),
        ),
        ("news", 200, json("serverless_news.json")),
        (
            "the error envelope",
            400,
            json("serverless_error_invalid_request.json"),
        ),
    ];
    rt.block_on(settle(&dir, "serverless", &checks));
}
