//! Bar intervals.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The width of one OHLCV bar.
///
/// Displays as `1m 5m 15m 30m 1h 1d 1w 1mo`, and parses back from exactly that text (plus a few
/// common spellings such as `1min`, `60min`, `D`, `1day`, `1month`), case-insensitively except that
/// `1m` is a minute and `1mo` a month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Interval {
    /// One minute.
    Minute1,
    /// Five minutes.
    Minute5,
    /// Fifteen minutes.
    Minute15,
    /// Thirty minutes.
    Minute30,
    /// One hour.
    Hour1,
    /// One trading day.
    Day1,
    /// One week.
    Week1,
    /// One calendar month.
    Month1,
}

/// Text that names no [`Interval`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown interval {input:?}: use one of 1m, 5m, 15m, 30m, 1h, 1d, 1w, 1mo")]
pub struct IntervalError {
    /// The rejected input.
    pub input: String,
}

impl Interval {
    /// Every interval, shortest first.
    pub const ALL: [Interval; 8] = [
        Interval::Minute1,
        Interval::Minute5,
        Interval::Minute15,
        Interval::Minute30,
        Interval::Hour1,
        Interval::Day1,
        Interval::Week1,
        Interval::Month1,
    ];

    /// The canonical text: `1m 5m 15m 30m 1h 1d 1w 1mo`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Interval::Minute1 => "1m",
            Interval::Minute5 => "5m",
            Interval::Minute15 => "15m",
            Interval::Minute30 => "30m",
            Interval::Hour1 => "1h",
            Interval::Day1 => "1d",
            Interval::Week1 => "1w",
            Interval::Month1 => "1mo",
        }
    }

    /// True for bars shorter than a day. Intraday bars are labelled by their exact start
    /// instant; daily and longer bars by 00:00 America/New_York of their first trading date.
    #[must_use]
    pub const fn is_intraday(self) -> bool {
        matches!(
            self,
            Interval::Minute1
                | Interval::Minute5
                | Interval::Minute15
                | Interval::Minute30
                | Interval::Hour1
        )
    }

    /// The fixed length of an intraday bar; `None` for day, week and month bars, whose length
    /// depends on the calendar.
    #[must_use]
    pub const fn fixed_duration(self) -> Option<Duration> {
        let minutes = match self {
            Interval::Minute1 => 1,
            Interval::Minute5 => 5,
            Interval::Minute15 => 15,
            Interval::Minute30 => 30,
            Interval::Hour1 => 60,
            Interval::Day1 | Interval::Week1 | Interval::Month1 => return None,
        };
        Some(Duration::from_secs(minutes * 60))
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Interval {
    type Err = IntervalError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        // "1M" is ambiguous in the wild (minute or month): only the exact canonical "1m" and the
        // unambiguous spellings below are accepted.
        let interval = match t {
            "1m" => Interval::Minute1,
            "5m" => Interval::Minute5,
            "15m" => Interval::Minute15,
            "30m" => Interval::Minute30,
            "1h" => Interval::Hour1,
            "1d" | "D" => Interval::Day1,
            "1w" | "W" => Interval::Week1,
            "1mo" => Interval::Month1,
            _ => match t.to_ascii_lowercase().as_str() {
                "1min" => Interval::Minute1,
                "5min" => Interval::Minute5,
                "15min" => Interval::Minute15,
                "30min" => Interval::Minute30,
                "60min" | "1hour" | "60m" => Interval::Hour1,
                "1day" | "daily" => Interval::Day1,
                "1week" | "weekly" => Interval::Week1,
                "1mo" | "1month" | "monthly" => Interval::Month1,
                _ => {
                    return Err(IntervalError {
                        input: s.to_owned(),
                    });
                }
            },
        };
        Ok(interval)
    }
}
