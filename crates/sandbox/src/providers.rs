//! The four provider dialects, byte-compatible with the recorded payload shapes.

use std::time::Duration;

use axum::http::StatusCode;
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan as _};
use serde_json::{Value, json};
use stockdata_domain::time::{daily_bar_start, new_york, new_york_date};

use crate::market::{self, SynthBar, cents};
use crate::{Answer, Ask, Inner};

/// The most bars one sandbox answer generates (Alpaca-style answers page through them).
const MAX_BARS: usize = 200_000;

pub(crate) fn dispatch(state: &Inner, ask: &Ask<'_>) -> Answer {
    let path = ask.path;
    if let Some(rest) = path.strip_prefix("/alpha_vantage") {
        alpha_vantage(state, ask, rest)
    } else if let Some(rest) = path.strip_prefix("/finnhub") {
        finnhub(state, ask, rest)
    } else if let Some(rest) = path.strip_prefix("/alpaca") {
        alpaca(state, ask, rest)
    } else if let Some(rest) = path.strip_prefix("/serverless") {
        serverless(state, ask, rest)
    } else {
        Answer::json(
            StatusCode::NOT_FOUND,
            r#"{"error":"unknown sandbox path: use /alpha_vantage, /finnhub, /alpaca or /serverless"}"#,
        )
    }
}

fn av4(c: i64) -> String {
    format!("{}00", cents(c))
}

fn num(c: i64) -> Value {
    #[allow(clippy::cast_precision_loss)]
    let v = c as f64 / 100.0;
    json!(v)
}

/// Bars of `symbol` at `width_minutes` (0 = daily, -7 = weekly, -30 = monthly) whose start is
/// in `[from, to)`.
fn bars(symbol: &str, width: Width, from: Timestamp, to: Timestamp) -> Vec<SynthBar> {
    let first = new_york_date(from);
    let last = new_york_date(to);
    let days = market::trading_days(first, last);
    let mut out = Vec::new();
    match width {
        Width::Minutes(w) => {
            for d in days {
                let mut m = 0;
                while m < market::SESSION_MINUTES && out.len() < MAX_BARS {
                    let b = market::intraday(symbol, d, m, w);
                    if b.start >= from && b.start < to {
                        out.push(b);
                    }
                    m += w;
                }
            }
        }
        Width::Day => out.extend(
            days.into_iter()
                .map(|d| market::daily(symbol, d))
                .filter(|b| b.start >= from && b.start < to),
        ),
        Width::Week | Width::Month => {
            let period = |d: Date| -> Date {
                if width == Width::Week {
                    let back = i64::from(d.weekday().to_monday_zero_offset());
                    d.checked_sub(back.days()).unwrap_or(d)
                } else {
                    d.first_of_month()
                }
            };
            let mut current: Option<(Date, SynthBar)> = None;
            for d in days {
                let b = market::daily(symbol, d);
                match &mut current {
                    Some((p, agg)) if *p == period(d) => {
                        agg.high = agg.high.max(b.high);
                        agg.low = agg.low.min(b.low);
                        agg.close = b.close;
                        agg.volume += b.volume;
                        agg.trades += b.trades;
                    }
                    _ => {
                        if let Some((_, agg)) = current.take() {
                            out.push(agg);
                        }
                        current = Some((period(d), b));
                    }
                }
            }
            if let Some((_, agg)) = current {
                out.push(agg);
            }
            out.retain(|b| b.start >= from && b.start < to);
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Width {
    Minutes(i64),
    Day,
    Week,
    Month,
}

// ---------------------------------------------------------------------------------------------
// Alpha Vantage: everything is HTTP 200; errors are one-key bodies.

const AV_DAILY_LIMIT: &str = "Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests per day. Please subscribe to any of the premium plans at https://www.alphavantage.co/premium/ to instantly remove all daily rate limits.";
const AV_BURST: &str = "Thank you for using Alpha Vantage! Please consider spreading out your free API requests more sparingly (1 request per second). You may subscribe to any of the premium plans at https://www.alphavantage.co/premium/ to lift the free key rate limit (25 requests per day) and instantly unlock all premium endpoints";
const AV_PREMIUM: &str = "Thank you for using Alpha Vantage! This is a premium endpoint. You may subscribe to any of the premium plans at https://www.alphavantage.co/premium/ to instantly unlock all premium endpoints";

fn av_error(message: &str) -> Answer {
    Answer::json(
        StatusCode::OK,
        json!({ "Error Message": message }).to_string(),
    )
}

fn av_info(message: &str) -> Answer {
    Answer::json(
        StatusCode::OK,
        json!({ "Information": message }).to_string(),
    )
}

fn alpha_vantage(state: &Inner, ask: &Ask<'_>, rest: &str) -> Answer {
    if rest != "/query" {
        return Answer::json(StatusCode::NOT_FOUND, "{}");
    }
    let key = ask.param("apikey").unwrap_or("");
    if key.is_empty() {
        return av_error(
            "the parameter apikey is invalid or missing. Please claim your free API key on (https://www.alphavantage.co/support/#api-key). It should take less than 20 seconds.",
        );
    }
    if let Some(q) = state.config.quotas {
        if !state.allow(
            "alpha_vantage",
            key,
            Duration::from_secs(86_400),
            q.alpha_vantage_per_day,
        ) {
            return av_info(AV_DAILY_LIMIT);
        }
        if !state.allow(
            "alpha_vantage",
            key,
            Duration::from_secs(1),
            q.alpha_vantage_per_second,
        ) {
            return av_info(AV_BURST);
        }
    }
    let now = state.now();
    let function = ask.param("function").unwrap_or("");
    let symbol = ask.param("symbol").unwrap_or("").to_ascii_uppercase();
    let invalid = || {
        av_error(&format!(
            "Invalid API call. Please retry or visit the documentation (https://www.alphavantage.co/documentation/) for {function}."
        ))
    };
    match function {
        "GLOBAL_QUOTE" => {
            if !market::known(&symbol) || symbol.is_empty() {
                return Answer::json(StatusCode::OK, r#"{"Global Quote": {}}"#);
            }
            let q = market::quote(&symbol, now);
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
            Answer::json(StatusCode::OK, body.to_string())
        }
        "TIME_SERIES_DAILY_ADJUSTED" => av_info(AV_PREMIUM),
        "TIME_SERIES_DAILY" => {
            if !market::known(&symbol) {
                return invalid();
            }
            let today = new_york_date(now);
            let full = ask.param("outputsize") == Some("full");
            let from = if full {
                Date::constant(2000, 1, 3)
            } else {
                today.checked_sub(160.days()).unwrap_or(today)
            };
            let mut days = market::trading_days(from, today);
            days.retain(|d| daily_bar_start(*d) <= now);
            if !full && days.len() > 100 {
                days.drain(..days.len() - 100);
            }
            let mut rows = serde_json::Map::new();
            for d in days.iter().rev() {
                let b = market::daily(&symbol, *d);
                rows.insert(
                    d.to_string(),
                    json!({
                        "1. open": av4(b.open), "2. high": av4(b.high), "3. low": av4(b.low),
                        "4. close": av4(b.close), "5. volume": b.volume.to_string(),
                    }),
                );
            }
            let body = json!({
                "Meta Data": {
                    "1. Information": "Daily Prices (open, high, low, close) and Volumes",
                    "2. Symbol": symbol,
                    "3. Last Refreshed": days.last().map(ToString::to_string).unwrap_or_default(),
                    "4. Output Size": if full { "Full size" } else { "Compact" },
                    "5. Time Zone": "US/Eastern",
                },
                "Time Series (Daily)": rows,
            });
            Answer::json(StatusCode::OK, body.to_string())
        }
        "TIME_SERIES_INTRADAY" => {
            if !market::known(&symbol) {
                return invalid();
            }
            let interval = ask.param("interval").unwrap_or("");
            let width = match interval {
                "1min" => 1,
                "5min" => 5,
                "15min" => 15,
                "30min" => 30,
                "60min" => 60,
                _ => return invalid(),
            };
            let (from, to) = match ask.param("month") {
                Some(month) => {
                    let Ok(first) = format!("{month}-01").parse::<Date>() else {
                        return invalid();
                    };
                    let next = first.checked_add(1.month()).unwrap_or(first);
                    (daily_bar_start(first), daily_bar_start(next).min(now))
                }
                None => (
                    now.checked_sub(jiff::SignedDuration::from_hours(30 * 24))
                        .unwrap_or(now),
                    now,
                ),
            };
            let mut series = bars(&symbol, Width::Minutes(width), from, to);
            if ask.param("outputsize") != Some("full") && series.len() > 100 {
                series.drain(..series.len() - 100);
            }
            let tz = new_york();
            let mut rows = serde_json::Map::new();
            for b in series.iter().rev() {
                let wall = tz.to_datetime(b.start);
                rows.insert(
                    wall.strftime("%Y-%m-%d %H:%M:%S").to_string(),
                    json!({
                        "1. open": av4(b.open), "2. high": av4(b.high), "3. low": av4(b.low),
                        "4. close": av4(b.close), "5. volume": b.volume.to_string(),
                    }),
                );
            }
            let last = series
                .last()
                .map(|b| {
                    tz.to_datetime(b.start)
                        .strftime("%Y-%m-%d %H:%M:%S")
                        .to_string()
                })
                .unwrap_or_default();
            let body = json!({
                "Meta Data": {
                    "1. Information": format!("Intraday ({interval}) open, high, low, close prices and volume"),
                    "2. Symbol": symbol,
                    "3. Last Refreshed": last,
                    "4. Interval": interval,
                    "5. Output Size": if ask.param("outputsize") == Some("full") { "Full size" } else { "Compact" },
                    "6. Time Zone": "US/Eastern",
                },
                format!("Time Series ({interval})"): rows,
            });
            Answer::json(StatusCode::OK, body.to_string())
        }
        "NEWS_SENTIMENT" => {
            let tickers: Vec<&str> = ask
                .param("tickers")
                .unwrap_or("")
                .split(',')
                .filter(|t| !t.is_empty())
                .collect();
            let parse = |t: Option<&str>| t.and_then(parse_av_time);
            let from = parse(ask.param("time_from")).unwrap_or_else(|| {
                now.checked_sub(jiff::SignedDuration::from_hours(72))
                    .unwrap_or(now)
            });
            let to = parse(ask.param("time_to")).map_or(now, |t| {
                t.checked_add(jiff::SignedDuration::from_mins(1))
                    .unwrap_or(t)
            });
            let limit = ask
                .param("limit")
                .and_then(|l| l.parse().ok())
                .unwrap_or(50usize)
                .min(1000);
            // Tickers are ANDed; each synthetic article is about one symbol.
            let articles = match tickers.as_slice() {
                [one] if market::known(&one.to_ascii_uppercase()) => {
                    market::news(&one.to_ascii_uppercase(), from, to.min(now), limit)
                }
                _ => Vec::new(),
            };
            let feed: Vec<Value> = articles.iter().map(|a| json!({
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
                "overall_sentiment_score": 0.05,
                "overall_sentiment_label": "Neutral",
                "ticker_sentiment": [{"ticker": a.symbol, "relevance_score": "0.9", "ticker_sentiment_score": "0.05", "ticker_sentiment_label": "Neutral"}],
            })).collect();
            let body = json!({
                "items": feed.len().to_string(),
                "sentiment_score_definition": "x <= -0.35: Bearish; -0.35 < x <= -0.15: Somewhat-Bearish; -0.15 < x < 0.15: Neutral; 0.15 <= x < 0.35: Somewhat_Bullish; x >= 0.35: Bullish",
                "relevance_score_definition": "0 < x <= 1, with a higher score indicating higher relevance.",
                "feed": feed,
            });
            Answer::json(StatusCode::OK, body.to_string())
        }
        _ => invalid(),
    }
}

fn parse_av_time(text: &str) -> Option<Timestamp> {
    let b = text.as_bytes();
    if b.len() < 13 || b[8] != b'T' {
        return None;
    }
    let iso = format!(
        "{}-{}-{}T{}:{}:00Z",
        &text[0..4],
        &text[4..6],
        &text[6..8],
        &text[9..11],
        &text[11..13]
    );
    iso.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// Finnhub: JSON numbers, unix seconds, `{"error": ...}` with 401/403/429.

fn finnhub(state: &Inner, ask: &Ask<'_>, rest: &str) -> Answer {
    let key = ask
        .header("x-finnhub-token")
        .or_else(|| ask.param("token"))
        .unwrap_or("");
    if key.is_empty() {
        return Answer::json(StatusCode::UNAUTHORIZED, r#"{"error":"Invalid API key."}"#);
    }
    if let Some(q) = state.config.quotas
        && (!state.allow("finnhub", key, Duration::from_secs(1), q.finnhub_per_second)
            || !state.allow(
                "finnhub",
                key,
                Duration::from_secs(60),
                q.finnhub_per_minute,
            ))
    {
        return Answer::json(
            StatusCode::TOO_MANY_REQUESTS,
            r#"{"error":"API limit reached. Please try again later. Remaining Limit: 0"}"#,
        );
    }
    let now = state.now();
    let symbol = ask.param("symbol").unwrap_or("").to_ascii_uppercase();
    match rest {
        "/api/v1/quote" => {
            if !market::known(&symbol) || symbol.is_empty() {
                return Answer::json(
                    StatusCode::OK,
                    r#"{"c":0,"d":null,"dp":null,"h":0,"l":0,"o":0,"pc":0,"t":0}"#,
                );
            }
            let q = market::quote(&symbol, now);
            let change = q.price - q.previous_close;
            #[allow(clippy::cast_precision_loss)]
            let pct =
                ((change as f64 * 100.0 / q.previous_close as f64) * 10_000.0).round() / 10_000.0;
            let body = json!({
                "c": num(q.price), "d": num(change), "dp": pct, "h": num(q.day.high), "l": num(q.day.low),
                "o": num(q.day.open), "pc": num(q.previous_close), "t": q.as_of.as_second(),
            });
            Answer::json(StatusCode::OK, body.to_string())
        }
        "/api/v1/stock/candle" => {
            let width = match ask.param("resolution").unwrap_or("") {
                "1" => Width::Minutes(1),
                "5" => Width::Minutes(5),
                "15" => Width::Minutes(15),
                "30" => Width::Minutes(30),
                "60" => Width::Minutes(60),
                "D" => Width::Day,
                "W" => Width::Week,
                "M" => Width::Month,
                _ => {
                    return Answer::json(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        r#"{"error":"Wrong resolution"}"#,
                    );
                }
            };
            let secs = |name: &str| {
                ask.param(name)
                    .and_then(|v| v.parse::<i64>().ok())
                    .and_then(|s| Timestamp::from_second(s).ok())
            };
            let (Some(from), Some(to)) = (secs("from"), secs("to")) else {
                return Answer::json(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    r#"{"error":"from and to are required"}"#,
                );
            };
            let to_excl = to
                .checked_add(jiff::SignedDuration::from_secs(1))
                .unwrap_or(to)
                .min(now);
            let series = if market::known(&symbol) {
                bars(&symbol, width, from, to_excl)
            } else {
                Vec::new()
            };
            if series.is_empty() {
                return Answer::json(StatusCode::OK, r#"{"s":"no_data"}"#);
            }
            let body = json!({
                "c": series.iter().map(|b| num(b.close)).collect::<Vec<_>>(),
                "h": series.iter().map(|b| num(b.high)).collect::<Vec<_>>(),
                "l": series.iter().map(|b| num(b.low)).collect::<Vec<_>>(),
                "o": series.iter().map(|b| num(b.open)).collect::<Vec<_>>(),
                "s": "ok",
                "t": series.iter().map(|b| b.start.as_second()).collect::<Vec<_>>(),
                "v": series.iter().map(|b| b.volume).collect::<Vec<_>>(),
            });
            Answer::json(StatusCode::OK, body.to_string())
        }
        "/api/v1/company-news" => {
            let date = |name: &str| ask.param(name).and_then(|v| v.parse::<Date>().ok());
            let (Some(from), Some(to)) = (date("from"), date("to")) else {
                return Answer::json(
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
            let end = utc(to.tomorrow().unwrap_or(to)).min(now);
            let items: Vec<Value> = if market::known(&symbol) {
                market::news(&symbol, utc(from), end, 250)
                    .into_iter()
                    .map(|a| json!({
                        "category": "company news", "datetime": a.published_at.as_second(), "headline": a.headline,
                        "id": a.id, "image": "", "related": a.symbol, "source": "stockdata sandbox",
                        "summary": a.summary, "url": a.url,
                    }))
                    .collect()
            } else {
                Vec::new()
            };
            Answer::json(StatusCode::OK, Value::Array(items).to_string())
        }
        _ => Answer::json(StatusCode::NOT_FOUND, r#"{"error":"unknown endpoint"}"#),
    }
}

// ---------------------------------------------------------------------------------------------
// Alpaca: header auth, multi-symbol maps, next_page_token, 429 as plain text.

fn alpaca(state: &Inner, ask: &Ask<'_>, rest: &str) -> Answer {
    let (Some(key), Some(_secret)) = (
        ask.header("apca-api-key-id"),
        ask.header("apca-api-secret-key"),
    ) else {
        return Answer::json(
            StatusCode::UNAUTHORIZED,
            r#"{"code":40110000,"message":"access key verification failed : access key not found (Code = 40110000)"}"#,
        );
    };
    if let Some(q) = state.config.quotas
        && !state.allow("alpaca", key, Duration::from_secs(60), q.alpaca_per_minute)
    {
        let reset = state.window_reset("alpaca", key, Duration::from_secs(60));
        let at = Timestamp::now().as_second() + i64::try_from(reset.as_secs()).unwrap_or(60) + 1;
        return Answer::text(StatusCode::TOO_MANY_REQUESTS, "too many requests")
            .header("x-ratelimit-limit", q.alpaca_per_minute.to_string())
            .header("x-ratelimit-remaining", "0".to_owned())
            .header("x-ratelimit-reset", at.to_string());
    }
    if ask.param("feed") == Some("sip") {
        return Answer::json(
            StatusCode::FORBIDDEN,
            r#"{"code":42210000,"message":"subscription does not permit querying recent SIP data"}"#,
        );
    }
    let now = state.now();
    let symbols: Vec<String> = ask
        .param("symbols")
        .unwrap_or("")
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_ascii_uppercase)
        .collect();
    let t = |b: &SynthBar| b.start.to_string();
    let bar_json = |b: &SynthBar| json!({"t": t(b), "o": num(b.open), "h": num(b.high), "l": num(b.low), "c": num(b.close), "v": b.volume, "n": b.trades, "vw": num(b.vwap())});
    match rest {
        "/v2/stocks/snapshots" => {
            let mut map = serde_json::Map::new();
            for s in &symbols {
                if !market::known(s) {
                    map.insert(s.clone(), Value::Null);
                    continue;
                }
                let q = market::quote(s, now);
                let prev = market::daily(s, market::previous_trading_day(q.date));
                let ts = q.as_of.to_string();
                map.insert(s.clone(), json!({
                    "latestTrade": {"t": ts, "x": "V", "p": num(q.price), "s": 100, "c": ["@"], "i": 1, "z": "C"},
                    "latestQuote": {"t": ts, "ax": "V", "ap": num(q.ask), "as": 2, "bx": "V", "bp": num(q.bid), "bs": 3, "c": ["R"], "z": "C"},
                    "minuteBar": bar_json(&q.day),
                    "dailyBar": bar_json(&q.day),
                    "prevDailyBar": bar_json(&prev),
                }));
            }
            Answer::json(StatusCode::OK, Value::Object(map).to_string())
        }
        "/v2/stocks/bars" => {
            let width = match ask.param("timeframe").unwrap_or("") {
                "1Min" | "1T" => Width::Minutes(1),
                "5Min" => Width::Minutes(5),
                "15Min" => Width::Minutes(15),
                "30Min" => Width::Minutes(30),
                "1Hour" | "1H" => Width::Minutes(60),
                "1Day" | "1D" => Width::Day,
                "1Week" | "1W" => Width::Week,
                "1Month" | "1M" => Width::Month,
                _ => {
                    return Answer::json(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        r#"{"code":42210000,"message":"invalid timeframe"}"#,
                    );
                }
            };
            let instant = |name: &str| ask.param(name).and_then(|v| v.parse::<Timestamp>().ok());
            let Some(start) = instant("start") else {
                return Answer::json(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    r#"{"code":42210000,"message":"invalid start"}"#,
                );
            };
            let end = instant("end").unwrap_or(now).min(now);
            let limit = ask
                .param("limit")
                .and_then(|l| l.parse::<usize>().ok())
                .unwrap_or(1000)
                .clamp(1, 10_000);
            let offset = ask
                .param("page_token")
                .and_then(|t| t.strip_prefix("sbx"))
                .and_then(|o| o.parse::<usize>().ok())
                .unwrap_or(0);
            let mut sorted = symbols.clone();
            sorted.sort();
            sorted.dedup();
            let end_incl = end
                .checked_add(jiff::SignedDuration::from_nanos(1))
                .unwrap_or(end);
            // Sorted by symbol, then time; the limit counts across symbols.
            let all: Vec<(String, SynthBar)> = sorted
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
            let next =
                (offset + page.len() < all.len()).then(|| format!("sbx{}", offset + page.len()));
            Answer::json(
                StatusCode::OK,
                json!({"bars": map, "next_page_token": next}).to_string(),
            )
        }
        "/v1beta1/news" => {
            let instant = |name: &str| ask.param(name).and_then(|v| v.parse::<Timestamp>().ok());
            let start = instant("start").unwrap_or_else(|| {
                now.checked_sub(jiff::SignedDuration::from_hours(24))
                    .unwrap_or(now)
            });
            let end = instant("end").unwrap_or(now).min(now);
            let limit = ask
                .param("limit")
                .and_then(|l| l.parse::<usize>().ok())
                .unwrap_or(10)
                .clamp(1, 50);
            let offset = ask
                .param("page_token")
                .and_then(|t| t.strip_prefix("sbx"))
                .and_then(|o| o.parse::<usize>().ok())
                .unwrap_or(0);
            let mut all: Vec<market::SynthArticle> = symbols
                .iter()
                .filter(|s| market::known(s))
                .flat_map(|s| market::news(s, start, end, 1000))
                .collect();
            all.sort_by(|a, b| b.published_at.cmp(&a.published_at).then(a.id.cmp(&b.id)));
            let page: Vec<Value> = all.iter().skip(offset).take(limit).map(|a| json!({
                "id": a.id, "headline": a.headline, "author": "Sandbox Desk",
                "created_at": a.published_at.to_string(), "updated_at": a.published_at.to_string(),
                "summary": a.summary, "content": "", "url": a.url, "images": [],
                "symbols": [a.symbol], "source": "stockdata sandbox",
            })).collect();
            let next =
                (offset + page.len() < all.len()).then(|| format!("sbx{}", offset + page.len()));
            Answer::json(
                StatusCode::OK,
                json!({"news": page, "next_page_token": next}).to_string(),
            )
        }
        _ => Answer::json(StatusCode::NOT_FOUND, r#"{"message":"endpoint not found"}"#),
    }
}

// ---------------------------------------------------------------------------------------------
// Serverless: stockdata's own schema (docs/serverless-api.md).

fn envelope(status: StatusCode, kind: &str, message: &str) -> Answer {
    Answer::json(
        status,
        json!({"error": {"kind": kind, "message": message}}).to_string(),
    )
}

fn serverless(state: &Inner, ask: &Ask<'_>, rest: &str) -> Answer {
    let now = state.now();
    let symbols: Vec<String> = ask
        .param("symbols")
        .unwrap_or("")
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_ascii_uppercase)
        .collect();
    if symbols.is_empty() {
        return envelope(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "symbols is required: pass ?symbols=AAPL,MSFT",
        );
    }
    if symbols.len() > 100 {
        return envelope(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "at most 100 symbols per request",
        );
    }
    let unknown = |s: &str| json!({"symbol": s, "error": {"kind": "unknown_symbol", "message": format!("unknown symbol {s}")}});
    let instant = |name: &str| ask.param(name).and_then(|v| v.parse::<Timestamp>().ok());
    match rest {
        "/v1/quotes" => {
            let results: Vec<Value> = symbols.iter().map(|s| {
                if !market::known(s) {
                    return unknown(s);
                }
                let q = market::quote(s, now);
                json!({"symbol": s, "quote": {
                    "symbol": s, "price": num(q.price), "bid": num(q.bid), "ask": num(q.ask), "bid_size": 3, "ask_size": 2,
                    "open": num(q.day.open), "high": num(q.day.high), "low": num(q.day.low), "previous_close": num(q.previous_close),
                    "change": num(q.price - q.previous_close), "change_percent": null, "volume": q.day.volume,
                    "as_of": q.as_of.to_string(), "provider": "sandbox", "synthetic": true,
                }})
            }).collect();
            Answer::json(StatusCode::OK, json!({"results": results}).to_string())
        }
        "/v1/bars" => {
            let width = match ask.param("interval").unwrap_or("") {
                "1m" => Width::Minutes(1),
                "5m" => Width::Minutes(5),
                "15m" => Width::Minutes(15),
                "30m" => Width::Minutes(30),
                "1h" => Width::Minutes(60),
                "1d" => Width::Day,
                "1w" => Width::Week,
                "1mo" => Width::Month,
                other => {
                    return envelope(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        &format!(
                            "interval {other:?} is not one of 1m, 5m, 15m, 30m, 1h, 1d, 1w, 1mo"
                        ),
                    );
                }
            };
            let (Some(start), Some(end)) = (instant("start"), instant("end")) else {
                return envelope(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "start and end are required (RFC 3339)",
                );
            };
            if start > end {
                return envelope(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "start is after end",
                );
            }
            let interval = ask.param("interval").unwrap_or("");
            let adjustment = ask.param("adjustment").unwrap_or("raw");
            let results: Vec<Value> = symbols.iter().map(|s| {
                if !market::known(s) {
                    return unknown(s);
                }
                let series = bars(s, width, start, end.min(now));
                if series.is_empty() {
                    return json!({"symbol": s, "error": {"kind": "no_data", "message": "no bars in the range"}});
                }
                let list: Vec<Value> = series.iter().map(|b| json!({
                    "symbol": s, "interval": interval, "start": b.start.to_string(), "open": num(b.open), "high": num(b.high),
                    "low": num(b.low), "close": num(b.close), "volume": b.volume, "vwap": num(b.vwap()), "trades": b.trades,
                    "provider": "sandbox", "adjustment": adjustment, "synthetic": true,
                })).collect();
                json!({"symbol": s, "bars": list})
            }).collect();
            Answer::json(StatusCode::OK, json!({"results": results}).to_string())
        }
        "/v1/news" => {
            let start = instant("start").unwrap_or_else(|| {
                now.checked_sub(jiff::SignedDuration::from_hours(72))
                    .unwrap_or(now)
            });
            let end = instant("end").unwrap_or(now).min(now);
            let limit = ask
                .param("limit")
                .and_then(|l| l.parse::<usize>().ok())
                .unwrap_or(50)
                .clamp(1, 1000);
            let mut all: Vec<market::SynthArticle> = symbols
                .iter()
                .filter(|s| market::known(s))
                .flat_map(|s| market::news(s, start, end, limit))
                .collect();
            all.sort_by(|a, b| b.published_at.cmp(&a.published_at).then(a.id.cmp(&b.id)));
            all.truncate(limit);
            let articles: Vec<Value> = all.iter().map(|a| json!({
                "id": format!("sandbox:{}", a.id), "symbols": [a.symbol], "headline": a.headline, "summary": a.summary,
                "url": a.url, "source": "stockdata sandbox", "published_at": a.published_at.to_string(),
                "author": "Sandbox Desk", "image": null, "provider": "sandbox", "synthetic": true,
            })).collect();
            Answer::json(StatusCode::OK, json!({"articles": articles}).to_string())
        }
        _ => envelope(
            StatusCode::NOT_FOUND,
            "invalid_request",
            "unknown endpoint: use /v1/quotes, /v1/bars or /v1/news",
        ),
    }
}
