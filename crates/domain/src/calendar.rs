//! The NYSE trading calendar: which New York dates have a regular session, and when it opens
//! and closes.
//!
//! A regular session runs 09:30 to 16:00 America/New_York, or 09:30 to 13:00 on an early-close
//! day; instants are UTC and DST-correct (see [`crate::time`]). Sessions are half-open: a session
//! is open at its open instant and closed at its close instant.
//!
//! # Where the dates come from
//!
//! Holidays and early closes come from the `exchange-hours` crate's NYSE table, which records
//! every row against an NYSE publication (the holiday pages, and the press releases for
//! unscheduled closures such as Hurricane Sandy and the 2025 National Day of Mourning). That
//! table is audited from 2010-01-01 to 2028-12-31. On top of it this module layers only the
//! documented one-off full-day closures the table lacks (`EXTRA_CLOSURES`: September 11-14, 2001,
//! the days of mourning of 2004-06-11, 2007-01-02 and 2018-12-05).
//!
//! Outside the table's window (before 2010, after 2028) no scheduled holiday is known: every
//! weekday is a regular session unless it is one of those one-off closures. Updating the crate
//! extends the window; nothing else in this module changes.
//!
//! Lookups are one load from a table built once per process (`OnceLock`) from the crate's rows,
//! so [`is_trading_day`] is cheap enough to call per bar. Searches for a neighbouring session
//! look at most 10 days away (the longest closure since 2000, 2001-09-11 to 2001-09-14 plus a
//! weekend, spans six).

use std::sync::OnceLock;

use exchange_hours::{Exchange, ExchangeCalendar, HolidayKind};
use jiff::civil::{Date, Time, Weekday};
use jiff::{SignedDuration, Timestamp};

use crate::DateRange;
use crate::time::{new_york_date, new_york_to_utc};

/// One NYSE regular session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    /// The New York trading date.
    pub date: Date,
    /// The opening instant (09:30 New York), included in the session.
    pub open: Timestamp,
    /// The closing instant (16:00 New York, or 13:00 on an early close), excluded.
    pub close: Timestamp,
    /// Whether the session closes before 16:00 (13:00 New York on the NYSE's early-close days).
    pub early_close: bool,
}

/// How far [`next_trading_day`], [`previous_trading_day`] and [`next_open`] look.
const SEARCH_DAYS: usize = 10;

/// The regular open, in seconds after New York midnight (09:30).
const REGULAR_OPEN: u32 = 9 * 3_600 + 30 * 60;
/// The regular close, in seconds after New York midnight (16:00).
const REGULAR_CLOSE: u32 = 16 * 3_600;

/// Full-day NYSE closures that the crate's table does not carry: the unscheduled closures
/// since 2000 before its window starts (2010), and one inside it that it omits. Each is a
/// one-off event announced by the exchange, not a rule.
const EXTRA_CLOSURES: &[Date] = &[
    // The September 11 attacks: the NYSE did not open on 2001-09-11 and stayed closed through
    // Friday 2001-09-14, reopening on Monday 2001-09-17 (NYSE announcements of that week; the
    // NYSE's own list of historical market closings).
    Date::constant(2001, 9, 11),
    Date::constant(2001, 9, 12),
    Date::constant(2001, 9, 13),
    Date::constant(2001, 9, 14),
    // National Day of Mourning for President Reagan, proclaimed for 2004-06-11; the NYSE
    // announced it would close that day.
    Date::constant(2004, 6, 11),
    // National Day of Mourning for President Ford, proclaimed for 2007-01-02; the NYSE
    // announced it would close that day.
    Date::constant(2007, 1, 2),
    // National Day of Mourning for President George H. W. Bush, proclaimed for 2018-12-05; the
    // NYSE announced (December 2018) that its markets would close that day. exchange-hours
    // 1.3.0's NYSE table has no row for it, so it would count as a normal session.
    Date::constant(2018, 12, 5),
];

/// What one date is, once the crate's row, the weekday and the layered closures are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Day {
    /// The crate has no audited row for the date: the weekday rule decides.
    Unaudited,
    /// No session.
    Closed,
    /// A session, in seconds after New York midnight (wall clock).
    Open { open: u32, close: u32 },
}

/// The crate's NYSE table as a flat array: 366 slots per year from `first_year`, indexed by
/// day of year.
#[derive(Debug)]
struct Table {
    first_year: i16,
    days: Vec<Day>,
    /// The first and last dates whose holidays are known.
    window: Option<(Date, Date)>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(build)
}

fn slot(first_year: i16, date: Date) -> Option<usize> {
    let year = usize::try_from(date.year().checked_sub(first_year)?).ok()?;
    let day = usize::try_from(date.day_of_year().checked_sub(1)?).ok()?;
    year.checked_mul(366)?.checked_add(day)
}

fn is_weekend(date: Date) -> bool {
    matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
}

fn regular_or_weekend(date: Date) -> Day {
    if is_weekend(date) || EXTRA_CLOSURES.contains(&date) {
        Day::Closed
    } else {
        Day::Open {
            open: REGULAR_OPEN,
            close: REGULAR_CLOSE,
        }
    }
}

/// Reads every date of the crate's audited window once. The crate speaks chrono; its dates are
/// stepped in lockstep with jiff dates parsed from its first date's ISO form, so no chrono type
/// is ever named here.
fn build() -> Table {
    let empty = Table {
        first_year: 0,
        days: Vec::new(),
        window: None,
    };
    let nyse = ExchangeCalendar::new(Exchange::Nyse);
    let Some(coverage) = nyse.holiday_coverage() else {
        return empty;
    };
    let (Ok(first), Ok(last)) = (
        coverage.first().to_string().parse::<Date>(),
        coverage.last().to_string().parse::<Date>(),
    ) else {
        return empty;
    };
    let first_year = first.year();
    let years = usize::try_from(last.year() - first_year + 1).unwrap_or(0);
    let mut days = vec![Day::Unaudited; years * 366];
    let mut theirs = Some(coverage.first());
    let mut ours = Some(first);
    while let (Some(t), Some(o)) = (theirs, ours) {
        if o > last {
            break;
        }
        if coverage.contains(t) {
            let day = match nyse.holiday_on(t).map(|row| row.kind()) {
                _ if is_weekend(o) => Day::Closed,
                Some(HolidayKind::Closed) => Day::Closed,
                Some(HolidayKind::EarlyClose { close_ssm }) => Day::Open {
                    open: REGULAR_OPEN,
                    close: close_ssm,
                },
                Some(HolidayKind::LateOpen { open_ssm }) => Day::Open {
                    open: open_ssm,
                    close: REGULAR_CLOSE,
                },
                Some(HolidayKind::LateOpenAndEarlyClose {
                    open_ssm,
                    close_ssm,
                }) => Day::Open {
                    open: open_ssm,
                    close: close_ssm,
                },
                // `Unsourced` changes no answer by the crate's own contract; the NYSE table has
                // no `ReplacementBlocks` row (a unit test pins every row's kind).
                _ => regular_or_weekend(o),
            };
            let day = if EXTRA_CLOSURES.contains(&o) {
                Day::Closed
            } else {
                day
            };
            if let Some(cell) = slot(first_year, o).and_then(|i| days.get_mut(i)) {
                *cell = day;
            }
        }
        theirs = t.succ_opt();
        ours = o.tomorrow().ok();
    }
    Table {
        first_year,
        days,
        window: Some((first, last)),
    }
}

fn day(date: Date) -> Day {
    let table = table();
    match slot(table.first_year, date).and_then(|i| table.days.get(i)) {
        Some(Day::Unaudited) | None => regular_or_weekend(date),
        Some(day) => *day,
    }
}

/// `seconds` after New York midnight on `date` (wall clock), as a UTC instant.
fn at(date: Date, seconds: u32) -> Timestamp {
    let wall = date
        .to_datetime(Time::midnight())
        .checked_add(SignedDuration::from_secs(i64::from(seconds)))
        .unwrap_or_else(|_| date.to_datetime(Time::midnight()));
    new_york_to_utc(wall)
}

/// The regular session on `date`; `None` on weekends and holidays.
#[must_use]
pub fn session(date: Date) -> Option<Session> {
    match day(date) {
        Day::Open { open, close } => Some(Session {
            date,
            open: at(date, open),
            close: at(date, close),
            early_close: close < REGULAR_CLOSE,
        }),
        Day::Closed | Day::Unaudited => None,
    }
}

/// The first and last dates whose NYSE holidays and early closes are known (the audited
/// window, 2010-01-01 to 2028-12-31 with today's table). Outside it every weekday counts as a
/// regular session: an answer about a holiday there is a guess.
#[must_use]
pub fn known_window() -> Option<(Date, Date)> {
    table().window
}

/// Whether `date` is inside [`known_window`].
#[must_use]
pub fn holidays_known(date: Date) -> bool {
    known_window().is_some_and(|(first, last)| first <= date && date <= last)
}

/// Whether `date` has a regular session.
#[must_use]
pub fn is_trading_day(date: Date) -> bool {
    matches!(day(date), Day::Open { .. })
}

/// The first trading day strictly after `date`, looking at most 10 days ahead
/// (`None` only at the end of the supported dates).
#[must_use]
pub fn next_trading_day(date: Date) -> Option<Date> {
    std::iter::successors(date.tomorrow().ok(), |d| d.tomorrow().ok())
        .take(SEARCH_DAYS)
        .find(|d| is_trading_day(*d))
}

/// The last trading day strictly before `date`, looking at most 10 days back
/// (`None` only at the start of the supported dates).
#[must_use]
pub fn previous_trading_day(date: Date) -> Option<Date> {
    std::iter::successors(date.yesterday().ok(), |d| d.yesterday().ok())
        .take(SEARCH_DAYS)
        .find(|d| is_trading_day(*d))
}

/// The trading days of `range`, oldest first.
pub fn trading_days(range: DateRange) -> impl Iterator<Item = Date> {
    let end = range.end();
    std::iter::successors(Some(range.start()), |d| d.tomorrow().ok())
        .take_while(move |d| *d <= end)
        .filter(|d| is_trading_day(*d))
}

/// How many trading days `range` holds.
#[must_use]
pub fn count_trading_days(range: DateRange) -> usize {
    trading_days(range).count()
}

/// Whether `now` is inside a regular session (`open <= now < close`).
#[must_use]
pub fn is_open(now: Timestamp) -> bool {
    session(new_york_date(now)).is_some_and(|s| s.open <= now && now < s.close)
}

/// The open of the first session that opens strictly after `now`.
///
/// Outside a session that is when trading next starts (on a trading day before 09:30, that
/// day's open). During a session, and at its very open instant, it is the *following*
/// session's open, since this one opened at or before `now`. Looks at most 10 days ahead;
/// [`Timestamp::MAX`] only past the end of the supported dates.
#[must_use]
pub fn next_open(now: Timestamp) -> Timestamp {
    std::iter::successors(Some(new_york_date(now)), |d| d.tomorrow().ok())
        .take(SEARCH_DAYS + 1)
        .filter_map(session)
        .map(|s| s.open)
        .find(|open| *open > now)
        .unwrap_or(Timestamp::MAX)
}

/// The latest trading date whose session has closed at or before `now`: today once its close
/// has passed, otherwise the trading day before today. The newest date a daily bar is final for.
#[must_use]
pub fn last_final_session(now: Timestamp) -> Option<Date> {
    let today = new_york_date(now);
    match session(today) {
        Some(s) if s.close <= now => Some(today),
        _ => previous_trading_day(today),
    }
}

/// The `n` most recent sessions that have opened by `now` (today's counts from its open
/// instant, even while it is still trading), as the date range from the oldest to the newest;
/// `None` for `n == 0`.
#[must_use]
pub fn last_sessions(n: usize, now: Timestamp) -> Option<DateRange> {
    if n == 0 {
        return None;
    }
    let today = new_york_date(now);
    let end = match session(today) {
        Some(s) if s.open <= now => today,
        _ => previous_trading_day(today)?,
    };
    let mut start = end;
    for _ in 1..n {
        start = previous_trading_day(start)?;
    }
    DateRange::new(start, end).ok()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn date(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn range(start: &str, end: &str) -> DateRange {
        DateRange::new(date(start), date(end)).unwrap()
    }

    /// The weekdays without a session and the early-close sessions of `year`, which must be
    /// exactly what the NYSE published.
    fn check_year(year: i16, holidays: &[&str], early_closes: &[&str]) {
        let days = range(&format!("{year}-01-01"), &format!("{year}-12-31"));
        let all = std::iter::successors(Some(days.start()), |d| d.tomorrow().ok())
            .take_while(|d| *d <= days.end());
        let closed: Vec<String> = all
            .filter(|d| !is_weekend(*d) && !is_trading_day(*d))
            .map(|d| d.to_string())
            .collect();
        assert_eq!(closed, holidays, "{year} holidays");
        let early: Vec<String> = trading_days(days)
            .filter(|d| session(*d).unwrap().early_close)
            .map(|d| d.to_string())
            .collect();
        assert_eq!(early, early_closes, "{year} early closes");
    }

    #[test]
    fn the_known_window_is_the_audited_table() {
        assert_eq!(
            known_window(),
            Some((date("2010-01-01"), date("2028-12-31")))
        );
        assert!(holidays_known(date("2024-12-25")));
        // Before the window Christmas 2008 is a weekday like any other: not known.
        assert!(!holidays_known(date("2008-12-25")));
        assert!(
            is_trading_day(date("2008-12-25")),
            "the weekday rule's guess"
        );
        assert!(!holidays_known(date("2029-01-02")));
    }

    #[test]
    fn nyse_2024_as_published() {
        check_year(
            2024,
            &[
                "2024-01-01", // New Year's Day
                "2024-01-15", // Martin Luther King, Jr. Day
                "2024-02-19", // Washington's Birthday
                "2024-03-29", // Good Friday
                "2024-05-27", // Memorial Day
                "2024-06-19", // Juneteenth
                "2024-07-04", // Independence Day
                "2024-09-02", // Labor Day
                "2024-11-28", // Thanksgiving Day
                "2024-12-25", // Christmas Day
            ],
            &["2024-07-03", "2024-11-29", "2024-12-24"],
        );
    }

    #[test]
    fn nyse_2025_as_published() {
        check_year(
            2025,
            &[
                "2025-01-01",
                "2025-01-09", // National Day of Mourning, President Carter
                "2025-01-20",
                "2025-02-17",
                "2025-04-18",
                "2025-05-26",
                "2025-06-19",
                "2025-07-04",
                "2025-09-01",
                "2025-11-27",
                "2025-12-25",
            ],
            &["2025-07-03", "2025-11-28", "2025-12-24"],
        );
    }

    #[test]
    fn nyse_2026_as_published() {
        check_year(
            2026,
            &[
                "2026-01-01",
                "2026-01-19",
                "2026-02-16",
                "2026-04-03",
                "2026-05-25",
                "2026-06-19",
                "2026-07-03", // Independence Day falls on a Saturday: observed Friday
                "2026-09-07",
                "2026-11-26",
                "2026-12-25",
            ],
            &["2026-11-27", "2026-12-24"],
        );
    }

    #[test]
    fn observed_rules_and_one_off_closures() {
        let closed = [
            "2001-09-11",
            "2001-09-12",
            "2001-09-13",
            "2001-09-14",
            "2004-06-11",
            "2007-01-02",
            "2012-10-29", // Hurricane Sandy
            "2012-10-30",
            "2018-12-05", // layered: the crate's table omits it
            "2021-12-24", // Christmas on a Saturday: observed Friday
            "2022-06-20", // Juneteenth's first year, on a Sunday: observed Monday
            "2027-06-18", // Juneteenth on a Saturday: observed Friday
            "2027-12-24",
        ];
        for d in closed {
            assert!(!is_trading_day(date(d)), "{d} is closed");
            assert_eq!(session(date(d)), None, "{d}");
        }
        let open = [
            "2001-09-10",
            "2001-09-17",
            "2018-12-04",
            "2018-12-06",
            "2021-06-18", // Juneteenth not yet an NYSE holiday in 2021
            "2021-06-21",
            "2021-12-31", // New Year's Day 2022 on a Saturday: not observed
            "2022-01-03",
            "2027-12-31", // same for 2028
        ];
        for d in open {
            assert!(is_trading_day(date(d)), "{d} trades");
        }
    }

    #[test]
    fn outside_the_crates_window_every_weekday_trades_but_the_one_off_closures() {
        // Christmas 2009 is before the audited window: no scheduled holiday is known there.
        assert!(is_trading_day(date("2009-12-25")));
        assert!(!is_trading_day(date("2009-12-26")), "a Saturday");
        assert!(!is_trading_day(date("2001-09-12")));
        assert!(is_trading_day(date("2029-12-25")));
        assert!(is_trading_day(date("2010-01-04")));
        assert!(!is_trading_day(date("2010-01-01")));
    }

    /// Every row of the crate's NYSE table is a closure or a 13:00 close, so the kinds
    /// `build` folds into a regular session (`Unsourced`, `ReplacementBlocks`) never occur: a
    /// crate upgrade that adds one fails here.
    #[test]
    fn every_crate_row_is_a_closure_or_a_one_pm_close() {
        let nyse = ExchangeCalendar::new(Exchange::Nyse);
        let coverage = nyse.holiday_coverage().unwrap();
        assert_eq!(coverage.first().to_string(), "2010-01-01");
        let mut d = Some(coverage.first());
        let mut rows = 0;
        while let Some(t) = d.filter(|t| *t <= coverage.last()) {
            if let Some(row) = nyse.holiday_on(t) {
                rows += 1;
                assert!(
                    matches!(
                        row.kind(),
                        HolidayKind::Closed | HolidayKind::EarlyClose { close_ssm: 46_800 }
                    ),
                    "{t}: {:?}",
                    row.kind()
                );
            }
            d = t.succ_opt();
        }
        assert!(rows > 200, "{rows} rows");
    }

    #[test]
    fn sessions_are_dst_correct() {
        let check = |d: &str, open: &str, close: &str, early: bool| {
            let s = session(date(d)).unwrap();
            assert_eq!(
                (s.date, s.open, s.close, s.early_close),
                (date(d), ts(open), ts(close), early),
                "{d}"
            );
        };
        // Winter (EST, UTC-5) before the 2024-03-10 switch, summer (EDT, UTC-4) after it.
        check(
            "2024-03-08",
            "2024-03-08T14:30:00Z",
            "2024-03-08T21:00:00Z",
            false,
        );
        check(
            "2024-03-11",
            "2024-03-11T13:30:00Z",
            "2024-03-11T20:00:00Z",
            false,
        );
        check(
            "2024-11-01",
            "2024-11-01T13:30:00Z",
            "2024-11-01T20:00:00Z",
            false,
        );
        check(
            "2024-11-04",
            "2024-11-04T14:30:00Z",
            "2024-11-04T21:00:00Z",
            false,
        );
        // Early closes at 13:00 New York.
        check(
            "2024-11-29",
            "2024-11-29T14:30:00Z",
            "2024-11-29T18:00:00Z",
            true,
        );
        check(
            "2024-07-03",
            "2024-07-03T13:30:00Z",
            "2024-07-03T17:00:00Z",
            true,
        );
        assert_eq!(session(date("2024-03-09")), None, "a Saturday");
    }

    #[test]
    fn is_open_is_half_open() {
        assert!(!is_open(ts("2024-03-08T14:29:59Z")));
        assert!(is_open(ts("2024-03-08T14:30:00Z")));
        assert!(is_open(ts("2024-03-08T20:59:59Z")));
        assert!(!is_open(ts("2024-03-08T21:00:00Z")));
        assert!(!is_open(ts("2024-03-09T16:00:00Z")), "Saturday");
        assert!(!is_open(ts("2024-07-04T15:00:00Z")), "Independence Day");
        assert!(is_open(ts("2024-11-29T17:59:00Z")));
        assert!(!is_open(ts("2024-11-29T18:00:00Z")), "early close at 13:00");
    }

    #[test]
    fn next_open_is_strictly_after_now() {
        // Friday evening: Monday 09:30 (EDT from 2024-03-10).
        assert_eq!(
            next_open(ts("2024-03-08T22:00:00Z")),
            ts("2024-03-11T13:30:00Z")
        );
        // Friday before Memorial Day: Tuesday.
        assert_eq!(
            next_open(ts("2024-05-24T21:00:00Z")),
            ts("2024-05-28T13:30:00Z")
        );
        // Before the open on a trading day: that day's open.
        assert_eq!(
            next_open(ts("2024-03-11T12:00:00Z")),
            ts("2024-03-11T13:30:00Z")
        );
        // At the open and during the session: the next session's.
        assert_eq!(
            next_open(ts("2024-03-11T13:30:00Z")),
            ts("2024-03-12T13:30:00Z")
        );
        assert_eq!(
            next_open(ts("2024-03-11T15:00:00Z")),
            ts("2024-03-12T13:30:00Z")
        );
        // Across the September 2001 closure.
        assert_eq!(
            next_open(ts("2001-09-11T12:00:00Z")),
            ts("2001-09-17T13:30:00Z")
        );
    }

    #[test]
    fn last_final_session_waits_for_the_close() {
        let f = |now: &str| last_final_session(ts(now)).map(|d| d.to_string());
        assert_eq!(f("2024-03-08T20:59:59Z").as_deref(), Some("2024-03-07"));
        assert_eq!(f("2024-03-08T21:00:00Z").as_deref(), Some("2024-03-08"));
        assert_eq!(
            f("2024-03-10T15:00:00Z").as_deref(),
            Some("2024-03-08"),
            "Sunday"
        );
        assert_eq!(
            f("2024-03-11T12:00:00Z").as_deref(),
            Some("2024-03-08"),
            "Monday, early"
        );
        // Early close: final at 13:00; before it, Wednesday (Thanksgiving is closed).
        assert_eq!(f("2024-11-29T17:59:59Z").as_deref(), Some("2024-11-27"));
        assert_eq!(f("2024-11-29T18:00:00Z").as_deref(), Some("2024-11-29"));
    }

    #[test]
    fn last_sessions_counts_opened_sessions() {
        let f = |n: usize, now: &str| last_sessions(n, ts(now)).map(|r| r.to_string());
        // Sunday: the Friday.
        assert_eq!(
            f(1, "2024-03-10T15:00:00Z").as_deref(),
            Some("2024-03-08..=2024-03-08")
        );
        assert_eq!(
            f(3, "2024-03-10T15:00:00Z").as_deref(),
            Some("2024-03-06..=2024-03-08")
        );
        // Monday before the open: still the Friday; from the open, Monday counts.
        assert_eq!(
            f(1, "2024-03-11T13:29:59Z").as_deref(),
            Some("2024-03-08..=2024-03-08")
        );
        assert_eq!(
            f(2, "2024-03-11T13:30:00Z").as_deref(),
            Some("2024-03-08..=2024-03-11")
        );
        // Across a holiday: Tuesday after Memorial Day, before the open.
        assert_eq!(
            f(2, "2024-05-28T12:00:00Z").as_deref(),
            Some("2024-05-23..=2024-05-24")
        );
        assert_eq!(f(0, "2024-03-10T15:00:00Z"), None);
    }

    #[test]
    fn trading_days_skip_weekends_and_holidays() {
        let week = range("2024-07-01", "2024-07-07");
        let days: Vec<String> = trading_days(week).map(|d| d.to_string()).collect();
        assert_eq!(
            days,
            ["2024-07-01", "2024-07-02", "2024-07-03", "2024-07-05"]
        );
        assert_eq!(count_trading_days(week), 4);
        assert_eq!(count_trading_days(range("2024-07-06", "2024-07-07")), 0);
        // 2024 had 252 sessions.
        assert_eq!(count_trading_days(range("2024-01-01", "2024-12-31")), 252);
        assert_eq!(
            next_trading_day(date("2024-07-03")),
            Some(date("2024-07-05"))
        );
        assert_eq!(
            previous_trading_day(date("2024-07-05")),
            Some(date("2024-07-03"))
        );
        assert_eq!(
            next_trading_day(date("2001-09-10")),
            Some(date("2001-09-17"))
        );
    }

    proptest! {
        #[test]
        fn next_and_previous_are_inverse_on_trading_days(offset in 0i64..14_000) {
            let d = date("2000-01-01").checked_add(jiff::Span::new().days(offset)).unwrap();
            prop_assume!(is_trading_day(d));
            let next = next_trading_day(d).unwrap();
            let previous = previous_trading_day(d).unwrap();
            prop_assert!(next > d && previous < d);
            prop_assert_eq!(previous_trading_day(next), Some(d));
            prop_assert_eq!(next_trading_day(previous), Some(d));
        }
    }
}
