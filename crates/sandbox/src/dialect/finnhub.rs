//! Finnhub: `/api/v1/...`, the key in the `X-Finnhub-Token` header (or the `token` parameter),
//! JSON numbers, unix seconds, "no data" as a 200 (`{"s":"no_data"}`, zeros, `[]`), and errors
//! as `{"error": ...}` with 401/422/429.
//!
//! Intraday candles come at most 31 days at a time, the newest of the range (ending at `to`):
//! Finnhub's maintainer: "For intraday resolution, a maximum of 1 month of data is returned for
//! each API call. You can simply use the first timestamp of the returned result in the "to"
//! params in the next request" (finnhubio/Finnhub-API#445). Daily and longer candles have no
//! such cap. finnhub-python asks for `{API_URL}//quote` (its paths start with `/`): repeated
//! slashes are collapsed before routing (`crate::normalize_path`), as Finnhub serves them.
//!
//! Quota: a fixed second and a fixed minute per key, both answered 429; a 404 costs nothing.

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

use super::json::Obj;
use super::{Params, num, reply, reply_raw, reply_text_json};
use crate::Shared;
use crate::generator::draw;
use crate::market::{self, Order};
use crate::quota::Window;
use crate::series::{Series, Width};

/// The path prefix (`Sandbox::base_url`) and the quota key.
pub(crate) const NAME: &str = "finnhub";

/// The most days of intraday candles one call serves.
const INTRADAY_DAYS: i64 = 31;

pub(crate) fn router(shared: &Arc<Shared>) -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/v1/quote", get(quote))
        .route("/api/v1/stock/candle", get(candle))
        .route("/api/v1/company-news", get(company_news))
        .route("/api/v1/stock/profile2", get(profile2))
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
        let response = next.run(request).await;
        if response.status() == StatusCode::NOT_FOUND {
            shared.windows.refund(NAME, &key, &windows);
        }
        return response;
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

/// Parallel arrays; `from` and `to` are unix seconds, both inclusive. Intraday resolutions
/// serve the last [`INTRADAY_DAYS`] of the range.
async fn candle(State(shared): State<Arc<Shared>>, params: Params) -> Response {
    let width = match params.get("resolution").unwrap_or("") {
        "1" => Width::Minutes(1),
        "5" => Width::Minutes(5),
        "15" => Width::Minutes(15),
        "30" => Width::Minutes(30),
        "60" => Width::Minutes(60),
        "D" => Width::Day,
        "W" => Width::Week,
        "M" => Width::Months(1),
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
    let now = shared.now();
    // The month is counted back from `to`, or from now when `to` is later (nothing after now
    // exists).
    let to_excl = to
        .checked_add(SignedDuration::from_secs(1))
        .unwrap_or(to)
        .min(now);
    let from = match width {
        Width::Minutes(_) => from.max(
            to_excl
                .checked_sub(SignedDuration::from_hours(24 * INTRADAY_DAYS))
                .unwrap_or(from),
        ),
        _ => from,
    };
    let series = if market::known(&symbol) {
        Series::new(&symbol, width, now).all(from, to_excl)
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

/// A company profile in the sample's key order; an unknown symbol is `{}`. Market cap and
/// shares are in millions, from the last close.
async fn profile2(State(shared): State<Arc<Shared>>, params: Params) -> Response {
    let symbol = symbol(&params);
    if symbol.is_empty() || !market::known(&symbol) {
        return reply_raw(StatusCode::OK, "{}");
    }
    let shares = draw(&[symbol.as_bytes(), b"shares"]) % 9_000 + 100;
    let price = market::quote(&symbol, shared.now()).price;
    let cap = price.unsigned_abs().saturating_mul(shares) / 100;
    let body = Obj::new()
        .str("country", "US")
        .str("currency", "USD")
        .str("exchange", "SANDBOX EXCHANGE (SYNTHETIC)")
        .str("ipo", "2000-01-03")
        .uint("marketCapitalization", cap)
        .str("name", &format!("[SANDBOX] {symbol} Synthetic Inc"))
        .str("phone", "")
        .uint("shareOutstanding", shares)
        .str("ticker", &symbol)
        .str(
            "weburl",
            &format!(
                "https://{}.sandbox.stockdata.invalid/",
                symbol.to_ascii_lowercase()
            ),
        )
        .str("logo", "")
        .str("finnhubIndustry", "Synthetic")
        .finish();
    reply_text_json(StatusCode::OK, body)
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
        market::news(&symbol, utc(from), end, Order::Desc, 250)
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

    use crate::testing::{Sim, get, keys};
    use crate::{Faults, Quotas};

    const TOKEN: [(&str, &str); 1] = [("x-finnhub-token", "k")];

    /// finnhub-python joins `API_URL` and a path starting with `/`: `/api/v1//quote`.
    #[tokio::test]
    async fn the_python_clients_double_slashes_are_served() {
        let sim = Sim::new(
            Some(Quotas {
                finnhub_per_minute: 5,
                ..Quotas::FREE
            }),
            Faults::default(),
        );
        for uri in [
            "/finnhub/api/v1//quote?symbol=AAPL&token=k",
            "/finnhub/api/v1//stock/candle?symbol=AAPL&resolution=D\
             &from=1709269200&to=1709931599&token=k",
            "/finnhub/api/v1//company-news?symbol=AAPL&from=2024-03-07&to=2024-03-08&token=k",
            "/finnhub/api/v1//stock/profile2?symbol=AAPL&token=k",
            "//finnhub//api//v1///quote?symbol=AAPL&token=k",
        ] {
            let a = get(&sim, uri, &[]).await;
            assert_eq!(a.status, StatusCode::OK, "{uri}: {}", a.text());
        }
        // Five served, then the minute is spent; an unknown path is a 404 that costs nothing.
        let unknown = get(&sim, "/finnhub/api/v1//stock/nothing?token=other", &[]).await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        let refused = get(&sim, "/finnhub/api/v1//quote?symbol=AAPL&token=k", &[]).await;
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        let standing =
            sim.shared
                .windows
                .standing(super::NAME, "other", crate::quota::Window::per_minute(5));
        assert_eq!(standing.remaining, 5);
    }

    #[tokio::test]
    async fn intraday_candles_come_a_month_at_a_time_from_to() {
        let sim = Sim::new(None, Faults::default());
        // 2024-01-01 to 2024-03-08 21:00Z in one call: the last 31 days only.
        let a = get(
            &sim,
            "/finnhub/api/v1/stock/candle?symbol=MSFT&resolution=1&from=1704085200&to=1709931599",
            &TOKEN,
        )
        .await;
        let body = a.json().unwrap();
        let t = body["t"].as_array().unwrap();
        let first = t[0].as_i64().unwrap();
        let last = t.last().unwrap().as_i64().unwrap();
        assert_eq!(last, 1_709_931_540, "2024-03-08T20:59:00Z");
        assert!(first >= 1_709_931_600 - 31 * 86_400, "{first}");
        assert_eq!(
            first, 1_707_316_200,
            "2024-02-07T14:30:00Z, the first session in reach"
        );
        // 22 sessions (Presidents' Day closed) of 390 minutes.
        assert_eq!(t.len(), 22 * 390);
        // Paging the maintainer's way: the next call ends before the first candle.
        let next = get(
            &sim,
            &format!(
                "/finnhub/api/v1/stock/candle?symbol=MSFT&resolution=1&from=1704085200&to={}",
                first - 1
            ),
            &TOKEN,
        )
        .await;
        let next = next.json().unwrap();
        let before = next["t"].as_array().unwrap();
        assert!(before.last().unwrap().as_i64().unwrap() < first);
        // A `to` after now counts from now.
        let future = get(
            &sim,
            "/finnhub/api/v1/stock/candle?symbol=MSFT&resolution=60&from=1704085200&to=1893456000",
            &TOKEN,
        )
        .await;
        assert_eq!(
            future.json().unwrap()["t"].as_array().unwrap().len(),
            22 * 7
        );
        // Daily candles are not capped.
        let daily = get(
            &sim,
            "/finnhub/api/v1/stock/candle?symbol=MSFT&resolution=D&from=946684800&to=1709931599",
            &TOKEN,
        )
        .await;
        assert!(daily.json().unwrap()["t"].as_array().unwrap().len() > 6000);
    }

    #[tokio::test]
    async fn profiles_have_the_samples_keys() {
        let sim = Sim::new(None, Faults::default());
        let a = get(&sim, "/finnhub/api/v1/stock/profile2?symbol=AAPL", &TOKEN).await;
        assert_eq!(
            keys(&a.text(), ""),
            [
                "country",
                "currency",
                "exchange",
                "ipo",
                "marketCapitalization",
                "name",
                "phone",
                "shareOutstanding",
                "ticker",
                "weburl",
                "logo",
                "finnhubIndustry"
            ]
        );
        let p = a.json().unwrap();
        assert!(p["name"].as_str().unwrap().starts_with("[SANDBOX]"));
        assert!(p["weburl"].as_str().unwrap().contains(".invalid/"));
        let unknown = get(&sim, "/finnhub/api/v1/stock/profile2?symbol=ZZZZ", &TOKEN).await;
        assert_eq!(unknown.text(), "{}");
    }

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
