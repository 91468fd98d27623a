//! Series of synthetic bars at any width, shared by the dialects, all aggregated from the one
//! path per symbol and session (`market::minutes`): intraday bars from the minutes ended by
//! `now` on a grid from the session's open (or from 04:00 New York with extended hours), daily
//! bars per NYSE trading day (today's from the minutes so far), and weekly and monthly bars from
//! the daily bars of their calendar week (Monday to Sunday) or month, whatever the range asked
//! for. Longer bars start at 00:00 New York of their first trading day, the domain's convention.
//!
//! A series is generated a page at a time, in either order, from any bar start on: what one
//! answer costs is bounded by the page it serves (and one session's minutes), never by the range
//! asked for.

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp, ToSpan as _};
use stockdata_domain::calendar::is_trading_day;
use stockdata_domain::time::{daily_bar_start, new_york_date};

use crate::market::{self, FIRST_DATE, Hours, Order, SynthBar};

/// A bar width every dialect can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Width {
    /// Intraday, this many minutes (1 or more) on the day's grid.
    Minutes(i64),
    Day,
    /// A calendar week, Monday to Sunday.
    Week,
    /// This many calendar months (1, 2, 3, 4, 6 or 12), aligned to January.
    Months(i8),
}

/// The bars of one symbol at one width, as of `now`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Series<'a> {
    symbol: &'a str,
    width: Width,
    hours: Hours,
    now: Timestamp,
}

impl<'a> Series<'a> {
    /// Regular-session bars of `symbol` at `width`.
    pub(crate) fn new(symbol: &'a str, width: Width, now: Timestamp) -> Self {
        Self {
            symbol,
            width,
            hours: Hours::Regular,
            now,
        }
    }

    /// The same series with extended hours (intraday widths only; daily and longer bars are
    /// the regular session's).
    pub(crate) fn hours(self, hours: Hours) -> Self {
        Self { hours, ..self }
    }

    /// Every bar starting in `[from, to)`, oldest first.
    pub(crate) fn all(&self, from: Timestamp, to: Timestamp) -> Vec<SynthBar> {
        self.page(from, to, Order::Asc, usize::MAX)
    }

    /// At most `limit` bars starting in `[from, to)`, the first ones in `order`. A later page
    /// starts after the last bar served: `from` just past its start (`Asc`), or `to` at its
    /// start (`Desc`).
    pub(crate) fn page(
        &self,
        from: Timestamp,
        to: Timestamp,
        order: Order,
        limit: usize,
    ) -> Vec<SynthBar> {
        let to = to.min(self.now);
        let from = from.max(daily_bar_start(FIRST_DATE));
        let mut page = Page {
            from,
            to,
            limit,
            bars: Vec::new(),
        };
        if from >= to || limit == 0 {
            return page.bars;
        }
        let first = new_york_date(from);
        let last = new_york_date(to.checked_sub(SignedDuration::from_nanos(1)).unwrap_or(to));
        match self.width {
            Width::Minutes(w) => {
                for date in dates(first, last, order) {
                    let mut bars = self.intraday(date, w.max(1));
                    if order == Order::Desc {
                        bars.reverse();
                    }
                    if bars.into_iter().any(|b| page.full_after(b)) {
                        break;
                    }
                }
            }
            Width::Day => {
                for date in dates(first, last, order) {
                    if let Some(b) = market::daily_at(self.symbol, date, self.now)
                        && page.full_after(b)
                    {
                        break;
                    }
                }
            }
            Width::Week | Width::Months(_) => {
                let mut start = self.period_of(if order == Order::Asc { first } else { last });
                while (self.period_of(first)..=last).contains(&start) {
                    if let Some(b) = self.period_bar(start)
                        && page.full_after(b)
                    {
                        break;
                    }
                    let next = match order {
                        Order::Asc => self.next_period(start),
                        Order::Desc => self.previous_period(start),
                    };
                    match next {
                        Some(d) => start = d,
                        None => break,
                    }
                }
            }
        }
        page.bars
    }

    /// The intraday bars of `date` `width` minutes wide, oldest first, from the minutes ended
    /// by now: the bar in progress covers the minutes so far; one without any does not exist.
    fn intraday(&self, date: Date, width: i64) -> Vec<SynthBar> {
        let minutes = market::minutes_at(self.symbol, date, self.hours, self.now);
        let Some(grid) = market::window(date, self.hours).map(|(start, _)| start) else {
            return Vec::new();
        };
        let mut out: Vec<SynthBar> = Vec::new();
        let mut current: Option<(i64, SynthBar)> = None;
        for m in &minutes {
            let slot = m.start.duration_since(grid).as_mins().div_euclid(width);
            match &mut current {
                Some((s, bar)) if *s == slot => bar.absorb(m),
                _ => {
                    out.extend(current.take().map(|(_, bar)| bar));
                    let start = grid
                        .checked_add(SignedDuration::from_mins(slot * width))
                        .unwrap_or(m.start);
                    current = Some((slot, SynthBar { start, ..*m }));
                }
            }
        }
        out.extend(current.map(|(_, bar)| bar));
        out
    }

    /// The first day of the week or months holding `date`.
    fn period_of(&self, date: Date) -> Date {
        match self.width {
            Width::Months(k) => {
                let k = k.clamp(1, 12);
                let month = (date.month() - 1) / k * k + 1;
                Date::new(date.year(), month, 1).unwrap_or(date)
            }
            _ => {
                let back = i64::from(date.weekday().to_monday_zero_offset());
                date.checked_sub(back.days()).unwrap_or(date)
            }
        }
    }

    fn step(&self) -> jiff::Span {
        match self.width {
            Width::Months(k) => i64::from(k.clamp(1, 12)).months(),
            _ => 7.days(),
        }
    }

    fn next_period(&self, start: Date) -> Option<Date> {
        start.checked_add(self.step()).ok()
    }

    fn previous_period(&self, start: Date) -> Option<Date> {
        start.checked_sub(self.step()).ok()
    }

    /// The bar of the week or months starting on `start`: its trading days' daily bars as of
    /// now, aggregated, starting at 00:00 New York of the first.
    fn period_bar(&self, start: Date) -> Option<SynthBar> {
        let end = self.next_period(start)?;
        let days = std::iter::successors(Some(start), |d| d.tomorrow().ok())
            .take_while(|d| *d < end)
            .filter(|d| is_trading_day(*d))
            .map_while(|d| market::daily_at(self.symbol, d, self.now));
        let mut bar: Option<SynthBar> = None;
        for day in days {
            match &mut bar {
                Some(b) => b.absorb(&day),
                None => bar = Some(day),
            }
        }
        bar
    }
}

/// The New York dates from `first` to `last` (inclusive) in `order`.
fn dates(first: Date, last: Date, order: Order) -> impl Iterator<Item = Date> {
    let (start, step): (Date, fn(Date) -> Option<Date>) = match order {
        Order::Asc => (first, |d| d.tomorrow().ok()),
        Order::Desc => (last, |d| d.yesterday().ok()),
    };
    std::iter::successors(Some(start), move |d| step(*d))
        .take_while(move |d| (first..=last).contains(d))
}

/// A page being filled.
struct Page {
    from: Timestamp,
    to: Timestamp,
    limit: usize,
    bars: Vec<SynthBar>,
}

impl Page {
    /// Takes `bar` if it starts in the range; whether the page is then full.
    fn full_after(&mut self, bar: SynthBar) -> bool {
        if bar.start >= self.from && bar.start < self.to {
            self.bars.push(bar);
        }
        self.bars.len() >= self.limit
    }
}

#[cfg(test)]
mod tests {
    use stockdata_domain::calendar::session;

    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn date(s: &str) -> Date {
        s.parse().unwrap()
    }

    /// After the close on Friday 2024-03-08, like the contract tests.
    const NOW: &str = "2024-03-08T21:30:00Z";

    fn series(symbol: &str, width: Width) -> Series<'_> {
        Series::new(symbol, width, at(NOW))
    }

    /// `bars` grouped into consecutive runs by `key` and aggregated, each starting at its first.
    fn regroup(bars: &[SynthBar], key: impl Fn(&SynthBar) -> i64) -> Vec<SynthBar> {
        let mut out: Vec<SynthBar> = Vec::new();
        let mut last = None;
        for b in bars {
            let k = key(b);
            match out.last_mut() {
                Some(agg) if last == Some(k) => agg.absorb(b),
                _ => out.push(*b),
            }
            last = Some(k);
        }
        out
    }

    #[test]
    fn every_width_aggregates_exactly_from_the_one_below() {
        // EST and EDT sessions around both 2024 DST changes, two early closes, and a holiday
        // week.
        for symbol in ["AAPL", "MSFT", "BRK.B", "NVDA"] {
            for day in [
                "2024-03-08",
                "2024-03-11",
                "2024-11-01",
                "2024-11-04",
                "2024-11-29",
                "2024-07-03",
                "2024-01-02",
            ] {
                let d = date(day);
                let open = session(d).unwrap().open;
                let (from, to) = (daily_bar_start(d), daily_bar_start(d.tomorrow().unwrap()));
                let later = at("2025-01-01T00:00:00Z");
                let get = |w| Series::new(symbol, w, later).all(from, to);
                let slot = |w: i64| move |b: &SynthBar| b.start.duration_since(open).as_mins() / w;
                let m1 = get(Width::Minutes(1));
                let m5 = get(Width::Minutes(5));
                let m15 = get(Width::Minutes(15));
                let m30 = get(Width::Minutes(30));
                let h1 = get(Width::Minutes(60));
                assert_eq!(regroup(&m1, slot(5)), m5, "{symbol} {day} 1m → 5m");
                assert_eq!(regroup(&m5, slot(15)), m15, "{symbol} {day} 5m → 15m");
                assert_eq!(regroup(&m15, slot(30)), m30, "{symbol} {day} 15m → 30m");
                assert_eq!(regroup(&m30, slot(60)), h1, "{symbol} {day} 30m → 1h");
                let daily = get(Width::Day);
                assert_eq!(daily.len(), 1);
                assert_eq!(
                    market::aggregate(from, &h1).as_ref(),
                    daily.first(),
                    "{symbol} {day} 1h → 1d"
                );
                assert_eq!(daily.first(), Some(&market::daily(symbol, d)));
            }
        }
    }

    #[test]
    fn weeks_and_months_aggregate_the_days_of_the_calendar_period() {
        // From a Monday, the first of a month and the first of a quarter, to the sandbox's now
        // (the week, month and quarter in progress are so far).
        let (monday, first, quarter) = (
            at("2023-12-04T05:00:00Z"),
            at("2023-12-01T05:00:00Z"),
            at("2023-10-01T04:00:00Z"),
        );
        let to = at("2024-04-01T04:00:00Z");
        for symbol in ["AAPL", "NVDA"] {
            let days = |from| series(symbol, Width::Day).all(from, to);
            let week_of = |b: &SynthBar| {
                let d = new_york_date(b.start);
                i64::from(d.year()) * 100 + i64::from(d.iso_week_date().week())
            };
            let month_of = |b: &SynthBar| {
                let d = new_york_date(b.start);
                i64::from(d.year()) * 100 + i64::from(d.month())
            };
            let weeks = series(symbol, Width::Week).all(monday, to);
            let months = series(symbol, Width::Months(1)).all(first, to);
            assert_eq!(regroup(&days(monday), week_of), weeks, "{symbol}");
            assert_eq!(regroup(&days(first), month_of), months, "{symbol}");
            let quarters = series(symbol, Width::Months(3)).all(quarter, to);
            let quarter_of = |b: &SynthBar| month_of(b) / 100 * 10 + (month_of(b) % 100 - 1) / 3;
            assert_eq!(regroup(&days(quarter), quarter_of), quarters, "{symbol}");
            assert_eq!(quarters.len(), 2, "{symbol}: 2023 Q4 and 2024 Q1 so far");
        }
        // Week starts: Mondays, or Tuesday after a Monday holiday (MLK day 2024-01-15; the
        // 2024-01-01 holiday opens the year's first week and month on the 2nd).
        let starts = |w, from: &str, to: &str| -> Vec<String> {
            series("AAPL", w)
                .all(at(from), at(to))
                .iter()
                .map(|b| new_york_date(b.start).to_string())
                .collect()
        };
        assert_eq!(
            starts(Width::Week, "2023-12-30T05:00:00Z", "2024-01-23T05:00:00Z"),
            ["2024-01-02", "2024-01-08", "2024-01-16", "2024-01-22"]
        );
        assert_eq!(
            starts(
                Width::Months(1),
                "2023-12-30T05:00:00Z",
                "2024-04-30T04:00:00Z"
            ),
            ["2024-01-02", "2024-02-01", "2024-03-01"],
            "April is after the sandbox's now"
        );
        // A range starting mid-week or mid-month does not move the periods: the bars whose
        // start is in the range are the calendar ones.
        let whole = series("AAPL", Width::Week).all(at("2024-01-08T05:00:00Z"), at(NOW));
        let mid = series("AAPL", Width::Week).all(at("2024-01-10T05:00:00Z"), at(NOW));
        assert_eq!(&whole[1..], &mid[..]);
        assert_eq!(mid[0].start, at("2024-01-16T05:00:00Z"));
    }

    #[test]
    fn holidays_have_no_bars_and_early_closes_end_at_one_pm() {
        // Thanksgiving week 2024: Thursday closed, Friday closes at 13:00 New York (18:00Z).
        let from = at("2024-11-25T05:00:00Z");
        let to = at("2024-11-30T05:00:00Z");
        let starts = |w: Width| -> Vec<String> {
            series("AAPL", w)
                .all(from, to)
                .iter()
                .map(|b| b.start.to_string())
                .collect()
        };
        let now = at("2024-12-02T00:00:00Z");
        assert_eq!(
            Series::new("AAPL", Width::Day, now)
                .all(from, to)
                .iter()
                .map(|b| b.start.to_string())
                .collect::<Vec<_>>(),
            [
                "2024-11-25T05:00:00Z",
                "2024-11-26T05:00:00Z",
                "2024-11-27T05:00:00Z",
                "2024-11-29T05:00:00Z"
            ]
        );
        assert!(starts(Width::Day).is_empty(), "all after the sandbox's now");
        let friday = at("2024-11-29T05:00:00Z");
        let minutes = Series::new("AAPL", Width::Minutes(1), now).all(friday, to);
        assert_eq!(minutes.len(), 210, "09:30 to 13:00");
        assert_eq!(minutes[0].start, at("2024-11-29T14:30:00Z"));
        assert_eq!(minutes[209].start, at("2024-11-29T17:59:00Z"));
        let hours = Series::new("AAPL", Width::Minutes(60), now).all(friday, to);
        let labels: Vec<String> = hours.iter().map(|b| b.start.to_string()).collect();
        assert_eq!(
            labels,
            [
                "2024-11-29T14:30:00Z",
                "2024-11-29T15:30:00Z",
                "2024-11-29T16:30:00Z",
                "2024-11-29T17:30:00Z"
            ],
            "09:30, 10:30, 11:30 and 12:30 (cut at 13:00)"
        );
        // Holidays: New Year's Day and Independence Day 2024, Thanksgiving 2026.
        for holiday in ["2024-01-01", "2024-07-04", "2026-11-26"] {
            let d = date(holiday);
            let (from, to) = (daily_bar_start(d), daily_bar_start(d.tomorrow().unwrap()));
            let later = at("2027-01-01T00:00:00Z");
            for w in [Width::Minutes(1), Width::Minutes(60), Width::Day] {
                let s = Series::new("AAPL", w, later);
                assert!(s.all(from, to).is_empty(), "{holiday} {w:?}");
                assert!(s.hours(Hours::Extended).all(from, to).is_empty());
            }
        }
    }

    #[test]
    fn nothing_after_now_exists() {
        let d = date("2024-03-08");
        let (from, to) = (daily_bar_start(d), daily_bar_start(d.tomorrow().unwrap()));
        let counts = |now: &str| -> [usize; 4] {
            let get = |w| Series::new("MSFT", w, at(now)).all(from, to);
            [
                get(Width::Minutes(1)).len(),
                get(Width::Minutes(60)).len(),
                get(Width::Day).len(),
                get(Width::Week).len(),
            ]
        };
        assert_eq!(
            counts("2024-03-08T14:00:00Z"),
            [0, 0, 0, 0],
            "before the open"
        );
        assert_eq!(
            counts("2024-03-08T14:30:59Z"),
            [0, 0, 0, 0],
            "in the first minute"
        );
        assert_eq!(
            counts("2024-03-08T15:00:00Z"),
            [30, 1, 1, 0],
            "10:00 New York"
        );
        assert_eq!(counts("2024-03-08T15:31:10Z"), [61, 2, 1, 0], "10:31:10");
        assert_eq!(
            counts("2024-03-08T21:00:00Z"),
            [390, 7, 1, 0],
            "at the close"
        );
        // The week of Monday 2024-03-04 starts before this range; the day's bar is in it.
        let ten = at("2024-03-08T15:00:00Z");
        let minutes = Series::new("MSFT", Width::Minutes(1), ten).all(from, to);
        let hour = Series::new("MSFT", Width::Minutes(60), ten).all(from, to);
        let day = Series::new("MSFT", Width::Day, ten).all(from, to);
        assert_eq!(
            market::aggregate(minutes[0].start, &minutes).as_ref(),
            hour.first()
        );
        assert_eq!(market::aggregate(from, &minutes).as_ref(), day.first());
        assert!(day[0].volume < market::daily("MSFT", d).volume);
        let week = Series::new("MSFT", Width::Week, ten).all(at("2024-03-04T05:00:00Z"), to);
        assert_eq!(week.len(), 1);
        assert_eq!(
            week[0].close, day[0].close,
            "the week so far ends with today so far"
        );
        assert!(minutes.iter().all(|b| b.start < ten));
        // A weekend and a holiday: the range is in the past, everything is whole.
        for now in ["2024-03-09T15:00:00Z", "2024-03-11T04:00:00Z"] {
            assert_eq!(counts(now), [390, 7, 1, 0], "{now}");
        }
    }

    #[test]
    fn extended_hours_widen_only_intraday_bars() {
        let d = date("2024-03-08");
        let (from, to) = (daily_bar_start(d), daily_bar_start(d.tomorrow().unwrap()));
        let now = at("2024-03-11T00:00:00Z");
        let get = |w, hours| Series::new("IBM", w, now).hours(hours).all(from, to);
        let extended = get(Width::Minutes(60), Hours::Extended);
        let regular = get(Width::Minutes(60), Hours::Regular);
        assert_eq!(extended.len(), 16, "04:00 to 20:00 New York, on the hour");
        assert_eq!(extended[0].start, at("2024-03-08T09:00:00Z"));
        assert_eq!(extended[15].start, at("2024-03-09T00:00:00Z"));
        assert_eq!(regular.len(), 7, "09:30 to 16:00, from the open");
        assert_eq!(
            get(Width::Minutes(15), Hours::Extended).len(),
            64,
            "16 hours of quarters"
        );
        assert_eq!(
            get(Width::Day, Hours::Extended),
            get(Width::Day, Hours::Regular)
        );
    }

    #[test]
    fn pages_in_either_order_hold_every_bar_once() {
        let s = series("AAPL", Width::Minutes(1));
        let (from, to) = (at("2024-02-26T05:00:00Z"), at(NOW));
        let all = s.all(from, to);
        assert_eq!(all.len(), 10 * 390);
        for (order, limit) in [(Order::Asc, 1000), (Order::Desc, 777), (Order::Asc, 1)] {
            let mut seen: Vec<SynthBar> = Vec::new();
            let (mut lo, mut hi) = (from, to);
            loop {
                let page = s.page(lo, hi, order, limit);
                assert!(page.len() <= limit);
                let Some(last) = page.last() else { break };
                match order {
                    Order::Asc => {
                        lo = last
                            .start
                            .checked_add(SignedDuration::from_nanos(1))
                            .unwrap()
                    }
                    Order::Desc => hi = last.start,
                }
                seen.extend(page);
                if limit == 1 && seen.len() > 500 {
                    break;
                }
            }
            if order == Order::Desc {
                seen.reverse();
                assert_eq!(seen, all);
            } else if limit == 1 {
                assert_eq!(seen[..], all[..seen.len()]);
            } else {
                assert_eq!(seen, all);
            }
        }
    }

    /// Generation speed (printed; run with `--nocapture` to see it). Generous bounds: a debug
    /// build on a slow machine passes.
    #[test]
    fn generation_is_fast() {
        let now = at(NOW);
        let started = std::time::Instant::now();
        let daily = Series::new("AAPL", Width::Day, now).all(at("2004-03-08T05:00:00Z"), now);
        let twenty_years = started.elapsed();
        assert!(daily.len() > 5000);
        let started = std::time::Instant::now();
        let d = daily_bar_start(date("2024-03-08"));
        let mut bars = 0;
        for i in 0..100 {
            let symbol = format!("S{i}");
            bars += Series::new(&symbol, Width::Minutes(1), now)
                .all(d, now)
                .len();
        }
        let hundred = started.elapsed();
        assert_eq!(bars, 100 * 390);
        println!(
            "20 years of daily bars: {twenty_years:?}; 100 symbols × a day of 1m: {hundred:?}"
        );
        assert!(twenty_years.as_secs() < 2 && hundred.as_secs() < 5);
    }
}
