//! The CLI's output formats (`docs/output.md`) over the shared [`crate::records`].

//!
//! Text from providers is untrusted: tables strip control characters (no terminal escape
//! injection, no broken rows); CSV with `--csv-safe` defuses spreadsheet formulas; JSON keeps
//! the text exact.
//!
//! CSV, JSON and NDJSON are written straight from the domain values, field by field
//! ([`stockdata_app::records::bar_fields`] ...), into one buffer handed to `out` in chunks:
//! no record document, no `String` per cell, no quoting scan where a cell cannot need one
//! (decimals, counts, booleans). The bytes are those `csv::Writer` (`QuoteStyle::Necessary`)
//! and `serde_json` wrote from the serde records before; the tests hold them to it.

use std::io::{self, Write};

use jiff::Timestamp;
use jiff::fmt::temporal::DateTimePrinter;
use serde::Serialize;
use stockdata_app::domain::time::new_york_date;
use stockdata_app::domain::{Bar, Decimal, NewsArticle, Quote};
use stockdata_app::logging::RunId;
use stockdata_app::records::{
    BAR_FIELDS, FailedRecord, Field, FieldValue, NEWS_FIELDS, QUOTE_FIELDS, SentimentRecord,
    agent_symbol, bar_fields, news_fields, quote_fields, stats, write_decimal, write_ticker_scores,
};
use stockdata_app::{RunStats, SymbolReport};

use super::table::{self, AgentRow, Style};

/// How a command writes its records: the format, `--csv-safe`, and the table style.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// `--format` (or its default).
    pub(crate) format: Format,
    /// `--csv-safe`.
    pub(crate) csv_safe: bool,
    /// How tables are drawn.
    pub(crate) style: Style,
}

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
    /// Apache Parquet, for `store export --output FILE` only.
    #[cfg(feature = "parquet")]
    Parquet,
    /// Markdown, for `brief` only (its charts as SVG files beside it).
    #[value(name = "md", alias = "markdown")]
    Markdown,
    /// One self-contained HTML page, for `brief` only.
    Html,
}

impl Format {
    /// Whether only `brief` writes this format.
    pub(crate) fn is_brief_only(self) -> bool {
        matches!(self, Format::Markdown | Format::Html)
    }
}

/// The error of a record writer given `--format md` or `html`, which the CLI refuses for every
/// command but `brief`.
fn brief_only() -> io::Error {
    io::Error::other("--format md and html are written by `brief` only")
}

/// The error of a writer here given `--format parquet`, which the CLI refuses for every command
/// but `store export` (whose Parquet writer is `cli::parquet`).
#[cfg(feature = "parquet")]
fn parquet_elsewhere() -> io::Error {
    io::Error::other("--format parquet is written by `store export --output FILE` only")
}

/// `text` safe for a terminal cell (see [`stockdata_app::text::one_line`]).
pub(crate) use stockdata_app::text::one_line as for_terminal;

/// Whether a spreadsheet could run `cell` as a formula: it starts with `=`, `+`, `-`, `@`, tab
/// or carriage return (OWASP's CSV injection advice) and is not a number. `--csv-safe` puts a
/// `'` before such a cell; a negative change is data, not a formula.
fn is_formula(cell: &str) -> bool {
    let risky = cell
        .chars()
        .next()
        .is_some_and(|c| matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r'));
    risky && cell.parse::<f64>().is_err()
}

/// Bytes gathered before each write to `out`: one call per chunk, not one per cell.
const CHUNK: usize = 32 * 1024;

/// Hands `buf` to `out` once it holds a chunk.
fn spill(out: &mut dyn Write, buf: &mut Vec<u8>) -> io::Result<()> {
    if buf.len() >= CHUNK {
        out.write_all(buf)?;
        buf.clear();
    }
    Ok(())
}

/// jiff's RFC 3339 printer, the one `Timestamp`'s `Display` uses, printing into our buffer.
static INSTANTS: DateTimePrinter = DateTimePrinter::new();

fn instant(out: &mut Vec<u8>, t: Timestamp) -> io::Result<()> {
    INSTANTS
        .print_timestamp(&t, &mut *out)
        .map_err(io::Error::other)
}

fn count(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

fn boolean(out: &mut Vec<u8>, b: bool) {
    out.extend_from_slice(if b { b"true" } else { b"false" });
}

/// One CSV cell as the csv crate writes it (`QuoteStyle::Necessary`): quoted when it holds a
/// comma, a quote, CR or LF, with quotes doubled; with `csv_safe`, a formula gets a leading `'`.
fn csv_text(out: &mut Vec<u8>, cell: &str, csv_safe: bool) {
    let quote = cell
        .bytes()
        .any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'));
    if quote {
        out.push(b'"');
    }
    if csv_safe && is_formula(cell) {
        out.push(b'\'');
    }
    if quote {
        for b in cell.bytes() {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(cell.as_bytes());
    }
}

/// Quotes or defuses the cell written from `start` where it needs it (rare: an instant or a
/// symbol list is printed straight into `out` first).
fn finish_cell(out: &mut Vec<u8>, start: usize, csv_safe: bool) {
    let Some(cell) = out.get(start..) else {
        return;
    };
    let quote = cell
        .iter()
        .any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'));
    let defuse = csv_safe && std::str::from_utf8(cell).is_ok_and(is_formula);
    if quote || defuse {
        let cell = out.split_off(start);
        csv_text(out, &String::from_utf8_lossy(&cell), csv_safe);
    }
}

/// One CSV row of the CSV fields, without its line end. Decimals, counts and booleans are
/// written as they are: their text holds no comma, quote or line break, and a leading `-`
/// starts a number, not a formula.
fn csv_row(out: &mut Vec<u8>, fields: &[Field<'_>], csv_safe: bool) -> io::Result<()> {
    for (i, field) in fields.iter().filter(|f| f.csv).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let start = out.len();
        match field.value {
            FieldValue::Text(t) | FieldValue::OptText(Some(t)) => csv_text(out, t, csv_safe),
            FieldValue::Decimal(d) | FieldValue::OptDecimal(Some(d)) => write_decimal(out, d),
            FieldValue::Count(n) | FieldValue::OptCount(Some(n)) => count(out, n),
            FieldValue::Bool(b) => boolean(out, b),
            FieldValue::Instant(t) => {
                instant(out, t)?;
                finish_cell(out, start, csv_safe);
            }
            FieldValue::Symbols(list) => {
                for (k, symbol) in list.iter().enumerate() {
                    if k > 0 {
                        out.push(b' ');
                    }
                    out.extend_from_slice(symbol.as_str().as_bytes());
                }
                finish_cell(out, start, csv_safe);
            }
            FieldValue::TickerScores(list) => {
                write_ticker_scores(out, list);
                finish_cell(out, start, csv_safe);
            }
            FieldValue::Sentiment(Some(s)) => {
                let json = serde_json::to_string(&SentimentRecord::from(s))?;
                csv_text(out, &json, csv_safe);
            }
            FieldValue::OptText(None)
            | FieldValue::OptDecimal(None)
            | FieldValue::OptCount(None)
            | FieldValue::Sentiment(None)
            | FieldValue::Omitted => {}
        }
    }
    Ok(())
}

/// The line end of a data row: its `error` cell is empty.
const DATA_ROW_END: &[u8] = b",\n";

/// A CSV row for a symbol that failed: `columns` cells, all empty but the symbol's (at
/// `symbol_column`) and the last one, `error`, holding the error kind.
fn csv_failed(
    out: &mut Vec<u8>,
    columns: usize,
    symbol_column: usize,
    failed: &FailedRecord,
    csv_safe: bool,
) {
    for i in 0..columns {
        if i == symbol_column {
            csv_text(out, &failed.symbol, csv_safe);
        }
        out.push(b',');
    }
    out.extend_from_slice(failed.error.kind.as_bytes());
    out.push(b'\n');
}

/// One CSV line of plain cells (headers, agent summary rows).
fn csv_line<'a>(
    out: &mut dyn Write,
    cells: impl IntoIterator<Item = &'a str>,
    csv_safe: bool,
) -> io::Result<()> {
    let mut buf = Vec::with_capacity(256);
    for (i, cell) in cells.into_iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        csv_text(&mut buf, cell, csv_safe);
    }
    buf.push(b'\n');
    out.write_all(&buf)
}

/// A JSON string exactly as `serde_json` escapes it.
fn json_string(out: &mut Vec<u8>, text: &str) -> io::Result<()> {
    // serde_json escapes `"`, `\` and control characters below U+0020, nothing else.
    if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
        return Ok(());
    }
    serde_json::to_writer(&mut *out, text).map_err(io::Error::from)
}

/// Each field's key as written before its value: `\n    "name": ` pretty, `"name":` compact.
fn json_keys(fields: &[Field<'_>], pretty: bool) -> Vec<Vec<u8>> {
    fields
        .iter()
        .map(|f| {
            let mut key = Vec::with_capacity(f.name.len() + 9);
            key.extend_from_slice(if pretty { b"\n    \"" } else { b"\"" });
            key.extend_from_slice(f.name.as_bytes());
            key.extend_from_slice(if pretty { b"\": " } else { b"\":" });
            key
        })
        .collect()
}

/// One record as a JSON object: compact (`{"a":1,"b":null}`), or pretty as an element of a
/// top-level array, the way `serde_json::to_writer_pretty` indents it. `keys` are
/// [`json_keys`] of the same field list.
fn json_object(
    out: &mut Vec<u8>,
    fields: &[Field<'_>],
    keys: &[Vec<u8>],
    pretty: bool,
) -> io::Result<()> {
    out.push(b'{');
    let mut first = true;
    for (field, key) in fields.iter().zip(keys) {
        if !field.json || matches!(field.value, FieldValue::Omitted) {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        out.extend_from_slice(key);
        match field.value {
            FieldValue::Text(t) | FieldValue::OptText(Some(t)) => json_string(out, t)?,
            FieldValue::Decimal(d) | FieldValue::OptDecimal(Some(d)) => write_decimal(out, d),
            FieldValue::Count(n) | FieldValue::OptCount(Some(n)) => count(out, n),
            FieldValue::Bool(b) => boolean(out, b),
            FieldValue::Instant(t) => {
                out.push(b'"');
                instant(out, t)?;
                out.push(b'"');
            }
            FieldValue::Symbols([]) => out.extend_from_slice(b"[]"),
            FieldValue::Symbols(list) => {
                out.push(b'[');
                for (k, symbol) in list.iter().enumerate() {
                    out.extend_from_slice(match (k == 0, pretty) {
                        (true, false) => b"",
                        (false, false) => b",",
                        (true, true) => b"\n      ",
                        (false, true) => b",\n      ",
                    });
                    json_string(out, symbol.as_str())?;
                }
                out.extend_from_slice(if pretty { b"\n    ]" } else { b"]" });
            }
            FieldValue::Sentiment(Some(s)) => {
                let record = SentimentRecord::from(s);
                if pretty {
                    out.extend_from_slice(indented(&record, "    ")?.as_bytes());
                } else {
                    serde_json::to_writer(&mut *out, &record)?;
                }
            }
            FieldValue::TickerScores(list) => {
                let mut cell = Vec::new();
                write_ticker_scores(&mut cell, list);
                json_string(out, &String::from_utf8_lossy(&cell))?;
            }
            FieldValue::OptText(None)
            | FieldValue::OptDecimal(None)
            | FieldValue::OptCount(None)
            | FieldValue::Sentiment(None) => out.extend_from_slice(b"null"),
            FieldValue::Omitted => {}
        }
    }
    out.extend_from_slice(if pretty && !first { b"\n  }" } else { b"}" });
    Ok(())
}

/// A kind of record: its field list, its CSV header, and the column that names the symbol.
type Kind<'h, T, const N: usize> = (fn(&T) -> [Field<'_>; N], &'h [&'h str], usize);

/// Writes `items` in a machine format, each through its field list, then one record per
/// symbol in `failed` (docs/output.md): an object `{"symbol", "error"}` in JSON and NDJSON, a
/// row with only the symbol and the `error` column filled in CSV. Tables are drawn by
/// [`table`]; `draw` is called for them.
fn write_records<T, const N: usize>(
    out: &mut dyn Write,
    opts: &Options,
    items: &[T],
    (fields, header, symbol_column): Kind<'_, T, N>,
    failed: &[FailedRecord],
    draw: impl FnOnce(&mut dyn Write, &Style) -> io::Result<()>,
) -> io::Result<()> {
    let mut buf = Vec::with_capacity(CHUNK + CHUNK / 4);
    // Field names sit in the same place in every record of a kind.
    let keys = |pretty| {
        items
            .first()
            .map(|first| json_keys(&fields(first), pretty))
            .unwrap_or_default()
    };
    match opts.format {
        Format::Json => {
            let keys = keys(true);
            buf.push(b'[');
            for (i, item) in items.iter().enumerate() {
                buf.extend_from_slice(if i == 0 { b"\n  " } else { b",\n  " });
                json_object(&mut buf, &fields(item), &keys, true)?;
                spill(out, &mut buf)?;
            }
            for (i, f) in failed.iter().enumerate() {
                let first = items.is_empty() && i == 0;
                buf.extend_from_slice(if first { b"\n  " } else { b",\n  " });
                buf.extend_from_slice(indented(f, "  ")?.as_bytes());
            }
            let empty = items.is_empty() && failed.is_empty();
            buf.extend_from_slice(if empty { b"]\n" } else { b"\n]\n" });
        }
        Format::Ndjson => {
            let keys = keys(false);
            for item in items {
                json_object(&mut buf, &fields(item), &keys, false)?;
                buf.push(b'\n');
                spill(out, &mut buf)?;
            }
            for f in failed {
                serde_json::to_writer(&mut buf, f)?;
                buf.push(b'\n');
            }
        }
        Format::Csv => {
            csv_line(out, header.iter().copied().chain(["error"]), false)?;
            for item in items {
                csv_row(&mut buf, &fields(item), opts.csv_safe)?;
                buf.extend_from_slice(DATA_ROW_END);
                spill(out, &mut buf)?;
            }
            for f in failed {
                csv_failed(&mut buf, header.len(), symbol_column, f, opts.csv_safe);
            }
        }
        Format::Table => return draw(out, &opts.style),
        #[cfg(feature = "parquet")]
        Format::Parquet => return Err(parquet_elsewhere()),
        Format::Markdown | Format::Html => return Err(brief_only()),
    }
    out.write_all(&buf)
}

/// Writes quotes, then the symbols that failed.
///
/// # Errors
/// Writing fails.
pub(crate) fn quotes(
    out: &mut dyn Write,
    opts: &Options,
    quotes: &[Quote],
    failed: &[FailedRecord],
) -> io::Result<()> {
    write_records(
        out,
        opts,
        quotes,
        (quote_fields, &QUOTE_FIELDS, 0),
        failed,
        |out, style| table::quotes(out, style, quotes),
    )
}

/// Writes bars, then the symbols that failed.
///
/// # Errors
/// Writing fails.
pub(crate) fn bars(
    out: &mut dyn Write,
    opts: &Options,
    bars: &[Bar],
    failed: &[FailedRecord],
) -> io::Result<()> {
    write_records(
        out,
        opts,
        bars,
        (bar_fields, &BAR_FIELDS, 0),
        failed,
        |out, style| table::bars(out, style, bars),
    )
}

/// Writes bars as CSV rows without the header: the rows that follow an earlier
/// [`bars`] call's (`store export`, one series at a time).
///
/// # Errors
/// Writing fails.
pub(crate) fn bars_csv_rows(out: &mut dyn Write, csv_safe: bool, bars: &[Bar]) -> io::Result<()> {
    let mut buf = Vec::with_capacity(CHUNK + CHUNK / 4);
    for bar in bars {
        csv_row(&mut buf, &bar_fields(bar), csv_safe)?;
        buf.extend_from_slice(DATA_ROW_END);
        spill(out, &mut buf)?;
    }
    out.write_all(&buf)
}

/// Writes articles, then the symbols whose news failed.
///
/// # Errors
/// Writing fails.
pub(crate) fn news(
    out: &mut dyn Write,
    opts: &Options,
    articles: &[NewsArticle],
    failed: &[FailedRecord],
) -> io::Result<()> {
    write_records(
        out,
        opts,
        articles,
        (news_fields, &NEWS_FIELDS, 1),
        failed,
        |out, style| table::news(out, style, articles),
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

/// The close of the last session before the quote's own (the quote's session bar closes at the
/// quote's price, so showing it says nothing); without a quote, the last bar's close.
fn last_close(s: &SymbolReport, q: Option<&Quote>) -> Option<Decimal> {
    let bars = &s.bars.as_ref().ok()?.bars;
    let Some(q) = q else {
        return bars.last().map(|b| b.close);
    };
    let session = new_york_date(q.as_of);
    bars.iter()
        .rev()
        .find(|b| new_york_date(b.start) < session)
        .map(|b| b.close)
}

/// The summary of one symbol: the agent's table and CSV row.
fn agent_row(s: &SymbolReport) -> AgentRow {
    let q = s.quote.as_ref().ok();
    let series = s.bars.as_ref().ok();
    AgentRow {
        symbol: s.symbol.to_string(),
        price: q.map(|q| q.price),
        change_percent: q.and_then(|q| q.change_percent),
        last_close: last_close(s, q),
        closes: series
            .map(|b| b.bars.iter().map(|b| b.close).collect())
            .unwrap_or_default(),
        bars: series.map_or(0, |b| b.bars.len()),
        news: s.news.as_ref().map_or(0, Vec::len),
        errors: s
            .errors()
            .iter()
            .map(|(sec, e)| format!("{sec}:{}", e.kind()))
            .collect::<Vec<_>>()
            .join(" "),
        provider: q
            .map(|q| q.provenance.provider.to_string())
            .unwrap_or_default(),
    }
}

/// The CSV cells of a summary row (`SUMMARY_FIELDS`).
fn summary_cells(r: &AgentRow) -> [String; 8] {
    let text = |d: Option<Decimal>| d.map(|d| d.normalize().to_string()).unwrap_or_default();
    [
        r.symbol.clone(),
        text(r.price),
        text(r.change_percent),
        text(r.last_close),
        r.bars.to_string(),
        r.news.to_string(),
        r.errors.clone(),
        r.provider.clone(),
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
    rows: Vec<AgentRow>,
    csv_safe: bool,
    style: Style,
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
            Format::Csv => csv_line(&mut *out, SUMMARY_FIELDS, false)?,
            Format::Ndjson | Format::Table => {}
            #[cfg(feature = "parquet")]
            Format::Parquet => return Err(parquet_elsewhere()),
            Format::Markdown | Format::Html => return Err(brief_only()),
        }
        Ok(Self {
            out,
            format,
            run_id,
            written: 0,
            rows: Vec::new(),
            csv_safe: false,
            style: Style::plain(),
        })
    }

    /// `--csv-safe` and the table style.
    pub(crate) fn options(mut self, opts: &Options) -> Self {
        self.csv_safe = opts.csv_safe;
        self.style = opts.style.clone();
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
            Format::Csv => csv_line(
                &mut *self.out,
                summary_cells(&agent_row(report)).iter().map(String::as_str),
                self.csv_safe,
            )?,
            Format::Table => self.rows.push(agent_row(report)),
            #[cfg(feature = "parquet")]
            Format::Parquet => return Err(parquet_elsewhere()),
            Format::Markdown | Format::Html => return Err(brief_only()),
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
            #[cfg(feature = "parquet")]
            Format::Parquet => Err(parquet_elsewhere()),
            Format::Markdown | Format::Html => Err(brief_only()),
            Format::Table => {
                table::agent(&mut *self.out, &self.style, &self.rows)?;
                writeln!(
                    self.out,
                    "\n{} symbols: {} complete, {} partial, {} failed\n{} fail-overs, {} from \
                     the store, {} ms",
                    stats.symbols,
                    stats.complete,
                    stats.partial,
                    stats.failed,
                    stats.failovers,
                    stats.store_hits,
                    stats.elapsed_ms
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use stockdata_app::domain::{
        Adjustment, Decimal, Interval, Provenance, ProviderId, Sentiment, SentimentLabel, Symbol,
        TickerSentiment, Timestamp,
    };
    use stockdata_app::records::BarRecord;

    use super::*;

    // The writers as they were before they wrote straight from the domain values (serde records,
    // a `String` per cell, `csv::Writer`): the oracle the new ones must match byte for byte.

    fn old_text(d: Option<Decimal>) -> String {
        d.map(|d| d.normalize().to_string()).unwrap_or_default()
    }

    fn old_quote_row(q: &Quote) -> Vec<String> {
        let opt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
        vec![
            q.symbol.to_string(),
            q.price.normalize().to_string(),
            old_text(q.bid),
            old_text(q.ask),
            opt(q.bid_size),
            opt(q.ask_size),
            old_text(q.open),
            old_text(q.high),
            old_text(q.low),
            old_text(q.previous_close),
            old_text(q.change),
            old_text(q.change_percent),
            opt(q.volume),
            q.as_of.to_string(),
            q.provenance.provider.to_string(),
            q.provenance.synthetic.to_string(),
        ]
    }

    fn old_bar_row(b: &Bar) -> Vec<String> {
        vec![
            b.symbol.to_string(),
            b.interval.to_string(),
            b.start.to_string(),
            b.open.normalize().to_string(),
            b.high.normalize().to_string(),
            b.low.normalize().to_string(),
            b.close.normalize().to_string(),
            b.volume.to_string(),
            old_text(b.vwap),
            b.trades.map(|t| t.to_string()).unwrap_or_default(),
            b.provenance.provider.to_string(),
            b.provenance.synthetic.to_string(),
            // Appended after the old writer.
            b.provenance
                .adjustment
                .map(|a| a.as_str().to_owned())
                .unwrap_or_default(),
        ]
    }

    fn old_news_row(a: &NewsArticle) -> Vec<String> {
        vec![
            a.id.clone(),
            a.symbols
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" "),
            a.headline.clone(),
            a.summary.clone(),
            a.url.clone(),
            a.source.clone(),
            a.published_at.to_string(),
            a.provenance.provider.to_string(),
            a.provenance.synthetic.to_string(),
            a.sentiment
                .as_ref()
                .map(|s| s.score.normalize().to_string())
                .unwrap_or_default(),
            a.sentiment
                .as_ref()
                .map(|s| s.label.as_str().to_owned())
                .unwrap_or_default(),
            a.sentiment
                .iter()
                .flat_map(|s| &s.tickers)
                .map(|t| format!("{}={}", t.symbol, t.score.normalize()))
                .collect::<Vec<_>>()
                .join(" "),
        ]
    }

    fn old_for_spreadsheet(cell: String) -> String {
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

    #[allow(clippy::too_many_arguments, reason = "the old helper, kept as it was")]
    fn old_write<T, R: Serialize>(
        format: Format,
        csv_safe: bool,
        items: &[T],
        record: impl Fn(&T) -> R,
        fields: &[&str],
        row: impl Fn(&T) -> Vec<String>,
        table_columns: &[usize],
    ) -> Vec<u8> {
        let mut out = Vec::new();
        match format {
            Format::Json => {
                let records: Vec<R> = items.iter().map(record).collect();
                serde_json::to_writer_pretty(&mut out, &records).unwrap();
                writeln!(out).unwrap();
            }
            Format::Ndjson => {
                for item in items {
                    serde_json::to_writer(&mut out, &record(item)).unwrap();
                    writeln!(out).unwrap();
                }
            }
            Format::Csv => {
                // The `error` column, empty in data rows, was appended after the old writer.
                let mut w = csv::Writer::from_writer(&mut out);
                w.write_record(fields.iter().copied().chain(["error"]))
                    .unwrap();
                for item in items {
                    let mut cells = row(item);
                    cells.push(String::new());
                    let cells: Vec<String> = if csv_safe {
                        cells.into_iter().map(old_for_spreadsheet).collect()
                    } else {
                        cells
                    };
                    w.write_record(cells).unwrap();
                }
                w.flush().unwrap();
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
                writeln!(out, "{table}").unwrap();
            }
            #[cfg(feature = "parquet")]
            Format::Parquet => unreachable!("the old writers had no parquet"),
            Format::Markdown | Format::Html => unreachable!("the old writers had no brief"),
        }
        out
    }

    fn dec(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn sym(text: &str) -> Symbol {
        Symbol::parse(text).unwrap()
    }

    /// Values at every edge the formats have: signs, scales, zeros, the largest mantissas,
    /// instants with fractions and outside four-digit years, text needing quotes, escapes or
    /// defusing, absent values.
    fn tricky_bars() -> Vec<Bar> {
        let provenance = |p: ProviderId| Provenance::new(p, Timestamp::UNIX_EPOCH);
        vec![
            Bar {
                symbol: sym("IBM"),
                interval: Interval::Day1,
                start: at("2024-03-08T05:00:00Z"),
                open: dec("112.6300"),
                high: dec("113.5"),
                low: dec("-0.58"),
                close: dec("0.0000"),
                volume: 0,
                vwap: None,
                trades: None,
                provenance: provenance(ProviderId::from_static("alpha_vantage"))
                    .with_adjustment(Adjustment::All),
            },
            Bar {
                symbol: sym("=X"),
                interval: Interval::Minute5,
                start: at("2024-03-08T14:30:00.123456789Z"),
                open: Decimal::from_parts(1, 0, 0, false, 28),
                high: Decimal::MAX,
                low: Decimal::MIN,
                close: dec("-0.000063"),
                volume: u64::MAX,
                vwap: Some(Decimal::from_parts(0, 0, 0, true, 3)),
                trades: Some(u64::MAX),
                provenance: Provenance {
                    synthetic: true,
                    ..provenance(ProviderId::new("odd,\"provider\"\n"))
                },
            },
            Bar {
                symbol: sym("BRK.B"),
                interval: Interval::Month1,
                start: Timestamp::MIN,
                open: dec("18446744073709551616"),
                high: Decimal::from_parts(u32::MAX, u32::MAX, 0, false, 1),
                low: dec("10"),
                close: dec("100.00"),
                volume: 1,
                vwap: Some(dec("123.4500")),
                trades: Some(0),
                provenance: provenance(ProviderId::from_static("sandbox"))
                    .with_adjustment(Adjustment::Split),
            },
            Bar {
                symbol: sym("-A"),
                interval: Interval::Hour1,
                start: Timestamp::MAX,
                open: dec("0.5"),
                high: dec("-12345678901234567890.123456789"),
                low: dec("1.000000000000000000000000000"),
                close: dec("-0.1000"),
                volume: 29_062_853,
                vwap: None,
                trades: Some(7),
                provenance: provenance(ProviderId::from_static("=cmd|' /C calc'!A0")),
            },
        ]
    }

    fn tricky_quotes() -> Vec<Quote> {
        vec![
            Quote {
                symbol: sym("AAPL"),
                price: dec("189.9800"),
                bid: Some(dec("-0.01")),
                bid_size: Some(0),
                ask: Some(dec("0.000000000000000000000000001")),
                ask_size: Some(u64::MAX),
                open: Some(dec("100")),
                high: Some(Decimal::MAX),
                low: Some(Decimal::MIN),
                previous_close: Some(dec("191.10")),
                change: Some(dec("-1.12")),
                change_percent: Some(dec("-0.5852")),
                volume: Some(29_062_853),
                as_of: at("2024-03-08T21:00:00.5Z"),
                provenance: Provenance::new(
                    ProviderId::from_static("finnhub"),
                    at("2024-03-08T21:00:00Z"),
                ),
            },
            Quote {
                symbol: sym("^DJI"),
                price: Decimal::from_parts(0, 0, 0, true, 5),
                bid: None,
                bid_size: None,
                ask: None,
                ask_size: None,
                open: None,
                high: None,
                low: None,
                previous_close: None,
                change: None,
                change_percent: None,
                volume: None,
                as_of: Timestamp::MIN,
                provenance: Provenance {
                    synthetic: true,
                    ..Provenance::new(ProviderId::new("+relay, \"quoted\""), Timestamp::MAX)
                },
            },
        ]
    }

    fn tricky_news() -> Vec<NewsArticle> {
        let provenance = Provenance::new(ProviderId::from_static("finnhub"), Timestamp::UNIX_EPOCH);
        vec![
            NewsArticle {
                id: "finnhub:1,2".to_owned(),
                headline: concat!(
                    "\u{1b}[2J\u{1b}[31mRED\tTAB\nNEWLINE\rCR \"quoted\", ",
                    "\\ back\u{0}\u{7f}\u{8}\u{c}"
                )
                .to_owned(),
                summary: String::new(),
                url: "https://example.invalid/a?q=\"x\"&b=1,2".to_owned(),
                source: "=HYPERLINK(\"http://evil.invalid\",\"x\")".to_owned(),
                published_at: at("2024-03-08T13:05:00Z"),
                symbols: vec![sym("=X"), sym("AAPL")],
                author: None,
                image: Some("https://img.invalid/é.png".to_owned()),
                sentiment: Some(Sentiment {
                    score: "-0.233100".parse().unwrap(),
                    label: SentimentLabel::SomewhatBearish,
                    tickers: vec![
                        TickerSentiment {
                            symbol: sym("=X"),
                            relevance: "0.000063".parse().unwrap(),
                            score: "-0.000".parse().unwrap(),
                            label: SentimentLabel::Other("=Mixed, \"odd\"".to_owned()),
                        },
                        TickerSentiment {
                            symbol: sym("AAPL"),
                            relevance: "1.0".parse().unwrap(),
                            score: "0.588718".parse().unwrap(),
                            label: SentimentLabel::Bullish,
                        },
                    ],
                }),
                provenance: provenance.clone(),
            },
            NewsArticle {
                id: "alpha_vantage:00ff".to_owned(),
                headline: "-5".to_owned(),
                summary: "Ünïcödé ✓ 📈 and a bidi override \u{202E}txet\u{202C}, \u{2028} \u{85}"
                    .to_owned(),
                url: "@user".to_owned(),
                source: "+1 (555) 0100".to_owned(),
                published_at: at("2024-03-08T13:05:00.000000001Z"),
                symbols: Vec::new(),
                author: Some("A, B \"C\"".to_owned()),
                image: None,
                sentiment: Some(Sentiment {
                    score: "0.187544".parse().unwrap(),
                    label: SentimentLabel::Other("+Up".to_owned()),
                    tickers: Vec::new(),
                }),
                provenance: Provenance {
                    synthetic: true,
                    ..provenance
                },
            },
            NewsArticle {
                id: "x".to_owned(),
                headline: "\t-lead tab".to_owned(),
                summary: "\r\n".to_owned(),
                url: String::new(),
                source: "-".to_owned(),
                published_at: Timestamp::MIN,
                symbols: vec![sym("NVDA")],
                author: Some(String::new()),
                image: Some("\"".to_owned()),
                sentiment: None,
                provenance: Provenance::new(ProviderId::from_static("alpaca"), Timestamp::MAX),
            },
        ]
    }

    /// Every format and `--csv-safe` setting, labelled: the golden text (each also checked
    /// against the old writer byte for byte).
    const CASES: [(&str, Format, bool); 4] = [
        ("csv", Format::Csv, false),
        ("csv --csv-safe", Format::Csv, true),
        ("json", Format::Json, false),
        ("ndjson", Format::Ndjson, false),
    ];

    fn opts(format: Format, csv_safe: bool) -> Options {
        Options {
            format,
            csv_safe,
            style: Style::plain(),
        }
    }

    fn all_formats(
        write: impl Fn(&mut dyn Write, Format, bool) -> io::Result<()>,
        old: impl Fn(Format, bool) -> Vec<u8>,
    ) -> String {
        let mut golden = String::new();
        for (label, format, csv_safe) in CASES {
            let mut new = Vec::new();
            write(&mut new, format, csv_safe).unwrap();
            let want = String::from_utf8(old(format, csv_safe)).unwrap();
            let got = String::from_utf8(new).unwrap();
            assert_eq!(got, want, "{label}");
            // Control characters other than LF, line separators and bidi controls are shown
            // as `\u{..}`: a snapshot file is reviewed as text.
            golden.push_str(&format!("==== {label}\n"));
            for c in got.chars() {
                let invisible = matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
                );
                if (c.is_control() && c != '\n') || invisible {
                    golden.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
                } else {
                    golden.push(c);
                }
            }
        }
        golden
    }

    fn old_bars(format: Format, csv_safe: bool, items: &[Bar]) -> Vec<u8> {
        let columns = [0, 1, 2, 3, 4, 5, 6, 7, 10];
        let record = |b: &Bar| BarRecord::from(b);
        old_write(
            format,
            csv_safe,
            items,
            record,
            &BAR_FIELDS,
            old_bar_row,
            &columns,
        )
    }

    #[test]
    fn bars_match_the_old_writer_and_the_golden_output() {
        let items = tricky_bars();
        let golden = all_formats(
            |out, format, safe| bars(out, &opts(format, safe), &items, &[]),
            |format, safe| old_bars(format, safe, &items),
        );
        insta::assert_snapshot!(golden);
        all_formats(
            |out, format, safe| bars(out, &opts(format, safe), &[], &[]),
            |format, safe| old_bars(format, safe, &[]),
        );
    }

    #[test]
    fn quotes_match_the_old_writer_and_the_golden_output() {
        let items = tricky_quotes();
        let columns = [0, 1, 2, 3, 10, 11, 12, 13, 14];
        let old = |format, safe, items: &[Quote]| {
            let record = |q: &Quote| stockdata_app::records::QuoteRecord::from(q);
            old_write(
                format,
                safe,
                items,
                record,
                &QUOTE_FIELDS,
                old_quote_row,
                &columns,
            )
        };
        let golden = all_formats(
            |out, format, safe| quotes(out, &opts(format, safe), &items, &[]),
            |format, safe| old(format, safe, &items),
        );
        insta::assert_snapshot!(golden);
        all_formats(
            |out, format, safe| quotes(out, &opts(format, safe), &[], &[]),
            |format, safe| old(format, safe, &[]),
        );
    }

    #[test]
    fn news_match_the_old_writer_and_the_golden_output() {
        let items = tricky_news();
        let columns = [6, 1, 2, 5, 7];
        let old = |format, safe, items: &[NewsArticle]| {
            let record = |a: &NewsArticle| stockdata_app::records::NewsRecord::from(a);
            old_write(
                format,
                safe,
                items,
                record,
                &NEWS_FIELDS,
                old_news_row,
                &columns,
            )
        };
        let golden = all_formats(
            |out, format, safe| news(out, &opts(format, safe), &items, &[]),
            |format, safe| old(format, safe, &items),
        );
        insta::assert_snapshot!(golden);
        all_formats(
            |out, format, safe| news(out, &opts(format, safe), &[], &[]),
            |format, safe| old(format, safe, &[]),
        );
    }

    /// Many generated bars, past the chunk size: every scale and sign, the u64 and the u128
    /// mantissa paths, instants across the whole range.
    #[test]
    fn generated_bars_match_the_old_writer() {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let decimal = |next: &mut dyn FnMut() -> u64| {
            let bits = next();
            let wide = bits.is_multiple_of(4);
            let lo = u32::try_from(next() >> 32).unwrap();
            let (mid, hi) = if wide {
                let more = next();
                (
                    u32::try_from(more >> 32).unwrap(),
                    u32::try_from(more & 0xffff).unwrap(),
                )
            } else {
                (u32::try_from(bits >> 40).unwrap() % 1000, 0)
            };
            let scale = u32::try_from((bits >> 8) % 29).unwrap();
            Decimal::from_parts(lo, mid, hi, bits & 2 == 0, scale)
        };
        let (min, max) = (Timestamp::MIN.as_second(), Timestamp::MAX.as_second());
        let span = u64::try_from(max - min).unwrap();
        let items: Vec<Bar> = (0..3_000)
            .map(|i| {
                let seconds = min + i64::try_from(next() % span).unwrap();
                let nanos = if i % 3 == 0 {
                    0
                } else {
                    i32::try_from(next() % 1_000_000_000).unwrap()
                };
                Bar {
                    symbol: sym("IBM"),
                    interval: Interval::Day1,
                    start: Timestamp::new(seconds, nanos).unwrap(),
                    open: decimal(&mut next),
                    high: decimal(&mut next),
                    low: decimal(&mut next),
                    close: decimal(&mut next),
                    volume: next(),
                    vwap: (i % 2 == 0).then(|| decimal(&mut next)),
                    trades: (i % 5 != 0).then(&mut next),
                    provenance: Provenance::new(
                        ProviderId::from_static("alpaca"),
                        Timestamp::UNIX_EPOCH,
                    ),
                }
            })
            .collect();
        for (label, format, csv_safe) in CASES {
            let mut new = Vec::new();
            bars(&mut new, &opts(format, csv_safe), &items, &[]).unwrap();
            assert!(new == old_bars(format, csv_safe, &items), "{label}");
        }
    }

    /// Failed symbols follow the data: an `{"symbol", "error"}` object in JSON and NDJSON (the
    /// documents stay valid), a row with only the symbol and `error` in CSV (as many cells as
    /// the header).
    #[test]
    fn failed_symbols_are_written_in_every_machine_format() {
        use stockdata_app::domain::FetchError;
        use stockdata_app::fetch::{Attempt, Outcome};
        let unknown = FetchError::UnknownSymbol {
            symbol: sym("ZZZZ"),
        };
        let trail = [Attempt {
            provider: ProviderId::from_static("finnhub"),
            outcome: Outcome::Failed(unknown.kind()),
            elapsed: std::time::Duration::from_millis(12),
        }];
        let failed = || {
            vec![
                stockdata_app::records::failed("quote", &sym("ZZZZ"), &unknown, &trail),
                stockdata_app::records::failed("quote", &sym("=X"), &unknown, &[]),
            ]
        };
        let mut golden = String::new();
        for (label, format, csv_safe) in CASES {
            let o = opts(format, csv_safe);
            let (mut q, mut b, mut n) = (Vec::new(), Vec::new(), Vec::new());
            quotes(&mut q, &o, &tricky_quotes()[..1], &failed()).unwrap();
            bars(&mut b, &o, &[], &failed()).unwrap();
            news(&mut n, &o, &tricky_news()[2..], &failed()).unwrap();
            let docs: Vec<String> = [q, b, n]
                .into_iter()
                .map(|d| String::from_utf8(d).unwrap())
                .collect();
            for doc in &docs {
                match format {
                    Format::Json => {
                        let v: serde_json::Value = serde_json::from_str(doc).unwrap();
                        let last = v.as_array().unwrap().last().unwrap();
                        assert_eq!(last["error"]["kind"], "unknown_symbol");
                    }
                    Format::Ndjson => {
                        let lines: Vec<serde_json::Value> = doc
                            .lines()
                            .map(|l| serde_json::from_str(l).unwrap())
                            .collect();
                        assert_eq!(lines.last().unwrap()["symbol"], "=X");
                    }
                    _ => {
                        // Strict: every row has as many cells as the header.
                        let mut reader = csv::Reader::from_reader(doc.as_bytes());
                        let rows: Vec<_> = reader.records().collect::<Result<_, _>>().unwrap();
                        let last = rows.last().unwrap();
                        assert_eq!(last.get(last.len() - 1), Some("unknown_symbol"));
                    }
                }
            }
            let text = docs.concat();
            golden.push_str(&format!("==== {label}\n{text}"));
        }
        insta::assert_snapshot!(golden);
    }

    #[test]
    fn agent_csv_rows_match_the_csv_writer() {
        let cells = [
            "AAPL", "-0.58", "=1+1", "a,b", "\"q\"", "", "x\ny", "@", "-", "\tt",
        ];
        for csv_safe in [false, true] {
            let mut new = Vec::new();
            csv_line(&mut new, cells, csv_safe).unwrap();
            let mut old = Vec::new();
            let mut w = csv::Writer::from_writer(&mut old);
            let row: Vec<String> = cells
                .iter()
                .map(|c| {
                    if csv_safe {
                        old_for_spreadsheet((*c).to_owned())
                    } else {
                        (*c).to_owned()
                    }
                })
                .collect();
            w.write_record(row).unwrap();
            w.flush().unwrap();
            drop(w);
            assert_eq!(
                String::from_utf8(new).unwrap(),
                String::from_utf8(old).unwrap()
            );
        }
    }
}
