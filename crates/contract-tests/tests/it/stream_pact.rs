//! Pact message contracts for the providers' live streams: one asynchronous message per
//! documented frame (`fixtures/streams/`, origins in its SOURCES.md), each fed through the
//! adapter's own frame reader (`alpaca::stream::frame_events`, `finnhub::stream::frame_events`)
//! with what it must yield asserted exactly. Matchers pin shapes (types, RFC 3339 terms), the
//! message discriminators (`T`, `type`, `msg`, `code`) exactly. As for the HTTP pacts, the
//! regenerated pact must equal the committed one (`pacts/stockdata-<provider>_stream.json`), and
//! every sample must satisfy its message under Pact's own matching rules.

use std::collections::BTreeSet;
use std::path::Path;

use pact_consumer::builders::{MessageInteractionBuilder, PactBuilder};
use pact_consumer::patterns::{EachLike, JsonPattern, Like, Pattern, Term, build_regex};
use pact_models::interaction::Interaction as _;
use pact_models::matchingrules::{MatchingRule, MatchingRuleCategory, RuleLogic};
use pact_models::path_exp::DocPath;
use serde_json::Value;
use stockdata_adapters_http::{alpaca, finnhub};
use stockdata_domain::stream::{
    CancelAction, QuoteTick, StreamEvent, StreamState, StreamStatus, Subscription, Trade,
    TradeCancel, TradeCorrection, TradeTerms,
};
use stockdata_domain::{
    Bar, Decimal, ErrorKind, FetchError, Interval, Provenance, Symbol, Timestamp,
};

use crate::pact::{RFC3339, committed, fresh_dir, runtime};

/// Keys whose values say what a message is: pinned exactly, not by type.
const PINNED: &[&str] = &["T", "type", "msg", "code"];

fn raw(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/streams")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn sample(name: &str) -> Value {
    serde_json::from_slice(&raw(name)).unwrap()
}

fn regex_match(re: &str, text: &str) -> bool {
    build_regex(re).is_match(text)
}

/// A value matched by equality: a rule of its own, so a type rule an enclosing `EachLike` sets
/// on every field (`$[*].*`) does not loosen it.
#[derive(Debug)]
struct Exactly(Value);

impl Pattern for Exactly {
    type Matches = Value;

    fn to_example(&self) -> Value {
        self.0.clone()
    }

    fn to_example_bytes(&self) -> Vec<u8> {
        self.0.to_string().into_bytes()
    }

    fn extract_matching_rules(&self, path: DocPath, rules_out: &mut MatchingRuleCategory) {
        rules_out.add_rule(path, MatchingRule::Equality, RuleLogic::And);
    }
}

/// A message pattern with the example's shape: discriminators exact, instants by RFC 3339,
/// arrays of one kind "each like the first", every other value by type.
fn frame_shape(v: &Value) -> JsonPattern {
    match v {
        Value::Object(map) => JsonPattern::Object(
            map.iter()
                .map(|(k, v)| {
                    let p = if PINNED.contains(&k.as_str()) {
                        JsonPattern::pattern(Exactly(v.clone()))
                    } else {
                        frame_shape(v)
                    };
                    (k.clone(), p)
                })
                .collect(),
        ),
        Value::Array(items) => match items.first() {
            Some(first) if items.iter().all(|i| same_kind(i, first)) => {
                EachLike::new(frame_shape(first)).into()
            }
            Some(_) => JsonPattern::Array(items.iter().map(frame_shape).collect()),
            None => JsonPattern::Json(Value::Array(Vec::new())),
        },
        Value::String(s) if regex_match(RFC3339, s) => {
            Term::<JsonPattern>::new(build_regex(RFC3339), s.as_str()).into()
        }
        Value::Null => JsonPattern::Json(Value::Null),
        other => Like::<JsonPattern>::new(JsonPattern::Json(other.clone())).into(),
    }
}

/// Same keys and the same discriminators (a frame mixing trades and corrections is pinned
/// position by position).
fn same_kind(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.keys().eq(y.keys()) && PINNED.iter().all(|k| x.get(*k) == y.get(*k))
        }
        _ => std::mem::discriminant(a) == std::mem::discriminant(b),
    }
}

/// The pinned values of a frame's (first) message.
fn kind_of(file: &str) -> Vec<Value> {
    let frame = sample(file);
    let first = match &frame {
        Value::Array(items) => items.first().cloned().unwrap_or(Value::Null),
        other => other.clone(),
    };
    PINNED
        .iter()
        .map(|k| first.get(*k).cloned().unwrap_or(Value::Null))
        .collect()
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn sym(s: &str) -> Symbol {
    Symbol::parse(s).unwrap()
}

fn symbols(names: &[&str]) -> BTreeSet<Symbol> {
    names.iter().map(|n| sym(n)).collect()
}

/// What a message must yield through the adapter's frame reader. The message is the pact's
/// example: each array holds its first element only.
type Check = fn(Result<Vec<StreamEvent>, FetchError>, &Provenance);

/// One message interaction, and what its sample yields.
struct Case {
    description: &'static str,
    state: &'static str,
    file: &'static str,
    /// What the pact's message yields.
    check: Check,
    /// How many events the whole sample yields (`None`: the same error as the message).
    events: Option<usize>,
}

fn messages(pact: &mut PactBuilder, cases: &[Case]) {
    for case in cases {
        let body = frame_shape(&sample(case.file));
        pact.message_interaction(case.description, |mut i| {
            i.given(case.state);
            i.json_body(body);
            i
        });
    }
}

/// Feeds every message of the pact through `read` and checks it, and every whole sample too;
/// writes the pact (when the iterator drops), compares it with the committed one and matches
/// every sample against its message.
fn verify(
    pact: &PactBuilder,
    dir: &Path,
    provider: &str,
    cases: &[Case],
    read: fn(&[u8], &Provenance) -> Result<Vec<StreamEvent>, FetchError>,
    provenance: &Provenance,
) {
    let rt = runtime();
    let mut seen = 0;
    for message in pact.messages() {
        let case = cases
            .iter()
            .find(|c| c.description == message.description)
            .unwrap_or_else(|| panic!("no case for {:?}", message.description));
        let body = message.contents.contents.value().unwrap_or_default();
        let got = read(&body, provenance);
        let whole = read(&raw(case.file), provenance);
        match (&got, &whole, case.events) {
            (Ok(_), Ok(all), Some(n)) => assert_eq!(all.len(), n, "{}", case.file),
            (Err(a), Err(b), None) => assert_eq!(a.kind(), b.kind(), "{}", case.file),
            other => panic!("{}: message and sample disagree: {other:?}", case.file),
        }
        (case.check)(got, provenance);
        seen += 1;
    }
    assert_eq!(seen, cases.len());
    let written = committed(dir, provider);
    rt.block_on(async {
        let interactions = written.interactions();
        for case in cases {
            let expected = interactions
                .iter()
                .find(|i| i.description() == case.description)
                .unwrap_or_else(|| panic!("{provider}: no message {:?}", case.description));
            let actual = MessageInteractionBuilder::new(case.description)
                .json_body(JsonPattern::Json(sample(case.file)))
                .build()
                .boxed();
            let mismatches = pact_matching::match_message(expected, &actual, &written).await;
            // A message of another kind never passes for this one: discriminators are pinned.
            for other in cases
                .iter()
                .filter(|o| kind_of(o.file) != kind_of(case.file))
            {
                let wrong = MessageInteractionBuilder::new(other.description)
                    .json_body(JsonPattern::Json(sample(other.file)))
                    .build()
                    .boxed();
                assert!(
                    !pact_matching::match_message(expected, &wrong, &written)
                        .await
                        .is_empty(),
                    "{provider}: {} passes for {:?}",
                    other.file,
                    case.description
                );
            }
            assert!(
                mismatches.is_empty(),
                "{provider}: the sample {} no longer satisfies {:?}:\n{}",
                case.file,
                case.description,
                mismatches
                    .iter()
                    .map(|m| format!("  - {}", m.description()))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    });
    let _ = std::fs::remove_dir_all(dir);
}

fn nothing(got: Result<Vec<StreamEvent>, FetchError>, _: &Provenance) {
    assert_eq!(got.unwrap(), Vec::new());
}

fn kind(got: Result<Vec<StreamEvent>, FetchError>, want: ErrorKind) {
    let err = got.unwrap_err();
    assert_eq!(err.kind(), want, "{err}");
}

fn subscribed(s: Subscription, p: &Provenance) -> Vec<StreamEvent> {
    vec![StreamEvent::Status(StreamStatus {
        provider: alpaca::ID,
        at: p.fetched_at,
        state: StreamState::Subscribed(s),
    })]
}

fn alpaca_read(frame: &[u8], p: &Provenance) -> Result<Vec<StreamEvent>, FetchError> {
    alpaca::stream::frame_events(frame, p, &[])
}

#[test]
fn alpaca_stream() {
    let tmp = fresh_dir("alpaca_stream");
    let dir = tmp.path().to_path_buf();
    let cases = [
        Case {
            description: "the greeting",
            state: "a client connects",
            file: "alpaca_stream_connected.docs.json",
            check: nothing,
            events: Some(0),
        },
        Case {
            description: "authenticated",
            state: "the key pair is valid",
            file: "alpaca_stream_authenticated.docs.json",
            check: nothing,
            events: Some(0),
        },
        Case {
            description: "auth failed",
            state: "the key pair is invalid",
            file: "alpaca_stream_error_402_auth_failed.docs.json",
            check: |got, _| kind(got, ErrorKind::Unauthorized),
            events: None,
        },
        Case {
            description: "symbol limit exceeded",
            state: "the subscription would pass the plan's symbol limit",
            file: "alpaca_stream_error_405_symbol_limit.docs.json",
            check: |got, _| kind(got, ErrorKind::InvalidRequest),
            events: None,
        },
        Case {
            description: "connection limit exceeded",
            state: "another session holds the key's connection",
            file: "alpaca_stream_error_406_connection_limit.docs.json",
            check: |got, _| kind(got, ErrorKind::RateLimited),
            events: None,
        },
        Case {
            description: "insufficient subscription",
            state: "the plan does not cover the feed",
            file: "alpaca_stream_error_409_insufficient_subscription.docs.json",
            check: |got, _| kind(got, ErrorKind::EntitlementDenied),
            events: None,
        },
        Case {
            description: "the subscription acknowledgement",
            state: "AAPL trades, AMD and CLDR quotes and every bar are subscribed",
            file: "alpaca_stream_subscription.docs.json",
            check: |got, p| {
                // The message lists one symbol per channel; `*` (every symbol) has no Symbol
                // and is left out.
                let s = Subscription {
                    trades: symbols(&["AAPL"]),
                    quotes: symbols(&["AMD"]),
                    bars: BTreeSet::new(),
                };
                assert_eq!(got.unwrap(), subscribed(s, p));
            },
            events: Some(1),
        },
        Case {
            description: "the test stream's subscription acknowledgement",
            state: "FAKEPACA quotes and bars are subscribed",
            file: "alpaca_stream_subscription_test_stream.docs.json",
            check: |got, p| {
                let s = Subscription {
                    trades: BTreeSet::new(),
                    quotes: symbols(&["FAKEPACA"]),
                    bars: symbols(&["FAKEPACA"]),
                };
                assert_eq!(got.unwrap(), subscribed(s, p));
            },
            events: Some(1),
        },
        Case {
            description: "trades",
            state: "AAPL trades are subscribed",
            file: "alpaca_stream_trades.docs.json",
            check: |got, p| {
                let trade = Trade {
                    symbol: sym("AAPL"),
                    price: d("162.92"),
                    size: d("3"),
                    at: ts("2023-04-06T11:54:26.838232225Z"),
                    id: Some(628),
                    exchange: Some("K".to_owned()),
                    conditions: vec!["@".to_owned()],
                    provenance: p.clone(),
                };
                assert_eq!(got.unwrap(), vec![StreamEvent::Trade(trade)]);
            },
            events: Some(3),
        },
        Case {
            description: "a quote",
            state: "AMD quotes are subscribed",
            file: "alpaca_stream_quote.docs.json",
            check: |got, p| {
                let quote = QuoteTick {
                    symbol: sym("AMD"),
                    bid: d("91.95"),
                    bid_size: d("2"),
                    ask: d("91.98"),
                    ask_size: d("1"),
                    at: ts("2023-04-06T11:54:21.670905508Z"),
                    bid_exchange: Some("K".to_owned()),
                    ask_exchange: Some("Q".to_owned()),
                    conditions: vec!["R".to_owned()],
                    provenance: p.clone(),
                };
                assert_eq!(got.unwrap(), vec![StreamEvent::Quote(quote)]);
            },
            events: Some(1),
        },
        Case {
            description: "a minute bar",
            state: "FAKEPACA bars are subscribed",
            file: "alpaca_stream_bar.docs.json",
            check: |got, p| {
                let bar = Bar {
                    symbol: sym("FAKEPACA"),
                    interval: Interval::Minute1,
                    start: ts("2024-07-24T07:56:00Z"),
                    open: d("132.65"),
                    high: d("136"),
                    low: d("132.12"),
                    close: d("134.65"),
                    volume: 205,
                    vwap: Some(d("133.7")),
                    trades: Some(16),
                    // Live minute bars are as traded.
                    provenance: stockdata_domain::Provenance {
                        adjustment: Some(stockdata_domain::Adjustment::Raw),
                        ..p.clone()
                    },
                };
                assert_eq!(got.unwrap(), vec![StreamEvent::Bar(bar)]);
            },
            events: Some(1),
        },
        Case {
            description: "a trade correction",
            state: "EEM trades are subscribed",
            file: "alpaca_stream_correction.docs.json",
            check: |got, p| {
                let terms = |id, price, conditions: &[&str]| TradeTerms {
                    id,
                    price: d(price),
                    size: d("440000"),
                    conditions: conditions.iter().map(|c| (*c).to_owned()).collect(),
                };
                let correction = TradeCorrection {
                    symbol: sym("EEM"),
                    exchange: Some("M".to_owned()),
                    // The pact's example holds each array's first element only.
                    original: terms(52_983_525_033_527, "39.1582", &[" "]),
                    corrected: terms(52_983_525_034_326, "39.1809", &[" "]),
                    at: ts("2023-04-06T14:25:06.542305024Z"),
                    provenance: p.clone(),
                };
                assert_eq!(got.unwrap(), vec![StreamEvent::Correction(correction)]);
            },
            events: Some(1),
        },
        Case {
            description: "a trade cancel",
            state: "GOOGL trades are subscribed",
            file: "alpaca_stream_cancel_error.docs.json",
            check: |got, p| {
                let cancel = TradeCancel {
                    symbol: sym("GOOGL"),
                    id: 465,
                    price: d("105.31"),
                    size: d("300"),
                    action: CancelAction::Cancel,
                    exchange: Some("D".to_owned()),
                    at: ts("2023-04-06T13:15:42.83540958Z"),
                    provenance: p.clone(),
                };
                assert_eq!(got.unwrap(), vec![StreamEvent::Cancel(cancel)]);
            },
            events: Some(1),
        },
    ];
    let mut pact = PactBuilder::new_v4("stockdata", "alpaca_stream");
    pact.with_output_dir(&dir);
    messages(&mut pact, &cases);
    let provenance = Provenance::new(alpaca::ID, ts("2024-07-24T07:56:01Z")).with_feed("iex");
    verify(
        &pact,
        &dir,
        "alpaca_stream",
        &cases,
        alpaca_read,
        &provenance,
    );
}

fn finnhub_read(frame: &[u8], p: &Provenance) -> Result<Vec<StreamEvent>, FetchError> {
    finnhub::stream::frame_events(frame, p, &[])
}

#[test]
fn finnhub_stream() {
    let tmp = fresh_dir("finnhub_stream");
    let dir = tmp.path().to_path_buf();
    let cases = [
        Case {
            description: "the documented trade",
            state: "BINANCE:BTCUSDT is subscribed",
            file: "finnhub_stream_trade.docs.json",
            check: |got, _| {
                // The frame has the documented shape; its crypto symbol is no Symbol.
                let frame = raw("finnhub_stream_trade.docs.json");
                let parsed = finnhub::stream::parse_frame(&frame).unwrap();
                let finnhub::stream::FinnhubMessage::Trades(trades) = parsed else {
                    panic!("{parsed:?}");
                };
                assert_eq!(trades[0].p, d("7296.89"));
                assert_eq!(trades[0].v, d("0.011467"));
                assert_eq!(trades[0].t, 1_575_526_691_134);
                let err = got.unwrap_err();
                assert_eq!(err.kind(), ErrorKind::Malformed);
                assert!(err.to_string().contains("BINANCE:BTCUSDT"), "{err}");
            },
            events: None,
        },
        Case {
            description: "trades",
            state: "TSLA and AAPL are subscribed",
            file: "finnhub_stream_trades.capture.json",
            check: |got, p| {
                let trade = Trade {
                    symbol: sym("TSLA"),
                    price: d("122.1"),
                    size: d("1"),
                    at: Timestamp::from_millisecond(1_672_348_887_195).unwrap(),
                    id: None,
                    exchange: None,
                    conditions: vec!["1".to_owned()],
                    provenance: p.clone(),
                };
                assert_eq!(got.unwrap(), vec![StreamEvent::Trade(trade)]);
            },
            events: Some(9),
        },
        Case {
            description: "a heartbeat",
            state: "the connection is open",
            file: "finnhub_stream_ping.docs.json",
            check: nothing,
            events: Some(0),
        },
        Case {
            description: "too many symbols",
            state: "the key subscribed past its plan's symbol limit",
            file: "finnhub_stream_error_too_many_symbols.json",
            check: |got, _| kind(got, ErrorKind::InvalidRequest),
            events: None,
        },
    ];
    let mut pact = PactBuilder::new_v4("stockdata", "finnhub_stream");
    pact.with_output_dir(&dir);
    messages(&mut pact, &cases);
    let provenance = Provenance::new(finnhub::ID, ts("2022-12-29T21:21:28Z"));
    verify(
        &pact,
        &dir,
        "finnhub_stream",
        &cases,
        finnhub_read,
        &provenance,
    );
}
