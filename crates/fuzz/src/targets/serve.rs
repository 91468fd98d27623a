//! `stockdata serve` requests: the request line (method, path, raw query string) and headers
//! (`X-Request-Id`, `Authorization`, `Accept`, any other), driven through the real router and
//! guards in-process, over fake ports that answer at once.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri, header};
use rust_decimal::Decimal;
use secrecy::SecretString;
use stockdata_app::StockData;
use stockdata_app::config::ServeConfig;
use stockdata_app::ports::{BarSource, Capabilities, FixedClock, NewsSource, QuoteSource};
use stockdata_app::serve::{self, MAX_REQUEST_ID_LEN};
use stockdata_domain::{
    Bar, BarQuery, ErrorKind, FetchError, Interval, NewsArticle, NewsQuery, Provenance, ProviderId,
    Quote, Symbol, Timestamp,
};
use tower::ServiceExt as _;

use super::{SERVE_TOKEN as TOKEN, Target};

pub(crate) const SERVE_REQUEST: Target = Target {
    name: "serve_request",
    about: "serve request line, query string and headers -> a documented status and envelope",
    check,
};

/// What the service may answer with fakes that always answer: success, the client's errors,
/// and overload.
const STATUSES: [u16; 9] = [200, 400, 401, 404, 405, 413, 414, 431, 503];

/// Bytes read of a response body at most.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// "now" for the service.
fn now() -> Timestamp {
    Timestamp::from_second(1_709_933_400).unwrap_or(Timestamp::UNIX_EPOCH) // 2024-03-08T21:30:00Z
}

fn provenance() -> Provenance {
    Provenance::new(ProviderId::new("canned"), now())
}

/// A source behind all three ports with instant canned answers, chosen by the symbol's first
/// letter: `Z` unknown, `R` rate limited, `N` no data, anything else data.
#[derive(Debug)]
struct Canned {
    caps: Capabilities,
}

impl Canned {
    fn new() -> Self {
        Self {
            caps: Capabilities {
                intervals: Interval::ALL.to_vec(),
                ..Capabilities::single_symbol()
            },
        }
    }

    fn refusal(symbol: &Symbol) -> Option<FetchError> {
        match symbol.as_str().as_bytes().first() {
            Some(b'Z') => Some(FetchError::UnknownSymbol {
                symbol: symbol.clone(),
            }),
            Some(b'R') => Some(FetchError::RateLimited {
                retry_after: Some(Duration::from_secs(7)),
            }),
            Some(b'N') => Some(FetchError::NoData),
            _ => None,
        }
    }
}

#[async_trait]
impl QuoteSource for Canned {
    fn provider(&self) -> ProviderId {
        ProviderId::new("canned")
    }
    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }
    async fn quote(&self, symbol: &Symbol) -> Result<Quote, FetchError> {
        if let Some(e) = Self::refusal(symbol) {
            return Err(e);
        }
        Ok(Quote {
            symbol: symbol.clone(),
            price: Decimal::new(18_998, 2),
            bid: Some(Decimal::new(18_997, 2)),
            bid_size: Some(300),
            ask: None,
            ask_size: None,
            open: None,
            high: None,
            low: None,
            previous_close: None,
            change: None,
            change_percent: None,
            volume: Some(48_213_900),
            as_of: now(),
            provenance: provenance(),
        })
    }
}

#[async_trait]
impl BarSource for Canned {
    fn provider(&self) -> ProviderId {
        ProviderId::new("canned")
    }
    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }
    async fn bars(&self, query: &BarQuery) -> Result<Vec<Bar>, FetchError> {
        if let Some(e) = Self::refusal(&query.symbol) {
            return Err(e);
        }
        let price = Decimal::new(16_915, 2);
        Ok(vec![Bar {
            symbol: query.symbol.clone(),
            interval: query.interval,
            start: query.range.start(),
            open: price,
            high: price,
            low: price,
            close: price,
            volume: 71_765_100,
            vwap: None,
            trades: Some(812_345),
            provenance: provenance(),
        }])
    }
}

#[async_trait]
impl NewsSource for Canned {
    fn provider(&self) -> ProviderId {
        ProviderId::new("canned")
    }
    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }
    /// A whole news request only fails with `no_data` (404): a rate limit would be a 429,
    /// which this target does not expect.
    async fn news(&self, query: &NewsQuery) -> Result<Vec<NewsArticle>, FetchError> {
        let Some(first) = query.symbols.first() else {
            return Ok(Vec::new());
        };
        if first.as_str().starts_with('N') {
            return Err(FetchError::NoData);
        }
        Ok(vec![NewsArticle {
            id: "canned:1".to_owned(),
            headline: "Canned headline".to_owned(),
            summary: String::new(),
            url: "https://news.invalid/1".to_owned(),
            source: "canned".to_owned(),
            published_at: query.range.start(),
            symbols: query.symbols.clone(),
            author: None,
            image: None,
            sentiment: None,
            provenance: provenance(),
        }])
    }
}

/// A current-thread runtime and two routers over the same fakes: one open (the default serve
/// config, as on loopback), one requiring [`TOKEN`].
struct Harness {
    runtime: tokio::runtime::Runtime,
    open: Router,
    guarded: Router,
}

fn harness() -> Result<Harness, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| format!("cannot build a runtime: {e}"))?;
    let entered = runtime.enter();
    let canned = Arc::new(Canned::new());
    let build = || {
        StockData::builder()
            .clock(Arc::new(FixedClock(now())))
            .quote_source(Arc::clone(&canned) as Arc<dyn QuoteSource>)
            .bar_source(Arc::clone(&canned) as Arc<dyn BarSource>)
            .news_source(Arc::clone(&canned) as Arc<dyn NewsSource>)
            .build()
            .map_err(|e| format!("cannot build StockData: {e}"))
    };
    let open = serve::router(build()?, ServeConfig::default());
    let guarded = serve::router(
        build()?,
        ServeConfig {
            tokens: vec![SecretString::from(TOKEN)],
            ..ServeConfig::default()
        },
    );
    drop(entered);
    Ok(Harness {
        runtime,
        open,
        guarded,
    })
}

thread_local! {
    /// Built once per thread (the engine runs each target on one thread).
    static HARNESS: Result<Harness, String> = harness();
}

/// `text` with every byte a URI cannot hold percent-encoded (`%` itself is kept: an escape
/// the input wrote stays one).
fn encode(text: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text {
        if b.is_ascii_graphic() && b != b'#' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The request an input stands for, or `None` when it is not one `http` can represent.
///
/// Line 1 is `[METHOD ]PATH[?QUERY]` (GET when no method is given; a path not starting with
/// `/` gets one); the query string is used as written when the URI takes it, else with the
/// bytes it refuses percent-encoded. Every further line is a header, `Name: value`; lines
/// whose name or value `http` refuses are skipped.
fn request(input: &[u8]) -> Option<Request<Body>> {
    let mut lines = input.split(|&b| b == b'\n');
    let first = lines.next().unwrap_or_default();
    let (method, target) = match first.iter().position(|&b| b == b' ') {
        Some(i) if first.first() != Some(&b'/') => (
            Method::from_bytes(first.get(..i)?).ok()?,
            first.get(i + 1..)?,
        ),
        _ => (Method::GET, first),
    };
    let (path, query) = match target.iter().position(|&b| b == b'?') {
        Some(i) => (target.get(..i)?, target.get(i + 1..)),
        None => (target, None),
    };
    let slash = if path.first() == Some(&b'/') { "" } else { "/" };
    let path = encode(path);
    let uri = match query {
        None => Uri::try_from(format!("{slash}{path}")).ok()?,
        Some(q) => {
            let raw = [format!("{slash}{path}?").as_bytes(), q].concat();
            match Uri::try_from(raw) {
                Ok(uri) => uri,
                Err(_) => Uri::try_from(format!("{slash}{path}?{}", encode(q))).ok()?,
            }
        }
    };
    let mut builder = Request::builder().method(method).uri(uri);
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = line.get(..colon).unwrap_or_default();
        let value = line.get(colon + 1..).unwrap_or_default();
        let value = value.strip_prefix(b" ").unwrap_or(value);
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            builder = builder.header(name, value);
        }
    }
    builder.body(Body::empty()).ok()
}

/// Whether the request carries `Authorization: Bearer TOKEN` (the first such header).
fn carries_token(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return false;
    };
    let value = value.as_bytes();
    let Some(space) = value.iter().position(|&b| b == b' ') else {
        return false;
    };
    let (scheme, rest) = value.split_at(space);
    scheme.eq_ignore_ascii_case(b"bearer") && rest.trim_ascii() == TOKEN.as_bytes()
}

/// A response, as far as the checks need it.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

fn send(
    runtime: &tokio::runtime::Runtime,
    router: &Router,
    request: Request<Body>,
) -> Result<Answer, String> {
    runtime.block_on(async {
        let response = router
            .clone()
            .oneshot(request)
            .await
            .map_err(|e| format!("the router failed: {e}"))?;
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, MAX_BODY)
            .await
            .map_err(|e| format!("the body cannot be read: {e}"))?;
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body: body.to_vec(),
        })
    })
}

/// The `error` object of the envelope: `kind` (a `FetchError` kind), `message`, and only the
/// documented optional fields.
fn error_object(error: &serde_json::Value) -> Result<&str, String> {
    let object = error.as_object().ok_or("error is not an object")?;
    let kind = object
        .get("kind")
        .and_then(serde_json::Value::as_str)
        .ok_or("error.kind is not a string")?;
    if ErrorKind::from_name(kind).is_none() {
        return Err(format!("error.kind {kind:?} is not a FetchError kind"));
    }
    if !object
        .get("message")
        .is_some_and(serde_json::Value::is_string)
    {
        return Err("error.message is not a string".to_owned());
    }
    for (key, value) in object {
        let ok = match key.as_str() {
            "kind" | "message" => true,
            "retry_after_s" => value.is_number() || value.is_null(),
            "status" => value.is_u64(),
            "resets_at" => value.is_string(),
            _ => false,
        };
        if !ok {
            return Err(format!("error.{key} is not documented: {value}"));
        }
    }
    Ok(kind)
}

/// The checks every answer passes.
fn answer_is_documented(
    request_id: Option<&HeaderValue>,
    path: &str,
    a: &Answer,
) -> Result<(), String> {
    let status = a.status.as_u16();
    if !STATUSES.contains(&status) {
        return Err(format!(
            "status {status}: {}",
            String::from_utf8_lossy(&a.body)
        ));
    }
    let ids: Vec<&HeaderValue> = a.headers.get_all("x-request-id").iter().collect();
    let [id] = ids.as_slice() else {
        return Err(format!("{} X-Request-Id headers: {ids:?}", ids.len()));
    };
    let id = id.as_bytes();
    if !(1..=MAX_REQUEST_ID_LEN).contains(&id.len()) || !id.iter().all(u8::is_ascii_graphic) {
        return Err(format!(
            "echoed X-Request-Id {:?}",
            String::from_utf8_lossy(id)
        ));
    }
    if let Some(given) = request_id
        && (1..=MAX_REQUEST_ID_LEN).contains(&given.len())
        && given.as_bytes().iter().all(u8::is_ascii_graphic)
        && given.as_bytes() != id
    {
        return Err(format!(
            "X-Request-Id {given:?} echoed as {:?}",
            String::from_utf8_lossy(id)
        ));
    }
    let json = a
        .headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"application/json"));
    if !json {
        return Ok(());
    }
    let body: serde_json::Value = serde_json::from_slice(&a.body).map_err(|e| {
        format!(
            "a JSON answer that is not JSON ({e}): {}",
            String::from_utf8_lossy(&a.body)
        )
    })?;
    if status == 200 {
        return results_are_documented(path, &body);
    }
    let object = body.as_object().ok_or("the envelope is not an object")?;
    let error = match (object.len(), object.get("error")) {
        (1, Some(error)) => error,
        _ => {
            return Err(format!(
                "status {status} without the error envelope: {body}"
            ));
        }
    };
    let kind = error_object(error).map_err(|e| format!("status {status}: {e}: {body}"))?;
    let expected = match status {
        400 => Some("invalid_request"),
        401 => Some("unauthorized"),
        _ => None,
    };
    if expected.is_some_and(|k| k != kind) {
        return Err(format!("status {status} with kind {kind}: {body}"));
    }
    Ok(())
}

/// A 200 from a data endpoint: one entry per symbol, each with its data or its error.
fn results_are_documented(path: &str, body: &serde_json::Value) -> Result<(), String> {
    let data = match path {
        "/v1/quotes" => "quote",
        "/v1/bars" => "bars",
        "/v1/news" => {
            return if body
                .get("articles")
                .is_some_and(serde_json::Value::is_array)
            {
                Ok(())
            } else {
                Err(format!("news without articles: {body}"))
            };
        }
        _ => return Ok(()),
    };
    let results = body
        .get("results")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| format!("{path} without results: {body}"))?;
    let mut seen = std::collections::HashSet::new();
    for entry in results {
        let symbol = entry
            .get("symbol")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| format!("an entry without its symbol: {entry}"))?;
        if !seen.insert(symbol) {
            return Err(format!("{symbol} answered twice: {body}"));
        }
        match (entry.get(data), entry.get("error")) {
            (Some(_), None) => {}
            (None, Some(error)) => {
                error_object(error).map_err(|e| format!("{symbol}: {e}"))?;
            }
            _ => return Err(format!("{symbol}: neither {data} nor error alone: {entry}")),
        }
    }
    Ok(())
}

/// Input: a request (see [`request`]), sent to both routers.
fn check(input: &[u8]) -> Result<(), String> {
    HARNESS.with(|harness| {
        let h = harness.as_ref().map_err(Clone::clone)?;
        for guarded in [false, true] {
            let Some(request) = request(input) else {
                return Ok(());
            };
            let request_id = request.headers().get("x-request-id").cloned();
            let path = request.uri().path().to_owned();
            let token = carries_token(request.headers());
            let router = if guarded { &h.guarded } else { &h.open };
            let answer = send(&h.runtime, router, request)?;
            answer_is_documented(request_id.as_ref(), &path, &answer)?;
            let status = answer.status.as_u16();
            if !guarded && status == 401 {
                return Err("401 from the router that requires no token".to_owned());
            }
            let data = path.starts_with("/v1/") || path == "/metrics";
            if guarded && data && status == 200 && !token {
                return Err(format!("200 from {path} without the token"));
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine;

    /// The status each seed gets from the open router and from the guarded one: the corpus
    /// reaches every handler, both sides of the auth guard and the input checks, rather than
    /// stopping at a guard.
    #[test]
    fn the_corpus_reaches_the_handlers() {
        let cases: [(&str, u16, u16); 12] = [
            ("quotes", 200, 200),
            ("bars", 200, 200),
            ("news", 200, 200),
            ("per_symbol_errors", 200, 200),
            ("news_no_data", 404, 404),
            ("metrics_accept", 200, 200),
            ("hostile_bars", 400, 401),
            ("bars_budget", 400, 400),
            ("hostile_news", 400, 401),
            ("hostile_symbols", 400, 401),
            ("post", 405, 405),
            ("unknown_path", 404, 404),
        ];
        let dir = engine::corpus_root().join("serve_request");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), cases.len());
        HARNESS.with(|h| {
            let h = h.as_ref().unwrap();
            for (name, open, guarded) in cases {
                let input = std::fs::read(dir.join(name)).unwrap();
                assert_eq!(check(&input), Ok(()), "{name}");
                for (router, want) in [(&h.open, open), (&h.guarded, guarded)] {
                    let answer = send(&h.runtime, router, request(&input).unwrap()).unwrap();
                    assert_eq!(
                        answer.status.as_u16(),
                        want,
                        "{name}: {}",
                        String::from_utf8_lossy(&answer.body)
                    );
                }
            }
        });
    }
}
