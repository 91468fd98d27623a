//! Deterministic synthetic market data: the same symbol, day and minute always give the same
//! numbers, on any machine (every number is a keyed draw of `generator`). Prices are whole
//! cents. Symbols starting with `ZZ` or containing `INVALID` are unknown.
//!
//! # One path per symbol and session
//!
//! Each session of a symbol is one path of one-minute bars (the finest grain the sandbox
//! serves, so its "tick path"), and every other width is aggregated from it: 5, 15 and 30
//! minutes, hours, the day, and (from the days) weeks and months. The path is built top-down so
//! that a day's bar is also cheap on its own: [`daily`] draws the session's open, high, low,
//! close and volume from keyed draws (O(1) per day, so 20 years of daily bars never build a
//! path), and [`minutes`] builds the session's minutes from one keyed [`Stream`]: a Brownian
//! bridge from the open to the close squeezed into the day's low and high, one minute touching
//! each, and the day's volume and trades shared out in whole units. So the minutes aggregate to
//! the daily bar exactly, and any width aggregated from them does too.
//!
//! # The calendar
//!
//! Trading days and session hours are the NYSE's, from `stockdata_domain::calendar`: no bars on
//! weekends and holidays; an early close ends the session, its minutes and its daily bar at
//! 13:00 New York. Instants come from the session's open and close, so they are DST-correct.
//! [`Hours::Extended`] adds pre-market minutes from 04:00 New York and post-market minutes for
//! four hours after the close (to 20:00, or 17:00 after an early close), as Alpha Vantage's
//! `extended_hours=true` serves them; they belong to no daily bar.
//!
//! # Now
//!
//! Nothing after `now` exists: a minute exists once it has ended (the bar of the minute in
//! progress is absent, as Alpaca's snapshots show: at 14:45:50 the latest minute bar is
//! 14:44's), so during a session the day's bar, the quote and every wider bar are built from
//! the minutes ended so far, and before the first minute of a session ends nothing of it
//! exists. News after `now` does not exist either (the dialects cap their ranges at `now`).
//!
//! History starts on [`FIRST_DATE`].

use jiff::civil::{Date, Time};
use jiff::{SignedDuration, Timestamp};
use stockdata_domain::DateRange;
use stockdata_domain::calendar::{self, Session, previous_trading_day, session};
use stockdata_domain::time::{daily_bar_start, new_york_date, new_york_to_utc};

use crate::generator::{Stream, draw, unit};

/// The first trading day of synthetic history (Alpha Vantage's "20+ years" reach back to it).
pub const FIRST_DATE: Date = Date::constant(2000, 1, 3);

/// One synthetic bar, prices in cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynthBar {
    /// Start instant.
    pub start: Timestamp,
    /// Open, cents.
    pub open: i64,
    /// High, cents.
    pub high: i64,
    /// Low, cents.
    pub low: i64,
    /// Close, cents.
    pub close: i64,
    /// Volume.
    pub volume: u64,
    /// Trade count.
    pub trades: u64,
}

impl SynthBar {
    /// Volume-weighted average price in cents (typical price).
    #[must_use]
    pub fn vwap(&self) -> i64 {
        (self.high + self.low + self.close) / 3
    }

    /// Extends this bar by the bar that follows it: the higher high, the lower low, the later
    /// close, the sum of volumes and trades.
    pub fn absorb(&mut self, next: &SynthBar) {
        self.high = self.high.max(next.high);
        self.low = self.low.min(next.low);
        self.close = next.close;
        self.volume = self.volume.saturating_add(next.volume);
        self.trades = self.trades.saturating_add(next.trades);
    }
}

/// `bars` (consecutive, oldest first) as one bar starting at `start`; `None` when empty.
#[must_use]
pub fn aggregate(start: Timestamp, bars: &[SynthBar]) -> Option<SynthBar> {
    let (first, rest) = bars.split_first()?;
    let mut out = SynthBar { start, ..*first };
    for b in rest {
        out.absorb(b);
    }
    Some(out)
}

/// `12345` → `"123.45"`.
#[must_use]
pub fn cents(c: i64) -> String {
    let sign = if c < 0 { "-" } else { "" };
    let c = c.abs();
    format!("{sign}{}.{:02}", c / 100, c % 100)
}

/// Whether the sandbox knows `symbol`.
#[must_use]
pub fn known(symbol: &str) -> bool {
    !(symbol.starts_with("ZZ") || symbol.contains("INVALID"))
}

/// Which way a series runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Oldest first.
    Asc,
    /// Newest first.
    Desc,
}

fn day_index(date: Date) -> i64 {
    let epoch = Date::constant(2000, 1, 1);
    epoch.until(date).map_or(0, |s| i64::from(s.get_days()))
}

fn level(symbol: &str, day: i64) -> f64 {
    let s = symbol.as_bytes();
    let base = 20.0 + unit(&[s, b"base"]) * 480.0;
    let phase = unit(&[s, b"phase"]) * std::f64::consts::TAU;
    #[allow(clippy::cast_precision_loss)]
    let d = day as f64;
    // libm's sine, not the platform's: `f64::sin` may differ by an ulp between C libraries
    // (glibc and libm disagree on 3% of these inputs), which could move a cent on another OS.
    base * (1.0 + 0.25 * libm::sin(d / 45.0 + phase) + 0.08 * libm::sin(d / 7.0 + phase * 2.0))
}

#[allow(clippy::cast_possible_truncation)]
fn to_cents(price: f64) -> i64 {
    (price * 100.0).round().max(1.0) as i64
}

/// A price already in cents, rounded to a whole cent (never below one).
#[allow(clippy::cast_possible_truncation)]
fn whole_cents(cents: f64) -> i64 {
    cents.round().max(1.0) as i64
}

#[allow(clippy::cast_precision_loss)]
fn float(cents: i64) -> f64 {
    cents as f64
}

/// The daily bar of `symbol` on `date`, opening 00:00 New York: its whole session, drawn
/// directly (the session's minutes are built to aggregate to it exactly). On an early-close
/// day it covers the short session: its close is the 13:00 price and its volume is the short
/// session's share.
#[must_use]
pub fn daily(symbol: &str, date: Date) -> SynthBar {
    let s = symbol.as_bytes();
    let day = day_index(date);
    let key = day.to_le_bytes();
    let close = level(symbol, day) * (1.0 + 0.02 * (unit(&[s, &key, b"c"]) - 0.5));
    let open = level(symbol, day - 1) * (1.0 + 0.02 * (unit(&[s, &key, b"o"]) - 0.5));
    let high = open.max(close) * (1.0 + 0.015 * unit(&[s, &key, b"h"]));
    let low = open.min(close) * (1.0 - 0.015 * unit(&[s, &key, b"l"]));
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let full_session = (1_000_000.0 + unit(&[s, &key, b"v"]) * 40_000_000.0) as u64;
    let volume = full_session.saturating_mul(drawn_minutes(date).unsigned_abs())
        / SESSION_MINUTES.unsigned_abs();
    SynthBar {
        start: daily_bar_start(date),
        open: to_cents(open),
        high: to_cents(high),
        low: to_cents(low),
        close: to_cents(close),
        volume,
        trades: volume / 97,
    }
}

/// A regular session's minutes, 09:30 to 16:00 New York.
pub const SESSION_MINUTES: i64 = 390;

/// The minutes of `date`'s session: 390, 210 on an early close (09:30 to 13:00), 0 without one.
#[must_use]
pub fn session_minutes(date: Date) -> i64 {
    session(date).map_or(0, |s| s.close.duration_since(s.open).as_mins())
}

/// The session length the numbers of `date` are drawn over: its session's, or a regular one's
/// for a date without a session (callers only ask for trading days, but need no check).
fn drawn_minutes(date: Date) -> i64 {
    match session_minutes(date) {
        0 => SESSION_MINUTES,
        minutes => minutes,
    }
}

/// Which hours of a trading day [`minutes`] covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hours {
    /// The regular session: 09:30 New York to the close.
    Regular,
    /// Pre-market from 04:00 New York, the session, and post-market for four hours after the
    /// close.
    Extended,
}

/// Pre-market opens at 04:00 New York.
const PRE_MARKET_OPEN: Time = Time::constant(4, 0, 0, 0);
/// Post-market trades for this many minutes after the close (to 20:00, or 17:00 after an
/// early close).
const POST_MARKET_MINUTES: i64 = 240;

/// Where the minutes of `hours` on `date` start (the grid wider bars are aligned to: the open,
/// or 04:00 New York), and how many there are; `None` without a session.
#[must_use]
pub fn window(date: Date, hours: Hours) -> Option<(Timestamp, i64)> {
    let s = session(date)?;
    let regular = s.close.duration_since(s.open).as_mins();
    Some(match hours {
        Hours::Regular => (s.open, regular),
        Hours::Extended => {
            let pre = pre_market_open(date);
            (
                pre,
                s.open.duration_since(pre).as_mins() + regular + POST_MARKET_MINUTES,
            )
        }
    })
}

fn pre_market_open(date: Date) -> Timestamp {
    new_york_to_utc(date.to_datetime(PRE_MARKET_OPEN))
}

fn plus_minutes(t: Timestamp, minutes: i64) -> Timestamp {
    t.checked_add(SignedDuration::from_mins(minutes))
        .unwrap_or(t)
}

/// The one-minute bars of `symbol` on `date` for `hours`, oldest first, whole (whatever the
/// time): the path every other width is aggregated from. Empty without a session. The
/// session's minutes aggregate exactly to [`daily`].
#[must_use]
pub fn minutes(symbol: &str, date: Date, hours: Hours) -> Vec<SynthBar> {
    let Some(s) = session(date) else {
        return Vec::new();
    };
    let day = daily(symbol, date);
    let regular = session_path(symbol, date, &s, &day);
    match hours {
        Hours::Regular => regular,
        Hours::Extended => {
            let mut out = pre_market(symbol, date, &s, &day);
            out.extend(regular);
            out.extend(post_market(symbol, date, &s, &day));
            out
        }
    }
}

/// The minutes of [`minutes`] that have ended by `now`.
#[must_use]
pub fn minutes_at(symbol: &str, date: Date, hours: Hours, now: Timestamp) -> Vec<SynthBar> {
    let Some((start, count)) = window(date, hours) else {
        return Vec::new();
    };
    let ended = ended_minutes(start, count, now);
    if ended == 0 {
        return Vec::new();
    }
    let mut out = minutes(symbol, date, hours);
    out.truncate(ended);
    out
}

/// How many of the `count` minutes from `start` have ended by `now`.
fn ended_minutes(start: Timestamp, count: i64, now: Timestamp) -> usize {
    if now <= start {
        return 0;
    }
    let ended = now.duration_since(start).as_secs() / 60;
    usize::try_from(ended.min(count)).unwrap_or(0)
}

/// The daily bar of `symbol` on `date` as of `now`: the whole session once it has closed, the
/// minutes ended so far during it, `None` before its first minute has ended (or without a
/// session).
#[must_use]
pub fn daily_at(symbol: &str, date: Date, now: Timestamp) -> Option<SynthBar> {
    let s = session(date)?;
    if now >= s.close {
        return Some(daily(symbol, date));
    }
    aggregate(
        daily_bar_start(date),
        &minutes_at(symbol, date, Hours::Regular, now),
    )
}

/// A session's minutes: a path from the open through the day's high and low to the close, the
/// day's volume and trades shared out exactly.
fn session_path(symbol: &str, date: Date, s: &Session, day: &SynthBar) -> Vec<SynthBar> {
    let n = usize::try_from(s.close.duration_since(s.open).as_mins()).unwrap_or(0);
    let mut draws = Stream::new(&[
        symbol.as_bytes(),
        &day_index(date).to_le_bytes(),
        b"session",
    ]);
    // About 0.07% of the price per minute, as liquid stocks move.
    let sigma = float(day.open) * 0.0007;
    let band = (day.low, day.high);
    let path = session_prices(&mut draws, n, day, sigma);
    let mut bars = candles(&mut draws, s.open, &path, sigma, band);
    // The path touches both; a wick drawn past them is cut back to the day's range.
    if let Some(top) = bars.iter_mut().max_by_key(|b| b.high) {
        top.high = day.high;
    }
    if let Some(bottom) = bars.iter_mut().min_by_key(|b| b.low) {
        bottom.low = day.low;
    }
    // Busy at the open and the close, quieter at midday.
    share(&mut bars, &mut draws, (day.volume, day.trades), |x| {
        1.0 + 3.0 * (2.0 * x - 1.0) * (2.0 * x - 1.0)
    });
    bars
}

/// 04:00 New York to the open: from the previous session's close to this one's open, on 4% of
/// the session's volume, busier towards the open.
fn pre_market(symbol: &str, date: Date, s: &Session, day: &SynthBar) -> Vec<SynthBar> {
    let start = pre_market_open(date);
    let n = usize::try_from(s.open.duration_since(start).as_mins()).unwrap_or(0);
    let from = previous_trading_day(date).map_or(day.open, |d| daily(symbol, d).close);
    let mut draws = Stream::new(&[symbol.as_bytes(), &day_index(date).to_le_bytes(), b"pre"]);
    extended(
        &mut draws,
        start,
        n,
        (from, day.open),
        day.volume / 25,
        |x| 0.2 + x * x,
    )
}

/// Four hours after the close: from the close to a price near it, on 3% of the session's
/// volume, fading.
fn post_market(symbol: &str, date: Date, s: &Session, day: &SynthBar) -> Vec<SynthBar> {
    let n = usize::try_from(POST_MARKET_MINUTES).unwrap_or(0);
    let mut draws = Stream::new(&[symbol.as_bytes(), &day_index(date).to_le_bytes(), b"post"]);
    let to = whole_cents(float(day.close) * (1.0 + 0.006 * (draws.unit() - 0.5)));
    extended(
        &mut draws,
        s.close,
        n,
        (day.close, to),
        day.volume / 33,
        |x| 0.2 + (1.0 - x) * (1.0 - x),
    )
}

/// Extended-hours minutes: a quieter bridge between `ends`, within 2% of them.
fn extended(
    draws: &mut Stream,
    start: Timestamp,
    n: usize,
    ends: (i64, i64),
    volume: u64,
    shape: fn(f64) -> f64,
) -> Vec<SynthBar> {
    let (lo, hi) = (ends.0.min(ends.1), ends.0.max(ends.1));
    let band = (whole_cents(float(lo) * 0.98), whole_cents(float(hi) * 1.02));
    let sigma = float(ends.0) * 0.0003;
    let path = bridge(draws, n, ends, sigma, band);
    let mut bars = candles(draws, start, &path, sigma, band);
    share(&mut bars, draws, (volume, volume / 150), shape);
    bars
}

/// `n + 1` prices in cents from `ends.0` to `ends.1`: a Brownian bridge of uniform steps of
/// about `sigma` cents, mirrored back into `band` where it would leave it. The first and last
/// prices are exactly the ends.
fn bridge(
    draws: &mut Stream,
    n: usize,
    ends: (i64, i64),
    sigma: f64,
    band: (i64, i64),
) -> Vec<i64> {
    let mut walk = Vec::with_capacity(n + 1);
    let mut w = 0.0;
    walk.push(w);
    for _ in 0..n {
        w += draws.unit() - 0.5;
        walk.push(w);
    }
    let (from, to) = (float(ends.0), float(ends.1));
    let (lo, hi) = (float(band.0), float(band.1));
    #[allow(clippy::cast_precision_loss)]
    let steps = n.max(1) as f64;
    // A uniform step's standard deviation is 1/sqrt(12).
    let scale = sigma * 12f64.sqrt();
    walk.iter()
        .enumerate()
        .map(|(k, wk)| {
            #[allow(clippy::cast_precision_loss)]
            let t = k as f64 / steps;
            let mut x = from + (to - from) * t + scale * (wk - t * w);
            if x > hi {
                x = 2.0 * hi - x;
            } else if x < lo {
                x = 2.0 * lo - x;
            }
            whole_cents(x).clamp(band.0, band.1)
        })
        .collect()
}

/// A session's `n + 1` prices: from the open to the day's high and low (at two drawn minutes at
/// least half an hour apart and a quarter of an hour from the open and the close, in a drawn
/// order) and on to the close, a bridge between each, inside the day's range.
fn session_prices(draws: &mut Stream, n: usize, day: &SynthBar, sigma: f64) -> Vec<i64> {
    let band = (day.low, day.high);
    let gap = (n / 4).min(30);
    if n < 2 * gap + 3 || gap == 0 {
        return bridge(draws, n, (day.open, day.close), sigma, band);
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let mut pick = |from: usize, to: usize| from + (draws.unit() * (to - from) as f64) as usize;
    // Neither extreme within a quarter of an hour of the open or the close.
    let edge = gap / 2;
    let first = pick(edge, n - gap - edge);
    let second = pick(first + gap, n - edge);
    let (x, y) = if draws.unit() < 0.5 {
        (day.high, day.low)
    } else {
        (day.low, day.high)
    };
    let mut path = bridge(draws, first, (day.open, x), sigma, band);
    for (len, ends) in [(second - first, (x, y)), (n - second, (y, day.close))] {
        path.pop();
        path.extend(bridge(draws, len, ends, sigma, band));
    }
    path
}

/// One-minute candles along `path` from `start`: each opens at a point and closes at the next,
/// with wicks of up to `sigma` inside `band`. Volumes are left at zero.
fn candles(
    draws: &mut Stream,
    start: Timestamp,
    path: &[i64],
    sigma: f64,
    band: (i64, i64),
) -> Vec<SynthBar> {
    let mut minute = 0;
    path.windows(2)
        .filter_map(|pair| match *pair {
            [open, close] => Some((open, close)),
            _ => None,
        })
        .map(|(open, close)| {
            let up = whole_cents(draws.unit() * sigma) - 1;
            let down = whole_cents(draws.unit() * sigma) - 1;
            let bar = SynthBar {
                start: plus_minutes(start, minute),
                open,
                high: (open.max(close) + up).min(band.1),
                low: (open.min(close) - down).max(band.0).max(1),
                close,
                volume: 0,
                trades: 0,
            };
            minute += 1;
            bar
        })
        .collect()
}

/// Shares `totals` (volume, trades) out over `bars` in whole units, by `shape` (of the time of
/// day, 0 to 1) times a draw per bar; the shares add up to the totals exactly.
fn share(bars: &mut [SynthBar], draws: &mut Stream, totals: (u64, u64), shape: fn(f64) -> f64) {
    #[allow(clippy::cast_precision_loss)]
    let n = bars.len().max(1) as f64;
    let weights: Vec<u64> = (0..bars.len())
        .map(|i| {
            #[allow(clippy::cast_precision_loss)]
            let x = (i as f64 + 0.5) / n;
            let w = shape(x) * (0.5 + draws.unit()) * 1_000_000.0;
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let w = w as u64;
            w.max(1)
        })
        .collect();
    let volumes = allocate(totals.0, &weights);
    let by_volume: Vec<u64> = volumes.iter().map(|v| (*v).max(1)).collect();
    let trades = allocate(totals.1, &by_volume);
    for ((bar, volume), trades) in bars.iter_mut().zip(volumes).zip(trades) {
        bar.volume = volume;
        bar.trades = trades;
    }
}

/// `total` split in proportion to `weights`, in whole units adding up to `total` exactly (the
/// remainder of the rounding goes one unit each to the first parts).
pub(crate) fn allocate(total: u64, weights: &[u64]) -> Vec<u64> {
    let sum: u128 = weights.iter().map(|w| u128::from(*w)).sum();
    if sum == 0 {
        return vec![0; weights.len()];
    }
    let mut out: Vec<u64> = weights
        .iter()
        .map(|w| u64::try_from(u128::from(total) * u128::from(*w) / sum).unwrap_or(0))
        .collect();
    let mut rest = total.saturating_sub(out.iter().sum());
    for part in &mut out {
        if rest == 0 {
            break;
        }
        *part += 1;
        rest -= 1;
    }
    out
}

/// A quote at `now`: last price, the day's bar so far, the previous close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynthQuote {
    /// Last price, cents.
    pub price: i64,
    /// Bid, cents.
    pub bid: i64,
    /// Ask, cents.
    pub ask: i64,
    /// The trading day's bar so far (its volume is the session's volume so far).
    pub day: SynthBar,
    /// The trading day.
    pub date: Date,
    /// Previous close, cents.
    pub previous_close: i64,
    /// Instant of the price: the end of the last minute ended (the close, after it).
    pub as_of: Timestamp,
}

/// The latest session with a minute ended by `now`: its date, its bar so far and the end of
/// its last ended minute.
fn latest_session(symbol: &str, now: Timestamp) -> (Date, SynthBar, Timestamp) {
    let today = new_york_date(now);
    if let Some(s) = session(today) {
        let count = s.close.duration_since(s.open).as_mins();
        let ended = ended_minutes(s.open, count, now);
        if let Some(day) = daily_at(symbol, today, now) {
            let minutes = i64::try_from(ended).unwrap_or(count);
            return (today, day, plus_minutes(s.open, minutes));
        }
    }
    match previous_trading_day(today) {
        Some(date) => {
            let close = session(date).map_or(now, |s| s.close);
            (date, daily(symbol, date), close)
        }
        None => (today, daily(symbol, today), now),
    }
}

/// The quote of `symbol` at `now`: the latest session's last minute ended (its close after the
/// close; before a session's first minute ends, the session before).
#[must_use]
pub fn quote(symbol: &str, now: Timestamp) -> SynthQuote {
    let (date, day, as_of) = latest_session(symbol, now);
    let price = day.close;
    let spread = (price / 2000).max(1);
    SynthQuote {
        price,
        bid: price - spread,
        ask: price + spread,
        day,
        date,
        previous_close: daily(symbol, previous_trading_day(date).unwrap_or(date)).close,
        as_of,
    }
}

/// The latest one-minute bar of the regular session ended by `now` (Alpaca's `minuteBar`).
#[must_use]
pub fn latest_minute(symbol: &str, now: Timestamp) -> Option<SynthBar> {
    let (date, _, _) = latest_session(symbol, now);
    minutes_at(symbol, date, Hours::Regular, now).pop()
}

/// A synthetic article.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthArticle {
    /// Numeric id.
    pub id: u64,
    /// Publication instant.
    pub published_at: Timestamp,
    /// Headline (marked as sandbox data).
    pub headline: String,
    /// Summary.
    pub summary: String,
    /// Link (under a reserved `.invalid` domain).
    pub url: String,
    /// The symbol.
    pub symbol: String,
}

/// Article `n` (0 at 13:05 UTC, 1 at 20:35 UTC) of `day` about `symbol`.
fn article(symbol: &str, day: Date, n: u8) -> SynthArticle {
    let (h, m) = if n == 0 { (13, 5) } else { (20, 35) };
    let published_at = jiff::tz::TimeZone::UTC
        .to_ambiguous_timestamp(day.to_datetime(Time::constant(h, m, 0, 0)))
        .compatible()
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let id =
        draw(&[symbol.as_bytes(), &day_index(day).to_le_bytes(), &[n]]) % 90_000_000 + 10_000_000;
    SynthArticle {
        id,
        published_at,
        headline: format!("[SANDBOX] {symbol} synthetic story {} for {day}", n + 1),
        summary: format!("Synthetic sandbox article about {symbol}; not market news."),
        url: format!(
            "https://news.sandbox.stockdata.invalid/{symbol}/{day}/{}",
            n + 1
        ),
        symbol: symbol.to_owned(),
    }
}

/// Two articles a day about `symbol`, at 13:05 and 20:35 UTC, inside `[from, to)`, in `order`,
/// at most `limit` (the ones nearest the start of the order: the newest when `Desc`).
#[must_use]
pub fn news(
    symbol: &str,
    from: Timestamp,
    to: Timestamp,
    order: Order,
    limit: usize,
) -> Vec<SynthArticle> {
    let mut out = Vec::new();
    if from >= to {
        return out;
    }
    let utc = jiff::tz::TimeZone::UTC;
    let first = utc.to_datetime(from).date();
    let last = utc.to_datetime(to).date();
    let (mut day, slots) = match order {
        Order::Asc => (first, [0u8, 1]),
        Order::Desc => (last, [1u8, 0]),
    };
    while (first..=last).contains(&day) && out.len() < limit {
        for n in slots {
            let a = article(symbol, day, n);
            if a.published_at >= from && a.published_at < to && out.len() < limit {
                out.push(a);
            }
        }
        let next = match order {
            Order::Asc => day.tomorrow(),
            Order::Desc => day.yesterday(),
        };
        match next {
            Ok(d) => day = d,
            Err(_) => break,
        }
    }
    out
}

/// NYSE trading days from `from` to `to`, inclusive, oldest first (none when `from > to`).
#[must_use]
pub fn trading_days(from: Date, to: Date) -> Vec<Date> {
    DateRange::new(from, to).map_or_else(|_| Vec::new(), |r| calendar::trading_days(r).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn date(s: &str) -> Date {
        s.parse().unwrap()
    }

    /// Symbols and sessions the market rules are checked on: an EST and an EDT session either
    /// side of both 2024 DST changes, two early closes, a session of 2001 and a leap day.
    const SYMBOLS: [&str; 5] = ["AAPL", "MSFT", "BRK.B", "X", "NVDA"];
    const DAYS: [&str; 8] = [
        "2024-03-08",
        "2024-03-11",
        "2024-11-01",
        "2024-11-04",
        "2024-11-29",
        "2024-07-03",
        "2001-07-02",
        "2024-02-29",
    ];

    fn valid(b: &SynthBar) -> bool {
        b.low >= 1 && b.low <= b.open.min(b.close) && b.high >= b.open.max(b.close)
    }

    #[test]
    fn a_sessions_minutes_aggregate_exactly_to_its_daily_bar() {
        for symbol in SYMBOLS {
            for d in DAYS.map(date) {
                let s = session(d).unwrap();
                let minutes = minutes(symbol, d, Hours::Regular);
                let n = usize::try_from(session_minutes(d)).unwrap();
                assert_eq!(minutes.len(), n, "{symbol} {d}");
                for (i, m) in minutes.iter().enumerate() {
                    assert!(valid(m), "{symbol} {d} minute {i}: {m:?}");
                    assert_eq!(m.start, plus_minutes(s.open, i64::try_from(i).unwrap()));
                }
                let day = daily(symbol, d);
                assert!(valid(&day));
                assert_eq!(aggregate(day.start, &minutes), Some(day), "{symbol} {d}");
                assert_eq!(minutes.last().unwrap().start, plus_minutes(s.close, -1));
            }
        }
        // The early closes end at 13:00 New York.
        let friday = minutes("AAPL", date("2024-11-29"), Hours::Regular);
        assert_eq!(friday.last().unwrap().start, at("2024-11-29T17:59:00Z"));
    }

    #[test]
    fn extended_hours_run_from_four_to_four_hours_past_the_close() {
        for (d, first, open, last) in [
            // EST, EDT, and an early close (post-market to 17:00).
            (
                "2024-03-08",
                "2024-03-08T09:00:00Z",
                "2024-03-08T14:30:00Z",
                "2024-03-09T00:59:00Z",
            ),
            (
                "2024-03-11",
                "2024-03-11T08:00:00Z",
                "2024-03-11T13:30:00Z",
                "2024-03-11T23:59:00Z",
            ),
            (
                "2024-11-29",
                "2024-11-29T09:00:00Z",
                "2024-11-29T14:30:00Z",
                "2024-11-29T21:59:00Z",
            ),
        ] {
            let d = date(d);
            let all = minutes("MSFT", d, Hours::Extended);
            let regular = minutes("MSFT", d, Hours::Regular);
            assert_eq!(all.first().unwrap().start, at(first));
            assert_eq!(all.last().unwrap().start, at(last));
            let pre = all.iter().take_while(|m| m.start < at(open)).count();
            assert_eq!(all.len(), pre + regular.len() + 240);
            assert_eq!(&all[pre..pre + regular.len()], &regular[..], "{d}");
            for pair in all.windows(2) {
                assert_eq!(pair[1].start, plus_minutes(pair[0].start, 1), "{d}");
            }
            assert!(all.iter().all(valid));
            // The pre-market runs from the previous close to the open.
            let previous = daily("MSFT", previous_trading_day(d).unwrap());
            assert_eq!(all[0].open, previous.close);
            assert_eq!(all[pre - 1].close, daily("MSFT", d).open);
        }
        assert!(minutes("MSFT", date("2024-07-04"), Hours::Extended).is_empty());
    }

    #[test]
    fn nothing_of_a_session_exists_before_its_minutes_end() {
        let d = date("2024-03-08");
        let day = daily("AAPL", d);
        // Before the open and during its first minute: nothing of today; the quote is
        // Thursday's close.
        for now in [
            "2024-03-08T13:00:00Z",
            "2024-03-08T14:30:00Z",
            "2024-03-08T14:30:59Z",
        ] {
            assert_eq!(daily_at("AAPL", d, at(now)), None, "{now}");
            let q = quote("AAPL", at(now));
            assert_eq!(q.date, date("2024-03-07"), "{now}");
            assert_eq!(q.as_of, at("2024-03-07T21:00:00Z"), "{now}");
            assert_eq!(q.day, daily("AAPL", date("2024-03-07")));
        }
        // 10:00 New York: thirty minutes have ended.
        let ten = at("2024-03-08T15:00:00Z");
        let so_far = minutes_at("AAPL", d, Hours::Regular, ten);
        assert_eq!(so_far.len(), 30);
        let partial = daily_at("AAPL", d, ten).unwrap();
        assert_eq!(Some(partial), aggregate(day.start, &so_far));
        assert_eq!(partial.open, day.open);
        assert!(partial.volume < day.volume);
        let q = quote("AAPL", ten);
        assert_eq!((q.date, q.as_of, q.day), (d, ten, partial));
        assert_eq!(q.price, so_far.last().unwrap().close);
        assert_eq!(latest_minute("AAPL", ten), so_far.last().copied());
        // Mid-minute: the minute in progress does not exist yet.
        let mid = at("2024-03-08T15:00:30Z");
        assert_eq!(minutes_at("AAPL", d, Hours::Regular, mid).len(), 30);
        assert_eq!(quote("AAPL", mid).as_of, ten);
        // After the close, over the weekend and on a holiday: the last whole session.
        for (now, session_date, close) in [
            ("2024-03-08T21:30:00Z", "2024-03-08", "2024-03-08T21:00:00Z"),
            ("2024-03-10T12:00:00Z", "2024-03-08", "2024-03-08T21:00:00Z"),
            ("2024-07-04T15:00:00Z", "2024-07-03", "2024-07-03T17:00:00Z"),
            ("2024-01-01T15:00:00Z", "2023-12-29", "2023-12-29T21:00:00Z"),
        ] {
            let q = quote("AAPL", at(now));
            assert_eq!((q.date, q.as_of), (date(session_date), at(close)), "{now}");
            assert_eq!(q.day, daily("AAPL", date(session_date)), "{now}");
            assert_eq!(q.price, q.day.close);
            let last = latest_minute("AAPL", at(now)).unwrap();
            assert_eq!(last.start, plus_minutes(at(close), -1), "{now}");
        }
        // Extended minutes end at `now` too.
        let pre = minutes_at("AAPL", d, Hours::Extended, at("2024-03-08T10:00:00Z"));
        assert_eq!(pre.len(), 60, "04:00 to 05:00 New York");
    }

    #[test]
    fn quotes_follow_the_calendar() {
        // During the early-close session of 2024-11-29 (09:30 to 13:00 New York, 18:00Z).
        let last_minute = quote("AAPL", at("2024-11-29T17:59:30Z"));
        assert_eq!(last_minute.as_of, at("2024-11-29T17:59:00Z"));
        assert_ne!(last_minute.day, daily("AAPL", date("2024-11-29")));
        let after = quote("AAPL", at("2024-11-29T19:00:00Z"));
        assert_eq!(
            (after.date, after.as_of),
            (date("2024-11-29"), at("2024-11-29T18:00:00Z"))
        );
        assert_eq!(after.price, daily("AAPL", after.date).close);
        // Previous close skips Thanksgiving.
        assert_eq!(
            after.previous_close,
            daily("AAPL", date("2024-11-27")).close
        );
        assert_eq!(session_minutes(date("2024-07-04")), 0);
        assert_eq!(session_minutes(date("2024-07-03")), 210);
        assert_eq!(session_minutes(date("2024-07-02")), SESSION_MINUTES);
        assert!(trading_days(date("2024-07-05"), date("2024-07-01")).is_empty());
    }

    #[test]
    fn shares_add_up_exactly() {
        assert_eq!(allocate(10, &[1, 1, 1]), [4, 3, 3]);
        assert_eq!(allocate(0, &[5, 1]), [0, 0]);
        assert_eq!(allocate(7, &[]), Vec::<u64>::new());
        let parts = allocate(123_456_789, &[3, 9_999_999, 1, 77, 1_000_000]);
        assert_eq!(parts.iter().sum::<u64>(), 123_456_789);
        assert_eq!(cents(12_345), "123.45");
        assert_eq!(cents(5), "0.05");
    }

    #[test]
    fn news_runs_either_way_and_stops_at_the_limit() {
        let (from, to) = (at("2024-03-07T00:00:00Z"), at("2024-03-08T21:30:00Z"));
        let desc = news("NVDA", from, to, Order::Desc, 10);
        let mut asc = news("NVDA", from, to, Order::Asc, 10);
        assert_eq!(desc.len(), 4);
        asc.reverse();
        assert_eq!(asc, desc);
        let newest = news("NVDA", from, to, Order::Desc, 1);
        assert_eq!(newest[0].published_at, at("2024-03-08T20:35:00Z"));
        let oldest = news("NVDA", from, to, Order::Asc, 1);
        assert_eq!(oldest[0].published_at, at("2024-03-07T13:05:00Z"));
        assert!(news("NVDA", to, from, Order::Asc, 10).is_empty());
    }

    /// Exact values, so that a change of generator (or of its seeding) is noticed: the app's
    /// CLI snapshots print these cents too.
    #[test]
    fn pinned_values() {
        let d = date("2024-03-08");
        let bar = |start: &str, ohlc: [i64; 4], volume: u64, trades: u64| SynthBar {
            start: at(start),
            open: ohlc[0],
            high: ohlc[1],
            low: ohlc[2],
            close: ohlc[3],
            volume,
            trades,
        };
        let aapl = bar(
            "2024-03-08T05:00:00Z",
            [7248, 7266, 7140, 7247],
            17_961_740,
            185_172,
        );
        assert_eq!(daily("AAPL", d), aapl);
        assert_eq!(
            daily("BRK.B", date("2001-07-02")),
            bar(
                "2001-07-02T04:00:00Z",
                [6948, 7013, 6861, 6976],
                9_889_850,
                101_957
            )
        );
        let msft = minutes("MSFT", d, Hours::Regular);
        assert_eq!(
            aggregate(at("2024-03-08T14:30:00Z"), &msft[..60]),
            Some(bar(
                "2024-03-08T14:30:00Z",
                [2867, 2871, 2795, 2799],
                6_223_307,
                64_187
            ))
        );
        assert_eq!(
            aggregate(at("2024-03-08T20:00:00Z"), &msft[330..]),
            Some(bar(
                "2024-03-08T20:00:00Z",
                [2877, 2906, 2823, 2823],
                6_497_412,
                66_954
            ))
        );
        let q = quote("AAPL", at("2024-03-08T21:30:00Z"));
        assert_eq!(
            (q.price, q.bid, q.ask, q.previous_close),
            (7247, 7244, 7250, 7119)
        );
        assert_eq!(
            (q.day, q.date, q.as_of),
            (aapl, d, at("2024-03-08T21:00:00Z"))
        );
        let ids: Vec<(u64, Timestamp)> = news(
            "NVDA",
            at("2024-03-07T00:00:00Z"),
            at("2024-03-08T21:30:00Z"),
            Order::Desc,
            10,
        )
        .iter()
        .map(|a| (a.id, a.published_at))
        .collect();
        assert_eq!(
            ids,
            [
                (50_638_375, at("2024-03-08T20:35:00Z")),
                (71_895_297, at("2024-03-08T13:05:00Z")),
                (32_353_016, at("2024-03-07T20:35:00Z")),
                (60_931_633, at("2024-03-07T13:05:00Z")),
            ]
        );
    }
}
