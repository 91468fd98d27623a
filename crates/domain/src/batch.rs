//! Batches: one answer per requested symbol, never a silently missing one.

use std::collections::HashMap;

use crate::{Adjustment, BarQuery, FetchError, Interval, Symbol, TimeRange};

/// The outcome for one requested symbol of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolResult<T> {
    /// The symbol as requested.
    pub symbol: Symbol,
    /// Its data, or why there is none.
    pub result: Result<T, FetchError>,
}

impl<T: Clone> SymbolResult<T> {
    /// One result per entry of `requested`, in request order, taken from `found`; a symbol
    /// missing from `found` gets `missing(symbol)`. A symbol requested twice is answered twice.
    #[must_use]
    pub fn in_request_order(
        requested: &[Symbol],
        mut found: HashMap<Symbol, Result<T, FetchError>>,
        missing: impl Fn(&Symbol) -> FetchError,
    ) -> Vec<SymbolResult<T>> {
        let mut out = Vec::with_capacity(requested.len());
        for (i, symbol) in requested.iter().enumerate() {
            let repeated_later = requested.iter().skip(i + 1).any(|s| s == symbol);
            let result = if repeated_later {
                found.get(symbol).cloned()
            } else {
                found.remove(symbol)
            }
            .unwrap_or_else(|| Err(missing(symbol)));
            out.push(SymbolResult {
                symbol: symbol.clone(),
                result,
            });
        }
        out
    }
}

/// Historical bars for many symbols at once, with one interval, range and adjustment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchBarQuery {
    /// The symbols, in the order answers are wanted.
    pub symbols: Vec<Symbol>,
    /// Bar width.
    pub interval: Interval,
    /// Bar starts wanted.
    pub range: TimeRange,
    /// Corporate-action adjustment.
    pub adjustment: Adjustment,
}

impl BatchBarQuery {
    /// The single-symbol query for `symbol`.
    #[must_use]
    pub fn for_symbol(&self, symbol: &Symbol) -> BarQuery {
        BarQuery {
            symbol: symbol.clone(),
            interval: self.interval,
            range: self.range,
            adjustment: self.adjustment,
        }
    }
}
