//! `stockdata agent`

use std::io::{IsTerminal as _, Write as _};

use stockdata_app::CancellationToken;

use super::args::AgentArgs;
use super::sink::Sink;
use super::{Ctx, Exit, output, progress, usage, watchlist};

impl AgentArgs {
    pub(crate) async fn run(self, ctx: Ctx) -> Exit {
        let symbols = match watchlist::read(&self.watchlist) {
            Ok(s) => s,
            Err(e) => return usage(e),
        };
        // No provider at all is a configuration error (exit 2, said once), not a run whose
        // every symbol fails three times over.
        let sd = &ctx.stockdata;
        let mut any: Vec<_> = sd.prices().providers();
        any.extend(sd.history().providers());
        any.extend(sd.news().providers());
        if let Err(exit) = super::require_providers("quotes, bars or news", sd, &any) {
            return exit;
        }
        if self.plan {
            let distinct: std::collections::HashSet<_> = symbols.iter().collect();
            let plan = stockdata_app::plan::agent_plan(&ctx.stockdata, distinct.len());
            return print_plan(&plan, ctx.format);
        }
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
        let bar = ctx.bar.start(std::io::stderr().is_terminal());
        if let Some(bar) = &bar {
            let distinct: std::collections::HashSet<_> = symbols.iter().collect();
            bar.set_length(distinct.len() as u64);
        }
        // While a quota makes the run wait, the bar says which and for how long.
        // The ETA comes from the plan (pacing time), not from progress so far: a run waiting on
        // a quota makes no progress for a minute and then finishes a batch at once.
        let planned = bar.as_ref().map(|_| {
            let distinct: std::collections::HashSet<_> = symbols.iter().collect();
            stockdata_app::plan::agent_plan(&ctx.stockdata, distinct.len()).expected
        });
        let quota_watch = bar.clone().map(|bar| {
            progress::watch_quotas(bar, std::sync::Arc::clone(ctx.stockdata.pacers()), planned)
        });
        let progress = |done: usize, total: usize| {
            if let Some(bar) = &bar {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            }
        };
        // Each symbol is written as soon as its chunk is done: memory stays flat however long
        // the watchlist.
        let sink = match Sink::open(ctx.output_path.as_deref()) {
            Ok(s) => s,
            Err(exit) => return exit,
        };
        let mut stdout = std::io::BufWriter::with_capacity(64 * 1024, sink);
        let mut errors = Vec::new();
        let mut write_error = None;
        let stats = {
            let mut writer = match output::AgentWriter::start(&mut stdout, ctx.format, &ctx.run_id)
            {
                Ok(w) => Some(w.options(&ctx.output())),
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
        if let Some(task) = quota_watch {
            task.abort();
        }
        ctx.bar.finish();
        if let Some(e) = write_error.or_else(|| stdout.flush().err())
            && e.kind() != std::io::ErrorKind::BrokenPipe
        {
            eprintln!("stockdata: cannot write output: {e}");
            return Exit::Failed;
        }
        // One line per symbol and error: sections failing the same way share it
        // (`ZZZZ quote, bars: unknown_symbol (...)`).
        let mut lines: Vec<(String, Vec<&str>, String)> = Vec::new();
        for (symbol, section, e) in &errors {
            let symbol = symbol.to_string();
            let text = format!("{} ({e})", e.kind());
            match lines
                .iter_mut()
                .find(|(s, _, t)| *s == symbol && *t == text)
            {
                Some((_, sections, _)) => sections.push(section),
                None => lines.push((symbol, vec![section], text)),
            }
        }
        for (symbol, sections, text) in &lines {
            eprintln!("stockdata: {symbol} {}: {text}", sections.join(", "));
        }
        let reported = stats.complete + stats.partial + stats.failed;
        let exit = if stats.failed == reported && reported > 0 {
            Exit::Failed
        } else if errors.is_empty() {
            Exit::Ok
        } else {
            Exit::Partial
        };
        match stdout.into_inner() {
            Ok(sink) => sink.commit(exit),
            Err(_) => Exit::Failed,
        }
    }
}

/// `agent --plan`: who answers what, the requests, and the time pacing will take.
fn print_plan(plan: &stockdata_app::plan::Plan, format: output::Format) -> Exit {
    use stockdata_app::adapters::provider::describe_window;
    let secs = |d: std::time::Duration| (d.as_secs_f64() * 10.0).round() / 10.0;
    let mut out = std::io::stdout().lock();
    let written = if matches!(format, output::Format::Table) {
        let mut steps = comfy_table::Table::new();
        steps.load_preset(comfy_table::presets::NOTHING);
        steps.set_header(["kind", "provider", "symbols", "requests"]);
        for s in &plan.steps {
            steps.add_row([
                s.kind.to_owned(),
                s.provider.to_string(),
                s.symbols.to_string(),
                s.requests.to_string(),
            ]);
        }
        let mut providers = comfy_table::Table::new();
        providers.load_preset(comfy_table::presets::NOTHING);
        providers.set_header(["provider", "requests", "limits", "pacing s"]);
        for p in &plan.providers {
            let limits: Vec<String> = p.windows.iter().map(describe_window).collect();
            providers.add_row([
                p.provider.to_string(),
                p.requests.to_string(),
                limits.join(", "),
                secs(p.pacing).to_string(),
            ]);
        }
        let unanswered: Vec<String> = plan
            .unanswered
            .iter()
            .map(|(kind, n)| format!("{n} symbols' {kind} over every provider's budget"))
            .collect();
        writeln!(
            out,
            "plan for {} symbols (nothing sent)\n\n{steps}\n\n{providers}\n\nexpected: {} s \
             of pacing, plus network time{}",
            plan.symbols,
            secs(plan.expected),
            if unanswered.is_empty() {
                String::new()
            } else {
                format!("\n{}", unanswered.join("\n"))
            }
        )
    } else {
        let doc = serde_json::json!({
            "symbols": plan.symbols,
            "steps": plan.steps.iter().map(|s| serde_json::json!({
                "kind": s.kind,
                "provider": s.provider.as_str(),
                "symbols": s.symbols,
                "requests": s.requests,
            })).collect::<Vec<_>>(),
            "providers": plan.providers.iter().map(|p| serde_json::json!({
                "provider": p.provider.as_str(),
                "requests": p.requests,
                "limits": p.windows.iter().map(describe_window).collect::<Vec<_>>(),
                "pacing_s": secs(p.pacing),
            })).collect::<Vec<_>>(),
            "unanswered": plan.unanswered.iter().map(|(kind, n)| serde_json::json!({
                "kind": kind,
                "symbols": n,
            })).collect::<Vec<_>>(),
            "expected_s": secs(plan.expected),
        });
        writeln!(out, "{doc:#}")
    };
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("stockdata: cannot write output: {e}");
            Exit::Failed
        }
        _ => Exit::Ok,
    }
}
