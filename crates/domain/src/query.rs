//! What the core asks the ports for.

use crate::{Adjustment, Interval, Symbol, TimeRange};

/// Historical bars for one symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BarQuery {
    /// The symbol.
    pub symbol: Symbol,
    /// Bar width.
    pub interval: Interval,
    /// The instants whose bars are wanted: a bar is included when its `start` is in the range.
    pub range: TimeRange,
    /// Corporate-action adjustment; providers that cannot honour it say so in provenance.
    pub adjustment: Adjustment,
}

/// News about one or more symbols.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewsQuery {
    /// Articles about any of these symbols.
    pub symbols: Vec<Symbol>,
    /// Publication instants wanted.
    pub range: TimeRange,
    /// At most this many articles, newest first.
    pub limit: usize,
}
