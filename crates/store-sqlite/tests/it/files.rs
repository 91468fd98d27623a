//! What opening does with whatever lies at the path: our store is created or reopened; anything
//! else is refused and left exactly as it was, byte for byte, with no file added beside it.

use std::fs;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use stockdata_ports::conformance::fixtures::{daily, days, some_bars, write_days};
use stockdata_ports::{Store, StoreError};
use stockdata_store_sqlite::{APPLICATION_ID, SCHEMA_VERSION, SqliteOptions, SqliteStore};
use tempfile::TempDir;

fn open(path: &Path) -> Result<SqliteStore, StoreError> {
    SqliteStore::open(path, &SqliteOptions::default())
}

/// Every file in `dir` with a digest of its bytes (FNV-1a 64), sorted by name.
fn snapshot(dir: &Path) -> Vec<(String, u64, String)> {
    let mut out: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let bytes = fs::read(e.path()).unwrap_or_default();
            let digest = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
            });
            let len = u64::try_from(bytes.len()).unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                len,
                format!("{digest:016x}"),
            )
        })
        .collect();
    out.sort();
    out
}

/// Opens `path` and expects a refusal that changed nothing in its folder.
fn refused_untouched(path: &Path) -> StoreError {
    let dir = path.parent().unwrap();
    let before = snapshot(dir);
    let err = open(path).unwrap_err();
    assert_eq!(
        snapshot(dir),
        before,
        "the folder changed while refusing: {err}"
    );
    err
}

fn fresh() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    (dir, path)
}

fn assert_foreign(err: &StoreError) {
    assert!(matches!(err, StoreError::Foreign { .. }), "{err:?}");
    assert!(err.to_string().contains("left untouched"), "{err}");
}

/// A store on disk with some bars, closed.
async fn written_store(path: &Path) {
    let store = open(path).unwrap();
    write_days(&store, &daily("AAPL"), 0, 300).await;
}

#[tokio::test]
async fn creates_missing_folders_then_reopens_with_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a").join("b").join("store.db");
    written_store(&path).await;
    let store = open(&path).unwrap();
    let bars = store.bars(&daily("AAPL"), days(0, 300)).await.unwrap();
    assert_eq!(bars, some_bars(&daily("AAPL"), 0, 300));
    let stats = store.stats().await.unwrap();
    assert_eq!(stats.schema_version, SCHEMA_VERSION);
    assert_eq!(stats.location, path.display().to_string());
    assert!(stats.bytes > 0);
    drop(store);
    let raw = Connection::open(&path).unwrap();
    let id: i32 = raw
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .unwrap();
    assert_eq!(id, APPLICATION_ID);
    let mode: String = raw
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn an_empty_file_or_empty_database_becomes_a_store() {
    let (_dir, path) = fresh();
    fs::write(&path, b"").unwrap();
    written_store(&path).await;

    let (_dir, path) = fresh();
    let raw = Connection::open(&path).unwrap();
    raw.execute_batch("CREATE TABLE t (x); DROP TABLE t;")
        .unwrap();
    drop(raw);
    assert!(fs::metadata(&path).unwrap().len() > 0);
    written_store(&path).await;
}

#[test]
fn text_and_random_bytes_are_foreign() {
    let mut random = Vec::with_capacity(1 << 16);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while random.len() < 1 << 16 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        random.extend_from_slice(&x.to_le_bytes());
    }
    let samples: [&[u8]; 4] = [
        b"my diary\nDear diary, today I bought AAPL.\n",
        &random,
        b"SQLite",
        b"SQLite format 2\0 and then some more bytes to pass one hundred characters of text...",
    ];
    for bytes in samples {
        let (_dir, path) = fresh();
        fs::write(&path, bytes).unwrap();
        assert_foreign(&refused_untouched(&path));
    }
}

#[test]
fn a_directory_is_foreign() {
    let (_dir, path) = fresh();
    fs::create_dir(&path).unwrap();
    assert_foreign(&refused_untouched(&path));
}

#[test]
fn another_programs_database_is_foreign() {
    let setups = [
        // Another application id, rollback journal.
        "PRAGMA application_id = 42; CREATE TABLE notes (body TEXT); \
         INSERT INTO notes VALUES ('keep me');",
        // No application id but tables, in WAL mode.
        "PRAGMA journal_mode = WAL; CREATE TABLE bars (x); INSERT INTO bars VALUES (1);",
        // Only a user_version.
        "PRAGMA user_version = 7;",
        // Our own table names do not make it ours.
        "CREATE TABLE series (id INTEGER PRIMARY KEY); CREATE TABLE providers (id);",
    ];
    for setup in setups {
        let (_dir, path) = fresh();
        let raw = Connection::open(&path).unwrap();
        raw.execute_batch(setup).unwrap();
        drop(raw);
        let err = refused_untouched(&path);
        assert_foreign(&err);
        assert!(err.to_string().contains("another program"), "{err}");
    }
}

#[tokio::test]
async fn our_file_at_an_older_version_is_migrated_up() {
    // Version 0 of our file: the application id, nothing else yet.
    let (_dir, path) = fresh();
    let raw = Connection::open(&path).unwrap();
    raw.pragma_update(None, "application_id", APPLICATION_ID)
        .unwrap();
    drop(raw);
    written_store(&path).await;
    let store = open(&path).unwrap();
    assert_eq!(store.stats().await.unwrap().schema_version, SCHEMA_VERSION);
    assert_eq!(store.series().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_newer_store_is_too_new_and_untouched() {
    let (_dir, path) = fresh();
    written_store(&path).await;
    let raw = Connection::open(&path).unwrap();
    raw.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(raw);
    let err = refused_untouched(&path);
    assert_eq!(
        err,
        StoreError::TooNew {
            path: path.display().to_string(),
            found: SCHEMA_VERSION + 1,
            known: SCHEMA_VERSION,
        }
    );
}

/// Overwrites `len` bytes of the file at `offset` with a pattern.
fn damage(path: &Path, offset: usize, len: usize) {
    let mut bytes = fs::read(path).unwrap();
    for (i, b) in bytes.iter_mut().skip(offset).take(len).enumerate() {
        *b = u8::try_from(i % 251).unwrap() ^ 0xA5;
    }
    fs::write(path, bytes).unwrap();
}

#[tokio::test]
async fn a_damaged_header_or_schema_is_corrupt() {
    // The header after the magic string (page size, format numbers), then the schema page.
    for (offset, len) in [(16, 84), (100, 3996)] {
        let (_dir, path) = fresh();
        written_store(&path).await;
        damage(&path, offset, len);
        let err = open(&path).unwrap_err();
        assert!(
            matches!(err, StoreError::Corrupt { .. }),
            "{offset}: {err:?}"
        );
        assert!(err.to_string().contains("damaged"), "{err}");
    }
}

#[tokio::test]
async fn damaged_pages_are_reported_never_a_panic() {
    let (_dir, path) = fresh();
    {
        let store = open(&path).unwrap();
        for (i, symbol) in ["AAPL", "MSFT", "GOOG", "AMZN"].iter().enumerate() {
            let start = i64::try_from(i).unwrap() * 10;
            write_days(&store, &daily(symbol), start, start + 2000).await;
        }
    }
    let len = usize::try_from(fs::metadata(&path).unwrap().len()).unwrap();
    assert!(len > 20 * 4096, "{len}");
    // Pages in the middle of the bars.
    damage(&path, len / 2, 3 * 4096);
    let store = match open(&path) {
        Ok(store) => store,
        Err(err) => {
            assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
            return;
        }
    };
    let mut reads = Vec::new();
    for symbol in ["AAPL", "MSFT", "GOOG", "AMZN"] {
        reads.push(
            store
                .bars(&daily(symbol), days(-100, 5000))
                .await
                .map(|b| b.len()),
        );
    }
    for read in &reads {
        if let Err(err) = read {
            assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
        }
    }
    let err = store.vacuum().await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
}

#[tokio::test]
async fn a_truncated_store_is_corrupt() {
    let (_dir, path) = fresh();
    {
        let store = open(&path).unwrap();
        write_days(&store, &daily("AAPL"), 0, 5000).await;
    }
    let bytes = fs::read(&path).unwrap();
    fs::write(&path, bytes.get(..bytes.len() / 2).unwrap()).unwrap();
    let outcome = match open(&path) {
        Err(err) => err,
        Ok(store) => match store.bars(&daily("AAPL"), days(0, 5000)).await {
            Err(err) => err,
            Ok(_) => store.vacuum().await.unwrap_err(),
        },
    };
    assert!(matches!(outcome, StoreError::Corrupt { .. }), "{outcome:?}");
}

/// A store of ours whose last writes sit only in its `-wal` (the process died before a
/// checkpoint) opens with every write, while the same shape from another program is refused
/// byte-identical (see the app's store_cli tests for the foreign case end to end).
#[tokio::test]
async fn our_store_with_its_data_only_in_the_wal_opens_whole() {
    let (dir, path) = fresh();
    {
        let store = open(&path).unwrap();
        write_days(&store, &daily("AAPL"), 0, 300).await;
        // Leave the -wal as a killed process would: the connection is never closed, so no
        // checkpoint folds it into the main file.
        std::mem::forget(store);
    }
    // A copy of the three files, as another process would find them after the crash.
    let crashed = dir.path().join("crashed");
    fs::create_dir(&crashed).unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let from = PathBuf::from(format!("{}{suffix}", path.display()));
        if from.exists() {
            fs::copy(&from, crashed.join(format!("store.db{suffix}"))).unwrap();
        }
    }
    let wal = crashed.join("store.db-wal");
    assert!(
        fs::metadata(&wal).unwrap().len() > 0,
        "the writes are in the -wal"
    );
    let store = open(&crashed.join("store.db")).unwrap();
    let bars = store.bars(&daily("AAPL"), days(0, 300)).await.unwrap();
    assert_eq!(bars, some_bars(&daily("AAPL"), 0, 300));
}

/// A version-1 file (before per-ticker sentiment) holding one scored article: migrated, the
/// article reads back with its overall sentiment and no per-ticker rows, and a rewrite of it
/// then keeps per-ticker sentiment.
#[tokio::test]
async fn a_version_1_file_gains_per_ticker_sentiment() {
    use stockdata_domain::{Sentiment, SentimentLabel, Symbol, TickerSentiment};
    use stockdata_ports::conformance::fixtures::{article, day, provider};
    use stockdata_ports::{Dataset, NewsWrite};

    // 0.187544 is stored as mantissa * 32 + scale.
    let (_dir, path) = fresh();
    let raw = Connection::open(&path).unwrap();
    raw.execute_batch(include_str!("../../migrations/0001_init.sql"))
        .unwrap();
    raw.pragma_update(None, "application_id", APPLICATION_ID)
        .unwrap();
    raw.pragma_update(None, "user_version", 1).unwrap();
    let published = day(1).as_second();
    raw.execute_batch(&format!(
        "INSERT INTO providers (id, name) VALUES (1, '{provider}');
         INSERT INTO articles (seq, dataset, id, headline, summary, url, source, published,
                               published_ns, symbols, sentiment_score, sentiment_label,
                               provider, fetched, fetched_ns)
         VALUES (1, 'market', 'p:1', 'h', '', 'u', 's', {published}, 0, 'AAPL',
                 6001414, 'somewhat_bullish', 1, 1750000000, 0);
         INSERT INTO article_symbols VALUES ('market', 'AAPL', {published}, 0, 1);",
        provider = provider(),
    ))
    .unwrap();
    drop(raw);

    let store = open(&path).unwrap();
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

    let mut a = article("p:1", &["AAPL"]);
    a.sentiment = Some(Sentiment {
        score: "0.187544".parse().unwrap(),
        label: SentimentLabel::SomewhatBullish,
        tickers: vec![TickerSentiment {
            symbol: aapl[0].clone(),
            relevance: "0.922387".parse().unwrap(),
            score: "-0.000".parse().unwrap(),
            label: SentimentLabel::Neutral,
        }],
    });
    let write = NewsWrite {
        dataset: Dataset::Market,
        symbols: &aapl,
        covered: days(0, 2),
        articles: std::slice::from_ref(&a),
        provider: &provider(),
        fetched_at: a.provenance.fetched_at,
    };
    store.write_news(write).await.unwrap();
    let got = store
        .news(Dataset::Market, &aapl, days(0, 2), 10)
        .await
        .unwrap();
    assert_eq!(format!("{got:?}"), format!("{:?}", [a]));
}
