//! `GET /v1/stream`: live events as Server-Sent Events. Every client is one reader of the
//! instance's [`Streams`](crate::stream::Streams), so many clients share one upstream
//! subscription per symbol; each has a bounded buffer, and one that falls further behind is
//! let go with a last `status` event (`closed`, `slow reader`) rather than stalling anyone.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use stockdata_domain::stream::{StreamEvent, Subscription};
use stockdata_domain::{ErrorKind, FetchError};
use tokio::sync::OwnedSemaphorePermit;

use super::AppState;
use super::envelope::envelope;
use super::handlers::{Answer, Refused};
use super::params::{self, Query};
use crate::records::StreamRecord;
use crate::stream::{Overflow, Reader, ReaderOptions};

/// How often an idle stream sends a comment, so proxies and clients know it is alive.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

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
    Ok(Sse::new(events(reader, permit))
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response())
}

/// The client's events: each `event:` is the record's type, `id:` counts from 1, `data:` is
/// the record (docs/openapi.yaml). Ends when the reader does; the stream slot is held until
/// then.
fn events(
    reader: Reader,
    permit: OwnedSemaphorePermit,
) -> impl Stream<Item = Result<Event, Infallible>> + Send {
    futures_util::stream::unfold(
        (reader, permit, 0_u64),
        |(mut reader, permit, seq)| async move {
            let event = reader.next().await?;
            let seq = seq + 1;
            Some((Ok(sse_event(&event, seq)), (reader, permit, seq)))
        },
    )
}

fn sse_event(event: &StreamEvent, seq: u64) -> Event {
    let name = match event {
        StreamEvent::Trade(_) => "trade",
        StreamEvent::Quote(_) => "quote",
        StreamEvent::Bar(_) => "bar",
        StreamEvent::Status(_) => "status",
    };
    let data = serde_json::to_string(&StreamRecord::from(event))
        .unwrap_or_else(|e| format!("{{\"type\":\"status\",\"state\":\"error\",\"error\":{e:?}}}"));
    Event::default().event(name).id(seq.to_string()).data(data)
}
