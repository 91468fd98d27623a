//! Finnhub's stream against a scripted provider on loopback: the token in the query (and
//! nowhere else), one subscribe message per symbol, trades mapped exactly, pings, error
//! messages, limits, malformed frames, closes and drops. Frames are the documented samples and
//! user captures listed in crates/contract-tests/fixtures/streams/SOURCES.md.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use secrecy::SecretString;
use stockdata_adapters_http::finnhub::ID;
use stockdata_adapters_http::finnhub::stream::{FinnhubStream, FinnhubStreamConfig};
use stockdata_domain::stream::{
    Channel, StreamEvent, StreamState, StreamStatus, Subscription, Trade,
};
use stockdata_domain::{Decimal, ErrorKind, FetchError, Provenance, Symbol, Timestamp};
use stockdata_ports::stream::{StreamConnection, StreamSource};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tracing_subscriber::fmt::MakeWriter;

use crate::support::{FH_KEY, clock, sym, ts};
use crate::ws_fake::{Fake, nobody, quick, refuse, serve};

const NOW: &str = "2022-12-29T21:21:30Z";
// A capture of the live stream (tspannhw/FLiPN-Py-Stocks README, 2022-12-29), two of its trades.
const TRADES: &str = r#"{"data":[{"c":["1","8","24","12"],"p":122.1,"s":"TSLA",
    "t":1672348887195,"v":1},{"c":["1","24","12"],"p":129.575,"s":"AAPL","t":1672348887785,
    "v":1}],"type":"trade"}"#;
const PING: &str = r#"{"type":"ping"}"#;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn config(fake: &Fake) -> FinnhubStreamConfig {
    FinnhubStreamConfig {
        stream_url: fake.at("/"),
        stream: quick(),
        ..FinnhubStreamConfig::new(SecretString::from(FH_KEY))
    }
}

fn source(config: FinnhubStreamConfig) -> FinnhubStream {
    FinnhubStream::new(config, clock(NOW))
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

fn trades(names: &[&str]) -> Subscription {
    Subscription {
        trades: names.iter().map(|n| sym(n)).collect::<BTreeSet<Symbol>>(),
        ..Subscription::default()
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
async fn subscribes_symbol_by_symbol_and_maps_trades_exactly() {
    let fake = serve(|mut peer| async move {
        assert_eq!(peer.recv().await, r#"{"type":"subscribe","symbol":"AAPL"}"#);
        assert_eq!(peer.recv().await, r#"{"type":"subscribe","symbol":"TSLA"}"#);
        peer.send(PING).await;
        peer.send(TRADES).await;
        // Fractional volumes and prices past f64's digits stay exact.
        peer.send(
            r#"{"data":[{"p":7296.890000000000001,"s":"TSLA","t":1575526691134,"v":0.011467}],
            "type":"trade"}"#,
        )
        .await;
        assert_eq!(
            peer.recv().await,
            r#"{"type":"unsubscribe","symbol":"TSLA"}"#
        );
        peer.quiet(Duration::from_millis(300)).await;
    })
    .await;
    let mut conn = connected(&fake).await;
    conn.subscribe(&trades(&["TSLA", "AAPL"])).await.unwrap();
    assert_eq!(
        conn.next().await.unwrap(),
        subscribed(trades(&["AAPL", "TSLA"]))
    );
    assert_eq!(
        conn.next().await.unwrap(),
        Vec::new(),
        "a ping is a heartbeat"
    );
    let provenance = Provenance::new(ID, ts(NOW));
    let trade = |s: &str, p: &str, t: i64, c: &[&str]| {
        StreamEvent::Trade(Trade {
            symbol: sym(s),
            price: d(p),
            size: d("1"),
            at: Timestamp::from_millisecond(t).unwrap(),
            id: None,
            exchange: None,
            conditions: c.iter().map(|c| (*c).to_owned()).collect(),
            provenance: provenance.clone(),
        })
    };
    assert_eq!(
        conn.next().await.unwrap(),
        vec![
            trade("TSLA", "122.1", 1_672_348_887_195, &["1", "8", "24", "12"]),
            trade("AAPL", "129.575", 1_672_348_887_785, &["1", "24", "12"]),
        ]
    );
    let events = conn.next().await.unwrap();
    let [StreamEvent::Trade(t)] = &events[..] else {
        panic!("{events:?}");
    };
    assert_eq!(t.price.to_string(), "7296.890000000000001");
    assert_eq!(t.size.to_string(), "0.011467");
    assert_eq!(t.at, ts("2019-12-05T06:18:11.134Z"));
    assert!(t.conditions.is_empty());
    conn.unsubscribe(&trades(&["TSLA", "MSFT"])).await.unwrap();
    assert_eq!(conn.next().await.unwrap(), subscribed(trades(&["AAPL"])));
    fake.done().await;
}

#[tokio::test]
async fn the_token_travels_in_the_query_and_nowhere_else() {
    let fake = serve(|mut peer| async move {
        peer.quiet(Duration::from_millis(200)).await;
    })
    .await;
    let src = source(config(&fake));
    let conn = src.connect().await.unwrap();
    let shown = format!("{src:?} {conn:?} {:?}", config(&fake));
    let seen = fake.done().await;
    assert_eq!(seen.uri, format!("/?token={FH_KEY}"));
    assert!(seen.headers.iter().all(|(_, v)| !v.contains(FH_KEY)));
    assert!(!shown.contains(FH_KEY), "{shown}");
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Every `log` record of the process (tungstenite logs through `log`, not `tracing`).
struct LogCapture(Mutex<Vec<u8>>);

impl log::Log for LogCapture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        let _ = writeln!(
            self.0.lock().unwrap(),
            "{} {}",
            record.target(),
            record.args()
        );
    }
    fn flush(&self) {}
}

fn log_capture() -> &'static LogCapture {
    static CAPTURE: OnceLock<&'static LogCapture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture: &'static LogCapture = Box::leak(Box::new(LogCapture(Mutex::new(Vec::new()))));
        let _ = log::set_logger(capture);
        log::set_max_level(log::LevelFilter::Trace);
        capture
    })
}

#[tokio::test]
async fn the_token_is_in_no_error_no_log_line_and_no_debug_output() {
    let logs = log_capture();
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(capture.clone())
        .with_ansi(false)
        .json()
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let mut shown = String::new();

    // Refused at the upgrade, with a body that echoes the token.
    let fake = refuse(401, format!(r#"{{"error":"Invalid API key {FH_KEY}."}}"#)).await;
    let err = source(config(&fake)).connect().await.unwrap_err();
    assert_eq!(err, FetchError::Unauthorized);
    shown.push_str(&format!("{err} {err:?} "));
    fake.done().await;
    let fake = refuse(403, format!(r#"{{"error":"No access for {FH_KEY}"}}"#)).await;
    let err = source(config(&fake)).connect().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::EntitlementDenied);
    shown.push_str(&format!("{err} {err:?} "));
    fake.done().await;

    // Nobody listening; then a connection that succeeds, is told off and closed.
    let config_nobody = FinnhubStreamConfig {
        stream_url: nobody().await,
        ..FinnhubStreamConfig::new(SecretString::from(FH_KEY))
    };
    let err = source(config_nobody).connect().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport);
    shown.push_str(&format!("{err} {err:?} "));
    let fake = serve(|mut peer| async move {
        peer.recv().await;
        peer.send(&format!(
            r#"{{"type":"error","msg":"Invalid API key {FH_KEY}"}}"#
        ))
        .await;
        peer.close(CloseCode::Policy, &format!("bad token {FH_KEY}"))
            .await;
    })
    .await;
    let mut conn = connected(&fake).await;
    conn.subscribe(&trades(&["AAPL"])).await.unwrap();
    conn.next().await.unwrap();
    let err = conn.next().await.unwrap_err();
    assert_eq!(err, FetchError::Unauthorized);
    shown.push_str(&format!("{err} {err:?} {conn:?}"));
    fake.done().await;

    let logged = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let logged_log = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logged.contains("stream refused"), "{logged}");
    assert!(logged.contains("token=REDACTED"), "{logged}");
    for (what, text) in [
        ("errors", &shown),
        ("tracing", &logged),
        ("log", &logged_log),
    ] {
        assert!(
            !text.contains(FH_KEY),
            "the token leaked into {what}: {text}"
        );
    }
}

#[tokio::test]
async fn error_messages_are_classified_and_end_the_connection() {
    let cases = [
        ("Subscribing to too many symbols", ErrorKind::InvalidRequest),
        ("Invalid API key", ErrorKind::Unauthorized),
        (
            "You don't have access to this resource.",
            ErrorKind::EntitlementDenied,
        ),
        ("Something went wrong", ErrorKind::ProviderUnavailable),
    ];
    for (msg, kind) in cases {
        let fake = serve(move |mut peer| async move {
            peer.send(&format!(r#"{{"msg":"{msg}","type":"error"}}"#))
                .await;
            peer.quiet(Duration::from_millis(200)).await;
        })
        .await;
        let mut conn = connected(&fake).await;
        let err = conn.next().await.unwrap_err();
        assert_eq!(err.kind(), kind, "{msg}: {err}");
        assert_eq!(
            conn.next().await.unwrap_err(),
            err,
            "{msg}: the connection is over"
        );
        fake.done().await;
    }
}

#[tokio::test]
async fn channels_and_symbols_past_the_plan_are_refused_before_sending() {
    let fake = serve(|mut peer| async move {
        for _ in 0..50 {
            peer.recv().await;
        }
        peer.quiet(Duration::from_millis(400)).await;
    })
    .await;
    let mut conn = connected(&fake).await;
    let quotes = Subscription {
        quotes: BTreeSet::from([sym("AAPL")]),
        ..Subscription::default()
    };
    let err = conn.subscribe(&quotes).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{err}");
    let names: Vec<String> = (0..51).map(|i| format!("S{i:03}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let err = conn.subscribe(&trades(&refs)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{err}");
    assert!(err.to_string().contains("at most 50"), "{err}");
    conn.subscribe(&trades(&refs[..50])).await.unwrap();
    let err = conn.subscribe(&trades(&refs[50..])).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{err}");
    let caps = source(config(&fake)).stream_capabilities();
    assert_eq!(caps.channels, vec![Channel::Trades]);
    assert_eq!(caps.max_symbols, Some(50));
    assert_eq!(caps.max_connections, Some(1));
    let seen = fake.done().await;
    assert_eq!(seen.received.len(), 50);
}

#[tokio::test]
async fn malformed_frames_are_refused_and_the_connection_goes_on() {
    let fake = serve(|mut peer| async move {
        for frame in [
            "not json",
            r#"[{"type":"trade"}]"#,
            r#"{"type":"quote","data":[]}"#,
            r#"{"data":[{"p":"x","s":"AAPL","t":1,"v":1}],"type":"trade"}"#,
            r#"{"data":[{"p":1,"s":"AAPL","t":99999999999999999,"v":1}],"type":"trade"}"#,
            // Crypto and forex symbols are no stockdata Symbol.
            r#"{"data":[{"p":7296.89,"s":"BINANCE:BTCUSDT","t":1575526691134,"v":0.011467}],
            "type":"trade"}"#,
        ] {
            peer.send(frame).await;
        }
        peer.send(TRADES).await;
        peer.quiet(Duration::from_millis(200)).await;
    })
    .await;
    let mut conn = connected(&fake).await;
    for _ in 0..6 {
        let err = conn.next().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Malformed, "{err}");
    }
    assert_eq!(conn.next().await.unwrap().len(), 2);
    fake.done().await;
}

#[tokio::test]
async fn a_close_frame_and_a_dropped_connection_end_the_stream() {
    let fake = serve(|peer| async move {
        peer.close(CloseCode::Restart, "restarting").await;
    })
    .await;
    let mut conn = connected(&fake).await;
    assert_eq!(
        conn.next().await.unwrap_err(),
        FetchError::ProviderUnavailable { status: None }
    );
    fake.done().await;
    let fake = serve(|peer| async move {
        peer.drop_tcp();
    })
    .await;
    let mut conn = connected(&fake).await;
    let err = conn.next().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    let err = conn.subscribe(&trades(&["AAPL"])).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    fake.done().await;
}

#[tokio::test]
async fn settings_validate_the_stream_url_and_point_the_sandbox_at_its_fixed_path() {
    use stockdata_adapters_http::finnhub::DESCRIPTOR;
    use stockdata_adapters_http::provider::{BuildContext, ProviderDescriptor as _};
    use stockdata_adapters_http::transport::PacerRegistry;

    let view: serde_json::Value =
        serde_json::from_str(DESCRIPTOR.default_settings().view().get()).unwrap();
    assert_eq!(view["stream_url"], "wss://ws.finnhub.io/");
    let err = DESCRIPTOR
        .settings(
            serde_json::json!({ "stream_url": format!("wss://ws.finnhub.io?token={FH_KEY}") }),
        )
        .unwrap_err();
    assert_eq!(err.key, "stream_url");
    assert!(err.message.contains("query"), "{err}");

    // The sandbox's Finnhub dialect at http://HOST:PORT/finnhub streams at
    // ws://HOST:PORT/finnhub/stream, the token appended as for the real one.
    let fake = serve(|mut peer| async move {
        peer.quiet(Duration::from_millis(200)).await;
    })
    .await;
    let base = fake.url.join("/finnhub").unwrap();
    let base = url::Url::parse(&base.as_str().replacen("ws://", "http://", 1)).unwrap();
    let sandbox = DESCRIPTOR.default_settings().for_sandbox(base);
    let pacers = PacerRegistry::new();
    let ctx = BuildContext {
        pacers: &pacers,
        clock: clock(NOW),
    };
    let built = sandbox.build_stream(&ctx).unwrap().unwrap();
    assert_eq!(built.provider(), ID);
    built.connect().await.unwrap();
    let seen = fake.done().await;
    assert_eq!(seen.uri, "/finnhub/stream?token=sandbox-key");
    let view = sandbox.view().get().to_owned();
    assert!(!view.contains("sandbox-key"), "{view}");
}
