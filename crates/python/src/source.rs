//! The quote, bar and news ports implemented by a Python object, so a provider written in
//! Python (a test fake, an in-house client) is routed, failed over and trailed by the Rust
//! fetchers like any adapter.
//!
//! The object needs any of `quote(symbol)`, `bars(symbol, start, end, interval, adjustment)`
//! and `news(symbols, start, end, limit)`, each `async def` (awaited on the caller's asyncio
//! loop) or a plain `def`. It answers with `stockdata.Quote` / `Bar` / `NewsArticle` values
//! (or any object or dict with their fields) and fails by raising a `stockdata.errors`
//! exception, which becomes the `FetchError` of that kind; any other exception is a
//! `Transport` failure (the next provider is tried). Its provider id is its `name` attribute,
//! else its class name in lower case.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use stockdata_app::domain::{
    Bar, BarQuery, ErrorKind, FetchError, Interval, NewsArticle, NewsQuery, Provenance, ProviderId,
    Quote, Symbol, Timestamp, stable_hash_hex,
};
use stockdata_app::ports::{BarSource, Capabilities, NewsSource, QuoteSource};

use crate::convert;

/// Articles one call to a Python `news` may be asked about.
const NEWS_SYMBOLS_PER_CALL: usize = 50;

/// A Python object serving as a provider.
pub(crate) struct PySource {
    obj: Py<PyAny>,
    id: ProviderId,
    quotes: Capabilities,
    bars: Capabilities,
    news: Capabilities,
}

impl fmt::Debug for PySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PySource").field("id", &self.id).finish()
    }
}

/// Which ports a Python object implements.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Serves {
    pub(crate) quotes: bool,
    pub(crate) bars: bool,
    pub(crate) news: bool,
}

impl PySource {
    /// Wraps `obj`, or says why it cannot be a provider.
    pub(crate) fn new(obj: &Bound<'_, PyAny>) -> PyResult<(Self, Serves)> {
        let serves = Serves {
            quotes: callable(obj, "quote")?,
            bars: callable(obj, "bars")?,
            news: callable(obj, "news")?,
        };
        if !(serves.quotes || serves.bars || serves.news) {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "a provider needs a quote, bars or news method",
            ));
        }
        let name: String = match obj.getattr_opt("name")? {
            Some(n) if !n.is_none() => n.extract()?,
            _ => obj
                .get_type()
                .name()?
                .extract::<String>()?
                .to_ascii_lowercase(),
        };
        let mut bars = Capabilities::single_symbol();
        bars.intervals = match obj.getattr_opt("intervals")? {
            Some(list) if !list.is_none() => {
                let mut out = Vec::new();
                for item in list.try_iter()? {
                    let text: String = item?.extract()?;
                    out.push(convert::interval(obj.py(), &text)?);
                }
                out
            }
            _ => Interval::ALL.to_vec(),
        };
        let mut news = Capabilities::single_symbol();
        news.max_symbols_per_request = NEWS_SYMBOLS_PER_CALL;
        Ok((
            Self {
                obj: obj.clone().unbind(),
                id: ProviderId::new(name),
                quotes: Capabilities::single_symbol(),
                bars,
                news,
            },
            serves,
        ))
    }

    /// Calls `method` and awaits what it returns (on the caller's event loop when it is a
    /// coroutine); a raised exception becomes the `FetchError` it stands for.
    async fn call(
        &self,
        method: &str,
        args: impl for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyTuple>>,
    ) -> Result<Py<PyAny>, FetchError> {
        let pending = Python::attach(|py| -> Result<Pending, FetchError> {
            let args = args(py).map_err(|e| self.failure(py, &e))?;
            let value = self
                .obj
                .bind(py)
                .call_method1(method, args)
                .map_err(|e| self.failure(py, &e))?;
            if value.hasattr("__await__").unwrap_or(false) {
                let fut = pyo3_async_runtimes::tokio::into_future(value).map_err(|e| {
                    FetchError::InvalidRequest {
                        reason: format!(
                            "provider {}: its {method} is a coroutine and no asyncio loop \
                             runs it: {e}",
                            self.id
                        ),
                    }
                })?;
                Ok(Pending::Later(Box::pin(fut)))
            } else {
                Ok(Pending::Ready(value.unbind()))
            }
        })?;
        match pending {
            Pending::Ready(v) => Ok(v),
            Pending::Later(fut) => {
                let out = fut.await;
                Python::attach(|py| out.map_err(|e| self.failure(py, &e)))
            }
        }
    }

    /// The `FetchError` a Python exception stands for.
    fn failure(&self, py: Python<'_>, e: &PyErr) -> FetchError {
        let value = e.value(py);
        let kind = value
            .getattr_opt("kind")
            .ok()
            .flatten()
            .and_then(|k| k.extract::<String>().ok())
            .and_then(|k| ErrorKind::from_name(&k));
        let message = value.str().map(|s| s.to_string()).unwrap_or_default();
        let is_ours = py
            .import("stockdata.errors")
            .and_then(|m| m.getattr("StockDataError"))
            .and_then(|c| value.is_instance(&c))
            .unwrap_or(false);
        let field = |name: &str| {
            value
                .getattr_opt(name)
                .ok()
                .flatten()
                .filter(|v| !v.is_none())
        };
        match kind.filter(|_| is_ours) {
            Some(ErrorKind::RateLimited) => FetchError::RateLimited {
                retry_after: field("retry_after")
                    .and_then(|v| v.extract::<f64>().ok())
                    .and_then(|s| Duration::try_from_secs_f64(s).ok()),
            },
            Some(ErrorKind::QuotaExhausted) => FetchError::QuotaExhausted {
                resets_at: field("resets_at").and_then(|v| convert::instant(&v).ok()),
            },
            Some(ErrorKind::Unauthorized) => FetchError::Unauthorized,
            Some(ErrorKind::EntitlementDenied) => FetchError::EntitlementDenied { reason: message },
            Some(ErrorKind::UnknownSymbol) => {
                match field("symbol").and_then(|s| s.extract::<String>().ok()) {
                    Some(s) => match Symbol::parse(&s) {
                        Ok(symbol) => FetchError::UnknownSymbol { symbol },
                        Err(_) => FetchError::Malformed {
                            detail: format!("provider {}: unknown symbol {s:?}", self.id),
                        },
                    },
                    None => FetchError::NoData,
                }
            }
            Some(ErrorKind::NoData) => FetchError::NoData,
            Some(ErrorKind::InvalidRequest) => FetchError::InvalidRequest { reason: message },
            Some(ErrorKind::Timeout) => FetchError::Timeout,
            Some(ErrorKind::Transport) => FetchError::Transport { detail: message },
            Some(ErrorKind::ProviderUnavailable) => FetchError::ProviderUnavailable {
                status: field("status").and_then(|v| v.extract::<u16>().ok()),
            },
            Some(ErrorKind::Malformed) => FetchError::Malformed { detail: message },
            Some(ErrorKind::Cancelled) => FetchError::Cancelled,
            Some(ErrorKind::NotStored) => FetchError::NotStored { missing: message },
            Some(ErrorKind::Store) => FetchError::Store { detail: message },
            None => {
                let name = value
                    .get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default();
                if name == "CancelledError" {
                    FetchError::Cancelled
                } else if name == "TimeoutError" {
                    FetchError::Timeout
                } else {
                    FetchError::Transport {
                        detail: format!("provider {} raised {name}: {message}", self.id),
                    }
                }
            }
        }
    }

    fn malformed(&self, what: &str) -> FetchError {
        FetchError::Malformed {
            detail: format!("provider {}: {what}", self.id),
        }
    }

    fn provenance(&self) -> Provenance {
        Provenance::new(self.id.clone(), Timestamp::now())
    }
}

enum Pending {
    Ready(Py<PyAny>),
    Later(Pin<Box<dyn Future<Output = PyResult<Py<PyAny>>> + Send>>),
}

fn callable(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<bool> {
    Ok(obj.getattr_opt(name)?.is_some_and(|m| m.is_callable()))
}

/// A field of an answer: a dict's key or an object's attribute; `None` counts as absent.
fn field<'py>(obj: &Bound<'py, PyAny>, name: &str) -> Option<Bound<'py, PyAny>> {
    let value = match obj.cast::<PyDict>() {
        Ok(d) => d.get_item(name).ok().flatten(),
        Err(_) => obj.getattr_opt(name).ok().flatten(),
    };
    value.filter(|v| !v.is_none())
}

impl PySource {
    fn req_decimal(
        &self,
        obj: &Bound<'_, PyAny>,
        name: &str,
    ) -> Result<stockdata_app::domain::Decimal, FetchError> {
        let v = field(obj, name).ok_or_else(|| self.malformed(&format!("no {name}")))?;
        convert::to_decimal(&v).map_err(|e| self.malformed(&format!("{name}: {e}")))
    }

    fn opt_decimal(
        &self,
        obj: &Bound<'_, PyAny>,
        name: &str,
    ) -> Result<Option<stockdata_app::domain::Decimal>, FetchError> {
        field(obj, name)
            .map(|v| convert::to_decimal(&v).map_err(|e| self.malformed(&format!("{name}: {e}"))))
            .transpose()
    }

    fn opt_count(&self, obj: &Bound<'_, PyAny>, name: &str) -> Result<Option<u64>, FetchError> {
        field(obj, name)
            .map(|v| {
                v.extract::<u64>()
                    .map_err(|_| self.malformed(&format!("{name} is not a whole count")))
            })
            .transpose()
    }

    fn req_instant(&self, obj: &Bound<'_, PyAny>, name: &str) -> Result<Timestamp, FetchError> {
        let v = field(obj, name).ok_or_else(|| self.malformed(&format!("no {name}")))?;
        convert::instant(&v)
            .map_err(|e| Python::attach(|py| self.malformed(&format!("{name}: {}", e.value(py)))))
    }

    fn opt_text(&self, obj: &Bound<'_, PyAny>, name: &str) -> Result<Option<String>, FetchError> {
        field(obj, name)
            .map(|v| {
                v.extract::<String>()
                    .map_err(|_| self.malformed(&format!("{name} is not text")))
            })
            .transpose()
    }

    fn to_quote(&self, obj: &Bound<'_, PyAny>, symbol: &Symbol) -> Result<Quote, FetchError> {
        let mut q = Quote {
            symbol: symbol.clone(),
            price: self.req_decimal(obj, "price")?,
            bid: self.opt_decimal(obj, "bid")?,
            bid_size: self.opt_count(obj, "bid_size")?,
            ask: self.opt_decimal(obj, "ask")?,
            ask_size: self.opt_count(obj, "ask_size")?,
            open: self.opt_decimal(obj, "open")?,
            high: self.opt_decimal(obj, "high")?,
            low: self.opt_decimal(obj, "low")?,
            previous_close: self.opt_decimal(obj, "previous_close")?,
            change: self.opt_decimal(obj, "change")?,
            change_percent: self.opt_decimal(obj, "change_percent")?,
            volume: self.opt_count(obj, "volume")?,
            as_of: self.req_instant(obj, "as_of")?,
            provenance: self.provenance(),
        };
        q.derive_change();
        Ok(q)
    }

    fn to_bar(&self, obj: &Bound<'_, PyAny>, query: &BarQuery) -> Result<Bar, FetchError> {
        Ok(Bar {
            symbol: query.symbol.clone(),
            interval: query.interval,
            start: self.req_instant(obj, "start")?,
            open: self.req_decimal(obj, "open")?,
            high: self.req_decimal(obj, "high")?,
            low: self.req_decimal(obj, "low")?,
            close: self.req_decimal(obj, "close")?,
            volume: self.opt_count(obj, "volume")?.unwrap_or(0),
            vwap: self.opt_decimal(obj, "vwap")?,
            trades: self.opt_count(obj, "trades")?,
            provenance: self.provenance().with_adjustment(query.adjustment),
        })
    }

    fn to_article(
        &self,
        obj: &Bound<'_, PyAny>,
        query: &NewsQuery,
    ) -> Result<NewsArticle, FetchError> {
        let url = self.opt_text(obj, "url")?.unwrap_or_default();
        let headline = self
            .opt_text(obj, "headline")?
            .ok_or_else(|| self.malformed("an article has no headline"))?;
        let symbols = match field(obj, "symbols") {
            Some(list) => {
                let mut out = Vec::new();
                let items = list
                    .try_iter()
                    .map_err(|_| self.malformed("symbols is not a list"))?;
                for item in items {
                    let text: String = item
                        .and_then(|i| i.extract())
                        .map_err(|_| self.malformed("a symbol is not text"))?;
                    out.push(
                        Symbol::parse(&text)
                            .map_err(|e| self.malformed(&format!("symbol {text:?}: {e}")))?,
                    );
                }
                out
            }
            None => query.symbols.clone(),
        };
        Ok(NewsArticle {
            id: self
                .opt_text(obj, "id")?
                .unwrap_or_else(|| stable_hash_hex(&format!("{url}{headline}"))),
            summary: self.opt_text(obj, "summary")?.unwrap_or_default(),
            source: self
                .opt_text(obj, "source")?
                .unwrap_or_else(|| self.id.to_string()),
            published_at: self.req_instant(obj, "published_at")?,
            symbols,
            author: self.opt_text(obj, "author")?,
            image: self.opt_text(obj, "image")?,
            sentiment: None,
            provenance: self.provenance(),
            headline,
            url,
        })
    }
}

#[async_trait]
impl QuoteSource for PySource {
    fn provider(&self) -> ProviderId {
        self.id.clone()
    }

    fn capabilities(&self) -> &Capabilities {
        &self.quotes
    }

    async fn quote(&self, symbol: &Symbol) -> Result<Quote, FetchError> {
        let answer = self
            .call("quote", |py| {
                pyo3::types::PyTuple::new(py, [symbol.as_str()])
            })
            .await?;
        Python::attach(|py| self.to_quote(answer.bind(py), symbol))
    }
}

#[async_trait]
impl BarSource for PySource {
    fn provider(&self) -> ProviderId {
        self.id.clone()
    }

    fn capabilities(&self) -> &Capabilities {
        &self.bars
    }

    async fn bars(&self, query: &BarQuery) -> Result<Vec<Bar>, FetchError> {
        let answer = self
            .call("bars", |py| {
                pyo3::types::PyTuple::new(
                    py,
                    [
                        query.symbol.as_str().into_pyobject(py)?.into_any(),
                        convert::datetime(py, query.range.start())?,
                        convert::datetime(py, query.range.end())?,
                        query.interval.as_str().into_pyobject(py)?.into_any(),
                        query.adjustment.as_str().into_pyobject(py)?.into_any(),
                    ],
                )
            })
            .await?;
        let bars = Python::attach(|py| {
            let list = answer.bind(py);
            let items = list
                .try_iter()
                .map_err(|_| self.malformed("bars did not return a list"))?;
            let mut out = Vec::new();
            for item in items {
                let item = item.map_err(|e| self.failure(py, &e))?;
                out.push(self.to_bar(&item, query)?);
            }
            Ok::<_, FetchError>(out)
        })?;
        if bars.is_empty() {
            return Err(FetchError::NoData);
        }
        Ok(bars)
    }
}

#[async_trait]
impl NewsSource for PySource {
    fn provider(&self) -> ProviderId {
        self.id.clone()
    }

    fn capabilities(&self) -> &Capabilities {
        &self.news
    }

    async fn news(&self, query: &NewsQuery) -> Result<Vec<NewsArticle>, FetchError> {
        let answer = self
            .call("news", |py| {
                let symbols: Vec<&str> = query.symbols.iter().map(Symbol::as_str).collect();
                pyo3::types::PyTuple::new(
                    py,
                    [
                        PyList::new(py, symbols)?.into_any(),
                        convert::datetime(py, query.range.start())?,
                        convert::datetime(py, query.range.end())?,
                        query.limit.into_pyobject(py)?.into_any(),
                    ],
                )
            })
            .await?;
        Python::attach(|py| {
            let list = answer.bind(py);
            let items = list
                .try_iter()
                .map_err(|_| self.malformed("news did not return a list"))?;
            let mut out = Vec::new();
            for item in items {
                let item = item.map_err(|e| self.failure(py, &e))?;
                out.push(self.to_article(&item, query)?);
            }
            out.truncate(query.limit);
            Ok(out)
        })
    }
}
