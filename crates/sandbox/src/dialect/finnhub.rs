//! Finnhub: `/api/v1/...`, the key in the `X-Finnhub-Token` header (or the `token` parameter),
//! JSON numbers, unix seconds, "no data" as a 200 (`{"s":"no_data"}`, zeros, `[]`), and errors
//! as `{"error": ...}` with 401/422/429.
//!
//! Quota: a fixed second and a fixed minute per key, both answered 429.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use axum::routing::get;
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::{Params, num, reply, reply_raw};
use crate::Shared;
use crate::market;
use crate::quota::Window;
use crate::series::{Width, bars};

/// The path prefix (`Sandbox::base_url`) and the quota key.
pub(crate) const NAME: &str = "finnhub";

pub(crate) fn router(shared: &Arc<Shared>) -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/v1/quote", get(quote))
        .route("/api/v1/stock/candle", get(candle))
        .route("/api/v1/company-news", get(company_news))
        .route_layer(from_fn_with_state(Arc::clone(shared), guard))
        .fallback(|| async { reply_raw(StatusCode::NOT_FOUND, r#"{"error":"unknown endpoint"}"#) })
}

/// The key, then the second and the minute: a refused call counts against neither window.
async fn guard(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let key = request
        .headers()
        .get("x-finnhub-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| Params::of(request.uri()).get("token").map(str::to_owned))
        .unwrap_or_default();
    if key.is_empty() {
        return reply_raw(StatusCode::UNAUTHORIZED, r#"{"error":"Invalid API key."}"#);
    }
    if let Some(q) = shared.config.quotas {
        let windows = [
            Window::per_second(q.finnhub_per_second),
            Window::per_minute(q.finnhub_per_minute),
        ];
        if shared.windows.admit(NAME, &key, &windows).is_err() {
            return reply_raw(
                StatusCode::TOO_MANY_REQUESTS,
                r#"{"error":"API limit reached. Please try again later. Remaining Limit: 0"}"#,
            );
        }
    }
    next.run(request).await
}

fn symbol(params: &Params) -> String {
    params.get("symbol").unwrap_or("").to_ascii_uppercase()
}

/// An unknown symbol is all zeros with null changes.
async fn quote(State(shared): State<Arc<Shared>>, params: Params) -> Response {
    let symbol = symbol(&params);
    if symbol.is_empty() || !market::known(&symbol) {
        return reply_raw(
            StatusCode::OK,
            r#"{"c":0,"d":null,"dp":null,"h":0,"l":0,"o":0,"pc":0,"t":0}"#,
        );
    }
    let q = market::quote(&symbol, shared.now());
    let change = q.price - q.previous_close;
    #[allow(clippy::cast_precision_loss)]
    let pct = ((change as f64 * 100.0 / q.previous_close as f64) * 10_000.0).round() / 10_000.0;
    let body = json!({
        "c": num(q.price), "d": num(change), "dp": pct, "h": num(q.day.high), "l": num(q.day.low),
        "o": num(q.day.open), "pc": num(q.previous_close), "t": q.as_of.as_second(),
    });
    reply(StatusCode::OK, &body)
}

/// Parallel arrays; `from` and `to` are unix seconds, both inclusive.
async fn candle(State(shared): State<Arc<Shared>>, params: Params) -> Response {
    let width = match params.get("resolution").unwrap_or("") {
        "1" => Width::Minutes(1),
        "5" => Width::Minutes(5),
        "15" => Width::Minutes(15),
        "30" => Width::Minutes(30),
        "60" => Width::Minutes(60),
        "D" => Width::Day,
        "W" => Width::Week,
        "M" => Width::Month,
        _ => {
            return reply_raw(
                StatusCode::UNPROCESSABLE_ENTITY,
                r#"{"error":"Wrong resolution"}"#,
            );
        }
    };
    let secs = |name: &str| {
        params
            .parse::<i64>(name)
            .and_then(|s| Timestamp::from_second(s).ok())
    };
    let (Some(from), Some(to)) = (secs("from"), secs("to")) else {
        return reply_raw(
            StatusCode::UNPROCESSABLE_ENTITY,
            r#"{"error":"from and to are required"}"#,
        );
    };
    let symbol = symbol(&params);
    let to_excl = to
        .checked_add(SignedDuration::from_secs(1))
        .unwrap_or(to)
        .min(shared.now());
    let series = if market::known(&symbol) {
        bars(&symbol, width, from, to_excl)
    } else {
        Vec::new()
    };
    if series.is_empty() {
        return reply_raw(StatusCode::OK, r#"{"s":"no_data"}"#);
    }
    let column = |f: fn(&market::SynthBar) -> Value| series.iter().map(f).collect::<Vec<_>>();
    let body = json!({
        "c": column(|b| num(b.close)),
        "h": column(|b| num(b.high)),
        "l": column(|b| num(b.low)),
        "o": column(|b| num(b.open)),
        "s": "ok",
        "t": column(|b| json!(b.start.as_second())),
        "v": column(|b| json!(b.volume)),
    });
    reply(StatusCode::OK, &body)
}

/// `from` and `to` are dates (UTC), both inclusive; at most 250 articles.
async fn company_news(State(shared): State<Arc<Shared>>, params: Params) -> Response {
    let now = shared.now();
    let (Some(from), Some(to)) = (params.parse::<Date>("from"), params.parse::<Date>("to")) else {
        return reply_raw(
            StatusCode::UNPROCESSABLE_ENTITY,
            r#"{"error":"from and to are required (YYYY-MM-DD)"}"#,
        );
    };
    let utc = |d: Date| {
        jiff::tz::TimeZone::UTC
            .to_ambiguous_timestamp(d.to_datetime(jiff::civil::Time::midnight()))
            .compatible()
            .unwrap_or(now)
    };
    let symbol = symbol(&params);
    let end = utc(to.tomorrow().unwrap_or(to)).min(now);
    let items: Vec<Value> = if market::known(&symbol) {
        market::news(&symbol, utc(from), end, 250)
            .into_iter()
            .map(|a| {
                json!({
                    "category": "company news", "datetime": a.published_at.as_second(),
                    "headline": a.headline,
                    "id": a.id, "image": "", "related": a.symbol, "source": "stockdata sandbox",
                    "summary": a.summary, "url": a.url,
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    reply(StatusCode::OK, &Value::Array(items))
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use crate::testing::{Sim, get};
    use crate::{Faults, Quotas};

    const TOKEN: [(&str, &str); 1] = [("x-finnhub-token", "k")];

    #[tokio::test]
    async fn every_endpoint_the_adapter_calls_answers() {
        let sim = Sim::new(None, Faults::default());
        let quote = get(&sim, "/finnhub/api/v1/quote?symbol=AAPL", &TOKEN).await;
        assert_eq!(quote.status, StatusCode::OK);
        assert_eq!(quote.json().unwrap()["c"], 72.47);
        let candle = get(
            &sim,
            "/finnhub/api/v1/stock/candle?symbol=MSFT&resolution=D&from=1706763600&to=1709931599",
            &TOKEN,
        )
        .await;
        assert_eq!(candle.json().unwrap()["s"], "ok", "{}", candle.text());
        // 27 weekdays from 2024-02-01 to 2024-03-08, less Presidents' Day (2024-02-19).
        assert_eq!(candle.json().unwrap()["t"].as_array().unwrap().len(), 26);
        let news = get(
            &sim,
            "/finnhub/api/v1/company-news?symbol=NVDA&from=2024-03-07&to=2024-03-08",
            &TOKEN,
        )
        .await;
        assert_eq!(news.json().unwrap().as_array().unwrap().len(), 4);
        let by_param = get(&sim, "/finnhub/api/v1/quote?symbol=AAPL&token=k", &[]).await;
        assert_eq!(
            by_param.status,
            StatusCode::OK,
            "the token parameter works too"
        );
    }

    #[tokio::test]
    async fn no_data_is_a_200() {
        let sim = Sim::new(None, Faults::default());
        let quote = get(&sim, "/finnhub/api/v1/quote?symbol=ZZZZ", &TOKEN).await;
        assert_eq!(quote.json().unwrap()["c"], 0);
        let candle = get(
            &sim,
            "/finnhub/api/v1/stock/candle?symbol=ZZZZ&resolution=D&from=1706763600&to=1709931599",
            &TOKEN,
        )
        .await;
        assert_eq!(candle.text(), r#"{"s":"no_data"}"#);
        let bad = get(
            &sim,
            "/finnhub/api/v1/stock/candle?symbol=A&resolution=2",
            &TOKEN,
        )
        .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    }

    #[tokio::test]
    async fn a_key_is_required() {
        let sim = Sim::new(None, Faults::default());
        let a = get(&sim, "/finnhub/api/v1/quote?symbol=AAPL", &[]).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        assert_eq!(a.json().unwrap()["error"], "Invalid API key.");
    }

    #[tokio::test]
    async fn unknown_paths_are_404_and_cost_no_quota() {
        let sim = Sim::new(
            Some(Quotas {
                finnhub_per_minute: 1,
                ..Quotas::FREE
            }),
            Faults::default(),
        );
        for path in [
            "/finnhub",
            "/finnhub/quote",
            "/finnhub/api/v1/stock/profile3",
            "/finnhub/api/v2/quote",
        ] {
            let a = get(&sim, path, &TOKEN).await;
            assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}");
        }
        let uri = "/finnhub/api/v1/quote?symbol=AAPL";
        assert_eq!(get(&sim, uri, &TOKEN).await.status, StatusCode::OK);
        let refused = get(&sim, uri, &TOKEN).await;
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(refused.text().contains("API limit reached"));
    }
}
