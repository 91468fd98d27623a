//! One reader's buffer: bounded, never blocking the writer, and never losing an event without
//! counting it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use super::LiveEvent;

/// What a full buffer does with one more event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overflow {
    /// Drops the oldest event buffered: the reader sees a `Dropped` status with the count
    /// before the events that follow (a terminal, a pipe, a bot that wants the latest).
    #[default]
    DropOldest,
    /// Ends the reader: it gets a last `Closed` status and nothing after (a served client
    /// that cannot keep up is let go rather than fed a stream with holes).
    Disconnect,
}

/// Why a ring ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum End {
    /// Its reader fell `behind` events behind under [`Overflow::Disconnect`].
    Overflowed {
        /// The buffer's capacity.
        capacity: usize,
    },
    /// The upstream stream ended (its last status was pushed before).
    Upstream,
}

#[derive(Debug)]
struct Inner {
    queue: VecDeque<Arc<LiveEvent>>,
    /// Dropped since the reader last heard of it.
    unreported: u64,
    /// Dropped in all.
    dropped: u64,
    end: Option<End>,
    /// Pushed to since the reader was last woken ([`Ring::push_quiet`]).
    unwoken: bool,
}

/// A bounded single-reader queue with a non-blocking writer.
#[derive(Debug)]
pub(crate) struct Ring {
    inner: Mutex<Inner>,
    notify: Notify,
    capacity: usize,
    overflow: Overflow,
}

/// What [`Ring::pop`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Popped {
    /// The next event.
    Event(Arc<LiveEvent>),
    /// This many were dropped (oldest first) since the last report.
    Dropped(u64),
    /// The ring ended.
    End(End),
    /// Nothing yet.
    Empty,
}

impl Ring {
    pub(crate) fn new(capacity: usize, overflow: Overflow) -> Self {
        let capacity = capacity.max(1);
        Self {
            inner: Mutex::new(Inner {
                queue: VecDeque::with_capacity(capacity.min(1024)),
                unreported: 0,
                dropped: 0,
                end: None,
                unwoken: false,
            }),
            notify: Notify::new(),
            capacity,
            overflow,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds `event` and wakes the reader; never waits. Answers the events dropped by this
    /// push (0 or 1), or nothing when the ring has ended.
    pub(crate) fn push(&self, event: Arc<LiveEvent>) -> u64 {
        let (dropped, _) = self.push_quiet(event);
        self.wake();
        dropped
    }

    /// Adds `event` without waking the reader: a writer handing out a batch wakes each reader
    /// once, after the batch ([`wake`](Self::wake)), so no reader is woken to find half of it.
    /// Answers the events dropped (as [`push`](Self::push)) and whether this is the first
    /// push since the reader was last woken (the writer then owes it a wake).
    pub(crate) fn push_quiet(&self, event: Arc<LiveEvent>) -> (u64, bool) {
        let mut inner = self.lock();
        let first = !inner.unwoken;
        inner.unwoken = true;
        if inner.end.is_some() {
            return (0, first);
        }
        let mut dropped = 0;
        if inner.queue.len() >= self.capacity {
            match self.overflow {
                Overflow::DropOldest => {
                    inner.queue.pop_front();
                    inner.unreported += 1;
                    inner.dropped += 1;
                    dropped = 1;
                }
                Overflow::Disconnect => {
                    dropped = u64::try_from(inner.queue.len()).unwrap_or(u64::MAX) + 1;
                    inner.queue.clear();
                    inner.dropped += dropped;
                    inner.end = Some(End::Overflowed {
                        capacity: self.capacity,
                    });
                    return (dropped, first);
                }
            }
        }
        inner.queue.push_back(event);
        (dropped, first)
    }

    /// Wakes the reader for what was pushed quietly.
    pub(crate) fn wake(&self) {
        self.lock().unwoken = false;
        self.notify.notify_one();
    }

    /// Ends the ring after what it holds.
    pub(crate) fn end(&self, end: End) {
        let mut inner = self.lock();
        if inner.end.is_none() {
            inner.end = Some(end);
        }
        drop(inner);
        self.notify.notify_one();
    }

    /// The next thing for the reader: a drop report first, then the oldest event, then the
    /// end once the queue is empty.
    pub(crate) fn pop(&self) -> Popped {
        let mut inner = self.lock();
        if inner.unreported > 0 {
            let n = inner.unreported;
            inner.unreported = 0;
            return Popped::Dropped(n);
        }
        if let Some(End::Overflowed { capacity }) = inner.end {
            return Popped::End(End::Overflowed { capacity });
        }
        if let Some(event) = inner.queue.pop_front() {
            return Popped::Event(event);
        }
        match &inner.end {
            Some(end) => Popped::End(end.clone()),
            None => Popped::Empty,
        }
    }

    /// Waits for something to pop. One reader only: a wake-up that finds nothing is harmless.
    pub(crate) async fn wait(&self) {
        self.notify.notified().await;
    }

    /// Events dropped in all.
    pub(crate) fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    /// Events waiting.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().queue.len()
    }
}

#[cfg(test)]
mod tests {
    use stockdata_domain::stream::{StreamEvent, StreamState, StreamStatus};
    use stockdata_domain::{ProviderId, Timestamp};

    use super::*;

    fn ev(n: u64) -> Arc<LiveEvent> {
        LiveEvent::new(StreamEvent::Status(StreamStatus {
            provider: ProviderId::from_static("p"),
            at: Timestamp::from_second(i64::try_from(n).unwrap()).unwrap(),
            state: StreamState::Connected,
        }))
    }

    fn second(p: &Popped) -> i64 {
        match p {
            Popped::Event(e) => match e.event() {
                StreamEvent::Status(s) => s.at.as_second(),
                _ => unreachable!(),
            },
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_full_ring_drops_the_oldest_and_says_how_many_before_the_rest() {
        let ring = Ring::new(3, Overflow::DropOldest);
        let dropped: u64 = (1..=5).map(|n| ring.push(ev(n))).sum();
        assert_eq!(dropped, 2);
        assert_eq!(ring.pop(), Popped::Dropped(2));
        let kept: Vec<i64> = (0..3).map(|_| second(&ring.pop())).collect();
        assert_eq!(kept, [3, 4, 5], "the newest three, in order");
        assert_eq!(ring.pop(), Popped::Empty);
        assert_eq!(ring.dropped(), 2);
        ring.push(ev(6));
        ring.end(End::Upstream);
        assert_eq!(
            second(&ring.pop()),
            6,
            "what was buffered is read before the end"
        );
        assert_eq!(ring.pop(), Popped::End(End::Upstream));
    }

    #[test]
    fn a_disconnecting_ring_ends_at_the_first_overflow() {
        let ring = Ring::new(2, Overflow::Disconnect);
        assert_eq!(ring.push(ev(1)) + ring.push(ev(2)), 0);
        assert_eq!(
            ring.push(ev(3)),
            3,
            "what it held and the one that did not fit"
        );
        assert_eq!(ring.pop(), Popped::End(End::Overflowed { capacity: 2 }));
        assert_eq!(ring.push(ev(4)), 0, "nothing is taken after the end");
        assert_eq!(ring.len(), 0);
    }

    #[test]
    fn quiet_pushes_owe_the_reader_one_wake_per_batch() {
        let ring = Ring::new(8, Overflow::DropOldest);
        assert_eq!(
            ring.push_quiet(ev(1)),
            (0, true),
            "the first of a batch owes a wake"
        );
        assert_eq!(ring.push_quiet(ev(2)), (0, false));
        ring.wake();
        assert_eq!(
            ring.push_quiet(ev(3)),
            (0, true),
            "woken: the next batch owes one again"
        );
        let kept: Vec<i64> = (0..3).map(|_| second(&ring.pop())).collect();
        assert_eq!(kept, [1, 2, 3]);
    }

    /// A reader task waiting on `ring` for its first event (its `second` value).
    fn first_event(ring: &Arc<Ring>) -> tokio::task::JoinHandle<i64> {
        let ring = Arc::clone(ring);
        tokio::spawn(async move {
            loop {
                match ring.pop() {
                    Popped::Empty => ring.wait().await,
                    other => return second(&other),
                }
            }
        })
    }

    #[tokio::test]
    async fn a_quiet_push_reaches_a_waiting_reader_once_woken() {
        let ring = Arc::new(Ring::new(4, Overflow::DropOldest));
        let reader = first_event(&ring);
        tokio::task::yield_now().await;
        let (_, owed) = ring.push_quiet(ev(7));
        assert!(owed);
        ring.wake();
        assert_eq!(reader.await.unwrap(), 7);
    }

    #[tokio::test]
    async fn a_waiting_reader_is_woken_by_a_push() {
        let ring = Arc::new(Ring::new(4, Overflow::DropOldest));
        let reader = first_event(&ring);
        tokio::task::yield_now().await;
        ring.push(ev(9));
        assert_eq!(reader.await.unwrap(), 9);
    }
}
