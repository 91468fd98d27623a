//! Alpaca Market Data v2: `/v2/stocks/...` and `/v1beta1/news`, the keys in the
//! `APCA-API-KEY-ID` / `APCA-API-SECRET-KEY` headers, RFC 3339 times, multi-symbol maps,
//! `next_page_token` pagination (the limit counts across symbols, symbol first), errors as
//! `{"code", "message"}` and a plain-text 429.
//!
//! Quota: a fixed minute per key. Every admitted answer carries `X-RateLimit-Limit`,
//! `-Remaining` and `-Reset` (unix seconds), as Alpaca's do; the 429 too.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use axum::routing::get;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use stockdata_domain::calendar::previous_trading_day;

use super::{Params, num, reply, reply_raw, reply_text};
use crate::Shared;
use crate::market::{self, SynthBar};
use crate::quota::Window;
use crate::series::{Width, bars};

/// The path prefix (`Sandbox::base_url`) and the quota key.
pub(crate) const NAME: &str = "alpaca";

pub(crate) fn router(shared: &Arc<Shared>) -> Router<Arc<Shared>> {
    Router::new()
        .route("/v2/stocks/snapshots", get(snapshots))
        .route("/v2/stocks/bars", get(bars_page))
        .route("/v1beta1/news", get(news_page))
        .route_layer(from_fn_with_state(Arc::clone(shared), guard))
        .fallback(|| async {
            reply_raw(StatusCode::NOT_FOUND, r#"{"message":"endpoint not found"}"#)
        })
}

/// Both keys, then the minute, then the feed entitlement (the free plan has no recent SIP).
async fn guard(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let (Some(key), Some(_secret)) = (
        non_empty(headers, "apca-api-key-id"),
        non_empty(headers, "apca-api-secret-key"),
    ) else {
        return reply_raw(
            StatusCode::UNAUTHORIZED,
            concat!(
                r#"{"code":40110000,"message":"access key verification failed : "#,
                r#"access key not found (Code = 40110000)"}"#,
            ),
        );
    };
    let Some(q) = shared.config.quotas else {
        return entitled(request, next).await;
    };
    let window = Window::per_minute(q.alpaca_per_minute);
    if let Err(refused) = shared.windows.admit(NAME, &key, &[window]) {
        let mut response = reply_text(StatusCode::TOO_MANY_REQUESTS, "too many requests");
        rate_limit_headers(response.headers_mut(), window.limit, 0, refused.resets_in);
        return response;
    }
    let mut response = entitled(request, next).await;
    let standing = shared.windows.standing(NAME, &key, window);
    rate_limit_headers(
        response.headers_mut(),
        window.limit,
        standing.remaining,
        standing.resets_in,
    );
    response
}

fn non_empty(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

async fn entitled(request: Request, next: Next) -> Response {
    if Params::of(request.uri()).get("feed") == Some("sip") {
        return reply_raw(
            StatusCode::FORBIDDEN,
            concat!(
                r#"{"code":42210000,"#,
                r#""message":"subscription does not permit querying recent SIP data"}"#,
            ),
        );
    }
    next.run(request).await
}

/// The windows run on the machine's clock, so `Reset` is wall-clock unix seconds (rounded up).
fn rate_limit_headers(headers: &mut HeaderMap, limit: u32, remaining: u32, resets_in: Duration) {
    let reset = Timestamp::now().as_second() + i64::try_from(resets_in.as_secs()).unwrap_or(60) + 1;
    for (name, value) in [
        ("x-ratelimit-limit", limit.to_string()),
        ("x-ratelimit-remaining", remaining.to_string()),
        ("x-ratelimit-reset", reset.to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    }
}

fn bar_json(b: &SynthBar) -> Value {
    json!({
        "t": b.start.to_string(), "o": num(b.open), "h": num(b.high), "l": num(b.low),
        "c": num(b.close), "v": b.volume, "n": b.trades, "vw": num(b.vwap()),
    })
}

/// `sbx<offset>` (opaque to clients, like Alpaca's base64 tokens).
fn page_offset(params: &Params) -> usize {
    params
        .get("page_token")
        .and_then(|t| t.strip_prefix("sbx"))
        .and_then(|o| o.parse().ok())
        .unwrap_or(0)
}

fn next_token(offset: usize, page: usize, total: usize) -> Option<String> {
    (offset + page < total).then(|| format!("sbx{}", offset + page))
}

/// A top-level map; an unknown symbol maps to `null`.
async fn snapshots(State(shared): State<Arc<Shared>>, params: Params) -> Response {
    let now = shared.now();
    let mut map = serde_json::Map::new();
    for s in params.list("symbols") {
        if !market::known(&s) {
            map.insert(s, Value::Null);
            continue;
        }
        let q = market::quote(&s, now);
        let prev = market::daily(&s, previous_trading_day(q.date).unwrap_or(q.date));
        let ts = q.as_of.to_string();
        let snapshot = json!({
            "latestTrade": {
                "t": ts, "x": "V", "p": num(q.price), "s": 100, "c": ["@"], "i": 1, "z": "C",
            },
            "latestQuote": {
                "t": ts, "ax": "V", "ap": num(q.ask), "as": 2, "bx": "V", "bp": num(q.bid), "bs": 3,
                "c": ["R"], "z": "C",
            },
            "minuteBar": bar_json(&q.day),
            "dailyBar": bar_json(&q.day),
            "prevDailyBar": bar_json(&prev),
        });
        map.insert(s, snapshot);
    }
    reply(StatusCode::OK, &Value::Object(map))
}

/// Sorted by symbol, then time; `limit` (1-10000, default 1000) counts across symbols; `start`
/// is required here, `end` defaults to now; both inclusive.
async fn bars_page(State(shared): State<Arc<Shared>>, params: Params) -> Response {
    let now = shared.now();
    let width = match params.get("timeframe").unwrap_or("") {
        "1Min" | "1T" => Width::Minutes(1),
        "5Min" => Width::Minutes(5),
        "15Min" => Width::Minutes(15),
        "30Min" => Width::Minutes(30),
        "1Hour" | "1H" => Width::Minutes(60),
        "1Day" | "1D" => Width::Day,
        "1Week" | "1W" => Width::Week,
        "1Month" | "1M" => Width::Month,
        _ => {
            return reply_raw(
                StatusCode::UNPROCESSABLE_ENTITY,
                r#"{"code":42210000,"message":"invalid timeframe"}"#,
            );
        }
    };
    let Some(start) = params.instant("start") else {
        return reply_raw(
            StatusCode::UNPROCESSABLE_ENTITY,
            r#"{"code":42210000,"message":"invalid start"}"#,
        );
    };
    let end = params.instant("end").unwrap_or(now).min(now);
    let end_incl = end
        .checked_add(SignedDuration::from_nanos(1))
        .unwrap_or(end);
    let limit = params.parse("limit").unwrap_or(1000usize).clamp(1, 10_000);
    let offset = page_offset(&params);
    let mut symbols = params.list("symbols");
    symbols.sort();
    symbols.dedup();
    let all: Vec<(String, SynthBar)> = symbols
        .iter()
        .filter(|s| market::known(s))
        .flat_map(|s| {
            bars(s, width, start, end_incl)
                .into_iter()
                .map(move |b| (s.clone(), b))
        })
        .collect();
    let page: Vec<&(String, SynthBar)> = all.iter().skip(offset).take(limit).collect();
    let mut map = serde_json::Map::new();
    for (s, b) in &page {
        if let Value::Array(list) = map
            .entry(s.clone())
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            list.push(bar_json(b));
        }
    }
    let next = next_token(offset, page.len(), all.len());
    reply(
        StatusCode::OK,
        &json!({"bars": map, "next_page_token": next}),
    )
}

/// Newest first; `limit` 1-50 (default 10); `start` defaults to a day back, `end` to now.
async fn news_page(State(shared): State<Arc<Shared>>, params: Params) -> Response {
    let now = shared.now();
    let start = params.instant("start").unwrap_or_else(|| {
        now.checked_sub(SignedDuration::from_hours(24))
            .unwrap_or(now)
    });
    let end = params.instant("end").unwrap_or(now).min(now);
    let limit = params.parse("limit").unwrap_or(10usize).clamp(1, 50);
    let offset = page_offset(&params);
    let mut all: Vec<market::SynthArticle> = params
        .list("symbols")
        .iter()
        .filter(|s| market::known(s))
        .flat_map(|s| market::news(s, start, end, 1000))
        .collect();
    all.sort_by(|a, b| b.published_at.cmp(&a.published_at).then(a.id.cmp(&b.id)));
    let page: Vec<Value> = all
        .iter()
        .skip(offset)
        .take(limit)
        .map(|a| {
            json!({
                "id": a.id, "headline": a.headline, "author": "Sandbox Desk",
                "created_at": a.published_at.to_string(), "updated_at": a.published_at.to_string(),
                "summary": a.summary, "content": "", "url": a.url, "images": [],
                "symbols": [a.symbol], "source": "stockdata sandbox",
            })
        })
        .collect();
    let next = next_token(offset, page.len(), all.len());
    reply(
        StatusCode::OK,
        &json!({"news": page, "next_page_token": next}),
    )
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use crate::testing::{Sim, get};
    use crate::{Faults, Quotas};

    const KEYS: [(&str, &str); 2] = [("apca-api-key-id", "k"), ("apca-api-secret-key", "s")];

    #[tokio::test]
    async fn every_endpoint_the_adapter_calls_answers() {
        let sim = Sim::new(None, Faults::default());
        let snap = get(
            &sim,
            "/alpaca/v2/stocks/snapshots?symbols=AAPL,ZZZZ&feed=iex",
            &KEYS,
        )
        .await;
        assert_eq!(snap.status, StatusCode::OK);
        let snap = snap.json().unwrap();
        assert_eq!(snap["AAPL"]["latestTrade"]["p"], 72.47);
        assert!(snap["ZZZZ"].is_null());
        let bars = get(
            &sim,
            "/alpaca/v2/stocks/bars?symbols=MSFT&timeframe=1Day\
             &start=2024-02-01T05:00:00Z&end=2024-03-09T04:59:59Z\
             &limit=10&adjustment=raw&feed=iex&sort=asc",
            &KEYS,
        )
        .await;
        let page = bars.json().unwrap();
        assert_eq!(page["bars"]["MSFT"].as_array().unwrap().len(), 10);
        assert_eq!(page["next_page_token"], "sbx10");
        let last = get(
            &sim,
            "/alpaca/v2/stocks/bars?symbols=MSFT&timeframe=1Day\
             &start=2024-02-01T05:00:00Z&end=2024-03-09T04:59:59Z&limit=10&page_token=sbx20",
            &KEYS,
        )
        .await;
        let last = last.json().unwrap();
        // 26 sessions from 2024-02-01 to 2024-03-08: 27 weekdays less Presidents' Day (02-19).
        assert_eq!(last["bars"]["MSFT"].as_array().unwrap().len(), 6);
        assert!(last["next_page_token"].is_null());
        let news = get(
            &sim,
            "/alpaca/v1beta1/news?symbols=NVDA\
             &start=2024-03-07T00:00:00Z&end=2024-03-08T21:30:00Z&limit=50&sort=desc",
            &KEYS,
        )
        .await;
        assert_eq!(news.json().unwrap()["news"].as_array().unwrap().len(), 4);
    }

    #[tokio::test]
    async fn refusals_in_alpacas_words() {
        let sim = Sim::new(None, Faults::default());
        let uri = "/alpaca/v2/stocks/snapshots?symbols=AAPL";
        let no_secret = get(&sim, uri, &KEYS[..1]).await;
        assert_eq!(no_secret.status, StatusCode::UNAUTHORIZED);
        assert_eq!(no_secret.json().unwrap()["code"], 40_110_000);
        let sip = get(&sim, &format!("{uri}&feed=sip"), &KEYS).await;
        assert_eq!(sip.status, StatusCode::FORBIDDEN);
        let bad = get(
            &sim,
            "/alpaca/v2/stocks/bars?symbols=A&timeframe=2Day",
            &KEYS,
        )
        .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(bad.json().unwrap()["message"], "invalid timeframe");
    }

    #[tokio::test]
    async fn the_minute_quota_answers_429_in_plain_text_with_rate_limit_headers() {
        let sim = Sim::new(
            Some(Quotas {
                alpaca_per_minute: 2,
                ..Quotas::FREE
            }),
            Faults::default(),
        );
        let uri = "/alpaca/v2/stocks/snapshots?symbols=AAPL";
        let first = get(&sim, uri, &KEYS).await;
        assert_eq!(first.status, StatusCode::OK);
        assert_eq!(first.header("x-ratelimit-limit"), Some("2"));
        assert_eq!(first.header("x-ratelimit-remaining"), Some("1"));
        assert_eq!(
            get(&sim, uri, &KEYS).await.header("x-ratelimit-remaining"),
            Some("0")
        );
        let refused = get(&sim, uri, &KEYS).await;
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.text(), "too many requests");
        let reset: i64 = refused
            .header("x-ratelimit-reset")
            .unwrap()
            .parse()
            .unwrap();
        let wall = jiff::Timestamp::now().as_second();
        assert!((wall..=wall + 61).contains(&reset), "{reset} vs {wall}");
    }

    #[tokio::test]
    async fn unknown_paths_are_404_and_cost_no_quota() {
        let sim = Sim::new(
            Some(Quotas {
                alpaca_per_minute: 1,
                ..Quotas::FREE
            }),
            Faults::default(),
        );
        for path in [
            "/alpaca",
            "/alpaca/v2/stocks",
            "/alpaca/v2/stocks/quotes/latest?symbols=AAPL",
            "/alpaca/v1/news",
        ] {
            let a = get(&sim, path, &KEYS).await;
            assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}");
            assert_eq!(a.header("x-ratelimit-remaining"), None, "{path}");
        }
        let uri = "/alpaca/v2/stocks/snapshots?symbols=AAPL";
        assert_eq!(get(&sim, uri, &KEYS).await.status, StatusCode::OK);
        assert_eq!(
            get(&sim, uri, &KEYS).await.status,
            StatusCode::TOO_MANY_REQUESTS
        );
    }
}
