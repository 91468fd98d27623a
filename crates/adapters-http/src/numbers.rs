//! Number parsing at the parse boundary: exact decimals with context in every error.

use std::str::FromStr;

use rust_decimal::Decimal;
use stockdata_domain::FetchError;

/// Text a provider uses for "no value".
pub(crate) fn is_absent(text: &str) -> bool {
    let t = text.trim();
    t.is_empty() || t.eq_ignore_ascii_case("none") || t == "-" || t.eq_ignore_ascii_case("null")
}

/// A decimal from provider text: `"112.6300"`, `"133.0"`, `"6.3e-05"`, `"-0.5852%"`.
pub(crate) fn decimal(field: &str, text: &str) -> Result<Decimal, FetchError> {
    let t = text.trim();
    let t = t.strip_suffix('%').unwrap_or(t);
    let parsed = if t.contains(['e', 'E']) {
        Decimal::from_scientific(t)
    } else {
        Decimal::from_str(t)
    };
    parsed
        .map(|d| d.normalize())
        .map_err(|_| FetchError::malformed(format!("{field}: {text:?} is not a decimal number")))
}

/// Like [`decimal`], but "", "None" and "-" mean absent.
pub(crate) fn opt_decimal(field: &str, text: Option<&str>) -> Result<Option<Decimal>, FetchError> {
    match text {
        Some(t) if !is_absent(t) => decimal(field, t).map(Some),
        _ => Ok(None),
    }
}

/// A non-negative integer count from provider text (`"29062853"`).
pub(crate) fn volume(field: &str, text: &str) -> Result<u64, FetchError> {
    let t = text.trim();
    if let Ok(v) = t.parse::<u64>() {
        return Ok(v);
    }
    // Some feeds send "123.0".
    let d = decimal(field, t)?;
    volume_from_decimal(field, d)
}

/// A non-negative integer count from a decimal; fractions are rounded to the nearest share.
pub(crate) fn volume_from_decimal(field: &str, d: Decimal) -> Result<u64, FetchError> {
    if d.is_sign_negative() && !d.is_zero() {
        return Err(FetchError::malformed(format!(
            "{field}: negative volume {d}"
        )));
    }
    u64::try_from(d.round())
        .map_err(|_| FetchError::malformed(format!("{field}: volume {d} is out of range")))
}

/// A non-negative integer count from a JSON float (Finnhub types volumes as floats).
pub(crate) fn volume_from_f64(field: &str, v: f64) -> Result<u64, FetchError> {
    if !v.is_finite() || v < 0.0 {
        return Err(FetchError::malformed(format!(
            "{field}: invalid volume {v}"
        )));
    }
    let d = Decimal::from_str(&v.to_string())
        .map_err(|_| FetchError::malformed(format!("{field}: volume {v} is out of range")))?;
    volume_from_decimal(field, d)
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
        check("112.6300", "112.63");
        check("133.0", "133");
        check("6.3e-05", "0.000063");
        check("-0.5852%", "-0.5852");
        check(" 1.0 ", "1");
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
        // Finnhub and Alpaca send prices as JSON numbers; rust_decimal reads them through the
        // shortest round-trip text of the float, so the provider's digits survive exactly.
        let parsed: Vec<Decimal> =
            serde_json::from_str("[161.942117, 189.98, 0.1, 174, 217.1402, 1e-7]").unwrap();
        let shown: Vec<String> = parsed.iter().map(|d| d.normalize().to_string()).collect();
        assert_eq!(
            shown,
            [
                "161.942117",
                "189.98",
                "0.1",
                "174",
                "217.1402",
                "0.0000001"
            ]
        );
    }

    #[test]
    fn volumes() {
        assert_eq!(volume("v", "29062853").unwrap(), 29_062_853);
        assert_eq!(volume_from_f64("v", 33_463_820.0).unwrap(), 33_463_820);
        assert!(volume("v", "-5").is_err());
        assert!(volume_from_f64("v", -1.0).is_err());
    }
}
