//! Waiting on another host: a lock held past the busy timeout is `Busy` and writes nothing;
//! readers never wait for writers.

use std::time::Duration;

use stockdata_ports::conformance::fixtures::{bars_write, daily, days, some_bars, write_days};
use stockdata_ports::{Store, StoreError};
use stockdata_store_postgres::testing::TestServer;
use stockdata_store_postgres::{PostgresOptions, PostgresStore};

use crate::support::{database, secret};

#[tokio::test]
async fn a_lock_held_past_the_timeout_is_busy_and_writes_nothing() {
    let Some(url) = database().await else { return };
    let server = TestServer::shared().unwrap();
    let options = PostgresOptions::default().with_busy_timeout(Duration::from_millis(150));
    let store = PostgresStore::connect(&secret(&url), &options)
        .await
        .unwrap();
    write_days(&store, &daily("AAPL"), 0, 10).await;

    // Another host in the middle of a write to the same series.
    let mut other = server.client(url.rsplit('/').next().unwrap()).await;
    let tx = other.transaction().await.unwrap();
    tx.batch_execute("SELECT * FROM stockdata.series WHERE symbol = 'AAPL' FOR UPDATE")
        .await
        .unwrap();
    let bars = some_bars(&daily("AAPL"), 10, 20);
    let err = store
        .write_bars(bars_write(&daily("AAPL"), days(10, 20), &bars))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        StoreError::Busy {
            path: store.location().to_owned(),
            waited_ms: 150,
        }
    );
    assert!(err.to_string().contains("busy_timeout_ms"), "{err}");
    // Readers do not wait for the writer; other series are written meanwhile.
    let read = store.bars(&daily("AAPL"), days(0, 100)).await.unwrap();
    assert_eq!(read, some_bars(&daily("AAPL"), 0, 10));
    write_days(&store, &daily("MSFT"), 0, 10).await;
    tx.commit().await.unwrap();
    assert_eq!(store.coverage(&daily("AAPL")).await.unwrap(), [days(0, 10)]);
    assert_eq!(store.fetch_log(10).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_pool_with_no_free_connection_is_busy_after_the_timeout() {
    let Some(url) = database().await else { return };
    let server = TestServer::shared().unwrap();
    let options = PostgresOptions::default()
        .with_busy_timeout(Duration::from_millis(200))
        .with_max_connections(1);
    let store = PostgresStore::connect(&secret(&url), &options)
        .await
        .unwrap();
    write_days(&store, &daily("AAPL"), 0, 10).await;
    let mut other = server.client(url.rsplit('/').next().unwrap()).await;
    let tx = other.transaction().await.unwrap();
    tx.batch_execute("SELECT * FROM stockdata.series WHERE symbol = 'AAPL' FOR UPDATE")
        .await
        .unwrap();
    // The one connection waits on the lock while a second operation waits on the pool.
    let (blocked, waiting) = tokio::join!(write_days_result(&store, 10, 20), store.series());
    assert!(
        matches!(blocked, Err(StoreError::Busy { .. })),
        "{blocked:?}"
    );
    assert!(
        matches!(&waiting, Ok(s) if s.len() == 1)
            || matches!(waiting, Err(StoreError::Busy { .. })),
        "{waiting:?}"
    );
    tx.commit().await.unwrap();
    write_days_result(&store, 10, 20).await.unwrap();
}

async fn write_days_result(store: &PostgresStore, from: i64, to: i64) -> Result<(), StoreError> {
    let bars = some_bars(&daily("AAPL"), from, to);
    store
        .write_bars(bars_write(&daily("AAPL"), days(from, to), &bars))
        .await
}
