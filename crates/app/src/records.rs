//! The output records both front ends write (`docs/output.md`): the CLI's formats and
//! `serve`'s JSON. Stable field names, decimals as JSON numbers with their exact digits,
//! instants in RFC 3339 UTC, every record naming its provider.

use serde::Serialize;
use serde::ser::Serializer;
use serde_json::value::RawValue;
use stockdata_domain::{Bar, Decimal, NewsArticle, Quote};

use crate::agent::{RunStats, SymbolReport};
use crate::fetch::Attempt;

/// A decimal written as a JSON number with exactly its digits (`189.98`, never
/// `189.97999999`).
#[derive(Debug, Clone, Copy)]
pub struct Num(pub Decimal);

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = self.0.normalize().to_string();
        let raw = RawValue::from_string(text).map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}

fn num(d: Option<Decimal>) -> Option<Num> {
    d.map(Num)
}

pub fn text(d: Option<Decimal>) -> String {
    d.map(|d| d.normalize().to_string()).unwrap_or_default()
}

/// A quote as output.
#[derive(Debug, Serialize)]
pub struct QuoteRecord {
    symbol: String,
    price: Num,
    bid: Option<Num>,
    ask: Option<Num>,
    bid_size: Option<u64>,
    ask_size: Option<u64>,
    open: Option<Num>,
    high: Option<Num>,
    low: Option<Num>,
    previous_close: Option<Num>,
    change: Option<Num>,
    change_percent: Option<Num>,
    volume: Option<u64>,
    as_of: String,
    provider: String,
    synthetic: bool,
}

impl From<&Quote> for QuoteRecord {
    fn from(q: &Quote) -> Self {
        Self {
            symbol: q.symbol.to_string(),
            price: Num(q.price),
            bid: num(q.bid),
            ask: num(q.ask),
            bid_size: q.bid_size,
            ask_size: q.ask_size,
            open: num(q.open),
            high: num(q.high),
            low: num(q.low),
            previous_close: num(q.previous_close),
            change: num(q.change),
            change_percent: num(q.change_percent),
            volume: q.volume,
            as_of: q.as_of.to_string(),
            provider: q.provenance.provider.to_string(),
            synthetic: q.provenance.synthetic,
        }
    }
}

/// Quote columns, in order.
pub const QUOTE_FIELDS: [&str; 16] = [
    "symbol",
    "price",
    "bid",
    "ask",
    "bid_size",
    "ask_size",
    "open",
    "high",
    "low",
    "previous_close",
    "change",
    "change_percent",
    "volume",
    "as_of",
    "provider",
    "synthetic",
];

pub fn quote_row(q: &Quote) -> Vec<String> {
    let opt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
    vec![
        q.symbol.to_string(),
        q.price.normalize().to_string(),
        text(q.bid),
        text(q.ask),
        opt(q.bid_size),
        opt(q.ask_size),
        text(q.open),
        text(q.high),
        text(q.low),
        text(q.previous_close),
        text(q.change),
        text(q.change_percent),
        opt(q.volume),
        q.as_of.to_string(),
        q.provenance.provider.to_string(),
        q.provenance.synthetic.to_string(),
    ]
}

/// A bar as output.
#[derive(Debug, Serialize)]
pub struct BarRecord {
    symbol: String,
    interval: String,
    start: String,
    open: Num,
    high: Num,
    low: Num,
    close: Num,
    volume: u64,
    vwap: Option<Num>,
    trades: Option<u64>,
    provider: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    adjustment: Option<&'static str>,
    synthetic: bool,
}

impl From<&Bar> for BarRecord {
    fn from(b: &Bar) -> Self {
        Self {
            symbol: b.symbol.to_string(),
            interval: b.interval.to_string(),
            start: b.start.to_string(),
            open: Num(b.open),
            high: Num(b.high),
            low: Num(b.low),
            close: Num(b.close),
            volume: b.volume,
            vwap: num(b.vwap),
            trades: b.trades,
            provider: b.provenance.provider.to_string(),
            adjustment: b.provenance.adjustment.map(|a| a.as_str()),
            synthetic: b.provenance.synthetic,
        }
    }
}

/// Bar columns, in order.
pub const BAR_FIELDS: [&str; 12] = [
    "symbol",
    "interval",
    "start",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "vwap",
    "trades",
    "provider",
    "synthetic",
];

pub fn bar_row(b: &Bar) -> Vec<String> {
    vec![
        b.symbol.to_string(),
        b.interval.to_string(),
        b.start.to_string(),
        b.open.normalize().to_string(),
        b.high.normalize().to_string(),
        b.low.normalize().to_string(),
        b.close.normalize().to_string(),
        b.volume.to_string(),
        text(b.vwap),
        b.trades.map(|t| t.to_string()).unwrap_or_default(),
        b.provenance.provider.to_string(),
        b.provenance.synthetic.to_string(),
    ]
}

/// An article as output.
#[derive(Debug, Serialize)]
pub struct NewsRecord {
    id: String,
    symbols: Vec<String>,
    headline: String,
    summary: String,
    url: String,
    source: String,
    published_at: String,
    provider: String,
    author: Option<String>,
    image: Option<String>,
    synthetic: bool,
}

impl From<&NewsArticle> for NewsRecord {
    fn from(a: &NewsArticle) -> Self {
        Self {
            id: a.id.clone(),
            symbols: a.symbols.iter().map(ToString::to_string).collect(),
            headline: a.headline.clone(),
            summary: a.summary.clone(),
            url: a.url.clone(),
            source: a.source.clone(),
            published_at: a.published_at.to_string(),
            provider: a.provenance.provider.to_string(),
            author: a.author.clone(),
            image: a.image.clone(),
            synthetic: a.provenance.synthetic,
        }
    }
}

/// News columns, in order.
pub const NEWS_FIELDS: [&str; 9] = [
    "id",
    "symbols",
    "headline",
    "summary",
    "url",
    "source",
    "published_at",
    "provider",
    "synthetic",
];

pub fn news_row(a: &NewsArticle) -> Vec<String> {
    vec![
        a.id.clone(),
        a.symbols
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" "),
        a.headline.clone(),
        a.summary.clone(),
        a.url.clone(),
        a.source.clone(),
        a.published_at.to_string(),
        a.provenance.provider.to_string(),
        a.provenance.synthetic.to_string(),
    ]
}

#[derive(Debug, Serialize)]
pub struct AttemptRecord {
    section: &'static str,
    provider: String,
    outcome: &'static str,
    elapsed_ms: u64,
}

#[derive(Debug, Serialize)]
pub struct ErrorRecord {
    section: &'static str,
    kind: &'static str,
    message: String,
}

#[derive(Debug, Serialize)]
pub struct AgentSymbol {
    symbol: String,
    quote: Option<QuoteRecord>,
    bars: Vec<BarRecord>,
    findings: Vec<String>,
    news: Vec<NewsRecord>,
    errors: Vec<ErrorRecord>,
    attempts: Vec<AttemptRecord>,
}

#[derive(Debug, Serialize, Default)]
pub struct ProviderStats {
    provider: String,
    calls: u64,
    requests: u64,
    retries: u64,
    throttled: u64,
    rate_limit_waits: u64,
    rate_limit_wait_ms: u64,
}

#[derive(Debug, Serialize)]
pub struct Stats {
    pub elapsed_ms: u64,
    pub symbols: usize,
    pub complete: usize,
    pub partial: usize,
    pub failed: usize,
    pub failovers: u64,
    pub providers: Vec<ProviderStats>,
}

pub fn trail<'a>(
    section: &'static str,
    attempts: &'a [Attempt],
) -> impl Iterator<Item = AttemptRecord> + 'a {
    attempts.iter().map(move |a| AttemptRecord {
        section,
        provider: a.provider.to_string(),
        outcome: a.outcome.as_str(),
        elapsed_ms: u64::try_from(a.elapsed.as_millis()).unwrap_or(u64::MAX),
    })
}

pub fn agent_symbol(s: &SymbolReport) -> AgentSymbol {
    AgentSymbol {
        symbol: s.symbol.to_string(),
        quote: s.quote.as_ref().ok().map(QuoteRecord::from),
        bars: s
            .bars
            .as_ref()
            .map(|b| b.bars.iter().map(BarRecord::from).collect())
            .unwrap_or_default(),
        findings: s
            .bars
            .as_ref()
            .map(|b| b.findings.iter().map(|f| format!("{f:?}")).collect())
            .unwrap_or_default(),
        news: s
            .news
            .as_ref()
            .map(|n| n.iter().map(NewsRecord::from).collect())
            .unwrap_or_default(),
        errors: s
            .errors()
            .into_iter()
            .map(|(section, e)| ErrorRecord {
                section,
                kind: e.kind().as_str(),
                message: e.to_string(),
            })
            .collect(),
        attempts: trail("quote", &s.quote_trail)
            .chain(trail("bars", &s.bars_trail))
            .chain(trail("news", &s.news_trail))
            .collect(),
    }
}

pub fn stats(stats: &RunStats) -> Stats {
    let mut providers: Vec<ProviderStats> = stats
        .calls
        .iter()
        .map(|(p, calls)| ProviderStats {
            provider: p.to_string(),
            calls: *calls,
            ..ProviderStats::default()
        })
        .collect();
    for (p, http) in &stats.http {
        let i = match providers.iter().position(|s| s.provider == p.as_str()) {
            Some(i) => i,
            None => {
                providers.push(ProviderStats {
                    provider: p.to_string(),
                    ..ProviderStats::default()
                });
                providers.len() - 1
            }
        };
        let entry = &mut providers[i];
        entry.requests = http.requests;
        entry.retries = http.retries;
        entry.throttled = http.throttled;
        entry.rate_limit_waits = http.waits;
        entry.rate_limit_wait_ms = http.waited_ms;
    }
    Stats {
        elapsed_ms: u64::try_from(stats.elapsed.as_millis()).unwrap_or(u64::MAX),
        symbols: stats.complete + stats.partial + stats.failed,
        complete: stats.complete,
        partial: stats.partial,
        failed: stats.failed,
        failovers: stats.failovers,
        providers,
    }
}
