use stockdata_domain::time::daily_bar_start;
use stockdata_domain::{Provenance, Sentiment, TickerSentiment};

use super::*;

fn date(s: &str) -> Date {
    s.parse().unwrap()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn sym(s: &str) -> Symbol {
    Symbol::parse(s).unwrap()
}

fn bar(symbol: &str, day: &str, close: &str, volume: u64) -> Bar {
    let close = dec(close);
    Bar {
        symbol: sym(symbol),
        interval: Interval::Day1,
        start: daily_bar_start(date(day)),
        open: close,
        high: close + Decimal::ONE,
        low: close - Decimal::ONE,
        close,
        volume,
        vwap: None,
        trades: None,
        provenance: Provenance::new(ProviderId::new("alpaca"), ts("2026-11-30T12:00:00Z")),
    }
}

fn article(id: &str, symbol: &str, at: &str, relevance: Option<(&str, &str)>) -> NewsArticle {
    NewsArticle {
        id: id.to_owned(),
        headline: format!("headline {id}"),
        summary: String::new(),
        url: format!("https://news.example/{id}"),
        source: "Wire".to_owned(),
        published_at: ts(at),
        symbols: vec![sym(symbol)],
        author: None,
        image: None,
        sentiment: relevance.map(|(rel, score)| Sentiment {
            score: dec("0.1"),
            label: SentimentLabel::Neutral,
            tickers: vec![TickerSentiment {
                symbol: sym(symbol),
                relevance: dec(rel),
                score: dec(score),
                label: SentimentLabel::Bullish,
            }],
        }),
        provenance: Provenance::new(ProviderId::new("alpha_vantage"), ts("2026-11-30T12:00:00Z")),
    }
}

/// A symbol closing at `prev` on 2026-11-25 and at `close` on the 27th, without news.
fn pair(s: &str, prev: &str, close: &str) -> SymbolInput {
    (
        sym(s),
        Ok(vec![
            bar(s, "2026-11-25", prev, 1),
            bar(s, "2026-11-27", close, 1),
        ]),
        Ok(Vec::new()),
    )
}

/// The brief of the 2026-11-27 session charting `sessions`, `headlines` a symbol.
fn brief_of(sessions: usize, headlines: usize, inputs: Vec<SymbolInput>) -> Brief {
    build(
        session(),
        &dates(sessions),
        ts("2026-11-30T12:00:00Z"),
        headlines,
        inputs,
    )
}

/// The sessions to 2026-11-27 (the day after Thanksgiving, an early close), one before them.
fn dates(n: usize) -> Vec<Date> {
    session_dates(date("2026-11-27"), n + 1)
}

fn session() -> Session {
    calendar::session(date("2026-11-27")).unwrap()
}

#[test]
fn the_last_completed_session_skips_weekends_holidays_and_open_sessions() {
    // Sunday: Friday's (early-close) session.
    let s = resolve_session(None, ts("2026-11-29T15:00:00Z")).unwrap();
    assert_eq!(s.date, date("2026-11-27"));
    assert!(s.early_close);
    // 13:00 New York is 18:00 UTC in November: closed at 18:00, not before.
    assert_eq!(s.close, ts("2026-11-27T18:00:00Z"));
    let s = resolve_session(None, ts("2026-11-27T17:59:59Z")).unwrap();
    assert_eq!(
        s.date,
        date("2026-11-25"),
        "Thanksgiving (26th) has no session"
    );
    // Monday before the open: still Friday's.
    let s = resolve_session(None, ts("2026-11-30T14:00:00Z")).unwrap();
    assert_eq!(s.date, date("2026-11-27"));
    // Summer time: the session of 2026-03-09 (DST began the 8th) opens 13:30 UTC.
    let s = resolve_session(Some(date("2026-03-09")), ts("2026-11-30T00:00:00Z")).unwrap();
    assert_eq!(s.open, ts("2026-03-09T13:30:00Z"));
    assert_eq!(s.close, ts("2026-03-09T20:00:00Z"));
}

#[test]
fn a_date_without_a_session_or_not_closed_says_what_to_pass() {
    let now = ts("2026-11-30T15:00:00Z");
    let e = resolve_session(Some(date("2026-11-26")), now).unwrap_err();
    assert_eq!(
        e,
        BriefError::NotASession {
            date: date("2026-11-26"),
            previous: Some(date("2026-11-25")),
        }
    );
    assert!(e.to_string().contains("pass --date 2026-11-25"), "{e}");
    let e = resolve_session(Some(date("2026-11-30")), now).unwrap_err();
    assert_eq!(
        e,
        BriefError::NotClosed {
            date: date("2026-11-30"),
            closes: "16:00".to_owned(),
            last: Some(date("2026-11-27")),
        }
    );
    assert!(e.to_string().contains("(2026-11-27)"), "{e}");
}

#[test]
fn changes_are_exact_decimals_against_the_previous_session() {
    let d = dates(3);
    assert_eq!(
        d,
        ["2026-11-23", "2026-11-24", "2026-11-25", "2026-11-27"].map(date)
    );
    let bars = vec![
        bar("AAPL", "2026-11-23", "99.00", 1_000),
        bar("AAPL", "2026-11-24", "98.50", 3_000),
        bar("AAPL", "2026-11-25", "100.10", 1_000),
        bar("AAPL", "2026-11-27", "101.11", 4_000),
    ];
    let brief = brief_of(3, 3, vec![(sym("AAPL"), Ok(bars), Ok(Vec::new()))]);
    let day = brief.symbols[0].day.as_ref().unwrap();
    assert_eq!(day.previous, Some((date("2026-11-25"), dec("100.10"))));
    assert_eq!(day.change, Some(dec("1.01")));
    // 1.01 / 100.10 = 1.00899...%: two places, rounded half to even.
    assert_eq!(day.change_pct, Some(dec("1.01")));
    // The charted sessions are the last three (the 23rd is only the reference).
    assert_eq!(brief.dates.len(), 3);
    assert_eq!(brief.symbols[0].history.len(), 3);
    // Average of the 24th and 25th: 2,000; 4,000 is 2.0x.
    assert_eq!(day.average_volume, Some(2_000));
    assert_eq!(day.volume_ratio(), Some(dec("2.0")));
    assert!(
        !day.closing_high && !day.closing_low,
        "three sessions are too few for a high"
    );
    assert_eq!(brief.breadth.up, 1);
    assert_eq!(brief.movers.up, vec![sym("AAPL")]);
}

#[test]
fn every_symbol_asked_for_is_reported_with_why_a_section_is_missing() {
    let brief = brief_of(
        2,
        3,
        vec![
            // The provider answered, but has no bar for the session itself.
            (
                sym("HALT"),
                Ok(vec![bar("HALT", "2026-11-25", "10", 1)]),
                Ok(Vec::new()),
            ),
            (
                sym("ZZZZ"),
                Err(FetchError::UnknownSymbol {
                    symbol: sym("ZZZZ"),
                }),
                Err(FetchError::NoData),
            ),
            (
                sym("MSFT"),
                Ok(vec![
                    bar("MSFT", "2026-11-25", "400", 1),
                    bar("MSFT", "2026-11-27", "390", 1),
                ]),
                Ok(Vec::new()),
            ),
        ],
    );
    let names: Vec<&str> = brief.symbols.iter().map(|s| s.symbol.as_str()).collect();
    assert_eq!(names, ["HALT", "ZZZZ", "MSFT"]);
    assert!(matches!(brief.symbols[0].day, Err(FetchError::NoData)));
    assert_eq!(
        brief.symbols[0].history.len(),
        1,
        "what there is is still charted"
    );
    assert_eq!(brief.symbols[1].errors().len(), 2);
    assert_eq!(
        brief.breadth,
        Breadth {
            up: 0,
            down: 1,
            unchanged: 0,
            no_previous: 0,
            missing: 2
        }
    );
    assert_eq!(brief.movers.down, vec![sym("MSFT")]);
    assert!(brief.movers.up.is_empty());
    let text = brief.summary.join(" ");
    assert!(text.contains("the one symbol compared fell"), "{text}");
    assert!(
        text.contains("No price for the session: HALT and ZZZZ."),
        "{text}"
    );
}

#[test]
fn movers_are_ranked_by_percent_not_by_price_change() {
    let brief = brief_of(
        2,
        3,
        vec![
            pair("BIG", "1000", "1010"), // +10.00, +1%
            pair("SMALL", "10", "11"),   // +1.00, +10%
            pair("MID", "100", "105"),   // +5%
            pair("FLAT", "50", "50"),    // 0%
            pair("DOWN1", "20", "19"),   // -5%
            pair("DOWN2", "200", "180"), // -10%
            pair("UP4", "100", "100.5"), // +0.5%
        ],
    );
    assert_eq!(brief.movers.up, vec![sym("SMALL"), sym("MID"), sym("BIG")]);
    assert_eq!(brief.movers.down, vec![sym("DOWN2"), sym("DOWN1")]);
    assert_eq!(brief.breadth.unchanged, 1);
    // Median of -10, -5, 0, 0.5, 1, 5, 10 is 0.5.
    assert!(
        brief
            .summary
            .iter()
            .any(|s| s.starts_with("The median move was +0.50%"))
    );
}

#[test]
fn headlines_most_about_the_symbol_come_first_with_its_own_sentiment() {
    let articles = vec![
        article("new-unscored", "NVDA", "2026-11-27T20:00:00Z", None),
        article(
            "old-relevant",
            "NVDA",
            "2026-11-27T10:00:00Z",
            Some(("0.9", "0.45")),
        ),
        article(
            "mid-relevant",
            "NVDA",
            "2026-11-27T12:00:00Z",
            Some(("0.3", "-0.2")),
        ),
    ];
    let brief = brief_of(
        2,
        2,
        vec![(
            sym("NVDA"),
            Ok(vec![
                bar("NVDA", "2026-11-25", "10", 1),
                bar("NVDA", "2026-11-27", "11", 1),
            ]),
            Ok(articles),
        )],
    );
    let list = brief.symbols[0].headlines.as_ref().unwrap();
    let ids: Vec<&str> = list.iter().map(|h| h.article.id.as_str()).collect();
    assert_eq!(ids, ["old-relevant", "mid-relevant"]);
    let s = list[0].sentiment.as_ref().unwrap();
    // The ticker's own score and label, not the article's overall 0.1 / neutral.
    assert_eq!(
        (s.score, &s.label, s.relevance),
        (dec("0.45"), &SentimentLabel::Bullish, Some(dec("0.9")))
    );
    assert!(brief.providers.contains(&ProviderId::new("alpha_vantage")));
    let text = brief.summary.join(" ");
    // Mean of 0.45 and -0.2.
    assert!(
        text.contains("Headline sentiment: NVDA (+0.125 on average over 2 headlines)."),
        "{text}"
    );
}

#[test]
fn after_a_gap_there_is_no_change_rather_than_several_days_passed_off_as_one() {
    let brief = brief_of(
        3,
        3,
        vec![
            // No bar on the 25th, the session before the 27th.
            (
                sym("GAP"),
                Ok(vec![
                    bar("GAP", "2026-11-24", "50", 1),
                    bar("GAP", "2026-11-27", "60", 1),
                ]),
                Ok(Vec::new()),
            ),
            pair("OK", "10", "11"),
        ],
    );
    let gap = brief.symbols[0].day.as_ref().unwrap();
    assert_eq!(
        (gap.previous, gap.change, gap.change_pct),
        (None, None, None)
    );
    assert_eq!(brief.breadth.no_previous, 1);
    assert_eq!(brief.breadth.up, 1);
    assert_eq!(brief.movers.up, vec![sym("OK")], "not a +20% mover");
    let text = brief.summary.join(" ");
    assert!(
        text.contains("No close of the previous session to compare with for GAP."),
        "{text}"
    );
}

#[test]
fn direction_goes_by_the_change_and_percents_round_half_away_from_zero() {
    let brief = brief_of(
        2,
        3,
        vec![
            pair("TINY", "500.00", "499.99"),
            pair("HALF", "100", "99.655"),
        ],
    );
    let tiny = brief.symbols[0].day.as_ref().unwrap();
    // -0.002% shows as 0.00%, but the stock fell.
    assert_eq!(tiny.change_pct, Some(dec("0.00")));
    assert_eq!(brief.breadth.down, 2);
    assert_eq!(brief.movers.down, vec![sym("HALF"), sym("TINY")]);
    let half = brief.symbols[1].day.as_ref().unwrap();
    assert_eq!(
        half.change_pct,
        Some(dec("-0.35")),
        "-0.345 rounds away from zero"
    );
    let text = brief.summary.join(" ");
    assert!(text.contains("both symbols fell"), "{text}");
}

#[test]
fn dates_outside_the_known_holidays_are_refused() {
    let now = ts("2026-11-30T15:00:00Z");
    let e = resolve_session(Some(date("2008-12-25")), now).unwrap_err();
    assert!(matches!(e, BriefError::OutsideCalendar { .. }), "{e}");
    assert!(e.to_string().contains("2010-01-01 to 2028-12-31"), "{e}");
}

#[test]
fn highs_and_lows_need_every_charted_session() {
    // Five sessions charted; the newcomer has three bars, all rising.
    let rising = |s: &str, days: &[&str]| -> Vec<Bar> {
        days.iter()
            .enumerate()
            .map(|(i, day)| bar(s, day, &(10 + i).to_string(), 1))
            .collect()
    };
    let full = [
        "2026-11-19",
        "2026-11-20",
        "2026-11-23",
        "2026-11-24",
        "2026-11-25",
        "2026-11-27",
    ];
    let brief = brief_of(
        5,
        3,
        vec![
            (sym("OLD"), Ok(rising("OLD", &full)), Ok(Vec::new())),
            (
                sym("NEW"),
                Ok(rising("NEW", &["2026-11-24", "2026-11-25", "2026-11-27"])),
                Ok(Vec::new()),
            ),
        ],
    );
    assert!(brief.symbols[0].day.as_ref().unwrap().closing_high);
    assert!(!brief.symbols[1].day.as_ref().unwrap().closing_high);
    let text = brief.summary.join(" ");
    assert!(text.contains("OLD closed at a 5-session high."), "{text}");
}

#[test]
fn one_symbol_reads_as_one() {
    let brief = brief_of(
        2,
        3,
        vec![(
            sym("AAPL"),
            Ok(vec![
                bar("AAPL", "2026-11-25", "100", 1),
                bar("AAPL", "2026-11-27", "101.5", 1),
            ]),
            Ok(Vec::new()),
        )],
    );
    assert_eq!(
        brief.summary[0],
        "On Friday, November 27, 2026 (an early close at 13:00 New York time), AAPL rose 1.50% to \
         101.50."
    );
    assert!(!brief.summary.iter().any(|s| s.contains("median")));
}
