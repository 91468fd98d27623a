//! How domain values become column values and back. The layout is documented once, in
//! `migrations/0001_init.sql`; this module and `stockdata_store_common::codec` (the encodings
//! both stores share: instants, text codes, symbols) are its only implementation.

use std::str::FromStr;

use jiff::Timestamp;
use rusqlite::types::{Value, ValueRef};
use rust_decimal::Decimal;
use stockdata_domain::Symbol;
use stockdata_store_common::codec::symbol_from;

use crate::error::Fail;

/// The multiplier that makes room for a decimal's scale (0..=28) below its mantissa.
const SCALE_ROOM: i64 = 32;

/// An instant as (whole seconds rounded down, nanoseconds 0..=999_999_999), both INTEGER;
/// read back with `stockdata_store_common::codec::instant_from`.
pub(crate) fn instant(t: Timestamp) -> (i64, i64) {
    let (seconds, nanos) = stockdata_store_common::codec::instant(t);
    (seconds, i64::from(nanos))
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
        .map(|s| Ok(symbol_from(s)?))
        .collect()
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
        assert!(symbols_from("AAPL aapl").is_err());
    }

    #[test]
    fn counts_cover_u64() {
        for n in [0, 1, u64::try_from(i64::MAX).unwrap(), u64::MAX] {
            let stored = count(n);
            assert_eq!(count_from(ValueRef::from(&stored)).unwrap(), n);
        }
    }
}
