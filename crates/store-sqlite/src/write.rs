//! Writes. A write is encoded into an owned job on the caller's task (cheap, and it lets the
//! job move to a blocking thread), then applied in one `BEGIN IMMEDIATE` transaction: taking
//! the write lock up front means a busy store waits in SQLite's busy handler instead of failing
//! half-way, and a failure anywhere rolls the whole write back.

use std::sync::LazyLock;

use rusqlite::types::Value;
use rusqlite::{Connection, Transaction, TransactionBehavior, params, params_from_iter};
use stockdata_domain::{NewsArticle, Provenance, Quote};
use stockdata_ports::{BarsWrite, Dataset, NewsWrite};
use stockdata_store_common::codec::{adjustment_code, label};
use stockdata_store_common::rows::{Names, SeriesRow, distinct_symbols, index_of};

use crate::codec::{count, decimal, instant, opt_count, opt_decimal, symbols};
use crate::error::Fail;

/// An instant as `(seconds, nanoseconds)`, see `codec::instant`.
pub(crate) type Instant = (i64, i64);

/// A span `[lo, hi)` of instants.
pub(crate) type Span = (Instant, Instant);

/// A provenance in its column form (`synthetic` is the dataset's, not stored).
#[derive(Debug, PartialEq, Eq)]
struct ProvRow {
    provider: usize,
    fetched: Instant,
    feed: Option<String>,
    adjustment: Option<i64>,
    via: Option<usize>,
}

impl ProvRow {
    fn of(p: &Provenance, names: &mut Names) -> Self {
        Self {
            provider: names.index(p.provider.as_str()),
            fetched: instant(p.fetched_at),
            feed: p.feed.as_deref().map(str::to_owned),
            adjustment: adjustment_code(p.adjustment),
            via: p.via.as_ref().map(|v| names.index(v.as_str())),
        }
    }
}

/// A fetch log line in its column form.
type LogRow = stockdata_store_common::rows::LogRow<Instant>;

#[derive(Debug)]
struct BarRow {
    start: Instant,
    open: Value,
    high: Value,
    low: Value,
    close: Value,
    volume: Value,
    vwap: Value,
    trades: Value,
    /// Index into the job's `provenances`.
    prov: usize,
}

/// One `write_bars`, encoded.
#[derive(Debug)]
pub(crate) struct BarsJob {
    series: SeriesRow,
    covered: Span,
    rows: Vec<BarRow>,
    /// The distinct provenances of the bars.
    provenances: Vec<ProvRow>,
    replace: bool,
    names: Names,
    log: LogRow,
}

impl BarsJob {
    pub(crate) fn new(w: &BarsWrite<'_>) -> Self {
        let mut names = Names::default();
        let provider = names.index(w.provider.as_str());
        let mut provenances: Vec<ProvRow> = Vec::new();
        let mut rows: Vec<BarRow> = w
            .bars
            .iter()
            .map(|b| BarRow {
                start: instant(b.start),
                open: decimal(b.open),
                high: decimal(b.high),
                low: decimal(b.low),
                close: decimal(b.close),
                volume: count(b.volume),
                vwap: opt_decimal(b.vwap),
                trades: opt_count(b.trades),
                prov: index_of(&mut provenances, ProvRow::of(&b.provenance, &mut names)),
            })
            .collect();
        // Stable: of two bars with one start, the later in the slice is written last and wins.
        // In order, rows append to the b-tree instead of splitting pages all over it.
        rows.sort_by_key(|r| r.start);
        let covered = (instant(w.covered.start()), instant(w.covered.end()));
        Self {
            series: SeriesRow::of(w.key),
            covered,
            rows,
            provenances,
            replace: w.replace,
            names,
            log: LogRow::of_bars(w, provider, covered, instant(w.fetched_at)),
        }
    }
}

/// Bars per `INSERT` statement: one statement per row spends more in statement set-up and
/// tear-down than in the insert itself.
const BARS_PER_STATEMENT: usize = 64;

/// Columns per bar row.
const BAR_PARAMS: usize = 11;

/// The upsert of `rows` bars, `?1`.. bound row after row.
fn upsert_bars_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO bars (series_id, start, start_ns, open, high, low, close, volume, vwap, \
         trades, provenance) VALUES ",
    );
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for col in 1..=BAR_PARAMS {
            if col > 1 {
                sql.push_str(", ");
            }
            sql.push('?');
            sql.push_str(&(row * BAR_PARAMS + col).to_string());
        }
        sql.push(')');
    }
    sql.push_str(
        " ON CONFLICT (series_id, start, start_ns) DO UPDATE SET \
         open = excluded.open, high = excluded.high, low = excluded.low, \
         close = excluded.close, volume = excluded.volume, vwap = excluded.vwap, \
         trades = excluded.trades, provenance = excluded.provenance",
    );
    sql
}

static UPSERT_BATCH: LazyLock<String> = LazyLock::new(|| upsert_bars_sql(BARS_PER_STATEMENT));
static UPSERT_ONE: LazyLock<String> = LazyLock::new(|| upsert_bars_sql(1));

/// Binds `r` as the `row`-th bar of a statement.
fn bind_bar(
    st: &mut rusqlite::CachedStatement<'_>,
    row: usize,
    series: i64,
    r: &BarRow,
    provenances: &[i64],
) -> Result<(), Fail> {
    let at = row * BAR_PARAMS;
    st.raw_bind_parameter(at + 1, series)?;
    st.raw_bind_parameter(at + 2, r.start.0)?;
    st.raw_bind_parameter(at + 3, r.start.1)?;
    st.raw_bind_parameter(at + 4, &r.open)?;
    st.raw_bind_parameter(at + 5, &r.high)?;
    st.raw_bind_parameter(at + 6, &r.low)?;
    st.raw_bind_parameter(at + 7, &r.close)?;
    st.raw_bind_parameter(at + 8, &r.volume)?;
    st.raw_bind_parameter(at + 9, &r.vwap)?;
    st.raw_bind_parameter(at + 10, &r.trades)?;
    st.raw_bind_parameter(at + 11, id(provenances, r.prov)?)?;
    Ok(())
}

/// The ids of `provenances` in the `provenance` table, in order, inserting those not there.
fn provenance_ids(
    tx: &Transaction<'_>,
    provenances: &[ProvRow],
    ids: &[i64],
) -> Result<Vec<i64>, Fail> {
    let mut find = tx.prepare_cached(
        "SELECT id FROM provenance WHERE fetched = ?1 AND fetched_ns = ?2 AND provider = ?3 \
         AND feed IS ?4 AND adjustment IS ?5 AND via IS ?6",
    )?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO provenance (fetched, fetched_ns, provider, feed, adjustment, via) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut out = Vec::with_capacity(provenances.len());
    for p in provenances {
        let (provider, via) = (id(ids, p.provider)?, p.via.map(|v| id(ids, v)).transpose()?);
        let values = params![
            p.fetched.0,
            p.fetched.1,
            provider,
            p.feed,
            p.adjustment,
            via
        ];
        let found = {
            let mut rows = find.query(values)?;
            match rows.next()? {
                Some(r) => Some(r.get(0)?),
                None => None,
            }
        };
        out.push(match found {
            Some(id) => id,
            None => {
                insert.execute(values)?;
                tx.last_insert_rowid()
            }
        });
    }
    Ok(out)
}

pub(crate) fn write_bars(conn: &mut Connection, job: &BarsJob) -> Result<(), Fail> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let series = series_id_or_insert(&tx, &job.series)?;
    let ids = provider_ids(&tx, &job.names)?;
    let provenances = provenance_ids(&tx, &job.provenances, &ids)?;
    if job.replace {
        tx.prepare_cached("DELETE FROM bars WHERE series_id = ?1")?
            .execute([series])?;
        tx.prepare_cached("DELETE FROM bar_coverage WHERE series_id = ?1")?
            .execute([series])?;
    }
    {
        let mut batch = tx.prepare_cached(&UPSERT_BATCH)?;
        let mut one = tx.prepare_cached(&UPSERT_ONE)?;
        for chunk in job.rows.chunks(BARS_PER_STATEMENT) {
            if chunk.len() == BARS_PER_STATEMENT {
                for (row, r) in chunk.iter().enumerate() {
                    bind_bar(&mut batch, row, series, r, &provenances)?;
                }
                batch.raw_execute()?;
            } else {
                for r in chunk {
                    bind_bar(&mut one, 0, series, r, &provenances)?;
                    one.raw_execute()?;
                }
            }
        }
    }
    merge_span(&tx, &Owner::Series(series), job.covered)?;
    tx.prepare_cached(
        "UPDATE series SET last_fetched = ?2, last_fetched_ns = ?3 WHERE id = ?1 \
         AND (last_fetched IS NULL OR (last_fetched, last_fetched_ns) < (?2, ?3))",
    )?
    .execute(params![series, job.log.fetched.0, job.log.fetched.1])?;
    log(&tx, &ids, &job.log)?;
    tx.commit()?;
    Ok(())
}

#[derive(Debug)]
struct QuoteRow {
    symbol: String,
    values: [Value; 12],
    as_of: Instant,
    prov: ProvRow,
}

/// One `write_quotes`, encoded.
#[derive(Debug)]
pub(crate) struct QuotesJob {
    dataset: &'static str,
    rows: Vec<QuoteRow>,
    names: Names,
    logs: Vec<LogRow>,
}

impl QuotesJob {
    pub(crate) fn new(dataset: Dataset, quotes: &[Quote]) -> Self {
        let mut names = Names::default();
        let mut logs: Vec<LogRow> = Vec::new();
        let mut rows = Vec::with_capacity(quotes.len());
        for q in quotes {
            let prov = ProvRow::of(&q.provenance, &mut names);
            LogRow::count_quote(&mut logs, dataset, &q.symbol, prov.provider, prov.fetched);
            rows.push(QuoteRow {
                symbol: q.symbol.as_str().to_owned(),
                values: [
                    decimal(q.price),
                    opt_decimal(q.bid),
                    opt_count(q.bid_size),
                    opt_decimal(q.ask),
                    opt_count(q.ask_size),
                    opt_decimal(q.open),
                    opt_decimal(q.high),
                    opt_decimal(q.low),
                    opt_decimal(q.previous_close),
                    opt_decimal(q.change),
                    opt_decimal(q.change_percent),
                    opt_count(q.volume),
                ],
                as_of: instant(q.as_of),
                prov,
            });
        }
        Self {
            dataset: dataset.as_str(),
            rows,
            names,
            logs,
        }
    }
}

const UPSERT_QUOTE: &str = "\
INSERT INTO quotes (dataset, symbol, price, bid, bid_size, ask, ask_size, open, high, low,
                    previous_close, change, change_percent, volume, as_of, as_of_ns,
                    provider, fetched, fetched_ns, feed, adjustment, via)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
        ?20, ?21, ?22)
ON CONFLICT (dataset, symbol) DO UPDATE SET
    price = excluded.price, bid = excluded.bid, bid_size = excluded.bid_size,
    ask = excluded.ask, ask_size = excluded.ask_size, open = excluded.open,
    high = excluded.high, low = excluded.low, previous_close = excluded.previous_close,
    change = excluded.change, change_percent = excluded.change_percent,
    volume = excluded.volume, as_of = excluded.as_of, as_of_ns = excluded.as_of_ns,
    provider = excluded.provider, fetched = excluded.fetched, fetched_ns = excluded.fetched_ns,
    feed = excluded.feed, adjustment = excluded.adjustment, via = excluded.via
WHERE (excluded.fetched, excluded.fetched_ns) >= (quotes.fetched, quotes.fetched_ns)";

pub(crate) fn write_quotes(conn: &mut Connection, job: &QuotesJob) -> Result<(), Fail> {
    if job.rows.is_empty() {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let ids = provider_ids(&tx, &job.names)?;
    {
        let mut st = tx.prepare_cached(UPSERT_QUOTE)?;
        for r in &job.rows {
            let p = &r.prov;
            let [v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11] = &r.values;
            st.execute(params![
                job.dataset,
                r.symbol,
                v0,
                v1,
                v2,
                v3,
                v4,
                v5,
                v6,
                v7,
                v8,
                v9,
                v10,
                v11,
                r.as_of.0,
                r.as_of.1,
                id(&ids, p.provider)?,
                p.fetched.0,
                p.fetched.1,
                p.feed,
                p.adjustment,
                p.via.map(|v| id(&ids, v)).transpose()?,
            ])?;
        }
    }
    for l in &job.logs {
        log(&tx, &ids, l)?;
    }
    tx.commit()?;
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
    symbols_text: String,
    /// The article's symbols, each once, for the index.
    index: Vec<String>,
    author: Option<String>,
    image: Option<String>,
    score: Value,
    label: Option<&'static str>,
    other: Option<String>,
    tickers: Vec<TickerRow>,
    prov: ProvRow,
}

/// One row of `article_sentiment`, encoded (its `pos` is its index).
#[derive(Debug)]
struct TickerRow {
    symbol: String,
    relevance: Value,
    score: Value,
    label: &'static str,
    other: Option<String>,
}

/// One `write_news`, encoded.
#[derive(Debug)]
pub(crate) struct NewsJob {
    dataset: &'static str,
    symbols: Vec<String>,
    covered: Span,
    rows: Vec<ArticleRow>,
    names: Names,
    log: Option<LogRow>,
}

impl NewsJob {
    pub(crate) fn new(w: &NewsWrite<'_>) -> Self {
        let mut names = Names::default();
        let provider = names.index(w.provider.as_str());
        let rows = w
            .articles
            .iter()
            .map(|a| article_row(a, &mut names))
            .collect();
        let covered = (instant(w.covered.start()), instant(w.covered.end()));
        let log = LogRow::of_news(w, provider, covered, instant(w.fetched_at));
        Self {
            dataset: w.dataset.as_str(),
            symbols: w.symbols.iter().map(|s| s.as_str().to_owned()).collect(),
            covered,
            rows,
            names,
            log,
        }
    }
}

fn article_row(a: &NewsArticle, names: &mut Names) -> ArticleRow {
    let (score, overall, other) = match &a.sentiment {
        Some(s) => {
            let (l, other) = label(&s.label);
            (decimal(s.score), Some(l), other.map(str::to_owned))
        }
        None => (Value::Null, None, None),
    };
    let tickers = a
        .sentiment
        .iter()
        .flat_map(|s| &s.tickers)
        .map(|t| {
            let (l, other) = label(&t.label);
            TickerRow {
                symbol: t.symbol.as_str().to_owned(),
                relevance: decimal(t.relevance),
                score: decimal(t.score),
                label: l,
                other: other.map(str::to_owned),
            }
        })
        .collect();
    ArticleRow {
        id: a.id.clone(),
        headline: a.headline.clone(),
        summary: a.summary.clone(),
        url: a.url.clone(),
        source: a.source.clone(),
        published: instant(a.published_at),
        symbols_text: symbols(&a.symbols),
        index: distinct_symbols(&a.symbols),
        author: a.author.clone(),
        image: a.image.clone(),
        score,
        label: overall,
        other,
        tickers,
        prov: ProvRow::of(&a.provenance, names),
    }
}

const UPSERT_ARTICLE: &str = "\
INSERT INTO articles (dataset, id, headline, summary, url, source, published, published_ns,
                      symbols, author, image, sentiment_score, sentiment_label, sentiment_other,
                      provider, fetched, fetched_ns, feed, adjustment, via)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
        ?20)
ON CONFLICT (dataset, id) DO UPDATE SET
    headline = excluded.headline, summary = excluded.summary, url = excluded.url,
    source = excluded.source, published = excluded.published,
    published_ns = excluded.published_ns, symbols = excluded.symbols,
    author = excluded.author, image = excluded.image,
    sentiment_score = excluded.sentiment_score, sentiment_label = excluded.sentiment_label,
    sentiment_other = excluded.sentiment_other, provider = excluded.provider,
    fetched = excluded.fetched, fetched_ns = excluded.fetched_ns, feed = excluded.feed,
    adjustment = excluded.adjustment, via = excluded.via
RETURNING seq";

pub(crate) fn write_news(conn: &mut Connection, job: &NewsJob) -> Result<(), Fail> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let ids = provider_ids(&tx, &job.names)?;
    {
        let mut upsert = tx.prepare_cached(UPSERT_ARTICLE)?;
        let mut unlink = tx.prepare_cached("DELETE FROM article_symbols WHERE article = ?1")?;
        let mut unscore = tx.prepare_cached("DELETE FROM article_sentiment WHERE article = ?1")?;
        let mut score = tx.prepare_cached(
            "INSERT INTO article_sentiment (article, pos, symbol, relevance, score, label, \
             other) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        let mut link = tx.prepare_cached(
            "INSERT OR IGNORE INTO article_symbols \
             (dataset, symbol, published, published_ns, article) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for a in &job.rows {
            let p = &a.prov;
            let seq: i64 = upsert.query_row(
                params![
                    job.dataset,
                    a.id,
                    a.headline,
                    a.summary,
                    a.url,
                    a.source,
                    a.published.0,
                    a.published.1,
                    a.symbols_text,
                    a.author,
                    a.image,
                    a.score,
                    a.label,
                    a.other,
                    id(&ids, p.provider)?,
                    p.fetched.0,
                    p.fetched.1,
                    p.feed,
                    p.adjustment,
                    p.via.map(|v| id(&ids, v)).transpose()?,
                ],
                |r| r.get(0),
            )?;
            unlink.execute([seq])?;
            unscore.execute([seq])?;
            for (pos, t) in (0_i64..).zip(&a.tickers) {
                score.execute(params![
                    seq,
                    pos,
                    t.symbol,
                    t.relevance,
                    t.score,
                    t.label,
                    t.other
                ])?;
            }
            for symbol in &a.index {
                link.execute(params![
                    job.dataset,
                    symbol,
                    a.published.0,
                    a.published.1,
                    seq
                ])?;
            }
        }
    }
    for symbol in &job.symbols {
        merge_span(&tx, &Owner::News(job.dataset, symbol), job.covered)?;
    }
    if let Some(l) = &job.log {
        log(&tx, &ids, l)?;
    }
    tx.commit()?;
    Ok(())
}

/// Whose coverage a span is.
#[derive(Debug)]
pub(crate) enum Owner<'a> {
    /// A bar series, by id.
    Series(i64),
    /// News about a symbol in a dataset.
    News(&'static str, &'a str),
}

/// The coverage statements of one owner kind. Each takes the owner's key first, then the span.
struct SpanSql {
    overlapping: &'static str,
    delete: &'static str,
    insert: &'static str,
    list: &'static str,
}

const SERIES_SPANS: SpanSql = SpanSql {
    overlapping: "SELECT lo, lo_ns, hi, hi_ns FROM bar_coverage WHERE series_id = ?1 \
                  AND (hi, hi_ns) >= (?2, ?3) AND (lo, lo_ns) <= (?4, ?5)",
    delete: "DELETE FROM bar_coverage WHERE series_id = ?1 \
             AND (hi, hi_ns) >= (?2, ?3) AND (lo, lo_ns) <= (?4, ?5)",
    insert: "INSERT INTO bar_coverage (series_id, lo, lo_ns, hi, hi_ns) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
    list: "SELECT lo, lo_ns, hi, hi_ns FROM bar_coverage WHERE series_id = ?1 \
           ORDER BY lo, lo_ns",
};

const NEWS_SPANS: SpanSql = SpanSql {
    overlapping: "SELECT lo, lo_ns, hi, hi_ns FROM news_coverage \
                  WHERE dataset = ?1 AND symbol = ?2 \
                  AND (hi, hi_ns) >= (?3, ?4) AND (lo, lo_ns) <= (?5, ?6)",
    delete: "DELETE FROM news_coverage WHERE dataset = ?1 AND symbol = ?2 \
             AND (hi, hi_ns) >= (?3, ?4) AND (lo, lo_ns) <= (?5, ?6)",
    insert: "INSERT INTO news_coverage (dataset, symbol, lo, lo_ns, hi, hi_ns) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    list: "SELECT lo, lo_ns, hi, hi_ns FROM news_coverage WHERE dataset = ?1 AND symbol = ?2 \
           ORDER BY lo, lo_ns",
};

impl Owner<'_> {
    fn sql(&self) -> &'static SpanSql {
        match self {
            Owner::Series(_) => &SERIES_SPANS,
            Owner::News(..) => &NEWS_SPANS,
        }
    }

    fn key(&self) -> Vec<Value> {
        match self {
            Owner::Series(id) => vec![Value::Integer(*id)],
            Owner::News(dataset, symbol) => {
                vec![
                    Value::Text((*dataset).to_owned()),
                    Value::Text((*symbol).to_owned()),
                ]
            }
        }
    }

    fn with_span(&self, (lo, hi): Span) -> Vec<Value> {
        let mut v = self.key();
        v.extend([lo.0, lo.1, hi.0, hi.1].map(Value::Integer));
        v
    }

    /// The owner's spans, sorted.
    pub(crate) fn spans(&self, conn: &Connection) -> Result<Vec<Span>, Fail> {
        let mut st = conn.prepare_cached(self.sql().list)?;
        let mut rows = st.query(params_from_iter(self.key()))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(((r.get(0)?, r.get(1)?), (r.get(2)?, r.get(3)?)));
        }
        Ok(out)
    }
}

/// Records `span` as covered: it and every stored span it overlaps or touches become one.
/// Stored spans never overlap or touch each other, so only those can join it.
fn merge_span(tx: &Transaction<'_>, owner: &Owner<'_>, span: Span) -> Result<(), Fail> {
    let (mut lo, mut hi) = span;
    if lo >= hi {
        // An empty span covers nothing.
        return Ok(());
    }
    let sql = owner.sql();
    {
        let mut st = tx.prepare_cached(sql.overlapping)?;
        let mut rows = st.query(params_from_iter(owner.with_span(span)))?;
        while let Some(r) = rows.next()? {
            lo = lo.min((r.get(0)?, r.get(1)?));
            hi = hi.max((r.get(2)?, r.get(3)?));
        }
    }
    tx.prepare_cached(sql.delete)?
        .execute(params_from_iter(owner.with_span(span)))?;
    tx.prepare_cached(sql.insert)?
        .execute(params_from_iter(owner.with_span((lo, hi))))?;
    Ok(())
}

/// The id of a series, `None` when it was never written.
pub(crate) fn series_id(conn: &Connection, s: &SeriesRow) -> Result<Option<i64>, Fail> {
    let mut st = conn.prepare_cached(
        "SELECT id FROM series \
         WHERE symbol = ?1 AND interval = ?2 AND adjustment = ?3 AND dataset = ?4",
    )?;
    let mut rows = st.query(params![s.symbol, s.interval, s.adjustment, s.dataset])?;
    Ok(match rows.next()? {
        Some(r) => Some(r.get(0)?),
        None => None,
    })
}

fn series_id_or_insert(tx: &Transaction<'_>, s: &SeriesRow) -> Result<i64, Fail> {
    if let Some(id) = series_id(tx, s)? {
        return Ok(id);
    }
    tx.prepare_cached(
        "INSERT INTO series (symbol, interval, adjustment, dataset) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![s.symbol, s.interval, s.adjustment, s.dataset])?;
    Ok(tx.last_insert_rowid())
}

/// The ids of the write's provider names, in the same order, inserting new names.
fn provider_ids(tx: &Transaction<'_>, names: &Names) -> Result<Vec<i64>, Fail> {
    let mut insert =
        tx.prepare_cached("INSERT INTO providers (name) VALUES (?1) ON CONFLICT DO NOTHING")?;
    let mut select = tx.prepare_cached("SELECT id FROM providers WHERE name = ?1")?;
    names
        .as_slice()
        .iter()
        .map(|name| {
            insert.execute([name])?;
            Ok(select.query_row([name], |r| r.get(0))?)
        })
        .collect()
}

fn id(ids: &[i64], index: usize) -> Result<i64, Fail> {
    ids.get(index)
        .copied()
        .ok_or_else(|| Fail::bad(format!("no id at index {index}")))
}

fn log(tx: &Transaction<'_>, ids: &[i64], l: &LogRow) -> Result<(), Fail> {
    let (lo, hi) = match l.covered {
        Some((lo, hi)) => ((Some(lo.0), Some(lo.1)), (Some(hi.0), Some(hi.1))),
        None => ((None, None), (None, None)),
    };
    tx.prepare_cached(
        "INSERT INTO fetch_log (kind, dataset, symbol, interval, lo, lo_ns, hi, hi_ns, \
         provider, fetched, fetched_ns, records, replaced) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        l.kind.as_str(),
        l.dataset,
        l.symbol,
        l.interval,
        lo.0,
        lo.1,
        hi.0,
        hi.1,
        id(ids, l.provider)?,
        l.fetched.0,
        l.fetched.1,
        i64::try_from(l.records).unwrap_or(i64::MAX),
        l.replaced,
    ])?;
    Ok(())
}
