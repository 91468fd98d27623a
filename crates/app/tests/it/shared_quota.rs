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
//!
//! What it measures (the sandbox's tallies, every replica's counters, the clients' answers,
//! per phase) is printed as one JSON line (`{"shared_quota": {...}}`) at the end, and written
//! after every phase to the file [`REPORT_ENV`] names when set, so a failed check still leaves
//! its numbers: `cargo xtask bench --only shared-quota` reads it.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use stockdata_pacing_redis::testing::RedisServer;

/// The variable naming the file the measurements are written to.
const REPORT_ENV: &str = "STOCKDATA_SHARED_QUOTA_REPORT";

const KEY: &str = "shared-finnhub-key-5c1e";
/// Finnhub's free tier, as the sandbox enforces it.
const PER_MINUTE: u64 = 60;
const SHARED_PHASE: Duration = Duration::from_secs(119);
const DEGRADED_PHASE: Duration = Duration::from_secs(66);
const SYMBOLS: [&str; 24] = [
    "AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "BRK.B", "JPM", "V", "UNH", "XOM",
    "JNJ", "WMT", "MA", "PG", "HD", "CVX", "MRK", "ABBV", "KO", "PEP", "COST", "AVGO",
];
/// Clients hammering each replica.
const CLIENTS_PER_REPLICA: usize = 3;

/// The measurements so far, phase by phase.
#[derive(Default)]
struct Measured(serde_json::Map<String, Value>);

impl Measured {
    /// Adds `phase`, and rewrites the [`REPORT_ENV`] file with everything measured so far.
    fn record(&mut self, phase: &str, value: Value) {
        self.0.insert(phase.to_owned(), value);
        if let Some(path) = std::env::var_os(REPORT_ENV) {
            std::fs::write(path, self.line()).unwrap();
        }
    }

    fn line(&self) -> String {
        json!({ "shared_quota": self.0 }).to_string()
    }
}

/// A child process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `stockdata args` as the store tests run it (cleared environment, an empty directory, their
/// fixed `--now`: the quota windows, the sandbox's and the pacers', run on the monotonic clock),
/// with `env` added and stdout discarded.
fn stockdata(env: &[(&str, String)], args: &[&str]) -> Command {
    let mut cmd = crate::store_cli::stockdata(crate::cli::empty_dir());
    cmd.args(args)
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .stdout(Stdio::null());
    cmd
}

/// Starts `stockdata args` and reads its stderr until a line containing `marker`; answers the
/// process and that line. The rest of stderr is drained in the background.
fn start(env: &[(&str, String)], args: &[&str], marker: &str) -> (Proc, String) {
    let mut child = stockdata(env, args).stderr(Stdio::piped()).spawn().unwrap();
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
    Proc(stockdata(env, args).stderr(Stdio::null()).spawn().unwrap())
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

/// Every replica's Finnhub counters.
async fn replica_counters(client: &reqwest::Client, replicas: &[String]) -> Vec<Value> {
    let mut out = Vec::new();
    for addr in replicas {
        out.push(json!({
            "requests": metric(client, addr, "provider_requests").await,
            "waits": metric(client, addr, "rate_limit_waits").await,
            "throttled": metric(client, addr, "provider_throttled").await,
            "local_decisions": metric(client, addr, "quota_local_decisions").await,
            "degraded": metric(client, addr, "quota_degraded").await,
        }));
    }
    out
}

fn seconds(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
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
    // The sync keeps what it fetches: in the fresh store `stockdata` names.
    let mut sync_env = env.clone();
    sync_env.retain(|(k, _)| *k != "STOCKDATA__STORE__ENABLED");
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
        for j in 0..CLIENTS_PER_REPLICA {
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

    let mut measured = Measured::default();
    measured.record(
        "setup",
        json!({
            "replicas": addrs.len(),
            "clients_per_replica": CLIENTS_PER_REPLICA,
            "sync_symbols": SYMBOLS.len(),
            "per_minute": PER_MINUTE,
            "per_second": 30,
        }),
    );
    // Shared through Redis for two minutes: the sandbox's windows start at its first request;
    // two of them fit, so it admits at most 120.
    let started = Instant::now();
    tokio::time::sleep(SHARED_PHASE).await;
    let (admitted, refused) = finnhub_tally(&client, &sandbox).await;
    let shared_took = started.elapsed();
    let bound = PER_MINUTE * 2;
    eprintln!(
        "shared through Redis: {admitted} of at most {bound} admitted, {refused} refused, in \
         {shared_took:?}"
    );
    let counters = replica_counters(&client, &addrs).await;
    let shared_answered = answered.load(Ordering::Relaxed);
    measured.record(
        "shared",
        json!({
            "seconds": seconds(shared_took),
            "admitted": admitted,
            "refused": refused,
            "bound": bound,
            "used": admitted as f64 / bound as f64,
            "answered": shared_answered,
            "replicas": counters,
        }),
    );
    assert_eq!(refused, 0, "throttles while sharing through Redis");
    assert!(
        admitted * 100 >= bound * 95,
        "{admitted} of at most {bound} admitted in {shared_took:?}: the budget is wasted"
    );
    for (addr, c) in addrs.iter().zip(&counters) {
        assert!(
            c["waits"].as_u64() > Some(0),
            "{addr} never waited for the shared quota"
        );
        assert_eq!(c["local_decisions"].as_u64(), Some(0));
    }

    // Redis dies: every process paces alone at a quarter of every window, starting from a
    // full window; still nothing refused.
    redis.stop();
    tokio::time::sleep(DEGRADED_PHASE).await;
    let shared_refused = refused;
    let (after, refused) = finnhub_tally(&client, &sandbox).await;
    eprintln!(
        "Redis gone for {DEGRADED_PHASE:?}: {} more admitted, {refused} refused",
        after - admitted
    );
    let counters = replica_counters(&client, &addrs).await;
    let degraded: u64 = counters.iter().filter_map(|c| c["degraded"].as_u64()).sum();
    let degraded_answered = answered.load(Ordering::Relaxed);
    measured.record(
        "redis_gone",
        json!({
            "seconds": seconds(DEGRADED_PHASE),
            "admitted": after - admitted,
            "refused": refused - shared_refused,
            "degraded_replicas": degraded,
            "answered": degraded_answered - shared_answered,
            "replicas": counters,
        }),
    );
    assert_eq!(refused, 0, "throttles while Redis was gone");
    assert_eq!(degraded, 3, "every replica says it paces locally");
    assert!(after > admitted, "requests still went out, locally paced");

    // Redis comes back: the replicas share through it again.
    redis.restart().unwrap();
    let back = Instant::now();
    let recovered = loop {
        let mut sum = 0;
        for addr in &addrs {
            sum += metric(&client, addr, "quota_degraded").await;
        }
        if sum == 0 {
            break Some(back.elapsed());
        }
        if back.elapsed() >= Duration::from_secs(30) {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    stop.store(true, Ordering::Relaxed);
    for h in hammers {
        h.abort();
    }
    let gone_refused = refused;
    let (total, refused) = finnhub_tally(&client, &sandbox).await;
    let total_answered = answered.load(Ordering::Relaxed);
    measured.record(
        "redis_back",
        json!({
            "shared_again_after_s": recovered.map(seconds),
            "admitted": total - after,
            "refused": refused - gone_refused,
            "answered": total_answered - degraded_answered,
            "replicas": replica_counters(&client, &addrs).await,
        }),
    );
    measured.record(
        "total",
        json!({
            "seconds": seconds(started.elapsed()),
            "admitted": total,
            "refused": refused,
            "answered": total_answered,
        }),
    );
    println!("{}", measured.line());
    assert!(
        recovered.is_some(),
        "replicas still degraded 30 s after Redis came back"
    );
    assert_eq!(refused, 0, "throttles after Redis came back");
    assert!(total_answered > 0);
    drop(replicas);
}
