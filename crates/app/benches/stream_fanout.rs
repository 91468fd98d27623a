//! `serve`'s Server-Sent Events fan-out: 200 clients on loopback stream 10 symbols' trades
//! from one upstream connection (an in-memory stream source emitting at a steady rate), while
//! one more client connects and never reads. Measures each event's delivery latency (from the
//! instant the source emitted it to the instant a client parsed it), checks that no reading
//! client lost an event or was let go, and that the stalled one was let go rather than
//! stalling the others. Prints one JSON line for `cargo xtask bench`.
//!
//! Target (issue #19): no slow-client stalls; p99 delivery ≤ 5 ms on loopback.

use std::sync::atomic::{AtomicU64, Ordering};
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

const CLIENTS: usize = 200;
const SYMBOLS: [&str; 10] = [
    "AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "JPM", "V", "XOM",
];
/// Trades a second over the ten symbols (each delivered to every client).
const RATE: u64 = 500;
const SECONDS: u64 = 10;

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

/// A trade whose id is its emission instant, in nanoseconds since the bench's start.
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

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
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
        let streams = std::sync::Arc::clone(sd.streams());
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
        let start = Instant::now();
        let symbols: Vec<Symbol> = SYMBOLS
            .iter()
            .map(|s| Symbol::parse(s).expect("symbol"))
            .collect();
        let query = format!(
            "{base}/v1/stream?symbols={}&events=trades",
            SYMBOLS.join(",")
        );
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .expect("client");

        // The one that never reads: opened, then left alone.
        let stalled = client.get(&query).send().await.expect("stalled client");
        let latencies = Arc::new(Mutex::new(Vec::<u64>::with_capacity(
            CLIENTS * usize::try_from(RATE * SECONDS).unwrap_or(0),
        )));
        let received = Arc::new(AtomicU64::new(0));
        let closed_early = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..CLIENTS {
            let (client, query) = (client.clone(), query.clone());
            let (latencies, received, closed_early) = (
                Arc::clone(&latencies),
                Arc::clone(&received),
                Arc::clone(&closed_early),
            );
            tasks.push(tokio::spawn(async move {
                let mut response = client.get(&query).send().await.expect("client");
                let mut buffer = String::new();
                let mut mine = Vec::new();
                let total = RATE * SECONDS;
                let mut got = 0;
                while got < total {
                    // Nothing for ten seconds is a stall (the emitter sends every 10 ms).
                    let chunk = tokio::time::timeout(Duration::from_secs(10), response.chunk());
                    let Ok(Ok(Some(chunk))) = chunk.await else {
                        closed_early.fetch_add(1, Ordering::Relaxed);
                        break;
                    };
                    let now = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
                    buffer.push_str(std::str::from_utf8(&chunk).unwrap_or_default());
                    while let Some(end) = buffer.find("\n\n") {
                        let block: String = buffer.drain(..end + 2).collect();
                        if !block.contains("event: trade") {
                            if block.contains("\"state\":\"closed\"") {
                                closed_early.fetch_add(1, Ordering::Relaxed);
                                got = total;
                            }
                            continue;
                        }
                        let Some(id) = block
                            .split("\"id\":")
                            .nth(1)
                            .and_then(|t| t.split([',', '}']).next())
                            .and_then(|t| t.parse::<u64>().ok())
                        else {
                            continue;
                        };
                        mine.push(now.saturating_sub(id));
                        got += 1;
                    }
                }
                received.fetch_add(got, Ordering::Relaxed);
                if let Ok(mut all) = latencies.lock() {
                    all.extend(mine);
                }
            }));
        }
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
        let emit_started = Instant::now();
        while seq < RATE * SECONDS {
            ticker.tick().await;
            let emitted = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
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
        for t in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(30), t).await;
        }
        // The stalled client, read now: it was let go with a last event.
        let stalled_text = tokio::time::timeout(Duration::from_secs(10), stalled.text())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let stalled_let_go = stalled_text.contains("slow reader");
        shutdown.cancel();

        let mut all = latencies.lock().map(|l| l.clone()).unwrap_or_default();
        all.sort_unstable();
        let expected = u64::try_from(CLIENTS).unwrap_or(0) * RATE * SECONDS;
        let us = |ns: u64| ns as f64 / 1000.0;
        let p50 = percentile(&all, 50.0);
        let p99 = percentile(&all, 99.0);
        let max = all.last().copied().unwrap_or(0);
        let delivered = received.load(Ordering::Relaxed);
        eprintln!(
            "stream fan-out: {CLIENTS} clients × {} events over {:.1} s: {delivered} of \
             {expected} delivered; latency p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs; {} \
             reading clients let go; the stalled client let go: {stalled_let_go}",
            RATE * SECONDS,
            emitting.as_secs_f64(),
            us(p50),
            us(p99),
            us(max),
            closed_early.load(Ordering::Relaxed),
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
                    "reading_clients_let_go": closed_early.load(Ordering::Relaxed),
                    "stalled_client_let_go": stalled_let_go,
                    "p50_us": us(p50),
                    "p99_us": us(p99),
                    "max_us": us(max),
                }
            })
        );
    });
}
