//! Writes larger than one statement's batch of rows.

use stockdata_domain::{Decimal, Timestamp};
use stockdata_ports::{BarsWrite, Store};
use stockdata_store_sqlite::SqliteStore;

use crate::support::{daily, days, provider, some_bars};

#[tokio::test]
async fn writes_of_any_size_round_trip() {
    for n in [1, 63, 64, 65, 128, 129, 1000] {
        let store = SqliteStore::in_memory().unwrap();
        let key = daily("AAPL");
        let bars = some_bars(&key, 0, n);
        store
            .write_bars(BarsWrite {
                key: &key,
                covered: days(0, n),
                bars: &bars,
                replace: false,
                provider: &provider(),
                fetched_at: Timestamp::now(),
            })
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
        .write_bars(BarsWrite {
            key: &key,
            covered: days(0, 150),
            bars: &written,
            replace: false,
            provider: &provider(),
            fetched_at: Timestamp::now(),
        })
        .await
        .unwrap();
    let want: Vec<_> = first.iter().take(50).chain(&second).cloned().collect();
    assert_eq!(store.bars(&key, days(0, 150)).await.unwrap(), want);
}
