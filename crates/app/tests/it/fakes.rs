use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use stockdata_app::domain::time::daily_bar_start;
use stockdata_app::domain::{
    Bar, BarQuery, Decimal, FetchError, Interval, NewsArticle, NewsQuery, Provenance, ProviderId,
    Quote, Symbol, Timestamp,
};
use stockdata_app::ports::{BarSource, Capabilities, NewsSource, QuoteSource};

pub(crate) fn sym(s: &str) -> Symbol {
    Symbol::parse(s).unwrap()
}

pub(crate) fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

pub(crate) fn quote(provider: &str, symbol: &str, price: &str) -> Quote {
    Quote {
        symbol: sym(symbol),
        price: price.parse().unwrap(),
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
        as_of: ts("2024-03-08T21:00:00Z"),
        provenance: Provenance::new(ProviderId::new(provider), ts("2024-03-08T21:00:00Z")),
    }
}

pub(crate) fn daily_bar(provider: &str, symbol: &str, day: &str, close: &str) -> Bar {
    let c: Decimal = close.parse().unwrap();
    Bar {
        symbol: sym(symbol),
        interval: Interval::Day1,
        start: daily_bar_start(day.parse().unwrap()),
        open: c,
        high: c,
        low: c,
        close: c,
        volume: 1,
        vwap: None,
        trades: None,
        provenance: Provenance::new(ProviderId::new(provider), ts("2024-03-08T21:00:00Z")),
    }
}

pub(crate) fn article(
    provider: &str,
    id: &str,
    headline: &str,
    url: &str,
    at: &str,
) -> NewsArticle {
    NewsArticle {
        id: format!("{provider}:{id}"),
        headline: headline.to_owned(),
        summary: String::new(),
        url: url.to_owned(),
        source: "test".to_owned(),
        published_at: ts(at),
        symbols: vec![sym("AAPL")],
        author: None,
        image: None,
        sentiment: None,
        provenance: Provenance::new(ProviderId::new(provider), ts(at)),
    }
}

/// A scripted source: per-symbol answers, an optional delay, and counters of calls in flight.
#[derive(Debug)]
pub(crate) struct Fake {
    pub id: ProviderId,
    pub caps: Capabilities,
    pub delay: Duration,
    pub quotes: HashMap<String, Result<Quote, FetchError>>,
    pub bars: HashMap<String, Result<Vec<Bar>, FetchError>>,
    pub news: Result<Vec<NewsArticle>, FetchError>,
    pub calls: AtomicUsize,
    pub in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
    pub bar_queries: Mutex<Vec<BarQuery>>,
}

impl Fake {
    pub(crate) fn new(id: &str) -> Self {
        Self {
            id: ProviderId::new(id),
            caps: Capabilities {
                intervals: Interval::ALL.to_vec(),
                ..Capabilities::single_symbol()
            },
            delay: Duration::ZERO,
            quotes: HashMap::new(),
            bars: HashMap::new(),
            news: Ok(Vec::new()),
            calls: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            bar_queries: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn quote(mut self, symbol: &str, answer: Result<&str, FetchError>) -> Self {
        let id = self.id.to_string();
        self.quotes
            .insert(symbol.to_owned(), answer.map(|p| quote(&id, symbol, p)));
        self
    }

    pub(crate) fn bars(mut self, symbol: &str, answer: Result<Vec<Bar>, FetchError>) -> Self {
        self.bars.insert(symbol.to_owned(), answer);
        self
    }

    pub(crate) fn news(mut self, answer: Result<Vec<NewsArticle>, FetchError>) -> Self {
        self.news = answer;
        self
    }

    pub(crate) fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    pub(crate) fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    pub(crate) fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    async fn enter<T>(&self, answer: impl FnOnce() -> T) -> T {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        answer()
    }
}

#[async_trait]
impl QuoteSource for Fake {
    fn provider(&self) -> ProviderId {
        self.id.clone()
    }
    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }
    async fn quote(&self, symbol: &Symbol) -> Result<Quote, FetchError> {
        self.enter(|| {
            self.quotes
                .get(symbol.as_str())
                .cloned()
                .unwrap_or(Err(FetchError::UnknownSymbol {
                    symbol: symbol.clone(),
                }))
        })
        .await
    }
}

#[async_trait]
impl BarSource for Fake {
    fn provider(&self) -> ProviderId {
        self.id.clone()
    }
    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }
    async fn bars(&self, query: &BarQuery) -> Result<Vec<Bar>, FetchError> {
        self.bar_queries.lock().unwrap().push(query.clone());
        self.enter(|| {
            let all = self
                .bars
                .get(query.symbol.as_str())
                .cloned()
                .unwrap_or(Err(FetchError::NoData))?;
            let inside: Vec<Bar> = all
                .into_iter()
                .filter(|b| query.range.contains(b.start))
                .collect();
            if inside.is_empty() {
                Err(FetchError::NoData)
            } else {
                Ok(inside)
            }
        })
        .await
    }
}

#[async_trait]
impl NewsSource for Fake {
    fn provider(&self) -> ProviderId {
        self.id.clone()
    }
    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }
    async fn news(&self, _query: &NewsQuery) -> Result<Vec<NewsArticle>, FetchError> {
        self.enter(|| self.news.clone()).await
    }
}
