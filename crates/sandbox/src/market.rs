//! Deterministic synthetic market data: the same symbol, day and minute always give the same
//! numbers, on any machine (every number is a keyed draw of `generator`). Prices are whole
//! cents. Trading days and session hours are the NYSE's, from `stockdata_domain::calendar`: no
//! bars on weekends and holidays, and on early-close days the session, its intraday bars and
//! the daily bar built from them end at 13:00 New York. Symbols starting with `ZZ` or
//! containing `INVALID` are unknown.

use jiff::civil::{Date, Time};
use jiff::{SignedDuration, Timestamp, ToSpan as _};
use stockdata_domain::DateRange;
use stockdata_domain::calendar::{self, last_final_session, previous_trading_day, session};
use stockdata_domain::time::{daily_bar_start, new_york_date, new_york_to_utc};

use crate::generator::{draw, unit};

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

/// The daily bar of `symbol` on `date`, opening 00:00 New York. On an early-close day it covers
/// the short session: its close is the 13:00 price and its volume is the short session's share.
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

/// The intraday bar of `symbol` starting `minute` minutes after the open (09:30 New York) on
/// `date`, `width` minutes wide. Consistent with [`daily`]: the session drifts from its open to
/// its close, at the early close on a short day.
#[must_use]
pub fn intraday(symbol: &str, date: Date, minute: i64, width: i64) -> SynthBar {
    let s = symbol.as_bytes();
    let d = daily(symbol, date);
    let minutes = drawn_minutes(date);
    #[allow(clippy::cast_precision_loss)]
    let at = |m: i64| -> f64 {
        let t = m as f64 / minutes as f64;
        let drift = d.open as f64 + (d.close - d.open) as f64 * t;
        let wiggle =
            (unit(&[s, &day_index(date).to_le_bytes(), &m.to_le_bytes()]) - 0.5) * 0.004 * drift;
        (drift + wiggle) / 100.0
    };
    let open = at(minute);
    let close = at((minute + width).min(minutes));
    let key = (day_index(date) * 10_000 + minute).to_le_bytes();
    let high = open.max(close) * (1.0 + 0.001 * unit(&[s, &key, b"h"]));
    let low = open.min(close) * (1.0 - 0.001 * unit(&[s, &key, b"l"]));
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let volume =
        (d.volume as f64 / minutes as f64 * width as f64 * (0.5 + unit(&[s, &key, b"v"]))) as u64;
    let open_at = session(date).map_or_else(
        || new_york_to_utc(date.to_datetime(Time::constant(9, 30, 0, 0))),
        |s| s.open,
    );
    SynthBar {
        start: open_at
            .checked_add(SignedDuration::from_mins(minute))
            .unwrap_or(open_at),
        open: to_cents(open),
        high: to_cents(high),
        low: to_cents(low),
        close: to_cents(close),
        volume: volume.max(1),
        trades: (volume / 50).max(1),
    }
}

/// Minutes since the open (09:30 New York) at `now`, if `now` is inside a session.
#[must_use]
pub fn session_minute(now: Timestamp) -> Option<(Date, i64)> {
    let s = session(new_york_date(now))?;
    (s.open <= now && now < s.close).then(|| (s.date, now.duration_since(s.open).as_mins()))
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
    /// The trading day's bar (open/high/low so far).
    pub day: SynthBar,
    /// The trading day.
    pub date: Date,
    /// Previous close, cents.
    pub previous_close: i64,
    /// Instant of the price.
    pub as_of: Timestamp,
}

/// The quote of `symbol` at `now`.
#[must_use]
pub fn quote(symbol: &str, now: Timestamp) -> SynthQuote {
    let (date, price, as_of) = match session_minute(now) {
        Some((date, minute)) => (date, intraday(symbol, date, minute, 1).close, now),
        None => {
            // Between sessions: the last one that closed.
            let date = last_final_session(now).unwrap_or_else(|| new_york_date(now));
            let close_at = session(date).map_or(now, |s| s.close);
            (date, daily(symbol, date).close, close_at.min(now))
        }
    };
    let day = daily(symbol, date);
    let spread = (price / 2000).max(1);
    SynthQuote {
        price,
        bid: price - spread,
        ask: price + spread,
        day: SynthBar {
            close: price,
            high: day.high.max(price),
            low: day.low.min(price),
            ..day
        },
        date,
        previous_close: daily(symbol, previous_trading_day(date).unwrap_or(date)).close,
        as_of,
    }
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

/// Two articles a day about `symbol`, at 13:05 and 20:35 UTC, newest first, inside
/// `[from, to)`.
#[must_use]
pub fn news(symbol: &str, from: Timestamp, to: Timestamp, limit: usize) -> Vec<SynthArticle> {
    let mut out = Vec::new();
    let utc = jiff::tz::TimeZone::UTC;
    let mut day = utc.to_datetime(to).date();
    let first = utc.to_datetime(from).date();
    while day >= first && out.len() < limit {
        for (n, (h, m)) in [(1u8, (20, 35)), (0u8, (13, 5))] {
            let at = utc
                .to_ambiguous_timestamp(day.to_datetime(Time::constant(h, m, 0, 0)))
                .compatible()
                .unwrap_or(from);
            if at >= from && at < to && out.len() < limit {
                let id = draw(&[symbol.as_bytes(), &day_index(day).to_le_bytes(), &[n]])
                    % 90_000_000
                    + 10_000_000;
                out.push(SynthArticle {
                    id,
                    published_at: at,
                    headline: format!("[SANDBOX] {symbol} synthetic story {} for {day}", n + 1),
                    summary: format!("Synthetic sandbox article about {symbol}; not market news."),
                    url: format!(
                        "https://news.sandbox.stockdata.invalid/{symbol}/{day}/{}",
                        n + 1
                    ),
                    symbol: symbol.to_owned(),
                });
            }
        }
        match day.checked_sub(1.day()) {
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

    #[test]
    fn deterministic_and_consistent() {
        let d = Date::constant(2024, 3, 8);
        assert_eq!(daily("AAPL", d), daily("AAPL", d));
        assert_ne!(daily("AAPL", d), daily("MSFT", d));
        for sym in ["AAPL", "MSFT", "X", "BRK.B"] {
            for day in trading_days(Date::constant(2024, 1, 1), Date::constant(2024, 3, 31)) {
                let b = daily(sym, day);
                assert!(b.low <= b.open.min(b.close) && b.high >= b.open.max(b.close) && b.low > 0);
                for m in (0..session_minutes(day)).step_by(5) {
                    let i = intraday(sym, day, m, 5);
                    assert!(i.low <= i.open.min(i.close) && i.high >= i.open.max(i.close));
                }
            }
        }
        assert_eq!(cents(12_345), "123.45");
        assert_eq!(cents(5), "0.05");
    }

    #[test]
    fn quotes_follow_the_calendar() {
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        // During the early-close session of 2024-11-29 (09:30 to 13:00 New York, 18:00Z).
        assert_eq!(
            session_minute(at("2024-11-29T17:59:00Z")),
            Some((Date::constant(2024, 11, 29), 209))
        );
        assert_eq!(session_minute(at("2024-11-29T18:00:00Z")), None);
        let after = quote("AAPL", at("2024-11-29T19:00:00Z"));
        assert_eq!(
            (after.date, after.as_of),
            (Date::constant(2024, 11, 29), at("2024-11-29T18:00:00Z"))
        );
        assert_eq!(after.price, daily("AAPL", after.date).close);
        // Previous close skips Thanksgiving.
        assert_eq!(
            after.previous_close,
            daily("AAPL", Date::constant(2024, 11, 27)).close
        );
        // On Independence Day the last session is the 07-03 early close (13:00 EDT, 17:00Z).
        let holiday = quote("AAPL", at("2024-07-04T15:00:00Z"));
        assert_eq!(
            (holiday.date, holiday.as_of),
            (Date::constant(2024, 7, 3), at("2024-07-03T17:00:00Z"))
        );
        assert_eq!(session_minutes(Date::constant(2024, 7, 4)), 0);
        assert_eq!(session_minutes(Date::constant(2024, 7, 3)), 210);
        assert_eq!(session_minutes(Date::constant(2024, 7, 2)), SESSION_MINUTES);
        assert!(trading_days(Date::constant(2024, 7, 5), Date::constant(2024, 7, 1)).is_empty());
    }

    /// Exact values, so that a change of generator (or of its seeding) is noticed: the app's
    /// CLI snapshots print these cents too.
    #[test]
    fn pinned_values() {
        let d = Date::constant(2024, 3, 8);
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
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
            daily("BRK.B", Date::constant(2001, 7, 2)),
            bar(
                "2001-07-02T04:00:00Z",
                [6948, 7013, 6861, 6976],
                9_889_850,
                101_957
            )
        );
        assert_eq!(
            intraday("MSFT", d, 0, 60),
            bar(
                "2024-03-08T14:30:00Z",
                [2869, 2871, 2854, 2855],
                4_373_182,
                87_463
            )
        );
        assert_eq!(
            intraday("MSFT", d, 330, 60),
            bar(
                "2024-03-08T20:00:00Z",
                [2834, 2834, 2821, 2823],
                4_016_337,
                80_326
            )
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
