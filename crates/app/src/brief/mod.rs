//! The daily market brief (`stockdata brief`): for the last completed NYSE session, each
//! symbol's close, change and range, a chart of its recent sessions with volume, its top
//! headlines with sentiment, the top movers, and a short summary written from the numbers.
//!
//! [`fetch`] asks the fetchers (so the store, `--offline` and pacing apply as everywhere) and
//! hands the answers to [`build`], a pure function of the bars and articles; the renderers
//! ([`html`], [`markdown`], [`json`]) are pure functions of the [`Brief`]. Every symbol asked
//! for appears, with the reason where a section is missing. Prices stay `Decimal` from the
//! provider to the page; `f64` exists only inside the chart's drawing.

pub mod chart;
mod format;
pub mod html;
pub mod json;
pub mod markdown;
mod summary;

use std::collections::{HashMap, HashSet};

use stockdata_domain::calendar::{self, Session};
use stockdata_domain::time::new_york_date;
use stockdata_domain::{
    Bar, BatchBarQuery, Date, DateRange, Decimal, FetchError, Interval, NewsArticle, ProviderId,
    SentimentLabel, Symbol, TimeRange, Timestamp,
};

use rust_decimal::RoundingStrategy;

use crate::StockData;

/// Sessions charted per symbol unless asked otherwise (about six weeks).
pub const DEFAULT_SESSIONS: usize = 30;
/// Headlines shown per symbol unless asked otherwise.
pub const DEFAULT_HEADLINES: usize = 3;
/// The most sessions a chart may span (five years of trading days).
pub const MAX_SESSIONS: usize = 1_260;
/// Articles asked for per symbol, of which the best [`BriefRequest::headlines`] are shown.
pub const ARTICLES_PER_SYMBOL: usize = 20;
/// The fewest charted sessions over which a close is called a high or a low.
const EXTREMES_FROM: usize = 5;

/// `change` as a percent of `previous`, to two places, halves away from zero (`-0.345` is
/// `-0.35`); `None` for a zero previous close.
fn percent(change: Decimal, previous: Decimal) -> Option<Decimal> {
    exact_percent(change, previous)
        .map(|x| x.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero))
}

/// `change` as a percent of `previous`, unrounded; `None` for a zero previous close.
fn exact_percent(change: Decimal, previous: Decimal) -> Option<Decimal> {
    change
        .checked_mul(Decimal::ONE_HUNDRED)?
        .checked_div(previous)
}

/// What to brief on.
#[derive(Debug, Clone)]
pub struct BriefRequest {
    /// The symbols, in the order they are shown (repeats are shown once).
    pub symbols: Vec<Symbol>,
    /// The session (a New York trading date); `None` for the last completed one.
    pub date: Option<Date>,
    /// Sessions per chart, ending with the briefed one (at least 2).
    pub sessions: usize,
    /// Headlines per symbol.
    pub headlines: usize,
}

impl BriefRequest {
    /// A brief of `symbols` for the last completed session, with the default chart length and
    /// headline count.
    #[must_use]
    pub fn new(symbols: Vec<Symbol>) -> Self {
        Self {
            symbols,
            date: None,
            sessions: DEFAULT_SESSIONS,
            headlines: DEFAULT_HEADLINES,
        }
    }
}

/// Why no brief can be made for the date asked: what to pass instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BriefError {
    /// The date has no NYSE session (a weekend or a holiday).
    #[error(
        "{date} is not a trading session (the NYSE is closed that day): the session before it is \
         {}", previous.map_or_else(|| "not known".to_owned(), |p| format!("{p}: pass --date {p}"))
    )]
    NotASession {
        /// The date asked for.
        date: Date,
        /// The trading day before it.
        previous: Option<Date>,
    },
    /// The session has not closed yet (or is in the future).
    #[error(
        "the {date} session has not closed yet (it closes at {closes} New York time): leave \
         --date out for the last completed session{}",
        last.map_or_else(String::new, |d| format!(" ({d})"))
    )]
    NotClosed {
        /// The date asked for.
        date: Date,
        /// Its closing time, New York wall clock (`16:00`, `13:00`).
        closes: String,
        /// The last completed session.
        last: Option<Date>,
    },
    /// No session has closed in the calendar's range before now.
    #[error("no completed NYSE session is known before {now}")]
    NoSession {
        /// The instant asked about.
        now: Timestamp,
    },
    /// The chart length is out of range.
    #[error("--sessions {0}: chart between 2 and {MAX_SESSIONS} sessions")]
    Sessions(usize),
    /// The date is outside the years whose NYSE holidays stockdata knows: which days had a
    /// session around it would be a guess.
    #[error(
        "{date} is outside the NYSE holiday calendar stockdata carries ({}): a brief needs the \
         sessions around it; pass a --date inside it",
        window.map_or_else(|| "none".to_owned(), |(a, b)| format!("{a} to {b}"))
    )]
    OutsideCalendar {
        /// The date asked for (or the last completed session).
        date: Date,
        /// The dates whose holidays are known.
        window: Option<(Date, Date)>,
    },
}

/// A whole brief: what every renderer draws from.
#[derive(Debug, Clone)]
pub struct Brief {
    /// The session briefed on.
    pub session: Session,
    /// The trading day before it, the reference of every change.
    pub previous: Option<Date>,
    /// The sessions charted, oldest first, ending with [`Brief::session`].
    pub dates: Vec<Date>,
    /// When the brief was made.
    pub generated_at: Timestamp,
    /// Whether any record in it is synthetic (made up by the sandbox): every page says so.
    pub synthetic: bool,
    /// One entry per symbol asked for, in request order.
    pub symbols: Vec<SymbolBrief>,
    /// Symbols that rose, fell, did not move, and have no price for the session.
    pub breadth: Breadth,
    /// The largest moves up and down.
    pub movers: Movers,
    /// Sentences written from the numbers.
    pub summary: Vec<String>,
    /// The providers whose data is in the brief, by name.
    pub providers: Vec<ProviderId>,
    /// Headlines asked for per symbol (0: none, and no news section).
    pub headline_limit: usize,
}

/// How many symbols went which way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Breadth {
    /// Closed above the previous close.
    pub up: usize,
    /// Closed below it.
    pub down: usize,
    /// Closed at it.
    pub unchanged: usize,
    /// A close for the session, but no bar for the session before it to compare with.
    pub no_previous: usize,
    /// No close for the session.
    pub missing: usize,
}

/// The largest moves, by change percent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Movers {
    /// Largest gains first (only symbols that rose).
    pub up: Vec<Symbol>,
    /// Largest losses first (only symbols that fell).
    pub down: Vec<Symbol>,
}

/// Movers listed each way.
pub const MOVERS: usize = 3;

/// One symbol's part of the brief.
#[derive(Debug, Clone)]
pub struct SymbolBrief {
    /// The symbol.
    pub symbol: Symbol,
    /// The session's numbers, or why there are none.
    pub day: Result<Day, FetchError>,
    /// The charted sessions' bars, oldest first (sessions without a bar are left out).
    pub history: Vec<Bar>,
    /// The top headlines, or why there are none.
    pub headlines: Result<Vec<Headline>, FetchError>,
}

impl SymbolBrief {
    /// Every error, by section (`bars`, `news`).
    #[must_use]
    pub fn errors(&self) -> Vec<(&'static str, &FetchError)> {
        let mut out = Vec::new();
        if let Err(e) = &self.day {
            out.push(("bars", e));
        }
        if let Err(e) = &self.headlines {
            out.push(("news", e));
        }
        out
    }

    /// Whether its charted bars are synthetic (made up by the sandbox).
    #[must_use]
    pub fn synthetic(&self) -> bool {
        self.history.iter().any(|b| b.provenance.synthetic)
    }

    /// The change percent, where there is one.
    #[must_use]
    pub fn change_pct(&self) -> Option<Decimal> {
        self.day.as_ref().ok().and_then(|d| d.change_pct)
    }
}

/// A symbol's numbers for the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Day {
    /// The session's bar (open, high, low, close, volume, provenance).
    pub bar: Bar,
    /// The close it is compared with, and that session's date.
    pub previous: Option<(Date, Decimal)>,
    /// Close minus the previous close.
    pub change: Option<Decimal>,
    /// The change as a percent of the previous close, to two places.
    pub change_pct: Option<Decimal>,
    /// The average volume of the charted sessions before this one.
    pub average_volume: Option<u64>,
    /// The highest close of the charted sessions is this one (over at least two sessions).
    pub closing_high: bool,
    /// The lowest close of the charted sessions is this one.
    pub closing_low: bool,
}

/// Which way a symbol went: by the sign of its change, so -0.01 on a $500 stock is down though
/// its percent rounds to 0.00.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Closed above the previous session's close.
    Up,
    /// Closed below it.
    Down,
    /// Closed at it.
    Unchanged,
    /// No previous session's close to compare with.
    Unknown,
}

impl Direction {
    /// The mark shown before a change: `▲`, `▼`, or `■`.
    #[must_use]
    pub fn arrow(self) -> &'static str {
        match self {
            Direction::Up => "▲",
            Direction::Down => "▼",
            Direction::Unchanged | Direction::Unknown => "■",
        }
    }
}

impl Day {
    /// Which way the symbol went in the session.
    #[must_use]
    pub fn direction(&self) -> Direction {
        match self.change.map(|c| c.cmp(&Decimal::ZERO)) {
            Some(std::cmp::Ordering::Greater) => Direction::Up,
            Some(std::cmp::Ordering::Less) => Direction::Down,
            Some(std::cmp::Ordering::Equal) => Direction::Unchanged,
            None => Direction::Unknown,
        }
    }

    /// This session's volume over the charted average, to one place.
    #[must_use]
    pub fn volume_ratio(&self) -> Option<Decimal> {
        let avg = Decimal::from(self.average_volume.filter(|v| *v > 0)?);
        Decimal::from(self.bar.volume)
            .checked_div(avg)
            .map(|r| r.round_dp(1))
    }
}

/// One headline with how it reads for the symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Headline {
    /// The article.
    pub article: NewsArticle,
    /// Its sentiment for this symbol where the provider scored the symbol, else the article's
    /// overall sentiment; `None` where the provider gives none.
    pub sentiment: Option<HeadlineSentiment>,
}

/// A headline's sentiment as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadlineSentiment {
    /// The score, typically in [-1, 1].
    pub score: Decimal,
    /// The provider's label.
    pub label: SentimentLabel,
    /// How much the article is about the symbol, where scored per ticker.
    pub relevance: Option<Decimal>,
}

/// The session to brief: `date`'s, or the last one closed by `now`.
///
/// # Errors
/// `date` has no session, has not closed by `now`, or is outside the years whose holidays the
/// calendar knows; no session is known before `now`.
pub fn resolve_session(date: Option<Date>, now: Timestamp) -> Result<Session, BriefError> {
    let outside = |date: Date| BriefError::OutsideCalendar {
        date,
        window: calendar::known_window(),
    };
    let Some(date) = date else {
        let session = calendar::last_final_session(now)
            .and_then(calendar::session)
            .ok_or(BriefError::NoSession { now })?;
        return if calendar::holidays_known(session.date) {
            Ok(session)
        } else {
            Err(outside(session.date))
        };
    };
    if !calendar::holidays_known(date) {
        return Err(outside(date));
    }
    let Some(session) = calendar::session(date) else {
        return Err(BriefError::NotASession {
            date,
            previous: calendar::previous_trading_day(date),
        });
    };
    if session.close > now {
        let closes = stockdata_domain::time::new_york()
            .to_datetime(session.close)
            .strftime("%H:%M")
            .to_string();
        return Err(BriefError::NotClosed {
            date,
            closes,
            last: calendar::last_final_session(now),
        });
    }
    Ok(session)
}

/// The `n` trading days ending with `last`, oldest first (fewer only at the calendar's start).
#[must_use]
pub fn session_dates(last: Date, n: usize) -> Vec<Date> {
    let mut dates: Vec<Date> =
        std::iter::successors(Some(last), |d| calendar::previous_trading_day(*d))
            .take(n)
            .collect();
    dates.reverse();
    dates
}

/// Fetches what `request` needs through `stockdata`'s fetchers (store first where one is in
/// use; only the store with `--offline`) and builds the brief.
///
/// # Errors
/// The session cannot be briefed (see [`resolve_session`]) or the chart length is out of range.
pub async fn fetch(stockdata: &StockData, request: &BriefRequest) -> Result<Brief, BriefError> {
    if !(2..=MAX_SESSIONS).contains(&request.sessions) {
        return Err(BriefError::Sessions(request.sessions));
    }
    let now = stockdata.clock().now();
    let session = resolve_session(request.date, now)?;
    // One session more than charted: the close every change is measured from.
    let dates = session_dates(session.date, request.sessions + 1);
    let symbols = distinct(&request.symbols);
    let first = dates.first().copied().unwrap_or(session.date);
    let range = DateRange::new(first, session.date).map(|r| r.to_time_range());
    // News since the previous session's close, up to the next open (or now, if sooner): what
    // moved the session and what came out after it.
    let news_from = calendar::previous_trading_day(session.date)
        .and_then(calendar::session)
        .map_or(session.open, |s| s.close);
    let news_to = calendar::next_open(session.close).min(now);
    let news_range = TimeRange::new(news_from, news_to.max(news_from));

    let bars = async {
        match &range {
            Ok(range) => {
                let query = BatchBarQuery {
                    symbols: symbols.clone(),
                    interval: Interval::Day1,
                    range: *range,
                    adjustment: stockdata.default_adjustment(),
                };
                stockdata
                    .history()
                    .bars(&query)
                    .await
                    .into_iter()
                    .map(|r| (r.symbol, r.result.map(|s| s.bars)))
                    .collect::<HashMap<_, _>>()
            }
            Err(e) => refused(&symbols, e),
        }
    };
    let news = async {
        if request.headlines == 0 {
            // No headlines asked for: no news request.
            return symbols
                .iter()
                .map(|s| (s.clone(), Ok(Vec::new())))
                .collect();
        }
        match &news_range {
            Ok(range) => stockdata
                .news()
                .news_for_each(&symbols, *range, ARTICLES_PER_SYMBOL)
                .await
                .into_iter()
                .map(|(s, r)| (s, r.result))
                .collect::<HashMap<_, _>>(),
            Err(e) => refused(&symbols, e),
        }
    };
    let (mut bars, mut news) = tokio::join!(bars, news);
    let inputs = symbols
        .into_iter()
        .map(|symbol| {
            let b = bars.remove(&symbol).unwrap_or(Err(FetchError::Cancelled));
            let n = news.remove(&symbol).unwrap_or(Err(FetchError::Cancelled));
            (symbol, b, n)
        })
        .collect();
    Ok(build(session, &dates, now, request.headlines, inputs))
}

/// Every symbol answered with the range error (a range the calendar cannot make).
fn refused<T>(
    symbols: &[Symbol],
    e: &stockdata_domain::RangeError,
) -> HashMap<Symbol, Result<T, FetchError>> {
    let e = FetchError::InvalidRequest {
        reason: e.to_string(),
    };
    symbols
        .iter()
        .map(|s| (s.clone(), Err(e.clone())))
        .collect()
}

/// `symbols` with repeats left out, in order.
fn distinct(symbols: &[Symbol]) -> Vec<Symbol> {
    let mut seen = HashSet::new();
    symbols
        .iter()
        .filter(|s| seen.insert(*s))
        .cloned()
        .collect()
}

/// The answers for one symbol: its daily bars over the charted sessions (and the one before),
/// and its articles.
pub type SymbolInput = (
    Symbol,
    Result<Vec<Bar>, FetchError>,
    Result<Vec<NewsArticle>, FetchError>,
);

/// Builds the brief of `session` from each symbol's bars and articles: a pure function.
///
/// `dates`: the trading days fetched, oldest first, ending with `session`'s (the first is only
/// the reference close of the second). Bars outside them are ignored.
#[must_use]
pub fn build(
    session: Session,
    dates: &[Date],
    generated_at: Timestamp,
    headlines: usize,
    inputs: Vec<SymbolInput>,
) -> Brief {
    let charted: Vec<Date> = dates.iter().skip(1).copied().collect();
    let mut symbols = Vec::with_capacity(inputs.len());
    let mut providers: Vec<ProviderId> = Vec::new();
    let mut synthetic = false;
    for (symbol, bars, articles) in inputs {
        let (day, history) = match bars {
            Ok(bars) => day_of(session.date, dates, bars),
            Err(e) => (Err(e), Vec::new()),
        };
        for bar in &history {
            synthetic |= bar.provenance.synthetic;
            if !providers.contains(&bar.provenance.provider) {
                providers.push(bar.provenance.provider.clone());
            }
        }
        let headlines = articles.map(|a| top_headlines(&symbol, a, headlines));
        if let Ok(list) = &headlines {
            for h in list {
                synthetic |= h.article.provenance.synthetic;
                if !providers.contains(&h.article.provenance.provider) {
                    providers.push(h.article.provenance.provider.clone());
                }
            }
        }
        symbols.push(SymbolBrief {
            symbol,
            day,
            history,
            headlines,
        });
    }
    let mut breadth = Breadth::default();
    for s in &symbols {
        match s.day.as_ref().map(Day::direction) {
            Ok(Direction::Up) => breadth.up += 1,
            Ok(Direction::Down) => breadth.down += 1,
            Ok(Direction::Unchanged) => breadth.unchanged += 1,
            Ok(Direction::Unknown) => breadth.no_previous += 1,
            Err(_) => breadth.missing += 1,
        }
    }
    let movers = movers(&symbols);
    let mut brief = Brief {
        previous: calendar::previous_trading_day(session.date),
        session,
        dates: charted,
        generated_at,
        synthetic,
        symbols,
        breadth,
        movers,
        summary: Vec::new(),
        providers,
        headline_limit: headlines,
    };
    brief.summary = summary::sentences(&brief);
    brief
}

/// The session's numbers for one symbol, and the charted bars.
fn day_of(date: Date, dates: &[Date], bars: Vec<Bar>) -> (Result<Day, FetchError>, Vec<Bar>) {
    let first = dates.first().copied().unwrap_or(date);
    // One bar per session date, oldest first; a provider's extra bars (outside the dates) are
    // ignored.
    let mut by_date: Vec<(Date, Bar)> = bars
        .into_iter()
        .map(|b| (new_york_date(b.start), b))
        .filter(|(d, _)| *d >= first && *d <= date)
        .collect();
    by_date.sort_by_key(|(d, _)| *d);
    by_date.dedup_by_key(|(d, _)| *d);
    let Some(pos) = by_date.iter().position(|(d, _)| *d == date) else {
        // The provider answered, but not for this session (a halt, or data not in yet).
        return (Err(FetchError::NoData), charted(&by_date, dates));
    };
    // Only the previous session's close is a day's change: after a gap (a halt, a hole in the
    // store) the nearest earlier bar would pass several days' move off as one.
    let expected = calendar::previous_trading_day(date);
    let previous = pos
        .checked_sub(1)
        .and_then(|i| by_date.get(i))
        .filter(|(d, _)| Some(*d) == expected)
        .map(|(d, b)| (*d, b.close));
    let history = charted(&by_date, dates);
    let Some((_, bar)) = by_date.get(pos) else {
        return (Err(FetchError::NoData), history);
    };
    let bar = bar.clone();
    let change = previous.and_then(|(_, p)| bar.close.checked_sub(p));
    let change_pct = previous.zip(change).and_then(|((_, p), c)| percent(c, p));
    let before: Vec<&Bar> = history.iter().filter(|b| b.start < bar.start).collect();
    let average_volume = u64::try_from(before.len()).ok().and_then(|n| {
        let total: u128 = before.iter().map(|b| u128::from(b.volume)).sum();
        u64::try_from(total.checked_div(u128::from(n))?).ok()
    });
    // "A 30-session high" only where every one of the 30 sessions has a bar (a listing three
    // days old has no 30-session high), and over enough sessions to mean something.
    let charted_sessions = dates.len().saturating_sub(1);
    let complete = history.len() == charted_sessions && charted_sessions >= EXTREMES_FROM;
    let closing_high = complete && before.iter().all(|b| b.close < bar.close);
    let closing_low = complete && before.iter().all(|b| b.close > bar.close);
    (
        Ok(Day {
            bar,
            previous,
            change,
            change_pct,
            average_volume,
            closing_high,
            closing_low,
        }),
        history,
    )
}

/// The bars of the charted dates (all of `dates` but the first), oldest first.
fn charted(by_date: &[(Date, Bar)], dates: &[Date]) -> Vec<Bar> {
    let Some(first) = dates.get(1) else {
        return Vec::new();
    };
    by_date
        .iter()
        .filter(|(d, _)| d >= first)
        .map(|(_, b)| b.clone())
        .collect()
}

/// The `n` headlines most about `symbol` (the provider's relevance for it, where scored),
/// newest first among equals.
fn top_headlines(symbol: &Symbol, articles: Vec<NewsArticle>, n: usize) -> Vec<Headline> {
    let mut list: Vec<Headline> = articles
        .into_iter()
        .map(|article| {
            let sentiment = article.sentiment.as_ref().map(|s| {
                match s.tickers.iter().find(|t| &t.symbol == symbol) {
                    Some(t) => HeadlineSentiment {
                        score: t.score,
                        label: t.label.clone(),
                        relevance: Some(t.relevance),
                    },
                    None => HeadlineSentiment {
                        score: s.score,
                        label: s.label.clone(),
                        relevance: None,
                    },
                }
            });
            Headline { article, sentiment }
        })
        .collect();
    list.sort_by(|a, b| {
        let rel = |h: &Headline| h.sentiment.as_ref().and_then(|s| s.relevance);
        rel(b)
            .cmp(&rel(a))
            .then(b.article.published_at.cmp(&a.article.published_at))
            .then(a.article.id.cmp(&b.article.id))
    });
    list.truncate(n);
    list
}

/// The [`MOVERS`] largest gains and losses by change percent, unrounded (ties by symbol);
/// a symbol is up or down by the sign of its change.
fn movers(symbols: &[SymbolBrief]) -> Movers {
    let mut moves: Vec<(&Symbol, Decimal)> = symbols
        .iter()
        .filter_map(|s| {
            let day = s.day.as_ref().ok()?;
            let (_, previous) = day.previous?;
            let change = day.change.filter(|c| !c.is_zero())?;
            Some((&s.symbol, exact_percent(change, previous)?))
        })
        .collect();
    moves.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let up = moves
        .iter()
        .filter(|(_, p)| p.is_sign_positive())
        .take(MOVERS)
        .map(|(s, _)| (*s).clone())
        .collect();
    moves.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(b.0)));
    let down = moves
        .iter()
        .filter(|(_, p)| p.is_sign_negative())
        .take(MOVERS)
        .map(|(s, _)| (*s).clone())
        .collect();
    Movers { up, down }
}

impl Brief {
    /// The entry of `symbol`.
    #[must_use]
    pub fn get(&self, symbol: &Symbol) -> Option<&SymbolBrief> {
        self.symbols.iter().find(|s| &s.symbol == symbol)
    }

    /// Symbols with no close for the session.
    #[must_use]
    pub fn missing(&self) -> Vec<&SymbolBrief> {
        self.symbols.iter().filter(|s| s.day.is_err()).collect()
    }
}

#[cfg(test)]
mod tests;
