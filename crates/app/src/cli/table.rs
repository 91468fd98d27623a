//! Tables for people: what `--format table` (the default on a terminal) prints.
//!
//! Machine formats live in [`super::output`]; this module only renders. Provider text is
//! passed through [`super::output::for_terminal`] before it reaches a cell.
//!
//! comfy-table lays every table out. On a terminal ([`Style::width`]) the table is at most that
//! many cells wide: text columns (headlines, sources, providers, symbol lists, errors) are cut
//! with `…` by comfy-table's dynamic arrangement and one-line rows; numbers, dates, instants
//! and symbols are never cut. When even those do not fit, whole columns are left out, least
//! useful first (each table lists its columns in the order they are given up). Numbers are
//! right-aligned with one number of decimals per column: the most any value in it has (at
//! least 2 for prices and changes), so no digit a provider sent is rounded away. Counts have
//! thousands separators. Instants are wall time in [`Style::tz`], named in the header; daily
//! and longer bars show their New York trading date.

use std::fmt::Write as _;
use std::io::{self, Write};

use comfy_table::{
    Cell, CellAlignment, ColumnConstraint, ContentArrangement, Row, Table, Width, presets,
};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use ratatui_core::buffer::Buffer;
use ratatui_core::layout::Rect;
use ratatui_core::text::Span;
use ratatui_core::widgets::Widget as _;
use ratatui_widgets::sparkline::Sparkline;
use stockdata_app::domain::time::new_york_date;
use stockdata_app::domain::{Bar, Decimal, NewsArticle, Quote};
use stockdata_app::text::plus;

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

    /// The style for stdout: `tz`, colour and width from the terminal, if stdout is one. The
    /// width is `COLUMNS` when that is a number, else the terminal's size.
    pub(crate) fn for_stdout(tz: TimeZone) -> Self {
        use std::io::IsTerminal as _;
        let terminal = io::stdout().is_terminal();
        let columns = std::env::var("COLUMNS").ok();
        Self {
            tz,
            colour: terminal && super::colour_allowed(),
            width: terminal_width(terminal, columns.as_deref(), || {
                console::Term::stdout().size_checked()
            }),
        }
    }
}

/// The width to fit: none when stdout is not a terminal; else `COLUMNS` when it is a positive
/// number, else the terminal's `(rows, columns)` from `size`.
fn terminal_width(
    terminal: bool,
    columns: Option<&str>,
    size: impl FnOnce() -> Option<(u16, u16)>,
) -> Option<usize> {
    if !terminal {
        return None;
    }
    columns
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0)
        .or_else(|| size().map(|(_, c)| usize::from(c)).filter(|&c| c > 0))
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

/// The quotes table. When the width is short, columns are given up in this order: empty
/// ones, ask, bid, provider, volume, as_of, change %, change, price (the symbol stays).
///
/// # Errors
/// Writing fails.
pub(crate) fn quotes(out: &mut dyn Write, style: &Style, quotes: &[Quote]) -> io::Result<()> {
    quotes_with_trends(out, style, quotes, &[])
}

/// The quotes table with a `trend` sparkline per quote (`trends[i]` for `quotes[i]`, closes
/// oldest first; the column is left out when no quote has one).
///
/// # Errors
/// Writing fails.
pub(crate) fn quotes_with_trends(
    out: &mut dyn Write,
    style: &Style,
    quotes: &[Quote],
    trends: &[Vec<Decimal>],
) -> io::Result<()> {
    let prices = |f: fn(&Quote) -> Option<Decimal>| quotes.iter().map(f).collect::<Vec<_>>();
    let mut columns = vec![
        exact("symbol", 0, quotes.iter().map(|q| q.symbol.to_string())),
        decimals("price", 1, &prices(|q| Some(q.price)), PRICE_PLACES),
        decimals("bid", 7, &prices(|q| q.bid), PRICE_PLACES),
        decimals("ask", 8, &prices(|q| q.ask), PRICE_PLACES),
        changes(
            "change",
            2,
            &prices(|q| q.change),
            Unit::Price,
            style.colour,
        ),
        changes(
            "change %",
            3,
            &prices(|q| q.change_percent),
            Unit::Percent,
            style.colour,
        ),
        counts("volume", 5, quotes.iter().map(|q| q.volume)),
        exact(
            &zoned("as_of", &style.tz),
            4,
            quotes.iter().map(|q| local_time(q.as_of, &style.tz)),
        ),
        text(
            "provider",
            6,
            6,
            quotes.iter().map(|q| q.provenance.provider.as_str()),
        ),
    ];
    if trends.iter().any(|t| t.len() > 1) {
        columns.insert(
            4,
            Column {
                header: "trend".to_owned(),
                kind: Kind::Spark,
                rank: u8::MAX,
                cells: Vec::new(),
                series: (0..quotes.len())
                    .map(|i| trends.get(i).cloned().unwrap_or_default())
                    .collect(),
            },
        );
    }
    render(out, style, columns)
}

/// One symbol's line of the live `stream` table: the latest of each kind of event.
#[derive(Debug, Clone, Default)]
pub(crate) struct StreamRow {
    pub(crate) symbol: String,
    pub(crate) last: Option<Decimal>,
    pub(crate) size: Option<Decimal>,
    pub(crate) at: Option<jiff::Timestamp>,
    pub(crate) bid: Option<Decimal>,
    pub(crate) ask: Option<Decimal>,
    pub(crate) bar_close: Option<Decimal>,
    pub(crate) bar_volume: Option<u64>,
    pub(crate) events: u64,
    pub(crate) provider: String,
}

/// The live `stream` table: a row per symbol. When the width is short, columns are given up
/// in this order: provider, events, bar volume, bar close, size, ask, bid, time, last (the
/// symbol stays).
///
/// # Errors
/// Writing fails.
pub(crate) fn stream(out: &mut dyn Write, style: &Style, rows: &[StreamRow]) -> io::Result<()> {
    let values = |f: fn(&StreamRow) -> Option<Decimal>| rows.iter().map(f).collect::<Vec<_>>();
    let columns = vec![
        exact("symbol", 0, rows.iter().map(|r| r.symbol.clone())),
        decimals("last", 1, &values(|r| r.last), PRICE_PLACES),
        decimals("size", 5, &values(|r| r.size), 0),
        exact(
            &zoned("time", &style.tz),
            2,
            rows.iter()
                .map(|r| r.at.map(|t| local_time(t, &style.tz)).unwrap_or_default()),
        ),
        decimals("bid", 3, &values(|r| r.bid), PRICE_PLACES),
        decimals("ask", 4, &values(|r| r.ask), PRICE_PLACES),
        decimals("bar close", 6, &values(|r| r.bar_close), PRICE_PLACES),
        counts("bar volume", 7, rows.iter().map(|r| r.bar_volume)),
        counts("events", 8, rows.iter().map(|r| Some(r.events))),
        text("provider", 9, 6, rows.iter().map(|r| r.provider.as_str())),
    ];
    render(out, style, columns)
}

/// The bars table: daily and longer bars by their New York trading date, intraday bars by
/// their start in [`Style::tz`]. When the width is short, columns are given up in this
/// order: provider, interval, volume, low, high, open, close, the date (the symbol stays).
///
/// # Errors
/// Writing fails.
pub(crate) fn bars(out: &mut dyn Write, style: &Style, bars: &[Bar]) -> io::Result<()> {
    let prices = |f: fn(&Bar) -> Decimal| bars.iter().map(|b| Some(f(b))).collect::<Vec<_>>();
    let intraday = bars.iter().any(|b| b.interval.is_intraday());
    let start = |b: &Bar| {
        if b.interval.is_intraday() {
            local_time(b.start, &style.tz)
        } else {
            new_york_date(b.start).to_string()
        }
    };
    let columns = vec![
        exact("symbol", 0, bars.iter().map(|b| b.symbol.to_string())),
        exact("interval", 7, bars.iter().map(|b| b.interval.to_string())),
        if intraday {
            exact(&zoned("start", &style.tz), 1, bars.iter().map(start))
        } else {
            exact("date", 1, bars.iter().map(start))
        },
        decimals("open", 3, &prices(|b| b.open), PRICE_PLACES),
        decimals("high", 4, &prices(|b| b.high), PRICE_PLACES),
        decimals("low", 5, &prices(|b| b.low), PRICE_PLACES),
        decimals("close", 2, &prices(|b| b.close), PRICE_PLACES),
        counts("volume", 6, bars.iter().map(|b| Some(b.volume))),
        text(
            "provider",
            8,
            6,
            bars.iter().map(|b| b.provenance.provider.as_str()),
        ),
    ];
    render(out, style, columns)
}

/// The news table. The headline takes the room the other columns leave at their least; when
/// the width is short, columns are given up in this order: empty ones, provider, source,
/// symbols, the headline (the time stays).
///
/// # Errors
/// Writing fails.
pub(crate) fn news(out: &mut dyn Write, style: &Style, articles: &[NewsArticle]) -> io::Result<()> {
    let symbols = articles
        .iter()
        .map(|a| {
            a.symbols
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>();
    // The provider's label and overall score (`somewhat bullish +0.23`); empty where unscored.
    let sentiments = articles
        .iter()
        .map(|a| {
            a.sentiment.as_ref().map_or_else(String::new, |s| {
                format!(
                    "{} {}{}",
                    s.label.as_str().replace('_', " "),
                    plus(s.score),
                    s.score.normalize()
                )
            })
        })
        .collect::<Vec<_>>();
    let mut columns = vec![
        exact(
            &zoned("time", &style.tz),
            0,
            articles
                .iter()
                .map(|a| local_time(a.published_at, &style.tz)),
        ),
        text("symbols", 2, 6, symbols.iter().map(String::as_str)),
        text(
            "headline",
            1,
            10,
            articles.iter().map(|a| a.headline.as_str()),
        )
        .filling(),
        text("source", 4, 8, articles.iter().map(|a| a.source.as_str())),
        text(
            "provider",
            5,
            6,
            articles.iter().map(|a| a.provenance.provider.as_str()),
        ),
    ];
    // Only news a provider scored has the column: it takes no room from headlines otherwise.
    if sentiments.iter().any(|s| !s.is_empty()) {
        columns.insert(
            3,
            text("sentiment", 3, 9, sentiments.iter().map(String::as_str)),
        );
    }
    render(out, style, columns)
}

/// The agent's summary table (without the statistics line), with a sparkline of each symbol's
/// daily closes in the room the other columns leave. When the width is short, columns are
/// given up in this order: empty ones, provider, news, bars, last_close, errors, change %,
/// price (the symbol stays); the errors take the room the others leave at their least.
///
/// # Errors
/// Writing fails.
pub(crate) fn agent(out: &mut dyn Write, style: &Style, rows: &[AgentRow]) -> io::Result<()> {
    let prices = |f: fn(&AgentRow) -> Option<Decimal>| rows.iter().map(f).collect::<Vec<_>>();
    let count = |n: usize| Some(u64::try_from(n).unwrap_or(u64::MAX));
    let columns = vec![
        exact("symbol", 0, rows.iter().map(|r| r.symbol.clone())),
        decimals("price", 1, &prices(|r| r.price), PRICE_PLACES),
        changes(
            "change %",
            2,
            &prices(|r| r.change_percent),
            Unit::Percent,
            style.colour,
        ),
        decimals("last_close", 4, &prices(|r| r.last_close), PRICE_PLACES),
        Column {
            header: "trend".to_owned(),
            kind: Kind::Spark,
            rank: u8::MAX,
            cells: Vec::new(),
            series: rows.iter().map(|r| r.closes.clone()).collect(),
        },
        counts("bars", 5, rows.iter().map(|r| count(r.bars))),
        counts("news", 6, rows.iter().map(|r| count(r.news))),
        text("errors", 3, 12, rows.iter().map(|r| r.errors.as_str())).filling(),
        text("provider", 7, 6, rows.iter().map(|r| r.provider.as_str())),
    ];
    render(out, style, columns)
}

/// Cells between two columns.
const GAP: u16 = 2;
/// The fewest decimals a price or a change shows.
const PRICE_PLACES: u32 = 2;
/// A sparkline's widest, in cells (one close per cell, the latest on the right).
const SPARK_MAX: usize = 20;
/// A sparkline narrower than this says too little: the column is left out instead.
const SPARK_MIN: usize = 5;

// A coloured cell's text is put between two of these marks while comfy-table lays the table out,
// and the marks are replaced by SGR sequences after. comfy-table (without its `tty` feature,
// which this build does not have) would measure an escape sequence as printable text and pad
// the cell short; these marks take no cells in its measure (Unicode default-ignorable). They
// are bidi isolates, which `for_terminal` strips from provider text: only this module puts
// them in a cell.
/// Starts a gain (green).
const GAIN: char = '\u{2066}';
/// Starts a loss (red).
const LOSS: char = '\u{2067}';
/// Ends a coloured run.
const END: char = '\u{2069}';

/// What a column holds, which decides how it is aligned and whether it may be cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Numbers: right-aligned, never cut.
    Number,
    /// Symbols, dates, instants, intervals: left-aligned, never cut.
    Exact,
    /// Text: cut with `…` to fit, never below `min` cells or its header (or its widest cell,
    /// if narrower). A `fill` column (at most one per table: the headline, the errors) takes
    /// the room the others leave at their least before they get any more.
    Text { min: usize, fill: bool },
    /// A sparkline of [`Column::series`]: as wide as the room left allows, up to
    /// [`SPARK_MAX`], right-aligned; left out below [`SPARK_MIN`].
    Spark,
}

#[derive(Debug)]
struct Column {
    header: String,
    kind: Kind,
    /// When the width is short, columns are given up highest rank first; rank 0 always stays.
    rank: u8,
    /// The cells, top to bottom, as shown (colour marks included).
    cells: Vec<String>,
    /// A sparkline column's data, one series per row.
    series: Vec<Vec<Decimal>>,
}

impl Column {
    fn new(header: &str, kind: Kind, rank: u8, cells: Vec<String>) -> Self {
        Self {
            header: header.to_owned(),
            kind,
            rank,
            cells,
            series: Vec::new(),
        }
    }

    /// The widest cell, header included, in terminal cells.
    fn widest(&self) -> usize {
        self.cells
            .iter()
            .map(|c| cells(c))
            .chain([cells(&self.header)])
            .max()
            .unwrap_or(0)
    }

    /// The fewest cells the column can be drawn in.
    fn least(&self) -> usize {
        match self.kind {
            Kind::Text { min, .. } => self.widest().min(min.max(cells(&self.header))),
            // Before `fit` has drawn it.
            Kind::Spark if self.cells.is_empty() => SPARK_MIN,
            Kind::Number | Kind::Exact | Kind::Spark => self.widest(),
        }
    }

    /// A text column that takes the room the others leave at their least.
    fn filling(mut self) -> Self {
        if let Kind::Text { fill, .. } = &mut self.kind {
            *fill = true;
        }
        self
    }

    /// Whether the column holds nothing but its header: given up first.
    fn is_empty(&self) -> bool {
        self.cells.iter().all(String::is_empty)
    }
}

/// The width of `text` in terminal cells (East Asian wide characters and emoji take two).
fn cells(text: &str) -> usize {
    Span::raw(text).width()
}

/// A column of symbols, dates or instants.
fn exact(header: &str, rank: u8, values: impl Iterator<Item = String>) -> Column {
    let cells = values.map(|v| for_terminal(&v)).collect();
    Column::new(header, Kind::Exact, rank, cells)
}

/// A column of provider text.
fn text<'a>(header: &str, rank: u8, min: usize, values: impl Iterator<Item = &'a str>) -> Column {
    let cells = values.map(for_terminal).collect();
    Column::new(header, Kind::Text { min, fill: false }, rank, cells)
}

/// A column of counts, with thousands separators.
fn counts(header: &str, rank: u8, values: impl Iterator<Item = Option<u64>>) -> Column {
    let cells = values.map(|v| v.map(grouped).unwrap_or_default()).collect();
    Column::new(header, Kind::Number, rank, cells)
}

/// A column of prices, each with the column's decimals.
fn decimals(header: &str, rank: u8, values: &[Option<Decimal>], least: u32) -> Column {
    let places = places(values, least);
    let cells = values
        .iter()
        .map(|v| v.map(|d| fixed(d, places)).unwrap_or_default())
        .collect();
    Column::new(header, Kind::Number, rank, cells)
}

/// What a change is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Price,
    /// Percent: the value is already in percent (`-0.5852` is -0.5852 %).
    Percent,
}

/// A column of signed changes (`+1.12`, `-0.5852%`), gains green and losses red when
/// `colour`.
fn changes(header: &str, rank: u8, values: &[Option<Decimal>], unit: Unit, colour: bool) -> Column {
    let places = places(values, PRICE_PLACES);
    let cells = values
        .iter()
        .map(|v| {
            let Some(d) = *v else {
                return String::new();
            };
            let percent = if unit == Unit::Percent { "%" } else { "" };
            let text = format!("{}{}{percent}", plus(d), fixed(d, places));
            match (colour, d.is_zero(), d.is_sign_negative()) {
                (false, _, _) | (true, true, _) => text,
                (true, false, false) => format!("{GAIN}{text}{END}"),
                (true, false, true) => format!("{LOSS}{text}{END}"),
            }
        })
        .collect();
    Column::new(header, Kind::Number, rank, cells)
}

/// The decimals a column shows: the most significant decimals among `values`, at least
/// `least`. Trailing zeros a provider sent (`112.6300`) are not significant.
fn places(values: &[Option<Decimal>], least: u32) -> u32 {
    values
        .iter()
        .flatten()
        .map(|d| d.normalize().scale())
        .max()
        .unwrap_or(0)
        .max(least)
}

/// `d` with exactly `places` decimals; `places` is at least its significant decimals, so
/// nothing is rounded.
fn fixed(d: Decimal, places: u32) -> String {
    let d = if d.is_zero() {
        Decimal::ZERO
    } else {
        d.normalize()
    };
    let places = usize::try_from(places).unwrap_or(usize::MAX);
    format!("{d:.places$}")
}

/// `n` with a `,` between each group of three digits.
fn grouped(n: u64) -> String {
    stockdata_app::text::group_thousands(&n.to_string())
}

/// A time column's header: its name and the zone its times are in.
fn zoned(name: &str, tz: &TimeZone) -> String {
    let zone = tz
        .iana_name()
        .map(str::to_owned)
        .or_else(|| tz.to_fixed_offset().ok().map(|o| o.to_string()))
        .unwrap_or_else(|| "local".to_owned());
    format!("{name} ({zone})")
}

/// `at` as wall time in `tz`: `2024-03-08 09:30`, with seconds (and their fraction) only when
/// not zero.
fn local_time(at: Timestamp, tz: &TimeZone) -> String {
    let t = tz.to_datetime(at);
    let mut out = format!("{} {:02}:{:02}", t.date(), t.hour(), t.minute());
    let nanos = t.subsec_nanosecond();
    if t.second() != 0 || nanos != 0 {
        let _ = write!(out, ":{:02}", t.second());
        if nanos != 0 {
            let fraction = format!("{nanos:09}");
            out.push('.');
            out.push_str(fraction.trim_end_matches('0'));
        }
    }
    out
}

/// `closes`' last `width` values as a one-row sparkline: ratatui's `Sparkline` drawn into a
/// buffer, the lowest close one eighth high, the highest full.
fn sparkline(closes: &[Decimal], width: usize) -> String {
    let tail = closes
        .get(closes.len().saturating_sub(width)..)
        .unwrap_or_default();
    let low = tail.iter().copied().min().unwrap_or_default();
    let high = tail.iter().copied().max().unwrap_or_default();
    let span = high.checked_sub(low).unwrap_or_default();
    // 1..=8 eighths: the lowest close still draws a bar.
    let level = |c: Decimal| -> u64 {
        c.checked_sub(low)
            .and_then(|d| d.checked_mul(Decimal::from(7)))
            .and_then(|d| d.checked_div(span))
            .and_then(|d| u64::try_from(d.round()).ok())
            .map_or(1, |l| l.saturating_add(1))
    };
    let Ok(len) = u16::try_from(tail.len()) else {
        return String::new();
    };
    let area = Rect::new(0, 0, len, 1);
    let mut buffer = Buffer::empty(area);
    Sparkline::default()
        .data(tail.iter().map(|&c| level(c)))
        .max(8)
        .render(area, &mut buffer);
    buffer.content().iter().map(|c| c.symbol()).collect()
}

/// Leaves out the columns that do not fit in `width` (highest rank first) and sizes the
/// sparkline to the room left.
fn fit(columns: Vec<Column>, width: Option<usize>) -> Vec<Column> {
    let gap = usize::from(GAP);
    let mut order: Vec<(u8, usize)> = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.kind != Kind::Spark)
        .map(|(i, c)| (if c.is_empty() { u8::MAX } else { c.rank }, i))
        .collect();
    order.sort_unstable();
    let mut keep = vec![width.is_none(); columns.len()];
    let mut used = 0;
    if let Some(width) = width {
        for (_, i) in order {
            let Some(column) = columns.get(i) else {
                continue;
            };
            let add = column.least() + if used == 0 { 0 } else { gap };
            if used == 0 || used + add <= width {
                used += add;
                if let Some(k) = keep.get_mut(i) {
                    *k = true;
                }
            }
        }
    }
    let room = width.map_or(SPARK_MAX, |w| w.saturating_sub(used + gap));
    columns
        .into_iter()
        .zip(keep)
        .filter_map(|(mut column, keep)| {
            if column.kind != Kind::Spark {
                return keep.then_some(column);
            }
            let longest = column.series.iter().map(Vec::len).max().unwrap_or(0);
            let spark = room.min(SPARK_MAX).min(longest);
            if longest < 2 || spark < SPARK_MIN.min(longest) {
                return None;
            }
            column.cells = column.series.iter().map(|s| sparkline(s, spark)).collect();
            Some(column)
        })
        .collect()
}

/// Draws `columns` with comfy-table, fitted to [`Style::width`].
fn render(out: &mut dyn Write, style: &Style, columns: Vec<Column>) -> io::Result<()> {
    let columns = fit(columns, style.width);
    let mut table = Table::new();
    table.load_preset(presets::NOTHING);
    let one_line = |mut row: Row| {
        if style.width.is_some() {
            row.max_height(1);
        }
        row
    };
    table.set_header(one_line(Row::from(
        columns.iter().map(|c| Cell::new(&c.header)),
    )));
    let rows = columns.iter().map(|c| c.cells.len()).max().unwrap_or(0);
    for i in 0..rows {
        table.add_row(one_line(Row::from(
            columns
                .iter()
                .map(|c| Cell::new(c.cells.get(i).map_or("", String::as_str))),
        )));
    }
    let last = columns.len().saturating_sub(1);
    // The room a `fill` column gets: what the others leave at their least.
    let others: usize = columns
        .iter()
        .filter(|c| !matches!(c.kind, Kind::Text { fill: true, .. }))
        .map(Column::least)
        .sum::<usize>()
        + usize::from(GAP) * last;
    let room = style.width.unwrap_or(0).saturating_sub(others);
    for (i, (column, spec)) in table.column_iter_mut().zip(&columns).enumerate() {
        let gap = if i == last { 0 } else { GAP };
        column.set_padding((0, gap));
        match spec.kind {
            Kind::Number | Kind::Spark => {
                column.set_cell_alignment(CellAlignment::Right);
                column.set_constraint(ColumnConstraint::ContentWidth);
            }
            Kind::Exact => {
                column.set_constraint(ColumnConstraint::ContentWidth);
            }
            Kind::Text { .. } if style.width.is_none() => {}
            Kind::Text { fill, .. } => {
                let lower = if fill {
                    room.min(spec.widest()).max(spec.least())
                } else {
                    spec.least()
                };
                // Bounds include the padding.
                let lower = u16::try_from(lower).unwrap_or(u16::MAX).saturating_add(gap);
                column.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(lower)));
            }
        }
    }
    if let Some(width) = style.width {
        table
            .set_width(u16::try_from(width).unwrap_or(u16::MAX))
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_truncation_indicator("…")
            // Text is cut where the column ends, not at a space: `for_terminal` leaves no
            // control character in a cell, so this delimiter never splits one.
            .set_delimiter('\0');
    }
    let mut text = String::new();
    for line in table.lines() {
        paint(&mut text, line.trim_end());
        text.push('\n');
    }
    out.write_all(text.as_bytes())
}

/// Appends `line` with its colour marks replaced by SGR sequences (`console`'s styles).
fn paint(out: &mut String, line: &str) {
    let mut rest = line;
    while let Some(start) = rest.find([GAIN, LOSS]) {
        let (before, marked) = rest.split_at(start);
        out.push_str(before);
        let mut chars = marked.chars();
        let gain = chars.next() == Some(GAIN);
        let marked = chars.as_str();
        let (inner, after) = marked.split_once(END).unwrap_or((marked, ""));
        let style = console::Style::new().force_styling(true);
        let style = if gain { style.green() } else { style.red() };
        let _ = write!(out, "{}", style.apply_to(inner));
        rest = after;
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use stockdata_app::domain::{Interval, Provenance, ProviderId, Symbol};

    use super::*;

    fn dec(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn sym(text: &str) -> Symbol {
        Symbol::parse(text).unwrap()
    }

    fn provenance(provider: &'static str) -> Provenance {
        Provenance::new(
            ProviderId::from_static(provider),
            at("2024-03-08T21:00:00Z"),
        )
    }

    fn quote(symbol: &str, price: &str, change: Option<&str>, percent: Option<&str>) -> Quote {
        Quote {
            symbol: sym(symbol),
            price: dec(price),
            bid: dec(price).checked_sub(dec("0.01")),
            bid_size: Some(100),
            ask: dec(price).checked_add(dec("0.01")),
            ask_size: Some(2_500),
            open: None,
            high: None,
            low: None,
            previous_close: None,
            change: change.map(dec),
            change_percent: percent.map(dec),
            volume: Some(29_062_853),
            as_of: at("2024-03-08T21:00:00Z"),
            provenance: provenance("finnhub"),
        }
    }

    /// Prices of different scales (`69.9` above `69.87`, trailing zeros, a bid with four
    /// decimals), gains, losses and no change.
    fn quotes_fixture() -> Vec<Quote> {
        let mut brk = quote("BRK.B", "412.6300", Some("0"), Some("0.0000"));
        brk.volume = Some(999);
        brk.as_of = at("2024-03-08T20:59:59.25Z");
        let mut nvda = quote("NVDA", "875.28", Some("-12.5"), Some("-1.4"));
        nvda.bid = Some(dec("875.2712"));
        vec![
            quote("AAPL", "69.9", Some("1.12"), Some("1.6286")),
            quote("MSFT", "69.87", Some("-1.12"), Some("-0.5852")),
            nvda,
            brk,
        ]
    }

    fn bar(interval: Interval, start: &str, close: &str) -> Bar {
        Bar {
            symbol: sym("AAPL"),
            interval,
            start: at(start),
            open: dec("170.1"),
            high: dec("171.25"),
            low: dec("169.995"),
            close: dec(close),
            volume: 1_234_567,
            vwap: None,
            trades: None,
            provenance: provenance("alpaca"),
        }
    }

    fn article(headline: &str, source: &str, symbols: &[&str]) -> NewsArticle {
        NewsArticle {
            id: "x".to_owned(),
            headline: headline.to_owned(),
            summary: String::new(),
            url: String::new(),
            source: source.to_owned(),
            published_at: at("2024-03-08T14:35:07Z"),
            symbols: symbols.iter().map(|s| sym(s)).collect(),
            author: None,
            image: None,
            sentiment: None,
            provenance: provenance("finnhub"),
        }
    }

    /// Headlines a provider could send: terminal escapes, tabs, newlines, bidi overrides,
    /// East Asian wide characters, emoji (with ZWJ sequences), combining accents.
    fn hostile_news() -> Vec<NewsArticle> {
        vec![
            article(
                "\u{1b}[2J\u{1b}[31mRED\tTAB\nNEWLINE\rCR \u{1b}]8;;http://evil.invalid\u{7}link",
                "Benzinga",
                &["AAPL", "MSFT", "NVDA", "GOOGL", "AMZN", "META"],
            ),
            article(
                "株式市場が急騰、日経平均は史上最高値を更新 📈🚀 トヨタ自動車とソニーが牽引",
                "日本経済新聞",
                &["7203.T"],
            ),
            article(
                "Family 👨‍👩‍👧‍👦 office buys Ünïcödé \u{202E}txet desrever\u{202C} stake",
                "Reuters",
                &[],
            ),
            article("Short", "Zacks Investment Research Incorporated", &["IBM"]),
        ]
    }

    fn agent_rows() -> Vec<AgentRow> {
        let closes = |xs: &[&str]| xs.iter().map(|x| dec(x)).collect::<Vec<_>>();
        vec![
            AgentRow {
                symbol: "AAPL".to_owned(),
                price: Some(dec("172.5")),
                change_percent: Some(dec("1.798")),
                last_close: Some(dec("171.19")),
                closes: closes(&[
                    "160", "161.5", "163", "162", "165", "166.25", "168", "167", "169", "170",
                    "169.5", "171", "172", "171.5", "173", "174", "172", "170", "171.19", "171",
                    "172", "173.5",
                ]),
                bars: 22,
                news: 6,
                errors: String::new(),
                provider: "alpaca".to_owned(),
            },
            AgentRow {
                symbol: "MSFT".to_owned(),
                price: Some(dec("402.1")),
                change_percent: Some(dec("-2.4870")),
                last_close: Some(dec("412.35")),
                closes: closes(&["420", "418", "415", "416", "410", "412.35"]),
                bars: 6,
                news: 1_204,
                errors: "news:rate_limited quotes:unavailable".to_owned(),
                provider: "finnhub".to_owned(),
            },
            AgentRow {
                symbol: "NOPE".to_owned(),
                price: None,
                change_percent: None,
                last_close: None,
                closes: Vec::new(),
                bars: 0,
                news: 0,
                errors: "quotes:unknown_symbol bars:unknown_symbol news:unknown_symbol".to_owned(),
                provider: String::new(),
            },
        ]
    }

    fn style(width: Option<usize>) -> Style {
        Style {
            width,
            ..Style::plain()
        }
    }

    fn draw(render: impl Fn(&mut dyn Write, &Style) -> io::Result<()>, style: &Style) -> String {
        let mut out = Vec::new();
        render(&mut out, style).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// `text` without its SGR sequences.
    fn strip(text: &str) -> String {
        let mut out = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    /// Draws at no limit and at each width, checks every line fits, and returns the drawings
    /// one after the other for a snapshot.
    fn at_widths(
        render: impl Fn(&mut dyn Write, &Style) -> io::Result<()>,
        widths: &[usize],
    ) -> String {
        let mut all = format!("-- no limit\n{}", draw(&render, &style(None)));
        for &width in widths {
            let text = draw(&render, &style(Some(width)));
            for line in text.lines() {
                assert!(
                    cells(&strip(line)) <= width,
                    "{} cells at width {width}: {line:?}",
                    cells(line)
                );
            }
            all.push_str(&format!("-- width {width}\n{text}"));
        }
        all
    }

    #[test]
    fn quotes_fit_the_width_and_give_up_columns_in_order() {
        let quotes = quotes_fixture();
        insta::assert_snapshot!(at_widths(
            |out, s| super::quotes(out, s, &quotes),
            &[80, 60, 40]
        ));
    }

    #[test]
    fn numbers_are_right_aligned_with_the_providers_decimals() {
        let quotes = quotes_fixture();
        let text = draw(|out, s| super::quotes(out, s, &quotes), &style(None));
        insta::assert_snapshot!(text);
        let lines: Vec<&str> = text.lines().collect();
        // One column's decimals: `69.9` shows as `69.90` above `69.87`; trailing zeros are
        // not digits (`412.6300` is `412.63`); four decimals in a column stay four, and every
        // value in that column shows four.
        assert!(lines[1].starts_with("AAPL     69.90   69.8900"), "{text}");
        assert!(lines[2].starts_with("MSFT     69.87   69.8600"), "{text}");
        assert!(lines[3].starts_with("NVDA    875.28  875.2712"), "{text}");
        assert!(lines[4].starts_with("BRK.B   412.63  412.6200"), "{text}");
        // Signed changes; percent with its provider digits and a `%`; zero unsigned.
        assert!(
            lines[1].contains("+1.12") && lines[1].contains("+1.6286%"),
            "{text}"
        );
        assert!(
            lines[2].contains("-1.12") && lines[2].contains("-0.5852%"),
            "{text}"
        );
        assert!(
            lines[3].contains("-12.50") && lines[3].contains("-1.4000%"),
            "{text}"
        );
        assert!(
            lines[4].contains(" 0.00 ") && lines[4].contains(" 0.0000%"),
            "{text}"
        );
        // Counts grouped and right-aligned: every row ends its volume in the same column.
        let ends: Vec<usize> = lines
            .iter()
            .skip(1)
            .map(|l| {
                l.find("29,062,853")
                    .map_or_else(|| l.find("999").unwrap() + 3, |i| i + 10)
            })
            .collect();
        assert!(ends.windows(2).all(|w| w[0] == w[1]), "{text}");
        // The price column is right-aligned under its header.
        let header_end = lines[0].find("price").unwrap() + "price".len();
        for line in &lines[1..] {
            let price_end = line[..header_end].trim_end().len();
            assert_eq!(price_end, header_end, "{text}");
        }
    }

    #[test]
    fn news_with_hostile_headlines_fits_on_one_line_per_article() {
        let news = hostile_news();
        let text = at_widths(|out, s| super::news(out, s, &news), &[80, 60, 40]);
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(!text.contains('\t') && !text.contains('\r'), "{text}");
        assert!(!text.contains('\u{202E}'), "{text}");
        for width in [80, 60, 40] {
            let drawn = draw(|out, s| super::news(out, s, &news), &style(Some(width)));
            assert_eq!(drawn.lines().count(), 1 + news.len(), "{drawn}");
        }
        insta::assert_snapshot!(text);
    }

    #[test]
    fn news_shows_the_providers_sentiment_where_scored() {
        let mut news = vec![article("Chipmaker beats", "Benzinga", &["NVDA"])];
        news.push(article("Quiet day", "Reuters", &["IBM"]));
        if let Some(first) = news.first_mut() {
            first.sentiment = Some(stockdata_app::domain::Sentiment {
                score: dec("0.2310"),
                label: stockdata_app::domain::SentimentLabel::SomewhatBullish,
                tickers: Vec::new(),
            });
        }
        let drawn = draw(|out, s| super::news(out, s, &news), &style(Some(120)));
        let lines: Vec<&str> = drawn.lines().collect();
        assert!(lines[0].contains("sentiment"), "{drawn}");
        assert!(lines[1].contains("somewhat bullish +0.231"), "{drawn}");
        assert!(!lines[2].contains("bullish"), "{drawn}");
    }

    #[test]
    fn bars_show_trading_dates_and_intraday_times_in_the_zone() {
        let daily = vec![
            // 00:00 America/New_York of each trading date, across the DST change.
            bar(Interval::Day1, "2024-03-08T05:00:00Z", "170.5"),
            bar(Interval::Day1, "2024-03-11T04:00:00Z", "172.25"),
        ];
        let intraday = vec![
            bar(Interval::Minute5, "2024-03-08T14:30:00Z", "170.5"),
            bar(Interval::Minute5, "2024-03-08T14:35:30.5Z", "170.75"),
        ];
        let utc = Style {
            tz: TimeZone::UTC,
            ..Style::plain()
        };
        let london = Style {
            tz: TimeZone::get("Europe/London").unwrap(),
            ..Style::plain()
        };
        let mut text = String::new();
        for (name, style) in [
            ("New York", Style::plain()),
            ("UTC", utc),
            ("London", london),
        ] {
            text.push_str(&format!("-- {name}\n"));
            text.push_str(&draw(|out, s| super::bars(out, s, &daily), &style));
            text.push_str(&draw(|out, s| super::bars(out, s, &intraday), &style));
        }
        assert_eq!(text.matches("2024-03-11 ").count(), 3, "{text}");
        assert!(text.contains("start (America/New_York)"), "{text}");
        assert!(text.contains("2024-03-08 09:30 "), "{text}");
        assert!(text.contains("start (UTC)"), "{text}");
        assert!(text.contains("2024-03-08 14:35:30.5 "), "{text}");
        assert!(text.contains("start (Europe/London)"), "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn quote_and_news_times_name_their_zone() {
        let quotes = quotes_fixture();
        let news = hostile_news();
        let utc = Style {
            tz: TimeZone::UTC,
            ..Style::plain()
        };
        let ny = draw(|out, s| super::quotes(out, s, &quotes), &Style::plain());
        let in_utc = draw(|out, s| super::quotes(out, s, &quotes), &utc);
        assert!(ny.contains("as_of (America/New_York)") && ny.contains("2024-03-08 16:00 "));
        assert!(ny.contains("2024-03-08 15:59:59.25 "), "{ny}");
        assert!(in_utc.contains("as_of (UTC)") && in_utc.contains("2024-03-08 21:00 "));
        let ny = draw(|out, s| super::news(out, s, &news), &Style::plain());
        let in_utc = draw(|out, s| super::news(out, s, &news), &utc);
        assert!(ny.contains("time (America/New_York)") && ny.contains("2024-03-08 09:35:07"));
        assert!(in_utc.contains("time (UTC)") && in_utc.contains("2024-03-08 14:35:07"));
    }

    #[test]
    fn colour_marks_gains_and_losses_only_when_allowed() {
        let quotes = quotes_fixture();
        let rows = agent_rows();
        for width in [None, Some(80), Some(60)] {
            let plain = style(width);
            let colour = Style {
                colour: true,
                ..plain.clone()
            };
            let off = draw(|out, s| super::quotes(out, s, &quotes), &plain);
            let on = draw(|out, s| super::quotes(out, s, &quotes), &colour);
            assert!(!off.contains('\u{1b}'), "{off}");
            assert!(on.contains("\u{1b}[32m+1.12\u{1b}[0m"), "{on}");
            assert!(on.contains("\u{1b}[31m-0.5852%\u{1b}[0m"), "{on}");
            // No change, no colour.
            assert!(!on.contains("m0.00"), "{on}");
            // Colour changes nothing else: the same table, cell for cell.
            assert_eq!(strip(&on), off);
            let off = draw(|out, s| super::agent(out, s, &rows), &plain);
            let on = draw(|out, s| super::agent(out, s, &rows), &colour);
            assert!(!off.contains('\u{1b}'), "{off}");
            assert!(on.contains("\u{1b}[31m-2.487%\u{1b}[0m"), "{on}");
            assert_eq!(strip(&on), off);
            if width.is_none() {
                insta::assert_snapshot!(on);
            }
        }
    }

    #[test]
    fn agent_table_draws_a_sparkline_in_the_room_left() {
        let rows = agent_rows();
        let text = at_widths(|out, s| super::agent(out, s, &rows), &[100, 80, 60]);
        insta::assert_snapshot!(text);
        let wide = draw(|out, s| super::agent(out, s, &rows), &style(None));
        assert!(wide.lines().nth(1).unwrap().contains("▁"), "{wide}");
    }

    #[test]
    fn sparklines_scale_from_the_lowest_close_to_the_highest() {
        let closes: Vec<Decimal> = (1..=9).map(Decimal::from).collect();
        assert_eq!(sparkline(&closes, 20), "▁▂▃▄▅▅▆▇█");
        assert_eq!(sparkline(&closes, 3), "▁▅█", "the latest closes, rescaled");
        assert_eq!(sparkline(&[dec("5"); 4], 20), "▁▁▁▁", "flat");
        assert_eq!(
            sparkline(&[Decimal::MIN, Decimal::MAX], 20),
            "▁▁",
            "a span Decimal cannot hold draws flat"
        );
        assert_eq!(sparkline(&[], 20), "");
    }

    #[test]
    fn the_width_is_columns_or_the_terminals_and_none_off_a_terminal() {
        let size = || Some((24, 132));
        assert_eq!(terminal_width(false, Some("80"), size), None);
        assert_eq!(terminal_width(true, Some("80"), size), Some(80));
        assert_eq!(terminal_width(true, Some(" 100 "), size), Some(100));
        assert_eq!(terminal_width(true, Some("wide"), size), Some(132));
        assert_eq!(terminal_width(true, Some("0"), size), Some(132));
        assert_eq!(terminal_width(true, None, size), Some(132));
        assert_eq!(terminal_width(true, None, || None), None);
        assert_eq!(terminal_width(true, None, || Some((0, 0))), None);
    }

    #[test]
    fn colour_marks_take_no_room_in_comfy_tables_measure() {
        // What `render` relies on: comfy-table pads a marked cell as if the marks were not
        // there.
        let mut table = Table::new();
        table.load_preset(presets::NOTHING);
        table.add_row([format!("{GAIN}+1.00{END}"), "x".to_owned()]);
        table.add_row(["-12.00".to_owned(), "y".to_owned()]);
        assert_eq!(table.column_max_content_widths(), [6, 1]);
        assert_eq!(cells(&format!("{GAIN}{LOSS}{END}")), 0);
    }
}
