//! The agent's progress bar, and a log writer that never tears it: while a bar is on the
//! terminal, each log line is written with the bar cleared and redrawn after it.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use stockdata_app::adapters::transport::PacerRegistry;
use tracing_subscriber::fmt::MakeWriter;

/// Where the current bar lives: shared by the agent command and the log writer.
#[derive(Debug, Clone, Default)]
pub(crate) struct BarSlot(Arc<Mutex<Option<ProgressBar>>>);

impl BarSlot {
    /// Shows a bar counting `total` symbols (hidden when stderr is not a terminal).
    pub(crate) fn start(&self, terminal: bool) -> Option<ProgressBar> {
        if !terminal {
            return None;
        }
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{bar:20} {pos}/{len} symbols  {elapsed}  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(bar.clone());
        Some(bar)
    }

    /// Takes the bar off the terminal.
    pub(crate) fn finish(&self) {
        if let Some(bar) = self.0.lock().unwrap_or_else(PoisonError::into_inner).take() {
            bar.finish_and_clear();
        }
    }

    fn current(&self) -> Option<ProgressBar> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// stderr, writing around the bar when one is shown.
#[derive(Debug, Clone)]
pub(crate) struct Stderr(pub(crate) BarSlot);

/// One log line's writer.
#[derive(Debug)]
pub(crate) struct Line(BarSlot);

impl Write for Line {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.current() {
            Some(bar) => bar.suspend(|| std::io::stderr().lock().write_all(buf))?,
            None => std::io::stderr().lock().write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> MakeWriter<'a> for Stderr {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line(self.0.clone())
    }
}

/// Keeps `bar`'s message saying which provider's quota the run waits on and for how long, and
/// the time left by `planned` (the plan's pacing time) when there is one. The task runs until
/// aborted.
pub(crate) fn watch_quotas(
    bar: ProgressBar,
    pacers: Arc<PacerRegistry>,
    planned: Option<Duration>,
) -> tokio::task::JoinHandle<()> {
    let started = Instant::now();
    // The elapsed time keeps moving while a quota holds every request back.
    bar.enable_steady_tick(Duration::from_secs(1));
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let waiting = pacers
                .ready_in()
                .into_iter()
                .filter(|(_, wait)| *wait >= Duration::from_secs(1))
                .max_by_key(|(_, wait)| *wait);
            let eta = planned
                .map(|p| p.saturating_sub(started.elapsed()).as_secs())
                .filter(|s| *s > 0)
                .map(|s| format!("ETA ~{s} s"))
                .unwrap_or_default();
            bar.set_message(match waiting {
                Some((provider, wait)) => format!(
                    "{eta}  {provider} quota: next request in {} s",
                    wait.as_secs()
                )
                .trim_start()
                .to_owned(),
                None => eta,
            });
        }
    })
}
