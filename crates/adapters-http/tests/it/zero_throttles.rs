//! Zero throttles, provably: whatever the alignment of a provider's fixed windows, the instants
//! the pacer lets requests go keep every window under its limit, retries included.
//!
//! The model is the provider's counter (fixed windows of `per`, starting at `offset + k·per`);
//! the property drives the real [`Pacer`] under tokio's paused clock with random arrival
//! patterns, several callers sharing one pacer, transient failures retried through the pacer,
//! random window alignments and random network delays up to the pacer's safety margin.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proptest::prelude::*;
use stockdata_adapters_http::transport::{Pacer, RateWindow};
use tokio::time::Instant;

/// One fixed window as a provider counts it: at most `limit` arrivals in every
/// `[offset + k·per, offset + (k+1)·per)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FixedWindow {
    limit: u32,
    per: Duration,
    offset: Duration,
}

/// A fixed window that received more than its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Violation {
    window: FixedWindow,
    /// Where the window starts, in nanoseconds from the origin (negative: before it).
    start_ns: i128,
    count: u32,
}

/// Every fixed window of `windows` holding more than its limit, given when each request
/// arrived (from any origin; the offsets are relative to the same origin).
fn violations(windows: &[FixedWindow], arrivals: &[Duration]) -> Vec<Violation> {
    let mut sorted = arrivals.to_vec();
    sorted.sort();
    let mut found = Vec::new();
    for &window in windows {
        let per = window.per.as_nanos();
        let offset = window.offset.as_nanos() % per;
        // Window k is [offset + (k-1)·per, offset + k·per): k ≥ 0 for every arrival, and
        // sorted arrivals fill the windows in order.
        let index = |at: &Duration| (at.as_nanos() + per - offset) / per;
        for run in sorted.chunk_by(|a, b| index(a) == index(b)) {
            let count = u32::try_from(run.len()).unwrap();
            if count > window.limit {
                let k = index(&run[0]);
                let start =
                    i128::try_from(k * per + offset).unwrap() - i128::try_from(per).unwrap();
                found.push(Violation {
                    window,
                    start_ns: start,
                    count,
                });
            }
        }
    }
    found
}

/// The offsets at which a window of `per` starts exactly at an arrival. Any interval of length
/// `per` holding `limit + 1` arrivals can slide right until it starts at its first one, so
/// these alignments are the worst: no violation at any of them means none at any alignment.
fn worst_offsets(per: Duration, arrivals: &[Duration]) -> Vec<Duration> {
    let per = per.as_nanos();
    let mut offsets: Vec<Duration> = arrivals
        .iter()
        .map(|at| nanos(at.as_nanos() % per))
        .collect();
    offsets.sort();
    offsets.dedup();
    offsets
}

/// The sandbox's rule (`crates/sandbox/src/quota.rs`): each window starts at the first request
/// after the previous one ended; a refused request counts in no window. How many it refuses.
fn sandbox_refusals(windows: &[RateWindow], arrivals: &[Duration]) -> usize {
    let mut state: Vec<(Duration, u32)> = vec![(Duration::ZERO, 0); windows.len()];
    let mut started = vec![false; windows.len()];
    let mut refused = 0;
    for &now in arrivals {
        let mut admit = true;
        for (i, w) in windows.iter().enumerate() {
            if !started[i] || now - state[i].0 >= w.per {
                state[i] = (now, 0);
                started[i] = true;
            }
            if state[i].1 >= w.requests.get() {
                admit = false;
                break;
            }
        }
        if admit {
            state.iter_mut().for_each(|s| s.1 += 1);
        } else {
            refused += 1;
        }
    }
    refused
}

fn nanos(n: u128) -> Duration {
    Duration::from_nanos(u64::try_from(n).unwrap())
}

fn n(v: u32) -> NonZeroU32 {
    NonZeroU32::new(v).unwrap()
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

#[test]
fn the_model_counts_fixed_windows_at_their_alignment() {
    let two_per_second = |offset| FixedWindow {
        limit: 2,
        per: Duration::from_secs(1),
        offset,
    };
    let arrivals = [ms(0), ms(900), ms(1100)];
    // Windows [0, 1 s), [1 s, 2 s): 2 then 1.
    assert_eq!(violations(&[two_per_second(ms(0))], &arrivals), []);
    // Windows [-0.5 s, 0.5 s), [0.5 s, 1.5 s): 1 then 2.
    assert_eq!(violations(&[two_per_second(ms(500))], &arrivals), []);
    // Three within 0.9 s: too many for the windows holding all three.
    let tight = [ms(0), ms(400), ms(900)];
    let found = violations(&[two_per_second(ms(0))], &tight);
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].start_ns, found[0].count), (0, 3));
    let found = violations(&[two_per_second(ms(950))], &tight);
    assert_eq!((found[0].start_ns, found[0].count), (-50_000_000, 3));
    assert_eq!(
        violations(&[two_per_second(ms(500))], &tight),
        [],
        "2, then 1"
    );
    assert_eq!(
        violations(&[two_per_second(ms(200))], &tight),
        [],
        "1, then 2"
    );
    let offsets = worst_offsets(Duration::from_secs(1), &tight);
    assert!(
        !violations(
            &offsets
                .iter()
                .map(|o| two_per_second(*o))
                .collect::<Vec<_>>(),
            &tight
        )
        .is_empty()
    );
}

#[test]
fn the_sandbox_model_starts_windows_with_traffic() {
    let one_per_second = [RateWindow::per_second(n(1))];
    assert_eq!(
        sandbox_refusals(&one_per_second, &[ms(0), ms(999), ms(1000)]),
        1
    );
    assert_eq!(
        sandbox_refusals(&one_per_second, &[ms(500), ms(1500), ms(2499)]),
        1
    );
}

/// One logical request of a caller: wait `gap`, then send, failing transiently `failures`
/// times (each retry after `backoff`, as the transport's loop does).
#[derive(Debug, Clone, Copy)]
struct Request {
    gap: Duration,
    failures: u8,
    backoff: Duration,
}

/// Drives one pacer shared by every caller under a paused clock; the instants (from the
/// start) at which requests were sent, sorted, and how many were refused (`QuotaExhausted`).
fn send_instants(pacer: Pacer, callers: Vec<Vec<Request>>) -> (Vec<Duration>, usize) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async move {
        let pacer = Arc::new(pacer);
        let origin = Instant::now();
        let sent = Arc::new(Mutex::new((Vec::new(), 0)));
        let tasks: Vec<_> = callers
            .into_iter()
            .map(|requests| {
                let (pacer, sent) = (Arc::clone(&pacer), Arc::clone(&sent));
                tokio::spawn(async move {
                    for request in requests {
                        tokio::time::sleep(request.gap).await;
                        for attempt in 0..=request.failures {
                            if attempt > 0 {
                                tokio::time::sleep(request.backoff).await;
                            }
                            match pacer.acquire().await {
                                Ok(_) => sent.lock().unwrap().0.push(origin.elapsed()),
                                Err(_) => {
                                    sent.lock().unwrap().1 += 1;
                                    break;
                                }
                            }
                        }
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let (mut at, refused) = std::mem::take(&mut *sent.lock().unwrap());
        at.sort();
        (at, refused)
    })
}

/// tokio's timer resolution: a caller sleeping until its reserved instant wakes up to this much
/// later, which uses up that much of the margin before the request even leaves.
const TIMER_RESOLUTION: Duration = Duration::from_millis(1);

/// How much later than the instant the pacer let it go a request may reach the provider
/// without any window counting one too many: the pacer's margin less the timer's resolution.
fn slack(window: &RateWindow) -> Duration {
    window.margin() - TIMER_RESOLUTION
}

fn profiles() -> impl Strategy<Value = (Vec<RateWindow>, Duration)> {
    let custom = prop::collection::vec((1u32..=8, 20u64..=5_000), 1..=3).prop_map(|ws| {
        let windows = ws
            .into_iter()
            .map(|(requests, per)| RateWindow {
                requests: n(requests),
                per: ms(per),
            })
            .collect();
        (windows, Duration::ZERO)
    });
    let three_days = Duration::from_secs(3 * 86_400);
    prop_oneof![
        // Finnhub free tier.
        1 => Just((
            vec![RateWindow::per_minute(n(60)), RateWindow::per_second(n(30))],
            Duration::ZERO
        )),
        // Alpaca free tier.
        1 => Just((vec![RateWindow::per_minute(n(200))], Duration::ZERO)),
        // Alpha Vantage free tier, the day refused (`QuotaExhausted`) or waited out.
        1 => Just((
            vec![RateWindow::per_day(n(25)), RateWindow::per_second(n(1))],
            Duration::ZERO
        )),
        1 => Just((
            vec![RateWindow::per_day(n(25)), RateWindow::per_second(n(1))],
            three_days
        )),
        3 => custom,
    ]
}

fn caller() -> impl Strategy<Value = Vec<Request>> {
    let retry = || prop_oneof![8 => Just(0u8), 1 => 1u8..=2];
    let burst = (1usize..=120, retry()).prop_map(|(count, failures)| {
        let request = Request {
            gap: Duration::ZERO,
            failures,
            backoff: ms(5),
        };
        vec![request; count]
    });
    let steady = (1usize..=120, 0u64..=3_000).prop_map(|(count, gap)| {
        let request = Request {
            gap: ms(gap),
            failures: 0,
            backoff: Duration::ZERO,
        };
        vec![request; count]
    });
    let gap = prop_oneof![
        4 => Just(0u64),
        2 => 0u64..=50,
        2 => 0u64..=2_000,
        1 => 0u64..=120_000,
    ];
    let random = prop::collection::vec((gap, retry(), 0u64..=1_000), 1..=120).prop_map(|v| {
        v.into_iter()
            .map(|(gap, failures, backoff)| Request {
                gap: ms(gap),
                failures,
                backoff: ms(backoff),
            })
            .collect()
    });
    prop_oneof![burst, steady, random]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// No fixed window at any alignment ever holds one request too many, even when each
    /// request reaches the provider up to the slack later than it was let go.
    #[test]
    fn no_fixed_window_is_ever_exceeded(
        (windows, max_quota_wait) in profiles(),
        callers in prop::collection::vec(caller(), 1..=4),
        alignments in prop::collection::vec(0.0f64..1.0, 4),
        delays in prop::collection::vec(0.0f64..=1.0, 1..=16),
    ) {
        let pacer = Pacer::new(&windows, max_quota_wait);
        let (sent, _refused) = send_instants(pacer, callers);
        let skew = windows.iter().map(slack).min().unwrap_or_default();
        let mut arrivals: Vec<Duration> = sent
            .iter()
            .zip(delays.iter().cycle())
            .map(|(at, d)| *at + skew.mul_f64(*d))
            .collect();
        arrivals.sort();
        for window in &windows {
            let fixed = |offset| FixedWindow {
                limit: window.requests.get(),
                per: window.per,
                offset,
            };
            // Random alignments, arrivals delayed at random up to the margin.
            let random: Vec<FixedWindow> =
                alignments.iter().map(|a| fixed(window.per.mul_f64(*a))).collect();
            let found = violations(&random, &arrivals);
            prop_assert!(found.is_empty(), "{window}: {found:?}");
            // Every alignment, on the instants sent.
            let worst: Vec<FixedWindow> =
                worst_offsets(window.per, &sent).into_iter().map(fixed).collect();
            let found = violations(&worst, &sent);
            prop_assert!(found.is_empty(), "{window}: {found:?}\nsent: {sent:?}");
            // Every alignment and every delay up to the slack: a request and the N-th after it
            // are at least the window plus the slack apart.
            let limit = usize::try_from(window.requests.get()).unwrap();
            let span = window.per + slack(window);
            for (i, pair) in sent.windows(limit + 1).enumerate() {
                let gap = pair[limit] - pair[0];
                prop_assert!(
                    gap >= span,
                    "{window}: requests {i} and {} only {gap:?} apart (< {span:?})",
                    i + limit
                );
            }
        }
        prop_assert_eq!(sandbox_refusals(&windows, &arrivals), 0);
    }
}
