//! Prometheus metrics: request counters and latency by route, provider errors and fail-overs
//! from the attempt trails, and the transport's own provider counters, read by a collector at
//! scrape time (no copies kept here). `/metrics` speaks OpenMetrics to a scraper that asks for
//! it and the classic text exposition format 0.0.4 to everyone else. With quotas kept in a
//! shared store (`[quota] backend = "redis"`), `quota_degraded{provider}` says whether this
//! process paces that provider locally because the store is unreachable, and
//! `quota_local_decisions{provider}` counts the decisions it made so.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, header};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric as _};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use stockdata_adapters_http::transport::{PacerRegistry, StatsSnapshot};

use crate::fetch::{Attempt, Outcome};
use crate::stream::{StreamStatsSnapshot, Streams};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteStatus {
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderKind {
    provider: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderLabel {
    provider: String,
}

/// The transport's per-provider counters, read from the pacers on every scrape (and, with a
/// shared quota store, whether each provider is paced locally for want of it).
#[derive(Debug)]
struct ProviderStats(Arc<PacerRegistry>);

impl Collector for ProviderStats {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = self.0.stats();
        type Read = fn(&StatsSnapshot) -> u64;
        let families: [(&str, &str, Read); 3] = [
            (
                "provider_requests",
                "HTTP requests sent to providers.",
                |s| s.requests,
            ),
            (
                "rate_limit_waits",
                "Requests that waited for a provider's quota.",
                |s| s.waits,
            ),
            (
                "provider_throttled",
                "Throttle answers (429 or in-body) received from providers.",
                |s| s.throttled,
            ),
        ];
        for (name, help, read) in families {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for (provider, snapshot) in &stats {
                let label = ProviderLabel {
                    provider: provider.to_string(),
                };
                ConstCounter::new(read(snapshot)).encode(family.encode_family(&label)?)?;
            }
        }
        if self.0.quota_status().is_none() {
            return Ok(());
        }
        let mut family = encoder.encode_descriptor(
            "quota_local_decisions",
            "Pacing decisions made in this process, at the fallback share, while the shared \
             quota store was unreachable.",
            None,
            MetricType::Counter,
        )?;
        for (provider, snapshot) in &stats {
            let label = ProviderLabel {
                provider: provider.to_string(),
            };
            ConstCounter::new(snapshot.local_decisions).encode(family.encode_family(&label)?)?;
        }
        let mut family = encoder.encode_descriptor(
            "quota_degraded",
            "1 while the shared quota store is unreachable and this process paces the provider \
             locally at the fallback share; 0 while quotas are shared.",
            None,
            MetricType::Gauge,
        )?;
        for (provider, degraded) in self.0.degraded() {
            let label = ProviderLabel {
                provider: provider.to_string(),
            };
            ConstGauge::new(i64::from(degraded)).encode(family.encode_family(&label)?)?;
        }
        Ok(())
    }
}

/// The live streams' counters, read on every scrape (only the providers that stream).
#[derive(Debug)]
struct StreamCounters(Arc<Streams>);

impl Collector for StreamCounters {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = self.0.stats();
        if stats.is_empty() {
            return Ok(());
        }
        type Read = fn(&StreamStatsSnapshot) -> u64;
        let counters: [(&str, &str, Read); 6] = [
            (
                "stream_connects",
                "Upstream stream connections opened.",
                |s| s.connects,
            ),
            (
                "stream_reconnects",
                "Upstream stream connections lost and attempted again.",
                |s| s.reconnects,
            ),
            (
                "stream_events_received",
                "Market events (trades, quotes, bars) received from the provider's stream.",
                |s| s.received,
            ),
            (
                "stream_events_delivered",
                "Events handed to readers' buffers (once per reader).",
                |s| s.delivered,
            ),
            (
                "stream_events_dropped",
                "Events dropped because a reader fell behind (oldest first, or the reader let go).",
                |s| s.dropped,
            ),
            (
                "stream_malformed_frames",
                "Stream frames that did not have the documented shape.",
                |s| s.malformed,
            ),
        ];
        for (name, help, read) in counters {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for (provider, snapshot) in &stats {
                let label = ProviderLabel {
                    provider: provider.to_string(),
                };
                ConstCounter::new(read(snapshot)).encode(family.encode_family(&label)?)?;
            }
        }
        type Gauge = fn(&StreamStatsSnapshot) -> i64;
        let gauges: [(&str, &str, Gauge); 2] = [
            (
                "stream_connected",
                "1 while the provider's stream connection is up.",
                |s| i64::from(s.connected),
            ),
            (
                "stream_readers",
                "Readers of the provider's stream now (CLI readers, /v1/stream clients).",
                |s| i64::try_from(s.readers).unwrap_or(i64::MAX),
            ),
        ];
        for (name, help, read) in gauges {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for (provider, snapshot) in &stats {
                let label = ProviderLabel {
                    provider: provider.to_string(),
                };
                ConstGauge::new(read(snapshot)).encode(family.encode_family(&label)?)?;
            }
        }
        Ok(())
    }
}

pub(super) struct Metrics {
    registry: Registry,
    requests: Family<RouteStatus, Counter>,
    latency: Family<RouteLabel, Histogram>,
    provider_errors: Family<ProviderKind, Counter>,
    failovers: Counter,
    store_hits: Counter,
}

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

impl Metrics {
    pub(super) fn new(pacers: Arc<PacerRegistry>, streams: Arc<Streams>) -> Self {
        let mut registry = Registry::with_prefix("stockdata");
        let requests = Family::<RouteStatus, Counter>::default();
        let latency = Family::<RouteLabel, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let provider_errors = Family::<ProviderKind, Counter>::default();
        let failovers = Counter::default();
        let store_hits = Counter::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        registry.register(
            "provider_errors",
            "Failed provider attempts by provider and error kind",
            provider_errors.clone(),
        );
        registry.register(
            "failovers",
            "Times a symbol moved on to the next provider",
            failovers.clone(),
        );
        registry.register(
            "store_hits",
            "Symbols answered from the local store without asking a provider",
            store_hits.clone(),
        );
        registry.register_collector(Box::new(ProviderStats(pacers)));
        registry.register_collector(Box::new(StreamCounters(streams)));
        Self {
            registry,
            requests,
            latency,
            provider_errors,
            failovers,
            store_hits,
        }
    }

    /// One request served on `route` (its matched path, or `other`).
    pub(super) fn request(&self, route: &str, status: u16, latency: Duration) {
        self.requests
            .get_or_create(&RouteStatus {
                route: route.to_owned(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabel {
                route: route.to_owned(),
            })
            .observe(latency.as_secs_f64());
    }

    /// The provider errors and fail-overs of one attempt trail.
    pub(super) fn trail(&self, trail: &[Attempt]) {
        let mut failed = 0u64;
        for a in trail {
            if let Outcome::Failed(kind) = a.outcome {
                failed += 1;
                self.provider_errors
                    .get_or_create(&ProviderKind {
                        provider: a.provider.to_string(),
                        kind: kind.as_str().to_owned(),
                    })
                    .inc();
            }
        }
        let hits = trail
            .iter()
            .filter(|a| a.provider == crate::fetch::STORE && a.outcome == Outcome::Ok)
            .count();
        if hits > 0 {
            self.store_hits
                .inc_by(u64::try_from(hits).unwrap_or(u64::MAX));
        }
        if trail.len() > 1 && failed > 0 {
            self.failovers
                .inc_by(u64::try_from(trail.len() - 1).unwrap_or(0));
        }
    }

    /// The exposition in the format the scraper asked for, with its content type.
    pub(super) fn render(&self, headers: &HeaderMap) -> (&'static str, String) {
        let mut openmetrics = String::new();
        if prometheus_client::encoding::text::encode(&mut openmetrics, &self.registry).is_err() {
            openmetrics.clear();
        }
        let accept = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if wants_openmetrics(accept) {
            (OPENMETRICS, openmetrics)
        } else {
            (PROMETHEUS_TEXT, to_prometheus_text(&openmetrics))
        }
    }
}

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// True when `accept` prefers OpenMetrics to plain text (quality at least as high, and above
/// zero). Without an `Accept` header, or with `*/*`, the classic text format is served: it is
/// what every Prometheus-format reader understands.
fn wants_openmetrics(accept: &str) -> bool {
    let mut openmetrics = 0.0f64;
    let mut text = 0.0f64;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
            .and_then(|(_, v)| v.trim().parse::<f64>().ok())
            .filter(|q| (0.0..=1.0).contains(q))
            .unwrap_or(1.0);
        match media.as_str() {
            "application/openmetrics-text" => openmetrics = openmetrics.max(q),
            "text/plain" | "text/*" | "*/*" => text = text.max(q),
            _ => {}
        }
    }
    openmetrics > 0.0 && openmetrics >= text
}

/// Rewrites prometheus-client's OpenMetrics text as the text exposition format 0.0.4: a
/// counter family is named after its samples (`# TYPE x_total counter`, where OpenMetrics says
/// `# TYPE x counter`), `unknown` is `untyped`, and `# UNIT` / `# EOF` lines go.
fn to_prometheus_text(openmetrics: &str) -> String {
    let counters: Vec<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let rewritten = ["# HELP ", "# TYPE "].iter().find_map(|tag| {
            let rest = line.strip_prefix(tag)?;
            let (name, tail) = rest.split_once(' ')?;
            if counters.contains(&name) {
                Some(format!("{tag}{name}_total {tail}"))
            } else if *tag == "# TYPE " && tail == "unknown" {
                Some(format!("{tag}{name} untyped"))
            } else {
                None
            }
        });
        match rewritten {
            Some(l) => out.push_str(&l),
            None => {
                // A counter's `_created` sample has no place in 0.0.4.
                let sample = line.split(['{', ' ']).next().unwrap_or("");
                if counters
                    .iter()
                    .any(|c| sample.strip_prefix(c) == Some("_created"))
                {
                    continue;
                }
                out.push_str(line);
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "tests state their expectations directly"
)]
mod tests {
    use super::*;

    #[test]
    fn negotiation() {
        for (accept, om) in [
            ("", false),
            ("*/*", false),
            ("text/plain;version=0.0.4", false),
            ("text/plain;version=0.0.4;q=0.5,*/*;q=0.1", false),
            ("application/openmetrics-text", true),
            ("application/openmetrics-text;version=1.0.0", true),
            (
                "application/openmetrics-text;version=1.0.0,\
                 application/openmetrics-text;version=0.0.1;q=0.75,\
                 text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                true,
            ),
            ("application/openmetrics-text;q=0.2, text/plain", false),
            ("application/openmetrics-text;q=0", false),
            ("Application/OpenMetrics-Text; q=1", true),
        ] {
            assert_eq!(wants_openmetrics(accept), om, "{accept:?}");
        }
    }

    #[test]
    fn counters_are_named_after_their_samples_in_text_format() {
        let om = "# HELP a_requests Requests.\n\
                  # TYPE a_requests counter\n\
                  a_requests_total{route=\"/x\"} 1\n\
                  a_requests_created{route=\"/x\"} 1.5\n\
                  # HELP a_up Up.\n\
                  # TYPE a_up unknown\n\
                  # UNIT a_up seconds\n\
                  a_up 1\n\
                  # EOF\n";
        assert_eq!(
            to_prometheus_text(om),
            "# HELP a_requests_total Requests.\n\
             # TYPE a_requests_total counter\n\
             a_requests_total{route=\"/x\"} 1\n\
             # HELP a_up Up.\n\
             # TYPE a_up untyped\n\
             a_up 1\n"
        );
    }
}
