//! How the test modules reach the private server. The fixtures every store's tests share
//! (bars, series keys, articles) are `stockdata_ports::conformance::fixtures`.

use secrecy::SecretString;
use stockdata_store_postgres::testing::TestServer;
use stockdata_store_postgres::{PostgresOptions, PostgresStore};

/// A new, empty database on the process's server, `None` when PostgreSQL is not installed
/// here (and `CI` is unset): the test then returns early.
pub(crate) async fn database() -> Option<String> {
    let server = TestServer::shared()?;
    Some(server.database().await)
}

pub(crate) fn secret(url: &str) -> SecretString {
    SecretString::from(url.to_owned())
}

/// A store on `url` with the default options.
pub(crate) async fn connect(url: &str) -> PostgresStore {
    PostgresStore::connect(&secret(url), &PostgresOptions::default())
        .await
        .unwrap()
}
