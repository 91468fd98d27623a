//! Series of synthetic bars at any width, shared by the dialects: intraday bars from the
//! session's minutes, daily bars, and weekly and monthly bars aggregated from the daily ones.

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
                while m < market::SESSION_MINUTES && out.len() < MAX_BARS {
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
}
