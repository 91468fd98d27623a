//! Provider numbers: decimals (`"112.6300"`, `"6.3e-05"`, `"-0.5852%"`) and volumes.

use std::str::FromStr;

use rust_decimal::Decimal;
use stockdata_adapters_http::numbers;
use stockdata_domain::ErrorKind;

use super::{Target, text};

pub(crate) const DECIMAL: Target = Target {
    name: "decimal",
    about: "numbers::decimal / volume: typed errors, exact round trips",
    check,
};

fn check(input: &[u8]) -> Result<(), String> {
    let text = text(input);
    match numbers::decimal("price", &text) {
        Ok(d) => {
            // What was read prints back as a decimal that reads the same.
            let again = numbers::decimal("price", &d.to_string())
                .map_err(|e| format!("{text:?} read as {d}, which does not read back: {e}"))?;
            if again != d {
                return Err(format!("{text:?} -> {d} -> {again}"));
            }
            // The fast path agrees with rust_decimal's own parser on plain decimals.
            let t = text.trim();
            let plain = t.strip_prefix('-').unwrap_or(t);
            if !plain.is_empty()
                && plain.bytes().all(|b| b.is_ascii_digit() || b == b'.')
                && let Ok(general) = Decimal::from_str(t)
                && general != d
            {
                return Err(format!("{text:?}: fast path {d}, general {general}"));
            }
        }
        Err(e) if e.kind() != ErrorKind::Malformed => return Err(format!("{text:?}: {e:?}")),
        Err(e) if !e.to_string().contains("price") => {
            return Err(format!("the error names no field: {e}"));
        }
        Err(_) => {}
    }
    match numbers::volume("volume", &text) {
        Ok(v) => {
            if let Ok(exact) = text.trim().parse::<u64>()
                && exact != v
            {
                return Err(format!("volume {text:?} read as {v}"));
            }
        }
        Err(e) if e.kind() != ErrorKind::Malformed => return Err(format!("{text:?}: {e:?}")),
        Err(_) => {}
    }
    let _ = numbers::opt_decimal("price", Some(&text));
    let _ = numbers::instant("as_of", &text);
    Ok(())
}
