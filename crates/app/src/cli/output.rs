//! The CLI's output formats (`docs/output.md`) over the shared [`crate::records`].

//!
//! Text from providers is untrusted: tables strip control characters (no terminal escape
//! injection, no broken rows); CSV with `--csv-safe` defuses spreadsheet formulas; JSON keeps
//! the text exact.

use std::io::Write;

use serde::Serialize;
use stockdata_app::domain::{Bar, NewsArticle, Quote};
use stockdata_app::logging::RunId;
use stockdata_app::records::{
    BAR_FIELDS, BarRecord, NEWS_FIELDS, NewsRecord, QUOTE_FIELDS, QuoteRecord, agent_symbol,
    bar_row, news_row, quote_row, stats, text,
};
use stockdata_app::{RunStats, SymbolReport};

/// `--format`
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Aligned columns for people.
    Table,
    /// One JSON document.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// Comma-separated values with a header row.
    Csv,
}

/// `text` safe for a terminal cell: control characters (escape sequences, tabs, newlines,
/// C1 controls, bidi overrides) become a space or are dropped, so provider text can neither
/// drive the terminal nor break a row.
pub(crate) fn for_terminal(text: &str) -> String {
    let bidi = |c: char| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    if !text.chars().any(|c| c.is_control() || bidi(c)) {
        return text.to_owned();
    }
    text.chars()
        .filter_map(|c| match c {
            '\t' | '\n' | '\r' => Some(' '),
            c if c.is_control() || bidi(c) => None,
            c => Some(c),
        })
        .collect()
}

/// A CSV cell a spreadsheet will not run as a formula: a leading `'` before `=`, `+`, `-`,
/// `@`, tab or carriage return (OWASP's CSV injection advice). Numbers are left alone: a
/// negative change is data, not a formula.
pub(crate) fn for_spreadsheet(cell: String) -> String {
    let risky = cell
        .chars()
        .next()
        .is_some_and(|c| matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r'));
    if risky && cell.parse::<f64>().is_err() {
        format!("'{cell}")
    } else {
        cell
    }
}

fn csv_row(cells: Vec<String>, csv_safe: bool) -> Vec<String> {
    if csv_safe {
        cells.into_iter().map(for_spreadsheet).collect()
    } else {
        cells
    }
}

/// Writes `records` in `format`.
#[allow(
    clippy::too_many_arguments,
    reason = "one private helper for every record type"
)]
fn write_records<T, R: Serialize>(
    out: &mut dyn Write,
    format: Format,
    csv_safe: bool,
    items: &[T],
    record: impl Fn(&T) -> R,
    fields: &[&str],
    row: impl Fn(&T) -> Vec<String>,
    table_columns: &[usize],
) -> std::io::Result<()> {
    match format {
        Format::Json => {
            let records: Vec<R> = items.iter().map(record).collect();
            serde_json::to_writer_pretty(&mut *out, &records)?;
            writeln!(out)
        }
        Format::Ndjson => {
            for item in items {
                serde_json::to_writer(&mut *out, &record(item))?;
                writeln!(out)?;
            }
            Ok(())
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(fields)?;
            for item in items {
                w.write_record(csv_row(row(item), csv_safe))?;
            }
            w.flush()
        }
        Format::Table => {
            let mut table = comfy_table::Table::new();
            table.load_preset(comfy_table::presets::NOTHING);
            table.set_header(table_columns.iter().filter_map(|&i| fields.get(i)));
            for item in items {
                let cells = row(item);
                table.add_row(
                    table_columns
                        .iter()
                        .filter_map(|&i| cells.get(i).map(|c| for_terminal(c))),
                );
            }
            writeln!(out, "{table}")
        }
    }
}

/// Writes quotes.
///
/// # Errors
/// Writing fails.
pub(crate) fn quotes(
    out: &mut dyn Write,
    format: Format,
    csv_safe: bool,
    quotes: &[Quote],
) -> std::io::Result<()> {
    write_records(
        out,
        format,
        csv_safe,
        quotes,
        |q| QuoteRecord::from(q),
        &QUOTE_FIELDS,
        quote_row,
        &[0, 1, 2, 3, 10, 11, 12, 13, 14],
    )
}

/// Writes bars.
///
/// # Errors
/// Writing fails.
pub(crate) fn bars(
    out: &mut dyn Write,
    format: Format,
    csv_safe: bool,
    bars: &[Bar],
) -> std::io::Result<()> {
    write_records(
        out,
        format,
        csv_safe,
        bars,
        |b| BarRecord::from(b),
        &BAR_FIELDS,
        bar_row,
        &[0, 1, 2, 3, 4, 5, 6, 7, 10],
    )
}

/// Writes articles.
///
/// # Errors
/// Writing fails.
pub(crate) fn news(
    out: &mut dyn Write,
    format: Format,
    csv_safe: bool,
    articles: &[NewsArticle],
) -> std::io::Result<()> {
    write_records(
        out,
        format,
        csv_safe,
        articles,
        |a| NewsRecord::from(a),
        &NEWS_FIELDS,
        news_row,
        &[6, 1, 2, 5, 7],
    )
}

/// Pretty JSON of `value`, every line after the first indented by `indent`.
fn indented<T: Serialize>(value: &T, indent: &str) -> std::io::Result<String> {
    let text = serde_json::to_string_pretty(value)?;
    Ok(text.replace('\n', &format!("\n{indent}")))
}

const SUMMARY_FIELDS: [&str; 8] = [
    "symbol",
    "price",
    "change_percent",
    "last_close",
    "bars",
    "news",
    "errors",
    "provider",
];

fn summary_row(s: &SymbolReport) -> Vec<String> {
    let q = s.quote.as_ref().ok();
    vec![
        s.symbol.to_string(),
        q.map(|q| q.price.normalize().to_string())
            .unwrap_or_default(),
        text(q.and_then(|q| q.change_percent)),
        s.bars
            .as_ref()
            .ok()
            .and_then(|b| b.bars.last())
            .map(|b| b.close.normalize().to_string())
            .unwrap_or_default(),
        s.bars
            .as_ref()
            .map(|b| b.bars.len())
            .unwrap_or(0)
            .to_string(),
        s.news.as_ref().map(Vec::len).unwrap_or(0).to_string(),
        s.errors()
            .iter()
            .map(|(sec, e)| format!("{sec}:{}", e.kind()))
            .collect::<Vec<_>>()
            .join(" "),
        q.map(|q| q.provenance.provider.to_string())
            .unwrap_or_default(),
    ]
}

/// Writes an agent run as it happens: each symbol as soon as the agent hands it over, the
/// statistics at the end. JSON is one object (`run_id`, `symbols`, `stats`); NDJSON one line
/// per symbol and a last `{"run_id", "stats"}` line; CSV one summary row per symbol; the table
/// is aligned, so it is printed at the end.
#[derive(Debug)]
pub(crate) struct AgentWriter<'w, W: Write> {
    out: &'w mut W,
    format: Format,
    run_id: String,
    written: usize,
    rows: Vec<Vec<String>>,
    csv_safe: bool,
}

impl<'w, W: Write> AgentWriter<'w, W> {
    /// Starts the document.
    ///
    /// # Errors
    /// Writing fails.
    pub(crate) fn start(out: &'w mut W, format: Format, run_id: &RunId) -> std::io::Result<Self> {
        let run_id = run_id.to_string();
        match format {
            Format::Json => write!(
                out,
                "{{\n  \"run_id\": {},\n  \"symbols\": [",
                serde_json::to_string(&run_id)?
            )?,
            Format::Csv => {
                let mut w = csv::Writer::from_writer(&mut *out);
                w.write_record(SUMMARY_FIELDS)?;
                w.flush()?;
            }
            Format::Ndjson | Format::Table => {}
        }
        Ok(Self {
            out,
            format,
            run_id,
            written: 0,
            rows: Vec::new(),
            csv_safe: false,
        })
    }

    /// `--csv-safe`: CSV cells defused for spreadsheets.
    pub(crate) fn csv_safe(mut self, csv_safe: bool) -> Self {
        self.csv_safe = csv_safe;
        self
    }

    /// Writes one symbol.
    ///
    /// # Errors
    /// Writing fails.
    pub(crate) fn symbol(&mut self, report: &SymbolReport) -> std::io::Result<()> {
        match self.format {
            Format::Json => {
                let sep = if self.written == 0 { "" } else { "," };
                write!(
                    self.out,
                    "{sep}\n    {}",
                    indented(&agent_symbol(report), "    ")?
                )?;
            }
            Format::Ndjson => {
                serde_json::to_writer(&mut *self.out, &agent_symbol(report))?;
                writeln!(self.out)?;
            }
            Format::Csv => {
                let mut w = csv::Writer::from_writer(&mut *self.out);
                w.write_record(csv_row(summary_row(report), self.csv_safe))?;
                w.flush()?;
            }
            Format::Table => self.rows.push(summary_row(report)),
        }
        self.written += 1;
        Ok(())
    }

    /// Ends the document with the run statistics.
    ///
    /// # Errors
    /// Writing fails.
    pub(crate) fn finish(self, run: &RunStats) -> std::io::Result<()> {
        let stats = stats(run);
        match self.format {
            Format::Json => {
                let close = if self.written == 0 { "]" } else { "\n  ]" };
                writeln!(
                    self.out,
                    "{close},\n  \"stats\": {}\n}}",
                    indented(&stats, "  ")?
                )
            }
            Format::Ndjson => {
                serde_json::to_writer(
                    &mut *self.out,
                    &serde_json::json!({ "run_id": self.run_id, "stats": stats }),
                )?;
                writeln!(self.out)
            }
            Format::Csv => Ok(()),
            Format::Table => {
                let mut table = comfy_table::Table::new();
                table.load_preset(comfy_table::presets::NOTHING);
                table.set_header(SUMMARY_FIELDS);
                for r in self.rows {
                    table.add_row(r.iter().map(|c| for_terminal(c)));
                }
                writeln!(self.out, "{table}")?;
                writeln!(
                    self.out,
                    "\n{} symbols: {} complete, {} partial, {} failed; {} fail-overs; {} ms",
                    stats.symbols,
                    stats.complete,
                    stats.partial,
                    stats.failed,
                    stats.failovers,
                    stats.elapsed_ms
                )
            }
        }
    }
}
