//! The brief as JSON, for templates: every number exact (decimals as JSON numbers with their
//! digits), instants in RFC 3339 UTC, the summary's sentences, and per symbol the charted
//! sessions' closes and volumes. Layout in `docs/output.md`.

use serde::Serialize;

use super::{Brief, Headline, SymbolBrief};
use crate::records::Num;

#[derive(Serialize)]
struct Doc<'a> {
    kind: &'static str,
    date: String,
    session: SessionDoc,
    previous_session: Option<String>,
    generated_at: String,
    synthetic: bool,
    sessions_charted: usize,
    summary: &'a [String],
    breadth: BreadthDoc,
    movers: MoversDoc<'a>,
    providers: Vec<&'a str>,
    symbols: Vec<SymbolDoc<'a>>,
}

#[derive(Serialize)]
struct SessionDoc {
    open: String,
    close: String,
    early_close: bool,
}

#[derive(Serialize)]
struct BreadthDoc {
    up: usize,
    down: usize,
    unchanged: usize,
    no_previous: usize,
    missing: usize,
}

#[derive(Serialize)]
struct MoversDoc<'a> {
    up: Vec<&'a str>,
    down: Vec<&'a str>,
}

#[derive(Serialize)]
struct SymbolDoc<'a> {
    symbol: &'a str,
    close: Option<Num>,
    previous_close: Option<Num>,
    previous_date: Option<String>,
    change: Option<Num>,
    change_pct: Option<Num>,
    open: Option<Num>,
    high: Option<Num>,
    low: Option<Num>,
    volume: Option<u64>,
    average_volume: Option<u64>,
    volume_ratio: Option<Num>,
    closing_high: bool,
    closing_low: bool,
    provider: Option<&'a str>,
    synthetic: bool,
    chart: Vec<PointDoc>,
    headlines: Vec<HeadlineDoc<'a>>,
    error: Option<ErrorDoc>,
    news_error: Option<ErrorDoc>,
}

#[derive(Serialize)]
struct PointDoc {
    date: String,
    close: Num,
    high: Num,
    low: Num,
    volume: u64,
}

#[derive(Serialize)]
struct HeadlineDoc<'a> {
    headline: &'a str,
    url: &'a str,
    source: &'a str,
    published_at: String,
    sentiment: Option<SentimentDoc<'a>>,
    provider: &'a str,
    synthetic: bool,
}

#[derive(Serialize)]
struct SentimentDoc<'a> {
    score: Num,
    label: &'a str,
    relevance: Option<Num>,
}

#[derive(Serialize)]
struct ErrorDoc {
    kind: &'static str,
    message: String,
}

fn error(e: &stockdata_domain::FetchError) -> ErrorDoc {
    ErrorDoc {
        kind: e.kind().as_str(),
        message: e.to_string(),
    }
}

/// The brief as one pretty-printed JSON document (with a final newline).
///
/// # Errors
/// Serialization fails (it does not for these types; the error is passed on, not hidden).
pub fn render(brief: &Brief) -> Result<String, serde_json::Error> {
    let doc = Doc {
        kind: "brief",
        date: brief.session.date.to_string(),
        session: SessionDoc {
            open: brief.session.open.to_string(),
            close: brief.session.close.to_string(),
            early_close: brief.session.early_close,
        },
        previous_session: brief.previous.map(|d| d.to_string()),
        generated_at: brief.generated_at.to_string(),
        synthetic: brief.synthetic,
        sessions_charted: brief.dates.len(),
        summary: &brief.summary,
        breadth: BreadthDoc {
            up: brief.breadth.up,
            down: brief.breadth.down,
            unchanged: brief.breadth.unchanged,
            no_previous: brief.breadth.no_previous,
            missing: brief.breadth.missing,
        },
        movers: MoversDoc {
            up: brief.movers.up.iter().map(|s| s.as_str()).collect(),
            down: brief.movers.down.iter().map(|s| s.as_str()).collect(),
        },
        providers: brief.providers.iter().map(|p| p.as_str()).collect(),
        symbols: brief.symbols.iter().map(symbol).collect(),
    };
    let mut text = serde_json::to_string_pretty(&doc)?;
    text.push('\n');
    Ok(text)
}

fn symbol(s: &SymbolBrief) -> SymbolDoc<'_> {
    let day = s.day.as_ref().ok();
    let bar = day.map(|d| &d.bar);
    SymbolDoc {
        symbol: s.symbol.as_str(),
        close: bar.map(|b| Num(b.close)),
        previous_close: day.and_then(|d| d.previous).map(|(_, c)| Num(c)),
        previous_date: day.and_then(|d| d.previous).map(|(d, _)| d.to_string()),
        change: day.and_then(|d| d.change).map(Num),
        change_pct: day.and_then(|d| d.change_pct).map(Num),
        open: bar.map(|b| Num(b.open)),
        high: bar.map(|b| Num(b.high)),
        low: bar.map(|b| Num(b.low)),
        volume: bar.map(|b| b.volume),
        average_volume: day.and_then(|d| d.average_volume),
        volume_ratio: day.and_then(super::Day::volume_ratio).map(Num),
        closing_high: day.is_some_and(|d| d.closing_high),
        closing_low: day.is_some_and(|d| d.closing_low),
        provider: bar.map(|b| b.provenance.provider.as_str()),
        synthetic: s.synthetic(),
        chart: s
            .history
            .iter()
            .map(|b| PointDoc {
                date: stockdata_domain::time::new_york_date(b.start).to_string(),
                close: Num(b.close),
                high: Num(b.high),
                low: Num(b.low),
                volume: b.volume,
            })
            .collect(),
        headlines: s
            .headlines
            .as_ref()
            .map(|l| l.iter().map(headline).collect())
            .unwrap_or_default(),
        error: s.day.as_ref().err().map(error),
        news_error: s.headlines.as_ref().err().map(error),
    }
}

fn headline(h: &Headline) -> HeadlineDoc<'_> {
    let a = &h.article;
    HeadlineDoc {
        headline: &a.headline,
        url: &a.url,
        source: &a.source,
        published_at: a.published_at.to_string(),
        sentiment: h.sentiment.as_ref().map(|s| SentimentDoc {
            score: Num(s.score),
            label: s.label.as_str(),
            relevance: s.relevance.map(Num),
        }),
        provider: a.provenance.provider.as_str(),
        synthetic: a.provenance.synthetic,
    }
}
