//! A symbol's chart for the brief: closes as a line over each session's high–low range, volume
//! bars beneath, drawn by `plotters` into SVG.
//!
//! Sessions are spaced one per step (nights, weekends and holidays leave no gap); a session
//! without a bar leaves a gap in the line. Colours read on light and dark pages alike; text is
//! `currentColor`-free `fill` that a page (or the standalone file's own style) recolours for
//! dark mode. Prices become `f64` here only, to be drawn; every label is written from the
//! `Decimal`s.

use plotters::coord::Shift;
use plotters::prelude::*;
use stockdata_domain::time::new_york_date;
use stockdata_domain::{Bar, Date, Decimal};

use super::format::{compact, group, short_date};

/// The drawing's size in SVG user units (it scales to any width).
pub const WIDTH: u32 = 520;
/// See [`WIDTH`].
pub const HEIGHT: u32 = 230;
/// Label text size in user units: about 10 px on a phone-wide chart, 16 px on a desktop card.
const LABEL_SIZE: u32 = 16;
/// Past this many sessions a chart draws no ranges and its volume as one outline: per-session
/// marks would be under two pixels apart, and the page several megabytes.
pub const DENSE: usize = 90;
/// Rows of the price panel; the volume panel has the rest.
const PRICE_ROWS: u32 = 160;

const UP: RGBColor = RGBColor(0x1f, 0x88, 0x3d);
const DOWN: RGBColor = RGBColor(0xcf, 0x22, 0x2e);
const GRID: RGBColor = RGBColor(0x8c, 0x95, 0x9f);
const RANGE: RGBColor = RGBColor(0x8c, 0x95, 0x9f);
const WATERMARK: RGBColor = RGBColor(0xcf, 0x22, 0x2e);

/// What a page's CSS (or the standalone file's) gives the chart's text and grid.
pub const STYLE: &str = "text{fill:#57606a}\
@media (prefers-color-scheme:dark){text{fill:#9198a1}}";

/// The chart of `bars` over `dates` (oldest first) as an `<svg>` element with a `viewBox` and
/// no fixed size, for a page to size; `synthetic` writes SYNTHETIC across it. `None` when there
/// is nothing to draw.
#[must_use]
pub fn svg(symbol: &str, dates: &[Date], bars: &[Bar], synthetic: bool) -> Option<String> {
    let points = points(dates, bars);
    if points.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(8 * 1024);
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, HEIGHT)).into_drawing_area();
        draw(&root, dates, &points, synthetic).ok()?;
        root.present().ok()?;
    }
    let label = format!(
        "{}: closes and volume over the last {} sessions{}",
        escape(symbol),
        dates.len(),
        if synthetic { " (synthetic data)" } else { "" }
    );
    // plotters writes a fixed size; the page sizes the chart (the viewBox keeps its shape).
    let fixed = format!(r#"<svg width="{WIDTH}" height="{HEIGHT}" "#);
    let open = format!(r#"<svg class="chart-svg" role="img" aria-label="{label}" "#);
    Some(out.replacen(&fixed, &open, 1))
}

/// `svg` as a file of its own: an XML declaration, a natural size, and the text colours for
/// light and dark viewers.
#[must_use]
pub fn standalone(svg: &str) -> String {
    let sized = svg.replacen(
        "<svg ",
        &format!(r#"<svg width="{WIDTH}" height="{HEIGHT}" "#),
        1,
    );
    let styled = match sized.find('>') {
        Some(end) => {
            let (head, tail) = sized.split_at(end + 1);
            format!("{head}\n<style>{STYLE}</style>{tail}")
        }
        None => sized,
    };
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{styled}")
}

/// One session drawn: its step, and the bar.
struct Point<'a> {
    x: f64,
    bar: &'a Bar,
    close: f64,
    high: f64,
    low: f64,
}

fn points<'a>(dates: &[Date], bars: &'a [Bar]) -> Vec<Point<'a>> {
    let f = |d: Decimal| f64::try_from(d).ok().filter(|x| x.is_finite());
    bars.iter()
        .filter_map(|bar| {
            let step = dates.iter().position(|d| *d == new_york_date(bar.start))?;
            Some(Point {
                x: f64::from(u32::try_from(step).ok()?),
                bar,
                close: f(bar.close)?,
                high: f(bar.high)?,
                low: f(bar.low)?,
            })
        })
        .collect()
}

fn draw(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    dates: &[Date],
    points: &[Point<'_>],
    synthetic: bool,
) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let n = f64::from(u32::try_from(dates.len()).unwrap_or(u32::MAX));
    let (lo, hi) = points.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
        (lo.min(p.low.min(p.close)), hi.max(p.high.max(p.close)))
    });
    let pad = ((hi - lo) * 0.06).max(hi.abs() * 0.001).max(1e-9);
    let (lo, hi) = (lo - pad, hi + pad);
    // Places enough to tell three ticks apart: at least two below 100,000, none needed above.
    let step = ((hi - lo) / 3.0).max(1e-12);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // 0..=6
    let needed = (-step.log10()).ceil().clamp(0.0, 6.0) as usize;
    let places = if hi >= 100_000.0 {
        needed
    } else {
        needed.max(2)
    };
    let label = |v: f64| group(&format!("{v:.places$}"));
    // Room for the widest label (about 9 units a character at this size).
    let widest = label(lo).len().max(label(hi).len());
    let label_area = u32::try_from(widest * 9 + 14).unwrap_or(160).clamp(40, 160);
    let (first, last) = match (points.first(), points.last()) {
        (Some(f), Some(l)) => (f, l),
        _ => return Ok(()),
    };
    let colour = if last.close >= first.close { UP } else { DOWN };

    let (top, bottom) = root.split_vertically(PRICE_ROWS);
    let mut price = ChartBuilder::on(&top)
        .margin_top(8)
        .margin_right(24)
        .margin_left(4)
        .y_label_area_size(label_area)
        .x_label_area_size(0)
        .build_cartesian_2d(-0.5..n - 0.5, lo..hi)
        .map_err(|e| err(&e))?;
    price
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID.mix(0.35))
        .axis_style(GRID.mix(0.6))
        .y_labels(3)
        .y_label_formatter(&|v| label(*v))
        .label_style(("sans-serif", LABEL_SIZE))
        .draw()
        .map_err(|e| err(&e))?;
    // Each session's range, then the closes (a gap where a session has no bar).
    if points.len() <= DENSE {
        price
            .draw_series(points.iter().map(|p| {
                PathElement::new(
                    vec![(p.x, p.low), (p.x, p.high)],
                    RANGE.mix(0.55).stroke_width(2),
                )
            }))
            .map_err(|e| err(&e))?;
    }
    for run in points.chunk_by(|a, b| (b.x - a.x - 1.0).abs() < f64::EPSILON) {
        price
            .draw_series(LineSeries::new(
                run.iter().map(|p| (p.x, p.close)),
                colour.stroke_width(2),
            ))
            .map_err(|e| err(&e))?;
    }
    price
        .draw_series(std::iter::once(Circle::new(
            (last.x, last.close),
            3,
            colour.filled(),
        )))
        .map_err(|e| err(&e))?;

    let max_volume = points.iter().map(|p| p.bar.volume).max().unwrap_or(0);
    #[allow(clippy::cast_precision_loss)] // drawing only
    let top_volume = (max_volume as f64).max(1.0) * 1.08;
    let mut volume = ChartBuilder::on(&bottom)
        .margin_right(24)
        .margin_left(4)
        .margin_bottom(2)
        .y_label_area_size(label_area)
        .x_label_area_size(22)
        .build_cartesian_2d(-0.5..n - 0.5, 0.0..top_volume)
        .map_err(|e| err(&e))?;
    volume
        .configure_mesh()
        .disable_mesh()
        .axis_style(GRID.mix(0.6))
        .y_labels(2)
        .y_label_formatter(&|v| {
            if *v <= 0.0 {
                String::new()
            } else {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                compact(*v as u64)
            }
        })
        .x_labels(0)
        .label_style(("sans-serif", LABEL_SIZE))
        .draw()
        .map_err(|e| err(&e))?;
    // Each session's volume: a bar coloured by the day's direction; past `DENSE` sessions the
    // bars would be thinner than a pixel, so one filled outline instead.
    #[allow(clippy::cast_precision_loss)] // drawing only
    let shares = |p: &Point<'_>| p.bar.volume as f64;
    if points.len() > DENSE {
        volume
            .draw_series(AreaSeries::new(
                points.iter().map(|p| (p.x, shares(p))),
                0.0,
                GRID.mix(0.45),
            ))
            .map_err(|e| err(&e))?;
    } else {
        volume
            .draw_series(points.iter().enumerate().map(|(i, p)| {
                let previous = i.checked_sub(1).and_then(|j| points.get(j));
                let rose =
                    previous.map_or(p.bar.close >= p.bar.open, |q| p.bar.close >= q.bar.close);
                let c = if rose { UP } else { DOWN };
                Rectangle::new(
                    [(p.x - 0.35, 0.0), (p.x + 0.35, shares(p))],
                    c.mix(0.55).filled(),
                )
            }))
            .map_err(|e| err(&e))?;
    }
    // Dates under the axis: the last session and every third of the way back, only these
    // (a tick per session would be a text element each).
    let last = dates.len().saturating_sub(1);
    let mut labelled: Vec<usize> = (0..3).map(|k| last - (last * k / 3)).collect();
    labelled.dedup();
    let style = ("sans-serif", LABEL_SIZE).into_font().color(&GRID).pos(
        plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Center,
            plotters::style::text_anchor::VPos::Top,
        ),
    );
    for i in labelled {
        let (Some(date), Ok(step)) = (dates.get(i), u32::try_from(i)) else {
            continue;
        };
        let (x, y) = volume.backend_coord(&(f64::from(step), 0.0));
        root.draw(&Text::new(short_date(*date), (x, y + 5), style.clone()))
            .map_err(|e| err(&e))?;
    }

    if synthetic {
        let (w, h) = top.dim_in_pixel();
        let style = ("sans-serif", 40)
            .into_font()
            .color(&WATERMARK.mix(0.28))
            .pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Center,
            ));
        let (x, y) = (
            i32::try_from(w / 2).unwrap_or(0),
            i32::try_from(h / 2).unwrap_or(0),
        );
        top.draw(&Text::new("SYNTHETIC", (x, y), style))
            .map_err(|e| err(&e))?;
    }
    Ok(())
}

/// `text` safe inside an XML attribute.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let _ = std::fmt::Write::write_str(&mut maud::Escaper::new(&mut out), text);
    out
}
