//! Series of synthetic bars at any width, shared by the dialects: intraday bars from the
//! session's minutes (to 13:00 New York on early-close days), daily bars on NYSE trading days,
//! and weekly and monthly bars aggregated from the daily ones.

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan as _};
use stockdata_domain::time::new_york_date;

use crate::market::{self, SynthBar};

/// The most bars one sandbox answer generates (Alpaca-style answers page through them).
const MAX_BARS: usize = 200_000;

/// The bars of `symbol` at `width` whose start is in `[from, to)`, oldest first; weekly and
/// monthly bars aggregate the daily ones of their week (from Monday) or month.
pub(crate) fn bars(symbol: &str, width: Width, from: Timestamp, to: Timestamp) -> Vec<SynthBar> {
    let first = new_york_date(from);
    let last = new_york_date(to);
    let days = market::trading_days(first, last);
    let mut out = Vec::new();
    match width {
        Width::Minutes(w) => {
            for d in days {
                let mut m = 0;
                let session = market::session_minutes(d);
                while m < session && out.len() < MAX_BARS {
                    let b = market::intraday(symbol, d, m, w);
                    if b.start >= from && b.start < to {
                        out.push(b);
                    }
                    m += w;
                }
            }
        }
        Width::Day => out.extend(
            days.into_iter()
                .map(|d| market::daily(symbol, d))
                .filter(|b| b.start >= from && b.start < to),
        ),
        Width::Week | Width::Month => {
            let period = |d: Date| -> Date {
                if width == Width::Week {
                    let back = i64::from(d.weekday().to_monday_zero_offset());
                    d.checked_sub(back.days()).unwrap_or(d)
                } else {
                    d.first_of_month()
                }
            };
            let mut current: Option<(Date, SynthBar)> = None;
            for d in days {
                let b = market::daily(symbol, d);
                match &mut current {
                    Some((p, agg)) if *p == period(d) => {
                        agg.high = agg.high.max(b.high);
                        agg.low = agg.low.min(b.low);
                        agg.close = b.close;
                        agg.volume += b.volume;
                        agg.trades += b.trades;
                    }
                    _ => {
                        if let Some((_, agg)) = current.take() {
                            out.push(agg);
                        }
                        current = Some((period(d), b));
                    }
                }
            }
            if let Some((_, agg)) = current {
                out.push(agg);
            }
            out.retain(|b| b.start >= from && b.start < to);
        }
    }
    out
}

/// A bar width every dialect can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Width {
    /// Intraday, this many minutes from 09:30 New York.
    Minutes(i64),
    Day,
    Week,
    Month,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_aggregate_their_days() {
        let from: Timestamp = "2024-03-04T05:00:00Z".parse().unwrap();
        let to: Timestamp = "2024-03-09T05:00:00Z".parse().unwrap();
        let days = bars("AAPL", Width::Day, from, to);
        assert_eq!(days.len(), 5, "Monday to Friday");
        let weeks = bars("AAPL", Width::Week, from, to);
        assert_eq!(weeks.len(), 1);
        let w = weeks[0];
        assert_eq!(w.start, days[0].start);
        assert_eq!((w.open, w.close), (days[0].open, days[4].close));
        assert_eq!(w.high, days.iter().map(|d| d.high).max().unwrap());
        assert_eq!(w.low, days.iter().map(|d| d.low).min().unwrap());
        assert_eq!(w.volume, days.iter().map(|d| d.volume).sum::<u64>());
        let hours = bars("AAPL", Width::Minutes(60), from, to);
        assert_eq!(hours.len(), 5 * 7, "seven hourly bars a session");
    }

    #[test]
    fn holidays_have_no_bars_and_early_closes_end_at_one_pm() {
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        // Thanksgiving week 2024: Thursday closed, Friday closes at 13:00 New York (18:00Z).
        let from = at("2024-11-25T05:00:00Z");
        let to = at("2024-11-30T05:00:00Z");
        let starts = |w: Width| -> Vec<String> {
            bars("AAPL", w, from, to)
                .iter()
                .map(|b| b.start.to_string())
                .collect()
        };
        assert_eq!(
            starts(Width::Day),
            [
                "2024-11-25T05:00:00Z",
                "2024-11-26T05:00:00Z",
                "2024-11-27T05:00:00Z",
                "2024-11-29T05:00:00Z"
            ]
        );
        let friday = at("2024-11-29T05:00:00Z");
        let minutes: Vec<SynthBar> = bars("AAPL", Width::Minutes(1), friday, to);
        assert_eq!(minutes.len(), 210, "09:30 to 13:00");
        assert_eq!(minutes[0].start, at("2024-11-29T14:30:00Z"));
        assert_eq!(minutes[209].start, at("2024-11-29T17:59:00Z"));
        let hours = bars("AAPL", Width::Minutes(60), friday, to);
        assert_eq!(
            hours.len(),
            4,
            "09:30, 10:30, 11:30 and 12:30 (cut at 13:00)"
        );
        // The daily bar is the short session's: its volume is 210/390 of a full day's draw,
        // so it stays near the sum of the session's minutes.
        let day = market::daily("AAPL", "2024-11-29".parse().unwrap());
        let sum: u64 = minutes.iter().map(|b| b.volume).sum();
        assert!(
            sum.abs_diff(day.volume) < day.volume / 10,
            "{sum} vs {}",
            day.volume
        );
        // The week aggregates the four sessions only.
        let week = bars("AAPL", Width::Week, from, to);
        assert_eq!(week.len(), 1);
        assert_eq!(week[0].close, day.close);
    }
}
