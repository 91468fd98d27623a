//! What Redis holds names budgets by a fingerprint of the key, never the key.

use std::time::Duration;

use secrecy::SecretString;
use stockdata_adapters_http::transport::PacerRegistry;
use stockdata_domain::ProviderId;
use stockdata_pacing_redis::{KEY_PREFIX, Pacing as _, RedisPacing, fingerprint};
use stockdata_ports::pacing::RateWindow;

use crate::support::{inspect, n, redis, store};

const SECRET: &str = "sk-live-4d1a9b7e0c";

#[tokio::test]
async fn no_key_value_or_member_holds_the_api_key() {
    let Some(server) = redis() else { return };
    let store = store(&server);
    let registry = PacerRegistry::shared(store.clone(), 0.25);
    let key = SecretString::from(SECRET);
    for (provider, windows) in [
        (
            "finnhub",
            vec![RateWindow::per_minute(n(60)), RateWindow::per_second(n(30))],
        ),
        (
            "alpha_vantage",
            vec![RateWindow::per_day(n(25)), RateWindow::per_second(n(1))],
        ),
        ("alpaca", vec![RateWindow::per_minute(n(200))]),
    ] {
        let pacer = registry.pacer(
            &ProviderId::from_static(provider),
            &key,
            &windows,
            Duration::ZERO,
        );
        pacer.acquire().await.unwrap();
    }
    let mut con = inspect(&server).await;
    let mut cursor = 0u64;
    let mut keys: Vec<String> = Vec::new();
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(100)
            .query_async(&mut con)
            .await
            .unwrap();
        keys.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    keys.sort();
    let fp = fingerprint(SECRET);
    assert_eq!(
        keys,
        [
            format!("{KEY_PREFIX}:{{alpaca:{fp}}}"),
            format!("{KEY_PREFIX}:{{alpha_vantage:{fp}}}"),
            format!("{KEY_PREFIX}:{{finnhub:{fp}}}"),
        ]
    );
    for k in &keys {
        assert!(!k.contains(SECRET), "{k}");
        let members: Vec<String> = redis::cmd("ZRANGE")
            .arg(k)
            .arg(0)
            .arg(-1)
            .query_async(&mut con)
            .await
            .unwrap();
        assert_eq!(members.len(), 1, "{k}");
        assert!(members.iter().all(|m| !m.contains(SECRET)), "{members:?}");
        let ttl: i64 = redis::cmd("PTTL")
            .arg(k)
            .query_async(&mut con)
            .await
            .unwrap();
        assert!(
            ttl > 0,
            "{k} expires (a span after its latest grant): {ttl}"
        );
        assert!(ttl <= 86_486_601, "{k}: at most the longest span: {ttl}");
    }
    // Stable across processes: another store names the budget the same.
    let other = RedisPacing::new(&server.url()).unwrap();
    let provider = ProviderId::from_static("finnhub");
    assert_eq!(
        other.budget(&provider, SECRET),
        store.budget(&provider, SECRET)
    );
    assert_ne!(
        other.budget(&provider, "another key"),
        store.budget(&provider, SECRET)
    );
}

#[test]
fn a_password_in_the_url_is_never_shown() {
    let store = RedisPacing::new(&SecretString::from("redis://:pw-9c2e@127.0.0.1:6379/1")).unwrap();
    let shown = format!("{} {store:?}", store.location());
    assert!(!shown.contains("pw-9c2e"), "{shown}");
    assert!(
        shown.contains("Redis at redis://REDACTED@127.0.0.1:6379/1"),
        "{shown}"
    );
}
