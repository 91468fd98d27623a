-- stockdata store, schema version 1.
--
-- Applied by `stockdata-store-sqlite` inside one `BEGIN IMMEDIATE` transaction, which then sets
-- `PRAGMA application_id = 0x53544B44` ("STKD", 1398033220: how a stockdata store is told from
-- any other SQLite file) and `PRAGMA user_version` to the number of migrations applied. A
-- migration file is never edited once released: a change is a new file, `0002_...sql`.
--
-- Encodings (chosen for size and speed; every value round-trips exactly):
--
-- * Instant: two INTEGER columns, `x` = whole seconds since 1970-01-01T00:00:00Z rounded down
--   (floor, also before 1970) and `x_ns` = nanoseconds past that second, 0..=999999999. Pairs
--   order like the instants, so `(x, x_ns) < (?, ?)` row values compare instants; SQLite
--   stores the integer 0 in no payload bytes, so whole-second instants cost nothing extra.
--   Covers jiff's whole range (-9999 to 9999) to the nanosecond.
-- * Decimal (columns typed ANY): the INTEGER `mantissa * 32 + scale` (scale 0..=28 in the low
--   5 bits, read back with floor division and a non-negative remainder) when that fits 64
--   bits (|mantissa| < 2^58): 189.98 is 18998 * 32 + 2 = 607938, three bytes on disk.
--   Otherwise (larger mantissas, negative zero) the decimal's TEXT, e.g.
--   '79228162514264337593543950335' or '-0.00'. Either way the scale survives: 1.50 stays
--   1.50.
-- * Count (volume, sizes, trades; columns typed ANY): INTEGER when it fits i64, else the TEXT
--   of the u64.
-- * Enumerations in lookup-sized tables are their canonical text: dataset 'market' |
--   'sandbox', interval '1m' '5m' '15m' '30m' '1h' '1d' '1w' '1mo', adjustment 'raw' | 'split' |
--   'dividend' | 'all', fetch kind 'bars' | 'quotes' | 'news', sentiment label 'bearish' |
--   'somewhat_bearish' | 'neutral' | 'somewhat_bullish' | 'bullish' | 'other' (the verbatim
--   label then in `sentiment_other`).
-- * Provenance: `provider` and `via` are ids in `providers`; `fetched`/`fetched_ns` an
--   instant; `feed` TEXT or NULL; `adjustment` a small INTEGER (0 raw, 1 split, 2 dividend,
--   3 all) or NULL. The bars of one fetch share one row of `provenance` (a bar row holds its
--   id: 13 bytes a row less than inline, and 5 fewer values to bind); quotes and articles,
--   few and each fetched on its own, hold the same six columns inline. `synthetic` is not
--   stored: it is true exactly for the 'sandbox' dataset.
-- * NULL is an absent optional value; '' is an empty string.

-- Provider ids ('alpha_vantage', 'alpaca', ...) as small integers.
CREATE TABLE providers (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
) STRICT;

-- One bar series per (symbol, interval, adjustment, dataset).
CREATE TABLE series (
    id              INTEGER PRIMARY KEY,
    symbol          TEXT NOT NULL,
    interval        TEXT NOT NULL
        CHECK (interval IN ('1m', '5m', '15m', '30m', '1h', '1d', '1w', '1mo')),
    adjustment      TEXT NOT NULL CHECK (adjustment IN ('raw', 'split', 'dividend', 'all')),
    dataset         TEXT NOT NULL CHECK (dataset IN ('market', 'sandbox')),
    -- the newest fetched_at among the writes to this series
    last_fetched    INTEGER,
    last_fetched_ns INTEGER,
    UNIQUE (symbol, interval, adjustment, dataset)
) STRICT;

-- The provenance of bars, one row per distinct provenance a write carried (usually one per
-- fetch). Rows no bar refers to any more are deleted by `vacuum`.
CREATE TABLE provenance (
    id         INTEGER PRIMARY KEY,
    provider   INTEGER NOT NULL REFERENCES providers (id),
    fetched    INTEGER NOT NULL,
    fetched_ns INTEGER NOT NULL,
    feed       TEXT,
    adjustment INTEGER CHECK (adjustment BETWEEN 0 AND 3),
    via        INTEGER REFERENCES providers (id)
) STRICT;

CREATE INDEX provenance_by_fetch ON provenance (fetched, fetched_ns, provider);

-- Bars, clustered by series and start: a range read is one b-tree walk.
CREATE TABLE bars (
    series_id  INTEGER NOT NULL REFERENCES series (id),
    start      INTEGER NOT NULL,
    start_ns   INTEGER NOT NULL,
    open       ANY NOT NULL,
    high       ANY NOT NULL,
    low        ANY NOT NULL,
    close      ANY NOT NULL,
    volume     ANY NOT NULL,
    vwap       ANY,
    trades     ANY,
    provenance INTEGER NOT NULL REFERENCES provenance (id),
    PRIMARY KEY (series_id, start, start_ns)
) STRICT, WITHOUT ROWID;

-- Spans `[lo, hi)` written for a series, stored merged: no two spans of a series overlap or
-- touch.
CREATE TABLE bar_coverage (
    series_id INTEGER NOT NULL REFERENCES series (id),
    lo        INTEGER NOT NULL,
    lo_ns     INTEGER NOT NULL,
    hi        INTEGER NOT NULL,
    hi_ns     INTEGER NOT NULL,
    PRIMARY KEY (series_id, lo, lo_ns)
) STRICT, WITHOUT ROWID;

-- The latest quote per (dataset, symbol): the one with the newest fetched_at.
CREATE TABLE quotes (
    dataset        TEXT NOT NULL CHECK (dataset IN ('market', 'sandbox')),
    symbol         TEXT NOT NULL,
    price          ANY NOT NULL,
    bid            ANY,
    bid_size       ANY,
    ask            ANY,
    ask_size       ANY,
    open           ANY,
    high           ANY,
    low            ANY,
    previous_close ANY,
    change         ANY,
    change_percent ANY,
    volume         ANY,
    as_of          INTEGER NOT NULL,
    as_of_ns       INTEGER NOT NULL,
    provider       INTEGER NOT NULL REFERENCES providers (id),
    fetched        INTEGER NOT NULL,
    fetched_ns     INTEGER NOT NULL,
    feed           TEXT,
    adjustment     INTEGER CHECK (adjustment BETWEEN 0 AND 3),
    via            INTEGER REFERENCES providers (id),
    PRIMARY KEY (dataset, symbol)
) STRICT, WITHOUT ROWID;

-- Articles, one per (dataset, id). `seq` is a compact handle for article_symbols.
CREATE TABLE articles (
    seq             INTEGER PRIMARY KEY,
    dataset         TEXT NOT NULL CHECK (dataset IN ('market', 'sandbox')),
    id              TEXT NOT NULL,
    headline        TEXT NOT NULL,
    summary         TEXT NOT NULL,
    url             TEXT NOT NULL,
    source          TEXT NOT NULL,
    published       INTEGER NOT NULL,
    published_ns    INTEGER NOT NULL,
    -- the article's symbols in their order, separated by single spaces (a symbol has none)
    symbols         TEXT NOT NULL,
    author          TEXT,
    image           TEXT,
    sentiment_score ANY,
    sentiment_label TEXT CHECK (sentiment_label IN ('bearish', 'somewhat_bearish', 'neutral',
                                                    'somewhat_bullish', 'bullish', 'other')),
    sentiment_other TEXT,
    provider        INTEGER NOT NULL REFERENCES providers (id),
    fetched         INTEGER NOT NULL,
    fetched_ns      INTEGER NOT NULL,
    feed            TEXT,
    adjustment      INTEGER CHECK (adjustment BETWEEN 0 AND 3),
    via             INTEGER REFERENCES providers (id),
    UNIQUE (dataset, id)
) STRICT;

-- Which articles are about which symbol, by publication instant: the news read is a range
-- walk per symbol. Rewritten with the article.
CREATE TABLE article_symbols (
    dataset      TEXT NOT NULL,
    symbol       TEXT NOT NULL,
    published    INTEGER NOT NULL,
    published_ns INTEGER NOT NULL,
    article      INTEGER NOT NULL REFERENCES articles (seq),
    PRIMARY KEY (dataset, symbol, published, published_ns, article)
) STRICT, WITHOUT ROWID;

CREATE INDEX article_symbols_by_article ON article_symbols (article);

-- Publication spans `[lo, hi)` written per (dataset, symbol), stored merged.
CREATE TABLE news_coverage (
    dataset TEXT NOT NULL CHECK (dataset IN ('market', 'sandbox')),
    symbol  TEXT NOT NULL,
    lo      INTEGER NOT NULL,
    lo_ns   INTEGER NOT NULL,
    hi      INTEGER NOT NULL,
    hi_ns   INTEGER NOT NULL,
    PRIMARY KEY (dataset, symbol, lo, lo_ns)
) STRICT, WITHOUT ROWID;

-- What was fetched when from whom. `lo`..`hi_ns` are NULL for quotes, `interval` is NULL but
-- for bars.
CREATE TABLE fetch_log (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('bars', 'quotes', 'news')),
    dataset    TEXT NOT NULL CHECK (dataset IN ('market', 'sandbox')),
    symbol     TEXT NOT NULL,
    interval   TEXT,
    lo         INTEGER,
    lo_ns      INTEGER,
    hi         INTEGER,
    hi_ns      INTEGER,
    provider   INTEGER NOT NULL REFERENCES providers (id),
    fetched    INTEGER NOT NULL,
    fetched_ns INTEGER NOT NULL,
    records    INTEGER NOT NULL,
    replaced   INTEGER NOT NULL CHECK (replaced IN (0, 1))
) STRICT;

CREATE INDEX fetch_log_by_time ON fetch_log (fetched, fetched_ns);
