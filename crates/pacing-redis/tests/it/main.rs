//! `RedisPacing` against a real, private `redis-server` per test (see
//! `stockdata_pacing_redis::testing`): the decision, sharing between processes, key names,
//! whose clock counts, and what a pacer does while Redis is gone.

mod atomic;
mod clock;
mod degraded;
mod keys;
mod shared;
mod support;
