//! What every adapter does to a series before handing it over.

use stockdata_domain::{Bar, TimeRange};

/// Keeps the bars starting inside `range`, oldest first, one per start instant (pages and
/// monthly requests can overlap).
pub(crate) fn tidy(bars: &mut Vec<Bar>, range: TimeRange) {
    bars.retain(|b| range.contains(b.start));
    bars.sort_by_key(|b| b.start);
    bars.dedup_by_key(|b| b.start);
}
