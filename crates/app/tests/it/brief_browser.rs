//! The HTML brief as a person sees it: rendered by headless Chromium at a desktop and a phone
//! width, light and dark, then screenshotted. Each chart's box must hold drawn pixels, nothing
//! may reach past the screen's edge or out of its box, and the dark page must be dark.
//!
//! Chromium is the distribution's (`.ci/run` installs it; `STOCKDATA_CHROMIUM` names another).
//! `STOCKDATA_BROWSER_SHOTS=DIR` keeps the screenshots in DIR, to look at.
//! Without it the tests fail under CI and say they skipped elsewhere.
//!
//! The page is shown in an `<iframe>` exactly as wide as the screen tested (headless Chromium
//! will not make its window narrower than 500 px), through `srcdoc`, so the probe script beside
//! it can read the page's layout without running anything inside the page itself.

use std::path::{Path, PathBuf};
use std::process::Command;

use stockdata_app::brief::{self, Brief, html};
use stockdata_app::domain::calendar;
use stockdata_app::domain::time::daily_bar_start;
use stockdata_app::domain::{
    Bar, Decimal, Interval, NewsArticle, Provenance, ProviderId, Sentiment, SentimentLabel, Symbol,
    TickerSentiment, Timestamp,
};

use super::cli::{stdout, stockdata, workdir};

/// A desktop and a phone (CSS pixels).
const DESKTOP: u32 = 1280;
const PHONE: u32 = 390;

/// What Chromium is called with: no GPU, no sandbox (CI runs as root), nothing sent anywhere.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--mute-audio",
];

/// The installed Chromium, or why there is none (an error under CI).
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("STOCKDATA_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let names = [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ];
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        let reason = "Chromium is not installed: apt-get install -y chromium (or set \
                      STOCKDATA_CHROMIUM) to run the browser tests of the HTML brief";
        assert!(std::env::var_os("CI").is_none(), "{reason}");
        eprintln!("skipped: {reason}");
    }
    found
}

/// The layout read off the page by the probe.
#[derive(Debug, Default)]
struct Layout {
    /// The page's viewport width, and how wide and tall its content is.
    viewport: u32,
    content_width: u32,
    content_height: u32,
    /// Each chart: symbol, and its box (left, top, width, height).
    charts: Vec<(String, [u32; 4])>,
    /// Elements reaching past the viewport or out of their own box.
    overflow: Vec<String>,
    /// The body's background colour (`rgb(r, g, b)`).
    background: String,
}

/// The script that measures the framed page and prints one line per finding.
const PROBE: &str = r#"
const f = document.getElementById('page');
f.addEventListener('load', () => {
  const d = f.contentDocument, w = f.contentWindow, W = w.innerWidth;
  const out = ['viewport ' + W + ' ' + d.documentElement.scrollWidth + ' ' +
               d.documentElement.scrollHeight];
  for (const svg of d.querySelectorAll('figure.chart svg')) {
    const r = svg.getBoundingClientRect();
    out.push('chart ' + svg.closest('figure').dataset.symbol + ' ' +
             [r.left, r.top, r.width, r.height].map(Math.round).join(' '));
  }
  for (const e of d.body.querySelectorAll('*')) {
    const r = e.getBoundingClientRect();
    const style = w.getComputedStyle(e);
    const spills = style.overflowX === 'visible' && e.clientWidth > 0 &&
                   e.scrollWidth > e.clientWidth + 1;
    if (r.right > W + 0.5 || r.left < -0.5 || spills) {
      const name = e.tagName.toLowerCase() + '.' + (e.getAttribute('class') || '');
      out.push('overflow ' + name + ' right=' +
               Math.round(r.right) + ' scroll=' + e.scrollWidth + '/' + e.clientWidth);
    }
  }
  out.push('background ' + w.getComputedStyle(d.body).backgroundColor);
  const p = document.createElement('pre');
  p.id = 'probe';
  p.textContent = out.join('\n');
  document.body.append(p);
});
"#;

/// A page holding `page` in a frame `width` × `height`, with the probe when `probe`.
fn harness(page: &str, width: u32, height: u32, probe: bool) -> String {
    let mut srcdoc = String::new();
    std::fmt::Write::write_str(&mut maud::Escaper::new(&mut srcdoc), page).unwrap();
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body style=\"margin:0\">\
         <iframe id=\"page\" style=\"border:0;display:block;width:{width}px;height:{height}px\" \
         srcdoc=\"{srcdoc}\"></iframe>{}</body></html>",
        if probe {
            format!("<script>{PROBE}</script>")
        } else {
            String::new()
        }
    )
}

/// Runs Chromium on `file` with a window `width` × `height` and `extra` flags; its stdout.
fn run(
    chromium: &Path,
    dir: &Path,
    file: &Path,
    width: u32,
    height: u32,
    extra: &[&str],
) -> String {
    let profile = tempfile::tempdir_in(dir).unwrap();
    let out = Command::new(chromium)
        .args(FLAGS)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--window-size={},{height}", width.max(500)))
        .args(extra)
        .arg(format!("file://{}", file.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn measure(chromium: &Path, dir: &Path, page: &str, width: u32, extra: &[&str]) -> Layout {
    let file = dir.join(format!("probe-{width}.html"));
    std::fs::write(&file, harness(page, width, 2_000, true)).unwrap();
    let mut flags = vec!["--dump-dom"];
    flags.extend_from_slice(extra);
    let dom = run(chromium, dir, &file, width, 2_000, &flags);
    let start = dom.find("<pre id=\"probe\">").expect("the probe ran") + "<pre id=\"probe\">".len();
    let text = &dom[start..dom[start..].find("</pre>").map_or(dom.len(), |e| start + e)];
    let mut layout = Layout::default();
    for line in text.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let num = |i: usize| fields[i].parse::<i64>().unwrap().max(0) as u32;
        match fields[0] {
            "viewport" => {
                (layout.viewport, layout.content_width, layout.content_height) =
                    (num(1), num(2), num(3));
            }
            "chart" => layout
                .charts
                .push((fields[1].to_owned(), [num(2), num(3), num(4), num(5)])),
            "overflow" => layout.overflow.push(fields[1..].join(" ")),
            "background" => layout.background = fields[1..].join(" "),
            _ => {}
        }
    }
    layout
}

/// A screenshot of `page` `width` wide and as tall as its content: RGB pixels, row by row.
fn screenshot(
    chromium: &Path,
    dir: &Path,
    page: &str,
    width: u32,
    height: u32,
    extra: &[&str],
    name: &str,
) -> (u32, u32, Vec<u8>) {
    let file = dir.join(format!("shot-{name}.html"));
    std::fs::write(&file, harness(page, width, height, false)).unwrap();
    let png = dir.join(format!("{name}.png"));
    let flag = format!("--screenshot={}", png.display());
    let mut flags = vec![flag.as_str()];
    flags.extend_from_slice(extra);
    run(chromium, dir, &file, width, height, &flags);
    // To look at what the test saw: STOCKDATA_BROWSER_SHOTS=DIR keeps the screenshots there.
    if let Some(keep) = std::env::var_os("STOCKDATA_BROWSER_SHOTS") {
        let keep = Path::new(&keep);
        std::fs::create_dir_all(keep).unwrap();
        let title = page.len();
        std::fs::copy(&png, keep.join(format!("brief-{title}-{name}.png"))).unwrap();
    }
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let rgb: Vec<u8> = buf[..info.buffer_size()]
        .chunks(channels)
        .flat_map(|px| px[..3].to_vec())
        .collect();
    (info.width, info.height, rgb)
}

/// Shares of a box's pixels unlike its most common colour (its background).
fn drawn_share(image: &(u32, u32, Vec<u8>), [left, top, width, height]: [u32; 4]) -> f64 {
    let (w, h, px) = image;
    let mut counts = std::collections::HashMap::<[u8; 3], u32>::new();
    let mut pixels = Vec::new();
    for y in top..(top + height).min(*h) {
        for x in left..(left + width).min(*w) {
            let i = ((y * w + x) * 3) as usize;
            let p = [px[i], px[i + 1], px[i + 2]];
            *counts.entry(p).or_default() += 1;
            pixels.push(p);
        }
    }
    let Some((background, _)) = counts.into_iter().max_by_key(|(_, n)| *n) else {
        return 0.0;
    };
    let unlike = pixels
        .iter()
        .filter(|p| {
            p.iter()
                .zip(background)
                .map(|(a, b)| i32::from(*a).abs_diff(i32::from(b)))
                .sum::<u32>()
                > 48
        })
        .count();
    unlike as f64 / pixels.len().max(1) as f64
}

fn luma(rgb: &[u8]) -> u32 {
    (u32::from(rgb[0]) * 299 + u32::from(rgb[1]) * 587 + u32::from(rgb[2]) * 114) / 1000
}

/// Renders `page` at both widths (and dark at the phone's) and checks what a reader would see.
fn check(page: &str, symbols: &[&str]) {
    let Some(chromium) = chromium() else {
        return;
    };
    let dir = workdir();
    for (width, dark) in [(DESKTOP, false), (PHONE, false), (PHONE, true)] {
        let extra: &[&str] = if dark { &["--force-dark-mode"] } else { &[] };
        let what = format!("{width} px{}", if dark { ", dark" } else { "" });
        let layout = measure(&chromium, dir.path(), page, width, extra);
        assert_eq!(
            layout.viewport, width,
            "{what}: the page is laid out {width} px wide"
        );
        assert!(
            layout.content_width <= width,
            "{what}: the page is {} px wide: it scrolls sideways",
            layout.content_width
        );
        assert!(
            layout.overflow.is_empty(),
            "{what}: overflowing: {:#?}",
            layout.overflow
        );
        let charted: Vec<&str> = layout.charts.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(
            charted, symbols,
            "{what}: one chart per symbol with a price"
        );
        for (symbol, [_, _, w, h]) in &layout.charts {
            assert!(
                *w >= width.min(600) / 2,
                "{what}: {symbol}'s chart is {w} px wide"
            );
            assert!(*h >= 100, "{what}: {symbol}'s chart is {h} px high");
        }
        let name = format!("{width}{}", if dark { "-dark" } else { "" });
        let image = screenshot(
            &chromium,
            dir.path(),
            page,
            width,
            layout.content_height,
            extra,
            &name,
        );
        assert!(
            image.0 >= width && image.1 >= layout.content_height,
            "{what}: screenshot size"
        );
        for (symbol, rect) in &layout.charts {
            let share = drawn_share(&image, *rect);
            // A line, ranges, volume bars and labels: several percent of the box; an empty
            // or unrendered chart is under one.
            assert!(
                share > 0.03,
                "{what}: {symbol}'s chart is blank ({share:.3} drawn)"
            );
        }
        let corner = &image.2[..3];
        if dark {
            assert!(
                layout.background.contains("13, 17, 23"),
                "{}",
                layout.background
            );
            assert!(
                luma(corner) < 40,
                "{what}: the page is not dark: {corner:?}"
            );
        } else {
            assert!(
                luma(corner) > 220,
                "{what}: the page is not light: {corner:?}"
            );
        }
    }
}

#[test]
fn the_sandbox_brief_reads_on_a_desktop_a_phone_and_in_the_dark() {
    let dir = workdir();
    let html = dir.path().join("brief.html");
    stdout(
        stockdata().args([
            "--sandbox",
            "--now",
            "2024-03-11T12:00:00Z",
            "brief",
            "--watchlist",
            "AAPL,MSFT,NVDA,BRK.B,ZZZZ",
            "--output",
            html.to_str().unwrap(),
        ]),
        3,
    );
    let page = std::fs::read_to_string(&html).unwrap();
    check(&page, &["AAPL", "MSFT", "NVDA", "BRK.B"]);
}

/// A brief of hostile and extreme values: a 300-letter word, markup and bidi overrides in a
/// headline, a `javascript:` link, a nine-digit price with six decimals, a penny stock.
fn hostile_brief() -> Brief {
    let session = calendar::session("2024-03-08".parse().unwrap()).unwrap();
    let dates = brief::session_dates(session.date, 31);
    let at: Timestamp = "2024-03-11T12:00:00Z".parse().unwrap();
    let series = |symbol: &str, base: &str| -> Vec<Bar> {
        let base: Decimal = base.parse().unwrap();
        dates
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let step = Decimal::from(i as u64) * base / Decimal::from(200);
                let close = base + step;
                Bar {
                    symbol: Symbol::parse(symbol).unwrap(),
                    interval: Interval::Day1,
                    start: daily_bar_start(*d),
                    open: close,
                    high: close + base / Decimal::from(50),
                    low: close - base / Decimal::from(50),
                    close,
                    volume: 1_000_000_000 + i as u64 * 7_654_321,
                    vwap: None,
                    trades: None,
                    provenance: Provenance::new(ProviderId::new("alpaca"), at),
                }
            })
            .collect()
    };
    let article = |symbol: &str, headline: String, url: &str| NewsArticle {
        id: format!("x:{}", headline.len()),
        headline,
        summary: String::new(),
        url: url.to_owned(),
        source: "W".repeat(120),
        published_at: "2024-03-08T22:00:00Z".parse().unwrap(),
        symbols: vec![Symbol::parse(symbol).unwrap()],
        author: None,
        image: None,
        sentiment: Some(Sentiment {
            score: "-0.987654".parse().unwrap(),
            label: SentimentLabel::Other("Extremely-Very-Somewhat-Bearish-Label".to_owned()),
            tickers: vec![TickerSentiment {
                symbol: Symbol::parse(symbol).unwrap(),
                relevance: "1".parse().unwrap(),
                score: "0.5".parse().unwrap(),
                label: SentimentLabel::Bullish,
            }],
        }),
        provenance: Provenance::new(ProviderId::new("alpha_vantage"), at),
    };
    brief::build(
        session,
        &dates,
        at,
        3,
        vec![
            (
                Symbol::parse("BRK.A").unwrap(),
                Ok(series("BRK.A", "712345678.123456")),
                Ok(vec![
                    article(
                        "BRK.A",
                        "A".repeat(300),
                        "https://example.com/".repeat(20).as_str(),
                    ),
                    article(
                        "BRK.A",
                        "<script>alert(1)</script> \u{202E}desrever <b>bold</b>".to_owned(),
                        "javascript:alert(1)",
                    ),
                ]),
            ),
            (
                Symbol::parse("PENNY").unwrap(),
                Ok(series("PENNY", "0.0001")),
                Ok(Vec::new()),
            ),
        ],
    )
}

#[test]
fn hostile_and_extreme_values_stay_inside_the_page() {
    let page = html::render(&hostile_brief());
    assert!(!page.contains("<script>alert"), "markup is escaped");
    assert!(!page.contains("href=\"javascript:"), "no javascript: link");
    assert!(!page.contains('\u{202E}'), "no bidi override");
    check(&page, &["BRK.A", "PENNY"]);
}
