//! The port's conformance suite, the same the SQLite store passes: each case on a fresh store
//! (a schema of its own in the test's database).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use stockdata_ports::conformance;
use stockdata_store_postgres::{PostgresOptions, PostgresStore};

use crate::support::{database, secret};

async fn suite() {
    let started = Instant::now();
    let Some(url) = database().await else { return };
    let n = AtomicUsize::new(0);
    conformance::run(|| {
        let schema = format!("case{}", n.fetch_add(1, Ordering::Relaxed));
        let options = PostgresOptions::default().with_schema(schema);
        PostgresStore::connect_lazy(&secret(&url), &options).unwrap()
    })
    .await;
    eprintln!("conformance: {:?}", started.elapsed());
}

#[tokio::test]
async fn on_one_thread() {
    suite().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_thread_pool() {
    suite().await;
}
