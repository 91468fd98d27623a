"""Fixtures: the in-process sandbox (``StockData(sandbox=True)``), standalone sandboxes (the
``stockdata`` binary, ``sandbox serve`` on a port the OS picks), and fake providers written
in Python. Nothing here reads or patches the environment, and nothing leaves loopback.

``cargo xtask python`` passes ``--stockdata-bin`` (the binary its build made); run by hand,
the suite looks for ``target/debug/stockdata`` of the checkout.
"""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest

import stockdata

ROOT = Path(__file__).resolve().parents[3]


def pytest_addoption(parser):
    parser.addoption(
        "--stockdata-bin",
        default=str(ROOT / "target" / "debug" / "stockdata"),
        help="the stockdata binary whose `sandbox serve` the standalone-sandbox tests use",
    )


class Sandbox:
    """A `stockdata sandbox serve` process on 127.0.0.1, stopped by `stop`."""

    def __init__(self, binary: str, *flags: str) -> None:
        if not Path(binary).is_file():
            pytest.fail(f"no stockdata binary at {binary}: build it or pass --stockdata-bin")
        self.proc = subprocess.Popen(
            [binary, "sandbox", "serve", "--bind", "127.0.0.1:0", *flags],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            # The sandbox reads no configuration; an empty environment proves it.
            env={},
        )
        found = threading.Event()
        self.url = ""

        def read() -> None:
            assert self.proc.stderr is not None
            for line in self.proc.stderr:
                if not found.is_set() and " on http://" in line:
                    self.url = "http://" + line.split(" on http://", 1)[1].strip()
                    found.set()

        threading.Thread(target=read, daemon=True).start()
        if not found.wait(30):
            self.stop()
            pytest.fail("stockdata sandbox serve did not say where it listens within 30 s")

    def config(self, *providers: str) -> dict:
        """A config dict pointing `providers` (default: all four) at this sandbox, routed
        in the order given."""
        providers = providers or ("serverless", "alpaca", "finnhub", "alpha_vantage")
        settings = {
            "serverless": {"token": "test-token"},
            "alpaca": {"key_id": "test-key", "secret_key": "test-secret"},
            "finnhub": {"api_key": "test-key"},
            "alpha_vantage": {"api_key": "test-key"},
        }
        return {
            "providers": {
                p: {**settings[p], "base_url": f"{self.url}/{p}"} for p in providers
            },
            "routing": {kind: list(providers) for kind in ("quotes", "bars", "news")},
        }

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture(scope="session")
def stockdata_bin(pytestconfig) -> str:
    return pytestconfig.getoption("--stockdata-bin")


@pytest.fixture(scope="session")
def sandbox(stockdata_bin):
    """A standalone sandbox with quotas off."""
    sb = Sandbox(stockdata_bin, "--no-quotas")
    yield sb
    sb.stop()


@pytest.fixture(scope="session")
def slow_sandbox(stockdata_bin):
    """A standalone sandbox that answers each request after 300 ms."""
    sb = Sandbox(stockdata_bin, "--no-quotas", "--latency-ms", "300")
    yield sb
    sb.stop()


@pytest.fixture(scope="session")
def sd():
    """A StockData on the in-process sandbox (free-tier quotas, synthetic data). Alpha
    Vantage is left out of routing: its 1 request a second would pace every test."""
    chain = ["serverless", "alpaca", "finnhub"]
    config = {"routing": {"quotes": chain, "bars": chain, "news": chain}}
    with stockdata.StockData(config, sandbox=True) as client:
        yield client
