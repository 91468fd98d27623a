//! A write that fails part-way keeps nothing. The failure is forced with a trigger another
//! connection installs, so it strikes after some rows of the write are already in.

use std::path::Path;

use rusqlite::Connection;
use stockdata_domain::{NewsArticle, Provenance, ProviderId, Symbol, Timestamp};
use stockdata_ports::{BarsWrite, Dataset, NewsWrite, Store, StoreError, StoreStats};
use stockdata_store_sqlite::{SqliteOptions, SqliteStore};

use crate::support::{daily, day, days, provider, some_bars, write_days};

fn sabotage(path: &Path, sql: &str) {
    Connection::open(path).unwrap().execute_batch(sql).unwrap();
}

async fn everything(store: &SqliteStore) -> String {
    let key = daily("AAPL");
    let aapl = [key.symbol.clone()];
    format!(
        "{:?}",
        (
            store.bars(&key, days(-100, 1000)).await.unwrap(),
            store.coverage(&key).await.unwrap(),
            store.series().await.unwrap(),
            store.fetch_log(100).await.unwrap(),
            store
                .news(Dataset::Market, &aapl, days(-100, 1000), 100)
                .await
                .unwrap(),
            store
                .news_coverage(Dataset::Market, &key.symbol)
                .await
                .unwrap(),
            counts(store.stats().await.unwrap()),
        )
    )
}

fn counts(s: StoreStats) -> [u64; 5] {
    [s.series, s.bars, s.quotes, s.articles, s.fetches]
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
    let before = everything(&store).await;
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
                key,
                covered: days(10, 40),
                bars: &bars,
                replace,
                provider: &fresh_provider,
                fetched_at: Timestamp::now(),
            })
            .await
            .unwrap_err();
        assert_failed(&err);
        assert_eq!(everything(&store).await, before, "replace: {replace}");
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
    let before = everything(&store).await;
    sabotage(
        &path,
        "CREATE TRIGGER fail BEFORE INSERT ON article_symbols WHEN NEW.symbol = 'FAIL' \
         BEGIN SELECT RAISE(ABORT, 'forced failure'); END;",
    );
    let article = |id: &str, symbols: &[&str]| NewsArticle {
        id: id.to_owned(),
        headline: "h".to_owned(),
        summary: String::new(),
        url: "https://news.invalid/1".to_owned(),
        source: "s".to_owned(),
        published_at: day(1),
        symbols: symbols.iter().map(|s| Symbol::parse(s).unwrap()).collect(),
        author: None,
        image: None,
        sentiment: None,
        provenance: Provenance::new(provider(), Timestamp::now()),
    };
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
    assert_eq!(everything(&store).await, before);
}
