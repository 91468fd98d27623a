//! Shared helpers: a private Redis, a store on it, budgets, and reading its keys.

use std::num::NonZeroU32;
use std::sync::Arc;

use redis::AsyncCommands as _;
use stockdata_domain::ProviderId;
use stockdata_pacing_redis::testing::RedisServer;
use stockdata_pacing_redis::{Pacing as _, RedisPacing};
use stockdata_ports::pacing::{BudgetId, GrantId};

/// A private redis-server, or `None` (the test returns) where the binary is absent outside CI.
pub(crate) fn redis() -> Option<RedisServer> {
    RedisServer::start().unwrap_or_else(|e| panic!("{e}"))
}

pub(crate) fn store(server: &RedisServer) -> Arc<RedisPacing> {
    Arc::new(RedisPacing::new(&server.url()).unwrap())
}

pub(crate) fn n(v: u32) -> NonZeroU32 {
    NonZeroU32::new(v).unwrap()
}

pub(crate) fn budget(store: &RedisPacing, provider: &'static str, key: &str) -> BudgetId {
    store.budget(&ProviderId::from_static(provider), key)
}

/// A fresh grant id for each call.
pub(crate) fn grant() -> GrantId {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    GrantId {
        process: 7,
        seq: SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
    }
}

/// A plain connection for looking at what the store wrote.
pub(crate) async fn inspect(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    let url = format!("redis://127.0.0.1:{}", server.port());
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// How many grants a key holds.
pub(crate) async fn held(con: &mut redis::aio::MultiplexedConnection, key: &str) -> usize {
    con.zcard(key).await.unwrap()
}
