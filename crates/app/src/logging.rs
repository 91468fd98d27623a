//! Logging: one function builds the subscriber from config with an injectable writer.
//!
//! JSON lines when stderr is not a terminal, readable text when it is (unless configured).
//! Every line carries its spans' fields, so `run_id` (one per CLI invocation or agent run),
//! and inside provider calls `request_id`, `provider` and `symbol`. Spans nest run → symbol →
//! provider request, with one event per attempt.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::{LogConfig, LogFormat};

/// One id per CLI invocation or agent run: the same kind of id (64 random bits, 16 hex
/// digits) as a provider request's or a served request's, so one type serves all three.
pub type RunId = stockdata_adapters_http::transport::RequestId;

/// A subscriber for `config`, writing to `writer`. `terminal` says whether the writer is a
/// terminal (it picks the format when the config does not). `level` overrides the configured
/// filter (`-v` / `-q`).
///
/// # Errors
/// The filter text is not a valid directive.
pub fn subscriber<W>(
    config: &LogConfig,
    level: Option<&str>,
    writer: W,
    terminal: bool,
) -> Result<Box<dyn tracing::Subscriber + Send + Sync>, String>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    subscriber_with_colour(config, level, writer, terminal, terminal)
}

/// [`subscriber`], with colour (ANSI escapes in readable lines) decided apart from the
/// terminal: the binary turns it off for `NO_COLOR` and `TERM=dumb`.
///
/// # Errors
/// As [`subscriber`].
pub fn subscriber_with_colour<W>(
    config: &LogConfig,
    level: Option<&str>,
    writer: W,
    terminal: bool,
    colour: bool,
) -> Result<Box<dyn tracing::Subscriber + Send + Sync>, String>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    build(config, level, writer, terminal, colour, false).map(|(s, _)| s)
}

/// [`subscriber_with_colour`], exporting spans to `config.otlp_endpoint` when one is set and
/// the binary has the `otel` feature. Keep the [`Telemetry`] and
/// [`shut it down`](Telemetry::shutdown) before the process exits: spans are sent in batches,
/// and the last batch goes then.
///
/// # Errors
/// As [`subscriber`], and an exporter that cannot be built.
pub fn subscriber_with_telemetry<W>(
    config: &LogConfig,
    level: Option<&str>,
    writer: W,
    terminal: bool,
    colour: bool,
) -> Result<(Box<dyn tracing::Subscriber + Send + Sync>, Telemetry), String>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    build(config, level, writer, terminal, colour, true)
}

fn build<W>(
    config: &LogConfig,
    level: Option<&str>,
    writer: W,
    terminal: bool,
    colour: bool,
    export: bool,
) -> Result<(Box<dyn tracing::Subscriber + Send + Sync>, Telemetry), String>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;

    let filter = EnvFilter::try_new(level.unwrap_or(&config.level)).map_err(|e| e.to_string())?;
    let format = config.format.unwrap_or(if terminal {
        LogFormat::Pretty
    } else {
        LogFormat::Json
    });
    let (json, pretty) = match format {
        LogFormat::Json => (
            Some(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(true)
                    .with_target(false)
                    .with_writer(writer),
            ),
            None,
        ),
        LogFormat::Pretty => (
            None,
            Some(
                tracing_subscriber::fmt::layer()
                    .with_ansi(terminal && colour)
                    .with_target(false)
                    .with_writer(writer),
            ),
        ),
    };
    // The log filter is the log lines' own: spans are exported whatever the log level.
    let lines = tracing_subscriber::Layer::and_then(json, pretty).with_filter(filter);
    let registry = tracing_subscriber::registry().with(lines);
    let endpoint = config.otlp_endpoint.as_ref().filter(|_| export);
    #[cfg(feature = "otel")]
    {
        let (layer, telemetry) = match endpoint {
            Some(url) => {
                let (layer, provider) = otel::layer(url)?;
                (
                    Some(layer),
                    Telemetry {
                        provider: Some(provider),
                    },
                )
            }
            None => (None, Telemetry::default()),
        };
        Ok((Box::new(registry.with(layer)), telemetry))
    }
    #[cfg(not(feature = "otel"))]
    {
        if let Some(url) = endpoint {
            eprintln!(
                "stockdata: log.otlp_endpoint is {}, but this build cannot export spans: \
                 build with `--features otel` (spans are not exported)",
                stockdata_adapters_http::transport::redact_url(url)
            );
        }
        Ok((Box::new(registry), Telemetry::default()))
    }
}

/// The span export of one process, when there is one: [`shutdown`](Self::shutdown) sends what
/// is still buffered.
#[derive(Default)]
#[must_use = "spans still buffered are lost unless it is shut down"]
pub struct Telemetry {
    #[cfg(feature = "otel")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry")
            .field("exporting", &self.exporting())
            .finish()
    }
}

impl Telemetry {
    /// Whether spans are being exported.
    #[must_use]
    pub fn exporting(&self) -> bool {
        #[cfg(feature = "otel")]
        return self.provider.is_some();
        #[cfg(not(feature = "otel"))]
        false
    }

    /// Exports the spans still buffered and stops exporting. Blocks until the collector has
    /// answered or the exporter's timeout (`OTEL_EXPORTER_OTLP_TIMEOUT`, 10 s) has passed; call
    /// it outside the async runtime. A failure is reported on stderr: the process's own work
    /// is done by then.
    pub fn shutdown(self) {
        #[cfg(feature = "otel")]
        if let Some(provider) = self.provider
            && let Err(e) = provider.shutdown()
        {
            eprintln!("stockdata: the last spans were not exported: {e}");
        }
    }
}

/// OpenTelemetry export, behind the `otel` feature.
#[cfg(feature = "otel")]
mod otel {
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::WithExportConfig as _;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use tracing_subscriber::Layer as _;

    /// A layer exporting spans over OTLP/HTTP (protobuf) to `endpoint` + `/v1/traces`, and the
    /// provider that batches them. Callers' W3C trace context (`traceparent`) is what
    /// [`continue_trace`](super::continue_trace) reads.
    pub(super) fn layer<S>(
        endpoint: &url::Url,
    ) -> Result<(impl tracing_subscriber::Layer<S>, SdkTracerProvider), String>
    where
        S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    {
        // The exporter's HTTP client is reqwest 0.13 with rustls, whose crypto provider must be
        // chosen once per process when another crate in the build asks for
        // `rustls-no-provider` (the Pact crates do): ring, as every other client here uses.
        // Already chosen is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let traces = format!("{}/v1/traces", endpoint.as_str().trim_end_matches('/'));
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(traces)
            .build()
            .map_err(|e| format!("OpenTelemetry exporter: {e}"))?;
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name("stockdata")
            .build();
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build();
        let tracer = provider.tracer("stockdata");
        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        let layer = tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_filter(tracing_subscriber::filter::LevelFilter::INFO);
        Ok((layer, provider))
    }
}

/// Makes `span` continue the trace a caller's W3C `traceparent` (and `tracestate`) header
/// names, when spans are exported (the `otel` feature) and the header is valid; otherwise it
/// stays a root. `serve` calls it for every request.
pub fn continue_trace(span: &tracing::Span, headers: &axum::http::HeaderMap) {
    #[cfg(feature = "otel")]
    {
        use opentelemetry::propagation::TextMapPropagator as _;
        use tracing_opentelemetry::OpenTelemetrySpanExt as _;
        let propagator = opentelemetry_sdk::propagation::TraceContextPropagator::new();
        let parent = propagator.extract(&opentelemetry_http::HeaderExtractor(headers));
        let _ = span.set_parent(parent);
    }
    #[cfg(not(feature = "otel"))]
    let _ = (span, headers);
}

/// Installs the subscriber process-wide, writing to stderr.
///
/// # Errors
/// A bad filter, or a subscriber is already installed.
pub fn init(config: &LogConfig, level: Option<&str>, terminal: bool) -> Result<Telemetry, String> {
    let (sub, telemetry) =
        subscriber_with_telemetry(config, level, std::io::stderr, terminal, terminal)?;
    tracing::subscriber::set_global_default(sub).map_err(|e| e.to_string())?;
    Ok(telemetry)
}
