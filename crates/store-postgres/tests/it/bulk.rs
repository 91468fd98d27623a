//! Writes of any size, repeated starts inside one write, and vacuum.

use stockdata_domain::{Decimal, Timestamp};
use stockdata_ports::conformance::fixtures::{bars_write, daily, days, some_bars, write_days};
use stockdata_ports::{Store, StoreError};
use stockdata_store_postgres::testing::TestServer;

use crate::support::{connect, database};

#[tokio::test]
async fn writes_of_any_size_round_trip() {
    let Some(url) = database().await else { return };
    let store = connect(&url).await;
    for (i, n) in [1, 2, 1000, 20_000].into_iter().enumerate() {
        let key = daily(&format!("S{i}"));
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
    let Some(url) = database().await else { return };
    let store = connect(&url).await;
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
    let Some(url) = database().await else { return };
    let server = TestServer::shared().unwrap();
    let db = url.rsplit('/').next().unwrap().to_owned();
    let store = connect(&url).await;
    let key = daily("AAPL");
    let provenance_rows = async || -> i64 {
        let client = server.client(&db).await;
        let row = client
            .query_one("SELECT count(*) FROM stockdata.provenance", &[])
            .await
            .unwrap();
        row.get(0)
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
    assert_eq!(provenance_rows().await, 3);
    store.vacuum().await.unwrap();
    assert_eq!(provenance_rows().await, 1);
    assert_eq!(store.bars(&key, days(0, 100)).await.unwrap(), bars);
}

#[tokio::test]
async fn vacuum_finds_broken_coverage() {
    let Some(url) = database().await else { return };
    let server = TestServer::shared().unwrap();
    let store = connect(&url).await;
    write_days(&store, &daily("AAPL"), 0, 10).await;
    store.vacuum().await.unwrap();
    // Two spans that overlap, written behind the store's back.
    server
        .execute(
            url.rsplit('/').next().unwrap(),
            "INSERT INTO stockdata.bar_coverage (series_id, lo, lo_ns, hi, hi_ns) \
             SELECT series_id, lo + 1, 0, hi + 86400, 0 FROM stockdata.bar_coverage",
        )
        .await;
    let err = store.vacuum().await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("overlap"), "{err}");
}
