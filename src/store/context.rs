//! The remote's request context: values from related tables (an
//! execution's instance id, its advertiser id), read by a query the
//! operator writes. The query only ever reads: it runs as a subquery, which
//! neither backend lets write, and on PostgreSQL inside a read-only
//! transaction too.

use std::collections::BTreeMap;

use sqlx::{Column, Row, ValueRef};

use super::pool::DbPool;
use super::read::{Store, StoreError};

/// One row of the context query: column name → value as text. NULL
/// columns are left out.
pub type ContextValues = BTreeMap<String, String>;

/// Context rows the query may return at most: a table of ten thousand
/// workflows is a few MB; a query that returns millions is a mistake.
pub const MAX_CONTEXT_ROWS: usize = 100_000;

impl Store {
    /// Runs the context query and returns its rows, every value as text.
    pub async fn context_rows(&self, query: &str) -> Result<Vec<ContextValues>, StoreError> {
        let query = query.trim().trim_end_matches(';').trim_end();
        if query.contains(';') {
            // SQLite's driver runs every statement of a text; one only.
            return Err(StoreError::Query(
                "the context query must be one SELECT: it has a `;` inside".into(),
            ));
        }
        let failed = |e: sqlx::Error| StoreError::Query(format!("the context query failed: {e}"));
        let rows = match self.pool() {
            DbPool::Postgres(pool) => {
                let mut tx = pool.begin().await.map_err(failed)?;
                // A query stuck on a lock must not stall every look-up behind it.
                sqlx::query("SET TRANSACTION READ ONLY")
                    .execute(&mut *tx)
                    .await
                    .map_err(failed)?;
                sqlx::query("SET LOCAL statement_timeout = '30s'")
                    .execute(&mut *tx)
                    .await
                    .map_err(failed)?;
                // The line break ends a `--` comment on the query's last line.
                let sql = format!(
                    "SELECT CAST(row_to_json(exectop_context) AS TEXT) FROM ({query}\n) AS exectop_context LIMIT {}",
                    MAX_CONTEXT_ROWS + 1
                );
                let texts: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(failed)?;
                tx.rollback().await.map_err(failed)?;
                texts
                    .iter()
                    .map(|t| from_json(t))
                    .collect::<Result<Vec<_>, _>>()?
            }
            DbPool::Sqlite(pool) => {
                let sql = format!(
                    "SELECT * FROM ({query}\n) AS exectop_context LIMIT {}",
                    MAX_CONTEXT_ROWS + 1
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .fetch_all(pool)
                    .await
                    .map_err(failed)?;
                rows.iter().map(sqlite_values).collect()
            }
        };
        if rows.len() > MAX_CONTEXT_ROWS {
            return Err(StoreError::Query(format!(
                "the context query returns more than {MAX_CONTEXT_ROWS} rows; narrow it to the rows that executions use"
            )));
        }
        Ok(rows)
    }
}

fn from_json(text: &str) -> Result<ContextValues, StoreError> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| StoreError::Query(format!("the context query's row did not read: {e}")))?;
    let serde_json::Value::Object(columns) = value else {
        return Err(StoreError::Query(
            "the context query's row did not read as columns".into(),
        ));
    };
    Ok(columns
        .into_iter()
        .filter_map(|(name, value)| {
            let text = match value {
                serde_json::Value::Null => return None,
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            Some((name, text))
        })
        .collect())
}

fn sqlite_values(row: &sqlx::sqlite::SqliteRow) -> ContextValues {
    row.columns()
        .iter()
        .filter_map(|column| {
            let i = column.ordinal();
            let raw = row.try_get_raw(i).ok()?;
            if raw.is_null() {
                return None;
            }
            let text = row
                .try_get::<String, _>(i)
                .or_else(|_| row.try_get::<i64, _>(i).map(|n| n.to_string()))
                .or_else(|_| row.try_get::<f64, _>(i).map(|n| n.to_string()))
                .ok()?;
            Some((column.name().to_string(), text))
        })
        .collect()
}
