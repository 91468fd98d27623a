//! `stockdata agent`

use std::io::{IsTerminal as _, Write as _};

use stockdata_app::CancellationToken;

use super::args::AgentArgs;
use super::{Ctx, Exit, output, usage, watchlist};

impl AgentArgs {
    pub(crate) async fn run(self, ctx: Ctx) -> Exit {
        let symbols = match watchlist::read(&self.watchlist) {
            Ok(s) => s,
            Err(e) => return usage(e),
        };
        let cancel = CancellationToken::new();
        let trigger = cancel.clone();
        // The handler is installed before the run starts (not on a task's first poll), so an
        // interrupt at any point after the "started" line is honoured.
        #[cfg(unix)]
        let interrupt =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
        tokio::spawn(async move {
            #[cfg(unix)]
            let interrupted = match interrupt {
                Some(mut s) => s.recv().await.is_some(),
                None => tokio::signal::ctrl_c().await.is_ok(),
            };
            #[cfg(not(unix))]
            let interrupted = tokio::signal::ctrl_c().await.is_ok();
            if interrupted {
                eprintln!("stockdata: interrupted; reporting what finished");
                trigger.cancel();
            }
        });
        tracing::info!(
            run_id = %ctx.run_id,
            symbols = symbols.len(),
            "agent started; Ctrl-C reports what finished"
        );
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        });
        let progress = |done: usize, total: usize| {
            if let Some(bar) = &bar {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            }
        };
        // Each symbol is written as soon as its chunk is done: memory stays flat however long
        // the watchlist.
        let mut stdout = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
        let mut errors = Vec::new();
        let mut write_error = None;
        let stats = {
            let mut writer = match output::AgentWriter::start(&mut stdout, ctx.format, &ctx.run_id)
            {
                Ok(w) => Some(w.csv_safe(ctx.csv_safe)),
                Err(e) => {
                    write_error = Some(e);
                    None
                }
            };
            let stats = ctx
                .stockdata
                .agent()
                .run_each(&symbols, &cancel, &progress, ctx.run_id, &mut |report| {
                    for (section, e) in report.errors() {
                        errors.push((report.symbol.clone(), section, e.clone()));
                    }
                    if let Some(w) = writer.as_mut()
                        && let Err(e) = w.symbol(&report)
                    {
                        write_error.get_or_insert(e);
                    }
                })
                .await;
            if let Some(w) = writer
                && let Err(e) = w.finish(&stats)
            {
                write_error.get_or_insert(e);
            }
            stats
        };
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        if let Some(e) = write_error.or_else(|| stdout.flush().err())
            && e.kind() != std::io::ErrorKind::BrokenPipe
        {
            eprintln!("stockdata: cannot write output: {e}");
            return Exit::Failed;
        }
        for (symbol, section, e) in &errors {
            eprintln!("stockdata: {symbol} {section}: {} ({e})", e.kind());
        }
        let reported = stats.complete + stats.partial + stats.failed;
        if stats.failed == reported && reported > 0 {
            Exit::Failed
        } else if errors.is_empty() {
            Exit::Ok
        } else {
            Exit::Partial
        }
    }
}
