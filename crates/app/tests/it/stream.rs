//! `Streams`, through the stream port only: fakes implement `StreamSource` and
//! `StreamConnection`; the test scripts what the provider sends and when it breaks.

use std::collections::BTreeSet;
use std::str::FromStr as _;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use stockdata_app::domain::stream::{
    CancelAction, Channel, StreamEvent, StreamState, Subscription, Trade, TradeCancel,
    TradeCorrection, TradeTerms,
};
use stockdata_app::domain::{Decimal, FetchError, Provenance, ProviderId, Symbol, Timestamp};
use stockdata_app::ports::FixedClock;
use stockdata_app::ports::stream::{StreamCapabilities, StreamConnection, StreamSource};
use stockdata_app::stream::{Overflow, ReaderOptions, Reconnect, Streams};
use tokio::sync::mpsc;

/// What the fake provider sends on the current connection: the events of one frame, or an
/// error (the connection breaks unless it is `Malformed`).
type Frame = Result<Vec<StreamEvent>, FetchError>;

/// What the fake provider was asked, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    Connect,
    Subscribe(Subscription),
    Unsubscribe(Subscription),
}

#[derive(Debug)]
struct Fake {
    id: &'static str,
    channels: Vec<Channel>,
    max_symbols: Option<usize>,
    calls: Arc<Mutex<Vec<Call>>>,
    /// Each connection takes the next receiver; the test holds the senders.
    frames: Mutex<Vec<mpsc::UnboundedReceiver<Frame>>>,
    /// Errors the next connects answer, in order.
    refuse: Mutex<Vec<FetchError>>,
    connects: AtomicU32,
}

impl Fake {
    fn new(
        id: &'static str,
        channels: &[Channel],
    ) -> (Arc<Self>, Vec<mpsc::UnboundedSender<Frame>>) {
        let (mut txs, mut rxs) = (Vec::new(), Vec::new());
        for _ in 0..8 {
            let (tx, rx) = mpsc::unbounded_channel();
            txs.push(tx);
            rxs.push(rx);
        }
        rxs.reverse();
        let fake = Arc::new(Self {
            id,
            channels: channels.to_vec(),
            max_symbols: None,
            calls: Arc::default(),
            frames: Mutex::new(rxs),
            refuse: Mutex::default(),
            connects: AtomicU32::new(0),
        });
        (fake, txs)
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait]
impl StreamSource for Fake {
    fn provider(&self) -> ProviderId {
        ProviderId::from_static(self.id)
    }

    fn stream_capabilities(&self) -> StreamCapabilities {
        StreamCapabilities {
            channels: self.channels.clone(),
            max_symbols: self.max_symbols,
            max_connections: Some(1),
            idle_timeout: Duration::from_secs(30),
        }
    }

    async fn connect(&self) -> Result<Box<dyn StreamConnection>, FetchError> {
        self.calls.lock().unwrap().push(Call::Connect);
        self.connects.fetch_add(1, Ordering::SeqCst);
        if let Some(e) = self.refuse.lock().unwrap().pop() {
            return Err(e);
        }
        let frames = self
            .frames
            .lock()
            .unwrap()
            .pop()
            .expect("a script per connection");
        Ok(Box::new(FakeConn {
            calls: Arc::clone(&self.calls),
            frames,
        }))
    }
}

#[derive(Debug)]
struct FakeConn {
    calls: Arc<Mutex<Vec<Call>>>,
    frames: mpsc::UnboundedReceiver<Frame>,
}

#[async_trait]
impl StreamConnection for FakeConn {
    async fn subscribe(&mut self, add: &Subscription) -> Result<(), FetchError> {
        self.calls
            .lock()
            .unwrap()
            .push(Call::Subscribe(add.clone()));
        Ok(())
    }

    async fn unsubscribe(&mut self, remove: &Subscription) -> Result<(), FetchError> {
        self.calls
            .lock()
            .unwrap()
            .push(Call::Unsubscribe(remove.clone()));
        Ok(())
    }

    async fn next(&mut self) -> Result<Vec<StreamEvent>, FetchError> {
        match self.frames.recv().await {
            Some(frame) => frame,
            // The script's sender is gone: the connection stays quiet.
            None => std::future::pending().await,
        }
    }
}

fn sym(s: &str) -> Symbol {
    Symbol::parse(s).unwrap()
}

fn trade(symbol: &str, price: &str) -> StreamEvent {
    StreamEvent::Trade(Trade {
        symbol: sym(symbol),
        price: Decimal::from_str(price).unwrap(),
        size: Decimal::ONE,
        at: Timestamp::from_second(1_709_913_600).unwrap(),
        id: None,
        exchange: None,
        conditions: Vec::new(),
        provenance: Provenance::new(ProviderId::from_static("alpaca"), Timestamp::UNIX_EPOCH),
    })
}

fn streams(sources: Vec<Arc<dyn StreamSource>>) -> Streams {
    Streams::new(
        sources,
        Arc::new(FixedClock(Timestamp::from_second(1_709_913_600).unwrap())),
        Reconnect {
            base: Duration::from_millis(1),
            max: Duration::from_millis(5),
        },
    )
}

fn sub(symbols: &[&str], channels: &[Channel]) -> Subscription {
    let symbols: Vec<Symbol> = symbols.iter().map(|s| sym(s)).collect();
    Subscription::new(&symbols, channels.iter().copied())
}

/// The next event within a second, as (kind, symbol or state) text.
async fn next(reader: &mut stockdata_app::stream::Reader) -> Option<String> {
    let event = tokio::time::timeout(Duration::from_secs(2), reader.next())
        .await
        .expect("an event within two seconds")?;
    Some(match event.event() {
        StreamEvent::Trade(t) => format!("trade {} {}", t.symbol, t.price),
        StreamEvent::Cancel(c) => format!("cancel {} {}", c.symbol, c.id),
        StreamEvent::Correction(c) => format!("correction {} {}", c.symbol, c.original.id),
        StreamEvent::Quote(q) => format!("quote {}", q.symbol),
        StreamEvent::Bar(b) => format!("bar {}", b.symbol),
        StreamEvent::Status(s) => match &s.state {
            StreamState::Connected => format!("connected {}", s.provider),
            StreamState::Subscribed(_) => "subscribed".to_owned(),
            StreamState::Reconnecting {
                attempt, reason, ..
            } => {
                format!("reconnecting {attempt} {}", reason.kind().as_str())
            }
            StreamState::Dropped { dropped } => format!("dropped {dropped}"),
            StreamState::Closed { reason } => format!(
                "closed {}",
                reason.as_ref().map_or("asked", |r| r.kind().as_str())
            ),
        },
    })
}

/// Waits until `fake` has been asked `n` things.
async fn calls(fake: &Fake, n: usize) -> Vec<Call> {
    for _ in 0..200 {
        if fake.calls().len() >= n {
            return fake.calls();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("expected {n} calls, got {:?}", fake.calls());
}

#[tokio::test]
async fn readers_share_one_connection_subscribed_to_what_they_want_together() {
    let (fake, frames) = Fake::new("alpaca", &Channel::ALL);
    let streams = streams(vec![fake.clone()]);
    let mut a = streams
        .open(sub(&["AAPL"], &[Channel::Trades]), ReaderOptions::default())
        .unwrap();
    assert_eq!(next(&mut a).await.as_deref(), Some("connected alpaca"));
    calls(&fake, 2).await;
    let mut b = streams
        .open(
            sub(&["AAPL", "MSFT"], &[Channel::Trades, Channel::Bars]),
            ReaderOptions::default(),
        )
        .unwrap();
    let seen = calls(&fake, 3).await;
    assert_eq!(
        seen,
        [
            Call::Connect,
            Call::Subscribe(sub(&["AAPL"], &[Channel::Trades])),
            Call::Subscribe({
                let mut s = sub(&["MSFT"], &[Channel::Trades]);
                s.bars = BTreeSet::from([sym("AAPL"), sym("MSFT")]);
                s
            }),
        ],
        "one connection; the second reader adds only what was not asked yet"
    );
    frames[0]
        .send(Ok(vec![trade("MSFT", "410.01"), trade("AAPL", "170.5")]))
        .unwrap();
    assert_eq!(
        next(&mut a).await.as_deref(),
        Some("trade AAPL 170.5"),
        "MSFT is not a's"
    );
    assert_eq!(
        next(&mut b).await.as_deref(),
        Some("connected alpaca"),
        "a reader joining a live connection is told it is live"
    );
    assert_eq!(next(&mut b).await.as_deref(), Some("trade MSFT 410.01"));
    assert_eq!(next(&mut b).await.as_deref(), Some("trade AAPL 170.5"));

    // The first reader leaves: what only it wanted is nothing (b wants AAPL trades too).
    drop(a);
    frames[0].send(Ok(vec![trade("AAPL", "170.6")])).unwrap();
    assert_eq!(next(&mut b).await.as_deref(), Some("trade AAPL 170.6"));
    assert_eq!(fake.calls().len(), 3, "nothing to unsubscribe yet");
    // The last one leaves: unsubscribed, and the connection is let go.
    drop(b);
    let seen = calls(&fake, 4).await;
    assert!(
        matches!(&seen[3], Call::Unsubscribe(s) if s.symbols().len() == 2),
        "{seen:?}"
    );
    let stats = streams.stats();
    assert_eq!(stats[0].1.connects, 1);
    assert_eq!(stats[0].1.received, 3);
    assert_eq!(
        stats[0].1.delivered,
        4 + 2,
        "two connected statuses, four trades"
    );
    assert_eq!(stats[0].1.dropped, 0);
}

#[tokio::test]
async fn a_lost_connection_is_reconnected_and_resubscribed_and_readers_are_told() {
    let (fake, frames) = Fake::new("alpaca", &Channel::ALL);
    let streams = streams(vec![fake.clone()]);
    let mut r = streams
        .open(
            sub(&["AAPL", "MSFT"], &[Channel::Trades]),
            ReaderOptions::default(),
        )
        .unwrap();
    assert_eq!(next(&mut r).await.as_deref(), Some("connected alpaca"));
    frames[0].send(Ok(vec![trade("AAPL", "1")])).unwrap();
    assert_eq!(next(&mut r).await.as_deref(), Some("trade AAPL 1"));
    // A dead connection (the adapter's idle timeout), then a refused reconnect.
    fake.refuse.lock().unwrap().push(FetchError::Transport {
        detail: "connection refused".into(),
    });
    frames[0].send(Err(FetchError::Timeout)).unwrap();
    assert_eq!(
        next(&mut r).await.as_deref(),
        Some("reconnecting 1 timeout")
    );
    assert_eq!(
        next(&mut r).await.as_deref(),
        Some("reconnecting 2 transport")
    );
    assert_eq!(next(&mut r).await.as_deref(), Some("connected alpaca"));
    frames[1].send(Ok(vec![trade("MSFT", "2")])).unwrap();
    assert_eq!(next(&mut r).await.as_deref(), Some("trade MSFT 2"));
    let seen = fake.calls();
    let subscribes: Vec<&Call> = seen
        .iter()
        .filter(|c| matches!(c, Call::Subscribe(_)))
        .collect();
    assert_eq!(
        subscribes,
        [
            &Call::Subscribe(sub(&["AAPL", "MSFT"], &[Channel::Trades])),
            &Call::Subscribe(sub(&["AAPL", "MSFT"], &[Channel::Trades])),
        ],
        "resubscribed to the same: {seen:?}"
    );
    assert_eq!(fake.connects.load(Ordering::SeqCst), 3);
    assert_eq!(streams.stats()[0].1.reconnects, 2);

    // After data flowed again, the next loss starts from attempt 1.
    frames[1]
        .send(Err(FetchError::ProviderUnavailable { status: None }))
        .unwrap();
    assert_eq!(
        next(&mut r).await.as_deref(),
        Some("reconnecting 1 provider_unavailable")
    );
}

#[tokio::test]
async fn credentials_refused_end_the_stream_for_every_reader() {
    let (fake, frames) = Fake::new("alpaca", &Channel::ALL);
    let streams = streams(vec![fake.clone()]);
    let mut a = streams
        .open(sub(&["AAPL"], &[Channel::Trades]), ReaderOptions::default())
        .unwrap();
    let mut b = streams
        .open(sub(&["MSFT"], &[Channel::Quotes]), ReaderOptions::default())
        .unwrap();
    frames[0].send(Err(FetchError::Unauthorized)).unwrap();
    for r in [&mut a, &mut b] {
        let mut seen = Vec::new();
        while let Some(e) = next(r).await {
            seen.push(e);
        }
        assert_eq!(
            seen.last().map(String::as_str),
            Some("closed unauthorized"),
            "{seen:?}"
        );
    }
    assert_eq!(fake.connects.load(Ordering::SeqCst), 1, "never retried");
}

#[tokio::test]
async fn a_malformed_frame_is_counted_and_the_stream_goes_on() {
    let (fake, frames) = Fake::new("alpaca", &Channel::ALL);
    let streams = streams(vec![fake.clone()]);
    let mut r = streams
        .open(sub(&["AAPL"], &[Channel::Trades]), ReaderOptions::default())
        .unwrap();
    assert_eq!(next(&mut r).await.as_deref(), Some("connected alpaca"));
    frames[0]
        .send(Err(FetchError::Malformed {
            detail: "p is not a number".into(),
        }))
        .unwrap();
    frames[0].send(Ok(vec![trade("AAPL", "3")])).unwrap();
    assert_eq!(next(&mut r).await.as_deref(), Some("trade AAPL 3"));
    assert_eq!(streams.stats()[0].1.malformed, 1);
    assert_eq!(fake.connects.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn cancels_and_corrections_reach_trade_readers_as_exact_records() {
    let (fake, frames) = Fake::new("alpaca", &Channel::ALL);
    let streams = streams(vec![fake.clone()]);
    let mut trades = streams
        .open(sub(&["EEM"], &[Channel::Trades]), ReaderOptions::default())
        .unwrap();
    let mut quotes = streams
        .open(sub(&["EEM"], &[Channel::Quotes]), ReaderOptions::default())
        .unwrap();
    assert_eq!(next(&mut trades).await.as_deref(), Some("connected alpaca"));
    assert_eq!(next(&mut quotes).await.as_deref(), Some("connected alpaca"));
    let at = Timestamp::from_str("2023-04-06T14:25:06.542305024Z").unwrap();
    let provenance = Provenance::new(ProviderId::from_static("alpaca"), at);
    let terms = |id, price: &str| TradeTerms {
        id,
        price: Decimal::from_str(price).unwrap(),
        size: Decimal::from(440_000),
        conditions: vec![" ".to_owned(), "7".to_owned()],
    };
    frames[0]
        .send(Ok(vec![
            StreamEvent::Correction(TradeCorrection {
                symbol: sym("EEM"),
                exchange: Some("M".to_owned()),
                original: terms(52_983_525_033_527, "39.1582"),
                corrected: terms(52_983_525_034_326, "39.18090"),
                at,
                provenance: provenance.clone(),
            }),
            StreamEvent::Cancel(TradeCancel {
                symbol: sym("EEM"),
                id: 465,
                price: Decimal::from_str("105.31").unwrap(),
                size: Decimal::from(300),
                action: CancelAction::Error,
                exchange: None,
                at,
                provenance,
            }),
            trade("EEM", "39.2"),
        ]))
        .unwrap();
    let mut records = Vec::new();
    for _ in 0..3 {
        let event = tokio::time::timeout(Duration::from_secs(2), trades.next())
            .await
            .unwrap()
            .unwrap();
        records.push(event.json().to_owned());
    }
    assert_eq!(
        records[..2],
        [
            concat!(
                r#"{"type":"correction","symbol":"EEM","exchange":"M","#,
                r#""original":{"id":52983525033527,"price":39.1582,"size":440000,"#,
                r#""conditions":[" ","7"]},"corrected":{"id":52983525034326,"price":39.1809,"#,
                r#""size":440000,"conditions":[" ","7"]},"at":"2023-04-06T14:25:06.542305024Z","#,
                r#""provider":"alpaca","synthetic":false}"#
            ),
            concat!(
                r#"{"type":"cancel","symbol":"EEM","id":465,"price":105.31,"size":300,"#,
                r#""action":"error","at":"2023-04-06T14:25:06.542305024Z","#,
                r#""provider":"alpaca","synthetic":false}"#
            ),
        ]
    );
    assert!(records[2].starts_with(r#"{"type":"trade","symbol":"EEM""#));
    // They are on the trades channel: a quotes reader of the symbol hears none of them.
    assert!(
        tokio::time::timeout(Duration::from_millis(100), quotes.next())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_reader_that_falls_behind_loses_the_oldest_and_is_told_how_many() {
    let (fake, frames) = Fake::new("alpaca", &Channel::ALL);
    let streams = streams(vec![fake.clone()]);
    let mut slow = streams
        .open(
            sub(&["AAPL"], &[Channel::Trades]),
            ReaderOptions {
                buffer: 4,
                overflow: Overflow::DropOldest,
            },
        )
        .unwrap();
    let mut fast = streams
        .open(sub(&["AAPL"], &[Channel::Trades]), ReaderOptions::default())
        .unwrap();
    calls(&fake, 2).await;
    let batch: Vec<StreamEvent> = (1..=10).map(|i| trade("AAPL", &i.to_string())).collect();
    frames[0].send(Ok(batch)).unwrap();
    // The fast reader gets everything, whatever the slow one does.
    assert_eq!(next(&mut fast).await.as_deref(), Some("connected alpaca"));
    for i in 1..=10 {
        assert_eq!(next(&mut fast).await, Some(format!("trade AAPL {i}")));
    }
    // connected + 10 trades into 4 slots: 7 dropped, said first, then the newest four.
    assert_eq!(next(&mut slow).await.as_deref(), Some("dropped 7"));
    for i in 7..=10 {
        assert_eq!(next(&mut slow).await, Some(format!("trade AAPL {i}")));
    }
    assert_eq!(slow.dropped(), 7);
    assert_eq!(streams.stats()[0].1.dropped, 7);
}

#[tokio::test]
async fn a_reader_that_cannot_keep_up_is_let_go_with_a_last_event() {
    let (fake, frames) = Fake::new("alpaca", &Channel::ALL);
    let streams = streams(vec![fake.clone()]);
    let mut slow = streams
        .open(
            sub(&["AAPL"], &[Channel::Trades]),
            ReaderOptions {
                buffer: 4,
                overflow: Overflow::Disconnect,
            },
        )
        .unwrap();
    let mut fast = streams
        .open(sub(&["AAPL"], &[Channel::Trades]), ReaderOptions::default())
        .unwrap();
    calls(&fake, 2).await;
    frames[0]
        .send(Ok((1..=10)
            .map(|i| trade("AAPL", &i.to_string()))
            .collect()))
        .unwrap();
    assert_eq!(next(&mut fast).await.as_deref(), Some("connected alpaca"));
    for i in 1..=10 {
        assert_eq!(next(&mut fast).await, Some(format!("trade AAPL {i}")));
    }
    // Everything was routed: the slow reader, four behind, was let go with a last word.
    assert_eq!(next(&mut slow).await.as_deref(), Some("closed transport"));
    assert_eq!(next(&mut slow).await, None);
}

#[tokio::test]
async fn each_channel_goes_to_the_first_source_that_streams_it_within_its_limits() {
    let (finnhub, _f) = Fake::new("finnhub", &[Channel::Trades]);
    let (mut alpaca, _a) = Fake::new("alpaca", &Channel::ALL);
    Arc::get_mut(&mut alpaca).unwrap().max_symbols = Some(2);
    let both = streams(vec![finnhub.clone(), alpaca.clone()]);
    let plan = both
        .plan(&sub(&["AAPL", "MSFT"], &[Channel::Trades, Channel::Quotes]))
        .unwrap();
    assert_eq!(
        plan,
        [
            (
                ProviderId::from_static("finnhub"),
                sub(&["AAPL", "MSFT"], &[Channel::Trades])
            ),
            (
                ProviderId::from_static("alpaca"),
                sub(&["AAPL", "MSFT"], &[Channel::Quotes])
            ),
        ]
    );
    let err = both
        .plan(&sub(&["AAPL", "MSFT", "NVDA"], &[Channel::Bars]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("alpaca streams at most 2 symbols"), "{err}");

    let only_finnhub = streams(vec![finnhub]);
    let err = only_finnhub
        .plan(&sub(&["AAPL"], &[Channel::Quotes]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no configured provider streams quotes") && err.contains("APCA_API_KEY_ID"),
        "{err}"
    );
    let err = only_finnhub
        .plan(&Subscription::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("nothing to stream"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// `serve`: GET /v1/stream

use crate::serve::{TOKEN, client, config as serve_config, start_with};

/// One Server-Sent Event: its `event`, `id` and `data` (parsed).
#[derive(Debug)]
struct Sse {
    event: String,
    id: u64,
    data: serde_json::Value,
}

/// Reads a `text/event-stream` body event by event.
struct SseReader {
    response: reqwest::Response,
    buffer: String,
}

impl SseReader {
    async fn open(base: &str, query: &str) -> Self {
        let response = client()
            .get(format!("{base}/v1/stream?{query}"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next event, or `None` when the stream ended.
    async fn next(&mut self) -> Option<Sse> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut event, mut id, mut data) = (String::new(), 0, String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event: ") {
                        event = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("id: ") {
                        id = v.parse().unwrap();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    }
                }
                if event.is_empty() {
                    continue; // a keep-alive comment
                }
                let data = serde_json::from_str(&data).unwrap();
                return Some(Sse { event, id, data });
            }
            let chunk = tokio::time::timeout(Duration::from_secs(5), self.response.chunk())
                .await
                .expect("an event within five seconds")
                .unwrap()?;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

fn serving(fake: Arc<Fake>) -> stockdata_app::StockData {
    stockdata_app::StockData::builder()
        .stream_source(fake)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_share_one_upstream_subscription_and_get_exact_records() {
    let (fake, frames) = Fake::new("alpaca", &Channel::ALL);
    let s = start_with(serving(fake.clone()), serve_config(), Default::default()).await;
    let mut a = SseReader::open(&s.base, "symbols=AAPL&events=trades").await;
    calls(&fake, 2).await;
    let mut b = SseReader::open(&s.base, "symbols=AAPL,MSFT&events=trades").await;
    let first = a.next().await.unwrap();
    assert_eq!((first.event.as_str(), first.id), ("status", 1));
    assert_eq!(first.data["state"], "connected");
    assert_eq!(b.next().await.unwrap().data["state"], "connected");
    calls(&fake, 3).await;
    frames[0]
        .send(Ok(vec![trade("MSFT", "410.0100"), trade("AAPL", "170.5")]))
        .unwrap();
    let t = a.next().await.unwrap();
    assert_eq!((t.event.as_str(), t.id), ("trade", 2));
    assert_eq!(t.data["symbol"], "AAPL");
    assert_eq!(
        t.data["price"].to_string(),
        "170.5",
        "exact digits: {}",
        t.data
    );
    assert_eq!(t.data["at"], "2024-03-08T16:00:00Z");
    let t = b.next().await.unwrap();
    assert_eq!(
        (t.data["symbol"].as_str(), t.data["price"].to_string()),
        (Some("MSFT"), "410.01".into())
    );
    assert_eq!(
        fake.connects.load(Ordering::SeqCst),
        1,
        "one upstream connection"
    );

    // The metrics say what the stream did.
    let text = client()
        .get(format!("{}/metrics", s.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        r#"stockdata_stream_connected{provider="alpaca"} 1"#,
        r#"stockdata_stream_readers{provider="alpaca"} 2"#,
        r#"stockdata_stream_events_received_total{provider="alpaca"} 2"#,
    ] {
        assert!(text.contains(line), "{line} in:\n{text}");
    }
    s.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_does_not_read_is_let_go_and_never_stalls_the_others() {
    let (fake, frames) = Fake::new("alpaca", &Channel::ALL);
    let config = stockdata_app::config::ServeConfig {
        stream_buffer: 64,
        ..serve_config()
    };
    let s = start_with(serving(fake.clone()), config, Default::default()).await;
    let mut fast = SseReader::open(&s.base, "symbols=AAPL&events=trades").await;
    let mut stalled = SseReader::open(&s.base, "symbols=AAPL&events=trades").await;
    calls(&fake, 2).await;
    // Far more than the sockets between the server and a client that reads nothing hold,
    // in frames the fast client reads as they come.
    const N: usize = 60_000;
    const FRAME: usize = 32;
    let price = |i: usize| format!("{}.{:02}", 100 + i / 100, i % 100);
    assert_eq!(fast.next().await.unwrap().data["state"], "connected");
    for start in (0..N).step_by(FRAME) {
        frames[0]
            .send(Ok((start..start + FRAME)
                .map(|i| trade("AAPL", &price(i)))
                .collect()))
            .unwrap();
        for i in start..start + FRAME {
            let e = fast.next().await.unwrap();
            let want = price(i);
            let want = want.trim_end_matches('0').trim_end_matches('.');
            assert_eq!(e.data["price"].to_string(), want, "event {i}");
        }
    }
    // The stalled client, once it reads: what the sockets held, then a last word, then the end.
    let mut last = None;
    while let Some(e) = stalled.next().await {
        last = Some(e);
    }
    let last = last.unwrap();
    assert_eq!(last.event, "status");
    assert_eq!(last.data["state"], "closed", "{:?}", last.data);
    assert!(
        last.data["error"]["message"]
            .as_str()
            .unwrap()
            .contains("slow reader"),
        "{:?}",
        last.data
    );
    assert!(streams_dropped(&s.base).await > 0);
    s.shutdown.cancel();
}

async fn streams_dropped(base: &str) -> u64 {
    let text = client()
        .get(format!("{base}/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| {
            l.strip_prefix(r#"stockdata_stream_events_dropped_total{provider="alpaca"} "#)
        })
        .map_or(0, |v| v.parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_stream_requests_are_refused_before_any_provider_is_asked() {
    let (fake, _frames) = Fake::new("finnhub", &[Channel::Trades]);
    let config = stockdata_app::config::ServeConfig {
        max_streams: 1,
        ..serve_config()
    };
    let s = start_with(serving(fake.clone()), config, Default::default()).await;
    let get = |query: &'static str, auth: bool| {
        let base = s.base.clone();
        async move {
            let mut r = client().get(format!("{base}/v1/stream?{query}"));
            if auth {
                r = r.bearer_auth(TOKEN);
            }
            let r = r.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    assert_eq!(get("symbols=AAPL", false).await.0, 401);
    let (status, body) = get("symbols=AAPL&events=ticks", true).await;
    assert_eq!(status, 400);
    assert!(
        body.contains("events \\\"ticks\\\" is not one of trades, quotes, bars"),
        "{body}"
    );
    let (status, body) = get("symbols=AAPL&events=quotes", true).await;
    assert_eq!(status, 400);
    assert!(
        body.contains("no configured provider streams quotes"),
        "{body}"
    );
    assert_eq!(
        get("events=trades", true).await.0,
        400,
        "symbols are required"
    );
    assert_eq!(fake.connects.load(Ordering::SeqCst), 0, "nothing was asked");
    // One stream at a time: the second waits for the first to end.
    let _one = SseReader::open(&s.base, "symbols=AAPL").await;
    let (status, body) = get("symbols=MSFT", true).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("serve.max_streams"), "{body}");
    s.shutdown.cancel();

    // No stream source at all: 503 naming what to configure.
    let s = start_with(
        stockdata_app::StockData::builder().build().unwrap(),
        serve_config(),
        Default::default(),
    )
    .await;
    let r = client()
        .get(format!("{}/v1/stream?symbols=AAPL", s.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("no configured provider streams")
    );
    s.shutdown.cancel();
}

// ---------------------------------------------------------------------------------------------
// `stockdata stream`, the real binary against the sandbox

/// The NDJSON records a `stockdata stream` run wrote, after checking its exit code.
fn records(cmd: &mut assert_cmd::Command, code: i32) -> Vec<serde_json::Value> {
    let out = crate::cli::stdout(cmd.timeout(Duration::from_secs(60)), code);
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn of_type<'a>(records: &'a [serde_json::Value], kind: &str) -> Vec<&'a serde_json::Value> {
    records.iter().filter(|r| r["type"] == kind).collect()
}

#[test]
fn streamed_minute_bars_are_the_rest_bars_fetched_afterwards() {
    let streamed = records(
        crate::cli::stockdata().args([
            "--sandbox",
            "--sandbox-speed",
            "600",
            "--now",
            "2024-03-08T15:00:00Z",
            "stream",
            "AAPL",
            "NVDA",
            "--bars",
            "--limit",
            "6",
        ]),
        0,
    );
    assert_eq!(streamed[0]["state"], "connected", "{streamed:?}");
    assert_eq!(streamed[1]["state"], "subscribed");
    let bars = of_type(&streamed, "bar");
    assert_eq!(bars.len(), 6);
    let rest = crate::cli::stdout(
        crate::cli::stockdata().args([
            "--sandbox",
            "--provider",
            "alpaca",
            "--now",
            "2024-03-08T15:30:00Z",
            "bars",
            "AAPL",
            "NVDA",
            "--interval",
            "1m",
            "--from",
            "2024-03-08",
            "--to",
            "2024-03-08",
            "--format",
            "ndjson",
        ]),
        0,
    );
    let rest: Vec<serde_json::Value> = rest
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for bar in bars {
        let mut bar = bar.clone();
        bar.as_object_mut().unwrap().remove("type");
        let same = rest
            .iter()
            .find(|r| r["symbol"] == bar["symbol"] && r["start"] == bar["start"])
            .unwrap_or_else(|| panic!("no REST bar for {bar}"));
        assert_eq!(&bar, same, "field by field, decimals to the last digit");
    }
}

#[test]
fn trades_and_quotes_stream_as_exact_records_then_the_limit_ends_the_run() {
    let streamed = records(
        crate::cli::stockdata().args([
            "--sandbox",
            "--now",
            "2024-03-08T15:00:00Z",
            "stream",
            "AAPL",
            "--trades",
            "--quotes",
            "--limit",
            "40",
        ]),
        0,
    );
    let (trades, quotes) = (of_type(&streamed, "trade"), of_type(&streamed, "quote"));
    assert_eq!(trades.len() + quotes.len(), 40, "{streamed:?}");
    assert!(!trades.is_empty() && !quotes.is_empty());
    for t in &trades {
        assert_eq!(t["symbol"], "AAPL");
        assert_eq!(t["synthetic"], true);
        assert_eq!(t["provider"], "alpaca");
        let price = t["price"].to_string();
        assert!(
            price.split('.').nth(1).is_none_or(|c| c.len() <= 2),
            "whole cents: {price}"
        );
        assert!(
            t["at"].as_str().unwrap().starts_with("2024-03-08T15:00:"),
            "{t}"
        );
    }
    for q in &quotes {
        assert!(q["bid"].as_f64() < q["ask"].as_f64(), "{q}");
    }
}

/// A standalone sandbox (`stockdata sandbox serve ARGS`) at 15:00 New York time: the process
/// (killed when dropped) and its address.
struct Standalone(std::process::Child, String);

impl Drop for Standalone {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn standalone(args: &[&str]) -> Standalone {
    use std::io::BufRead as _;
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("stockdata"))
        .env_clear()
        .current_dir(crate::cli::empty_dir())
        .args([
            "--now",
            "2024-03-08T15:00:00Z",
            "sandbox",
            "serve",
            "--bind",
            "127.0.0.1:0",
        ])
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| l.split("on http://").nth(1).map(str::to_owned))
        .expect("the sandbox says where it listens");
    std::thread::spawn(move || lines.for_each(drop));
    Standalone(child, addr)
}

/// `stockdata stream` against a standalone sandbox's Alpaca stream.
fn stream_from(sandbox: &Standalone) -> assert_cmd::Command {
    let mut cmd = crate::cli::stockdata();
    cmd.env("APCA_API_KEY_ID", "sandbox-key")
        .env("APCA_API_SECRET_KEY", "sandbox-key")
        .env(
            "STOCKDATA__PROVIDERS__ALPACA__BASE_URL",
            format!("http://{}/alpaca", sandbox.1),
        )
        .env(
            "STOCKDATA__PROVIDERS__ALPACA__STREAM_URL",
            format!("ws://{}/alpaca/stream/v2", sandbox.1),
        )
        .args(["--now", "2024-03-08T15:00:00Z", "--log-format", "json"]);
    cmd
}

#[test]
fn a_dropped_connection_is_reconnected_and_the_stream_goes_on() {
    let sandbox = standalone(&["--stream-speed", "60", "--stream-disconnect-after", "25"]);
    let streamed = records(
        stream_from(&sandbox).args(["stream", "AAPL", "MSFT", "--trades", "--limit", "60"]),
        0,
    );
    let trades = of_type(&streamed, "trade");
    assert_eq!(trades.len(), 60, "{streamed:?}");
    let reconnecting: Vec<_> = of_type(&streamed, "status")
        .into_iter()
        .filter(|s| s["state"] == "reconnecting")
        .collect();
    assert!(!reconnecting.is_empty(), "{streamed:?}");
    assert_eq!(reconnecting[0]["attempt"], 1);
    assert_eq!(reconnecting[0]["provider"], "alpaca");
    assert!(
        reconnecting[0]["error"]["kind"].is_string(),
        "{}",
        reconnecting[0]
    );
    let connected = streamed
        .iter()
        .filter(|r| r["state"] == "connected")
        .count();
    assert!(
        connected >= 2,
        "connected again after the drop: {streamed:?}"
    );
}

#[test]
fn refused_credentials_end_the_stream_with_exit_2_and_never_show_the_key() {
    let sandbox = standalone(&["--stream-refuse-auth"]);
    let out = stream_from(&sandbox)
        .env("APCA_API_KEY_ID", "AKSECRETKEYID1234")
        .env("APCA_API_SECRET_KEY", "super-secret-value-9876")
        .args(["stream", "AAPL", "--trades"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("the stream ended: unauthorized"),
        "{stderr}"
    );
    assert!(stdout.contains(r#""state":"closed""#), "{stdout}");
    for secret in ["AKSECRETKEYID1234", "super-secret-value-9876"] {
        assert!(!stdout.contains(secret) && !stderr.contains(secret));
    }
}

#[test]
fn nothing_streamable_is_exit_2_saying_what_to_set() {
    let out = crate::cli::stockdata()
        .env("FINNHUB_API_KEY", "fh-key")
        .args(["stream", "AAPL", "--quotes"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no configured provider streams quotes")
            && stderr.contains("APCA_API_KEY_ID"),
        "{stderr}"
    );
}

/// `stockdata --sandbox stream AAPL --trades` with no end of its own, stdout piped and read
/// line by line on a thread.
fn endless_stream(extra: &[&str]) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    use std::io::BufRead as _;
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("stockdata"))
        .env_clear()
        .env("PACT_DO_NOT_TRACK", "true")
        .env("STOCKDATA__STORE__PATH", crate::cli::fresh_store())
        .current_dir(crate::cli::empty_dir())
        .args([
            "--sandbox",
            "--now",
            "2024-03-08T15:00:00Z",
            "stream",
            "AAPL",
        ])
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// Waits for `child` (killed after a minute); its exit code and stderr.
fn finish(mut child: std::process::Child) -> (Option<i32>, String) {
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "still running a minute after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut stderr, &mut err);
    }
    (status.code(), err)
}

#[test]
#[cfg(unix)]
fn ctrl_c_on_a_pipe_flushes_whole_records_and_exits_0() {
    let (child, lines) = endless_stream(&["--trades"]);
    let mut seen = Vec::new();
    while seen
        .iter()
        .filter(|l: &&String| l.contains("\"trade\""))
        .count()
        < 5
    {
        match lines.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => seen.push(line),
            Err(e) => panic!("no trade within a minute ({e}): {seen:?}"),
        }
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let (code, stderr) = finish(child);
    // What was read before the signal is written, each record whole, then the pipe closes.
    seen.extend(lines.iter());
    assert_eq!(code, Some(0), "stderr:\n{stderr}");
    for line in &seen {
        let record: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        assert!(record["type"].is_string(), "{record}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
#[cfg(unix)]
fn ctrl_c_at_a_terminal_ends_the_live_table_with_exit_0() {
    use expectrl::Expect as _;
    use expectrl::process::unix::WaitStatus;
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("stockdata"));
    cmd.env_clear()
        .env("COLUMNS", "100")
        .env("TERM", "xterm-256color")
        .env("PACT_DO_NOT_TRACK", "true")
        .env("STOCKDATA__STORE__PATH", crate::cli::fresh_store())
        .current_dir(crate::cli::empty_dir())
        .args([
            "--sandbox",
            "--now",
            "2024-03-08T15:00:00Z",
            "stream",
            "AAPL",
            "MSFT",
        ]);
    let mut session = expectrl::Session::spawn(cmd).unwrap();
    session.set_expect_timeout(Some(Duration::from_secs(60)));
    // Redrawn until a status line counts some events, so data is flowing when Ctrl-C comes.
    let mut screen = String::new();
    loop {
        let drawn = session.expect("Ctrl-C to stop").unwrap();
        let before = String::from_utf8_lossy(drawn.before()).into_owned();
        screen.push_str(&before);
        let counted = before
            .rfind(" events · ")
            .and_then(|end| before.get(..end))
            .and_then(|s| s.rsplit(' ').next())
            .and_then(|n| n.replace(',', "").parse::<u64>().ok());
        if counted.is_some_and(|n| n > 0) {
            break;
        }
    }
    assert!(
        screen.contains("AAPL") && screen.contains("MSFT"),
        "{screen}"
    );
    session.send("\x03").unwrap();
    let rest = session.expect(expectrl::Eof).unwrap();
    let rest = String::from_utf8_lossy(rest.as_bytes()).into_owned();
    let status = session.get_process().wait().unwrap();
    assert!(
        matches!(status, WaitStatus::Exited(_, 0)),
        "{status:?}; screen: {screen:?}{rest:?}"
    );
    // The table hid the cursor while redrawing; the terminal gets it back.
    assert!(screen.contains("\u{1b}[?25l"), "{screen:?}");
    assert!(rest.contains("\u{1b}[?25h"), "{rest:?}");
}
