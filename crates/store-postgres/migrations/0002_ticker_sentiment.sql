-- stockdata store, schema version 2: per-ticker sentiment.
--
-- One row per ticker an article's sentiment scores, `pos` its place in the provider's list
-- (0, 1, ...). Rows exist only for an article whose `sentiment_label` is not NULL, and are
-- rewritten with the article. `label`/`other` encode a sentiment label as in `articles` (see
-- 0001_init.sql). negative_zeros bits: 1 relevance, 2 score. Articles written before this
-- version have no rows: their per-ticker sentiment reads back empty.
CREATE TABLE article_sentiment (
    article        bigint NOT NULL REFERENCES articles (seq),
    pos            integer NOT NULL,
    symbol         text NOT NULL,
    negative_zeros smallint NOT NULL DEFAULT 0,
    relevance      numeric NOT NULL,
    score          numeric NOT NULL,
    label          text NOT NULL CHECK (label IN ('bearish', 'somewhat_bearish', 'neutral',
                                                  'somewhat_bullish', 'bullish', 'other')),
    other          text,
    PRIMARY KEY (article, pos)
);
