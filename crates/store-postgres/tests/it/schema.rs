//! What connecting does with whatever the database holds: our schema is created, adopted or
//! migrated; anything else is refused and left exactly as it was.

use std::time::Duration;

use stockdata_ports::conformance::fixtures::{daily, days, some_bars, write_days};
use stockdata_ports::{Store, StoreError};
use stockdata_store_postgres::testing::TestServer;
use stockdata_store_postgres::{PostgresOptions, PostgresStore, SCHEMA_VERSION};

use crate::support::{connect, database, secret};

fn db_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap()
}

async fn try_connect(url: &str) -> Result<PostgresStore, StoreError> {
    PostgresStore::connect(&secret(url), &PostgresOptions::default()).await
}

/// Every table and view of the database with its rows, as text: what "untouched" compares.
async fn snapshot(server: &TestServer, db: &str) -> Vec<String> {
    let client = server.client(db).await;
    let tables = client
        .query(
            "SELECT format('%I.%I', table_schema, table_name) FROM information_schema.tables \
             WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    let mut out = Vec::new();
    for t in tables {
        let name: String = t.get(0);
        let rows = client
            .query(
                &format!(
                    "SELECT coalesce(string_agg(x::text, ';' ORDER BY x::text), '') FROM {name} x"
                ),
                &[],
            )
            .await
            .unwrap();
        let rows: String = rows[0].get(0);
        out.push(format!("{name}: {rows}"));
    }
    out
}

fn assert_foreign(err: &StoreError, mentions: &str) {
    assert!(matches!(err, StoreError::Foreign { .. }), "{err:?}");
    assert!(err.to_string().contains("left untouched"), "{err}");
    assert!(err.to_string().contains(mentions), "{err}");
}

#[tokio::test]
async fn a_new_store_is_created_then_reopened_with_its_data() {
    let Some(url) = database().await else { return };
    let store = connect(&url).await;
    write_days(&store, &daily("AAPL"), 0, 300).await;
    drop(store);
    let store = connect(&url).await;
    let bars = store.bars(&daily("AAPL"), days(0, 300)).await.unwrap();
    assert_eq!(bars, some_bars(&daily("AAPL"), 0, 300));
    let stats = store.stats().await.unwrap();
    assert_eq!(stats.schema_version, SCHEMA_VERSION);
    assert!(stats.bytes > 0);
    assert!(
        stats
            .location
            .ends_with(&format!("/{} (schema stockdata)", db_name(&url)))
    );
    assert_eq!((stats.series, stats.bars, stats.fetches), (1, 300, 1));
}

#[tokio::test]
async fn a_newer_store_is_too_new_and_left_untouched() {
    let Some(url) = database().await else { return };
    let server = TestServer::shared().unwrap();
    write_days(&connect(&url).await, &daily("AAPL"), 0, 10).await;
    let future = SCHEMA_VERSION + 1;
    server
        .execute(
            db_name(&url),
            &format!(
                "INSERT INTO stockdata.stockdata_schema (version, description) \
                 VALUES ({future}, '{future:04}_from_the_future')"
            ),
        )
        .await;
    let before = snapshot(server, db_name(&url)).await;
    let err = try_connect(&url).await.unwrap_err();
    assert_eq!(
        err,
        StoreError::TooNew {
            path: err_path(&err),
            found: future,
            known: SCHEMA_VERSION,
        }
    );
    // A store built without connecting says so on its first operation.
    let lazy = PostgresStore::connect_lazy(&secret(&url), &PostgresOptions::default()).unwrap();
    let err = lazy.series().await.unwrap_err();
    assert!(matches!(err, StoreError::TooNew { .. }), "{err:?}");
    assert_eq!(snapshot(server, db_name(&url)).await, before);
}

fn err_path(err: &StoreError) -> String {
    match err {
        StoreError::Foreign { path, .. }
        | StoreError::TooNew { path, .. }
        | StoreError::Corrupt { path, .. }
        | StoreError::Busy { path, .. }
        | StoreError::Io { path, .. } => path.clone(),
    }
}

#[tokio::test]
async fn a_schema_of_another_program_is_foreign_and_left_untouched() {
    let Some(url) = database().await else { return };
    let server = TestServer::shared().unwrap();
    let db = db_name(&url);
    server
        .execute(
            db,
            "CREATE SCHEMA stockdata; \
             CREATE TABLE stockdata.accounts (id integer, owner text); \
             INSERT INTO stockdata.accounts VALUES (1, 'someone else')",
        )
        .await;
    let before = snapshot(server, db).await;
    assert_foreign(&try_connect(&url).await.unwrap_err(), "accounts");
    assert_eq!(snapshot(server, db).await, before);

    // A version table that is not ours is refused too.
    let Some(url) = database().await else { return };
    let db = db_name(&url);
    server
        .execute(
            db,
            "CREATE SCHEMA stockdata; \
             CREATE TABLE stockdata.stockdata_schema (version text, owner text); \
             INSERT INTO stockdata.stockdata_schema VALUES ('v9', 'another program')",
        )
        .await;
    let before = snapshot(server, db).await;
    assert_foreign(&try_connect(&url).await.unwrap_err(), "not stockdata's");
    assert_eq!(snapshot(server, db).await, before);
}

#[tokio::test]
async fn other_schemas_are_neither_read_nor_written() {
    let Some(url) = database().await else { return };
    let server = TestServer::shared().unwrap();
    let db = db_name(&url);
    // Another program's tables, some named like ours, in public and a schema of its own.
    server
        .execute(
            db,
            "CREATE TABLE public.bars (x integer); INSERT INTO public.bars VALUES (42); \
             CREATE SCHEMA other; CREATE TABLE other.series (y text); \
             INSERT INTO other.series VALUES ('theirs')",
        )
        .await;
    let theirs = snapshot(server, db).await;
    let store = connect(&url).await;
    write_days(&store, &daily("AAPL"), 0, 10).await;
    store.vacuum().await.unwrap();
    let after = snapshot(server, db).await;
    let untouched: Vec<&String> = after
        .iter()
        .filter(|t| !t.starts_with("stockdata."))
        .collect();
    assert_eq!(untouched, theirs.iter().collect::<Vec<_>>());
    // And an empty schema made ready for the store (by an administrator) is adopted.
    let Some(url) = database().await else { return };
    server
        .execute(db_name(&url), "CREATE SCHEMA stockdata")
        .await;
    write_days(&connect(&url).await, &daily("AAPL"), 0, 10).await;
}

#[tokio::test]
async fn stores_in_two_schemas_of_one_database_are_apart() {
    let Some(url) = database().await else { return };
    let open = async |schema: &str| {
        let options = PostgresOptions::default().with_schema(schema);
        PostgresStore::connect(&secret(&url), &options)
            .await
            .unwrap()
    };
    let (a, b) = (open("alpha").await, open("beta").await);
    write_days(&a, &daily("AAPL"), 0, 10).await;
    assert_eq!(b.bars(&daily("AAPL"), days(0, 10)).await.unwrap(), []);
    assert_eq!(b.stats().await.unwrap().bars, 0);
    assert_eq!(a.stats().await.unwrap().bars, 10);
}

#[tokio::test]
async fn a_role_that_may_not_create_the_schema_is_told_what_it_needs() {
    let Some(url) = database().await else { return };
    let server = TestServer::shared().unwrap();
    let db = db_name(&url);
    server
        .execute(
            db,
            "DO $$ BEGIN CREATE ROLE reader LOGIN; \
             EXCEPTION WHEN duplicate_object THEN NULL; END $$",
        )
        .await;
    let as_reader = url.replace("postgres://postgres@", "postgres://reader:hunter2@");
    let err = try_connect(&as_reader).await.unwrap_err();
    assert!(matches!(err, StoreError::Io { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("permission denied"), "{text}");
    assert!(text.contains("CREATE on the database"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("postgres://reader@127.0.0.1"), "{text}");
}

#[tokio::test]
async fn an_unreachable_server_is_an_io_error_naming_it_without_the_password() {
    let Some(url) = database().await else { return };
    // A port nobody listens on.
    let port = std::net::TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _ = url;
    let dead = format!("postgres://trader:hunter2@127.0.0.1:{port}/market");
    let options = PostgresOptions::default().with_connect_timeout(Duration::from_secs(2));
    let err = PostgresStore::connect(&secret(&dead), &options)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Io { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("postgres://trader@127.0.0.1:{port}/market")),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");
}

#[tokio::test]
async fn tls_is_not_in_this_build_and_a_url_requiring_it_says_so() {
    let Some(url) = database().await else { return };
    let err = try_connect(&format!("{url}?sslmode=require"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("sslmode=require"), "{err}");
    // The default, `prefer`, connects in plain text.
    connect(&format!("{url}?sslmode=prefer")).await;
}

/// A version-1 schema (before per-ticker sentiment) holding one scored article: migrated on
/// connect, the article reads back with its overall sentiment and no per-ticker scores.
#[tokio::test]
async fn a_version_1_store_is_migrated_to_per_ticker_sentiment() {
    use stockdata_domain::{SentimentLabel, Symbol};
    use stockdata_ports::Dataset;
    use stockdata_ports::conformance::fixtures::{day, provider};

    let Some(url) = database().await else { return };
    let server = TestServer::shared().unwrap();
    let published = day(1).as_second();
    server
        .execute(
            db_name(&url),
            &format!(
                "CREATE SCHEMA stockdata; SET search_path TO stockdata, pg_catalog; {init}
                 INSERT INTO stockdata_schema (version, description) VALUES (1, '0001_init');
                 INSERT INTO providers (id, name) VALUES (1, '{provider}');
                 INSERT INTO articles (seq, dataset, id, headline, summary, url, source,
                                       published, published_ns, symbols, sentiment_score,
                                       sentiment_label, provider, fetched, fetched_ns)
                 VALUES (1, 'market', 'p:1', 'h', '', 'u', 's', {published}, 0, '{{AAPL}}',
                         0.187544, 'somewhat_bullish', 1, 1750000000, 0);
                 INSERT INTO article_symbols VALUES ('market', 'AAPL', {published}, 0, 1);",
                init = include_str!("../../migrations/0001_init.sql"),
                provider = provider(),
            ),
        )
        .await;
    let store = connect(&url).await;
    assert_eq!(store.stats().await.unwrap().schema_version, SCHEMA_VERSION);
    let aapl = [Symbol::parse("AAPL").unwrap()];
    let got = store
        .news(Dataset::Market, &aapl, days(0, 2), 10)
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    let sentiment = got[0].sentiment.as_ref().unwrap();
    assert_eq!(sentiment.score.to_string(), "0.187544");
    assert_eq!(sentiment.label, SentimentLabel::SomewhatBullish);
    assert_eq!(sentiment.tickers, []);
}
