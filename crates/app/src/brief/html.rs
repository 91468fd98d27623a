//! The brief as one self-contained HTML page: inline CSS and inline SVG charts, no script, no
//! external font, image or style sheet. Laid out for a phone first (one column, growing to a
//! grid on wide screens), light or dark after the reader's setting. Provider text is escaped
//! by `maud`; links go only to `http(s)` addresses, with `rel="noopener noreferrer"`.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::format::{
    clean, counted, label, long_date, ny_date_time, ny_time, pct, price, safe_url, score, signed,
    slug, tone, volume,
};
use super::{Brief, Day, Direction, Headline, SymbolBrief, chart};

/// The page's style: CSS variables per colour scheme, fluid type, nothing wider than the
/// screen.
const CSS: &str = r#"
:root{color-scheme:light dark;--bg:#ffffff;--fg:#1f2328;--muted:#59636e;--card:#f6f8fa;
--line:#d1d9e0;--up:#1a7f37;--down:#cf222e;--warn-bg:#fff8c5;--warn-fg:#6c4a00;--link:#0969da}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;
--card:#151b23;--line:#3d444d;--up:#3fb950;--down:#f85149;--warn-bg:#3a2d00;--warn-fg:#f2cc60;
--link:#4493f8}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);line-height:1.45;
font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:72rem;margin:0 auto;padding:1rem}
h1{font-size:1.6rem;margin:.2rem 0}
h2{font-size:1.15rem;margin:0}
p,li,dd,td,th,h1,h2,figcaption{overflow-wrap:anywhere}
a{color:var(--link)}
.meta{color:var(--muted);margin:.2rem 0 1rem}
.synthetic{background:var(--warn-bg);color:var(--warn-fg);border-radius:.4rem;padding:.5rem .75rem;
font-weight:600}
.tag{display:inline-block;background:var(--warn-bg);color:var(--warn-fg);border-radius:.3rem;
padding:0 .35rem;font-size:.75rem;font-weight:600;vertical-align:middle}
.summary p{margin:.4rem 0}
.movers{display:grid;gap:1rem;grid-template-columns:repeat(auto-fit,minmax(min(100%,18rem),1fr));
margin:1rem 0}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:.3rem .4rem;border-bottom:1px solid var(--line);text-align:right}
th:first-child,td:first-child{text-align:left}
th{color:var(--muted);font-weight:500;font-size:.85rem}
.symbols{display:grid;gap:1rem;grid-template-columns:repeat(auto-fill,minmax(min(100%,26rem),1fr))}
.symbol{background:var(--card);border:1px solid var(--line);border-radius:.6rem;padding:.8rem;
min-width:0}
.head{display:flex;flex-wrap:wrap;align-items:baseline;gap:.2rem .6rem}
.close{font-size:1.25rem;font-weight:600;font-variant-numeric:tabular-nums}
.up{color:var(--up)}.down{color:var(--down)}.flat{color:var(--muted)}
.facts{display:flex;flex-wrap:wrap;gap:.2rem 1rem;margin:.4rem 0;color:var(--muted);
font-size:.9rem;font-variant-numeric:tabular-nums}
.facts div{display:flex;gap:.3rem}.facts dt{font-weight:500}.facts dd{margin:0;color:var(--fg)}
figure.chart{margin:.4rem 0}
.chart-svg{display:block;width:100%;height:auto}
.chart-svg text{fill:var(--muted)}
figcaption{color:var(--muted);font-size:.8rem}
.news{list-style:none;padding:0;margin:.4rem 0 0}
.news li{padding:.35rem 0;border-top:1px solid var(--line)}
.news .src{color:var(--muted);font-size:.85rem}
.sent{font-size:.8rem;font-weight:600;white-space:nowrap}
.sent.bull{color:var(--up)}.sent.bear{color:var(--down)}.sent.neutral{color:var(--muted)}
.error{color:var(--down)}
footer{color:var(--muted);font-size:.85rem;margin:1.5rem 0 .5rem}
"#;

/// The brief as one HTML document.
#[must_use]
pub fn render(brief: &Brief) -> String {
    let title = format!("Market brief: {}", long_date(brief.session.date));
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                meta name="generator" content="stockdata";
                title { (title) }
                style { (PreEscaped(CSS)) }
            }
            body {
                main {
                    header {
                        h1 { "Market brief" }
                        p.meta {
                            (long_date(brief.session.date)) " · session "
                            (ny_time(brief.session.open)) "–" (ny_time(brief.session.close))
                            " New York time"
                            @if brief.session.early_close { " (early close)" }
                            " · " (counted(brief.symbols.len(), "symbol", "symbols"))
                        }
                        @if brief.synthetic {
                            p.synthetic role="note" {
                                "Synthetic data from the stockdata sandbox: not market data. "
                                "Every chart and headline below is made up."
                            }
                        }
                    }
                    @if !brief.summary.is_empty() {
                        section.summary aria-label="Summary" {
                            @for sentence in &brief.summary { p { (sentence) } }
                        }
                    }
                    (movers(brief))
                    section.symbols aria-label="Symbols" {
                        @for s in &brief.symbols { (symbol(brief, s)) }
                    }
                    footer {
                        "Generated by stockdata at " (generated(brief)) " from "
                        (providers(brief)) ". Daily bars of the "
                        (brief.dates.len()) " sessions to " (brief.session.date)
                        "; changes against the previous session's close; times in New York."
                    }
                }
            }
        }
    };
    page.into_string()
}

fn generated(brief: &Brief) -> String {
    let ts = brief.generated_at;
    format!("{} UTC", ts.strftime("%Y-%m-%d %H:%M"))
}

fn providers(brief: &Brief) -> String {
    if brief.providers.is_empty() {
        return "no provider".to_owned();
    }
    brief
        .providers
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn movers(brief: &Brief) -> Markup {
    let table = |title: &str, list: &[stockdata_domain::Symbol]| {
        html! {
            div {
                h2 { (title) }
                @if list.is_empty() {
                    p.meta { "None." }
                } @else {
                    table {
                        thead { tr { th { "Symbol" } th { "Close" } th { "Change" } th { "%" } } }
                        tbody {
                            @for s in list {
                                @if let Some(Ok(day)) = brief.get(s).map(|e| e.day.as_ref()) {
                                    @let change = day.change.map(signed).unwrap_or_default();
                                    @let percent = day.change_pct.map(pct).unwrap_or_default();
                                    @let link = format!("#{}", anchor(s.as_str()));
                                    tr {
                                        td { a href=(link) { (s) } }
                                        td { (price(day.bar.close)) }
                                        td class=(direction(day)) { (change) }
                                        td class=(direction(day)) { (percent) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    html! {
        section.movers aria-label="Top movers" {
            (table("Top movers up", &brief.movers.up))
            (table("Top movers down", &brief.movers.down))
        }
    }
}

/// The CSS class of a change: `up`, `down` or `flat`.
fn direction(day: &Day) -> &'static str {
    match day.direction() {
        Direction::Up => "up",
        Direction::Down => "down",
        Direction::Unchanged | Direction::Unknown => "flat",
    }
}

/// An element id for a symbol (`sym-BRK.B`): distinct symbols, distinct ids.
fn anchor(symbol: &str) -> String {
    format!("sym-{}", slug(symbol))
}

fn symbol(brief: &Brief, s: &SymbolBrief) -> Markup {
    let synthetic = s.synthetic();
    let svg = chart::svg(s.symbol.as_str(), &brief.dates, &s.history, synthetic);
    html! {
        article.symbol id=(anchor(s.symbol.as_str())) {
            div.head {
                h2 { (s.symbol) }
                @match &s.day {
                    Ok(day) => {
                        span.close { (price(day.bar.close)) }
                        span class=(direction(day)) {
                            @match (day.change, day.change_pct) {
                                (Some(c), Some(p)) => {
                                    (day.direction().arrow()) " " (signed(c)) " (" (pct(p)) ")"
                                }
                                _ => "no previous close"
                            }
                        }
                    }
                    Err(e) => { span.error { "No price for the session: " (e) } }
                }
            }
            @if let Ok(day) = &s.day {
                dl.facts {
                    div { dt { "Range" } dd { (price(day.bar.low)) " – " (price(day.bar.high)) } }
                    div { dt { "Open" } dd { (price(day.bar.open)) } }
                    @if let Some((date, close)) = day.previous {
                        div { dt { "Prev. close" } dd { (price(close)) " (" (date) ")" } }
                    }
                    div { dt { "Volume" } dd { (volume(day.bar.volume)) } }
                    @if let Some(r) = day.volume_ratio() {
                        div { dt { "vs avg" } dd { (r) "×" } }
                    }
                }
            }
            @if let Some(svg) = svg {
                figure.chart data-symbol=(s.symbol) {
                    (PreEscaped(svg))
                    figcaption {
                        @if s.history.len() > chart::DENSE { "Closes and volume: last " }
                        @else { "Closes over each session's range, and volume: last " }
                        (brief.dates.len()) " sessions"
                        @if synthetic { " " span.tag { "synthetic" } }
                    }
                }
            }
            @match &s.headlines {
                _ if brief.headline_limit == 0 => {}
                Ok(list) if list.is_empty() => {
                    p.meta { "No headlines since the previous close." }
                }
                Ok(list) => {
                    ul.news {
                        @for h in list { (headline(h)) }
                    }
                }
                Err(e) => { p.meta { "No headlines: " (e) } }
            }
        }
    }
}

fn headline(h: &Headline) -> Markup {
    let a = &h.article;
    let text = clean(&a.headline);
    html! {
        li {
            @match safe_url(&a.url) {
                Some(url) => { a href=(url.as_str()) rel="noopener noreferrer" { (text) } }
                None => { (text) }
            }
            " "
            span.src { (clean(&a.source)) " · " (ny_date_time(a.published_at)) }
            @if let Some(s) = &h.sentiment {
                " "
                span class=(format!("sent {}", tone(&s.label))) {
                    (label(&s.label)) " " (score(s.score))
                }
            }
            @if a.provenance.synthetic { " " span.tag { "synthetic" } }
        }
    }
}
