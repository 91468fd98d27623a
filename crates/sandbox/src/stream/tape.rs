//! The tape: every trade and quote a stream sends, drawn from the same one-minute path the REST
//! bars are aggregated from (`market::minutes`), so that a minute's trades are that minute's bar
//! taken apart:
//!
//! - the first trade is at the bar's open, the last at its close, one at its high and one at its
//!   low (in a drawn order), every other price between them, whole cents;
//! - the sizes are whole shares, at least one each, summing exactly to the bar's volume;
//! - the times are strictly increasing inside the minute, nanoseconds;
//! - each trade follows a quote that brackets it (`bid <= price <= ask`, `bid < ask`), whole
//!   cents, quoted between the previous trade and this one;
//! - as many trades as the bar's own trade count `n` (so the bar is exactly its trades), or a
//!   configured number per minute (a benchmark's rate: then `n` is the bar's, not the count),
//!   at least four (open, high, low, close) and at most one per share.
//!
//! Like every sandbox number they are keyed draws: the same symbol and minute always give the
//! same trades, whichever connection asks and whenever.

use std::collections::HashMap;

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use stockdata_domain::calendar::{Session, next_open, session};
use stockdata_domain::time::new_york_date;

use crate::generator::Stream;
use crate::market::{self, Hours, SynthBar, allocate};

/// One trade and the quote just before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tick {
    /// When the trade happened.
    pub(crate) at: Timestamp,
    /// Trade price, cents.
    pub(crate) price: i64,
    /// Shares.
    pub(crate) size: u64,
    /// The trade's id: increasing through a symbol's day.
    pub(crate) id: u64,
    /// When the quote before it was made (after the previous trade, at or before this one).
    pub(crate) quoted_at: Timestamp,
    /// Best bid, cents.
    pub(crate) bid: i64,
    /// Best ask, cents.
    pub(crate) ask: i64,
    /// Round lots at the bid.
    pub(crate) bid_size: u64,
    /// Round lots at the ask.
    pub(crate) ask_size: u64,
}

/// The most trades one minute of one symbol holds (the id has 20 bits for them).
const MAX_TRADES: u64 = (1 << 20) - 1;

/// The trades of one minute bar of `symbol`, oldest first; none for a minute without volume.
pub(crate) fn minute_ticks(symbol: &str, bar: &SynthBar, per_minute: Option<u32>) -> Vec<Tick> {
    if bar.volume == 0 {
        return Vec::new();
    }
    let wanted = per_minute.map_or(bar.trades, u64::from).max(4);
    let k = wanted.min(bar.volume).min(MAX_TRADES);
    let n = usize::try_from(k).unwrap_or(0);
    let minute = bar.start.as_second().div_euclid(60);
    let mut draws = Stream::new(&[symbol.as_bytes(), &minute.to_le_bytes(), b"ticks"]);
    let prices = prices(&mut draws, bar, n);
    // Whole shares, one each at least, the rest shared out by a skewed draw per trade.
    let weights: Vec<u64> = (0..n)
        .map(|_| {
            let u = draws.unit();
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let w = (1.0 + u * u * u * 400.0) as u64;
            w
        })
        .collect();
    let sizes = allocate(bar.volume - k, &weights);
    // Trade i falls in the i-th of n equal slots of the minute, in its first half: strictly
    // increasing times, all inside the minute.
    let slot = 60_000_000_000 / i64::try_from(k).unwrap_or(1).max(1);
    let base = u64::try_from(minute).unwrap_or(0) << 20;
    let mut previous = bar.start;
    let mut out = Vec::with_capacity(n);
    for (i, (price, extra)) in prices.into_iter().zip(sizes).enumerate() {
        let i = i64::try_from(i).unwrap_or(0);
        #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
        let jitter = (draws.unit() * (slot / 2) as f64) as i64;
        let at = plus_nanos(bar.start, i * slot + jitter);
        let gap = i64::try_from(at.duration_since(previous).as_nanos()).unwrap_or(0);
        let quoted_at = plus_nanos(previous, gap / 2);
        previous = at;
        // Within a spread of a twentieth of a percent (a cent at least) either side.
        let spread = (price / 2000).max(1);
        let below = (draws.unit() * float(spread + 1)).floor();
        let above = (draws.unit() * float(spread + 1)).floor();
        #[allow(clippy::cast_possible_truncation)]
        let (below, above) = (below as i64, above as i64);
        let above = if below == 0 { above.max(1) } else { above };
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let lots = |u: f64| 1 + (u * 9.0) as u64;
        out.push(Tick {
            at,
            price,
            size: 1 + extra,
            id: base + u64::try_from(i).unwrap_or(0) + 1,
            quoted_at,
            bid: (price - below).max(0),
            ask: price + above,
            bid_size: lots(draws.unit()),
            ask_size: lots(draws.unit()),
        });
    }
    out
}

/// `n` prices from the bar's open to its close through its high and low, within them.
fn prices(draws: &mut Stream, bar: &SynthBar, n: usize) -> Vec<i64> {
    match n {
        0 => return Vec::new(),
        1 => return vec![bar.close],
        2 => return vec![bar.open, bar.close],
        3 => return vec![bar.open, bar.high, bar.close],
        _ => {}
    }
    // The two extremes at two distinct inner places, in a drawn order.
    let inner = n - 2;
    let pick = |u: f64| {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let i = 1 + (u * inner as f64) as usize;
        i.min(n - 2)
    };
    let first = pick(draws.unit());
    let mut second = pick(draws.unit());
    if second == first {
        second = if first < n - 2 { first + 1 } else { first - 1 };
    }
    let (i1, i2) = (first.min(second), first.max(second));
    let (x, y) = if draws.unit() < 0.5 {
        (bar.high, bar.low)
    } else {
        (bar.low, bar.high)
    };
    let anchors = [(0, bar.open), (i1, x), (i2, y), (n - 1, bar.close)];
    let wobble = float(((bar.high - bar.low) / 6).max(1));
    let mut out = Vec::with_capacity(n);
    for pair in anchors.windows(2) {
        let [(from, a), (to, b)] = pair else {
            continue;
        };
        let last = *to == n - 1;
        let end = if last { *to + 1 } else { *to };
        for i in *from..end {
            let price = if i == *from {
                *a
            } else if i == *to {
                *b
            } else {
                #[allow(clippy::cast_precision_loss)]
                let t = (i - from) as f64 / (to - from) as f64;
                let line = float(*a) + (float(*b) - float(*a)) * t;
                let noisy = line + (draws.unit() - 0.5) * 2.0 * wobble;
                #[allow(clippy::cast_possible_truncation)]
                let cents = noisy.round() as i64;
                cents.clamp(bar.low, bar.high)
            };
            out.push(price);
        }
    }
    out
}

#[allow(clippy::cast_precision_loss)]
fn float(cents: i64) -> f64 {
    cents as f64
}

fn plus_nanos(t: Timestamp, nanos: i64) -> Timestamp {
    t.checked_add(SignedDuration::from_nanos(nanos))
        .unwrap_or(t)
}

/// What a connection receives for one symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Interest {
    pub(crate) symbol: String,
    pub(crate) trades: bool,
    pub(crate) quotes: bool,
    pub(crate) bars: bool,
}

/// One data message of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum What {
    Quote(Tick),
    Trade(Tick),
    /// A minute bar, sent once its minute has closed.
    Bar(SynthBar),
}

/// A data message and the symbol (an index into the interest list) it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Event {
    pub(crate) symbol: usize,
    pub(crate) what: What,
}

/// Which minutes trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Calendar {
    /// The regular sessions of the NYSE calendar (`market`'s).
    Sessions,
    /// Every minute, day and night (Alpaca's test stream): minute `m` of the day replays minute
    /// `m mod 390` of [`REPLAYED`]'s session.
    Always,
}

/// The session the `Always` calendar replays.
const REPLAYED: Date = Date::constant(2024, 3, 8);

/// One connection's view of the tape: which minutes trade, and the generated minutes it is
/// reading (each symbol's session path and its current minute's trades, kept until done).
#[derive(Debug)]
pub(crate) struct Tape {
    calendar: Calendar,
    per_minute: Option<u32>,
    session: Option<(Date, Option<Session>)>,
    paths: HashMap<String, (Date, Vec<SynthBar>)>,
    ticks: HashMap<String, (Timestamp, Vec<Tick>)>,
}

impl Tape {
    pub(crate) fn new(calendar: Calendar, per_minute: Option<u32>) -> Self {
        Self {
            calendar,
            per_minute,
            session: None,
            paths: HashMap::new(),
            ticks: HashMap::new(),
        }
    }

    /// The session of the New York date of `t`, if it has one.
    fn session_of(&mut self, t: Timestamp) -> Option<Session> {
        let date = new_york_date(t);
        match self.session {
            Some((d, s)) if d == date => s,
            _ => {
                let s = session(date);
                self.session = Some((date, s));
                s
            }
        }
    }

    /// Whether the minute starting at `minute` trades.
    fn trades_in(&mut self, minute: Timestamp) -> bool {
        match self.calendar {
            Calendar::Always => true,
            Calendar::Sessions => self
                .session_of(minute)
                .is_some_and(|s| s.open <= minute && minute < s.close),
        }
    }

    /// Where the window starting at `cursor` ends, at most `now`: the next minute mark while
    /// a session can still send something (its trades, or at its close its last bar), else the
    /// next session's open.
    pub(crate) fn step(&mut self, cursor: Timestamp, now: Timestamp) -> Timestamp {
        let mark = minute_start(cursor)
            .checked_add(SignedDuration::from_mins(1))
            .unwrap_or(now);
        let live = match self.calendar {
            Calendar::Always => true,
            Calendar::Sessions => self
                .session_of(cursor)
                .is_some_and(|s| s.open <= cursor && cursor <= s.close),
        };
        if live {
            mark.min(now)
        } else {
            next_open(cursor).min(now)
        }
    }

    /// The one-minute bar of `symbol` starting at `minute`, as REST serves it.
    fn bar(&mut self, symbol: &str, minute: Timestamp) -> Option<SynthBar> {
        let (date, index) = match self.calendar {
            Calendar::Sessions => {
                let s = self.session_of(minute)?;
                (s.date, minute.duration_since(s.open).as_mins())
            }
            Calendar::Always => (
                REPLAYED,
                minute
                    .as_second()
                    .div_euclid(60)
                    .rem_euclid(market::SESSION_MINUTES),
            ),
        };
        let fresh = self.paths.get(symbol).is_none_or(|(d, _)| *d != date);
        if fresh {
            let path = market::minutes(symbol, date, Hours::Regular);
            self.paths.insert(symbol.to_owned(), (date, path));
        }
        let (_, path) = self.paths.get(symbol)?;
        let bar = path.get(usize::try_from(index).ok()?)?;
        Some(SynthBar {
            start: minute,
            ..*bar
        })
    }

    /// The trades of `symbol` in the minute starting at `minute`.
    fn ticks(&mut self, symbol: &str, minute: Timestamp) -> &[Tick] {
        let fresh = self.ticks.get(symbol).is_none_or(|(m, _)| *m != minute);
        if fresh {
            let ticks = self
                .bar(symbol, minute)
                .map(|b| minute_ticks(symbol, &b, self.per_minute))
                .unwrap_or_default();
            self.ticks.insert(symbol.to_owned(), (minute, ticks));
        }
        self.ticks.get(symbol).map_or(&[], |(_, t)| t.as_slice())
    }

    /// The messages of `[from, to)` (a window of [`Tape::step`]: inside one minute) for
    /// `interest`, in time order: at a minute mark the bars of the minute just closed, then each
    /// trade after its quote. A trade and its quote go together, by the trade's time.
    pub(crate) fn events(
        &mut self,
        interest: &[Interest],
        from: Timestamp,
        to: Timestamp,
    ) -> Vec<Event> {
        let mut out = Vec::new();
        if from >= to || wants_nothing(interest) {
            return out;
        }
        let minute = minute_start(from);
        if from == minute {
            let previous = minute
                .checked_sub(SignedDuration::from_mins(1))
                .unwrap_or(minute);
            if self.trades_in(previous) {
                for (i, want) in interest.iter().enumerate() {
                    if want.bars
                        && market::known(&want.symbol)
                        && let Some(bar) = self.bar(&want.symbol, previous)
                        && bar.volume > 0
                    {
                        out.push(Event {
                            symbol: i,
                            what: What::Bar(bar),
                        });
                    }
                }
            }
        }
        if !self.trades_in(minute) {
            return out;
        }
        let mut timed: Vec<(Timestamp, usize, usize)> = Vec::new();
        let mut picked: Vec<Tick> = Vec::new();
        for (i, want) in interest.iter().enumerate() {
            if !(want.trades || want.quotes) || !market::known(&want.symbol) {
                continue;
            }
            let ticks = self.ticks(&want.symbol, minute);
            let start = ticks.partition_point(|t| t.at < from);
            let end = ticks.partition_point(|t| t.at < to);
            for t in ticks.get(start..end).unwrap_or(&[]) {
                timed.push((t.at, i, picked.len()));
                picked.push(*t);
            }
        }
        timed.sort_unstable();
        for (_, i, k) in timed {
            let Some(t) = picked.get(k) else { continue };
            let Some(want) = interest.get(i) else {
                continue;
            };
            if want.quotes {
                out.push(Event {
                    symbol: i,
                    what: What::Quote(*t),
                });
            }
            if want.trades {
                out.push(Event {
                    symbol: i,
                    what: What::Trade(*t),
                });
            }
        }
        out
    }
}

fn wants_nothing(interest: &[Interest]) -> bool {
    interest.iter().all(|w| !(w.trades || w.quotes || w.bars))
}

/// The start of the minute holding `t`.
pub(crate) fn minute_start(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second().div_euclid(60) * 60).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn check(symbol: &str, bar: &SynthBar, ticks: &[Tick]) {
        let end = bar.start.checked_add(SignedDuration::from_mins(1)).unwrap();
        assert!(ticks.len() >= 4, "{symbol} {}", bar.start);
        assert_eq!(ticks.first().unwrap().price, bar.open, "{symbol} open");
        assert_eq!(ticks.last().unwrap().price, bar.close, "{symbol} close");
        assert_eq!(ticks.iter().map(|t| t.price).max(), Some(bar.high));
        assert_eq!(ticks.iter().map(|t| t.price).min(), Some(bar.low));
        assert_eq!(ticks.iter().map(|t| t.size).sum::<u64>(), bar.volume);
        let mut previous = bar.start;
        for (i, t) in ticks.iter().enumerate() {
            assert!(t.size >= 1);
            assert!(
                t.at >= bar.start && t.at < end,
                "{symbol} trade {i} at {}",
                t.at
            );
            assert!(
                i == 0 || t.at > previous,
                "{symbol}: times strictly increase"
            );
            assert!(t.quoted_at >= previous && t.quoted_at <= t.at);
            assert!(
                t.bid <= t.price && t.price <= t.ask && t.bid < t.ask,
                "{t:?}"
            );
            assert!((1..=9).contains(&t.bid_size) && (1..=9).contains(&t.ask_size));
            previous = t.at;
        }
        assert!(ticks.windows(2).all(|w| w[0].id < w[1].id));
    }

    #[test]
    fn a_minutes_trades_are_its_bar_taken_apart() {
        let d: Date = "2024-03-08".parse().unwrap();
        for symbol in ["AAPL", "MSFT", "BRK.B", "X"] {
            let minutes = market::minutes(symbol, d, Hours::Regular);
            for bar in minutes.iter().step_by(37) {
                let ticks = minute_ticks(symbol, bar, None);
                assert_eq!(ticks.len() as u64, bar.trades, "{symbol}: n trades");
                check(symbol, bar, &ticks);
                for rate in [1, 4, 5, 60, 5000] {
                    let ticks = minute_ticks(symbol, bar, Some(rate));
                    assert_eq!(ticks.len() as u64, u64::from(rate.max(4)).min(bar.volume));
                    check(symbol, bar, &ticks);
                }
                assert_eq!(ticks, minute_ticks(symbol, bar, None), "keyed: repeatable");
            }
        }
    }

    #[test]
    fn flat_and_thin_minutes_still_add_up() {
        let flat = SynthBar {
            start: at("2024-03-08T15:00:00Z"),
            open: 100,
            high: 100,
            low: 100,
            close: 100,
            volume: 7,
            trades: 2,
        };
        check("F", &flat, &minute_ticks("F", &flat, None));
        let thin = SynthBar {
            volume: 4,
            high: 103,
            low: 99,
            ..flat
        };
        let ticks = minute_ticks("T", &thin, Some(1000));
        assert_eq!(ticks.len(), 4, "one share each at most");
        check("T", &thin, &ticks);
        assert!(minute_ticks("Z", &SynthBar { volume: 0, ..flat }, None).is_empty());
    }

    fn wants(symbol: &str) -> Interest {
        Interest {
            symbol: symbol.to_owned(),
            trades: true,
            quotes: true,
            bars: true,
        }
    }

    #[test]
    fn windows_follow_the_calendar_and_hold_each_event_once() {
        let mut tape = Tape::new(Calendar::Sessions, Some(20));
        let interest = [wants("AAPL"), wants("MSFT"), wants("ZZZZ")];
        // From 15:59:30 New York on Friday 2024-03-08 to Monday's 09:31:30.
        let (mut cursor, now) = (at("2024-03-08T20:59:30Z"), at("2024-03-11T13:31:30Z"));
        let mut windows = Vec::new();
        let mut all = Vec::new();
        while cursor < now {
            let until = tape.step(cursor, now);
            assert!(until > cursor);
            let events = tape.events(&interest, cursor, until);
            windows.push((cursor, until, events.len()));
            all.extend(events);
            cursor = until;
        }
        let starts: Vec<String> = windows.iter().map(|w| w.0.to_string()).collect();
        assert_eq!(
            starts,
            [
                "2024-03-08T20:59:30Z",
                "2024-03-08T21:00:00Z",
                "2024-03-08T21:01:00Z",
                "2024-03-11T13:30:00Z",
                "2024-03-11T13:31:00Z",
            ],
            "the weekend is skipped in one window"
        );
        // Friday's last half minute, its last bar at the close; Monday's first minute and bar.
        let bars: Vec<(usize, Timestamp)> = all
            .iter()
            .filter_map(|e| match e.what {
                What::Bar(b) => Some((e.symbol, b.start)),
                _ => None,
            })
            .collect();
        assert_eq!(
            bars,
            [
                (0, at("2024-03-08T20:59:00Z")),
                (1, at("2024-03-08T20:59:00Z")),
                (0, at("2024-03-11T13:30:00Z")),
                (1, at("2024-03-11T13:30:00Z")),
            ]
        );
        let trades = |symbol| {
            all.iter()
                .filter(|e| e.symbol == symbol && matches!(e.what, What::Trade(_)))
                .count()
        };
        // 20 a minute, one in each 3-second slot: those of 15:59:30 to 16:00, all of 09:30,
        // those of 09:31 to 09:31:30.
        assert_eq!(trades(0), 10 + 20 + 10);
        assert_eq!(trades(2), 0, "an unknown symbol sends nothing");
        // Each trade right after its quote; times never go back.
        for pair in all.windows(2) {
            if let What::Trade(t) = pair[1].what {
                assert_eq!(pair[0].what, What::Quote(t));
            }
        }
    }

    #[test]
    fn the_always_calendar_trades_at_night() {
        let mut tape = Tape::new(Calendar::Always, Some(10));
        let interest = [wants("FAKEPACA")];
        let from = at("2024-03-09T03:00:00Z");
        let until = tape.step(from, at("2024-03-09T04:00:00Z"));
        assert_eq!(until, at("2024-03-09T03:01:00Z"));
        let events = tape.events(&interest, from, until);
        assert_eq!(
            events.len(),
            1 + 2 * 10,
            "a bar, then ten quotes and trades"
        );
    }
}
