//! `stockdata serve`

use super::args::ServeArgs;
use super::{Ctx, Exit, usage};
use stockdata_app::CancellationToken;

impl ServeArgs {
    pub(crate) async fn run(self, ctx: Ctx) -> Exit {
        let bind = self.bind;
        let listener = match tokio::net::TcpListener::bind(bind).await {
            Ok(l) => l,
            Err(e) => return usage(format!("--bind {bind}: {e}")),
        };
        let addr = listener
            .local_addr()
            .map_or_else(|_| bind.to_string(), |a| a.to_string());
        eprintln!("stockdata serve: listening on http://{addr}");
        let shutdown = CancellationToken::new();
        let trigger = shutdown.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            eprintln!("stockdata serve: shutting down, draining in-flight requests");
            trigger.cancel();
        });
        let serve_config = ctx.stockdata.config().serve.clone();
        let grace = serve_config.grace_period;
        let limits = stockdata_app::serve::ConnectionLimits {
            header_read_timeout: serve_config.header_read_timeout,
            max_connections: serve_config.max_connections,
        };
        let router = stockdata_app::serve::router(ctx.stockdata, serve_config);
        match stockdata_app::serve::run_with_limits(listener, router, limits, grace, shutdown).await
        {
            Ok(()) => Exit::Ok,
            Err(e) => {
                eprintln!("stockdata serve: {e}");
                Exit::Failed
            }
        }
    }
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
