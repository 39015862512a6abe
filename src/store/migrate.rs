//! exectop's own schema: the native executions table and the audit log.
//! Each migration runs once, in its own transaction, and is recorded in
//! `exectop_schema_migrations`.

use sqlx::{Executor, Row};

use super::pool::DbPool;

pub struct Migration {
    pub name: &'static str,
    /// The native executions table is only created where it is the table in use.
    pub native_table: bool,
    postgres: &'static str,
    sqlite: &'static str,
}

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        name: "0001_native_executions",
        native_table: true,
        postgres: include_str!("../../migrations/postgres/0001_native_executions.sql"),
        sqlite: include_str!("../../migrations/sqlite/0001_native_executions.sql"),
    },
    Migration {
        name: "0002_audit",
        native_table: false,
        postgres: include_str!("../../migrations/postgres/0002_audit.sql"),
        sqlite: include_str!("../../migrations/sqlite/0002_audit.sql"),
    },
    Migration {
        name: "0003_native_poll_indexes",
        native_table: true,
        postgres: include_str!("../../migrations/postgres/0003_native_poll_indexes.sql"),
        sqlite: include_str!("../../migrations/sqlite/0003_native_poll_indexes.sql"),
    },
    Migration {
        name: "0004_native_heartbeat_index",
        native_table: true,
        postgres: include_str!("../../migrations/postgres/0004_native_heartbeat_index.sql"),
        sqlite: include_str!("../../migrations/sqlite/0004_native_heartbeat_index.sql"),
    },
    Migration {
        name: "0005_shared_remote",
        native_table: false,
        postgres: include_str!("../../migrations/postgres/0005_shared_remote.sql"),
        sqlite: include_str!("../../migrations/sqlite/0005_shared_remote.sql"),
    },
    Migration {
        name: "0006_triage",
        native_table: false,
        postgres: include_str!("../../migrations/postgres/0006_triage.sql"),
        sqlite: include_str!("../../migrations/sqlite/0006_triage.sql"),
    },
];

const LEDGER: &str = "CREATE TABLE IF NOT EXISTS exectop_schema_migrations (\
     name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)";

/// Applies what has not been applied; returns the names applied now.
/// `include_native` creates `exectop_executions` too.
pub async fn apply(
    pool: &DbPool,
    include_native: bool,
) -> Result<Vec<&'static str>, super::StoreError> {
    let mut applied = Vec::new();
    for m in MIGRATIONS
        .iter()
        .filter(|m| include_native || !m.native_table)
    {
        let done = match pool {
            DbPool::Postgres(p) => run_one(p, m.name, m.postgres, "$1", "$2").await,
            DbPool::Sqlite(p) => run_one(p, m.name, m.sqlite, "?1", "?2").await,
        }
        .map_err(|e| super::StoreError::Migration {
            name: m.name,
            reason: e.to_string(),
        })?;
        if done {
            applied.push(m.name);
        }
    }
    Ok(applied)
}

async fn run_one<DB>(
    pool: &sqlx::Pool<DB>,
    name: &str,
    sql: &'static str,
    p1: &str,
    p2: &str,
) -> Result<bool, sqlx::Error>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> <DB as sqlx::Database>::Arguments: sqlx::IntoArguments<DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
    i64: for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB>,
{
    let mut tx = pool.begin().await?;
    (&mut *tx).execute(LEDGER).await?;
    let seen: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM exectop_schema_migrations WHERE name = {p1}"
    )))
    .bind(name.to_string())
    .fetch_one(&mut *tx)
    .await?
    .try_get(0)?;
    if seen > 0 {
        tx.rollback().await?;
        return Ok(false);
    }
    (&mut *tx).execute(sql).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO exectop_schema_migrations (name, applied_at) VALUES ({p1}, {p2})"
    )))
    .bind(name.to_string())
    .bind(chrono::Utc::now().to_rfc3339())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}
