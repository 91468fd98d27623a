//! Tables for people: what `--format table` (the default on a terminal) prints.
//!
//! Machine formats live in [`super::output`]; this module only renders. Provider text is
//! passed through [`super::output::for_terminal`] before it reaches a cell.

use std::io::{self, Write};

use jiff::tz::TimeZone;
use stockdata_app::domain::{Bar, Decimal, NewsArticle, Quote};
use stockdata_app::records::{
    BAR_FIELDS, NEWS_FIELDS, QUOTE_FIELDS, bar_fields, csv_cells, news_fields, quote_fields,
};

use super::output::for_terminal;

/// How tables are drawn: the time zone instants are shown in, whether colour is allowed, and
/// the width to fit (none: not a terminal, no limit).
#[derive(Debug, Clone)]
pub(crate) struct Style {
    /// `--tz` (default America/New_York).
    pub(crate) tz: TimeZone,
    /// Colour on: stdout is a terminal, `NO_COLOR` is unset, `TERM` is not `dumb`.
    pub(crate) colour: bool,
    /// Columns to fit, when stdout is a terminal.
    pub(crate) width: Option<usize>,
}

impl Style {
    /// New York time, no colour, no width limit.
    pub(crate) fn plain() -> Self {
        Self {
            tz: new_york(),
            colour: false,
            width: None,
        }
    }

    /// The style for stdout: `tz`, colour and width from the terminal, if stdout is one.
    pub(crate) fn for_stdout(tz: TimeZone) -> Self {
        use std::io::IsTerminal as _;
        let terminal = io::stdout().is_terminal();
        Self {
            tz,
            colour: terminal && super::colour_allowed(),
            width: None,
        }
    }
}

/// America/New_York, the exchanges' zone (bundled: never missing).
pub(crate) fn new_york() -> TimeZone {
    TimeZone::get("America/New_York").unwrap_or(TimeZone::UTC)
}

/// One agent summary row, as the table shows it.
#[derive(Debug, Clone)]
pub(crate) struct AgentRow {
    pub(crate) symbol: String,
    pub(crate) price: Option<Decimal>,
    pub(crate) change_percent: Option<Decimal>,
    pub(crate) last_close: Option<Decimal>,
    /// The daily closes fetched, oldest first (for a sparkline).
    pub(crate) closes: Vec<Decimal>,
    pub(crate) bars: usize,
    pub(crate) news: usize,
    /// `section:kind` per error, space-separated.
    pub(crate) errors: String,
    pub(crate) provider: String,
}

fn plain(out: &mut dyn Write, header: &[&str], rows: Vec<Vec<String>>) -> io::Result<()> {
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::NOTHING);
    table.set_header(header);
    for row in rows {
        table.add_row(row.iter().map(|c| for_terminal(c)));
    }
    writeln!(out, "{table}")
}

fn pick(cells: &[String], columns: &[usize]) -> Vec<String> {
    columns
        .iter()
        .filter_map(|&i| cells.get(i).cloned())
        .collect()
}

fn pick_header(columns: &[usize], header: &[&'static str]) -> Vec<&'static str> {
    columns.iter().filter_map(|&i| header.get(i).copied()).collect()
}

/// The quotes table.
///
/// # Errors
/// Writing fails.
pub(crate) fn quotes(out: &mut dyn Write, _style: &Style, quotes: &[Quote]) -> io::Result<()> {
    const COLUMNS: [usize; 9] = [0, 1, 2, 3, 10, 11, 12, 13, 14];
    let rows = quotes
        .iter()
        .map(|q| pick(&csv_cells(&quote_fields(q)), &COLUMNS))
        .collect();
    plain(out, &pick_header(&COLUMNS, &QUOTE_FIELDS), rows)
}

/// The bars table.
///
/// # Errors
/// Writing fails.
pub(crate) fn bars(out: &mut dyn Write, _style: &Style, bars: &[Bar]) -> io::Result<()> {
    const COLUMNS: [usize; 9] = [0, 1, 2, 3, 4, 5, 6, 7, 10];
    let rows = bars
        .iter()
        .map(|b| pick(&csv_cells(&bar_fields(b)), &COLUMNS))
        .collect();
    plain(out, &pick_header(&COLUMNS, &BAR_FIELDS), rows)
}

/// The news table.
///
/// # Errors
/// Writing fails.
pub(crate) fn news(
    out: &mut dyn Write,
    _style: &Style,
    articles: &[NewsArticle],
) -> io::Result<()> {
    const COLUMNS: [usize; 5] = [6, 1, 2, 5, 7];
    let rows = articles
        .iter()
        .map(|a| pick(&csv_cells(&news_fields(a)), &COLUMNS))
        .collect();
    plain(out, &pick_header(&COLUMNS, &NEWS_FIELDS), rows)
}

/// The agent's summary table (without the statistics line).
///
/// # Errors
/// Writing fails.
pub(crate) fn agent(out: &mut dyn Write, _style: &Style, rows: &[AgentRow]) -> io::Result<()> {
    let text = |d: Option<Decimal>| d.map(|d| d.normalize().to_string()).unwrap_or_default();
    let rows = rows
        .iter()
        .map(|r| {
            vec![
                r.symbol.clone(),
                text(r.price),
                text(r.change_percent),
                text(r.last_close),
                r.bars.to_string(),
                r.news.to_string(),
                r.errors.clone(),
                r.provider.clone(),
            ]
        })
        .collect();
    plain(
        out,
        &[
            "symbol",
            "price",
            "change_percent",
            "last_close",
            "bars",
            "news",
            "errors",
            "provider",
        ],
        rows,
    )
}
