//! Data-quality checks: pure functions that return findings and never panic.

use jiff::Timestamp;
use jiff::civil::Date;

use crate::calendar::is_trading_day;
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
    /// A trading day between two daily bars has no bar: missing data, since weekends and NYSE
    /// holidays (see [`crate::calendar`]) are not trading days. The name is kept for the output
    /// formats that print it.
    MissingWeekday {
        /// The New York trading date with no bar.
        date: Date,
    },
}

/// How many missing trading days one gap may report individually before the rest are left out.
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
        } else if prev.interval == Interval::Day1
            && next.interval == Interval::Day1
            // Bars a day apart (23 to 25 hours across a DST change) leave no day out: only
            // longer steps need the calendar (and the time zone lookups it takes).
            && prev.start.duration_until(next.start) > jiff::SignedDuration::from_hours(25)
        {
            trading_day_gaps(
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

fn trading_day_gaps(prev: Date, next: Date, findings: &mut Vec<Finding>) {
    let mut day = prev.tomorrow().ok();
    let mut reported = 0;
    while let Some(d) = day {
        if d >= next || reported == MAX_GAP_FINDINGS_PER_GAP {
            break;
        }
        if is_trading_day(d) {
            findings.push(Finding::MissingWeekday { date: d });
            reported += 1;
        }
        day = d.tomorrow().ok();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::daily_bar_start;
    use crate::{Decimal, Provenance, ProviderId, Symbol};

    fn daily(date: &str) -> Bar {
        let one = Decimal::ONE;
        Bar {
            symbol: Symbol::parse("AAPL").unwrap(),
            interval: Interval::Day1,
            start: daily_bar_start(date.parse().unwrap()),
            open: one,
            high: one,
            low: one,
            close: one,
            volume: 1,
            vwap: None,
            trades: None,
            provenance: Provenance::new(ProviderId::from_static("alpaca"), Timestamp::UNIX_EPOCH),
        }
    }

    fn check(dates: &[&str], missing: &[&str]) {
        let bars: Vec<Bar> = dates.iter().map(|d| daily(d)).collect();
        let want: Vec<Finding> = missing
            .iter()
            .map(|d| Finding::MissingWeekday {
                date: d.parse().unwrap(),
            })
            .collect();
        assert_eq!(check_bars(&bars), want, "{dates:?}");
    }

    #[test]
    fn holidays_are_not_gaps() {
        // 2024-07-04 is Independence Day.
        check(&["2024-07-03", "2024-07-05"], &[]);
        check(&["2024-07-02", "2024-07-05"], &["2024-07-03"]);
        // Good Friday and a weekend between Thursday and Monday.
        check(&["2024-03-28", "2024-04-01"], &[]);
        // The 2001 closure after September 11.
        check(&["2001-09-10", "2001-09-17"], &[]);
    }
}
