//! One decision over every window, all or nothing, and the same decision the in-process
//! pacer makes.

use std::time::Duration;

use stockdata_adapters_http::transport::LocalPacing;
use stockdata_domain::ProviderId;
use stockdata_pacing_redis::{Pacing, RedisPacing};
use stockdata_ports::pacing::{PacingError, RateWindow};

use crate::support::{budget, grant, held, inspect, n, redis, store};

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

#[tokio::test]
async fn a_full_quota_window_refuses_and_nothing_is_consumed_in_the_others() {
    let Some(server) = redis() else { return };
    let store = store(&server);
    let b = budget(&store, "alpha_vantage", "av-key");
    let windows = [
        RateWindow::per_day(n(2)),
        RateWindow::per_minute(n(10)),
        RateWindow::per_second(n(5)),
    ];
    for _ in 0..2 {
        let wait = store
            .reserve(&b, &windows, Duration::ZERO, grant())
            .await
            .unwrap();
        assert_eq!(
            wait,
            Duration::ZERO,
            "a fresh window lets its count go at once"
        );
    }
    let err = store
        .reserve(&b, &windows, Duration::ZERO, grant())
        .await
        .unwrap_err();
    let PacingError::QuotaExhausted { retry_in } = err else {
        panic!("expected QuotaExhausted, got {err:?}");
    };
    // A day and its margin (86.6 s) after the first grant, which went a moment ago.
    let day = RateWindow::per_day(n(2)).span();
    assert!(
        retry_in <= day && retry_in > day - Duration::from_secs(5),
        "{retry_in:?}"
    );
    // One log holds every window's grants: the refused request is in none of them.
    let mut con = inspect(&server).await;
    let key = RedisPacing::key(&b);
    assert_eq!(
        held(&mut con, &key).await,
        2,
        "the refused request took nothing"
    );
    // The minute and second windows are as they were: a budget without the day window (the
    // same log) still has their room.
    let short = &windows[1..];
    assert_eq!(
        store.reserve(&b, short, Duration::ZERO, grant()).await,
        Ok(Duration::ZERO),
        "3 of 5 per second, 3 of 10 per minute"
    );
    assert_eq!(held(&mut con, &key).await, 3);
    // Allowed to wait a day and more: granted, and taken in every window.
    let wait = store
        .reserve(&b, &windows, Duration::from_secs(2 * 86_400), grant())
        .await
        .unwrap();
    assert!(wait > day - Duration::from_secs(5), "{wait:?}");
    assert_eq!(held(&mut con, &key).await, 4);
}

#[tokio::test]
async fn a_short_window_is_waited_out_in_every_window_at_once() {
    let Some(server) = redis() else { return };
    let store = store(&server);
    let b = budget(&store, "finnhub", "fh-key");
    let windows = [RateWindow::per_minute(n(60)), RateWindow::per_second(n(30))];
    let mut waits = Vec::new();
    for _ in 0..31 {
        waits.push(
            store
                .reserve(&b, &windows, Duration::ZERO, grant())
                .await
                .unwrap(),
        );
    }
    assert!(waits[..30].iter().all(Duration::is_zero), "{waits:?}");
    // The 31st goes a second and its margin (1.201 s) after the first, less the time the 30
    // calls took.
    assert!(
        waits[30] <= ms(1201) && waits[30] > ms(1100),
        "{:?}",
        waits[30]
    );
    // Reserved, not refused: the log holds it, 1.2 s ahead.
    let mut con = inspect(&server).await;
    assert_eq!(held(&mut con, &RedisPacing::key(&b)).await, 31);
}

/// The reservations Redis and the in-process store make for the same sequence agree (to the
/// time the calls take).
#[tokio::test]
async fn the_decision_is_the_in_process_one() {
    let Some(server) = redis() else { return };
    let redis_store = store(&server);
    let local = LocalPacing::new();
    let provider = ProviderId::from_static("alpha_vantage");
    for windows in [
        vec![RateWindow::per_minute(n(3))],
        vec![RateWindow::per_second(n(2)), RateWindow::per_minute(n(5))],
        vec![RateWindow::per_day(n(4)), RateWindow::per_second(n(1))],
    ] {
        let (rb, lb) = (
            redis_store.budget(&provider, &format!("{windows:?}")),
            local.budget(&provider, &format!("{windows:?}")),
        );
        for i in 0..7 {
            let wait = Duration::from_secs(3 * 86_400);
            let r = redis_store.reserve(&rb, &windows, wait, grant()).await;
            let l = local.reserve(&lb, &windows, wait, grant()).await;
            let (r, l) = (r.unwrap(), l.unwrap());
            assert!(
                r.abs_diff(l) < ms(50),
                "{windows:?} call {i}: redis {r:?}, in-process {l:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_budget_without_windows_is_never_asked_for() {
    let Some(server) = redis() else { return };
    let store = store(&server);
    let b = budget(&store, "serverless", "");
    assert_eq!(
        store.reserve(&b, &[], Duration::ZERO, grant()).await,
        Ok(Duration::ZERO)
    );
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut inspect(&server).await)
        .await
        .unwrap();
    assert!(keys.is_empty(), "{keys:?}");
}

/// What is left is read on the store, so every client sees what every other one took; it is
/// what the in-process store says for the same reservations; and reading consumes nothing.
#[tokio::test]
async fn every_client_reads_what_is_left_of_the_shared_budget() {
    let Some(server) = redis() else { return };
    let (taker, reader) = (store(&server), store(&server));
    let local = LocalPacing::new();
    let provider = ProviderId::from_static("finnhub");
    let windows = [RateWindow::per_second(n(3)), RateWindow::per_minute(n(5))];
    let (rb, lb) = (
        taker.budget(&provider, "shared-key"),
        local.budget(&provider, "shared-key"),
    );
    assert_eq!(reader.budget(&provider, "shared-key"), rb);
    let whole = reader.state(&rb, &windows).await.unwrap();
    assert_eq!(
        whole
            .iter()
            .map(|s| (s.window, s.remaining))
            .collect::<Vec<_>>(),
        [(windows[1], 5), (windows[0], 3)],
        "longest first, nothing used"
    );
    assert!(whole.iter().all(|s| s.next_free_in.is_zero()));
    // Four reservations: the fourth waits a second for the per-second window, and counts.
    for _ in 0..4 {
        let wait = Duration::from_secs(120);
        taker.reserve(&rb, &windows, wait, grant()).await.unwrap();
        local.reserve(&lb, &windows, wait, grant()).await.unwrap();
    }
    for _ in 0..2 {
        let shared = reader.state(&rb, &windows).await.unwrap();
        let mine = local.state(&lb, &windows).await.unwrap();
        assert_eq!(
            shared.iter().map(|s| s.remaining).collect::<Vec<_>>(),
            [1, 0],
            "{shared:?}"
        );
        for (s, l) in shared.iter().zip(&mine) {
            assert_eq!((s.window, s.remaining), (l.window, l.remaining));
            assert!(
                s.next_free_in.abs_diff(l.next_free_in) < ms(50),
                "{s:?} vs in-process {l:?}"
            );
        }
        // The per-second window frees its oldest slot within a second (plus its margin).
        assert!(shared[1].next_free_in > ms(500), "{shared:?}");
        assert!(
            shared[0].next_free_in > Duration::from_secs(59),
            "{shared:?}"
        );
    }
    // Reading took nothing: one more slot is still to be had in the minute.
    let last = taker
        .reserve(&rb, &windows, Duration::from_secs(120), grant())
        .await;
    assert!(last.is_ok(), "{last:?}");
    let after = reader.state(&rb, &windows).await.unwrap();
    assert_eq!(after[0].remaining, 0);
}
