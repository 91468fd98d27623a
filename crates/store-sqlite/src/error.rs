//! How SQLite's errors become [`StoreError`]s.

use std::time::Duration;

use rusqlite::ErrorCode;
use stockdata_ports::StoreError;
use stockdata_store_common::BadValue;

/// What an error message needs to know about the store it came from.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    /// The path, or `:memory:`.
    pub(crate) location: String,
    /// The busy timeout, reported when it ran out.
    pub(crate) busy_timeout: Duration,
}

impl Ctx {
    pub(crate) fn waited_ms(&self) -> u64 {
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

    /// Maps any rusqlite error: busy and locked are [`StoreError::Busy`], a damaged file is
    /// [`StoreError::Corrupt`], a value this version cannot read back is `Corrupt` too, and
    /// everything else is [`StoreError::Io`].
    pub(crate) fn sql(&self, err: &rusqlite::Error) -> StoreError {
        match err {
            rusqlite::Error::SqliteFailure(e, _) => match e.code {
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => StoreError::Busy {
                    path: self.location.clone(),
                    waited_ms: self.waited_ms(),
                },
                // The file starts like an SQLite database (checked before opening), so a
                // "not a database" answer means its header is damaged.
                ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => {
                    self.corrupt(err.to_string())
                }
                _ => self.io(err.to_string()),
            },
            rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::IntegralValueOutOfRange(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::Utf8Error(..) => {
                self.corrupt(format!("a stored value cannot be read back: {err}"))
            }
            _ => self.io(err.to_string()),
        }
    }
}

/// Why a blocking store operation failed, before the store's location is attached.
#[derive(Debug)]
pub(crate) enum Fail {
    /// SQLite said no.
    Sql(rusqlite::Error),
    /// A stored value is not one this version writes.
    Bad(String),
    /// The database failed a check.
    Corrupt(String),
    /// Already a store error.
    Store(StoreError),
}

impl Fail {
    pub(crate) fn bad(detail: String) -> Self {
        Fail::Bad(detail)
    }

    pub(crate) fn into_store(self, ctx: &Ctx) -> StoreError {
        match self {
            Fail::Sql(e) => ctx.sql(&e),
            Fail::Bad(detail) => ctx.corrupt(format!("a stored value cannot be read: {detail}")),
            Fail::Corrupt(detail) => ctx.corrupt(detail),
            Fail::Store(e) => e,
        }
    }
}

impl From<rusqlite::Error> for Fail {
    fn from(e: rusqlite::Error) -> Self {
        Fail::Sql(e)
    }
}

impl From<rusqlite::types::FromSqlError> for Fail {
    fn from(e: rusqlite::types::FromSqlError) -> Self {
        Fail::Bad(e.to_string())
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
