//! The four provider dialects, one module each, mirroring `stockdata-adapters-http`'s provider
//! modules: each owns its routes, its query parsing, its auth and quota rules (a `guard`
//! middleware on its routes only, so an unknown path is a 404 that costs no quota) and its
//! wire-shaped answers. Alpaca and Finnhub also stream (`alpaca_stream`, `finnhub_stream`: each
//! its provider's WebSocket protocol over the shared `crate::stream` driver), next to their REST
//! routes and outside their REST quota. This module nests them under their prefixes and holds
//! what they share.

pub(crate) mod alpaca;
mod alpaca_stream;
pub(crate) mod alpha_vantage;
pub(crate) mod finnhub;
mod finnhub_stream;
pub(crate) mod json;
pub(crate) mod serverless;

use std::collections::HashMap;
use std::convert::Infallible;
use std::str::FromStr;
use std::sync::Arc;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::Shared;

/// Each dialect's name, which is also its path prefix, as `Sandbox::base_url` takes them.
pub(crate) const NAMES: [&str; 4] = [
    alpha_vantage::NAME,
    finnhub::NAME,
    alpaca::NAME,
    serverless::NAME,
];

/// Every dialect under its prefix; anything else is a 404 naming the prefixes.
pub(crate) fn routes(shared: &Arc<Shared>) -> Router<Arc<Shared>> {
    let at = |name: &str| format!("/{name}");
    Router::new()
        .nest(&at(alpha_vantage::NAME), alpha_vantage::router(shared))
        .nest(
            &at(finnhub::NAME),
            finnhub::router(shared).merge(finnhub_stream::router()),
        )
        .nest(
            &at(alpaca::NAME),
            alpaca::router(shared).merge(alpaca_stream::router()),
        )
        .nest(&at(serverless::NAME), serverless::router())
        .fallback(unknown_prefix)
}

async fn unknown_prefix() -> Response {
    reply_raw(
        StatusCode::NOT_FOUND,
        r#"{"error":"unknown sandbox path: use /alpha_vantage, /finnhub, /alpaca or /serverless"}"#,
    )
}

/// The query string as a map, percent-decoded with `+` as a space; of a repeated name the last
/// wins. Never rejects: a provider answers a bad parameter in its own words.
#[derive(Debug, Default)]
pub(crate) struct Params(HashMap<String, String>);

impl Params {
    pub(crate) fn of(uri: &Uri) -> Self {
        Self(
            uri.query()
                .map(|q| {
                    url::form_urlencoded::parse(q.as_bytes())
                        .into_owned()
                        .collect()
                })
                .unwrap_or_default(),
        )
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// `name` parsed as a `T`; `None` when absent or unparsable.
    pub(crate) fn parse<T: FromStr>(&self, name: &str) -> Option<T> {
        self.get(name).and_then(|v| v.parse().ok())
    }

    /// `name` as an RFC 3339 instant.
    pub(crate) fn instant(&self, name: &str) -> Option<Timestamp> {
        self.parse(name)
    }

    /// The upper-cased symbols of a comma-separated `name` (`symbols`, `tickers`).
    pub(crate) fn list(&self, name: &str) -> Vec<String> {
        self.get(name)
            .unwrap_or("")
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_ascii_uppercase)
            .collect()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Self::of(&parts.uri))
    }
}

/// An `application/json` answer.
pub(crate) fn reply(status: StatusCode, body: &Value) -> Response {
    with_type(status, body.to_string(), "application/json")
}

/// An `application/json` answer written out by hand.
pub(crate) fn reply_raw(status: StatusCode, body: &'static str) -> Response {
    with_type(status, body.to_owned(), "application/json")
}

/// An `application/json` answer already written as text (in the provider's key order).
pub(crate) fn reply_text_json(status: StatusCode, body: String) -> Response {
    with_type(status, body, "application/json")
}

/// A `text/plain` answer.
pub(crate) fn reply_text(status: StatusCode, body: &'static str) -> Response {
    with_type(status, body.to_owned(), "text/plain")
}

fn with_type(status: StatusCode, body: String, content_type: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response()
}

/// Cents as a JSON number (`7247` → `72.47`), as Finnhub, Alpaca and the serverless schema
/// write prices.
pub(crate) fn num(cents: i64) -> Value {
    #[allow(clippy::cast_precision_loss)]
    let v = cents as f64 / 100.0;
    json!(v)
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use crate::Faults;
    use crate::testing::{Sim, get};

    #[tokio::test]
    async fn unknown_prefixes_are_404_and_name_the_dialects() {
        let sim = Sim::new(None, Faults::default());
        for uri in [
            "/",
            "/query",
            "/api/v1/quote",
            "/v2/stocks/bars",
            "/polygon/v2",
        ] {
            let a = get(&sim, uri, &[]).await;
            assert_eq!(a.status, StatusCode::NOT_FOUND, "{uri}");
            assert!(a.text().contains("/alpha_vantage, /finnhub"), "{uri}");
        }
    }

    /// ARCHITECTURE.md: sandbox data can never pass for real, whichever dialect serves it.
    #[tokio::test]
    async fn every_dialects_news_is_marked_as_sandbox_data() {
        let sim = Sim::new(None, Faults::default());
        // Every dialect's credentials at once: each reads its own and ignores the others.
        let keys = [
            ("apca-api-key-id", "k"),
            ("apca-api-secret-key", "s"),
            ("x-finnhub-token", "k"),
        ];
        let cases = [
            (
                "/alpha_vantage/query?apikey=k\
                 &function=NEWS_SENTIMENT&tickers=NVDA&time_from=20240301T0000",
                "/feed",
                "title",
            ),
            (
                "/finnhub/api/v1/company-news?symbol=NVDA&from=2024-03-01&to=2024-03-08",
                "",
                "headline",
            ),
            (
                "/alpaca/v1beta1/news?symbols=NVDA&start=2024-03-01T00:00:00Z&limit=50",
                "/news",
                "headline",
            ),
            (
                "/serverless/v1/news?symbols=NVDA&start=2024-03-01T00:00:00Z",
                "/articles",
                "headline",
            ),
        ];
        for (uri, list, headline) in cases {
            let body = get(&sim, uri, &keys).await.json().unwrap();
            let items = body.pointer(list).and_then(|v| v.as_array()).unwrap();
            assert!(items.len() >= 10, "{uri}");
            for item in items {
                let h = item[headline].as_str().unwrap();
                assert!(h.starts_with("[SANDBOX]"), "{uri}: {h}");
                let u = item["url"].as_str().unwrap();
                assert!(
                    u.starts_with("https://news.sandbox.stockdata.invalid/"),
                    "{uri}: {u}"
                );
            }
        }
    }

    /// ARCHITECTURE.md: the sandbox is the adapters' counterpart and never depends on them.
    #[test]
    fn depends_on_domain_and_ports_only() {
        let manifest = include_str!("../../Cargo.toml");
        let internal: Vec<&str> = manifest
            .lines()
            .filter(|l| l.starts_with("stockdata-"))
            .map(|l| l.split(['.', ' ']).next().unwrap_or(l))
            .collect();
        assert_eq!(internal, ["stockdata-domain", "stockdata-ports"]);
    }

    #[test]
    fn params_decode_like_a_server() {
        let p = super::Params::of(&"/q?symbols=aapl,,brk.b&x=a%2Bb+c&x=2".parse().unwrap());
        assert_eq!(p.list("symbols"), ["AAPL", "BRK.B"]);
        assert_eq!(p.get("x"), Some("2"));
        assert_eq!(p.parse::<u32>("x"), Some(2));
        assert_eq!(p.get("missing"), None);
        assert!(p.list("missing").is_empty());
    }
}
