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
    let registry = tracing_subscriber::registry()
        .with(filter)
        .with(json)
        .with(pretty);
    #[cfg(feature = "otel")]
    let registry = registry.with(otel::layer()?);
    Ok(Box::new(registry))
}

/// OpenTelemetry export, behind the `otel` feature.
#[cfg(feature = "otel")]
mod otel {
    use opentelemetry::trace::TracerProvider as _;

    /// A layer exporting spans over OTLP/HTTP to `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub(super) fn layer<S>() -> Result<impl tracing_subscriber::Layer<S>, String>
    where
        S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()
            .map_err(|e| format!("OpenTelemetry exporter: {e}"))?;
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name("stockdata")
            .build();
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build();
        let tracer = provider.tracer("stockdata");
        opentelemetry::global::set_tracer_provider(provider);
        Ok(tracing_opentelemetry::layer().with_tracer(tracer))
    }
}

/// Installs the subscriber process-wide, writing to stderr.
///
/// # Errors
/// A bad filter, or a subscriber is already installed.
pub fn init(config: &LogConfig, level: Option<&str>, terminal: bool) -> Result<(), String> {
    let sub = subscriber(config, level, std::io::stderr, terminal)?;
    tracing::subscriber::set_global_default(sub).map_err(|e| e.to_string())
}
