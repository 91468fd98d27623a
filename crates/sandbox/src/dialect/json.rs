//! JSON text written in the providers' key order.
//!
//! `serde_json::Map` sorts its keys (the workspace does not enable `preserve_order`: it is a
//! feature of one crate shared by every crate in a build, so turning it on here would change
//! the key order of every JSON document the product writes and reads into a `Value`, pacts and
//! snapshots included). Where the order is part of the wire (Alpha Vantage's series run newest
//! first; the samples' key order), the dialects write the text with [`Obj`] instead. Strings
//! are escaped by `serde_json`; numbers are written from cents, exactly.

use serde_json::Value;

/// A JSON object written key by key, in insertion order.
#[derive(Debug)]
pub(crate) struct Obj {
    text: String,
    empty: bool,
}

impl Obj {
    pub(crate) fn new() -> Self {
        Self {
            text: String::from("{"),
            empty: true,
        }
    }

    /// `key` with `json`, a value already written as JSON text.
    pub(crate) fn raw(mut self, key: &str, json: &str) -> Self {
        if !self.empty {
            self.text.push(',');
        }
        self.empty = false;
        self.text.push_str(&string(key));
        self.text.push(':');
        self.text.push_str(json);
        self
    }

    /// `key` with a JSON string.
    pub(crate) fn str(self, key: &str, value: &str) -> Self {
        self.raw(key, &string(value))
    }

    /// `key` with any JSON value.
    pub(crate) fn value(self, key: &str, value: &Value) -> Self {
        self.raw(key, &value.to_string())
    }

    /// `key` with a price: cents as a JSON number.
    pub(crate) fn price(self, key: &str, cents: i64) -> Self {
        self.raw(key, &number(cents))
    }

    /// `key` with an unsigned whole number.
    pub(crate) fn uint(self, key: &str, n: u64) -> Self {
        self.raw(key, &n.to_string())
    }

    pub(crate) fn finish(mut self) -> String {
        self.text.push('}');
        self.text
    }
}

/// A JSON array of values already written as JSON text.
pub(crate) fn array(items: impl IntoIterator<Item = String>) -> String {
    let mut text = String::from("[");
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&item);
    }
    text.push(']');
    text
}

/// `value` as a JSON string.
pub(crate) fn string(value: &str) -> String {
    Value::from(value).to_string()
}

/// Cents as the shortest exact JSON number: `7247` → `72.47`, `7250` → `72.5`, `7200` → `72`.
pub(crate) fn number(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let (whole, frac) = (cents.unsigned_abs() / 100, cents.unsigned_abs() % 100);
    match (frac, frac % 10) {
        (0, _) => format!("{sign}{whole}"),
        (_, 0) => format!("{sign}{whole}.{}", frac / 10),
        _ => format!("{sign}{whole}.{frac:02}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_their_order_and_text_is_escaped() {
        let obj = Obj::new()
            .str("z", "a \"quoted\"\nline")
            .price("a", 7247)
            .uint("m", 3)
            .value("n", &Value::Null)
            .raw("list", &array(["1".to_owned(), "2".to_owned()]))
            .finish();
        assert_eq!(
            obj,
            r#"{"z":"a \"quoted\"\nline","a":72.47,"m":3,"n":null,"list":[1,2]}"#
        );
        assert!(serde_json::from_str::<Value>(&obj).is_ok());
        assert_eq!(Obj::new().finish(), "{}");
        assert_eq!(array(Vec::new()), "[]");
    }

    #[test]
    fn prices_are_exact_decimals() {
        for (cents, text) in [
            (7247, "72.47"),
            (7250, "72.5"),
            (7200, "72"),
            (5, "0.05"),
            (0, "0"),
            (-72, "-0.72"),
            (-7250, "-72.5"),
        ] {
            assert_eq!(number(cents), text);
        }
    }
}
