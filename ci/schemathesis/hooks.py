"""Schemathesis hooks for `cargo xtask schemathesis`.

OpenAPI cannot state a rule that ties two parameters together. docs/openapi.yaml states the
range rules of /v1/bars and /v1/news in prose, and serve answers 400 when one is broken:

- `start` is not after `end`;
- `end - start` is at most 3660 days (`[serve] max_range_days`);
- on /v1/news an omitted `end` is now, an omitted `start` is `end` minus 3 days;
- on /v1/bars the answer holds at most 20000 bars (`MAX_BARS_PER_REQUEST`), estimated as
  one bar per interval of the range for each symbol (serve's estimate, which also counts
  sessions, is never larger than this one).

This hook makes every *positive* (schema-valid) case keep those rules too, so that the
`positive_data_acceptance` check can hold serve to "a valid request is never refused".
Negative cases are left as generated and no check is relaxed; the 400s for broken range
rules are covered by the Rust tests (crates/app/tests/it/serve.rs).
"""

import re
import time

import schemathesis

NS = 1_000_000_000
DAY = 86_400
# A margin below 3660 days: the hook's clock and the server's may differ by seconds.
LONGEST = 3650 * DAY * NS
MAX_BARS = 20_000
BAR_SECONDS = {
    "1m": 60, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600,
    "1d": DAY, "1w": 7 * DAY, "1mo": 28 * DAY,
}  # fmt: skip

RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$"
)


def days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 in the proleptic Gregorian calendar (any year)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


def civil_from_days(z: int) -> tuple[int, int, int]:
    z += 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (m <= 2), m, d


def nanos(text):
    """Nanoseconds since the epoch of an RFC 3339 date-time (as serve reads it), or None."""
    if not isinstance(text, str):
        return None
    match = RFC3339.match(text)
    if match is None:
        return None
    y, mo, d, h, mi, s = (int(g) for g in match.groups()[:6])
    offset = 0
    if match.group(9):
        offset = (int(match.group(10)) * 60 + int(match.group(11))) * 60
        offset = offset if match.group(9) == "+" else -offset
    fraction = int(((match.group(7) or "") + "000000000")[:9])
    whole = days_from_civil(y, mo, d) * DAY + h * 3600 + mi * 60 + min(s, 59) - offset
    return whole * NS + fraction


def rfc3339(at: int):
    """`at` (nanoseconds, rounded up to a second) as RFC 3339 UTC; None past year 9999."""
    days, rest = divmod(-(-at // NS), DAY)
    y, m, d = civil_from_days(days)
    if not 0 <= y <= 9999:
        return None
    return f"{y:04}-{m:02}-{d:02}T{rest // 3600:02}:{rest // 60 % 60:02}:{rest % 60:02}Z"


@schemathesis.hook
def map_case(context, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return case
    if case.operation.path not in ("/v1/bars", "/v1/news") or not isinstance(case.query, dict):
        return case
    query = case.query
    start, end = nanos(query.get("start")), nanos(query.get("end"))
    if ("start" in query and start is None) or ("end" in query and end is None):
        return case
    if start is not None and end is not None:
        if start > end:
            query["start"], query["end"] = query["end"], query["start"]
            start, end = end, start
        if end - start > LONGEST:
            # Rounded up to a second: still no longer than LONGEST plus one second.
            later = rfc3339(start + LONGEST)
            if later is not None:
                query["end"] = later
            else:
                query["start"] = rfc3339(end - LONGEST)
        start, end = nanos(query["start"]), nanos(query["end"])
        width = BAR_SECONDS.get(query.get("interval"))
        symbols = query.get("symbols")
        if case.operation.path == "/v1/bars" and width and isinstance(symbols, str):
            most = MAX_BARS // max(1, len(symbols.split(",")))
            if -(-(end - start) // (width * NS)) > most:
                # Rounding up a second keeps it after start; a bar-width less a second of
                # margin keeps it within `most` widths.
                query["end"] = rfc3339(start + most * width * NS - NS) or query["end"]
    elif start is not None:
        # /v1/news with `end` left to default to now.
        now = time.time_ns()
        if now - start > LONGEST:
            query["start"] = rfc3339(now - LONGEST + DAY * NS)
    return case
