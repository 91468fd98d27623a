//! `--stats`: process statistics as one JSON line on stderr, for `cargo xtask bench`.

use stockdata_app::adapters::transport::StatsSnapshot;
use stockdata_app::domain::ProviderId;

/// Wall and CPU time, peak RSS and HTTP counts, as one JSON line on stderr.
pub(crate) fn print(started: std::time::Instant, http: &[(ProviderId, StatsSnapshot)]) {
    // CPU time of every thread, in nanoseconds, from the scheduler's accounting (the first
    // field of each task's schedstat): far finer than the 10 ms ticks of /proc/self/stat.
    let cpu_ns: u64 = std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .flatten()
                .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
                .filter_map(|s| {
                    s.split_whitespace()
                        .next()
                        .and_then(|v| v.parse::<u64>().ok())
                })
                .sum()
        })
        .unwrap_or(0);
    #[allow(clippy::cast_precision_loss)]
    let cpu_ms = cpu_ns as f64 / 1e6;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak_rss_kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0);
    let http: serde_json::Map<String, serde_json::Value> = http
        .iter()
        .map(|(p, s)| {
            let counts = serde_json::json!({
                "requests": s.requests,
                "retries": s.retries,
                "throttled": s.throttled,
                "waits": s.waits,
                "waited_ms": s.waited_ms,
            });
            (p.to_string(), counts)
        })
        .collect();
    let line = serde_json::json!({"stockdata_stats": {
        "wall_ms": u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "cpu_ms": cpu_ms,
        "peak_rss_kb": peak_rss_kb,
        "http": http,
    }});
    eprintln!("{line}");
}
