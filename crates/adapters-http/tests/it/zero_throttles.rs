//! Zero throttles, provably: whatever the alignment of a provider's fixed windows, the instants
//! the pacer lets requests go keep every window under its limit, retries included.
//!
//! The model is the provider's counter (fixed windows of `per`, starting at `offset + k·per`).

use std::num::NonZeroU32;
use std::time::Duration;

use stockdata_adapters_http::transport::RateWindow;

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
