//! Exit codes, from typed outcomes only (README "Exit codes").

use std::process::ExitCode;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// 0: everything requested was fetched (or the command had nothing to fetch).
    Ok,
    /// 2: usage or configuration error; the message says what to set.
    Usage,
    /// 3: some data fetched, some failed (listed on stderr).
    Partial,
    /// 4: nothing could be fetched.
    Failed,
}

impl Exit {
    /// From how many symbols were asked for and how many failed.
    pub(crate) fn from_counts(failed: usize, asked: usize) -> Self {
        if failed == 0 {
            Exit::Ok
        } else if failed >= asked {
            Exit::Failed
        } else {
            Exit::Partial
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(match exit {
            Exit::Ok => 0,
            Exit::Usage => 2,
            Exit::Partial => 3,
            Exit::Failed => 4,
        })
    }
}

/// Prints `stockdata: message` and answers [`Exit::Usage`].
pub(crate) fn usage(message: impl std::fmt::Display) -> Exit {
    eprintln!("stockdata: {message}");
    Exit::Usage
}
