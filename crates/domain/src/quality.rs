//! Data-quality checks: pure functions that return findings and never panic.

use jiff::Timestamp;
use jiff::civil::{Date, Weekday};

use crate::time::new_york_date;
use crate::{Bar, Interval};

/// Something suspicious about a series of bars. Findings are information for the user, not
/// errors: the bars are still returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// `low` is above `open` or `close`, or above `high`.
    LowAboveBody {
        /// The bar's start.
        start: Timestamp,
    },
    /// `high` is below `open` or `close`.
    HighBelowBody {
        /// The bar's start.
        start: Timestamp,
    },
    /// A price of zero or less.
    NonPositivePrice {
        /// The bar's start.
        start: Timestamp,
    },
    /// A daily or longer bar with no volume at all.
    ZeroVolume {
        /// The bar's start.
        start: Timestamp,
    },
    /// Two bars share a start instant.
    DuplicateStart {
        /// The repeated start.
        start: Timestamp,
    },
    /// A bar starts before the one listed before it.
    OutOfOrder {
        /// The earlier-listed bar's start.
        previous: Timestamp,
        /// The bar that goes backwards.
        start: Timestamp,
    },
    /// A weekday between two daily bars has no bar (a holiday, or missing data).
    MissingWeekday {
        /// The New York trading date with no bar.
        date: Date,
    },
}

/// How many missing weekdays one gap may report individually before the rest are left out.
const MAX_GAP_FINDINGS_PER_GAP: usize = 31;

/// Checks one symbol's bars, in the order given. Volume is unsigned, so a negative volume cannot
/// reach this point (adapters reject it as malformed).
#[must_use]
pub fn check_bars(bars: &[Bar]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for bar in bars {
        check_bar(bar, &mut findings);
    }
    for pair in bars.windows(2) {
        let [prev, next] = pair else { continue };
        if next.start == prev.start {
            findings.push(Finding::DuplicateStart { start: next.start });
        } else if next.start < prev.start {
            findings.push(Finding::OutOfOrder {
                previous: prev.start,
                start: next.start,
            });
        } else if prev.interval == Interval::Day1 && next.interval == Interval::Day1 {
            weekday_gaps(
                new_york_date(prev.start),
                new_york_date(next.start),
                &mut findings,
            );
        }
    }
    findings
}

fn check_bar(bar: &Bar, findings: &mut Vec<Finding>) {
    let start = bar.start;
    if [bar.open, bar.high, bar.low, bar.close]
        .iter()
        .any(|p| p.is_sign_negative() || p.is_zero())
    {
        findings.push(Finding::NonPositivePrice { start });
    }
    if bar.low > bar.open || bar.low > bar.close || bar.low > bar.high {
        findings.push(Finding::LowAboveBody { start });
    }
    if bar.high < bar.open || bar.high < bar.close {
        findings.push(Finding::HighBelowBody { start });
    }
    if !bar.interval.is_intraday() && bar.volume == 0 {
        findings.push(Finding::ZeroVolume { start });
    }
}

fn weekday_gaps(prev: Date, next: Date, findings: &mut Vec<Finding>) {
    let mut day = prev.tomorrow().ok();
    let mut reported = 0;
    while let Some(d) = day {
        if d >= next || reported == MAX_GAP_FINDINGS_PER_GAP {
            break;
        }
        if !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday) {
            findings.push(Finding::MissingWeekday { date: d });
            reported += 1;
        }
        day = d.tomorrow().ok();
    }
}
