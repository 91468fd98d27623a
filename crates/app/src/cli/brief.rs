//! `stockdata brief`: the daily market brief as HTML, Markdown (charts as SVG files beside it)
//! or JSON. The library builds and renders it (`stockdata_app::brief`); this file picks the
//! format, writes the files and reports what is missing.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

use stockdata_app::brief::{self, BriefRequest, html, json, markdown};

use super::args::BriefArgs;
use super::output::Format;
use super::sink::Sink;
use super::{Ctx, Exit, progress, usage, watchlist};

impl BriefArgs {
    pub(crate) async fn run(self, ctx: Ctx) -> Exit {
        let format = match ctx.format {
            // A terminal gets Markdown: it reads as text.
            Format::Table | Format::Markdown => Format::Markdown,
            Format::Html => Format::Html,
            Format::Json => Format::Json,
            other => {
                return usage(format!(
                    "brief writes md, html or json, not {} (from --format, or --output's \
                     extension)",
                    format_name(other)
                ));
            }
        };
        let symbols = match watchlist::read(&self.watchlist) {
            Ok(s) => s,
            Err(e) => return usage(e),
        };
        let sd = &ctx.stockdata;
        if let Err(exit) = super::require_providers("bars", sd, &sd.history().providers()) {
            return exit;
        }
        let request = BriefRequest {
            symbols,
            date: self.date,
            sessions: self.sessions as usize,
            headlines: self.headlines as usize,
        };
        // On a terminal: elapsed time, and which quota the fetch waits on (free tiers are slow).
        let bar = ctx.bar.start(std::io::stderr().is_terminal());
        let watch = bar.map(|bar| {
            bar.set_length(request.symbols.len() as u64);
            // Bars and news come in two batched calls: no per-symbol count to show.
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} fetching bars and news for {len} symbols  {elapsed}  {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            progress::watch_quotas(bar, std::sync::Arc::clone(sd.pacers()), None)
        });
        let fetched = brief::fetch(sd, &request).await;
        if let Some(task) = watch {
            task.abort();
        }
        ctx.bar.finish();
        let brief = match fetched {
            Ok(b) => b,
            Err(e) => return usage(e),
        };

        let mut missing = 0;
        for s in &brief.symbols {
            for (section, e) in s.errors() {
                missing += 1;
                eprintln!("stockdata: {} {section}: {} ({e})", s.symbol, e.kind());
            }
        }
        let exit = if brief.missing().len() == brief.symbols.len() && !brief.symbols.is_empty() {
            Exit::Failed
        } else if missing > 0 {
            Exit::Partial
        } else {
            Exit::Ok
        };
        // The output's directory is checked (and the temporary file made) before anything is
        // written; as for every command, FILE is left as it was when nothing was fetched.
        let mut sink = match Sink::open(self.output.as_deref()) {
            Ok(s) => s,
            Err(exit) => return exit,
        };
        let text = match format {
            Format::Html => html::render(&brief),
            Format::Json => match json::render(&brief) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("stockdata: cannot write the brief: {e}");
                    return Exit::Failed;
                }
            },
            _ => {
                let dir = self.output.as_deref().map(charts_dir);
                let md = markdown::render(&brief, dir.as_ref().map(|(name, _)| name.as_str()));
                if let Some((_, path)) = &dir
                    && matches!(exit, Exit::Ok | Exit::Partial)
                    && let Err(e) = write_charts(path, &md.charts)
                {
                    eprintln!(
                        "stockdata: cannot write the charts in {}: {e}",
                        path.display()
                    );
                    return Exit::Failed;
                }
                if dir.is_none() {
                    eprintln!(
                        "stockdata: the Markdown's charts are files beside it: pass --output \
                         FILE.md for them (or --format html for one file)"
                    );
                }
                md.text
            }
        };
        if let Err(e) = sink.write_all(text.as_bytes()).and_then(|()| sink.flush())
            && e.kind() != std::io::ErrorKind::BrokenPipe
        {
            eprintln!("stockdata: cannot write output: {e}");
            return Exit::Failed;
        }
        sink.commit(exit)
    }
}

/// How `--format` spells `format` (clap's own value name).
fn format_name(format: Format) -> String {
    clap::ValueEnum::to_possible_value(&format)
        .map_or_else(|| format!("{format:?}"), |v| v.get_name().to_owned())
}

/// The charts' folder for a Markdown file: `brief.md` → `brief-charts`, beside it (its name
/// as the document links it, and its path).
fn charts_dir(output: &Path) -> (String, PathBuf) {
    let stem = output
        .file_stem()
        .map_or_else(|| "brief".into(), |s| s.to_string_lossy());
    let name = format!("{stem}-charts");
    let path = output.parent().unwrap_or(Path::new("")).join(&name);
    (name, path)
}

/// Writes each chart into `dir` (created when missing, in a directory that must exist),
/// replacing older ones of the same name.
fn write_charts(dir: &Path, charts: &[(String, String)]) -> std::io::Result<()> {
    if !dir.is_dir() {
        std::fs::create_dir(dir)?;
    }
    for (relative, svg) in charts {
        let name = Path::new(relative)
            .file_name()
            .ok_or_else(|| std::io::Error::other(format!("{relative}: no file name")))?;
        std::fs::write(dir.join(name), svg)?;
    }
    Ok(())
}
