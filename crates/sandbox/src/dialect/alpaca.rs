//! Alpaca Market Data v2: `/v2/stocks/...` and `/v1beta1/news`, the keys in the
//! `APCA-API-KEY-ID` / `APCA-API-SECRET-KEY` headers, RFC 3339 times, multi-symbol maps and
//! single-symbol paths (alpaca-py asks a single symbol at `/v2/stocks/{symbol}/...`),
//! `next_page_token` pagination, errors as `{"code", "message"}` and a plain-text 429.
//!
//! - Bars (`/v2/stocks/bars`, `/v2/stocks/{symbol}/bars`): `timeframe` `[1-59]Min`,
//!   `[1-23]Hour`, `1Day`, `1Week`, `[1,2,3,4,6,12]Month` (and the `T/H/D/W/M` aliases), on the
//!   regular session's grid from 09:30 New York. `start` defaults to the beginning of the current
//!   day (00:00 New York), `end` to now; both inclusive, RFC 3339 or `YYYY-MM-DD`. `sort` `asc`
//!   (default) or `desc`; sorted by symbol, then time. `limit` 1 to 10000 (default 1000) counts
//!   across symbols; a page is generated alone, however long the range.
//! - Page tokens are opaque base64 naming the last item served (`SYMBOL|start` for bars, as
//!   Alpaca's `META|D|2022-06-09T04:00:00.000000000Z`); a token this sandbox did not write is a
//!   400 `invalid page token`.
//! - Latest quotes, trades and bars, and snapshots: as of now (`market::quote`): the latest
//!   minute bar is the last minute ended, `dailyBar` the session so far, `prevDailyBar` the
//!   session before. A single-symbol latest or snapshot of an unknown symbol is a 404.
//! - News (`/v1beta1/news`): `sort` `desc` (default) or `asc`, `limit` 1 to 50 (default 10),
//!   `start` defaults to 2015-01-01 (Alpaca's docs), `end` to now; `content` is `""` unless
//!   `include_content=true` (alpaca-py's `News` model requires the field).
//!
//! Quota: a fixed minute per key. Every answer of an endpoint carries `X-RateLimit-Limit`,
//! `-Remaining` and `-Reset` (unix seconds), as Alpaca's do, the 429 too (not the 401 of a
//! request without keys, nor the 404 of an unknown path). A 404 costs no quota.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use axum::routing::get;
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use stockdata_domain::calendar::previous_trading_day;
use stockdata_domain::time::{daily_bar_start, new_york_date};

use super::json::{Obj, array, string};
use super::{Params, reply_raw, reply_text, reply_text_json};
use crate::Shared;
use crate::generator::draw;
use crate::market::{self, Order, SynthArticle, SynthBar, SynthQuote};
use crate::quota::Window;
use crate::series::{Series, Width};

/// The path prefix (`Sandbox::base_url`) and the quota key.
pub(crate) const NAME: &str = "alpaca";

/// The most bars one page holds, and the default.
const MAX_LIMIT: usize = 10_000;
const DEFAULT_LIMIT: usize = 1000;
/// The most articles one news page holds, and the default.
const MAX_NEWS_LIMIT: usize = 50;
const DEFAULT_NEWS_LIMIT: usize = 10;

pub(crate) fn router(shared: &Arc<Shared>) -> Router<Arc<Shared>> {
    Router::new()
        .route("/v2/stocks/snapshots", get(snapshots))
        .route("/v2/stocks/{symbol}/snapshot", get(snapshot))
        .route("/v2/stocks/bars", get(bars_multi))
        .route("/v2/stocks/{symbol}/bars", get(bars_single))
        .route("/v2/stocks/bars/latest", get(latest_bars))
        .route("/v2/stocks/{symbol}/bars/latest", get(latest_bar))
        .route("/v2/stocks/quotes/latest", get(latest_quotes))
        .route("/v2/stocks/{symbol}/quotes/latest", get(latest_quote))
        .route("/v2/stocks/trades/latest", get(latest_trades))
        .route("/v2/stocks/{symbol}/trades/latest", get(latest_trade))
        .route("/v1beta1/news", get(news_page))
        .route_layer(from_fn_with_state(Arc::clone(shared), guard))
        .fallback(|| async { not_found("endpoint not found") })
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
    if response.status() == StatusCode::NOT_FOUND {
        shared.windows.refund(NAME, &key, &[window]);
    }
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

fn unprocessable(message: &str) -> Response {
    reply_text_json(
        StatusCode::UNPROCESSABLE_ENTITY,
        Obj::new()
            .uint("code", 42_210_000)
            .str("message", message)
            .finish(),
    )
}

fn not_found(message: &str) -> Response {
    reply_text_json(
        StatusCode::NOT_FOUND,
        Obj::new().str("message", message).finish(),
    )
}

fn invalid_token() -> Response {
    reply_text_json(
        StatusCode::BAD_REQUEST,
        Obj::new().str("message", "invalid page token").finish(),
    )
}

/// Why a request is refused; [`Refusal::answer`] says it in Alpaca's words.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    /// 422, with this message.
    Unprocessable(&'static str),
    /// 400: a page token this sandbox did not write.
    InvalidToken,
}

impl Refusal {
    fn answer(self) -> Response {
        match self {
            Self::Unprocessable(message) => unprocessable(message),
            Self::InvalidToken => invalid_token(),
        }
    }
}

/// A page of bars, symbol first, and the token of the next page.
type BarsPage<'s> = (Vec<(&'s str, SynthBar)>, Option<String>);

fn ok(body: String) -> Response {
    reply_text_json(StatusCode::OK, body)
}

/// A bar in the samples' key order.
fn bar_json(b: &SynthBar) -> String {
    Obj::new()
        .str("t", &b.start.to_string())
        .price("o", b.open)
        .price("h", b.high)
        .price("l", b.low)
        .price("c", b.close)
        .uint("v", b.volume)
        .uint("n", b.trades)
        .price("vw", b.vwap())
        .finish()
}

fn trade_json(symbol: &str, q: &SynthQuote) -> String {
    let id = draw(&[
        symbol.as_bytes(),
        &q.as_of.as_second().to_le_bytes(),
        b"trade",
    ]) % 1_000_000;
    Obj::new()
        .str("t", &q.as_of.to_string())
        .str("x", "V")
        .price("p", q.price)
        .uint("s", 100)
        .raw("c", r#"["@"]"#)
        .uint("i", id)
        .str("z", "C")
        .finish()
}

fn quote_json(q: &SynthQuote) -> String {
    Obj::new()
        .str("t", &q.as_of.to_string())
        .str("ax", "V")
        .price("ap", q.ask)
        .uint("as", 2)
        .str("bx", "V")
        .price("bp", q.bid)
        .uint("bs", 3)
        .raw("c", r#"["R"]"#)
        .str("z", "C")
        .finish()
}

/// A symbol of the path, upper-cased like the `symbols` lists.
fn path_symbol(symbol: &str) -> String {
    symbol.to_ascii_uppercase()
}

/// `{"SYM": f(SYM), ...}` for the known symbols of `symbols=` (an unknown one is absent).
fn per_symbol(params: &Params, f: impl Fn(&str) -> String) -> String {
    params
        .list("symbols")
        .iter()
        .filter(|s| market::known(s))
        .fold(Obj::new(), |obj, s| obj.raw(s, &f(s)))
        .finish()
}

/// A top-level map; an unknown symbol maps to `null`.
async fn snapshots(State(shared): State<Arc<Shared>>, params: Params) -> Response {
    let now = shared.now();
    let body = params
        .list("symbols")
        .iter()
        .fold(Obj::new(), |obj, s| {
            if market::known(s) {
                obj.raw(s, &snapshot_json(s, now, false))
            } else {
                obj.value(s, &Value::Null)
            }
        })
        .finish();
    ok(body)
}

/// One symbol's snapshot, with a `symbol` field first.
async fn snapshot(State(shared): State<Arc<Shared>>, Path(symbol): Path<String>) -> Response {
    let symbol = path_symbol(&symbol);
    if !market::known(&symbol) {
        return not_found("not found");
    }
    ok(snapshot_json(&symbol, shared.now(), true))
}

fn snapshot_json(symbol: &str, now: Timestamp, with_symbol: bool) -> String {
    let q = market::quote(symbol, now);
    let minute = market::latest_minute(symbol, now);
    let prev = previous_trading_day(q.date).map(|d| market::daily(symbol, d));
    let optional = |b: Option<SynthBar>| b.as_ref().map_or_else(|| "null".to_owned(), bar_json);
    let obj = if with_symbol {
        Obj::new().str("symbol", symbol)
    } else {
        Obj::new()
    };
    obj.raw("latestTrade", &trade_json(symbol, &q))
        .raw("latestQuote", &quote_json(&q))
        .raw("minuteBar", &optional(minute))
        .raw("dailyBar", &bar_json(&q.day))
        .raw("prevDailyBar", &optional(prev))
        .finish()
}

async fn latest_quotes(State(shared): State<Arc<Shared>>, params: Params) -> Response {
    let now = shared.now();
    let quotes = per_symbol(&params, |s| quote_json(&market::quote(s, now)));
    ok(Obj::new().raw("quotes", &quotes).finish())
}

async fn latest_quote(State(shared): State<Arc<Shared>>, Path(symbol): Path<String>) -> Response {
    let symbol = path_symbol(&symbol);
    if !market::known(&symbol) {
        return not_found("not found");
    }
    let q = market::quote(&symbol, shared.now());
    ok(Obj::new()
        .str("symbol", &symbol)
        .raw("quote", &quote_json(&q))
        .finish())
}

async fn latest_trades(State(shared): State<Arc<Shared>>, params: Params) -> Response {
    let now = shared.now();
    let trades = per_symbol(&params, |s| trade_json(s, &market::quote(s, now)));
    ok(Obj::new().raw("trades", &trades).finish())
}

async fn latest_trade(State(shared): State<Arc<Shared>>, Path(symbol): Path<String>) -> Response {
    let symbol = path_symbol(&symbol);
    if !market::known(&symbol) {
        return not_found("not found");
    }
    let q = market::quote(&symbol, shared.now());
    ok(Obj::new()
        .str("symbol", &symbol)
        .raw("trade", &trade_json(&symbol, &q))
        .finish())
}

/// The latest minute bar of each symbol (absent when there is none).
async fn latest_bars(State(shared): State<Arc<Shared>>, params: Params) -> Response {
    let now = shared.now();
    let bars = params
        .list("symbols")
        .iter()
        .filter(|s| market::known(s))
        .filter_map(|s| Some((s, market::latest_minute(s, now)?)))
        .fold(Obj::new(), |obj, (s, b)| obj.raw(s, &bar_json(&b)))
        .finish();
    ok(Obj::new().raw("bars", &bars).finish())
}

async fn latest_bar(State(shared): State<Arc<Shared>>, Path(symbol): Path<String>) -> Response {
    let symbol = path_symbol(&symbol);
    let latest = market::known(&symbol)
        .then(|| market::latest_minute(&symbol, shared.now()))
        .flatten();
    let Some(bar) = latest else {
        return not_found("not found");
    };
    ok(Obj::new()
        .str("symbol", &symbol)
        .raw("bar", &bar_json(&bar))
        .finish())
}

/// `[1-59]Min`, `[1-23]Hour`, `1Day`, `1Week`, `[1,2,3,4,6,12]Month`, and the aliases
/// `T`, `H`, `D`, `W`, `M` for the units.
fn timeframe(text: &str) -> Option<Width> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (amount, unit) = text.split_at(split);
    let n: i64 = amount.parse().ok()?;
    match unit {
        "Min" | "T" if (1..=59).contains(&n) => Some(Width::Minutes(n)),
        "Hour" | "H" if (1..=23).contains(&n) => Some(Width::Minutes(n * 60)),
        "Day" | "D" if n == 1 => Some(Width::Day),
        "Week" | "W" if n == 1 => Some(Width::Week),
        "Month" | "M" if [1, 2, 3, 4, 6, 12].contains(&n) => {
            i8::try_from(n).ok().map(Width::Months)
        }
        _ => None,
    }
}

/// An RFC 3339 instant (with `Z` or an offset) or a `YYYY-MM-DD` date (00:00 New York);
/// `Ok(None)` when absent.
fn when(params: &Params, name: &str) -> Result<Option<Timestamp>, ()> {
    let Some(text) = params.get(name) else {
        return Ok(None);
    };
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(Some(t));
    }
    // Only a bare date: a date-time without an offset is refused, as Alpaca refuses it.
    if text.len() != "YYYY-MM-DD".len() {
        return Err(());
    }
    text.parse::<Date>()
        .map(|d| Some(daily_bar_start(d)))
        .map_err(|_| ())
}

/// `sort`: `asc` or `desc` in any case; `default` when absent.
fn sort(params: &Params, default: Order) -> Result<Order, Refusal> {
    match params.get("sort").map(str::to_ascii_lowercase).as_deref() {
        None => Ok(default),
        Some("asc") => Ok(Order::Asc),
        Some("desc") => Ok(Order::Desc),
        Some(_) => Err(Refusal::Unprocessable("invalid sort")),
    }
}

/// A bars request, checked.
struct BarsQuery {
    width: Width,
    from: Timestamp,
    /// Exclusive (the inclusive `end` plus a nanosecond).
    to: Timestamp,
    order: Order,
    limit: usize,
    /// The last bar served: its symbol and start.
    after: Option<(String, Timestamp)>,
}

impl BarsQuery {
    fn parse(params: &Params, now: Timestamp) -> Result<Self, Refusal> {
        let width = timeframe(params.get("timeframe").unwrap_or(""))
            .ok_or(Refusal::Unprocessable("invalid timeframe"))?;
        let start = when(params, "start").map_err(|()| Refusal::Unprocessable("invalid start"))?;
        let end = when(params, "end").map_err(|()| Refusal::Unprocessable("invalid end"))?;
        let from = start.unwrap_or_else(|| daily_bar_start(new_york_date(now)));
        let end = end.unwrap_or(now);
        let to = end
            .checked_add(SignedDuration::from_nanos(1))
            .unwrap_or(end);
        let limit = params
            .parse("limit")
            .unwrap_or(DEFAULT_LIMIT)
            .clamp(1, MAX_LIMIT);
        let after = match params.get("page_token") {
            None => None,
            Some(token) => Some(bar_cursor(token).ok_or(Refusal::InvalidToken)?),
        };
        Ok(Self {
            width,
            from,
            to,
            order: sort(params, Order::Asc)?,
            limit,
            after,
        })
    }

    /// One page over `symbols` (sorted), symbol first, and the token of the next one. Only the
    /// page is generated (and one more bar, to know whether there is a next page).
    fn page<'s>(&self, symbols: &'s [String], now: Timestamp) -> Result<BarsPage<'s>, Refusal> {
        let first = match &self.after {
            None => 0,
            Some((symbol, _)) => symbols
                .iter()
                .position(|s| s == symbol)
                .ok_or(Refusal::InvalidToken)?,
        };
        let want = self.limit.saturating_add(1);
        let mut out: Vec<(&str, SynthBar)> = Vec::new();
        for (i, symbol) in symbols.iter().enumerate().skip(first) {
            let (mut from, mut to) = (self.from, self.to);
            if let (true, Some((_, last))) = (i == first, &self.after) {
                match self.order {
                    Order::Asc => {
                        from = from.max(
                            last.checked_add(SignedDuration::from_nanos(1))
                                .unwrap_or(*last),
                        );
                    }
                    Order::Desc => to = to.min(*last),
                }
            }
            let series = Series::new(symbol, self.width, now);
            let page = series.page(from, to, self.order, want - out.len());
            out.extend(page.into_iter().map(|b| (symbol.as_str(), b)));
            if out.len() >= want {
                break;
            }
        }
        let next = if out.len() > self.limit {
            out.truncate(self.limit);
            out.last().map(|(s, b)| encode(&format!("{s}|{}", b.start)))
        } else {
            None
        };
        Ok((out, next))
    }
}

fn bar_cursor(token: &str) -> Option<(String, Timestamp)> {
    let text = decode(token)?;
    let (symbol, start) = text.split_once('|')?;
    Some((symbol.to_owned(), start.parse().ok()?))
}

fn token_json(token: Option<&String>) -> String {
    token.map_or_else(|| "null".to_owned(), |t| string(t))
}

/// Multi-symbol bars: `{"bars": {"SYM": [...]}, "next_page_token": ...}`, symbols in order.
async fn bars_multi(State(shared): State<Arc<Shared>>, params: Params) -> Response {
    let now = shared.now();
    let query = match BarsQuery::parse(&params, now) {
        Ok(q) => q,
        Err(refusal) => return refusal.answer(),
    };
    let mut symbols: Vec<String> = params
        .list("symbols")
        .into_iter()
        .filter(|s| market::known(s))
        .collect();
    symbols.sort();
    symbols.dedup();
    let (page, next) = match query.page(&symbols, now) {
        Ok(p) => p,
        Err(refusal) => return refusal.answer(),
    };
    let mut map = Obj::new();
    let mut rest = page.as_slice();
    while let Some((symbol, _)) = rest.first() {
        let run = rest.iter().take_while(|(s, _)| s == symbol).count();
        let (these, after) = rest.split_at(run);
        map = map.raw(symbol, &array(these.iter().map(|(_, b)| bar_json(b))));
        rest = after;
    }
    ok(Obj::new()
        .raw("bars", &map.finish())
        .raw("next_page_token", &token_json(next.as_ref()))
        .finish())
}

/// Single-symbol bars: `{"bars": [...] | null, "symbol", "next_page_token"}`.
async fn bars_single(
    State(shared): State<Arc<Shared>>,
    Path(symbol): Path<String>,
    params: Params,
) -> Response {
    let now = shared.now();
    let symbol = path_symbol(&symbol);
    let query = match BarsQuery::parse(&params, now) {
        Ok(q) => q,
        Err(refusal) => return refusal.answer(),
    };
    let symbols: Vec<String> = if market::known(&symbol) {
        vec![symbol.clone()]
    } else {
        Vec::new()
    };
    let (page, next) = match query.page(&symbols, now) {
        Ok(p) => p,
        Err(refusal) => return refusal.answer(),
    };
    let bars = if page.is_empty() {
        "null".to_owned()
    } else {
        array(page.iter().map(|(_, b)| bar_json(b)))
    };
    ok(Obj::new()
        .raw("bars", &bars)
        .str("symbol", &symbol)
        .raw("next_page_token", &token_json(next.as_ref()))
        .finish())
}

/// News sorted by time (`desc` by default) then id, across symbols; paged by the last
/// article served.
async fn news_page(State(shared): State<Arc<Shared>>, params: Params) -> Response {
    let now = shared.now();
    let order = match sort(&params, Order::Desc) {
        Ok(o) => o,
        Err(refusal) => return refusal.answer(),
    };
    let (Ok(start), Ok(end)) = (when(&params, "start"), when(&params, "end")) else {
        return unprocessable("invalid start or end");
    };
    let from = start.unwrap_or_else(|| daily_bar_start(Date::constant(2015, 1, 1)));
    let end = end.unwrap_or(now).min(now);
    let mut to = end
        .checked_add(SignedDuration::from_nanos(1))
        .unwrap_or(end);
    let mut from = from;
    let limit = params
        .parse("limit")
        .unwrap_or(DEFAULT_NEWS_LIMIT)
        .clamp(1, MAX_NEWS_LIMIT);
    let after = match params.get("page_token") {
        None => None,
        Some(token) => match news_cursor(token) {
            Some(c) => Some(c),
            None => return invalid_token(),
        },
    };
    // Articles at the cursor's instant are still candidates (told apart by id).
    if let Some((at, _)) = after {
        match order {
            Order::Asc => from = from.max(at),
            Order::Desc => to = to.min(at.checked_add(SignedDuration::from_nanos(1)).unwrap_or(at)),
        }
    }
    let key = |a: &SynthArticle| (a.published_at, a.id);
    let past = |a: &SynthArticle| match (after, order) {
        (None, _) => true,
        (Some(c), Order::Asc) => key(a) > c,
        (Some((t, id)), Order::Desc) => a.published_at < t || (a.published_at == t && a.id > id),
    };
    let mut all: Vec<SynthArticle> = params
        .list("symbols")
        .iter()
        .filter(|s| market::known(s))
        .flat_map(|s| market::news(s, from, to, order, limit.saturating_add(2)))
        .filter(past)
        .collect();
    all.sort_by(|a, b| match order {
        Order::Asc => key(a).cmp(&key(b)),
        Order::Desc => b.published_at.cmp(&a.published_at).then(a.id.cmp(&b.id)),
    });
    let next = (all.len() > limit)
        .then(|| all.get(limit - 1))
        .flatten()
        .map(|a| encode(&format!("N|{}|{}", a.published_at, a.id)));
    all.truncate(limit);
    let with_content = params.get("include_content") == Some("true");
    let items = all.iter().map(|a| {
        let created = a.published_at.to_string();
        let obj = Obj::new()
            .uint("id", a.id)
            .str("headline", &a.headline)
            .str("author", "Sandbox Desk")
            .str("created_at", &created)
            .str("updated_at", &created)
            .str("summary", &a.summary);
        // Always present (alpaca-py's `News` requires it, and its fixture has `"content": ""`),
        // empty unless asked for.
        let content = if with_content { a.summary.as_str() } else { "" };
        let obj = obj.str("content", content);
        obj.str("url", &a.url)
            .raw("images", "[]")
            .raw("symbols", &array([string(&a.symbol)]))
            .str("source", "stockdata sandbox")
            .finish()
    });
    ok(Obj::new()
        .raw("news", &array(items))
        .raw("next_page_token", &token_json(next.as_ref()))
        .finish())
}

fn news_cursor(token: &str) -> Option<(Timestamp, u64)> {
    let text = decode(token)?;
    let mut parts = text.split('|');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("N"), Some(at), Some(id), None) => Some((at.parse().ok()?, id.parse().ok()?)),
        _ => None,
    }
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding, as Alpaca's tokens are written.
fn encode(text: &str) -> String {
    let mut out = String::new();
    for chunk in text.as_bytes().chunks(3) {
        let bytes = [0, 1, 2].map(|i| chunk.get(i).copied().unwrap_or(0));
        let n = u32::from(bytes[0]) << 16 | u32::from(bytes[1]) << 8 | u32::from(bytes[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let index = usize::try_from(n >> (18 - 6 * i) & 63).unwrap_or(0);
                out.push(char::from(BASE64.get(index).copied().unwrap_or(b'A')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The text of a token [`encode`] wrote; `None` for anything else.
fn decode(token: &str) -> Option<String> {
    let body = token.trim_end_matches('=');
    if !token.len().is_multiple_of(4) || token.len() - body.len() > 2 {
        return None;
    }
    let mut bits: u32 = 0;
    let mut count = 0;
    let mut out = Vec::new();
    for c in body.bytes() {
        let value = BASE64.iter().position(|b| *b == c)?;
        bits = bits << 6 | u32::try_from(value).ok()?;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push(u8::try_from(bits >> count & 0xff).ok()?);
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use serde_json::Value;

    use crate::testing::{Sim, get, keys};
    use crate::{Faults, Quotas};

    const KEYS: [(&str, &str); 2] = [("apca-api-key-id", "k"), ("apca-api-secret-key", "s")];

    async fn json(sim: &Sim, uri: &str) -> Value {
        let a = get(sim, uri, &KEYS).await;
        assert_eq!(a.status, StatusCode::OK, "{uri}: {}", a.text());
        a.json().unwrap()
    }

    #[tokio::test]
    async fn every_endpoint_the_adapter_calls_answers() {
        let sim = Sim::new(None, Faults::default());
        let snap = json(
            &sim,
            "/alpaca/v2/stocks/snapshots?symbols=AAPL,ZZZZ&feed=iex",
        )
        .await;
        assert_eq!(snap["AAPL"]["latestTrade"]["p"], 72.47);
        assert!(snap["ZZZZ"].is_null());
        let uri = "/alpaca/v2/stocks/bars?symbols=MSFT&timeframe=1Day\
             &start=2024-02-01T05:00:00Z&end=2024-03-09T04:59:59Z&limit=10&adjustment=raw\
             &feed=iex&sort=asc";
        let mut dates = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = match &token {
                None => json(&sim, uri).await,
                Some(t) => json(&sim, &format!("{uri}&page_token={t}")).await,
            };
            let bars = page["bars"]["MSFT"].as_array().unwrap();
            assert!(bars.len() <= 10);
            dates.extend(bars.iter().map(|b| b["t"].as_str().unwrap().to_owned()));
            match page["next_page_token"].as_str() {
                Some(t) => {
                    token = Some(url::form_urlencoded::byte_serialize(t.as_bytes()).collect())
                }
                None => break,
            }
        }
        // 26 sessions from 2024-02-01 to 2024-03-08: 27 weekdays less Presidents' Day (02-19).
        assert_eq!(dates.len(), 26);
        assert_eq!(dates.first().unwrap(), "2024-02-01T05:00:00Z");
        assert_eq!(dates.last().unwrap(), "2024-03-08T05:00:00Z");
        let news = json(
            &sim,
            "/alpaca/v1beta1/news?symbols=NVDA\
             &start=2024-03-07T00:00:00Z&end=2024-03-08T21:30:00Z&limit=50&sort=desc",
        )
        .await;
        assert_eq!(news["news"].as_array().unwrap().len(), 4);
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
        for (query, status, message) in [
            (
                "timeframe=2Day",
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid timeframe",
            ),
            (
                "timeframe=60Min",
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid timeframe",
            ),
            (
                "timeframe=5Month",
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid timeframe",
            ),
            (
                "timeframe=1Day&start=2024-03-08T00:00:00",
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid start",
            ),
            (
                "timeframe=1Day&sort=up",
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid sort",
            ),
            (
                "timeframe=1Day&page_token=bm9wZQ==",
                StatusCode::BAD_REQUEST,
                "invalid page token",
            ),
            (
                "timeframe=1Day&page_token=%%%",
                StatusCode::BAD_REQUEST,
                "invalid page token",
            ),
        ] {
            let a = get(
                &sim,
                &format!("/alpaca/v2/stocks/bars?symbols=A&{query}"),
                &KEYS,
            )
            .await;
            assert_eq!(a.status, status, "{query}");
            assert_eq!(a.json().unwrap()["message"], message, "{query}");
        }
        for timeframe in [
            "1Min", "59T", "1Hour", "23H", "1D", "1W", "1M", "3Month", "12M",
        ] {
            let uri = format!("/alpaca/v2/stocks/AAPL/bars?timeframe={timeframe}");
            assert_eq!(
                get(&sim, &uri, &KEYS).await.status,
                StatusCode::OK,
                "{timeframe}"
            );
        }
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
        let second = get(&sim, "/alpaca/v2/stocks/AAPL/bars?timeframe=9Day", &KEYS).await;
        assert_eq!(second.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(second.header("x-ratelimit-remaining"), Some("0"));
        let refused = get(&sim, uri, &KEYS).await;
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.text(), "too many requests");
        assert_eq!(refused.header("x-ratelimit-remaining"), Some("0"));
        let reset: i64 = refused
            .header("x-ratelimit-reset")
            .unwrap()
            .parse()
            .unwrap();
        let wall = jiff::Timestamp::now().as_second();
        assert!((wall..=wall + 61).contains(&reset), "{reset} vs {wall}");
    }

    #[tokio::test]
    async fn a_404_costs_no_quota() {
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
            "/alpaca/v2/stocks/AAPL/orderbook",
            "/alpaca/v1/news",
        ] {
            let a = get(&sim, path, &KEYS).await;
            assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}");
            assert_eq!(a.header("x-ratelimit-remaining"), None, "{path}");
        }
        // An endpoint's own 404 (no such symbol) carries the headers, and costs nothing.
        for path in [
            "/alpaca/v2/stocks/ZZZZ/quotes/latest",
            "/alpaca/v2/stocks/ZZZZ/trades/latest",
            "/alpaca/v2/stocks/ZZZZ/snapshot",
            "/alpaca/v2/stocks/ZZZZ/bars/latest",
        ] {
            let a = get(&sim, path, &KEYS).await;
            assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}");
            assert_eq!(a.header("x-ratelimit-remaining"), Some("1"), "{path}");
            assert!(a.json().unwrap()["message"].is_string());
        }
        let uri = "/alpaca/v2/stocks/snapshots?symbols=AAPL";
        assert_eq!(get(&sim, uri, &KEYS).await.status, StatusCode::OK);
        assert_eq!(
            get(&sim, uri, &KEYS).await.status,
            StatusCode::TOO_MANY_REQUESTS
        );
        // What a bot's test asks: admitted and refused, the 404s not counted.
        let stats = get(&sim, "/_sandbox/stats", &[]).await.json().unwrap();
        assert_eq!(stats["providers"]["alpaca"]["admitted"], 1, "{stats}");
        assert_eq!(stats["providers"]["alpaca"]["refused"], 1, "{stats}");
    }

    #[tokio::test]
    async fn latest_quotes_and_trades_have_the_samples_shapes() {
        let sim = Sim::new(None, Faults::default());
        let multi = get(
            &sim,
            "/alpaca/v2/stocks/quotes/latest?symbols=AAPL,ZZZZ,MSFT&feed=iex",
            &KEYS,
        )
        .await;
        let text = multi.text();
        assert_eq!(keys(&text, ""), ["quotes"]);
        assert_eq!(
            keys(&text, "/quotes"),
            ["AAPL", "MSFT"],
            "unknown symbols are absent"
        );
        assert_eq!(
            keys(&text, "/quotes/AAPL"),
            ["t", "ax", "ap", "as", "bx", "bp", "bs", "c", "z"]
        );
        let quote = &multi.json().unwrap()["quotes"]["AAPL"];
        assert_eq!(quote["t"], "2024-03-08T21:00:00Z");
        assert_eq!(
            (quote["bp"].as_f64(), quote["ap"].as_f64()),
            (Some(72.44), Some(72.5))
        );
        let trades = get(
            &sim,
            "/alpaca/v2/stocks/trades/latest?symbols=AAPL,TSLA",
            &KEYS,
        )
        .await;
        let text = trades.text();
        assert_eq!(keys(&text, "/trades"), ["AAPL", "TSLA"]);
        assert_eq!(
            keys(&text, "/trades/TSLA"),
            ["t", "x", "p", "s", "c", "i", "z"]
        );
        assert_eq!(trades.json().unwrap()["trades"]["AAPL"]["p"], 72.47);
        let none = json(&sim, "/alpaca/v2/stocks/trades/latest?symbols=ZZZZ").await;
        assert_eq!(none, serde_json::json!({"trades": {}}));
        let single = get(&sim, "/alpaca/v2/stocks/aapl/quotes/latest", &KEYS).await;
        assert_eq!(keys(&single.text(), ""), ["symbol", "quote"]);
        assert_eq!(single.json().unwrap()["symbol"], "AAPL");
        let single = get(&sim, "/alpaca/v2/stocks/AAPL/trades/latest", &KEYS).await;
        assert_eq!(keys(&single.text(), ""), ["symbol", "trade"]);
        let bar = get(&sim, "/alpaca/v2/stocks/AAPL/bars/latest", &KEYS).await;
        assert_eq!(bar.json().unwrap()["bar"]["t"], "2024-03-08T20:59:00Z");
        let bars = json(&sim, "/alpaca/v2/stocks/bars/latest?symbols=AAPL,ZZZZ").await;
        assert_eq!(bars["bars"]["AAPL"]["t"], "2024-03-08T20:59:00Z");
        assert!(bars["bars"].get("ZZZZ").is_none());
        let snapshot = get(&sim, "/alpaca/v2/stocks/AAPL/snapshot", &KEYS).await;
        assert_eq!(
            keys(&snapshot.text(), ""),
            [
                "symbol",
                "latestTrade",
                "latestQuote",
                "minuteBar",
                "dailyBar",
                "prevDailyBar"
            ]
        );
        assert_eq!(
            keys(&snapshot.text(), "/dailyBar"),
            ["t", "o", "h", "l", "c", "v", "n", "vw"]
        );
    }

    #[tokio::test]
    async fn snapshots_at_ten_hold_the_session_so_far() {
        // Friday 2024-03-08, 10:00:30 New York.
        let sim = Sim::at("2024-03-08T15:00:30Z");
        let snap = json(&sim, "/alpaca/v2/stocks/snapshots?symbols=AAPL").await;
        let s = &snap["AAPL"];
        assert_eq!(
            s["minuteBar"]["t"], "2024-03-08T14:59:00Z",
            "the last minute ended"
        );
        assert_eq!(s["dailyBar"]["t"], "2024-03-08T05:00:00Z");
        assert_eq!(s["prevDailyBar"]["t"], "2024-03-07T05:00:00Z");
        assert_eq!(s["latestTrade"]["t"], "2024-03-08T15:00:00Z");
        assert_eq!(s["latestTrade"]["p"], s["minuteBar"]["c"]);
        assert_eq!(s["dailyBar"]["c"], s["minuteBar"]["c"]);
        let full = crate::market::daily("AAPL", "2024-03-08".parse().unwrap());
        assert!(s["dailyBar"]["v"].as_u64().unwrap() < full.volume);
        // Thirty minutes of the session, summed.
        let minutes = json(&sim, "/alpaca/v2/stocks/AAPL/bars?timeframe=1Min").await;
        let minutes = minutes["bars"].as_array().unwrap();
        assert_eq!(
            minutes.len(),
            30,
            "start defaults to the beginning of the day"
        );
        let volume: u64 = minutes.iter().map(|b| b["v"].as_u64().unwrap()).sum();
        assert_eq!(s["dailyBar"]["v"].as_u64(), Some(volume));
        let day = json(&sim, "/alpaca/v2/stocks/AAPL/bars?timeframe=1Day").await;
        assert_eq!(day["bars"][0], s["dailyBar"]);
        // Before the open, today's session does not exist: the bars are null.
        let early = Sim::at("2024-03-08T14:00:00Z");
        let none = json(&early, "/alpaca/v2/stocks/AAPL/bars?timeframe=1Min").await;
        assert_eq!(none["bars"], Value::Null);
        assert_eq!(none["symbol"], "AAPL");
        let snap = json(&early, "/alpaca/v2/stocks/snapshots?symbols=AAPL").await;
        assert_eq!(snap["AAPL"]["dailyBar"]["t"], "2024-03-07T05:00:00Z");
        assert_eq!(snap["AAPL"]["minuteBar"]["t"], "2024-03-07T20:59:00Z");
    }

    /// Pages through `uri` (without `page_token`): every page's bars, per symbol, in order.
    async fn pages(sim: &Sim, uri: &str, limit: usize) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let answer = match &token {
                None => get(sim, uri, &KEYS).await,
                Some(t) => get(sim, &format!("{uri}&page_token={t}"), &KEYS).await,
            };
            let text = answer.text();
            let page = answer.json().unwrap();
            let map = page["bars"].as_object().unwrap();
            let count: usize = map.values().map(|v| v.as_array().unwrap().len()).sum();
            assert!(count <= limit, "{count} > {limit}");
            for symbol in keys(&text, "/bars") {
                for b in map[&symbol].as_array().unwrap() {
                    out.push((symbol.clone(), b["t"].as_str().unwrap().to_owned()));
                }
            }
            match page["next_page_token"].as_str() {
                Some(t) => {
                    assert_eq!(count, limit, "only the last page is short");
                    token = Some(url::form_urlencoded::byte_serialize(t.as_bytes()).collect());
                }
                None => break,
            }
        }
        out
    }

    #[tokio::test]
    async fn pages_hold_every_bar_exactly_once_in_either_order() {
        let sim = Sim::new(None, Faults::default());
        let base = "/alpaca/v2/stocks/bars?symbols=MSFT,AAPL,ZZZZ,MSFT&timeframe=5Min\
                    &start=2024-03-04T00:00:00Z&end=2024-03-08T23:00:00Z";
        let asc = pages(&sim, &format!("{base}&limit=333"), 333).await;
        assert_eq!(
            asc.len(),
            2 * 5 * 78,
            "two symbols, five sessions of 78 bars"
        );
        let symbols: Vec<&str> = asc.iter().map(|(s, _)| s.as_str()).collect();
        assert!(symbols.windows(2).all(|w| w[0] <= w[1]), "symbol first");
        let mut sorted = asc.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, asc, "sorted by symbol then time, none twice");
        let desc = pages(&sim, &format!("{base}&limit=100&sort=desc"), 100).await;
        let mut reversed: Vec<(String, String)> = desc.clone();
        reversed.sort();
        assert_eq!(reversed, asc);
        assert_eq!(
            desc[0],
            ("AAPL".to_owned(), "2024-03-08T20:55:00Z".to_owned())
        );
        // The last `symbols` wins: one symbol, five sessions, one bar a page.
        let one = pages(&sim, &format!("{base}&limit=1&sort=desc&symbols=AAPL"), 1).await;
        assert_eq!(one.len(), 5 * 78);
    }

    #[tokio::test]
    async fn a_long_one_minute_range_is_paged_not_truncated() {
        let sim = Sim::new(None, Faults::default());
        let uri = "/alpaca/v2/stocks/AAPL/bars?timeframe=1Min\
                   &start=2000-01-01T00:00:00Z&end=2024-03-08T21:00:00Z&limit=10000";
        let started = std::time::Instant::now();
        let first = json(&sim, uri).await;
        let bars = first["bars"].as_array().unwrap();
        assert_eq!(bars.len(), 10_000);
        assert_eq!(bars[0]["t"], "2000-01-03T14:30:00Z");
        let token = first["next_page_token"].as_str().unwrap();
        let token: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
        let second = json(&sim, &format!("{uri}&page_token={token}")).await;
        let next = second["bars"].as_array().unwrap();
        assert_eq!(next.len(), 10_000);
        assert!(next[0]["t"].as_str() > bars[9_999]["t"].as_str());
        let last = json(&sim, &format!("{uri}&sort=desc&limit=5")).await;
        assert_eq!(last["bars"][0]["t"], "2024-03-08T20:59:00Z");
        println!(
            "three pages of a 24-year 1Min range: {:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn news_pages_either_way() {
        let sim = Sim::new(None, Faults::default());
        let base = "/alpaca/v1beta1/news?symbols=NVDA,AAPL,ZZZZ\
                    &start=2024-02-01T00:00:00Z&end=2024-03-08T21:30:00Z&limit=7";
        for sort in ["desc", "asc", "DESC"] {
            let mut seen: Vec<(String, u64)> = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let uri = format!("{base}&sort={sort}");
                let page = match &token {
                    None => json(&sim, &uri).await,
                    Some(t) => json(&sim, &format!("{uri}&page_token={t}")).await,
                };
                let items = page["news"].as_array().unwrap();
                assert!(items.len() <= 7);
                seen.extend(items.iter().map(|a| {
                    (
                        a["created_at"].as_str().unwrap().to_owned(),
                        a["id"].as_u64().unwrap(),
                    )
                }));
                match page["next_page_token"].as_str() {
                    Some(t) => {
                        token = Some(url::form_urlencoded::byte_serialize(t.as_bytes()).collect())
                    }
                    None => break,
                }
            }
            // 37 days of two stories for two symbols.
            assert_eq!(seen.len(), 37 * 2 * 2, "{sort}");
            let mut unique = seen.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), seen.len(), "{sort}: none twice");
            let times: Vec<&String> = seen.iter().map(|(t, _)| t).collect();
            if sort == "asc" {
                assert!(times.windows(2).all(|w| w[0] <= w[1]));
            } else {
                assert!(times.windows(2).all(|w| w[0] >= w[1]));
            }
        }
        let default = json(&sim, "/alpaca/v1beta1/news?symbols=NVDA").await;
        let items = default["news"].as_array().unwrap();
        assert_eq!(items.len(), 10);
        assert_eq!(
            items[0]["created_at"], "2024-03-08T20:35:00Z",
            "newest first, none after now"
        );
        assert_eq!(items[0]["content"], "");
        let content = json(
            &sim,
            "/alpaca/v1beta1/news?symbols=NVDA&include_content=true",
        )
        .await;
        assert!(content["news"][0]["content"].is_string());
        // At 10:00 New York the day's 13:05 UTC story is not out yet.
        let morning = Sim::at("2024-03-08T13:00:00Z");
        let early = json(&morning, "/alpaca/v1beta1/news?symbols=NVDA&limit=1").await;
        assert_eq!(early["news"][0]["created_at"], "2024-03-07T20:35:00Z");
    }

    #[test]
    fn tokens_round_trip_and_strangers_are_refused() {
        for text in ["", "M", "ME", "MET", "META|2022-06-09T04:00:00Z", "N|x|1 ü"] {
            assert_eq!(super::decode(&super::encode(text)).as_deref(), Some(text));
        }
        assert_eq!(super::encode("META|D"), "TUVUQXxE");
        assert_eq!(
            super::decode("TUVUQXxEfDIwMjItMDYtMDlUMDQ6MDA6MDAuMDAwMDAwMDAwWg=="),
            Some("META|D|2022-06-09T04:00:00.000000000Z".to_owned())
        );
        for bad in ["abc", "a===", "%%%%", "sbx10"] {
            assert_eq!(super::decode(bad), None, "{bad}");
        }
        assert_eq!(super::bar_cursor("bm9wZQ=="), None);
    }
}
