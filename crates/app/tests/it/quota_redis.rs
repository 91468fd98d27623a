//! `[quota]`: quotas kept in Redis, chosen by config or environment alone; the URL a secret;
//! Redis unreachable shown by `stockdata providers` and `/metrics`, and gone back to when it
//! answers. A private redis-server per test (`stockdata_pacing_redis::testing`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use stockdata_app::StockData;
use stockdata_app::config::{self, Config, ConfigSources, QuotaBackend};
use stockdata_pacing_redis::testing::RedisServer;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::cli::stockdata;
use crate::serve::{client, config as serve_config, start_with};

const PASSWORD: &str = "pw-3f8a1c";
const FINNHUB_KEY: &str = "fh-key-77d2";

fn redis() -> Option<RedisServer> {
    RedisServer::start().unwrap_or_else(|e| panic!("{e}"))
}

fn load(env: &[(&str, &str)]) -> Result<Config, config::ConfigError> {
    config::load(&ConfigSources {
        file: None,
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<HashMap<_, _>>(),
        cwd: PathBuf::from("/nonexistent-stockdata-dir"),
        not_unicode: Vec::new(),
    })
}

#[test]
fn the_backend_is_chosen_by_the_environment_and_the_url_is_a_secret() {
    let url = format!("redis://:{PASSWORD}@127.0.0.1:6390/2");
    let config = load(&[
        ("STOCKDATA__QUOTA__BACKEND", "redis"),
        ("STOCKDATA_REDIS_URL", &url),
        ("STOCKDATA__QUOTA__FALLBACK_SHARE", "0.5"),
    ])
    .unwrap();
    assert_eq!(config.quota.backend, QuotaBackend::Redis);
    assert!(config.quota.redis_url.is_some());
    assert!((config.quota.fallback_share - 0.5).abs() < 1e-12);
    let view = serde_json::to_value(&config).unwrap();
    assert_eq!(view["quota"]["redis_url"], "REDACTED");
    assert_eq!(view["quota"]["backend"], "redis");
    assert!(!view.to_string().contains(PASSWORD), "{view}");
    assert!(!format!("{config:?}").contains(PASSWORD));

    // `STOCKDATA__QUOTA__REDIS_URL` too; and the defaults show nothing new.
    let config = load(&[("STOCKDATA__QUOTA__REDIS_URL", &url)]).unwrap();
    assert_eq!(config.quota.backend, QuotaBackend::Local);
    assert!(config.quota.redis_url.is_some());
    let defaults = serde_json::to_value(Config::default()).unwrap();
    assert!(defaults.get("quota").is_none(), "{defaults}");
}

#[test]
fn unusable_quota_settings_say_what_to_fix_without_the_url() {
    let check = |env: &[(&str, &str)], key: &str, needle: &str| {
        let err = load(env).unwrap_err().to_string();
        assert!(err.contains(key) && err.contains(needle), "{err}");
        assert!(!err.contains(PASSWORD), "{err}");
    };
    check(
        &[("STOCKDATA__QUOTA__BACKEND", "redis")],
        "quota.backend",
        "set STOCKDATA_REDIS_URL",
    );
    check(
        &[("STOCKDATA__QUOTA__BACKEND", "memcached")],
        "quota.backend",
        "use local or redis",
    );
    check(
        &[("STOCKDATA_REDIS_URL", &format!("https://:{PASSWORD}@h/"))],
        "quota.redis_url",
        "not a usable Redis URL",
    );
    check(
        &[("STOCKDATA_REDIS_URL", &format!("rediss://:{PASSWORD}@h/"))],
        "quota.redis_url",
        "TLS",
    );
    check(
        &[("STOCKDATA__QUOTA__FALLBACK_SHARE", "0")],
        "quota.fallback_share",
        "out of range",
    );
    check(
        &[("STOCKDATA__QUOTA__FALLBACK_SHARE", "half")],
        "quota.fallback_share",
        "not a number",
    );
}

#[test]
fn config_show_redacts_the_redis_url() {
    let out = stockdata()
        .env("STOCKDATA__QUOTA__BACKEND", "redis")
        .env(
            "STOCKDATA_REDIS_URL",
            format!("redis://:{PASSWORD}@127.0.0.1:6390"),
        )
        .args(["config", "show"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(!text.contains(PASSWORD), "{text}");
    assert!(
        text.contains(
            "[quota]\nbackend = \"redis\"  # from environment variable \
             STOCKDATA__QUOTA__BACKEND\nredis_url = \"REDACTED\"  # from environment variable \
             STOCKDATA_REDIS_URL\nfallback_share = 0.25  # default"
        ),
        "{text}"
    );
}

/// `stockdata providers` as a table, with quotas in the Redis at `url`.
fn providers(url: &str) -> (String, String) {
    let out = stockdata()
        .env("FINNHUB_API_KEY", FINNHUB_KEY)
        .env("STOCKDATA__QUOTA__BACKEND", "redis")
        .env("STOCKDATA_REDIS_URL", url)
        .args(["providers", "--format", "table"])
        .output()
        .unwrap();
    assert!(out.status.success());
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn providers_says_whether_quotas_are_shared_or_local() {
    let Some(mut server) = redis() else { return };
    let url = format!("redis://:{PASSWORD}@127.0.0.1:{}", server.port());
    // The private server has no password (it would refuse one): the URL has none while up.
    let plain = format!("redis://127.0.0.1:{}", server.port());
    let (out, _) = providers(&plain);
    assert!(
        out.contains(&format!(
            "quotas: shared through Redis at {plain} by every process using the same keys"
        )),
        "{out}"
    );

    server.stop();
    let (out, err) = providers(&url);
    let shown = format!("redis://REDACTED@127.0.0.1:{}", server.port());
    assert!(
        out.contains(&format!(
            "quotas: local, at 1/4 of each window, because Redis at {shown} is unreachable"
        )),
        "{out}"
    );
    assert!(
        !out.contains(PASSWORD) && !err.contains(PASSWORD),
        "{out}{err}"
    );
    assert!(!out.contains(FINNHUB_KEY) && !err.contains(FINNHUB_KEY));
    assert_eq!(
        err.matches("quota store unreachable").count(),
        1,
        "said once, at warn: {err}"
    );

    // Local quotas: the table is what it always was.
    let out = stockdata()
        .env("FINNHUB_API_KEY", FINNHUB_KEY)
        .args(["providers", "--format", "table"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("quotas:"));
}

fn quote_body() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_string(concat!(
        r#"{"c":261.74,"d":2.29,"dp":0.88,"h":263.31,"l":260.68,"o":261.07,"pc":259.45,"#,
        r#""t":1582641000}"#
    ))
}

/// The value of `sample` (`name{labels}`) in a text exposition.
fn sample(text: &str, sample: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' ').map(str::to_owned))
}

async fn metrics(base: &str) -> String {
    client()
        .get(format!("{base}/metrics"))
        .bearer_auth(crate::serve::TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_show_local_pacing_while_redis_is_gone_and_shared_once_back() {
    let Some(mut server) = redis() else { return };
    let finnhub = MockServer::start().await;
    Mock::given(path("/api/v1/quote"))
        .respond_with(quote_body())
        .mount(&finnhub)
        .await;
    let url = format!("redis://127.0.0.1:{}", server.port());
    let config = load(&[
        ("FINNHUB_API_KEY", FINNHUB_KEY),
        ("STOCKDATA__PROVIDERS__FINNHUB__BASE_URL", &finnhub.uri()),
        ("STOCKDATA__QUOTA__BACKEND", "redis"),
        ("STOCKDATA_REDIS_URL", &url),
    ])
    .unwrap();
    server.stop();
    let sd = StockData::builder().config(config).build().unwrap();
    let s = start_with(sd, serve_config(), Default::default()).await;
    let quotes = format!("{}/v1/quotes?symbols=AAPL", s.base);
    // What other processes were granted through Redis before it went away is unknown here:
    // the local fallback starts from a full window, so the first request waits a span
    // (a minute for Finnhub) rather than going out unpaced.
    let early = client()
        .get(&quotes)
        .bearer_auth(crate::serve::TOKEN)
        .timeout(Duration::from_secs(3))
        .send()
        .await;
    assert!(early.is_err(), "paced: it waits for the window");
    assert_eq!(
        finnhub.received_requests().await.unwrap_or_default().len(),
        0,
        "nothing went out unpaced"
    );

    let text = metrics(&s.base).await;
    let degraded = r#"stockdata_quota_degraded{provider="finnhub"}"#;
    let local = r#"stockdata_quota_local_decisions_total{provider="finnhub"}"#;
    assert_eq!(sample(&text, degraded).as_deref(), Some("1"), "{text}");
    assert_eq!(sample(&text, local).as_deref(), Some("1"), "{text}");
    assert!(
        sample(
            &text,
            r#"stockdata_rate_limit_waits_total{provider="finnhub"}"#
        )
        .is_some(),
        "the wait counters stay: {text}"
    );

    server.restart().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let text = metrics(&s.base).await;
        if sample(&text, degraded).as_deref() == Some("0") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never back: {text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    client()
        .get(&quotes)
        .bearer_auth(crate::serve::TOKEN)
        .send()
        .await
        .unwrap();
    let text = metrics(&s.base).await;
    assert_eq!(
        sample(&text, local).as_deref(),
        Some("1"),
        "Redis decided: {text}"
    );
    // What Redis holds names the budget by a fingerprint, never the key.
    assert_eq!(
        server.keys().unwrap(),
        [format!(
            "stockdata:pace:{{finnhub:{}}}",
            stockdata_pacing_redis::fingerprint(FINNHUB_KEY)
        )]
    );
    s.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn local_quotas_add_no_metric() {
    let sd = StockData::builder().build().unwrap();
    assert!(sd.quota_status().is_none());
    let s = start_with(sd, serve_config(), Default::default()).await;
    let text = metrics(&s.base).await;
    assert!(!text.contains("stockdata_quota_"), "{text}");
    s.shutdown.cancel();
}

/// `stockdata doctor --format json` with quotas in the Redis at `url`, Finnhub at `finnhub`.
fn doctor(url: &str, finnhub: &str) -> serde_json::Value {
    let out = stockdata()
        .env("FINNHUB_API_KEY", FINNHUB_KEY)
        .env("STOCKDATA__PROVIDERS__FINNHUB__BASE_URL", finnhub)
        .env("STOCKDATA__QUOTA__BACKEND", "redis")
        .env("STOCKDATA_REDIS_URL", url)
        .args(["--provider", "finnhub", "doctor", "--format", "json"])
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    serde_json::from_str(&text).unwrap()
}

/// Finnhub's per-minute window in a doctor report: what is left of it.
fn minute_left(report: &serde_json::Value) -> u64 {
    report["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider"] == "finnhub")
        .unwrap()["quota"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["seconds"] == 60)
        .unwrap()["left"]
        .as_u64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_counts_what_every_process_took_from_a_shared_quota() {
    let Some(server) = redis() else { return };
    let finnhub = MockServer::start().await;
    Mock::given(path("/api/v1/quote"))
        .respond_with(quote_body())
        .mount(&finnhub)
        .await;
    let url = format!("redis://127.0.0.1:{}", server.port());
    let uri = finnhub.uri();
    // Another process on the same key takes three requests of the minute.
    let (url2, uri2) = (url.clone(), uri.clone());
    let other = tokio::task::spawn_blocking(move || {
        stockdata()
            .env("FINNHUB_API_KEY", FINNHUB_KEY)
            .env("STOCKDATA__PROVIDERS__FINNHUB__BASE_URL", &uri2)
            .env("STOCKDATA__QUOTA__BACKEND", "redis")
            .env("STOCKDATA_REDIS_URL", &url2)
            .args([
                "--no-store",
                "--provider",
                "finnhub",
                "quote",
                "AAPL",
                "MSFT",
                "NVDA",
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(other.status.success());

    let report = tokio::task::spawn_blocking(move || doctor(&url, &uri))
        .await
        .unwrap();
    assert_eq!(
        minute_left(&report),
        60 - 3 - 1,
        "the other process's three and doctor's own: {report}"
    );
    let scope = report["quota_scope"].as_str().unwrap();
    assert!(
        scope.contains("every process using the same keys") && scope.contains("Redis at"),
        "{scope}"
    );
}
