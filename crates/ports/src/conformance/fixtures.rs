//! Fixtures for a [`Store`] adapter's own tests (its atomicity, concurrency and file or
//! schema tests), written against the port only, so every adapter's tests speak of the same
//! bars. Like a test, they panic when something fails.

#![allow(
    clippy::unwrap_used,
    reason = "fixtures for tests: a failure is the test's failure"
)]

use stockdata_domain::{
    Adjustment, Bar, Decimal, Interval, NewsArticle, Provenance, ProviderId, Symbol, TimeRange,
    Timestamp,
};

use crate::{BarsWrite, Dataset, SeriesKey, Store, StoreStats};

/// 2000-01-03T05:00:00Z.
const BASE: i64 = 946_875_600;

static PROVIDER: ProviderId = ProviderId::from_static("test");

/// The daily, unadjusted market series of `symbol`.
pub fn daily(symbol: &str) -> SeriesKey {
    SeriesKey {
        symbol: Symbol::parse(symbol).unwrap(),
        interval: Interval::Day1,
        adjustment: Adjustment::Raw,
        dataset: Dataset::Market,
    }
}

/// The start of the `n`-th day after 2000-01-03 (05:00 UTC).
pub fn day(n: i64) -> Timestamp {
    Timestamp::from_second(BASE + n * 86_400).unwrap()
}

/// Days `a..b`.
pub fn days(a: i64, b: i64) -> TimeRange {
    TimeRange::new(day(a), day(b)).unwrap()
}

/// The provider every fixture names.
pub fn provider() -> ProviderId {
    PROVIDER.clone()
}

/// One bar per day in `from..to`, prices depending on the day only.
pub fn some_bars(key: &SeriesKey, from: i64, to: i64) -> Vec<Bar> {
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

/// A write of `bars` covering `covered`, from [`provider`], fetched now, replacing nothing;
/// `BarsWrite { replace: true, ..bars_write(..) }` for another.
pub fn bars_write<'a>(key: &'a SeriesKey, covered: TimeRange, bars: &'a [Bar]) -> BarsWrite<'a> {
    BarsWrite {
        key,
        covered,
        bars,
        replace: false,
        provider: &PROVIDER,
        fetched_at: Timestamp::now(),
    }
}

/// Writes `bars`, covering `covered`, fetched at `fetched_at`.
pub async fn write(
    store: &impl Store,
    key: &SeriesKey,
    covered: TimeRange,
    bars: &[Bar],
    fetched_at: Timestamp,
) {
    let write = BarsWrite {
        fetched_at,
        ..bars_write(key, covered, bars)
    };
    store.write_bars(write).await.unwrap();
}

/// Writes [`some_bars`] for `from..to`, covering the same days.
pub async fn write_days(store: &impl Store, key: &SeriesKey, from: i64, to: i64) {
    let bars = some_bars(key, from, to);
    write(store, key, days(from, to), &bars, Timestamp::now()).await;
}

/// An article published on [`day`] 1 about `symbols`, fetched now from [`provider`].
pub fn article(id: &str, symbols: &[&str]) -> NewsArticle {
    NewsArticle {
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
    }
}

/// Everything the store answers about `daily("AAPL")` and AAPL's market news, and how many
/// rows of each kind it holds, as one text: a write that fails keeps it unchanged.
pub async fn snapshot(store: &impl Store) -> String {
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
            counts(&store.stats().await.unwrap()),
        )
    )
}

/// Series, bars, quotes, articles and fetch log lines.
fn counts(s: &StoreStats) -> [u64; 5] {
    [s.series, s.bars, s.quotes, s.articles, s.fetches]
}
