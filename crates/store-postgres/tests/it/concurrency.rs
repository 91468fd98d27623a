//! Several writers at once: tasks sharing one store's pool, and stores of their own (standing
//! in for hosts), on one database.

use std::collections::BTreeMap;
use std::sync::Arc;

use stockdata_domain::{Bar, Decimal, Timestamp};
use stockdata_ports::Store;
use stockdata_ports::conformance::fixtures::{daily, day, days, some_bars, write};
use stockdata_store_postgres::testing::TestServer;
use stockdata_store_postgres::{PostgresOptions, PostgresStore, SCHEMA_VERSION};

use crate::support::{connect, database, secret};

/// Counts rows of `table` in the store's schema.
async fn count(server: &TestServer, db: &str, sql: &str) -> i64 {
    let client = server.client(db).await;
    client.query_one(sql, &[]).await.unwrap().get(0)
}

fn db_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connects_racing_on_an_empty_database_migrate_once() {
    let Some(url) = database().await else { return };
    let server = TestServer::shared().unwrap();
    let handles: Vec<_> = (0..6)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move {
                PostgresStore::connect(&secret(&url), &PostgresOptions::default()).await
            })
        })
        .collect();
    for h in handles {
        h.await.unwrap().unwrap();
    }
    let db = db_name(&url);
    let versions = count(
        server,
        db,
        "SELECT count(*) FROM stockdata.stockdata_schema",
    )
    .await;
    assert_eq!(versions, i64::from(SCHEMA_VERSION));
    let schemas = count(
        server,
        db,
        "SELECT count(*) FROM pg_namespace WHERE nspname = 'stockdata'",
    )
    .await;
    assert_eq!(schemas, 1);
}

/// One write of the contested series: days `from..from + 12` of AAPL, every price telling the
/// writer and round apart, fetched at an instant that names the write.
fn contested(writer: i64, round: i64, from: i64) -> (Timestamp, Vec<Bar>) {
    let fetched_at = Timestamp::new(1_800_000_000 + writer * 1_000 + round, 0).unwrap();
    let mut bars = some_bars(&daily("AAPL"), from, from + 12);
    for b in &mut bars {
        b.close = Decimal::new(writer * 10_000 + round, 2);
        b.provenance.fetched_at = fetched_at;
    }
    (fetched_at, bars)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_and_hosts_writing_at_once_leave_each_bar_once_last_commit_winning() {
    let Some(url) = database().await else { return };
    let server = TestServer::shared().unwrap();
    const ROUNDS: i64 = 12;
    const TASKS: i64 = 3;
    // Two hosts (two stores, two pools), each writing from several tasks at once.
    let hosts = [Arc::new(connect(&url).await), Arc::new(connect(&url).await)];
    let mut handles = Vec::new();
    for (h, host) in hosts.iter().enumerate() {
        for t in 0..TASKS {
            let store = Arc::clone(host);
            let writer = i64::try_from(h).unwrap() * TASKS + t;
            handles.push(tokio::spawn(async move {
                let own = daily(&format!("OWN{writer}"));
                for round in 0..ROUNDS {
                    // Overlapping spans of the shared series, walked in opposite directions.
                    let from = if writer % 2 == 0 {
                        round * 5
                    } else {
                        (ROUNDS - 1 - round) * 5
                    };
                    let (fetched_at, bars) = contested(writer, round, from);
                    let key = daily("AAPL");
                    write(&*store, &key, days(from, from + 12), &bars, fetched_at).await;
                    let bars = some_bars(&own, round * 10, round * 10 + 10);
                    write(
                        &*store,
                        &own,
                        days(round * 10, round * 10 + 10),
                        &bars,
                        fetched_at,
                    )
                    .await;
                }
            }));
        }
    }
    for h in handles {
        h.await.unwrap();
    }

    // Writes to one series apply one after the other, each logged while it holds the series:
    // replaying them in log order must give exactly what is stored.
    let client = server.client(db_name(&url)).await;
    let order = client
        .query(
            "SELECT fetched FROM stockdata.fetch_log WHERE symbol = 'AAPL' ORDER BY id",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        i64::try_from(order.len()).unwrap(),
        2 * TASKS * ROUNDS,
        "one log line per write"
    );
    let mut model: BTreeMap<Timestamp, Bar> = BTreeMap::new();
    for row in order {
        let seconds: i64 = row.get(0);
        let n = seconds - 1_800_000_000;
        let (writer, round) = (n / 1_000, n % 1_000);
        let from = if writer % 2 == 0 {
            round * 5
        } else {
            (ROUNDS - 1 - round) * 5
        };
        for b in contested(writer, round, from).1 {
            model.insert(b.start, b);
        }
    }
    let store = connect(&url).await;
    let last = (ROUNDS - 1) * 5 + 12;
    let stored = store.bars(&daily("AAPL"), days(-10, 1_000)).await.unwrap();
    let want: Vec<Bar> = model.into_values().collect();
    assert_eq!(stored.len(), usize::try_from(last).unwrap());
    assert_eq!(stored, want, "each bar as the last committed write left it");
    assert_eq!(
        store.coverage(&daily("AAPL")).await.unwrap(),
        [days(0, last)]
    );
    for writer in 0..2 * TASKS {
        let own = daily(&format!("OWN{writer}"));
        let bars = store.bars(&own, days(-1, 1_000)).await.unwrap();
        assert_eq!(bars, some_bars(&own, 0, ROUNDS * 10));
        assert_eq!(store.coverage(&own).await.unwrap(), [days(0, ROUNDS * 10)]);
    }
    let db = db_name(&url);
    let rows = count(server, db, "SELECT count(*) FROM stockdata.bars").await;
    assert_eq!(rows, last + 2 * TASKS * ROUNDS * 10);
    let series = count(server, db, "SELECT count(*) FROM stockdata.series").await;
    assert_eq!(series, 1 + 2 * TASKS);
    let spans = count(server, db, "SELECT count(*) FROM stockdata.bar_coverage").await;
    assert_eq!(spans, 1 + 2 * TASKS);
    let providers = count(server, db, "SELECT count(*) FROM stockdata.providers").await;
    assert_eq!(providers, 1);
    // One provenance per contested write (each fetched at its own instant) and one shared by
    // every other bar.
    let provenance = count(server, db, "SELECT count(*) FROM stockdata.provenance").await;
    assert_eq!(provenance, 2 * TASKS * ROUNDS + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn news_and_quotes_written_at_once_merge_coverage_and_keep_one_row_each() {
    use stockdata_domain::{NewsArticle, Provenance, ProviderId, Quote, Symbol};
    use stockdata_ports::{Dataset, NewsWrite};

    let Some(url) = database().await else { return };
    let hosts = [connect(&url).await, connect(&url).await];
    let symbols = ["AAPL", "MSFT", "GOOG", "TSLA"];
    let mut handles = Vec::new();
    for (h, host) in hosts.iter().enumerate() {
        for t in 0..3_usize {
            let store = host.clone();
            let writer = h * 3 + t;
            handles.push(tokio::spawn(async move {
                for round in 0..10_usize {
                    // Each write about two or three symbols, in an order of its own.
                    let mut about: Vec<Symbol> = (0..2 + (writer + round) % 2)
                        .map(|i| Symbol::parse(symbols[(writer + round + i) % 4]).unwrap())
                        .collect();
                    if writer % 2 == 1 {
                        about.reverse();
                    }
                    let from = i64::try_from((writer * 7 + round * 3) % 40).unwrap();
                    let articles: Vec<NewsArticle> = (0..3)
                        .map(|i| NewsArticle {
                            id: format!("a:{}", (writer + round + i) % 12),
                            headline: format!("by {writer} in round {round}"),
                            summary: String::new(),
                            url: "https://news.invalid/".to_owned(),
                            source: "Wire".to_owned(),
                            published_at: day(from),
                            symbols: about.clone(),
                            author: None,
                            image: None,
                            sentiment: None,
                            provenance: Provenance::new(
                                ProviderId::from_static("finnhub"),
                                Timestamp::now(),
                            ),
                        })
                        .collect();
                    store
                        .write_news(NewsWrite {
                            dataset: Dataset::Market,
                            symbols: &about,
                            covered: days(from, from + 5),
                            articles: &articles,
                            provider: &ProviderId::from_static("finnhub"),
                            fetched_at: Timestamp::now(),
                        })
                        .await
                        .unwrap();
                    let quotes: Vec<Quote> = about
                        .iter()
                        .map(|s| Quote {
                            symbol: s.clone(),
                            price: Decimal::new(i64::try_from(writer * 100 + round).unwrap(), 2),
                            bid: None,
                            bid_size: None,
                            ask: None,
                            ask_size: None,
                            open: None,
                            high: None,
                            low: None,
                            previous_close: None,
                            change: None,
                            change_percent: None,
                            volume: None,
                            as_of: Timestamp::now(),
                            provenance: Provenance::new(
                                ProviderId::from_static("finnhub"),
                                Timestamp::now(),
                            ),
                        })
                        .collect();
                    store.write_quotes(Dataset::Market, &quotes).await.unwrap();
                }
            }));
        }
    }
    for h in handles {
        h.await.unwrap();
    }
    let server = TestServer::shared().unwrap();
    let db = db_name(&url);
    // Every symbol's coverage is merged: spans sorted, neither overlapping nor touching.
    let store = connect(&url).await;
    for s in symbols {
        let spans = store
            .news_coverage(Dataset::Market, &Symbol::parse(s).unwrap())
            .await
            .unwrap();
        assert!(!spans.is_empty(), "{s}");
        for pair in spans.windows(2) {
            assert!(pair[0].end() < pair[1].start(), "{s}: {spans:?}");
        }
    }
    store.vacuum().await.unwrap();
    let articles = count(server, db, "SELECT count(*) FROM stockdata.articles").await;
    assert_eq!(articles, 12);
    let quotes = count(server, db, "SELECT count(*) FROM stockdata.quotes").await;
    assert_eq!(quotes, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vacuum_in_the_middle_of_a_write_never_deletes_the_provenance_it_reuses() {
    let Some(url) = database().await else { return };
    let server = TestServer::shared().unwrap();
    let writer = connect(&url).await;
    let janitor = connect(&url).await;
    let key = daily("AAPL");
    let fetch = |n: i64| {
        let fetched_at = Timestamp::new(1_800_000_000 + n, 0).unwrap();
        let mut bars = some_bars(&key, 0, 50);
        for b in &mut bars {
            b.provenance.fetched_at = fetched_at;
        }
        (fetched_at, bars)
    };
    // Fetch 0, then fetch 1 over it: fetch 0's provenance row is left with no bar.
    for n in [0, 1] {
        let (at, bars) = fetch(n);
        write(&writer, &key, days(0, 50), &bars, at).await;
    }
    // Writes of bars now stall for a moment after their provenance is settled.
    server
        .execute(
            db_name(&url),
            "CREATE FUNCTION public.stall() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN PERFORM pg_sleep(0.5); RETURN NULL; END $$; \
             CREATE TRIGGER stall BEFORE INSERT ON stockdata.bars \
             FOR EACH STATEMENT EXECUTE FUNCTION public.stall()",
        )
        .await;
    // Fetch 0 again takes its old provenance row back, and vacuum runs meanwhile.
    let (at, bars) = fetch(0);
    let rewrite = {
        let (writer, key, bars) = (writer.clone(), key.clone(), bars.clone());
        tokio::spawn(async move { write(&writer, &key, days(0, 50), &bars, at).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    janitor.vacuum().await.unwrap();
    rewrite.await.unwrap();
    assert_eq!(writer.bars(&key, days(0, 50)).await.unwrap(), bars);
    // Fetch 1's row is the one left with no bar; the next vacuum deletes it.
    janitor.vacuum().await.unwrap();
    let rows = count(
        server,
        db_name(&url),
        "SELECT count(*) FROM stockdata.provenance",
    )
    .await;
    assert_eq!(rows, 1);
}
