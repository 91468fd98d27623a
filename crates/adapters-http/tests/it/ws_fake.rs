//! A scripted websocket provider on loopback, wiremock-style: each test writes what the
//! provider side says and expects, the adapter runs against it for real (TCP, upgrade, frames,
//! pings), and whatever the script asserted is checked when the test asks for it.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use url::Url;

/// What the provider saw of the client.
#[derive(Debug, Clone, Default)]
pub(crate) struct Seen {
    /// The upgrade request's path and query.
    pub(crate) uri: String,
    /// The upgrade request's headers, names lowercase.
    pub(crate) headers: Vec<(String, String)>,
    /// Every text message the client sent, in order.
    pub(crate) received: Vec<String>,
}

impl Seen {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The provider side of one accepted connection.
pub(crate) struct Peer {
    ws: WebSocketStream<TcpStream>,
    seen: Arc<Mutex<Seen>>,
}

impl Peer {
    /// Sends one text frame.
    pub(crate) async fn send(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.unwrap();
    }

    /// The client's next text message (pings are answered meanwhile).
    pub(crate) async fn recv(&mut self) -> String {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(5), self.ws.next())
                .await
                .expect("the client sent nothing within 5 s")
                .expect("the client closed the connection")
                .unwrap();
            if let Message::Text(text) = message {
                let text = text.as_str().to_owned();
                self.seen.lock().unwrap().received.push(text.clone());
                return text;
            }
        }
    }

    /// Reads (answering pings) for `d`; the client must send no text meanwhile.
    pub(crate) async fn quiet(&mut self, d: Duration) {
        let until = tokio::time::Instant::now() + d;
        while let Ok(next) = tokio::time::timeout_at(until, self.ws.next()).await {
            match next {
                Some(Ok(Message::Text(text))) => {
                    panic!("the client sent {text:?} when it should have sent nothing")
                }
                Some(Ok(_)) => {}
                _ => return,
            }
        }
    }

    /// Closes with a close frame.
    pub(crate) async fn close(mut self, code: CloseCode, reason: &str) {
        let _ = self
            .ws
            .close(Some(CloseFrame {
                code,
                reason: reason.into(),
            }))
            .await;
        // Let the client read the close frame before the socket goes.
        let _ = tokio::time::timeout(Duration::from_secs(2), self.ws.next()).await;
    }

    /// Drops the TCP connection without a close frame.
    pub(crate) fn drop_tcp(self) {
        drop(self.ws);
    }

    /// Keeps the connection open without reading it (so pings go unanswered) for `d`.
    pub(crate) async fn hold(self, d: Duration) {
        tokio::time::sleep(d).await;
        drop(self);
    }
}

/// A running fake provider.
pub(crate) struct Fake {
    /// `ws://127.0.0.1:PORT`
    pub(crate) url: Url,
    seen: Arc<Mutex<Seen>>,
    task: JoinHandle<()>,
}

impl Fake {
    /// `ws://127.0.0.1:PORT` + `path`.
    pub(crate) fn at(&self, path: &str) -> Url {
        self.url.join(path).unwrap()
    }

    /// Waits for the script to finish; its failed assertions fail the test here.
    pub(crate) async fn done(self) -> Seen {
        match tokio::time::timeout(Duration::from_secs(10), self.task).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Ok(Err(e)) => panic!("the fake provider failed: {e}"),
            Err(_) => panic!("the fake provider's script did not finish within 10 s"),
        }
        self.seen.lock().unwrap().clone()
    }
}

async fn listener() -> (TcpListener, Url) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    (
        listener,
        Url::parse(&format!("ws://127.0.0.1:{port}")).unwrap(),
    )
}

/// A provider that accepts one websocket connection and runs `script` on it.
pub(crate) async fn serve<F, Fut>(script: F) -> Fake
where
    F: FnOnce(Peer) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let (listener, url) = listener().await;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let record = seen.clone();
    let task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let capture = record.clone();
        #[allow(
            clippy::result_large_err,
            reason = "the signature tungstenite's accept callback has"
        )]
        let callback = move |req: &Request, resp: Response| {
            let mut seen = capture.lock().unwrap();
            seen.uri = req.uri().to_string();
            seen.headers = req
                .headers()
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            Ok(resp)
        };
        let ws = tokio_tungstenite::accept_hdr_async(tcp, callback)
            .await
            .unwrap();
        script(Peer { ws, seen: record }).await;
    });
    Fake { url, seen, task }
}

/// A server that answers the upgrade request with a plain HTTP `status` and `body`.
pub(crate) async fn refuse(status: u16, body: impl Into<String>) -> Fake {
    let body: String = body.into();
    let (listener, url) = listener().await;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let record = seen.clone();
    let task = tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut buf = [0_u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = tcp.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&head).into_owned();
        record.lock().unwrap().uri = text
            .lines()
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .unwrap_or_default()
            .to_owned();
        let answer = format!(
            "HTTP/1.1 {status} Refused\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        tcp.write_all(answer.as_bytes()).await.unwrap();
        let _ = tcp.shutdown().await;
    });
    Fake { url, seen, task }
}

/// A server that accepts TCP connections and never answers the upgrade.
pub(crate) async fn mute() -> Fake {
    let (listener, url) = listener().await;
    let task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(3)).await;
        drop(tcp);
    });
    Fake {
        url,
        seen: Arc::default(),
        task,
    }
}

/// A loopback address nobody listens on.
pub(crate) async fn nobody() -> Url {
    let (listener, url) = listener().await;
    drop(listener);
    url
}

/// Timeouts for tests: quick to fail, generous enough for a loaded 2-core machine.
pub(crate) fn quick() -> stockdata_adapters_http::stream::StreamConfig {
    stockdata_adapters_http::stream::StreamConfig {
        connect_timeout: Duration::from_secs(3),
        reply_timeout: Duration::from_secs(3),
        ping_interval: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(8),
        max_message_bytes: 1024 * 1024,
    }
}
