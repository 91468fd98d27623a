//! Logging: one function builds the subscriber from config with an injectable writer.
//!
//! JSON lines when stderr is not a terminal, readable text when it is (unless configured).
//! Every line carries its spans' fields, so `run_id` (one per CLI invocation or agent run),
//! and inside provider calls `request_id`, `provider` and `symbol`. Spans nest run → symbol →
//! provider request, with one event per attempt.

use std::fmt;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::{LogConfig, LogFormat};

/// One id per CLI invocation or agent run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RunId(u64);

impl RunId {
    /// A fresh random id.
    #[must_use]
    pub fn new() -> Self {
        Self(fastrand::u64(..))
    }
}

impl Default for RunId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

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
    let filter = EnvFilter::try_new(level.unwrap_or(&config.level)).map_err(|e| e.to_string())?;
    let format = config.format.unwrap_or(if terminal {
        LogFormat::Pretty
    } else {
        LogFormat::Json
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(false);
    Ok(match format {
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(true)
                .finish(),
        ),
        LogFormat::Pretty => Box::new(builder.with_ansi(terminal).finish()),
    })
}

/// Installs the subscriber process-wide, writing to stderr.
///
/// # Errors
/// A bad filter, or a subscriber is already installed.
pub fn init(config: &LogConfig, level: Option<&str>, terminal: bool) -> Result<(), String> {
    let sub = subscriber(config, level, std::io::stderr, terminal)?;
    tracing::subscriber::set_global_default(sub).map_err(|e| e.to_string())
}
