//! Fixtures shared by the test modules.

use secrecy::SecretString;
use stockdata_domain::{
    Adjustment, Bar, Decimal, Interval, Provenance, ProviderId, Symbol, TimeRange, Timestamp,
};
use stockdata_ports::{BarsWrite, Dataset, SeriesKey, Store};
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

/// 2000-01-03T05:00:00Z.
const BASE: i64 = 946_875_600;

pub(crate) fn daily(symbol: &str) -> SeriesKey {
    SeriesKey {
        symbol: Symbol::parse(symbol).unwrap(),
        interval: Interval::Day1,
        adjustment: Adjustment::Raw,
        dataset: Dataset::Market,
    }
}

pub(crate) fn day(n: i64) -> Timestamp {
    Timestamp::from_second(BASE + n * 86_400).unwrap()
}

pub(crate) fn days(a: i64, b: i64) -> TimeRange {
    TimeRange::new(day(a), day(b)).unwrap()
}

pub(crate) fn provider() -> ProviderId {
    ProviderId::from_static("test")
}

/// One bar per day in `from..to`, prices depending on the day only.
pub(crate) fn some_bars(key: &SeriesKey, from: i64, to: i64) -> Vec<Bar> {
    let fetched_at = Timestamp::new(1_750_000_000, 123_456_789).unwrap();
    (from..to)
        .map(|n| {
            let cents = 10_000 + n.rem_euclid(977) * 7;
            Bar {
                symbol: key.symbol.clone(),
                interval: key.interval,
                start: day(n),
                open: Decimal::new(cents, 2),
                high: Decimal::new(cents + 150, 2),
                low: Decimal::new(cents - 120, 2),
                close: Decimal::new(cents + 30, 2),
                volume: u64::try_from(1_000_000 + n.rem_euclid(10_000) * 313).unwrap(),
                vwap: None,
                trades: None,
                provenance: Provenance::new(provider(), fetched_at)
                    .with_adjustment(Adjustment::Raw),
            }
        })
        .collect()
}

/// Writes `bars`, covering `covered`, fetched at `fetched_at`.
pub(crate) async fn write(
    store: &impl Store,
    key: &SeriesKey,
    covered: TimeRange,
    bars: &[Bar],
    fetched_at: Timestamp,
) {
    store
        .write_bars(BarsWrite {
            key,
            covered,
            bars,
            replace: false,
            provider: &provider(),
            fetched_at,
        })
        .await
        .unwrap();
}

/// Writes [`some_bars`] for `from..to`, covering the same days.
pub(crate) async fn write_days(store: &impl Store, key: &SeriesKey, from: i64, to: i64) {
    let bars = some_bars(key, from, to);
    write(store, key, days(from, to), &bars, Timestamp::now()).await;
}
