//! Several stores (standing in for several processes) on one file at once.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use rusqlite::Connection;
use stockdata_ports::conformance::fixtures::{bars_write, daily, days, some_bars, write_days};
use stockdata_ports::{Store, StoreError};
use stockdata_store_sqlite::{SCHEMA_VERSION, SqliteOptions, SqliteStore};

/// Runs `f` on `n` threads that start together, each with its own current-thread runtime.
fn together<T: Send + 'static>(n: usize, f: impl Fn(usize) -> T + Send + Sync + 'static) -> Vec<T> {
    let barrier = Arc::new(Barrier::new(n));
    let f = Arc::new(f);
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (barrier, f) = (Arc::clone(&barrier), Arc::clone(&f));
            thread::spawn(move || {
                barrier.wait();
                f(i)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn count_rows(path: &Path, table: &str) -> i64 {
    let raw = Connection::open(path).unwrap();
    raw.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_fresh_path_opened_at_once_is_initialized_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("store.db");
    let p = path.clone();
    let opened = together(4, move |_| {
        SqliteStore::open(&p, &SqliteOptions::default()).map(|_| ())
    });
    for result in opened {
        result.unwrap();
    }
    let raw = Connection::open(&path).unwrap();
    let version: u32 = raw
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}

#[test]
fn two_stores_writing_one_file_neither_fail_nor_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("store.db");
    let p = path.clone();
    const ROUNDS: i64 = 40;
    let results = together(2, move |writer| {
        let store = SqliteStore::open(&p, &SqliteOptions::default()).unwrap();
        let own = if writer == 0 { "MSFT" } else { "GOOG" };
        runtime().block_on(async {
            for round in 0..ROUNDS {
                // The shared symbol: both write overlapping spans, in opposite orders.
                let start = if writer == 0 {
                    round * 5
                } else {
                    (ROUNDS - 1 - round) * 5
                };
                write_days(&store, &daily("AAPL"), start, start + 12).await;
                write_days(&store, &daily(own), round * 10, round * 10 + 10).await;
            }
            store
                .bars(&daily("AAPL"), days(0, 1000))
                .await
                .map(|b| b.len())
        })
    });
    for result in results {
        result.unwrap();
    }
    let store = SqliteStore::open(&path, &SqliteOptions::default()).unwrap();
    runtime().block_on(async {
        let aapl = store.bars(&daily("AAPL"), days(-1, 1000)).await.unwrap();
        let last = (ROUNDS - 1) * 5 + 12;
        assert_eq!(aapl, some_bars(&daily("AAPL"), 0, last));
        assert_eq!(
            store.coverage(&daily("AAPL")).await.unwrap(),
            [days(0, last)]
        );
        for own in ["MSFT", "GOOG"] {
            let bars = store.bars(&daily(own), days(-1, 1000)).await.unwrap();
            assert_eq!(bars, some_bars(&daily(own), 0, ROUNDS * 10));
            let covered = store.coverage(&daily(own)).await.unwrap();
            assert_eq!(covered, [days(0, ROUNDS * 10)]);
        }
        let log = store.fetch_log(1000).await.unwrap();
        assert_eq!(log.len(), usize::try_from(ROUNDS * 4).unwrap());
    });
    let rows = count_rows(&path, "bars");
    assert_eq!(rows, (ROUNDS - 1) * 5 + 12 + 2 * ROUNDS * 10);
    assert_eq!(count_rows(&path, "series"), 3);
    assert_eq!(count_rows(&path, "bar_coverage"), 3);
    assert_eq!(count_rows(&path, "providers"), 1);
}

#[tokio::test]
async fn a_lock_held_past_the_timeout_is_busy_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let options = SqliteOptions::default().with_busy_timeout(Duration::from_millis(150));
    let store = SqliteStore::open(&path, &options).unwrap();
    write_days(&store, &daily("AAPL"), 0, 10).await;

    let other = Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let bars = some_bars(&daily("AAPL"), 10, 20);
    let err = store
        .write_bars(bars_write(&daily("AAPL"), days(10, 20), &bars))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        StoreError::Busy {
            path: path.display().to_string(),
            waited_ms: 150,
        }
    );
    assert!(err.to_string().contains("busy_timeout_ms"), "{err}");
    // Readers do not wait for the writer.
    let read = store.bars(&daily("AAPL"), days(0, 100)).await.unwrap();
    assert_eq!(read, some_bars(&daily("AAPL"), 0, 10));
    other.execute_batch("COMMIT").unwrap();
    assert_eq!(store.coverage(&daily("AAPL")).await.unwrap(), [days(0, 10)]);
    assert_eq!(store.fetch_log(10).await.unwrap().len(), 1);
}
