//! Alpaca's market data stream v2: `ws://ADDR/alpaca/stream/v2/{feed}`.

use std::time::Duration;

use serde_json::{Value, json};
use stockdata_sandbox::{Quotas, StreamFaults};

use crate::client::{Client, Got, at, get, keys, start, ws_url};

const KEYS: [(&str, &str); 2] = [("APCA-API-KEY-ID", "k"), ("APCA-API-SECRET-KEY", "s")];

fn error(code: u16, msg: &str) -> Value {
    json!([{"T": "error", "code": code, "msg": msg}])
}

fn connected() -> Value {
    json!([{"T": "success", "msg": "connected"}])
}

fn authenticated() -> Value {
    json!([{"T": "success", "msg": "authenticated"}])
}

/// Connected and authenticated by the headers.
async fn open(sb: &stockdata_sandbox::Sandbox, feed: &str) -> Client {
    let mut c = Client::connect(&ws_url(sb, &format!("alpaca/stream/v2/{feed}")), &KEYS).await;
    assert_eq!(c.json().await, connected());
    assert_eq!(c.json().await, authenticated());
    c
}

/// The data messages of a frame, each as its own JSON text.
fn messages(frame: &str) -> Vec<String> {
    let items: Vec<Box<serde_json::value::RawValue>> = serde_json::from_str(frame).unwrap();
    items.into_iter().map(|m| m.get().to_owned()).collect()
}

/// A price written with at most two decimals (whole cents, as the bars).
fn cents(v: &Value) -> i64 {
    let text = v.to_string();
    let decimals = text.split_once('.').map_or(0, |(_, d)| d.len());
    assert!(decimals <= 2, "{text}");
    (v.as_f64().unwrap() * 100.0).round() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_by_message_and_the_errors_before_and_after_it() {
    let sb = start("2024-03-08T21:30:00Z", 1.0, |_| {}).await;
    let mut c = Client::connect(&ws_url(&sb, "alpaca/stream/v2/iex"), &[]).await;
    assert_eq!(c.json().await, connected());
    c.send(r#"{"action":"subscribe","trades":["AAPL"]}"#).await;
    assert_eq!(c.json().await, error(401, "not authenticated"));
    c.send("hello").await;
    assert_eq!(c.json().await, error(400, "invalid syntax"));
    c.send(r#"{"action":"auth","key":"by-message","secret":"s"}"#)
        .await;
    assert_eq!(c.json().await, authenticated());
    c.send(r#"{"action":"auth","key":"by-message","secret":"s"}"#)
        .await;
    assert_eq!(c.json().await, error(403, "already authenticated"));
    c.close().await;
    // Headers authenticate at once; an empty secret is no credential.
    open(&sb, "iex").await.close().await;
    let mut c = Client::connect(&ws_url(&sb, "alpaca/stream/v2/iex"), &[]).await;
    assert_eq!(c.json().await, connected());
    c.send(r#"{"action":"auth","key":"k","secret":""}"#).await;
    assert_eq!(c.json().await, error(402, "auth failed"));
    assert_eq!(c.ends().await, Got::Closed);
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication_times_out_and_feeds_are_the_plans() {
    let sb = start("2024-03-08T21:30:00Z", 1.0, |c| {
        c.stream.auth_timeout = Duration::from_millis(200);
    })
    .await;
    let mut c = Client::connect(&ws_url(&sb, "alpaca/stream/v2/iex"), &[]).await;
    assert_eq!(c.json().await, connected());
    assert_eq!(c.json().await, error(404, "auth timeout"));
    assert_eq!(c.ends().await, Got::Closed);
    // SIP is refused at authentication (the free plan streams IEX); unknown feeds are 404s.
    let mut c = Client::connect(&ws_url(&sb, "alpaca/stream/v2/sip"), &KEYS).await;
    assert_eq!(c.json().await, connected());
    assert_eq!(c.json().await, error(409, "insufficient subscription"));
    assert_eq!(c.ends().await, Got::Closed);
    let refused = Client::try_connect(&ws_url(&sb, "alpaca/stream/v2/delayed_sip"), &KEYS).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 404),
        other => panic!("{:?}", other.map(|_| ())),
    }
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_are_acknowledged_whole_and_refused_by_code() {
    let sb = start("2024-03-08T21:30:00Z", 1.0, |_| {}).await;
    let mut c = open(&sb, "iex").await;
    c.send(r#"{"action":"subscribe","trades":["AAPL"],"quotes":["amd","CLDR"],"bars":["AAPL"]}"#)
        .await;
    let ack = c.text().await;
    let acknowledged = json!([{
        "T": "subscription", "trades": ["AAPL"], "quotes": ["AMD", "CLDR"], "bars": ["AAPL"],
        "updatedBars": [], "dailyBars": [], "statuses": [], "lulds": [],
        "corrections": ["AAPL"], "cancelErrors": ["AAPL"]
    }]);
    assert_eq!(serde_json::from_str::<Value>(&ack).unwrap(), acknowledged);
    let ack = messages(&ack);
    assert_eq!(
        keys(&ack[0]),
        [
            "T",
            "trades",
            "quotes",
            "bars",
            "updatedBars",
            "dailyBars",
            "statuses",
            "lulds",
            "corrections",
            "cancelErrors"
        ]
    );
    for (message, code, msg) in [
        (
            r#"{"action":"subscribe","news":["AAPL"]}"#,
            410,
            "invalid subscribe action for this feed",
        ),
        (
            r#"{"action":"subscribe","trades":"AAPL"}"#,
            400,
            "invalid syntax",
        ),
        (
            r#"{"action":"subscribe","trades":["A A"]}"#,
            400,
            "invalid syntax",
        ),
        (r#"{"action":"dance"}"#, 400, "invalid syntax"),
        (
            r#"{"action":"subscribe","bars":["*"]}"#,
            409,
            "insufficient subscription",
        ),
    ] {
        c.send(message).await;
        assert_eq!(c.json().await, error(code, msg), "{message}");
    }
    // 31 distinct symbols over the channels: over the free plan's 30, and nothing changes.
    let names: Vec<String> = (0..28).map(|i| format!("S{i}")).collect();
    let over = json!({"action": "subscribe", "trades": names, "quotes": ["MSFT"]});
    c.send(&over.to_string()).await;
    assert_eq!(c.json().await, error(405, "symbol limit exceeded"));
    let names: Vec<String> = (0..27).map(|i| format!("S{i}")).collect();
    let full = json!({"action": "subscribe", "trades": names});
    c.send(&full.to_string()).await;
    let ack = c.json().await;
    assert_eq!(ack[0]["trades"].as_array().unwrap().len(), 28, "{ack}");
    c.send(r#"{"action":"unsubscribe","trades":["S0","S1"],"quotes":["AMD"]}"#)
        .await;
    let ack = c.json().await;
    assert_eq!(ack[0]["trades"].as_array().unwrap().len(), 26);
    assert_eq!(ack[0]["quotes"], json!(["CLDR"]));
    assert_eq!(ack[0]["corrections"], ack[0]["trades"]);
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_connection_per_key() {
    let sb = start("2024-03-08T21:30:00Z", 1.0, |_| {}).await;
    let url = ws_url(&sb, "alpaca/stream/v2/iex");
    let first = open(&sb, "iex").await;
    let mut second = Client::connect(&url, &KEYS).await;
    assert_eq!(second.json().await, connected());
    assert_eq!(second.json().await, error(406, "connection limit exceeded"));
    assert_eq!(second.ends().await, Got::Closed);
    let other = [("APCA-API-KEY-ID", "other"), ("APCA-API-SECRET-KEY", "s")];
    let mut third = Client::connect(&url, &other).await;
    assert_eq!(third.json().await, connected());
    assert_eq!(
        third.json().await,
        authenticated(),
        "another key has its own"
    );
    assert_eq!(sb.stream_tally()["alpaca"].open, 2);
    // Once the first has gone, the key connects again.
    first.close().await;
    let mut again = None;
    for _ in 0..50 {
        let mut c = Client::connect(&url, &KEYS).await;
        assert_eq!(c.json().await, connected());
        if c.json().await == authenticated() {
            again = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(again.is_some(), "the key's connection was given back");
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_minute_is_its_rest_bar_taken_apart() {
    // 09:58 New York, a market minute a second: 10:00's minute is streamed whole.
    let sb = start("2024-03-08T14:58:00Z", 60.0, |_| {}).await;
    let mut c = open(&sb, "iex").await;
    c.send(r#"{"action":"subscribe","trades":["AAPL"],"quotes":["AAPL"],"bars":["AAPL","MSFT"]}"#)
        .await;
    assert_eq!(c.json().await[0]["T"], "subscription");
    let (minute, end) = (at("2024-03-08T15:00:00Z"), at("2024-03-08T15:01:00Z"));
    let (mut trades, mut quotes, mut bars) = (Vec::new(), Vec::new(), Vec::new());
    let mut first_of = std::collections::BTreeMap::new();
    while !bars
        .iter()
        .any(|b: &Value| b["S"] == "AAPL" && b["t"] == "2024-03-08T15:00:00Z")
    {
        let frame = c.text().await;
        let now = sb.stream_now();
        for text in messages(&frame) {
            let m: Value = serde_json::from_str(&text).unwrap();
            let kind = m["T"].as_str().unwrap().to_owned();
            first_of.entry(kind.clone()).or_insert_with(|| keys(&text));
            let t = at(m["t"].as_str().unwrap());
            match kind.as_str() {
                "t" => {
                    assert!(t <= now, "a trade after now");
                    trades.push(m);
                }
                "q" => quotes.push(m),
                "b" => {
                    assert!(t < now, "a bar before its minute ended");
                    bars.push(m);
                }
                other => panic!("{other}: {text}"),
            }
        }
    }
    assert_eq!(first_of["t"], ["T", "S", "i", "x", "p", "s", "t", "c", "z"]);
    assert_eq!(
        first_of["q"],
        ["T", "S", "bx", "bp", "bs", "ax", "ap", "as", "t", "c", "z"]
    );
    assert_eq!(
        first_of["b"],
        ["T", "S", "o", "h", "l", "c", "v", "t", "n", "vw"]
    );
    assert!(
        trades.iter().chain(&quotes).all(|m| m["S"] == "AAPL"),
        "MSFT: bars only"
    );
    assert!(bars.iter().any(|b| b["S"] == "MSFT"));
    // The bar equals the REST 1Min bar fetched afterwards, field by field.
    let bar = bars
        .iter()
        .find(|b| b["S"] == "AAPL" && b["t"] == "2024-03-08T15:00:00Z")
        .unwrap();
    let uri = "/alpaca/v2/stocks/AAPL/bars?timeframe=1Min\
               &start=2024-03-08T15:00:00Z&end=2024-03-08T15:00:00Z&feed=iex";
    let (status, body) = get(
        &sb,
        uri,
        &[("apca-api-key-id", "k"), ("apca-api-secret-key", "s")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let rest: Value = serde_json::from_str(&body).unwrap();
    let rest = rest["bars"][0].as_object().unwrap().clone();
    assert_eq!(rest.len(), 8, "{rest:?}");
    for (field, value) in &rest {
        assert_eq!(&bar[field], value, "{field}");
    }
    // The minute's trades are the bar taken apart; a quote brackets each.
    let minute_trades: Vec<&Value> = trades
        .iter()
        .filter(|m| (minute..end).contains(&at(m["t"].as_str().unwrap())))
        .collect();
    let prices: Vec<i64> = minute_trades.iter().map(|m| cents(&m["p"])).collect();
    assert_eq!(
        minute_trades.len() as u64,
        bar["n"].as_u64().unwrap(),
        "n trades"
    );
    assert_eq!(prices.first().copied(), Some(cents(&bar["o"])));
    assert_eq!(prices.last().copied(), Some(cents(&bar["c"])));
    assert_eq!(prices.iter().max().copied(), Some(cents(&bar["h"])));
    assert_eq!(prices.iter().min().copied(), Some(cents(&bar["l"])));
    let volume: u64 = minute_trades.iter().map(|m| m["s"].as_u64().unwrap()).sum();
    assert_eq!(volume, bar["v"].as_u64().unwrap());
    let times: Vec<jiff::Timestamp> = minute_trades
        .iter()
        .map(|m| at(m["t"].as_str().unwrap()))
        .collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]));
    for trade in &minute_trades {
        let i = quotes
            .iter()
            .rposition(|q| q["t"].as_str() <= trade["t"].as_str())
            .unwrap();
        let q = &quotes[i];
        let (bid, ask, price) = (cents(&q["bp"]), cents(&q["ap"]), cents(&trade["p"]));
        assert!(bid <= price && price <= ask && bid < ask, "{q} {trade}");
    }
    assert_eq!(trades[0]["x"], "V");
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_but_heartbeats_outside_market_hours() {
    // 15:58 New York, two market minutes a second: the session's last minutes, its last bar,
    // then the evening.
    let sb = start("2024-03-08T20:58:00Z", 120.0, |c| {
        c.stream.heartbeat = Duration::from_millis(100);
        c.stream.trades_per_minute = Some(60);
    })
    .await;
    let mut c = open(&sb, "iex").await;
    c.send(r#"{"action":"subscribe","trades":["AAPL"],"quotes":["AAPL"],"bars":["AAPL"]}"#)
        .await;
    assert_eq!(c.json().await[0]["T"], "subscription");
    let (mut pings, mut last) = (0, None);
    let until = tokio::time::Instant::now() + Duration::from_millis(2500);
    while tokio::time::Instant::now() < until {
        match c.read(Duration::from_millis(200)).await {
            Got::Ping => pings += 1,
            Got::Text(frame) => {
                for text in messages(&frame) {
                    let m: Value = serde_json::from_str(&text).unwrap();
                    assert!(
                        at(m["t"].as_str().unwrap()) < at("2024-03-08T21:00:00Z"),
                        "{m}"
                    );
                    last = Some(m);
                }
            }
            Got::Nothing => {}
            other => panic!("{other:?}"),
        }
    }
    let last = last.unwrap();
    assert_eq!(
        (&last["T"], &last["t"]),
        (&json!("b"), &json!("2024-03-08T20:59:00Z"))
    );
    assert!(pings >= 5, "{pings} heartbeats");
    assert!(sb.stream_now() > at("2024-03-08T21:02:00Z"), "the evening");
    sb.stop().await;
    // On a Saturday: heartbeats only.
    let sb = start("2024-03-09T15:00:00Z", 60.0, |c| {
        c.stream.heartbeat = Duration::from_millis(50);
    })
    .await;
    let mut c = open(&sb, "iex").await;
    c.send(r#"{"action":"subscribe","trades":["AAPL"],"bars":["AAPL"]}"#)
        .await;
    assert_eq!(c.json().await[0]["T"], "subscription");
    for _ in 0..5 {
        assert_eq!(c.read(Duration::from_millis(500)).await, Got::Ping);
    }
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_feed_trades_at_night_and_the_wildcard_without_quotas() {
    let sb = start("2024-03-09T03:00:00Z", 60.0, |c| {
        c.quotas = None;
        c.stream.trades_per_minute = Some(30);
    })
    .await;
    let mut c = open(&sb, "test").await;
    c.send(r#"{"action":"subscribe","trades":["FAKEPACA"]}"#)
        .await;
    assert_eq!(c.json().await[0]["T"], "subscription");
    let frame = c.json().await;
    assert_eq!(frame[0]["S"], "FAKEPACA");
    c.close().await;
    // `*` is every symbol of the sandbox's universe.
    let sb = start("2024-03-08T14:59:58Z", 60.0, |c| c.quotas = None).await;
    let mut c = open(&sb, "iex").await;
    c.send(r#"{"action":"subscribe","bars":["*"]}"#).await;
    assert_eq!(c.json().await[0]["bars"], json!(["*"]));
    let bars = c.json().await;
    let symbols: Vec<&str> = bars
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["S"].as_str().unwrap())
        .collect();
    assert_eq!(
        symbols,
        [
            "AAPL", "AMD", "AMZN", "GOOGL", "META", "MSFT", "NVDA", "QQQ", "SPY", "TSLA"
        ]
    );
    sb.stop().await;
}

/// Streams a busy minute with `faults`: the client after subscribing to AAPL's trades and quotes.
async fn faulty(faults: StreamFaults) -> (stockdata_sandbox::Sandbox, Client) {
    let sb = start("2024-03-08T14:59:59Z", 60.0, |c| {
        c.quotas = Some(Quotas::FREE);
        c.stream.trades_per_minute = Some(600);
        c.stream.heartbeat = Duration::from_millis(50);
        c.stream.faults = faults;
    })
    .await;
    let mut c = open(&sb, "iex").await;
    c.send(r#"{"action":"subscribe","trades":["AAPL"],"quotes":["AAPL"]}"#)
        .await;
    assert_eq!(c.json().await[0]["T"], "subscription");
    (sb, c)
}

/// Data messages until the connection ends, and how it ended.
async fn count_until_end(c: &mut Client) -> (usize, Got) {
    let mut n = 0;
    loop {
        match c.read(Duration::from_secs(5)).await {
            Got::Text(frame) => n += messages(&frame).len(),
            Got::Ping => {}
            end => return (n, end),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_disconnect_after_a_count_or_at_a_rate() {
    let (sb, mut c) = faulty(StreamFaults {
        disconnect_after: Some(25),
        ..StreamFaults::default()
    })
    .await;
    assert_eq!(
        count_until_end(&mut c).await,
        (25, Got::Dropped),
        "25 then no close frame"
    );
    assert_eq!(sb.stream_tally()["alpaca"].messages, 25);
    sb.stop().await;
    let (sb, mut c) = faulty(StreamFaults {
        disconnect_rate: 1.0,
        ..StreamFaults::default()
    })
    .await;
    assert_eq!(count_until_end(&mut c).await, (0, Got::Dropped));
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_malformed_frames_stalls_and_refused_auth() {
    let (sb, mut c) = faulty(StreamFaults {
        malformed_rate: 1.0,
        ..StreamFaults::default()
    })
    .await;
    for _ in 0..3 {
        let frame = c.text().await;
        assert!(serde_json::from_str::<Value>(&frame).is_err(), "{frame}");
        assert!(frame.starts_with(r#"[{"T":"#), "the first half: {frame}");
    }
    sb.stop().await;
    // A stall: ten messages, then nothing at all, not even a heartbeat.
    let (sb, mut c) = faulty(StreamFaults {
        stall_after: Some(10),
        ..StreamFaults::default()
    })
    .await;
    let mut n = 0;
    while n < 10 {
        n += messages(&c.text().await).len();
    }
    assert_eq!(n, 10);
    assert_eq!(c.read(Duration::from_millis(600)).await, Got::Nothing);
    sb.stop().await;
    let sb = start("2024-03-08T14:59:59Z", 1.0, |c| {
        c.stream.faults.refuse_auth = true
    })
    .await;
    let mut c = Client::connect(&ws_url(&sb, "alpaca/stream/v2/iex"), &KEYS).await;
    assert_eq!(c.json().await, connected());
    assert_eq!(c.json().await, error(402, "auth failed"));
    assert_eq!(c.ends().await, Got::Closed);
    sb.stop().await;
}
