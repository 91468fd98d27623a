"""Exceptions mirroring stockdata's error taxonomy (the domain's ``ErrorKind``).

Every exception is a :class:`StockDataError` with a ``kind`` (``"rate_limited"``,
``"unknown_symbol"``, ...), the ``symbol`` it concerns when there is one, and the ``trail`` of
provider attempts (:class:`stockdata.Attempt`) that led to it. A failed symbol in a batch is a
result carrying one of these in ``.error`` (``.unwrap()`` raises it); invalid arguments and
configuration errors are raised at once.

A provider written in Python fails by raising one of these: ``RateLimited`` and the other
fail-over kinds make the fetchers try the next provider, ``InvalidRequest`` does not (the same
request is wrong everywhere). See the table on ``FetchError`` in the Rust docs.

Messages never contain API keys.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from ._records import Attempt

__all__ = [
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
]


class StockDataError(Exception):
    """Base of every stockdata error."""

    kind: ClassVar[str] = "error"
    #: Whether another provider may answer what this one could not.
    allows_failover: ClassVar[bool] = True

    def __init__(
        self,
        message: str | None = None,
        *,
        symbol: str | None = None,
        trail: tuple[Attempt, ...] | list[Attempt] = (),
        retry_after: float | None = None,
        resets_at: datetime | None = None,
        status: int | None = None,
    ) -> None:
        doc = (type(self).__doc__ or self.kind).strip().splitlines()[0]
        self.message: str = message if message is not None else doc
        super().__init__(self.message)
        #: The symbol concerned, when there is one.
        self.symbol: str | None = symbol
        #: Every provider attempt, in order.
        self.trail: tuple[Attempt, ...] = tuple(trail)
        #: ``RateLimited``: how long the provider asked to wait, in seconds, when it said.
        self.retry_after: float | None = retry_after
        #: ``QuotaExhausted``: when the quota resets, when known.
        self.resets_at: datetime | None = resets_at
        #: ``ProviderUnavailable``: the HTTP status, when there was one.
        self.status: int | None = status

    def __repr__(self) -> str:
        extra = f", symbol={self.symbol!r}" if self.symbol else ""
        return f"{type(self).__name__}({self.message!r}{extra})"

    def __reduce__(self):  # keeps pickling (multiprocessing) working with keyword fields
        return (
            _rebuild,
            (
                type(self),
                self.message,
                self.symbol,
                self.trail,
                self.retry_after,
                self.resets_at,
                self.status,
            ),
        )


def _rebuild(cls, message, symbol, trail, retry_after, resets_at, status):
    return cls(
        message,
        symbol=symbol,
        trail=trail,
        retry_after=retry_after,
        resets_at=resets_at,
        status=status,
    )


class ConfigError(StockDataError):
    """The configuration cannot be used: the message names the key and what to set."""

    kind = "config"
    allows_failover = False


class RateLimited(StockDataError):
    """Rate limited by the provider: too many requests for now."""

    kind = "rate_limited"


class QuotaExhausted(StockDataError):
    """The provider's quota for the period (usually the day) is used up."""

    kind = "quota_exhausted"


class Unauthorized(StockDataError):
    """The provider rejected the credentials."""

    kind = "unauthorized"


class EntitlementDenied(StockDataError):
    """The account's plan or feed does not cover this request."""

    kind = "entitlement_denied"


class UnknownSymbol(StockDataError):
    """The provider does not know the symbol."""

    kind = "unknown_symbol"


class NoData(StockDataError):
    """The symbol is known, but nothing lies in the requested range."""

    kind = "no_data"


class InvalidRequest(StockDataError):
    """The request itself is wrong: every provider would refuse it."""

    kind = "invalid_request"
    allows_failover = False


class Timeout(StockDataError):
    """No answer within the configured time."""

    kind = "timeout"


class TransportError(StockDataError):
    """The connection failed (refused, reset, TLS, DNS)."""

    kind = "transport"


class ProviderUnavailable(StockDataError):
    """The provider is failing (HTTP 5xx or 408, an HTML error page)."""

    kind = "provider_unavailable"


class Malformed(StockDataError):
    """The provider's answer does not have the documented shape."""

    kind = "malformed"


class Cancelled(StockDataError):
    """The operation was cancelled before it finished."""

    kind = "cancelled"
    allows_failover = False


class NotStored(StockDataError):
    """Offline, and the local store does not hold what was asked."""

    kind = "not_stored"
    allows_failover = False


class StoreError(StockDataError):
    """The local store could not be read or written."""

    kind = "store"
    allows_failover = False


_BY_KIND: dict[str, type[StockDataError]] = {
    cls.kind: cls
    for cls in (
        ConfigError,
        RateLimited,
        QuotaExhausted,
        Unauthorized,
        EntitlementDenied,
        UnknownSymbol,
        NoData,
        InvalidRequest,
        Timeout,
        TransportError,
        ProviderUnavailable,
        Malformed,
        Cancelled,
        NotStored,
        StoreError,
    )
}


def _from_native(kind: str, message: str, **fields) -> StockDataError:
    """The exception of ``kind`` (called by the compiled module)."""
    return _BY_KIND.get(kind, StockDataError)(message, **fields)
