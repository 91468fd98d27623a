//! How PostgreSQL's errors become [`StoreError`]s.

use std::fmt;
use std::time::Duration;

use deadpool_postgres::{PoolError, TimeoutType};
use stockdata_ports::StoreError;
use stockdata_store_common::BadValue;
use tokio_postgres::error::SqlState;

/// What an error message needs to know about the store it came from.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    /// Where the store is, without any password: `postgres://user@host:port/db (schema s)`.
    pub(crate) location: String,
    /// The busy timeout, reported when it ran out.
    pub(crate) busy_timeout: Duration,
}

impl Ctx {
    fn waited_ms(&self) -> u64 {
        u64::try_from(self.busy_timeout.as_millis()).unwrap_or(u64::MAX)
    }

    pub(crate) fn io(&self, detail: impl Into<String>) -> StoreError {
        StoreError::Io {
            path: self.location.clone(),
            detail: detail.into(),
        }
    }

    pub(crate) fn corrupt(&self, detail: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            path: self.location.clone(),
            detail: detail.into(),
        }
    }

    pub(crate) fn foreign(&self, reason: impl Into<String>) -> StoreError {
        StoreError::Foreign {
            path: self.location.clone(),
            reason: reason.into(),
        }
    }

    pub(crate) fn busy(&self) -> StoreError {
        StoreError::Busy {
            path: self.location.clone(),
            waited_ms: self.waited_ms(),
        }
    }

    /// Maps a PostgreSQL error by its SQLSTATE: a lock wait past the busy timeout (and a
    /// deadlock or serialization failure that retrying did not clear) is
    /// [`StoreError::Busy`]; damaged data or a missing table of ours is
    /// [`StoreError::Corrupt`]; everything else (connection, authentication, permissions) is
    /// [`StoreError::Io`] with the server's message.
    pub(crate) fn pg(&self, err: &tokio_postgres::Error) -> StoreError {
        let Some(code) = err.code() else {
            return self.io(describe(err));
        };
        if is_transient(err) || *code == SqlState::LOCK_NOT_AVAILABLE {
            return self.busy();
        }
        if *code == SqlState::DATA_CORRUPTED
            || *code == SqlState::INDEX_CORRUPTED
            || *code == SqlState::UNDEFINED_TABLE
            || *code == SqlState::UNDEFINED_COLUMN
        {
            return self.corrupt(describe(err));
        }
        let hint = if *code == SqlState::INSUFFICIENT_PRIVILEGE {
            ": the store's role needs to own its schema, or CREATE on the database to make it"
        } else {
            ""
        };
        self.io(format!("{}{hint}", describe(err)))
    }
}

/// A deadlock or a serialization failure: the server rolled the transaction back, and running
/// it again may well succeed.
pub(crate) fn is_transient(err: &tokio_postgres::Error) -> bool {
    err.code().is_some_and(|c| {
        *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
    })
}

/// The server's message with its SQLSTATE, or the client's error with its cause.
fn describe(err: &tokio_postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => format!("{} {}: {}", db.severity(), db.code().code(), db.message()),
        None => {
            let mut text = err.to_string();
            let mut source = std::error::Error::source(err);
            while let Some(s) = source {
                let more = s.to_string();
                if !text.contains(&more) {
                    text.push_str(": ");
                    text.push_str(&more);
                }
                source = s.source();
            }
            text
        }
    }
}

/// Why a store operation failed, before the store's location is attached.
#[derive(Debug)]
pub(crate) enum Fail {
    /// PostgreSQL (or the connection to it) said no.
    Pg(tokio_postgres::Error),
    /// No connection could be had from the pool.
    Pool(PoolError),
    /// A stored value is not one this version writes.
    Bad(String),
    /// The store failed a check.
    Corrupt(String),
    /// Already a store error.
    Store(StoreError),
}

impl Fail {
    pub(crate) fn bad(detail: String) -> Self {
        Fail::Bad(detail)
    }

    /// Whether running the operation again may succeed (see [`is_transient`]).
    pub(crate) fn is_transient(&self) -> bool {
        matches!(self, Fail::Pg(e) if is_transient(e))
    }

    pub(crate) fn into_store(self, ctx: &Ctx) -> StoreError {
        match self {
            Fail::Pg(e) => ctx.pg(&e),
            // Every connection of the pool stayed busy for the busy timeout.
            Fail::Pool(PoolError::Timeout(TimeoutType::Wait)) => ctx.busy(),
            Fail::Pool(PoolError::Timeout(_)) => {
                ctx.io("connecting to the server timed out: is it up and reachable?")
            }
            Fail::Pool(PoolError::Backend(e)) => ctx.pg(&e),
            Fail::Pool(e) => ctx.io(e.to_string()),
            Fail::Bad(detail) => ctx.corrupt(format!("a stored value cannot be read: {detail}")),
            Fail::Corrupt(detail) => ctx.corrupt(detail),
            Fail::Store(e) => e,
        }
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fail::Pg(e) => write!(f, "{}", describe(e)),
            Fail::Pool(e) => write!(f, "{e}"),
            Fail::Bad(detail) | Fail::Corrupt(detail) => f.write_str(detail),
            Fail::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Fail {}

impl From<tokio_postgres::Error> for Fail {
    fn from(e: tokio_postgres::Error) -> Self {
        Fail::Pg(e)
    }
}

impl From<PoolError> for Fail {
    fn from(e: PoolError) -> Self {
        Fail::Pool(e)
    }
}

impl From<BadValue> for Fail {
    fn from(e: BadValue) -> Self {
        Fail::Bad(e.0)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}
