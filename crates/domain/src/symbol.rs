//! Ticker symbols.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// The longest symbol accepted, in bytes after trimming (`TSCO.LON`, `BRK.B`, `^GSPC` all fit
/// easily; anything longer is almost certainly a pasted sentence or a list).
pub const MAX_SYMBOL_LEN: usize = 24;

/// A validated, upper-cased ticker symbol such as `AAPL`, `BRK.B`, `BF-B`, `TSCO.LON` or `^GSPC`.
///
/// The only way to build one is [`Symbol::parse`] (or [`str::parse`]); code that holds a `Symbol`
/// never re-checks it. Cloning is cheap (a shared reference count): every bar carries one.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Symbol(Arc<str>);

/// Why a piece of text is not a [`Symbol`]. Every variant names the offending input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SymbolError {
    /// Nothing but whitespace was given.
    #[error("empty symbol: pass a ticker such as AAPL")]
    Empty,
    /// Whitespace inside the symbol, typically two tickers pasted as one.
    #[error(
        "symbol {input:?} contains whitespace: pass each ticker separately (e.g. \"AAPL\" \"MSFT\")"
    )]
    InnerWhitespace {
        /// The rejected input.
        input: String,
    },
    /// A control character (newline, NUL, escape ...).
    #[error("symbol {input:?} contains a control character: remove it")]
    ControlCharacter {
        /// The rejected input.
        input: String,
    },
    /// A character outside the ticker alphabet.
    #[error(
        "symbol {input:?} contains {found:?}: tickers use letters, digits and . - ^ = / _ only"
    )]
    InvalidCharacter {
        /// The rejected input.
        input: String,
        /// The first character that is not allowed.
        found: char,
    },
    /// Longer than [`MAX_SYMBOL_LEN`].
    #[error("symbol {input:?} is {len} characters long: the limit is {MAX_SYMBOL_LEN}")]
    TooLong {
        /// The rejected input, cut to a readable length.
        input: String,
        /// Its length in characters.
        len: usize,
    },
}

impl Symbol {
    /// Validates and normalises a ticker: surrounding whitespace is trimmed and letters are
    /// upper-cased.
    ///
    /// # Errors
    /// [`SymbolError`] for empty input, inner whitespace, control characters, characters
    /// outside `A-Z 0-9 . - ^ = / _`, or more than [`MAX_SYMBOL_LEN`] characters.
    pub fn parse(input: &str) -> Result<Self, SymbolError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(SymbolError::Empty);
        }
        let len = trimmed.chars().count();
        if len > MAX_SYMBOL_LEN {
            return Err(SymbolError::TooLong {
                input: trimmed.chars().take(MAX_SYMBOL_LEN + 8).collect(),
                len,
            });
        }
        for c in trimmed.chars() {
            if c.is_control() {
                return Err(SymbolError::ControlCharacter {
                    input: input.to_owned(),
                });
            }
            if c.is_whitespace() {
                return Err(SymbolError::InnerWhitespace {
                    input: trimmed.to_owned(),
                });
            }
            if !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '^' | '=' | '/' | '_')) {
                return Err(SymbolError::InvalidCharacter {
                    input: trimmed.to_owned(),
                    found: c,
                });
            }
        }
        Ok(Self(Arc::from(trimmed.to_ascii_uppercase())))
    }

    /// The normalised text of the symbol.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Symbol {
    type Err = SymbolError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Symbol({})", self.0)
    }
}

impl AsRef<str> for Symbol {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Symbol {
    fn borrow(&self) -> &str {
        &self.0
    }
}
