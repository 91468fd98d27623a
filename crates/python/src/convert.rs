//! Values across the boundary. Out: domain values become the package's dataclasses
//! (`stockdata._records`), with `Decimal` prices (exact digits, the provider's scale) and
//! timezone-aware UTC `datetime`s (microseconds: Python's resolution); a `FetchError` becomes
//! the `stockdata.errors` exception of its kind, with the symbol and attempt trail. In: symbols,
//! dates, intervals and config dicts from Python, checked by the domain's own constructors.

use std::fmt::Write as _;
use std::path::Path;
use std::str::FromStr as _;

use jiff::civil::Date;
use jiff::tz::Offset;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive as _;
use stockdata_app::agent::{AgentReport, RunStats, SymbolReport};
use stockdata_app::domain::quality::Finding;
use stockdata_app::domain::{
    Adjustment, Bar, DateRange, FetchError, Interval, NewsArticle, Quote, Sentiment, Symbol,
    TimeRange, Timestamp,
};
use stockdata_app::fetch::{Attempt, NewsReport, Report, Series};

static RECORDS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
static ERRORS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
static DECIMAL: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static DATETIME: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static UTC: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn module<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyModule>>,
    name: &str,
) -> PyResult<Bound<'py, PyModule>> {
    cell.get_or_try_init(py, || Ok::<_, PyErr>(py.import(name)?.unbind()))
        .map(|m| m.bind(py).clone())
}

fn attr<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyAny>>,
    module: &str,
    name: &str,
) -> PyResult<Bound<'py, PyAny>> {
    cell.get_or_try_init(py, || {
        Ok::<_, PyErr>(py.import(module)?.getattr(name)?.unbind())
    })
    .map(|a| a.bind(py).clone())
}

/// A class of `stockdata._records`.
pub(crate) fn record<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    module(py, &RECORDS, "stockdata._records")?.getattr(name)
}

// ---------------------------------------------------------------------------------------------
// Out: Rust to Python

/// An exact `decimal.Decimal` with `d`'s digits and scale.
pub(crate) fn decimal<'py>(py: Python<'py>, d: Decimal) -> PyResult<Bound<'py, PyAny>> {
    attr(py, &DECIMAL, "decimal", "Decimal")?.call1((d.to_string(),))
}

fn opt_decimal<'py>(py: Python<'py>, d: Option<Decimal>) -> PyResult<Bound<'py, PyAny>> {
    match d {
        Some(d) => decimal(py, d),
        None => Ok(py.None().into_bound(py)),
    }
}

/// A timezone-aware UTC `datetime` (nanoseconds truncated to Python's microseconds).
pub(crate) fn datetime<'py>(py: Python<'py>, t: Timestamp) -> PyResult<Bound<'py, PyAny>> {
    let c = Offset::UTC.to_datetime(t);
    let micros = c.subsec_nanosecond() / 1000;
    attr(py, &DATETIME, "datetime", "datetime")?.call1((
        c.year(),
        c.month(),
        c.day(),
        c.hour(),
        c.minute(),
        c.second(),
        micros,
        attr(py, &UTC, "datetime", "timezone")?.getattr("utc")?,
    ))
}

fn opt_datetime<'py>(py: Python<'py>, t: Option<Timestamp>) -> PyResult<Bound<'py, PyAny>> {
    match t {
        Some(t) => datetime(py, t),
        None => Ok(py.None().into_bound(py)),
    }
}

/// A `stockdata.Quote`.
pub(crate) fn quote<'py>(py: Python<'py>, q: &Quote) -> PyResult<Bound<'py, PyAny>> {
    let args = PyTuple::new(
        py,
        [
            q.symbol.as_str().into_pyobject(py)?.into_any(),
            decimal(py, q.price)?,
            datetime(py, q.as_of)?,
            opt_decimal(py, q.bid)?,
            opt_decimal(py, q.ask)?,
            q.bid_size.into_pyobject(py)?,
            q.ask_size.into_pyobject(py)?,
            opt_decimal(py, q.open)?,
            opt_decimal(py, q.high)?,
            opt_decimal(py, q.low)?,
            opt_decimal(py, q.previous_close)?,
            opt_decimal(py, q.change)?,
            opt_decimal(py, q.change_percent)?,
            q.volume.into_pyobject(py)?,
            q.provenance.provider.as_str().into_pyobject(py)?.into_any(),
            PyBool::new(py, q.provenance.synthetic)
                .to_owned()
                .into_any(),
        ],
    )?;
    record(py, "Quote")?.call1(args)
}

/// A `stockdata.Bar`; `class` is the `Bar` class, looked up once per series.
fn bar<'py>(py: Python<'py>, class: &Bound<'py, PyAny>, b: &Bar) -> PyResult<Bound<'py, PyAny>> {
    let args = PyTuple::new(
        py,
        [
            b.symbol.as_str().into_pyobject(py)?.into_any(),
            datetime(py, b.start)?,
            decimal(py, b.open)?,
            decimal(py, b.high)?,
            decimal(py, b.low)?,
            decimal(py, b.close)?,
            b.volume.into_pyobject(py)?.into_any(),
            b.interval.as_str().into_pyobject(py)?.into_any(),
            opt_decimal(py, b.vwap)?,
            b.trades.into_pyobject(py)?,
            b.provenance.provider.as_str().into_pyobject(py)?.into_any(),
            b.provenance
                .adjustment
                .map(Adjustment::as_str)
                .into_pyobject(py)?,
            PyBool::new(py, b.provenance.synthetic)
                .to_owned()
                .into_any(),
        ],
    )?;
    class.call1(args)
}

/// A `stockdata.NewsArticle`.
pub(crate) fn article<'py>(py: Python<'py>, a: &NewsArticle) -> PyResult<Bound<'py, PyAny>> {
    let symbols: Vec<&str> = a.symbols.iter().map(Symbol::as_str).collect();
    let args = PyTuple::new(
        py,
        [
            a.headline.as_str().into_pyobject(py)?.into_any(),
            a.url.as_str().into_pyobject(py)?.into_any(),
            datetime(py, a.published_at)?,
            a.id.as_str().into_pyobject(py)?.into_any(),
            PyTuple::new(py, symbols)?.into_any(),
            a.summary.as_str().into_pyobject(py)?.into_any(),
            a.source.as_str().into_pyobject(py)?.into_any(),
            a.provenance.provider.as_str().into_pyobject(py)?.into_any(),
            a.author.as_deref().into_pyobject(py)?,
            a.image.as_deref().into_pyobject(py)?,
            PyBool::new(py, a.provenance.synthetic)
                .to_owned()
                .into_any(),
            match &a.sentiment {
                Some(s) => sentiment(py, s)?,
                None => py.None().into_bound(py),
            },
        ],
    )?;
    record(py, "NewsArticle")?.call1(args)
}

/// A `stockdata.Sentiment` with its `stockdata.TickerSentiment`s.
fn sentiment<'py>(py: Python<'py>, s: &Sentiment) -> PyResult<Bound<'py, PyAny>> {
    let class = record(py, "TickerSentiment")?;
    let tickers = s
        .tickers
        .iter()
        .map(|t| {
            class.call1((
                t.symbol.as_str(),
                decimal(py, t.relevance)?,
                decimal(py, t.score)?,
                t.label.as_str(),
            ))
        })
        .collect::<PyResult<Vec<_>>>()?;
    record(py, "Sentiment")?.call1((
        decimal(py, s.score)?,
        s.label.as_str(),
        PyTuple::new(py, tickers)?,
    ))
}

/// The attempt trail as a tuple of `stockdata.Attempt`.
pub(crate) fn trail<'py>(py: Python<'py>, trail: &[Attempt]) -> PyResult<Bound<'py, PyTuple>> {
    let class = record(py, "Attempt")?;
    let items = trail
        .iter()
        .map(|a| {
            class.call1((
                a.provider.as_str(),
                a.outcome.as_str(),
                a.elapsed.as_secs_f64(),
            ))
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyTuple::new(py, items)
}

/// The `stockdata.errors` exception for `e` (not raised), carrying `symbol` and `trail`.
pub(crate) fn error<'py>(
    py: Python<'py>,
    e: &FetchError,
    symbol: Option<&Symbol>,
    attempts: &[Attempt],
) -> PyResult<Bound<'py, PyAny>> {
    let kwargs = PyDict::new(py);
    kwargs.set_item("symbol", symbol.map(Symbol::as_str))?;
    kwargs.set_item("trail", trail(py, attempts)?)?;
    match e {
        FetchError::RateLimited { retry_after } => {
            kwargs.set_item("retry_after", retry_after.map(|d| d.as_secs_f64()))?;
        }
        FetchError::QuotaExhausted { resets_at } => {
            kwargs.set_item("resets_at", opt_datetime(py, *resets_at)?)?;
        }
        FetchError::ProviderUnavailable { status } => kwargs.set_item("status", *status)?,
        _ => {}
    }
    module(py, &ERRORS, "stockdata.errors")?
        .getattr("_from_native")?
        .call((e.kind().as_str(), e.to_string()), Some(&kwargs))
}

/// The exception for `e`, ready to raise.
pub(crate) fn raise(py: Python<'_>, e: &FetchError) -> PyErr {
    match error(py, e, None, &[]) {
        Ok(value) => PyErr::from_value(value),
        Err(err) => err,
    }
}

/// A config error, as `stockdata.ConfigError`.
pub(crate) fn config_error(py: Python<'_>, message: String) -> PyErr {
    let made = module(py, &ERRORS, "stockdata.errors")
        .and_then(|m| m.getattr("_from_native")?.call1(("config", message)));
    match made {
        Ok(value) => PyErr::from_value(value),
        Err(err) => err,
    }
}

fn result_or_error<'py, T>(
    py: Python<'py>,
    symbol: &Symbol,
    result: &Result<T, FetchError>,
    attempts: &[Attempt],
    value: impl FnOnce(&T) -> PyResult<Bound<'py, PyAny>>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    Ok(match result {
        Ok(v) => (value(v)?, py.None().into_bound(py)),
        Err(e) => (
            py.None().into_bound(py),
            error(py, e, Some(symbol), attempts)?,
        ),
    })
}

/// A `stockdata.QuoteResult`.
fn quote_result<'py>(
    py: Python<'py>,
    symbol: &Symbol,
    result: &Result<Quote, FetchError>,
    attempts: &[Attempt],
) -> PyResult<Bound<'py, PyAny>> {
    let (value, err) = result_or_error(py, symbol, result, attempts, |q| quote(py, q))?;
    record(py, "QuoteResult")?.call1((symbol.as_str(), value, err, trail(py, attempts)?))
}

/// `stockdata.QuoteResults`: one result per requested symbol, in request order.
pub(crate) fn quote_results<'py>(
    py: Python<'py>,
    reports: &[Report<Quote>],
) -> PyResult<Bound<'py, PyAny>> {
    let items = reports
        .iter()
        .map(|r| quote_result(py, &r.symbol, &r.result, &r.trail))
        .collect::<PyResult<Vec<_>>>()?;
    record(py, "QuoteResults")?.call1((PyList::new(py, items)?,))
}

fn finding(f: &Finding) -> String {
    match f {
        Finding::LowAboveBody { start } => format!("low above open or close at {start}"),
        Finding::HighBelowBody { start } => format!("high below open or close at {start}"),
        Finding::NonPositivePrice { start } => format!("price of zero or less at {start}"),
        Finding::ZeroVolume { start } => format!("no volume at {start}"),
        Finding::DuplicateStart { start } => format!("two bars start at {start}"),
        Finding::OutOfOrder { previous, start } => {
            format!("bar at {start} listed after {previous}")
        }
        Finding::MissingWeekday { date } => format!("no bar for trading day {date}"),
    }
}

/// One symbol's bars, kept as Rust values: `stockdata.BarsResult` makes `Bar` objects from
/// them only when `.bars` is read, and DataFrames straight from the columns, so a year of
/// bars for a hundred symbols never becomes 25,000 Python objects on its way to pandas.
#[pyclass(frozen, module = "stockdata._native", name = "Series")]
#[derive(Debug)]
pub(crate) struct NativeSeries {
    bars: Vec<Bar>,
}

#[pymethods]
impl NativeSeries {
    fn __len__(&self) -> usize {
        self.bars.len()
    }

    /// The bars as `stockdata.Bar` values, oldest first.
    fn bars<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let class = record(py, "Bar")?;
        let items = self
            .bars
            .iter()
            .map(|b| bar(py, &class, b))
            .collect::<PyResult<Vec<_>>>()?;
        PyTuple::new(py, items)
    }

    /// Appends every bar's fields to `columns` (a dict of lists by field name, created as
    /// needed): `start` as integer nanoseconds since the epoch, prices as exact `Decimal`s or,
    /// with `floats`, the nearest `float`.
    fn extend_columns(&self, columns: &Bound<'_, PyDict>, floats: bool) -> PyResult<()> {
        let py = columns.py();
        let column = |name: &str| -> PyResult<Bound<'_, PyList>> {
            if let Some(list) = columns.get_item(name)? {
                return Ok(list.cast_into::<PyList>()?);
            }
            let list = PyList::empty(py);
            columns.set_item(name, &list)?;
            Ok(list)
        };
        let [
            symbol,
            interval,
            start,
            open,
            high,
            low,
            close,
            volume,
            vwap,
            trades,
        ] = [
            "symbol", "interval", "start", "open", "high", "low", "close", "volume", "vwap",
            "trades",
        ]
        .map(column);
        let (symbol, interval, start) = (symbol?, interval?, start?);
        let (open, high, low, close) = (open?, high?, low?, close?);
        let (volume, vwap, trades) = (volume?, vwap?, trades?);
        let (provider, adjustment, synthetic) = (
            column("provider")?,
            column("adjustment")?,
            column("synthetic")?,
        );
        // The class looked up once, each digit string written into one buffer.
        let class = attr(py, &DECIMAL, "decimal", "Decimal")?;
        let mut digits = String::with_capacity(32);
        let mut price = |d: Decimal| -> PyResult<Bound<'_, PyAny>> {
            if floats {
                return Ok(PyFloat::new(py, d.to_f64().unwrap_or(f64::NAN)).into_any());
            }
            digits.clear();
            write!(digits, "{d}").map_err(|e| PyValueError::new_err(e.to_string()))?;
            class.call1((digits.as_str(),))
        };
        // One str object per distinct text, shared by every row.
        let mut texts: Vec<(String, Bound<'_, PyString>)> = Vec::new();
        let mut text = |s: &str| -> Bound<'_, PyString> {
            if let Some((_, obj)) = texts.iter().find(|(t, _)| t == s) {
                return obj.clone();
            }
            let obj = PyString::new(py, s);
            texts.push((s.to_owned(), obj.clone()));
            obj
        };
        for b in &self.bars {
            let nanos = i64::try_from(b.start.as_nanosecond()).map_err(|_| {
                pyo3::exceptions::PyOverflowError::new_err(format!(
                    "{} is outside what a 64-bit nanosecond count holds",
                    b.start
                ))
            })?;
            symbol.append(text(b.symbol.as_str()))?;
            interval.append(text(b.interval.as_str()))?;
            start.append(nanos)?;
            open.append(price(b.open)?)?;
            high.append(price(b.high)?)?;
            low.append(price(b.low)?)?;
            close.append(price(b.close)?)?;
            volume.append(b.volume)?;
            match b.vwap {
                Some(v) => vwap.append(price(v)?)?,
                None => vwap.append(py.None())?,
            }
            trades.append(b.trades)?;
            provider.append(text(b.provenance.provider.as_str()))?;
            match b.provenance.adjustment {
                Some(a) => adjustment.append(text(a.as_str()))?,
                None => adjustment.append(py.None())?,
            }
            synthetic.append(b.provenance.synthetic)?;
        }
        Ok(())
    }

    /// The largest scale (digits after the point) of each price column: the `Decimal` type
    /// polars needs to hold every value exactly.
    fn scales<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let mut max = [0u32; 5];
        for b in &self.bars {
            let prices = [
                Some(b.open),
                Some(b.high),
                Some(b.low),
                Some(b.close),
                b.vwap,
            ];
            for (m, d) in max.iter_mut().zip(prices) {
                *m = (*m).max(d.map_or(0, |d| d.scale()));
            }
        }
        let out = PyDict::new(py);
        for (name, m) in ["open", "high", "low", "close", "vwap"].iter().zip(max) {
            out.set_item(name, m)?;
        }
        Ok(out)
    }
}

fn bars_result<'py>(
    py: Python<'py>,
    symbol: &Symbol,
    result: &Result<Series, FetchError>,
    attempts: &[Attempt],
) -> PyResult<Bound<'py, PyAny>> {
    let (series, findings, err) = match result {
        Ok(series) => {
            let findings: Vec<String> = series.findings.iter().map(finding).collect();
            let native = NativeSeries {
                bars: series.bars.clone(),
            };
            (
                Bound::new(py, native)?.into_any(),
                findings,
                py.None().into_bound(py),
            )
        }
        Err(e) => (
            py.None().into_bound(py),
            Vec::new(),
            error(py, e, Some(symbol), attempts)?,
        ),
    };
    record(py, "BarsResult")?.call1((
        symbol.as_str(),
        PyTuple::empty(py),
        err,
        trail(py, attempts)?,
        PyTuple::new(py, findings)?,
        series,
    ))
}

/// `stockdata.BarsResults`: one series per requested symbol, in request order.
pub(crate) fn bars_results<'py>(
    py: Python<'py>,
    reports: &[Report<Series>],
) -> PyResult<Bound<'py, PyAny>> {
    let items = reports
        .iter()
        .map(|r| bars_result(py, &r.symbol, &r.result, &r.trail))
        .collect::<PyResult<Vec<_>>>()?;
    record(py, "BarsResults")?.call1((PyList::new(py, items)?,))
}

/// `stockdata.NewsResult`: merged articles, or the error when every provider failed.
pub(crate) fn news_result<'py>(
    py: Python<'py>,
    symbols: &[Symbol],
    report: &NewsReport,
) -> PyResult<Bound<'py, PyAny>> {
    let (articles, err) = match &report.result {
        Ok(list) => (
            list.iter()
                .map(|a| article(py, a))
                .collect::<PyResult<Vec<_>>>()?,
            py.None().into_bound(py),
        ),
        Err(e) => (Vec::new(), error(py, e, symbols.first(), &report.trail)?),
    };
    let symbols: Vec<&str> = symbols.iter().map(Symbol::as_str).collect();
    record(py, "NewsResult")?.call1((
        PyTuple::new(py, symbols)?,
        PyTuple::new(py, articles)?,
        err,
        trail(py, &report.trail)?,
    ))
}

fn symbol_report<'py>(py: Python<'py>, r: &SymbolReport) -> PyResult<Bound<'py, PyAny>> {
    let news = NewsReport {
        result: r.news.clone(),
        trail: r.news_trail.clone(),
    };
    record(py, "SymbolReport")?.call1((
        r.symbol.as_str(),
        quote_result(py, &r.symbol, &r.quote, &r.quote_trail)?,
        bars_result(py, &r.symbol, &r.bars, &r.bars_trail)?,
        news_result(py, std::slice::from_ref(&r.symbol), &news)?,
    ))
}

fn run_stats<'py>(py: Python<'py>, s: &RunStats) -> PyResult<Bound<'py, PyAny>> {
    let calls = PyDict::new(py);
    for (provider, n) in &s.calls {
        calls.set_item(provider.as_str(), n)?;
    }
    let kwargs = PyDict::new(py);
    kwargs.set_item("elapsed", s.elapsed.as_secs_f64())?;
    kwargs.set_item("calls", calls)?;
    kwargs.set_item("failovers", s.failovers)?;
    kwargs.set_item("store_hits", s.store_hits)?;
    kwargs.set_item("complete", s.complete)?;
    kwargs.set_item("partial", s.partial)?;
    kwargs.set_item("failed", s.failed)?;
    record(py, "RunStats")?.call((), Some(&kwargs))
}

/// `stockdata.AgentReport`.
pub(crate) fn agent_report<'py>(py: Python<'py>, r: &AgentReport) -> PyResult<Bound<'py, PyAny>> {
    let symbols = r
        .symbols
        .iter()
        .map(|s| symbol_report(py, s))
        .collect::<PyResult<Vec<_>>>()?;
    record(py, "AgentReport")?.call1((
        r.run_id.to_string(),
        PyTuple::new(py, symbols)?,
        run_stats(py, &r.stats)?,
    ))
}

// ---------------------------------------------------------------------------------------------
// In: Python to Rust

fn invalid(py: Python<'_>, reason: String) -> PyErr {
    raise(py, &FetchError::InvalidRequest { reason })
}

/// `"AAPL"` or an iterable of symbols, each checked by `Symbol::parse`.
pub(crate) fn symbols(obj: &Bound<'_, PyAny>) -> PyResult<Vec<Symbol>> {
    let py = obj.py();
    let texts: Vec<String> = if let Ok(s) = obj.cast::<PyString>() {
        vec![s.to_str()?.to_owned()]
    } else {
        let mut out = Vec::new();
        for item in obj.try_iter()? {
            out.push(item?.extract::<String>()?);
        }
        out
    };
    if texts.is_empty() {
        return Err(invalid(py, "no symbols given".to_owned()));
    }
    texts
        .iter()
        .map(|t| Symbol::parse(t).map_err(|e| invalid(py, format!("symbol {t:?}: {e}"))))
        .collect()
}

/// An instant or a New York calendar date, as the caller gave it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum When {
    Instant(Timestamp),
    Day(Date),
}

/// A timezone-aware `datetime` as an instant; a naive one is refused (its zone is a guess).
pub(crate) fn instant(obj: &Bound<'_, PyAny>) -> PyResult<Timestamp> {
    let py = obj.py();
    if obj.call_method0("utcoffset")?.is_none() {
        return Err(invalid(
            py,
            "a naive datetime has no time zone: pass an aware one (tzinfo=timezone.utc)".to_owned(),
        ));
    }
    let text: String = obj.call_method0("isoformat")?.extract()?;
    Timestamp::from_str(&text).map_err(|e| invalid(py, format!("datetime {text}: {e}")))
}

/// `datetime` (aware), `date`, or text (`2024-01-02` or RFC 3339).
pub(crate) fn when(obj: &Bound<'_, PyAny>) -> PyResult<When> {
    let py = obj.py();
    let dt = attr(py, &DATETIME, "datetime", "datetime")?;
    if obj.is_instance(&dt)? {
        return instant(obj).map(When::Instant);
    }
    let text: String = if obj.hasattr("isoformat")? {
        obj.call_method0("isoformat")?.extract()?
    } else if let Ok(s) = obj.cast::<PyString>() {
        s.to_str()?.trim().to_owned()
    } else {
        return Err(PyTypeError::new_err(
            "expected a datetime, a date or text such as 2024-01-02",
        ));
    };
    if let Ok(d) = Date::from_str(&text) {
        return Ok(When::Day(d));
    }
    Timestamp::from_str(&text).map(When::Instant).map_err(|e| {
        invalid(
            py,
            format!("{text:?} is neither a date nor an instant: {e}"),
        )
    })
}

/// The instants from `start` to `end`: a date stands for its whole New York day, so an end
/// date is included (as on the command line).
pub(crate) fn range(py: Python<'_>, start: When, end: When) -> PyResult<TimeRange> {
    let day = |d: Date| {
        DateRange::new(d, d)
            .map(|r| r.to_time_range())
            .map_err(|e| invalid(py, e.to_string()))
    };
    let from = match start {
        When::Instant(t) => t,
        When::Day(d) => day(d)?.start(),
    };
    let to = match end {
        When::Instant(t) => t,
        When::Day(d) => day(d)?.end(),
    };
    TimeRange::new(from, to).map_err(|e| invalid(py, e.to_string()))
}

/// `1d`, `1h`, ... (the CLI's spellings).
pub(crate) fn interval(py: Python<'_>, text: &str) -> PyResult<Interval> {
    Interval::from_str(text).map_err(|e| invalid(py, e.to_string()))
}

/// `raw`, `split`, `dividend` or `all`.
pub(crate) fn adjustment(py: Python<'_>, text: &str) -> PyResult<Adjustment> {
    Adjustment::from_str(text).map_err(|e| invalid(py, e.to_string()))
}

/// A decimal from a `Decimal`, an `int`, a `str` or a `float` (through its shortest text, so
/// `189.98` stays `189.98`).
pub(crate) fn to_decimal(obj: &Bound<'_, PyAny>) -> Result<Decimal, String> {
    if obj.is_instance_of::<PyBool>() {
        return Err("a bool is not a price".to_owned());
    }
    let text: String = obj
        .str()
        .and_then(|s| s.extract())
        .map_err(|e| e.to_string())?;
    Decimal::from_str(text.trim())
        .or_else(|_| Decimal::from_scientific(text.trim()))
        .map_err(|e| format!("{text:?} is not a decimal: {e}"))
}

/// A config dict as TOML (the same keys and sections as `stockdata.toml`).
pub(crate) fn toml_table(obj: &Bound<'_, PyDict>) -> PyResult<toml::Table> {
    let mut table = toml::Table::new();
    for (k, v) in obj.iter() {
        let key: String = k
            .extract()
            .map_err(|_| PyTypeError::new_err("config keys must be str"))?;
        let value =
            toml_value(&v).map_err(|e| PyTypeError::new_err(format!("config {key}: {e}")))?;
        table.insert(key, value);
    }
    Ok(table)
}

fn toml_value(v: &Bound<'_, PyAny>) -> PyResult<toml::Value> {
    if let Ok(b) = v.cast::<PyBool>() {
        return Ok(toml::Value::Boolean(b.is_true()));
    }
    if v.is_instance_of::<PyInt>() {
        return Ok(toml::Value::Integer(v.extract()?));
    }
    if v.is_instance_of::<PyFloat>() {
        return Ok(toml::Value::Float(v.extract()?));
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(toml::Value::String(s.to_str()?.to_owned()));
    }
    if let Ok(d) = v.cast::<PyDict>() {
        return toml_table(d).map(toml::Value::Table);
    }
    if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        let mut out = Vec::new();
        for item in v.try_iter()? {
            out.push(toml_value(&item?)?);
        }
        return Ok(toml::Value::Array(out));
    }
    Err(PyTypeError::new_err(
        "only str, int, float, bool, list and dict values (TOML's types)",
    ))
}

/// The config a dict describes, as if it were a file named `<dict>`.
pub(crate) fn config_from_dict(obj: &Bound<'_, PyDict>) -> PyResult<stockdata_app::config::Config> {
    let text = toml_table(obj)?.to_string();
    stockdata_app::config::from_toml(&text, Path::new("<config dict>"))
        .map_err(|e| config_error(obj.py(), e.to_string()))
}
