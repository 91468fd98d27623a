//! The suite every [`Store`] adapter must pass (feature `conformance`).
//!
//! [`run`] takes a function that makes a fresh, empty store and runs every case on a store of
//! its own, through the port only. The first case that fails panics with a message naming the
//! case and what differed; a passing run returns `()`. An adapter's test calls it once per
//! way the adapter can be built:
//!
//! ```no_run
//! # async fn in_memory<S: stockdata_ports::Store>(new_in_memory_store: impl Fn() -> S) {
//! // In the adapter's tests (`#[tokio::test] async fn in_memory() { ... }`):
//! stockdata_ports::conformance::run(|| new_in_memory_store()).await;
//! # }
//! ```
//!
//! "Exact" means what the port promises: every field of a bar, quote and article comes back
//! equal *and* prints the same (`Debug`), so a decimal keeps its scale (`1.50` stays `1.50`),
//! an instant its nanoseconds over jiff's whole range, and an optional field its absence.
//!
//! The cases pin down choices the port's docs leave to wording: a range is `[start, end)`; an
//! empty span records nothing; a write that repeats a stored start replaces the bar whatever
//! its `fetched_at` (quotes, by contrast, keep the newest `fetched_at`); news ties are broken
//! by ascending id; a news query about no symbols answers nothing; one `write_quotes` from one
//! provider is one fetch log entry naming the first quote's symbol.
//!
//! [`fixtures`] holds what an adapter's own tests build their cases from (bars, series keys,
//! articles, a snapshot of a store's state), so every adapter's tests speak of the same data.

pub mod fixtures;

use std::fmt::Debug;

use stockdata_domain::{
    Adjustment, Bar, Decimal, Interval, NewsArticle, Provenance, ProviderId, Quote, Sentiment,
    SentimentLabel, Symbol, TickerSentiment, TimeRange, Timestamp,
};

use crate::{BarsWrite, Dataset, FetchLogEntry, NewsWrite, SeriesKey, Store, StoredKind};

/// Runs every case, each on a store made by `fresh`, and panics naming the first case that
/// fails.
///
/// `fresh` must return a new, empty store each call (a new in-memory store, or a store on a
/// new file). The cases only await the port, so any async runtime the adapter supports will
/// do.
///
/// # Panics
/// When a case fails: the message names the case and what differed.
pub async fn run<S, F>(fresh: F)
where
    S: Store,
    F: Fn() -> S,
{
    macro_rules! cases {
        ($($name:literal => $case:ident,)*) => {
            $( check($name, $case(&fresh()).await); )*
        };
    }
    cases! {
        "empty store answers empty" => empty_store,
        "bars round trip exactly" => bars_round_trip,
        "bars ordered and filtered by range" => bars_ordered_and_ranged,
        "a stored start is replaced, not duplicated" => bars_upsert,
        "series are isolated" => series_isolated,
        "coverage recorded and merged" => coverage_merged,
        "replace drops old bars and coverage" => replace_drops,
        "last bar before" => last_bar_before,
        "quotes keep the latest fetch" => quotes_latest,
        "news by id, symbols, range, limit, order" => news_queries,
        "news coverage per symbol" => news_coverage,
        "fetch log newest first" => fetch_log,
        "series summaries" => series_summaries,
        "stats count everything" => stats_counts,
        "vacuum keeps data" => vacuum_keeps,
    }
}

#[allow(
    clippy::panic,
    reason = "the suite reports a failed case by panicking, as a test does"
)]
fn check(case: &str, result: Result<(), Failure>) {
    if let Err(Failure(why)) = result {
        panic!("store conformance case `{case}` failed: {why}");
    }
}

/// Why a case failed.
#[derive(Debug)]
struct Failure(String);

impl<E: std::error::Error> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(format!("unexpected error: {e}"))
    }
}

type Outcome = Result<(), Failure>;

fn ensure(ok: bool, why: impl FnOnce() -> String) -> Outcome {
    if ok { Ok(()) } else { Err(Failure(why())) }
}

/// `got` equals `want` and prints the same (scales, nanoseconds, absent fields).
fn exact<T: Debug + PartialEq>(what: &str, got: &T, want: &T) -> Outcome {
    let (g, w) = (format!("{got:?}"), format!("{want:?}"));
    ensure(got == want && g == w, || {
        format!("{what}:\n  got  {g}\n  want {w}")
    })
}

/// Lists compared element by element, the first difference reported.
fn exact_list<T: Debug + PartialEq>(what: &str, got: &[T], want: &[T]) -> Outcome {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        exact(&format!("{what}, item {i}"), g, w)?;
    }
    ensure(got.len() == want.len(), || {
        format!(
            "{what}: got {} items, want {}: {got:?}",
            got.len(),
            want.len()
        )
    })
}

// ---------------------------------------------------------------------------------------------
// Fixtures

/// 2024-01-02T05:00:00Z, a daily bar's start (00:00 New York).
const BASE: i64 = 1_704_171_600;
const DAY: i64 = 86_400;

fn sym(s: &str) -> Result<Symbol, Failure> {
    Ok(Symbol::parse(s)?)
}

fn at(seconds: i64, nanos: i32) -> Result<Timestamp, Failure> {
    Ok(Timestamp::new(seconds, nanos)?)
}

/// The start of the `n`-th day after [`BASE`].
fn day(n: i64) -> Result<Timestamp, Failure> {
    at(BASE + n * DAY, 0)
}

/// A fetch instant, with nanoseconds.
fn fetched(n: i64) -> Result<Timestamp, Failure> {
    at(BASE + 400 * DAY + n, 123_456_789)
}

fn span(a: Timestamp, b: Timestamp) -> Result<TimeRange, Failure> {
    Ok(TimeRange::new(a, b)?)
}

fn days(a: i64, b: i64) -> Result<TimeRange, Failure> {
    span(day(a)?, day(b)?)
}

fn everything() -> Result<TimeRange, Failure> {
    span(Timestamp::MIN, Timestamp::MAX)
}

fn dec(s: &str) -> Result<Decimal, Failure> {
    Ok(Decimal::from_str_exact(s)?)
}

fn key(
    symbol: &str,
    interval: Interval,
    adjustment: Adjustment,
    dataset: Dataset,
) -> Result<SeriesKey, Failure> {
    Ok(SeriesKey {
        symbol: sym(symbol)?,
        interval,
        adjustment,
        dataset,
    })
}

fn daily(symbol: &str) -> Result<SeriesKey, Failure> {
    key(symbol, Interval::Day1, Adjustment::Raw, Dataset::Market)
}

fn provenance(provider: &'static str, at: Timestamp, dataset: Dataset) -> Provenance {
    let mut p = Provenance::new(ProviderId::from_static(provider), at);
    p.synthetic = dataset == Dataset::Sandbox;
    p
}

/// A plain bar of `k` opening at `start` and closing at `close`.
fn bar(k: &SeriesKey, start: Timestamp, close: &str) -> Result<Bar, Failure> {
    let close = dec(close)?;
    Ok(Bar {
        symbol: k.symbol.clone(),
        interval: k.interval,
        start,
        open: close,
        high: close,
        low: close,
        close,
        volume: 1_000,
        vwap: None,
        trades: None,
        provenance: provenance("conformance", fetched(0)?, k.dataset),
    })
}

fn bars_on(k: &SeriesKey, day_numbers: &[i64], close: &str) -> Result<Vec<Bar>, Failure> {
    day_numbers
        .iter()
        .map(|n| bar(k, day(*n)?, close))
        .collect()
}

async fn put<S: Store>(
    store: &S,
    key: &SeriesKey,
    covered: TimeRange,
    bars: &[Bar],
    fetched_at: Timestamp,
) -> Outcome {
    write(store, key, covered, bars, false, fetched_at).await
}

/// [`put`] with `replace`: the provider restated the series.
async fn restate<S: Store>(
    store: &S,
    key: &SeriesKey,
    covered: TimeRange,
    bars: &[Bar],
    fetched_at: Timestamp,
) -> Outcome {
    write(store, key, covered, bars, true, fetched_at).await
}

async fn write<S: Store>(
    store: &S,
    key: &SeriesKey,
    covered: TimeRange,
    bars: &[Bar],
    replace: bool,
    fetched_at: Timestamp,
) -> Outcome {
    let provider = ProviderId::from_static("conformance");
    store
        .write_bars(BarsWrite {
            key,
            covered,
            bars,
            replace,
            provider: &provider,
            fetched_at,
        })
        .await?;
    Ok(())
}

/// [`put`] of plain bars on `day_numbers`, all closing at `close`, fetched at `fetched(1)`.
async fn put_days<S: Store>(
    store: &S,
    key: &SeriesKey,
    covered: TimeRange,
    day_numbers: &[i64],
    close: &str,
) -> Outcome {
    let bars = bars_on(key, day_numbers, close)?;
    put(store, key, covered, &bars, fetched(1)?).await
}

async fn all_bars<S: Store>(store: &S, key: &SeriesKey) -> Result<Vec<Bar>, Failure> {
    Ok(store.bars(key, everything()?).await?)
}

fn quote(
    symbol: &str,
    price: &str,
    fetched_at: Timestamp,
    dataset: Dataset,
) -> Result<Quote, Failure> {
    Ok(Quote {
        symbol: sym(symbol)?,
        price: dec(price)?,
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
        as_of: fetched_at,
        provenance: provenance("conformance", fetched_at, dataset),
    })
}

fn article(
    id: &str,
    symbols: &[&str],
    published_at: Timestamp,
    dataset: Dataset,
) -> Result<NewsArticle, Failure> {
    Ok(NewsArticle {
        id: id.to_owned(),
        headline: format!("headline of {id}"),
        summary: String::new(),
        url: format!("https://news.invalid/{id}"),
        source: "Conformance Wire".to_owned(),
        published_at,
        symbols: symbols.iter().map(|s| sym(s)).collect::<Result<_, _>>()?,
        author: None,
        image: None,
        sentiment: None,
        provenance: provenance("conformance", fetched(0)?, dataset),
    })
}

async fn put_news<S: Store>(
    store: &S,
    dataset: Dataset,
    symbols: &[&str],
    covered: TimeRange,
    articles: &[NewsArticle],
    fetched_at: Timestamp,
) -> Outcome {
    let provider = ProviderId::from_static("conformance");
    let symbols: Vec<Symbol> = symbols.iter().map(|s| sym(s)).collect::<Result<_, _>>()?;
    store
        .write_news(NewsWrite {
            dataset,
            symbols: &symbols,
            covered,
            articles,
            provider: &provider,
            fetched_at,
        })
        .await?;
    Ok(())
}

async fn news_about<S: Store>(
    store: &S,
    dataset: Dataset,
    symbols: &[&str],
    range: TimeRange,
    limit: usize,
) -> Result<Vec<String>, Failure> {
    let symbols: Vec<Symbol> = symbols.iter().map(|s| sym(s)).collect::<Result<_, _>>()?;
    let found = store.news(dataset, &symbols, range, limit).await?;
    Ok(found.into_iter().map(|a| a.id).collect())
}

// ---------------------------------------------------------------------------------------------
// Cases

async fn empty_store<S: Store>(store: &S) -> Outcome {
    let k = daily("AAPL")?;
    exact_list("bars", &all_bars(store, &k).await?, &[])?;
    exact_list("coverage", &store.coverage(&k).await?, &[])?;
    exact(
        "last bar",
        &store.last_bar_before(&k, Timestamp::MAX).await?,
        &None,
    )?;
    exact(
        "quote",
        &store.quote(Dataset::Market, &k.symbol).await?,
        &None,
    )?;
    let news = news_about(store, Dataset::Market, &["AAPL"], everything()?, 10).await?;
    exact_list("news", &news, &[])?;
    let covered = store.news_coverage(Dataset::Market, &k.symbol).await?;
    exact_list("news coverage", &covered, &[])?;
    exact_list("series", &store.series().await?, &[])?;
    exact_list("fetch log", &store.fetch_log(10).await?, &[])?;
    let stats = store.stats().await?;
    let counts = (
        stats.series,
        stats.bars,
        stats.quotes,
        stats.articles,
        stats.fetches,
    );
    exact("stats counts", &counts, &(0, 0, 0, 0, 0))?;
    ensure(!stats.location.is_empty(), || {
        "stats location is empty".to_owned()
    })
}

/// Bars that exercise every field at its edges.
fn edge_bars(k: &SeriesKey) -> Result<Vec<Bar>, Failure> {
    let mut negative_zero = dec("0.00")?;
    negative_zero.set_sign_negative(true);
    let mut relayed = provenance("alpaca", at(1_700_000_000, 987_654_321)?, k.dataset)
        .with_feed("iex")
        .with_adjustment(Adjustment::Split);
    relayed.via = Some(ProviderId::new("serverless"));
    let mut far = provenance("alpha_vantage", Timestamp::MAX, k.dataset)
        .with_feed(String::new())
        .with_adjustment(Adjustment::All);
    far.fetched_at = Timestamp::MIN;
    Ok(vec![
        Bar {
            start: Timestamp::MIN,
            open: dec("1.50")?,
            high: dec("79228162514264337593543950335")?,
            low: dec("0.0000000000000000000000000001")?,
            close: dec("1.5")?,
            volume: 0,
            vwap: None,
            trades: None,
            provenance: provenance("alpha_vantage", Timestamp::MAX, k.dataset),
            ..bar(k, Timestamp::MIN, "0")?
        },
        Bar {
            start: at(-1, 500_000_000)?,
            open: dec("-37.63")?,
            high: dec("-0.0000000000000000000000000001")?,
            low: dec("-79228162514264337593543950335")?,
            close: dec("-7.9228162514264337593543950335")?,
            volume: u64::MAX,
            vwap: Some(dec("123.4500")?),
            trades: Some(u64::MAX),
            provenance: relayed,
            ..bar(k, Timestamp::MIN, "0")?
        },
        Bar {
            start: at(BASE, 1)?,
            open: dec("189.98")?,
            high: dec("190.00")?,
            low: dec("288230376151711744")?,
            close: dec("-288230376151711745")?,
            volume: 1,
            vwap: Some(negative_zero),
            trades: Some(0),
            provenance: far,
            ..bar(k, Timestamp::MIN, "0")?
        },
        Bar {
            start: at(253_402_207_200, 999_999_998)?,
            open: dec("0")?,
            high: dec("0.000")?,
            low: dec("100")?,
            close: dec("100.0")?,
            volume: 9_223_372_036_854_775_808,
            vwap: Some(dec("9223372036854775807")?),
            trades: Some(1),
            ..bar(k, Timestamp::MIN, "0")?
        },
    ])
}

async fn bars_round_trip<S: Store>(store: &S) -> Outcome {
    for dataset in [Dataset::Market, Dataset::Sandbox] {
        let k = key("BRK.B", Interval::Minute1, Adjustment::Split, dataset)?;
        let want = edge_bars(&k)?;
        // Written newest first: the store sorts.
        let written: Vec<Bar> = want.iter().rev().cloned().collect();
        put(store, &k, everything()?, &written, fetched(1)?).await?;
        exact_list(
            &format!("{} bars", dataset.as_str()),
            &all_bars(store, &k).await?,
            &want,
        )?;
    }
    // The sandbox's bars are synthetic whatever their provenance said.
    let k = key("MSFT", Interval::Day1, Adjustment::Raw, Dataset::Sandbox)?;
    let mut plain = bar(&k, day(0)?, "1.00")?;
    plain.provenance.synthetic = false;
    put(store, &k, days(0, 1)?, &[plain.clone()], fetched(1)?).await?;
    plain.provenance.synthetic = true;
    exact_list(
        "sandbox bar marked synthetic",
        &all_bars(store, &k).await?,
        &[plain],
    )
}

async fn bars_ordered_and_ranged<S: Store>(store: &S) -> Outcome {
    let k = daily("AAPL")?;
    let mut written = bars_on(&k, &[4, 0, 2, 1, 3], "10.00")?;
    let odd = bar(&k, at(BASE + 5 * DAY, 1)?, "11.00")?;
    written.push(odd.clone());
    put(store, &k, days(0, 6)?, &written, fetched(1)?).await?;
    let mut sorted = bars_on(&k, &[0, 1, 2, 3, 4], "10.00")?;
    sorted.push(odd.clone());
    exact_list(
        "all bars, oldest first",
        &all_bars(store, &k).await?,
        &sorted,
    )?;
    let starts = |bars: Vec<Bar>| bars.into_iter().map(|b| b.start).collect::<Vec<_>>();
    let cases = [
        (days(1, 3)?, vec![day(1)?, day(2)?]),
        (days(2, 2)?, vec![]),
        (days(-10, 0)?, vec![]),
        (days(4, 100)?, vec![day(4)?, odd.start]),
        (span(day(5)?, odd.start)?, vec![]),
        (span(odd.start, at(BASE + 5 * DAY, 2)?)?, vec![odd.start]),
    ];
    for (range, want) in cases {
        let got = starts(store.bars(&k, range).await?);
        exact_list(&format!("starts in {range}"), &got, &want)?;
    }
    Ok(())
}

async fn bars_upsert<S: Store>(store: &S) -> Outcome {
    let k = daily("AAPL")?;
    put_days(store, &k, days(0, 4)?, &[0, 1, 2, 3], "10.00").await?;
    let mut newer = bars_on(&k, &[2, 3, 4], "20.00")?;
    for b in &mut newer {
        b.provenance = provenance("other", fetched(2)?, k.dataset).with_feed("sip");
    }
    put(store, &k, days(2, 5)?, &newer, fetched(2)?).await?;
    put(store, &k, days(2, 5)?, &newer, fetched(2)?).await?;
    let mut want = bars_on(&k, &[0, 1], "10.00")?;
    want.extend(newer.iter().cloned());
    exact_list(
        "bars after overlapping and repeated writes",
        &all_bars(store, &k).await?,
        &want,
    )?;
    // The last write wins even when it was fetched earlier.
    let again = bars_on(&k, &[0], "30.00")?;
    put(store, &k, days(0, 1)?, &again, fetched(0)?).await?;
    let got = store.bars(&k, days(0, 1)?).await?;
    exact_list("bar rewritten by the last write", &got, &again)?;
    exact("bars stored", &all_bars(store, &k).await?.len(), &5)
}

async fn series_isolated<S: Store>(store: &S) -> Outcome {
    let keys = [
        daily("AAPL")?,
        key("AAPL", Interval::Hour1, Adjustment::Raw, Dataset::Market)?,
        key("AAPL", Interval::Day1, Adjustment::Split, Dataset::Market)?,
        key("AAPL", Interval::Day1, Adjustment::All, Dataset::Market)?,
        key("AAPL", Interval::Day1, Adjustment::Raw, Dataset::Sandbox)?,
        daily("MSFT")?,
    ];
    for (i, k) in (0_i64..).zip(&keys) {
        let bars = bars_on(k, &[i], &format!("{}.00", i + 1))?;
        put(store, k, days(i, i + 1)?, &bars, fetched(i)?).await?;
    }
    for (i, k) in (0_i64..).zip(&keys) {
        let want = bars_on(k, &[i], &format!("{}.00", i + 1))?;
        let what = format!("{k:?}");
        exact_list(
            &format!("bars of {what}"),
            &all_bars(store, k).await?,
            &want,
        )?;
        let covered = store.coverage(k).await?;
        exact_list(&format!("coverage of {what}"), &covered, &[days(i, i + 1)?])?;
        let last = store.last_bar_before(k, Timestamp::MAX).await?;
        exact(
            &format!("last bar of {what}"),
            &last,
            &want.into_iter().next(),
        )?;
    }
    Ok(())
}

/// Days `a..b` written, then the coverage expected as day pairs.
type DaysStep = ((i64, i64), Vec<(i64, i64)>);

async fn coverage_merged<S: Store>(store: &S) -> Outcome {
    let k = daily("AAPL")?;
    let steps: [DaysStep; 7] = [
        ((0, 2), vec![(0, 2)]),
        ((2, 4), vec![(0, 4)]),
        ((6, 8), vec![(0, 4), (6, 8)]),
        ((5, 6), vec![(0, 4), (5, 8)]),
        ((3, 9), vec![(0, 9)]),
        ((1, 2), vec![(0, 9)]),
        ((-3, -1), vec![(-3, -1), (0, 9)]),
    ];
    for ((a, b), want) in steps {
        // No bars at all: the span is covered all the same (a holiday, a quiet stretch).
        put(store, &k, days(a, b)?, &[], fetched(a)?).await?;
        let want: Vec<TimeRange> = want
            .into_iter()
            .map(|(x, y)| days(x, y))
            .collect::<Result<_, _>>()?;
        let what = format!("coverage after writing days {a}..{b}");
        exact_list(&what, &store.coverage(&k).await?, &want)?;
    }
    // One nanosecond apart is neither touching nor overlapping.
    let gap = span(at(BASE + 9 * DAY, 1)?, day(10)?)?;
    put(store, &k, gap, &[], fetched(0)?).await?;
    let want = [days(-3, -1)?, days(0, 9)?, gap];
    let got = store.coverage(&k).await?;
    exact_list("coverage with a nanosecond gap", &got, &want)?;
    exact_list(
        "bars of a coverage-only series",
        &all_bars(store, &k).await?,
        &[],
    )?;
    let hourly = key("AAPL", Interval::Hour1, Adjustment::Raw, Dataset::Market)?;
    exact_list(
        "coverage of another interval",
        &store.coverage(&hourly).await?,
        &[],
    )?;
    let sandbox = key("AAPL", Interval::Day1, Adjustment::Raw, Dataset::Sandbox)?;
    exact_list(
        "coverage of the sandbox",
        &store.coverage(&sandbox).await?,
        &[],
    )?;
    exact_list(
        "coverage of another symbol",
        &store.coverage(&daily("MSFT")?).await?,
        &[],
    )
}

async fn replace_drops<S: Store>(store: &S) -> Outcome {
    let k = daily("AAPL")?;
    let other = daily("MSFT")?;
    put_days(store, &k, days(0, 5)?, &[0, 1, 2, 3, 4], "10.00").await?;
    put_days(store, &k, days(20, 22)?, &[20, 21], "10.00").await?;
    put_days(store, &other, days(0, 2)?, &[0, 1], "5.00").await?;
    let restated = bars_on(&k, &[2, 3], "5.00")?;
    restate(store, &k, days(2, 4)?, &restated, fetched(2)?).await?;
    exact_list("bars after replace", &all_bars(store, &k).await?, &restated)?;
    exact_list(
        "coverage after replace",
        &store.coverage(&k).await?,
        &[days(2, 4)?],
    )?;
    let untouched = bars_on(&other, &[0, 1], "5.00")?;
    exact_list(
        "another series' bars",
        &all_bars(store, &other).await?,
        &untouched,
    )?;
    exact_list(
        "another series' coverage",
        &store.coverage(&other).await?,
        &[days(0, 2)?],
    )?;
    // Replacing with nothing empties the series.
    restate(store, &k, days(2, 2)?, &[], fetched(3)?).await?;
    exact_list(
        "bars after replace with nothing",
        &all_bars(store, &k).await?,
        &[],
    )?;
    exact_list(
        "coverage after replace with nothing",
        &store.coverage(&k).await?,
        &[],
    )
}

async fn last_bar_before<S: Store>(store: &S) -> Outcome {
    let k = daily("AAPL")?;
    exact(
        "before any write",
        &store.last_bar_before(&k, day(9)?).await?,
        &None,
    )?;
    let written = bars_on(&k, &[0, 2, 4], "10.00")?;
    put(store, &k, days(0, 5)?, &written, fetched(1)?).await?;
    let start = |b: Option<Bar>| b.map(|b| b.start);
    let cases = [
        (day(-1)?, None),
        (day(0)?, None),
        (at(BASE, 1)?, Some(day(0)?)),
        (day(3)?, Some(day(2)?)),
        (day(4)?, Some(day(2)?)),
        (Timestamp::MAX, Some(day(4)?)),
    ];
    for (before, want) in cases {
        let got = start(store.last_bar_before(&k, before).await?);
        exact(&format!("last bar before {before}"), &got, &want)?;
    }
    let full = store.last_bar_before(&k, Timestamp::MAX).await?;
    exact("the bar itself", &full, &written.into_iter().last())?;
    let other = key("AAPL", Interval::Day1, Adjustment::Split, Dataset::Market)?;
    exact(
        "another series",
        &store.last_bar_before(&other, Timestamp::MAX).await?,
        &None,
    )
}

async fn quotes_latest<S: Store>(store: &S) -> Outcome {
    let aapl = sym("AAPL")?;
    let mut full = quote("AAPL", "189.9800", fetched(10)?, Dataset::Market)?;
    full.bid = Some(dec("189.97")?);
    full.bid_size = Some(u64::MAX);
    full.ask = Some(dec("190.0")?);
    full.ask_size = Some(0);
    full.open = Some(dec("188.00")?);
    full.high = Some(dec("79228162514264337593543950335")?);
    full.low = Some(dec("-0.0000000000000000000000000001")?);
    full.previous_close = Some(dec("191.10")?);
    full.change = Some(dec("-1.1200")?);
    full.change_percent = Some(dec("-0.5852")?);
    full.volume = Some(52_000_000);
    full.as_of = at(BASE, 999_999_999)?;
    full.provenance = full.provenance.with_feed("iex");
    full.provenance.via = Some(ProviderId::from_static("serverless"));
    store.write_quotes(Dataset::Market, &[full.clone()]).await?;
    exact(
        "the quote, exactly",
        &store.quote(Dataset::Market, &aapl).await?,
        &Some(full),
    )?;
    let newer = quote("AAPL", "190.00", fetched(20)?, Dataset::Market)?;
    let msft = quote("MSFT", "400.10", fetched(20)?, Dataset::Market)?;
    store
        .write_quotes(Dataset::Market, &[newer.clone(), msft.clone()])
        .await?;
    let got = store.quote(Dataset::Market, &aapl).await?;
    exact("after a later fetch", &got, &Some(newer.clone()))?;
    let older = quote("AAPL", "180.00", fetched(15)?, Dataset::Market)?;
    store.write_quotes(Dataset::Market, &[older]).await?;
    let got = store.quote(Dataset::Market, &aapl).await?;
    exact("after an earlier fetch", &got, &Some(newer.clone()))?;
    exact(
        "MSFT",
        &store.quote(Dataset::Market, &msft.symbol).await?,
        &Some(msft),
    )?;
    // The sandbox keeps its own quotes, marked synthetic.
    let mut made_up = quote("AAPL", "1.00", fetched(30)?, Dataset::Market)?;
    store
        .write_quotes(Dataset::Sandbox, &[made_up.clone()])
        .await?;
    made_up.provenance.synthetic = true;
    exact(
        "sandbox",
        &store.quote(Dataset::Sandbox, &aapl).await?,
        &Some(made_up),
    )?;
    exact(
        "market",
        &store.quote(Dataset::Market, &aapl).await?,
        &Some(newer),
    )?;
    exact(
        "unknown symbol",
        &store.quote(Dataset::Sandbox, &sym("MSFT")?).await?,
        &None,
    )
}

/// Four articles: `p:1` about AAPL and MSFT at t10, `p:2` AAPL and `p:3` MSFT both at t20,
/// `p:4` GOOG at t30, each with different optional fields.
fn news_fixture(dataset: Dataset) -> Result<Vec<NewsArticle>, Failure> {
    let t = |n: i64| at(BASE + n, 0);
    let mut a1 = article("p:1", &["AAPL", "MSFT"], t(10)?, dataset)?;
    a1.sentiment = Some(Sentiment {
        score: dec("0.2500")?,
        label: SentimentLabel::Other("Somewhat-Bullish-ish".to_owned()),
        // Per ticker, in the provider's order (not the symbols' order), with every digit,
        // a negative zero, a tiny relevance and an unknown label kept.
        tickers: vec![
            ticker("MSFT", "0.000063", "-0.000", SentimentLabel::Neutral)?,
            ticker(
                "AAPL",
                "0.657888",
                "0.193592",
                SentimentLabel::Other("Very\tBullish".to_owned()),
            )?,
            ticker("MSFT", "1.0", "-0.999999", SentimentLabel::Bearish)?,
        ],
    });
    a1.author = Some("A. Writer, B. Writer".to_owned());
    a1.image = Some(String::new());
    let mut a2 = article("p:2", &["AAPL"], t(20)?, dataset)?;
    a2.sentiment = Some(Sentiment {
        score: dec("-0.251234")?,
        label: SentimentLabel::Bullish,
        tickers: vec![ticker(
            "AAPL",
            "0.100000",
            "0.588718",
            SentimentLabel::SomewhatBullish,
        )?],
    });
    a2.summary = "A summary\nover two lines, with \"quotes\" and ünïcödé.".to_owned();
    a2.provenance = a2.provenance.with_feed("benzinga");
    a2.provenance.via = Some(ProviderId::from_static("serverless"));
    let a3 = article("p:3", &["MSFT"], t(20)?, dataset)?;
    let mut a4 = article("p:4", &["GOOG", "GOOGL"], at(BASE + 30, 5)?, dataset)?;
    a4.sentiment = Some(Sentiment {
        score: dec("0")?,
        label: SentimentLabel::Other("Bearish".to_owned()),
        tickers: Vec::new(),
    });
    Ok(vec![a1, a2, a3, a4])
}

fn ticker(
    symbol: &str,
    relevance: &str,
    score: &str,
    label: SentimentLabel,
) -> Result<TickerSentiment, Failure> {
    Ok(TickerSentiment {
        symbol: sym(symbol)?,
        relevance: dec(relevance)?,
        score: dec(score)?,
        label,
    })
}

async fn news_queries<S: Store>(store: &S) -> Outcome {
    let m = Dataset::Market;
    let written = news_fixture(m)?;
    let all = everything()?;
    put_news(
        store,
        m,
        &["AAPL", "MSFT", "GOOG"],
        all,
        &written,
        fetched(1)?,
    )
    .await?;
    let both = ["AAPL", "MSFT"];
    let ids = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let t = |n: i64| at(BASE + n, 0);
    let cases: Vec<(&[&str], TimeRange, usize, Vec<String>)> = vec![
        (&["AAPL"], all, 10, ids(&["p:2", "p:1"])),
        (&["MSFT"], all, 10, ids(&["p:3", "p:1"])),
        (&both, all, 10, ids(&["p:2", "p:3", "p:1"])),
        (
            &["AAPL", "MSFT", "GOOGL"],
            all,
            10,
            ids(&["p:4", "p:2", "p:3", "p:1"]),
        ),
        (&["TSLA"], all, 10, vec![]),
        (&[], all, 10, vec![]),
        (&both, all, 2, ids(&["p:2", "p:3"])),
        (&both, all, 0, vec![]),
        (&both, span(t(10)?, t(20)?)?, 10, ids(&["p:1"])),
        (&both, span(t(11)?, t(20)?)?, 10, vec![]),
        (&both, span(t(20)?, t(31)?)?, 10, ids(&["p:2", "p:3"])),
        (&["GOOG"], span(t(30)?, at(BASE + 30, 5)?)?, 10, vec![]),
        (
            &["GOOG"],
            span(at(BASE + 30, 5)?, t(31)?)?,
            10,
            ids(&["p:4"]),
        ),
    ];
    for (symbols, range, limit, want) in cases {
        let got = news_about(store, m, symbols, range, limit).await?;
        exact_list(
            &format!("news about {symbols:?} in {range}, limit {limit}"),
            &got,
            &want,
        )?;
    }
    let symbols = [sym("AAPL")?, sym("MSFT")?, sym("GOOG")?];
    let got = store.news(m, &symbols, all, 10).await?;
    let want: Vec<NewsArticle> = [3, 1, 2, 0]
        .iter()
        .filter_map(|i| written.get(*i).cloned())
        .collect();
    exact_list("articles, exactly", &got, &want)?;

    // A repeated id updates the article, moving it in time too.
    let mut moved = article("p:1", &["MSFT", "AAPL"], t(40)?, m)?;
    moved.headline = "corrected headline".to_owned();
    // Its per-ticker sentiment is replaced, not added to.
    moved.sentiment = Some(Sentiment {
        score: dec("0.10")?,
        label: SentimentLabel::Neutral,
        tickers: vec![ticker("AAPL", "0.5", "0.10", SentimentLabel::Neutral)?],
    });
    put_news(store, m, &["AAPL"], all, &[moved.clone()], fetched(2)?).await?;
    let got = store.news(m, &symbols, all, 10).await?;
    let want: Vec<NewsArticle> = [Some(moved.clone()), written.get(3).cloned()]
        .into_iter()
        .chain([written.get(1).cloned(), written.get(2).cloned()])
        .flatten()
        .collect();
    exact_list("articles after an update", &got, &want)?;
    let old_time = news_about(store, m, &both, span(t(10)?, t(11)?)?, 10).await?;
    exact_list("the update's old publication time", &old_time, &[])?;

    // The sandbox's articles live apart, marked synthetic.
    let mut made_up = article("p:1", &["AAPL"], t(50)?, Dataset::Market)?;
    made_up.headline = "[SANDBOX] made up".to_owned();
    put_news(
        store,
        Dataset::Sandbox,
        &["AAPL"],
        all,
        &[made_up.clone()],
        fetched(3)?,
    )
    .await?;
    made_up.provenance.synthetic = true;
    let aapl = [sym("AAPL")?];
    let got = store.news(Dataset::Sandbox, &aapl, all, 10).await?;
    exact_list("sandbox articles", &got, &[made_up])?;
    let got = news_about(store, m, &["AAPL"], all, 10).await?;
    exact_list(
        "market articles beside the sandbox's",
        &got,
        &ids(&["p:1", "p:2"]),
    )?;
    let got = store.news(m, &aapl, span(t(40)?, t(41)?)?, 10).await?;
    exact_list("the market's p:1", &got, &[moved])
}

async fn news_coverage<S: Store>(store: &S) -> Outcome {
    let m = Dataset::Market;
    put_news(store, m, &["AAPL", "MSFT"], days(0, 2)?, &[], fetched(1)?).await?;
    put_news(store, m, &["AAPL"], days(2, 3)?, &[], fetched(2)?).await?;
    put_news(store, m, &["AAPL"], days(5, 6)?, &[], fetched(3)?).await?;
    let cases = [
        (m, "AAPL", vec![days(0, 3)?, days(5, 6)?]),
        (m, "MSFT", vec![days(0, 2)?]),
        (m, "GOOG", vec![]),
        (Dataset::Sandbox, "AAPL", vec![]),
    ];
    for (dataset, symbol, want) in cases {
        let got = store.news_coverage(dataset, &sym(symbol)?).await?;
        exact_list(
            &format!("news coverage of {symbol} ({dataset:?})"),
            &got,
            &want,
        )?;
    }
    Ok(())
}

async fn fetch_log<S: Store>(store: &S) -> Outcome {
    let k = daily("AAPL")?;
    put_days(store, &k, days(0, 3)?, &[0, 1, 2], "1.00").await?;
    let quotes = [
        quote("MSFT", "1.00", fetched(3)?, Dataset::Sandbox)?,
        quote("AAPL", "1.00", fetched(3)?, Dataset::Sandbox)?,
    ];
    store.write_quotes(Dataset::Sandbox, &quotes).await?;
    let articles = news_fixture(Dataset::Market)?;
    let two: Vec<NewsArticle> = articles.into_iter().take(2).collect();
    put_news(
        store,
        Dataset::Market,
        &["MSFT", "AAPL"],
        days(0, 1)?,
        &two,
        fetched(2)?,
    )
    .await?;
    let bars = bars_on(&k, &[1], "2.00")?;
    restate(store, &k, days(1, 2)?, &bars, fetched(4)?).await?;
    let restated = FetchLogEntry {
        kind: StoredKind::Bars,
        dataset: Dataset::Market,
        symbol: sym("AAPL")?,
        interval: Some(Interval::Day1),
        covered: Some(days(1, 2)?),
        provider: ProviderId::from_static("conformance"),
        fetched_at: fetched(4)?,
        records: 1,
        replaced: true,
    };
    let want = [
        restated.clone(),
        FetchLogEntry {
            kind: StoredKind::Quotes,
            dataset: Dataset::Sandbox,
            symbol: sym("MSFT")?,
            interval: None,
            covered: None,
            fetched_at: fetched(3)?,
            records: 2,
            replaced: false,
            ..restated.clone()
        },
        FetchLogEntry {
            kind: StoredKind::News,
            symbol: sym("MSFT")?,
            interval: None,
            covered: Some(days(0, 1)?),
            fetched_at: fetched(2)?,
            records: 2,
            replaced: false,
            ..restated.clone()
        },
        FetchLogEntry {
            covered: Some(days(0, 3)?),
            fetched_at: fetched(1)?,
            records: 3,
            replaced: false,
            ..restated
        },
    ];
    exact_list("fetch log", &store.fetch_log(10).await?, &want)?;
    let newest: Vec<FetchLogEntry> = want.iter().take(2).cloned().collect();
    exact_list("fetch log, limit 2", &store.fetch_log(2).await?, &newest)?;
    exact_list("fetch log, limit 0", &store.fetch_log(0).await?, &[])
}

async fn series_summaries<S: Store>(store: &S) -> Outcome {
    let msft = daily("MSFT")?;
    let aapl = daily("AAPL")?;
    let split = key("AAPL", Interval::Day1, Adjustment::Split, Dataset::Market)?;
    let sandbox = key("AAPL", Interval::Day1, Adjustment::Raw, Dataset::Sandbox)?;
    put_days(store, &msft, days(0, 2)?, &[0, 1], "1.00").await?;
    let bars = bars_on(&aapl, &[3, 0, 8], "1.00")?;
    put(store, &aapl, days(0, 9)?, &bars, fetched(5)?).await?;
    let bars = bars_on(&aapl, &[0], "2.00")?;
    put(store, &aapl, days(0, 1)?, &bars, fetched(2)?).await?;
    put(store, &split, days(0, 1)?, &[], fetched(3)?).await?;
    let bars = bars_on(&sandbox, &[0], "1.00")?;
    put(store, &sandbox, days(0, 1)?, &bars, fetched(4)?).await?;
    let got: Vec<_> = store
        .series()
        .await?
        .into_iter()
        .map(|s| (s.key, s.bars, s.first, s.last, s.last_fetched))
        .collect();
    let want = vec![
        (aapl, 3, Some(day(0)?), Some(day(8)?), Some(fetched(5)?)),
        (sandbox, 1, Some(day(0)?), Some(day(0)?), Some(fetched(4)?)),
        (split, 0, None, None, Some(fetched(3)?)),
        (msft, 2, Some(day(0)?), Some(day(1)?), Some(fetched(1)?)),
    ];
    exact_list("series, ordered by key", &got, &want)
}

/// Writes some of everything: 2 series (5 bars), 2 quotes, 3 articles, 4 fetches.
async fn some_of_everything<S: Store>(store: &S) -> Outcome {
    let a = daily("AAPL")?;
    let b = key("AAPL", Interval::Week1, Adjustment::Raw, Dataset::Market)?;
    put_days(store, &a, days(0, 3)?, &[0, 1, 2], "1.00").await?;
    let bars = bars_on(&b, &[0, 7], "1.00")?;
    put(store, &b, days(0, 14)?, &bars, fetched(2)?).await?;
    let quotes = [
        quote("AAPL", "1.00", fetched(3)?, Dataset::Market)?,
        quote("MSFT", "1.00", fetched(3)?, Dataset::Market)?,
    ];
    store.write_quotes(Dataset::Market, &quotes).await?;
    let articles: Vec<NewsArticle> = news_fixture(Dataset::Market)?.into_iter().take(3).collect();
    put_news(
        store,
        Dataset::Market,
        &["AAPL"],
        everything()?,
        &articles,
        fetched(4)?,
    )
    .await
}

async fn stats_counts<S: Store>(store: &S) -> Outcome {
    some_of_everything(store).await?;
    let s = store.stats().await?;
    let counts = (s.series, s.bars, s.quotes, s.articles, s.fetches);
    exact(
        "series, bars, quotes, articles, fetches",
        &counts,
        &(2, 5, 2, 3, 4),
    )
}

async fn vacuum_keeps<S: Store>(store: &S) -> Outcome {
    some_of_everything(store).await?;
    let k = daily("AAPL")?;
    let before = (
        all_bars(store, &k).await?,
        store.coverage(&k).await?,
        store.quote(Dataset::Market, &k.symbol).await?,
        store
            .news(
                Dataset::Market,
                std::slice::from_ref(&k.symbol),
                everything()?,
                10,
            )
            .await?,
        store.fetch_log(10).await?,
        store.series().await?,
    );
    store.vacuum().await?;
    let after = (
        all_bars(store, &k).await?,
        store.coverage(&k).await?,
        store.quote(Dataset::Market, &k.symbol).await?,
        store
            .news(
                Dataset::Market,
                std::slice::from_ref(&k.symbol),
                everything()?,
                10,
            )
            .await?,
        store.fetch_log(10).await?,
        store.series().await?,
    );
    exact("everything, after vacuum", &after, &before)?;
    let s = store.stats().await?;
    let counts = (s.series, s.bars, s.quotes, s.articles, s.fetches);
    exact("counts after vacuum", &counts, &(2, 5, 2, 3, 4))
}
