//! Load run for `stockdata serve`: N concurrent clients send a fixed count of requests to a
//! server on loopback backed by in-memory sources. Prints one JSON line for `cargo xtask bench`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use stockdata_app::StockData;
use stockdata_app::config::ServeConfig;
use stockdata_app::domain::{FetchError, Provenance, ProviderId, Quote, Symbol, Timestamp};
use stockdata_app::ports::{Capabilities, QuoteSource};
use stockdata_app::serve::{router, run};

const CLIENTS: usize = 32;
const REQUESTS: usize = 20_000;

#[derive(Debug)]
struct Static(Capabilities);

#[async_trait]
impl QuoteSource for Static {
    fn provider(&self) -> ProviderId {
        ProviderId::from_static("static")
    }
    fn capabilities(&self) -> &Capabilities {
        &self.0
    }
    async fn quote(&self, symbol: &Symbol) -> Result<Quote, FetchError> {
        let at = Timestamp::UNIX_EPOCH;
        Ok(Quote {
            symbol: symbol.clone(),
            price: "189.98".parse().unwrap_or_default(),
            bid: None,
            bid_size: None,
            ask: None,
            ask_size: None,
            open: None,
            high: None,
            low: None,
            previous_close: Some("188.01".parse().unwrap_or_default()),
            change: None,
            change_percent: None,
            volume: Some(1_000),
            as_of: at,
            provenance: Provenance::new(ProviderId::from_static("static"), at),
        })
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let caps = Capabilities {
            max_symbols_per_request: 100,
            ..Capabilities::single_symbol()
        };
        let sd = StockData::builder()
            .quote_source(Arc::new(Static(caps)))
            .build()
            .expect("build");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let shutdown = stockdata_app::CancellationToken::new();
        let config = ServeConfig {
            concurrency: 256,
            ..ServeConfig::default()
        };
        let server = tokio::spawn(run(
            listener,
            router(sd, config),
            Duration::from_secs(5),
            shutdown.clone(),
        ));
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(CLIENTS)
            .build()
            .expect("client");
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..CLIENTS {
            let (client, next, url) = (
                client.clone(),
                Arc::clone(&next),
                format!("{base}/v1/quotes?symbols=AAPL,MSFT,NVDA"),
            );
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0usize;
                while next.fetch_add(1, Ordering::Relaxed) < REQUESTS {
                    let t = Instant::now();
                    match client.get(&url).send().await {
                        Ok(r) if r.status().is_success() => {
                            let _ = r.bytes().await;
                        }
                        _ => errors += 1,
                    }
                    latencies.push(t.elapsed());
                }
                (latencies, errors)
            }));
        }
        let mut latencies = Vec::with_capacity(REQUESTS);
        let mut errors = 0;
        for t in tasks {
            let (l, e) = t.await.expect("client task");
            latencies.extend(l);
            errors += e;
        }
        let elapsed = started.elapsed();
        shutdown.cancel();
        let _ = server.await;
        latencies.sort();
        let pct = |p: f64| {
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                clippy::cast_precision_loss
            )]
            let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
            latencies.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        #[allow(clippy::cast_precision_loss)]
        let rps = latencies.len() as f64 / elapsed.as_secs_f64();
        println!(
            "{}",
            serde_json::json!({"serve_load": {
                "clients": CLIENTS, "requests": latencies.len(), "errors": errors,
                "elapsed_s": elapsed.as_secs_f64(), "req_per_s": rps,
                "p50_ms": pct(0.5), "p99_ms": pct(0.99),
            }})
        );
    });
}
