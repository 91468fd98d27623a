//! Finnhub: quote, candles and news bodies with their domain mapping, and error bodies.

use stockdata_adapters_http::finnhub::{self, wire};
use stockdata_domain::{ErrorKind, Interval};

use super::{
    MALFORMED, SECRET, STATUSES, STREAM_ERRORS, Target, error_is_safe, expect_kinds, prov, sym,
};

pub(crate) const QUOTE: Target = Target {
    name: "fh_quote",
    about: "/api/v1/quote body -> Quote",
    check: quote,
};

pub(crate) const CANDLES: Target = Target {
    name: "fh_candles",
    about: "/api/v1/stock/candle body -> bars",
    check: candles,
};

pub(crate) const NEWS: Target = Target {
    name: "fh_news",
    about: "/api/v1/company-news body -> articles",
    check: news,
};

pub(crate) const STREAM: Target = Target {
    name: "fh_stream",
    about: "stream frame -> trades, a heartbeat or a classified error",
    check: stream,
};

pub(crate) const ERRORS: Target = Target {
    name: "fh_errors",
    about: "error bodies (JSON or text) and statuses -> FetchError",
    check: errors,
};

fn quote(input: &[u8]) -> Result<(), String> {
    match wire::parse_quote(input) {
        Ok(w) => {
            let quote = finnhub::to_quote(&sym(), &w, prov());
            if let Ok(q) = &quote {
                // A quote is never priced zero, and Finnhub's zero session fields are "none".
                let zero = |d: Option<stockdata_domain::Decimal>| d.is_some_and(|d| d.is_zero());
                if q.price.is_zero()
                    || [q.open, q.high, q.low, q.previous_close]
                        .into_iter()
                        .any(zero)
                {
                    return Err(format!("a zero came through as a price: {q:?}"));
                }
            }
            expect_kinds(
                "fh_quote",
                quote,
                // A zero price with a time is no quote: `NoData`, so another provider is asked.
                &[
                    ErrorKind::Malformed,
                    ErrorKind::UnknownSymbol,
                    ErrorKind::NoData,
                ],
            )
        }
        Err(e) => expect_kinds("fh_quote parse", Err::<(), _>(e), MALFORMED),
    }
}

fn candles(input: &[u8]) -> Result<(), String> {
    match wire::parse_candles(input) {
        Ok(w) => {
            let mut out = Vec::new();
            let result = finnhub::candle_bars(&sym(), Interval::Day1, &w, &prov(), &mut out);
            if result.is_ok() && out.len() != w.t.len() && w.s == "ok" {
                return Err(format!("{} bars from {} times", out.len(), w.t.len()));
            }
            expect_kinds("fh_candles", result, MALFORMED)
        }
        Err(e) => expect_kinds("fh_candles parse", Err::<(), _>(e), MALFORMED),
    }
}

fn news(input: &[u8]) -> Result<(), String> {
    match wire::parse_news(input) {
        Ok(items) => items.iter().try_for_each(|item| {
            expect_kinds(
                "fh_news",
                finnhub::to_article(&sym(), item, &prov()),
                MALFORMED,
            )
        }),
        Err(e) => expect_kinds("fh_news parse", Err::<(), _>(e), MALFORMED),
    }
}

fn errors(input: &[u8]) -> Result<(), String> {
    let _ = wire::error_message(input);
    for status in STATUSES {
        error_is_safe("fh_errors", &wire::status_error(status, input, &[SECRET]))?;
    }
    Ok(())
}

fn stream(input: &[u8]) -> Result<(), String> {
    let parsed = finnhub::stream::parse_frame(input);
    match finnhub::stream::frame_events(input, &prov(), &[SECRET]) {
        Ok(events) => {
            // Only a trade message carries events, one per trade.
            let trades = match &parsed {
                Ok(finnhub::stream::FinnhubMessage::Trades(t)) => t.len(),
                _ => 0,
            };
            if events.len() != trades {
                return Err(format!("{} events from {trades} trades", events.len()));
            }
            Ok(())
        }
        Err(e) if e.kind() == ErrorKind::Malformed => Ok(()),
        Err(e) => {
            error_is_safe("fh_stream", &e)?;
            expect_kinds("fh_stream", Err::<(), _>(e), STREAM_ERRORS)
        }
    }
}
