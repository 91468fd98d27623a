//! The port's conformance suite, on every way the store can be built.

use std::sync::atomic::{AtomicUsize, Ordering};

use stockdata_ports::conformance;
use stockdata_store_sqlite::{SqliteOptions, SqliteStore};

#[tokio::test]
async fn in_memory() {
    conformance::run(|| SqliteStore::in_memory().unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_file() {
    let dir = tempfile::tempdir().unwrap();
    let n = AtomicUsize::new(0);
    conformance::run(|| {
        let path = dir
            .path()
            .join(format!("store-{}.db", n.fetch_add(1, Ordering::Relaxed)));
        SqliteStore::open(&path, &SqliteOptions::default()).unwrap()
    })
    .await;
}
