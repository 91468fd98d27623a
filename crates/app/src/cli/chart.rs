//! `stockdata bars --chart`: each symbol's closes as a line chart on the terminal.
//!
//! ratatui-widgets' `Chart` (Braille marker) draws into a ratatui-core `Buffer` as wide as the
//! terminal and [`HEIGHT`] rows high; the buffer's cells are printed as text lines. Prices stay
//! `Decimal` for every label (the provider's decimals, no float artefacts); `f64` is used for
//! plotting only. Bars are plotted one per step, so nights, weekends and holidays leave no gap.

use std::fmt::Write as _;
use std::io::{self, Write};

use ratatui_core::buffer::{Buffer, Cell};
use ratatui_core::layout::{Alignment, Rect};
use ratatui_core::style::{Color, Style as CellStyle};
use ratatui_core::symbols::Marker;
use ratatui_core::widgets::Widget as _;
use ratatui_widgets::chart::{Axis, Chart, Dataset, GraphType};
use stockdata_app::domain::time::new_york_date;
use stockdata_app::domain::{Bar, Decimal, Symbol};

use super::output::for_terminal;
use super::table::Style;

/// Rows of the chart itself (the title line comes on top).
const HEIGHT: u16 = 15;
/// Columns when the width is unknown (not a terminal).
const DEFAULT_WIDTH: usize = 80;
/// The narrowest chart drawn: room for labels and a few points.
const MIN_WIDTH: u16 = 20;

/// Draws one chart per symbol (and interval) in `bars`, in their order, a blank line between.
///
/// # Errors
/// Writing fails.
pub(crate) fn bars(out: &mut dyn Write, style: &Style, bars: &[Bar]) -> io::Result<()> {
    if bars.is_empty() {
        return writeln!(out, "no bars");
    }
    let groups = bars.chunk_by(|a, b| a.symbol == b.symbol && a.interval == b.interval);
    for (i, group) in groups.enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        if let Some(first) = group.first() {
            series(out, style, &first.symbol, group)?;
        }
    }
    Ok(())
}

/// Draws `symbol`'s bars (oldest first, one interval), or says there are none.
///
/// # Errors
/// Writing fails.
pub(crate) fn series(
    out: &mut dyn Write,
    style: &Style,
    symbol: &Symbol,
    bars: &[Bar],
) -> io::Result<()> {
    let (Some(first), Some(last)) = (bars.first(), bars.last()) else {
        return writeln!(out, "no bars for {symbol}");
    };
    let closes: Vec<Decimal> = bars.iter().map(|b| b.close).collect();
    let scale = closes.iter().map(Decimal::scale).max().unwrap_or(0);
    let (min, max) = closes
        .iter()
        .fold((first.close, first.close), |(lo, hi), c| {
            (lo.min(*c), hi.max(*c))
        });
    let trend = last.close.cmp(&first.close);
    let colour = match trend {
        _ if !style.colour => None,
        std::cmp::Ordering::Greater => Some(Color::Green),
        std::cmp::Ordering::Less => Some(Color::Red),
        std::cmp::Ordering::Equal => None,
    };

    let width = u16::try_from(style.width.unwrap_or(DEFAULT_WIDTH))
        .unwrap_or(u16::MAX)
        .max(MIN_WIDTH);
    writeln!(
        out,
        "{}",
        title(style, first, last, scale, colour, usize::from(width))
    )?;

    let mut points = Vec::with_capacity(bars.len());
    let mut x = 0.0;
    for close in &closes {
        points.push((x, plot(*close)));
        x += 1.0;
    }
    let (first_label, last_label) = (when(style, first), when(style, last));
    // A single bar sits in the middle, under its one date.
    let (x_bounds, x_labels) = if bars.len() == 1 {
        ([-1.0, 1.0], vec![String::new(), first_label, String::new()])
    } else {
        ([0.0, x - 1.0], vec![first_label, last_label])
    };
    // A flat series is drawn across the middle, next to its one price.
    let (y_bounds, y_labels) = if min == max {
        let v = plot(min);
        let pad = (v.abs() / 100.0).max(0.01);
        (
            [v - pad, v + pad],
            vec![String::new(), price(min, scale), String::new()],
        )
    } else {
        (
            [plot(min), plot(max)],
            vec![price(min, scale), price(max, scale)],
        )
    };

    let mut dataset = Dataset::default()
        .marker(Marker::Braille)
        .graph_type(GraphType::Line)
        .data(&points);
    if let Some(c) = colour {
        dataset = dataset.style(CellStyle::default().fg(c));
    }
    let chart = Chart::new(vec![dataset])
        .legend_position(None)
        .x_axis(
            Axis::default()
                .bounds(x_bounds)
                .labels(x_labels)
                .labels_alignment(Alignment::Right),
        )
        .y_axis(
            Axis::default()
                .bounds(y_bounds)
                .labels(y_labels)
                .labels_alignment(Alignment::Right),
        );
    let area = Rect::new(0, 0, width, HEIGHT);
    let mut buffer = Buffer::empty(area);
    chart.render(area, &mut buffer);
    print(out, &buffer, usize::from(width))
}

/// `AAPL 1d 2023-12-08 to 2024-03-08  last 185.92  +3.12%` (the change over the range),
/// without the range when that does not fit in `width`.
fn title(
    style: &Style,
    first: &Bar,
    last: &Bar,
    scale: u32,
    colour: Option<Color>,
    width: usize,
) -> String {
    let head = format!("{} {}", for_terminal(first.symbol.as_str()), first.interval);
    let (from, to) = (when(style, first), when(style, last));
    let mut range = from.clone();
    if first.interval.is_intraday() {
        // `2024-03-08 09:30 to 15:30 EST`: the date once when the range is within a day.
        let same_day = from.get(..10).is_some_and(|d| to.starts_with(d));
        let to = if same_day {
            to.get(11..).unwrap_or(&to)
        } else {
            &to
        };
        let zone = style.tz.to_offset_info(last.start);
        let _ = write!(range, " to {to} {}", zone.abbreviation());
    } else if to != from {
        let _ = write!(range, " to {to}");
    }
    let pct = change_percent(first.close, last.close);
    let tail = format!("last {}", price(last.close, scale));
    let pct_width = pct.as_ref().map_or(0, |p| p.len() + 3);
    let mut line = format!("{head} {range}  {tail}");
    if line.chars().count() + pct_width > width {
        line = format!("{head}  {tail}");
    }
    if let Some(pct) = pct {
        let text = format!("{pct}%");
        line.push_str("  ");
        match colour {
            Some(Color::Green) => paint(&mut line, console::Style::new().green(), &text),
            Some(Color::Red) => paint(&mut line, console::Style::new().red(), &text),
            _ => line.push_str(&text),
        }
    }
    line
}

/// `+3.12`, `-0.50`, `0.00`: the change from `from` to `to` in percent, two decimals; none
/// from a zero price (or one `Decimal` cannot divide).
fn change_percent(from: Decimal, to: Decimal) -> Option<String> {
    let mut pct = to
        .checked_sub(from)?
        .checked_mul(Decimal::ONE_HUNDRED)?
        .checked_div(from)?
        .round_dp(2);
    pct.rescale(2);
    Some(if pct > Decimal::ZERO {
        format!("+{pct}")
    } else {
        pct.to_string()
    })
}

/// A price with `scale` decimals (the most any close of the series has): exact, from the
/// `Decimal`.
fn price(mut value: Decimal, scale: u32) -> String {
    value.rescale(scale);
    value.to_string()
}

/// A close as a plotting coordinate (the only place a price becomes a float).
fn plot(value: Decimal) -> f64 {
    f64::try_from(value).unwrap_or(0.0)
}

/// When a bar is: its New York trading date for daily and longer bars, its start in `--tz`
/// for intraday ones.
fn when(style: &Style, bar: &Bar) -> String {
    if bar.interval.is_intraday() {
        style
            .tz
            .to_datetime(bar.start)
            .strftime("%Y-%m-%d %H:%M")
            .to_string()
    } else {
        new_york_date(bar.start).to_string()
    }
}

/// The buffer's rows as text, trailing spaces trimmed; cells with a foreground colour are
/// painted (the buffer holds colour only when the style allows it).
fn print(out: &mut dyn Write, buffer: &Buffer, width: usize) -> io::Result<()> {
    for row in buffer.content().chunks(width) {
        let mut line = String::with_capacity(width * 3);
        for run in row.chunk_by(|a, b| a.fg == b.fg) {
            let text: String = run.iter().map(Cell::symbol).collect();
            match run.first().map(|c| c.fg) {
                Some(Color::Green) => paint(&mut line, console::Style::new().green(), &text),
                Some(Color::Red) => paint(&mut line, console::Style::new().red(), &text),
                _ => line.push_str(&text),
            }
        }
        writeln!(out, "{}", line.trim_end_matches(' '))?;
    }
    Ok(())
}

fn paint(line: &mut String, style: console::Style, text: &str) {
    let _ = write!(line, "{}", style.force_styling(true).apply_to(text));
}

#[cfg(test)]
mod tests {
    use jiff::tz::TimeZone;
    use stockdata_app::domain::time::daily_bar_start;
    use stockdata_app::domain::{Date, Interval, Provenance, ProviderId, Timestamp};

    use super::*;

    fn bar(symbol: &str, interval: Interval, start: Timestamp, close: &str) -> Bar {
        let close: Decimal = close.parse().unwrap();
        Bar {
            symbol: Symbol::parse(symbol).unwrap(),
            interval,
            start,
            open: close,
            high: close,
            low: close,
            close,
            volume: 1000,
            vwap: None,
            trades: None,
            provenance: Provenance::new(
                ProviderId::from_static("alpaca"),
                "2024-03-08T21:30:00Z".parse().unwrap(),
            ),
        }
    }

    /// Daily bars on consecutive weekdays from 2024-01-02, one per close.
    fn daily(symbol: &str, closes: &[&str]) -> Vec<Bar> {
        let mut date: Date = "2024-01-02".parse().unwrap();
        closes
            .iter()
            .map(|c| {
                let b = bar(symbol, Interval::Day1, daily_bar_start(date), c);
                date = date.tomorrow().unwrap();
                while matches!(date.weekday(), jiff::civil::Weekday::Saturday)
                    || matches!(date.weekday(), jiff::civil::Weekday::Sunday)
                {
                    date = date.tomorrow().unwrap();
                }
                b
            })
            .collect()
    }

    fn style(width: Option<usize>) -> Style {
        Style {
            tz: TimeZone::get("America/New_York").unwrap(),
            colour: false,
            width,
        }
    }

    fn draw(style: &Style, bars: &[Bar]) -> String {
        let mut out = Vec::new();
        super::bars(&mut out, style, bars).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn assert_plain(text: &str) {
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(text.lines().all(|l| !l.ends_with(' ')), "{text}");
    }

    #[test]
    fn rising_daily_series() {
        let bars = daily(
            "AAPL",
            &[
                "181.1800", "184.2500", "181.9100", "185.5600", "185.1400", "186.1900", "185.5900",
                "187.4400", "188.0100", "191.5600",
            ],
        );
        let text = draw(&style(None), &bars);
        assert_plain(&text);
        assert!(text.lines().next().unwrap().ends_with("+5.73%"), "{text}");
        assert!(
            text.contains("191.5600") && text.contains("181.1800"),
            "{text}"
        );
        assert!(text.chars().any(|c| ('\u{2801}'..='\u{28FF}').contains(&c)));
        insta::assert_snapshot!(text);
    }

    #[test]
    fn falling_intraday_series() {
        let start: Timestamp = "2024-03-08T14:30:00Z".parse().unwrap();
        let closes = [
            "412.5", "411.98", "410.2", "409.75", "405.1", "406.3", "401.07",
        ];
        let bars: Vec<Bar> = closes
            .iter()
            .zip(0..)
            .map(|(c, h)| {
                let at = start + jiff::SignedDuration::from_hours(h);
                bar("MSFT", Interval::Hour1, at, c)
            })
            .collect();
        let text = draw(&style(None), &bars);
        assert_plain(&text);
        // Labels keep two decimals, as the most precise close has them.
        assert!(text.contains("401.07") && text.contains("412.50"), "{text}");
        assert!(text.contains("2024-03-08 09:30") && text.contains("2024-03-08 15:30"));
        insta::assert_snapshot!(text);
    }

    #[test]
    fn flat_series() {
        let bars = daily("KO", &["60.10", "60.10", "60.10", "60.10"]);
        let text = draw(&style(None), &bars);
        assert_plain(&text);
        assert!(text.lines().next().unwrap().ends_with("  0.00%"), "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn single_bar() {
        let bars = daily("NVDA", &["875.28"]);
        let text = draw(&style(None), &bars);
        assert_plain(&text);
        insta::assert_snapshot!(text);
    }

    #[test]
    fn width_40() {
        let bars = daily(
            "AAPL",
            &["181.18", "184.25", "181.91", "185.56", "185.14", "186.19"],
        );
        let text = draw(&style(Some(40)), &bars);
        assert_plain(&text);
        assert!(text.lines().all(|l| l.chars().count() <= 40), "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn each_symbol_gets_its_chart_and_no_bars_say_so() {
        let mut bars = daily("AAPL", &["1", "2"]);
        bars.extend(daily("MSFT", &["3", "2"]));
        let text = draw(&style(None), &bars);
        let titles: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("AAPL") || l.starts_with("MSFT"))
            .collect();
        assert_eq!(titles.len(), 2, "{text}");
        assert_eq!(draw(&style(None), &[]), "no bars\n");
        let mut out = Vec::new();
        series(&mut out, &style(None), &Symbol::parse("IBM").unwrap(), &[]).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "no bars for IBM\n");
    }

    #[test]
    fn colour_only_when_the_style_allows_it() {
        let up = daily("AAPL", &["1.00", "2.00"]);
        let mut coloured = style(None);
        coloured.colour = true;
        let text = draw(&coloured, &up);
        assert!(text.contains("\u{1b}[32m"), "{text}");
        let down = daily("AAPL", &["2.00", "1.00"]);
        assert!(draw(&coloured, &down).contains("\u{1b}[31m"));
        assert_plain(&draw(&style(None), &up));
    }
}
