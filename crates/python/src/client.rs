//! `stockdata.StockData`: one composition root (`stockdata_app::StockData`) per instance, built
//! from a config dict, a TOML file, or (only when asked) the environment; optionally against an
//! in-process sandbox; with Python objects as providers ahead of the configured ones.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use jiff::SignedDuration;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use stockdata_app::config::{self, Config, ConfigSources};
use stockdata_app::domain::{BatchBarQuery, NewsQuery, Symbol, TimeRange, Timestamp};
use stockdata_app::ports::SystemClock;
use stockdata_app::{CancellationToken, StockData};
use stockdata_sandbox::{Sandbox, SandboxConfig};
use tokio::runtime::Runtime;

use crate::convert::{self, When};
use crate::source::PySource;

fn runtime() -> &'static Runtime {
    pyo3_async_runtimes::tokio::get_runtime()
}

/// Market data from Alpha Vantage, Finnhub, Alpaca, a serverless fetcher, the built-in
/// sandbox, or providers written in Python: latest quotes, historical bars, news and the
/// watchlist agent, with per-symbol fail-over and an attempt trail on every result.
///
/// - config: a dict with the sections of stockdata.toml ({"providers": {"finnhub":
///   {"api_key": "..."}}}), or the path of a TOML file. None: the defaults, no provider
///   configured. The environment is never read here: use StockData.from_env() for that.
/// - sandbox: True starts the sandbox (a local simulator of every provider, synthetic data
///   marked synthetic=True) in this process and points every provider at it.
/// - providers: objects with any of `async def quote(self, symbol)`,
///   `async def bars(self, symbol, start, end, interval, adjustment)` and
///   `async def news(self, symbols, start, end, limit)` (plain `def` works too). They are
///   tried first, in the order given, then the configured providers; a provider named like a
///   configured one (its `name` attribute) takes that one's place in [routing].
///
/// Every call has an awaitable twin (quote_async, bars_async, news_async, agent_async) for
/// asyncio; the synchronous ones release the GIL while they wait. A failed symbol is a result
/// carrying its error (a stockdata.StockDataError with the attempt trail), never dropped.
/// API keys never appear in repr(), exceptions or logs.
#[pyclass(name = "StockData", module = "stockdata", frozen)]
#[derive(Debug)]
pub(crate) struct Client {
    inner: StockData,
    sandbox: Mutex<Option<Sandbox>>,
    sandbox_url: Option<String>,
    python_sources: bool,
}

/// What the bar calls were asked, checked before anything is sent.
struct BarsArgs(BatchBarQuery);

impl Client {
    fn build(
        py: Python<'_>,
        mut config: Config,
        sandbox: bool,
        providers: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let mut running = None;
        if sandbox {
            let started = py.detach(|| {
                runtime().block_on(Sandbox::start(
                    SandboxConfig::new(Arc::new(SystemClock)),
                    SocketAddr::from(([127, 0, 0, 1], 0)),
                ))
            });
            let sb = started
                .map_err(|e| PyRuntimeError::new_err(format!("cannot start the sandbox: {e}")))?;
            config
                .providers
                .point_at_sandbox(|id| sb.base_url(id.as_str()));
            running = Some(sb);
        }
        let mut builder = StockData::builder().config(config).synthetic(sandbox);
        let mut python_sources = false;
        if let Some(list) = providers {
            for obj in list.try_iter()? {
                let (source, serves) = PySource::new(&obj?)?;
                let source = Arc::new(source);
                if serves.quotes {
                    builder = builder.quote_source(source.clone());
                }
                if serves.bars {
                    builder = builder.bar_source(source.clone());
                }
                if serves.news {
                    builder = builder.news_source(source);
                }
                python_sources = true;
            }
        }
        let built = {
            let _entered = runtime().enter();
            builder.build()
        };
        let inner = built.map_err(|e| convert::raise(py, &e))?;
        Ok(Self {
            inner,
            sandbox_url: running.as_ref().map(|sb| format!("http://{}", sb.addr())),
            sandbox: Mutex::new(running),
            python_sources,
        })
    }

    /// Runs `method` (an `_async` twin) to completion on a private event loop: Python
    /// providers' coroutines need one.
    fn via_asyncio(
        slf: &Bound<'_, Self>,
        method: &str,
        args: Bound<'_, PyTuple>,
    ) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let asyncio = py.import("asyncio")?;
        if asyncio.call_method0("get_running_loop").is_ok() {
            return Err(PyRuntimeError::new_err(format!(
                "this StockData has Python providers, whose coroutines run on an event loop, \
                 and this thread already runs one: use `await ....{method}(...)`"
            )));
        }
        let call = convert::record(py, "_await_call")?;
        let coro = call.call1((slf.getattr(method)?, args))?;
        Ok(asyncio.call_method1("run", (coro,))?.unbind())
    }

    fn now(&self) -> Timestamp {
        self.inner.clock().now()
    }

    fn days_before(&self, end: Timestamp, days: u32) -> Timestamp {
        end.checked_sub(SignedDuration::from_hours(i64::from(days) * 24))
            .unwrap_or(end)
    }

    fn bars_args(
        &self,
        py: Python<'_>,
        symbols: &Bound<'_, PyAny>,
        start: Option<&Bound<'_, PyAny>>,
        end: Option<&Bound<'_, PyAny>>,
        interval: &str,
        adjustment: Option<&str>,
    ) -> PyResult<BarsArgs> {
        let range = self.range(py, start, end, self.inner.config().agent.history_days)?;
        Ok(BarsArgs(BatchBarQuery {
            symbols: convert::symbols(symbols)?,
            interval: convert::interval(py, interval)?,
            range,
            adjustment: match adjustment {
                Some(a) => convert::adjustment(py, a)?,
                None => self.inner.default_adjustment(),
            },
        }))
    }

    fn range(
        &self,
        py: Python<'_>,
        start: Option<&Bound<'_, PyAny>>,
        end: Option<&Bound<'_, PyAny>>,
        default_days: u32,
    ) -> PyResult<TimeRange> {
        let end = match end {
            Some(e) if !e.is_none() => convert::when(e)?,
            _ => When::Instant(self.now()),
        };
        let start = match start {
            Some(s) if !s.is_none() => convert::when(s)?,
            _ => match end {
                When::Instant(t) => When::Instant(self.days_before(t, default_days)),
                When::Day(d) => When::Day(
                    d.checked_sub(jiff::Span::new().days(i64::from(default_days)))
                        .unwrap_or(d),
                ),
            },
        };
        convert::range(py, start, end)
    }

    fn news_query(
        &self,
        py: Python<'_>,
        symbols: &Bound<'_, PyAny>,
        start: Option<&Bound<'_, PyAny>>,
        end: Option<&Bound<'_, PyAny>>,
        limit: usize,
    ) -> PyResult<NewsQuery> {
        Ok(NewsQuery {
            symbols: convert::symbols(symbols)?,
            range: self.range(py, start, end, self.inner.config().agent.news_days)?,
            limit,
        })
    }

    fn chain_names(&self) -> [(&'static str, Vec<String>); 3] {
        let names = |v: Vec<stockdata_app::domain::ProviderId>| {
            v.iter().map(ToString::to_string).collect::<Vec<_>>()
        };
        [
            ("quotes", names(self.inner.prices().providers())),
            ("bars", names(self.inner.history().providers())),
            ("news", names(self.inner.news().providers())),
        ]
    }
}

fn path_config(path: PathBuf) -> Result<Config, String> {
    let sources = ConfigSources {
        file: Some(path),
        env: HashMap::new(),
        cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        not_unicode: Vec::new(),
    };
    config::load(&sources).map_err(|e| e.to_string())
}

#[pymethods]
impl Client {
    #[new]
    #[pyo3(signature = (config=None, sandbox=false, providers=None))]
    fn new(
        py: Python<'_>,
        config: Option<&Bound<'_, PyAny>>,
        sandbox: bool,
        providers: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let config = match config {
            None => Config::default(),
            Some(c) if c.is_none() => Config::default(),
            Some(c) => match c.cast::<PyDict>() {
                Ok(dict) => convert::config_from_dict(dict)?,
                Err(_) => {
                    let path: PathBuf = c.extract().map_err(|_| {
                        pyo3::exceptions::PyTypeError::new_err(
                            "config is a dict, the path of a TOML file, or None",
                        )
                    })?;
                    path_config(path).map_err(|e| convert::config_error(py, e))?
                }
            },
        };
        Self::build(py, config, sandbox, providers)
    }

    /// StockData.from_env(sandbox=False, providers=None) -> StockData
    ///
    /// The configuration the `stockdata` command would use: `./stockdata.toml` (or the file
    /// `STOCKDATA_CONFIG` names), then the providers' own variables (`FINNHUB_API_KEY`, ...),
    /// then `STOCKDATA__SECTION__KEY` overrides. The only constructor that reads the
    /// environment.
    #[staticmethod]
    #[pyo3(signature = (sandbox=false, providers=None))]
    fn from_env(
        py: Python<'_>,
        sandbox: bool,
        providers: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let config = config::load(&ConfigSources::from_process(None))
            .map_err(|e| convert::config_error(py, e.to_string()))?;
        Self::build(py, config, sandbox, providers)
    }

    /// quote(symbols) -> QuoteResults
    ///
    /// The latest quote of each symbol ("AAPL" or a list), one QuoteResult per symbol in the
    /// order asked: `.quote` (a Quote: symbol, price, bid, ask, ..., as_of, provider) or
    /// `.error` (a StockDataError), and `.trail`, the providers tried.
    fn quote(slf: &Bound<'_, Self>, symbols: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let this = slf.get();
        if this.python_sources {
            return Self::via_asyncio(slf, "quote_async", PyTuple::new(py, [symbols])?);
        }
        let symbols = convert::symbols(symbols)?;
        let inner = this.inner.clone();
        let reports = py.detach(|| runtime().block_on(inner.prices().quotes(&symbols)));
        convert::quote_results(py, &reports).map(Bound::unbind)
    }

    /// quote_async(symbols) -> Awaitable[QuoteResults]
    ///
    /// `quote`, awaitable: the Rust runtime does the work, the event loop never blocks.
    fn quote_async<'py>(
        &self,
        py: Python<'py>,
        symbols: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let symbols = convert::symbols(symbols)?;
        let inner = self.inner.clone();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let reports = inner.prices().quotes(&symbols).await;
            Python::attach(|py| convert::quote_results(py, &reports).map(Bound::unbind))
        })
    }

    /// bars(symbols, start=None, end=None, interval="1d", adjustment=None) -> BarsResults
    ///
    /// OHLCV bars whose start lies in [start, end), one BarsResult per symbol in the order
    /// asked. start and end are aware datetimes, dates (a New York calendar day, the end day
    /// included) or text ("2024-01-02", RFC 3339); end defaults to now, start to
    /// [agent] history_days before end. interval: 1m 5m 15m 30m 1h 1d 1w 1mo; adjustment: raw,
    /// split, dividend or all (default: the configured one).
    #[pyo3(signature = (symbols, start=None, end=None, interval="1d", adjustment=None))]
    fn bars(
        slf: &Bound<'_, Self>,
        symbols: &Bound<'_, PyAny>,
        start: Option<&Bound<'_, PyAny>>,
        end: Option<&Bound<'_, PyAny>>,
        interval: &str,
        adjustment: Option<&str>,
    ) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let this = slf.get();
        let BarsArgs(query) = this.bars_args(py, symbols, start, end, interval, adjustment)?;
        if this.python_sources {
            let kwargs = (
                symbols,
                convert::datetime(py, query.range.start())?,
                convert::datetime(py, query.range.end())?,
                query.interval.as_str(),
                query.adjustment.as_str(),
            );
            return Self::via_asyncio(slf, "bars_async", kwargs.into_pyobject(py)?);
        }
        let inner = this.inner.clone();
        let reports = py.detach(|| runtime().block_on(inner.history().bars(&query)));
        convert::bars_results(py, &reports).map(Bound::unbind)
    }

    /// bars_async(symbols, start=None, end=None, interval="1d", adjustment=None)
    /// -> Awaitable[BarsResults]
    ///
    /// `bars`, awaitable.
    #[pyo3(signature = (symbols, start=None, end=None, interval="1d", adjustment=None))]
    fn bars_async<'py>(
        &self,
        py: Python<'py>,
        symbols: &Bound<'py, PyAny>,
        start: Option<&Bound<'py, PyAny>>,
        end: Option<&Bound<'py, PyAny>>,
        interval: &str,
        adjustment: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let BarsArgs(query) = self.bars_args(py, symbols, start, end, interval, adjustment)?;
        let inner = self.inner.clone();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let reports = inner.history().bars(&query).await;
            Python::attach(|py| convert::bars_results(py, &reports).map(Bound::unbind))
        })
    }

    /// news(symbols, start=None, end=None, limit=50) -> NewsResult
    ///
    /// Articles about any of the symbols published in [start, end), newest first, merged
    /// from every news provider and de-duplicated. start defaults to [agent] news_days
    /// before end, end to now.
    #[pyo3(signature = (symbols, start=None, end=None, limit=50))]
    fn news(
        slf: &Bound<'_, Self>,
        symbols: &Bound<'_, PyAny>,
        start: Option<&Bound<'_, PyAny>>,
        end: Option<&Bound<'_, PyAny>>,
        limit: usize,
    ) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let this = slf.get();
        let query = this.news_query(py, symbols, start, end, limit)?;
        if this.python_sources {
            let args = (
                symbols,
                convert::datetime(py, query.range.start())?,
                convert::datetime(py, query.range.end())?,
                limit,
            );
            return Self::via_asyncio(slf, "news_async", args.into_pyobject(py)?);
        }
        let inner = this.inner.clone();
        let report = py.detach(|| runtime().block_on(inner.news().news(&query)));
        convert::news_result(py, &query.symbols, &report).map(Bound::unbind)
    }

    /// news_async(symbols, start=None, end=None, limit=50) -> Awaitable[NewsResult]
    ///
    /// `news`, awaitable.
    #[pyo3(signature = (symbols, start=None, end=None, limit=50))]
    fn news_async<'py>(
        &self,
        py: Python<'py>,
        symbols: &Bound<'py, PyAny>,
        start: Option<&Bound<'py, PyAny>>,
        end: Option<&Bound<'py, PyAny>>,
        limit: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let query = self.news_query(py, symbols, start, end, limit)?;
        let inner = self.inner.clone();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let report = inner.news().news(&query).await;
            Python::attach(|py| {
                convert::news_result(py, &query.symbols, &report).map(Bound::unbind)
            })
        })
    }

    /// agent(watchlist) -> AgentReport
    ///
    /// The watchlist agent: for every symbol its quote, its last [agent] history_days of
    /// daily bars and its last [agent] news_days of news, within the run's share of each
    /// daily quota; one SymbolReport per symbol in order, and the run's statistics.
    fn agent(slf: &Bound<'_, Self>, watchlist: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let this = slf.get();
        if this.python_sources {
            return Self::via_asyncio(slf, "agent_async", PyTuple::new(py, [watchlist])?);
        }
        let symbols = convert::symbols(watchlist)?;
        let agent = this.inner.agent();
        let report = py.detach(|| {
            runtime().block_on(agent.run(&symbols, &CancellationToken::new(), &|_, _| {}))
        });
        convert::agent_report(py, &report).map(Bound::unbind)
    }

    /// agent_async(watchlist) -> Awaitable[AgentReport]
    ///
    /// `agent`, awaitable; cancelling the awaitable cancels the run.
    fn agent_async<'py>(
        &self,
        py: Python<'py>,
        watchlist: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let symbols: Vec<Symbol> = convert::symbols(watchlist)?;
        let agent = self.inner.agent();
        let locals = pyo3_async_runtimes::tokio::get_current_locals(py)?;
        let scoped = locals.clone();
        pyo3_async_runtimes::tokio::future_into_py_with_locals(py, locals, async move {
            // A run hands each report to a callback it borrows, so its future stays on one
            // thread: a blocking thread of the runtime drives it, with the caller's event loop
            // in scope for Python providers. Cancelling the awaitable cancels the run.
            let cancel = CancellationToken::new();
            let _stop = cancel.clone().drop_guard();
            let report = tokio::task::spawn_blocking(move || {
                runtime().block_on(pyo3_async_runtimes::tokio::scope_local(
                    scoped,
                    async move { agent.run(&symbols, &cancel, &|_, _| {}).await },
                ))
            })
            .await
            .map_err(|e| PyRuntimeError::new_err(format!("the agent run failed: {e}")))?;
            Python::attach(|py| convert::agent_report(py, &report).map(Bound::unbind))
        })
    }

    /// The providers tried for each kind of data, in order: {"quotes": [...], "bars": [...],
    /// "news": [...]}.
    #[getter]
    fn providers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let out = PyDict::new(py);
        for (kind, names) in self.chain_names() {
            out.set_item(kind, names)?;
        }
        Ok(out)
    }

    /// The in-process sandbox's address (http://127.0.0.1:PORT), or None.
    #[getter]
    fn sandbox_url(&self) -> Option<String> {
        self.sandbox_url.clone()
    }

    /// Stops the in-process sandbox, if any (also done when the object is collected).
    fn close(&self, py: Python<'_>) {
        let running = self
            .sandbox
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(sb) = running {
            py.detach(|| runtime().block_on(sb.stop()));
        }
    }

    /// `with StockData(...) as sd:` closes the sandbox at the end of the block.
    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Calls `close`.
    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) {
        self.close(py);
    }

    fn __repr__(&self) -> String {
        let chains: Vec<String> = self
            .chain_names()
            .iter()
            .map(|(kind, names)| format!("{kind}={names:?}"))
            .collect();
        format!(
            "StockData(sandbox={}, {})",
            if self.sandbox_url.is_some() {
                "True"
            } else {
                "False"
            },
            chains.join(", ")
        )
    }
}
