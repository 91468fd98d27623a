"""The records stockdata returns, mirroring its JSON records (docs/output.md).

Prices are exact :class:`decimal.Decimal` values with the provider's digits; instants are
timezone-aware UTC :class:`datetime.datetime` values (microsecond resolution). Every record
names its ``provider``; ``synthetic`` is True for sandbox data.

DataFrames (``to_pandas()``, ``to_polars()``; pandas and polars are optional dependencies)
follow one rule for decimals, chosen by ``decimals=``:

- ``"decimal"`` (the default) keeps them exact: pandas gets ``object`` columns of ``Decimal``,
  polars ``Decimal`` columns (at the largest scale in the column);
- ``"float"`` converts each to the nearest ``float64`` (``float(d)``): convenient for numeric
  work, no longer exact.

Instants become ``datetime64[..., UTC]`` (pandas) or ``Datetime("us", "UTC")`` (polars).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, Sequence

from .errors import StockDataError

if TYPE_CHECKING:
    import pandas
    import polars

Decimals = Literal["decimal", "float"]

__all__ = [
    "Attempt",
    "Quote",
    "Bar",
    "NewsArticle",
    "Sentiment",
    "TickerSentiment",
    "QuoteResult",
    "QuoteResults",
    "BarsResult",
    "BarsResults",
    "NewsResult",
    "SymbolReport",
    "RunStats",
    "AgentReport",
]


@dataclass(frozen=True, slots=True)
class Attempt:
    """One step of an attempt trail: which provider was asked and how it ended."""

    provider: str
    #: ``"ok"``, ``"skipped"``, ``"over_budget"`` or an error kind (``"rate_limited"``, ...).
    outcome: str
    #: Seconds spent, pacing and retries included.
    elapsed: float


@dataclass(frozen=True, slots=True)
class Quote:
    """A latest quote (the ``quote`` JSON record)."""

    symbol: str
    price: Decimal
    as_of: datetime
    bid: Decimal | None = None
    ask: Decimal | None = None
    bid_size: int | None = None
    ask_size: int | None = None
    open: Decimal | None = None
    high: Decimal | None = None
    low: Decimal | None = None
    previous_close: Decimal | None = None
    change: Decimal | None = None
    change_percent: Decimal | None = None
    volume: int | None = None
    provider: str = ""
    synthetic: bool = False


@dataclass(frozen=True, slots=True)
class Bar:
    """An OHLCV bar labelled by its start (daily bars: 00:00 New York of their date)."""

    symbol: str
    start: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int = 0
    interval: str = "1d"
    vwap: Decimal | None = None
    trades: int | None = None
    provider: str = ""
    #: ``raw``, ``split``, ``dividend`` or ``all``, when the provider noted it.
    adjustment: str | None = None
    synthetic: bool = False


@dataclass(frozen=True, slots=True)
class NewsArticle:
    """A news article."""

    headline: str
    url: str
    published_at: datetime
    id: str = ""
    symbols: tuple[str, ...] = ()
    summary: str = ""
    source: str = ""
    provider: str = ""
    author: str | None = None
    image: str | None = None
    synthetic: bool = False
    #: The provider's sentiment scores (Alpha Vantage), None where it scores none.
    sentiment: Sentiment | None = None


@dataclass(frozen=True, slots=True)
class TickerSentiment:
    """How an article reads for one ticker it mentions."""

    symbol: str
    #: How much the article is about the ticker, typically in [0, 1].
    relevance: Decimal
    #: Typically in [-1, 1].
    score: Decimal
    #: As :attr:`Sentiment.label`.
    label: str


@dataclass(frozen=True, slots=True)
class Sentiment:
    """An article's sentiment (the ``sentiment`` JSON object): exact decimals."""

    #: Overall score, typically in [-1, 1].
    score: Decimal
    #: ``"bearish"``, ``"somewhat_bearish"``, ``"neutral"``, ``"somewhat_bullish"``,
    #: ``"bullish"``, or the provider's own label verbatim.
    label: str
    #: Per-ticker scores in the provider's order (equity symbols only).
    tickers: tuple[TickerSentiment, ...] = ()


@dataclass(frozen=True, slots=True)
class QuoteResult:
    """One requested symbol's quote, or the error that every provider gave."""

    symbol: str
    quote: Quote | None
    error: StockDataError | None
    trail: tuple[Attempt, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether a quote came back."""
        return self.error is None

    def unwrap(self) -> Quote:
        """The quote, or raise its error."""
        if self.quote is None:
            raise self.error or StockDataError("no quote", symbol=self.symbol)
        return self.quote


class BarsResult:
    """One requested symbol's bars (oldest first), or the error every provider gave.

    ``bars`` are made into :class:`Bar` values when first read; the DataFrame views of
    :class:`BarsResults` are built from the columns without them.
    """

    __slots__ = ("symbol", "error", "trail", "findings", "_series", "_bars")
    __match_args__ = ("symbol", "bars", "error", "trail", "findings")

    def __init__(
        self,
        symbol: str,
        bars: Sequence[Bar] = (),
        error: StockDataError | None = None,
        trail: Sequence[Attempt] = (),
        findings: Sequence[str] = (),
        _series: Any = None,
    ) -> None:
        self.symbol: str = symbol
        self.error: StockDataError | None = error
        self.trail: tuple[Attempt, ...] = tuple(trail)
        #: Data-quality findings (a missing trading day, a low above the close ...).
        self.findings: tuple[str, ...] = tuple(findings)
        self._series = _series
        self._bars: tuple[Bar, ...] | None = None if _series is not None else tuple(bars)

    @property
    def bars(self) -> tuple[Bar, ...]:
        """The bars, oldest first (empty when the symbol failed)."""
        if self._bars is None:
            self._bars = self._series.bars()
        return self._bars

    @property
    def ok(self) -> bool:
        """Whether bars came back."""
        return self.error is None

    def unwrap(self) -> tuple[Bar, ...]:
        """The bars, or raise the error."""
        if self.error is not None:
            raise self.error
        return self.bars

    def __len__(self) -> int:
        return len(self._series) if self._bars is None else len(self._bars)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BarsResult):
            return NotImplemented
        return (self.symbol, self.bars, self.error, self.trail, self.findings) == (
            other.symbol,
            other.bars,
            other.error,
            other.trail,
            other.findings,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"BarsResult(symbol={self.symbol!r}, bars=<{len(self)} bars>, "
            f"error={self.error!r}, trail={self.trail!r}, findings={self.findings!r})"
        )

    def _extend(self, cols: dict[str, list[Any]], floats: bool) -> None:
        if self._series is not None and self._bars is None:
            self._series.extend_columns(cols, floats)
            return
        for b in self.bars:
            for name in _BAR_COLUMNS:
                value = getattr(b, name)
                if name == "start":
                    value = _nanos(value)
                elif floats and name in _BAR_DECIMALS and value is not None:
                    value = float(value)
                cols.setdefault(name, []).append(value)

    def _scales(self) -> dict[str, int]:
        if self._series is not None and self._bars is None:
            return self._series.scales()
        return {
            name: max(
                (_scale(getattr(b, name)) for b in self.bars if getattr(b, name) is not None),
                default=0,
            )
            for name in _BAR_DECIMALS
        }


@dataclass(frozen=True, slots=True)
class NewsResult:
    """Articles about the requested symbols, newest first, merged from every provider."""

    symbols: tuple[str, ...]
    articles: tuple[NewsArticle, ...]
    error: StockDataError | None
    trail: tuple[Attempt, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the providers answered (an empty list is an answer: quiet days happen)."""
        return self.error is None

    def unwrap(self) -> tuple[NewsArticle, ...]:
        """The articles, or raise the error."""
        if self.error is not None:
            raise self.error
        return self.articles

    def to_pandas(self) -> pandas.DataFrame:
        """One row per article (``symbols`` joined by spaces), with the CSV's sentiment
        columns: ``sentiment_score`` (Decimal), ``sentiment_label``, ``ticker_scores``."""
        import pandas as pd

        cols = _news_columns(self.articles, pd=True)
        # Exact Decimals (or None), as every decimal column with decimals="decimal".
        cols["sentiment_score"] = _objects(cols["sentiment_score"])
        return pd.DataFrame(cols)

    def to_polars(self) -> polars.DataFrame:
        """One row per article."""
        import polars as pl

        cols = _news_columns(self.articles, pd=False)
        return pl.DataFrame(
            cols,
            schema_overrides={
                "published_at": pl.Datetime("us", "UTC"),
                "sentiment_score": pl.Decimal(
                    38,
                    max((_scale(v) for v in cols["sentiment_score"] if v is not None), default=0),
                ),
                "sentiment_label": pl.String,
                "ticker_scores": pl.String,
            },
        )


@dataclass(frozen=True, slots=True)
class SymbolReport:
    """What the agent found for one symbol."""

    symbol: str
    quote: QuoteResult
    bars: BarsResult
    news: NewsResult


@dataclass(frozen=True, slots=True)
class RunStats:
    """An agent run's statistics."""

    elapsed: float = 0.0
    #: Port calls per provider.
    calls: dict[str, int] = field(default_factory=dict)
    failovers: int = 0
    store_hits: int = 0
    complete: int = 0
    partial: int = 0
    failed: int = 0


@dataclass(frozen=True, slots=True)
class AgentReport:
    """One agent run: a report per requested symbol, in order, and statistics."""

    run_id: str
    symbols: tuple[SymbolReport, ...]
    stats: RunStats


# ------------------------------------------------------------------------------------------
# Lists with DataFrame conversions

_QUOTE_DECIMALS = (
    "price",
    "bid",
    "ask",
    "open",
    "high",
    "low",
    "previous_close",
    "change",
    "change_percent",
)
_QUOTE_COLUMNS = (
    "symbol",
    "price",
    "bid",
    "ask",
    "bid_size",
    "ask_size",
    "open",
    "high",
    "low",
    "previous_close",
    "change",
    "change_percent",
    "volume",
    "as_of",
    "provider",
    "synthetic",
)
_BAR_DECIMALS = ("open", "high", "low", "close", "vwap")
_BAR_COLUMNS = (
    "symbol",
    "interval",
    "start",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "vwap",
    "trades",
    "provider",
    "adjustment",
    "synthetic",
)


def _check(decimals: str) -> None:
    if decimals not in ("decimal", "float"):
        raise ValueError(f'decimals must be "decimal" or "float", not {decimals!r}')


def _floats(values: list[Any]) -> list[float | None]:
    return [v if v is None or isinstance(v, float) else float(v) for v in values]


def _nanos(t: datetime) -> int:
    delta = t - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def _scale(d: Decimal) -> int:
    exponent = d.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_COUNTS = ("bid_size", "ask_size", "volume", "trades")


def _pandas_frame(cols, decimal_cols, time_cols, decimals, nanos=False):
    # Arrays, not Series: a dict of Series would be aligned on their indexes first.
    import numpy as np
    import pandas as pd

    data: dict[str, Any] = {}
    for name, values in cols.items():
        if name in time_cols:
            if nanos:
                ns = np.array(values, dtype=np.int64).view("datetime64[ns]")
                data[name] = pd.DatetimeIndex(ns).tz_localize("UTC")
            else:
                data[name] = pd.to_datetime(values, utc=True)
        elif name in decimal_cols:
            if decimals == "float":
                data[name] = np.array(_floats(values), dtype=np.float64)
            else:
                data[name] = _objects(values)
        elif name in _COUNTS:
            data[name] = pd.array(values, dtype="Int64")
        elif name == "error":
            data[name] = _objects(values)
        else:
            data[name] = values
    return pd.DataFrame(data)


def _objects(values: list[Any]):
    import numpy as np

    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _polars_frame(cols, decimal_cols, time_cols, decimals, nanos=False, scales=None):
    import polars as pl

    series = []
    for name, values in cols.items():
        if name in time_cols:
            if nanos:
                s = pl.Series(name, values, dtype=pl.Int64).cast(pl.Datetime("ns", "UTC"))
                series.append(s.dt.cast_time_unit("us"))
            else:
                series.append(pl.Series(name, values, dtype=pl.Datetime("us", "UTC")))
        elif name in decimal_cols:
            if decimals == "float":
                series.append(pl.Series(name, _floats(values), dtype=pl.Float64))
            else:
                if scales is not None:
                    scale = scales.get(name, 0)
                else:
                    scale = max((_scale(v) for v in values if v is not None), default=0)
                series.append(pl.Series(name, values, dtype=pl.Decimal(38, scale)))
        elif name in _COUNTS:
            series.append(pl.Series(name, values, dtype=pl.UInt64))
        elif name == "synthetic":
            series.append(pl.Series(name, values, dtype=pl.Boolean))
        else:
            series.append(pl.Series(name, values, dtype=pl.String))
    return pl.DataFrame(series)


class QuoteResults(list):
    """``list[QuoteResult]``, one per requested symbol in order, with DataFrame views."""

    @property
    def failed(self) -> list[QuoteResult]:
        """The results that carry an error."""
        return [r for r in self if r.error is not None]

    def _columns(self) -> dict[str, list[Any]]:
        cols: dict[str, list[Any]] = {name: [] for name in _QUOTE_COLUMNS}
        cols["error"] = []
        for r in self:
            q = r.quote
            for name in _QUOTE_COLUMNS:
                if name == "symbol":
                    cols[name].append(r.symbol)
                else:
                    cols[name].append(None if q is None else getattr(q, name))
            cols["error"].append(None if r.error is None else r.error.kind)
        return cols

    def to_pandas(self, decimals: Decimals = "decimal") -> pandas.DataFrame:
        """One row per requested symbol; a failed one has its error kind in ``error`` and
        nulls elsewhere. ``decimals``: see the module docs."""
        _check(decimals)
        return _pandas_frame(self._columns(), _QUOTE_DECIMALS, ("as_of",), decimals)

    def to_polars(self, decimals: Decimals = "decimal") -> polars.DataFrame:
        """As ``to_pandas``, for polars."""
        _check(decimals)
        return _polars_frame(self._columns(), _QUOTE_DECIMALS, ("as_of",), decimals)


class BarsResults(list):
    """``list[BarsResult]``, one per requested symbol in order, with DataFrame views."""

    @property
    def failed(self) -> list[BarsResult]:
        """The results that carry an error (they have no rows in the DataFrames)."""
        return [r for r in self if r.error is not None]

    def _columns(self, floats: bool) -> dict[str, list[Any]]:
        cols: dict[str, list[Any]] = {}
        for r in self:
            r._extend(cols, floats)
        return {name: cols.get(name, []) for name in _BAR_COLUMNS}

    def _scales(self) -> dict[str, int]:
        out = dict.fromkeys(_BAR_DECIMALS, 0)
        for r in self:
            if r.error is None:
                for name, scale in r._scales().items():
                    out[name] = max(out[name], scale)
        return out

    def to_pandas(self, decimals: Decimals = "decimal") -> pandas.DataFrame:
        """Every bar of every symbol, one row each (long format: ``symbol``, ``start``, ...);
        symbols that failed have no rows: see ``failed``. ``decimals``: see the module docs."""
        _check(decimals)
        cols = self._columns(decimals == "float")
        return _pandas_frame(cols, _BAR_DECIMALS, ("start",), decimals, nanos=True)

    def to_polars(self, decimals: Decimals = "decimal") -> polars.DataFrame:
        """As ``to_pandas``, for polars."""
        _check(decimals)
        cols = self._columns(decimals == "float")
        scales = self._scales() if decimals == "decimal" else None
        return _polars_frame(
            cols, _BAR_DECIMALS, ("start",), decimals, nanos=True, scales=scales
        )


def _news_columns(articles: Sequence[NewsArticle], pd: bool) -> dict[str, list[Any]]:
    names = (
        "id",
        "symbols",
        "headline",
        "summary",
        "url",
        "source",
        "published_at",
        "provider",
        "author",
        "image",
        "synthetic",
    )
    cols = {name: [getattr(a, name) for a in articles] for name in names}
    cols["symbols"] = [" ".join(s) for s in cols["symbols"]]
    # The CSV's sentiment columns: the overall score (an exact Decimal) and label, and the
    # per-ticker scores as ``SYMBOL=score`` joined by spaces; None where none was scored.
    cols["sentiment_score"] = [a.sentiment.score if a.sentiment else None for a in articles]
    cols["sentiment_label"] = [a.sentiment.label if a.sentiment else None for a in articles]
    cols["ticker_scores"] = [
        " ".join(f"{t.symbol}={t.score}" for t in a.sentiment.tickers) if a.sentiment else None
        for a in articles
    ]
    if pd:
        import pandas

        cols["published_at"] = pandas.to_datetime(cols["published_at"], utc=True)
    return cols


async def _await_call(method, args):
    """Awaits ``method(*args)``: how a synchronous call runs Python providers' coroutines."""
    return await method(*args)
