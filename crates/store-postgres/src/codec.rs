//! How domain values become column values and back. The layout is documented once, in
//! `migrations/0001_init.sql`; this module and `stockdata_store_common::codec` (the encodings
//! both stores share: instants, text codes, symbols) are its only implementation.
//!
//! Decimals and counts travel as PostgreSQL `numeric` in its binary form, written and read
//! here rather than through a text round trip or a float: a `numeric` keeps its display scale
//! (`1.50` stays `1.50`), so the only decimal it cannot hold is a negative zero, which the row's
//! `negative_zeros` bits remember.

use std::borrow::Cow;
use std::error::Error;

use bytes::{BufMut as _, BytesMut};
use jiff::Timestamp;
use rust_decimal::Decimal;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

use crate::error::Fail;

/// The instant stored as `(seconds, nanos)` (`bigint`, `integer`) by
/// `stockdata_store_common::codec::instant`.
pub(crate) fn instant_from(seconds: i64, nanos: i32) -> Result<Timestamp, Fail> {
    Ok(stockdata_store_common::codec::instant_from(
        seconds,
        i64::from(nanos),
    )?)
}

/// A decimal as a `numeric` parameter (a negative zero goes as zero: see [`negative_zeros`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Num(pub(crate) Decimal);

/// A count (volume, size, trades) as a `numeric(20)` parameter: u64 does not fit `bigint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Count(pub(crate) u64);

/// The bits of a row's `negative_zeros` column: bit `i` is set when the `i`-th of `values` is
/// a negative zero (`-0.00`), which `numeric` cannot tell from zero.
pub(crate) fn negative_zeros<'a>(values: impl IntoIterator<Item = Option<&'a Decimal>>) -> i16 {
    values
        .into_iter()
        .enumerate()
        .filter(|(_, d)| d.is_some_and(|d| d.is_zero() && d.is_sign_negative()))
        .fold(0_i16, |bits, (i, _)| {
            bits | u32::try_from(i)
                .ok()
                .and_then(|i| 1_i16.checked_shl(i))
                .unwrap_or(0)
        })
}

/// The decimal read from a `numeric` column, its sign restored from bit `bit` of the row's
/// `negative_zeros`.
pub(crate) fn decimal(n: Num, negative_zeros: i16, bit: u32) -> Result<Decimal, Fail> {
    let mut d = n.0;
    if negative_zeros.checked_shr(bit).is_some_and(|b| b & 1 == 1) {
        if !d.is_zero() {
            return Err(Fail::bad(format!(
                "{d} is marked a negative zero in negative_zeros"
            )));
        }
        d.set_sign_negative(true);
    }
    Ok(d)
}

/// [`decimal`] for a nullable column.
pub(crate) fn opt_decimal(
    n: Option<Num>,
    negative_zeros: i16,
    bit: u32,
) -> Result<Option<Decimal>, Fail> {
    n.map(|n| decimal(n, negative_zeros, bit)).transpose()
}

/// `numeric`'s sign word for a positive number (zero too) and a negative one.
const NUMERIC_POS: u16 = 0x0000;
const NUMERIC_NEG: u16 = 0x4000;
/// `numeric` digits are base 10 000: four decimal digits each.
const NBASE: u128 = 10_000;

/// Writes `±magnitude / 10^scale` in `numeric`'s binary form: `ndigits`, `weight` (the power
/// of 10 000 of the first digit), sign, display scale, then the base-10 000 digits, first the
/// most significant, with no leading or trailing zero digit.
fn put_numeric(
    negative: bool,
    magnitude: u128,
    scale: u32,
    out: &mut BytesMut,
) -> Result<(), Fail> {
    let too_big = || Fail::bad(format!("{magnitude}e-{scale} is too big for numeric"));
    // Pad the fraction to whole digits of four: the decimal point then falls between digits.
    let pad = (4 - scale % 4) % 4;
    let mut m = magnitude
        .checked_mul(10_u128.pow(pad))
        .ok_or_else(too_big)?;
    let fraction_digits = i32::try_from((scale + pad) / 4).map_err(|_| too_big())?;
    // Least significant first; a u128 has at most 39 decimal digits, 10 of base 10 000.
    let mut digits = [0_i16; 10];
    let mut count = 0;
    while m > 0 {
        let slot = digits.get_mut(count).ok_or_else(too_big)?;
        *slot = i16::try_from(m % NBASE).map_err(|_| too_big())?;
        m /= NBASE;
        count += 1;
    }
    let used = digits.get(..count).ok_or_else(too_big)?;
    // The weight of the first (most significant) digit follows from how many there are,
    // before trailing zero digits are dropped.
    let weight = i32::try_from(count).map_err(|_| too_big())? - 1 - fraction_digits;
    let weight = i16::try_from(weight).map_err(|_| too_big())?;
    let zeros = used.iter().take_while(|d| **d == 0).count();
    let kept = used.get(zeros..).unwrap_or_default();
    let ndigits = i16::try_from(kept.len()).map_err(|_| too_big())?;
    let scale = u16::try_from(scale).map_err(|_| too_big())?;
    out.put_i16(ndigits);
    out.put_i16(if ndigits == 0 { 0 } else { weight });
    out.put_u16(if negative && ndigits > 0 {
        NUMERIC_NEG
    } else {
        NUMERIC_POS
    });
    out.put_u16(scale);
    for d in kept.iter().rev() {
        out.put_i16(*d);
    }
    Ok(())
}

/// A decimal in `numeric`'s binary form (a negative zero as zero).
pub(crate) fn put_decimal(d: Decimal, out: &mut BytesMut) -> Result<(), Fail> {
    put_numeric(
        d.is_sign_negative(),
        d.mantissa().unsigned_abs(),
        d.scale(),
        out,
    )
}

/// A count in `numeric`'s binary form.
pub(crate) fn put_count(n: u64, out: &mut BytesMut) -> Result<(), Fail> {
    put_numeric(false, u128::from(n), 0, out)
}

/// Reads `numeric`'s binary form as (negative, magnitude, scale) with `±magnitude / 10^scale`
/// the value, refusing NaN, infinities and anything past 128 bits.
fn get_numeric(raw: &[u8]) -> Result<(bool, u128, u32), Fail> {
    let bad = |why: &str| Fail::bad(format!("a numeric value {why}"));
    let word = |i: usize| -> Result<u16, Fail> {
        let at = i * 2;
        match (raw.get(at), raw.get(at + 1)) {
            (Some(a), Some(b)) => Ok(u16::from_be_bytes([*a, *b])),
            _ => Err(bad("is cut short")),
        }
    };
    let signed = |w: u16| i16::from_be_bytes(w.to_be_bytes());
    let ndigits =
        usize::try_from(signed(word(0)?)).map_err(|_| bad("has a negative digit count"))?;
    let weight = i32::from(signed(word(1)?));
    let negative = match word(2)? {
        NUMERIC_POS => false,
        NUMERIC_NEG => true,
        _ => return Err(bad("is NaN or infinite")),
    };
    let scale = u32::from(word(3)?);
    if raw.len() != 8 + ndigits * 2 {
        return Err(bad("has the wrong length"));
    }
    let overflow = || bad("does not fit 128 bits");
    let mut integer: u128 = 0;
    for i in 0..ndigits {
        let d = word(4 + i)?;
        if u128::from(d) >= NBASE {
            return Err(bad("has a digit past 9999"));
        }
        integer = integer
            .checked_mul(NBASE)
            .and_then(|m| m.checked_add(u128::from(d)))
            .ok_or_else(overflow)?;
    }
    // value = integer * 10^(4 * (weight - ndigits + 1)); magnitude = value * 10^scale.
    let count = i32::try_from(ndigits).map_err(|_| overflow())?;
    let exponent = 4 * (weight - count + 1) + i32::try_from(scale).map_err(|_| overflow())?;
    let magnitude = if integer == 0 {
        0
    } else if exponent >= 0 {
        let e = u32::try_from(exponent).map_err(|_| overflow())?;
        10_u128
            .checked_pow(e)
            .and_then(|p| integer.checked_mul(p))
            .ok_or_else(overflow)?
    } else {
        let e = u32::try_from(-exponent).map_err(|_| overflow())?;
        let p = 10_u128.checked_pow(e).ok_or_else(overflow)?;
        if !integer.is_multiple_of(p) {
            return Err(bad("has more digits than its scale"));
        }
        integer / p
    };
    Ok((negative, magnitude, scale))
}

impl ToSql for Num {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        put_decimal(self.0, out)?;
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for Num {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        let (negative, magnitude, scale) = get_numeric(raw)?;
        let m = i128::try_from(magnitude)?;
        let d = Decimal::try_from_i128_with_scale(if negative { -m } else { m }, scale)?;
        Ok(Num(d))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }
}

impl ToSql for Count {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        put_count(self.0, out)?;
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for Count {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        match get_numeric(raw)? {
            (false, magnitude, 0) => Ok(Count(u64::try_from(magnitude)?)),
            (negative, magnitude, scale) => Err(Box::new(Fail::bad(format!(
                "count {}{magnitude}e-{scale} is not a whole non-negative number",
                if negative { "-" } else { "" }
            )))),
        }
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }
}

/// Text as PostgreSQL can hold it: every U+0000 (which a `text` value cannot contain) becomes
/// U+FFFD. Everything else is kept exactly.
pub(crate) fn text(s: &str) -> Cow<'_, str> {
    if s.contains('\0') {
        Cow::Owned(s.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// [`text`] of an optional string.
pub(crate) fn opt_text(s: Option<&str>) -> Option<String> {
    s.map(|s| text(s).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode_decimal(d: Decimal) -> BytesMut {
        let mut out = BytesMut::new();
        Num(d).to_sql(&Type::NUMERIC, &mut out).unwrap();
        out
    }

    fn round_trip(text: &str) {
        let d = Decimal::from_str_exact(text).unwrap();
        let raw = encode_decimal(d);
        let back = Num::from_sql(&Type::NUMERIC, &raw).unwrap().0;
        assert_eq!(back.to_string(), d.to_string(), "{text}");
        assert_eq!(back, d, "{text}");
    }

    #[test]
    fn decimals_keep_value_and_scale() {
        for text in [
            "0",
            "0.00",
            "0.0000000000000000000000000000",
            "1",
            "1.5",
            "1.50",
            "-1.50",
            "10000",
            "10000.0000",
            "9999.9999",
            "0.0001",
            "0.00010",
            "0.00000001",
            "189.98",
            "-37.63",
            "0.0000000000000000000000000001",
            "-0.0000000000000000000000000001",
            "79228162514264337593543950335",
            "-79228162514264337593543950335",
            "7.9228162514264337593543950335",
            "288230376151711744",
            "-288230376151711745",
            "1234567890.123456789",
            "100000000",
            "100000000.000",
        ] {
            round_trip(text);
        }
    }

    /// The bytes PostgreSQL itself sends for `'1.50'::numeric` and `'-10000.0001'::numeric`.
    #[test]
    fn the_binary_form_is_postgres_own() {
        let one_fifty = Decimal::from_str_exact("1.50").unwrap();
        assert_eq!(
            &encode_decimal(one_fifty)[..],
            [0, 2, 0, 0, 0, 0, 0, 2, 0, 1, 0x13, 0x88]
        );
        let d = Decimal::from_str_exact("-10000.0001").unwrap();
        assert_eq!(
            &encode_decimal(d)[..],
            [0, 3, 0, 1, 0x40, 0, 0, 4, 0, 1, 0, 0, 0, 1]
        );
        let zero = Decimal::from_str_exact("0.00").unwrap();
        assert_eq!(&encode_decimal(zero)[..], [0, 0, 0, 0, 0, 0, 0, 2]);
    }

    #[test]
    fn negative_zero_is_a_bit_beside_the_value() {
        let mut nz = Decimal::new(0, 2);
        nz.set_sign_negative(true);
        let plain = Decimal::new(150, 2);
        let bits = negative_zeros([Some(&plain), None, Some(&nz)]);
        assert_eq!(bits, 0b100);
        let raw = encode_decimal(nz);
        let stored = Num::from_sql(&Type::NUMERIC, &raw).unwrap();
        assert!(!stored.0.is_sign_negative());
        let back = decimal(stored, bits, 2).unwrap();
        assert_eq!(back.to_string(), "-0.00");
        assert!(decimal(Num(plain), 1, 0).is_err());
    }

    #[test]
    fn counts_cover_u64() {
        for n in [
            0,
            1,
            9_999,
            10_000,
            u64::try_from(i64::MAX).unwrap(),
            u64::MAX,
        ] {
            let mut out = BytesMut::new();
            Count(n).to_sql(&Type::NUMERIC, &mut out).unwrap();
            assert_eq!(Count::from_sql(&Type::NUMERIC, &out).unwrap(), Count(n));
        }
    }

    #[test]
    fn foreign_numerics_are_refused_not_trusted() {
        let nan = [0, 0, 0, 0, 0xC0, 0, 0, 0];
        let infinity = [0, 0, 0, 0, 0xD0, 0, 0, 0];
        let big_digit = [0, 1, 0, 0, 0, 0, 0, 0, 0x27, 0x10];
        let short = [0, 1, 0, 0, 0, 0, 0, 0];
        let too_long = [0, 12, 0, 11, 0, 0, 0, 0];
        for raw in [&nan[..], &infinity, &big_digit, &short, &too_long, &[0, 1]] {
            assert!(Num::from_sql(&Type::NUMERIC, raw).is_err(), "{raw:?}");
        }
        // 1.5 with scale 0 is not something this crate writes.
        let more_digits_than_scale = [0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0x13, 0x88];
        assert!(Num::from_sql(&Type::NUMERIC, &more_digits_than_scale).is_err());
        // 2^96 does not fit a decimal; a scale of 29 neither.
        let mut out = BytesMut::new();
        put_numeric(false, 1 << 96, 0, &mut out).unwrap();
        assert!(Num::from_sql(&Type::NUMERIC, &out).is_err());
        let mut out = BytesMut::new();
        put_numeric(false, 1, 29, &mut out).unwrap();
        assert!(Num::from_sql(&Type::NUMERIC, &out).is_err());
        // Counts are whole and non-negative, and fit u64.
        let d = Decimal::from_str_exact("-1").unwrap();
        assert!(Count::from_sql(&Type::NUMERIC, &encode_decimal(d)).is_err());
        let d = Decimal::from_str_exact("1.0").unwrap();
        assert!(Count::from_sql(&Type::NUMERIC, &encode_decimal(d)).is_err());
        let mut out = BytesMut::new();
        put_numeric(false, u128::from(u64::MAX) + 1, 0, &mut out).unwrap();
        assert!(Count::from_sql(&Type::NUMERIC, &out).is_err());
        assert!(instant_from(0, 1_000_000_000).is_err());
        assert!(instant_from(0, -1).is_err());
    }

    #[test]
    fn text_loses_only_nul() {
        assert!(matches!(text("plain ünïcödé"), Cow::Borrowed(_)));
        assert_eq!(text("a\0b"), "a\u{FFFD}b");
    }
}
