//! A write that fails part-way keeps nothing. The failure is forced with a trigger another
//! connection installs, so it strikes after some rows of the write are already in.

use stockdata_domain::{NewsArticle, Provenance, ProviderId, Symbol, Timestamp};
use stockdata_ports::{BarsWrite, Dataset, NewsWrite, Store, StoreError, StoreStats};
use stockdata_store_postgres::PostgresStore;
use stockdata_store_postgres::testing::TestServer;

use crate::support::{connect, daily, database, day, days, provider, some_bars, write_days};

async fn everything(store: &PostgresStore) -> String {
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
    let before = everything(&store).await;
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
    let before = everything(&store).await;
    sabotage(&url, "article_symbols", "NEW.symbol = 'FAIL'").await;
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
