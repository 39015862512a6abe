//! Writes: compare-and-set on the status the operator saw, committed in one
//! transaction with its audit record; the bulk-action lease; the audit log.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::error::StoreError;
use super::exec::{Arg, Tx, execute};
use super::pool::DbPool;
use super::read::{Store, quote, quoted_table};
use crate::domain::Status;

/// Who acts, for the audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    pub operator: String,
    pub host: String,
}

impl Actor {
    /// `--operator`, else `$EXECTOP_OPERATOR`, else `$USER`, else `$LOGNAME`
    /// (cron and some `sudo`/tmux set-ups have no `$USER`), else the account
    /// of the process's real uid; the host from the kernel.
    pub fn from_env(operator: Option<String>) -> Actor {
        let named = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
        let operator = named(operator)
            .or_else(|| named(std::env::var("EXECTOP_OPERATOR").ok()))
            .or_else(|| named(std::env::var("USER").ok()))
            .or_else(|| named(std::env::var("LOGNAME").ok()))
            .or_else(account_of_this_process)
            .unwrap_or_else(|| "unknown".into());
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unknown".into());
        Actor { operator, host }
    }
}

/// The login name of the process's real uid, from `/proc` and `/etc/passwd`.
fn account_of_this_process() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    account_name(&status, &passwd)
}

/// `Uid:` in `/proc/<pid>/status` (real uid first) looked up in passwd text.
fn account_name(proc_status: &str, passwd: &str) -> Option<String> {
    let uid = proc_status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)? == uid && !name.is_empty()).then(|| name.to_string())
    })
}

/// One status change, compare-and-set against what the decision saw.
#[derive(Debug, Clone)]
pub struct Change {
    pub action: &'static str,
    pub execution_id: String,
    pub seen: super::cas::RowVersion,
    pub after: Status,
    pub reason: Option<String>,
    pub remote_status_seen: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum WriteOutcome {
    Applied,
    /// Nothing written; says what the row is now.
    Refused(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub at: Option<DateTime<Utc>>,
    pub operator: String,
    pub host: String,
    pub action: String,
    pub execution_id: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub reason: Option<String>,
    pub remote_status: Option<String>,
}

/// Held while a bulk action runs; only one exectop holds it per table.
pub enum Lease {
    /// A transaction-scoped advisory lock: released on commit, rollback or drop.
    Postgres(Tx),
    /// A row in `exectop_leases` with an expiry, deleted on release.
    Sqlite {
        pool: DbPool,
        name: String,
        holder: String,
    },
}

impl Lease {
    pub async fn release(self) {
        match self {
            Lease::Postgres(tx) => {
                let _ = tx.commit().await;
            }
            Lease::Sqlite { pool, name, holder } => {
                let _ = execute(
                    &pool,
                    "DELETE FROM exectop_leases WHERE name = {1} AND holder = {2}",
                    vec![Arg::Text(Some(name)), Arg::Text(Some(holder))],
                )
                .await;
            }
        }
    }
}

const LEASE_MINUTES: i64 = 10;

impl Store {
    /// The error column with `{3}` (the note) added, keeping what was there:
    /// a line of its own in text, an `exectop_reason` key in a JSON object.
    /// A JSON value that is not an object (a string, an array) is kept whole
    /// under `exectop_previous_error`, never turned into an array.
    pub(super) fn error_expression(&self, error_type: Option<&str>) -> Option<String> {
        let col = quote(self.table().error.as_deref()?);
        let note = "CAST({3} AS text)";
        let json_note = |value: &str| {
            format!(
                "CASE WHEN {value} IS NULL OR jsonb_typeof({value}) = 'null' \
                 THEN jsonb_build_object('exectop_reason', {note}) \
                 WHEN jsonb_typeof({value}) = 'object' THEN {value} || jsonb_build_object('exectop_reason', {note}) \
                 ELSE jsonb_build_object('exectop_previous_error', {value}, 'exectop_reason', {note}) END"
            )
        };
        Some(match (self.backend(), error_type) {
            (super::Backend::Postgres, Some("jsonb")) => json_note(&col),
            (super::Backend::Postgres, Some("json")) => {
                format!("({})::json", json_note(&format!("{col}::jsonb")))
            }
            (super::Backend::Postgres, _) => format!(
                "CASE WHEN {col} IS NULL OR {col} = '' THEN {{3}} ELSE {col} || chr(10) || {{3}} END"
            ),
            (super::Backend::Sqlite, _) => format!(
                "CASE WHEN {col} IS NULL OR {col} = '' THEN {{3}} \
                 WHEN json_valid({col}) AND json_type({col}) = 'object' THEN json_set({col}, '$.exectop_reason', {{3}}) \
                 ELSE {col} || char(10) || {{3}} END"
            ),
        })
    }

    pub(super) async fn error_column_type(&self) -> Option<String> {
        let col = self.table().error.clone()?;
        match self.pool() {
            DbPool::Postgres(_) => execute(
                self.pool(),
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = to_regclass({1}) AND attname = {2}",
                vec![Arg::Text(Some(quoted_table(&self.table().name))), Arg::Text(Some(col))],
            )
            .await
            .ok()
            .flatten(),
            DbPool::Sqlite(_) => None,
        }
    }

    /// Takes the bulk-action lease for this table, or says who holds it.
    pub async fn lease(&self, actor: &Actor) -> Result<Lease, StoreError> {
        let name = format!("bulk:{}", self.table().name);
        let holder = format!(
            "{}@{} pid {}",
            actor.operator,
            actor.host,
            std::process::id()
        );
        match self.pool() {
            DbPool::Postgres(_) => {
                let mut tx = Tx::begin(self.pool()).await?;
                let got = tx
                    .execute(
                        "SELECT CAST(pg_try_advisory_xact_lock(hashtext({1})) AS TEXT)",
                        vec![Arg::Text(Some(name))],
                    )
                    .await;
                match got {
                    Ok(Some(taken)) if taken == "true" => Ok(Lease::Postgres(tx)),
                    // Not left to its drop: the transaction would stay open
                    // on its pooled connection.
                    Ok(_) => {
                        tx.rollback().await;
                        Err(StoreError::LeaseHeld(None))
                    }
                    Err(e) => {
                        tx.rollback().await;
                        Err(e)
                    }
                }
            }
            DbPool::Sqlite(_) => {
                let now = Utc::now();
                let taken = execute(
                    self.pool(),
                    "INSERT INTO exectop_leases (name, holder, expires_at) VALUES ({1}, {2}, {3}) \
                     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
                     WHERE exectop_leases.expires_at < {4} RETURNING holder",
                    vec![
                        Arg::Text(Some(name.clone())),
                        Arg::Text(Some(holder.clone())),
                        Arg::Time(Some(now + chrono::Duration::minutes(LEASE_MINUTES))),
                        Arg::Time(Some(now)),
                    ],
                )
                .await?;
                if taken.is_some() {
                    return Ok(Lease::Sqlite {
                        pool: self.pool().clone(),
                        name,
                        holder,
                    });
                }
                let other = execute(
                    self.pool(),
                    "SELECT holder FROM exectop_leases WHERE name = {1}",
                    vec![Arg::Text(Some(name))],
                )
                .await?
                .unwrap_or_default();
                Err(StoreError::LeaseHeld(Some(other)))
            }
        }
    }

    /// The most recent audit records, newest first.
    pub async fn recent_audit(&self, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let sql = "SELECT CAST(at AS TEXT), operator, host, action, execution_id, before_status, after_status, reason, \
                   remote_status FROM exectop_audit WHERE table_name = {1} ORDER BY id DESC LIMIT {2}";
        let args = vec![Arg::Text(Some(self.table().name.clone())), Arg::Int(limit)];
        let rows: Vec<Vec<Option<String>>> = match self.pool() {
            DbPool::Postgres(p) => read_rows(p, sql, args, true).await?,
            DbPool::Sqlite(p) => read_rows(p, sql, args, false).await?,
        };
        Ok(rows
            .into_iter()
            .map(|mut r| {
                let mut take = |i: usize| r[i].take();
                AuditEntry {
                    at: take(0).as_deref().and_then(super::parse_timestamp),
                    operator: take(1).unwrap_or_default(),
                    host: take(2).unwrap_or_default(),
                    action: take(3).unwrap_or_default(),
                    execution_id: take(4).unwrap_or_default(),
                    before: take(5),
                    after: take(6),
                    reason: take(7),
                    remote_status: take(8),
                }
            })
            .collect())
    }
}

async fn read_rows<DB>(
    pool: &sqlx::Pool<DB>,
    template: &str,
    args: Vec<Arg>,
    postgres: bool,
) -> Result<Vec<Vec<Option<String>>>, StoreError>
where
    DB: sqlx::Database,
    for<'q> Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB> + sqlx::Decode<'q, DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> <DB as sqlx::Database>::Arguments: sqlx::IntoArguments<DB>,
    for<'c> &'c sqlx::Pool<DB>: sqlx::Executor<'c, Database = DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let mut q = sqlx::query(sqlx::AssertSqlSafe(super::exec::prepare(
        postgres, template, &args,
    )));
    for a in args {
        q = match a {
            Arg::Text(t) => q.bind(t),
            Arg::Int(i) => q.bind(i),
            Arg::Time(t) => q.bind(t.map(|t| t.to_rfc3339())),
        };
    }
    let rows = q
        .fetch_all(pool)
        .await
        .map_err(|e| StoreError::AuditRead(e.to_string()))?;
    Ok(super::exec::rows_as_text(&rows))
}

#[cfg(test)]
mod tests {
    use super::account_name;

    #[test]
    fn the_account_is_the_real_uid_in_passwd() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n";
        let status = |uids: &str| format!("Name:\texectop\nUid:\t{uids}\nGid:\t0\t0\t0\t0\n");
        assert_eq!(
            account_name(&status("1000\t0\t0\t0"), passwd).as_deref(),
            Some("alice")
        );
        assert_eq!(
            account_name(&status("0\t1000\t1000\t1000"), passwd).as_deref(),
            Some("root")
        );
        assert_eq!(
            account_name(&status("4242\t4242\t4242\t4242"), passwd),
            None
        );
        assert_eq!(account_name("Name:\tx\n", passwd), None);
    }
}
