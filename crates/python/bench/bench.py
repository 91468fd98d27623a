"""CPU of stockdata's Python bindings against the providers' official Python clients, for the
same jobs against the same sandbox (`stockdata sandbox serve --no-quotas`, another process,
so its CPU is not counted): `time.process_time()` of this process, every thread included
(stockdata's tokio runtime too).

1. `quote` of 200 symbols: stockdata (Finnhub's endpoint, one request per symbol like the
   client, and the default routing, which batches) against finnhub-python's `quote` per symbol.
2. `bars` of 100 symbols over one year into a pandas DataFrame: stockdata (Alpaca's endpoint,
   as alpaca-py) `bars(...).to_pandas()`, exact decimals and float64, against alpaca-py's
   `get_stock_bars(...).df`.

Each job runs `--rounds` times after one warm-up; the best round is reported. Targets: quotes
at most 1/10 of finnhub-python's CPU, bars at most 1/5 of alpaca-py's. Build the extension in
release first (`maturin develop --release -m crates/python/Cargo.toml`) in a venv holding
ci/python/bench-requirements.txt; then

    python crates/python/bench/bench.py --stockdata-bin target/release/stockdata

(any build of the binary will do: it only serves the sandbox). Not run in CI.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import threading
import time
from datetime import datetime, timezone

import finnhub
from alpaca.data.enums import DataFeed
from alpaca.data.historical import StockHistoricalDataClient
from alpaca.data.requests import StockBarsRequest
from alpaca.data.timeframe import TimeFrame

import stockdata

QUOTE_SYMBOLS = [f"Q{i:03d}" for i in range(200)]
BAR_SYMBOLS = [f"B{i:03d}" for i in range(100)]
START = datetime(2024, 1, 1, 5, tzinfo=timezone.utc)
END = datetime(2025, 1, 1, 5, tzinfo=timezone.utc)
# Client-side pacing set far above what the sandbox needs (quotas are off there).
FAST = {"requests_per_minute": 1_000_000}
FAST_FINNHUB = {**FAST, "requests_per_second": 1_000_000}


def start_sandbox(binary: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [binary, "sandbox", "serve", "--bind", "127.0.0.1:0", "--no-quotas"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={},
    )
    found = threading.Event()
    url: list[str] = []

    def read() -> None:
        for line in proc.stderr:
            if not found.is_set() and " on http://" in line:
                url.append("http://" + line.split(" on http://", 1)[1].strip())
                found.set()

    threading.Thread(target=read, daemon=True).start()
    if not found.wait(30):
        proc.kill()
        raise SystemExit("the sandbox did not start")
    return proc, url[0]


def cpu(job, rounds: int) -> tuple[float, float, object]:
    """Best CPU seconds and its wall seconds over `rounds`, after a warm-up."""
    out = job()
    best = (float("inf"), 0.0)
    for _ in range(rounds):
        c0, w0 = time.process_time(), time.perf_counter()
        out = job()
        c, w = time.process_time() - c0, time.perf_counter() - w0
        if c < best[0]:
            best = (c, w)
    return best[0], best[1], out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stockdata-bin", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    proc, url = start_sandbox(args.stockdata_bin)
    results = {}
    try:
        # -- 1. quotes ----------------------------------------------------------------------
        by_finnhub = stockdata.StockData(
            {
                "providers": {"finnhub": {"api_key": "k", "base_url": f"{url}/finnhub", **FAST_FINNHUB}},
                "routing": {"quotes": ["finnhub"]},
                "agent": {"concurrency": 8},
            }
        )
        batched = stockdata.StockData(
            {
                "providers": {
                    "serverless": {"token": "t", "base_url": f"{url}/serverless"},
                    "alpaca": {"key_id": "k", "secret_key": "s", "base_url": f"{url}/alpaca"},
                },
            }
        )

        def sd_quotes(sd):
            res = sd.quote(QUOTE_SYMBOLS)
            assert len(res) == 200 and all(r.ok for r in res), res.failed[:1]
            return res

        fh = finnhub.Client(api_key="k")
        fh.API_URL = f"{url}/finnhub/api/v1"

        def fh_quotes():
            out = [fh.quote(s) for s in QUOTE_SYMBOLS]
            assert all(q["c"] for q in out)
            return out

        results["quote_200"] = {
            "finnhub-python": cpu(fh_quotes, args.rounds)[:2],
            "stockdata (finnhub, 200 requests)": cpu(
                lambda: sd_quotes(by_finnhub), args.rounds
            )[:2],
            "stockdata (default routing, batched)": cpu(
                lambda: sd_quotes(batched), args.rounds
            )[:2],
        }

        # -- 2. bars into pandas ------------------------------------------------------------
        by_alpaca = stockdata.StockData(
            {
                "providers": {
                    "alpaca": {
                        "key_id": "k",
                        "secret_key": "s",
                        "base_url": f"{url}/alpaca",
                        **FAST,
                    }
                },
                "routing": {"bars": ["alpaca"]},
            }
        )

        def sd_bars(decimals):
            df = by_alpaca.bars(BAR_SYMBOLS, start=START, end=END).to_pandas(decimals=decimals)
            assert df["symbol"].nunique() == 100 and len(df) > 100 * 240, len(df)
            return df

        ap_client = StockHistoricalDataClient("k", "s", url_override=f"{url}/alpaca")

        def ap_bars():
            req = StockBarsRequest(
                symbol_or_symbols=BAR_SYMBOLS,
                timeframe=TimeFrame.Day,
                start=START,
                end=END,
                feed=DataFeed.IEX,
            )
            df = ap_client.get_stock_bars(req).df
            assert len(df) > 100 * 240, len(df)
            return df

        results["bars_100x1y_pandas"] = {
            "alpaca-py": cpu(ap_bars, args.rounds)[:2],
            "stockdata (exact decimals)": cpu(lambda: sd_bars("decimal"), args.rounds)[:2],
            "stockdata (float64)": cpu(lambda: sd_bars("float"), args.rounds)[:2],
        }
    finally:
        proc.kill()
        proc.wait()

    for job, rows in results.items():
        base_name = next(iter(rows))
        base = rows[base_name][0]
        print(f"\n{job}")
        for name, (c, w) in rows.items():
            ratio = "" if name == base_name else f"  {c / base:6.3f} of {base_name}"
            print(f"  {name:40s} CPU {c * 1000:8.1f} ms  wall {w * 1000:8.1f} ms{ratio}")
    print(json.dumps({k: {n: v[0] for n, v in r.items()} for k, r in results.items()}))


if __name__ == "__main__":
    main()
