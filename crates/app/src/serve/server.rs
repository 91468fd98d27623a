//! The accept loop: HTTP/1.1 over hyper with a timer, so a connection that does not deliver a
//! request head in time (slow headers, or idle between keep-alive requests) is closed; a cap on
//! open connections; graceful shutdown with a grace period.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{HEADER_READ_TIMEOUT, MAX_CONNECTIONS};

/// How long to wait before accepting again after the listener failed (out of file
/// descriptors, typically): connections that close meanwhile free some.
const ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// Bounds on connections, whatever their requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Time to deliver a complete request head, from when the connection opens or its previous
    /// response ends; the connection is closed past it. Default [`HEADER_READ_TIMEOUT`].
    pub header_read_timeout: Duration,
    /// Connections open at once; more wait in the listen backlog. Default [`MAX_CONNECTIONS`].
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: HEADER_READ_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
        }
    }
}

/// Serves `router` on `listener` with the default [`ConnectionLimits`] until `shutdown` is
/// cancelled, then gives in-flight requests `grace` to finish.
///
/// # Errors
/// None today; the signature leaves room for listener failures that cannot be retried.
pub async fn run(
    listener: TcpListener,
    router: Router,
    grace: Duration,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    run_with_limits(
        listener,
        router,
        ConnectionLimits::default(),
        grace,
        shutdown,
    )
    .await
}

/// [`run`] with explicit connection limits.
///
/// # Errors
/// None today; the signature leaves room for listener failures that cannot be retried.
pub async fn run_with_limits(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    grace: Duration,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let slot = tokio::select! {
            () = shutdown.cancelled() => break,
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) if per_connection(&e) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot accept connections: retrying in 1 s");
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                    }
                }
            },
        };
        // Small JSON answers: do not wait for more to send.
        let _ = stream.set_nodelay(true);
        let connection = graceful.watch(http.serve_connection(
            TokioIo::new(stream),
            TowerToHyperService::new(router.clone()),
        ));
        connections.spawn(async move {
            if let Err(e) = connection.await {
                // Slow or idle clients cut off, resets, malformed requests: theirs to know.
                tracing::debug!(error = %e, "connection closed");
            }
            drop(slot);
        });
    }
    // No new connections from here: the port refuses them.
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => {
            tracing::warn!(
                grace_ms = u64::try_from(grace.as_millis()).unwrap_or(u64::MAX),
                "grace period over: dropping requests still in flight"
            );
        }
    }
    connections.abort_all();
    Ok(())
}

/// Errors about one incoming connection, not about the listener.
fn per_connection(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}
