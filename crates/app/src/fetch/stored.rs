//! The store in front of the providers: what every fetcher asks before sending a request, and
//! where every answer is kept.
//!
//! Rules (issue #15):
//! - **Bars** are fetched only for spans the store has not covered and in which the NYSE
//!   calendar says a bar can exist (a holiday or a weekend is not a gap). Today's session is
//!   not final until its close: it is fetched again on every run until then.
//! - **Quotes** are fresh for `[cache] quotes_ttl` while the market is open; one fetched while
//!   it is closed stays fresh until the next open.
//! - **News** is kept by article id; a later run asks only for what was published since the
//!   newest covered instant.
//! - A hit costs no quota and no concurrency permit; it shows as a `store` attempt in the trail
//!   and in the run's counters. A store that fails is logged and bypassed: the providers still
//!   answer (except offline, where the failure is the answer).

use std::sync::Arc;
use std::time::Duration;

use jiff::SignedDuration;
use stockdata_domain::calendar;
use stockdata_domain::time::{daily_bar_start, new_york_date};
use stockdata_domain::{Adjustment, Date, Interval, ProviderId, Symbol, TimeRange, Timestamp};
use stockdata_ports::{Clock, Dataset, SeriesKey, Store, StoreError};

use super::{Attempt, Outcome};

/// The provider id a store hit is trailed under.
pub const STORE: ProviderId = ProviderId::from_static("store");

/// How long fetched news counts as complete up to now by default.
pub const DEFAULT_NEWS_TTL: Duration = Duration::from_secs(300);

/// How long a quote stays fresh while the market is open, by default.
pub const DEFAULT_QUOTES_TTL: Duration = Duration::from_secs(15);

/// The store as the fetchers use it.
#[derive(Debug, Clone)]
pub struct StoreLayer {
    /// Where data is kept.
    pub store: Arc<dyn Store>,
    /// Market or sandbox data: decides which series are read and written.
    pub dataset: Dataset,
    /// The time rules are judged at.
    pub clock: Arc<dyn Clock>,
    /// Freshness of quotes while the market is open.
    pub quotes_ttl: Duration,
    /// How recent a news fetch must be for the store to answer up to now.
    pub news_ttl: Duration,
    /// Answer only from the store; never call a provider.
    pub offline: bool,
}

impl StoreLayer {
    /// A layer over `store` for `dataset`, with the default freshness rules, online.
    #[must_use]
    pub fn new(store: Arc<dyn Store>, dataset: Dataset, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            dataset,
            clock,
            quotes_ttl: DEFAULT_QUOTES_TTL,
            news_ttl: DEFAULT_NEWS_TTL,
            offline: false,
        }
    }

    /// The series a bar query reads and writes.
    #[must_use]
    pub fn key(&self, symbol: &Symbol, interval: Interval, adjustment: Adjustment) -> SeriesKey {
        SeriesKey {
            symbol: symbol.clone(),
            interval,
            adjustment,
            dataset: self.dataset,
        }
    }

    /// Whether a quote fetched at `fetched_at` may still be answered at `now`.
    #[must_use]
    pub fn quote_is_fresh(&self, fetched_at: Timestamp, now: Timestamp) -> bool {
        quote_is_fresh(fetched_at, now, self.quotes_ttl)
    }
}

/// A quote is fresh within `ttl` of its fetch, and, when it was fetched while the market was
/// closed, until the next open.
#[must_use]
pub fn quote_is_fresh(fetched_at: Timestamp, now: Timestamp, ttl: Duration) -> bool {
    if fetched_at > now {
        return false;
    }
    let age = now.duration_since(fetched_at);
    let within_ttl = SignedDuration::try_from(ttl).is_ok_and(|ttl| age < ttl);
    within_ttl || (!calendar::is_open(fetched_at) && calendar::next_open(fetched_at) > now)
}

/// The first instant that is not final yet at `now`: 00:00 New York on the day after the last
/// session that has closed. Everything before it can be covered for good.
#[must_use]
pub fn final_boundary(now: Timestamp) -> Timestamp {
    calendar::last_final_session(now)
        .and_then(|d| d.tomorrow().ok())
        .map_or(Timestamp::MIN, daily_bar_start)
}

/// The part of `range` that is final at `now`, if any.
#[must_use]
pub(super) fn final_part(range: TimeRange, now: Timestamp) -> Option<TimeRange> {
    let end = range.end().min(final_boundary(now));
    TimeRange::new(range.start(), end)
        .ok()
        .filter(|r| r.start() < r.end())
}

/// Whether a bar of `interval` can start in `span`, by the NYSE calendar: a daily (or longer)
/// bar starts at 00:00 New York on a trading day; an intraday bar inside a session.
#[must_use]
pub fn can_hold_bars(span: TimeRange, interval: Interval) -> bool {
    if span.start() >= span.end() {
        return false;
    }
    let first = new_york_date(span.start());
    let last = new_york_date(span.end());
    let mut day = Some(first);
    // A span longer than this certainly holds a session (ten days cover any closure but
    // September 2001's four, and that followed a weekend's two).
    let mut steps = 0;
    while let Some(d) = day {
        if d > last || steps > 14 {
            return steps > 14;
        }
        if let Some(session) = calendar::session(d) {
            let holds = if interval.is_intraday() {
                session.open < span.end() && span.start() < session.close
            } else {
                span.contains(daily_bar_start(d))
            };
            if holds {
                return true;
            }
        }
        day = d.tomorrow().ok();
        steps += 1;
    }
    false
}

/// The spans of `wanted` still to fetch for a series covered by `covered`, at `now`: not
/// covered, not in the future, and able to hold a bar.
#[must_use]
pub fn bar_gaps(
    wanted: TimeRange,
    covered: &[TimeRange],
    interval: Interval,
    now: Timestamp,
) -> Vec<TimeRange> {
    let Ok(until_now) = TimeRange::new(wanted.start(), wanted.end().min(now).max(wanted.start()))
    else {
        return Vec::new();
    };
    until_now
        .subtract(covered)
        .into_iter()
        .filter(|gap| can_hold_bars(*gap, interval))
        .collect()
}

/// The smallest range holding every span (`None` for none).
#[must_use]
pub(super) fn hull(spans: &[TimeRange]) -> Option<TimeRange> {
    let start = spans.iter().map(TimeRange::start).min()?;
    let end = spans.iter().map(TimeRange::end).max()?;
    TimeRange::new(start, end).ok()
}

/// `2024-01-02..2024-03-01`-style text for what is missing, for offline errors.
#[must_use]
pub(super) fn describe_gaps(gaps: &[TimeRange]) -> String {
    let dates = |g: &TimeRange| -> (Date, Date) {
        let last = g
            .end()
            .checked_sub(SignedDuration::from_nanos(1))
            .unwrap_or(g.end());
        (new_york_date(g.start()), new_york_date(last))
    };
    let mut parts: Vec<String> = gaps
        .iter()
        .take(3)
        .map(|g| {
            let (a, b) = dates(g);
            if a == b {
                a.to_string()
            } else {
                format!("{a}..{b}")
            }
        })
        .collect();
    if gaps.len() > 3 {
        parts.push(format!("and {} more spans", gaps.len() - 3));
    }
    parts.join(", ")
}

/// The trail step of an answer from the store.
#[must_use]
pub(super) fn hit() -> Attempt {
    Attempt {
        provider: STORE,
        outcome: Outcome::Ok,
        elapsed: Duration::ZERO,
    }
}

/// What a store failure becomes when it is the answer (offline).
#[must_use]
pub(super) fn store_error(e: &StoreError) -> stockdata_domain::FetchError {
    stockdata_domain::FetchError::Store {
        detail: e.to_string(),
    }
}

/// Whether records about to be kept as market data are synthetic (a sandbox source injected
/// without `synthetic(true)`): they are then not kept, with a warning, so sandbox data can
/// never come back as market data.
pub(super) fn refuse_synthetic<'a>(
    layer: &StoreLayer,
    mut provenances: impl Iterator<Item = &'a stockdata_domain::Provenance>,
) -> bool {
    let refuse = layer.dataset == Dataset::Market && provenances.any(|p| p.synthetic);
    if refuse {
        tracing::warn!(
            "synthetic records from a source not marked sandbox: not kept in the store as \
             market data (build with synthetic(true) to keep them apart)"
        );
    }
    refuse
}

/// Logs a store failure that is bypassed (the providers answer instead).
pub(super) fn bypassed(e: &StoreError, what: &str) {
    tracing::warn!(error = %e, "the store failed while {what}; answering from the providers");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn range(a: &str, b: &str) -> TimeRange {
        TimeRange::new(at(a), at(b)).unwrap()
    }

    #[test]
    fn a_holiday_or_a_weekend_is_not_a_gap() {
        // Thursday 2024-07-04 is a holiday; Saturday and Sunday follow Friday.
        let holiday = range("2024-07-04T04:00:00Z", "2024-07-05T04:00:00Z");
        assert!(!can_hold_bars(holiday, Interval::Day1));
        assert!(!can_hold_bars(holiday, Interval::Minute1));
        let weekend = range("2024-07-06T04:00:00Z", "2024-07-08T04:00:00Z");
        assert!(!can_hold_bars(weekend, Interval::Day1));
        let friday = range("2024-07-05T04:00:00Z", "2024-07-06T04:00:00Z");
        assert!(can_hold_bars(friday, Interval::Day1));
        // Before the open and after the close, no intraday bar.
        let night = range("2024-07-05T20:00:00Z", "2024-07-08T13:30:00Z");
        assert!(!can_hold_bars(night, Interval::Minute5));
        let long = range("2000-01-01T00:00:00Z", "2020-01-01T00:00:00Z");
        assert!(can_hold_bars(long, Interval::Day1));
    }

    #[test]
    fn today_is_final_only_after_the_close() {
        // Friday 2024-07-05: the close is 20:00Z. Before it, Wednesday (the 4th was a
        // holiday) is the last final session.
        let during = at("2024-07-05T19:00:00Z");
        assert_eq!(final_boundary(during), at("2024-07-04T04:00:00Z"));
        let after = at("2024-07-05T20:00:00Z");
        assert_eq!(final_boundary(after), at("2024-07-06T04:00:00Z"));
        // On Sunday the boundary is still Saturday 00:00: the weekend holds no bar anyway.
        assert_eq!(
            final_boundary(at("2024-07-07T12:00:00Z")),
            at("2024-07-06T04:00:00Z")
        );
    }

    #[test]
    fn gaps_skip_the_future_and_closed_days() {
        let wanted = range("2024-07-01T04:00:00Z", "2024-07-13T04:00:00Z");
        let covered = [range("2024-07-01T04:00:00Z", "2024-07-04T04:00:00Z")];
        // Sunday 2024-07-07: the 4th is a holiday, the 5th a session, then the weekend.
        let now = at("2024-07-07T12:00:00Z");
        let gaps = bar_gaps(wanted, &covered, Interval::Day1, now);
        assert_eq!(
            gaps,
            vec![range("2024-07-04T04:00:00Z", "2024-07-07T12:00:00Z")]
        );
        let covered = [range("2024-07-01T04:00:00Z", "2024-07-06T04:00:00Z")];
        assert!(bar_gaps(wanted, &covered, Interval::Day1, now).is_empty());
    }

    #[test]
    fn quotes_fetched_while_closed_stay_fresh_until_the_open() {
        let ttl = Duration::from_secs(15);
        // Fetched Friday evening: fresh all weekend, stale at Monday's open.
        let fetched = at("2024-07-05T22:00:00Z");
        assert!(quote_is_fresh(fetched, at("2024-07-07T12:00:00Z"), ttl));
        assert!(!quote_is_fresh(fetched, at("2024-07-08T13:30:01Z"), ttl));
        // Fetched during the session: 15 s.
        let fetched = at("2024-07-05T15:00:00Z");
        assert!(quote_is_fresh(fetched, at("2024-07-05T15:00:14Z"), ttl));
        assert!(!quote_is_fresh(fetched, at("2024-07-05T15:00:16Z"), ttl));
        assert!(!quote_is_fresh(fetched, at("2024-07-05T22:00:00Z"), ttl));
    }

    #[test]
    fn missing_spans_read_as_dates() {
        let gaps = [
            range("2024-07-01T04:00:00Z", "2024-07-04T04:00:00Z"),
            range("2024-07-08T04:00:00Z", "2024-07-09T04:00:00Z"),
        ];
        assert_eq!(describe_gaps(&gaps), "2024-07-01..2024-07-03, 2024-07-08");
    }
}
