use std::sync::Arc;
use std::time::Duration;

use stockdata_app::StockData;
use stockdata_app::domain::{
    Adjustment, BatchBarQuery, DateRange, ErrorKind, FetchError, Interval, NewsQuery, ProviderId,
    TimeRange,
};
use stockdata_app::fetch::Outcome;
use stockdata_app::ports::{BarSource, Capabilities, FixedClock, NewsSource, QuoteSource};

use crate::fakes::{Fake, article, daily_bar, sym, ts};

fn stockdata(quotes: Vec<Arc<Fake>>) -> StockData {
    let mut b = StockData::builder().clock(Arc::new(FixedClock(ts("2024-03-08T21:00:00Z"))));
    for f in quotes {
        b = b
            .quote_source(f.clone() as Arc<dyn QuoteSource>)
            .bar_source(f.clone() as Arc<dyn BarSource>)
            .news_source(f as Arc<dyn NewsSource>);
    }
    b.build().unwrap()
}

fn trail(report_trail: &[stockdata_app::Attempt]) -> Vec<(String, &'static str)> {
    report_trail
        .iter()
        .map(|a| (a.provider.to_string(), a.outcome.as_str()))
        .collect()
}

#[tokio::test]
async fn fails_over_in_order_and_keeps_the_trail() {
    let a = Arc::new(
        Fake::new("a")
            .quote("AAPL", Err(FetchError::RateLimited { retry_after: None }))
            .quote("MSFT", Ok("400.1")),
    );
    let b = Arc::new(Fake::new("b").quote("AAPL", Ok("170.5")));
    let sd = stockdata(vec![a.clone(), b.clone()]);
    let reports = sd.prices().quotes(&[sym("AAPL"), sym("MSFT")]).await;
    let aapl = &reports[0];
    assert_eq!(aapl.result.as_ref().unwrap().price.to_string(), "170.5");
    assert_eq!(
        aapl.result.as_ref().unwrap().provenance.provider,
        ProviderId::new("b")
    );
    assert_eq!(
        trail(&aapl.trail),
        [("a".into(), "rate_limited"), ("b".into(), "ok")]
    );
    assert_eq!(trail(&reports[1].trail), [("a".into(), "ok")]);
    assert_eq!(b.calls(), 1, "MSFT was not asked of b");
}

#[tokio::test]
async fn when_all_fail_the_first_providers_error_is_reported() {
    let a =
        Arc::new(Fake::new("a").quote("AAPL", Err(FetchError::QuotaExhausted { resets_at: None })));
    let b = Arc::new(Fake::new("b"));
    let sd = stockdata(vec![a, b]);
    let report = sd.prices().quote(&sym("AAPL")).await;
    assert_eq!(
        report.result.unwrap_err(),
        FetchError::QuotaExhausted { resets_at: None }
    );
    assert_eq!(
        trail(&report.trail),
        [
            ("a".into(), "quota_exhausted"),
            ("b".into(), "unknown_symbol")
        ]
    );
}

#[tokio::test]
async fn an_invalid_request_is_not_failed_over() {
    let a = Arc::new(Fake::new("a").quote(
        "AAPL",
        Err(FetchError::InvalidRequest {
            reason: "bad".into(),
        }),
    ));
    let b = Arc::new(Fake::new("b").quote("AAPL", Ok("1")));
    let sd = stockdata(vec![a, b.clone()]);
    let report = sd.prices().quote(&sym("AAPL")).await;
    assert!(matches!(
        report.result,
        Err(FetchError::InvalidRequest { .. })
    ));
    assert_eq!(b.calls(), 0);
}

#[tokio::test]
async fn every_symbol_is_reported_under_mixed_failures() {
    let a = Arc::new(
        Fake::new("a")
            .quote("OK1", Ok("1"))
            .quote(
                "RL",
                Err(FetchError::RateLimited {
                    retry_after: Some(Duration::from_secs(3)),
                }),
            )
            .quote(
                "BAD",
                Err(FetchError::InvalidRequest {
                    reason: "no".into(),
                }),
            )
            .quote("TO", Err(FetchError::Timeout)),
    );
    let b = Arc::new(Fake::new("b").quote("RL", Ok("2")).quote(
        "TO",
        Err(FetchError::ProviderUnavailable { status: Some(503) }),
    ));
    let sd = stockdata(vec![a, b]);
    let asked = ["OK1", "RL", "BAD", "TO", "GONE", "OK1"].map(sym);
    let reports = sd.prices().quotes(&asked).await;
    let got: Vec<(&str, Result<String, ErrorKind>)> = reports
        .iter()
        .map(|r| {
            (
                r.symbol.as_str(),
                r.result
                    .as_ref()
                    .map(|q| q.price.to_string())
                    .map_err(FetchError::kind),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("OK1", Ok("1".to_owned())),
            ("RL", Ok("2".to_owned())),
            ("BAD", Err(ErrorKind::InvalidRequest)),
            ("TO", Err(ErrorKind::Timeout)),
            ("GONE", Err(ErrorKind::UnknownSymbol)),
            ("OK1", Ok("1".to_owned())),
        ]
    );
}

#[tokio::test]
async fn no_configured_provider_says_what_to_set() {
    let sd = StockData::builder().build().unwrap();
    let report = sd.prices().quote(&sym("AAPL")).await;
    let Err(FetchError::InvalidRequest { reason }) = report.result else {
        panic!()
    };
    assert!(
        reason.contains("ALPHAVANTAGE_API_KEY") && reason.contains("--sandbox"),
        "{reason}"
    );
}

#[tokio::test(start_paused = true)]
async fn single_symbol_providers_fan_out_under_the_bound() {
    let mut fake = Fake::new("slow").delay(Duration::from_millis(100));
    for i in 0..20 {
        fake = fake.quote(&format!("S{i}"), Ok("1"));
    }
    let fake = Arc::new(fake);
    let mut config = stockdata_app::config::Config::default();
    config.agent.concurrency = 3;
    let sd = StockData::builder()
        .config(config)
        .quote_source(fake.clone() as Arc<dyn QuoteSource>)
        .build()
        .unwrap();
    let symbols: Vec<_> = (0..20).map(|i| sym(&format!("S{i}"))).collect();
    let started = tokio::time::Instant::now();
    let reports = sd.prices().quotes(&symbols).await;
    assert!(reports.iter().all(|r| r.result.is_ok()));
    assert_eq!(fake.max_in_flight(), 3, "concurrent, never above the bound");
    assert!(
        started.elapsed() >= Duration::from_millis(700),
        "20 calls of 100 ms, 3 at a time"
    );
}

#[tokio::test]
async fn long_ranges_are_split_to_the_providers_limit_and_merged() {
    let mut fake = Fake::new("capped");
    fake.caps = Capabilities {
        intervals: vec![Interval::Day1],
        max_range_per_request: Some(Duration::from_secs(30 * 86_400)),
        ..Capabilities::single_symbol()
    };
    let days = [
        "2024-01-02",
        "2024-01-31",
        "2024-02-01",
        "2024-02-15",
        "2024-03-01",
        "2024-03-14",
    ];
    let mut bars: Vec<_> = days
        .iter()
        .map(|d| daily_bar("capped", "AAPL", d, "10"))
        .collect();
    bars.push(daily_bar("capped", "AAPL", "2024-01-31", "10"));
    let fake = Arc::new(fake.bars("AAPL", Ok(bars)));
    let sd = StockData::builder()
        .bar_source(fake.clone() as Arc<dyn BarSource>)
        .build()
        .unwrap();
    let range = DateRange::new("2024-01-01".parse().unwrap(), "2024-03-15".parse().unwrap())
        .unwrap()
        .to_time_range();
    let query = BatchBarQuery {
        symbols: vec![sym("AAPL")],
        interval: Interval::Day1,
        range,
        adjustment: Adjustment::Raw,
    };
    let report = sd.history().bars(&query).await.remove(0);
    let series = report.result.unwrap();
    let starts: Vec<String> = series
        .bars
        .iter()
        .map(|b| stockdata_app::domain::time::new_york_date(b.start).to_string())
        .collect();
    assert_eq!(starts, days, "merged, sorted, de-duplicated");
    let asked = fake.bar_queries.lock().unwrap().clone();
    assert_eq!(asked.len(), 3, "75 days in pieces of at most 30");
    assert_eq!(asked[0].range.start(), range.start());
    assert_eq!(asked[2].range.end(), range.end());
    assert!(
        asked
            .windows(2)
            .all(|w| w[0].range.end() == w[1].range.start()),
        "contiguous pieces"
    );
    assert!(
        !series.findings.is_empty(),
        "weekday gaps are reported as findings"
    );
}

#[tokio::test]
async fn unsupported_intervals_are_skipped_with_a_trail_entry() {
    let mut daily_only = Fake::new("daily_only");
    daily_only.caps.intervals = vec![Interval::Day1];
    let any = Fake::new("any").bars(
        "AAPL",
        Ok(vec![{
            let mut b = daily_bar("any", "AAPL", "2024-03-08", "5");
            b.interval = Interval::Hour1;
            b
        }]),
    );
    let sd = StockData::builder()
        .bar_source(Arc::new(daily_only) as Arc<dyn BarSource>)
        .bar_source(Arc::new(any) as Arc<dyn BarSource>)
        .build()
        .unwrap();
    let range = DateRange::new("2024-03-08".parse().unwrap(), "2024-03-08".parse().unwrap())
        .unwrap()
        .to_time_range();
    let report = sd
        .history()
        .bars(&BatchBarQuery {
            symbols: vec![sym("AAPL")],
            interval: Interval::Hour1,
            range,
            adjustment: Adjustment::Raw,
        })
        .await
        .remove(0);
    assert!(report.result.is_ok());
    assert_eq!(report.trail[0].outcome, Outcome::Skipped);
}

#[tokio::test]
async fn news_from_every_provider_merged_and_deduplicated() {
    let a = Fake::new("a").news(Ok(vec![
        article(
            "a",
            "1",
            "Apple unveils new chip",
            "https://www.example.com/story?utm_source=x",
            "2024-03-08T15:00:00Z",
        ),
        article(
            "a",
            "2",
            "Apple beats estimates",
            "https://example.com/beats",
            "2024-03-08T10:00:00Z",
        ),
    ]));
    let b = Fake::new("b").news(Ok(vec![
        // Same story, same canonical URL.
        article(
            "b",
            "9",
            "Apple unveils its new chip",
            "https://example.com/story/",
            "2024-03-08T15:05:00Z",
        ),
        // Same headline within the window (different URL).
        article(
            "b",
            "8",
            "APPLE BEATS ESTIMATES!",
            "https://other.com/x",
            "2024-03-08T12:00:00Z",
        ),
        // Same headline, a day later: a new story.
        article(
            "b",
            "7",
            "Apple beats estimates",
            "https://other.com/y",
            "2024-03-09T12:00:00Z",
        ),
    ]));
    let c = Fake::new("c").news(Err(FetchError::Unauthorized));
    let sd = StockData::builder()
        .news_source(Arc::new(a) as Arc<dyn NewsSource>)
        .news_source(Arc::new(b) as Arc<dyn NewsSource>)
        .news_source(Arc::new(c) as Arc<dyn NewsSource>)
        .build()
        .unwrap();
    let query = NewsQuery {
        symbols: vec![sym("AAPL")],
        range: TimeRange::new(ts("2024-03-01T00:00:00Z"), ts("2024-03-10T00:00:00Z")).unwrap(),
        limit: 10,
    };
    let report = sd.news().news(&query).await;
    let ids: Vec<String> = report.result.unwrap().into_iter().map(|a| a.id).collect();
    assert_eq!(
        ids,
        ["b:7", "a:1", "a:2"],
        "newest first, one per story, its first publication kept"
    );
    let outcomes: Vec<&str> = report.trail.iter().map(|a| a.outcome.as_str()).collect();
    assert_eq!(outcomes, ["ok", "ok", "unauthorized"]);
}

#[tokio::test]
async fn news_for_each_batches_where_the_provider_allows() {
    let mut multi = Fake::new("multi");
    multi.caps = Capabilities {
        max_symbols_per_request: 100,
        ..Capabilities::single_symbol()
    };
    let mut both = article(
        "multi",
        "3",
        "Chips for everyone",
        "https://e.com/3",
        "2024-03-08T11:00:00Z",
    );
    both.symbols = vec![sym("AAPL"), sym("NVDA")];
    let mut nvda = article(
        "multi",
        "4",
        "NVDA only",
        "https://e.com/4",
        "2024-03-08T12:00:00Z",
    );
    nvda.symbols = vec![sym("NVDA")];
    let multi = Arc::new(multi.news(Ok(vec![both, nvda])));
    let single = Arc::new(Fake::new("single").news(Ok(vec![article(
        "single",
        "9",
        "Apple again",
        "https://e.com/9",
        "2024-03-08T13:00:00Z",
    )])));
    // `[news] merge = "all"`: every provider about every symbol.
    let mut config = stockdata_app::config::Config::default();
    config.news.merge = stockdata_app::fetch::NewsMerge::All;
    let sd = StockData::builder()
        .config(config)
        .news_source(multi.clone() as Arc<dyn NewsSource>)
        .news_source(single.clone() as Arc<dyn NewsSource>)
        .build()
        .unwrap();
    let range = TimeRange::new(ts("2024-03-08T00:00:00Z"), ts("2024-03-09T00:00:00Z")).unwrap();
    let reports = sd
        .news()
        .news_for_each(&[sym("AAPL"), sym("NVDA"), sym("MSFT")], range, 10)
        .await;
    assert_eq!(multi.calls(), 1, "one request for every symbol");
    assert_eq!(
        single.calls(),
        3,
        "one per symbol where the provider takes one"
    );
    let ids = |s: &str| -> Vec<String> {
        reports[&sym(s)]
            .result
            .as_ref()
            .unwrap()
            .iter()
            .map(|a| a.id.clone())
            .collect()
    };
    assert_eq!(ids("NVDA"), ["single:9", "multi:4", "multi:3"]);
    assert_eq!(
        ids("MSFT"),
        ["single:9"],
        "the single-symbol fake answers the same for every symbol"
    );
    assert_eq!(reports.len(), 3);
}

fn with_adjustment(
    provider: &str,
    day: &str,
    adjustment: Adjustment,
) -> stockdata_app::domain::Bar {
    let mut bar = daily_bar(provider, "AAPL", day, "10");
    bar.provenance = bar.provenance.with_adjustment(adjustment);
    bar
}

/// A named adjustment is served exactly: a provider that cannot serve it is skipped (no
/// request), one that answers with another adjustment anyway counts as failed, and the next
/// provider answers; without `exact`, the first provider serves its own and says which.
#[tokio::test]
async fn a_named_adjustment_is_served_exactly_or_fails_over() {
    let mut split_only = Fake::new("split_only");
    split_only.caps.adjustments = vec![Adjustment::Split];
    let split_only = Arc::new(split_only.bars(
        "AAPL",
        Ok(vec![with_adjustment(
            "split_only",
            "2024-03-08",
            Adjustment::Split,
        )]),
    ));
    // Claims every adjustment, answers split-adjusted bars whatever is asked.
    let liar = Arc::new(Fake::new("liar").bars(
        "AAPL",
        Ok(vec![with_adjustment(
            "liar",
            "2024-03-08",
            Adjustment::Split,
        )]),
    ));
    let honest = Arc::new(Fake::new("honest").bars(
        "AAPL",
        Ok(vec![with_adjustment(
            "honest",
            "2024-03-08",
            Adjustment::All,
        )]),
    ));
    let sd = StockData::builder()
        .bar_source(split_only.clone() as Arc<dyn BarSource>)
        .bar_source(liar.clone() as Arc<dyn BarSource>)
        .bar_source(honest.clone() as Arc<dyn BarSource>)
        .build()
        .unwrap();
    let range = DateRange::new("2024-03-08".parse().unwrap(), "2024-03-08".parse().unwrap())
        .unwrap()
        .to_time_range();
    let query = BatchBarQuery {
        symbols: vec![sym("AAPL")],
        interval: Interval::Day1,
        range,
        adjustment: Adjustment::All,
    };
    let report = sd.history().exact().bars(&query).await.remove(0);
    assert_eq!(
        trail(&report.trail),
        [
            ("split_only".to_owned(), "skipped"),
            ("liar".to_owned(), "malformed"),
            ("honest".to_owned(), "ok"),
        ]
    );
    let bars = report.result.unwrap().bars;
    assert_eq!(bars[0].provenance.adjustment, Some(Adjustment::All));
    assert_eq!(
        split_only.calls(),
        0,
        "never asked for what it cannot serve"
    );

    // Not exact: the first provider answers with its own adjustment, labelled.
    let report = sd.history().bars(&query).await.remove(0);
    let bars = report.result.unwrap().bars;
    assert_eq!(bars[0].provenance.provider.as_str(), "split_only");
    assert_eq!(bars[0].provenance.adjustment, Some(Adjustment::Split));

    // Nobody serves it: invalid_request naming what each serves, and nothing is sent.
    let only = StockData::builder()
        .bar_source(split_only.clone() as Arc<dyn BarSource>)
        .build()
        .unwrap();
    let calls = split_only.calls();
    let report = only.history().exact().bars(&query).await.remove(0);
    let err = report.result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    assert!(err.to_string().contains("split_only serves split"), "{err}");
    assert_eq!(split_only.calls(), calls);
}
