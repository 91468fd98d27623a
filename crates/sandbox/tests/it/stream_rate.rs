//! How many messages a second one stream connection carries: ten symbols' trades and quotes at
//! a market minute a second, 2,000 trades a minute each (about 40,000 messages a second, what
//! a debug build on a busy two-core machine reads without the sandbox queueing ahead of it: a
//! connection catches up on its whole backlog before it reads the client's next command, so a
//! backlog would make the unsubscribe below wait for it). Printed; run with `--nocapture`.
//! And none dropped: what the client counted is what the sandbox says it sent.

use std::time::{Duration, Instant};

use crate::client::{Client, Got, start, ws_url};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_connection_carries_many_messages_a_second_and_drops_none() {
    let sb = start("2024-03-08T14:30:00Z", 60.0, |c| {
        c.quotas = None;
        c.stream.trades_per_minute = Some(2_000);
    })
    .await;
    let url = ws_url(&sb, "alpaca/stream/v2/iex");
    let headers = [("APCA-API-KEY-ID", "k"), ("APCA-API-SECRET-KEY", "s")];
    let mut c = Client::connect(&url, &headers).await;
    c.text().await;
    c.text().await;
    let symbols = r#"["AAPL","AMD","AMZN","GOOGL","META","MSFT","NVDA","QQQ","SPY","TSLA"]"#;
    c.send(&format!(
        r#"{{"action":"subscribe","trades":{symbols},"quotes":{symbols}}}"#
    ))
    .await;
    c.text().await;
    let started = Instant::now();
    let (mut messages, mut bytes) = (0u64, 0u64);
    while started.elapsed() < Duration::from_secs(2) {
        match c.read(Duration::from_secs(5)).await {
            Got::Text(frame) => {
                messages += frame.matches(r#"{"T":"#).count() as u64;
                bytes += frame.len() as u64;
            }
            Got::Ping => {}
            other => panic!("{other:?}"),
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let rate = messages as f64 / elapsed;
    println!(
        "one connection: {messages} messages in {elapsed:.2} s = {rate:.0} messages/s, {:.1} MB/s",
        bytes as f64 / elapsed / 1e6
    );
    // Everything sent before the acknowledgement of an unsubscribe arrives before it.
    c.send(&format!(
        r#"{{"action":"unsubscribe","trades":{symbols},"quotes":{symbols}}}"#
    ))
    .await;
    loop {
        let frame = c.text().await;
        if frame.starts_with(r#"[{"T":"subscription""#) {
            break;
        }
        messages += frame.matches(r#"{"T":"#).count() as u64;
    }
    assert_eq!(
        messages,
        sb.stream_tally()["alpaca"].messages,
        "none dropped"
    );
    // Generous: a debug build on a busy two-core machine.
    assert!(rate > 10_000.0, "{rate:.0} messages/s");
    sb.stop().await;
}
