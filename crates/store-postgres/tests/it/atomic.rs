//! A write that fails part-way keeps nothing. The failure is forced with a trigger another
//! connection installs, so it strikes after some rows of the write are already in.

use stockdata_domain::{ProviderId, Timestamp};
use stockdata_ports::conformance::fixtures::{
    article, bars_write, daily, day, days, provider, snapshot, some_bars, write_days,
};
use stockdata_ports::{BarsWrite, Dataset, NewsWrite, Store, StoreError};
use stockdata_store_postgres::testing::TestServer;

use crate::support::{connect, database};

fn assert_failed(err: &StoreError) {
    assert!(matches!(err, StoreError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("forced failure"), "{err}");
}

/// Installs a trigger on `table` raising when `condition` holds for the new row.
async fn sabotage(url: &str, table: &str, condition: &str) {
    let server = TestServer::shared().unwrap();
    server
        .execute(
            url.rsplit('/').next().unwrap(),
            &format!(
                "CREATE FUNCTION public.fail() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN IF {condition} THEN RAISE EXCEPTION 'forced failure'; END IF; \
                 RETURN NEW; END $$; \
                 CREATE TRIGGER fail BEFORE INSERT ON stockdata.{table} \
                 FOR EACH ROW EXECUTE FUNCTION public.fail()"
            ),
        )
        .await;
}

#[tokio::test]
async fn a_failed_bar_write_keeps_nothing() {
    let Some(url) = database().await else { return };
    let store = connect(&url).await;
    write_days(&store, &daily("AAPL"), 0, 10).await;
    let before = snapshot(&store).await;
    let when = day(25).as_second();
    sabotage(&url, "bars", &format!("NEW.start = {when}")).await;
    let key = daily("AAPL");
    let other = daily("MSFT");
    let fresh_provider = ProviderId::from_static("new_provider");
    for (key, replace) in [(&key, false), (&key, true), (&other, false)] {
        // Days 20..30: the statement fails at day 25.
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
    let server = TestServer::shared().unwrap();
    server
        .execute(
            url.rsplit('/').next().unwrap(),
            "DROP TRIGGER fail ON stockdata.bars",
        )
        .await;
    write_days(&store, &daily("AAPL"), 20, 30).await;
    let covered = store.coverage(&daily("AAPL")).await.unwrap();
    assert_eq!(covered, [days(0, 10), days(20, 30)]);
}

#[tokio::test]
async fn a_failed_news_write_keeps_nothing() {
    let Some(url) = database().await else { return };
    let store = connect(&url).await;
    let before = snapshot(&store).await;
    sabotage(&url, "article_symbols", "NEW.symbol = 'FAIL'").await;
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
