//! The SQLite store's speed (issue #15): syncing 100 symbols × 20 years of daily bars (504,000
//! rows, one `write_bars` per symbol, as a sync does) into an empty file store, and reading
//! one symbol's 20 years back. The target is 500,000 rows/s for the sync.
//!
//! Before criterion's runs, one timed sync prints rows/s and the store's size on disk.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use stockdata_domain::{
    Adjustment, Bar, Decimal, Interval, Provenance, ProviderId, Symbol, TimeRange, Timestamp,
};
use stockdata_ports::{BarsWrite, Dataset, SeriesKey, Store};
use stockdata_store_sqlite::{SqliteOptions, SqliteStore};

const SYMBOLS: usize = 100;
/// 20 years of 252 sessions.
const SESSIONS: usize = 5_040;

/// One symbol's history: weekday bars opening at 00:00 New York (05:00 UTC, DST ignored),
/// a seeded random walk in cents.
fn history(index: usize) -> (SeriesKey, Vec<Bar>) {
    let symbol = Symbol::parse(&format!("S{index:03}")).unwrap();
    let key = SeriesKey {
        symbol,
        interval: Interval::Day1,
        adjustment: Adjustment::Raw,
        dataset: Dataset::Market,
    };
    let fetched_at = Timestamp::new(1_735_700_000, 123_456_789).unwrap();
    let provenance = Provenance::new(ProviderId::from_static("alpha_vantage"), fetched_at)
        .with_adjustment(Adjustment::Raw);
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64 ^ u64::try_from(index).unwrap_or(0);
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        i64::try_from(seed % 1_000).unwrap()
    };
    let mut cents: i64 = 5_000 + next() * 20;
    let mut bars = Vec::with_capacity(SESSIONS);
    // 2005-01-03, a Monday.
    let mut day: i64 = 12_786;
    while bars.len() < SESSIONS {
        if (day + 3).rem_euclid(7) < 5 {
            let open = cents;
            cents = (cents + next() - 500).max(100);
            let (hi, lo) = (open.max(cents) + next() / 10, open.min(cents) - next() / 20);
            let start = Timestamp::from_second(day * 86_400 + 5 * 3_600).unwrap();
            bars.push(Bar {
                symbol: key.symbol.clone(),
                interval: key.interval,
                start,
                open: Decimal::new(open, 2),
                high: Decimal::new(hi, 2),
                low: Decimal::new(lo.max(1), 2),
                close: Decimal::new(cents, 2),
                volume: u64::try_from(1_000_000 + next() * 40_000).unwrap_or(0),
                vwap: None,
                trades: None,
                provenance: provenance.clone(),
            });
        }
        day += 1;
    }
    (key, bars)
}

fn everything() -> TimeRange {
    TimeRange::new(Timestamp::MIN, Timestamp::MAX).unwrap()
}

async fn sync(store: &SqliteStore, data: &[(SeriesKey, Vec<Bar>)]) {
    let provider = ProviderId::from_static("alpha_vantage");
    for (key, bars) in data {
        let (Some(first), Some(last)) = (bars.first(), bars.last()) else {
            continue;
        };
        let end = last.start.checked_add(jiff::SignedDuration::from_hours(24));
        let covered = TimeRange::new(first.start, end.unwrap_or(Timestamp::MAX))
            .unwrap_or_else(|_| everything());
        let write = BarsWrite {
            key,
            covered,
            bars,
            replace: false,
            provider: &provider,
            fetched_at: Timestamp::now(),
        };
        store.write_bars(write).await.unwrap();
    }
}

fn open(dir: &Path) -> SqliteStore {
    SqliteStore::open(&dir.join("store.db"), &SqliteOptions::default()).unwrap()
}

/// A fresh file store, synced, and the time the sync took.
fn timed_sync(
    rt: &tokio::runtime::Runtime,
    data: &[(SeriesKey, Vec<Bar>)],
) -> (tempfile::TempDir, SqliteStore, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let started = Instant::now();
    rt.block_on(sync(&store, data));
    let took = started.elapsed();
    (dir, store, took)
}

fn store(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let data: Vec<(SeriesKey, Vec<Bar>)> = (0..SYMBOLS).map(history).collect();
    let rows: usize = data.iter().map(|(_, b)| b.len()).sum();

    let (dir, store, took) = timed_sync(&rt, &data);
    let stats = rt.block_on(store.stats()).unwrap();
    drop(store);
    let closed = std::fs::metadata(dir.path().join("store.db")).map_or(0, |m| m.len());
    println!(
        "sync: {rows} rows in {:.3} s = {:.0} rows/s; store {} bytes with its WAL while open, \
         {closed} bytes closed ({:.1} bytes/row)",
        took.as_secs_f64(),
        rows as f64 / took.as_secs_f64(),
        stats.bytes,
        closed as f64 / rows as f64,
    );

    let mut group = c.benchmark_group("store");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements(u64::try_from(rows).unwrap_or(0)));
    group.bench_function("sync 100 symbols x 20y daily into an empty file", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| timed_sync(&rt, &data).2)
                .sum::<Duration>()
        });
    });
    group.finish();

    let (_dir, store, _) = timed_sync(&rt, &data);
    let key = data.first().map(|(k, _)| k.clone()).unwrap();
    let mut group = c.benchmark_group("store");
    group.throughput(Throughput::Elements(u64::try_from(SESSIONS).unwrap_or(0)));
    group.bench_function("read 20y of one symbol", |b| {
        b.iter(|| {
            let bars = rt.block_on(store.bars(&key, everything()));
            black_box(bars.map(|b| b.len()).unwrap_or(0))
        });
    });
    group.finish();
}

criterion_group!(benches, store);
criterion_main!(benches);
