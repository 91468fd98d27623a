//! Number parsing at the parse boundary: exact decimals with context in every error.
//!
//! Public so the fuzz targets (`crates/fuzz`) and tests exercise exactly what the adapters
//! call; every error is `FetchError::Malformed` naming the field.

use std::str::FromStr;

use rust_decimal::Decimal;
use stockdata_domain::FetchError;

/// Text a provider uses for "no value".
pub fn is_absent(text: &str) -> bool {
    let t = text.trim();
    t.is_empty() || t.eq_ignore_ascii_case("none") || t == "-" || t.eq_ignore_ascii_case("null")
}

/// A decimal from provider text: `"112.6300"`, `"133.0"`, `"6.3e-05"`, `"-0.5852%"`. The scale
/// is kept as sent (`112.6300` equals `112.63`; output normalizes).
pub fn decimal(field: &str, text: &str) -> Result<Decimal, FetchError> {
    if let Some(d) = plain_decimal(text) {
        return Ok(d);
    }
    let t = text.trim();
    let t = t.strip_suffix('%').unwrap_or(t);
    if let Some(d) = plain_decimal(t) {
        return Ok(d);
    }
    let parsed = if t.contains(['e', 'E']) {
        Decimal::from_scientific(t)
    } else {
        Decimal::from_str(t)
    };
    parsed.map_err(|_| FetchError::malformed(format!("{field}: {text:?} is not a decimal number")))
}

/// The common case on the hot path: `-?digits[.digits]` with at most 18 digits, read into a
/// mantissa and scale without rust_decimal's general parser. Anything else is `None` and goes
/// the general way.
fn plain_decimal(text: &str) -> Option<Decimal> {
    plain_decimal_bytes(text.as_bytes())
}

/// [`plain_decimal`] of raw bytes, for scanners that have not made a `str` of them: `Some`
/// exactly where [`decimal`] of the same text would take its first, plain path.
pub(crate) fn plain_decimal_bytes(bytes: &[u8]) -> Option<Decimal> {
    let (negative, digits) = match bytes.strip_prefix(b"-") {
        Some(rest) => (true, rest),
        None => (false, bytes),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut mantissa: i64 = 0;
    let mut scale: Option<u32> = None;
    let mut count = 0;
    for &b in digits {
        match b {
            b'0'..=b'9' => {
                if count == 18 {
                    // A 19th digit could overflow the mantissa: the general parser takes it.
                    return None;
                }
                mantissa = mantissa * 10 + i64::from(b - b'0');
                count += 1;
                if let Some(s) = scale.as_mut() {
                    *s += 1;
                }
            }
            b'.' if scale.is_none() => scale = Some(0),
            _ => return None,
        }
    }
    if count == 0 || count > 18 || scale == Some(0) {
        return None;
    }
    Some(Decimal::new(
        if negative { -mantissa } else { mantissa },
        scale.unwrap_or(0),
    ))
}

/// Like [`decimal`], but "", "None" and "-" mean absent.
pub fn opt_decimal(field: &str, text: Option<&str>) -> Result<Option<Decimal>, FetchError> {
    match text {
        Some(t) if !is_absent(t) => decimal(field, t).map(Some),
        _ => Ok(None),
    }
}

/// A count written as ASCII digits only (`29062853`): the value [`volume`] gives that text, or
/// `None` for anything else (signs, spaces, fractions, more than `u64` holds).
pub(crate) fn plain_count(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() {
        return None;
    }
    bytes.iter().try_fold(0_u64, |n, &b| {
        let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// A non-negative integer count from provider text (`"29062853"`).
pub fn volume(field: &str, text: &str) -> Result<u64, FetchError> {
    let t = text.trim();
    if let Ok(v) = t.parse::<u64>() {
        return Ok(v);
    }
    // Some feeds send "123.0".
    let d = decimal(field, t)?;
    volume_from_decimal(field, d)
}

/// A non-negative integer count from a decimal; fractions are rounded to the nearest share.
pub fn volume_from_decimal(field: &str, d: Decimal) -> Result<u64, FetchError> {
    if d.is_sign_negative() && !d.is_zero() {
        return Err(FetchError::malformed(format!(
            "{field}: negative volume {d}"
        )));
    }
    u64::try_from(d.round())
        .map_err(|_| FetchError::malformed(format!("{field}: volume {d} is out of range")))
}

/// A non-negative integer count from a JSON float (Finnhub types volumes as floats).
pub fn volume_from_f64(field: &str, v: f64) -> Result<u64, FetchError> {
    if !v.is_finite() || v < 0.0 {
        return Err(FetchError::malformed(format!(
            "{field}: invalid volume {v}"
        )));
    }
    // Whole numbers (the usual case) convert directly; 2^53 is where f64 stops being exact.
    if v.fract() == 0.0 && v < 9_007_199_254_740_992.0 {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "v is finite, non-negative, whole and below 2^53: exactly representable"
        )]
        return Ok(v as u64);
    }
    let d = decimal_from_f64(v)
        .ok_or_else(|| FetchError::malformed(format!("{field}: volume {v} is out of range")))?;
    volume_from_decimal(field, d)
}

/// A decimal from a JSON float, exact to the digits the provider printed: the shortest text
/// that round-trips the float (`161.942117`, never `161.94211699999999`), formatted on the
/// stack by ryu.
pub fn decimal_from_f64(v: f64) -> Option<Decimal> {
    if !v.is_finite() {
        return None;
    }
    let mut buf = ryu::Buffer::new();
    let text = buf.format_finite(v);
    if text.contains('e') {
        Decimal::from_scientific(text).ok()
    } else {
        Decimal::from_str(text).ok()
    }
}

/// An RFC 3339 instant (`2022-03-18T14:02:09.722539521Z`).
pub fn instant(field: &str, text: &str) -> Result<jiff::Timestamp, FetchError> {
    text.parse()
        .map_err(|_| FetchError::malformed(format!("{field}: {text:?} is not an RFC 3339 instant")))
}

/// serde helpers reading JSON numbers as exact decimals straight from their text (no trip
/// through `f64`): `217.1402` is read as the digits the provider wrote.
pub(crate) mod json {
    use rust_decimal::Decimal;
    use serde::de::{self, Deserialize, Deserializer};
    use serde_json::value::RawValue;

    fn from_raw<E: de::Error>(raw: &RawValue) -> Result<Decimal, E> {
        let text = raw.get();
        let digits = text
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .unwrap_or(text);
        super::decimal("", digits).map_err(|_| E::custom(format!("{text} is not a decimal number")))
    }

    /// A required number.
    pub(crate) fn decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        let raw: &RawValue = Deserialize::deserialize(d)?;
        from_raw(raw)
    }

    /// A required non-negative whole count (`85998033`, also `85998033.0`).
    pub(crate) fn volume<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let raw: &RawValue = Deserialize::deserialize(d)?;
        let text = raw.get();
        if let Ok(v) = text.parse::<u64>() {
            return Ok(v);
        }
        super::volume("volume", text).map_err(|e| de::Error::custom(e.to_string()))
    }

    /// A number or null.
    pub(crate) fn opt_decimal<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Decimal>, D::Error> {
        let raw: Option<&RawValue> = Deserialize::deserialize(d)?;
        raw.map(from_raw).transpose()
    }

    /// An array of numbers, read straight from the array's text: one scan, no per-element
    /// deserializer round trip (candle arrays hold tens of thousands of prices).
    pub(crate) fn decimals<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Decimal>, D::Error> {
        let raw: &RawValue = Deserialize::deserialize(d)?;
        let text = raw.get().trim();
        let inner = text
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .ok_or_else(|| {
                de::Error::custom(format!(
                    "expected an array of numbers, got {}",
                    preview(text)
                ))
            })?;
        if inner.trim().is_empty() {
            return Ok(Vec::new());
        }
        let mut out = Vec::with_capacity(inner.len() / 6 + 1);
        for item in inner.split(',') {
            let item = item.trim();
            let digits = item
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .unwrap_or(item);
            let value = super::plain_decimal(digits)
                .or_else(|| super::decimal("", digits).ok())
                .ok_or_else(|| {
                    de::Error::custom(format!("{} is not a decimal number", preview(item)))
                })?;
            out.push(value);
        }
        Ok(out)
    }

    fn preview(text: &str) -> String {
        text.chars().take(40).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(text: &str, want: &str) {
        assert_eq!(decimal("f", text).unwrap().to_string(), want);
    }

    #[test]
    fn provider_number_texts() {
        check("112.6300", "112.6300");
        check("133.0", "133.0");
        check("6.3e-05", "0.000063");
        check("-0.5852%", "-0.5852");
        check(" 1.0 ", "1.0");
        check("-0.5852", "-0.5852");
        check("0.000063", "0.000063");
        check("123456789012345678", "123456789012345678");
        check("1234567890.123456789", "1234567890.123456789");
        check(".5", "0.5");
        check("-0", "0");
        assert!(decimal("f", "-").is_err());
        assert!(decimal("f", "1.2.3").is_err());
        assert_eq!(
            decimal("f", "112.6300").unwrap(),
            decimal("f", "112.63").unwrap()
        );
        assert!(
            decimal("price", "abc")
                .unwrap_err()
                .to_string()
                .contains("price")
        );
        assert_eq!(opt_decimal("f", Some("None")).unwrap(), None);
        assert_eq!(opt_decimal("f", Some("")).unwrap(), None);
    }

    #[test]
    fn json_floats_keep_their_printed_digits() {
        // Finnhub and Alpaca send prices as JSON numbers: read from their text, the provider's
        // digits survive exactly.
        let mut de = serde_json::Deserializer::from_str(
            "[161.942117, 189.98, 0.1, 174, 217.1402, 1e-7, 174.0, \"4315346.23\"]",
        );
        let parsed = json::decimals(&mut de).unwrap();
        let shown: Vec<String> = parsed.iter().map(|d| d.normalize().to_string()).collect();
        assert_eq!(
            shown,
            [
                "161.942117",
                "189.98",
                "0.1",
                "174",
                "217.1402",
                "0.0000001",
                "174",
                "4315346.23"
            ]
        );
        // Via Decimal::from_f64 this one would read 4315346.230000001.
        let mut de = serde_json::Deserializer::from_str("[1, true]");
        assert!(json::decimals(&mut de).is_err(), "non-numbers are rejected");
    }

    #[test]
    fn plain_counts_are_what_volume_reads() {
        for text in ["0", "29062853", "18446744073709551615", "007"] {
            assert_eq!(
                plain_count(text.as_bytes()),
                Some(volume("v", text).unwrap())
            );
        }
        for text in [
            "",
            "+5",
            " 5",
            "5.0",
            "-0",
            "18446744073709551616",
            "1e3",
            "５",
        ] {
            assert_eq!(plain_count(text.as_bytes()), None, "{text}");
        }
    }

    #[test]
    fn volumes() {
        assert_eq!(volume("v", "29062853").unwrap(), 29_062_853);
        assert_eq!(volume_from_f64("v", 33_463_820.0).unwrap(), 33_463_820);
        assert!(volume("v", "-5").is_err());
        assert!(volume_from_f64("v", -1.0).is_err());
    }
}
