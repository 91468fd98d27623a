//! Telling our schema from anything else without touching it, then creating or migrating it
//! once, however many hosts connect at the same time.

use deadpool_postgres::Object;
use stockdata_ports::StoreError;
use tokio_postgres::IsolationLevel;

use crate::error::{Ctx, Fail};
use crate::{SCHEMA_VERSION, Sql};

/// The migrations, in order: `MIGRATIONS[n]` takes a store from version `n` to `n + 1`.
const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init", include_str!("../migrations/0001_init.sql")),
    (
        "0002_ticker_sentiment",
        include_str!("../migrations/0002_ticker_sentiment.sql"),
    ),
];

/// First key of the migration lock: `STKD`, the second being the schema's hash.
const MIGRATION_LOCK: i32 = 0x5354_4B44;

/// The columns of our `stockdata_schema` table, by which it is told from another's.
const VERSION_TABLE: [(&str, &str); 3] = [
    ("version", "integer"),
    ("description", "text"),
    ("applied_at", "timestamp with time zone"),
];

/// What the schema's name holds.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    /// No schema of that name.
    Absent,
    /// A schema with nothing in it.
    Empty,
    /// Our store, at this version.
    Store(u32),
}

/// Checks the store's schema and creates or migrates it, in one transaction holding the
/// migration lock: a second host connecting at once waits for the first, then finds the
/// schema in place. Nothing is written unless the schema is absent, empty or ours and older.
pub(crate) async fn prepare(client: &mut Object, sql: &Sql, ctx: &Ctx) -> Result<(), Fail> {
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::ReadCommitted)
        .start()
        .await?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, $2)",
        &[&MIGRATION_LOCK, &sql.lock_key],
    )
    .await?;
    let found = inspect(&tx, sql, ctx).await?;
    let from = match found {
        Found::Store(v) if v == SCHEMA_VERSION => return Ok(()),
        Found::Store(v) if v > SCHEMA_VERSION => {
            return Err(Fail::Store(StoreError::TooNew {
                path: ctx.location.clone(),
                found: v,
                known: SCHEMA_VERSION,
            }));
        }
        Found::Store(v) => v,
        Found::Absent => {
            tx.batch_execute(&format!("CREATE SCHEMA \"{}\"", sql.schema))
                .await?;
            0
        }
        Found::Empty => 0,
    };
    tx.batch_execute(&format!(
        "SET LOCAL search_path TO \"{}\", pg_catalog",
        sql.schema
    ))
    .await?;
    let insert = sql.q("INSERT INTO {s}.stockdata_schema (version, description) VALUES ($1, $2)");
    let skip = usize::try_from(from).unwrap_or(usize::MAX);
    for (n, (name, migration)) in MIGRATIONS.iter().enumerate().skip(skip) {
        tx.batch_execute(migration).await?;
        let version = i32::try_from(n + 1).map_err(|_| Fail::bad("too many migrations".into()))?;
        tx.execute(&insert, &[&version, name]).await?;
    }
    tx.commit().await?;
    tracing::info!(
        store = %ctx.location,
        from,
        to = SCHEMA_VERSION,
        "store schema created or migrated"
    );
    Ok(())
}

/// What the store's schema holds, read from the catalogs only (never from a table that might
/// not be ours).
async fn inspect(
    tx: &deadpool_postgres::Transaction<'_>,
    sql: &Sql,
    ctx: &Ctx,
) -> Result<Found, Fail> {
    let Some(ns) = tx
        .query_opt(
            "SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $1",
            &[&sql.schema],
        )
        .await?
    else {
        return Ok(Found::Absent);
    };
    let ns: tokio_postgres::types::Oid = crate::read::get(&ns, 0)?;
    let table = tx
        .query_opt(
            "SELECT oid FROM pg_catalog.pg_class \
             WHERE relnamespace = $1 AND relname = 'stockdata_schema' AND relkind = 'r'",
            &[&ns],
        )
        .await?;
    let Some(table) = table else {
        let objects = tx
            .query(
                "SELECT relname::text FROM pg_catalog.pg_class WHERE relnamespace = $1 \
                 UNION ALL SELECT proname::text FROM pg_catalog.pg_proc WHERE pronamespace = $1 \
                 UNION ALL SELECT typname::text FROM pg_catalog.pg_type WHERE typnamespace = $1 \
                 ORDER BY 1 LIMIT 4",
                &[&ns],
            )
            .await?;
        if objects.is_empty() {
            return Ok(Found::Empty);
        }
        let names = objects
            .iter()
            .map(|r| crate::read::get::<String>(r, 0))
            .collect::<Result<Vec<_>, _>>()?;
        return Err(Fail::Store(ctx.foreign(format!(
            "schema {} holds objects of another program ({}) and no stockdata_schema table",
            sql.schema,
            names.join(", ")
        ))));
    };
    let table: tokio_postgres::types::Oid = crate::read::get(&table, 0)?;
    let columns = tx
        .query(
            "SELECT attname::text, pg_catalog.format_type(atttypid, atttypmod) \
             FROM pg_catalog.pg_attribute \
             WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            &[&table],
        )
        .await?;
    let columns = columns
        .iter()
        .map(|r| {
            Ok((
                crate::read::get::<String>(r, 0)?,
                crate::read::get::<String>(r, 1)?,
            ))
        })
        .collect::<Result<Vec<_>, Fail>>()?;
    let ours = columns.len() == VERSION_TABLE.len()
        && columns
            .iter()
            .zip(VERSION_TABLE)
            .all(|((n, t), (name, ty))| n == name && t == ty);
    if !ours {
        return Err(Fail::Store(ctx.foreign(format!(
            "schema {} has a stockdata_schema table that is not stockdata's (columns {})",
            sql.schema,
            columns
                .iter()
                .map(|(n, t)| format!("{n} {t}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))));
    }
    let version: Option<i32> = crate::read::get(
        &tx.query_one(&sql.q("SELECT max(version) FROM {s}.stockdata_schema"), &[])
            .await?,
        0,
    )?;
    match version.map(u32::try_from) {
        Some(Ok(v)) if v > 0 => Ok(Found::Store(v)),
        _ => Err(Fail::Corrupt(format!(
            "its stockdata_schema table holds no valid version ({version:?})"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_migration_per_version() {
        assert_eq!(MIGRATIONS.len(), usize::try_from(SCHEMA_VERSION).unwrap());
        for (n, (name, _)) in MIGRATIONS.iter().enumerate() {
            assert!(name.starts_with(&format!("{:04}_", n + 1)), "{name}");
        }
    }
}
