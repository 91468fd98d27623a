//! The multi-process proof of issue #18: three `stockdata serve` replicas and a `stockdata
//! sync` share one Finnhub key through Redis, against a standalone sandbox enforcing Finnhub's
//! free tier (60 a minute and 30 a second, fixed windows). Clients hammer every replica for
//! two minutes: the sandbox refuses nothing and admits at least 95 % of what its windows allow;
//! every replica waited for the quota. Then Redis is killed: still nothing refused (each
//! process paces alone, at a quarter of every window, from a full window at the loss); and it
//! comes back: the replicas share through it again.
//!
//! Real processes, real Redis (a private `redis-server`), real HTTP on loopback. Long by
//! nature (the windows are a minute): about three and a half minutes.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use secrecy::ExposeSecret as _;
use stockdata_pacing_redis::testing::RedisServer;

const KEY: &str = "shared-finnhub-key-5c1e";
/// Finnhub's free tier, as the sandbox enforces it.
const PER_MINUTE: u64 = 60;
const SHARED_PHASE: Duration = Duration::from_secs(119);
const DEGRADED_PHASE: Duration = Duration::from_secs(66);
const SYMBOLS: [&str; 24] = [
    "AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "BRK.B", "JPM", "V", "UNH", "XOM",
    "JNJ", "WMT", "MA", "PG", "HD", "CVX", "MRK", "ABBV", "KO", "PEP", "COST", "AVGO",
];

/// A child process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `stockdata args` and reads its stderr until a line containing `marker`; answers the
/// process and that line. The rest of stderr is drained in the background.
fn start(env: &[(&str, String)], args: &[&str], marker: &str) -> (Proc, String) {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("stockdata"));
    cmd.env_clear()
        .env("PACT_DO_NOT_TRACK", "true")
        .current_dir(crate::cli::empty_dir())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let found = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.contains(marker))
        .unwrap_or_else(|| panic!("`stockdata {}` never said {marker:?}", args.join(" ")));
    std::thread::spawn(move || lines.for_each(drop));
    (Proc(child), found)
}

/// Starts `stockdata args` in the background, its output discarded.
fn spawn(env: &[(&str, String)], args: &[&str]) -> Proc {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("stockdata"));
    cmd.env_clear()
        .env("PACT_DO_NOT_TRACK", "true")
        .current_dir(crate::cli::empty_dir())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    Proc(cmd.spawn().unwrap())
}

/// The sandbox's tally for Finnhub: (admitted, refused).
async fn finnhub_tally(client: &reqwest::Client, sandbox: &str) -> (u64, u64) {
    let text = client
        .get(format!("{sandbox}/_sandbox/stats"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let stats: serde_json::Value = serde_json::from_str(&text).unwrap();
    let f = &stats["providers"]["finnhub"];
    (
        f["admitted"].as_u64().unwrap_or(0),
        f["refused"].as_u64().unwrap_or(0),
    )
}

/// A counter or gauge of a replica's `/metrics` for Finnhub.
async fn metric(client: &reqwest::Client, replica: &str, name: &str) -> u64 {
    let text = client
        .get(format!("{replica}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && l.contains(name) && l.contains("finnhub"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_and_a_sync_share_one_key_through_redis_and_never_draw_a_throttle() {
    let Some(mut redis) = RedisServer::start().unwrap_or_else(|e| panic!("{e}")) else {
        return;
    };
    let (_sandbox, banner) = start(
        &[],
        &["sandbox", "serve", "--bind", "127.0.0.1:0"],
        "SYNTHETIC data",
    );
    let sandbox = banner.rsplit(' ').next().unwrap().trim().to_owned();
    let env = vec![
        ("FINNHUB_API_KEY", KEY.to_owned()),
        (
            "STOCKDATA__PROVIDERS__FINNHUB__BASE_URL",
            format!("{sandbox}/finnhub"),
        ),
        ("STOCKDATA__QUOTA__BACKEND", "redis".to_owned()),
        (
            "STOCKDATA_REDIS_URL",
            redis.url().expose_secret().to_owned(),
        ),
        // Every answer from the provider: nothing is kept to answer from.
        ("STOCKDATA__STORE__ENABLED", "false".to_owned()),
        // A request waits for its slot (up to a window) rather than giving it up unused.
        ("STOCKDATA__SERVE__REQUEST_TIMEOUT_MS", "150000".to_owned()),
    ];
    let mut replicas = Vec::new();
    let mut addrs = Vec::new();
    for _ in 0..3 {
        let (p, line) = start(&env, &["serve", "--bind", "127.0.0.1:0"], "listening on");
        addrs.push(line.rsplit(' ').next().unwrap().trim().to_owned());
        replicas.push(p);
    }
    let store = crate::cli::fresh_store();
    let mut sync_env = env.clone();
    sync_env.retain(|(k, _)| *k != "STOCKDATA__STORE__ENABLED");
    sync_env.push(("STOCKDATA__STORE__PATH", store.display().to_string()));
    let mut sync_args = vec!["sync", "--from", "2024-01-02", "--to", "2024-03-08"];
    sync_args.extend(SYMBOLS.iter().map(|s| s.to_owned()));
    // The sync runs as long as it needs: one request per symbol, in the same budget.
    let _sync = spawn(&sync_env, &sync_args);

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(160))
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicU64::new(0));
    let mut hammers = Vec::new();
    for (i, addr) in addrs.iter().enumerate() {
        for j in 0..3 {
            let (client, stop, answered) = (client.clone(), stop.clone(), answered.clone());
            let addr = addr.clone();
            hammers.push(tokio::spawn(async move {
                let mut n = i * 7 + j * 3;
                while !stop.load(Ordering::Relaxed) {
                    let symbol = SYMBOLS[n % SYMBOLS.len()];
                    n += 1;
                    let url = format!("{addr}/v1/quotes?symbols={symbol}");
                    if let Ok(r) = client.get(url).send().await
                        && r.status().is_success()
                    {
                        answered.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
    }

    // Shared through Redis for two minutes: the sandbox's windows start at its first request;
    // two of them fit, so it admits at most 120.
    let started = Instant::now();
    tokio::time::sleep(SHARED_PHASE).await;
    let (admitted, refused) = finnhub_tally(&client, &sandbox).await;
    let bound = PER_MINUTE * 2;
    eprintln!(
        "shared through Redis: {admitted} of at most {bound} admitted, {refused} refused, in {:?}",
        started.elapsed()
    );
    assert_eq!(refused, 0, "throttles while sharing through Redis");
    assert!(
        admitted * 100 >= bound * 95,
        "{admitted} of at most {bound} admitted in {:?}: the budget is wasted",
        started.elapsed()
    );
    for addr in &addrs {
        assert!(
            metric(&client, addr, "rate_limit_waits").await > 0,
            "{addr} never waited for the shared quota"
        );
        assert_eq!(metric(&client, addr, "quota_local_decisions").await, 0);
    }

    // Redis dies: every process paces alone at a quarter of every window, starting from a
    // full window; still nothing refused.
    redis.stop();
    tokio::time::sleep(DEGRADED_PHASE).await;
    let (after, refused) = finnhub_tally(&client, &sandbox).await;
    eprintln!(
        "Redis gone for {DEGRADED_PHASE:?}: {} more admitted, {refused} refused",
        after - admitted
    );
    assert_eq!(refused, 0, "throttles while Redis was gone");
    let degraded: u64 = {
        let mut sum = 0;
        for addr in &addrs {
            sum += metric(&client, addr, "quota_degraded").await;
        }
        sum
    };
    assert_eq!(degraded, 3, "every replica says it paces locally");
    assert!(after > admitted, "requests still went out, locally paced");

    // Redis comes back: the replicas share through it again.
    redis.restart().unwrap();
    let back = Instant::now();
    loop {
        let mut sum = 0;
        for addr in &addrs {
            sum += metric(&client, addr, "quota_degraded").await;
        }
        if sum == 0 {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(30),
            "replicas still degraded 30 s after Redis came back"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for h in hammers {
        h.abort();
    }
    let (_, refused) = finnhub_tally(&client, &sandbox).await;
    assert_eq!(refused, 0, "throttles after Redis came back");
    assert!(answered.load(Ordering::Relaxed) > 0);
    drop(replicas);
}
