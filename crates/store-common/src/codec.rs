//! Column forms both stores share. Each store's `migrations/0001_init.sql` documents its
//! columns; the encodings here are the part that does not depend on the database.

use stockdata_domain::{Adjustment, Interval, SentimentLabel, Symbol, Timestamp};
use stockdata_ports::{Dataset, StoredKind};

use crate::BadValue;

const NANOS_PER_SECOND: i32 = 1_000_000_000;

/// An instant as (whole seconds rounded down, nanoseconds 0..=999_999_999).
pub type Instant = (i64, i32);

/// A span `[lo, hi)` of instants.
pub type Span = (Instant, Instant);

/// An instant as (whole seconds rounded down, nanoseconds 0..=999_999_999): pairs order like
/// the instants they stand for (jiff gives an instant before 1970 negative nanoseconds).
#[must_use]
pub fn instant(t: Timestamp) -> Instant {
    let seconds = t.as_second();
    let nanos = t.subsec_nanosecond();
    if nanos < 0 {
        (seconds - 1, nanos + NANOS_PER_SECOND)
    } else {
        (seconds, nanos)
    }
}

/// The instant stored as `(seconds, nanos)` by [`instant`]. `nanos` is as wide as any
/// integer column, so a value no `i32` holds is refused here rather than by the driver.
///
/// # Errors
/// Nanoseconds outside `0..1_000_000_000`, or an instant outside jiff's range.
pub fn instant_from(seconds: i64, nanos: i64) -> Result<Timestamp, BadValue> {
    let nanos = i32::try_from(nanos)
        .ok()
        .filter(|n| (0..NANOS_PER_SECOND).contains(n))
        .ok_or_else(|| BadValue(format!("nanoseconds {nanos} out of range")))?;
    Timestamp::new(seconds, nanos)
        .map_err(|e| BadValue(format!("instant ({seconds} s, {nanos} ns): {e}")))
}

/// `market` or `sandbox`.
///
/// # Errors
/// Any other text.
pub fn dataset_from(text: &str) -> Result<Dataset, BadValue> {
    match text {
        "market" => Ok(Dataset::Market),
        "sandbox" => Ok(Dataset::Sandbox),
        other => Err(BadValue(format!("unknown dataset {other:?}"))),
    }
}

/// The canonical interval text, exactly.
///
/// # Errors
/// Any other text.
pub fn interval_from(text: &str) -> Result<Interval, BadValue> {
    Interval::ALL
        .into_iter()
        .find(|i| i.as_str() == text)
        .ok_or_else(|| BadValue(format!("unknown interval {text:?}")))
}

/// `raw`, `split`, `dividend` or `all`.
///
/// # Errors
/// Any other text.
pub fn adjustment_from(text: &str) -> Result<Adjustment, BadValue> {
    match text {
        "raw" => Ok(Adjustment::Raw),
        "split" => Ok(Adjustment::Split),
        "dividend" => Ok(Adjustment::Dividend),
        "all" => Ok(Adjustment::All),
        other => Err(BadValue(format!("unknown adjustment {other:?}"))),
    }
}

/// A provenance's adjustment as its small code (0 to 3), in the integer type of the column.
pub fn adjustment_code<C: From<i8>>(a: Option<Adjustment>) -> Option<C> {
    a.map(|a| {
        C::from(match a {
            Adjustment::Raw => 0,
            Adjustment::Split => 1,
            Adjustment::Dividend => 2,
            Adjustment::All => 3,
        })
    })
}

/// The adjustment stored by [`adjustment_code`].
///
/// # Errors
/// A code other than 0 to 3.
pub fn adjustment_from_code<C: Into<i64>>(code: Option<C>) -> Result<Option<Adjustment>, BadValue> {
    code.map(|c| match c.into() {
        0 => Ok(Adjustment::Raw),
        1 => Ok(Adjustment::Split),
        2 => Ok(Adjustment::Dividend),
        3 => Ok(Adjustment::All),
        other => Err(BadValue(format!("unknown adjustment code {other}"))),
    })
    .transpose()
}

/// `bars`, `quotes` or `news`.
///
/// # Errors
/// Any other text.
pub fn kind_from(text: &str) -> Result<StoredKind, BadValue> {
    match text {
        "bars" => Ok(StoredKind::Bars),
        "quotes" => Ok(StoredKind::Quotes),
        "news" => Ok(StoredKind::News),
        other => Err(BadValue(format!("unknown fetch kind {other:?}"))),
    }
}

/// A sentiment label as (label text, verbatim text for `Other`). The verbatim text is
/// borrowed: a store that cannot hold every string cleans it on its way in.
#[must_use]
pub fn label(l: &SentimentLabel) -> (&'static str, Option<&str>) {
    match l {
        SentimentLabel::Bearish => ("bearish", None),
        SentimentLabel::SomewhatBearish => ("somewhat_bearish", None),
        SentimentLabel::Neutral => ("neutral", None),
        SentimentLabel::SomewhatBullish => ("somewhat_bullish", None),
        SentimentLabel::Bullish => ("bullish", None),
        SentimentLabel::Other(verbatim) => ("other", Some(verbatim)),
    }
}

/// The label stored by [`label`].
///
/// # Errors
/// An unknown label, `other` without its verbatim text, or a verbatim text beside a known
/// label.
pub fn label_from(text: &str, other: Option<String>) -> Result<SentimentLabel, BadValue> {
    match (text, other) {
        ("bearish", None) => Ok(SentimentLabel::Bearish),
        ("somewhat_bearish", None) => Ok(SentimentLabel::SomewhatBearish),
        ("neutral", None) => Ok(SentimentLabel::Neutral),
        ("somewhat_bullish", None) => Ok(SentimentLabel::SomewhatBullish),
        ("bullish", None) => Ok(SentimentLabel::Bullish),
        ("other", Some(verbatim)) => Ok(SentimentLabel::Other(verbatim)),
        (label, _) => Err(BadValue(format!("unknown sentiment label {label:?}"))),
    }
}

/// A stored symbol, which must already be in normal form.
///
/// # Errors
/// Text `Symbol::parse` refuses, or would change.
pub fn symbol_from(text: &str) -> Result<Symbol, BadValue> {
    Symbol::parse(text)
        .ok()
        .filter(|s| s.as_str() == text)
        .ok_or_else(|| BadValue(format!("stored symbol {text:?} is not valid")))
}

#[cfg(test)]
mod tests {
    use super::*;

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
            assert!(instant(pair[0]) < instant(pair[1]), "{pair:?}");
        }
        for t in samples {
            let (s, ns) = instant(t);
            assert!((0..NANOS_PER_SECOND).contains(&ns));
            assert_eq!(instant_from(s, i64::from(ns)).unwrap(), t);
        }
    }

    #[test]
    fn foreign_instants_are_refused_not_trusted() {
        for (seconds, nanos) in [
            (0, 1_000_000_000),
            (0, -1),
            (0, i64::from(i32::MAX) + 1),
            (0, i64::MIN),
            (i64::MAX, 0),
        ] {
            assert!(instant_from(seconds, nanos).is_err(), "{seconds} {nanos}");
        }
        assert_eq!(
            instant_from(0, 5_000_000_000).unwrap_err().0,
            "nanoseconds 5000000000 out of range"
        );
    }

    #[test]
    fn codes_round_trip() {
        for d in [Dataset::Market, Dataset::Sandbox] {
            assert_eq!(dataset_from(d.as_str()).unwrap(), d);
        }
        for i in Interval::ALL {
            assert_eq!(interval_from(i.as_str()).unwrap(), i);
        }
        for k in [StoredKind::Bars, StoredKind::Quotes, StoredKind::News] {
            assert_eq!(kind_from(k.as_str()).unwrap(), k);
        }
        for a in [
            Adjustment::Raw,
            Adjustment::Split,
            Adjustment::Dividend,
            Adjustment::All,
        ] {
            assert_eq!(adjustment_from(a.as_str()).unwrap(), a);
            let wide: Option<i64> = adjustment_code(Some(a));
            let narrow: Option<i16> = adjustment_code(Some(a));
            assert_eq!(adjustment_from_code(wide).unwrap(), Some(a));
            assert_eq!(adjustment_from_code(narrow).unwrap(), Some(a));
        }
        assert_eq!(adjustment_from_code::<i64>(None).unwrap(), None);
        for l in [
            SentimentLabel::Bearish,
            SentimentLabel::SomewhatBearish,
            SentimentLabel::Neutral,
            SentimentLabel::SomewhatBullish,
            SentimentLabel::Bullish,
            SentimentLabel::Other("Mixed ünïcödé".to_owned()),
        ] {
            let (text, other) = label(&l);
            assert_eq!(label_from(text, other.map(str::to_owned)).unwrap(), l);
        }
    }

    #[test]
    fn foreign_codes_are_refused_not_trusted() {
        assert!(dataset_from("Market").is_err());
        assert!(interval_from("1D").is_err());
        assert!(adjustment_from("").is_err());
        assert!(adjustment_from_code(Some(4_i64)).is_err());
        assert!(adjustment_from_code(Some(-1_i16)).is_err());
        assert!(kind_from("bar").is_err());
        assert!(label_from("other", None).is_err());
        assert!(label_from("bullish", Some("x".to_owned())).is_err());
        assert!(symbol_from("aapl").is_err());
        assert!(symbol_from("").is_err());
        assert_eq!(symbol_from("BRK.B").unwrap().as_str(), "BRK.B");
    }
}
