//! Quota budgets and the news policy, at the ports: fakes whose calls are counted.

use std::sync::Arc;

use stockdata_app::config::Config;
use stockdata_app::domain::{FetchError, ProviderId};
use stockdata_app::fetch::NewsMerge;
use stockdata_app::ports::{Capabilities, FixedClock, NewsSource, QuoteSource};
use stockdata_app::{CancellationToken, StockData};

use crate::fakes::{Fake, article, sym, ts};

fn config(share: f64, merge: NewsMerge) -> Config {
    let mut config = Config::default();
    config.agent.daily_quota_share = share;
    config.news.merge = merge;
    config
}

fn multi(fake: Fake) -> Fake {
    let mut fake = fake;
    fake.caps = Capabilities {
        max_symbols_per_request: 100,
        ..fake.caps
    };
    fake
}

#[tokio::test]
async fn a_run_spends_at_most_its_share_of_a_daily_quota() {
    let mut scarce = Fake::new("scarce");
    let symbols: Vec<String> = (0..20).map(|i| format!("S{i}")).collect();
    for s in &symbols {
        scarce = scarce.quote(s, Ok("10"));
    }
    let scarce = Arc::new(scarce);
    let sd = StockData::builder()
        .config(config(0.5, NewsMerge::Budget))
        .clock(Arc::new(FixedClock(ts("2024-03-08T21:00:00Z"))))
        .quote_source(scarce.clone() as Arc<dyn QuoteSource>)
        .daily_quota(ProviderId::new("scarce"), 10)
        .build()
        .unwrap();
    let watchlist: Vec<_> = symbols.iter().map(|s| sym(s)).collect();
    let agent = sd.agent();
    let report = agent
        .run(&watchlist, &CancellationToken::new(), &|_, _| {})
        .await;
    assert_eq!(scarce.calls(), 5, "half of 10 a day");
    assert_eq!(report.symbols.len(), 20, "every symbol reported");
    let over: Vec<_> = report
        .symbols
        .iter()
        .filter(|s| matches!(s.quote, Err(FetchError::QuotaExhausted { .. })))
        .collect();
    assert_eq!(over.len(), 15);
    assert!(
        over.iter().all(|s| s
            .quote_trail
            .iter()
            .any(|a| a.outcome.as_str() == "over_budget")),
        "the trail says why"
    );
    // The next run of the same agent has its budget again; one-shot fetchers have none.
    agent
        .run(&watchlist[..2], &CancellationToken::new(), &|_, _| {})
        .await;
    assert_eq!(scarce.calls(), 7);
    let direct = sd.prices().quotes(&watchlist).await;
    assert!(direct.iter().all(|r| r.result.is_ok()));
}

#[tokio::test]
async fn scarce_providers_are_not_asked_about_symbols_already_unknown() {
    let batch = Arc::new(multi(Fake::new("batch").quote("AAPL", Ok("1"))));
    let scarce = Arc::new(Fake::new("scarce").quote("AAPL", Ok("2")));
    let plain = Arc::new(Fake::new("plain"));
    let sd = StockData::builder()
        .config(config(0.5, NewsMerge::Budget))
        .quote_source(batch.clone() as Arc<dyn QuoteSource>)
        .quote_source(scarce.clone() as Arc<dyn QuoteSource>)
        .quote_source(plain.clone() as Arc<dyn QuoteSource>)
        .daily_quota(ProviderId::new("scarce"), 25)
        .build()
        .unwrap();
    let report = sd
        .agent()
        .run(
            &[sym("AAPL"), sym("ZZZZ")],
            &CancellationToken::new(),
            &|_, _| {},
        )
        .await;
    assert_eq!(
        scarce.calls(),
        0,
        "not spent on a symbol the first provider does not know"
    );
    assert_eq!(
        plain.calls(),
        1,
        "an unlimited provider still gets its chance"
    );
    let zzzz = &report.symbols[1];
    let outcomes: Vec<&str> = zzzz
        .quote_trail
        .iter()
        .map(|a| a.outcome.as_str())
        .collect();
    assert_eq!(outcomes, ["unknown_symbol", "skipped", "unknown_symbol"]);
}

fn news_sources(merge: NewsMerge) -> (StockData, Arc<Fake>, Arc<Fake>) {
    // The batch provider has news about AAPL only; the per-symbol one has some for anyone.
    let batch = Arc::new(multi(Fake::new("batch").news(Ok(vec![article(
        "batch",
        "1",
        "Apple",
        "https://e.invalid/1",
        "2024-03-08T12:00:00Z",
    )]))));
    let single = Arc::new(Fake::new("single").news(Ok(vec![article(
        "single",
        "2",
        "Other",
        "https://e.invalid/2",
        "2024-03-08T13:00:00Z",
    )])));
    let sd = StockData::builder()
        .config(config(0.5, merge))
        .clock(Arc::new(FixedClock(ts("2024-03-08T21:00:00Z"))))
        .news_source(batch.clone() as Arc<dyn NewsSource>)
        .news_source(single.clone() as Arc<dyn NewsSource>)
        .build()
        .unwrap();
    (sd, batch, single)
}

#[tokio::test]
async fn news_merge_policies_decide_who_is_asked() {
    let watchlist = [sym("AAPL"), sym("NVDA"), sym("MSFT")];
    for (merge, single_calls) in [
        (NewsMerge::All, 3),
        (NewsMerge::Budget, 2), // only the symbols still without articles
        (NewsMerge::First, 0),  // the batch provider answered every symbol (some with none)
    ] {
        let (sd, batch, single) = news_sources(merge);
        let report = sd
            .agent()
            .run(&watchlist, &CancellationToken::new(), &|_, _| {})
            .await;
        assert_eq!(batch.calls(), 1, "{merge:?}: one request for the batch");
        assert_eq!(single.calls(), single_calls, "{merge:?}");
        assert!(report.symbols.iter().all(|s| s.news.is_ok()), "{merge:?}");
    }
}
