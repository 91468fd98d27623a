//! Alpaca's stream against a scripted provider on loopback: authentication (headers, then the
//! message fallback), every documented error code, subscriptions and their acknowledgement,
//! every event type mapped exactly, malformed frames, closes, drops and the idle limit.
//! Frames are the documented samples (crates/contract-tests/fixtures/streams/SOURCES.md).

use std::collections::BTreeSet;
use std::time::Duration;

use secrecy::SecretString;
use stockdata_adapters_http::alpaca::ID;
use stockdata_adapters_http::alpaca::stream::{AlpacaStream, AlpacaStreamConfig};
use stockdata_domain::stream::{
    Channel, QuoteTick, StreamEvent, StreamState, StreamStatus, Subscription, Trade,
};
use stockdata_domain::{
    Adjustment, Bar, Decimal, ErrorKind, FetchError, Interval, Provenance, Symbol,
};
use stockdata_ports::stream::{StreamConnection, StreamSource};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::support::{APCA_KEY_ID, APCA_SECRET, clock, sym, ts};
use crate::ws_fake::{Fake, Peer, mute, nobody, quick, refuse, serve};

const NOW: &str = "2021-02-22T20:00:00Z";
const CONNECTED: &str = r#"[{"T":"success","msg":"connected"}]"#;
const AUTHENTICATED: &str = r#"[{"T":"success","msg":"authenticated"}]"#;
// docs.alpaca.markets/docs/real-time-stock-pricing-data, the schema examples in frames.
const TRADE: &str = r#"[{"T":"t","i":96921,"S":"AAPL","x":"D","p":126.55,"s":1,
    "t":"2021-02-22T15:51:44.208Z","c":["@","I"],"z":"C"}]"#;
const QUOTE: &str = r#"[{"T":"q","S":"AMD","bx":"U","bp":87.66,"bs":1,"ax":"Q","ap":87.68,
    "as":4,"t":"2021-02-22T15:51:45.335689322Z","c":["R"],"z":"C"}]"#;
const BAR: &str = r#"[{"T":"b","S":"SPY","o":388.985,"h":389.13,"l":388.975,"c":389.12,
    "v":49378,"n":461,"vw":389.062639,"t":"2021-02-22T19:15:00Z"}]"#;
// The same page: corrections come with every trade subscription.
const CORRECTION: &str = r#"[{"T":"c","S":"EEM","x":"M","oi":52983525033527,"op":39.1582,
    "os":440000,"oc":[" ","7"],"ci":52983525034326,"cp":39.1809,"cs":440000,"cc":[" ","7"],
    "z":"B","t":"2023-04-06T14:25:06.542305024Z"}]"#;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn config(fake: &Fake) -> AlpacaStreamConfig {
    AlpacaStreamConfig {
        stream_url: fake.at("/v2"),
        auth_grace: Duration::from_millis(300),
        stream: quick(),
        ..AlpacaStreamConfig::new(
            SecretString::from(APCA_KEY_ID),
            SecretString::from(APCA_SECRET),
        )
    }
}

fn source(config: AlpacaStreamConfig) -> AlpacaStream {
    AlpacaStream::new(config, clock(NOW))
}

fn provenance() -> Provenance {
    Provenance::new(ID, ts(NOW)).with_feed("iex")
}

async fn greet(peer: &mut Peer) {
    peer.send(CONNECTED).await;
    peer.send(AUTHENTICATED).await;
}

async fn connected(fake: &Fake) -> Box<dyn StreamConnection> {
    let mut conn = source(config(fake)).connect().await.unwrap();
    let first = conn.next().await.unwrap();
    assert!(
        matches!(
            first.as_slice(),
            [StreamEvent::Status(StreamStatus {
                state: StreamState::Connected,
                ..
            })]
        ),
        "{first:?}"
    );
    conn
}

fn subscription(trades: &[&str], quotes: &[&str], bars: &[&str]) -> Subscription {
    let set = |names: &[&str]| names.iter().map(|n| sym(n)).collect::<BTreeSet<Symbol>>();
    Subscription {
        trades: set(trades),
        quotes: set(quotes),
        bars: set(bars),
    }
}

fn subscribed(s: Subscription) -> Vec<StreamEvent> {
    vec![StreamEvent::Status(StreamStatus {
        provider: ID,
        at: ts(NOW),
        state: StreamState::Subscribed(s),
    })]
}

#[tokio::test]
async fn authenticates_with_headers_on_the_upgrade_and_sends_no_key_in_a_message() {
    let fake = serve(|mut peer| async move {
        greet(&mut peer).await;
        peer.quiet(Duration::from_millis(600)).await;
    })
    .await;
    let conn = connected(&fake).await;
    let seen = fake.done().await;
    assert_eq!(seen.uri, "/v2/iex");
    assert_eq!(seen.header("apca-api-key-id"), Some(APCA_KEY_ID));
    assert_eq!(seen.header("apca-api-secret-key"), Some(APCA_SECRET));
    assert!(seen.received.is_empty(), "{:?}", seen.received);
    let shown = format!("{conn:?}");
    assert!(
        !shown.contains(APCA_KEY_ID) && !shown.contains(APCA_SECRET),
        "{shown}"
    );
}

#[tokio::test]
async fn falls_back_to_the_auth_message_when_the_headers_are_not_confirmed() {
    for answer in [
        AUTHENTICATED,
        r#"[{"T":"error","code":403,"msg":"already authenticated"}]"#,
    ] {
        let fake = serve(move |mut peer| async move {
            peer.send(CONNECTED).await;
            let auth: serde_json::Value = serde_json::from_str(&peer.recv().await).unwrap();
            assert_eq!(
                auth,
                serde_json::json!({"action": "auth", "key": APCA_KEY_ID, "secret": APCA_SECRET})
            );
            peer.send(answer).await;
            peer.quiet(Duration::from_millis(300)).await;
        })
        .await;
        let _conn = connected(&fake).await;
        fake.done().await;
    }
}

#[tokio::test]
async fn every_documented_error_code_is_classified() {
    let cases = [
        (401, "not authenticated", ErrorKind::Unauthorized),
        (402, "auth failed", ErrorKind::Unauthorized),
        (404, "auth timeout", ErrorKind::Timeout),
        (406, "connection limit exceeded", ErrorKind::RateLimited),
        (407, "slow client", ErrorKind::Transport),
        (408, "v2 not enabled", ErrorKind::EntitlementDenied),
        (
            409,
            "insufficient subscription",
            ErrorKind::EntitlementDenied,
        ),
        (411, "insufficient scope", ErrorKind::EntitlementDenied),
        (500, "internal error", ErrorKind::ProviderUnavailable),
    ];
    for (code, msg, kind) in cases {
        let fake = serve(move |mut peer| async move {
            peer.send(CONNECTED).await;
            peer.send(&format!(r#"[{{"T":"error","code":{code},"msg":"{msg}"}}]"#))
                .await;
            peer.quiet(Duration::from_millis(200)).await;
        })
        .await;
        let err = source(config(&fake)).connect().await.unwrap_err();
        assert_eq!(err.kind(), kind, "{code} {msg}: {err}");
        fake.done().await;
    }
    // While subscribing: the subscription is refused, the connection goes on.
    for (code, msg) in [
        (400, "invalid syntax"),
        (405, "symbol limit exceeded"),
        (410, "invalid subscribe action for this feed"),
    ] {
        let fake = serve(move |mut peer| async move {
            greet(&mut peer).await;
            peer.recv().await;
            peer.send(&format!(r#"[{{"T":"error","code":{code},"msg":"{msg}"}}]"#))
                .await;
            peer.send(TRADE).await;
            peer.quiet(Duration::from_millis(200)).await;
        })
        .await;
        let mut conn = connected(&fake).await;
        let err = conn
            .subscribe(&subscription(&["AAPL"], &[], &[]))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{err}");
        assert!(err.to_string().contains(msg), "{err}");
        assert!(matches!(
            conn.next().await.unwrap()[..],
            [StreamEvent::Trade(_)]
        ));
        fake.done().await;
    }
}

#[tokio::test]
async fn a_refused_upgrade_is_classified_by_its_status() {
    let cases = [
        (401, r#"{"message":"forbidden."}"#, ErrorKind::Unauthorized),
        (
            403,
            r#"{"code":42210000,"message":"subscription does not permit recent SIP data"}"#,
            ErrorKind::EntitlementDenied,
        ),
        (429, "too many requests", ErrorKind::RateLimited),
        (503, "", ErrorKind::ProviderUnavailable),
        (404, "not found", ErrorKind::InvalidRequest),
    ];
    for (status, body, kind) in cases {
        let fake = refuse(status, body).await;
        let err = source(config(&fake)).connect().await.unwrap_err();
        assert_eq!(err.kind(), kind, "{status}: {err}");
        fake.done().await;
    }
}

#[tokio::test]
async fn subscribe_waits_for_the_acknowledgement_and_keeps_what_arrives_meanwhile() {
    let fake = serve(|mut peer| async move {
        greet(&mut peer).await;
        let sent = peer.recv().await;
        assert_eq!(
            sent,
            r#"{"action":"subscribe","trades":["AAPL"],"quotes":["AMD"],"bars":["SPY"]}"#
        );
        peer.send(TRADE).await;
        peer.send(QUOTE).await;
        peer.send(BAR).await;
        peer.send(
            r#"[{"T":"subscription","trades":["AAPL"],"quotes":["AMD"],"bars":["SPY"],
            "updatedBars":[],"dailyBars":[],"statuses":[],"lulds":[],"corrections":["AAPL"],
            "cancelErrors":["AAPL"]}]"#,
        )
        .await;
        peer.send(CORRECTION).await;
        peer.quiet(Duration::from_millis(300)).await;
    })
    .await;
    let mut conn = connected(&fake).await;
    let wanted = subscription(&["AAPL"], &["AMD"], &["SPY"]);
    conn.subscribe(&wanted).await.unwrap();
    let trade = Trade {
        symbol: sym("AAPL"),
        price: d("126.55"),
        size: d("1"),
        at: ts("2021-02-22T15:51:44.208Z"),
        id: Some(96921),
        exchange: Some("D".to_owned()),
        conditions: vec!["@".to_owned(), "I".to_owned()],
        provenance: provenance(),
    };
    assert_eq!(conn.next().await.unwrap(), vec![StreamEvent::Trade(trade)]);
    let quote = QuoteTick {
        symbol: sym("AMD"),
        bid: d("87.66"),
        bid_size: d("1"),
        ask: d("87.68"),
        ask_size: d("4"),
        at: ts("2021-02-22T15:51:45.335689322Z"),
        bid_exchange: Some("U".to_owned()),
        ask_exchange: Some("Q".to_owned()),
        conditions: vec!["R".to_owned()],
        provenance: provenance(),
    };
    let got = conn.next().await.unwrap();
    assert_eq!(got, vec![StreamEvent::Quote(quote)]);
    if let [StreamEvent::Quote(q)] = &got[..] {
        assert_eq!(q.at.subsec_nanosecond(), 335_689_322, "nanoseconds kept");
    }
    let bar = Bar {
        symbol: sym("SPY"),
        interval: Interval::Minute1,
        start: ts("2021-02-22T19:15:00Z"),
        open: d("388.985"),
        high: d("389.13"),
        low: d("388.975"),
        close: d("389.12"),
        volume: 49378,
        vwap: Some(d("389.062639")),
        trades: Some(461),
        provenance: Provenance {
            adjustment: Some(Adjustment::Raw),
            ..provenance()
        },
    };
    assert_eq!(conn.next().await.unwrap(), vec![StreamEvent::Bar(bar)]);
    assert_eq!(conn.next().await.unwrap(), subscribed(wanted.clone()));
    // Corrections come with every trade subscription: one is an event on the trades channel.
    let corrected = conn.next().await.unwrap();
    assert!(
        matches!(
            corrected.as_slice(),
            [StreamEvent::Correction(c)] if c.symbol.as_str() == "EEM"
                && c.original.price == d("39.1582")
                && c.corrected.price == d("39.1809")
                && c.corrected.conditions == [" ", "7"]
        ),
        "{corrected:?}"
    );
    // Nothing new to ask for: nothing is sent.
    conn.subscribe(&wanted).await.unwrap();
    let seen = fake.done().await;
    assert_eq!(seen.received.len(), 1, "{:?}", seen.received);
}

#[tokio::test]
async fn decimals_are_kept_to_the_last_digit() {
    let fake = serve(|mut peer| async move {
        greet(&mut peer).await;
        // Many trades in one frame, as Alpaca batches data points; prices past f64's digits.
        peer.send(
            r#"[{"T":"t","S":"BRK.A","i":18446744073709551615,"x":"V","p":612345.678901234567,
            "s":0.000000001,"t":"2023-04-06T11:54:26.000000001Z"},
            {"T":"t","S":"AAPL","i":1465,"x":"P","p":162.91,"s":71,"c":["@","F","T","I"],"z":"C",
            "t":"2023-04-06T11:54:26.83915973Z"}]"#,
        )
        .await;
        peer.quiet(Duration::from_millis(200)).await;
    })
    .await;
    let mut conn = connected(&fake).await;
    let events = conn.next().await.unwrap();
    let [StreamEvent::Trade(a), StreamEvent::Trade(b)] = &events[..] else {
        panic!("{events:?}");
    };
    assert_eq!(a.symbol, sym("BRK.A"));
    assert_eq!(a.price.to_string(), "612345.678901234567");
    assert_eq!(a.size.to_string(), "0.000000001");
    assert_eq!(a.id, Some(u64::MAX));
    assert_eq!(a.at.subsec_nanosecond(), 1);
    assert_eq!(a.conditions, Vec::<String>::new());
    assert_eq!(b.price, d("162.91"));
    assert_eq!(b.at, ts("2023-04-06T11:54:26.83915973Z"));
    fake.done().await;
}

#[tokio::test]
async fn a_subscription_past_the_symbol_limit_is_refused_before_sending() {
    let names: Vec<String> = (0..70).map(|i| format!("S{i:03}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let (thirty, bars_only) = (&refs[..30], &refs[30..70]);
    let ack = serde_json::json!([{
        "T": "subscription", "trades": thirty, "quotes": thirty, "bars": bars_only
    }])
    .to_string();
    let fake = serve(move |mut peer| async move {
        greet(&mut peer).await;
        peer.recv().await;
        peer.send(&ack).await;
        peer.quiet(Duration::from_millis(400)).await;
    })
    .await;
    let mut conn = connected(&fake).await;
    let err = conn
        .subscribe(&subscription(&refs[..31], &[], &[]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{err}");
    assert!(err.to_string().contains("at most 30"), "{err}");
    // Trades and quotes of the same 30 symbols, and bars of 40 more: within the limit.
    conn.subscribe(&subscription(thirty, thirty, bars_only))
        .await
        .unwrap();
    let err = conn
        .subscribe(&subscription(&[], &refs[30..31], &[]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{err}");
    let caps = source(config(&fake)).stream_capabilities();
    assert_eq!(caps.max_symbols, Some(30));
    assert_eq!(caps.max_connections, Some(1));
    assert_eq!(caps.channels, Channel::ALL.to_vec());
    let seen = fake.done().await;
    assert_eq!(
        seen.received.len(),
        1,
        "only the allowed subscription was sent"
    );
}

#[tokio::test]
async fn unsubscribe_sends_what_is_held_and_waits_for_the_acknowledgement() {
    let fake = serve(|mut peer| async move {
        greet(&mut peer).await;
        peer.recv().await;
        peer.send(r#"[{"T":"subscription","trades":["AAPL"],"quotes":["AMD"],"bars":[]}]"#)
            .await;
        assert_eq!(
            peer.recv().await,
            r#"{"action":"unsubscribe","quotes":["AMD"]}"#
        );
        peer.send(r#"[{"T":"subscription","trades":["AAPL"],"quotes":[],"bars":[]}]"#)
            .await;
        peer.quiet(Duration::from_millis(200)).await;
    })
    .await;
    let mut conn = connected(&fake).await;
    conn.subscribe(&subscription(&["AAPL"], &["AMD"], &[]))
        .await
        .unwrap();
    // MSFT was never held: only AMD's quotes are sent.
    conn.unsubscribe(&subscription(&[], &["AMD", "MSFT"], &[]))
        .await
        .unwrap();
    assert_eq!(
        conn.next().await.unwrap(),
        subscribed(subscription(&["AAPL"], &["AMD"], &[]))
    );
    assert_eq!(
        conn.next().await.unwrap(),
        subscribed(subscription(&["AAPL"], &[], &[]))
    );
    fake.done().await;
}

#[tokio::test]
async fn a_malformed_frame_is_refused_and_the_connection_goes_on() {
    let fake = serve(|mut peer| async move {
        greet(&mut peer).await;
        peer.send("<html>502 Bad Gateway</html>").await;
        peer.send(r#"[{"T":"t","S":"AAPL","p":"1.0.0","s":1,"t":"2021-02-22T15:51:44Z"}]"#)
            .await;
        peer.send(r#"[{"T":"t","S":"AAPL","p":1,"s":1,"t":"yesterday"}]"#)
            .await;
        peer.send(r#"[{"T":"nope"}]"#).await;
        peer.send(TRADE).await;
        peer.quiet(Duration::from_millis(200)).await;
    })
    .await;
    let mut conn = connected(&fake).await;
    for _ in 0..4 {
        let err = conn.next().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Malformed, "{err}");
    }
    assert!(matches!(
        conn.next().await.unwrap()[..],
        [StreamEvent::Trade(_)]
    ));
    fake.done().await;
}

#[tokio::test]
async fn a_close_frame_and_a_dropped_connection_end_the_stream() {
    let fake = serve(|mut peer| async move {
        greet(&mut peer).await;
        peer.close(CloseCode::Away, "going away").await;
    })
    .await;
    let mut conn = connected(&fake).await;
    let err = conn.next().await.unwrap_err();
    assert_eq!(err, FetchError::ProviderUnavailable { status: None });
    assert_eq!(
        conn.next().await.unwrap_err(),
        err,
        "the connection stays ended"
    );
    fake.done().await;

    let fake = serve(|mut peer| async move {
        greet(&mut peer).await;
        peer.drop_tcp();
    })
    .await;
    let mut conn = connected(&fake).await;
    let err = conn.next().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert!(err.is_retryable());
    let err = conn
        .subscribe(&subscription(&["AAPL"], &[], &[]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    fake.done().await;

    // A slow client is cut off with 407: retryable, on a fresh connection.
    let fake = serve(|mut peer| async move {
        greet(&mut peer).await;
        peer.send(r#"[{"T":"error","code":407,"msg":"slow client"}]"#)
            .await;
        peer.quiet(Duration::from_millis(200)).await;
    })
    .await;
    let mut conn = connected(&fake).await;
    let err = conn.next().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert!(err.is_retryable());
    assert_eq!(conn.next().await.unwrap_err(), err);
    fake.done().await;
}

#[tokio::test]
async fn a_quiet_connection_that_answers_pings_lives_and_a_silent_one_times_out() {
    let lively = |fake: &Fake| AlpacaStreamConfig {
        stream: stockdata_adapters_http::stream::StreamConfig {
            ping_interval: Duration::from_millis(100),
            idle_timeout: Duration::from_millis(700),
            ..quick()
        },
        ..config(fake)
    };
    let fake = serve(|mut peer| async move {
        greet(&mut peer).await;
        // Twice the idle limit without a frame; pings are answered while reading.
        peer.quiet(Duration::from_millis(1500)).await;
        peer.send(TRADE).await;
        peer.quiet(Duration::from_millis(200)).await;
    })
    .await;
    let mut conn = source(lively(&fake)).connect().await.unwrap();
    conn.next().await.unwrap();
    assert!(matches!(
        conn.next().await.unwrap()[..],
        [StreamEvent::Trade(_)]
    ));
    fake.done().await;

    let fake = serve(|mut peer| async move {
        greet(&mut peer).await;
        peer.hold(Duration::from_secs(3)).await;
    })
    .await;
    let mut conn = source(lively(&fake)).connect().await.unwrap();
    conn.next().await.unwrap();
    let started = tokio::time::Instant::now();
    assert_eq!(conn.next().await.unwrap_err(), FetchError::Timeout);
    assert!(started.elapsed() < Duration::from_millis(2500));
    assert_eq!(conn.next().await.unwrap_err(), FetchError::Timeout);
    fake.done().await;
}

#[tokio::test]
async fn next_is_cancel_safe() {
    let fake = serve(|mut peer| async move {
        greet(&mut peer).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        peer.send(TRADE).await;
        peer.quiet(Duration::from_millis(300)).await;
    })
    .await;
    let mut conn = connected(&fake).await;
    // Dropped unfinished again and again while the frame is on its way: nothing is lost.
    let mut got = None;
    for _ in 0..100 {
        if let Ok(events) = tokio::time::timeout(Duration::from_millis(20), conn.next()).await {
            got = Some(events.unwrap());
            break;
        }
    }
    assert!(
        matches!(got.as_deref(), Some([StreamEvent::Trade(_)])),
        "{got:?}"
    );
    fake.done().await;
}

#[tokio::test]
async fn connecting_fails_fast_and_typed() {
    let fake = mute().await;
    let short = AlpacaStreamConfig {
        stream: stockdata_adapters_http::stream::StreamConfig {
            connect_timeout: Duration::from_millis(300),
            ..quick()
        },
        ..config(&fake)
    };
    let err = source(short).connect().await.unwrap_err();
    assert_eq!(err, FetchError::Timeout);
    fake.done().await;

    // Greeted, then nothing: no authentication answer within the reply timeout.
    let fake = serve(|mut peer| async move {
        peer.send(CONNECTED).await;
        peer.recv().await;
        peer.hold(Duration::from_secs(2)).await;
    })
    .await;
    let short = AlpacaStreamConfig {
        stream: stockdata_adapters_http::stream::StreamConfig {
            reply_timeout: Duration::from_millis(800),
            ..quick()
        },
        ..config(&fake)
    };
    assert_eq!(
        source(short).connect().await.unwrap_err(),
        FetchError::Timeout
    );
    fake.done().await;

    let url = nobody().await;
    let nowhere = AlpacaStreamConfig {
        stream_url: url.join("/v2").unwrap(),
        ..AlpacaStreamConfig::new(
            SecretString::from(APCA_KEY_ID),
            SecretString::from(APCA_SECRET),
        )
    };
    let err = source(nowhere).connect().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
}

#[tokio::test]
async fn the_keys_are_in_no_error_and_no_debug_output() {
    let echo = format!(
        r#"{{"message":"subscription does not permit key {APCA_KEY_ID} with {APCA_SECRET}"}}"#
    );
    let fake = refuse(403, echo).await;
    let src = source(config(&fake));
    let shown_config = format!("{:?}", config(&fake));
    let err = src.connect().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::EntitlementDenied);
    fake.done().await;
    let fake = serve(|mut peer| async move {
        peer.send(CONNECTED).await;
        peer.send(&format!(
            r#"[{{"T":"error","code":409,"msg":"insufficient subscription for {APCA_KEY_ID}"}}]"#
        ))
        .await;
        peer.quiet(Duration::from_millis(200)).await;
    })
    .await;
    let err2 = source(config(&fake)).connect().await.unwrap_err();
    assert_eq!(err2.kind(), ErrorKind::EntitlementDenied);
    fake.done().await;
    let shown = format!("{err} {err:?} {err2} {err2:?} {src:?} {shown_config}");
    for secret in [APCA_KEY_ID, APCA_SECRET] {
        assert!(!shown.contains(secret), "{shown}");
    }
    assert!(shown.contains("REDACTED"), "{shown}");
}

#[tokio::test]
async fn settings_validate_the_stream_url_and_point_the_sandbox_at_its_fixed_path() {
    use stockdata_adapters_http::alpaca::DESCRIPTOR;
    use stockdata_adapters_http::provider::{BuildContext, ProviderDescriptor as _};
    use stockdata_adapters_http::transport::PacerRegistry;

    let view: serde_json::Value =
        serde_json::from_str(DESCRIPTOR.default_settings().view().get()).unwrap();
    assert_eq!(view["stream_url"], "wss://stream.data.alpaca.markets/v2");
    for (bad, says) in [
        ("https://stream.data.alpaca.markets/v2", "wss://"),
        ("wss://stream.data.alpaca.markets/v2?feed=sip", "query"),
    ] {
        let err = DESCRIPTOR
            .settings(serde_json::json!({ "stream_url": bad }))
            .unwrap_err();
        assert_eq!(err.key, "stream_url");
        assert!(err.message.contains(says), "{err}");
    }
    let custom = DESCRIPTOR
        .settings(serde_json::json!({"stream_url": "ws://127.0.0.1:1/v2", "feed": "sip"}))
        .unwrap();
    assert!(custom.view().get().contains("ws://127.0.0.1:1/v2"));

    // The sandbox's Alpaca dialect at http://HOST:PORT/alpaca streams at
    // ws://HOST:PORT/alpaca/stream/v2/iex.
    let fake = serve(|mut peer| async move {
        greet(&mut peer).await;
        peer.quiet(Duration::from_millis(200)).await;
    })
    .await;
    let base = fake.url.join("/alpaca").unwrap();
    let base = url::Url::parse(&base.as_str().replacen("ws://", "http://", 1)).unwrap();
    let sandbox = DESCRIPTOR.default_settings().for_sandbox(base);
    let view: serde_json::Value = serde_json::from_str(sandbox.view().get()).unwrap();
    assert_eq!(
        view["stream_url"],
        format!("{}alpaca/stream/v2", fake.url.as_str())
    );
    let pacers = PacerRegistry::new();
    let ctx = BuildContext {
        pacers: &pacers,
        clock: clock(NOW),
    };
    let built = sandbox.build_stream(&ctx).unwrap().unwrap();
    assert_eq!(built.provider(), ID);
    built.connect().await.unwrap();
    let seen = fake.done().await;
    assert_eq!(seen.uri, "/alpaca/stream/v2/iex");
    assert_eq!(seen.header("apca-api-key-id"), Some("sandbox-key"));

    // Without keys there is no stream to build.
    let unkeyed = DESCRIPTOR.default_settings();
    assert_eq!(
        unkeyed.build_stream(&ctx).unwrap().unwrap_err(),
        FetchError::Unauthorized
    );
}
