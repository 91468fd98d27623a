//! The backend-neutral rows of a write, and provider names kept for the life of the process.
//! A store encodes each write into an owned job of such rows before it touches the database.

use stockdata_domain::{ProviderId, Symbol};
use stockdata_ports::{BarsWrite, Dataset, NewsWrite, SeriesKey, StoredKind};

/// A series key in its column form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesRow {
    /// The symbol, in normal form.
    pub symbol: String,
    /// `Interval::as_str`.
    pub interval: &'static str,
    /// `Adjustment::as_str`.
    pub adjustment: &'static str,
    /// `Dataset::as_str`.
    pub dataset: &'static str,
}

impl SeriesRow {
    /// The columns of `key`.
    #[must_use]
    pub fn of(key: &SeriesKey) -> Self {
        Self {
            symbol: key.symbol.as_str().to_owned(),
            interval: key.interval.as_str(),
            adjustment: key.adjustment.as_str(),
            dataset: key.dataset.as_str(),
        }
    }
}

/// The distinct provider names of one write; rows refer to them by index.
#[derive(Debug, Default)]
pub struct Names(Vec<String>);

impl Names {
    /// The index of `name`, added when new. A store that cannot hold every string passes the
    /// name as it will store it.
    pub fn index(&mut self, name: &str) -> usize {
        if let Some(i) = self.0.iter().position(|n| n == name) {
            return i;
        }
        self.0.push(name.to_owned());
        self.0.len() - 1
    }

    /// The names, by index.
    #[must_use]
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// The name at `index`.
    #[must_use]
    pub fn get(&self, index: usize) -> Option<&str> {
        self.0.get(index).map(String::as_str)
    }
}

/// The index of `item` in `list`, pushed when it is not there yet: how a write's rows refer
/// to its distinct provenances.
pub fn index_of<T: PartialEq>(list: &mut Vec<T>, item: T) -> usize {
    match list.iter().position(|x| *x == item) {
        Some(i) => i,
        None => {
            list.push(item);
            list.len() - 1
        }
    }
}

/// An article's symbols, each once, in order: the rows of its symbol index.
#[must_use]
pub fn distinct_symbols(symbols: &[Symbol]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(symbols.len());
    for s in symbols {
        if !out.iter().any(|i| i == s.as_str()) {
            out.push(s.as_str().to_owned());
        }
    }
    out
}

/// A fetch log line in its column form. `I` is the store's instant columns (see
/// [`codec::instant`](crate::codec::instant)); `provider` indexes the write's [`Names`].
///
/// The constructors are the one place that decides what a write logs: a bar write one line;
/// a news write one line naming the first symbol asked about (else the first article's, else
/// none); quotes one line per provider answering, naming its first quote's symbol, at its
/// latest fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRow<I> {
    /// Bars, quotes or news.
    pub kind: StoredKind,
    /// `Dataset::as_str`.
    pub dataset: &'static str,
    /// The symbol the line names.
    pub symbol: String,
    /// `Interval::as_str`, for bars.
    pub interval: Option<&'static str>,
    /// The span the write covered, `None` for quotes.
    pub covered: Option<(I, I)>,
    /// Index into the write's [`Names`].
    pub provider: usize,
    /// When the answer came.
    pub fetched: I,
    /// How many records the write held.
    pub records: usize,
    /// Whether the write replaced the series.
    pub replaced: bool,
}

impl<I: Copy + Ord> LogRow<I> {
    /// The line of a bar write: `covered` and `fetched` are `w`'s, encoded.
    #[must_use]
    pub fn of_bars(w: &BarsWrite<'_>, provider: usize, covered: (I, I), fetched: I) -> Self {
        Self {
            kind: StoredKind::Bars,
            dataset: w.key.dataset.as_str(),
            symbol: w.key.symbol.as_str().to_owned(),
            interval: Some(w.key.interval.as_str()),
            covered: Some(covered),
            provider,
            fetched,
            records: w.bars.len(),
            replaced: w.replace,
        }
    }

    /// The line of a news write, `None` when it names no symbol at all.
    #[must_use]
    pub fn of_news(
        w: &NewsWrite<'_>,
        provider: usize,
        covered: (I, I),
        fetched: I,
    ) -> Option<Self> {
        let first = w
            .symbols
            .first()
            .or_else(|| w.articles.iter().find_map(|a| a.symbols.first()));
        first.map(|symbol| Self {
            kind: StoredKind::News,
            dataset: w.dataset.as_str(),
            symbol: symbol.as_str().to_owned(),
            interval: None,
            covered: Some(covered),
            provider,
            fetched,
            records: w.articles.len(),
            replaced: false,
        })
    }

    /// Counts a quote of `symbol`, from `provider` fetched at `fetched`, into the lines of a
    /// quote write.
    pub fn count_quote(
        logs: &mut Vec<Self>,
        dataset: Dataset,
        symbol: &Symbol,
        provider: usize,
        fetched: I,
    ) {
        match logs.iter_mut().find(|l| l.provider == provider) {
            Some(l) => {
                l.records += 1;
                l.fetched = l.fetched.max(fetched);
            }
            None => logs.push(Self {
                kind: StoredKind::Quotes,
                dataset: dataset.as_str(),
                symbol: symbol.as_str().to_owned(),
                interval: None,
                covered: None,
                provider,
                fetched,
                records: 1,
                replaced: false,
            }),
        }
    }
}

/// Provider names kept for the life of the process, so every stored bar's `ProviderId` is a
/// borrowed `&'static str` (cloned without allocating, once per bar read). A store names a
/// handful of providers; past [`MAX_INTERNED`] names (a hostile store), ids are owned instead.
const MAX_INTERNED: usize = 64;

/// The provider named `name`, read from a store (see [`MAX_INTERNED`]).
#[must_use]
pub fn interned(name: &str) -> ProviderId {
    static NAMES: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
    let mut names = NAMES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(known) = names.iter().find(|n| **n == name) {
        return ProviderId::from_static(known);
    }
    if names.len() >= MAX_INTERNED {
        return ProviderId::new(name);
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.push(leaked);
    ProviderId::from_static(leaked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_items_are_indexed_once() {
        let mut names = Names::default();
        assert_eq!(names.index("finnhub"), 0);
        assert_eq!(names.index("alpaca"), 1);
        assert_eq!(names.index("finnhub"), 0);
        assert_eq!(names.as_slice(), ["finnhub", "alpaca"]);
        assert_eq!(names.get(1), Some("alpaca"));
        assert_eq!(names.get(2), None);
        let mut list = Vec::new();
        assert_eq!(index_of(&mut list, (1, 2)), 0);
        assert_eq!(index_of(&mut list, (3, 4)), 1);
        assert_eq!(index_of(&mut list, (1, 2)), 0);
        assert_eq!(list.len(), 2);
    }

    #[test]
    fn an_article_indexes_each_symbol_once() {
        let s = |t: &str| Symbol::parse(t).unwrap();
        let list = [s("AAPL"), s("MSFT"), s("AAPL")];
        assert_eq!(distinct_symbols(&list), ["AAPL", "MSFT"]);
    }

    #[test]
    fn quotes_log_one_line_per_provider_at_its_latest_fetch() {
        let mut logs: Vec<LogRow<i64>> = Vec::new();
        for (symbol, provider, fetched) in
            [("AAPL", 0, 5), ("MSFT", 1, 3), ("IBM", 0, 9), ("GE", 0, 7)]
        {
            let symbol = Symbol::parse(symbol).unwrap();
            LogRow::count_quote(&mut logs, Dataset::Market, &symbol, provider, fetched);
        }
        let lines: Vec<_> = logs
            .iter()
            .map(|l| (l.symbol.as_str(), l.provider, l.records, l.fetched))
            .collect();
        assert_eq!(lines, [("AAPL", 0, 3, 9), ("MSFT", 1, 1, 3)]);
    }

    #[test]
    fn interned_names_are_shared() {
        let a = interned("store_common_test");
        let b = interned("store_common_test");
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "store_common_test");
    }
}
