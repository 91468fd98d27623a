//! The core tested at the ports: in-memory fakes, no HTTP (except the log test, which drives
//! a real adapter over loopback), no process environment.

mod agent;
mod brief;
mod brief_browser;
mod cli;
mod config;
mod doctor;
mod fakes;
mod fetchers;
mod hostile;
mod logs;
#[cfg(feature = "otel")]
mod otel;
mod planner;
mod pty;
mod quota_redis;
mod serve;
mod serve_hostile;
mod shared_quota;
mod store;
mod store_cli;
mod stream;
mod watch_chart;
