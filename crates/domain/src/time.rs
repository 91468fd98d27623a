//! The time convention: every instant is UTC; exchange wall times are America/New_York.
//!
//! Bars of one day or longer open at 00:00 America/New_York on their first trading date, which is
//! how Alpaca and Finnhub stamp them (2022-03-09 → `2022-03-09T05:00:00Z` in winter, 2022-06-08 →
//! `2022-06-08T04:00:00Z` in summer). Intraday bars are labelled by their start instant.
//! Conversions use the bundled tz database, so they are DST-correct on any machine.

use std::sync::OnceLock;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;

/// The IANA name of the US equity markets' zone.
pub const NEW_YORK: &str = "America/New_York";

/// America/New_York from the tz database compiled into this crate.
#[must_use]
pub fn new_york() -> &'static TimeZone {
    static TZ: OnceLock<TimeZone> = OnceLock::new();
    TZ.get_or_init(|| {
        // The database is bundled at compile time (jiff's `tzdb-bundle-always`), so this lookup
        // does no I/O and cannot miss.
        #[allow(
            clippy::expect_used,
            reason = "bundled at compile time (tzdb-bundle-always): the lookup cannot miss"
        )]
        TimeZone::get(NEW_YORK).expect("America/New_York is in the bundled tz database")
    })
}

/// The instant a daily (or longer) bar for `date` opens: 00:00 America/New_York, in UTC.
#[must_use]
pub fn daily_bar_start(date: Date) -> Timestamp {
    new_york_to_utc(date.to_datetime(jiff::civil::Time::midnight()))
}

/// A New York wall-clock time as a UTC instant.
///
/// Times that do not exist (the spring-forward gap) or exist twice (the fall-back hour) are
/// resolved the way the tz database's "compatible" rule does: a gap moves forward by the gap's
/// length, a fold takes the earlier instant. Exchange sessions never fall in either.
#[must_use]
pub fn new_york_to_utc(wall: DateTime) -> Timestamp {
    match new_york().to_ambiguous_timestamp(wall).compatible() {
        Ok(ts) => ts,
        // Only reachable for wall times at the very edge of jiff's supported range.
        Err(_) => Timestamp::MIN,
    }
}

/// The New York calendar date an instant falls on: the trading date of a daily bar.
#[must_use]
pub fn new_york_date(instant: Timestamp) -> Date {
    new_york().to_datetime(instant).date()
}

/// The half-open UTC interval `[00:00, next 00:00)` that a New York calendar date covers
/// (23, 24 or 25 hours long).
#[must_use]
pub fn new_york_day_bounds(date: Date) -> (Timestamp, Timestamp) {
    let next = date.tomorrow().unwrap_or(date);
    (daily_bar_start(date), daily_bar_start(next))
}
