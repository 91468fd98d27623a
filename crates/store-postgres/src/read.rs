//! Reads, and vacuum. Every read is one statement, so it sees one consistent state of the
//! store whatever other hosts write meanwhile.

use std::collections::HashMap;

use deadpool_postgres::Object;
use stockdata_domain::{
    Bar, NewsArticle, Provenance, ProviderId, Quote, Sentiment, Symbol, TickerSentiment, TimeRange,
    Timestamp,
};
use stockdata_ports::{Dataset, FetchLogEntry, SeriesKey, SeriesSummary, StoreStats};
use stockdata_store_common::codec::{
    Span, adjustment_from, adjustment_from_code, dataset_from, instant, interval_from, kind_from,
    label_from, symbol_from,
};
use stockdata_store_common::rows::SeriesRow;
use tokio_postgres::Row;
use tokio_postgres::types::FromSql;

use crate::codec::{Count, Num, decimal, instant_from, opt_decimal};
use crate::error::Fail;
use crate::write::PROVENANCE_LOCK;
use crate::{PostgresStore, SCHEMA_VERSION, Sql};

/// Column `i` of `row`, or why it cannot be read as a `T` (a value this version does not
/// write).
pub(crate) fn get<'a, T: FromSql<'a>>(row: &'a Row, i: usize) -> Result<T, Fail> {
    row.try_get(i)
        .map_err(|e| Fail::bad(format!("column {i}: {e}")))
}

/// The four span columns starting at `at`: lo, lo_ns, hi, hi_ns.
pub(crate) fn span(row: &Row, at: usize) -> Result<Span, Fail> {
    Ok((
        (get(row, at)?, get(row, at + 1)?),
        (get(row, at + 2)?, get(row, at + 3)?),
    ))
}

fn span_to_range(row: &Row, at: usize) -> Result<TimeRange, Fail> {
    let (lo, hi) = span(row, at)?;
    let (lo, hi) = (instant_from(lo.0, lo.1)?, instant_from(hi.0, hi.1)?);
    TimeRange::new(lo, hi).map_err(|e| Fail::bad(format!("stored span: {e}")))
}

/// The six provenance columns starting at `at` (provider, fetched, fetched_ns, feed,
/// adjustment, via), with the provider names they need.
fn provenance(
    r: &Row,
    at: usize,
    names: &HashMap<i32, ProviderId>,
    synthetic: bool,
) -> Result<Provenance, Fail> {
    let name = |id: i32| {
        names
            .get(&id)
            .cloned()
            .ok_or_else(|| Fail::bad(format!("unknown provider id {id}")))
    };
    let via: Option<i32> = get(r, at + 5)?;
    Ok(Provenance {
        provider: name(get(r, at)?)?,
        fetched_at: instant_from(get(r, at + 1)?, get(r, at + 2)?)?,
        feed: get::<Option<String>>(r, at + 3)?.map(Into::into),
        adjustment: adjustment_from_code(get::<Option<i16>>(r, at + 4)?)?,
        synthetic,
        via: via.map(name).transpose()?,
    })
}

/// The provider ids in columns `provider` and `via` of `rows`.
fn provider_ids(rows: &[Row], provider: usize, via: Option<usize>) -> Result<Vec<i32>, Fail> {
    let mut ids: Vec<i32> = Vec::new();
    for r in rows {
        let via = match via {
            Some(at) => get::<Option<i32>>(r, at)?,
            None => None,
        };
        // A bar whose provenance row is missing has no provider: `decode_bars` says so.
        for id in [get::<Option<i32>>(r, provider)?, via]
            .into_iter()
            .flatten()
        {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    Ok(ids)
}

/// The id of a series, as a subquery on parameters $1..$4.
const SERIES_ID: &str = "(SELECT id FROM {s}.series \
     WHERE symbol = $1 AND interval = $2 AND adjustment = $3 AND dataset = $4)";

/// The columns [`bar`] reads, in its order.
const BAR_COLUMNS: &str = "b.start, b.start_ns, b.open, b.high, b.low, b.close, b.volume, \
     b.vwap, b.trades, b.negative_zeros, b.provenance, \
     p.provider, p.fetched, p.fetched_ns, p.feed, p.adjustment, p.via";

/// Bars with their provenance; a bar whose provenance row is missing comes with NULLs, so a
/// damaged store is reported, not read short.
const BARS_WITH_PROVENANCE: &str = "{s}.bars b LEFT JOIN {s}.provenance p ON p.id = b.provenance";

fn bars_in_range(sql: &Sql) -> String {
    sql.q(&format!(
        "SELECT {BAR_COLUMNS} FROM {BARS_WITH_PROVENANCE} \
         WHERE b.series_id = {SERIES_ID} AND b.start BETWEEN $5 AND $7 \
         AND (b.start, b.start_ns) >= ($5, $6) AND (b.start, b.start_ns) < ($7, $8) \
         ORDER BY b.start, b.start_ns"
    ))
}

fn last_bar_before_sql(sql: &Sql) -> String {
    sql.q(&format!(
        "SELECT {BAR_COLUMNS} FROM {BARS_WITH_PROVENANCE} \
         WHERE b.series_id = {SERIES_ID} AND b.start <= $5 AND (b.start, b.start_ns) < ($5, $6) \
         ORDER BY b.start DESC, b.start_ns DESC LIMIT 1"
    ))
}

/// Decodes rows of [`BAR_COLUMNS`], each provenance once.
async fn decode_bars(
    store: &PostgresStore,
    client: &Object,
    key: &SeriesKey,
    rows: &[Row],
) -> Result<Vec<Bar>, Fail> {
    let names = store
        .provider_names(client, provider_ids(rows, 11, Some(16))?)
        .await?;
    let synthetic = key.dataset == Dataset::Sandbox;
    let mut seen: HashMap<i64, Provenance> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let id: i64 = get(r, 10)?;
        let provenance = match seen.get(&id) {
            Some(p) => p.clone(),
            None if get::<Option<i32>>(r, 11)?.is_none() => {
                return Err(Fail::bad(format!(
                    "a bar refers to provenance {id}, which is missing"
                )));
            }
            None => {
                let p = provenance(r, 11, &names, synthetic)?;
                seen.insert(id, p.clone());
                p
            }
        };
        let zeros: i16 = get(r, 9)?;
        out.push(Bar {
            symbol: key.symbol.clone(),
            interval: key.interval,
            start: instant_from(get(r, 0)?, get(r, 1)?)?,
            open: decimal(get(r, 2)?, zeros, 0)?,
            high: decimal(get(r, 3)?, zeros, 1)?,
            low: decimal(get(r, 4)?, zeros, 2)?,
            close: decimal(get(r, 5)?, zeros, 3)?,
            volume: get::<Count>(r, 6)?.0,
            vwap: opt_decimal(get(r, 7)?, zeros, 4)?,
            trades: get::<Option<Count>>(r, 8)?.map(|c| c.0),
            provenance,
        });
    }
    Ok(out)
}

pub(crate) async fn bars(
    store: &PostgresStore,
    client: &Object,
    key: &SeriesKey,
    range: TimeRange,
) -> Result<Vec<Bar>, Fail> {
    let s = SeriesRow::of(key);
    let (lo, hi) = (instant(range.start()), instant(range.end()));
    let st = client
        .prepare_cached(&bars_in_range(&store.inner.sql))
        .await?;
    let rows = client
        .query(
            &st,
            &[
                &s.symbol,
                &s.interval,
                &s.adjustment,
                &s.dataset,
                &lo.0,
                &lo.1,
                &hi.0,
                &hi.1,
            ],
        )
        .await?;
    decode_bars(store, client, key, &rows).await
}

pub(crate) async fn last_bar_before(
    store: &PostgresStore,
    client: &Object,
    key: &SeriesKey,
    before: Timestamp,
) -> Result<Option<Bar>, Fail> {
    let s = SeriesRow::of(key);
    let t = instant(before);
    let st = client
        .prepare_cached(&last_bar_before_sql(&store.inner.sql))
        .await?;
    let rows = client
        .query(
            &st,
            &[
                &s.symbol,
                &s.interval,
                &s.adjustment,
                &s.dataset,
                &t.0,
                &t.1,
            ],
        )
        .await?;
    Ok(decode_bars(store, client, key, &rows).await?.pop())
}

pub(crate) async fn coverage(
    sql: &Sql,
    client: &Object,
    key: &SeriesKey,
) -> Result<Vec<TimeRange>, Fail> {
    let s = SeriesRow::of(key);
    let st = client
        .prepare_cached(&sql.q(&format!(
            "SELECT lo, lo_ns, hi, hi_ns FROM {{s}}.bar_coverage \
             WHERE series_id = {SERIES_ID} ORDER BY lo, lo_ns"
        )))
        .await?;
    let rows = client
        .query(&st, &[&s.symbol, &s.interval, &s.adjustment, &s.dataset])
        .await?;
    rows.iter().map(|r| span_to_range(r, 0)).collect()
}

pub(crate) async fn news_coverage(
    sql: &Sql,
    client: &Object,
    dataset: Dataset,
    symbol: &Symbol,
) -> Result<Vec<TimeRange>, Fail> {
    let st = client
        .prepare_cached(&sql.q("SELECT lo, lo_ns, hi, hi_ns FROM {s}.news_coverage \
             WHERE dataset = $1 AND symbol = $2 ORDER BY lo, lo_ns"))
        .await?;
    let rows = client
        .query(&st, &[&dataset.as_str(), &symbol.as_str()])
        .await?;
    rows.iter().map(|r| span_to_range(r, 0)).collect()
}

pub(crate) async fn quote(
    store: &PostgresStore,
    client: &Object,
    dataset: Dataset,
    symbol: &Symbol,
) -> Result<Option<Quote>, Fail> {
    let st = client
        .prepare_cached(&store.inner.sql.q(
            "SELECT price, bid, bid_size, ask, ask_size, open, high, low, previous_close, \
             change, change_percent, volume, negative_zeros, as_of, as_of_ns, \
             provider, fetched, fetched_ns, feed, adjustment, via \
             FROM {s}.quotes WHERE dataset = $1 AND symbol = $2",
        ))
        .await?;
    let rows = client
        .query(&st, &[&dataset.as_str(), &symbol.as_str()])
        .await?;
    let Some(r) = rows.first() else {
        return Ok(None);
    };
    let names = store
        .provider_names(client, provider_ids(&rows, 15, Some(20))?)
        .await?;
    let zeros: i16 = get(r, 12)?;
    Ok(Some(Quote {
        symbol: symbol.clone(),
        price: decimal(get(r, 0)?, zeros, 0)?,
        bid: opt_decimal(get(r, 1)?, zeros, 1)?,
        bid_size: get::<Option<Count>>(r, 2)?.map(|c| c.0),
        ask: opt_decimal(get(r, 3)?, zeros, 2)?,
        ask_size: get::<Option<Count>>(r, 4)?.map(|c| c.0),
        open: opt_decimal(get(r, 5)?, zeros, 3)?,
        high: opt_decimal(get(r, 6)?, zeros, 4)?,
        low: opt_decimal(get(r, 7)?, zeros, 5)?,
        previous_close: opt_decimal(get(r, 8)?, zeros, 6)?,
        change: opt_decimal(get(r, 9)?, zeros, 7)?,
        change_percent: opt_decimal(get(r, 10)?, zeros, 8)?,
        volume: get::<Option<Count>>(r, 11)?.map(|c| c.0),
        as_of: instant_from(get(r, 13)?, get(r, 14)?)?,
        provenance: provenance(r, 15, &names, dataset == Dataset::Sandbox)?,
    }))
}

const NEWS: &str = "\
SELECT a.id, a.headline, a.summary, a.url, a.source, a.published, a.published_ns, a.symbols,
       a.author, a.image, a.negative_zeros, a.sentiment_score, a.sentiment_label,
       a.sentiment_other, a.provider, a.fetched, a.fetched_ns, a.feed, a.adjustment, a.via,
       t.symbols, t.negative_zeros, t.relevance, t.score, t.label, t.other
FROM {s}.articles a
LEFT JOIN LATERAL (SELECT array_agg(symbol ORDER BY pos) AS symbols,
                          array_agg(negative_zeros ORDER BY pos) AS negative_zeros,
                          array_agg(relevance ORDER BY pos) AS relevance,
                          array_agg(score ORDER BY pos) AS score,
                          array_agg(label ORDER BY pos) AS label,
                          array_agg(other ORDER BY pos) AS other
                   FROM {s}.article_sentiment WHERE article = a.seq) t ON true
WHERE a.seq IN (SELECT article FROM {s}.article_symbols
                WHERE dataset = $1 AND symbol = ANY ($2::text[])
                  AND published BETWEEN $3 AND $5
                  AND (published, published_ns) >= ($3, $4)
                  AND (published, published_ns) < ($5, $6))
ORDER BY a.published DESC, a.published_ns DESC, a.id COLLATE \"C\"
LIMIT $7";

pub(crate) async fn news(
    store: &PostgresStore,
    client: &Object,
    dataset: Dataset,
    symbols: &[Symbol],
    range: TimeRange,
    limit: usize,
) -> Result<Vec<NewsArticle>, Fail> {
    let (lo, hi) = (instant(range.start()), instant(range.end()));
    let symbols: Vec<&str> = symbols.iter().map(Symbol::as_str).collect();
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let st = client.prepare_cached(&store.inner.sql.q(NEWS)).await?;
    let rows = client
        .query(
            &st,
            &[
                &dataset.as_str(),
                &symbols,
                &lo.0,
                &lo.1,
                &hi.0,
                &hi.1,
                &limit,
            ],
        )
        .await?;
    let names = store
        .provider_names(client, provider_ids(&rows, 14, Some(19))?)
        .await?;
    let synthetic = dataset == Dataset::Sandbox;
    rows.iter()
        .map(|r| {
            let zeros: i16 = get(r, 10)?;
            let sentiment = match get::<Option<String>>(r, 12)? {
                Some(l) => Some(Sentiment {
                    score: decimal(get(r, 11)?, zeros, 0)?,
                    label: label_from(&l, get(r, 13)?)?,
                    tickers: ticker_sentiments(r, 20)?,
                }),
                None => None,
            };
            Ok(NewsArticle {
                id: get(r, 0)?,
                headline: get(r, 1)?,
                summary: get(r, 2)?,
                url: get(r, 3)?,
                source: get(r, 4)?,
                published_at: instant_from(get(r, 5)?, get(r, 6)?)?,
                symbols: get::<Vec<String>>(r, 7)?
                    .iter()
                    .map(|s| symbol_from(s))
                    .collect::<Result<_, _>>()?,
                author: get(r, 8)?,
                image: get(r, 9)?,
                sentiment,
                provenance: provenance(r, 14, &names, synthetic)?,
            })
        })
        .collect()
}

/// The per-ticker sentiment in the six array columns from `at` (NULL when there is none).
fn ticker_sentiments(r: &Row, at: usize) -> Result<Vec<TickerSentiment>, Fail> {
    let Some(symbols) = get::<Option<Vec<String>>>(r, at)? else {
        return Ok(Vec::new());
    };
    let zeros: Vec<i16> = get(r, at + 1)?;
    let relevance: Vec<Num> = get(r, at + 2)?;
    let score: Vec<Num> = get(r, at + 3)?;
    let label: Vec<String> = get(r, at + 4)?;
    let other: Vec<Option<String>> = get(r, at + 5)?;
    let n = symbols.len();
    if [
        zeros.len(),
        relevance.len(),
        score.len(),
        label.len(),
        other.len(),
    ] != [n; 5]
    {
        return Err(Fail::bad(
            "per-ticker sentiment arrays of unequal lengths".into(),
        ));
    }
    symbols
        .iter()
        .zip(zeros)
        .zip(relevance.into_iter().zip(score))
        .zip(label.iter().zip(other))
        .map(|(((symbol, zeros), (relevance, score)), (label, other))| {
            Ok(TickerSentiment {
                symbol: symbol_from(symbol)?,
                relevance: decimal(relevance, zeros, 0)?,
                score: decimal(score, zeros, 1)?,
                label: label_from(label, other)?,
            })
        })
        .collect()
}

const SERIES: &str = "\
SELECT s.symbol, s.interval, s.adjustment, s.dataset, s.last_fetched, s.last_fetched_ns, c.n,
       f.start, f.start_ns, l.start, l.start_ns
FROM {s}.series s
CROSS JOIN LATERAL (SELECT count(*) AS n FROM {s}.bars WHERE series_id = s.id) c
LEFT JOIN LATERAL (SELECT start, start_ns FROM {s}.bars WHERE series_id = s.id
                   ORDER BY start, start_ns LIMIT 1) f ON true
LEFT JOIN LATERAL (SELECT start, start_ns FROM {s}.bars WHERE series_id = s.id
                   ORDER BY start DESC, start_ns DESC LIMIT 1) l ON true";

pub(crate) async fn series(sql: &Sql, client: &Object) -> Result<Vec<SeriesSummary>, Fail> {
    let st = client.prepare_cached(&sql.q(SERIES)).await?;
    let rows = client.query(&st, &[]).await?;
    let edge = |r: &Row, at: usize| -> Result<Option<Timestamp>, Fail> {
        match (get::<Option<i64>>(r, at)?, get::<Option<i32>>(r, at + 1)?) {
            (Some(s), Some(ns)) => Ok(Some(instant_from(s, ns)?)),
            _ => Ok(None),
        }
    };
    let mut out = rows
        .iter()
        .map(|r| {
            Ok(SeriesSummary {
                key: SeriesKey {
                    symbol: symbol_from(get(r, 0)?)?,
                    interval: interval_from(get(r, 1)?)?,
                    adjustment: adjustment_from(get(r, 2)?)?,
                    dataset: dataset_from(get(r, 3)?)?,
                },
                bars: u64::try_from(get::<i64>(r, 6)?).unwrap_or(0),
                first: edge(r, 7)?,
                last: edge(r, 9)?,
                last_fetched: edge(r, 4)?,
            })
        })
        .collect::<Result<Vec<_>, Fail>>()?;
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

pub(crate) async fn fetch_log(
    store: &PostgresStore,
    client: &Object,
    limit: usize,
) -> Result<Vec<FetchLogEntry>, Fail> {
    let st = client
        .prepare_cached(&store.inner.sql.q(
            "SELECT kind, dataset, symbol, interval, lo, lo_ns, hi, hi_ns, provider, fetched, \
             fetched_ns, records, replaced FROM {s}.fetch_log \
             ORDER BY fetched DESC, fetched_ns DESC, id DESC LIMIT $1",
        ))
        .await?;
    let rows = client
        .query(&st, &[&i64::try_from(limit).unwrap_or(i64::MAX)])
        .await?;
    let names = store
        .provider_names(client, provider_ids(&rows, 8, None)?)
        .await?;
    rows.iter()
        .map(|r| {
            let covered = match get::<Option<i64>>(r, 4)? {
                Some(_) => Some(span_to_range(r, 4)?),
                None => None,
            };
            let provider: i32 = get(r, 8)?;
            Ok(FetchLogEntry {
                kind: kind_from(get(r, 0)?)?,
                dataset: dataset_from(get(r, 1)?)?,
                symbol: symbol_from(get(r, 2)?)?,
                interval: get::<Option<&str>>(r, 3)?.map(interval_from).transpose()?,
                covered,
                provider: names
                    .get(&provider)
                    .cloned()
                    .ok_or_else(|| Fail::bad(format!("unknown provider id {provider}")))?,
                fetched_at: instant_from(get(r, 9)?, get(r, 10)?)?,
                records: u64::try_from(get::<i64>(r, 11)?)
                    .map_err(|_| Fail::bad("negative record count".to_owned()))?,
                replaced: get(r, 12)?,
            })
        })
        .collect()
}

const STATS: &str = "\
SELECT (SELECT count(*) FROM {s}.series), (SELECT count(*) FROM {s}.bars),
       (SELECT count(*) FROM {s}.quotes), (SELECT count(*) FROM {s}.articles),
       (SELECT count(*) FROM {s}.fetch_log), (SELECT max(version) FROM {s}.stockdata_schema),
       (SELECT coalesce(sum(pg_catalog.pg_total_relation_size(c.oid)), 0)::bigint
        FROM pg_catalog.pg_class c
        WHERE c.relkind = 'r'
          AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $1))";

pub(crate) async fn stats(sql: &Sql, client: &Object, location: &str) -> Result<StoreStats, Fail> {
    let st = client.prepare_cached(&sql.q(STATS)).await?;
    let r = client.query_one(&st, &[&sql.schema]).await?;
    let count =
        |i: usize| -> Result<u64, Fail> { Ok(u64::try_from(get::<i64>(&r, i)?).unwrap_or(0)) };
    let version: Option<i32> = get(&r, 5)?;
    Ok(StoreStats {
        location: location.to_owned(),
        bytes: count(6)?,
        series: count(0)?,
        bars: count(1)?,
        quotes: count(2)?,
        articles: count(3)?,
        fetches: count(4)?,
        schema_version: version
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(SCHEMA_VERSION),
    })
}

/// Pairs of stored coverage spans of one owner that overlap or touch, and empty spans: none in
/// a sound store.
const BROKEN_SPANS: &str = "\
SELECT (SELECT count(*) FROM (
          SELECT lo, lo_ns, hi, hi_ns,
                 lag(hi) OVER w AS prev_hi, lag(hi_ns) OVER w AS prev_hi_ns
          FROM {s}.bar_coverage WINDOW w AS (PARTITION BY series_id ORDER BY lo, lo_ns)) x
        WHERE (lo, lo_ns) >= (hi, hi_ns) OR (prev_hi, prev_hi_ns) >= (lo, lo_ns)),
       (SELECT count(*) FROM (
          SELECT lo, lo_ns, hi, hi_ns,
                 lag(hi) OVER w AS prev_hi, lag(hi_ns) OVER w AS prev_hi_ns
          FROM {s}.news_coverage
          WINDOW w AS (PARTITION BY dataset, symbol ORDER BY lo, lo_ns)) x
        WHERE (lo, lo_ns) >= (hi, hi_ns) OR (prev_hi, prev_hi_ns) >= (lo, lo_ns))";

/// The store's B-tree indexes, checked with the `amcheck` extension where it is installed.
const CHECK_INDEXES: &str = "\
SELECT c.relname::text FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_am am ON am.oid = c.relam
WHERE c.relkind = 'i' AND am.amname = 'btree'
  AND c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $1)
ORDER BY 1";

/// Checks the store (its coverage invariants; its indexes, with `amcheck` when installed),
/// deletes provenance no bar refers to, then `VACUUM (ANALYZE)` every table: the space of
/// deleted rows is reused. (`VACUUM FULL`, which would hand it back to the file system, locks
/// every table against every other host; it is left to a database administrator.)
pub(crate) async fn vacuum(sql: &Sql, client: &mut Object) -> Result<(), Fail> {
    let r = client.query_one(&sql.q(BROKEN_SPANS), &[]).await?;
    let (bars, news): (i64, i64) = (get(&r, 0)?, get(&r, 1)?);
    if bars > 0 || news > 0 {
        return Err(Fail::Corrupt(format!(
            "integrity check: {bars} bar and {news} news coverage spans overlap or are empty"
        )));
    }
    let amcheck = client
        .query_opt(
            "SELECT n.nspname::text FROM pg_catalog.pg_extension e \
             JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace \
             WHERE e.extname = 'amcheck'",
            &[],
        )
        .await?;
    if let Some(ext) = amcheck {
        let ext: String = get(&ext, 0)?;
        for index in client.query(CHECK_INDEXES, &[&sql.schema]).await? {
            let index: String = get(&index, 0)?;
            let check = format!(
                "SELECT \"{ext}\".bt_index_check('\"{}\".\"{index}\"'::regclass)",
                sql.schema
            );
            if let Err(e) = client.batch_execute(&check).await {
                return match e.code() {
                    Some(c) if *c == tokio_postgres::error::SqlState::INDEX_CORRUPTED => Err(
                        Fail::Corrupt(format!("integrity check of index {index}: {e}")),
                    ),
                    _ => Err(e.into()),
                };
            }
        }
    }
    let tx = client.transaction().await?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, $2)",
        &[&PROVENANCE_LOCK, &sql.lock_key],
    )
    .await?;
    tx.execute(
        &sql.q("DELETE FROM {s}.provenance p \
             WHERE NOT EXISTS (SELECT 1 FROM {s}.bars b WHERE b.provenance = p.id)"),
        &[],
    )
    .await?;
    tx.commit().await?;
    client
        .batch_execute(&sql.q(
            "VACUUM (ANALYZE) {s}.bars, {s}.provenance, {s}.bar_coverage, {s}.series, \
             {s}.quotes, {s}.articles, {s}.article_symbols, {s}.news_coverage, {s}.fetch_log, \
             {s}.providers, {s}.stockdata_schema",
        ))
        .await?;
    Ok(())
}
