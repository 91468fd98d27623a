//! `GET /v1/stream`: live events as Server-Sent Events. Every client is one reader of the
//! instance's [`Streams`](crate::stream::Streams), so many clients share one upstream
//! subscription per symbol; each has a bounded buffer, and one that falls further behind is
//! let go with a last `status` event (`closed`, `slow reader`) rather than stalling anyone.
//!
//! Each event's JSON record is made once for every client it goes to
//! ([`LiveEvent::json`]), and whatever a client's buffer holds when it is written to goes out
//! as one chunk: a burst costs a client one write, not one per event.

use std::convert::Infallible;
use std::io::Write as _;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use futures_util::{FutureExt as _, Stream};
use stockdata_domain::stream::{StreamEvent, Subscription};
use stockdata_domain::{ErrorKind, FetchError};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, Sleep};

use super::AppState;
use super::envelope::envelope;
use super::handlers::{Answer, Refused};
use super::params::{self, Query};
use crate::stream::{LiveEvent, Overflow, Reader, ReaderOptions};

/// How long a stream may be quiet before it sends a comment, so proxies and clients know it
/// is alive.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Events written in one chunk at most (a client that was away catches up in bounded
/// writes).
const MAX_CHUNK_EVENTS: usize = 256;

pub(super) async fn stream(State(state): State<Arc<AppState>>, RawQuery(q): RawQuery) -> Answer {
    let q = Query::parse(q.as_deref());
    let symbols = params::symbols(&q, state.config.max_symbols).map_err(Refused::BadInput)?;
    let streams = state.stockdata.streams();
    if streams.is_empty() {
        return Err(Refused::NoProvider(format!(
            "no configured provider streams: configure {}; `stockdata providers` says what is \
             missing",
            crate::registry::streaming_providers()
        )));
    }
    let channels = params::channels(&q, &streams.channels()).map_err(Refused::BadInput)?;
    let Ok(permit) = Arc::clone(&state.streams).try_acquire_owned() else {
        return Ok(envelope(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::ProviderUnavailable,
            "the service streams to as many clients as it is configured for \
             (serve.max_streams): retry shortly",
            Some(Duration::from_secs(5)),
        ));
    };
    let subscription = Subscription::new(&symbols, channels);
    let reader = streams
        .open(
            subscription,
            ReaderOptions {
                buffer: state.config.stream_buffer,
                overflow: Overflow::Disconnect,
            },
        )
        .map_err(|e| match e {
            FetchError::InvalidRequest { reason } => Refused::BadInput(reason),
            other => Refused::Upstream(other),
        })?;
    Ok(sse(reader, permit))
}

/// The response: `text/event-stream`, never cached nor buffered by a proxy.
fn sse(reader: Reader, permit: OwnedSemaphorePermit) -> Response {
    let mut response = Body::from_stream(events(reader, permit)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// One client's stream and where it is.
struct Client {
    reader: Reader,
    _permit: OwnedSemaphorePermit,
    /// The last event's `id`.
    seq: u64,
    /// When a quiet stream sends its next comment.
    quiet: Pin<Box<Sleep>>,
    /// The reader ended: the chunk in hand is the last.
    ended: bool,
}

/// The client's events: each `event:` is the record's type, `id:` counts from 1, `data:` is
/// the record (docs/openapi.yaml); a `:` comment after [`KEEP_ALIVE`] of quiet. Ends when
/// the reader does; the stream slot is held until then.
fn events(
    reader: Reader,
    permit: OwnedSemaphorePermit,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send {
    let client = Client {
        reader,
        _permit: permit,
        seq: 0,
        quiet: Box::pin(tokio::time::sleep(KEEP_ALIVE)),
        ended: false,
    };
    futures_util::stream::unfold(client, |mut client| async move {
        if client.ended {
            return None;
        }
        let first = tokio::select! {
            event = client.reader.next() => event,
            () = &mut client.quiet => {
                client.quiet.as_mut().reset(Instant::now() + KEEP_ALIVE);
                return Some((Ok(Bytes::from_static(b":\n\n")), client));
            }
        };
        let first = first?;
        let mut chunk = Vec::with_capacity(512);
        client.write(&mut chunk, &first);
        // Whatever else is waiting goes in the same chunk.
        for _ in 1..MAX_CHUNK_EVENTS {
            match client.reader.next().now_or_never() {
                Some(Some(event)) => client.write(&mut chunk, &event),
                Some(None) => {
                    client.ended = true;
                    break;
                }
                None => break,
            }
        }
        client.quiet.as_mut().reset(Instant::now() + KEEP_ALIVE);
        Some((Ok(Bytes::from(chunk)), client))
    })
}

impl Client {
    /// Appends `event` as one SSE event.
    fn write(&mut self, chunk: &mut Vec<u8>, event: &LiveEvent) {
        self.seq += 1;
        let name = match event.event() {
            StreamEvent::Trade(_) => "trade",
            StreamEvent::Cancel(_) => "cancel",
            StreamEvent::Correction(_) => "correction",
            StreamEvent::Quote(_) => "quote",
            StreamEvent::Bar(_) => "bar",
            StreamEvent::Status(_) => "status",
        };
        // The record is one line of JSON (serde_json escapes every line break inside strings),
        // so it is one `data:` field.
        let json = event.json();
        chunk.reserve(json.len() + 40);
        chunk.extend_from_slice(b"event: ");
        chunk.extend_from_slice(name.as_bytes());
        // Writing to a Vec cannot fail.
        let _ = write!(chunk, "\nid: {}\ndata: ", self.seq);
        chunk.extend_from_slice(json.as_bytes());
        chunk.extend_from_slice(b"\n\n");
    }
}
