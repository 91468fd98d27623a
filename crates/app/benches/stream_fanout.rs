//! `serve`'s Server-Sent Events fan-out: 200 clients on loopback stream 10 symbols' trades
//! from one upstream connection (an in-memory stream source emitting at a steady rate), while
//! one more client connects and never reads.
//!
//! The clients run in a second process (this binary again, with `--clients URL`), so the
//! server's process holds only the server, as in production; both share the machine's cores.
//! Each trade's id is the wall-clock instant (nanoseconds since the epoch) the source emitted
//! it, and a client's latency is its own wall clock when it parsed the event minus that: the
//! whole way through the hub, the client's buffer, SSE, TCP on loopback and the client's
//! parse. Checks that no reading client lost an event or was let go, and that the stalled one
//! did not stall the others. Reports the server's CPU per delivered event. Prints one JSON
//! line for `cargo xtask bench`.
//!
//! Target (issue #19): no slow-client stalls; p99 delivery ≤ 5 ms on loopback.

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use stockdata_app::StockData;
use stockdata_app::config::ServeConfig;
use stockdata_app::domain::stream::{Channel, StreamEvent, Subscription, Trade};
use stockdata_app::domain::{Decimal, FetchError, Provenance, ProviderId, Symbol, Timestamp};
use stockdata_app::ports::stream::{StreamCapabilities, StreamConnection, StreamSource};
use stockdata_app::serve::{router, run};
use tokio::sync::mpsc;

mod common;
use common::{percentile, wall_ns};

const CLIENTS: usize = 200;
const SYMBOLS: [&str; 10] = [
    "AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "JPM", "V", "XOM",
];
/// Trades a second over the ten symbols (each delivered to every client).
const RATE: u64 = 500;
const SECONDS: u64 = 10;
const TOTAL: u64 = RATE * SECONDS;

/// The source: one connection whose frames the bench feeds.
#[derive(Debug)]
struct Feed(Mutex<Option<mpsc::UnboundedReceiver<Vec<StreamEvent>>>>);

#[derive(Debug)]
struct FeedConn(mpsc::UnboundedReceiver<Vec<StreamEvent>>);

#[async_trait]
impl StreamSource for Feed {
    fn provider(&self) -> ProviderId {
        ProviderId::from_static("feed")
    }
    fn stream_capabilities(&self) -> StreamCapabilities {
        StreamCapabilities {
            channels: vec![Channel::Trades],
            max_symbols: None,
            max_connections: Some(1),
            idle_timeout: Duration::from_secs(30),
        }
    }
    async fn connect(&self) -> Result<Box<dyn StreamConnection>, FetchError> {
        let rx = self.0.lock().ok().and_then(|mut r| r.take());
        rx.map(|rx| Box::new(FeedConn(rx)) as Box<dyn StreamConnection>)
            .ok_or(FetchError::Transport {
                detail: "one connection only".into(),
            })
    }
}

#[async_trait]
impl StreamConnection for FeedConn {
    async fn subscribe(&mut self, _: &Subscription) -> Result<(), FetchError> {
        Ok(())
    }
    async fn unsubscribe(&mut self, _: &Subscription) -> Result<(), FetchError> {
        Ok(())
    }
    async fn next(&mut self) -> Result<Vec<StreamEvent>, FetchError> {
        match self.0.recv().await {
            Some(events) => Ok(events),
            None => std::future::pending().await,
        }
    }
}

/// CPU time of every thread of this process, in nanoseconds (the scheduler's accounting).
fn cpu_ns() -> u64 {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .flatten()
                .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
                .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0)
}

/// A trade whose id is its emission instant.
fn trade(symbol: &Symbol, seq: u64, emitted_ns: u64) -> StreamEvent {
    StreamEvent::Trade(Trade {
        symbol: symbol.clone(),
        price: Decimal::new(18_998 + i64::try_from(seq % 100).unwrap_or(0), 2),
        size: Decimal::ONE,
        at: Timestamp::UNIX_EPOCH,
        id: Some(emitted_ns),
        exchange: Some("V".into()),
        conditions: Vec::new(),
        provenance: Provenance::new(ProviderId::from_static("feed"), Timestamp::UNIX_EPOCH),
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == "--clients") {
        Some(i) => clients(args.get(i + 1).expect("--clients URL")),
        None => server(),
    }
}

/// What one reading client saw.
#[derive(Default)]
struct Seen {
    latencies: Vec<u64>,
    let_go: bool,
}

/// One client: reads `TOTAL` trades (or until it is let go), noting each one's latency.
async fn read_all(client: reqwest::Client, url: String) -> Seen {
    let mut seen = Seen {
        latencies: Vec::with_capacity(usize::try_from(TOTAL).unwrap_or(0)),
        let_go: false,
    };
    let mut response = client.get(&url).send().await.expect("client");
    let mut buffer: Vec<u8> = Vec::with_capacity(8192);
    while (seen.latencies.len() as u64) < TOTAL {
        // Nothing for ten seconds is a stall (the source emits every 10 ms).
        let chunk = tokio::time::timeout(Duration::from_secs(10), response.chunk());
        let Ok(Ok(Some(chunk))) = chunk.await else {
            seen.let_go = true;
            break;
        };
        let now = wall_ns();
        buffer.extend_from_slice(&chunk);
        let mut start = 0;
        while let Some(end) = find(&buffer[start..], b"\n\n") {
            let block = &buffer[start..start + end];
            start += end + 2;
            if block.starts_with(b"event: status") && find(block, b"\"closed\"").is_some() {
                seen.let_go = true;
            }
            if !block.starts_with(b"event: trade") {
                continue;
            }
            let Some(at) = find(block, b"\"id\":") else {
                continue;
            };
            let digits = &block[at + 5..];
            let len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
            if let Some(id) = std::str::from_utf8(&digits[..len])
                .ok()
                .and_then(|d| d.parse::<u64>().ok())
            {
                seen.latencies.push(now.saturating_sub(id));
            }
        }
        buffer.drain(..start);
        if seen.let_go {
            break;
        }
    }
    seen
}

/// Two worker threads, as each process of the bench gets.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// The client process: CLIENTS readers and one that never reads; one JSON line on stdout.
fn clients(url: &str) {
    let rt = runtime();
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .expect("client");
        let stalled = client.get(url).send().await.expect("stalled client");
        let tasks: Vec<_> = (0..CLIENTS)
            .map(|_| tokio::spawn(read_all(client.clone(), url.to_owned())))
            .collect();
        let mut all = Vec::new();
        let mut let_go = 0;
        for task in tasks {
            let seen = task.await.expect("client task");
            all.extend(seen.latencies);
            let_go += u64::from(seen.let_go);
        }
        // The stalled client, read now for what the kernel's buffers held: was it let go?
        let mut stalled = stalled;
        let mut tail = Vec::new();
        while let Ok(Ok(Some(chunk))) =
            tokio::time::timeout(Duration::from_millis(500), stalled.chunk()).await
        {
            tail.extend_from_slice(&chunk);
        }
        let stalled_let_go = find(&tail, b"slow reader").is_some();
        all.sort_unstable();
        println!(
            "{}",
            serde_json::json!({
                "deliveries": all.len(),
                "reading_clients_let_go": let_go,
                "stalled_client_let_go": stalled_let_go,
                "stalled_client_buffered_bytes": tail.len(),
                "p50_ns": percentile(&all, 50.0),
                "p99_ns": percentile(&all, 99.0),
                "p999_ns": percentile(&all, 99.9),
                "max_ns": all.last().copied().unwrap_or(0),
            })
        );
    });
}

fn server() {
    let rt = runtime();
    rt.block_on(async {
        let (tx, rx) = mpsc::unbounded_channel();
        let sd = StockData::builder()
            .stream_source(Arc::new(Feed(Mutex::new(Some(rx)))))
            .build()
            .expect("stockdata");
        let config = ServeConfig {
            max_streams: CLIENTS + 8,
            stream_buffer: 256,
            ..ServeConfig::default()
        };
        let streams = Arc::clone(sd.streams());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let shutdown = stockdata_app::CancellationToken::new();
        tokio::spawn(run(
            listener,
            router(sd, config),
            Duration::from_secs(1),
            shutdown.clone(),
        ));
        let symbols: Vec<Symbol> = SYMBOLS
            .iter()
            .map(|s| Symbol::parse(s).expect("symbol"))
            .collect();
        let url = format!(
            "{base}/v1/stream?symbols={}&events=trades",
            SYMBOLS.join(",")
        );
        let exe = std::env::current_exe().expect("this bench's path");
        let child = Command::new(exe)
            .args(["--clients", &url])
            .stdout(Stdio::piped())
            .spawn()
            .expect("the client process");

        // Every client subscribed (the upstream connection is up) before the clock starts.
        let ready = Instant::now();
        while streams
            .stats()
            .first()
            .is_none_or(|(_, s)| s.readers < u64::try_from(CLIENTS + 1).unwrap_or(u64::MAX))
        {
            if ready.elapsed() > Duration::from_secs(60) {
                eprintln!("stream fan-out: not every client connected within a minute");
                std::process::exit(1);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;

        let mut ticker = tokio::time::interval(Duration::from_millis(10));
        let per_tick = RATE / 100;
        let mut seq = 0;
        let cpu_before = cpu_ns();
        let emit_started = Instant::now();
        while seq < TOTAL {
            ticker.tick().await;
            let emitted = wall_ns();
            let frame: Vec<StreamEvent> = (0..per_tick)
                .map(|i| {
                    let symbol = &symbols[usize::try_from((seq + i) % 10).unwrap_or(0)];
                    trade(symbol, seq + i, emitted)
                })
                .collect();
            seq += per_tick;
            if tx.send(frame).is_err() {
                break;
            }
        }
        let emitting = emit_started.elapsed();
        let output = tokio::task::spawn_blocking(move || child.wait_with_output())
            .await
            .expect("join")
            .expect("the client process's report");
        let server_cpu = cpu_ns().saturating_sub(cpu_before);
        shutdown.cancel();
        let report: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("the client process's JSON line");
        let n = |k: &str| report[k].as_u64().unwrap_or(0);
        let us = |ns: u64| ns as f64 / 1000.0;
        let expected = u64::try_from(CLIENTS).unwrap_or(0) * TOTAL;
        let delivered = n("deliveries");
        let cpu_per_delivery_ns = server_cpu as f64 / delivered.max(1) as f64;
        eprintln!(
            "stream fan-out: {CLIENTS} clients × {TOTAL} events over {:.1} s: {delivered} of \
             {expected} delivered; latency p50 {:.0} µs, p99 {:.0} µs, p99.9 {:.0} µs, max \
             {:.0} µs; server CPU {:.2} s ({cpu_per_delivery_ns:.0} ns a delivery); {} \
             reading clients let go; the stalled client let go: {} ({} bytes were waiting \
             for it)",
            emitting.as_secs_f64(),
            us(n("p50_ns")),
            us(n("p99_ns")),
            us(n("p999_ns")),
            us(n("max_ns")),
            server_cpu as f64 / 1e9,
            n("reading_clients_let_go"),
            report["stalled_client_let_go"],
            n("stalled_client_buffered_bytes"),
        );
        println!(
            "{}",
            serde_json::json!({
                "stream_fanout": {
                    "clients": CLIENTS,
                    "symbols": SYMBOLS.len(),
                    "events_per_second": RATE,
                    "seconds": SECONDS,
                    "expected_deliveries": expected,
                    "deliveries": delivered,
                    "reading_clients_let_go": n("reading_clients_let_go"),
                    "stalled_client_let_go": report["stalled_client_let_go"],
                    "p50_us": us(n("p50_ns")),
                    "p99_us": us(n("p99_ns")),
                    "p999_us": us(n("p999_ns")),
                    "max_us": us(n("max_ns")),
                    "server_cpu_ns_per_delivery": cpu_per_delivery_ns,
                }
            })
        );
    });
}
