//! Opening a store: telling our file from anything else without touching it, then creating or
//! migrating the schema once, however many processes open the same path at the same time.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read as _};
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};

use crate::error::Ctx;
use crate::{APPLICATION_ID, SCHEMA_VERSION, SqliteOptions, StoreError};

/// The migrations, in order: `MIGRATIONS[n]` takes a store from version `n` to `n + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_ticker_sentiment.sql"),
];

/// The first 16 bytes of every SQLite 3 database file.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Statements kept prepared per connection (there are about thirty).
const STATEMENT_CACHE: usize = 64;

/// What lies at a path before anything is opened.
enum Found {
    Missing,
    Empty,
    Sqlite,
}

/// What an SQLite file says about itself.
struct Header {
    application_id: i32,
    user_version: i64,
    /// Up to four of the objects (tables, indexes, views, triggers) it holds.
    objects: Vec<String>,
}

/// Opens (creating when missing) the store at `path`.
pub(crate) fn open_file(
    path: &Path,
    options: &SqliteOptions,
) -> Result<(Connection, Ctx), StoreError> {
    let ctx = Ctx {
        location: path.display().to_string(),
        busy_timeout: options.busy_timeout,
    };
    match inspect(path, &ctx)? {
        Found::Missing => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                fs::create_dir_all(parent).map_err(|e| {
                    ctx.io(format!(
                        "cannot create the folder {}: {e}",
                        parent.display()
                    ))
                })?;
            }
        }
        // A main file that looks empty may hold a whole database in its `-wal` (or a hot
        // `-journal` that opening would roll back into it): judge a copy, never the original.
        Found::Empty if has_sidecar(path) => probe_copy(path, &ctx)?,
        Found::Empty => {}
        Found::Sqlite if has_sidecar(path) => probe_copy(path, &ctx)?,
        Found::Sqlite => probe(path, &ctx)?,
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(path, flags).map_err(|e| ctx.sql(&e))?;
    conn.busy_timeout(options.busy_timeout)
        .map_err(|e| ctx.sql(&e))?;
    migrate(&mut conn, &ctx)?;
    configure(&conn, &ctx, true)?;
    Ok((conn, ctx))
}

/// Opens a fresh store in memory.
pub(crate) fn open_memory(options: &SqliteOptions) -> Result<(Connection, Ctx), StoreError> {
    let ctx = Ctx {
        location: ":memory:".to_owned(),
        busy_timeout: options.busy_timeout,
    };
    let mut conn = Connection::open_in_memory().map_err(|e| ctx.sql(&e))?;
    migrate(&mut conn, &ctx)?;
    configure(&conn, &ctx, false)?;
    Ok((conn, ctx))
}

/// Looks at the path with the file system only: a directory or a file that does not start
/// like an SQLite database is refused here, before SQLite could touch it.
fn inspect(path: &Path, ctx: &Ctx) -> Result<Found, StoreError> {
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Found::Missing),
        Err(e) => return Err(ctx.io(format!("cannot read the file's metadata: {e}"))),
    };
    if !meta.is_file() {
        return Err(ctx.foreign("a directory or special file, not a database file"));
    }
    if meta.len() == 0 {
        return Ok(Found::Empty);
    }
    let mut head = Vec::with_capacity(SQLITE_MAGIC.len());
    fs::File::open(path)
        .and_then(|f| f.take(16).read_to_end(&mut head))
        .map_err(|e| ctx.io(format!("cannot read the file: {e}")))?;
    if head.as_slice() != SQLITE_MAGIC.as_slice() {
        return Err(ctx.foreign("not an SQLite database"));
    }
    Ok(Found::Sqlite)
}

/// Reads an existing SQLite file through an immutable, read-only connection (no lock, no
/// journal recovery, no `-wal` or `-shm` file created), so a file that is not ours is refused
/// byte-identical.
fn probe(path: &Path, ctx: &Ctx) -> Result<(), StoreError> {
    let Some(uri) = immutable_uri(path) else {
        // Not expressible as a URI (a non-Unicode path off Unix): the check inside the write
        // transaction below still refuses anything foreign before writing.
        return Ok(());
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(uri, flags).map_err(|e| ctx.sql(&e))?;
    let header = read_header(&conn).map_err(|e| ctx.sql(&e))?;
    classify(&header, ctx).map(|_| ())
}

/// The `-wal` and `-journal` files SQLite would read (and fold into the main file) on open.
const SIDECARS: [&str; 2] = ["-wal", "-journal"];

fn sidecar(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    std::path::PathBuf::from(name)
}

/// Whether a non-empty `-wal` or `-journal` lies beside `path`.
fn has_sidecar(path: &Path) -> bool {
    SIDECARS
        .iter()
        .any(|s| fs::metadata(sidecar(path, s)).is_ok_and(|m| m.len() > 0))
}

/// Classifies the database at `path` as SQLite would see it with its `-wal` or `-journal`
/// applied, by opening a copy of the three files in a private folder: the originals are only
/// read. A crashed store of ours passes (and is recovered by the real open that follows); a
/// foreign database whose tables live only in its `-wal` is refused untouched.
fn probe_copy(path: &Path, ctx: &Ctx) -> Result<(), StoreError> {
    let dir =
        tempfile::tempdir().map_err(|e| ctx.io(format!("cannot make a probe folder: {e}")))?;
    let copy = dir.path().join("probe.sqlite");
    fs::copy(path, &copy).map_err(|e| ctx.io(format!("cannot read the file: {e}")))?;
    for suffix in SIDECARS {
        let from = sidecar(path, suffix);
        if from.exists() {
            fs::copy(&from, sidecar(&copy, suffix))
                .map_err(|e| ctx.io(format!("cannot read {}: {e}", from.display())))?;
        }
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(&copy, flags).map_err(|e| ctx.sql(&e))?;
    let header = read_header(&conn).map_err(|e| ctx.sql(&e))?;
    drop(conn);
    classify(&header, ctx).map(|_| ())
}

/// `file:<absolute path, percent-encoded>?mode=ro&immutable=1`.
fn immutable_uri(path: &Path) -> Option<String> {
    let absolute = std::path::absolute(path).ok()?;
    #[cfg(unix)]
    let bytes = {
        use std::os::unix::ffi::OsStrExt as _;
        absolute.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let bytes = absolute.to_str()?.replace('\\', "/").into_bytes();
    let mut uri = String::from("file:");
    if bytes.first() != Some(&b'/') {
        uri.push('/');
    }
    for b in bytes {
        if b.is_ascii_alphanumeric() || b"/-_.~:".contains(&b) {
            uri.push(char::from(b));
        } else {
            let _ = write!(uri, "%{b:02X}");
        }
    }
    uri.push_str("?mode=ro&immutable=1");
    Some(uri)
}

fn read_header(conn: &Connection) -> rusqlite::Result<Header> {
    let application_id = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
    let user_version = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let mut st = conn.prepare(
        "SELECT name FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
         ORDER BY name LIMIT 4",
    )?;
    let objects = st
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(Header {
        application_id,
        user_version,
        objects,
    })
}

/// The schema version of our store, `None` for an empty database, or why the file is not
/// one this build may open.
fn classify(h: &Header, ctx: &Ctx) -> Result<Option<u32>, StoreError> {
    if h.application_id == APPLICATION_ID {
        let found = u32::try_from(h.user_version)
            .map_err(|_| ctx.corrupt(format!("schema version {}", h.user_version)))?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path: ctx.location.clone(),
                found,
                known: SCHEMA_VERSION,
            });
        }
        return Ok(Some(found));
    }
    if h.application_id != 0 {
        let id = u32::from_be_bytes(h.application_id.to_be_bytes());
        return Err(ctx.foreign(format!(
            "an SQLite database of another program (application_id {id:#010x})"
        )));
    }
    if !h.objects.is_empty() {
        return Err(ctx.foreign(format!(
            "an SQLite database of another program, holding {}",
            h.objects.join(", ")
        )));
    }
    if h.user_version != 0 {
        return Err(ctx.foreign(format!(
            "an SQLite database of another program (user_version {})",
            h.user_version
        )));
    }
    Ok(None)
}

/// Creates or migrates the schema inside one `BEGIN IMMEDIATE` transaction: a second process
/// opening the same fresh path waits for the first, then finds the schema in place.
fn migrate(conn: &mut Connection, ctx: &Ctx) -> Result<(), StoreError> {
    let sql = |e: rusqlite::Error| ctx.sql(&e);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql)?;
    let header = read_header(&tx).map_err(sql)?;
    let from = classify(&header, ctx)?.unwrap_or(0);
    if from == SCHEMA_VERSION {
        return Ok(());
    }
    let skip = usize::try_from(from).unwrap_or(usize::MAX);
    for migration in MIGRATIONS.iter().skip(skip) {
        tx.execute_batch(migration).map_err(sql)?;
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)
        .map_err(sql)?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(sql)?;
    tx.commit().map_err(sql)?;
    tracing::info!(
        store = %ctx.location,
        from,
        to = SCHEMA_VERSION,
        "store schema created or migrated"
    );
    Ok(())
}

/// Per-connection settings, once the file is known to be ours.
fn configure(conn: &Connection, ctx: &Ctx, file: bool) -> Result<(), StoreError> {
    let sql = |e: rusqlite::Error| ctx.sql(&e);
    if file {
        let mode = journal_mode_wal(conn, ctx)?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(store = %ctx.location, mode, "the store could not switch to WAL");
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql)?;
    }
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(sql)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}

/// Switches the file to WAL (a no-op once it is). The switch takes an exclusive lock without
/// going through the busy handler, so processes opening a fresh store together retry it until
/// the busy timeout.
fn journal_mode_wal(conn: &Connection, ctx: &Ctx) -> Result<String, StoreError> {
    let deadline = Instant::now() + ctx.busy_timeout;
    loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)) {
            Ok(mode) => return Ok(mode),
            Err(e) if is_busy(&e) && Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(ctx.sql(&e)),
        }
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_migration_per_version() {
        assert_eq!(MIGRATIONS.len(), usize::try_from(SCHEMA_VERSION).unwrap());
    }

    #[test]
    fn uris_escape_what_sqlite_would_read() {
        let uri = immutable_uri(Path::new("/tmp/a b?c#d%e.db")).unwrap();
        assert_eq!(uri, "file:/tmp/a%20b%3Fc%23d%25e.db?mode=ro&immutable=1");
    }
}
