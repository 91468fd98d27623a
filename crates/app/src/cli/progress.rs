//! The agent's progress bar, and a log writer that never tears it: while a bar is on the
//! terminal, each log line is written with the bar cleared and redrawn after it.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use indicatif::{ProgressBar, ProgressStyle};
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
