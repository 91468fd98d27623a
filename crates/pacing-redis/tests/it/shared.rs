//! Two processes (two registries, two connections) pacing one key through one Redis never
//! exceed its budget between them.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use stockdata_adapters_http::transport::{Pacer, PacerRegistry};
use stockdata_domain::ProviderId;
use stockdata_pacing_redis::RedisPacing;
use stockdata_ports::pacing::RateWindow;
use tokio::time::Instant;

use crate::support::{n, redis};

/// Sends through `pacer` from `tasks` concurrent callers until `until`; the instants sent.
async fn traffic(pacer: Arc<Pacer>, tasks: usize, until: Instant) -> Vec<Instant> {
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let pacer = Arc::clone(&pacer);
            tokio::spawn(async move {
                let mut sent = Vec::new();
                while Instant::now() < until {
                    pacer.acquire().await.unwrap();
                    sent.push(Instant::now());
                }
                sent
            })
        })
        .collect();
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    all
}

/// The most sends in any interval of `per` (every interval starting at a send: the worst).
fn busiest(sent: &[Instant], per: Duration) -> usize {
    sent.iter()
        .map(|&start| {
            sent.iter()
                .filter(|&&t| t >= start && t < start + per)
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_sharing_a_key_never_exceed_its_windows() {
    let Some(server) = redis() else { return };
    let windows = [
        RateWindow::per_second(n(5)),
        RateWindow {
            requests: n(12),
            per: Duration::from_secs(3),
        },
    ];
    let key = SecretString::from("one-key-two-processes");
    let provider = ProviderId::from_static("finnhub");
    let process = || {
        let store = Arc::new(RedisPacing::new(&server.url()).unwrap());
        let registry = PacerRegistry::shared(store, 0.25);
        registry.pacer(&provider, &key, &windows, Duration::ZERO)
    };
    let (a, b) = (process(), process());
    let until = Instant::now() + Duration::from_secs(5);
    let (sent_a, sent_b) = tokio::join!(
        traffic(Arc::clone(&a), 3, until),
        traffic(Arc::clone(&b), 3, until)
    );
    let mut sent: Vec<Instant> = sent_a.iter().chain(&sent_b).copied().collect();
    sent.sort();
    for w in &windows {
        let most = busiest(&sent, w.per);
        assert!(
            most <= usize::try_from(w.requests.get()).unwrap(),
            "{w}: {most} sends in one interval"
        );
    }
    // Each process alone would have been allowed the whole budget: they shared it.
    assert!(
        !sent_a.is_empty() && !sent_b.is_empty(),
        "both were served: {} and {}",
        sent_a.len(),
        sent_b.len()
    );
    // 5 at once, 5 more at 1.2 s, 2 at 2.4 s (12 in 3 s), 5 at 3.2 s, 5 at 4.4 s: the
    // budget was used, not left idle.
    assert!(sent.len() >= 20, "{} sent", sent.len());
    let (sa, sb) = (a.stats().snapshot(), b.stats().snapshot());
    assert_eq!(
        sa.local_decisions + sb.local_decisions,
        0,
        "Redis decided every one"
    );
}
