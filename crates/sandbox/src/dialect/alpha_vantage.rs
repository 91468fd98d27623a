//! Alpha Vantage: one `GET /query` path, the function named by `function`, the key in the
//! `apikey` parameter, every price a string with four decimals, and every error, throttle and
//! quota an HTTP 200 with a one-key body (`Error Message`, `Information`).
//!
//! Series are written newest first, in the samples' key order (`Meta Data`, then the series;
//! `1. open` to `5. volume`). Intraday honours `extended_hours` (default `true`: 04:00 to 20:00
//! New York), `month` and `outputsize`; nothing after now is served, and today's daily row is
//! the session so far while it trades.
//!
//! Quota: a fixed day and a fixed second per key, both answered with `Information`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use axum::routing::get;
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp, ToSpan as _};
use serde_json::{Value, json};
use stockdata_domain::time::{daily_bar_start, new_york, new_york_date};

use super::json::Obj;
use super::{Params, reply, reply_raw, reply_text_json};
use crate::Shared;
use crate::market::{self, Hours, Order, cents};
use crate::quota::Window;
use crate::series::{Series, Width};

/// The path prefix (`Sandbox::base_url`) and the quota key.
pub(crate) const NAME: &str = "alpha_vantage";

/// `outputsize=compact`: the latest 100 data points.
const COMPACT: usize = 100;

const DAILY_LIMIT: &str = "Thank you for using Alpha Vantage! Our standard API rate limit is \
    25 requests per day. Please subscribe to any of the premium plans at \
    https://www.alphavantage.co/premium/ to instantly remove all daily rate limits.";
const BURST: &str = "Thank you for using Alpha Vantage! Please consider spreading out your free \
    API requests more sparingly (1 request per second). You may subscribe to any of the premium \
    plans at https://www.alphavantage.co/premium/ to lift the free key rate limit (25 requests \
    per day) and instantly unlock all premium endpoints";
const PREMIUM: &str = "Thank you for using Alpha Vantage! This is a premium endpoint. You may \
    subscribe to any of the premium plans at https://www.alphavantage.co/premium/ to instantly \
    unlock all premium endpoints";
const INVALID_KEY: &str = "the parameter apikey is invalid or missing. Please claim your free \
    API key on (https://www.alphavantage.co/support/#api-key). It should take less than 20 \
    seconds.";

pub(crate) fn router(shared: &Arc<Shared>) -> Router<Arc<Shared>> {
    Router::new()
        .route("/query", get(query))
        .route_layer(from_fn_with_state(Arc::clone(shared), guard))
        .fallback(|| async { reply_raw(StatusCode::NOT_FOUND, "{}") })
}

/// The key, then the day, then the second: a refused call counts against neither window.
async fn guard(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let params = Params::of(request.uri());
    let key = params.get("apikey").unwrap_or("");
    if key.is_empty() {
        return error(INVALID_KEY);
    }
    if let Some(q) = shared.config.quotas {
        let windows = [
            Window::per_day(q.alpha_vantage_per_day),
            Window::per_second(q.alpha_vantage_per_second),
        ];
        if let Err(refused) = shared.windows.admit(NAME, key, &windows) {
            return information(if refused.window == 0 {
                DAILY_LIMIT
            } else {
                BURST
            });
        }
    }
    next.run(request).await
}

fn error(message: &str) -> Response {
    reply(StatusCode::OK, &json!({ "Error Message": message }))
}

fn information(message: &str) -> Response {
    reply(StatusCode::OK, &json!({ "Information": message }))
}

fn invalid_call(function: &str) -> Response {
    error(&format!(
        "Invalid API call. Please retry or visit the documentation \
         (https://www.alphavantage.co/documentation/) for {function}."
    ))
}

/// Cents as Alpha Vantage writes prices: `7247` → `"72.4700"`.
fn av4(c: i64) -> String {
    format!("{}00", cents(c))
}

async fn query(State(shared): State<Arc<Shared>>, params: Params) -> Response {
    let now = shared.now();
    let function = params.get("function").unwrap_or("");
    let symbol = params.get("symbol").unwrap_or("").to_ascii_uppercase();
    match function {
        "GLOBAL_QUOTE" => global_quote(&symbol, now),
        "TIME_SERIES_DAILY_ADJUSTED" => information(PREMIUM),
        "TIME_SERIES_DAILY" => daily(&params, &symbol, now),
        "TIME_SERIES_INTRADAY" => intraday(&params, &symbol, now),
        "NEWS_SENTIMENT" => news_sentiment(&params, now),
        _ => invalid_call(function),
    }
}

/// An unknown symbol is an empty `Global Quote`, not an error.
fn global_quote(symbol: &str, now: Timestamp) -> Response {
    if symbol.is_empty() || !market::known(symbol) {
        return reply_raw(StatusCode::OK, r#"{"Global Quote": {}}"#);
    }
    let q = market::quote(symbol, now);
    let change = q.price - q.previous_close;
    #[allow(clippy::cast_precision_loss)]
    let pct = change as f64 * 100.0 / q.previous_close as f64;
    let body = json!({"Global Quote": {
        "01. symbol": symbol,
        "02. open": av4(q.day.open),
        "03. high": av4(q.day.high),
        "04. low": av4(q.day.low),
        "05. price": av4(q.price),
        "06. volume": q.day.volume.to_string(),
        "07. latest trading day": q.date.to_string(),
        "08. previous close": av4(q.previous_close),
        "09. change": av4(change),
        "10. change percent": format!("{pct:.4}%"),
    }});
    reply(StatusCode::OK, &body)
}

/// A series row, in the provider's key order.
fn row(b: &market::SynthBar) -> String {
    Obj::new()
        .str("1. open", &av4(b.open))
        .str("2. high", &av4(b.high))
        .str("3. low", &av4(b.low))
        .str("4. close", &av4(b.close))
        .str("5. volume", &b.volume.to_string())
        .finish()
}

fn output_size(full: bool) -> &'static str {
    if full { "Full size" } else { "Compact" }
}

/// `rows` (newest first) under `series_key`, after `meta`: written as text, since the order of
/// the rows is the wire's (newest first, as every recorded sample has them) and a
/// `serde_json::Map` would sort them oldest first.
fn series_body(
    meta: Obj,
    series_key: &str,
    rows: impl Iterator<Item = (String, String)>,
) -> String {
    let series = rows.fold(Obj::new(), |obj, (key, row)| obj.raw(&key, &row));
    Obj::new()
        .raw("Meta Data", &meta.finish())
        .raw(series_key, &series.finish())
        .finish()
}

/// Compact is the latest 100 trading days, full everything since 2000; newest first, today's
/// session so far included while it trades.
fn daily(params: &Params, symbol: &str, now: Timestamp) -> Response {
    if !market::known(symbol) {
        return invalid_call("TIME_SERIES_DAILY");
    }
    let full = params.get("outputsize") == Some("full");
    let limit = if full { usize::MAX } else { COMPACT };
    let series = Series::new(symbol, Width::Day, now);
    let bars = series.page(Timestamp::MIN, now, Order::Desc, limit);
    let day = |b: &market::SynthBar| new_york_date(b.start).to_string();
    let meta = Obj::new()
        .str(
            "1. Information",
            "Daily Prices (open, high, low, close) and Volumes",
        )
        .str("2. Symbol", symbol)
        .str(
            "3. Last Refreshed",
            &bars.first().map(day).unwrap_or_default(),
        )
        .str("4. Output Size", output_size(full))
        .str("5. Time Zone", "US/Eastern");
    let rows = bars.iter().map(|b| (day(b), row(b)));
    reply_text_json(
        StatusCode::OK,
        series_body(meta, "Time Series (Daily)", rows),
    )
}

/// Keys are naive US/Eastern bar starts, newest first; `month` selects a calendar month, else
/// the trailing 30 days; compact keeps the latest 100 bars; `extended_hours` (default true)
/// adds the pre- and post-market (04:00 to 20:00 New York, bars on the hour from 04:00),
/// `false` keeps 09:30 to 16:00 (bars from 09:30).
fn intraday(params: &Params, symbol: &str, now: Timestamp) -> Response {
    let invalid = || invalid_call("TIME_SERIES_INTRADAY");
    if !market::known(symbol) {
        return invalid();
    }
    let interval = params.get("interval").unwrap_or("");
    let width = match interval {
        "1min" => 1,
        "5min" => 5,
        "15min" => 15,
        "30min" => 30,
        "60min" => 60,
        _ => return invalid(),
    };
    let hours = match params.get("extended_hours") {
        None | Some("true") => Hours::Extended,
        Some("false") => Hours::Regular,
        Some(_) => return invalid(),
    };
    let (from, to) = match params.get("month") {
        Some(month) => {
            let Ok(first) = format!("{month}-01").parse::<Date>() else {
                return invalid();
            };
            let next = first.checked_add(1.month()).unwrap_or(first);
            (daily_bar_start(first), daily_bar_start(next))
        }
        None => (
            now.checked_sub(SignedDuration::from_hours(30 * 24))
                .unwrap_or(now),
            now,
        ),
    };
    let full = params.get("outputsize") == Some("full");
    let limit = if full { usize::MAX } else { COMPACT };
    let bars = Series::new(symbol, Width::Minutes(width), now)
        .hours(hours)
        .page(from, to, Order::Desc, limit);
    let tz = new_york();
    let wall = |b: &market::SynthBar| {
        tz.to_datetime(b.start)
            .strftime("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    let meta = Obj::new()
        .str(
            "1. Information",
            &format!("Intraday ({interval}) open, high, low, close prices and volume"),
        )
        .str("2. Symbol", symbol)
        .str(
            "3. Last Refreshed",
            &bars.first().map(wall).unwrap_or_default(),
        )
        .str("4. Interval", interval)
        .str("5. Output Size", output_size(full))
        .str("6. Time Zone", "US/Eastern");
    let rows = bars.iter().map(|b| (wall(b), row(b)));
    let key = format!("Time Series ({interval})");
    reply_text_json(StatusCode::OK, series_body(meta, &key, rows))
}

/// Tickers are ANDed and each synthetic article is about one symbol, so only a single known
/// ticker has news. Times are `YYYYMMDDTHHMM` UTC; `time_to` includes its minute.
fn news_sentiment(params: &Params, now: Timestamp) -> Response {
    let tickers = params.list("tickers");
    let time = |name: &str| params.get(name).and_then(parse_time);
    let from = time("time_from").unwrap_or_else(|| {
        now.checked_sub(SignedDuration::from_hours(72))
            .unwrap_or(now)
    });
    let to = time("time_to").map_or(now, |t| {
        t.checked_add(SignedDuration::from_mins(1)).unwrap_or(t)
    });
    let limit = params.parse("limit").unwrap_or(50usize).min(1000);
    let order = if params.get("sort") == Some("EARLIEST") {
        Order::Asc
    } else {
        Order::Desc
    };
    let articles = match tickers.as_slice() {
        [one] if market::known(one) => market::news(one, from, to.min(now), order, limit),
        _ => Vec::new(),
    };
    let feed: Vec<Value> = articles
        .iter()
        .map(|a| {
            let (overall, relevance, score) = synthetic_sentiment(a.id);
            json!({
                "title": a.headline,
                "url": a.url,
                "time_published": a.published_at.strftime("%Y%m%dT%H%M%S").to_string(),
                "authors": ["Sandbox Desk"],
                "summary": a.summary,
                "banner_image": null,
                "source": "stockdata sandbox",
                "category_within_source": "n/a",
                "source_domain": "news.sandbox.stockdata.invalid",
                "topics": [{"topic": "Financial Markets", "relevance_score": "0.5"}],
                // A number overall, strings per ticker, six decimals at most: as AV sends them.
                "overall_sentiment_score": micros_number(overall),
                "overall_sentiment_label": sentiment_label(overall),
                "ticker_sentiment": [{
                    "ticker": a.symbol,
                    "relevance_score": micros_text(relevance),
                    "ticker_sentiment_score": micros_text(score),
                    "ticker_sentiment_label": sentiment_label(score),
                }],
            })
        })
        .collect();
    let body = Obj::new()
        .str("items", &feed.len().to_string())
        .str(
            "sentiment_score_definition",
            "x <= -0.35: Bearish; -0.35 < x <= -0.15: Somewhat-Bearish; \
             -0.15 < x < 0.15: Neutral; 0.15 <= x < 0.35: Somewhat_Bullish; x >= 0.35: Bullish",
        )
        .str(
            "relevance_score_definition",
            "0 < x <= 1, with a higher score indicating higher relevance.",
        )
        .value("feed", &Value::Array(feed))
        .finish();
    reply_text_json(StatusCode::OK, body)
}

/// An article's synthetic (overall score, relevance, ticker score) in millionths, fixed by its
/// id: scores in [-0.5, 0.5] (every label occurs), relevance in [0.5, 1].
fn synthetic_sentiment(id: u64) -> (i64, i64, i64) {
    let h = id
        .wrapping_add(0x9e37_79b9_7f4a_7c15)
        .wrapping_mul(0xbf58_476d_1ce4_e5b9);
    let h = h ^ (h >> 31);
    let part = |shift: u32, modulus: u64| i64::try_from((h >> shift) % modulus).unwrap_or(0);
    let overall = part(0, 1_000_001) - 500_000;
    let score = (overall + part(20, 100_001) - 50_000).clamp(-500_000, 500_000);
    let relevance = 500_000 + part(40, 500_001);
    (overall, relevance, score)
}

/// AV's label for a score in millionths, by the thresholds of its
/// `sentiment_score_definition` (the labels hyphenated, as AV writes them).
fn sentiment_label(micros: i64) -> &'static str {
    match micros {
        ..=-350_000 => "Bearish",
        -349_999..=-150_000 => "Somewhat-Bearish",
        -149_999..=149_999 => "Neutral",
        150_000..=349_999 => "Somewhat-Bullish",
        _ => "Bullish",
    }
}

/// Millionths as decimal text without trailing zeros: `-0.04`, `0.922387`, `1`.
fn micros_text(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let abs = micros.unsigned_abs();
    let (whole, frac) = (abs / 1_000_000, abs % 1_000_000);
    let frac = format!("{frac:06}");
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{frac}")
    }
}

/// Millionths as a JSON number with exactly those digits.
fn micros_number(micros: i64) -> Value {
    serde_json::from_str(&micros_text(micros)).unwrap_or(Value::Null)
}

/// `20240308T2130` → `2024-03-08T21:30:00Z`.
fn parse_time(text: &str) -> Option<Timestamp> {
    let (date, time) = text.split_once('T')?;
    let (y, md) = (date.get(0..4)?, date.get(4..)?);
    let (m, d) = (md.get(0..2)?, md.get(2..)?);
    let (h, min) = (time.get(0..2)?, time.get(2..4)?);
    format!("{y}-{m}-{d}T{h}:{min}:00Z").parse().ok()
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use serde_json::Value;

    use crate::testing::{Sim, get, keys};
    use crate::{Faults, Quotas};

    const Q: &str = "/alpha_vantage/query?apikey=k&";

    /// The body's text and its series' keys in the text's order.
    async fn series(sim: &Sim, query: &str, key: &str) -> (Value, Vec<String>) {
        let a = get(sim, &format!("{Q}{query}"), &[]).await;
        assert_eq!(a.status, StatusCode::OK);
        let text = a.text();
        assert_eq!(keys(&text, ""), ["Meta Data", key], "{query}: {text:.300}");
        (a.json().unwrap(), keys(&text, &format!("/{key}")))
    }

    /// Sentiment as the real samples carry it: the overall score a JSON number, per-ticker
    /// relevance and score decimal strings, labels AV's (hyphenated) and agreeing with the
    /// score by AV's thresholds, and every label occurring across ids.
    #[test]
    fn synthetic_sentiment_is_shaped_like_the_samples() {
        assert_eq!(super::micros_text(-40_000), "-0.04");
        assert_eq!(super::micros_text(922_387), "0.922387");
        assert_eq!(super::micros_text(1_000_000), "1");
        assert_eq!(super::micros_number(187_544).to_string(), "0.187544");
        let mut labels = std::collections::BTreeSet::new();
        for id in 0..2000 {
            let (overall, relevance, score) = super::synthetic_sentiment(id);
            assert!((-500_000..=500_000).contains(&overall), "{id}");
            assert!((-500_000..=500_000).contains(&score), "{id}");
            assert!((500_000..=1_000_000).contains(&relevance), "{id}");
            labels.insert(super::sentiment_label(overall));
        }
        let want = [
            "Bearish",
            "Bullish",
            "Neutral",
            "Somewhat-Bearish",
            "Somewhat-Bullish",
        ];
        assert_eq!(labels.into_iter().collect::<Vec<_>>(), want);
        assert_eq!(super::sentiment_label(-350_000), "Bearish");
        assert_eq!(super::sentiment_label(-150_000), "Somewhat-Bearish");
        assert_eq!(super::sentiment_label(149_999), "Neutral");
        assert_eq!(super::sentiment_label(350_000), "Bullish");
    }

    #[tokio::test]
    async fn news_carries_sentiment_like_the_samples() {
        let sim = Sim::new(None, Faults::default());
        let a = get(
            &sim,
            &format!("{Q}function=NEWS_SENTIMENT&tickers=AAPL"),
            &[],
        )
        .await;
        assert_eq!(a.status, StatusCode::OK);
        let body = a.json().unwrap();
        let feed = body["feed"].as_array().unwrap();
        assert!(!feed.is_empty());
        for item in feed {
            assert!(item["overall_sentiment_score"].is_number(), "{item}");
            assert!(item["overall_sentiment_label"].is_string(), "{item}");
            let t = &item["ticker_sentiment"][0];
            assert_eq!(t["ticker"], "AAPL");
            for key in ["relevance_score", "ticker_sentiment_score"] {
                let text = t[key].as_str().unwrap();
                assert!(text.parse::<f64>().is_ok(), "{key}: {text}");
            }
            assert!(t["ticker_sentiment_label"].is_string(), "{item}");
        }
    }

    fn newest_first(rows: &[String]) -> bool {
        rows.windows(2).all(|w| w[0] > w[1])
    }

    #[tokio::test]
    async fn series_run_newest_first_in_the_samples_key_order() {
        let sim = Sim::new(None, Faults::default());
        let daily = "Time Series (Daily)";
        let (body, rows) = series(&sim, "function=TIME_SERIES_DAILY&symbol=IBM", daily).await;
        assert_eq!(rows.len(), 100, "compact");
        assert!(newest_first(&rows));
        assert_eq!(rows[0], "2024-03-08");
        assert_eq!(body["Meta Data"]["3. Last Refreshed"], "2024-03-08");
        let text = get(
            &sim,
            &format!("{Q}function=TIME_SERIES_DAILY&symbol=IBM"),
            &[],
        )
        .await
        .text();
        assert_eq!(
            keys(&text, "/Meta Data"),
            [
                "1. Information",
                "2. Symbol",
                "3. Last Refreshed",
                "4. Output Size",
                "5. Time Zone"
            ]
        );
        assert_eq!(
            keys(&text, "/Time Series (Daily)/2024-03-08"),
            ["1. open", "2. high", "3. low", "4. close", "5. volume"]
        );
        let (_, full) = series(
            &sim,
            "function=TIME_SERIES_DAILY&symbol=IBM&outputsize=full",
            daily,
        )
        .await;
        assert!(newest_first(&full));
        assert_eq!(full.last().map(String::as_str), Some("2000-01-03"));
        let five = "Time Series (5min)";
        let (body, rows) = series(
            &sim,
            "function=TIME_SERIES_INTRADAY&symbol=IBM&interval=5min",
            five,
        )
        .await;
        assert_eq!(rows.len(), 100);
        assert!(newest_first(&rows));
        // The sandbox's now is 16:30 New York: the post-market has run half an hour.
        assert_eq!(rows[0], "2024-03-08 16:25:00");
        assert_eq!(
            body["Meta Data"]["3. Last Refreshed"],
            "2024-03-08 16:25:00"
        );
        let (_, rows) = series(
            &sim,
            "function=TIME_SERIES_INTRADAY&symbol=IBM&interval=5min&extended_hours=false",
            five,
        )
        .await;
        assert_eq!(rows[0], "2024-03-08 15:55:00");
        assert_eq!(rows[77], "2024-03-08 09:30:00", "78 bars a session");
        assert_eq!(rows[99], "2024-03-07 14:10:00");
    }

    #[tokio::test]
    async fn intraday_honours_extended_hours_and_month() {
        let sim = Sim::new(None, Faults::default());
        let key = "Time Series (60min)";
        let month = "function=TIME_SERIES_INTRADAY&symbol=IBM&interval=60min\
                     &outputsize=full&month=2024-03";
        let (_, extended) = series(&sim, month, key).await;
        // Five days of 04:00 to 20:00, and 04:00 to now (16:30) on the sixth.
        assert_eq!(extended.len(), 5 * 16 + 13, "{extended:?}");
        assert_eq!(extended[0], "2024-03-08 16:00:00");
        assert_eq!(extended[12], "2024-03-08 04:00:00");
        assert_eq!(extended[13], "2024-03-07 19:00:00");
        assert_eq!(
            extended.last().map(String::as_str),
            Some("2024-03-01 04:00:00")
        );
        let (_, regular) = series(&sim, &format!("{month}&extended_hours=false"), key).await;
        assert_eq!(regular.len(), 6 * 7, "09:30 to 16:00");
        assert_eq!(regular[0], "2024-03-08 15:30:00");
        assert_eq!(regular[6], "2024-03-08 09:30:00");
        // Early close: 2023-11-24 ends at 13:00 New York, its post-market at 17:00.
        let (_, november) = series(
            &sim,
            "function=TIME_SERIES_INTRADAY&symbol=IBM&interval=30min&outputsize=full\
             &month=2023-11&extended_hours=false",
            "Time Series (30min)",
        )
        .await;
        assert_eq!(november[0], "2023-11-30 15:30:00");
        assert!(november.contains(&"2023-11-24 12:30:00".to_owned()));
        assert!(!november.contains(&"2023-11-24 13:00:00".to_owned()));
        assert!(
            !november.iter().any(|k| k.starts_with("2023-11-23")),
            "Thanksgiving"
        );
        let bad = get(
            &sim,
            &format!("{Q}function=TIME_SERIES_INTRADAY&symbol=IBM&interval=5min&extended_hours=x"),
            &[],
        )
        .await;
        assert!(bad.text().contains("Invalid API call"));
    }

    #[tokio::test]
    async fn nothing_after_now_is_served() {
        // 10:00:30 New York on Friday 2024-03-08.
        let sim = Sim::at("2024-03-08T15:00:30Z");
        let (_, minutes) = series(
            &sim,
            "function=TIME_SERIES_INTRADAY&symbol=IBM&interval=1min&extended_hours=false",
            "Time Series (1min)",
        )
        .await;
        assert_eq!(
            minutes[0], "2024-03-08 09:59:00",
            "the minute in progress is absent"
        );
        assert_eq!(minutes[29], "2024-03-08 09:30:00");
        assert_eq!(minutes[30], "2024-03-07 15:59:00");
        let (daily, days) = series(
            &sim,
            "function=TIME_SERIES_DAILY&symbol=IBM",
            "Time Series (Daily)",
        )
        .await;
        assert_eq!(days[0], "2024-03-08", "today so far");
        let today = &daily["Time Series (Daily)"]["2024-03-08"];
        let quote = get(&sim, &format!("{Q}function=GLOBAL_QUOTE&symbol=IBM"), &[]).await;
        let quote = &quote.json().unwrap()["Global Quote"];
        assert_eq!(quote["06. volume"], today["5. volume"]);
        assert_eq!(quote["05. price"], today["4. close"]);
        assert_eq!(quote["07. latest trading day"], "2024-03-08");
        let full = crate::market::daily("IBM", "2024-03-08".parse().unwrap()).volume;
        assert!(today["5. volume"].as_str().unwrap().parse::<u64>().unwrap() < full);
        // 08:00 New York: the pre-market has begun, the session has not.
        let early = Sim::at("2024-03-08T13:00:00Z");
        let one = "function=TIME_SERIES_INTRADAY&symbol=IBM&interval=1min";
        let (_, pre) = series(&early, one, "Time Series (1min)").await;
        assert_eq!(pre[0], "2024-03-08 07:59:00");
        let (_, regular) = series(
            &early,
            &format!("{one}&extended_hours=false"),
            "Time Series (1min)",
        )
        .await;
        assert_eq!(regular[0], "2024-03-07 15:59:00");
        let (_, days) = series(
            &early,
            "function=TIME_SERIES_DAILY&symbol=IBM",
            "Time Series (Daily)",
        )
        .await;
        assert_eq!(days[0], "2024-03-07");
        let news = get(
            &early,
            &format!("{Q}function=NEWS_SENTIMENT&tickers=NVDA&time_from=20240307T0000"),
            &[],
        )
        .await;
        let feed = news.json().unwrap()["feed"].as_array().unwrap().clone();
        assert_eq!(
            feed.len(),
            2,
            "today's 13:05 UTC story is five minutes away"
        );
        assert_eq!(feed[0]["time_published"], "20240307T203500");
    }

    #[tokio::test]
    async fn every_function_the_adapter_calls_answers() {
        let sim = Sim::new(None, Faults::default());
        let cases = [
            ("function=GLOBAL_QUOTE&symbol=AAPL", "Global Quote"),
            (
                "function=TIME_SERIES_DAILY&symbol=MSFT&outputsize=compact",
                "Time Series (Daily)",
            ),
            (
                "function=TIME_SERIES_INTRADAY&symbol=MSFT&interval=60min\
                 &outputsize=full&adjusted=false&month=2024-03",
                "Time Series (60min)",
            ),
            (
                "function=NEWS_SENTIMENT&tickers=NVDA\
                 &time_from=20240307T0000&time_to=20240308T2130&sort=LATEST&limit=10",
                "feed",
            ),
            (
                "function=TIME_SERIES_DAILY_ADJUSTED&symbol=MSFT&outputsize=full",
                "Information",
            ),
        ];
        for (query, key) in cases {
            let a = get(&sim, &format!("{Q}{query}"), &[]).await;
            assert_eq!(a.status, StatusCode::OK, "{query}");
            assert!(
                a.json().unwrap().get(key).is_some(),
                "{query}: {}",
                a.text()
            );
        }
        let news = get(&sim, &format!("{Q}{}", cases[3].0), &[]).await;
        assert_eq!(news.json().unwrap()["items"], "4");
    }

    #[tokio::test]
    async fn errors_are_http_200_bodies() {
        let sim = Sim::new(None, Faults::default());
        let no_key = get(
            &sim,
            "/alpha_vantage/query?function=GLOBAL_QUOTE&symbol=AAPL",
            &[],
        )
        .await;
        assert_eq!(no_key.status, StatusCode::OK);
        assert!(no_key.text().contains("apikey is invalid or missing"));
        let bad = get(
            &sim,
            &format!("{Q}function=TIME_SERIES_DAILY&symbol=ZZZZ"),
            &[],
        )
        .await;
        assert!(bad.text().contains("Invalid API call"), "{}", bad.text());
        let nothing = get(&sim, &format!("{Q}function=NOPE"), &[]).await;
        assert!(nothing.text().contains("Invalid API call"));
        let unknown = get(&sim, &format!("{Q}function=GLOBAL_QUOTE&symbol=ZZZZ"), &[]).await;
        assert_eq!(
            unknown.json().unwrap()["Global Quote"],
            serde_json::json!({})
        );
    }

    #[tokio::test]
    async fn other_paths_are_404_and_cost_no_quota() {
        let sim = Sim::new(
            Some(Quotas {
                alpha_vantage_per_day: 1,
                ..Quotas::FREE
            }),
            Faults::default(),
        );
        for path in [
            "/alpha_vantage",
            "/alpha_vantage/",
            "/alpha_vantage/api/v1/quote?apikey=k",
        ] {
            assert_eq!(
                get(&sim, path, &[]).await.status,
                StatusCode::NOT_FOUND,
                "{path}"
            );
        }
        let first = get(&sim, &format!("{Q}function=GLOBAL_QUOTE&symbol=AAPL"), &[]).await;
        assert!(first.text().contains("Global Quote"), "{}", first.text());
        let second = get(&sim, &format!("{Q}function=GLOBAL_QUOTE&symbol=AAPL"), &[]).await;
        assert!(
            second.text().contains("25 requests per day"),
            "{}",
            second.text()
        );
    }

    #[tokio::test]
    async fn the_burst_limit_is_an_information_body_too() {
        let sim = Sim::new(Some(Quotas::FREE), Faults::default());
        let uri = format!("{Q}function=GLOBAL_QUOTE&symbol=AAPL");
        assert!(get(&sim, &uri, &[]).await.text().contains("Global Quote"));
        let burst = get(&sim, &uri, &[]).await;
        assert_eq!(burst.status, StatusCode::OK);
        assert!(
            burst.text().contains("1 request per second"),
            "{}",
            burst.text()
        );
    }

    #[test]
    fn news_times() {
        assert_eq!(
            super::parse_time("20240308T2130"),
            Some("2024-03-08T21:30:00Z".parse().unwrap())
        );
        assert_eq!(super::parse_time("20240308T21"), None);
        assert_eq!(super::parse_time("2024-03-08"), None);
        // Not on a character boundary where a byte-offset parser would slice: no panic.
        assert_eq!(super::parse_time("20240\u{e9}0T2130"), None);
    }
}
