//! Pacing: a caller over quota waits, or is told the quota is exhausted, instead of sending.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use stockdata_adapters_http::alpha_vantage::AlphaVantage;
use stockdata_adapters_http::transport::{Call, Pacer, PacerRegistry, RateWindow, Transport};
use stockdata_domain::{FetchError, ProviderId};
use stockdata_ports::QuoteSource;
use tokio::time::Instant;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{av_config, clock, fast_transport, json, sym};

fn n(v: u32) -> NonZeroU32 {
    NonZeroU32::new(v).unwrap()
}

/// The instants (from the first call) at which `count` sequential acquires were let go.
async fn schedule(pacer: &Pacer, count: usize) -> Vec<Duration> {
    let start = Instant::now();
    let mut at = Vec::with_capacity(count);
    for _ in 0..count {
        pacer.acquire().await.unwrap();
        at.push(start.elapsed());
    }
    at
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

#[tokio::test(start_paused = true)]
async fn call_n_plus_one_waits_for_the_window() {
    let window = RateWindow::per_minute(n(3));
    assert_eq!(
        window.margin(),
        ms(260),
        "200 ms of skew plus 0.1% of the minute"
    );
    let pacer = Pacer::new(&[window], Duration::ZERO);
    for _ in 0..3 {
        assert_eq!(
            pacer.acquire().await.unwrap(),
            Duration::ZERO,
            "the first N go at once"
        );
    }
    // Not one refill later (governor's GCRA let it go after 20 s, a 4th request in every
    // minute window starting before the first): the whole window and its margin later.
    assert_eq!(pacer.acquire().await.unwrap(), ms(60_260));
}

#[tokio::test(start_paused = true)]
async fn sub_minute_windows_let_their_count_go_at_once() {
    let pacer = Pacer::new(&[RateWindow::per_second(n(4))], Duration::ZERO);
    // Four at once, the fifth a second and the margin (201 ms) after the first.
    let at = schedule(&pacer, 9).await;
    let expect = [0, 0, 0, 0, 1201, 1201, 1201, 1201, 2402].map(ms);
    assert_eq!(at, expect);
}

#[tokio::test(start_paused = true)]
async fn several_windows_at_once() {
    // 5 per minute and 2 per second: the per-second window lets 2 go per 1.201 s, the
    // per-minute window stops the 6th until a minute (and 260 ms) after the first.
    let pacer = Pacer::new(
        &[RateWindow::per_second(n(2)), RateWindow::per_minute(n(5))],
        Duration::ZERO,
    );
    let at = schedule(&pacer, 7).await;
    assert_eq!(at, [0, 0, 1201, 1201, 2402, 60_260, 60_260].map(ms));
    let stats = pacer.stats().snapshot();
    // The 3rd, 5th and 6th waited; the others found their slot free when they asked.
    assert_eq!((stats.waits, stats.waited_ms), (3, 1201 + 1201 + 57_858));
}

#[tokio::test(start_paused = true)]
async fn finnhub_free_tier_300_requests() {
    // 60/min and 30/s: 30 at once, 30 more 1.201 s later, then the next 60 a minute (and
    // 260 ms) after the first ones, and so on: 300 requests in 242.2 s, never 61 in a minute.
    let pacer = Pacer::new(
        &[RateWindow::per_minute(n(60)), RateWindow::per_second(n(30))],
        Duration::ZERO,
    );
    let at = schedule(&pacer, 300).await;
    for (i, chunk) in at.chunks(30).enumerate() {
        let minute = u64::try_from(i / 2).unwrap() * 60_260;
        let second = u64::try_from(i % 2).unwrap() * 1201;
        assert!(
            chunk.iter().all(|&t| t == ms(minute + second)),
            "chunk {i}: {chunk:?}"
        );
    }
    assert_eq!(at[299], ms(242_241));
}

#[tokio::test(start_paused = true)]
async fn alpaca_free_tier_lets_200_go_at_once() {
    let pacer = Pacer::new(&[RateWindow::per_minute(n(200))], Duration::ZERO);
    let at = schedule(&pacer, 201).await;
    assert!(at[..200].iter().all(|t| t.is_zero()));
    assert_eq!(at[200], ms(60_260));
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
    // Not after half a day (the GCRA refill: a 3rd request in every day window starting
    // before the first): a day and its margin (86.6 s) after the first request, which went
    // 1.201 s ago (the second waited for the 1/s window).
    let in_secs = at.as_second() - jiff::Timestamp::now().as_second();
    assert!(
        (86_484..=86_486).contains(&in_secs),
        "next request allowed in a day and 86.6 s less 1.2 s, got {in_secs} s"
    );
    let day = pacer.remaining()[0];
    assert_eq!(
        day.remaining, 0,
        "the refused request consumed nothing, and was not sent"
    );
    assert_eq!(day.next_free_in, Duration::from_millis(86_486_600 - 1201));
}

#[tokio::test(start_paused = true)]
async fn a_quota_wait_within_max_quota_wait_is_waited_out() {
    let pacer = Pacer::new(
        &[RateWindow::per_day(n(1))],
        Duration::from_secs(2 * 86_400),
    );
    let at = schedule(&pacer, 2).await;
    assert_eq!(at, [Duration::ZERO, ms(86_486_600)]);
}

#[tokio::test(start_paused = true)]
async fn an_absurdly_long_window_is_refused_not_a_panic() {
    let forever = RateWindow {
        requests: n(1),
        per: Duration::MAX,
    };
    let pacer = Pacer::new(&[forever], Duration::ZERO);
    pacer.acquire().await.unwrap();
    let err = pacer.acquire().await.unwrap_err();
    assert!(matches!(err, FetchError::QuotaExhausted { .. }), "{err:?}");
    assert_eq!(pacer.remaining()[0].remaining, 0);
}

#[tokio::test(start_paused = true)]
async fn remaining_says_what_can_go_now_and_when_the_next_slot_frees() {
    let pacer = Pacer::new(
        &[RateWindow::per_second(n(30)), RateWindow::per_minute(n(60))],
        Duration::ZERO,
    );
    let fresh = pacer.remaining();
    let states: Vec<_> = fresh
        .iter()
        .map(|s| (s.window, s.remaining, s.next_free_in))
        .collect();
    assert_eq!(
        states,
        [
            (RateWindow::per_minute(n(60)), 60, Duration::ZERO),
            (RateWindow::per_second(n(30)), 30, Duration::ZERO),
        ],
        "longest window first; nothing in use"
    );
    assert_eq!(pacer.ready_in(), Duration::ZERO);

    for _ in 0..10 {
        pacer.acquire().await.unwrap();
    }
    tokio::time::advance(ms(500)).await;
    let [minute, second] = pacer.remaining()[..] else {
        panic!("two windows")
    };
    assert_eq!((minute.remaining, minute.next_free_in), (50, ms(59_760)));
    assert_eq!((second.remaining, second.next_free_in), (20, ms(701)));

    for _ in 0..20 {
        pacer.acquire().await.unwrap();
    }
    let [minute, second] = pacer.remaining()[..] else {
        panic!("two windows")
    };
    assert_eq!((minute.remaining, second.remaining), (30, 0));
    assert_eq!(
        second.next_free_in,
        ms(701),
        "the oldest of the 30 frees first"
    );
    let ready_at = pacer.ready_at();
    assert_eq!(pacer.ready_in(), ms(701));

    // A caller waiting for its slot holds it: the planner sees it as used.
    let waiting = {
        let pacer = Arc::new(pacer);
        let handle = tokio::spawn({
            let pacer = Arc::clone(&pacer);
            async move {
                pacer.acquire().await.unwrap();
                Instant::now()
            }
        });
        tokio::task::yield_now().await;
        let [minute, _] = pacer.remaining()[..] else {
            panic!("two windows")
        };
        assert_eq!(minute.remaining, 29);
        handle.await.unwrap()
    };
    assert_eq!(
        waiting, ready_at,
        "the request went exactly when ready_at said"
    );
}

#[tokio::test(start_paused = true)]
async fn callers_sharing_a_pacer_are_served_in_order() {
    let pacer = Arc::new(Pacer::new(&[RateWindow::per_second(n(1))], Duration::ZERO));
    let start = Instant::now();
    let tasks: Vec<_> = (0..4u64)
        .map(|i| {
            let pacer = Arc::clone(&pacer);
            tokio::spawn(async move {
                tokio::time::sleep(ms(i)).await;
                pacer.acquire().await.unwrap();
                start.elapsed()
            })
        })
        .collect();
    let mut at = Vec::new();
    for task in tasks {
        at.push(task.await.unwrap());
    }
    assert_eq!(at, [0, 1201, 2402, 3603].map(ms));
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

/// One GET through the real transport (its retry loop), answering the status it got.
async fn get_status(transport: &Transport, server: &MockServer) -> Result<u16, FetchError> {
    let provider = ProviderId::from_static("test");
    let call = Call {
        provider: &provider,
        endpoint: "/x",
        url: format!("{}/x", server.uri()).parse().unwrap(),
        headers: Vec::new(),
        symbol: None,
        send_request_id: false,
    };
    transport.get(call, |resp| Ok(resp.status)).await
}

#[tokio::test]
async fn every_attempt_takes_a_permit() {
    // 429, then 503, then 200: three attempts, three permits.
    let server = MockServer::start().await;
    let throttled = ResponseTemplate::new(429).insert_header("retry-after", "0");
    Mock::given(path("/x"))
        .respond_with(throttled)
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/x"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/x"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let pacer = Arc::new(Pacer::new(&[RateWindow::per_day(n(3))], Duration::ZERO));
    let transport = Transport::new(fast_transport(), Arc::clone(&pacer)).unwrap();
    assert_eq!(get_status(&transport, &server).await.unwrap(), 200);
    let stats = pacer.stats().snapshot();
    assert_eq!((stats.requests, stats.retries, stats.throttled), (3, 2, 1));
    assert_eq!(
        pacer.remaining()[0].remaining,
        0,
        "each attempt used the day's quota"
    );
}

#[tokio::test]
async fn a_retry_the_quota_cannot_cover_is_not_sent() {
    let server = MockServer::start().await;
    Mock::given(path("/x"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let pacer = Arc::new(Pacer::new(&[RateWindow::per_day(n(1))], Duration::ZERO));
    let transport = Transport::new(fast_transport(), Arc::clone(&pacer)).unwrap();
    let err = get_status(&transport, &server).await.unwrap_err();
    assert!(matches!(err, FetchError::QuotaExhausted { .. }), "{err:?}");
    // `.expect(1)`: the retry asked the pacer, was refused, and never reached the provider.
    assert_eq!(pacer.stats().snapshot().requests, 1);
}
