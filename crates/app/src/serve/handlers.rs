//! The endpoints. Each validates its whole input first (a 400 touches no provider), answers
//! 503 when no provider serves its kind of data, and answers an empty range without asking
//! any provider.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use stockdata_domain::{BatchBarQuery, ErrorKind, FetchError, NewsQuery, Symbol};

use super::envelope::{bad_request, envelope, error_body, fetch_error, no_data};
use super::params::{self, Query, Window};
use super::{AppState, Kind, MAX_BARS_PER_REQUEST, MAX_NEWS_LIMIT};
use crate::records::{BarRecord, NewsRecord, QuoteRecord};

/// Why a request is answered with the error envelope.
pub(super) enum Refused {
    /// The client's input: 400.
    BadInput(String),
    /// No provider serves this kind of data: 503 naming what to configure.
    NoProvider(String),
    /// The providers failed the whole request (news).
    Upstream(FetchError),
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::BadInput(message) => bad_request(message),
            Refused::NoProvider(message) => envelope(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorKind::ProviderUnavailable,
                &message,
                None,
            ),
            Refused::Upstream(e) => fetch_error(&e),
        }
    }
}

pub(super) type Answer = Result<Response, Refused>;

/// A `{"results": [...]}` body, serialized straight from the records: a `serde_json::Value`
/// would hold their decimals as f64s and lose the digits past 17.
#[derive(serde::Serialize)]
struct Results<T> {
    results: Vec<T>,
}

/// One symbol's entry: its quote or bars, or its error.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Entry<'a, T> {
    Quote {
        symbol: &'a str,
        quote: T,
    },
    Bars {
        symbol: &'a str,
        bars: T,
    },
    Error {
        symbol: &'a str,
        error: serde_json::Value,
    },
}

fn results<T: serde::Serialize>(results: Vec<T>) -> Response {
    axum::Json(Results { results }).into_response()
}

fn configured(state: &AppState, kind: Kind) -> Result<(), Refused> {
    match state.unconfigured(kind) {
        None => Ok(()),
        Some(message) => Err(Refused::NoProvider(message.to_owned())),
    }
}

/// One `no_data` entry per symbol, for a range nothing can be in.
fn nothing_for(symbols: &[Symbol], why: &str) -> Response {
    let entries: Vec<Entry<'_, ()>> = symbols
        .iter()
        .map(|s| Entry::Error {
            symbol: s.as_str(),
            error: no_data(why),
        })
        .collect();
    results(entries)
}

pub(super) async fn quotes(State(state): State<Arc<AppState>>, RawQuery(q): RawQuery) -> Answer {
    let q = Query::parse(q.as_deref());
    let symbols = params::symbols(&q, state.config.max_symbols).map_err(Refused::BadInput)?;
    configured(&state, Kind::Quotes)?;
    let reports = state.stockdata.prices().quotes(&symbols).await;
    let entries = reports
        .iter()
        .map(|r| {
            state.metrics.trail(&r.trail);
            match &r.result {
                Ok(quote) => Entry::Quote {
                    symbol: r.symbol.as_str(),
                    quote: QuoteRecord::from(quote),
                },
                Err(e) => Entry::Error {
                    symbol: r.symbol.as_str(),
                    error: error_body(e),
                },
            }
        })
        .collect();
    Ok(results(entries))
}

pub(super) async fn bars(State(state): State<Arc<AppState>>, RawQuery(q): RawQuery) -> Answer {
    let q = Query::parse(q.as_deref());
    let symbols = params::symbols(&q, state.config.max_symbols).map_err(Refused::BadInput)?;
    let interval = params::interval(&q).map_err(Refused::BadInput)?;
    let adjustment = params::adjustment(&q).map_err(Refused::BadInput)?;
    let window = params::window(
        &q,
        state.config.max_range_days,
        state.stockdata.clock().now(),
        None,
    )
    .map_err(Refused::BadInput)?;
    if let Window::Range(range) = window {
        params::bar_budget(symbols.len(), interval, range, MAX_BARS_PER_REQUEST)
            .map_err(Refused::BadInput)?;
    }
    configured(&state, Kind::Bars)?;
    let range = match window {
        Window::Range(r) => r,
        Window::Empty(why) => return Ok(nothing_for(&symbols, why)),
    };
    let query = BatchBarQuery {
        symbols,
        interval,
        range,
        adjustment,
    };
    let reports = state.stockdata.history().bars(&query).await;
    let entries = reports
        .iter()
        .map(|r| {
            state.metrics.trail(&r.trail);
            match &r.result {
                Ok(series) => Entry::Bars {
                    symbol: r.symbol.as_str(),
                    bars: series.bars.iter().map(BarRecord::from).collect::<Vec<_>>(),
                },
                Err(e) => Entry::Error {
                    symbol: r.symbol.as_str(),
                    error: error_body(e),
                },
            }
        })
        .collect();
    Ok(results(entries))
}

pub(super) async fn news(State(state): State<Arc<AppState>>, RawQuery(q): RawQuery) -> Answer {
    let q = Query::parse(q.as_deref());
    let symbols = params::symbols(&q, state.config.max_symbols).map_err(Refused::BadInput)?;
    let limit = params::limit(&q, MAX_NEWS_LIMIT).map_err(Refused::BadInput)?;
    let window = params::window(
        &q,
        state.config.max_range_days,
        state.stockdata.clock().now(),
        Some(3),
    )
    .map_err(Refused::BadInput)?;
    configured(&state, Kind::News)?;
    let range = match window {
        Window::Range(r) => r,
        Window::Empty(_) => {
            return Ok(axum::Json(serde_json::json!({ "articles": [] })).into_response());
        }
    };
    let report = state
        .stockdata
        .news()
        .news(&NewsQuery {
            symbols,
            range,
            limit,
        })
        .await;
    state.metrics.trail(&report.trail);
    let articles = report.result.map_err(Refused::Upstream)?;
    // A struct, not `json!`: a `serde_json::Value` would hold the decimals as f64s and lose
    // the digits past 17 (sentiment scores carry up to 28).
    #[derive(serde::Serialize)]
    struct Articles {
        articles: Vec<NewsRecord>,
    }
    Ok(axum::Json(Articles {
        articles: articles.iter().map(NewsRecord::from).collect(),
    })
    .into_response())
}

pub(super) async fn metrics(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let (content_type, text) = state.metrics.render(&headers);
    ([(header::CONTENT_TYPE, content_type)], text).into_response()
}

pub(super) async fn healthz() -> Response {
    axum::Json(serde_json::json!({"status": "ok"})).into_response()
}

pub(super) async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let sd = &state.stockdata;
    let mut providers: Vec<String> = sd
        .prices()
        .providers()
        .iter()
        .chain(sd.history().providers().iter())
        .chain(sd.news().providers().iter())
        .map(ToString::to_string)
        .collect();
    if providers.is_empty() {
        return envelope(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::ProviderUnavailable,
            "no provider is configured for quotes, bars or news: \
             `stockdata providers` says what is missing",
            None,
        );
    }
    providers.sort();
    providers.dedup();
    let unconfigured: Vec<&str> = state.unconfigured.iter().map(|(k, _)| k.as_str()).collect();
    axum::Json(serde_json::json!({
        "status": "ready",
        "providers": providers,
        "unconfigured": unconfigured,
    }))
    .into_response()
}

pub(super) async fn not_found() -> Response {
    envelope(
        StatusCode::NOT_FOUND,
        ErrorKind::InvalidRequest,
        "no such endpoint: use /v1/quotes, /v1/bars or /v1/news",
        None,
    )
}
