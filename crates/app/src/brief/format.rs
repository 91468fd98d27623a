//! How the brief writes numbers, dates and labels for people (the JSON keeps exact values).

use jiff::Timestamp;
use stockdata_domain::time::new_york;
use stockdata_domain::{Date, Decimal, SentimentLabel};

/// `d` with its thousands grouped and at least two decimal places (`1,234.50`, `0.0042`):
/// the provider's digits, never rounded.
pub(crate) fn price(d: Decimal) -> String {
    let mut x = d.normalize();
    if x.scale() < 2 {
        x.rescale(2);
    }
    group(&x.to_string())
}

/// A change with its sign (`+1.23`, `-0.50`, `0.00`).
pub(crate) fn signed(d: Decimal) -> String {
    format!("{}{}", plus(d), price(d))
}

/// A percent with its sign and two places (`+0.65%`).
pub(crate) fn pct(d: Decimal) -> String {
    let mut x = d.round_dp(2);
    x.rescale(2);
    format!("{}{}%", plus(x), group(&x.to_string()))
}

/// A sentiment score with its sign, to three places at most (`+0.412`, `-0.05`).
pub(crate) fn score(d: Decimal) -> String {
    let x = d.round_dp(3).normalize();
    format!("{}{x}", plus(x))
}

/// A share count with thousands grouped (`52,345,100`).
pub(crate) fn volume(v: u64) -> String {
    group(&v.to_string())
}

/// A share count in three significant figures (`52.3M`, `812K`, `1.20B`).
pub(crate) fn compact(v: u64) -> String {
    let (div, unit) = match v {
        0..1_000 => return v.to_string(),
        1_000..1_000_000 => (1_000u64, "K"),
        1_000_000..1_000_000_000 => (1_000_000, "M"),
        _ => (1_000_000_000, "B"),
    };
    let x = Decimal::from(v) / Decimal::from(div);
    let places = match x {
        x if x >= Decimal::ONE_HUNDRED => 0,
        x if x >= Decimal::TEN => 1,
        _ => 2,
    };
    format!("{}{unit}", x.round_dp(places))
}

pub(crate) use crate::text::{group_thousands as group, plus};

/// A symbol as a file name or element id: letters, digits, `.` and `-` as they are, every other
/// byte as `_` and two hex digits (`BTC/USD` → `BTC_2FUSD`, `BTC_USD` → `BTC_5FUSD`), so two
/// symbols never share a name.
pub(crate) fn slug(symbol: &str) -> String {
    let mut out = String::with_capacity(symbol.len() + 4);
    for b in symbol.bytes() {
        if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("_{b:02X}"));
        }
    }
    out
}

/// `n` and the noun in its number (`1 symbol`, `3 symbols`).
pub(crate) fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `Friday, November 27, 2026`.
pub(crate) fn long_date(date: Date) -> String {
    date.strftime("%A, %B %-d, %Y").to_string()
}

/// `Nov 27`.
pub(crate) fn short_date(date: Date) -> String {
    date.strftime("%b %-d").to_string()
}

/// New York wall time, `14:05`.
pub(crate) fn ny_time(at: Timestamp) -> String {
    new_york().to_datetime(at).strftime("%H:%M").to_string()
}

/// New York date and time, `Nov 27 14:05`.
pub(crate) fn ny_date_time(at: Timestamp) -> String {
    new_york()
        .to_datetime(at)
        .strftime("%b %-d %H:%M")
        .to_string()
}

/// A label for people: `Somewhat bullish`; an unknown label as sent.
pub(crate) fn label(l: &SentimentLabel) -> String {
    match l {
        SentimentLabel::Bearish => "Bearish".to_owned(),
        SentimentLabel::SomewhatBearish => "Somewhat bearish".to_owned(),
        SentimentLabel::Neutral => "Neutral".to_owned(),
        SentimentLabel::SomewhatBullish => "Somewhat bullish".to_owned(),
        SentimentLabel::Bullish => "Bullish".to_owned(),
        SentimentLabel::Other(text) => text.clone(),
    }
}

/// A CSS class for a label's tone: `bull`, `bear` or `neutral`.
pub(crate) fn tone(l: &SentimentLabel) -> &'static str {
    match l {
        SentimentLabel::Bullish | SentimentLabel::SomewhatBullish => "bull",
        SentimentLabel::Bearish | SentimentLabel::SomewhatBearish => "bear",
        SentimentLabel::Neutral | SentimentLabel::Other(_) => "neutral",
    }
}

/// One line of provider text for a page: [`crate::text::one_line`], with runs of white space
/// made one and the ends trimmed.
pub(crate) fn clean(text: &str) -> String {
    crate::text::one_line(text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// `url` if it is an `http`/`https` link (what a page may point at), else `None`:
/// `javascript:` and `data:` links from a provider are not followed.
pub(crate) fn safe_url(url: &str) -> Option<url::Url> {
    let parsed = url::Url::parse(url.trim()).ok()?;
    matches!(parsed.scheme(), "http" | "https").then_some(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn prices_keep_their_digits_and_group_thousands() {
        assert_eq!(price(d("189.8")), "189.80");
        assert_eq!(price(d("712345.125")), "712,345.125");
        assert_eq!(price(d("0.0042")), "0.0042");
        assert_eq!(price(d("-1234.5")), "-1,234.50");
        assert_eq!(signed(d("1.2")), "+1.20");
        assert_eq!(signed(d("-0.5")), "-0.50");
        assert_eq!(signed(d("0")), "0.00");
    }

    #[test]
    fn percents_scores_and_volumes() {
        assert_eq!(pct(d("0.654")), "+0.65%");
        assert_eq!(pct(d("-12.3")), "-12.30%");
        assert_eq!(pct(d("0")), "0.00%");
        assert_eq!(score(d("0.412345")), "+0.412");
        assert_eq!(score(d("-0.05")), "-0.05");
        assert_eq!(volume(52_345_100), "52,345,100");
        assert_eq!(volume(999), "999");
        assert_eq!(compact(52_345_100), "52.3M");
        assert_eq!(compact(812_400), "812K");
        assert_eq!(compact(1_204_000_000), "1.20B");
        assert_eq!(compact(950), "950");
    }

    #[test]
    fn dates_and_times_are_new_york() {
        let date: Date = "2026-11-27".parse().unwrap();
        assert_eq!(long_date(date), "Friday, November 27, 2026");
        assert_eq!(short_date(date), "Nov 27");
        // 18:00 UTC in winter is 13:00 in New York; in summer 14:00.
        assert_eq!(ny_time("2026-11-27T18:00:00Z".parse().unwrap()), "13:00");
        assert_eq!(ny_time("2026-07-01T18:00:00Z".parse().unwrap()), "14:00");
    }

    #[test]
    fn provider_text_is_one_clean_line_and_links_are_web_links() {
        assert_eq!(clean("  a\n\tb\u{202E}c\u{7}  "), "a bc");
        assert_eq!(clean("\u{1b}[31mRED\u{1b}[0m alert"), "RED alert");
        assert_eq!(safe_url("javascript:alert(1)"), None);
        assert_eq!(slug("BRK.B"), "BRK.B");
        assert_ne!(slug("BRK.B"), slug("BRK-B"));
        assert_eq!(slug("BTC/USD"), "BTC_2FUSD");
        assert_eq!(slug("BTC_USD"), "BTC_5FUSD");
        assert_eq!(safe_url("data:text/html,x"), None);
        assert!(safe_url("https://example.com/a?b=1").is_some());
    }
}
