//! End-to-end throughput of one symbol's history (issue #14, item 6): a 20-year Alpha Vantage
//! `TIME_SERIES_DAILY` body → the adapter's parse + normalize into `Vec<Bar>` → the CLI's
//! writer for `csv`, `json` and `ndjson` into a 64 KiB `BufWriter` over `io::sink()` (what
//! `stockdata bars` writes stdout through). Rows per second are reported as elements.
//!
//! The stages are also measured alone, and so is what the history fetcher does between the
//! adapter and the writer (range filter, sort, de-duplication, `check_bars`), so a profile can
//! say where the time goes.
//!
//! The body is built in the shape of the recorded samples exactly as
//! `crates/adapters-http/benches/parse.rs` builds it.

use std::fmt::Write as _;
use std::hint::black_box;
use std::io::{BufWriter, Write as _};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jiff::civil::{Date, Weekday};
use stockdata_app::adapters::alpha_vantage;
use stockdata_app::domain::quality::check_bars;
use stockdata_app::domain::{Adjustment, Bar, Provenance, Symbol, Timestamp};

/// The CLI's writers, compiled here as they are in the binary.
#[allow(
    dead_code,
    unreachable_pub,
    reason = "the bench uses the bars writer only"
)]
#[path = "../src/cli/output.rs"]
mod output;
#[allow(
    dead_code,
    unreachable_pub,
    reason = "the bench draws no tables; output.rs needs the module"
)]
#[path = "../src/cli/table.rs"]
mod table;

/// What `table::Style::for_stdout` asks the CLI (the bench never draws in colour).
fn colour_allowed() -> bool {
    false
}

use output::Format;

const ROWS: usize = 5_040;

fn weekdays_back(from: Date, count: usize) -> Vec<Date> {
    let mut out = Vec::with_capacity(count);
    let mut d = from;
    while out.len() < count {
        if !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday) {
            out.push(d);
        }
        d = d.yesterday().unwrap();
    }
    out
}

fn price(i: usize, offset: usize) -> String {
    let cents = 10_000 + (i * 37 + offset * 11) % 5_000;
    format!("{}.{:02}00", cents / 100, cents % 100)
}

/// 20 years of trading days in TIME_SERIES_DAILY's shape (newest first, 4-decimal strings).
fn av_daily(rows: usize) -> Vec<u8> {
    let mut s = String::from(concat!(
        r#"{"Meta Data": {"#,
        r#""1. Information": "Daily Prices (open, high, low, close) and Volumes", "#,
        r#""2. Symbol": "IBM", "3. Last Refreshed": "2020-05-08", "#,
        r#""4. Output Size": "Full size", "5. Time Zone": "US/Eastern"}, "#,
        r#""Time Series (Daily)": {"#,
    ));
    for (i, d) in weekdays_back("2020-05-08".parse().unwrap(), rows)
        .iter()
        .enumerate()
    {
        if i > 0 {
            s.push(',');
        }
        write!(
            s,
            "\"{d}\": {{\"1. open\": \"{}\", \"2. high\": \"{}\", \"3. low\": \"{}\", \
             \"4. close\": \"{}\", \"5. volume\": \"{}\"}}",
            price(i, 1),
            price(i, 3),
            price(i, 0),
            price(i, 2),
            2_538_547 + i * 13
        )
        .unwrap();
    }
    s.push_str("}}");
    s.into_bytes()
}

/// What the adapter does with a body: parse, map rows into bars opening at 00:00 New York,
/// oldest first, one per start (the adapter's `tidy`).
fn parse(body: &[u8], symbol: &Symbol, provenance: &Provenance) -> Vec<Bar> {
    let alpha_vantage::wire::Body::Data(series) = alpha_vantage::wire::parse_series(body).unwrap()
    else {
        unreachable!()
    };
    let mut bars = Vec::new();
    alpha_vantage::daily_bars(symbol, &series, false, provenance, &mut bars).unwrap();
    bars.sort_by_key(|b| b.start);
    bars.dedup_by_key(|b| b.start);
    bars
}

/// What the history fetcher does next: merge (sort, de-duplicate) and check.
fn merge_and_check(bars: &mut Vec<Bar>) -> usize {
    bars.sort_by_key(|b| b.start);
    bars.dedup_by_key(|b| b.start);
    check_bars(bars).len()
}

/// The CLI's writer, as `stockdata bars` calls it.
fn write(bars: &[Bar], format: Format) {
    let mut out = BufWriter::with_capacity(64 * 1024, std::io::sink());
    let opts = output::Options {
        format,
        csv_safe: false,
        style: table::Style::plain(),
    };
    output::bars(&mut out, &opts, black_box(bars), &[]).unwrap();
    out.flush().unwrap();
}

const FORMATS: [(&str, Format); 3] = [
    ("csv", Format::Csv),
    ("json", Format::Json),
    ("ndjson", Format::Ndjson),
];

fn throughput(c: &mut Criterion) {
    let body = av_daily(ROWS);
    let symbol = Symbol::parse("IBM").unwrap();
    let provenance =
        Provenance::new(alpha_vantage::ID, Timestamp::UNIX_EPOCH).with_adjustment(Adjustment::Raw);
    let bars = parse(&body, &symbol, &provenance);

    let mut group = c.benchmark_group(format!("bars {ROWS} rows"));
    group
        .throughput(Throughput::Elements(ROWS as u64))
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    group.bench_function("parse+normalize", |b| {
        b.iter(|| parse(black_box(&body), &symbol, &provenance).len());
    });
    group.bench_function("merge+check_bars", |b| {
        b.iter_batched_ref(
            || bars.clone(),
            merge_and_check,
            criterion::BatchSize::LargeInput,
        );
    });
    for (name, format) in FORMATS {
        group.bench_function(format!("write {name}"), |b| b.iter(|| write(&bars, format)));
    }
    for (name, format) in FORMATS {
        group.bench_function(format!("body to {name}"), |b| {
            b.iter(|| write(&parse(black_box(&body), &symbol, &provenance), format));
        });
    }
    group.finish();
}

criterion_group!(benches, throughput);
criterion_main!(benches);
