"""Providers written in Python: any object with `quote`, `bars` or `news` is routed, failed
over and trailed by the Rust fetchers. This is how a bot's test fakes a provider, instead of
patching aiohttp."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

import stockdata

NOW = datetime(2024, 3, 8, 21, tzinfo=timezone.utc)


class RateLimitedFake:
    """Refuses everything, as a provider over its per-minute limit does."""

    name = "first"

    def __init__(self) -> None:
        self.calls = 0

    async def quote(self, symbol):
        self.calls += 1
        raise stockdata.RateLimited(retry_after=30)

    async def bars(self, symbol, start, end, interval, adjustment):
        self.calls += 1
        raise stockdata.RateLimited()


class AnsweringFake:
    """Answers every symbol with made-up but well-formed data."""

    name = "second"

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def quote(self, symbol):
        self.calls.append(symbol)
        await asyncio.sleep(0)
        return stockdata.Quote(
            symbol=symbol,
            price=Decimal("189.98"),
            as_of=NOW,
            previous_close=Decimal("187.50"),
            volume=1200,
        )

    async def bars(self, symbol, start, end, interval, adjustment):
        assert start.tzinfo is not None and end.tzinfo is not None
        assert interval == "1d"
        day = datetime(2024, 3, 4, 5, tzinfo=timezone.utc)
        return [
            stockdata.Bar(
                symbol=symbol,
                start=day + timedelta(days=i),
                open=Decimal("10.00") + i,
                high=Decimal("11.25") + i,
                low=Decimal("9.50") + i,
                close=Decimal("10.75") + i,
                volume=1000 + i,
            )
            for i in range(5)
        ]

    async def news(self, symbols, start, end, limit):
        return [
            {
                "headline": f"{symbols[0]} beats estimates",
                "url": f"https://example.invalid/{symbols[0]}",
                "published_at": NOW,
                "symbols": symbols,
            }
        ]


def test_fail_over_from_a_rate_limited_fake_to_the_next():
    first, second = RateLimitedFake(), AnsweringFake()
    sd = stockdata.StockData(providers=[first, second])
    assert sd.providers["quotes"] == ["first", "second"]

    [result] = sd.quote(["AAPL"])

    q = result.unwrap()
    assert q.provider == "second"
    assert q.price == Decimal("189.98")
    assert q.change == Decimal("2.48")  # derived from the previous close, exactly
    assert q.as_of == NOW
    assert [(a.provider, a.outcome) for a in result.trail] == [
        ("first", "rate_limited"),
        ("second", "ok"),
    ]
    assert first.calls == 1 and second.calls == ["AAPL"]


@pytest.mark.asyncio
async def test_fail_over_under_asyncio_gather():
    first, second = RateLimitedFake(), AnsweringFake()
    sd = stockdata.StockData(providers=[first, second])
    quotes, bars = await asyncio.gather(
        sd.quote_async(["AAPL", "MSFT", "NVDA"]),
        sd.bars_async(["AAPL"], start="2024-03-04", end="2024-03-08"),
    )
    assert [r.unwrap().provider for r in quotes] == ["second"] * 3
    assert sorted(second.calls) == ["AAPL", "MSFT", "NVDA"]
    series = bars[0].unwrap()
    assert [b.close for b in series] == [Decimal("10.75") + i for i in range(5)]
    assert {b.provider for b in series} == {"second"}
    assert [a.outcome for a in bars[0].trail] == ["rate_limited", "ok"]


def test_when_every_provider_fails_the_error_carries_the_whole_trail():
    class Unknown:
        name = "third"

        def quote(self, symbol):  # a plain def works too
            raise stockdata.UnknownSymbol(symbol=symbol)

    sd = stockdata.StockData(providers=[RateLimitedFake(), Unknown()])
    [result] = sd.quote("AAPL")
    # The router reports the error that says most about what to do next: here, slow down.
    assert isinstance(result.error, stockdata.RateLimited)
    assert result.error.retry_after == 30.0
    assert [(a.provider, a.outcome) for a in result.error.trail] == [
        ("first", "rate_limited"),
        ("third", "unknown_symbol"),
    ]


def test_an_invalid_request_is_not_failed_over():
    class Refuses:
        name = "strict"

        async def quote(self, symbol):
            raise stockdata.InvalidRequest("not served here")

    second = AnsweringFake()
    sd = stockdata.StockData(providers=[Refuses(), second])
    [result] = sd.quote("AAPL")
    assert isinstance(result.error, stockdata.InvalidRequest)
    assert second.calls == []


def test_any_other_exception_is_a_transport_failure_and_fails_over():
    class Broken:
        name = "broken"

        async def quote(self, symbol):
            raise ConnectionResetError("peer went away")

    sd = stockdata.StockData(providers=[Broken(), AnsweringFake()])
    [result] = sd.quote("AAPL")
    assert result.unwrap().provider == "second"
    assert result.trail[0].outcome == "transport"


def test_a_malformed_answer_is_reported_as_malformed():
    class Sloppy:
        name = "sloppy"

        async def quote(self, symbol):
            return {"price": "not a number", "as_of": NOW}

    [result] = stockdata.StockData(providers=[Sloppy()]).quote("AAPL")
    assert isinstance(result.error, stockdata.Malformed)
    assert "price" in str(result.error)


def test_a_naive_datetime_from_a_provider_is_refused():
    class Naive:
        async def quote(self, symbol):
            return {"price": 1, "as_of": datetime(2024, 1, 2, 15, 30)}

    [result] = stockdata.StockData(providers=[Naive()]).quote("AAPL")
    assert isinstance(result.error, stockdata.Malformed)
    assert result.trail[0].provider == "naive"  # the class name, lower-cased


def test_an_empty_bar_list_is_no_data_and_fails_over():
    class Empty:
        name = "empty"

        async def bars(self, symbol, start, end, interval, adjustment):
            return []

    sd = stockdata.StockData(providers=[Empty(), AnsweringFake()])
    [result] = sd.bars("AAPL", start="2024-03-04", end="2024-03-08")
    assert [a.outcome for a in result.trail] == ["no_data", "ok"]
    assert len(result.unwrap()) == 5


def test_python_news_provider():
    sd = stockdata.StockData(providers=[AnsweringFake()])
    result = sd.news(["AAPL"], start="2024-03-01", end="2024-03-08")
    [article] = result.unwrap()
    assert article.headline == "AAPL beats estimates"
    assert article.provider == "second"
    assert article.symbols == ("AAPL",)
    assert article.published_at == NOW


def test_python_providers_come_before_configured_ones(sandbox):
    sd = stockdata.StockData(sandbox.config("finnhub"), providers=[RateLimitedFake()])
    assert sd.providers["quotes"] == ["first", "finnhub"]
    [result] = sd.quote("AAPL")
    assert result.unwrap().provider == "finnhub"
    assert [a.outcome for a in result.trail] == ["rate_limited", "ok"]


def test_agent_with_python_providers():
    sd = stockdata.StockData(providers=[RateLimitedFake(), AnsweringFake()])
    report = sd.agent(["AAPL"])
    assert report.symbols[0].quote.unwrap().provider == "second"


@pytest.mark.asyncio
async def test_a_sync_call_inside_a_running_loop_says_to_await():
    sd = stockdata.StockData(providers=[AnsweringFake()])
    with pytest.raises(RuntimeError, match="await"):
        sd.quote("AAPL")
    assert (await sd.quote_async("AAPL"))[0].ok


def test_an_object_without_any_port_method_is_refused():
    with pytest.raises(TypeError, match="quote, bars or news"):
        stockdata.StockData(providers=[object()])
