//! The query string, parsed strictly: a value `openapi.yaml` declares valid is accepted, any
//! other is a 400 naming the parameter. Nothing here touches a provider.

use std::collections::HashSet;
use std::time::Duration;

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::Offset;
use stockdata_domain::stream::Channel;
use stockdata_domain::{
    Adjustment, Interval, MAX_SYMBOL_LEN, Symbol, SymbolError, TimeRange, Timestamp,
};

/// Input problems are messages; the handler turns them into a 400 envelope.
pub(super) type Checked<T> = Result<T, String>;

/// At most this much of a client's value is quoted back in an error message.
const QUOTED_CHARS: usize = 40;

/// `text` for an error message: debug-quoted, cut to [`QUOTED_CHARS`] characters.
fn quoted(text: &str) -> String {
    let mut cut: String = text.chars().take(QUOTED_CHARS).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    format!("{cut:?}")
}

/// The decoded `name=value` pairs of a query string, in order.
#[derive(Debug, Default)]
pub(super) struct Query(Vec<(String, String)>);

impl Query {
    pub(super) fn parse(raw: Option<&str>) -> Self {
        Self(
            raw.map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default(),
        )
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of a parameter that may appear once.
    fn one<'a>(&'a self, name: &'a str) -> Checked<Option<&'a str>> {
        let mut values = self.all(name);
        let first = values.next();
        if values.next().is_some() {
            return Err(format!("{name} is given more than once: give it once"));
        }
        Ok(first)
    }
}

/// One symbol as `openapi.yaml` declares it: 1 to [`MAX_SYMBOL_LEN`] of `A-Z a-z 0-9 . ^ = / _ -`
/// (no surrounding whitespace, which [`Symbol::parse`] alone would trim).
fn symbol(text: &str) -> Checked<Symbol> {
    let well_formed = (1..=MAX_SYMBOL_LEN).contains(&text.len())
        && text
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b".^=/_-".contains(&c));
    match Symbol::parse(text) {
        Ok(s) if well_formed => Ok(s),
        Ok(_) => Err(format!(
            "symbol {} has surrounding whitespace",
            quoted(text)
        )),
        Err(SymbolError::Empty) => {
            Err("a symbol is empty: separate symbols with single commas".to_owned())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// `symbols`: comma-separated, at most `max` in all; a repeated `symbols` parameter adds its
/// symbols to the list. Duplicates (after upper-casing) are answered once, in first-seen order.
pub(super) fn symbols(q: &Query, max: usize) -> Checked<Vec<Symbol>> {
    let texts: Vec<&str> = q.all("symbols").collect();
    if texts.is_empty() || texts.iter().all(|t| t.is_empty()) {
        return Err("symbols is required: pass ?symbols=AAPL,MSFT".to_owned());
    }
    let parts: Vec<&str> = texts.iter().flat_map(|t| t.split(',')).collect();
    if parts.len() > max {
        return Err(format!(
            "{} symbols requested: at most {max} per request",
            parts.len()
        ));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(parts.len());
    for part in parts {
        let s = symbol(part)?;
        if seen.insert(s.clone()) {
            out.push(s);
        }
    }
    Ok(out)
}

const INTERVALS: &str = "1m, 5m, 15m, 30m, 1h, 1d, 1w, 1mo";

/// `interval`: exactly one of the canonical names (no aliases: the contract has one spelling).
pub(super) fn interval(q: &Query) -> Checked<Interval> {
    let Some(text) = q.one("interval")? else {
        return Err(format!("interval is required: one of {INTERVALS}"));
    };
    Interval::ALL
        .into_iter()
        .find(|i| i.as_str() == text)
        .ok_or_else(|| format!("unknown interval {}: use one of {INTERVALS}", quoted(text)))
}

/// `adjustment`: `raw` (the default), `split`, `dividend` or `all`, lower case.
pub(super) fn adjustment(q: &Query) -> Checked<Adjustment> {
    match q.one("adjustment")? {
        None | Some("raw") => Ok(Adjustment::Raw),
        Some("split") => Ok(Adjustment::Split),
        Some("dividend") => Ok(Adjustment::Dividend),
        Some("all") => Ok(Adjustment::All),
        Some(other) => Err(format!(
            "adjustment {} is not one of raw, split, dividend, all",
            quoted(other)
        )),
    }
}

/// `limit`: a whole number from 1 to `max` (default 50), decimal digits only.
pub(super) fn limit(q: &Query, max: usize) -> Checked<usize> {
    let Some(text) = q.one("limit")? else {
        return Ok(50);
    };
    text.bytes()
        .all(|c| c.is_ascii_digit())
        .then(|| text.parse::<usize>().ok())
        .flatten()
        .filter(|l| (1..=max).contains(l))
        .ok_or_else(|| format!("limit must be a whole number from 1 to {max}"))
}

/// What a range parameter pair asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Window {
    /// Instants that can hold data: ask the providers.
    Range(TimeRange),
    /// Nothing can be in it (empty, or entirely after now): answer without asking anyone.
    Empty(&'static str),
}

/// `start` and `end`: RFC 3339 instants, `start` inclusive, `end` exclusive. Both are required
/// unless `default_days` is given: then `end` defaults to now and `start` to `default_days`
/// before `end`. Explicit `start` after explicit `end`, or a range longer than `max_days`, is
/// a 400. Instants after `now` are read as `now`: no bar or article exists there yet.
pub(super) fn window(
    q: &Query,
    max_days: u32,
    now: Timestamp,
    default_days: Option<i64>,
) -> Checked<Window> {
    let instant = |name: &str| -> Checked<Option<Timestamp>> {
        match q.one(name)? {
            None => Ok(None),
            Some(t) => rfc3339(t).map(Some).ok_or_else(|| {
                format!(
                    "{name} {} is not an RFC 3339 instant (e.g. 2024-03-08T05:00:00Z)",
                    quoted(t)
                )
            }),
        }
    };
    let start = instant("start")?;
    let end = instant("end")?;
    let (start, end) = match (start, end, default_days) {
        (Some(s), Some(e), _) => {
            if s > e {
                return Err(format!("start {s} is after end {e}"));
            }
            (s, e)
        }
        (s, e, Some(days)) => {
            let e = e.unwrap_or(now);
            let s = s.unwrap_or_else(|| {
                e.checked_sub(jiff::SignedDuration::from_hours(24 * days))
                    .unwrap_or(Timestamp::MIN)
            });
            if s > e {
                // Only when `end` was left to default to now: the range starts in the future.
                return Ok(Window::Empty("the range starts after now"));
            }
            (s, e)
        }
        _ => return Err("start and end are required (RFC 3339)".to_owned()),
    };
    let longest = Duration::from_secs(u64::from(max_days).saturating_mul(86_400));
    if end.duration_since(start) > jiff::SignedDuration::try_from(longest).unwrap_or_default() {
        return Err(format!(
            "the range is longer than {max_days} days: split it into smaller requests"
        ));
    }
    if start == end {
        return Ok(Window::Empty("the range is empty (start equals end)"));
    }
    let end = end.min(now);
    if start >= end {
        return Ok(Window::Empty("the range lies after now"));
    }
    TimeRange::new(start, end)
        .map(Window::Range)
        .map_err(|e| e.to_string())
}

/// Refuses a bars request that could answer more than `max` bars in all
/// ([`TimeRange::max_bars`] for each symbol): the answer is built in memory and must stay small
/// enough to send.
pub(super) fn bar_budget(
    symbols: usize,
    interval: Interval,
    range: TimeRange,
    max: u64,
) -> Checked<()> {
    let each = range.max_bars(interval);
    let total = each.saturating_mul(u64::try_from(symbols).unwrap_or(u64::MAX));
    if total > max {
        return Err(format!(
            "this request could answer up to {total} bars ({symbols} symbols × {each}): \
             at most {max} per request, so narrow the range, ask for fewer symbols or use a \
             wider interval"
        ));
    }
    Ok(())
}

/// Reads fixed-width ASCII fields off the front of a byte string.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn byte(&mut self, ok: impl Fn(u8) -> bool) -> Option<u8> {
        let (&first, rest) = self.0.split_first()?;
        if !ok(first) {
            return None;
        }
        self.0 = rest;
        Some(first)
    }

    fn literal(&mut self, want: u8) -> Option<()> {
        self.byte(|c| c == want).map(drop)
    }

    fn digits(&mut self, n: usize) -> Option<u32> {
        (0..n).try_fold(0u32, |acc, _| {
            let d = self.byte(|c| c.is_ascii_digit())?;
            Some(acc * 10 + u32::from(d - b'0'))
        })
    }
}

/// An RFC 3339 `date-time` (section 5.6): `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`, `T` and `Z`
/// in either case, a leap second only at 23:59:60 UTC (read as 23:59:59), fractions past
/// nanoseconds ignored. Every such instant is accepted; those past the latest instant the
/// service represents (9999-12-30T22:00:00.999999999Z, i.e. the final day of year 9999) are
/// read as that instant: no data can be there. `None` for anything else.
pub(super) fn rfc3339(text: &str) -> Option<Timestamp> {
    let mut c = Cursor(text.as_bytes());
    let year = c.digits(4)?;
    c.literal(b'-')?;
    let month = c.digits(2)?;
    c.literal(b'-')?;
    let day = c.digits(2)?;
    c.byte(|b| b == b'T' || b == b't')?;
    let hour = c.digits(2)?;
    c.literal(b':')?;
    let minute = c.digits(2)?;
    c.literal(b':')?;
    let second = c.digits(2)?;
    let mut nanos = 0u32;
    if c.literal(b'.').is_some() {
        let mut digits = 0u32;
        while let Some(d) = c.byte(|b| b.is_ascii_digit()) {
            if digits < 9 {
                nanos = nanos * 10 + u32::from(d - b'0');
            }
            digits += 1;
        }
        if digits == 0 {
            return None;
        }
        for _ in digits..9 {
            nanos *= 10;
        }
    }
    let offset_minutes: i32 = match c.byte(|b| matches!(b, b'Z' | b'z' | b'+' | b'-'))? {
        b'Z' | b'z' => 0,
        sign => {
            let h = c.digits(2)?;
            c.literal(b':')?;
            let m = c.digits(2)?;
            if h > 23 || m > 59 {
                return None;
            }
            let minutes = i32::try_from(h * 60 + m).ok()?;
            if sign == b'-' { -minutes } else { minutes }
        }
    };
    if !c.0.is_empty() || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    if second == 60 {
        // Only the last minute of a UTC day may hold a leap second.
        let local = i32::try_from(hour * 60 + minute).ok()?;
        if (local - offset_minutes).rem_euclid(24 * 60) != 23 * 60 + 59 {
            return None;
        }
    }
    let date = Date::new(
        i16::try_from(year).ok()?,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
    )
    .ok()?;
    let time = Time::new(
        i8::try_from(hour).ok()?,
        i8::try_from(minute).ok()?,
        i8::try_from(second.min(59)).ok()?,
        i32::try_from(nanos).ok()?,
    )
    .ok()?;
    let offset = Offset::from_seconds(offset_minutes.checked_mul(60)?).ok()?;
    // Years 0000 to 9999 at any offset are all after `Timestamp::MIN` (year -9999): only the
    // upper end can fall outside.
    Some(
        offset
            .to_timestamp(DateTime::from_parts(date, time))
            .unwrap_or(Timestamp::MAX),
    )
}

/// `events`: comma-separated `trades`, `quotes`, `bars` (a repeated parameter adds to the
/// list); `offered` (every channel some configured provider streams) when absent.
pub(super) fn channels(q: &Query, offered: &[Channel]) -> Checked<Vec<Channel>> {
    let mut out: Vec<Channel> = Vec::new();
    let mut given = false;
    for value in q.all("events") {
        given = true;
        for part in value.split(',') {
            let channel = match part {
                "trades" => Channel::Trades,
                "quotes" => Channel::Quotes,
                "bars" => Channel::Bars,
                other => {
                    return Err(format!(
                        "events {} is not one of trades, quotes, bars",
                        quoted(other)
                    ));
                }
            };
            if !out.contains(&channel) {
                out.push(channel);
            }
        }
    }
    if !given {
        return Ok(offered.to_vec());
    }
    Ok(out)
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "tests state their expectations directly"
)]
mod tests {
    use super::*;

    fn check(input: &str, expect: Option<&str>) {
        let got = rfc3339(input).map(|t| t.to_string());
        assert_eq!(got.as_deref(), expect, "{input:?}");
    }

    #[test]
    fn rfc3339_accepts_what_json_schema_date_time_accepts() {
        // The verdicts are those of the JSON Schema `date-time` format (jsonschema-rs, which
        // Schemathesis uses), so the contract and the server agree.
        check("2024-03-08T05:00:00Z", Some("2024-03-08T05:00:00Z"));
        check("2024-03-08t05:00:00z", Some("2024-03-08T05:00:00Z"));
        check(
            "2024-03-08T05:00:00.5+01:00",
            Some("2024-03-08T04:00:00.5Z"),
        );
        check("2024-03-08T05:00:00-00:00", Some("2024-03-08T05:00:00Z"));
        check(
            "2024-03-08T05:00:00.1234567891234Z",
            Some("2024-03-08T05:00:00.123456789Z"),
        );
        check("1998-12-31T23:59:60Z", Some("1998-12-31T23:59:59Z"));
        check(
            "1998-12-31T15:59:60.123-08:00",
            Some("1998-12-31T23:59:59.123Z"),
        );
        check("1999-01-01T00:59:60+01:00", Some("1998-12-31T23:59:59Z"));
        check("0000-01-01T00:00:00Z", Some("0000-01-01T00:00:00Z"));
        check("0000-01-01T00:00:00+23:59", Some("-000001-12-31T00:01:00Z"));
        check("2000-02-29T00:00:00Z", Some("2000-02-29T00:00:00Z"));
        let last = Timestamp::MAX.to_string();
        check("9999-12-31T23:59:59Z", Some(&last));
        check("9999-12-31T23:59:59-23:59", Some(&last));
        check("9999-12-30T21:59:59Z", Some("9999-12-30T21:59:59Z"));
        for invalid in [
            "",
            "2024-03-08",
            "2024-03-08T05:00Z",
            "2024-03-08 05:00:00Z",
            "2024-03-08T05:00:00",
            "2024-03-08T05:00:00.Z",
            "2024-03-08T05:00:00+0100",
            "2024-03-08T05:00:00+24:00",
            "2024-03-08T05:00:00+01:60",
            "2024-03-08T24:00:00Z",
            "2024-03-08T05:60:00Z",
            "2024-02-30T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-00-01T00:00:00Z",
            "1998-12-31T22:59:60Z",
            "1998-12-31T23:59:60+01:00",
            "2024-03-08T05:00:00Z ",
            " 2024-03-08T05:00:00Z",
            "+2024-03-08T05:00:00Z",
            "20240308T050000Z",
            "2024-03-08T05:00:00Z[America/New_York]",
            "2024-03-0৪T05:00:00Z",
            "yesterday",
        ] {
            check(invalid, None);
        }
    }

    #[test]
    fn symbols_merge_repeats_dedupe_and_keep_order() {
        let q = Query::parse(Some("symbols=msft,AAPL&symbols=aapl,NVDA&symbols=MSFT"));
        let got: Vec<String> = symbols(&q, 100)
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(got, ["MSFT", "AAPL", "NVDA"]);
        let q = Query::parse(Some("symbols=A,B&symbols=C"));
        assert!(symbols(&q, 2).unwrap_err().contains("3 symbols requested"));
        for bad in [
            "symbols=%20AAPL",
            "symbols=AAPL,",
            "symbols=A%2BB",
            "symbols=,",
        ] {
            assert!(symbols(&Query::parse(Some(bad)), 100).is_err(), "{bad}");
        }
    }

    #[test]
    fn single_valued_parameters_are_strict() {
        let q = |s: &str| Query::parse(Some(s));
        assert!(interval(&q("interval=1d&interval=1m")).is_err());
        assert!(interval(&q("interval=D")).is_err(), "no aliases");
        assert!(interval(&q("interval=1day")).is_err(), "no aliases");
        assert_eq!(interval(&q("interval=1mo")).unwrap(), Interval::Month1);
        assert!(adjustment(&q("adjustment=RAW")).is_err());
        assert_eq!(adjustment(&q("")).unwrap(), Adjustment::Raw);
        for bad in [
            "limit=+5",
            "limit=5.0",
            "limit=",
            "limit=0",
            "limit=1001",
            "limit=-1",
        ] {
            assert!(limit(&q(bad), 1000).is_err(), "{bad}");
        }
        assert_eq!(limit(&q("limit=1000"), 1000).unwrap(), 1000);
    }

    #[test]
    fn bar_budgets() {
        let r = |a: &str, b: &str| TimeRange::new(a.parse().unwrap(), b.parse().unwrap()).unwrap();
        let weekend = r("2024-03-08T00:00:00Z", "2024-03-11T00:00:00Z");
        let decade = r("2014-01-01T00:00:00Z", "2024-01-01T00:00:00Z");
        assert!(bar_budget(100, Interval::Minute1, weekend, 50_000).is_ok());
        assert!(bar_budget(8, Interval::Day1, decade, 20_000).is_err());
        assert!(bar_budget(7, Interval::Day1, decade, 20_000).is_ok());
    }

    #[test]
    fn windows() {
        let now: Timestamp = "2024-03-08T21:30:00Z".parse().unwrap();
        let w = |s: &str, default| window(&Query::parse(Some(s)), 3660, now, default);
        let ts = |s: &str| s.parse::<Timestamp>().unwrap();
        assert_eq!(
            w("start=2024-03-01T00:00:00Z&end=2024-03-02T00:00:00Z", None).unwrap(),
            Window::Range(
                TimeRange::new(ts("2024-03-01T00:00:00Z"), ts("2024-03-02T00:00:00Z")).unwrap()
            )
        );
        assert_eq!(
            w("start=2024-03-08T00:00:00Z&end=2030-01-01T00:00:00Z", None).unwrap(),
            Window::Range(TimeRange::new(ts("2024-03-08T00:00:00Z"), now).unwrap()),
            "the part after now is not asked for"
        );
        for empty in [
            "start=2024-03-01T00:00:00Z&end=2024-03-01T00:00:00Z",
            "start=9999-12-31T23:59:59Z&end=9999-12-31T23:59:59Z",
            "start=2025-01-01T00:00:00Z&end=2025-01-02T00:00:00Z",
        ] {
            assert!(
                matches!(w(empty, None).unwrap(), Window::Empty(_)),
                "{empty}"
            );
        }
        assert!(matches!(
            w("start=2025-01-01T00:00:00Z", Some(3)).unwrap(),
            Window::Empty(_)
        ));
        assert!(
            w("start=2024-03-02T00:00:00Z&end=2024-03-01T00:00:00Z", None)
                .unwrap_err()
                .contains("is after end")
        );
        assert!(
            w("start=2000-01-01T00:00:00Z", Some(3))
                .unwrap_err()
                .contains("longer than")
        );
        assert!(
            w("end=2024-03-01T00:00:00Z", None)
                .unwrap_err()
                .contains("required")
        );
        assert!(
            w(
                "start=2024-03-01T00:00:00Z&start=2024-03-01T00:00:00Z&end=2024-03-02T00:00:00Z",
                None
            )
            .unwrap_err()
            .contains("more than once")
        );
    }
}
