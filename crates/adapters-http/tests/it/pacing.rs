//! Pacing: a caller over quota waits, or is told the quota is exhausted, instead of sending.

use std::num::NonZeroU32;
use std::time::Duration;

use stockdata_adapters_http::alpha_vantage::AlphaVantage;
use stockdata_adapters_http::transport::{Pacer, PacerRegistry, RateWindow};
use stockdata_domain::FetchError;
use stockdata_ports::QuoteSource;
use tokio::time::Instant;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer};

use crate::support::{av_config, clock, json, sym};

fn n(v: u32) -> NonZeroU32 {
    NonZeroU32::new(v).unwrap()
}

#[tokio::test(start_paused = true)]
async fn call_n_plus_one_waits_for_the_window() {
    let pacer = Pacer::new(&[RateWindow::per_minute(n(3))], Duration::ZERO);
    let start = Instant::now();
    for _ in 0..3 {
        assert_eq!(pacer.acquire().await.unwrap(), Duration::ZERO);
    }
    assert_eq!(start.elapsed(), Duration::ZERO, "the first N go at once");
    let waited = pacer.acquire().await.unwrap();
    assert!(
        waited >= Duration::from_secs(20) && waited <= Duration::from_millis(20_450),
        "call N+1 waits one refill (60 s / 3, with 2% + 10 ms headroom), waited {waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn sub_minute_windows_are_paced_evenly() {
    let pacer = Pacer::new(&[RateWindow::per_second(n(4))], Duration::ZERO);
    let start = Instant::now();
    let mut at = Vec::new();
    for _ in 0..5 {
        pacer.acquire().await.unwrap();
        at.push(start.elapsed().as_millis());
    }
    // 250 ms apart (+2% + 10 ms): never more than 4 in any one-second window.
    assert_eq!(at, [0, 265, 530, 795, 1060]);
}

#[tokio::test(start_paused = true)]
async fn several_windows_at_once() {
    // 5 per minute and 2 per second: the per-second window spaces the requests, the
    // per-minute window stops them.
    let pacer = Pacer::new(
        &[RateWindow::per_second(n(2)), RateWindow::per_minute(n(5))],
        Duration::ZERO,
    );
    let start = Instant::now();
    for _ in 0..5 {
        pacer.acquire().await.unwrap();
    }
    let five = start.elapsed();
    assert!(
        five >= Duration::from_millis(2000) && five < Duration::from_millis(2200),
        "four gaps of 520 ms: {five:?}"
    );
    pacer.acquire().await.unwrap();
    assert!(
        start.elapsed() >= Duration::from_secs(12),
        "the 6th waits for the minute window"
    );
}

#[tokio::test(start_paused = true)]
async fn daily_quota_answers_quota_exhausted_without_consuming() {
    let pacer = Pacer::new(
        &[RateWindow::per_day(n(2)), RateWindow::per_second(n(1))],
        Duration::from_secs(60),
    );
    pacer.acquire().await.unwrap();
    pacer.acquire().await.unwrap();
    let err = pacer.acquire().await.unwrap_err();
    let FetchError::QuotaExhausted {
        resets_at: Some(at),
    } = err
    else {
        panic!("expected QuotaExhausted with a reset time, got {err:?}");
    };
    let hours = (at.as_second() - jiff::Timestamp::now().as_second()) as f64 / 3600.0;
    assert!(
        (12.0..=12.5).contains(&hours),
        "next request allowed in ~12h (plus headroom), got {hours}h"
    );
}

#[tokio::test]
async fn one_pacer_per_key_shared_by_every_client() {
    let server = MockServer::start().await;
    Mock::given(path("/query"))
        .respond_with(json("alphavantage_global_quote.json"))
        .expect(2)
        .mount(&server)
        .await;
    let registry = PacerRegistry::new();
    let config = || {
        let mut c = av_config(&server.uri());
        c.windows = vec![RateWindow::per_day(n(2))];
        c
    };
    let a = AlphaVantage::new(config(), &registry, clock("2024-01-02T15:00:00Z")).unwrap();
    let b = AlphaVantage::new(config(), &registry, clock("2024-01-02T15:00:00Z")).unwrap();
    a.quote(&sym("MSFT")).await.unwrap();
    b.quote(&sym("MSFT")).await.unwrap();
    let err = a.quote(&sym("MSFT")).await.unwrap_err();
    assert!(matches!(err, FetchError::QuotaExhausted { .. }), "{err:?}");
    // `.expect(2)`: the third request was never sent.
}
