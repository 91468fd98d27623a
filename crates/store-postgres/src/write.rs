//! Writes. A write is encoded into an owned job on the caller's task (before any connection is
//! taken), then applied in one READ COMMITTED transaction, which is run again when a deadlock
//! or a serialization failure rolled it back. Locks are taken in one order by every writer:
//! the shared write lock, then the series row (or the news coverage locks, sorted), then rows
//! sorted by key, so hosts writing the same things at once queue instead of deadlocking.

use std::future::Future;

use bytes::{BufMut as _, BytesMut};
use deadpool_postgres::{Object, Transaction};
use futures_util::SinkExt as _;
use stockdata_domain::{NewsArticle, Provenance, Quote};
use stockdata_ports::{BarsWrite, Dataset, NewsWrite};
use stockdata_store_common::codec::{Instant, Span, adjustment_code, instant, label};
use stockdata_store_common::rows::{Names, SeriesRow, distinct_symbols, index_of};
use tokio_postgres::IsolationLevel;

use crate::codec::{Count, Num, negative_zeros, opt_text, put_count, put_decimal, text};
use crate::error::Fail;
use crate::{Sql, fnv32};

/// First key of the lock every bar write holds shared and `vacuum` exclusive while it deletes
/// provenance no bar refers to: `STKP`.
pub(crate) const PROVENANCE_LOCK: i32 = 0x5354_4B50;

/// First key of the per-(dataset, symbol) news coverage locks: `STKN`.
const NEWS_LOCK: i32 = 0x5354_4B4E;

/// A write encoded into an owned job before any connection is taken, then applied in one
/// transaction (again, when a deadlock or a serialization failure rolled it back).
pub(crate) trait Job: Send + Sync {
    /// The provider names the job refers to by index.
    fn names(&self) -> &[String];

    /// Applies the job in one transaction; `ids` are the ids of [`Job::names`], in order.
    fn apply<'a>(
        &'a self,
        sql: &'a Sql,
        client: &'a mut Object,
        ids: &'a [i32],
    ) -> impl Future<Output = Result<(), Fail>> + Send + 'a;
}

/// A job's [`Job`]: its provider names, and the function that applies it.
macro_rules! job {
    ($job:ty, $apply:ident) => {
        impl Job for $job {
            fn names(&self) -> &[String] {
                self.names.as_slice()
            }

            fn apply<'a>(
                &'a self,
                sql: &'a Sql,
                client: &'a mut Object,
                ids: &'a [i32],
            ) -> impl Future<Output = Result<(), Fail>> + Send + 'a {
                $apply(sql, client, self, ids)
            }
        }
    };
}

job!(BarsJob, write_bars);
job!(QuotesJob, write_quotes);
job!(NewsJob, write_news);

/// A provenance in its column form (`synthetic` is the dataset's, not stored). Provider
/// indices point into the job's [`Names`].
#[derive(Debug, Clone, PartialEq, Eq)]
struct ProvRow {
    fetched: Instant,
    provider: usize,
    feed: Option<String>,
    adjustment: Option<i16>,
    via: Option<usize>,
}

impl ProvRow {
    fn of(p: &Provenance, names: &mut Names) -> Self {
        Self {
            provider: names.index(&text(p.provider.as_str())),
            fetched: instant(p.fetched_at),
            feed: opt_text(p.feed.as_deref()),
            adjustment: adjustment_code(p.adjustment),
            via: p.via.as_ref().map(|v| names.index(&text(v.as_str()))),
        }
    }
}

/// A fetch log line in its column form.
type LogRow = stockdata_store_common::rows::LogRow<Instant>;

/// The bars of one write as columns, sorted by start, one bar per start.
#[derive(Debug, Default)]
struct BarColumns {
    start: Vec<i64>,
    start_ns: Vec<i32>,
    open: Vec<Num>,
    high: Vec<Num>,
    low: Vec<Num>,
    close: Vec<Num>,
    volume: Vec<Count>,
    vwap: Vec<Option<Num>>,
    trades: Vec<Option<Count>>,
    negative_zeros: Vec<i16>,
    /// Index into the job's `provenances`.
    provenance: Vec<usize>,
}

/// One `write_bars`, encoded.
#[derive(Debug)]
pub(crate) struct BarsJob {
    series: SeriesRow,
    covered: Span,
    bars: BarColumns,
    /// The distinct provenances of the bars, sorted.
    provenances: Vec<ProvRow>,
    replace: bool,
    names: Names,
    log: LogRow,
}

impl BarsJob {
    pub(crate) fn new(w: &BarsWrite<'_>) -> Self {
        let mut names = Names::default();
        let provider = names.index(&text(w.provider.as_str()));
        let mut provenances: Vec<ProvRow> = Vec::new();
        let mut indexed: Vec<(Instant, usize, usize)> = w
            .bars
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let at = index_of(&mut provenances, ProvRow::of(&b.provenance, &mut names));
                (instant(b.start), i, at)
            })
            .collect();
        // Of two bars with one start, the later in the slice wins: sort by start then
        // position, and keep the last of each start (one statement may not touch a row twice).
        indexed.sort_unstable();
        indexed.reverse();
        indexed.dedup_by_key(|(start, _, _)| *start);
        indexed.reverse();
        // Provenances in a canonical order (by value, providers by name), so concurrent
        // writers insert them in one order.
        let canonical = |p: &ProvRow| {
            let name = |i: usize| names.get(i);
            (
                p.fetched,
                name(p.provider),
                p.feed.clone(),
                p.adjustment,
                p.via.map(name),
            )
        };
        let mut order: Vec<usize> = (0..provenances.len()).collect();
        order.sort_by_cached_key(|i| provenances.get(*i).map(canonical));
        let mut rank = vec![0; provenances.len()];
        for (r, i) in order.iter().enumerate() {
            if let Some(slot) = rank.get_mut(*i) {
                *slot = r;
            }
        }
        let provenances: Vec<ProvRow> = order
            .iter()
            .filter_map(|i| provenances.get(*i).cloned())
            .collect();
        let mut bars = BarColumns::default();
        for (start, i, prov) in indexed {
            let Some(b) = w.bars.get(i) else { continue };
            bars.start.push(start.0);
            bars.start_ns.push(start.1);
            bars.open.push(Num(b.open));
            bars.high.push(Num(b.high));
            bars.low.push(Num(b.low));
            bars.close.push(Num(b.close));
            bars.volume.push(Count(b.volume));
            bars.vwap.push(b.vwap.map(Num));
            bars.trades.push(b.trades.map(Count));
            bars.negative_zeros.push(negative_zeros([
                Some(&b.open),
                Some(&b.high),
                Some(&b.low),
                Some(&b.close),
                b.vwap.as_ref(),
            ]));
            bars.provenance.push(rank.get(prov).copied().unwrap_or(0));
        }
        let covered = (instant(w.covered.start()), instant(w.covered.end()));
        Self {
            series: SeriesRow::of(w.key),
            covered,
            bars,
            provenances,
            replace: w.replace,
            names,
            log: LogRow::of_bars(w, provider, covered, instant(w.fetched_at)),
        }
    }
}

async fn begin(client: &mut Object) -> Result<Transaction<'_>, Fail> {
    Ok(client
        .build_transaction()
        .isolation_level(IsolationLevel::ReadCommitted)
        .start()
        .await?)
}

const UPSERT_SERIES: &str = "\
INSERT INTO {s}.series AS s (symbol, interval, adjustment, dataset, last_fetched, last_fetched_ns)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (symbol, interval, adjustment, dataset) DO UPDATE SET
    last_fetched = CASE WHEN (excluded.last_fetched, excluded.last_fetched_ns)
                             > (s.last_fetched, s.last_fetched_ns)
                        THEN excluded.last_fetched ELSE s.last_fetched END,
    last_fetched_ns = CASE WHEN (excluded.last_fetched, excluded.last_fetched_ns)
                                > (s.last_fetched, s.last_fetched_ns)
                           THEN excluded.last_fetched_ns ELSE s.last_fetched_ns END
RETURNING id";

const INSERT_PROVENANCE: &str = "\
INSERT INTO {s}.provenance (provider, fetched, fetched_ns, feed, adjustment, via)
VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id";

const FIND_PROVENANCE: &str = "\
SELECT id FROM {s}.provenance WHERE provider = $1 AND fetched = $2 AND fetched_ns = $3
    AND feed IS NOT DISTINCT FROM $4 AND adjustment IS NOT DISTINCT FROM $5
    AND via IS NOT DISTINCT FROM $6";

/// The columns of a bar write, `$1` the series and `$2`.. arrays of equal length.
const BAR_ROWS: &str = "\
INSERT INTO {s}.bars (series_id, start, start_ns, open, high, low, close, volume, vwap, trades,
                      negative_zeros, provenance)
SELECT $1::integer, * FROM unnest($2::bigint[], $3::integer[], $4::numeric[], $5::numeric[],
                                  $6::numeric[], $7::numeric[], $8::numeric[], $9::numeric[],
                                  $10::numeric[], $11::smallint[], $12::bigint[])";

/// [`BAR_ROWS`] replacing stored bars of the same start.
const UPSERT_BARS: &str = "\
ON CONFLICT (series_id, start, start_ns) DO UPDATE SET
    open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close,
    volume = excluded.volume, vwap = excluded.vwap, trades = excluded.trades,
    negative_zeros = excluded.negative_zeros, provenance = excluded.provenance";

/// The binary `COPY` of new bars: what `COPY` costs the server is what inserting the rows
/// costs, with no statement or array to unpack around them.
const COPY_BARS: &str = "\
COPY {s}.bars (series_id, start, start_ns, open, high, low, close, volume, vwap, trades,
               negative_zeros, provenance) FROM STDIN (FORMAT binary)";

/// Inserts bars none of which is stored, by binary `COPY`: the rows are encoded into one
/// buffer in PostgreSQL's binary copy format (a header, then per row the field count and each
/// field's length and binary value, -1 for NULL, then -1) and sent at once.
async fn copy_bars(
    sql: &Sql,
    tx: &Transaction<'_>,
    series: i32,
    b: &BarColumns,
    provenances: &[i64],
) -> Result<(), Fail> {
    const FIELDS: i16 = 12;
    let mut buf = BytesMut::with_capacity(19 + b.start.len() * 110);
    buf.put_slice(b"PGCOPY\n\xff\r\n\0");
    buf.put_i32(0);
    buf.put_i32(0);
    let numeric = |buf: &mut BytesMut, put: &dyn Fn(&mut BytesMut) -> Result<(), Fail>| {
        let at = buf.len();
        buf.put_i32(0);
        put(buf)?;
        let len = i32::try_from(buf.len() - at - 4)
            .map_err(|_| Fail::bad("a numeric too long".to_owned()))?;
        if let Some(slot) = buf.get_mut(at..at + 4) {
            slot.copy_from_slice(&len.to_be_bytes());
        }
        Ok::<(), Fail>(())
    };
    for i in 0..b.start.len() {
        let (Some(start), Some(start_ns), Some(open), Some(high), Some(low), Some(close)) = (
            b.start.get(i),
            b.start_ns.get(i),
            b.open.get(i),
            b.high.get(i),
            b.low.get(i),
            b.close.get(i),
        ) else {
            return Err(Fail::bad("bar columns of unequal length".to_owned()));
        };
        let (Some(volume), Some(vwap), Some(trades), Some(zeros), Some(prov)) = (
            b.volume.get(i),
            b.vwap.get(i),
            b.trades.get(i),
            b.negative_zeros.get(i),
            provenances.get(i),
        ) else {
            return Err(Fail::bad("bar columns of unequal length".to_owned()));
        };
        buf.put_i16(FIELDS);
        buf.put_i32(4);
        buf.put_i32(series);
        buf.put_i32(8);
        buf.put_i64(*start);
        buf.put_i32(4);
        buf.put_i32(*start_ns);
        for d in [open, high, low, close] {
            numeric(&mut buf, &|buf| put_decimal(d.0, buf))?;
        }
        numeric(&mut buf, &|buf| put_count(volume.0, buf))?;
        match vwap {
            Some(d) => numeric(&mut buf, &|buf| put_decimal(d.0, buf))?,
            None => buf.put_i32(-1),
        }
        match trades {
            Some(n) => numeric(&mut buf, &|buf| put_count(n.0, buf))?,
            None => buf.put_i32(-1),
        }
        buf.put_i32(2);
        buf.put_i16(*zeros);
        buf.put_i32(8);
        buf.put_i64(*prov);
    }
    buf.put_i16(-1);
    let sink = tx.copy_in(&sql.q(COPY_BARS)).await?;
    let mut sink = std::pin::pin!(sink);
    sink.send(buf.freeze()).await?;
    sink.finish().await?;
    Ok(())
}

/// Whether the series holds a bar between two starts ($2, $3): when it does not, the write's
/// bars are inserted without `ON CONFLICT`, which costs half as much.
const ANY_BAR_BETWEEN: &str = "\
SELECT EXISTS (SELECT 1 FROM {s}.bars WHERE series_id = $1 AND start BETWEEN $2 AND $3)";

async fn write_bars(
    sql: &Sql,
    client: &mut Object,
    job: &BarsJob,
    ids: &[i32],
) -> Result<(), Fail> {
    let tx = begin(client).await?;
    let lock = tx
        .prepare_cached("SELECT pg_advisory_xact_lock_shared($1, $2)")
        .await?;
    tx.execute(&lock, &[&PROVENANCE_LOCK, &sql.lock_key])
        .await?;
    // The series row, locked until commit: writes to one series queue here.
    let s = &job.series;
    let upsert = tx.prepare_cached(&sql.q(UPSERT_SERIES)).await?;
    let fetched = job.log.fetched;
    let row = tx
        .query_one(
            &upsert,
            &[
                &s.symbol,
                &s.interval,
                &s.adjustment,
                &s.dataset,
                &fetched.0,
                &fetched.1,
            ],
        )
        .await?;
    let series: i32 = crate::read::get(&row, 0)?;
    let provenances = provenance_ids(sql, &tx, &job.provenances, ids).await?;
    if job.replace {
        let st = tx
            .prepare_cached(&sql.q("DELETE FROM {s}.bars WHERE series_id = $1"))
            .await?;
        tx.execute(&st, &[&series]).await?;
        let st = tx
            .prepare_cached(&sql.q("DELETE FROM {s}.bar_coverage WHERE series_id = $1"))
            .await?;
        tx.execute(&st, &[&series]).await?;
    }
    let b = &job.bars;
    if !b.start.is_empty() {
        let prov: Vec<i64> = b
            .provenance
            .iter()
            .map(|i| provenances.get(*i).copied())
            .collect::<Option<_>>()
            .ok_or_else(|| Fail::bad("a bar without its provenance".to_owned()))?;
        // The series row is locked: no other writer adds bars to it before this commits.
        let (first, last) = (b.start.first(), b.start.last());
        let check = tx.prepare_cached(&sql.q(ANY_BAR_BETWEEN)).await?;
        let overlaps: bool =
            crate::read::get(&tx.query_one(&check, &[&series, &first, &last]).await?, 0)?;
        if overlaps && !job.replace {
            let st = tx
                .prepare_cached(&sql.q(&format!("{BAR_ROWS} {UPSERT_BARS}")))
                .await?;
            tx.execute(
                &st,
                &[
                    &series,
                    &b.start,
                    &b.start_ns,
                    &b.open,
                    &b.high,
                    &b.low,
                    &b.close,
                    &b.volume,
                    &b.vwap,
                    &b.trades,
                    &b.negative_zeros,
                    &prov,
                ],
            )
            .await?;
        } else {
            copy_bars(sql, &tx, series, b, &prov).await?;
        }
    }
    merge_span(sql, &tx, &Owner::Series(series), job.covered).await?;
    log(sql, &tx, ids, &job.log).await?;
    tx.commit().await?;
    Ok(())
}

/// The ids of `provenances` in the `provenance` table, in order, inserting those not there.
async fn provenance_ids(
    sql: &Sql,
    tx: &Transaction<'_>,
    provenances: &[ProvRow],
    ids: &[i32],
) -> Result<Vec<i64>, Fail> {
    let insert = tx.prepare_cached(&sql.q(INSERT_PROVENANCE)).await?;
    let find = tx.prepare_cached(&sql.q(FIND_PROVENANCE)).await?;
    let mut out = Vec::with_capacity(provenances.len());
    for p in provenances {
        let provider = id(ids, p.provider)?;
        let via = p.via.map(|v| id(ids, v)).transpose()?;
        let values: [&(dyn tokio_postgres::types::ToSql + Sync); 6] = [
            &provider,
            &p.fetched.0,
            &p.fetched.1,
            &p.feed,
            &p.adjustment,
            &via,
        ];
        let row = match tx.query_opt(&insert, &values).await? {
            Some(row) => row,
            None => tx.query_one(&find, &values).await?,
        };
        out.push(crate::read::get::<i64>(&row, 0)?);
    }
    Ok(out)
}

#[derive(Debug)]
struct QuoteRow {
    symbol: String,
    price: Num,
    bid: Option<Num>,
    bid_size: Option<Count>,
    ask: Option<Num>,
    ask_size: Option<Count>,
    open: Option<Num>,
    high: Option<Num>,
    low: Option<Num>,
    previous_close: Option<Num>,
    change: Option<Num>,
    change_percent: Option<Num>,
    volume: Option<Count>,
    negative_zeros: i16,
    as_of: Instant,
    prov: ProvRow,
}

/// One `write_quotes`, encoded.
#[derive(Debug)]
pub(crate) struct QuotesJob {
    dataset: &'static str,
    /// One row per symbol (the one a sequence of upserts would leave), sorted by symbol.
    rows: Vec<QuoteRow>,
    names: Names,
    logs: Vec<LogRow>,
}

impl QuotesJob {
    pub(crate) fn new(dataset: Dataset, quotes: &[Quote]) -> Self {
        let mut names = Names::default();
        let mut logs: Vec<LogRow> = Vec::new();
        let mut rows: Vec<QuoteRow> = Vec::with_capacity(quotes.len());
        for q in quotes {
            let prov = ProvRow::of(&q.provenance, &mut names);
            LogRow::count_quote(&mut logs, dataset, &q.symbol, prov.provider, prov.fetched);
            let row = QuoteRow {
                symbol: q.symbol.as_str().to_owned(),
                price: Num(q.price),
                bid: q.bid.map(Num),
                bid_size: q.bid_size.map(Count),
                ask: q.ask.map(Num),
                ask_size: q.ask_size.map(Count),
                open: q.open.map(Num),
                high: q.high.map(Num),
                low: q.low.map(Num),
                previous_close: q.previous_close.map(Num),
                change: q.change.map(Num),
                change_percent: q.change_percent.map(Num),
                volume: q.volume.map(Count),
                negative_zeros: negative_zeros([
                    Some(&q.price),
                    q.bid.as_ref(),
                    q.ask.as_ref(),
                    q.open.as_ref(),
                    q.high.as_ref(),
                    q.low.as_ref(),
                    q.previous_close.as_ref(),
                    q.change.as_ref(),
                    q.change_percent.as_ref(),
                ]),
                as_of: instant(q.as_of),
                prov,
            };
            // Upserted in turn, a quote replaces one of the same symbol fetched no later.
            match rows.iter_mut().find(|r| r.symbol == row.symbol) {
                Some(kept) if row.prov.fetched >= kept.prov.fetched => *kept = row,
                Some(_) => {}
                None => rows.push(row),
            }
        }
        rows.sort_by(|a, b| a.symbol.cmp(&b.symbol));
        Self {
            dataset: dataset.as_str(),
            rows,
            names,
            logs,
        }
    }
}

const UPSERT_QUOTE: &str = "\
INSERT INTO {s}.quotes AS q (dataset, symbol, price, bid, bid_size, ask, ask_size, open, high,
                             low, previous_close, change, change_percent, volume,
                             negative_zeros, as_of, as_of_ns, provider, fetched, fetched_ns,
                             feed, adjustment, via)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
        $20, $21, $22, $23)
ON CONFLICT (dataset, symbol) DO UPDATE SET
    price = excluded.price, bid = excluded.bid, bid_size = excluded.bid_size,
    ask = excluded.ask, ask_size = excluded.ask_size, open = excluded.open,
    high = excluded.high, low = excluded.low, previous_close = excluded.previous_close,
    change = excluded.change, change_percent = excluded.change_percent,
    volume = excluded.volume, negative_zeros = excluded.negative_zeros,
    as_of = excluded.as_of, as_of_ns = excluded.as_of_ns, provider = excluded.provider,
    fetched = excluded.fetched, fetched_ns = excluded.fetched_ns, feed = excluded.feed,
    adjustment = excluded.adjustment, via = excluded.via
WHERE (excluded.fetched, excluded.fetched_ns) >= (q.fetched, q.fetched_ns)";

async fn write_quotes(
    sql: &Sql,
    client: &mut Object,
    job: &QuotesJob,
    ids: &[i32],
) -> Result<(), Fail> {
    let tx = begin(client).await?;
    let st = tx.prepare_cached(&sql.q(UPSERT_QUOTE)).await?;
    for r in &job.rows {
        let p = &r.prov;
        let provider = id(ids, p.provider)?;
        let via = p.via.map(|v| id(ids, v)).transpose()?;
        tx.execute(
            &st,
            &[
                &job.dataset,
                &r.symbol,
                &r.price,
                &r.bid,
                &r.bid_size,
                &r.ask,
                &r.ask_size,
                &r.open,
                &r.high,
                &r.low,
                &r.previous_close,
                &r.change,
                &r.change_percent,
                &r.volume,
                &r.negative_zeros,
                &r.as_of.0,
                &r.as_of.1,
                &provider,
                &p.fetched.0,
                &p.fetched.1,
                &p.feed,
                &p.adjustment,
                &via,
            ],
        )
        .await?;
    }
    for l in &job.logs {
        log(sql, &tx, ids, l).await?;
    }
    tx.commit().await?;
    Ok(())
}

#[derive(Debug)]
struct ArticleRow {
    id: String,
    headline: String,
    summary: String,
    url: String,
    source: String,
    published: Instant,
    symbols: Vec<String>,
    /// The article's symbols, each once, for the index.
    index: Vec<String>,
    author: Option<String>,
    image: Option<String>,
    negative_zeros: i16,
    score: Option<Num>,
    label: Option<&'static str>,
    other: Option<String>,
    tickers: TickerRows,
    prov: ProvRow,
}

/// An article's `article_sentiment` rows, as columns (their `pos` is the index).
#[derive(Debug, Default)]
struct TickerRows {
    pos: Vec<i32>,
    symbols: Vec<String>,
    negative_zeros: Vec<i16>,
    relevance: Vec<Num>,
    score: Vec<Num>,
    label: Vec<&'static str>,
    other: Vec<Option<String>>,
}

impl TickerRows {
    fn of(a: &NewsArticle) -> Self {
        let mut rows = Self::default();
        for (pos, t) in (0_i32..).zip(a.sentiment.iter().flat_map(|s| &s.tickers)) {
            let (l, other) = label(&t.label);
            rows.pos.push(pos);
            rows.symbols.push(t.symbol.as_str().to_owned());
            rows.negative_zeros
                .push(negative_zeros([Some(&t.relevance), Some(&t.score)]));
            rows.relevance.push(Num(t.relevance));
            rows.score.push(Num(t.score));
            rows.label.push(l);
            rows.other.push(opt_text(other));
        }
        rows
    }
}

/// One `write_news`, encoded.
#[derive(Debug)]
pub(crate) struct NewsJob {
    dataset: &'static str,
    /// The symbols whose coverage grows, with their lock keys, sorted by key.
    symbols: Vec<(i32, String)>,
    covered: Span,
    /// One row per article id (the last in the write), sorted by id.
    rows: Vec<ArticleRow>,
    names: Names,
    log: Option<LogRow>,
}

impl NewsJob {
    pub(crate) fn new(w: &NewsWrite<'_>, sql: &Sql) -> Self {
        let mut names = Names::default();
        let provider = names.index(&text(w.provider.as_str()));
        let mut rows: Vec<ArticleRow> = Vec::with_capacity(w.articles.len());
        for a in w.articles {
            let row = article_row(a, &mut names);
            match rows.iter_mut().find(|r| r.id == row.id) {
                Some(kept) => *kept = row,
                None => rows.push(row),
            }
        }
        rows.sort_by(|a, b| a.id.cmp(&b.id));
        let covered = (instant(w.covered.start()), instant(w.covered.end()));
        let log = LogRow::of_news(w, provider, covered, instant(w.fetched_at));
        let mut symbols: Vec<(i32, String)> = w
            .symbols
            .iter()
            .map(|s| {
                let key = format!("{}\0{}\0{}", sql.schema, w.dataset.as_str(), s.as_str());
                (fnv32(key.as_bytes()), s.as_str().to_owned())
            })
            .collect();
        symbols.sort();
        symbols.dedup();
        Self {
            dataset: w.dataset.as_str(),
            symbols,
            covered,
            rows,
            names,
            log,
        }
    }
}

fn article_row(a: &NewsArticle, names: &mut Names) -> ArticleRow {
    let (score, label, other) = match &a.sentiment {
        Some(s) => {
            let (l, other) = label(&s.label);
            (Some(Num(s.score)), Some(l), opt_text(other))
        }
        None => (None, None, None),
    };
    ArticleRow {
        id: text(&a.id).into_owned(),
        headline: text(&a.headline).into_owned(),
        summary: text(&a.summary).into_owned(),
        url: text(&a.url).into_owned(),
        source: text(&a.source).into_owned(),
        published: instant(a.published_at),
        symbols: a.symbols.iter().map(|s| s.as_str().to_owned()).collect(),
        index: distinct_symbols(&a.symbols),
        author: opt_text(a.author.as_deref()),
        image: opt_text(a.image.as_deref()),
        negative_zeros: negative_zeros([a.sentiment.as_ref().map(|s| &s.score)]),
        score,
        label,
        other,
        tickers: TickerRows::of(a),
        prov: ProvRow::of(&a.provenance, names),
    }
}

const SCORE_TICKERS: &str = "\
INSERT INTO {s}.article_sentiment (article, pos, symbol, negative_zeros, relevance, score,
                                   label, other)
SELECT $1, * FROM unnest($2::integer[], $3::text[], $4::smallint[], $5::numeric[],
                         $6::numeric[], $7::text[], $8::text[])";

const UPSERT_ARTICLE: &str = "\
INSERT INTO {s}.articles (dataset, id, headline, summary, url, source, published,
                          published_ns, symbols, author, image, negative_zeros,
                          sentiment_score, sentiment_label, sentiment_other, provider, fetched,
                          fetched_ns, feed, adjustment, via)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
        $20, $21)
ON CONFLICT (dataset, id) DO UPDATE SET
    headline = excluded.headline, summary = excluded.summary, url = excluded.url,
    source = excluded.source, published = excluded.published,
    published_ns = excluded.published_ns, symbols = excluded.symbols,
    author = excluded.author, image = excluded.image,
    negative_zeros = excluded.negative_zeros, sentiment_score = excluded.sentiment_score,
    sentiment_label = excluded.sentiment_label, sentiment_other = excluded.sentiment_other,
    provider = excluded.provider, fetched = excluded.fetched, fetched_ns = excluded.fetched_ns,
    feed = excluded.feed, adjustment = excluded.adjustment, via = excluded.via
RETURNING seq";

const LINK_ARTICLE: &str = "\
INSERT INTO {s}.article_symbols (dataset, symbol, published, published_ns, article)
SELECT $1, unnest($2::text[]), $3, $4, $5 ON CONFLICT DO NOTHING";

async fn write_news(
    sql: &Sql,
    client: &mut Object,
    job: &NewsJob,
    ids: &[i32],
) -> Result<(), Fail> {
    let tx = begin(client).await?;
    // The coverage of each symbol, locked until commit, in one order for every writer.
    let lock = tx
        .prepare_cached("SELECT pg_advisory_xact_lock($1, $2)")
        .await?;
    for (key, _) in &job.symbols {
        tx.execute(&lock, &[&NEWS_LOCK, key]).await?;
    }
    let upsert = tx.prepare_cached(&sql.q(UPSERT_ARTICLE)).await?;
    let unlink = tx
        .prepare_cached(&sql.q("DELETE FROM {s}.article_symbols WHERE article = $1"))
        .await?;
    let link = tx.prepare_cached(&sql.q(LINK_ARTICLE)).await?;
    let unscore = tx
        .prepare_cached(&sql.q("DELETE FROM {s}.article_sentiment WHERE article = $1"))
        .await?;
    let score = tx.prepare_cached(&sql.q(SCORE_TICKERS)).await?;
    for a in &job.rows {
        let p = &a.prov;
        let provider = id(ids, p.provider)?;
        let via = p.via.map(|v| id(ids, v)).transpose()?;
        let row = tx
            .query_one(
                &upsert,
                &[
                    &job.dataset,
                    &a.id,
                    &a.headline,
                    &a.summary,
                    &a.url,
                    &a.source,
                    &a.published.0,
                    &a.published.1,
                    &a.symbols,
                    &a.author,
                    &a.image,
                    &a.negative_zeros,
                    &a.score,
                    &a.label,
                    &a.other,
                    &provider,
                    &p.fetched.0,
                    &p.fetched.1,
                    &p.feed,
                    &p.adjustment,
                    &via,
                ],
            )
            .await?;
        let seq: i64 = crate::read::get(&row, 0)?;
        tx.execute(&unlink, &[&seq]).await?;
        tx.execute(&unscore, &[&seq]).await?;
        let t = &a.tickers;
        if !t.pos.is_empty() {
            tx.execute(
                &score,
                &[
                    &seq,
                    &t.pos,
                    &t.symbols,
                    &t.negative_zeros,
                    &t.relevance,
                    &t.score,
                    &t.label,
                    &t.other,
                ],
            )
            .await?;
        }
        tx.execute(
            &link,
            &[&job.dataset, &a.index, &a.published.0, &a.published.1, &seq],
        )
        .await?;
    }
    for (_, symbol) in &job.symbols {
        merge_span(sql, &tx, &Owner::News(job.dataset, symbol), job.covered).await?;
    }
    if let Some(l) = &job.log {
        log(sql, &tx, ids, l).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Whose coverage a span is.
#[derive(Debug)]
pub(crate) enum Owner<'a> {
    /// A bar series, by id.
    Series(i32),
    /// News about a symbol in a dataset.
    News(&'static str, &'a str),
}

/// Records `span` as covered: it and every stored span it overlaps or touches become one.
/// Stored spans never overlap or touch each other, so only those can join it. The caller holds
/// the owner's lock (the series row, or the news coverage lock).
async fn merge_span(
    sql: &Sql,
    tx: &Transaction<'_>,
    owner: &Owner<'_>,
    span: Span,
) -> Result<(), Fail> {
    let (mut lo, mut hi) = span;
    if lo >= hi {
        // An empty span covers nothing.
        return Ok(());
    }
    let joined = match owner {
        Owner::Series(series) => {
            let st = tx
                .prepare_cached(&sql.q("DELETE FROM {s}.bar_coverage WHERE series_id = $1 \
                     AND (hi, hi_ns) >= ($2, $3) AND (lo, lo_ns) <= ($4, $5) \
                     RETURNING lo, lo_ns, hi, hi_ns"))
                .await?;
            tx.query(&st, &[series, &lo.0, &lo.1, &hi.0, &hi.1]).await?
        }
        Owner::News(dataset, symbol) => {
            let st = tx
                .prepare_cached(&sql.q(
                    "DELETE FROM {s}.news_coverage WHERE dataset = $1 AND symbol = $2 \
                     AND (hi, hi_ns) >= ($3, $4) AND (lo, lo_ns) <= ($5, $6) \
                     RETURNING lo, lo_ns, hi, hi_ns",
                ))
                .await?;
            tx.query(&st, &[dataset, symbol, &lo.0, &lo.1, &hi.0, &hi.1])
                .await?
        }
    };
    for r in &joined {
        let (a, b) = crate::read::span(r, 0)?;
        lo = lo.min(a);
        hi = hi.max(b);
    }
    match owner {
        Owner::Series(series) => {
            let st = tx
                .prepare_cached(&sql.q(
                    "INSERT INTO {s}.bar_coverage (series_id, lo, lo_ns, hi, hi_ns) \
                     VALUES ($1, $2, $3, $4, $5)",
                ))
                .await?;
            tx.execute(&st, &[series, &lo.0, &lo.1, &hi.0, &hi.1])
                .await?;
        }
        Owner::News(dataset, symbol) => {
            let st = tx
                .prepare_cached(&sql.q(
                    "INSERT INTO {s}.news_coverage (dataset, symbol, lo, lo_ns, hi, hi_ns) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                ))
                .await?;
            tx.execute(&st, &[dataset, symbol, &lo.0, &lo.1, &hi.0, &hi.1])
                .await?;
        }
    }
    Ok(())
}

fn id(ids: &[i32], index: usize) -> Result<i32, Fail> {
    ids.get(index)
        .copied()
        .ok_or_else(|| Fail::bad(format!("no id at index {index}")))
}

async fn log(sql: &Sql, tx: &Transaction<'_>, ids: &[i32], l: &LogRow) -> Result<(), Fail> {
    let (lo, hi) = match l.covered {
        Some((lo, hi)) => ((Some(lo.0), Some(lo.1)), (Some(hi.0), Some(hi.1))),
        None => ((None, None), (None, None)),
    };
    let st = tx
        .prepare_cached(&sql.q(
            "INSERT INTO {s}.fetch_log (kind, dataset, symbol, interval, lo, lo_ns, hi, hi_ns, \
             provider, fetched, fetched_ns, records, replaced) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        ))
        .await?;
    tx.execute(
        &st,
        &[
            &l.kind.as_str(),
            &l.dataset,
            &l.symbol,
            &l.interval,
            &lo.0,
            &lo.1,
            &hi.0,
            &hi.1,
            &id(ids, l.provider)?,
            &l.fetched.0,
            &l.fetched.1,
            &i64::try_from(l.records).unwrap_or(i64::MAX),
            &l.replaced,
        ],
    )
    .await?;
    Ok(())
}
