use std::sync::Arc;
use std::time::Duration;

use stockdata_app::domain::FetchError;
use stockdata_app::ports::{BarSource, FixedClock, NewsSource, QuoteSource};
use stockdata_app::{CancellationToken, StockData};

use crate::fakes::{Fake, article, daily_bar, sym, ts};

fn build(fake: Arc<Fake>, concurrency: usize) -> StockData {
    let mut config = stockdata_app::config::Config::default();
    config.agent.concurrency = concurrency;
    config.agent.history_days = 5;
    StockData::builder()
        .config(config)
        .clock(Arc::new(FixedClock(ts("2024-03-08T21:00:00Z"))))
        .quote_source(fake.clone() as Arc<dyn QuoteSource>)
        .bar_source(fake.clone() as Arc<dyn BarSource>)
        .news_source(fake as Arc<dyn NewsSource>)
        .build()
        .unwrap()
}

fn watchlist_fake(delay: Duration) -> Fake {
    let mut fake = Fake::new("fake").delay(delay).news(Ok(vec![article(
        "fake",
        "1",
        "Headline",
        "https://e.com/1",
        "2024-03-08T12:00:00Z",
    )]));
    for s in ["AAPL", "MSFT", "NVDA", "AMD", "TSLA", "META"] {
        fake = fake.quote(s, Ok("100")).bars(
            s,
            Ok(vec![
                daily_bar("fake", s, "2024-03-07", "99"),
                daily_bar("fake", s, "2024-03-08", "100"),
            ]),
        );
    }
    fake
}

#[tokio::test(start_paused = true)]
async fn one_entry_per_symbol_under_the_concurrency_bound() {
    let fake = Arc::new(watchlist_fake(Duration::from_millis(50)));
    let sd = build(fake.clone(), 2);
    let watchlist = [
        "AAPL", "MSFT", "NVDA", "ZZZZ", "AMD", "TSLA", "META", "AAPL",
    ]
    .map(sym);
    let progress = std::sync::Mutex::new(Vec::new());
    let report = sd
        .agent()
        .run(&watchlist, &CancellationToken::new(), &|done, total| {
            progress.lock().unwrap().push((done, total))
        })
        .await;
    assert_eq!(report.symbols.len(), watchlist.len());
    for (asked, entry) in watchlist.iter().zip(&report.symbols) {
        assert_eq!(&entry.symbol, asked);
    }
    let zzzz = &report.symbols[3];
    assert!(matches!(zzzz.quote, Err(FetchError::UnknownSymbol { .. })));
    assert_eq!(zzzz.bars.as_ref().unwrap_err(), &FetchError::NoData);
    let aapl = &report.symbols[0];
    assert_eq!(aapl.bars.as_ref().unwrap().bars.len(), 2);
    assert_eq!(aapl.news.as_ref().unwrap().len(), 1);
    assert!(
        fake.max_in_flight() <= 2,
        "never above the bound: {}",
        fake.max_in_flight()
    );
    assert_eq!(fake.max_in_flight(), 2, "but concurrent");
    assert_eq!(
        report.stats.complete, 7,
        "AAPL was asked twice and is reported twice"
    );
    assert_eq!(report.stats.partial, 1);
    assert_eq!(
        report.stats.calls,
        vec![(stockdata_app::domain::ProviderId::new("fake"), 21)]
    );
    assert_eq!(
        progress.lock().unwrap().last(),
        Some(&(7, 7)),
        "7 distinct symbols"
    );
}

#[tokio::test(start_paused = true)]
async fn cancellation_keeps_what_finished_and_marks_the_rest() {
    // Quotes and bars answer at once; news takes an hour.
    let quick = watchlist_fake(Duration::ZERO);
    let slow_news = Arc::new(
        Fake::new("slow")
            .delay(Duration::from_secs(3600))
            .news(Ok(Vec::new())),
    );
    let quick = Arc::new(quick);
    let sd = StockData::builder()
        .clock(Arc::new(FixedClock(ts("2024-03-08T21:00:00Z"))))
        .quote_source(quick.clone() as Arc<dyn QuoteSource>)
        .bar_source(quick as Arc<dyn BarSource>)
        .news_source(slow_news as Arc<dyn NewsSource>)
        .build()
        .unwrap();
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        trigger.cancel();
    });
    let started = tokio::time::Instant::now();
    let report = sd
        .agent()
        .run(&[sym("AAPL"), sym("MSFT")], &cancel, &|_, _| {})
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "returned on cancel"
    );
    for entry in &report.symbols {
        assert!(entry.quote.is_ok());
        assert!(entry.bars.is_ok());
        assert_eq!(entry.news.as_ref().unwrap_err(), &FetchError::Cancelled);
    }
}
