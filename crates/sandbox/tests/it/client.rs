//! A sandbox on a loopback port and the clients the tests drive it with: a WebSocket client
//! (tokio-tungstenite, as the stream adapters use) and a bare HTTP GET.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use jiff::Timestamp;
use serde_json::Value;
use stockdata_ports::FixedClock;
use stockdata_sandbox::{Sandbox, SandboxConfig};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub(crate) fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// A sandbox whose clock is fixed at `now`, its streams running `speed` times real time, no
/// faults; `tweak` changes the rest.
pub(crate) async fn start(
    now: &str,
    speed: f64,
    tweak: impl FnOnce(&mut SandboxConfig),
) -> Sandbox {
    let mut config = SandboxConfig::new(Arc::new(FixedClock(at(now))));
    config.stream.speed = speed;
    tweak(&mut config);
    Sandbox::start(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap()
}

/// `ws://ADDR/{path}`.
pub(crate) fn ws_url(sb: &Sandbox, path: &str) -> String {
    format!("ws://{}/{path}", sb.addr())
}

/// What a read saw.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Got {
    /// A text frame.
    Text(String),
    /// A WebSocket ping.
    Ping,
    /// A close frame.
    Closed,
    /// The connection ended without a close frame.
    Dropped,
    /// Nothing within the wait.
    Nothing,
}

/// A stream client.
#[derive(Debug)]
pub(crate) struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    /// Connects to `url` with `headers` on the upgrade request.
    pub(crate) async fn connect(url: &str, headers: &[(&'static str, &str)]) -> Self {
        Self::try_connect(url, headers).await.unwrap()
    }

    pub(crate) async fn try_connect(
        url: &str,
        headers: &[(&'static str, &str)],
    ) -> Result<Self, tokio_tungstenite::tungstenite::Error> {
        let mut request = url.into_client_request().unwrap();
        for (name, value) in headers {
            request.headers_mut().insert(*name, value.parse().unwrap());
        }
        let (ws, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(Self { ws })
    }

    pub(crate) async fn send(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.unwrap();
    }

    /// The next thing that happens within `wait`.
    pub(crate) async fn read(&mut self, wait: Duration) -> Got {
        match tokio::time::timeout(wait, self.ws.next()).await {
            Err(_) => Got::Nothing,
            Ok(Some(Ok(Message::Text(t)))) => Got::Text(t.as_str().to_owned()),
            Ok(Some(Ok(Message::Ping(_)))) => Got::Ping,
            Ok(Some(Ok(Message::Close(_)))) => Got::Closed,
            Ok(Some(Ok(other))) => panic!("unexpected frame {other:?}"),
            Ok(Some(Err(_)) | None) => Got::Dropped,
        }
    }

    /// The next text frame (pings skipped), within 5 seconds.
    pub(crate) async fn text(&mut self) -> String {
        loop {
            match self.read(Duration::from_secs(5)).await {
                Got::Text(t) => return t,
                Got::Ping => {}
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// The next text frame as JSON.
    pub(crate) async fn json(&mut self) -> Value {
        let text = self.text().await;
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    /// Whether the server ends the connection (close frame or not) within 5 seconds, frames
    /// before it ignored.
    pub(crate) async fn ends(&mut self) -> Got {
        loop {
            match self.read(Duration::from_secs(5)).await {
                Got::Text(_) | Got::Ping => {}
                end => return end,
            }
        }
    }

    pub(crate) async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// The keys of a JSON object in the order the text has them.
pub(crate) fn keys(object: &str) -> Vec<String> {
    let map: indexmap::IndexMap<String, Box<serde_json::value::RawValue>> =
        serde_json::from_str(object).unwrap();
    map.keys().cloned().collect()
}

/// `GET path` with `headers`: the status and the body.
pub(crate) async fn get(sb: &Sandbox, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut stream = TcpStream::connect(sb.addr()).await.unwrap();
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        sb.addr()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
}
