//! `stockdata stream`: live events until Ctrl-C, `--limit` or `--for`.
//!
//! NDJSON anywhere but a terminal: one record per event (docs/output.md), statuses included,
//! written as they come and flushed whenever the reader has nothing more waiting (a burst is
//! one write, a quiet stream is never held back). On a terminal with the table format, a live
//! table (a row per symbol, its latest trade, quote and bar) redrawn in place at most ten
//! times a second, with a status line. Ctrl-C flushes what was read and exits 0.

use std::collections::BTreeMap;
use std::io::{self, Write as _};
use std::sync::Arc;
use std::time::Duration;

use console::Term;
use futures_util::FutureExt as _;
use stockdata_app::domain::stream::{
    CancelAction, Channel, StreamEvent, StreamState, Subscription,
};
use stockdata_app::domain::{ErrorKind, FetchError, Symbol};
use stockdata_app::records::StreamRecord;
use stockdata_app::stream::{ReaderOptions, Streams};

use super::args::{StreamArgs, SymbolArg};
use super::output::{Format, for_terminal};
use super::table::{self, StreamRow, Style};
use super::watch::Screen;
use super::{Ctx, Exit, usage, watchlist};

/// Events a CLI reader buffers before the oldest are dropped (and reported).
const BUFFER: usize = 65_536;
/// NDJSON written at most this far ahead of stdout within a burst: a burst of many events
/// reaches the reader in writes of this size as it is read (not in one write at its end), and
/// a write is still worth its syscall.
const LINES_BUFFER: usize = 16 * 1024;
/// The live table's fastest redraw.
const REDRAW: Duration = Duration::from_millis(100);

impl StreamArgs {
    pub(crate) async fn run(self, ctx: Ctx) -> Exit {
        let streams = Arc::clone(ctx.stockdata.streams());
        if streams.is_empty() {
            return usage(format!(
                "no configured provider streams: configure {}, or try --sandbox; `stockdata \
                 providers` says what is missing",
                stockdata_app::registry::streaming_providers()
            ));
        }
        if ctx.format == Format::Csv {
            return usage("stream writes NDJSON (or a live table on a terminal), not CSV");
        }
        let mut symbols = Vec::with_capacity(self.symbols.len());
        for arg in &self.symbols {
            match arg {
                SymbolArg::One(s) => symbols.push(s.clone()),
                SymbolArg::Stdin => match watchlist::read("-") {
                    Ok(mut s) => symbols.append(&mut s),
                    Err(e) => return usage(e.replacen("--watchlist", "stream", 1)),
                },
            }
        }
        let subscription = Subscription::new(&symbols, self.channels(&streams));
        let reader = match streams.open(
            subscription,
            ReaderOptions {
                buffer: BUFFER,
                ..ReaderOptions::default()
            },
        ) {
            Ok(r) => r,
            Err(e) => return usage(e.to_string().replacen("invalid request: ", "", 1)),
        };
        let term = Term::buffered_stdout();
        let out = if ctx.format == Format::Table && term.is_term() {
            Out::Table(Live::new(Screen::new(term), &symbols, ctx.style.clone()))
        } else {
            Out::Lines(io::BufWriter::with_capacity(LINES_BUFFER, io::stdout()))
        };
        pump(reader, out, self.limit, self.duration).await
    }

    /// The channels asked for; none named: every channel a configured source streams.
    fn channels(&self, streams: &Streams) -> Vec<Channel> {
        let named: Vec<Channel> = [
            (self.trades, Channel::Trades),
            (self.quotes, Channel::Quotes),
            (self.bars, Channel::Bars),
        ]
        .into_iter()
        .filter_map(|(on, c)| on.then_some(c))
        .collect();
        if !named.is_empty() {
            return named;
        }
        streams.channels()
    }
}

/// Where events go.
enum Out {
    Lines(io::BufWriter<io::Stdout>),
    Table(Live),
}

impl Out {
    fn write(&mut self, event: &StreamEvent) -> io::Result<()> {
        match self {
            Out::Lines(out) => {
                serde_json::to_writer(&mut *out, &StreamRecord::from(event))?;
                out.write_all(b"\n")
            }
            Out::Table(live) => {
                live.update(event);
                Ok(())
            }
        }
    }

    /// After a burst: lines are flushed; the table is redrawn when `redraw` says so.
    fn settle(&mut self, redraw: bool) -> io::Result<()> {
        match self {
            Out::Lines(out) => out.flush(),
            Out::Table(live) if redraw => live.draw(),
            Out::Table(_) => Ok(()),
        }
    }

    fn close(self) -> io::Result<()> {
        match self {
            Out::Lines(mut out) => out.flush(),
            Out::Table(mut live) => {
                live.draw()?;
                live.screen.close()
            }
        }
    }
}

/// Reads until Ctrl-C, the limit, the deadline, or the stream's end.
async fn pump(
    mut reader: stockdata_app::stream::Reader,
    mut out: Out,
    limit: Option<u64>,
    duration: Option<Duration>,
) -> Exit {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::pin!(ctrl_c);
    let deadline = async {
        match duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline);
    let mut redraw = tokio::time::interval(REDRAW);
    redraw.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut events: u64 = 0;
    let mut closed: Option<FetchError> = None;
    let ended: io::Result<()> = 'read: loop {
        let first = tokio::select! {
            biased;
            () = &mut ctrl_c => break 'read Ok(()),
            () = &mut deadline => break 'read Ok(()),
            _ = redraw.tick() => {
                if let Err(e) = out.settle(true) {
                    break 'read Err(e);
                }
                continue;
            }
            event = reader.next() => event,
        };
        let mut next = first;
        // This event and every one already waiting: one burst, one flush.
        loop {
            let Some(event) = next else {
                break 'read out.settle(true);
            };
            if let StreamEvent::Status(s) = event.event()
                && let StreamState::Closed { reason: Some(e) } = &s.state
            {
                closed = Some(e.clone());
            }
            if let Err(e) = out.write(&event) {
                break 'read Err(e);
            }
            if event.channel().is_some() {
                events += 1;
                if limit.is_some_and(|n| events >= n) {
                    break 'read Ok(());
                }
            }
            match reader.next().now_or_never() {
                Some(more) => next = more,
                None => break,
            }
        }
        if let Err(e) = out.settle(false) {
            break 'read Err(e);
        }
    };
    let closed_out = out.close();
    match ended.and(closed_out) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            eprintln!("stockdata: cannot write output: {e}");
            return Exit::Failed;
        }
        _ => {}
    }
    match closed {
        None => Exit::Ok,
        Some(e) => {
            eprintln!(
                "stockdata: the stream ended: {}",
                for_terminal(&e.to_string())
            );
            match e.kind() {
                ErrorKind::Unauthorized
                | ErrorKind::EntitlementDenied
                | ErrorKind::InvalidRequest
                | ErrorKind::UnknownSymbol => Exit::Usage,
                _ => Exit::Failed,
            }
        }
    }
}

/// The live table: the latest of each kind per symbol, and what the stream said last.
struct Live {
    screen: Screen,
    style: Style,
    rows: BTreeMap<Symbol, StreamRow>,
    status: String,
    dropped: u64,
    events: u64,
    dirty: bool,
}

impl Live {
    fn new(screen: Screen, symbols: &[Symbol], style: Style) -> Self {
        let rows = symbols
            .iter()
            .map(|s| {
                (
                    s.clone(),
                    StreamRow {
                        symbol: s.to_string(),
                        ..StreamRow::default()
                    },
                )
            })
            .collect();
        Self {
            screen,
            style,
            rows,
            status: "connecting".to_owned(),
            dropped: 0,
            events: 0,
            dirty: true,
        }
    }

    fn update(&mut self, event: &StreamEvent) {
        self.dirty = true;
        let row = event.symbol().and_then(|s| self.rows.get_mut(s));
        match (event, row) {
            (StreamEvent::Trade(t), Some(row)) => {
                row.last = Some(t.price);
                row.size = Some(t.size);
                row.at = Some(t.at);
                row.events += 1;
                row.provider = t.provenance.provider.to_string();
            }
            // The table shows the latest trade; a late cancel or correction of an earlier one
            // is said on the status line.
            (StreamEvent::Cancel(c), Some(row)) => {
                row.events += 1;
                self.status = format!(
                    "{}: {} trade {} {}",
                    c.provenance.provider,
                    c.symbol,
                    c.id,
                    match c.action {
                        CancelAction::Cancel => "cancelled",
                        CancelAction::Error => "reported in error",
                    }
                );
            }
            (StreamEvent::Correction(c), Some(row)) => {
                row.events += 1;
                self.status = format!(
                    "{}: {} trade {} corrected to {} × {}",
                    c.provenance.provider,
                    c.symbol,
                    c.original.id,
                    c.corrected.price,
                    c.corrected.size
                );
            }
            (StreamEvent::Quote(q), Some(row)) => {
                row.bid = Some(q.bid);
                row.ask = Some(q.ask);
                row.at = Some(row.at.map_or(q.at, |at| at.max(q.at)));
                row.events += 1;
                row.provider = q.provenance.provider.to_string();
            }
            (StreamEvent::Bar(b), Some(row)) => {
                row.bar_close = Some(b.close);
                row.bar_volume = Some(b.volume);
                row.events += 1;
                row.provider = b.provenance.provider.to_string();
            }
            (StreamEvent::Status(s), _) => {
                self.status = match &s.state {
                    StreamState::Connected => format!("{}: connected", s.provider),
                    StreamState::Subscribed(_) => format!("{}: subscribed", s.provider),
                    StreamState::Reconnecting {
                        attempt,
                        after,
                        reason,
                    } => format!(
                        "{}: reconnecting (attempt {attempt}, in {:.1}s: {})",
                        s.provider,
                        after.as_secs_f64(),
                        reason.kind()
                    ),
                    StreamState::Dropped { dropped } => {
                        self.dropped += dropped;
                        return;
                    }
                    StreamState::Closed { reason } => match reason {
                        Some(e) => format!("{}: closed ({})", s.provider, e.kind()),
                        None => format!("{}: closed", s.provider),
                    },
                };
            }
            _ => {}
        }
        if event.channel().is_some() {
            self.events += 1;
        }
    }

    fn draw(&mut self) -> io::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        self.dirty = false;
        let rows: Vec<StreamRow> = self.rows.values().cloned().collect();
        let mut buf = Vec::new();
        table::stream(&mut buf, &self.style, &rows)?;
        let mut text = String::from_utf8_lossy(&buf).into_owned();
        text.push_str(&format!(
            "{} · {} events · {} dropped · Ctrl-C to stop",
            for_terminal(&self.status),
            self.events,
            self.dropped
        ));
        self.screen.draw(&text)
    }
}
