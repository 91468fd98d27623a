//! Inputs as proptest values: a corpus seed and a list of mutations (shrinkable to the fewest
//! and smallest that still fail), or raw bytes.

use proptest::collection::vec;
use proptest::prelude::*;

use crate::targets::{PASSWORD, SECRET, SERVE_TOKEN};

/// Tokens a hostile or broken upstream sends: absurd numbers, absent-value spellings, dates at
/// the edge of every calendar, structural breakage, provider keywords; what a user writes in
/// config, environment and watchlists and a client in a request; and the planted secrets.
pub const DICTIONARY: &[&str] = &[
    // numbers
    "1e300",
    "-1e300",
    "1e20",
    "1E+400",
    "-1",
    "0",
    "-0",
    "NaN",
    "inf",
    "-inf",
    "1.7976931348623157e308",
    "4.9e-324",
    "79228162514264337593543950335",
    "79228162514264337593543950336",
    "-79228162514264337593543950336",
    "0.0000000000000000000000000001",
    "0.00000000000000000000000000001",
    "1e-30",
    "1e28",
    "9999999999999999999",
    "999999999999999999",
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775807",
    "-9223372036854775808",
    "253402300800",
    "123456789012345678901234567890.5",
    "1.5e-7",
    // absent values and odd spellings
    "",
    "None",
    "null",
    "-",
    "%",
    "-%",
    "1e300%",
    " ",
    // times
    "9999-12-31T23:59:59Z",
    "0000-01-01T00:00:00Z",
    "-009999-01-01T00:00:00Z",
    "2024-02-30",
    "2020-05-08 24:00:00",
    "99999999T999999",
    "20231129T1310",
    "Fri, 31 Dec 9999 23:59:59 GMT",
    "Thu, 01 Jan 1970 00:00:00 GMT",
    // structure and encoding
    "null",
    "[]",
    "{}",
    "[[[[[[[[[[",
    "\"",
    "\\",
    "\\ud800",
    "\u{0}",
    "é",
    ",",
    // provider words
    "api key as ",
    "apikey",
    "per minute",
    "premium endpoint",
    "per day",
    "no_data",
    "ok",
    "rate_limited",
    "quota_exhausted",
    "unknown_symbol",
    "provider_unavailable",
    // URLs
    "http://u:p@h",
    "?apikey=",
    "&token=",
    "@",
    "%40",
    "#",
    "://",
    // config files and environment variables
    "api_key",
    "tokens",
    "base_url",
    "[providers.finnhub]",
    "[serve]",
    "[[",
    " = ",
    "\n",
    "\"\"\"",
    "STOCKDATA__",
    "__",
    "@0",
    // watchlists: line ends, comments and Unicode whitespace, case and control characters
    "\r\n",
    "\u{feff}",
    "\u{85}",
    "\u{2028}",
    "\u{3000}",
    "ß",
    "ı",
    // requests
    "symbols=",
    "&",
    "%2C",
    "%00",
    "%FF",
    "interval=1m",
    "start=",
    "limit=",
    "9999-12-31T23:59:60Z",
    "Bearer ",
    SERVE_TOKEN,
    // planted secrets
    SECRET,
    PASSWORD,
];

/// One edit of a seed. Positions and indices are reduced modulo what they index when applied,
/// so any value is valid and shrinking toward 0 stays meaningful.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Flip one bit.
    FlipBit {
        /// Byte position.
        at: usize,
        /// Bit 0-7.
        bit: u8,
    },
    /// Overwrite one byte.
    SetByte {
        /// Byte position.
        at: usize,
        /// The new byte.
        byte: u8,
    },
    /// Insert bytes.
    Insert {
        /// Byte position.
        at: usize,
        /// What to insert.
        bytes: Vec<u8>,
    },
    /// Remove a run of bytes.
    Delete {
        /// Byte position.
        at: usize,
        /// How many.
        len: usize,
    },
    /// Cut the input short.
    Truncate {
        /// The new length.
        at: usize,
    },
    /// Copy a run of bytes elsewhere.
    Duplicate {
        /// Source position.
        from: usize,
        /// How many.
        len: usize,
        /// Destination position.
        to: usize,
    },
    /// Replace the `nth` number in the input with a dictionary token.
    ReplaceNumber {
        /// Which number.
        nth: usize,
        /// Which token.
        token: usize,
    },
    /// Replace the contents of the `nth` JSON string with a dictionary token.
    ReplaceString {
        /// Which string.
        nth: usize,
        /// Which token.
        token: usize,
    },
    /// Insert a dictionary token.
    InsertToken {
        /// Byte position.
        at: usize,
        /// Which token.
        token: usize,
    },
    /// Insert a run of bytes taken from another seed.
    Splice {
        /// Which seed.
        seed: usize,
        /// Source position in it.
        from: usize,
        /// How many.
        len: usize,
        /// Destination position.
        at: usize,
    },
}

/// A fuzz input: a seed edited by mutations, or bytes from nothing.
#[derive(Debug, Clone)]
pub enum Input {
    /// `seeds[seed]` with `mutations` applied in order.
    Mutated {
        /// Which seed.
        seed: usize,
        /// The edits.
        mutations: Vec<Mutation>,
    },
    /// Raw bytes.
    Raw(Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let pos = any::<usize>();
    prop_oneof![
        2 => (pos, 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit { at, bit }),
        1 => (pos, any::<u8>()).prop_map(|(at, byte)| Mutation::SetByte { at, byte }),
        1 => (pos, vec(any::<u8>(), 1..8)).prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        2 => (pos, 1usize..32).prop_map(|(at, len)| Mutation::Delete { at, len }),
        1 => pos.prop_map(|at| Mutation::Truncate { at }),
        1 => (pos, 1usize..64, pos)
            .prop_map(|(from, len, to)| Mutation::Duplicate { from, len, to }),
        6 => (pos, pos).prop_map(|(nth, token)| Mutation::ReplaceNumber { nth, token }),
        5 => (pos, pos).prop_map(|(nth, token)| Mutation::ReplaceString { nth, token }),
        2 => (pos, pos).prop_map(|(at, token)| Mutation::InsertToken { at, token }),
        1 => (pos, pos, 1usize..128, pos)
            .prop_map(|(seed, from, len, at)| Mutation::Splice { seed, from, len, at }),
    ]
}

/// Inputs for a target with `seeds` corpus files: mostly mutated seeds, some raw bytes.
pub fn inputs(seeds: usize) -> BoxedStrategy<Input> {
    let raw = vec(any::<u8>(), 0..96).prop_map(Input::Raw);
    if seeds == 0 {
        return raw.boxed();
    }
    let mutated = (0..seeds, vec(mutation(), 1..6))
        .prop_map(|(seed, mutations)| Input::Mutated { seed, mutations });
    prop_oneof![9 => mutated, 1 => raw].boxed()
}

impl Input {
    /// The bytes this input stands for.
    #[must_use]
    pub fn bytes(&self, seeds: &[Vec<u8>]) -> Vec<u8> {
        match self {
            Input::Raw(bytes) => bytes.clone(),
            Input::Mutated { seed, mutations } => {
                let mut out = seeds.get(*seed).cloned().unwrap_or_default();
                for m in mutations {
                    apply(&mut out, m, seeds);
                }
                out
            }
        }
    }
}

fn token(i: usize) -> &'static [u8] {
    DICTIONARY
        .get(i % DICTIONARY.len())
        .map_or(&[][..], |t| t.as_bytes())
}

/// `at` reduced to a position in `0..=len`.
fn place(at: usize, len: usize) -> usize {
    at % (len + 1)
}

fn apply(buf: &mut Vec<u8>, m: &Mutation, seeds: &[Vec<u8>]) {
    let len = buf.len();
    match m {
        Mutation::FlipBit { at, bit } => {
            if let Some(b) = buf.get_mut(at % len.max(1)) {
                *b ^= 1 << (bit % 8);
            }
        }
        Mutation::SetByte { at, byte } => {
            if let Some(b) = buf.get_mut(at % len.max(1)) {
                *b = *byte;
            }
        }
        Mutation::Insert { at, bytes } => splice_in(buf, place(*at, len), bytes),
        Mutation::Delete { at, len: n } => {
            let start = place(*at, len);
            let end = start.saturating_add(*n).min(len);
            buf.drain(start..end);
        }
        Mutation::Truncate { at } => buf.truncate(place(*at, len)),
        Mutation::Duplicate { from, len: n, to } => {
            let start = place(*from, len);
            let end = start.saturating_add(*n).min(len);
            let chunk = buf.get(start..end).map(<[u8]>::to_vec).unwrap_or_default();
            splice_in(buf, place(*to, len), &chunk);
        }
        Mutation::ReplaceNumber { nth, token: t } => {
            let spans = number_spans(buf);
            if let Some(&(s, e)) = spans.get(nth % spans.len().max(1)) {
                buf.splice(s..e, token(*t).iter().copied());
            }
        }
        Mutation::ReplaceString { nth, token: t } => {
            let spans = string_spans(buf);
            if let Some(&(s, e)) = spans.get(nth % spans.len().max(1)) {
                buf.splice(s..e, token(*t).iter().copied());
            }
        }
        Mutation::InsertToken { at, token: t } => splice_in(buf, place(*at, len), token(*t)),
        Mutation::Splice {
            seed,
            from,
            len: n,
            at,
        } => {
            let Some(other) = seeds.get(seed % seeds.len().max(1)) else {
                return;
            };
            let start = place(*from, other.len());
            let end = start.saturating_add(*n).min(other.len());
            let chunk = other.get(start..end).unwrap_or_default().to_vec();
            splice_in(buf, place(*at, len), &chunk);
        }
    }
}

fn splice_in(buf: &mut Vec<u8>, at: usize, bytes: &[u8]) {
    let at = at.min(buf.len());
    buf.splice(at..at, bytes.iter().copied());
}

/// Byte ranges of number-like tokens: a digit (or `-` before a digit) and what continues it.
fn number_spans(buf: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut i = 0;
    while i < buf.len() {
        let starts = match buf.get(i) {
            Some(b'0'..=b'9') => true,
            Some(b'-') => buf.get(i + 1).is_some_and(u8::is_ascii_digit),
            _ => false,
        };
        if starts {
            let mut end = i + 1;
            while buf.get(end).is_some_and(|b| {
                b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-')
            }) {
                end += 1;
            }
            spans.push((i, end));
            i = end;
        } else {
            i += 1;
        }
    }
    spans
}

/// Byte ranges of the contents of `"..."` strings (escapes skipped over).
fn string_spans(buf: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut i = 0;
    while i < buf.len() {
        if buf.get(i) == Some(&b'"') {
            let start = i + 1;
            let mut end = start;
            while let Some(&b) = buf.get(end) {
                match b {
                    b'\\' => end += 2,
                    b'"' => break,
                    _ => end += 1,
                }
            }
            let end = end.min(buf.len());
            spans.push((start, end));
            i = end + 1;
        } else {
            i += 1;
        }
    }
    spans
}
