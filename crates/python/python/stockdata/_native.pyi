"""Type stubs of the compiled module (crates/python/src). Import from ``stockdata``."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Literal, Protocol

from ._records import AgentReport, BarsResults, NewsResult, QuoteResults

__version__: str

Symbols = str | Iterable[str]
When = datetime | date | str
Interval = Literal["1m", "5m", "15m", "30m", "1h", "1d", "1w", "1mo"] | str
Adjustment = Literal["raw", "split", "dividend", "all"]

class Provider(Protocol):
    """Any object with one or more of ``quote``, ``bars`` and ``news`` (``async def`` or
    plain ``def``), answering with ``stockdata.Quote`` / ``Bar`` / ``NewsArticle`` values (or
    objects or dicts with their fields) and failing by raising ``stockdata`` errors. Its
    provider id is its ``name`` attribute, else its class name in lower case; an optional
    ``intervals`` attribute lists the bar intervals it serves (default: all)."""

class StockData:
    """Market data from the configured providers, the sandbox, or Python providers."""

    def __init__(
        self,
        config: Mapping[str, Any] | str | os.PathLike[str] | None = None,
        sandbox: bool = False,
        providers: Sequence[Provider] | None = None,
    ) -> None: ...
    @staticmethod
    def from_env(
        sandbox: bool = False, providers: Sequence[Provider] | None = None
    ) -> StockData: ...
    def quote(self, symbols: Symbols) -> QuoteResults: ...
    def quote_async(self, symbols: Symbols) -> Awaitable[QuoteResults]: ...
    def bars(
        self,
        symbols: Symbols,
        start: When | None = None,
        end: When | None = None,
        interval: Interval = "1d",
        adjustment: Adjustment | None = None,
    ) -> BarsResults: ...
    def bars_async(
        self,
        symbols: Symbols,
        start: When | None = None,
        end: When | None = None,
        interval: Interval = "1d",
        adjustment: Adjustment | None = None,
    ) -> Awaitable[BarsResults]: ...
    def news(
        self,
        symbols: Symbols,
        start: When | None = None,
        end: When | None = None,
        limit: int = 50,
    ) -> NewsResult: ...
    def news_async(
        self,
        symbols: Symbols,
        start: When | None = None,
        end: When | None = None,
        limit: int = 50,
    ) -> Awaitable[NewsResult]: ...
    def agent(self, watchlist: Symbols) -> AgentReport: ...
    def agent_async(self, watchlist: Symbols) -> Awaitable[AgentReport]: ...
    @property
    def providers(self) -> dict[str, list[str]]: ...
    @property
    def sandbox_url(self) -> str | None: ...
    def close(self) -> None: ...
    def __enter__(self) -> StockData: ...
    def __exit__(self, *exc: object) -> None: ...
