//! Retry policy: which failures are tried again, and how long to wait.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};

/// The longest wait a provider's hint is taken at (a day). A longer one (`Retry-After: 1e300`) is
/// clamped to this, which no retry budget covers: the error goes up for fail-over at once.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(86_400);

/// How a failed idempotent GET is retried. Only failures whose `FetchError::is_retryable()` is
/// true are retried (429, 408, 5xx, timeouts, connection errors, in-body throttles).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = never retry).
    pub max_attempts: u32,
    /// The first backoff's ceiling; each later one doubles, up to `max_delay`.
    pub base_delay: Duration,
    /// The largest backoff ceiling.
    pub max_delay: Duration,
    /// No retry starts once this much time has passed since the first attempt, and no wait
    /// (backoff or `Retry-After`) may run past it: the error is returned instead so the core
    /// can fail over.
    pub total_budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(4),
            total_budget: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    #[must_use]
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The wait before attempt `failed_attempt + 1`: "full jitter", a uniform draw from
    /// `[0, min(max_delay, base_delay · 2^(failed_attempt-1))]`.
    #[must_use]
    pub fn backoff(&self, failed_attempt: u32) -> Duration {
        let exp = failed_attempt.saturating_sub(1).min(20);
        let ceiling = self.base_delay.saturating_mul(1 << exp).min(self.max_delay);
        let ceiling_ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(fastrand::u64(0..=ceiling_ms))
    }
}

/// The wait a response asks for: `Retry-After` (delta-seconds or an HTTP date), else
/// `X-RateLimit-Reset` (unix epoch seconds, as Alpaca sends; small values are read as a delta).
///
/// Hostile values never panic: garbage (`NaN`, `-1`, `inf`, text) is no hint (`None`); a wait
/// longer than [`MAX_RETRY_AFTER`] (`1e300`, `18446744073709551615`, a reset in the year 9999)
/// is clamped to it; an instant already past is `Duration::ZERO`.
#[must_use]
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if let Some(value) = headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok()) {
        let value = value.trim();
        if let Some(wait) = seconds_hint(value) {
            return Some(wait);
        }
        if let Ok(at) = httpdate::parse_http_date(value) {
            return Some(until(at, now));
        }
    }
    let reset = headers
        .get("x-ratelimit-reset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u128>().ok())?;
    const EPOCH_THRESHOLD: u128 = 1_000_000_000;
    if reset >= EPOCH_THRESHOLD {
        let at = u64::try_from(reset)
            .ok()
            .and_then(|secs| SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs)));
        Some(at.map_or(MAX_RETRY_AFTER, |at| until(at, now)))
    } else {
        Some(clamp_wait(Duration::from_secs(
            u64::try_from(reset).unwrap_or(u64::MAX),
        )))
    }
}

/// Delta-seconds as a provider writes them: `"2"`, `"1.5"`, an integer too big for any type.
/// Anything that is not a non-negative finite number is no hint.
fn seconds_hint(text: &str) -> Option<Duration> {
    if !text.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
        // Rules out "-1", "+inf", "NaN", "inf", "": no wait a provider means.
        return None;
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        // Whole seconds, however many digits: too many for u64 is "very long".
        return Some(text.parse::<u64>().map_or(MAX_RETRY_AFTER, |secs| {
            clamp_wait(Duration::from_secs(secs))
        }));
    }
    let secs = text.parse::<f64>().ok()?;
    secs_f64_hint(secs)
}

/// A wait given as a float (`retry_after_s` in the serverless error envelope, fractional
/// `Retry-After`), checked: negative, NaN and infinite values are no hint; values past
/// [`MAX_RETRY_AFTER`] are clamped to it. Never panics (unlike `Duration::from_secs_f64`).
#[must_use]
pub fn secs_f64_hint(secs: f64) -> Option<Duration> {
    if !secs.is_finite() || secs.is_sign_negative() {
        return None;
    }
    Some(Duration::try_from_secs_f64(secs).map_or(MAX_RETRY_AFTER, clamp_wait))
}

fn clamp_wait(wait: Duration) -> Duration {
    wait.min(MAX_RETRY_AFTER)
}

/// The wait from `now` until `at`: zero when `at` is past, clamped when it is absurdly far.
fn until(at: SystemTime, now: SystemTime) -> Duration {
    clamp_wait(at.duration_since(now).unwrap_or(Duration::ZERO))
}
