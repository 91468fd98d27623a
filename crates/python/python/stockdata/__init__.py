"""stockdata: market data for Python, from the same Rust core as the ``stockdata`` command.

Latest quotes, historical OHLCV bars, company news and the watchlist agent from Alpha Vantage,
Finnhub, Alpaca, your own serverless fetcher, the built-in sandbox, or providers written in
Python, with per-symbol fail-over, client-side pacing to each provider's quota, and the trail
of providers tried on every result::

    import stockdata

    sd = stockdata.StockData(sandbox=True)          # synthetic data, no keys, no network
    for r in sd.quote(["AAPL", "MSFT"]):
        print(r.symbol, r.quote.price if r.ok else r.error, r.trail)
    df = sd.bars(["AAPL"], start="2024-01-02", end="2024-03-08").to_pandas()

Prices are exact ``Decimal``s, instants timezone-aware UTC ``datetime``s. Errors are
``StockDataError`` subclasses named after their kind (``RateLimited``, ``UnknownSymbol``, ...).
Every call has an awaitable twin (``quote_async`` ...) for asyncio.
"""

from ._native import StockData, __version__
from ._records import (
    AgentReport,
    Attempt,
    Bar,
    BarsResult,
    BarsResults,
    NewsArticle,
    NewsResult,
    Quote,
    QuoteResult,
    QuoteResults,
    RunStats,
    Sentiment,
    SymbolReport,
    TickerSentiment,
)
from .errors import (
    Cancelled,
    ConfigError,
    EntitlementDenied,
    InvalidRequest,
    Malformed,
    NoData,
    NotStored,
    ProviderUnavailable,
    QuotaExhausted,
    RateLimited,
    StockDataError,
    StoreError,
    Timeout,
    TransportError,
    Unauthorized,
    UnknownSymbol,
)

__all__ = [
    "StockData",
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
    "StockDataError",
    "ConfigError",
    "RateLimited",
    "QuotaExhausted",
    "Unauthorized",
    "EntitlementDenied",
    "UnknownSymbol",
    "NoData",
    "InvalidRequest",
    "Timeout",
    "TransportError",
    "ProviderUnavailable",
    "Malformed",
    "Cancelled",
    "NotStored",
    "StoreError",
    "__version__",
]
