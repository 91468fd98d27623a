//! `stockdata sync`: backfill the store, symbol by symbol.

use std::io::{IsTerminal as _, Write as _};

use stockdata_app::domain::{BatchBarQuery, DateRange, Symbol};
use stockdata_app::fetch::STORE;

use super::args::{From, SyncArgs};
use super::sink::Sink;
use super::{Ctx, Exit, output, progress, usage, watchlist};

/// Years of history `sync` fetches when no `--from` is given.
const DEFAULT_YEARS: i16 = 5;

/// One symbol's line in the summary.
struct Synced {
    symbol: Symbol,
    outcome: String,
    bars: usize,
    from_store: bool,
    providers: Vec<String>,
    first: Option<String>,
    last: Option<String>,
}

impl SyncArgs {
    pub(crate) async fn run(self, ctx: Ctx) -> Exit {
        if ctx.store.is_none() {
            return usage(
                "sync keeps history in the store, and none is in use: drop --no-store (or set \
                 [store] enabled = true)",
            );
        }
        if let Err(exit) =
            super::require_providers("bars", &ctx.stockdata, &ctx.stockdata.history().providers())
        {
            return exit;
        }
        let mut symbols = self.symbols;
        if let Some(list) = &self.watchlist {
            match watchlist::read(list) {
                Ok(mut s) => symbols.append(&mut s),
                Err(e) => return usage(e),
            }
        }
        let mut seen = std::collections::HashSet::new();
        symbols.retain(|s| seen.insert(s.clone()));
        let to = self.to.unwrap_or(ctx.today);
        let now = ctx.stockdata.clock().now();
        let from = match self.from.or(self.days.map(From::Sessions)) {
            Some(from) => from.resolve(to, ctx.today, now),
            None => to
                .checked_sub(jiff::Span::new().years(DEFAULT_YEARS))
                .unwrap_or(to),
        };
        let Ok(range) = DateRange::new(from, to) else {
            return usage(format!(
                "--from {from} is after --to {to}: give a --from on or before --to"
            ));
        };
        let asked = self.adjustment.and_then(|a| a.parse().ok());
        let adjustment = asked.unwrap_or_else(|| ctx.stockdata.default_adjustment());
        // A named adjustment is served exactly or not at all (see `bars`).
        let history = if asked.is_some() {
            ctx.stockdata.history().exact()
        } else {
            ctx.stockdata.history().clone()
        };
        // Small chunks: each symbol is committed when its chunk is done, so an interrupt or a
        // crash loses at most one chunk; batch providers still get several symbols a request.
        let chunk = ctx.stockdata.config().agent.concurrency.max(1) * 2;
        let bar = ctx.bar.start(std::io::stderr().is_terminal());
        if let Some(bar) = &bar {
            bar.set_length(symbols.len() as u64);
        }
        let quota_watch = bar.clone().map(|bar| {
            progress::watch_quotas(bar, std::sync::Arc::clone(ctx.stockdata.pacers()), None)
        });
        let interrupted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&interrupted);
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!(
                    "stockdata: interrupted; finishing the symbols in flight (Ctrl-C again to \
                     stop now: what was committed is kept, a rerun resumes)"
                );
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
                if tokio::signal::ctrl_c().await.is_ok() {
                    // Every write is one transaction: stopping here loses only the symbols
                    // in flight.
                    std::process::exit(130);
                }
            }
        });
        let mut lines = Vec::with_capacity(symbols.len());
        let mut errors = Vec::new();
        for part in symbols.chunks(chunk) {
            if interrupted.load(std::sync::atomic::Ordering::SeqCst) {
                break;
            }
            let query = BatchBarQuery {
                symbols: part.to_vec(),
                interval: self.interval,
                range: range.to_time_range(),
                adjustment,
            };
            for report in history.bars(&query).await {
                let from_store = report.trail.iter().all(|a| a.provider == STORE);
                let mut providers: Vec<String> = Vec::new();
                for a in &report.trail {
                    let p = a.provider.to_string();
                    if !providers.contains(&p) {
                        providers.push(p);
                    }
                }
                let line = match report.result {
                    Ok(series) => Synced {
                        symbol: report.symbol,
                        outcome: "ok".to_owned(),
                        bars: series.bars.len(),
                        from_store,
                        providers,
                        first: series.bars.first().map(|b| b.start.to_string()),
                        last: series.bars.last().map(|b| b.start.to_string()),
                    },
                    Err(e) => {
                        let line = Synced {
                            symbol: report.symbol.clone(),
                            outcome: e.kind().as_str().to_owned(),
                            bars: 0,
                            from_store,
                            providers,
                            first: None,
                            last: None,
                        };
                        errors.push((report.symbol, e));
                        line
                    }
                };
                lines.push(line);
                if let Some(bar) = &bar {
                    bar.inc(1);
                }
            }
        }
        if let Some(task) = quota_watch {
            task.abort();
        }
        ctx.bar.finish();
        let asked = symbols.len();
        let mut sink = match Sink::open(ctx.output_path.as_deref()) {
            Ok(s) => s,
            Err(exit) => return exit,
        };
        let written = write_summary(&mut sink, &lines, ctx.format, asked);
        let mut exit = super::finish(written, asked, &errors);
        if lines.len() < asked && exit == Exit::Ok {
            eprintln!(
                "stockdata: {} of {asked} symbols not synced (interrupted): run the same \
                 command again to resume",
                asked - lines.len()
            );
            exit = Exit::Partial;
        }
        sink.commit(exit)
    }
}

fn write_summary(
    out: &mut Sink,
    lines: &[Synced],
    format: output::Format,
    asked: usize,
) -> std::io::Result<()> {
    match format {
        output::Format::Table => {
            let mut table = comfy_table::Table::new();
            table.load_preset(comfy_table::presets::NOTHING);
            table.set_header(["symbol", "outcome", "bars", "source", "first", "last"]);
            for l in lines {
                table.add_row([
                    l.symbol.to_string(),
                    l.outcome.clone(),
                    l.bars.to_string(),
                    l.providers.join(" → "),
                    l.first.clone().unwrap_or_default(),
                    l.last.clone().unwrap_or_default(),
                ]);
            }
            let stored = lines.iter().filter(|l| l.from_store).count();
            writeln!(
                out,
                "{table}\n\n{} of {asked} symbols synced; {stored} already complete in the store",
                lines.iter().filter(|l| l.outcome == "ok").count(),
            )
        }
        _ => {
            let doc: Vec<serde_json::Value> = lines
                .iter()
                .map(|l| {
                    serde_json::json!({
                        "symbol": l.symbol.as_str(),
                        "outcome": l.outcome,
                        "bars": l.bars,
                        "from_store": l.from_store,
                        "providers": l.providers,
                        "first": l.first,
                        "last": l.last,
                    })
                })
                .collect();
            if format == output::Format::Json {
                writeln!(out, "{:#}", serde_json::Value::Array(doc))
            } else if format == output::Format::Ndjson {
                doc.iter().try_for_each(|d| writeln!(out, "{d}"))
            } else {
                writeln!(out, "symbol,outcome,bars,from_store,first,last")?;
                lines.iter().try_for_each(|l| {
                    writeln!(
                        out,
                        "{},{},{},{},{},{}",
                        l.symbol,
                        l.outcome,
                        l.bars,
                        l.from_store,
                        l.first.as_deref().unwrap_or(""),
                        l.last.as_deref().unwrap_or("")
                    )
                })
            }
        }
    }
}
