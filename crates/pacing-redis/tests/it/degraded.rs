//! Redis gone (at start, or killed mid-run): pacing goes on locally at the fallback share, said
//! once at warn; Redis back on the same port: shared again, said once at info, with the grants
//! made meanwhile handed back.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::SecretString;
use stockdata_adapters_http::transport::{Pacer, PacerRegistry, ProbeBackoff};
use stockdata_domain::ProviderId;
use stockdata_pacing_redis::{RedisOptions, RedisPacing};
use stockdata_ports::pacing::RateWindow;
use tokio::time::Instant;

use crate::support::{held, inspect, n, redis};

/// Log lines, captured.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Lines {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
    fn count(&self, level: &str, needle: &str) -> usize {
        self.text()
            .lines()
            .filter(|l| l.contains(level) && l.contains(needle))
            .count()
    }
}

fn capture() -> (Lines, tracing::subscriber::DefaultGuard) {
    let lines = Lines::default();
    let writer = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .finish();
    (lines, tracing::subscriber::set_default(subscriber))
}

fn fast_store(url: &SecretString) -> Arc<RedisPacing> {
    let options = RedisOptions {
        connect_timeout: Duration::from_millis(200),
        response_timeout: Duration::from_millis(200),
    };
    Arc::new(RedisPacing::with_options(url, options).unwrap())
}

fn registry(url: &SecretString) -> PacerRegistry {
    let backoff = ProbeBackoff {
        first: Duration::from_millis(100),
        max: Duration::from_millis(400),
    };
    PacerRegistry::shared_with_backoff(fast_store(url), 0.25, backoff)
}

/// Sends through `pacer` for `span`, one caller at a time; the instants sent.
async fn send_for(pacer: &Pacer, span: Duration) -> Vec<Instant> {
    let until = Instant::now() + span;
    let mut sent = Vec::new();
    while Instant::now() < until {
        pacer.acquire().await.unwrap();
        sent.push(Instant::now());
    }
    sent
}

fn busiest(sent: &[Instant], per: Duration) -> usize {
    sent.iter()
        .map(|&s| sent.iter().filter(|&&t| t >= s && t < s + per).count())
        .max()
        .unwrap_or(0)
}

#[tokio::test]
async fn killed_mid_run_then_restarted_on_the_same_port() {
    let Some(mut server) = redis() else { return };
    let (lines, _guard) = capture();
    let registry = registry(&server.url());
    let window = RateWindow::per_second(n(8));
    let provider = ProviderId::from_static("finnhub");
    let pacer = registry.pacer(
        &provider,
        &SecretString::from("k"),
        &[window],
        Duration::ZERO,
    );
    let key = RedisPacing::key(&registry_budget(&server, "k"));

    // Shared: Redis decides.
    for _ in 0..3 {
        pacer.acquire().await.unwrap();
    }
    assert_eq!(held(&mut inspect(&server).await, &key).await, 3);
    assert_eq!(registry.degraded(), [(provider.clone(), false)]);

    // Killed: the pacing goes on, at a quarter of the window (2 per second), never unpaced.
    server.stop();
    let sent = send_for(&pacer, Duration::from_millis(2600)).await;
    assert!(sent.len() >= 4, "pacing went on: {} sent", sent.len());
    assert!(
        busiest(&sent, window.per) <= 2,
        "at most 8 × 1/4 a second: {}",
        busiest(&sent, window.per)
    );
    let status = registry.quota_status().unwrap();
    assert!(status.degraded, "{status:?}");
    assert!(status.location.contains("127.0.0.1"), "{status:?}");
    assert_eq!(registry.degraded(), [(provider.clone(), true)]);
    assert!(pacer.stats().snapshot().local_decisions >= 4);
    assert_eq!(
        lines.count("WARN", "quota store unreachable"),
        1,
        "said once:\n{}",
        lines.text()
    );
    assert!(
        lines.text().contains("at 1/4 of every window"),
        "{}",
        lines.text()
    );

    // Back on the same port (empty): shared again, with what was sent meanwhile.
    server.restart().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while registry.quota_status().unwrap().degraded
        || lines.count("INFO", "quota store answers again") == 0
    {
        assert!(Instant::now() < deadline, "never went back to Redis");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        lines.count("INFO", "quota store answers again"),
        1,
        "{}",
        lines.text()
    );
    let mut con = inspect(&server).await;
    let restored = held(&mut con, &key).await;
    assert!(
        restored >= 1,
        "the grants of the last span were handed back: {restored}"
    );
    let before = pacer.stats().snapshot().local_decisions;
    pacer.acquire().await.unwrap();
    assert_eq!(
        pacer.stats().snapshot().local_decisions,
        before,
        "Redis decides again"
    );
    assert_eq!(held(&mut con, &key).await, restored + 1);
    assert_eq!(
        lines.count("WARN", "quota store unreachable"),
        1,
        "{}",
        lines.text()
    );
}

/// The budget the registry's store names for `key`.
fn registry_budget(
    server: &stockdata_pacing_redis::testing::RedisServer,
    key: &str,
) -> stockdata_ports::pacing::BudgetId {
    use stockdata_pacing_redis::Pacing as _;
    RedisPacing::new(&server.url())
        .unwrap()
        .budget(&ProviderId::from_static("finnhub"), key)
}

#[tokio::test]
async fn unreachable_at_start_paces_locally_from_the_first_request() {
    let Some(mut server) = redis() else { return };
    let url = server.url();
    server.stop();
    let (lines, _guard) = capture();
    let registry = registry(&url);
    registry.check_quota_store().await;
    assert!(registry.quota_status().unwrap().degraded);
    let window = RateWindow::per_second(n(4));
    let pacer = registry.pacer(
        &ProviderId::from_static("finnhub"),
        &SecretString::from("k"),
        &[window],
        Duration::ZERO,
    );
    let sent = send_for(&pacer, Duration::from_millis(1500)).await;
    // 4 × 1/4: one a second (granted 1.201 s apart), never unpaced. The times are read after
    // `acquire` returns, so a late wake-up of one grant under load shortens the gap a little.
    assert!(sent.len() >= 2, "{sent:?}");
    for pair in sent.windows(2) {
        assert!(pair[1] - pair[0] >= Duration::from_millis(1100), "{sent:?}");
    }
    assert_eq!(
        lines.count("WARN", "quota store unreachable"),
        1,
        "{}",
        lines.text()
    );
}
