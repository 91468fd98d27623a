//! The PostgreSQL store's speed (issue #18), on the same workload as the SQLite store's bench:
//! syncing 100 symbols × 20 years of daily bars (504,000 rows, one `write_bars` per symbol, as
//! a sync does) into an empty store, and reading one symbol's 20 years back. The target is
//! 200,000 rows/s for the sync, over loopback TCP to a private server with PostgreSQL's
//! durable defaults (fsync on), the store's sessions with its default options
//! (`synchronous_commit = off`).
//!
//! Before criterion's runs, timed syncs print rows/s: one writer (as `stockdata sync` runs
//! today), then four writers at once on one pool (several hosts syncing), each with the
//! default options and with commits waiting for the disk (`synchronous_commit: true`).
//! The same timed syncs then go on stdout as one JSON line (`{"store_postgres": {...}}`) for
//! `cargo xtask bench --only store-postgres`.
//!
//! Without PostgreSQL installed the bench prints why (and `{"store_postgres": {"skipped":
//! "..."}}`) and measures nothing.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use secrecy::SecretString;
use stockdata_domain::{
    Adjustment, Bar, Decimal, Interval, Provenance, ProviderId, Symbol, TimeRange, Timestamp,
};
use stockdata_ports::{BarsWrite, Dataset, SeriesKey, Store};
use stockdata_store_postgres::testing::TestServer;
use stockdata_store_postgres::{PostgresOptions, PostgresStore};

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

async fn sync_one(store: &PostgresStore, key: &SeriesKey, bars: &[Bar]) {
    let provider = ProviderId::from_static("alpha_vantage");
    let (Some(first), Some(last)) = (bars.first(), bars.last()) else {
        return;
    };
    let end = last.start.checked_add(jiff::SignedDuration::from_hours(24));
    let covered =
        TimeRange::new(first.start, end.unwrap_or(Timestamp::MAX)).unwrap_or_else(|_| everything());
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

/// A fresh, empty store (a schema of its own) on the server.
struct Fresh {
    url: SecretString,
    n: AtomicUsize,
}

impl Fresh {
    async fn store(&self, writers: usize, synchronous_commit: bool) -> PostgresStore {
        let schema = format!("bench{}", self.n.fetch_add(1, Ordering::Relaxed));
        let options = PostgresOptions::default()
            .with_schema(schema)
            .with_max_connections(writers)
            .with_synchronous_commit(synchronous_commit);
        PostgresStore::connect(&self.url, &options).await.unwrap()
    }
}

/// Syncs every symbol into a fresh store with `writers` concurrent writers, and the time the
/// sync took (connecting and creating the schema not counted).
async fn timed_sync(
    fresh: &Fresh,
    data: &Arc<Vec<(SeriesKey, Vec<Bar>)>>,
    writers: usize,
    synchronous_commit: bool,
) -> (PostgresStore, Duration) {
    let store = fresh.store(writers, synchronous_commit).await;
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..writers)
        .map(|_| {
            let (store, data, next) = (store.clone(), Arc::clone(data), Arc::clone(&next));
            tokio::spawn(async move {
                while let Some((key, bars)) = data.get(next.fetch_add(1, Ordering::Relaxed)) {
                    sync_one(&store, key, bars).await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    (store, started.elapsed())
}

fn store(c: &mut Criterion) {
    let server = match TestServer::start(true) {
        Ok(server) => server,
        Err(why) => {
            eprintln!("store-postgres bench skipped: {why}");
            println!(
                "{{\"store_postgres\":{{\"skipped\":\"{}\"}}}}",
                json_escape(&why)
            );
            return;
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let url = rt.block_on(server.database());
    let fresh = Fresh {
        url: SecretString::from(url),
        n: AtomicUsize::new(0),
    };
    let data: Arc<Vec<(SeriesKey, Vec<Bar>)>> = Arc::new((0..SYMBOLS).map(history).collect());
    let rows: usize = data.iter().map(|(_, b)| b.len()).sum();
    println!(
        "server: PostgreSQL on 127.0.0.1:{}, started in {:.3} s (initdb included)",
        server.port(),
        server.startup().as_secs_f64()
    );
    let mut syncs = Vec::new();
    for (writers, synchronous_commit) in [(1, false), (4, false), (1, true), (4, true)] {
        let (store, took) = rt.block_on(timed_sync(&fresh, &data, writers, synchronous_commit));
        let stats = rt.block_on(store.stats()).unwrap();
        let rows_per_s = rows as f64 / took.as_secs_f64();
        println!(
            "sync, {writers} writer(s), synchronous_commit {synchronous_commit}: {rows} rows in \
             {:.3} s = {rows_per_s:.0} rows/s; store {} bytes ({:.1} bytes/row with indexes)",
            took.as_secs_f64(),
            stats.bytes,
            stats.bytes as f64 / rows as f64,
        );
        syncs.push(format!(
            "{{\"writers\":{writers},\"synchronous_commit\":{synchronous_commit},\
             \"seconds\":{:.3},\"rows_per_s\":{rows_per_s:.0},\"bytes\":{}}}",
            took.as_secs_f64(),
            stats.bytes,
        ));
    }
    // One line, for `cargo xtask bench`.
    println!(
        "{{\"store_postgres\":{{\"symbols\":{SYMBOLS},\"sessions\":{SESSIONS},\"rows\":{rows},\
         \"server_startup_s\":{:.3},\"syncs\":[{}]}}}}",
        server.startup().as_secs_f64(),
        syncs.join(","),
    );

    let mut group = c.benchmark_group("store-postgres");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(30))
        .throughput(Throughput::Elements(u64::try_from(rows).unwrap_or(0)));
    group.bench_function("sync 100 symbols x 20y daily into an empty store", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| rt.block_on(timed_sync(&fresh, &data, 1, false)).1)
                .sum::<Duration>()
        });
    });
    group.finish();

    let (store, _) = rt.block_on(timed_sync(&fresh, &data, 1, false));
    let key = data.first().map(|(k, _)| k.clone()).unwrap();
    let mut group = c.benchmark_group("store-postgres");
    group.throughput(Throughput::Elements(u64::try_from(SESSIONS).unwrap_or(0)));
    group.bench_function("read 20y of one symbol", |b| {
        b.iter(|| {
            let bars = rt.block_on(store.bars(&key, everything()));
            black_box(bars.map(|b| b.len()).unwrap_or(0))
        });
    });
    group.finish();
    drop(store);
    drop(server);
}

/// `text` as the inside of a JSON string.
fn json_escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' | '\\' => format!("\\{c}"),
            c if c.is_control() => " ".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

criterion_group!(benches, store);
criterion_main!(benches);
