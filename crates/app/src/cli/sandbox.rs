//! `stockdata sandbox serve`

use std::sync::Arc;
use std::time::Duration;

use stockdata_app::ports::Clock;
use stockdata_app::registry;
use stockdata_sandbox::{Faults, Quotas, Sandbox, SandboxConfig, StreamConfig, StreamFaults};

use super::args::SandboxServeArgs;
use super::{Exit, usage};

impl SandboxServeArgs {
    pub(crate) async fn run(self, clock: Arc<dyn Clock>) -> Exit {
        let free = Quotas::FREE;
        let quotas = Quotas {
            finnhub_per_minute: self.finnhub_per_minute.unwrap_or(free.finnhub_per_minute),
            alpaca_per_minute: self.alpaca_per_minute.unwrap_or(free.alpaca_per_minute),
            ..free
        };
        let config = SandboxConfig {
            quotas: if self.no_quotas { None } else { Some(quotas) },
            faults: Faults {
                error_rate: self.error_rate,
                latency: Duration::from_millis(self.latency_ms),
                reset_rate: self.reset_rate,
                malformed_rate: self.malformed_rate,
            },
            stream: StreamConfig {
                speed: self.stream_speed,
                trades_per_minute: self.stream_trades_per_minute,
                heartbeat: Duration::from_millis(self.stream_heartbeat_ms.max(1)),
                faults: StreamFaults {
                    disconnect_after: self.stream_disconnect_after,
                    disconnect_rate: self.stream_disconnect_rate,
                    refuse_auth: self.stream_refuse_auth,
                    malformed_rate: self.stream_malformed_rate,
                    stall_after: self.stream_stall_after,
                },
                ..StreamConfig::default()
            },
            ..SandboxConfig::new(clock)
        };
        let bind = self.bind;
        let sandbox = match Sandbox::start(config, bind).await {
            Ok(s) => s,
            Err(e) => return usage(format!("--bind {bind}: {e}")),
        };
        eprintln!(
            "stockdata sandbox: SYNTHETIC data (not market data) on http://{}",
            sandbox.addr()
        );
        for d in registry::PROVIDERS {
            let id = d.id().as_str();
            eprintln!("  {id:<14} base_url = \"{}\"", sandbox.base_url(id));
        }
        tokio::select! {
            () = sandbox.wait() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        Exit::Ok
    }
}
