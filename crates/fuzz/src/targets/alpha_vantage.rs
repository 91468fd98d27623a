//! Alpha Vantage: every body parser and its domain mapping, and the in-body error notices.

use stockdata_adapters_http::alpha_vantage::wire::{self, Body, Notice};
use stockdata_adapters_http::alpha_vantage::{daily_bars, intraday_bars, to_article, to_quote};
use stockdata_domain::{ErrorKind, FetchError, Interval};

use super::{MALFORMED, SECRET, STATUSES, Target, error_is_safe, expect_kinds, prov, sym};

/// What a data body may map to besides bars, quotes and articles.
const DATA_ERRORS: &[ErrorKind] = &[
    ErrorKind::Malformed,
    ErrorKind::UnknownSymbol,
    ErrorKind::NoData,
];

pub(crate) const QUOTE: Target = Target {
    name: "av_quote",
    about: "GLOBAL_QUOTE body -> Quote",
    check: quote,
};

pub(crate) const DAILY: Target = Target {
    name: "av_daily",
    about: "TIME_SERIES_DAILY body -> daily bars",
    check: |b| series(b, Mapping::Daily),
};

pub(crate) const DAILY_ADJUSTED: Target = Target {
    name: "av_daily_adjusted",
    about: "TIME_SERIES_DAILY_ADJUSTED body -> adjusted daily bars",
    check: |b| series(b, Mapping::DailyAdjusted),
};

pub(crate) const INTRADAY: Target = Target {
    name: "av_intraday",
    about: "TIME_SERIES_INTRADAY body -> intraday bars",
    check: |b| series(b, Mapping::Intraday),
};

pub(crate) const NEWS: Target = Target {
    name: "av_news",
    about: "NEWS_SENTIMENT body -> articles",
    check: news,
};

pub(crate) const ERRORS: Target = Target {
    name: "av_errors",
    about: "in-body notices (Note / Information / Error Message) and error statuses -> FetchError",
    check: errors,
};

/// A notice is classified with the secret to redact: whatever it says, the error never shows
/// the secret, and the legacy `Note` is always a rate limit.
fn notice(what: &str, n: &Notice, about_symbol: bool) -> Result<(), String> {
    let symbol = sym();
    let e = n.classify(about_symbol.then_some(&symbol), &[SECRET]);
    error_is_safe(what, &e)?;
    if matches!(n, Notice::Note(_)) && e.kind() != ErrorKind::RateLimited {
        return Err(format!("{what}: a Note must be RateLimited, got {e:?}"));
    }
    Ok(())
}

fn quote(input: &[u8]) -> Result<(), String> {
    match wire::parse_global_quote(input) {
        Ok(Body::Data(q)) => expect_kinds("av_quote", to_quote(&sym(), &q, prov()), DATA_ERRORS),
        Ok(Body::Notice(n)) => notice("av_quote", &n, true),
        Err(e) => expect_kinds("av_quote parse", Err::<(), _>(e), MALFORMED),
    }
}

#[derive(Clone, Copy)]
enum Mapping {
    Daily,
    DailyAdjusted,
    Intraday,
}

fn series(input: &[u8], mapping: Mapping) -> Result<(), String> {
    let series = match wire::parse_series(input) {
        Ok(Body::Data(series)) => series,
        Ok(Body::Notice(n)) => return notice("av series", &n, true),
        Err(e) => return expect_kinds("av series parse", Err::<(), _>(e), MALFORMED),
    };
    let mut out = Vec::new();
    let result = match mapping {
        Mapping::Daily => daily_bars(&sym(), &series, false, &prov(), &mut out),
        Mapping::DailyAdjusted => daily_bars(&sym(), &series, true, &prov(), &mut out),
        Mapping::Intraday => intraday_bars(&sym(), Interval::Minute5, &series, &prov(), &mut out),
    };
    expect_kinds("av series mapping", result, MALFORMED)?;
    if out.len() > series.rows.len() {
        return Err(format!(
            "{} bars from {} rows",
            out.len(),
            series.rows.len()
        ));
    }
    Ok(())
}

fn news(input: &[u8]) -> Result<(), String> {
    match wire::parse_news(input) {
        Ok(Body::Data(items)) => items.iter().try_for_each(|item| {
            let article = to_article(item, &prov());
            if let Ok(a) = &article
                && !a.id.starts_with("alpha_vantage:")
            {
                return Err(format!("article id {:?}", a.id));
            }
            expect_kinds("av_news", article, MALFORMED)
        }),
        Ok(Body::Notice(n)) => notice("av_news", &n, false),
        Err(e) => expect_kinds("av_news parse", Err::<(), _>(e), MALFORMED),
    }
}

fn errors(input: &[u8]) -> Result<(), String> {
    // The same body through every parser: each finds the notice, or fails typed.
    let notices = [
        wire::parse_global_quote(input).map(notice_of),
        wire::parse_series(input).map(notice_of),
        wire::parse_news(input).map(notice_of),
    ];
    for found in notices {
        match found {
            Ok(Some(n)) => {
                notice("av_errors", &n, true)?;
                notice("av_errors", &n, false)?;
            }
            Ok(None) => {}
            Err(e) => expect_kinds("av_errors parse", Err::<(), FetchError>(e), MALFORMED)?,
        }
    }
    for status in STATUSES {
        error_is_safe(
            "av_errors status",
            &wire::status_error(status, input, &[SECRET]),
        )?;
    }
    Ok(())
}

fn notice_of<T>(body: Body<T>) -> Option<Notice> {
    match body {
        Body::Data(_) => None,
        Body::Notice(n) => Some(n),
    }
}
