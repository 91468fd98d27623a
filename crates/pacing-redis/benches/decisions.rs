//! How fast Redis decides: one `reserve` (every window of a budget checked and consumed in one
//! script call) against a private `redis-server` on loopback.
//!
//! Prints the latency percentiles of one caller's decisions one after another, and the
//! decisions per second one process gets from many concurrent callers over its one multiplexed
//! connection (the calls are pipelined on it); then criterion's own measurement of one
//! decision. Targets: p99 ≤ 1 ms, ≥ 20 000 decisions/s.
//!
//! Before criterion runs, the same measurements go on stdout as one JSON line
//! (`{"pacing_redis": {...}}`, latencies in µs) for `cargo xtask bench --only pacing-redis`;
//! without `redis-server` that line is `{"pacing_redis": {"skipped": "..."}}`.
//!
//! `cargo bench -p stockdata-pacing-redis` (skips, saying why, without `redis-server`).

use std::hint::black_box;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use stockdata_domain::ProviderId;
use stockdata_pacing_redis::testing::RedisServer;
use stockdata_pacing_redis::{Pacing as _, RedisPacing};
use stockdata_ports::pacing::{BudgetId, GrantId, RateWindow};

/// Budgets the decisions rotate over (each a Finnhub key: 60/min and 30/s).
const BUDGETS: usize = 1000;

fn windows() -> [RateWindow; 2] {
    let n = |v| NonZeroU32::new(v).unwrap_or(NonZeroU32::MIN);
    [RateWindow::per_minute(n(60)), RateWindow::per_second(n(30))]
}

fn budgets(store: &RedisPacing) -> Vec<BudgetId> {
    let finnhub = ProviderId::from_static("finnhub");
    (0..BUDGETS)
        .map(|i| store.budget(&finnhub, &format!("bench-key-{i}")))
        .collect()
}

static SEQ: AtomicU64 = AtomicU64::new(0);

fn grant() -> GrantId {
    GrantId {
        process: 1,
        seq: SEQ.fetch_add(1, Ordering::Relaxed),
    }
}

async fn decide(store: &RedisPacing, budget: &BudgetId) -> Duration {
    let started = Instant::now();
    let decision = store
        .reserve(budget, &windows(), Duration::ZERO, grant())
        .await;
    let took = started.elapsed();
    // A decision either way (a wait, or a quota refusal); an error is not one.
    if let Err(stockdata_ports::pacing::PacingError::Unavailable { reason }) = decision {
        eprintln!("redis failed: {reason}");
        std::process::exit(1);
    }
    took
}

/// The `per_mille`-th thousandth of `sorted` (500: the median, 990: p99).
fn percentile(sorted: &[Duration], per_mille: usize) -> Duration {
    let last = sorted.len().saturating_sub(1);
    sorted
        .get(last * per_mille / 1000)
        .copied()
        .unwrap_or_default()
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

/// Microseconds, as a JSON number.
fn us_json(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e6)
}

/// The latency percentiles of `sorted` as a JSON object (µs).
fn latencies_json(sorted: &[Duration]) -> String {
    format!(
        "{{\"decisions\":{},\"p50_us\":{},\"p99_us\":{},\"p999_us\":{},\"max_us\":{}}}",
        sorted.len(),
        us_json(percentile(sorted, 500)),
        us_json(percentile(sorted, 990)),
        us_json(percentile(sorted, 999)),
        us_json(percentile(sorted, 1000)),
    )
}

/// One caller, one decision after another.
async fn sequential(store: &RedisPacing, budgets: &[BudgetId], count: usize) -> Vec<Duration> {
    let mut took = Vec::with_capacity(count);
    for i in 0..count {
        took.push(decide(store, &budgets[i % budgets.len()]).await);
    }
    took.sort();
    took
}

/// `callers` concurrent callers for `span`: decisions made, and each one's latency.
async fn concurrent(
    store: Arc<RedisPacing>,
    budgets: Arc<Vec<BudgetId>>,
    callers: usize,
    span: Duration,
) -> (usize, Duration, Vec<Duration>) {
    let started = Instant::now();
    let until = started + span;
    let tasks: Vec<_> = (0..callers)
        .map(|c| {
            let (store, budgets) = (Arc::clone(&store), Arc::clone(&budgets));
            tokio::spawn(async move {
                let mut took = Vec::new();
                let mut i = c;
                while Instant::now() < until {
                    took.push(decide(&store, &budgets[i % budgets.len()]).await);
                    i += callers;
                }
                took
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap_or_default());
    }
    let elapsed = started.elapsed();
    all.sort();
    (all.len(), elapsed, all)
}

fn bench(c: &mut Criterion) {
    let server = match RedisServer::start() {
        Ok(Some(server)) => server,
        Ok(None) => {
            println!(r#"{{"pacing_redis":{{"skipped":"redis-server is not installed"}}}}"#);
            return;
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| {
            eprintln!("no runtime: {e}");
            std::process::exit(1);
        });
    let store = Arc::new(RedisPacing::new(&server.url()).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1);
    }));
    let budgets = Arc::new(budgets(&store));

    let measured = runtime.block_on(async {
        sequential(&store, &budgets, 2_000).await; // connect, load the script, warm up
        let took = sequential(&store, &budgets, 20_000).await;
        println!(
            "redis reserve, one caller, 20000 decisions: p50 {}, p99 {}, p99.9 {}, max {}",
            us(percentile(&took, 500)),
            us(percentile(&took, 990)),
            us(percentile(&took, 999)),
            us(percentile(&took, 1000)),
        );
        let one_caller = latencies_json(&took);
        let mut many = Vec::new();
        for callers in [16, 64] {
            let (n, elapsed, took) = concurrent(
                Arc::clone(&store),
                Arc::clone(&budgets),
                callers,
                Duration::from_secs(3),
            )
            .await;
            let per_s = f64::from(u32::try_from(n).unwrap_or(u32::MAX)) / elapsed.as_secs_f64();
            println!(
                "redis reserve, {callers} concurrent callers, one connection: {per_s:.0} \
                 decisions/s ({n} in {:.2} s), p50 {}, p99 {}",
                elapsed.as_secs_f64(),
                us(percentile(&took, 500)),
                us(percentile(&took, 990)),
            );
            many.push(format!(
                "{{\"callers\":{callers},\"decisions\":{n},\"elapsed_s\":{:.3},\
                 \"decisions_per_s\":{per_s:.0},\"p50_us\":{},\"p99_us\":{}}}",
                elapsed.as_secs_f64(),
                us_json(percentile(&took, 500)),
                us_json(percentile(&took, 990)),
            ));
        }
        // Every budget's windows full by now: each decision finds its slot a span ahead.
        let took = sequential(&store, &budgets, 20_000).await;
        println!(
            "redis reserve, one caller, 20000 decisions on full windows: p50 {}, p99 {}, \
             p99.9 {}, max {}",
            us(percentile(&took, 500)),
            us(percentile(&took, 990)),
            us(percentile(&took, 999)),
            us(percentile(&took, 1000)),
        );
        format!(
            "{{\"pacing_redis\":{{\"budgets\":{BUDGETS},\"one_caller\":{one_caller},\
             \"one_caller_full_windows\":{},\"concurrent\":[{}]}}}}",
            latencies_json(&took),
            many.join(","),
        )
    });
    // One line, for `cargo xtask bench`.
    println!("{measured}");

    let mut group = c.benchmark_group("redis_pacing");
    group.bench_function("reserve_finnhub_windows", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let mut total = Duration::ZERO;
                for i in 0..iters {
                    let i = usize::try_from(i).unwrap_or(0);
                    total += black_box(decide(&store, &budgets[i % budgets.len()]).await);
                }
                total
            })
        });
    });
    group.finish();
    drop(server);
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
