"""Holds a `stockdata store export --format parquet` file to a CSV export of the same store.

usage: check.py EXPORT.parquet EXPORT.csv [--fetched-at INSTANT] [--adjustment NAME]

The Parquet file is read twice, with pandas (pyarrow engine, pyarrow dtypes: no value goes
through a float) and with polars, and each reading must match the CSV row for row:

- the columns are the CSV's, in its order (its appended `adjustment` and `error` aside), then
  `adjustment` and `fetched_at`;
- the same number of rows, in the same order;
- every decimal (open, high, low, close, vwap) is a `decimal.Decimal` equal to the CSV text
  read as `decimal.Decimal`, and null exactly where the CSV cell is empty;
- `start` and `fetched_at` are UTC-aware nanosecond timestamps, and `start` is the CSV's
  RFC 3339 instant to the nanosecond (compared as integers);
- symbol, interval and provider are the same text, volume and trades the same integers,
  synthetic the same boolean;
- with --fetched-at / --adjustment, every row's fetched_at / adjustment is that.

Then it proves it can fail: it corrupts copies (a price one unit in its last place, an instant
one nanosecond, a symbol, a missing row), in the CSV rows and in a rewritten Parquet file, and
each must be caught. Exit 0 when all holds, 1 with the differences otherwise.
"""

import argparse
import csv
import datetime
import decimal
import os
import sys
import tempfile

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

DECIMALS = ("open", "high", "low", "close", "vwap")
OPTIONAL = ("vwap", "trades")
EXTRA = ("adjustment", "fetched_at")
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
SHOWN = 20


def instant_ns(text):
    """Nanoseconds since 1970 of an RFC 3339 UTC instant (`...Z`, up to 9 fraction digits)."""
    if not text.endswith("Z"):
        raise ValueError(f"{text!r} is not a UTC instant")
    whole, _, fraction = text[:-1].partition(".")
    if len(fraction) > 9 or (fraction and not fraction.isdigit()):
        raise ValueError(f"{text!r}: bad fraction")
    at = datetime.datetime.fromisoformat(whole).replace(tzinfo=datetime.timezone.utc)
    delta = at - EPOCH
    seconds = delta.days * 86_400 + delta.seconds
    return seconds * 1_000_000_000 + int(fraction.ljust(9, "0") or "0")


# Appended to the CSV after the Parquet layout was set: `adjustment` (the Parquet file has it
# among EXTRA) and `error` (always empty in an export: a store holds no failures).
TRAILING = ["adjustment", "error"]


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise SystemExit(f"{path}: empty (no header)")
    header, rows = rows[0], rows[1:]
    if header[-len(TRAILING):] == TRAILING:
        for n, row in enumerate(rows, 2):
            if row and row[-1] != "":
                raise SystemExit(f"CSV line {n}: an export row with an error: {row[-1]!r}")
        header = header[: -len(TRAILING)]
        rows = [row[: -len(TRAILING)] for row in rows]
    return header, rows


def expected(header, rows):
    """The CSV as exact Python values, column by column."""
    columns = {name: [] for name in header}
    for n, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise SystemExit(f"CSV line {n}: {len(row)} cells, header has {len(header)}")
        for name, cell in zip(header, row):
            if name in OPTIONAL and cell == "":
                value = None
            elif name in DECIMALS:
                value = decimal.Decimal(cell)
            elif name in ("volume", "trades"):
                value = int(cell)
            elif name == "start":
                value = instant_ns(cell)
            elif name == "synthetic":
                value = {"true": True, "false": False}[cell]
            else:
                value = cell
            columns[name].append(value)
    return columns


def from_pandas(path):
    """pandas' reading: (column names, {name: Python values}, {name: type problem})."""
    df = pd.read_parquet(path, engine="pyarrow", dtype_backend="pyarrow")
    values, problems = {}, {}
    for name in df.columns:
        series = df[name]
        dtype = series.dtype
        arrow = dtype.pyarrow_dtype if isinstance(dtype, pd.ArrowDtype) else None
        if arrow is None or pa.types.is_floating(arrow):
            problems[name] = f"dtype {dtype}"
        cells = [None if v is pd.NA else v for v in series.tolist()]
        if name in ("start", "fetched_at"):
            if arrow != pa.timestamp("ns", tz="UTC"):
                problems[name] = f"dtype {dtype}, not timestamp[ns, tz=UTC]"
            out = []
            for v in cells:
                if v is None or str(v.tz) != "UTC":
                    problems[name] = f"a value {v!r} that is not UTC-aware"
                out.append(None if v is None else v.value)
            cells = out
        values[name] = cells
    return list(df.columns), values, problems


def from_polars(path):
    """polars' reading, the same shape as `from_pandas`."""
    df = pl.read_parquet(path)
    values, problems = {}, {}
    for name in df.columns:
        series = df[name]
        if series.dtype.is_float():
            problems[name] = f"dtype {series.dtype}"
        if name in ("start", "fetched_at"):
            if series.dtype != pl.Datetime("ns", "UTC"):
                problems[name] = f"dtype {series.dtype}, not Datetime(ns, UTC)"
            # to_list() would give datetime objects, which stop at microseconds.
            values[name] = series.dt.epoch("ns").to_list()
        else:
            values[name] = series.to_list()
    return df.columns, values, problems


def compare(reader, got, want, header, fetched_at=None, adjustment=None):
    """Every difference between a reading and the CSV, as text (empty: equal)."""
    names, values, problems = got
    diffs = [f"{reader}: {name}: {p}" for name, p in problems.items()]
    if list(names) != list(header) + list(EXTRA):
        diffs.append(f"{reader}: columns {list(names)}, want {list(header) + list(EXTRA)}")
        return diffs
    rows = len(want[header[0]]) if header else 0
    for name in names:
        if len(values[name]) != rows:
            diffs.append(f"{reader}: {name}: {len(values[name])} rows, the CSV has {rows}")
            return diffs
    for name in header:
        for i, (g, w) in enumerate(zip(values[name], want[name])):
            if name in DECIMALS and g is not None and not isinstance(g, decimal.Decimal):
                diffs.append(f"{reader}: row {i} {name}: {g!r} is not a decimal.Decimal")
            elif type(g) is not type(w) or g != w:
                diffs.append(f"{reader}: row {i} {name}: {g!r}, the CSV says {w!r}")
    if fetched_at is not None:
        want_ns = instant_ns(fetched_at)
        for i, g in enumerate(values["fetched_at"]):
            if g != want_ns:
                diffs.append(f"{reader}: row {i} fetched_at: {g!r} ns, want {want_ns} ns")
    if adjustment is not None:
        for i, g in enumerate(values["adjustment"]):
            if g != adjustment:
                diffs.append(f"{reader}: row {i} adjustment: {g!r}, want {adjustment!r}")
    return diffs


def readings(path):
    return [("pandas", from_pandas(path)), ("polars", from_polars(path))]


def check(got, header, want, **extra):
    diffs = []
    for reader, reading in got:
        diffs += compare(reader, reading, want, header, **extra)
    return diffs


def mutated(want, name, change):
    """A copy of the expected columns with the first row's `name` changed."""
    copy = {k: list(v) for k, v in want.items()}
    copy[name][0] = change(copy[name][0])
    return copy


def prove_it_can_fail(path, got, header, want):
    """Each corruption must be caught; the returned list names those that were not."""
    if not want[header[0]]:
        return ["the export is empty: nothing to corrupt"]
    blind = []
    ulp = lambda d: d + decimal.Decimal(1).scaleb(d.as_tuple().exponent)  # noqa: E731
    corruptions = {
        "close one unit in its last place": mutated(want, "close", ulp),
        "start one nanosecond later": mutated(want, "start", lambda t: t + 1),
        "another symbol": mutated(want, "symbol", lambda s: s + "X"),
        "volume one more": mutated(want, "volume", lambda v: v + 1),
        "synthetic flipped": mutated(want, "synthetic", lambda b: not b),
        "a row missing": {k: v[1:] for k, v in want.items()},
    }
    for label, bad in corruptions.items():
        if not any(compare(r, g, bad, header) for r, g in got):
            blind.append(f"CSV with {label}")
    # The same price with more trailing zeros is the same value: still equal.
    padded = mutated(
        want, "open", lambda d: d.quantize(decimal.Decimal(1).scaleb(d.as_tuple().exponent - 1))
    )
    if any(compare(r, g, padded, header) for r, g in got):
        blind.append("CSV with a trailing zero: reported as different (a text comparison?)")
    # A Parquet file with one price one unit off, rewritten by pyarrow with the same schema.
    table = pq.read_table(path)
    column = table.column("open").to_pylist()
    column[0] = ulp(column[0])
    index = table.schema.get_field_index("open")
    field = table.schema.field(index)
    table = table.set_column(index, field, pa.array(column, type=field.type))
    with tempfile.TemporaryDirectory() as tmp:
        bad = os.path.join(tmp, "corrupt.parquet")
        pq.write_table(table, bad)
        if not check(readings(bad), header, want):
            blind.append("Parquet with open one unit in its last place")
    return blind


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parquet")
    parser.add_argument("csv")
    parser.add_argument("--fetched-at", help="RFC 3339 instant every row was fetched at")
    parser.add_argument("--adjustment", help="every row's adjustment (raw, split, ...)")
    args = parser.parse_args()
    header, rows = read_csv(args.csv)
    want = expected(header, rows)
    got = readings(args.parquet)
    diffs = check(got, header, want, fetched_at=args.fetched_at, adjustment=args.adjustment)
    if diffs:
        print(f"parquet check: {len(diffs)} differences", file=sys.stderr)
        for d in diffs[:SHOWN]:
            print(f"  {d}", file=sys.stderr)
        if len(diffs) > SHOWN:
            print(f"  ... and {len(diffs) - SHOWN} more", file=sys.stderr)
        return 1
    blind = prove_it_can_fail(args.parquet, got, header, want)
    if blind:
        print("parquet check: the check itself is broken:", file=sys.stderr)
        for b in blind:
            print(f"  not caught: {b}", file=sys.stderr)
        return 1
    print(
        f"parquet check: {len(rows)} rows x {len(header) + len(EXTRA)} columns equal to the CSV "
        f"through pandas {pd.__version__} (pyarrow {pa.__version__}) and polars "
        f"{pl.__version__}; every planted corruption caught"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
