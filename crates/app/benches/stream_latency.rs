//! The latency `stockdata stream` adds: from the instant a provider's websocket frame is
//! written to the socket to the instant its NDJSON line can be read from stdout.
//!
//! This process plays Alpaca's market data stream on loopback (greeting, header
//! authentication, the subscription's acknowledgement, then trade frames); the real release
//! binary (`stockdata stream … --trades`, stdout piped) connects to it as it would to Alpaca.
//! Each trade's `i` (its id) is the wall-clock instant, in nanoseconds since the epoch, just
//! before its frame was written; a thread reading the pipe takes its own wall clock when the
//! line arrives. What is measured is all of stockdata's path (websocket read, parse, hub,
//! reader, serialization, write and flush) plus the loopback socket and the pipe.
//!
//! Two loads, each for [`SECONDS`]:
//! - `steady`: one trade a frame, 1,000 frames a second (a busy symbol list on IEX).
//! - `bursts`: 100 trades a frame, 100 frames a second (Alpaca batches up to 1,000 messages a
//!   frame at the open); a trade's latency includes the frame's trades before it.
//!
//! Target (issue #19): p99 ≤ 1 ms. Prints one JSON line for `cargo xtask bench`.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

mod common;
use common::{percentile, wall_ns};

const SECONDS: u64 = 10;
const SYMBOLS: [&str; 10] = [
    "AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "JPM", "V", "XOM",
];

/// One load: frames a second and trades a frame.
#[derive(Clone, Copy)]
struct Load {
    name: &'static str,
    frames_per_second: u64,
    trades_per_frame: u64,
}

const LOADS: [Load; 2] = [
    Load {
        name: "steady",
        frames_per_second: 1000,
        trades_per_frame: 1,
    },
    Load {
        name: "bursts",
        frames_per_second: 100,
        trades_per_frame: 100,
    },
];

/// The trade frame: `n` trades stamped `now`, ids `now + k` so each is distinct.
fn frame(now: u64, n: u64, seq: u64) -> String {
    let mut out = String::with_capacity(usize::try_from(n).unwrap_or(1) * 130 + 2);
    out.push('[');
    for k in 0..n {
        if k > 0 {
            out.push(',');
        }
        let symbol = SYMBOLS[usize::try_from((seq + k) % 10).unwrap_or(0)];
        let cents = 18_998 + (seq + k) % 100;
        out.push_str(&format!(
            concat!(
                r#"{{"T":"t","S":"{}","i":{},"x":"V","p":{}.{:02},"s":100,"#,
                r#""t":"2024-03-08T15:00:00.123456789Z","c":["@"],"z":"C"}}"#
            ),
            symbol,
            now + k,
            cents / 100,
            cents % 100
        ));
    }
    out.push(']');
    out
}

/// Plays Alpaca for one connection: greeting, authenticated, the acknowledgement, then
/// `load`'s frames for [`SECONDS`].
async fn provider(listener: TcpListener, load: Load) {
    let (tcp, _) = listener.accept().await.expect("stockdata connects");
    tcp.set_nodelay(true).expect("nodelay");
    let mut ws = tokio_tungstenite::accept_async(tcp)
        .await
        .expect("websocket upgrade");
    for greeting in [
        r#"[{"T":"success","msg":"connected"}]"#,
        r#"[{"T":"success","msg":"authenticated"}]"#,
    ] {
        ws.send(Message::text(greeting)).await.expect("greeting");
    }
    // The subscription, acknowledged with the whole list as Alpaca does.
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) if text.contains("\"subscribe\"") => break,
            Some(Ok(_)) => {}
            other => panic!("no subscription: {other:?}"),
        }
    }
    let list = SYMBOLS.map(|s| format!("\"{s}\"")).join(",");
    let ack = format!(
        concat!(
            r#"[{{"T":"subscription","trades":[{list}],"quotes":[],"bars":[],"updatedBars":[],"#,
            r#""dailyBars":[],"statuses":[],"lulds":[],"corrections":[{list}],"#,
            r#""cancelErrors":[{list}]}}]"#
        ),
        list = list
    );
    ws.send(Message::text(ack)).await.expect("ack");
    // Pings from stockdata are answered while frames go out.
    let (mut sink, mut stream) = ws.split();
    tokio::spawn(async move { while let Some(Ok(_)) = stream.next().await {} });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut ticker =
        tokio::time::interval(Duration::from_nanos(1_000_000_000 / load.frames_per_second));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let frames = load.frames_per_second * SECONDS;
    for seq in 0..frames {
        ticker.tick().await;
        let text = frame(
            wall_ns(),
            load.trades_per_frame,
            seq * load.trades_per_frame,
        );
        sink.send(Message::text(text)).await.expect("frame");
    }
    // Held open until stockdata has read the last ones and is stopped.
    tokio::time::sleep(Duration::from_secs(3600)).await;
}

/// Runs `stockdata stream` against the played provider under `load`; each trade's latency.
fn measure(load: Load) -> Vec<u64> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).expect("bind");
    let addr = listener.local_addr().expect("addr");
    let expected = load.frames_per_second * SECONDS * load.trades_per_frame;
    // `STREAM_LATENCY_BIN` names another build to measure (an A/B of two changes).
    let bin = std::env::var_os("STREAM_LATENCY_BIN")
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_stockdata").into());
    let mut child = Command::new(bin)
        .env_clear()
        .env("APCA_API_KEY_ID", "bench-key")
        .env("APCA_API_SECRET_KEY", "bench-secret")
        .env(
            "STOCKDATA__PROVIDERS__ALPACA__STREAM_URL",
            format!("ws://{addr}"),
        )
        .env("STOCKDATA__STORE__PATH", ":memory:")
        .args(["stream", "--trades", "--format", "ndjson", "--limit"])
        .arg(expected.to_string())
        .args(SYMBOLS)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("stockdata");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut latencies = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let now = wall_ns();
            if !line.starts_with(r#"{"type":"trade""#) {
                continue;
            }
            let Some(at) = line.find(r#""id":"#) else {
                continue;
            };
            let digits: String = line[at + 5..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(id) = digits.parse::<u64>() {
                latencies.push(now.saturating_sub(id));
            }
        }
        let _ = tx.send(());
        latencies
    });
    let playing = std::thread::spawn(move || rt.block_on(provider(listener, load)));
    let deadline = Instant::now() + Duration::from_secs(SECONDS + 60);
    while rx.try_recv().is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    drop(playing);
    reader.join().expect("reader")
}

fn main() {
    let mut results = serde_json::Map::new();
    for load in LOADS {
        let mut latencies = measure(load);
        latencies.sort_unstable();
        let expected = load.frames_per_second * SECONDS * load.trades_per_frame;
        let us = |ns: u64| ns as f64 / 1000.0;
        let (p50, p99, p999) = (
            percentile(&latencies, 50.0),
            percentile(&latencies, 99.0),
            percentile(&latencies, 99.9),
        );
        let max = latencies.last().copied().unwrap_or(0);
        eprintln!(
            "stream latency, {}: {} of {expected} trades out; frame in → line out p50 {:.0} µs, \
             p99 {:.0} µs, p99.9 {:.0} µs, max {:.0} µs",
            load.name,
            latencies.len(),
            us(p50),
            us(p99),
            us(p999),
            us(max),
        );
        results.insert(
            load.name.to_owned(),
            serde_json::json!({
                "frames_per_second": load.frames_per_second,
                "trades_per_frame": load.trades_per_frame,
                "expected": expected,
                "lines": latencies.len(),
                "p50_us": us(p50),
                "p99_us": us(p99),
                "p999_us": us(p999),
                "max_us": us(max),
            }),
        );
    }
    println!("{}", serde_json::json!({ "stream_latency": results }));
}
