-- stockdata store, schema version 2: per-ticker sentiment.
--
-- One row per ticker an article's sentiment scores, `pos` its place in the provider's list
-- (0, 1, ...). Rows exist only for an article whose `sentiment_label` is not NULL, and are
-- rewritten with the article. `relevance` and `score` are decimals and `label`/`other` a
-- sentiment label, encoded as in `articles` (see 0001_init.sql). Articles written before
-- this version have no rows: their per-ticker sentiment reads back empty.
CREATE TABLE article_sentiment (
    article   INTEGER NOT NULL REFERENCES articles (seq),
    pos       INTEGER NOT NULL,
    symbol    TEXT NOT NULL,
    relevance ANY NOT NULL,
    score     ANY NOT NULL,
    label     TEXT NOT NULL CHECK (label IN ('bearish', 'somewhat_bearish', 'neutral',
                                             'somewhat_bullish', 'bullish', 'other')),
    other     TEXT,
    PRIMARY KEY (article, pos)
) STRICT, WITHOUT ROWID;
