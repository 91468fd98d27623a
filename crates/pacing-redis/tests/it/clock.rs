//! Only the server's clock decides: the client sends durations, never an instant, and a client
//! whose clock jumps a day is still held to the windows.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;
use stockdata_adapters_http::transport::PacerRegistry;
use stockdata_domain::{FetchError, ProviderId};
use stockdata_pacing_redis::{Pacing, RedisPacing};
use stockdata_ports::pacing::{BudgetId, GrantId, PacingError, PastGrant, RateWindow, WindowState};

use crate::support::{n, redis};

#[test]
fn the_client_sends_durations_only() {
    let windows = [RateWindow::per_day(n(25)), RateWindow::per_second(n(1))];
    assert_eq!(
        RedisPacing::reserve_args(&windows, Duration::from_secs(60)),
        [
            60_000_000,     // the longest quota wait allowed
            86_486_600_000, // the longest span: a day and 86.6 s
            25,
            86_486_600_000,
            1, // 25 per day: its span, a quota
            1,
            1_201_000,
            0, // 1 per second: 1.201 s, not a quota
        ]
    );
    let script = include_str!("../../src/reserve.lua");
    assert!(
        script.contains("redis.call('TIME')"),
        "the script reads the server's clock"
    );
    // And the adapter reads no clock of its own (only the redis crate's timeouts do).
    let source = include_str!("../../src/lib.rs");
    for clock in ["SystemTime", "Instant::now", "Timestamp::now", "time::now"] {
        assert!(!source.contains(clock), "the adapter reads {clock}");
    }
}

/// `RedisPacing` driven from another runtime, so the client's runtime can have a paused clock
/// that jumps (its timers would otherwise fire the connection's timeouts).
#[derive(Debug)]
struct Elsewhere {
    store: Arc<RedisPacing>,
    runtime: tokio::runtime::Handle,
}

#[async_trait]
impl Pacing for Elsewhere {
    fn budget(&self, provider: &ProviderId, key: &str) -> BudgetId {
        self.store.budget(provider, key)
    }

    async fn reserve(
        &self,
        budget: &BudgetId,
        windows: &[RateWindow],
        max_quota_wait: Duration,
        grant: GrantId,
    ) -> Result<Duration, PacingError> {
        let (store, budget, windows) = (Arc::clone(&self.store), budget.clone(), windows.to_vec());
        self.runtime
            .spawn(async move {
                store
                    .reserve(&budget, &windows, max_quota_wait, grant)
                    .await
            })
            .await
            .unwrap()
    }

    async fn restore(
        &self,
        _: &BudgetId,
        _: &[RateWindow],
        _: &[PastGrant],
    ) -> Result<(), PacingError> {
        Ok(())
    }

    async fn state(
        &self,
        budget: &BudgetId,
        windows: &[RateWindow],
    ) -> Result<Vec<WindowState>, PacingError> {
        let (store, budget, windows) = (Arc::clone(&self.store), budget.clone(), windows.to_vec());
        self.runtime
            .spawn(async move { store.state(&budget, &windows).await })
            .await
            .unwrap()
    }

    async fn probe(&self) -> Result<(), PacingError> {
        Ok(())
    }

    fn location(&self) -> String {
        self.store.location()
    }
}

#[test]
fn a_client_clock_that_jumps_a_day_changes_nothing() {
    let Some(server) = redis() else { return };
    let io = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let store = Arc::new(RedisPacing::new(&server.url()).unwrap());
    let elsewhere = Arc::new(Elsewhere {
        store,
        runtime: io.handle().clone(),
    });
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    client.block_on(async {
        let registry = PacerRegistry::shared(elsewhere, 0.25);
        let windows = [
            RateWindow::per_day(NonZeroU32::new(2).unwrap()),
            RateWindow::per_second(n(1)),
        ];
        let pacer = registry.pacer(
            &ProviderId::from_static("alpha_vantage"),
            &SecretString::from("k"),
            &windows,
            Duration::ZERO,
        );
        assert_eq!(pacer.acquire().await.unwrap(), Duration::ZERO);
        // The client's clock jumps two days: were it read, both windows would be fresh.
        tokio::time::advance(Duration::from_secs(2 * 86_400)).await;
        let waited = pacer.acquire().await.unwrap();
        assert!(
            waited > Duration::from_millis(1100) && waited <= Duration::from_millis(1201),
            "the 1/s window, on the server's clock: {waited:?}"
        );
        tokio::time::advance(Duration::from_secs(2 * 86_400)).await;
        let err = pacer.acquire().await.unwrap_err();
        assert!(
            matches!(err, FetchError::QuotaExhausted { .. }),
            "the day's two went on the server's day: {err:?}"
        );
    });
}
