//! The serverless fetcher: batch answers (data or a per-symbol error envelope) and the
//! whole-request error envelope.

use stockdata_adapters_http::numbers;
use stockdata_adapters_http::serverless::wire::{
    self, Articles, BarRecord, QuoteRecord, Results, SymbolEntry,
};

use super::{MALFORMED, SECRET, STATUSES, Target, error_is_safe, expect_kinds, sym};

pub(crate) const QUOTES: Target = Target {
    name: "sl_quotes",
    about: "/v1/quotes body -> per-symbol quotes or errors",
    check: quotes,
};

pub(crate) const BARS: Target = Target {
    name: "sl_bars",
    about: "/v1/bars body -> per-symbol bars or errors",
    check: bars,
};

pub(crate) const NEWS: Target = Target {
    name: "sl_news",
    about: "/v1/news body -> articles",
    check: news,
};

pub(crate) const ERRORS: Target = Target {
    name: "sl_errors",
    about: "the error envelope (retry_after_s, resets_at, kind) and statuses -> FetchError",
    check: errors,
};

/// A per-symbol error maps like the whole-request one.
fn entry<T>(e: &SymbolEntry<T>) -> Result<(), String> {
    match &e.error {
        Some(error) => error_is_safe("serverless entry", &error.to_error(Some(&sym()))),
        None => Ok(()),
    }
}

fn quotes(input: &[u8]) -> Result<(), String> {
    match wire::parse::<Results<QuoteRecord>>(input) {
        Ok(mut r) => {
            r.redact_messages(&[SECRET]);
            r.results.iter().try_for_each(|e| {
                entry(e)?;
                if let Some(q) = &e.data {
                    expect_kinds(
                        "sl_quotes as_of",
                        numbers::instant("as_of", &q.as_of),
                        MALFORMED,
                    )?;
                }
                Ok(())
            })
        }
        Err(e) => expect_kinds("sl_quotes parse", Err::<(), _>(e), MALFORMED),
    }
}

fn bars(input: &[u8]) -> Result<(), String> {
    match wire::parse::<Results<Vec<BarRecord>>>(input) {
        Ok(mut r) => {
            r.redact_messages(&[SECRET]);
            r.results.iter().try_for_each(|e| {
                entry(e)?;
                for bar in e.data.iter().flatten() {
                    expect_kinds(
                        "sl_bars start",
                        numbers::instant("start", &bar.start),
                        MALFORMED,
                    )?;
                }
                Ok(())
            })
        }
        Err(e) => expect_kinds("sl_bars parse", Err::<(), _>(e), MALFORMED),
    }
}

fn news(input: &[u8]) -> Result<(), String> {
    match wire::parse::<Articles>(input) {
        Ok(a) => a.articles.iter().try_for_each(|article| {
            expect_kinds(
                "sl_news published_at",
                numbers::instant("published_at", &article.published_at),
                MALFORMED,
            )
        }),
        Err(e) => expect_kinds("sl_news parse", Err::<(), _>(e), MALFORMED),
    }
}

fn errors(input: &[u8]) -> Result<(), String> {
    for status in STATUSES {
        error_is_safe("sl_errors", &wire::status_error(status, input, &[SECRET]))?;
    }
    Ok(())
}
