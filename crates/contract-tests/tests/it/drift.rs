//! Schema drift: every adapter's parser accepts every recorded sample, and systematically
//! mutated samples (a field removed, a number turned into a string or back, null where an
//! object was, an empty or truncated body) give a typed error or data, never a panic.
//! proptest with a fixed seed, so CI runs the same cases every time.

use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::Value;
use stockdata_adapters_http::{alpaca, alpha_vantage, finnhub, serverless};
use stockdata_domain::{
    ErrorKind, FetchError, Interval, Provenance, ProviderId, Symbol, Timestamp,
};

type Parse = fn(&[u8]) -> Result<(), FetchError>;

fn prov() -> Provenance {
    Provenance::new(ProviderId::new("contract"), Timestamp::UNIX_EPOCH)
}

fn sym() -> Symbol {
    Symbol::parse("AAPL").unwrap()
}

fn av_quote(b: &[u8]) -> Result<(), FetchError> {
    match alpha_vantage::wire::parse_global_quote(b)? {
        alpha_vantage::wire::Body::Data(q) => alpha_vantage::to_quote(&sym(), &q, prov()).map(drop),
        alpha_vantage::wire::Body::Notice(n) => Err(n.classify(Some(&sym()), &[])),
    }
}

fn av_series(b: &[u8]) -> Result<(), FetchError> {
    match alpha_vantage::wire::parse_series(b)? {
        alpha_vantage::wire::Body::Data(s) => {
            let mut out = Vec::new();
            alpha_vantage::daily_bars(&sym(), &s, false, &prov(), &mut out)?;
            alpha_vantage::intraday_bars(&sym(), Interval::Minute5, &s, &prov(), &mut out)
        }
        alpha_vantage::wire::Body::Notice(n) => Err(n.classify(Some(&sym()), &[])),
    }
}

fn av_news(b: &[u8]) -> Result<(), FetchError> {
    match alpha_vantage::wire::parse_news(b)? {
        alpha_vantage::wire::Body::Data(items) => items
            .iter()
            .try_for_each(|i| alpha_vantage::to_article(i, &prov()).map(drop)),
        alpha_vantage::wire::Body::Notice(n) => Err(n.classify(None, &[])),
    }
}

fn fh_quote(b: &[u8]) -> Result<(), FetchError> {
    finnhub::to_quote(&sym(), &finnhub::wire::parse_quote(b)?, prov()).map(drop)
}

fn fh_candles(b: &[u8]) -> Result<(), FetchError> {
    let mut out = Vec::new();
    finnhub::candle_bars(
        &sym(),
        Interval::Day1,
        &finnhub::wire::parse_candles(b)?,
        &prov(),
        &mut out,
    )
}

fn fh_news(b: &[u8]) -> Result<(), FetchError> {
    finnhub::wire::parse_news(b)?
        .iter()
        .try_for_each(|i| finnhub::to_article(&sym(), i, &prov()).map(drop))
}

fn ap_snapshots(b: &[u8]) -> Result<(), FetchError> {
    for (s, snap) in alpaca::wire::parse_snapshots(b)? {
        if let (Ok(symbol), Some(snap)) = (Symbol::parse(&s), snap) {
            match alpaca::to_quote(&symbol, &snap, prov()) {
                Ok(_) | Err(FetchError::NoData) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

fn ap_bars(b: &[u8]) -> Result<(), FetchError> {
    alpaca::wire::parse_bars_page(b).map(drop)
}

fn ap_news(b: &[u8]) -> Result<(), FetchError> {
    alpaca::wire::parse_news_page(b)?
        .news
        .iter()
        .try_for_each(|i| alpaca::to_article(i, &prov()).map(drop))
}

fn sl_quotes(b: &[u8]) -> Result<(), FetchError> {
    serverless::wire::parse::<serverless::wire::Results<serverless::wire::QuoteRecord>>(b).map(drop)
}

fn sl_bars(b: &[u8]) -> Result<(), FetchError> {
    serverless::wire::parse::<serverless::wire::Results<Vec<serverless::wire::BarRecord>>>(b)
        .map(drop)
}

fn sl_news(b: &[u8]) -> Result<(), FetchError> {
    serverless::wire::parse::<serverless::wire::Articles>(b).map(drop)
}

/// Every sample with the parser it belongs to.
const SAMPLES: &[(&str, Parse)] = &[
    ("alphavantage_global_quote.json", av_quote),
    ("alphavantage_global_quote_ibm.json", av_quote),
    ("alphavantage_time_series_daily.json", av_series),
    (
        "alphavantage_time_series_daily_tsco_lon_compact.json",
        av_series,
    ),
    ("alphavantage_time_series_daily_adjusted.json", av_series),
    (
        "alphavantage_time_series_intraday_1min_compact.json",
        av_series,
    ),
    ("alphavantage_time_series_intraday_5min.json", av_series),
    ("alphavantage_news_sentiment.json", av_news),
    ("finnhub_quote.json", fh_quote),
    ("finnhub_stock_candle.json", fh_candles),
    ("finnhub_company_news.json", fh_news),
    ("finnhub_news_general.json", fh_news),
    ("alpaca_snapshots_multi.json", ap_snapshots),
    ("alpaca_bars_multi_symbol.json", ap_bars),
    ("alpaca_bars_page1.json", ap_bars),
    ("alpaca_bars_page2.json", ap_bars),
    ("alpaca_bars_empty.json", ap_bars),
    (
        "alpaca_bars_multi_endpoint_single_symbol_paged.json",
        ap_bars,
    ),
    ("alpaca_news_page1.json", ap_news),
    ("alpaca_news_page2.json", ap_news),
    ("alpaca_news.docs.json", ap_news),
    ("serverless_quotes.json", sl_quotes),
    ("serverless_bars.json", sl_bars),
    ("serverless_news.json", sl_news),
];

/// Samples whose documented answer is a typed error, not data.
const ERROR_SAMPLES: &[(&str, Parse, ErrorKind)] = &[
    (
        "alphavantage_note_throttle.json",
        av_quote,
        ErrorKind::RateLimited,
    ),
    (
        "alphavantage_information_daily_limit.json",
        av_series,
        ErrorKind::QuotaExhausted,
    ),
    (
        "alphavantage_information_premium_endpoint.json",
        av_series,
        ErrorKind::EntitlementDenied,
    ),
    (
        "alphavantage_error_invalid_apikey.json",
        av_news,
        ErrorKind::Unauthorized,
    ),
    (
        "alphavantage_error_invalid_call.json",
        av_series,
        ErrorKind::UnknownSymbol,
    ),
    (
        "finnhub_quote_unknown_symbol.json",
        fh_quote,
        ErrorKind::UnknownSymbol,
    ),
];

pub(crate) fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../adapters-http/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn every_sample_parses() {
    for (name, parse) in SAMPLES {
        parse(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    for (name, parse, kind) in ERROR_SAMPLES {
        let err = parse(&fixture(name)).unwrap_err();
        assert_eq!(err.kind(), *kind, "{name}: {err}");
    }
}

/// Every path to a value in `v`.
fn paths(v: &Value, prefix: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                prefix.push(PathStep::Key(k.clone()));
                out.push(prefix.clone());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate().take(3) {
                prefix.push(PathStep::Index(i));
                out.push(prefix.clone());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

#[derive(Debug, Clone)]
enum PathStep {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone, Copy)]
enum Mutation {
    Remove,
    NumberToString,
    StringToNumber,
    Null,
    EmptyObject,
}

fn apply(root: &mut Value, path: &[PathStep], m: Mutation) {
    let Some((last, parent_path)) = path.split_last() else {
        return;
    };
    let mut parent = &mut *root;
    for step in parent_path {
        parent = match (step, parent) {
            (PathStep::Key(k), Value::Object(map)) => match map.get_mut(k) {
                Some(v) => v,
                None => return,
            },
            (PathStep::Index(i), Value::Array(items)) => match items.get_mut(*i) {
                Some(v) => v,
                None => return,
            },
            _ => return,
        };
    }
    let target = match (last, &mut *parent) {
        (PathStep::Key(k), Value::Object(map)) => {
            if let Mutation::Remove = m {
                map.remove(k);
                return;
            }
            map.get_mut(k)
        }
        (PathStep::Index(i), Value::Array(items)) => {
            if let Mutation::Remove = m {
                if *i < items.len() {
                    items.remove(*i);
                }
                return;
            }
            items.get_mut(*i)
        }
        _ => None,
    };
    let Some(target) = target else { return };
    *target = match (m, &*target) {
        (Mutation::NumberToString, Value::Number(n)) => Value::String(n.to_string()),
        (Mutation::StringToNumber, Value::String(s)) => s
            .trim_end_matches('%')
            .parse::<f64>()
            .map_or(Value::from(7), Value::from),
        (Mutation::Null, _) => Value::Null,
        (Mutation::EmptyObject, _) => Value::Object(serde_json::Map::new()),
        (_, other) => other.clone(),
    };
}

fn check(name: &str, parse: Parse, body: &[u8], what: &str) {
    let result = std::panic::catch_unwind(|| parse(body));
    assert!(result.is_ok(), "{name}: {what}: the parser panicked");
}

#[test]
fn mutated_samples_never_panic() {
    let config = Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let mutations = [
        Mutation::Remove,
        Mutation::NumberToString,
        Mutation::StringToNumber,
        Mutation::Null,
        Mutation::EmptyObject,
    ];
    let mut tried = 0;
    for (name, parse) in SAMPLES {
        let bytes = fixture(name);
        // Bodies no provider should send: empty, truncated, not JSON.
        for (what, body) in [
            ("empty body", Vec::new()),
            ("truncated body", bytes[..bytes.len() / 2].to_vec()),
            ("HTML body", b"<html><body>502</body></html>".to_vec()),
        ] {
            let err = parse(&body).expect_err(&format!("{name}: {what} must not parse"));
            assert_eq!(err.kind(), ErrorKind::Malformed, "{name}: {what}: {err}");
        }
        let original: Value = serde_json::from_slice(&bytes).unwrap();
        let mut all = Vec::new();
        paths(&original, &mut Vec::new(), &mut all);
        let strategy = (0..all.len(), 0..mutations.len());
        runner
            .run(&strategy, |(p, m)| {
                let mut v = original.clone();
                apply(&mut v, &all[p], mutations[m]);
                let body = serde_json::to_vec(&v).unwrap();
                check(
                    name,
                    *parse,
                    &body,
                    &format!("{:?} at {:?}", mutations[m], all[p]),
                );
                // Errors are typed: a mutated data body is malformed or names the data.
                if let Err(e) = parse(&body) {
                    assert!(
                        matches!(
                            e.kind(),
                            ErrorKind::Malformed
                                | ErrorKind::UnknownSymbol
                                | ErrorKind::NoData
                                | ErrorKind::InvalidRequest
                        ),
                        "{name}: {:?} at {:?}: unexpected {e}",
                        mutations[m],
                        all[p]
                    );
                }
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        tried += 1;
    }
    assert_eq!(tried, SAMPLES.len());
}
