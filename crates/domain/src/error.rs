//! The one error taxonomy every port shares.

use std::fmt;
use std::time::Duration;

use jiff::Timestamp;

use crate::Symbol;

/// Why a fetch failed. Every adapter maps every failure onto exactly one variant, and the core
/// decides everything (retry, fail over, report) from the variant alone.
///
/// [`is_retryable`](Self::is_retryable) says whether to try the same provider again soon,
/// [`allows_failover`](Self::allows_failover) whether to try the next provider:
///
/// | variant | `is_retryable` | `allows_failover` | typical cause |
/// |---|---|---|---|
/// | `RateLimited` | yes, after `retry_after` | yes | burst or per-minute limit hit |
/// | `QuotaExhausted` | no (not before `resets_at`) | yes | daily quota used up |
/// | `Unauthorized` | no | yes | missing, wrong or revoked key |
/// | `EntitlementDenied` | no | yes | plan or feed does not cover the request |
/// | `UnknownSymbol` | no | yes | provider does not know the symbol (coverage differs) |
/// | `NoData` | no | yes | nothing in the requested range |
/// | `InvalidRequest` | no | no | the request itself is wrong: same answer everywhere |
/// | `Timeout` | yes | yes | no answer within the configured time |
/// | `Transport` | yes | yes | connection refused or reset, TLS, DNS |
/// | `ProviderUnavailable` | yes | yes | HTTP 5xx / 408 or an HTML error page |
/// | `Malformed` | no | yes | the body does not have the documented shape |
/// | `Cancelled` | no | no | the caller gave up (Ctrl-C) |
/// | `NotStored` | no | no | offline, and the store does not hold what was asked |
/// | `Store` | no | no | the local store could not be read or written |
///
/// Messages never contain credentials: adapters redact provider text before it lands here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// Too many requests for now.
    #[error(
        "rate limited by the provider{}: slow down or configure a lower request rate",
        fmt_retry(.retry_after)
    )]
    RateLimited {
        /// How long the provider asked to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// The quota for the current period (usually the day) is used up.
    #[error(
        "request quota exhausted{}: wait for the reset or use another provider",
        fmt_reset(.resets_at)
    )]
    QuotaExhausted {
        /// When the quota resets, when known.
        resets_at: Option<Timestamp>,
    },
    /// The credentials were refused.
    #[error("unauthorized: the provider rejected the credentials; check the configured API key")]
    Unauthorized,
    /// The account's plan or feed does not cover this request.
    #[error("entitlement denied: {reason}")]
    EntitlementDenied {
        /// The provider's explanation, redacted.
        reason: String,
    },
    /// The provider does not know this symbol.
    #[error("unknown symbol {symbol}: check the ticker, or try a provider that covers it")]
    UnknownSymbol {
        /// The symbol asked for.
        symbol: Symbol,
    },
    /// The provider has no data in the requested range.
    #[error("no data for the requested range: widen the range or try another provider")]
    NoData,
    /// The request is invalid for this provider.
    #[error("invalid request: {reason}")]
    InvalidRequest {
        /// What is wrong, redacted.
        reason: String,
    },
    /// No answer within the configured timeout.
    #[error("timed out waiting for the provider: retry later or raise the timeout")]
    Timeout,
    /// The connection failed.
    #[error("transport error: {detail}")]
    Transport {
        /// What failed (no URL, no credentials).
        detail: String,
    },
    /// The provider is failing (5xx, 408, an HTML error page).
    #[error("provider unavailable{}: retry later", fmt_status(.status))]
    ProviderUnavailable {
        /// The HTTP status, when there was one.
        status: Option<u16>,
    },
    /// The body did not have the documented shape.
    #[error("malformed response: {detail}")]
    Malformed {
        /// What did not parse, and where.
        detail: String,
    },
    /// The caller cancelled the operation.
    #[error("cancelled before it finished")]
    Cancelled,
    /// Offline, and the local store does not hold what was asked.
    #[error("not in the store: {missing}")]
    NotStored {
        /// What is missing (symbol, series, dates) and how to fetch it.
        missing: String,
    },
    /// The local store failed; nothing was fetched in its place.
    #[error("store failed: {detail}")]
    Store {
        /// What failed, with what to do next.
        detail: String,
    },
}

fn fmt_retry(d: &Option<Duration>) -> String {
    d.map(|d| format!(" (retry after {:.1}s)", d.as_secs_f64()))
        .unwrap_or_default()
}

fn fmt_reset(t: &Option<Timestamp>) -> String {
    t.map(|t| format!(" until {t}")).unwrap_or_default()
}

fn fmt_status(s: &Option<u16>) -> String {
    s.map(|s| format!(" (HTTP {s})")).unwrap_or_default()
}

/// The variant of a [`FetchError`] without its data: what attempt trails, reports and the
/// serverless error envelope record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// [`FetchError::RateLimited`]
    RateLimited,
    /// [`FetchError::QuotaExhausted`]
    QuotaExhausted,
    /// [`FetchError::Unauthorized`]
    Unauthorized,
    /// [`FetchError::EntitlementDenied`]
    EntitlementDenied,
    /// [`FetchError::UnknownSymbol`]
    UnknownSymbol,
    /// [`FetchError::NoData`]
    NoData,
    /// [`FetchError::InvalidRequest`]
    InvalidRequest,
    /// [`FetchError::Timeout`]
    Timeout,
    /// [`FetchError::Transport`]
    Transport,
    /// [`FetchError::ProviderUnavailable`]
    ProviderUnavailable,
    /// [`FetchError::Malformed`]
    Malformed,
    /// [`FetchError::Cancelled`]
    Cancelled,
    /// [`FetchError::NotStored`]
    NotStored,
    /// [`FetchError::Store`]
    Store,
}

impl ErrorKind {
    /// Every kind.
    pub const ALL: [ErrorKind; 14] = [
        ErrorKind::RateLimited,
        ErrorKind::QuotaExhausted,
        ErrorKind::Unauthorized,
        ErrorKind::EntitlementDenied,
        ErrorKind::UnknownSymbol,
        ErrorKind::NoData,
        ErrorKind::InvalidRequest,
        ErrorKind::Timeout,
        ErrorKind::Transport,
        ErrorKind::ProviderUnavailable,
        ErrorKind::Malformed,
        ErrorKind::Cancelled,
        ErrorKind::NotStored,
        ErrorKind::Store,
    ];

    /// The snake_case name used in output and on the wire (`rate_limited`, `unknown_symbol` ...).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::QuotaExhausted => "quota_exhausted",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::EntitlementDenied => "entitlement_denied",
            ErrorKind::UnknownSymbol => "unknown_symbol",
            ErrorKind::NoData => "no_data",
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Transport => "transport",
            ErrorKind::ProviderUnavailable => "provider_unavailable",
            ErrorKind::Malformed => "malformed",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::NotStored => "not_stored",
            ErrorKind::Store => "store",
        }
    }

    /// The kind named by [`as_str`](Self::as_str) text.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FetchError {
    /// The variant without its data.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        match self {
            FetchError::RateLimited { .. } => ErrorKind::RateLimited,
            FetchError::QuotaExhausted { .. } => ErrorKind::QuotaExhausted,
            FetchError::Unauthorized => ErrorKind::Unauthorized,
            FetchError::EntitlementDenied { .. } => ErrorKind::EntitlementDenied,
            FetchError::UnknownSymbol { .. } => ErrorKind::UnknownSymbol,
            FetchError::NoData => ErrorKind::NoData,
            FetchError::InvalidRequest { .. } => ErrorKind::InvalidRequest,
            FetchError::Timeout => ErrorKind::Timeout,
            FetchError::Transport { .. } => ErrorKind::Transport,
            FetchError::ProviderUnavailable { .. } => ErrorKind::ProviderUnavailable,
            FetchError::Malformed { .. } => ErrorKind::Malformed,
            FetchError::Cancelled => ErrorKind::Cancelled,
            FetchError::NotStored { .. } => ErrorKind::NotStored,
            FetchError::Store { .. } => ErrorKind::Store,
        }
    }

    /// Whether the same request to the same provider may succeed if sent again shortly
    /// (see the table on [`FetchError`]).
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            FetchError::RateLimited { .. }
                | FetchError::Timeout
                | FetchError::Transport { .. }
                | FetchError::ProviderUnavailable { .. }
        )
    }

    /// Whether another provider may answer the same request (see the table on [`FetchError`]).
    /// False only where the answer would be the same everywhere: the request is invalid, or the
    /// caller cancelled.
    #[must_use]
    pub fn allows_failover(&self) -> bool {
        !matches!(
            self,
            FetchError::InvalidRequest { .. }
                | FetchError::Cancelled
                | FetchError::NotStored { .. }
                | FetchError::Store { .. }
        )
    }

    /// The wait the provider asked for, if any.
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            FetchError::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }

    /// Shorthand for [`FetchError::Malformed`].
    #[must_use]
    pub fn malformed(detail: impl Into<String>) -> Self {
        FetchError::Malformed {
            detail: detail.into(),
        }
    }
}
