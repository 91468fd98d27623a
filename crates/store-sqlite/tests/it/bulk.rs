//! Writes larger than one statement's batch of rows.

use stockdata_domain::{Decimal, Timestamp};
use stockdata_ports::Store;
use stockdata_ports::conformance::fixtures::{bars_write, daily, days, some_bars};
use stockdata_store_sqlite::{SqliteOptions, SqliteStore};

#[tokio::test]
async fn writes_of_any_size_round_trip() {
    for n in [1, 63, 64, 65, 128, 129, 1000] {
        let store = SqliteStore::in_memory().unwrap();
        let key = daily("AAPL");
        let bars = some_bars(&key, 0, n);
        store
            .write_bars(bars_write(&key, days(0, n), &bars))
            .await
            .unwrap();
        assert_eq!(
            store.bars(&key, days(0, n)).await.unwrap(),
            bars,
            "{n} bars"
        );
    }
}

#[tokio::test]
async fn of_two_bars_with_one_start_in_one_write_the_later_wins() {
    let store = SqliteStore::in_memory().unwrap();
    let key = daily("AAPL");
    let first = some_bars(&key, 0, 100);
    let mut second = some_bars(&key, 50, 150);
    for b in &mut second {
        b.close = Decimal::new(1, 2);
    }
    let written: Vec<_> = first.iter().chain(&second).cloned().collect();
    store
        .write_bars(bars_write(&key, days(0, 150), &written))
        .await
        .unwrap();
    let want: Vec<_> = first.iter().take(50).chain(&second).cloned().collect();
    assert_eq!(store.bars(&key, days(0, 150)).await.unwrap(), want);
}

#[tokio::test]
async fn vacuum_drops_the_provenance_of_rewritten_bars() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let store = SqliteStore::open(&path, &SqliteOptions::default()).unwrap();
    let key = daily("AAPL");
    let provenance_rows = || {
        let raw = rusqlite::Connection::open(&path).unwrap();
        raw.query_row("SELECT count(*) FROM provenance", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap()
    };
    let mut bars = some_bars(&key, 0, 100);
    for round in 0..3 {
        for b in &mut bars {
            b.provenance.fetched_at = Timestamp::from_second(1_800_000_000 + round).unwrap();
        }
        store
            .write_bars(bars_write(&key, days(0, 100), &bars))
            .await
            .unwrap();
    }
    assert_eq!(provenance_rows(), 3);
    store.vacuum().await.unwrap();
    assert_eq!(provenance_rows(), 1);
    assert_eq!(store.bars(&key, days(0, 100)).await.unwrap(), bars);
}
