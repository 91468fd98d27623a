//! A write that fails part-way keeps nothing. The failure is forced with a trigger another
//! connection installs, so it strikes after some rows of the write are already in.

use std::path::Path;

use rusqlite::Connection;
use stockdata_domain::{ProviderId, Timestamp};
use stockdata_ports::conformance::fixtures::{
    article, bars_write, daily, day, days, provider, snapshot, some_bars, write_days,
};
use stockdata_ports::{BarsWrite, Dataset, NewsWrite, Store, StoreError};
use stockdata_store_sqlite::{SqliteOptions, SqliteStore};

fn sabotage(path: &Path, sql: &str) {
    Connection::open(path).unwrap().execute_batch(sql).unwrap();
}

fn assert_failed(err: &StoreError) {
    assert!(matches!(err, StoreError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("forced"), "{err}");
}

#[tokio::test]
async fn a_failed_bar_write_keeps_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let store = SqliteStore::open(&path, &SqliteOptions::default()).unwrap();
    write_days(&store, &daily("AAPL"), 0, 10).await;
    let before = snapshot(&store).await;
    let when = day(25).as_second();
    sabotage(
        &path,
        &format!(
            "CREATE TRIGGER fail BEFORE INSERT ON bars \
             WHEN NEW.start = {when} AND NEW.start_ns = 0 \
             BEGIN SELECT RAISE(ABORT, 'forced failure'); END;"
        ),
    );
    let key = daily("AAPL");
    let other = daily("MSFT");
    let fresh_provider = ProviderId::from_static("new_provider");
    for (key, replace) in [(&key, false), (&key, true), (&other, false)] {
        // Days 20..30: rows 20..24 go in before day 25 fails.
        let bars = some_bars(key, 20, 30);
        let err = store
            .write_bars(BarsWrite {
                replace,
                provider: &fresh_provider,
                ..bars_write(key, days(10, 40), &bars)
            })
            .await
            .unwrap_err();
        assert_failed(&err);
        assert_eq!(snapshot(&store).await, before, "replace: {replace}");
    }
    sabotage(&path, "DROP TRIGGER fail;");
    write_days(&store, &daily("AAPL"), 20, 30).await;
    let covered = store.coverage(&daily("AAPL")).await.unwrap();
    assert_eq!(covered, [days(0, 10), days(20, 30)]);
}

#[tokio::test]
async fn a_failed_news_write_keeps_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let store = SqliteStore::open(&path, &SqliteOptions::default()).unwrap();
    let before = snapshot(&store).await;
    sabotage(
        &path,
        "CREATE TRIGGER fail BEFORE INSERT ON article_symbols WHEN NEW.symbol = 'FAIL' \
         BEGIN SELECT RAISE(ABORT, 'forced failure'); END;",
    );
    let articles = [article("t:1", &["AAPL"]), article("t:2", &["AAPL", "FAIL"])];
    let symbols = [daily("AAPL").symbol];
    let err = store
        .write_news(NewsWrite {
            dataset: Dataset::Market,
            symbols: &symbols,
            covered: days(0, 5),
            articles: &articles,
            provider: &provider(),
            fetched_at: Timestamp::now(),
        })
        .await
        .unwrap_err();
    assert_failed(&err);
    assert_eq!(snapshot(&store).await, before);
}
