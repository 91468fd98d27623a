//! The brief's summary: a few sentences written from its numbers alone (no language model, no
//! network). Each sentence is left out when its numbers are not there.

use stockdata_domain::{Decimal, Symbol};

use super::format::{counted, long_date, pct, price, score};
use super::{Brief, Direction, SymbolBrief};

/// Volume this many times the charted average is worth a sentence.
const HEAVY_VOLUME: Decimal = Decimal::from_parts(15, 0, 0, false, 1);

/// The summary's sentences, in reading order.
pub(crate) fn sentences(brief: &Brief) -> Vec<String> {
    let mut out = Vec::new();
    let b = &brief.breadth;
    let when = format!(
        "On {}{}",
        long_date(brief.session.date),
        if brief.session.early_close {
            format!(
                " (an early close at {} New York time)",
                super::format::ny_time(brief.session.close)
            )
        } else {
            String::new()
        }
    );
    let compared = b.up + b.down + b.unchanged;
    if compared == 0 {
        // Nothing to count: say what there is instead.
        let priced = b.no_previous;
        out.push(if priced == 0 {
            format!(
                "{when}, {} no price for the session.",
                match brief.symbols.as_slice() {
                    [one] => format!("{} has", one.symbol),
                    _ => "no symbol has".to_owned(),
                }
            )
        } else {
            format!(
                "{when}, {} a close but no previous session to compare it with.",
                counted(priced, "symbol has", "symbols have")
            )
        });
    } else if let [one] = brief.symbols.as_slice()
        && let Ok(day) = &one.day
        && let Some(p) = day.change_pct
    {
        let verb = match day.direction() {
            Direction::Up => "rose",
            Direction::Down => "fell",
            Direction::Unchanged | Direction::Unknown => "closed unchanged",
        };
        // The verb says which way: "fell 1.20%", not "fell -1.20%".
        let size = pct(p.abs());
        out.push(format!(
            "{when}, {} {verb} {} to {}.",
            one.symbol,
            size.trim_start_matches('+'),
            price(day.bar.close)
        ));
    } else {
        // The directions that happened, the first with the count of symbols compared.
        let ways: Vec<(usize, &str)> = [
            (b.up, "rose"),
            (b.down, "fell"),
            (b.unchanged, "closed unchanged"),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .collect();
        let parts: Vec<String> = ways
            .iter()
            .enumerate()
            .map(|(i, (n, verb))| match (i, *n == compared, compared) {
                (0, true, 1) => format!("the one symbol compared {verb}"),
                (0, true, 2) => format!("both symbols {verb}"),
                (0, true, _) => format!("all {compared} symbols {verb}"),
                (0, false, _) => {
                    format!("{n} of {} {verb}", counted(compared, "symbol", "symbols"))
                }
                _ => format!("{n} {verb}"),
            })
            .collect();
        out.push(format!("{when}, {}.", join(&parts)));
    }

    let mut moves: Vec<Decimal> = brief
        .symbols
        .iter()
        .filter_map(SymbolBrief::change_pct)
        .collect();
    moves.sort();
    // One symbol's move is the first sentence already.
    if let Some(median) = median(&moves).filter(|_| moves.len() > 1) {
        let mut sentence = format!("The median move was {}", pct(median));
        let best = brief.movers.up.first().and_then(|s| brief.get(s));
        let worst = brief.movers.down.first().and_then(|s| brief.get(s));
        let said = |s: &SymbolBrief, verb: &str| -> Option<String> {
            let day = s.day.as_ref().ok()?;
            Some(format!(
                "{} {verb} at {} ({})",
                s.symbol,
                pct(day.change_pct?),
                price(day.bar.close)
            ))
        };
        let up = best.and_then(|s| said(s, "led"));
        let down = worst.and_then(|s| said(s, "lagged"));
        let parts: Vec<String> = up.into_iter().chain(down).collect();
        if !parts.is_empty() {
            sentence.push_str("; ");
            sentence.push_str(&join(&parts));
        }
        sentence.push('.');
        out.push(sentence);
    }

    let n = brief.dates.len();
    let highs = symbols_where(brief, |s| s.day.as_ref().is_ok_and(|d| d.closing_high));
    let lows = symbols_where(brief, |s| s.day.as_ref().is_ok_and(|d| d.closing_low));
    let mut extremes = Vec::new();
    if !highs.is_empty() {
        extremes.push(format!(
            "{} closed at a {n}-session high",
            join_symbols(&highs)
        ));
    }
    if !lows.is_empty() {
        let verb = if highs.is_empty() { "closed at" } else { "at" };
        extremes.push(format!("{} {verb} a {n}-session low", join_symbols(&lows)));
    }
    if !extremes.is_empty() {
        out.push(format!("{}.", join(&extremes)));
    }

    let mut heavy: Vec<(&Symbol, Decimal)> = brief
        .symbols
        .iter()
        .filter_map(|s| Some((&s.symbol, s.day.as_ref().ok()?.volume_ratio()?)))
        .filter(|(_, r)| *r >= HEAVY_VOLUME)
        .collect();
    heavy.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    if !heavy.is_empty() {
        let parts: Vec<String> = heavy
            .iter()
            .take(3)
            .map(|(s, r)| format!("{s} {r}×"))
            .collect();
        out.push(format!(
            "Volume ran heavy against the prior sessions' average: {}.",
            join(&parts)
        ));
    }

    let mut tone: Vec<(&Symbol, Decimal, usize)> = brief
        .symbols
        .iter()
        .filter_map(|s| {
            let scores: Vec<Decimal> = s
                .headlines
                .as_ref()
                .ok()?
                .iter()
                .filter_map(|h| Some(h.sentiment.as_ref()?.score))
                .collect();
            let count = scores.len();
            let total: Decimal = scores.into_iter().sum();
            let mean = total.checked_div(Decimal::from(count))?.round_dp(3);
            Some((&s.symbol, mean, count))
        })
        .collect();
    tone.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    if let (Some(most), Some(least)) = (tone.first(), tone.last()) {
        let describe = |(s, mean, count): &(&Symbol, Decimal, usize)| {
            format!(
                "{s} ({} on average over {count} headline{})",
                score(*mean),
                if *count == 1 { "" } else { "s" }
            )
        };
        if tone.len() == 1 || most.1 == least.1 {
            out.push(format!("Headline sentiment: {}.", describe(most)));
        } else {
            // Highest and lowest, not "positive" and "negative": both may be either.
            out.push(format!(
                "Headline sentiment was highest for {} and lowest for {}.",
                describe(most),
                describe(least)
            ));
        }
    }

    let unmatched: Vec<&Symbol> =
        symbols_where(brief, |s| s.day.as_ref().is_ok_and(|d| d.change.is_none()));
    if !unmatched.is_empty() && compared > 0 {
        out.push(format!(
            "No close of the previous session to compare with for {}.",
            join_symbols(&unmatched)
        ));
    }
    let missing: Vec<&Symbol> = brief.missing().into_iter().map(|s| &s.symbol).collect();
    if !missing.is_empty() && brief.symbols.len() > 1 {
        out.push(format!(
            "No price for the session: {}.",
            join_symbols(&missing)
        ));
    }
    out
}

/// The middle value of sorted `values` (the mean of the middle two for an even count), to two
/// places.
fn median(values: &[Decimal]) -> Option<Decimal> {
    let mid = values.len() / 2;
    let m = if values.len().is_multiple_of(2) {
        let lo = values.get(mid.checked_sub(1)?)?;
        let hi = values.get(mid)?;
        lo.checked_add(*hi)?.checked_div(Decimal::TWO)?
    } else {
        *values.get(mid)?
    };
    Some(m.round_dp(2))
}

fn symbols_where(brief: &Brief, keep: impl Fn(&SymbolBrief) -> bool) -> Vec<&Symbol> {
    brief
        .symbols
        .iter()
        .filter(|s| keep(s))
        .map(|s| &s.symbol)
        .collect()
}

/// `A`, `A and B`, `A, B and C`.
fn join(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Up to five symbols by name, then how many more.
fn join_symbols(symbols: &[&Symbol]) -> String {
    let mut parts: Vec<String> = symbols.iter().take(5).map(ToString::to_string).collect();
    if symbols.len() > 5 {
        parts.push(format!("{} more", symbols.len() - 5));
    }
    join(&parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(median(&[d("-1"), d("0.5"), d("2")]), Some(d("0.5")));
        assert_eq!(
            median(&[d("-1"), d("0.5"), d("2"), d("3")]),
            Some(d("1.25"))
        );
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn lists_read_as_english() {
        let p = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(join(&p(&["a"])), "a");
        assert_eq!(join(&p(&["a", "b"])), "a and b");
        assert_eq!(join(&p(&["a", "b", "c"])), "a, b and c");
    }
}
