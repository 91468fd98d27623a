//! `stockdata store stats | export | vacuum`

use std::io::Write as _;
use std::sync::Arc;

use stockdata_app::domain::{TimeRange, Timestamp};
use stockdata_app::ports::{Dataset, Store};

use super::args::{ExportArgs, StoreAction};
use super::output::{self, Format};
use super::sink::Sink;
use super::{Exit, usage};

/// Runs one `store` action against `store`.
pub(crate) async fn run(
    action: StoreAction,
    store: Option<Arc<dyn Store>>,
    format: Format,
    explicit_format: Option<Format>,
    csv_safe: bool,
) -> Exit {
    let Some(store) = store else {
        return usage(
            "no store is in use: drop --no-store (or set [store] enabled = true), or name one \
             with --store PATH",
        );
    };
    match action {
        StoreAction::Stats => stats(store.as_ref(), format).await,
        StoreAction::Vacuum => match store.vacuum().await {
            Ok(()) => match store.stats().await {
                Ok(s) => {
                    eprintln!(
                        "stockdata: {} checked and compacted: {} bytes",
                        s.location, s.bytes
                    );
                    Exit::Ok
                }
                Err(e) => failed(&e),
            },
            Err(e) => failed(&e),
        },
        StoreAction::Export(args) => {
            export(
                store.as_ref(),
                args,
                explicit_format.unwrap_or(Format::Csv),
                csv_safe,
            )
            .await
        }
    }
}

fn failed(e: &dyn std::fmt::Display) -> Exit {
    eprintln!("stockdata: {e}");
    Exit::Failed
}

async fn stats(store: &dyn Store, format: Format) -> Exit {
    let totals = match store.stats().await {
        Ok(s) => s,
        Err(e) => return failed(&e),
    };
    let series = match store.series().await {
        Ok(s) => s,
        Err(e) => return failed(&e),
    };
    let mut out = std::io::stdout().lock();
    let written = if format == Format::Table {
        let mut table = comfy_table::Table::new();
        table.load_preset(comfy_table::presets::NOTHING);
        table.set_header([
            "symbol",
            "interval",
            "adjustment",
            "data",
            "bars",
            "first",
            "last",
            "last fetched",
        ]);
        for s in &series {
            let t = |t: Option<Timestamp>| t.map(|t| t.to_string()).unwrap_or_default();
            table.add_row([
                output::for_terminal(s.key.symbol.as_str()),
                s.key.interval.to_string(),
                s.key.adjustment.to_string(),
                s.key.dataset.as_str().to_owned(),
                s.bars.to_string(),
                t(s.first),
                t(s.last),
                t(s.last_fetched),
            ]);
        }
        writeln!(
            out,
            "{}\n{} bytes, schema {}: {} series, {} bars, {} quotes, {} articles, {} fetches \
             logged\n\n{table}",
            totals.location,
            totals.bytes,
            totals.schema_version,
            totals.series,
            totals.bars,
            totals.quotes,
            totals.articles,
            totals.fetches
        )
    } else {
        let doc = serde_json::json!({
            "location": totals.location,
            "bytes": totals.bytes,
            "schema_version": totals.schema_version,
            "series": totals.series,
            "bars": totals.bars,
            "quotes": totals.quotes,
            "articles": totals.articles,
            "fetches": totals.fetches,
            "per_series": series.iter().map(|s| serde_json::json!({
                "symbol": s.key.symbol.as_str(),
                "interval": s.key.interval.to_string(),
                "adjustment": s.key.adjustment.as_str(),
                "dataset": s.key.dataset.as_str(),
                "bars": s.bars,
                "first": s.first.map(|t| t.to_string()),
                "last": s.last.map(|t| t.to_string()),
                "last_fetched": s.last_fetched.map(|t| t.to_string()),
            })).collect::<Vec<_>>(),
        });
        if format == Format::Ndjson {
            writeln!(out, "{doc}")
        } else {
            writeln!(out, "{doc:#}")
        }
    };
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => failed(&e),
        _ => Exit::Ok,
    }
}

async fn export(store: &dyn Store, args: ExportArgs, format: Format, csv_safe: bool) -> Exit {
    if format == Format::Table {
        return usage("store export writes csv, json or ndjson: pass --format csv|json|ndjson");
    }
    #[cfg(feature = "parquet")]
    if format == Format::Parquet && args.output.is_none() {
        return usage(
            "--format parquet writes a file: pass --output FILE (parquet never goes to stdout)",
        );
    }
    let series = match store.series().await {
        Ok(s) => s,
        Err(e) => return failed(&e),
    };
    let dataset = if args.synthetic {
        Dataset::Sandbox
    } else {
        Dataset::Market
    };
    let picked: Vec<_> = series
        .into_iter()
        .filter(|s| s.key.dataset == dataset)
        .filter(|s| args.symbol.is_empty() || args.symbol.contains(&s.key.symbol))
        .filter(|s| args.interval.is_none_or(|i| i == s.key.interval))
        .collect();
    #[cfg(feature = "parquet")]
    if format == Format::Parquet
        && let Some(path) = &args.output
    {
        return parquet(store, &picked, path).await;
    }
    let sink = match Sink::open(args.output.as_deref()) {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    let mut out = std::io::BufWriter::with_capacity(256 * 1024, sink);
    let everything = TimeRange::new(Timestamp::MIN, Timestamp::MAX);
    let Ok(everything) = everything else {
        return failed(&"the whole time line is not a range");
    };
    // One series at a time: memory stays at one series however big the store. JSON is one
    // array, so its pieces are joined by hand.
    let mut rows = 0usize;
    let mut first = true;
    let mut written: std::io::Result<()> = Ok(());
    if format == Format::Json {
        written = out.write_all(b"[");
    }
    for s in &picked {
        let bars = match store.bars(&s.key, everything).await {
            Ok(b) => b,
            Err(e) => return failed(&e),
        };
        rows += bars.len();
        if written.is_err() || bars.is_empty() {
            continue;
        }
        let opts = |format| output::Options {
            format,
            csv_safe,
            style: super::table::Style::plain(),
        };
        written = match format {
            Format::Csv if first => output::bars(&mut out, &opts(Format::Csv), &bars, &[]),
            Format::Csv => output::bars_csv_rows(&mut out, csv_safe, &bars),
            Format::Json => {
                let mut buf = Vec::new();
                output::bars(&mut buf, &opts(Format::Json), &bars, &[]).and_then(|()| {
                    let text = String::from_utf8_lossy(&buf);
                    let inner = text
                        .trim()
                        .trim_start_matches('[')
                        .trim_end_matches(']')
                        .trim();
                    if first {
                        write!(out, "\n{inner}")
                    } else {
                        write!(out, ",\n{inner}")
                    }
                })
            }
            _ => output::bars(&mut out, &opts(format), &bars, &[]),
        };
        first = false;
    }
    if format == Format::Json && written.is_ok() {
        written = out.write_all(b"\n]\n");
    }
    let written = written.and_then(|()| out.flush());
    if let Err(e) = written
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return failed(&format!("cannot write the export: {e}"));
    }
    let Ok(sink) = out.into_inner() else {
        return failed(&"cannot write the export");
    };
    let exit = sink.commit(Exit::Ok);
    if exit == Exit::Ok {
        eprintln!("stockdata: exported {rows} bars of {} series", picked.len());
    }
    exit
}

/// `store export --format parquet --output FILE`.
#[cfg(feature = "parquet")]
async fn parquet(
    store: &dyn Store,
    picked: &[stockdata_app::ports::SeriesSummary],
    path: &std::path::Path,
) -> Exit {
    use super::parquet::{Failure, export};
    let sink = match Sink::open(Some(path)) {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    let Some(tmp) = sink.temp_path() else {
        return usage("--format parquet writes a file: pass --output FILE");
    };
    match export(store, picked, tmp).await {
        Ok(done) => {
            let exit = sink.commit(Exit::Ok);
            if exit == Exit::Ok {
                eprintln!(
                    "stockdata: exported {} bars of {} series to {} (decimals at scale {})",
                    done.rows,
                    picked.len(),
                    path.display(),
                    done.scale
                );
            }
            exit
        }
        Err(Failure::Output(e)) => usage(e),
        Err(Failure::Export(e)) => failed(&e),
    }
}
