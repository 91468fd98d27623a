"""The package's surface: exceptions, secrets, argument checks, DataFrames, docs."""

from __future__ import annotations

import pickle
import pydoc
from datetime import datetime, timezone
from decimal import Decimal

import pandas as pd
import polars as pl
import pytest

import stockdata

SECRET = "sk-live-DO-NOT-LEAK-1234567890"


def test_every_error_kind_has_a_class_under_one_base():
    kinds = {
        stockdata.RateLimited: "rate_limited",
        stockdata.QuotaExhausted: "quota_exhausted",
        stockdata.Unauthorized: "unauthorized",
        stockdata.EntitlementDenied: "entitlement_denied",
        stockdata.UnknownSymbol: "unknown_symbol",
        stockdata.NoData: "no_data",
        stockdata.InvalidRequest: "invalid_request",
        stockdata.Timeout: "timeout",
        stockdata.TransportError: "transport",
        stockdata.ProviderUnavailable: "provider_unavailable",
        stockdata.Malformed: "malformed",
        stockdata.Cancelled: "cancelled",
        stockdata.NotStored: "not_stored",
        stockdata.StoreError: "store",
        stockdata.ConfigError: "config",
    }
    for cls, kind in kinds.items():
        assert issubclass(cls, stockdata.StockDataError)
        assert cls.kind == kind
        err = cls(symbol="AAPL")
        assert str(err)  # the class's one-line description
        assert pickle.loads(pickle.dumps(err)).symbol == "AAPL"


def test_an_api_key_is_in_no_repr_and_no_error(sandbox):
    config = sandbox.config("finnhub")
    config["providers"]["finnhub"]["api_key"] = SECRET
    sd = stockdata.StockData(config)
    assert SECRET not in repr(sd)
    results = sd.quote(["AAPL", "ZZZZZZ"])
    assert SECRET not in repr(results)
    assert SECRET not in str(results[1].error)
    assert SECRET not in repr(results[1].error)

    bad = {"providers": {"finnhub": {"api_key": SECRET, "requests_per_minute": "many"}}}
    with pytest.raises(stockdata.ConfigError) as raised:
        stockdata.StockData(bad)
    assert "requests_per_minute" in str(raised.value)
    assert SECRET not in str(raised.value)


def test_config_errors_name_the_key():
    with pytest.raises(stockdata.ConfigError, match="provider"):
        stockdata.StockData({"providers": {"nope": {}}})
    with pytest.raises(stockdata.ConfigError, match="cannot read config file"):
        stockdata.StockData("/nonexistent/stockdata.toml")
    with pytest.raises(TypeError):
        stockdata.StockData({"agent": {"concurrency": object()}})
    with pytest.raises(TypeError):
        stockdata.StockData(42)


def test_bad_arguments_raise_invalid_request(sd):
    with pytest.raises(stockdata.InvalidRequest, match="symbol"):
        sd.quote(["AAPL", "not a symbol!"])
    with pytest.raises(stockdata.InvalidRequest):
        sd.quote([])
    with pytest.raises(stockdata.InvalidRequest, match="naive"):
        sd.bars("AAPL", start=datetime(2024, 1, 2))
    with pytest.raises(stockdata.InvalidRequest, match="interval"):
        sd.bars("AAPL", start="2024-01-02", interval="7m")
    with pytest.raises(stockdata.InvalidRequest):
        sd.bars("AAPL", start="2024-02-01", end="2024-01-01")


def test_quotes_to_pandas_keep_exact_decimals_and_failed_symbols(sd):
    results = sd.quote(["AAPL", "ZZZZZZ"])
    df = results.to_pandas()
    assert list(df["symbol"]) == ["AAPL", "ZZZZZZ"]
    assert df.loc[0, "price"] == results[0].quote.price
    assert isinstance(df.loc[0, "price"], Decimal)
    assert df.loc[1, "error"] == "unknown_symbol"
    assert pd.isna(df.loc[1, "price"])
    assert str(df["as_of"].dtype).endswith(", UTC]")

    floats = results.to_pandas(decimals="float")
    assert floats["price"].dtype == "float64"
    assert floats.loc[0, "price"] == float(results[0].quote.price)
    with pytest.raises(ValueError):
        results.to_pandas(decimals="approximately")


def test_bars_to_pandas_and_polars(sd):
    results = sd.bars(["AAPL", "MSFT", "ZZZZZZ"], start="2024-01-02", end="2024-01-31")
    bars = [b for r in results for b in r.bars]
    assert [r.symbol for r in results.failed] == ["ZZZZZZ"]

    df = results.to_pandas()
    assert len(df) == len(bars) == 42
    assert list(df["close"]) == [b.close for b in bars]
    assert df["start"].iloc[0] == pd.Timestamp("2024-01-02T05:00:00Z")
    assert df["volume"].dtype == "Int64"

    frame = results.to_polars()
    assert frame.height == 42
    assert isinstance(frame.schema["close"], pl.Decimal)
    assert frame["close"].to_list() == [b.close for b in bars]
    assert frame.schema["start"] == pl.Datetime("us", "UTC")
    assert frame["start"][0] == datetime(2024, 1, 2, 5, tzinfo=timezone.utc)

    approx = results.to_polars(decimals="float")
    assert approx.schema["close"] == pl.Float64


def test_news_and_quotes_to_polars(sd):
    news = sd.news("AAPL", limit=3)
    frame = news.to_polars()
    assert frame.height == len(news.articles)
    assert frame.schema["published_at"] == pl.Datetime("us", "UTC")
    assert len(news.to_pandas()) == len(news.articles)
    quotes = sd.quote(["AAPL", "MSFT"]).to_polars()
    assert isinstance(quotes.schema["price"], pl.Decimal)


def test_news_frames_carry_the_csv_sentiment_columns():
    # Alpha Vantage scores the sandbox's stories (the shared fixture leaves it out of routing).
    config = {"routing": {"news": ["alpha_vantage"]}}
    with stockdata.StockData(config, sandbox=True) as client:
        news = client.news("AAPL", limit=3)
    frame = news.to_polars()
    assert isinstance(frame.schema["sentiment_score"], pl.Decimal)
    scored = [a for a in news.articles if a.sentiment is not None]
    assert scored, "the sandbox's Alpha Vantage news carries sentiment"
    labels = frame["sentiment_label"].to_list()
    assert labels == [a.sentiment.label if a.sentiment else None for a in news.articles]
    pdf = news.to_pandas()
    assert len(pdf) == len(news.articles)
    first = next(i for i, a in enumerate(news.articles) if a.sentiment is not None)
    assert pdf["sentiment_score"][first] == news.articles[first].sentiment.score
    assert isinstance(pdf["sentiment_score"][first], Decimal)
    tickers = news.articles[first].sentiment.tickers
    if tickers:
        assert pdf["ticker_scores"][first].startswith(f"{tickers[0].symbol}=")


def test_help_reads_well():
    text = pydoc.render_doc(stockdata.StockData, renderer=pydoc.plaintext)
    for needle in (
        "StockData(config=None, sandbox=False, providers=None)",
        "quote_async",
        "bars(symbols, start=None, end=None, interval=\"1d\", adjustment=None)",
        "from_env",
        "never read",
        "attempt trail",
    ):
        assert needle in text, needle
    assert stockdata.RateLimited.__doc__
    assert stockdata.Quote.__doc__


def test_records_are_frozen_dataclasses():
    q = stockdata.Quote(
        symbol="AAPL", price=Decimal("1.5"), as_of=datetime(2024, 1, 2, tzinfo=timezone.utc)
    )
    with pytest.raises(AttributeError):
        q.price = Decimal(2)  # type: ignore[misc]
    assert q == stockdata.Quote("AAPL", Decimal("1.5"), datetime(2024, 1, 2, tzinfo=timezone.utc))


def test_bar_frames_from_rust_columns_equal_those_from_bar_values(sd):
    args = (["AAPL", "MSFT"],)
    kwargs = {"start": "2024-01-02", "end": "2024-01-12"}
    native = sd.bars(*args, **kwargs)  # its bars are never read: frames come from Rust
    frames = {d: (native.to_pandas(decimals=d), native.to_polars(decimals=d)) for d in
              ("decimal", "float")}
    other = sd.bars(*args, **kwargs)
    rebuilt = stockdata.BarsResults(
        [stockdata.BarsResult(r.symbol, r.bars, r.error, r.trail, r.findings) for r in other]
    )
    for decimals, (pandas_frame, polars_frame) in frames.items():
        pd.testing.assert_frame_equal(pandas_frame, rebuilt.to_pandas(decimals=decimals))
        assert polars_frame.equals(rebuilt.to_polars(decimals=decimals))
    assert "bars=<9 bars>" in repr(native[0])
    assert [r.bars for r in rebuilt] == [r.bars for r in native]
    assert native[0] == stockdata.BarsResult("AAPL", native[0].bars, None, native[0].trail)
