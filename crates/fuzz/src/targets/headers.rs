//! Response headers: `Retry-After` (delta-seconds or HTTP date) and `X-RateLimit-Reset`.

use std::time::{Duration, SystemTime};

use reqwest::header::{self, HeaderMap, HeaderValue};
use stockdata_adapters_http::transport::{MAX_RETRY_AFTER, RetryPolicy, retry_after};

use super::Target;

pub(crate) const RETRY_AFTER: Target = Target {
    name: "retry_after",
    about: "Retry-After / X-RateLimit-Reset values -> the wait the transport honours",
    check,
};

/// Input: the `Retry-After` value, optionally a newline and an `X-RateLimit-Reset` value.
fn check(input: &[u8]) -> Result<(), String> {
    let (retry, reset) = match input.iter().position(|&b| b == b'\n') {
        Some(i) => (input.get(..i), input.get(i + 1..)),
        None => (Some(input), None),
    };
    // 2024-01-02T15:00:00Z, and the edges of the clock.
    let nows = [
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_704_207_600),
        SystemTime::UNIX_EPOCH,
    ];
    for now in nows {
        for (r, x) in [(retry, reset), (retry, None), (None, reset)] {
            let mut headers = HeaderMap::new();
            let retry_value = r
                .filter(|v| !v.is_empty())
                .and_then(|v| HeaderValue::from_bytes(v).ok());
            // The text the transport reads, when the header is readable at all.
            let retry_text = retry_value
                .as_ref()
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            if let Some(v) = retry_value {
                headers.insert(header::RETRY_AFTER, v);
            }
            if let Some(v) = x.and_then(|v| HeaderValue::from_bytes(v).ok()) {
                headers.insert("x-ratelimit-reset", v);
            }
            let Some(wait) = retry_after(&headers, now) else {
                continue;
            };
            if wait > MAX_RETRY_AFTER {
                return Err(format!("{wait:?} is past MAX_RETRY_AFTER"));
            }
            // What the transport does with it: a clamped wait is never within a budget.
            if wait == MAX_RETRY_AFTER && wait <= RetryPolicy::default().total_budget {
                return Err("a clamped wait fits the default budget".to_owned());
            }
            if let Some(text) = retry_text
                && let Ok(secs) = text.trim().parse::<u64>()
                && secs <= MAX_RETRY_AFTER.as_secs()
                && wait != Duration::from_secs(secs)
            {
                return Err(format!("Retry-After: {text} read as {wait:?}"));
            }
        }
    }
    Ok(())
}
