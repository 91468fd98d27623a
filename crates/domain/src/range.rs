//! Validated date and time ranges.

use std::fmt;

use jiff::Timestamp;
use jiff::civil::Date;

use crate::time::{daily_bar_start, new_york_day_bounds};

/// A range whose start is after its end.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("start {start} is after end {end}: the start must be on or before the end")]
pub struct RangeError {
    /// The start that was given.
    pub start: String,
    /// The end that was given.
    pub end: String,
}

/// An inclusive range of New York calendar dates, `start ≤ end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateRange {
    start: Date,
    end: Date,
}

impl DateRange {
    /// # Errors
    /// [`RangeError`] when `start` is after `end`.
    pub fn new(start: Date, end: Date) -> Result<Self, RangeError> {
        if start > end {
            return Err(RangeError {
                start: start.to_string(),
                end: end.to_string(),
            });
        }
        Ok(Self { start, end })
    }

    /// The first date, included.
    #[must_use]
    pub fn start(&self) -> Date {
        self.start
    }

    /// The last date, included.
    #[must_use]
    pub fn end(&self) -> Date {
        self.end
    }

    /// How many calendar days the range covers (1 for a single day).
    #[must_use]
    pub fn days(&self) -> i64 {
        self.start
            .until(self.end)
            .map_or(0, |span| i64::from(span.get_days()))
            + 1
    }

    /// The UTC instants the range covers: from 00:00 New York on `start` up to (excluding) 00:00
    /// New York on the day after `end`, so `end`'s own bars and news are included.
    #[must_use]
    pub fn to_time_range(&self) -> TimeRange {
        let (_, end) = new_york_day_bounds(self.end);
        TimeRange {
            start: daily_bar_start(self.start),
            end,
        }
    }
}

impl fmt::Display for DateRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..={}", self.start, self.end)
    }
}

/// A half-open range of UTC instants `[start, end)`, `start ≤ end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeRange {
    start: Timestamp,
    end: Timestamp,
}

impl TimeRange {
    /// # Errors
    /// [`RangeError`] when `start` is after `end`.
    pub fn new(start: Timestamp, end: Timestamp) -> Result<Self, RangeError> {
        if start > end {
            return Err(RangeError {
                start: start.to_string(),
                end: end.to_string(),
            });
        }
        Ok(Self { start, end })
    }

    /// The first instant, included.
    #[must_use]
    pub fn start(&self) -> Timestamp {
        self.start
    }

    /// The first instant after the range.
    #[must_use]
    pub fn end(&self) -> Timestamp {
        self.end
    }

    /// Whether `t` is inside `[start, end)`.
    #[must_use]
    pub fn contains(&self, t: Timestamp) -> bool {
        self.start <= t && t < self.end
    }

    /// The range's length.
    #[must_use]
    pub fn duration(&self) -> std::time::Duration {
        let secs = self.end.as_second().saturating_sub(self.start.as_second());
        std::time::Duration::from_secs(u64::try_from(secs).unwrap_or(0))
    }
}

impl fmt::Display for TimeRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {})", self.start, self.end)
    }
}

impl TimeRange {
    /// Splits the range into consecutive pieces no longer than `max` (all of it when `max`
    /// is `None` or zero): how a fetcher respects a provider's longest range per request.
    #[must_use]
    pub fn split(self, max: Option<std::time::Duration>) -> Vec<TimeRange> {
        let range = self;
        let Some(max) = max.filter(|m| !m.is_zero()) else {
            return vec![range];
        };
        let step = jiff::SignedDuration::try_from(max).unwrap_or(jiff::SignedDuration::MAX);
        let mut out = Vec::new();
        let mut start = range.start();
        while start < range.end() {
            let end = start
                .checked_add(step)
                .map_or(range.end(), |e| e.min(range.end()));
            match TimeRange::new(start, end) {
                Ok(piece) => out.push(piece),
                Err(_) => break,
            }
            start = end;
        }
        if out.is_empty() {
            out.push(range);
        }
        out
    }
}

/// The width of one bar in minutes (a month counted as its shortest, 28 days), and how many
/// start in one regular New York session (09:30 to 16:00) for an intraday interval.
fn bar_minutes(interval: crate::Interval) -> (u64, Option<u64>) {
    use crate::Interval;
    match interval {
        Interval::Minute1 => (1, Some(390)),
        Interval::Minute5 => (5, Some(78)),
        Interval::Minute15 => (15, Some(26)),
        Interval::Minute30 => (30, Some(13)),
        Interval::Hour1 => (60, Some(7)),
        Interval::Day1 => (24 * 60, Some(1)),
        Interval::Week1 => (7 * 24 * 60, None),
        Interval::Month1 => (28 * 24 * 60, None),
    }
}

/// Weekdays (Monday to Friday) among the UTC dates `range` touches. A regular session lies
/// within one UTC date, and so does the start of a daily bar (00:00 New York).
fn weekdays(range: TimeRange) -> u64 {
    let day = |t: jiff::Timestamp| t.as_second().div_euclid(86_400);
    let first = day(range.start());
    let last_instant = range
        .end()
        .checked_sub(jiff::SignedDuration::from_nanos(1))
        .unwrap_or(range.end());
    let last = day(last_instant).max(first);
    let span = u64::try_from(last - first + 1).unwrap_or(0);
    // 1970-01-01 was a Thursday: (day + 3) mod 7 is 0 on Mondays.
    let leftover = (0..span % 7)
        .filter(|i| {
            let d = first + i64::try_from(span / 7 * 7 + i).unwrap_or(0);
            (d + 3).rem_euclid(7) < 5
        })
        .count();
    span / 7 * 5 + u64::try_from(leftover).unwrap_or(0)
}

impl TimeRange {
    /// The most bars of `interval` this range can hold for one symbol: one per interval of the
    /// range and, for daily and intraday intervals, no more than a regular New York session's
    /// worth (09:30 to 16:00) per weekday. An upper bound both ends of the serverless API use to
    /// keep answers small.
    #[must_use]
    pub fn max_bars(self, interval: crate::Interval) -> u64 {
        let range = self;
        let (minutes, per_weekday) = bar_minutes(interval);
        let seconds = range.end().duration_since(range.start()).as_secs().max(0);
        let width = minutes.saturating_mul(60);
        let slots = u64::try_from(seconds)
            .unwrap_or(u64::MAX)
            .div_ceil(width.max(1));
        match per_weekday {
            Some(n) => slots.min(weekdays(range).saturating_mul(n)),
            None => slots,
        }
    }
}

impl TimeRange {
    /// Whether the two ranges share an instant or touch end to start.
    #[must_use]
    pub fn touches(&self, other: &TimeRange) -> bool {
        self.start <= other.end && other.start <= self.end
    }

    /// `spans` sorted, with overlapping or touching spans merged into one; empty spans dropped.
    #[must_use]
    pub fn merge_all(mut spans: Vec<TimeRange>) -> Vec<TimeRange> {
        spans.retain(|s| s.start < s.end);
        spans.sort_by_key(|s| (s.start, s.end));
        let mut out: Vec<TimeRange> = Vec::with_capacity(spans.len());
        for span in spans {
            match out.last_mut() {
                Some(last) if last.touches(&span) => last.end = last.end.max(span.end),
                _ => out.push(span),
            }
        }
        out
    }

    /// The parts of this range that none of `covered` covers, oldest first: what a store
    /// still has to fetch. `covered` may be in any order and overlap.
    #[must_use]
    pub fn subtract(self, covered: &[TimeRange]) -> Vec<TimeRange> {
        let mut out = Vec::new();
        let mut cursor = self.start;
        for span in TimeRange::merge_all(covered.to_vec()) {
            if span.end <= cursor || span.start >= self.end {
                continue;
            }
            if span.start > cursor {
                out.push(TimeRange {
                    start: cursor,
                    end: span.start,
                });
            }
            cursor = cursor.max(span.end);
            if cursor >= self.end {
                break;
            }
        }
        if cursor < self.end {
            out.push(TimeRange {
                start: cursor,
                end: self.end,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn r(a: i64, b: i64) -> TimeRange {
        TimeRange::new(
            Timestamp::from_second(a).unwrap(),
            Timestamp::from_second(b).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn subtract_leaves_the_gaps_in_order() {
        let want = r(0, 100);
        assert_eq!(want.subtract(&[]), vec![want]);
        assert_eq!(want.subtract(&[r(0, 100)]), vec![]);
        assert_eq!(want.subtract(&[r(-50, 500)]), vec![]);
        assert_eq!(
            want.subtract(&[r(60, 70), r(10, 20), r(15, 30)]),
            vec![r(0, 10), r(30, 60), r(70, 100)]
        );
        assert_eq!(want.subtract(&[r(100, 200), r(-10, 0)]), vec![want]);
    }

    #[test]
    fn merge_joins_touching_and_overlapping_spans() {
        assert_eq!(
            TimeRange::merge_all(vec![r(20, 30), r(0, 10), r(10, 15), r(25, 40), r(50, 50)]),
            vec![r(0, 15), r(20, 40)]
        );
    }

    proptest! {
        /// An instant of the range is in exactly one of: a covered span, a gap.
        #[test]
        fn subtract_partitions_the_range(
            spans in proptest::collection::vec((0i64..200, 0i64..60), 0..8),
            t in 0i64..200,
        ) {
            let covered: Vec<TimeRange> = spans.iter().map(|&(a, len)| r(a, a + len)).collect();
            let want = r(20, 180);
            let gaps = want.subtract(&covered);
            let instant = Timestamp::from_second(t).unwrap();
            let in_gap = gaps.iter().any(|g| g.contains(instant));
            let in_cover = covered.iter().any(|c| c.contains(instant));
            prop_assert_eq!(in_gap, want.contains(instant) && !in_cover);
            for pair in gaps.windows(2) {
                prop_assert!(pair[0].end < pair[1].start);
            }
        }
    }
}
