"""Calls against the sandbox: in-process (`StockData(sandbox=True)`) and standalone (the
`stockdata sandbox serve` binary, configured through a config dict or a TOML file)."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

import stockdata


def test_quote_returns_one_typed_result_per_symbol_in_order(sd):
    results = sd.quote(["MSFT", "AAPL", "NVDA"])
    assert isinstance(results, stockdata.QuoteResults)
    assert [r.symbol for r in results] == ["MSFT", "AAPL", "NVDA"]
    for r in results:
        assert r.ok and r.error is None
        q = r.unwrap()
        assert isinstance(q, stockdata.Quote)
        assert q.symbol == r.symbol
        assert isinstance(q.price, Decimal) and q.price > 0
        assert q.as_of.tzinfo is not None and q.as_of.utcoffset() == timedelta(0)
        assert q.synthetic is True
        assert q.provider
        assert [a.outcome for a in r.trail][-1] == "ok"
        assert all(isinstance(a, stockdata.Attempt) for a in r.trail)


def test_a_failed_symbol_is_a_result_carrying_its_error_and_trail(sd):
    results = sd.quote(["AAPL", "ZZZZZZ"])
    assert [r.symbol for r in results] == ["AAPL", "ZZZZZZ"]
    bad = results[1]
    assert not bad.ok and bad.quote is None
    assert isinstance(bad.error, stockdata.UnknownSymbol)
    assert isinstance(bad.error, stockdata.StockDataError)
    assert bad.error.kind == "unknown_symbol"
    assert bad.error.symbol == "ZZZZZZ"
    assert bad.error.trail == bad.trail
    assert [a.outcome for a in bad.trail] == ["unknown_symbol"] * len(bad.trail)
    assert [a.provider for a in bad.trail] == ["serverless", "alpaca", "finnhub"]
    assert results.failed == [bad]
    with pytest.raises(stockdata.UnknownSymbol) as raised:
        bad.unwrap()
    assert raised.value.trail == bad.trail


def test_bars_between_dates_include_the_end_date(sd):
    results = sd.bars(["AAPL", "MSFT"], start=date(2024, 1, 2), end=date(2024, 1, 10))
    assert [r.symbol for r in results] == ["AAPL", "MSFT"]
    for r in results:
        bars = r.unwrap()
        days = [b.start.date() for b in bars]
        assert days == sorted(days)
        assert days[0] == date(2024, 1, 2) and days[-1] == date(2024, 1, 10)
        assert len(days) == 7  # trading days only
        first = bars[0]
        # Daily bars open at 00:00 New York: 05:00 UTC in winter.
        assert first.start == datetime(2024, 1, 2, 5, tzinfo=timezone.utc)
        assert first.interval == "1d"
        assert isinstance(first.close, Decimal)
        assert first.low <= first.open <= first.high
        assert first.volume > 0


def test_bars_take_text_and_aware_datetimes(sd):
    by_text = sd.bars("AAPL", start="2024-03-04", end="2024-03-08", interval="1d")
    by_instant = sd.bars(
        "AAPL",
        start=datetime(2024, 3, 4, 5, tzinfo=timezone.utc),
        end=datetime(2024, 3, 9, 5, tzinfo=timezone.utc),
        interval="1d",
    )
    assert by_text[0].bars == by_instant[0].bars
    assert len(by_text[0].bars) == 5


def test_news_is_merged_newest_first(sd):
    result = sd.news(["AAPL"], limit=5)
    assert result.ok
    assert 0 < len(result.articles) <= 5
    times = [a.published_at for a in result.articles]
    assert times == sorted(times, reverse=True)
    for a in result.articles:
        assert a.headline.startswith("[SANDBOX]")
        assert a.published_at.utcoffset() == timedelta(0)
        assert "AAPL" in a.symbols


def test_agent_reports_every_symbol(sd):
    report = sd.agent(["AAPL", "MSFT", "ZZZZZZ"])
    assert isinstance(report, stockdata.AgentReport)
    assert [s.symbol for s in report.symbols] == ["AAPL", "MSFT", "ZZZZZZ"]
    assert report.symbols[0].quote.ok and report.symbols[0].bars.ok
    assert isinstance(report.symbols[2].quote.error, stockdata.UnknownSymbol)
    assert report.stats.complete == 2
    assert report.run_id


@pytest.mark.asyncio
async def test_awaitable_calls_run_together_under_gather(sd):
    quotes, bars, news, agent = await asyncio.gather(
        sd.quote_async(["AAPL", "MSFT"]),
        sd.bars_async(["NVDA"], start="2024-01-02", end="2024-01-31"),
        sd.news_async("AAPL", limit=3),
        sd.agent_async(["AMZN"]),
    )
    assert [r.symbol for r in quotes] == ["AAPL", "MSFT"] and all(r.ok for r in quotes)
    assert len(bars[0].bars) == 21
    assert news.ok
    assert agent.symbols[0].quote.ok


@pytest.mark.asyncio
async def test_the_event_loop_keeps_running_while_rust_waits(slow_sandbox):
    sd = stockdata.StockData(slow_sandbox.config("finnhub"))
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    results = await sd.quote_async(["AAPL"])
    task.cancel()
    assert results[0].ok
    assert ticks >= 10, f"the loop ticked {ticks} times during a 300 ms call"


def test_sync_calls_release_the_gil(slow_sandbox):
    sd = stockdata.StockData(slow_sandbox.config("finnhub"))
    done = threading.Event()
    out = []

    def call():
        out.append(sd.quote(["AAPL"]))
        done.set()

    worker = threading.Thread(target=call)
    worker.start()
    spins = 0
    started = time.monotonic()
    while not done.is_set() and time.monotonic() - started < 10:
        spins += 1
    worker.join()
    assert out[0][0].ok
    # Python code ran all along the 300 ms the call waited.
    assert spins > 10_000


def test_standalone_sandbox_through_a_config_dict(sandbox):
    sd = stockdata.StockData(sandbox.config("finnhub", "alpaca"))
    assert sd.providers["quotes"] == ["finnhub", "alpaca"]
    results = sd.quote(["AAPL", "MSFT"])
    for r in results:
        assert r.unwrap().provider == "finnhub"
        assert [a.provider for a in r.trail] == ["finnhub"]
    # Not built with sandbox=True: nothing marks the records synthetic but the sandbox itself.
    bars = sd.bars("AAPL", start="2024-01-02", end="2024-01-05")
    assert bars[0].unwrap()[0].provider == "finnhub"


def test_standalone_sandbox_through_a_toml_file(sandbox, tmp_path):
    path = tmp_path / "stockdata.toml"
    path.write_text(
        "[providers.alpaca]\n"
        'key_id = "k"\nsecret_key = "s"\n'
        f'base_url = "{sandbox.url}/alpaca"\n'
        '[routing]\nquotes = ["alpaca"]\nbars = ["alpaca"]\nnews = ["alpaca"]\n'
    )
    sd = stockdata.StockData(str(path))
    assert sd.quote("AAPL")[0].unwrap().provider == "alpaca"
    assert stockdata.StockData(path).providers["quotes"] == ["alpaca"]


def test_no_config_means_no_provider_and_says_what_to_do():
    sd = stockdata.StockData()
    assert sd.providers == {"quotes": [], "bars": [], "news": []}
    result = sd.quote("AAPL")[0]
    assert not result.ok
    assert "configure one" in str(result.error)


def test_from_env_is_the_only_constructor_reading_the_environment():
    # The environment is read, not changed: whatever it holds, a StockData comes back.
    assert isinstance(stockdata.StockData.from_env(), stockdata.StockData)
