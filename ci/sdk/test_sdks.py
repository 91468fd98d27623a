#!/usr/bin/env python3
"""The providers' official Python clients against `stockdata sandbox serve` (`cargo xtask sdk`).

Each client runs unmodified; only its own base-URL setting is touched: alpaca-py's
`url_override`, finnhub-python's `API_URL` (set on the instance), and alpha_vantage's class
attribute `AlphaVantage._ALPHA_VANTAGE_API_URL` (the client offers nothing else; it is global,
so it is set once, to `--happy`). alpaca-py hides HTTP headers, so a requests response hook on
its session records what arrived (status, URL, headers): it observes and changes nothing.

Every endpoint stockdata's adapters call is exercised (Alpaca multi-symbol bars, snapshots and
news; Finnhub quote, candles and company news; Alpha Vantage GLOBAL_QUOTE, TIME_SERIES_DAILY,
TIME_SERIES_DAILY_ADJUSTED, TIME_SERIES_INTRADAY and NEWS_SENTIMENT), plus Alpaca's latest
quotes and trades, and held to what the real services do (../shared/PROVIDERS.md and the
recorded samples): sane values, tz-aware instants never in the future, the promised order,
pagination, `sort`, and the quota answers as each client surfaces them. The `--happy` sandbox
has the free-tier quotas (Alpha Vantage calls are paced to its 1 a second, as a free key must);
the `--quota` sandbox is started with tiny Finnhub and Alpaca quotas for their refusals. Alpha
Vantage's quota has no such flag: its 25 a day are run out on `--happy` with a key of its own
(quotas count per key), alongside the other checks.

The fenced python blocks of the "Test your own bot offline" section of `--readme` (README.md)
are run first, exactly as written except for the sandbox address (`http://127.0.0.1:8787` becomes `--happy`).

Prints one line per check, a summary per client, and `sdk: N passed, N failed`; exits 1 on any
failure.
"""

import argparse
import contextlib
import io
import re
import sys
import threading
import time
import traceback
from datetime import date, datetime, timedelta, timezone
from importlib.metadata import version
from zoneinfo import ZoneInfo

import finnhub
from alpaca.common.enums import Sort
from alpaca.common.exceptions import APIError
from alpaca.data.enums import Adjustment, DataFeed
from alpaca.data.historical import NewsClient, StockHistoricalDataClient
from alpaca.data.requests import (
    NewsRequest,
    StockBarsRequest,
    StockLatestQuoteRequest,
    StockLatestTradeRequest,
    StockSnapshotRequest,
)
from alpaca.data.timeframe import TimeFrame
from alpha_vantage.alphaintelligence import AlphaIntelligence
from alpha_vantage.alphavantage import AlphaVantage
from alpha_vantage.timeseries import TimeSeries

NY = ZoneInfo("America/New_York")
UTC = timezone.utc
README_ADDR = "http://127.0.0.1:8787"
README_SECTION = "Test your own bot offline"
# The sandbox runs on this machine: its clock is ours, give or take this.
SKEW = timedelta(seconds=2)
# NYSE holidays on weekdays inside the ranges asked for below.
HOLIDAYS = {date(2024, 1, 1), date(2024, 1, 15), date(2024, 2, 19)}
CLIENTS = {
    "readme": "README snippets",
    "alpaca": f"alpaca-py {version('alpaca-py')}",
    "finnhub": f"finnhub-python {version('finnhub-python')}",
    "alpha_vantage": f"alpha_vantage {version('alpha_vantage')}",
}


class Results:
    """What every check found, printed as it comes."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rows = []

    def add(self, client, name, ok, detail):
        with self.lock:
            self.rows.append((client, name, ok, detail))
            word = "PASS" if ok else "FAIL"
            print(f"{word} {client:<13} {name}" + (f": {detail}" if detail else ""), flush=True)


def describe(error):
    text = " ".join(f"{type(error).__name__}: {error}".split())
    return text if len(text) <= 400 else text[:397] + "..."


def check(results, client, name, fn):
    """Runs `fn`; any exception (an assertion or the client's own error) fails the check."""
    try:
        detail = fn()
    except Exception as error:  # noqa: BLE001 - every failure is reported, none stops the run
        results.add(client, name, False, describe(error))
    else:
        results.add(client, name, True, detail or "")


def raises(kind, fn, *needles):
    """`fn()` must raise `kind` whose text holds every needle (case-insensitive); the error."""
    try:
        got = fn()
    except kind as error:
        text = str(error).lower()
        missing = [n for n in needles if n.lower() not in text]
        assert not missing, f"{type(error).__name__} without {missing}: {error}"
        return error
    raise AssertionError(f"no {kind.__name__} raised; got {str(got)[:200]}")


def now():
    return datetime.now(UTC)


def instant(ts, what):
    """A tz-aware instant that is not in the future."""
    assert isinstance(ts, datetime), f"{what}: {ts!r} is not a datetime"
    assert ts.tzinfo is not None and ts.utcoffset() is not None, f"{what}: {ts} is naive"
    assert ts <= now() + SKEW, f"{what}: {ts} is in the future"
    return ts


def ohlc(o, h, l, c, what):
    assert min(o, h, l, c) > 0, f"{what}: a price is not positive ({o} {h} {l} {c})"
    assert h >= max(o, c, l), f"{what}: high {h} below open/close/low ({o} {c} {l})"
    assert l <= min(o, c), f"{what}: low {l} above open/close ({o} {c})"


def ordered(stamps, what, newest_first=False, strict=True):
    """Bars of one series never share an instant; articles (of several symbols) may."""
    pairs = zip(stamps, stamps[1:])
    if newest_first:
        bad = [(a, b) for a, b in pairs if a < b or (strict and a == b)]
    else:
        bad = [(a, b) for a, b in pairs if a > b or (strict and a == b)]
    order = ("strictly " if strict else "") + ("newest first" if newest_first else "oldest first")
    assert not bad, f"{what}: not {order}, e.g. {bad[0][0]} then {bad[0][1]}"


def sessions(first, last):
    """NYSE trading days from `first` to `last` (weekdays less the holidays above)."""
    days = (first + timedelta(n) for n in range((last - first).days + 1))
    return {d for d in days if d.weekday() < 5 and d not in HOLIDAYS}


def gaps(want, got):
    return f"missing {sorted(want - got)[:3]}, extra {sorted(got - want)[:3]}"


def ny(ts):
    return ts.astimezone(NY)


class Wire:
    """Every response a client's requests session receives, recorded by a response hook."""

    def __init__(self, client):
        self.responses = []
        client._session.hooks["response"].append(self._record)

    def _record(self, response, *_args, **_kwargs):
        self.responses.append(response)

    def since(self, mark):
        return self.responses[mark:]


class Pacer:
    """Alpha Vantage's free tier answers a second call within a second with `Information`:
    a call starts at least 1.05 s after the previous one ended (so after the server saw it)."""

    def __init__(self):
        self.ended = -10.0

    def call(self, fn):
        gap = self.ended + 1.05 - time.monotonic()
        if gap > 0:
            time.sleep(gap)
        try:
            return fn()
        finally:
            self.ended = time.monotonic()


# --- README snippets ---------------------------------------------------------------------


def section(readme):
    """The README section's text, from its heading to the next heading of its level or above
    (a `#` line inside a fenced block is code, not a heading)."""
    lines, level, fenced = [], None, False
    for line in readme.splitlines(keepends=True):
        fenced ^= line.startswith("```")
        heading = re.match(r"(#+) (.*?)\s*$", line) if not fenced else None
        if level is None:
            if heading and heading.group(2) == README_SECTION:
                level = len(heading.group(1))
        elif heading and len(heading.group(1)) <= level:
            break
        else:
            lines.append(line)
    return "".join(lines)


def snippets(readme):
    blocks = re.findall(r"^```python\n(.*?)^```", section(readme), flags=re.S | re.M)
    found = {}
    for block in blocks:
        if "from alpaca" in block:
            found.setdefault("alpaca", []).append(block)
        elif "import finnhub" in block:
            found.setdefault("finnhub", []).append(block)
        elif "from alpha_vantage" in block:
            found.setdefault("alpha_vantage", []).append(block)
        else:
            found.setdefault("?", []).append(block)
    return found


def readme_suite(results, readme, base):
    found = snippets(readme)
    expect = {
        "alpaca": readme_alpaca,
        "finnhub": readme_finnhub,
        "alpha_vantage": readme_alpha_vantage,
    }

    def shape():
        assert section(readme), f"no section headed {README_SECTION!r}"
        assert set(found) == set(expect), f"python blocks by client: {sorted(found)}"
        many = [k for k, v in found.items() if len(v) != 1]
        assert not many, f"more than one python block for {many}"
        for client, (block,) in found.items():
            assert README_ADDR in block, f"the {client} block does not use {README_ADDR}"
        return f"{len(found)} python blocks"

    check(results, "readme", "one python block per client, on " + README_ADDR, shape)
    for client, assertions in expect.items():
        for block in found.get(client, [])[:1]:

            def run(block=block, assertions=assertions):
                namespace = {"__name__": "__readme__"}
                with contextlib.redirect_stdout(io.StringIO()) as out:
                    exec(compile(block.replace(README_ADDR, base), "README", "exec"), namespace)
                assert out.getvalue().strip(), "the snippet printed nothing"
                return assertions(namespace)

            check(results, "readme", f"the {client} snippet runs as written", run)


def readme_alpaca(ns):
    bars = ns["bars"].data
    assert set(bars) == {"AAPL", "MSFT"} and all(bars.values()), f"bars: {sorted(bars)}"
    q = ns["quotes"]["AAPL"]
    assert q.ask_price >= q.bid_price > 0, f"bid {q.bid_price} ask {q.ask_price}"
    return f"{sum(map(len, bars.values()))} bars, a quote"


def readme_finnhub(ns):
    assert ns["quote"]["c"] > 0, ns["quote"]
    assert ns["news"], "no news"
    return f"a quote, {len(ns['news'])} articles"


def readme_alpha_vantage(ns):
    daily = ns["daily"]
    assert len(daily) > 0 and daily.index.is_monotonic_decreasing, daily.index[:3]
    return f"{len(daily)} daily rows"


# --- Alpaca --------------------------------------------------------------------------------


def alpaca_bars(barset, what, daily, newest_first=False):
    """Every bar sane, each symbol's series in order without repeats; the bar count."""
    total = 0
    for symbol, series in barset.data.items():
        name = f"{what} {symbol}"
        for b in series:
            instant(b.timestamp, f"{name} bar")
            ohlc(b.open, b.high, b.low, b.close, f"{name} {b.timestamp}")
            assert b.volume >= 0, f"{name} {b.timestamp}: volume {b.volume}"
            t = ny(b.timestamp)
            if daily:
                assert (t.hour, t.minute) == (0, 0), f"{name}: daily bar at {t} (not 00:00 NY)"
            else:
                assert t.second == 0 and t.microsecond == 0, f"{name}: bar at {t}"
                assert 4 <= t.hour < 20, f"{name}: bar at {t}, outside 04:00-20:00 NY"
        ordered([b.timestamp for b in series], name, newest_first)
        total += len(series)
    return total


def alpaca_suite(results, base):
    key, secret = "ci-alpaca", "ci-secret"
    stocks = StockHistoricalDataClient(key, secret, url_override=f"{base}/alpaca")
    news = NewsClient(key, secret, url_override=f"{base}/alpaca")
    wire, news_wire = Wire(stocks), Wire(news)
    run = lambda name, fn: check(results, "alpaca", name, fn)  # noqa: E731
    symbols = ["AAPL", "MSFT", "ZZZZ"]

    def snapshots():
        snaps = stocks.get_stock_snapshot(
            StockSnapshotRequest(symbol_or_symbols=symbols, feed=DataFeed.IEX)
        )
        assert sorted(snaps) == ["AAPL", "MSFT"], f"symbols: {sorted(snaps)} (ZZZZ is null)"
        for symbol, s in snaps.items():
            trade, quote = s.latest_trade, s.latest_quote
            day, prev, minute = s.daily_bar, s.previous_daily_bar, s.minute_bar
            assert None not in (trade, quote, day, prev, minute), f"{symbol}: a part is missing"
            instant(trade.timestamp, f"{symbol} latestTrade")
            assert trade.price > 0 and trade.size > 0, f"{symbol} trade {trade}"
            instant(quote.timestamp, f"{symbol} latestQuote")
            assert quote.ask_price >= quote.bid_price > 0, f"{symbol} quote {quote}"
            for name, b in (("dailyBar", day), ("prevDailyBar", prev), ("minuteBar", minute)):
                instant(b.timestamp, f"{symbol} {name}")
                ohlc(b.open, b.high, b.low, b.close, f"{symbol} {name}")
            for name, b in (("dailyBar", day), ("prevDailyBar", prev)):
                t = ny(b.timestamp)
                assert (t.hour, t.minute) == (0, 0), f"{symbol} {name} at {t}, not 00:00 NY"
            assert prev.timestamp < day.timestamp, f"{symbol}: prevDailyBar not before dailyBar"
            m = ny(minute.timestamp)
            assert m.second == 0 and m.microsecond == 0, f"{symbol} minuteBar at {m}"
            assert m.date() == ny(day.timestamp).date() and 4 <= m.hour < 20, (
                f"{symbol} minuteBar at {m}: not a minute of the dailyBar's session"
                f" ({ny(day.timestamp).date()})"
            )
            assert minute.volume <= day.volume, f"{symbol}: minuteBar volume over the day's"
        return "AAPL, MSFT; ZZZZ null"

    run("snapshots AAPL,MSFT,ZZZZ feed=iex", snapshots)

    def sip():
        error = raises(
            APIError,
            lambda: stocks.get_stock_snapshot(
                StockSnapshotRequest(symbol_or_symbols="AAPL", feed=DataFeed.SIP)
            ),
            "subscription",
        )
        assert error.status_code == 403, f"status {error.status_code}"
        return "APIError 403"

    run("snapshots feed=sip (free plan) is refused", sip)

    start, end = datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 3, 9, tzinfo=UTC)
    daily_asc = {}

    def bars(sort):
        barset = stocks.get_stock_bars(
            StockBarsRequest(
                symbol_or_symbols=["AAPL", "MSFT"],
                timeframe=TimeFrame.Day,
                start=start,
                end=end,
                adjustment=Adjustment.RAW,
                feed=DataFeed.IEX,
                sort=sort,
            )
        )
        label = f"bars sort={sort.value if sort else 'asc (default)'}"
        return barset, alpaca_bars(barset, label, True, sort == Sort.DESC)

    def bars_asc():
        barset, n = bars(None)
        assert sorted(barset.data) == ["AAPL", "MSFT"], sorted(barset.data)
        want = sessions(date(2024, 1, 2), date(2024, 3, 8))
        for symbol, series in barset.data.items():
            got = {ny(b.timestamp).date() for b in series}
            assert got == want, f"{symbol}: {gaps(want, got)}"
            daily_asc[symbol] = [b.timestamp for b in series]
        return f"{n} daily bars, one per session"

    run("multi bars 1Day AAPL,MSFT (default sort asc)", bars_asc)

    def bars_desc():
        barset, n = bars(Sort.DESC)
        for symbol, series in barset.data.items():
            got = [b.timestamp for b in series]
            if symbol in daily_asc:
                assert got == daily_asc[symbol][::-1], f"{symbol}: desc is not asc reversed"
        return f"{n} daily bars, newest first"

    run("multi bars 1Day sort=desc", bars_desc)

    def paginated():
        mark = len(wire.responses)
        barset = stocks.get_stock_bars(
            StockBarsRequest(
                symbol_or_symbols=["AAPL", "MSFT"],
                timeframe=TimeFrame.Minute,
                start=datetime(2024, 2, 1, tzinfo=UTC),
                end=datetime(2024, 3, 1, tzinfo=UTC),
                feed=DataFeed.IEX,
            )
        )
        n = alpaca_bars(barset, "1Min bars", False)
        pages = wire.since(mark)
        assert len(pages) >= 2, f"{len(pages)} request(s) for {n} bars: no pagination"
        assert "page_token" not in pages[0].url and "page_token=" in pages[1].url, [
            p.url for p in pages
        ]
        first = sum(map(len, pages[0].json()["bars"].values()))
        assert first == 10_000, f"the first page holds {first} bars (limit 10000 across symbols)"
        want = sessions(date(2024, 2, 1), date(2024, 2, 29))
        for symbol, series in barset.data.items():
            got = {ny(b.timestamp).date() for b in series}
            assert got <= want, f"{symbol}: bars on {sorted(got - want)[:3]}"
        return f"{n} bars over {len(pages)} pages"

    run("multi bars 1Min over a month follows next_page_token", paginated)

    def limited():
        barset = stocks.get_stock_bars(
            StockBarsRequest(
                symbol_or_symbols=["AAPL", "MSFT"],
                timeframe=TimeFrame.Day,
                start=start,
                end=end,
                limit=5,
                feed=DataFeed.IEX,
            )
        )
        n = alpaca_bars(barset, "limit=5", True)
        assert n == 5 and list(barset.data) == ["AAPL"], (
            f"{ {s: len(b) for s, b in barset.data.items()} }: want 5 AAPL bars (limit counts"
            " across symbols, symbol first)"
        )
        return "5 AAPL bars"

    run("multi bars limit=5 counts across symbols", limited)

    def no_start():
        barset = stocks.get_stock_bars(
            StockBarsRequest(
                symbol_or_symbols=["AAPL"], timeframe=TimeFrame.Minute, feed=DataFeed.IEX
            )
        )
        n = alpaca_bars(barset, "no start", False)
        for series in barset.data.values():
            for b in series:
                assert b.timestamp >= now() - timedelta(hours=36), f"bar at {b.timestamp}"
        return f"{n} bars today (start defaults to the current day)"

    run("multi bars without start", no_start)

    def latest_quotes():
        quotes = stocks.get_stock_latest_quote(
            StockLatestQuoteRequest(symbol_or_symbols=symbols, feed=DataFeed.IEX)
        )
        assert sorted(quotes) == ["AAPL", "MSFT"], f"symbols: {sorted(quotes)}"
        for symbol, q in quotes.items():
            instant(q.timestamp, f"{symbol} quote")
            assert q.ask_price >= q.bid_price > 0, f"{symbol}: bid {q.bid_price} ask {q.ask_price}"
            assert q.ask_size >= 0 and q.bid_size >= 0, f"{symbol}: sizes {q}"
        return "AAPL, MSFT; ZZZZ absent"

    run("latest quotes AAPL,MSFT,ZZZZ", latest_quotes)

    def latest_trades():
        trades = stocks.get_stock_latest_trade(
            StockLatestTradeRequest(symbol_or_symbols=symbols, feed=DataFeed.IEX)
        )
        assert sorted(trades) == ["AAPL", "MSFT"], f"symbols: {sorted(trades)}"
        for symbol, t in trades.items():
            instant(t.timestamp, f"{symbol} trade")
            assert t.price > 0 and t.size > 0, f"{symbol}: {t}"
        return "AAPL, MSFT; ZZZZ absent"

    run("latest trades AAPL,MSFT,ZZZZ", latest_trades)

    def articles(what, sort, first, last, tickers="AAPL"):
        mark = len(news_wire.responses)
        newsset = news.get_news(
            NewsRequest(
                symbols=tickers,
                start=datetime.combine(first, datetime.min.time(), UTC),
                end=datetime.combine(last, datetime.min.time(), UTC),
                sort=sort,
            )
        )
        items = newsset.data["news"]
        assert items, f"{what}: no articles"
        lo = datetime.combine(first, datetime.min.time(), UTC)
        hi = datetime.combine(last, datetime.min.time(), UTC)
        for a in items:
            instant(a.created_at, f"{what} {a.id} created_at")
            instant(a.updated_at, f"{what} {a.id} updated_at")
            assert lo <= a.created_at <= hi, f"{what} {a.id}: created {a.created_at}"
            assert a.headline and a.url, f"{what} {a.id}: no headline or url"
            assert set(a.symbols) & set(tickers.split(",")), f"{what} {a.id}: {a.symbols}"
        ids = [a.id for a in items]
        assert len(ids) == len(set(ids)), f"{what}: an article repeats"
        ordered([a.updated_at for a in items], what, newest_first=sort != "asc", strict=False)
        return items, news_wire.since(mark)

    def news_default():
        items, _ = articles("news", None, date(2024, 3, 1), date(2024, 3, 8))
        return f"{len(items)} articles, newest first"

    run("news AAPL (default sort desc)", news_default)

    def news_asc():
        items, _ = articles("news asc", "asc", date(2024, 3, 1), date(2024, 3, 8))
        return f"{len(items)} articles, oldest first"

    run("news sort=asc", news_asc)

    def news_pages():
        items, pages = articles("news", None, date(2024, 1, 1), date(2024, 3, 1), "AAPL,MSFT")
        assert len(pages) >= 2 and len(items) > 50, f"{len(items)} articles in {len(pages)} pages"
        return f"{len(items)} articles over {len(pages)} pages of 50"

    run("news AAPL,MSFT over two months follows next_page_token", news_pages)

    def rate_limit_headers():
        seen = [r for r in wire.responses + news_wire.responses if r.status_code == 200]
        assert seen, "no 200 answer recorded"
        for r in seen:
            h = r.headers
            missing = [
                n for n in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
                if n not in h
            ]
            assert not missing, f"{r.url}: no {missing}"
            assert h["X-RateLimit-Limit"] == "200", f"limit {h['X-RateLimit-Limit']}"
            reset = int(h["X-RateLimit-Reset"])
            assert time.time() - 120 <= reset <= time.time() + 61, f"reset {reset}"
        return f"{len(seen)} answers"

    run("every 200 carries X-RateLimit-Limit/-Remaining/-Reset", rate_limit_headers)


def alpaca_quota_suite(results, base):
    """`--alpaca-per-minute 2`: two answers, then 429 (alpaca-py retries it 3 times)."""
    stocks = StockHistoricalDataClient("ci-alpaca-quota", "s", url_override=f"{base}/alpaca")
    wire = Wire(stocks)
    request = StockSnapshotRequest(symbol_or_symbols="AAPL", feed=DataFeed.IEX)

    def within():
        for remaining in ("1", "0"):
            mark = len(wire.responses)
            stocks.get_stock_snapshot(request)
            h = wire.since(mark)[-1].headers
            got = (h.get("X-RateLimit-Limit"), h.get("X-RateLimit-Remaining"))
            assert got == ("2", remaining), f"Limit/Remaining {got}, want ('2', {remaining!r})"
        return "Remaining 1, then 0"

    check(results, "alpaca", "quota: two calls in the minute answer", within)

    def refused():
        mark = len(wire.responses)
        error = raises(APIError, lambda: stocks.get_stock_snapshot(request))
        assert error.status_code == 429, f"status {error.status_code}: {error}"
        tries = wire.since(mark)
        assert [r.status_code for r in tries] == [429] * 4, [r.status_code for r in tries]
        h = error.response.headers
        assert h.get("X-RateLimit-Limit") == "2", dict(h)
        assert h.get("X-RateLimit-Remaining") == "0", dict(h)
        reset = int(h["X-RateLimit-Reset"])
        assert time.time() <= reset <= time.time() + 61, f"reset {reset} vs {time.time():.0f}"
        return "APIError 429 after 3 retries, X-RateLimit-* on the 429"

    check(results, "alpaca", "quota: the third call raises APIError 429", refused)


# --- Finnhub -------------------------------------------------------------------------------


def finnhub_client(base, key):
    client = finnhub.Client(api_key=key)
    client.API_URL = f"{base}/finnhub/api/v1"
    return client


def unix(day):
    return int(datetime.combine(day, datetime.min.time(), UTC).timestamp())


def finnhub_suite(results, base):
    client = finnhub_client(base, "ci-finnhub")
    run = lambda name, fn: check(results, "finnhub", name, fn)  # noqa: E731

    def quote():
        q = client.quote("AAPL")
        ohlc(q["o"], q["h"], q["l"], q["c"], "quote")
        assert q["pc"] > 0, q
        assert abs(q["d"] - (q["c"] - q["pc"])) < 0.011, f"d {q['d']} vs c - pc: {q}"
        instant(datetime.fromtimestamp(q["t"], UTC), "quote t")
        return f"c {q['c']}"

    run("quote AAPL", quote)

    def unknown():
        q = client.quote("ZZZZ")
        assert q == {"c": 0, "d": None, "dp": None, "h": 0, "l": 0, "o": 0, "pc": 0, "t": 0}, q
        return "all zeros, d/dp null"

    run("quote ZZZZ (unknown symbol)", unknown)

    def candles(resolution, first, last, daily):
        c = client.stock_candles("AAPL", resolution, unix(first), unix(last + timedelta(1)) - 1)
        assert c.get("s") == "ok", f"s = {c.get('s')}"
        n = len(c["t"])
        assert n and all(len(c[k]) == n for k in "ohlcv"), {k: len(c[k]) for k in "tohlcv"}
        stamps = [datetime.fromtimestamp(t, UTC) for t in c["t"]]
        for i, ts in enumerate(stamps):
            instant(ts, "candle t")
            ohlc(c["o"][i], c["h"][i], c["l"][i], c["c"][i], f"candle {ts}")
            assert c["v"][i] >= 0, f"candle {ts}: v {c['v'][i]}"
            t = ny(ts)
            if daily:
                assert (t.hour, t.minute) == (0, 0), f"daily candle at {t} (not 00:00 NY)"
        ordered(stamps, f"candles {resolution}")
        days = {ny(ts).date() for ts in stamps}
        want = sessions(first, last)
        if daily:
            assert days == want, gaps(want, days)
        else:
            assert days <= want, f"candles on {sorted(days - want)[:3]}"
        return f"{n} candles"

    run(
        "stock/candle AAPL D",
        lambda: candles("D", date(2024, 1, 2), date(2024, 3, 8), True),
    )
    run(
        "stock/candle AAPL 60",
        lambda: candles("60", date(2024, 3, 4), date(2024, 3, 8), False),
    )

    def no_data():
        c = client.stock_candles("ZZZZ", "D", unix(date(2024, 1, 2)), unix(date(2024, 3, 9)))
        assert c == {"s": "no_data"}, c
        return '{"s": "no_data"}'

    run("stock/candle ZZZZ (no data)", no_data)

    def company_news():
        first, last = date(2024, 3, 1), date(2024, 3, 8)
        items = client.company_news("AAPL", _from=first.isoformat(), to=last.isoformat())
        assert isinstance(items, list) and items, f"{type(items).__name__} {str(items)[:100]}"
        lo, hi = unix(first), unix(last + timedelta(1))
        for a in items:
            assert isinstance(a["id"], int) and a["headline"] and a["url"], a
            assert lo <= a["datetime"] < hi, f"{a['id']}: datetime {a['datetime']} outside"
            instant(datetime.fromtimestamp(a["datetime"], UTC), f"{a['id']} datetime")
            assert "AAPL" in a["related"].split(","), f"{a['id']}: related {a['related']!r}"
        ordered([a["datetime"] for a in items], "company-news", newest_first=True, strict=False)
        return f"{len(items)} articles, newest first"

    run("company-news AAPL", company_news)


def finnhub_quota_suite(results, base):
    """`--finnhub-per-minute 2`: two answers, then FinnhubAPIException 429."""
    client = finnhub_client(base, "ci-finnhub-quota")

    def refused():
        client.quote("AAPL")
        client.quote("AAPL")
        error = raises(
            finnhub.FinnhubAPIException, lambda: client.quote("AAPL"), "API limit reached"
        )
        assert error.status_code == 429, f"status {error.status_code}"
        return "FinnhubAPIException 429"

    check(results, "finnhub", "quota: the third call in the minute raises 429", refused)


# --- Alpha Vantage -------------------------------------------------------------------------


def point_alpha_vantage(base):
    AlphaVantage._ALPHA_VANTAGE_API_URL = f"{base}/alpha_vantage/query?"


def av_number(text, what):
    assert isinstance(text, str), f"{what}: {text!r} is not a string"
    return float(text)


def av_rows(data, what, naive_format):
    """Rows keyed by naive US/Eastern wall time, newest first; the instants."""
    keys = list(data)
    assert keys, f"{what}: no rows"
    stamps = []
    for k in keys:
        ts = datetime.strptime(k, naive_format).replace(tzinfo=NY)
        instant(ts, f"{what} {k}")
        row = data[k]
        o, h, l, c = (av_number(row[f"{i}. {n}"], f"{what} {k} {n}")
                      for i, n in enumerate(("open", "high", "low", "close"), 1))
        ohlc(o, h, l, c, f"{what} {k}")
        assert int(row["5. volume"]) >= 0, f"{what} {k}: volume {row['5. volume']}"
        stamps.append(ts)
    ordered(stamps, what, newest_first=True)
    return stamps


def av_suite(results):
    key = "ci-alpha-vantage"
    pace = Pacer()
    ts, frames = TimeSeries(key=key), TimeSeries(key=key, output_format="pandas")
    intel = AlphaIntelligence(key=key)

    def run(name, fn):
        check(results, "alpha_vantage", name, lambda: pace.call(fn))

    def quote():
        q, _ = ts.get_quote_endpoint("AAPL")
        assert q["01. symbol"] == "AAPL", q
        o, h, l, price, prev, change = (
            av_number(q[k], k)
            for k in ("02. open", "03. high", "04. low", "05. price", "08. previous close",
                      "09. change")
        )
        ohlc(o, h, l, price, "GLOBAL_QUOTE")
        assert prev > 0 and abs(change - (price - prev)) < 0.00011, q
        assert q["10. change percent"].endswith("%"), q["10. change percent"]
        day = date.fromisoformat(q["07. latest trading day"])
        assert day <= now().astimezone(NY).date(), f"latest trading day {day} is in the future"
        assert int(q["06. volume"]) >= 0, q
        return f"price {price}"

    run("GLOBAL_QUOTE AAPL", quote)

    def unknown_quote():
        q, _ = ts.get_quote_endpoint("ZZZZ")
        assert q == {}, q
        return "empty Global Quote"

    run("GLOBAL_QUOTE ZZZZ (unknown symbol)", unknown_quote)

    def daily():
        data, meta = ts.get_daily("AAPL")
        stamps = av_rows(data, "TIME_SERIES_DAILY", "%Y-%m-%d")
        assert len(stamps) == 100, f"compact gave {len(stamps)} rows, not the latest 100"
        assert meta["5. Time Zone"] == "US/Eastern", meta
        assert meta["4. Output Size"] == "Compact", meta
        assert meta["3. Last Refreshed"][:10] == next(iter(data)), meta
        return "100 rows, newest first"

    run("TIME_SERIES_DAILY AAPL compact (json)", daily)

    def daily_frame():
        frame, meta = frames.get_daily("MSFT", outputsize="full")
        assert len(frame) > 100, f"full gave {len(frame)} rows"
        assert frame.index.is_monotonic_decreasing, f"index not newest first: {frame.index[:3]}"
        assert frame.index.is_unique, "a date repeats"
        assert (frame["2. high"] >= frame[["1. open", "4. close", "3. low"]].max(axis=1)).all()
        assert (frame["3. low"] <= frame[["1. open", "4. close"]].min(axis=1)).all()
        assert (frame[["1. open", "2. high", "3. low", "4. close"]] > 0).all().all()
        assert frame.index[0].date() <= now().astimezone(NY).date(), frame.index[0]
        assert meta["4. Output Size"] == "Full size", meta
        return f"{len(frame)} rows, newest first"

    run("TIME_SERIES_DAILY MSFT full (pandas)", daily_frame)

    def unknown_daily():
        raises(ValueError, lambda: ts.get_daily("ZZZZ"), "Invalid API call")
        return "ValueError (Error Message)"

    run("TIME_SERIES_DAILY ZZZZ raises ValueError", unknown_daily)

    def premium():
        raises(ValueError, lambda: ts.get_daily_adjusted("MSFT", "full"), "premium endpoint")
        return "ValueError (Information: premium endpoint)"

    run("TIME_SERIES_DAILY_ADJUSTED raises ValueError (premium)", premium)

    def intraday_month():
        data, meta = ts.get_intraday(
            "MSFT", interval="60min", outputsize="full", month="2024-03", adjusted="false"
        )
        stamps = av_rows(data, "TIME_SERIES_INTRADAY 60min", "%Y-%m-%d %H:%M:%S")
        for t in stamps:
            assert (t.year, t.month) == (2024, 3), f"{t} outside month=2024-03"
            assert 4 <= t.hour < 20 and t.second == 0, f"{t} outside 04:00-20:00 NY"
        assert meta["4. Interval"] == "60min" and meta["6. Time Zone"] == "US/Eastern", meta
        return f"{len(stamps)} rows, newest first"

    run("TIME_SERIES_INTRADAY MSFT 60min month=2024-03 full", intraday_month)

    def intraday_compact():
        data, meta = ts.get_intraday("AAPL", interval="5min")
        stamps = av_rows(data, "TIME_SERIES_INTRADAY 5min", "%Y-%m-%d %H:%M:%S")
        assert len(stamps) == 100, f"compact gave {len(stamps)} rows"
        assert meta["3. Last Refreshed"] == next(iter(data)), meta
        return "100 rows, newest first"

    run("TIME_SERIES_INTRADAY AAPL 5min compact", intraday_compact)

    def news(sort):
        first, last = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC)
        frame, _ = intel.get_news_sentiment(
            tickers="AAPL",
            time_from=first.strftime("%Y%m%dT%H%M"),
            time_to=last.strftime("%Y%m%dT%H%M"),
            sort=sort,
            limit=10,
        )
        assert len(frame) == 10, f"{len(frame)} articles, want limit=10 of ~120"
        stamps = []
        for _, a in frame.iterrows():
            t = datetime.strptime(a["time_published"], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
            assert first <= instant(t, "time_published") <= last, f"published {t}"
            assert a["title"] and a["url"], a["url"]
            tickers = [s["ticker"] for s in a["ticker_sentiment"]]
            assert "AAPL" in tickers, tickers
            stamps.append(t)
        ordered(stamps, f"sort={sort}", newest_first=sort == "LATEST", strict=False)
        edge = stamps[0] - first if sort == "EARLIEST" else last - stamps[0]
        assert edge < timedelta(days=3), f"sort={sort} starts at {stamps[0]}"
        return f"{len(stamps)} articles"

    run("NEWS_SENTIMENT AAPL sort=LATEST", lambda: news("LATEST"))
    run("NEWS_SENTIMENT AAPL sort=EARLIEST", lambda: news("EARLIEST"))


def av_quota_suite(results):
    """Free tier: 1 call a second and 25 a day per key, both an `Information` body."""
    ts = TimeSeries(key="ci-alpha-vantage-quota")
    pace = Pacer()
    admitted = []

    def burst():
        pace.call(lambda: ts.get_quote_endpoint("AAPL"))
        admitted.append(1)
        try:  # at once, unpaced: within the second
            raises(ValueError, lambda: ts.get_quote_endpoint("AAPL"), "per second")
        finally:
            pace.ended = time.monotonic()
        return "ValueError (Information: 1 request per second)"

    check(results, "alpha_vantage", "quota: a second call within a second", burst)

    def day():
        refusal = None
        while len(admitted) <= 25 and refusal is None:
            try:
                pace.call(lambda: ts.get_quote_endpoint("AAPL"))
                admitted.append(1)
            except ValueError as error:
                refusal = error
        assert len(admitted) == 25, f"{len(admitted)} calls answered, want 25 a day"
        assert refusal is not None and "per day" in str(refusal), f"refusal: {refusal}"
        pace.call(lambda: raises(ValueError, lambda: ts.get_quote_endpoint("AAPL"), "per day"))
        return "25 answered, then ValueError (Information: 25 requests per day)"

    check(results, "alpha_vantage", "quota: the 26th call of the day", day)


# --- main ----------------------------------------------------------------------------------


def guarded(results, client, suite, *args):
    """A suite that dies outside a check (a bug here) fails, and the others still run."""
    try:
        suite(results, *args)
    except Exception as error:  # noqa: BLE001
        traceback.print_exc()
        results.add(client, f"{suite.__name__} aborted", False, describe(error))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--happy", required=True, help="a sandbox with free-tier quotas")
    parser.add_argument("--quota", required=True, help="a sandbox with tiny Finnhub/Alpaca quotas")
    parser.add_argument("--readme", required=True, help="README.md")
    args = parser.parse_args()
    happy, quota = args.happy.rstrip("/"), args.quota.rstrip("/")
    with open(args.readme, encoding="utf-8") as f:
        readme = f.read()
    started = time.monotonic()
    results = Results()
    guarded(results, "readme", readme_suite, readme, happy)
    point_alpha_vantage(happy)

    def others():
        guarded(results, "alpaca", alpaca_suite, happy)
        guarded(results, "finnhub", finnhub_suite, happy)
        guarded(results, "finnhub", finnhub_quota_suite, quota)
        guarded(results, "alpaca", alpaca_quota_suite, quota)

    threads = [
        threading.Thread(target=guarded, args=(results, "alpha_vantage", av_suite)),
        threading.Thread(target=guarded, args=(results, "alpha_vantage", av_quota_suite)),
        threading.Thread(target=others),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    print(f"\nsummary ({time.monotonic() - started:.0f} s):")
    for client, label in CLIENTS.items():
        rows = [r for r in results.rows if r[0] == client]
        passed = sum(1 for r in rows if r[2])
        print(f"  {label:<24} {passed} passed, {len(rows) - passed} failed")
        for _, name, ok, _ in rows:
            if not ok:
                print(f"    FAIL {name}")
    passed = sum(1 for r in results.rows if r[2])
    failed = len(results.rows) - passed
    print(f"sdk: {passed} passed, {failed} failed")
    return 1 if failed or not results.rows else 0


if __name__ == "__main__":
    sys.exit(main())
