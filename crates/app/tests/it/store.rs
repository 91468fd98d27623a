//! The store in front of the providers (issue #15), tested at the ports: a fake market whose
//! bars exist on every NYSE session, a settable clock, and the real SQLite store in memory.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use stockdata_app::StockData;
use stockdata_app::domain::calendar;
use stockdata_app::domain::time::{daily_bar_start, new_york_date};
use stockdata_app::domain::{
    Adjustment, Bar, BarQuery, BatchBarQuery, Date, DateRange, Decimal, ErrorKind, FetchError,
    Interval, NewsArticle, NewsQuery, Provenance, ProviderId, Quote, Symbol, TimeRange, Timestamp,
};
use stockdata_app::fetch::STORE;
use stockdata_app::ports::{
    BarSource, Capabilities, Clock, Dataset, NewsSource, QuoteSource, SeriesKey, Store,
};
use stockdata_store_sqlite::SqliteStore;

use crate::fakes::{sym, ts};

/// A clock tests move.
#[derive(Debug)]
struct Hands(Mutex<Timestamp>);

impl Hands {
    fn at(t: &str) -> Arc<Self> {
        Arc::new(Self(Mutex::new(ts(t))))
    }

    fn set(&self, t: &str) {
        *self.0.lock().unwrap() = ts(t);
    }
}

impl Clock for Hands {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap()
    }
}

/// A provider with a daily bar on every NYSE session before the clock's now, a quote and a
/// list of articles; it records what it was asked.
#[derive(Debug)]
struct Market {
    clock: Arc<Hands>,
    caps: Capabilities,
    asked: Mutex<Vec<TimeRange>>,
    quotes_asked: AtomicUsize,
    news_asked: Mutex<Vec<TimeRange>>,
    articles: Mutex<Vec<NewsArticle>>,
    /// After a 2:1 split: every price of the adjusted series halves.
    split: AtomicBool,
}

const PROVIDER: &str = "fake";

impl Market {
    fn new(clock: &Arc<Hands>) -> Arc<Self> {
        let mut caps = Capabilities::single_symbol();
        caps.intervals = vec![Interval::Day1];
        Arc::new(Self {
            clock: Arc::clone(clock),
            caps,
            asked: Mutex::new(Vec::new()),
            quotes_asked: AtomicUsize::new(0),
            news_asked: Mutex::new(Vec::new()),
            articles: Mutex::new(Vec::new()),
            split: AtomicBool::new(false),
        })
    }

    fn asked(&self) -> Vec<TimeRange> {
        self.asked.lock().unwrap().clone()
    }

    fn close(&self, day: Date) -> Decimal {
        // Two decimal places, a trailing zero now and then: the scale must survive the store.
        let n = day.since(date("2020-01-01")).unwrap().get_days();
        let close = Decimal::new(10_000 + i64::from(n) * 10, 2);
        if self.split.load(Ordering::SeqCst) {
            close / Decimal::TWO
        } else {
            close
        }
    }
}

fn date(s: &str) -> Date {
    s.parse().unwrap()
}

fn days(from: &str, to: &str) -> TimeRange {
    DateRange::new(date(from), date(to))
        .unwrap()
        .to_time_range()
}

#[async_trait]
impl BarSource for Market {
    fn provider(&self) -> ProviderId {
        ProviderId::from_static(PROVIDER)
    }

    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    async fn bars(&self, query: &BarQuery) -> Result<Vec<Bar>, FetchError> {
        self.asked.lock().unwrap().push(query.range);
        let now = self.clock.now();
        let last = new_york_date(query.range.end());
        let mut out = Vec::new();
        let mut day = new_york_date(query.range.start());
        while day <= last {
            let start = daily_bar_start(day);
            if calendar::is_trading_day(day)
                && query.range.contains(start)
                && calendar::session(day).is_some_and(|s| s.open <= now)
            {
                let close = self.close(day);
                out.push(Bar {
                    symbol: query.symbol.clone(),
                    interval: Interval::Day1,
                    start,
                    open: close,
                    high: close,
                    low: close,
                    close,
                    volume: 1_000,
                    vwap: None,
                    trades: None,
                    provenance: Provenance::new(ProviderId::from_static(PROVIDER), now)
                        .with_adjustment(query.adjustment),
                });
            }
            day = day.tomorrow().unwrap();
        }
        if out.is_empty() {
            Err(FetchError::NoData)
        } else {
            Ok(out)
        }
    }
}

#[async_trait]
impl QuoteSource for Market {
    fn provider(&self) -> ProviderId {
        ProviderId::from_static(PROVIDER)
    }

    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    async fn quote(&self, symbol: &Symbol) -> Result<Quote, FetchError> {
        let n = self.quotes_asked.fetch_add(1, Ordering::SeqCst);
        let now = self.clock.now();
        let mut q = crate::fakes::quote(PROVIDER, symbol.as_str(), "100.50");
        q.price += Decimal::from(n);
        q.as_of = now;
        q.provenance = Provenance::new(ProviderId::from_static(PROVIDER), now);
        Ok(q)
    }
}

#[async_trait]
impl NewsSource for Market {
    fn provider(&self) -> ProviderId {
        ProviderId::from_static(PROVIDER)
    }

    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    async fn news(&self, query: &NewsQuery) -> Result<Vec<NewsArticle>, FetchError> {
        self.news_asked.lock().unwrap().push(query.range);
        let mut out: Vec<NewsArticle> = self
            .articles
            .lock()
            .unwrap()
            .iter()
            .filter(|a| query.range.contains(a.published_at))
            .cloned()
            .collect();
        out.sort_by_key(|a| std::cmp::Reverse(a.published_at));
        out.truncate(query.limit);
        Ok(out)
    }
}

fn build(market: &Arc<Market>, store: &Arc<SqliteStore>, offline: bool) -> StockData {
    let clock: Arc<dyn Clock> = Arc::clone(&market.clock) as Arc<dyn Clock>;
    StockData::builder()
        .clock(clock)
        .quote_source(Arc::clone(market) as Arc<dyn QuoteSource>)
        .bar_source(Arc::clone(market) as Arc<dyn BarSource>)
        .news_source(Arc::clone(market) as Arc<dyn NewsSource>)
        .store(Arc::clone(store) as Arc<dyn Store>)
        .offline(offline)
        .build()
        .unwrap()
}

fn query(symbols: &[&str], range: TimeRange) -> BatchBarQuery {
    BatchBarQuery {
        symbols: symbols.iter().map(|s| sym(s)).collect(),
        interval: Interval::Day1,
        range,
        adjustment: Adjustment::Split,
    }
}

fn providers(trail: &[stockdata_app::fetch::Attempt]) -> Vec<String> {
    trail.iter().map(|a| a.provider.to_string()).collect()
}

#[tokio::test]
async fn a_second_read_of_the_same_range_sends_nothing() {
    let clock = Hands::at("2024-03-08T21:30:00Z");
    let market = Market::new(&clock);
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let sd = build(&market, &store, false);
    let q = query(&["AAPL", "MSFT"], days("2024-01-02", "2024-03-01"));
    let first = sd.history().bars(&q).await;
    assert_eq!(market.asked().len(), 2);
    let second = sd.history().bars(&q).await;
    assert_eq!(market.asked().len(), 2, "no request the second time");
    for (a, b) in first.iter().zip(&second) {
        assert_eq!(providers(&b.trail), vec![STORE.to_string()]);
        let (a, b) = (a.result.as_ref().unwrap(), b.result.as_ref().unwrap());
        assert_eq!(a.bars, b.bars);
        // Exact to the digit: scale and all.
        let text = |s: &stockdata_app::fetch::Series| {
            s.bars
                .iter()
                .map(|b| b.close.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(text(a), text(b));
        assert_eq!(a.bars.len(), 42, "sessions from Jan 2 to Mar 1, 2024");
    }
}

#[tokio::test]
async fn only_the_missing_span_is_fetched_from_the_newest_stored_bar() {
    let clock = Hands::at("2024-03-08T21:30:00Z");
    let market = Market::new(&clock);
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let sd = build(&market, &store, false);
    sd.history()
        .bars(&query(&["AAPL"], days("2024-01-02", "2024-02-16")))
        .await;
    let r = sd
        .history()
        .bars(&query(&["AAPL"], days("2024-01-02", "2024-03-08")))
        .await
        .remove(0);
    let asked = market.asked();
    assert_eq!(asked.len(), 2);
    // From the last stored bar (Friday Feb 16, fetched again to check it), to the end.
    assert_eq!(asked[1].start(), daily_bar_start(date("2024-02-16")));
    assert_eq!(
        asked[1].end(),
        ts("2024-03-08T21:30:00Z"),
        "nothing after now is asked"
    );
    assert_eq!(providers(&r.trail), vec!["store", PROVIDER]);
    let bars = r.result.unwrap().bars;
    assert_eq!(
        bars.first().unwrap().start,
        daily_bar_start(date("2024-01-02"))
    );
    assert_eq!(
        bars.last().unwrap().start,
        daily_bar_start(date("2024-03-08"))
    );
    assert!(bars.windows(2).all(|w| w[0].start < w[1].start));
}

#[tokio::test]
async fn holidays_and_weekends_are_not_gaps() {
    // Covered through Thursday 2024-03-28 after its close; Good Friday and the weekend follow.
    let clock = Hands::at("2024-03-28T21:00:00Z");
    let market = Market::new(&clock);
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let sd = build(&market, &store, false);
    sd.history()
        .bars(&query(&["AAPL"], days("2024-03-01", "2024-03-28")))
        .await;
    clock.set("2024-03-31T15:00:00Z");
    let r = sd
        .history()
        .bars(&query(&["AAPL"], days("2024-03-01", "2024-03-31")))
        .await
        .remove(0);
    assert_eq!(
        market.asked().len(),
        1,
        "Good Friday and a weekend hold no bar"
    );
    assert_eq!(providers(&r.trail), vec!["store"]);
    // Monday after its open: Monday is missing, and fetched.
    clock.set("2024-04-01T14:00:00Z");
    sd.history()
        .bars(&query(&["AAPL"], days("2024-03-01", "2024-04-01")))
        .await;
    assert_eq!(market.asked().len(), 2);
}

#[tokio::test]
async fn today_is_fetched_again_until_its_close() {
    let clock = Hands::at("2024-03-08T18:00:00Z");
    let market = Market::new(&clock);
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let sd = build(&market, &store, false);
    let q = query(&["AAPL"], days("2024-03-04", "2024-03-08"));
    let r = sd.history().bars(&q).await.remove(0);
    assert_eq!(
        r.result.unwrap().bars.len(),
        5,
        "today's bar so far is answered"
    );
    clock.set("2024-03-08T18:00:10Z");
    sd.history().bars(&q).await;
    assert_eq!(
        market.asked().len(),
        2,
        "the session is not final: asked again"
    );
    // Only from Thursday's bar (the anchor) on.
    assert_eq!(
        market.asked()[1].start(),
        daily_bar_start(date("2024-03-07"))
    );
    clock.set("2024-03-08T21:05:00Z");
    sd.history().bars(&q).await;
    assert_eq!(market.asked().len(), 3, "after the close, once more");
    clock.set("2024-03-08T21:06:00Z");
    sd.history().bars(&q).await;
    assert_eq!(market.asked().len(), 3, "final now: never again");
}

#[tokio::test]
async fn a_restated_history_is_fetched_again_and_replaced() {
    let clock = Hands::at("2024-03-01T21:30:00Z");
    let market = Market::new(&clock);
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let sd = build(&market, &store, false);
    sd.history()
        .bars(&query(&["AAPL"], days("2024-01-02", "2024-03-01")))
        .await;
    // A 2:1 split: the provider's adjusted series halves, the stored one does not know yet.
    market.split.store(true, Ordering::SeqCst);
    clock.set("2024-03-08T21:30:00Z");
    let r = sd
        .history()
        .bars(&query(&["AAPL"], days("2024-01-02", "2024-03-08")))
        .await
        .remove(0);
    let asked = market.asked();
    assert_eq!(
        asked.len(),
        3,
        "first fetch, the incremental one, the whole series again"
    );
    assert_eq!(asked[2].start(), days("2024-01-02", "2024-03-08").start());
    let bars = r.result.unwrap().bars;
    let jan2 = &bars[0];
    assert_eq!(
        jan2.close,
        market.close(date("2024-01-02")),
        "restated price answered"
    );
    // What is stored is the restated series, every bar of it.
    let key = SeriesKey {
        symbol: sym("AAPL"),
        interval: Interval::Day1,
        adjustment: Adjustment::Split,
        dataset: Dataset::Market,
    };
    let stored = store
        .bars(&key, days("2024-01-02", "2024-03-08"))
        .await
        .unwrap();
    assert_eq!(stored.len(), bars.len());
    assert!(
        stored
            .iter()
            .all(|b| b.close == market.close(new_york_date(b.start)))
    );
}

#[tokio::test]
async fn quotes_are_fresh_for_the_ttl_and_over_a_closed_market() {
    let clock = Hands::at("2024-03-08T15:00:00Z");
    let market = Market::new(&clock);
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let sd = build(&market, &store, false);
    let aapl = sym("AAPL");
    let first = sd.prices().quote(&aapl).await;
    assert_eq!(providers(&first.trail), vec![PROVIDER]);
    clock.set("2024-03-08T15:00:10Z");
    let hit = sd.prices().quote(&aapl).await;
    assert_eq!(providers(&hit.trail), vec!["store"]);
    assert_eq!(hit.result.unwrap(), first.result.unwrap());
    clock.set("2024-03-08T15:00:20Z");
    sd.prices().quote(&aapl).await;
    assert_eq!(
        market.quotes_asked.load(Ordering::SeqCst),
        2,
        "15 s later: asked again"
    );
    // Fetched after Friday's close: fresh all weekend, stale at Monday's open.
    clock.set("2024-03-08T22:00:00Z");
    sd.prices().quote(&aapl).await;
    clock.set("2024-03-10T12:00:00Z");
    let weekend = sd.prices().quote(&aapl).await;
    assert_eq!(providers(&weekend.trail), vec!["store"]);
    clock.set("2024-03-11T13:30:05Z");
    sd.prices().quote(&aapl).await;
    assert_eq!(market.quotes_asked.load(Ordering::SeqCst), 4);
}

fn article(id: &str, at: &str) -> NewsArticle {
    let mut a = crate::fakes::article(PROVIDER, id, &format!("headline {id}"), id, at);
    a.url = format!("https://example.com/{id}");
    a
}

#[tokio::test]
async fn news_is_asked_only_since_the_last_fetch() {
    let clock = Hands::at("2024-03-08T12:00:00Z");
    let market = Market::new(&clock);
    market.articles.lock().unwrap().extend([
        article("a", "2024-03-07T10:00:00Z"),
        article("b", "2024-03-08T11:00:00Z"),
    ]);
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let sd = build(&market, &store, false);
    let range = TimeRange::new(ts("2024-03-05T00:00:00Z"), ts("2024-03-09T00:00:00Z")).unwrap();
    let q = NewsQuery {
        symbols: vec![sym("AAPL")],
        range,
        limit: 10,
    };
    let first = sd.news().news(&q).await.result.unwrap();
    assert_eq!(first.len(), 2);
    // Within the TTL: answered from the store.
    clock.set("2024-03-08T12:01:00Z");
    let again = sd.news().news(&q).await;
    assert_eq!(providers(&again.trail), vec!["store"]);
    assert_eq!(market.news_asked.lock().unwrap().len(), 1);
    // An hour later, a new article: asked only since the first fetch.
    market
        .articles
        .lock()
        .unwrap()
        .push(article("c", "2024-03-08T12:30:00Z"));
    clock.set("2024-03-08T13:00:00Z");
    let later = sd.news().news(&q).await.result.unwrap();
    let asked = market.news_asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 2);
    assert_eq!(asked[1].start(), ts("2024-03-08T12:00:00Z"));
    let ids: Vec<&str> = later.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(
        ids,
        ["fake:c", "fake:b", "fake:a"],
        "newest first, stored ones kept"
    );
}

#[tokio::test]
async fn offline_answers_from_the_store_and_names_what_is_missing() {
    let clock = Hands::at("2024-03-08T21:30:00Z");
    let market = Market::new(&clock);
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    build(&market, &store, false)
        .history()
        .bars(&query(&["AAPL"], days("2024-02-01", "2024-02-29")))
        .await;
    let offline = build(&market, &store, true);
    let covered = offline
        .history()
        .bars(&query(&["AAPL"], days("2024-02-05", "2024-02-23")))
        .await
        .remove(0);
    assert_eq!(covered.result.unwrap().bars.len(), 14);
    let missing = offline
        .history()
        .bars(&query(&["AAPL", "MSFT"], days("2024-02-01", "2024-03-08")))
        .await;
    assert_eq!(market.asked().len(), 1, "offline never asks a provider");
    let err = missing[0].result.as_ref().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotStored);
    assert!(err.to_string().contains("2024-03-01..2024-03-08"), "{err}");
    let err = missing[1].result.as_ref().unwrap_err();
    assert!(err.to_string().contains("MSFT"), "{err}");
    let quote = offline.prices().quote(&sym("AAPL")).await;
    assert_eq!(quote.result.unwrap_err().kind(), ErrorKind::NotStored);
}

#[tokio::test]
async fn store_hits_take_no_provider_call_and_are_counted() {
    let clock = Hands::at("2024-03-08T21:30:00Z");
    let market = Market::new(&clock);
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let sd = build(&market, &store, false);
    let agent = sd.agent();
    let cancel = stockdata_app::CancellationToken::new();
    let list = [sym("AAPL"), sym("MSFT")];
    let first = agent.run(&list, &cancel, &|_, _| {}).await;
    let calls = |stats: &stockdata_app::agent::RunStats| -> u64 {
        stats.calls.iter().map(|(_, n)| n).sum()
    };
    assert!(calls(&first.stats) > 0);
    clock.set("2024-03-08T21:30:05Z");
    let second = sd.agent().run(&list, &cancel, &|_, _| {}).await;
    assert_eq!(calls(&second.stats), 0, "{:?}", second.stats);
    assert_eq!(
        second.stats.store_hits, 6,
        "quotes, bars and news of two symbols"
    );
    assert_eq!(second.stats.complete, 2);
}

#[tokio::test]
async fn sandbox_data_never_answers_a_market_query() {
    let clock = Hands::at("2024-03-08T21:30:00Z");
    let market = Market::new(&clock);
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let sandbox = StockData::builder()
        .clock(Arc::clone(&clock) as Arc<dyn Clock>)
        .bar_source(Arc::clone(&market) as Arc<dyn BarSource>)
        .store(Arc::clone(&store) as Arc<dyn Store>)
        .synthetic(true)
        .build()
        .unwrap();
    let q = query(&["AAPL"], days("2024-02-01", "2024-02-29"));
    sandbox.history().bars(&q).await;
    let real = build(&market, &store, false);
    let r = real.history().bars(&q).await.remove(0);
    assert_eq!(
        providers(&r.trail),
        vec![PROVIDER],
        "market data is fetched, not the sandbox's"
    );
    assert_eq!(market.asked().len(), 2);
}

/// A second news provider that only counts what it is asked.
#[derive(Debug)]
struct Second {
    caps: Capabilities,
    asked: AtomicUsize,
}

#[async_trait]
impl NewsSource for Second {
    fn provider(&self) -> ProviderId {
        ProviderId::from_static("second")
    }

    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    async fn news(&self, _query: &NewsQuery) -> Result<Vec<NewsArticle>, FetchError> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        Ok(Vec::new())
    }
}

#[tokio::test]
async fn nothing_new_since_the_last_fetch_asks_no_second_provider() {
    let clock = Hands::at("2024-03-05T22:00:00Z");
    let market = Market::new(&clock);
    market
        .articles
        .lock()
        .unwrap()
        .push(article("a", "2024-03-05T20:00:00Z"));
    let second = Arc::new(Second {
        caps: Capabilities::single_symbol(),
        asked: AtomicUsize::new(0),
    });
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let sd = StockData::builder()
        .clock(Arc::clone(&clock) as Arc<dyn Clock>)
        .news_source(Arc::clone(&market) as Arc<dyn NewsSource>)
        .news_source(Arc::clone(&second) as Arc<dyn NewsSource>)
        .store(Arc::clone(&store) as Arc<dyn Store>)
        .build()
        .unwrap();
    let range = TimeRange::new(ts("2024-03-03T00:00:00Z"), ts("2024-03-06T00:00:00Z")).unwrap();
    let aapl = [sym("AAPL")];
    let first = sd.news().news_for_each(&aapl, range, 10).await;
    assert_eq!(first[&sym("AAPL")].result.as_ref().unwrap().len(), 1);
    assert_eq!(
        second.asked.load(Ordering::SeqCst),
        0,
        "the first provider answered"
    );
    // An hour later nothing was published: the first provider's empty answer is the answer.
    clock.set("2024-03-05T23:00:00Z");
    let again = sd.news().news_for_each(&aapl, range, 10).await;
    let report = &again[&sym("AAPL")];
    assert_eq!(
        report.result.as_ref().unwrap().len(),
        1,
        "the stored article"
    );
    assert_eq!(
        market.news_asked.lock().unwrap().len(),
        2,
        "asked since the last fetch"
    );
    assert_eq!(second.asked.load(Ordering::SeqCst), 0, "{:?}", report.trail);
}
