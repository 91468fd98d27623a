//! The serverless fetcher: stockdata's own schema (`docs/serverless-api.md`), answered the way
//! `stockdata serve` answers it: `/v1/quotes`, `/v1/bars`, `/v1/news`, `/healthz`, `/readyz`;
//! one result per requested symbol; the `{"error": {"kind", "message"}}` envelope; every record
//! `synthetic: true`. No quota (a deployment has its own upstream limits) and no token check
//! (a loopback `stockdata serve` without tokens accepts any).

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::get;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use stockdata_domain::{Interval, TimeRange};

use super::{Params, num, reply};
use crate::Shared;
use crate::market::{self, Order};
use crate::series::{Series, Width};

/// The path prefix (`Sandbox::base_url`).
pub(crate) const NAME: &str = "serverless";

/// At most this many symbols per request (the client splits larger batches).
const MAX_SYMBOLS: usize = 100;
/// `limit` of `/v1/news` is 1 to this.
const MAX_NEWS_LIMIT: usize = 1000;
/// The most bars one `/v1/bars` answer may hold (`docs/serverless-api.md`).
const MAX_BARS: u64 = 20_000;
/// The longest range one request may ask for, in days.
const MAX_RANGE_DAYS: i64 = 3660;

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v1/quotes", get(quotes))
        .route("/v1/bars", get(bars_of))
        .route("/v1/news", get(news))
        .route(
            "/healthz",
            get(|| async { reply(StatusCode::OK, &json!({"status": "ok"})) }),
        )
        .route(
            "/readyz",
            get(|| async {
                reply(
                    StatusCode::OK,
                    &json!({"status": "ready", "providers": ["sandbox"]}),
                )
            }),
        )
        .fallback(|| async {
            envelope(
                StatusCode::NOT_FOUND,
                "invalid_request",
                "no such endpoint: use /v1/quotes, /v1/bars or /v1/news",
            )
        })
}

fn envelope(status: StatusCode, kind: &str, message: &str) -> Response {
    reply(
        status,
        &json!({"error": {"kind": kind, "message": message}}),
    )
}

fn bad_request(message: &str) -> Response {
    envelope(StatusCode::BAD_REQUEST, "invalid_request", message)
}

/// The requested symbols, 1 to 100 of them; else the request is a 400.
struct Symbols(Vec<String>);

impl<S: Send + Sync> FromRequestParts<S> for Symbols {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        let symbols = Params::of(&parts.uri).list("symbols");
        if symbols.is_empty() {
            return Err(bad_request("symbols is required: pass ?symbols=AAPL,MSFT"));
        }
        if symbols.len() > MAX_SYMBOLS {
            return Err(bad_request("at most 100 symbols per request"));
        }
        Ok(Self(symbols))
    }
}

fn unknown(s: &str) -> Value {
    json!({
        "symbol": s,
        "error": {"kind": "unknown_symbol", "message": format!("unknown symbol {s}")},
    })
}

async fn quotes(State(shared): State<Arc<Shared>>, Symbols(symbols): Symbols) -> Response {
    let now = shared.now();
    let results: Vec<Value> = symbols
        .iter()
        .map(|s| {
            if !market::known(s) {
                return unknown(s);
            }
            let q = market::quote(s, now);
            json!({"symbol": s, "quote": {
                "symbol": s, "price": num(q.price), "bid": num(q.bid), "ask": num(q.ask),
                "bid_size": 3, "ask_size": 2,
                "open": num(q.day.open), "high": num(q.day.high), "low": num(q.day.low),
                "previous_close": num(q.previous_close),
                "change": num(q.price - q.previous_close), "change_percent": null,
                "volume": q.day.volume,
                "as_of": q.as_of.to_string(), "provider": "sandbox", "synthetic": true,
            }})
        })
        .collect();
    reply(StatusCode::OK, &json!({"results": results}))
}

/// `start` inclusive, `end` exclusive; a known symbol without bars in the range is `no_data`.
async fn bars_of(
    State(shared): State<Arc<Shared>>,
    Symbols(symbols): Symbols,
    params: Params,
) -> Response {
    let interval = params.get("interval").unwrap_or("");
    let (width, domain) = match interval {
        "1m" => (Width::Minutes(1), Interval::Minute1),
        "5m" => (Width::Minutes(5), Interval::Minute5),
        "15m" => (Width::Minutes(15), Interval::Minute15),
        "30m" => (Width::Minutes(30), Interval::Minute30),
        "1h" => (Width::Minutes(60), Interval::Hour1),
        "1d" => (Width::Day, Interval::Day1),
        "1w" => (Width::Week, Interval::Week1),
        "1mo" => (Width::Months(1), Interval::Month1),
        other => {
            return bad_request(&format!(
                "interval {other:?} is not one of 1m, 5m, 15m, 30m, 1h, 1d, 1w, 1mo"
            ));
        }
    };
    let (Some(start), Some(end)) = (params.instant("start"), params.instant("end")) else {
        return bad_request("start and end are required (RFC 3339)");
    };
    if start > end {
        return bad_request("start is after end");
    }
    let days = end.duration_since(start).as_hours() / 24;
    if days > MAX_RANGE_DAYS {
        return bad_request(&format!(
            "the range is {days} days long: at most {MAX_RANGE_DAYS} per request"
        ));
    }
    // The answer is built whole, so it is bounded before anything is generated, the way
    // `stockdata serve` bounds it: each symbol's most bars for the range, summed.
    if let Ok(range) = TimeRange::new(start, end) {
        let each = range.max_bars(domain);
        let count = u64::try_from(symbols.len()).unwrap_or(u64::MAX);
        let total = each.saturating_mul(count);
        if total > MAX_BARS {
            return bad_request(&format!(
                "this request could answer up to {total} bars ({count} symbols × {each}): at \
                 most {MAX_BARS} per request, so narrow the range, ask for fewer symbols or \
                 use a wider interval"
            ));
        }
    }
    let now = shared.now();
    let adjustment = params.get("adjustment").unwrap_or("raw");
    let results: Vec<Value> = symbols
        .iter()
        .map(|s| {
            if !market::known(s) {
                return unknown(s);
            }
            let series = Series::new(s, width, now).all(start, end);
            if series.is_empty() {
                return json!({
                    "symbol": s,
                    "error": {"kind": "no_data", "message": "no bars in the range"},
                });
            }
            let list: Vec<Value> = series
                .iter()
                .map(|b| {
                    json!({
                        "symbol": s, "interval": interval, "start": b.start.to_string(),
                        "open": num(b.open), "high": num(b.high),
                        "low": num(b.low), "close": num(b.close),
                        "volume": b.volume, "vwap": num(b.vwap()), "trades": b.trades,
                        "provider": "sandbox", "adjustment": adjustment, "synthetic": true,
                    })
                })
                .collect();
            json!({"symbol": s, "bars": list})
        })
        .collect();
    reply(StatusCode::OK, &json!({"results": results}))
}

/// Newest first across symbols; `start` defaults to three days back, `end` to now.
async fn news(
    State(shared): State<Arc<Shared>>,
    Symbols(symbols): Symbols,
    params: Params,
) -> Response {
    let limit = match params.get("limit").map(str::parse::<usize>) {
        None => 50,
        Some(Ok(n)) if (1..=MAX_NEWS_LIMIT).contains(&n) => n,
        Some(_) => {
            return bad_request(&format!(
                "limit must be a whole number from 1 to {MAX_NEWS_LIMIT}"
            ));
        }
    };
    let now = shared.now();
    let start: Timestamp = params.instant("start").unwrap_or_else(|| {
        now.checked_sub(SignedDuration::from_hours(72))
            .unwrap_or(now)
    });
    let end = params.instant("end").unwrap_or(now).min(now);
    let mut all: Vec<market::SynthArticle> = symbols
        .iter()
        .filter(|s| market::known(s))
        .flat_map(|s| market::news(s, start, end, Order::Desc, limit))
        .collect();
    all.sort_by(|a, b| b.published_at.cmp(&a.published_at).then(a.id.cmp(&b.id)));
    all.truncate(limit);
    let articles: Vec<Value> = all
        .iter()
        .map(|a| {
            json!({
                "id": format!("sandbox:{}", a.id), "symbols": [a.symbol],
                "headline": a.headline, "summary": a.summary,
                "url": a.url, "source": "stockdata sandbox",
                "published_at": a.published_at.to_string(),
                "author": "Sandbox Desk", "image": null, "provider": "sandbox", "synthetic": true,
            })
        })
        .collect();
    reply(StatusCode::OK, &json!({"articles": articles}))
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use crate::Faults;
    use crate::testing::{Sim, get};

    #[tokio::test]
    async fn every_endpoint_the_adapter_calls_answers() {
        let sim = Sim::new(None, Faults::default());
        let quotes = get(&sim, "/serverless/v1/quotes?symbols=AAPL,ZZZZ", &[]).await;
        let results = &quotes.json().unwrap()["results"];
        assert_eq!(results[0]["quote"]["price"], 72.47);
        assert_eq!(results[0]["quote"]["synthetic"], true);
        assert_eq!(results[1]["error"]["kind"], "unknown_symbol");
        let bars = get(
            &sim,
            "/serverless/v1/bars?symbols=MSFT&interval=1h\
             &start=2024-03-08T05:00:00Z&end=2024-03-09T05:00:00Z&adjustment=raw",
            &[],
        )
        .await;
        let bars = bars.json().unwrap();
        assert_eq!(bars["results"][0]["bars"].as_array().unwrap().len(), 7);
        let news = get(
            &sim,
            "/serverless/v1/news?symbols=NVDA\
             &start=2024-03-07T00:00:00Z&end=2024-03-08T21:30:00Z&limit=10",
            &[],
        )
        .await;
        let articles = &news.json().unwrap()["articles"];
        assert_eq!(articles.as_array().unwrap().len(), 4);
        assert!(
            articles[0]["headline"]
                .as_str()
                .unwrap()
                .starts_with("[SANDBOX]")
        );
        assert!(articles[0]["url"].as_str().unwrap().contains(".invalid/"));
        for probe in ["/serverless/healthz", "/serverless/readyz"] {
            assert_eq!(
                get(&sim, probe, &[]).await.status,
                StatusCode::OK,
                "{probe}"
            );
        }
    }

    #[tokio::test]
    async fn an_answer_is_bounded_like_stockdata_serve_bounds_it() {
        let sim = Sim::new(None, Faults::default());
        let day = "&start=2024-03-08T05:00:00Z&end=2024-03-09T05:00:00Z";
        let many = |n: usize| {
            (0..n)
                .map(|i| format!("S{i}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        // 51 sessions of 390 minutes fit in 20,000 bars, 52 do not.
        let uri = format!("/serverless/v1/bars?symbols={}&interval=1m{day}", many(51));
        let ok = get(&sim, &uri, &[]).await;
        assert_eq!(ok.status, StatusCode::OK);
        assert_eq!(
            ok.json().unwrap()["results"][50]["bars"]
                .as_array()
                .unwrap()
                .len(),
            390
        );
        for uri in [
            format!("/serverless/v1/bars?symbols={}&interval=1m{day}", many(52)),
            "/serverless/v1/bars?symbols=AAPL&interval=1m\
             &start=2000-01-01T00:00:00Z&end=2009-12-31T00:00:00Z"
                .to_owned(),
            "/serverless/v1/bars?symbols=AAPL&interval=1d\
             &start=2000-01-01T00:00:00Z&end=2024-03-08T00:00:00Z"
                .to_owned(),
        ] {
            let a = get(&sim, &uri, &[]).await;
            assert_eq!(a.status, StatusCode::BAD_REQUEST, "{uri}");
            assert_eq!(a.json().unwrap()["error"]["kind"], "invalid_request");
        }
        let decade = get(
            &sim,
            "/serverless/v1/bars?symbols=AAPL&interval=1d\
             &start=2014-03-10T00:00:00Z&end=2024-03-09T00:00:00Z",
            &[],
        )
        .await;
        assert_eq!(decade.status, StatusCode::OK);
    }

    #[tokio::test]
    async fn bad_input_is_a_400_envelope_and_unknown_paths_a_404() {
        let sim = Sim::new(None, Faults::default());
        for uri in [
            "/serverless/v1/quotes",
            "/serverless/v1/bars?symbols=A&interval=2m\
             &start=2024-03-08T05:00:00Z&end=2024-03-09T05:00:00Z",
            "/serverless/v1/bars?symbols=A&interval=1d",
            "/serverless/v1/news?symbols=A&limit=0",
            "/serverless/v1/news?symbols=A&limit=1001",
        ] {
            let a = get(&sim, uri, &[]).await;
            assert_eq!(a.status, StatusCode::BAD_REQUEST, "{uri}");
            assert_eq!(
                a.json().unwrap()["error"]["kind"],
                "invalid_request",
                "{uri}"
            );
        }
        let many = vec!["S"; 101].join(",");
        let a = get(&sim, &format!("/serverless/v1/quotes?symbols={many}"), &[]).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST);
        for uri in [
            "/serverless",
            "/serverless/v1/nope",
            "/serverless/v2/quotes?symbols=A",
        ] {
            let a = get(&sim, uri, &[]).await;
            assert_eq!(a.status, StatusCode::NOT_FOUND, "{uri}");
            assert_eq!(
                a.json().unwrap()["error"]["kind"],
                "invalid_request",
                "{uri}"
            );
        }
    }
}
