//! Small statements with bound values on either backend: `{n}` in the SQL
//! marks where the n-th value goes, and becomes `$n` (with a timestamptz
//! cast for moments) on PostgreSQL or `?n` on SQLite.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::error::{StoreError, write_failed};
use super::pool::DbPool;
use super::timestamp::sqlite_text;

/// A value bound into a statement.
#[derive(Debug, Clone)]
pub enum Arg {
    Text(Option<String>),
    Time(Option<DateTime<Utc>>),
    Int(i64),
}

pub(super) fn prepare(postgres: bool, template: &str, args: &[Arg]) -> String {
    let mut sql = template.to_string();
    for (i, a) in args.iter().enumerate() {
        let n = i + 1;
        let mark = match (postgres, a) {
            (true, Arg::Time(_)) => format!("${n}::timestamptz"),
            (true, _) => format!("${n}"),
            (false, _) => format!("?{n}"),
        };
        sql = sql.replace(&format!("{{{n}}}"), &mark);
    }
    sql
}

/// Binds the values and returns the first column of the first row as text.
macro_rules! fetch_first {
    ($executor:expr, $sql:expr, $args:expr, $time:expr) => {{
        let mut q = sqlx::query(sqlx::AssertSqlSafe($sql));
        for a in $args {
            q = match a {
                Arg::Text(t) => q.bind(t),
                Arg::Time(t) => q.bind(t.map($time)),
                Arg::Int(i) => q.bind(i),
            };
        }
        q.fetch_optional($executor)
            .await
            .map_err(write_failed)?
            .and_then(|row| row.try_get::<Option<String>, _>(0).ok().flatten())
    }};
}

fn pg_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339()
}

/// Runs one statement; returns the first column of the first row, as text.
pub async fn execute(
    pool: &DbPool,
    template: &str,
    args: Vec<Arg>,
) -> Result<Option<String>, StoreError> {
    Ok(match pool {
        DbPool::Postgres(p) => fetch_first!(p, prepare(true, template, &args), args, pg_time),
        DbPool::Sqlite(p) => fetch_first!(p, prepare(false, template, &args), args, sqlite_text),
    })
}

/// A transaction on either backend, for writes that must commit together.
pub enum Tx {
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
}

impl Tx {
    pub async fn begin(pool: &DbPool) -> Result<Tx, StoreError> {
        match pool {
            DbPool::Postgres(p) => p.begin().await.map(Tx::Postgres),
            DbPool::Sqlite(p) => p.begin().await.map(Tx::Sqlite),
        }
        .map_err(|e| StoreError::Begin(e.to_string()))
    }

    /// Like [`execute`], inside the transaction.
    pub async fn execute(
        &mut self,
        template: &str,
        args: Vec<Arg>,
    ) -> Result<Option<String>, StoreError> {
        Ok(match self {
            Tx::Postgres(tx) => {
                fetch_first!(&mut **tx, prepare(true, template, &args), args, pg_time)
            }
            Tx::Sqlite(tx) => fetch_first!(
                &mut **tx,
                prepare(false, template, &args),
                args,
                sqlite_text
            ),
        })
    }

    /// Runs one statement and returns how many rows it returned (an
    /// `UPDATE … RETURNING` returns one per row it changed).
    pub async fn execute_all(
        &mut self,
        template: &str,
        args: Vec<Arg>,
    ) -> Result<usize, StoreError> {
        self.rows(template, args).await.map(|rows| rows.len())
    }

    /// Runs one statement and returns every row, each column as text.
    pub async fn rows(
        &mut self,
        template: &str,
        args: Vec<Arg>,
    ) -> Result<Vec<Vec<Option<String>>>, StoreError> {
        macro_rules! all_rows {
            ($tx:expr, $postgres:expr, $time:expr) => {{
                let sql = prepare($postgres, template, &args);
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for a in args {
                    q = match a {
                        Arg::Text(t) => q.bind(t),
                        Arg::Time(t) => q.bind(t.map($time)),
                        Arg::Int(i) => q.bind(i),
                    };
                }
                q.fetch_all(&mut **$tx)
                    .await
                    .map(|rows| rows_as_text(&rows))
                    .map_err(write_failed)
            }};
        }
        match self {
            Tx::Postgres(tx) => all_rows!(tx, true, pg_time),
            Tx::Sqlite(tx) => all_rows!(tx, false, sqlite_text),
        }
    }

    /// Ends the transaction without its changes, now. Best effort: a
    /// connection that fails here is closed by the pool.
    pub async fn rollback(self) {
        let _ = match self {
            Tx::Postgres(tx) => tx.rollback().await,
            Tx::Sqlite(tx) => tx.rollback().await,
        };
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Postgres(tx) => tx.commit().await,
            Tx::Sqlite(tx) => tx.commit().await,
        }
        .map_err(|e| StoreError::Commit(e.to_string()))
    }
}

/// Every column of every row as text; a NULL, or a value that is not text, is `None`.
pub(super) fn rows_as_text<R>(rows: &[R]) -> Vec<Vec<Option<String>>>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    rows.iter()
        .map(|r| {
            (0..r.len())
                .map(|i| r.try_get::<Option<String>, _>(i).ok().flatten())
                .collect()
        })
        .collect()
}
