//! Finnhub's trades stream: `ws://ADDR/finnhub/stream?token=KEY`.

use std::time::Duration;

use serde_json::Value;

use crate::client::{Client, Got, at, get, keys, start, ws_url};

fn url(sb: &stockdata_sandbox::Sandbox, token: &str) -> String {
    ws_url(sb, &format!("finnhub/stream?token={token}"))
}

fn subscribe(symbol: &str) -> String {
    format!(r#"{{"type":"subscribe","symbol":"{symbol}"}}"#)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_refused_token_is_a_401_on_the_upgrade() {
    let sb = start("2024-03-08T21:30:00Z", 1.0, |_| {}).await;
    for path in ["finnhub/stream", "finnhub/stream?token="] {
        match Client::try_connect(&ws_url(&sb, path), &[]).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 401),
            other => panic!("{path}: {:?}", other.map(|_| ())),
        }
    }
    sb.stop().await;
    let sb = start("2024-03-08T21:30:00Z", 1.0, |c| {
        c.stream.faults.refuse_auth = true
    })
    .await;
    match Client::try_connect(&url(&sb, "k"), &[]).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 401),
        other => panic!("{:?}", other.map(|_| ())),
    }
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trades_come_in_finnhubs_shape_and_add_up_to_the_bar() {
    let sb = start("2024-03-08T14:58:00Z", 60.0, |_| {}).await;
    let mut c = Client::connect(&url(&sb, "k"), &[]).await;
    c.send(&subscribe("AAPL")).await;
    let (minute, end) = (at("2024-03-08T15:00:00Z"), at("2024-03-08T15:01:00Z"));
    let mut trades: Vec<Value> = Vec::new();
    while trades
        .last()
        .is_none_or(|t| t["t"].as_i64().unwrap() < end.as_millisecond())
    {
        let frame = c.text().await;
        if frame == r#"{"type":"ping"}"# {
            continue;
        }
        assert_eq!(keys(&frame), ["data", "type"]);
        let frame: serde_json::Map<String, Value> = serde_json::from_str(&frame).unwrap();
        assert_eq!(frame["type"], "trade");
        for item in frame["data"].as_array().unwrap() {
            assert_eq!(keys(&item.to_string()).len(), 5);
            assert_eq!(item["s"], "AAPL");
            assert_eq!(item["c"], serde_json::json!(["1"]));
            trades.push(item.clone());
        }
    }
    let first = trades.iter().find(|t| t["t"].is_i64()).unwrap();
    let text = serde_json::to_string(first).unwrap();
    assert!(text.contains(r#""p":"#) && text.contains(r#""v":"#));
    let in_minute: Vec<&Value> = trades
        .iter()
        .filter(|t| {
            let ms = t["t"].as_i64().unwrap();
            (minute.as_millisecond()..end.as_millisecond()).contains(&ms)
        })
        .collect();
    let uri = "/alpaca/v2/stocks/AAPL/bars?timeframe=1Min\
               &start=2024-03-08T15:00:00Z&end=2024-03-08T15:00:00Z";
    let headers = [("apca-api-key-id", "k"), ("apca-api-secret-key", "s")];
    let (_, body) = get(&sb, uri, &headers).await;
    let bar = serde_json::from_str::<Value>(&body).unwrap()["bars"][0].clone();
    let volume: u64 = in_minute.iter().map(|t| t["v"].as_u64().unwrap()).sum();
    assert_eq!(volume, bar["v"].as_u64().unwrap());
    assert_eq!(in_minute.first().unwrap()["p"], bar["o"]);
    assert_eq!(in_minute.last().unwrap()["p"], bar["c"]);
    sb.stop().await;
}

/// The next frame that is not a ping.
async fn not_ping(c: &mut Client) -> String {
    loop {
        let frame = c.text().await;
        if frame != r#"{"type":"ping"}"# {
            return frame;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pings_when_quiet_fifty_symbols_and_one_connection() {
    let sb = start("2024-03-09T15:00:00Z", 60.0, |c| {
        c.stream.heartbeat = Duration::from_millis(100);
    })
    .await;
    let mut c = Client::connect(&url(&sb, "k"), &[]).await;
    assert_eq!(
        c.text().await,
        r#"{"type":"ping"}"#,
        "a Saturday: pings only"
    );
    for i in 0..50 {
        c.send(&subscribe(&format!("S{i}"))).await;
    }
    c.send(&subscribe("S0")).await;
    c.send(&subscribe("ONE.MORE")).await;
    let refusal = r#"{"msg":"Subscribing to too many symbols","type":"error"}"#;
    assert_eq!(not_ping(&mut c).await, refusal);
    c.send(r#"{"type":"unsubscribe","symbol":"S0"}"#).await;
    c.send(&subscribe("ONE.MORE")).await;
    c.send(&subscribe("TWO.MORE")).await;
    assert_eq!(
        not_ping(&mut c).await,
        refusal,
        "one slot was freed, and taken"
    );
    // The key's second connection is closed at once; another key's is not.
    let mut second = Client::connect(&url(&sb, "k"), &[]).await;
    assert_eq!(second.ends().await, Got::Dropped);
    let mut other = Client::connect(&url(&sb, "other"), &[]).await;
    assert_eq!(other.text().await, r#"{"type":"ping"}"#);
    assert_eq!(sb.stream_tally()["finnhub"].open, 2);
    sb.stop().await;
}
