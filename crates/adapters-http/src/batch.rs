//! Splitting symbol lists into as few requests as a provider allows.

use stockdata_domain::Symbol;

/// Splits `symbols` (duplicates dropped, first occurrence kept) into consecutive groups of at
/// most `max_count` symbols whose comma-joined text is at most `max_joined_bytes` long. Greedy
/// packing in order: the fewest requests for the given order.
#[must_use]
pub fn split_symbols(
    symbols: &[Symbol],
    max_count: usize,
    max_joined_bytes: usize,
) -> Vec<Vec<Symbol>> {
    let max_count = max_count.max(1);
    let mut seen = std::collections::HashSet::new();
    let mut groups: Vec<Vec<Symbol>> = Vec::new();
    let mut current: Vec<Symbol> = Vec::new();
    let mut current_len = 0;
    for symbol in symbols {
        if !seen.insert(symbol) {
            continue;
        }
        let added = symbol.as_str().len() + usize::from(!current.is_empty());
        if !current.is_empty()
            && (current.len() == max_count || current_len + added > max_joined_bytes)
        {
            groups.push(std::mem::take(&mut current));
            current_len = 0;
        }
        current_len += symbol.as_str().len() + usize::from(!current.is_empty());
        current.push(symbol.clone());
    }
    if !current.is_empty() {
        groups.push(current);
    }
    groups
}

/// `AAPL,MSFT,…`
#[must_use]
pub fn join(symbols: &[Symbol]) -> String {
    let mut out = String::with_capacity(symbols.len() * 6);
    for (i, s) in symbols.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(s.as_str());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syms(n: usize) -> Vec<Symbol> {
        (0..n)
            .map(|i| Symbol::parse(&format!("S{i:03}")).unwrap())
            .collect()
    }

    #[test]
    fn fewest_groups_under_both_limits() {
        let groups = split_symbols(&syms(250), 100, 10_000);
        assert_eq!(
            groups.iter().map(Vec::len).collect::<Vec<_>>(),
            [100, 100, 50]
        );
        // 4-byte symbols plus commas: 9 fit in 44 bytes.
        let groups = split_symbols(&syms(20), 100, 44);
        assert_eq!(groups.iter().map(Vec::len).collect::<Vec<_>>(), [9, 9, 2]);
        assert!(groups.iter().all(|g| join(g).len() <= 44));
    }

    #[test]
    fn duplicates_are_requested_once() {
        let mut s = syms(3);
        s.push(s[0].clone());
        assert_eq!(split_symbols(&s, 10, 100), vec![syms(3)]);
        assert!(split_symbols(&[], 10, 100).is_empty());
    }
}
