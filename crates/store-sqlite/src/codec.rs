//! How domain values become column values and back. The layout is documented once, in
//! `migrations/0001_init.sql`; this module is its only implementation.

use std::str::FromStr;

use jiff::Timestamp;
use rusqlite::types::{Value, ValueRef};
use rust_decimal::Decimal;
use stockdata_domain::{Adjustment, Interval, SentimentLabel, Symbol};
use stockdata_ports::{Dataset, StoredKind};

use crate::error::Fail;

/// The multiplier that makes room for a decimal's scale (0..=28) below its mantissa.
const SCALE_ROOM: i64 = 32;

const NANOS_PER_SECOND: i64 = 1_000_000_000;

/// An instant as (whole seconds rounded down, nanoseconds 0..=999_999_999).
pub(crate) fn instant(t: Timestamp) -> (i64, i64) {
    let seconds = t.as_second();
    let nanos = i64::from(t.subsec_nanosecond());
    if nanos < 0 {
        (seconds - 1, nanos + NANOS_PER_SECOND)
    } else {
        (seconds, nanos)
    }
}

/// The instant stored as `(seconds, nanos)`.
pub(crate) fn instant_from(seconds: i64, nanos: i64) -> Result<Timestamp, Fail> {
    let nanos = i32::try_from(nanos)
        .ok()
        .filter(|n| (0..1_000_000_000).contains(n))
        .ok_or_else(|| Fail::bad(format!("nanoseconds {nanos} out of range")))?;
    Timestamp::new(seconds, nanos)
        .map_err(|e| Fail::bad(format!("instant ({seconds} s, {nanos} ns): {e}")))
}

/// A decimal: `mantissa * 32 + scale` when that fits an INTEGER, else its text.
pub(crate) fn decimal(d: Decimal) -> Value {
    let negative_zero = d.is_zero() && d.is_sign_negative();
    let packed = i64::try_from(d.mantissa())
        .ok()
        .filter(|_| !negative_zero)
        .and_then(|m| m.checked_mul(SCALE_ROOM))
        .and_then(|m| m.checked_add(i64::from(d.scale())));
    match packed {
        Some(p) => Value::Integer(p),
        None => Value::Text(d.to_string()),
    }
}

/// An optional decimal, NULL when absent.
pub(crate) fn opt_decimal(d: Option<Decimal>) -> Value {
    d.map_or(Value::Null, decimal)
}

/// The decimal stored by [`decimal`].
pub(crate) fn decimal_from(v: ValueRef<'_>) -> Result<Decimal, Fail> {
    match v {
        ValueRef::Integer(p) => {
            let scale = u32::try_from(p.rem_euclid(SCALE_ROOM))
                .map_err(|e| Fail::bad(format!("decimal {p}: {e}")))?;
            Decimal::try_from_i128_with_scale(i128::from(p.div_euclid(SCALE_ROOM)), scale)
                .map_err(|e| Fail::bad(format!("decimal {p}: {e}")))
        }
        ValueRef::Text(bytes) => {
            let text = std::str::from_utf8(bytes)
                .map_err(|_| Fail::bad("a decimal's text is not UTF-8".to_owned()))?;
            let mut d = Decimal::from_str_exact(text)
                .map_err(|e| Fail::bad(format!("decimal {text:?}: {e}")))?;
            if d.is_zero() && text.starts_with('-') {
                d.set_sign_negative(true);
            }
            // Only this module writes the text, and it writes `to_string()`: anything else was
            // not written by us.
            if d.to_string() != text {
                return Err(Fail::bad(format!(
                    "decimal {text:?} is not in canonical form"
                )));
            }
            Ok(d)
        }
        other => Err(Fail::bad(format!(
            "a decimal stored as {:?}",
            other.data_type()
        ))),
    }
}

/// The optional decimal stored by [`opt_decimal`].
pub(crate) fn opt_decimal_from(v: ValueRef<'_>) -> Result<Option<Decimal>, Fail> {
    match v {
        ValueRef::Null => Ok(None),
        v => decimal_from(v).map(Some),
    }
}

/// A count: INTEGER when it fits i64, else its text.
pub(crate) fn count(n: u64) -> Value {
    i64::try_from(n).map_or_else(|_| Value::Text(n.to_string()), Value::Integer)
}

/// An optional count, NULL when absent.
pub(crate) fn opt_count(n: Option<u64>) -> Value {
    n.map_or(Value::Null, count)
}

/// The count stored by [`count`].
pub(crate) fn count_from(v: ValueRef<'_>) -> Result<u64, Fail> {
    match v {
        ValueRef::Integer(i) => {
            u64::try_from(i).map_err(|_| Fail::bad(format!("negative count {i}")))
        }
        ValueRef::Text(bytes) => std::str::from_utf8(bytes)
            .ok()
            .and_then(|t| u64::from_str(t).ok())
            .ok_or_else(|| Fail::bad("a count's text is not a u64".to_owned())),
        other => Err(Fail::bad(format!(
            "a count stored as {:?}",
            other.data_type()
        ))),
    }
}

/// The optional count stored by [`opt_count`].
pub(crate) fn opt_count_from(v: ValueRef<'_>) -> Result<Option<u64>, Fail> {
    match v {
        ValueRef::Null => Ok(None),
        v => count_from(v).map(Some),
    }
}

/// `market` or `sandbox`.
pub(crate) fn dataset_from(text: &str) -> Result<Dataset, Fail> {
    match text {
        "market" => Ok(Dataset::Market),
        "sandbox" => Ok(Dataset::Sandbox),
        other => Err(Fail::bad(format!("unknown dataset {other:?}"))),
    }
}

/// The canonical interval text, exactly.
pub(crate) fn interval_from(text: &str) -> Result<Interval, Fail> {
    Interval::ALL
        .into_iter()
        .find(|i| i.as_str() == text)
        .ok_or_else(|| Fail::bad(format!("unknown interval {text:?}")))
}

/// `raw`, `split`, `dividend` or `all`.
pub(crate) fn adjustment_from(text: &str) -> Result<Adjustment, Fail> {
    match text {
        "raw" => Ok(Adjustment::Raw),
        "split" => Ok(Adjustment::Split),
        "dividend" => Ok(Adjustment::Dividend),
        "all" => Ok(Adjustment::All),
        other => Err(Fail::bad(format!("unknown adjustment {other:?}"))),
    }
}

/// A provenance's adjustment as its small code.
pub(crate) fn adjustment_code(a: Option<Adjustment>) -> Option<i64> {
    a.map(|a| match a {
        Adjustment::Raw => 0,
        Adjustment::Split => 1,
        Adjustment::Dividend => 2,
        Adjustment::All => 3,
    })
}

/// The adjustment stored by [`adjustment_code`].
pub(crate) fn adjustment_from_code(code: Option<i64>) -> Result<Option<Adjustment>, Fail> {
    code.map(|c| match c {
        0 => Ok(Adjustment::Raw),
        1 => Ok(Adjustment::Split),
        2 => Ok(Adjustment::Dividend),
        3 => Ok(Adjustment::All),
        other => Err(Fail::bad(format!("unknown adjustment code {other}"))),
    })
    .transpose()
}

/// `bars`, `quotes` or `news`.
pub(crate) fn kind_from(text: &str) -> Result<StoredKind, Fail> {
    match text {
        "bars" => Ok(StoredKind::Bars),
        "quotes" => Ok(StoredKind::Quotes),
        "news" => Ok(StoredKind::News),
        other => Err(Fail::bad(format!("unknown fetch kind {other:?}"))),
    }
}

/// A sentiment label as (label text, verbatim text for `Other`).
pub(crate) fn label(l: &SentimentLabel) -> (&'static str, Option<String>) {
    match l {
        SentimentLabel::Bearish => ("bearish", None),
        SentimentLabel::SomewhatBearish => ("somewhat_bearish", None),
        SentimentLabel::Neutral => ("neutral", None),
        SentimentLabel::SomewhatBullish => ("somewhat_bullish", None),
        SentimentLabel::Bullish => ("bullish", None),
        SentimentLabel::Other(text) => ("other", Some(text.clone())),
    }
}

/// The label stored by [`label`].
pub(crate) fn label_from(text: &str, other: Option<String>) -> Result<SentimentLabel, Fail> {
    match (text, other) {
        ("bearish", None) => Ok(SentimentLabel::Bearish),
        ("somewhat_bearish", None) => Ok(SentimentLabel::SomewhatBearish),
        ("neutral", None) => Ok(SentimentLabel::Neutral),
        ("somewhat_bullish", None) => Ok(SentimentLabel::SomewhatBullish),
        ("bullish", None) => Ok(SentimentLabel::Bullish),
        ("other", Some(verbatim)) => Ok(SentimentLabel::Other(verbatim)),
        (label, _) => Err(Fail::bad(format!("unknown sentiment label {label:?}"))),
    }
}

/// Symbols separated by single spaces (a symbol holds no whitespace).
pub(crate) fn symbols(list: &[Symbol]) -> String {
    let mut out = String::with_capacity(list.len() * 6);
    for (i, s) in list.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(s.as_str());
    }
    out
}

/// The symbols stored by [`symbols`].
pub(crate) fn symbols_from(text: &str) -> Result<Vec<Symbol>, Fail> {
    text.split(' ')
        .filter(|s| !s.is_empty())
        .map(symbol_from)
        .collect()
}

/// A stored symbol, which must already be in normal form.
pub(crate) fn symbol_from(text: &str) -> Result<Symbol, Fail> {
    Symbol::parse(text)
        .ok()
        .filter(|s| s.as_str() == text)
        .ok_or_else(|| Fail::bad(format!("stored symbol {text:?} is not valid")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_decimal(text: &str) {
        let d = Decimal::from_str_exact(text).unwrap();
        let stored = decimal(d);
        let back = decimal_from(ValueRef::from(&stored)).unwrap();
        assert_eq!(
            back.to_string(),
            d.to_string(),
            "{text} stored as {stored:?}"
        );
        assert_eq!(back, d);
    }

    #[test]
    fn decimals_keep_value_and_scale() {
        for text in [
            "0",
            "0.00",
            "1.50",
            "-1.50",
            "189.98",
            "-37.63",
            "0.0000000000000000000000000001",
            "-0.0000000000000000000000000001",
            "79228162514264337593543950335",
            "-79228162514264337593543950335",
            "7.9228162514264337593543950335",
            "288230376151711743",
            "288230376151711744",
            "-288230376151711744",
            "-288230376151711745",
            "1234567890.123456789",
        ] {
            check_decimal(text);
        }
        let mut neg_zero = Decimal::new(0, 2);
        neg_zero.set_sign_negative(true);
        let stored = decimal(neg_zero);
        let back = decimal_from(ValueRef::from(&stored)).unwrap();
        assert_eq!(back.to_string(), "-0.00");
        assert!(back.is_sign_negative());
    }

    #[test]
    fn small_prices_pack_into_integers() {
        let d = Decimal::from_str_exact("189.98").unwrap();
        assert_eq!(decimal(d), Value::Integer(607_938));
        let big = Decimal::from_str_exact("288230376151711744").unwrap();
        assert!(matches!(decimal(big), Value::Text(_)));
    }

    #[test]
    fn foreign_values_are_refused_not_trusted() {
        for bad in [
            ValueRef::Integer(31),
            ValueRef::Text(b"1.5e3"),
            ValueRef::Text(b"01.5"),
            ValueRef::Text(b"abc"),
            ValueRef::Real(1.5),
            ValueRef::Null,
        ] {
            assert!(decimal_from(bad).is_err(), "{bad:?}");
        }
        assert!(count_from(ValueRef::Integer(-1)).is_err());
        assert!(instant_from(0, 1_000_000_000).is_err());
        assert!(instant_from(i64::MAX, 0).is_err());
        assert!(symbol_from("aapl").is_err());
    }

    #[test]
    fn counts_cover_u64() {
        for n in [0, 1, u64::try_from(i64::MAX).unwrap(), u64::MAX] {
            let stored = count(n);
            assert_eq!(count_from(ValueRef::from(&stored)).unwrap(), n);
        }
    }

    #[test]
    fn instants_round_trip_and_order() {
        let samples = [
            Timestamp::MIN,
            Timestamp::new(-1, -500_000_000).unwrap(),
            Timestamp::new(-1, 0).unwrap(),
            Timestamp::new(0, -1).unwrap(),
            Timestamp::UNIX_EPOCH,
            Timestamp::new(0, 1).unwrap(),
            Timestamp::new(1_700_000_000, 999_999_999).unwrap(),
            Timestamp::MAX,
        ];
        for pair in samples.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            assert!(instant(a) < instant(b), "{a} {b}");
        }
        for t in samples {
            let (s, ns) = instant(t);
            assert!((0..1_000_000_000).contains(&ns));
            assert_eq!(instant_from(s, ns).unwrap(), t);
        }
    }
}
