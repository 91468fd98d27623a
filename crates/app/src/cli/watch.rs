//! `stockdata quote --watch EVERY`: quotes refreshed on a steady cadence until Ctrl-C.
//!
//! Each tick fetches through the price fetcher, which answers from the store while a quote is
//! fresh, so a refresh inside the cache TTL sends no request. A slow fetch delays the next tick
//! (fetches never overlap). On a terminal the table is redrawn in place (the lines drawn last
//! time are overwritten, not the whole screen) with a status line; elsewhere each refresh is
//! one batch in the chosen format, flushed (NDJSON streams best; CSV writes its header once).
//! Ctrl-C ends the watch at once, even mid-fetch, with exit 0; so does a closed pipe. Only a
//! watch in which every symbol failed on every refresh exits 4.

use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::time::Duration;

use console::Term;
use jiff::Timestamp;
use ratatui_core::text::Line;
use stockdata_app::domain::{FetchError, Quote, Symbol};
use stockdata_app::records::{self, FailedRecord};
use tokio::time::{Instant, MissedTickBehavior};

use super::output::{self, Format, for_terminal};
use super::table::{self, Style};
use super::{Ctx, Exit, require_providers};

/// One refresh's answers, in request order.
struct Batch {
    quotes: Vec<Quote>,
    failed: Vec<FailedRecord>,
    errors: Vec<(Symbol, FetchError)>,
}

pub(crate) async fn run(ctx: Ctx, symbols: Vec<Symbol>, every: Duration) -> Exit {
    if let Err(exit) = require_providers(
        "quotes",
        &ctx.stockdata,
        &ctx.stockdata.prices().providers(),
    ) {
        return exit;
    }
    let term = Term::buffered_stdout();
    let mut sink = if ctx.format == Format::Table && term.is_term() {
        Sink::Screen(Screen::new(term))
    } else {
        Sink::Stream { batches: 0 }
    };
    // Polled from the first select on, so a Ctrl-C during the first fetch is ours too. If no
    // handler can be installed, SIGINT keeps its default (the process ends) and we never
    // return early.
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::pin!(ctrl_c);
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let (mut refreshes, mut fetched) = (0_usize, 0_usize);
    let ended = loop {
        let tick = tokio::select! {
            biased;
            () = &mut ctrl_c => break Ok(()),
            tick = ticker.tick() => tick,
        };
        let reports = tokio::select! {
            biased;
            () = &mut ctrl_c => break Ok(()),
            reports = ctx.stockdata.prices().quotes(&symbols) => reports,
        };
        let mut batch = Batch {
            quotes: Vec::with_capacity(reports.len()),
            failed: Vec::new(),
            errors: Vec::new(),
        };
        for r in reports {
            match r.result {
                Ok(q) => batch.quotes.push(q),
                Err(e) => {
                    batch
                        .failed
                        .push(records::failed("quote", &r.symbol, &e, &r.trail));
                    batch.errors.push((r.symbol, e));
                }
            }
        }
        refreshes += 1;
        fetched += batch.quotes.len();
        // With `Delay`, a tick missed by a slow fetch fires at once.
        let next = (tick + every).max(Instant::now());
        if let Err(e) = sink.show(&ctx, &batch, next) {
            break Err(e);
        }
    };
    let closed = sink.close();
    match ended.and(closed) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            eprintln!("stockdata: cannot write output: {e}");
            Exit::Failed
        }
        _ if refreshes > 0 && fetched == 0 => Exit::Failed,
        _ => Exit::Ok,
    }
}

/// Where refreshes go.
enum Sink {
    /// A terminal, redrawn in place.
    Screen(Screen),
    /// Anything else (or a machine format): one batch per refresh.
    Stream { batches: usize },
}

impl Sink {
    fn show(&mut self, ctx: &Ctx, batch: &Batch, next: Instant) -> io::Result<()> {
        match self {
            Sink::Screen(screen) => screen.draw(&view(&ctx.style, batch, next)?),
            Sink::Stream { batches } => {
                let mut buf = Vec::new();
                output::quotes(&mut buf, &ctx.output(), &batch.quotes, &batch.failed)?;
                if ctx.format == Format::Table {
                    // A table written to a file or pipe: one after the other, with its status.
                    buf.extend_from_slice(status(&ctx.style, batch, next).as_bytes());
                    buf.extend_from_slice(b"\n\n");
                }
                let body = match ctx.format {
                    // One CSV: the header once, then every refresh's rows.
                    Format::Csv if *batches > 0 => {
                        let header = buf.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
                        buf.get(header..).unwrap_or_default()
                    }
                    _ => buf.as_slice(),
                };
                *batches += 1;
                let mut stdout = io::stdout().lock();
                stdout.write_all(body)?;
                stdout.flush()
            }
        }
    }

    fn close(self) -> io::Result<()> {
        match self {
            Sink::Screen(screen) => screen.close(),
            Sink::Stream { .. } => Ok(()),
        }
    }
}

/// The table, a row per failed symbol with its error, and the status line.
fn view(style: &Style, batch: &Batch, next: Instant) -> io::Result<String> {
    let mut buf = Vec::new();
    table::quotes(&mut buf, style, &batch.quotes)?;
    let mut text = String::from_utf8_lossy(&buf).into_owned();
    let width = batch
        .errors
        .iter()
        .map(|(s, _)| s.as_str().len())
        .max()
        .unwrap_or(0);
    for (symbol, e) in &batch.errors {
        let message = for_terminal(&e.to_string());
        let _ = writeln!(text, "{symbol:<width$}  error: {} ({message})", e.kind());
    }
    text.push_str(&status(style, batch, next));
    Ok(text)
}

/// `updated 16:30:05 EST · next 16:30:10 · failing: XYZ (unknown_symbol) · Ctrl-C to stop`.
/// Times are the machine's wall clock in `--tz`: when this process refreshed, not market time.
fn status(style: &Style, batch: &Batch, next: Instant) -> String {
    let now = Timestamp::now();
    let wait = next.saturating_duration_since(Instant::now());
    let next = now.checked_add(wait).unwrap_or(now);
    let clock = |t: Timestamp| style.tz.to_datetime(t).strftime("%H:%M:%S").to_string();
    let zone = style.tz.to_offset_info(now);
    let mut line = format!(
        "updated {} {} · next {}",
        clock(now),
        zone.abbreviation(),
        clock(next)
    );
    if !batch.errors.is_empty() {
        let failing: Vec<String> = batch
            .errors
            .iter()
            .map(|(s, e)| format!("{s} ({})", e.kind()))
            .collect();
        let _ = write!(line, " · failing: {}", failing.join(", "));
    }
    line.push_str(" · Ctrl-C to stop");
    line
}

/// The terminal the watch redraws: it remembers how many screen rows it drew last, moves the
/// cursor back up over them and overwrites them.
pub(super) struct Screen {
    term: Term,
    /// Screen rows drawn by the last refresh (long lines wrap onto several).
    drawn: usize,
}

impl Screen {
    pub(super) fn new(term: Term) -> Self {
        // A cursor left blinking over the table is noise; `close` brings it back.
        let _ = term.hide_cursor().and_then(|()| term.flush());
        Self { term, drawn: 0 }
    }

    pub(super) fn draw(&mut self, text: &str) -> io::Result<()> {
        let (rows, columns) = self.size();
        let lines = fit(text, rows, columns);
        self.term.move_cursor_up(self.drawn)?;
        for line in &lines {
            self.term.clear_line()?;
            self.term.write_line(line)?;
        }
        // What is left of a taller earlier drawing.
        self.term.clear_to_end_of_screen()?;
        self.term.flush()?;
        self.drawn = lines.iter().map(|l| screen_rows(l, columns)).sum();
        Ok(())
    }

    /// Rows and columns: the terminal's, else `LINES` and `COLUMNS`, else unbounded (a
    /// terminal that reports no size is not assumed to wrap: moving the cursor up too far
    /// would overwrite what was on screen before the watch).
    fn size(&self) -> (usize, usize) {
        if let Some((rows, columns)) = self.term.size_checked() {
            return (usize::from(rows), usize::from(columns));
        }
        let var = |name| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse::<usize>().ok())
                .filter(|n| *n > 0)
                .unwrap_or(usize::MAX)
        };
        (var("LINES"), var("COLUMNS"))
    }

    /// Leaves the last table on screen and the cursor visible below it.
    pub(super) fn close(self) -> io::Result<()> {
        self.term.show_cursor()?;
        self.term.flush()
    }
}

/// `text`'s lines, cut to what the screen can hold (keeping the status line, the last), so
/// the cursor can always move back up over all of them.
fn fit(text: &str, rows: usize, columns: usize) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let room = rows.saturating_sub(1).max(2);
    let used: usize = lines.iter().map(|l| screen_rows(l, columns)).sum();
    if used <= room {
        return lines;
    }
    let status = lines.pop().unwrap_or_default();
    let mut kept = Vec::new();
    let mut taken = 0;
    let budget = room.saturating_sub(1 + screen_rows(&status, columns));
    for line in &lines {
        let n = screen_rows(line, columns);
        if taken + n > budget {
            break;
        }
        taken += n;
        kept.push(line.clone());
    }
    let hidden = lines.len() - kept.len();
    kept.push(format!(
        "… {hidden} more lines: enlarge the terminal to see them"
    ));
    kept.push(status);
    kept
}

/// How many screen rows `line` takes on a terminal `columns` wide (wrapping, at least one).
fn screen_rows(line: &str, columns: usize) -> usize {
    let width = Line::raw(without_escapes(line)).width();
    width.div_ceil(columns.max(1)).max(1)
}

/// `text` without terminal escape sequences (CSI such as colours, OSC such as links), which
/// take no room on screen.
fn without_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.next() {
            // CSI: parameters, then one final byte in `@`..=`~`.
            Some('[') => {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            // OSC: up to BEL or ST (`ESC \`).
            Some(']') => {
                while let Some(c) = chars.next() {
                    if c == '\u{7}' || (c == '\u{1b}' && chars.next().is_some()) {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_take_no_room_and_long_lines_wrap() {
        assert_eq!(without_escapes("\u{1b}[32mup\u{1b}[0m"), "up");
        assert_eq!(
            without_escapes("\u{1b}]8;;https://x\u{1b}\\link\u{1b}]8;;\u{7}"),
            "link"
        );
        assert_eq!(screen_rows("", 80), 1);
        assert_eq!(screen_rows(&"x".repeat(80), 80), 1);
        assert_eq!(screen_rows(&"x".repeat(81), 80), 2);
        assert_eq!(screen_rows("\u{1b}[31mAAPL\u{1b}[0m", 2), 2);
    }

    #[test]
    fn a_drawing_taller_than_the_screen_is_cut_above_the_status_line() {
        let text: String = (0..30).map(|i| format!("row {i}\n")).collect::<String>() + "status";
        let lines = fit(&text, 10, 80);
        assert_eq!(lines.len(), 9, "{lines:?}");
        assert_eq!(lines.last().map(String::as_str), Some("status"));
        assert_eq!(
            lines.get(7).map(String::as_str),
            Some("… 23 more lines: enlarge the terminal to see them")
        );
        assert_eq!(fit("a\nb\nstatus", 10, 80), ["a", "b", "status"]);
    }
}
