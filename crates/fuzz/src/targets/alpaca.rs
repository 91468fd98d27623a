//! Alpaca: snapshots, bar pages and news pages with their domain mapping, and error bodies.

use stockdata_adapters_http::alpaca::{self, wire};
use stockdata_domain::stream::{StreamEvent, StreamState};
use stockdata_domain::{ErrorKind, Interval, Symbol};

use super::{
    MALFORMED, SECRET, STATUSES, STREAM_ERRORS, Target, error_is_safe, expect_kinds, prov, sym,
};

pub(crate) const SNAPSHOTS: Target = Target {
    name: "ap_snapshots",
    about: "/v2/stocks/snapshots body -> quotes",
    check: snapshots,
};

pub(crate) const BARS: Target = Target {
    name: "ap_bars",
    about: "/v2/stocks/bars page -> bars and the next page token",
    check: bars,
};

pub(crate) const NEWS: Target = Target {
    name: "ap_news",
    about: "/v1beta1/news page -> articles",
    check: news,
};

pub(crate) const STREAM: Target = Target {
    name: "ap_stream",
    about: "stream frame -> trades, quotes, minute bars, statuses or a classified error",
    check: stream,
};

pub(crate) const ERRORS: Target = Target {
    name: "ap_errors",
    about: "error bodies (JSON or text) and statuses -> FetchError",
    check: errors,
};

fn snapshots(input: &[u8]) -> Result<(), String> {
    match wire::parse_snapshots(input) {
        Ok(map) => map.iter().try_for_each(|(text, snap)| {
            let symbol = Symbol::parse(text).unwrap_or_else(|_| sym());
            match snap {
                Some(snap) => expect_kinds(
                    "ap_snapshots",
                    alpaca::to_quote(&symbol, snap, prov()),
                    &[ErrorKind::Malformed, ErrorKind::NoData],
                ),
                None => Ok(()),
            }
        }),
        Err(e) => expect_kinds("ap_snapshots parse", Err::<(), _>(e), MALFORMED),
    }
}

fn bars(input: &[u8]) -> Result<(), String> {
    match wire::parse_bars_page(input) {
        Ok(page) => {
            if page.next_page_token.as_deref() == Some("") {
                return Err("an empty page token must end paging".to_owned());
            }
            for (_, rows) in page.bars {
                for row in rows {
                    let _ = alpaca::to_bar(&sym(), Interval::Minute1, row, &prov());
                }
            }
            Ok(())
        }
        Err(e) => expect_kinds("ap_bars parse", Err::<(), _>(e), MALFORMED),
    }
}

fn news(input: &[u8]) -> Result<(), String> {
    match wire::parse_news_page(input) {
        Ok(page) => {
            if page.next_page_token.as_deref() == Some("") {
                return Err("an empty page token must end paging".to_owned());
            }
            page.news.iter().try_for_each(|item| {
                expect_kinds("ap_news", alpaca::to_article(item, &prov()), MALFORMED)
            })
        }
        Err(e) => expect_kinds("ap_news parse", Err::<(), _>(e), MALFORMED),
    }
}

fn errors(input: &[u8]) -> Result<(), String> {
    let _ = wire::error_message(input);
    for status in STATUSES {
        error_is_safe("ap_errors", &wire::status_error(status, input, &[SECRET]))?;
    }
    Ok(())
}

fn stream(input: &[u8]) -> Result<(), String> {
    let _ = alpaca::stream::parse_frame(input);
    match alpaca::stream::frame_events(input, &prov(), &[SECRET]) {
        Ok(events) => events.iter().try_for_each(|e| match e {
            StreamEvent::Bar(b) if b.interval != Interval::Minute1 => {
                Err(format!("a stream bar that is not a minute bar: {b:?}"))
            }
            StreamEvent::Status(s) if !matches!(s.state, StreamState::Subscribed(_)) => {
                Err(format!("a frame can only report a subscription: {s:?}"))
            }
            _ => Ok(()),
        }),
        Err(e) if e.kind() == ErrorKind::Malformed => Ok(()),
        Err(e) => {
            error_is_safe("ap_stream", &e)?;
            expect_kinds("ap_stream", Err::<(), _>(e), STREAM_ERRORS)
        }
    }
}
