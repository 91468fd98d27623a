//! Provider text made safe to show, and numbers grouped for people: shared by the terminal
//! tables and the brief's pages.

use stockdata_domain::Decimal;

/// `text` as one line safe for a terminal cell or a page: whole ANSI escape sequences are
/// removed (console's parser), then tabs and line breaks become a space, other control
/// characters (C0, C1, a lone ESC) are dropped, and bidi overrides are dropped, so provider text
/// can neither drive a terminal nor break a row, and `\e[31mRED` shows as `RED`.
#[must_use]
pub fn one_line(text: &str) -> String {
    let bidi = |c: char| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    if !text.chars().any(|c| c.is_control() || bidi(c)) {
        return text.to_owned();
    }
    let text = console::strip_ansi_codes(text);
    text.chars()
        .filter_map(|c| match c {
            '\t' | '\n' | '\r' => Some(' '),
            c if c.is_control() || bidi(c) => None,
            c => Some(c),
        })
        .collect()
}

/// The sign written before a change: `+` above zero, nothing otherwise (a negative number's
/// text has its own `-`).
#[must_use]
pub fn plus(d: Decimal) -> &'static str {
    if d.is_sign_positive() && !d.is_zero() {
        "+"
    } else {
        ""
    }
}

/// A number's text with `,` between thousands of its integer part (`-1234567.5` →
/// `-1,234,567.5`, `52345100` → `52,345,100`).
#[must_use]
pub fn group_thousands(number: &str) -> String {
    let (sign, rest) = number.strip_prefix('-').map_or(("", number), |r| ("-", r));
    let (int, frac) = rest
        .split_once('.')
        .map_or((rest, None), |(i, f)| (i, Some(f)));
    let mut out = String::with_capacity(number.len() + int.len() / 3);
    out.push_str(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_strips_sequences_controls_and_bidi() {
        assert_eq!(one_line("\u{1b}[31mRED\u{1b}[0m\tTAB\nNL"), "RED TAB NL");
        assert_eq!(one_line("a\u{202E}b\u{7}c"), "abc");
        assert_eq!(one_line("plain"), "plain");
    }

    #[test]
    fn only_a_rise_gets_a_plus() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(plus(d("0.01")), "+");
        assert_eq!(plus(d("0")), "");
        assert_eq!(plus(d("-0.00")), "");
        assert_eq!(plus(d("-1")), "");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(group_thousands("52345100"), "52,345,100");
        assert_eq!(group_thousands("-1234567.5"), "-1,234,567.5");
        assert_eq!(group_thousands("999"), "999");
        assert_eq!(group_thousands("0.0042"), "0.0042");
    }
}
