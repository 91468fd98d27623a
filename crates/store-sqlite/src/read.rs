//! Reads. Each runs in one read transaction, so it sees one consistent state of the store.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::types::{Value, ValueRef};
use rusqlite::{CachedStatement, Connection, Row, params, params_from_iter};
use stockdata_domain::{
    Bar, NewsArticle, Provenance, ProviderId, Quote, Sentiment, Symbol, TickerSentiment, TimeRange,
    Timestamp,
};
use stockdata_ports::{Dataset, FetchLogEntry, SeriesKey, SeriesSummary, StoreStats};

use stockdata_store_common::codec::{
    adjustment_from, adjustment_from_code, dataset_from, instant_from, interval_from, kind_from,
    label_from, symbol_from,
};
use stockdata_store_common::rows::{SeriesRow, interned};

use crate::SCHEMA_VERSION;
use crate::codec::{
    count_from, decimal_from, instant, opt_count_from, opt_decimal_from, symbols_from,
};
use crate::error::Fail;
use crate::write::{Instant, Owner, Span, series_id};

/// Symbols per `IN (...)` list of the news query.
const SYMBOLS_PER_QUERY: usize = 200;

/// Provider names by id.
type Providers = HashMap<i64, ProviderId>;

fn providers(conn: &Connection) -> Result<Providers, Fail> {
    let mut st = conn.prepare_cached("SELECT id, name FROM providers")?;
    let mut rows = st.query([])?;
    let mut out = HashMap::new();
    while let Some(r) = rows.next()? {
        out.insert(r.get(0)?, interned(&r.get::<_, String>(1)?));
    }
    Ok(out)
}

fn provider(map: &Providers, id: i64) -> Result<ProviderId, Fail> {
    map.get(&id)
        .cloned()
        .ok_or_else(|| Fail::bad(format!("unknown provider id {id}")))
}

/// The six provenance columns starting at `at`: provider, fetched, fetched_ns, feed,
/// adjustment, via.
fn provenance(
    r: &Row<'_>,
    at: usize,
    map: &Providers,
    synthetic: bool,
) -> Result<Provenance, Fail> {
    let via: Option<i64> = r.get(at + 5)?;
    Ok(Provenance {
        provider: provider(map, r.get(at)?)?,
        fetched_at: instant_from(r.get(at + 1)?, r.get(at + 2)?)?,
        feed: r.get::<_, Option<String>>(at + 3)?.map(Into::into),
        adjustment: adjustment_from_code(r.get::<_, Option<i64>>(at + 4)?)?,
        synthetic,
        via: via.map(|v| provider(map, v)).transpose()?,
    })
}

fn text<'r>(r: &'r Row<'_>, i: usize) -> Result<&'r str, Fail> {
    Ok(r.get_ref(i)?.as_str()?)
}

fn value<'r>(r: &'r Row<'_>, i: usize) -> Result<ValueRef<'r>, Fail> {
    Ok(r.get_ref(i)?)
}

fn span_to_range((lo, hi): Span) -> Result<TimeRange, Fail> {
    let (lo, hi) = (instant_from(lo.0, lo.1)?, instant_from(hi.0, hi.1)?);
    TimeRange::new(lo, hi).map_err(|e| Fail::bad(format!("stored span: {e}")))
}

/// The columns [`bar`] reads, in its order.
macro_rules! bar_columns {
    () => {
        "start, start_ns, open, high, low, close, volume, vwap, trades, provenance"
    };
}

const BARS_IN_RANGE: &str = concat!(
    "SELECT ",
    bar_columns!(),
    " FROM bars WHERE series_id = ?1 AND start BETWEEN ?2 AND ?4 \
     AND (start, start_ns) >= (?2, ?3) AND (start, start_ns) < (?4, ?5) \
     ORDER BY start, start_ns"
);

const LAST_BAR_BEFORE: &str = concat!(
    "SELECT ",
    bar_columns!(),
    " FROM bars WHERE series_id = ?1 AND start <= ?2 AND (start, start_ns) < (?2, ?3) \
     ORDER BY start DESC, start_ns DESC LIMIT 1"
);

/// The provenances bars refer to, each read once per read of bars.
struct BarProvenances<'c> {
    st: CachedStatement<'c>,
    providers: Providers,
    synthetic: bool,
    seen: HashMap<i64, Provenance>,
}

impl<'c> BarProvenances<'c> {
    fn new(tx: &'c Connection, dataset: Dataset) -> Result<Self, Fail> {
        Ok(Self {
            st: tx.prepare_cached(
                "SELECT provider, fetched, fetched_ns, feed, adjustment, via \
                 FROM provenance WHERE id = ?1",
            )?,
            providers: providers(tx)?,
            synthetic: dataset == Dataset::Sandbox,
            seen: HashMap::new(),
        })
    }

    fn get(&mut self, id: i64) -> Result<Provenance, Fail> {
        if let Some(p) = self.seen.get(&id) {
            return Ok(p.clone());
        }
        let mut rows = self.st.query([id])?;
        let Some(r) = rows.next()? else {
            return Err(Fail::bad(format!("no provenance {id}")));
        };
        let p = provenance(r, 0, &self.providers, self.synthetic)?;
        self.seen.insert(id, p.clone());
        Ok(p)
    }
}

fn bar(r: &Row<'_>, key: &SeriesKey, provenances: &mut BarProvenances<'_>) -> Result<Bar, Fail> {
    Ok(Bar {
        symbol: key.symbol.clone(),
        interval: key.interval,
        start: instant_from(r.get(0)?, r.get(1)?)?,
        open: decimal_from(value(r, 2)?)?,
        high: decimal_from(value(r, 3)?)?,
        low: decimal_from(value(r, 4)?)?,
        close: decimal_from(value(r, 5)?)?,
        volume: count_from(value(r, 6)?)?,
        vwap: opt_decimal_from(value(r, 7)?)?,
        trades: opt_count_from(value(r, 8)?)?,
        provenance: provenances.get(r.get(9)?)?,
    })
}

pub(crate) fn bars(
    conn: &mut Connection,
    key: &SeriesKey,
    range: TimeRange,
) -> Result<Vec<Bar>, Fail> {
    let tx = conn.transaction()?;
    let Some(series) = series_id(&tx, &SeriesRow::of(key))? else {
        return Ok(Vec::new());
    };
    let mut provenances = BarProvenances::new(&tx, key.dataset)?;
    let (lo, hi) = (instant(range.start()), instant(range.end()));
    let mut st = tx.prepare_cached(BARS_IN_RANGE)?;
    let mut rows = st.query(params![series, lo.0, lo.1, hi.0, hi.1])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(bar(r, key, &mut provenances)?);
    }
    Ok(out)
}

pub(crate) fn last_bar_before(
    conn: &mut Connection,
    key: &SeriesKey,
    before: Timestamp,
) -> Result<Option<Bar>, Fail> {
    let tx = conn.transaction()?;
    let Some(series) = series_id(&tx, &SeriesRow::of(key))? else {
        return Ok(None);
    };
    let mut provenances = BarProvenances::new(&tx, key.dataset)?;
    let t = instant(before);
    let mut st = tx.prepare_cached(LAST_BAR_BEFORE)?;
    let mut rows = st.query(params![series, t.0, t.1])?;
    match rows.next()? {
        Some(r) => Ok(Some(bar(r, key, &mut provenances)?)),
        None => Ok(None),
    }
}

pub(crate) fn coverage(conn: &mut Connection, key: &SeriesKey) -> Result<Vec<TimeRange>, Fail> {
    let tx = conn.transaction()?;
    let Some(series) = series_id(&tx, &SeriesRow::of(key))? else {
        return Ok(Vec::new());
    };
    Owner::Series(series)
        .spans(&tx)?
        .into_iter()
        .map(span_to_range)
        .collect()
}

pub(crate) fn news_coverage(
    conn: &Connection,
    dataset: Dataset,
    symbol: &Symbol,
) -> Result<Vec<TimeRange>, Fail> {
    Owner::News(dataset.as_str(), symbol.as_str())
        .spans(conn)?
        .into_iter()
        .map(span_to_range)
        .collect()
}

pub(crate) fn quote(
    conn: &mut Connection,
    dataset: Dataset,
    symbol: &Symbol,
) -> Result<Option<Quote>, Fail> {
    let tx = conn.transaction()?;
    let map = providers(&tx)?;
    let mut st = tx.prepare_cached(
        "SELECT price, bid, bid_size, ask, ask_size, open, high, low, previous_close, change, \
         change_percent, volume, as_of, as_of_ns, \
         provider, fetched, fetched_ns, feed, adjustment, via \
         FROM quotes WHERE dataset = ?1 AND symbol = ?2",
    )?;
    let mut rows = st.query(params![dataset.as_str(), symbol.as_str()])?;
    let Some(r) = rows.next()? else {
        return Ok(None);
    };
    Ok(Some(Quote {
        symbol: symbol.clone(),
        price: decimal_from(value(r, 0)?)?,
        bid: opt_decimal_from(value(r, 1)?)?,
        bid_size: opt_count_from(value(r, 2)?)?,
        ask: opt_decimal_from(value(r, 3)?)?,
        ask_size: opt_count_from(value(r, 4)?)?,
        open: opt_decimal_from(value(r, 5)?)?,
        high: opt_decimal_from(value(r, 6)?)?,
        low: opt_decimal_from(value(r, 7)?)?,
        previous_close: opt_decimal_from(value(r, 8)?)?,
        change: opt_decimal_from(value(r, 9)?)?,
        change_percent: opt_decimal_from(value(r, 10)?)?,
        volume: opt_count_from(value(r, 11)?)?,
        as_of: instant_from(r.get(12)?, r.get(13)?)?,
        provenance: provenance(r, 14, &map, dataset == Dataset::Sandbox)?,
    }))
}

/// A candidate article of a news query: what it is ordered by, and its handle.
type Candidate = (Instant, String, i64);

pub(crate) fn news(
    conn: &mut Connection,
    dataset: Dataset,
    symbols: &[Symbol],
    range: TimeRange,
    limit: usize,
) -> Result<Vec<NewsArticle>, Fail> {
    let limit_sql = i64::try_from(limit).unwrap_or(i64::MAX);
    if limit == 0 || symbols.is_empty() {
        return Ok(Vec::new());
    }
    let tx = conn.transaction()?;
    let (lo, hi) = (instant(range.start()), instant(range.end()));
    let mut candidates: Vec<Candidate> = Vec::new();
    for chunk in symbols.chunks(SYMBOLS_PER_QUERY) {
        let marks: Vec<String> = (0..chunk.len()).map(|i| format!("?{}", i + 7)).collect();
        let sql = format!(
            "SELECT a.published, a.published_ns, a.id, a.seq FROM articles a WHERE a.seq IN (\
               SELECT article FROM article_symbols WHERE dataset = ?1 AND symbol IN ({}) \
               AND published BETWEEN ?2 AND ?4 \
               AND (published, published_ns) >= (?2, ?3) AND (published, published_ns) < (?4, ?5)) \
             ORDER BY a.published DESC, a.published_ns DESC, a.id LIMIT ?6",
            marks.join(", ")
        );
        let mut values = vec![
            Value::Text(dataset.as_str().to_owned()),
            Value::Integer(lo.0),
            Value::Integer(lo.1),
            Value::Integer(hi.0),
            Value::Integer(hi.1),
            Value::Integer(limit_sql),
        ];
        values.extend(chunk.iter().map(|s| Value::Text(s.as_str().to_owned())));
        let mut st = tx.prepare_cached(&sql)?;
        let mut rows = st.query(params_from_iter(values))?;
        while let Some(r) = rows.next()? {
            candidates.push(((r.get(0)?, r.get(1)?), r.get(2)?, r.get(3)?));
        }
    }
    // Newest first, ties by id; an article about symbols in two chunks is found twice.
    candidates.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    candidates.dedup_by_key(|c| c.2);
    candidates.truncate(limit);
    let map = providers(&tx)?;
    let mut st = tx.prepare_cached(
        "SELECT id, headline, summary, url, source, published, published_ns, symbols, author, \
         image, sentiment_score, sentiment_label, sentiment_other, \
         provider, fetched, fetched_ns, feed, adjustment, via FROM articles WHERE seq = ?1",
    )?;
    let mut per_ticker = tx.prepare_cached(
        "SELECT symbol, relevance, score, label, other FROM article_sentiment \
         WHERE article = ?1 ORDER BY pos",
    )?;
    let synthetic = dataset == Dataset::Sandbox;
    let mut out = Vec::with_capacity(candidates.len());
    for (_, _, seq) in candidates {
        let mut rows = st.query([seq])?;
        let Some(r) = rows.next()? else { continue };
        let sentiment = match r.get::<_, Option<String>>(11)? {
            Some(l) => Some(Sentiment {
                score: decimal_from(value(r, 10)?)?,
                label: label_from(&l, r.get(12)?)?,
                tickers: ticker_sentiments(&mut per_ticker, seq)?,
            }),
            None => None,
        };
        out.push(NewsArticle {
            id: r.get(0)?,
            headline: r.get(1)?,
            summary: r.get(2)?,
            url: r.get(3)?,
            source: r.get(4)?,
            published_at: instant_from(r.get(5)?, r.get(6)?)?,
            symbols: symbols_from(text(r, 7)?)?,
            author: r.get(8)?,
            image: r.get(9)?,
            sentiment,
            provenance: provenance(r, 13, &map, synthetic)?,
        });
    }
    Ok(out)
}

/// The per-ticker sentiment of the article `seq`, in its order.
fn ticker_sentiments(st: &mut CachedStatement<'_>, seq: i64) -> Result<Vec<TickerSentiment>, Fail> {
    let mut rows = st.query([seq])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(TickerSentiment {
            symbol: symbol_from(text(r, 0)?)?,
            relevance: decimal_from(value(r, 1)?)?,
            score: decimal_from(value(r, 2)?)?,
            label: label_from(text(r, 3)?, r.get(4)?)?,
        });
    }
    Ok(out)
}

pub(crate) fn series(conn: &mut Connection) -> Result<Vec<SeriesSummary>, Fail> {
    let tx = conn.transaction()?;
    let mut list = Vec::new();
    {
        let mut st = tx.prepare_cached(
            "SELECT id, symbol, interval, adjustment, dataset, last_fetched, last_fetched_ns \
             FROM series",
        )?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let key = SeriesKey {
                symbol: symbol_from(text(r, 1)?)?,
                interval: interval_from(text(r, 2)?)?,
                adjustment: adjustment_from(text(r, 3)?)?,
                dataset: dataset_from(text(r, 4)?)?,
            };
            let last_fetched = match (r.get(5)?, r.get(6)?) {
                (Some(s), Some(ns)) => Some(instant_from(s, ns)?),
                _ => None,
            };
            list.push((r.get::<_, i64>(0)?, key, last_fetched));
        }
    }
    let mut count = tx.prepare_cached("SELECT count(*) FROM bars WHERE series_id = ?1")?;
    let mut first = tx.prepare_cached(
        "SELECT start, start_ns FROM bars WHERE series_id = ?1 ORDER BY start, start_ns LIMIT 1",
    )?;
    let mut last = tx.prepare_cached(
        "SELECT start, start_ns FROM bars WHERE series_id = ?1 \
         ORDER BY start DESC, start_ns DESC LIMIT 1",
    )?;
    let edge = |st: &mut rusqlite::CachedStatement<'_>, id: i64| -> Result<_, Fail> {
        let mut rows = st.query([id])?;
        match rows.next()? {
            Some(r) => Ok(Some(instant_from(r.get(0)?, r.get(1)?)?)),
            None => Ok(None),
        }
    };
    let mut out = Vec::with_capacity(list.len());
    for (id, key, last_fetched) in list {
        let bars: i64 = count.query_row([id], |r| r.get(0))?;
        out.push(SeriesSummary {
            key,
            bars: u64::try_from(bars).unwrap_or(0),
            first: edge(&mut first, id)?,
            last: edge(&mut last, id)?,
            last_fetched,
        });
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

pub(crate) fn fetch_log(conn: &mut Connection, limit: usize) -> Result<Vec<FetchLogEntry>, Fail> {
    let tx = conn.transaction()?;
    let map = providers(&tx)?;
    let mut st = tx.prepare_cached(
        "SELECT kind, dataset, symbol, interval, lo, lo_ns, hi, hi_ns, provider, fetched, \
         fetched_ns, records, replaced FROM fetch_log \
         ORDER BY fetched DESC, fetched_ns DESC, id DESC LIMIT ?1",
    )?;
    let mut rows = st.query([i64::try_from(limit).unwrap_or(i64::MAX)])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let covered = match (r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?) {
            (Some(a), Some(b), Some(c), Some(d)) => Some(span_to_range(((a, b), (c, d)))?),
            _ => None,
        };
        let interval = match r.get_ref(3)? {
            ValueRef::Null => None,
            v => Some(interval_from(v.as_str()?)?),
        };
        out.push(FetchLogEntry {
            kind: kind_from(text(r, 0)?)?,
            dataset: dataset_from(text(r, 1)?)?,
            symbol: symbol_from(text(r, 2)?)?,
            interval,
            covered,
            provider: provider(&map, r.get(8)?)?,
            fetched_at: instant_from(r.get(9)?, r.get(10)?)?,
            records: u64::try_from(r.get::<_, i64>(11)?)
                .map_err(|_| Fail::bad("negative record count".to_owned()))?,
            replaced: r.get(12)?,
        });
    }
    Ok(out)
}

pub(crate) fn stats(
    conn: &mut Connection,
    location: &str,
    path: Option<&Path>,
) -> Result<StoreStats, Fail> {
    let tx = conn.transaction()?;
    let count = |table: &str| -> Result<u64, Fail> {
        let n: i64 = tx.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    };
    let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    Ok(StoreStats {
        location: location.to_owned(),
        bytes: path.map_or(0, file_bytes),
        series: count("series")?,
        bars: count("bars")?,
        quotes: count("quotes")?,
        articles: count("articles")?,
        fetches: count("fetch_log")?,
        schema_version: u32::try_from(version).unwrap_or(SCHEMA_VERSION),
    })
}

/// The database file and its write-ahead log, in bytes.
pub(crate) fn file_bytes(path: &Path) -> u64 {
    let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    size(path) + size(Path::new(&wal))
}

/// `PRAGMA integrity_check`, then `VACUUM`, then the log truncated.
pub(crate) fn vacuum(conn: &mut Connection, file: bool) -> Result<(), Fail> {
    let problems = {
        let mut st = conn.prepare("PRAGMA integrity_check(8)")?;
        let mut rows = st.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(r.get::<_, String>(0)?);
        }
        out
    };
    if problems.as_slice() != ["ok"] {
        return Err(Fail::Corrupt(format!(
            "integrity check: {}",
            problems.join("; ")
        )));
    }
    // Provenance no bar refers to any more (replaced or rewritten bars).
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute(
        "DELETE FROM provenance WHERE id NOT IN (SELECT provenance FROM bars)",
        [],
    )?;
    tx.commit()?;
    conn.execute_batch("VACUUM")?;
    if file {
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    }
    Ok(())
}
