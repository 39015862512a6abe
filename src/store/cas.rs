//! Compare-and-set writes. A write rests on what the operator saw in the
//! preview: the row's status, its remote id, its `updated_at` where mapped
//! and, on PostgreSQL, its row version (`xmin`, which moves with every write
//! to the row). The write changes the row only if all of those still hold,
//! changes exactly one row, and commits with its audit record. Before an
//! irreversible step (a remote stop) the row is locked first, so that once
//! the stop is sent the write cannot be refused by a race.

use chrono::{DateTime, Utc};

use super::error::StoreError;
use super::exec::{Arg, Tx, execute};
use super::pool::DbPool;
use super::read::{Store, quote, quoted_table};
use super::write::{Actor, Change, WriteOutcome};
use crate::domain::Status;

/// How long a write waits for a row another transaction holds (a worker
/// finishing it) before it gives up; and how long one statement may run.
/// Without them an apply waiting on a lock could only be left with Ctrl-C.
pub const LOCK_TIMEOUT_SECONDS: u32 = 5;
pub(super) const STATEMENT_TIMEOUT_SECONDS: u32 = 30;

/// What a decision about a row rested on, as read with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowVersion {
    /// The status as the table spells it.
    pub status_raw: String,
    pub remote_id: Option<String>,
    /// `updated_at` as text, exactly as read (only where mapped).
    pub updated_at: Option<String>,
    /// PostgreSQL's row version; `None` on SQLite.
    pub xmin: Option<String>,
}

/// Whether exectop may write to this table, and if not, why.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteAccess {
    Granted,
    /// Why not: a missing privilege or audit table, an id that is not
    /// unique, or a check that failed. Its text is the header's and the
    /// refusal's (`no UPDATE privilege on "jobs"."runs"`).
    Denied(StoreError),
}

/// A row held for a write: on PostgreSQL the transaction that holds its
/// lock; on SQLite (one writer at a time, no row locks) the row was checked
/// and the write's own compare-and-set decides.
pub struct HeldRow {
    tx: Option<Tx>,
}

impl HeldRow {
    /// Lets the row go without writing it: the lock's transaction is rolled
    /// back now, not whenever its connection is next used.
    pub async fn release(self) {
        if let Some(tx) = self.tx {
            tx.rollback().await;
        }
    }
}

impl Store {
    /// The WHERE of a compare-and-set on `change`: the id and everything the
    /// decision rested on. Values from `{3}` on: id, status, then the
    /// optional ones in this order.
    async fn cas_where(&self, change: &Change, args: &mut Vec<Arg>) -> String {
        let t = self.table();
        let first = args.len() + 1;
        // The id bound in its column's type, so the key's index finds the row.
        let id = match self.id_type().await {
            Some(kind) => format!("{} = {}", quote(&t.id), kind.param(&format!("{{{first}}}"))),
            None => format!("CAST({} AS TEXT) = {{{first}}}", quote(&t.id)),
        };
        let mut conditions = vec![id, format!("{} = {{{}}}", quote(&t.status), first + 1)];
        args.push(Arg::Text(Some(change.execution_id.clone())));
        args.push(Arg::Text(Some(change.seen.status_raw.clone())));
        let mut same = |column: String, value: Option<String>, args: &mut Vec<Arg>| {
            args.push(Arg::Text(value));
            conditions.push(format!("{column} IS NOT DISTINCT FROM {{{}}}", args.len()));
        };
        if let Some(c) = &t.remote_id {
            same(
                format!("CAST({} AS TEXT)", quote(c)),
                change.seen.remote_id.clone(),
                args,
            );
        }
        if let Some(c) = &t.updated_at {
            same(
                format!("CAST({} AS TEXT)", quote(c)),
                change.seen.updated_at.clone(),
                args,
            );
        }
        if matches!(self.pool(), DbPool::Postgres(_)) {
            same("xmin::text".into(), change.seen.xmin.clone(), args);
        }
        conditions.join(" AND ")
    }

    /// Whether this role may write here: UPDATE on the table and INSERT on
    /// the audit table (which must exist), and an `id` that names one row
    /// (a primary key or a unique index on exactly that column). Checked
    /// once and kept: the answer decides the header and every action.
    pub async fn write_access(&self) -> WriteAccess {
        if let Some(known) = self.known_write_access() {
            return known;
        }
        let access = match self.find_write_access().await {
            Ok(()) => WriteAccess::Granted,
            Err(why) => WriteAccess::Denied(why),
        };
        self.keep_write_access(access.clone());
        access
    }

    async fn find_write_access(&self) -> Result<(), StoreError> {
        let t = self.table();
        let table = quoted_table(&t.name);
        let ask = |sql: &'static str, args: Vec<Arg>| async move {
            execute(self.pool(), sql, args)
                .await
                .map(|v| v.as_deref() == Some("true") || v.as_deref() == Some("1"))
                .map_err(|e| StoreError::WriteAccessUnknown(Box::new(e)))
        };
        let audit_exists = match self.pool() {
            DbPool::Postgres(_) => {
                ask(
                    "SELECT CAST(to_regclass('exectop_audit') IS NOT NULL AS TEXT)",
                    vec![],
                )
                .await?
            }
            DbPool::Sqlite(_) => {
                ask(
                    "SELECT CAST(COUNT(*) AS TEXT) FROM sqlite_master WHERE type = 'table' AND name = 'exectop_audit'",
                    vec![],
                )
                .await?
            }
        };
        if !audit_exists {
            return Err(StoreError::NoAuditTable);
        }
        if let DbPool::Postgres(_) = self.pool() {
            let update = ask(
                "SELECT CAST(has_table_privilege({1}, 'UPDATE') AS TEXT)",
                vec![Arg::Text(Some(table.clone()))],
            )
            .await?;
            if !update {
                return Err(StoreError::NoUpdatePrivilege { table });
            }
            let audit = ask(
                "SELECT CAST(has_table_privilege('exectop_audit', 'INSERT') AS TEXT)",
                vec![],
            )
            .await?;
            if !audit {
                return Err(StoreError::NoAuditInsert);
            }
        }
        let unique =
            match self.pool() {
                DbPool::Postgres(_) => {
                    ask(
                        "SELECT CAST(EXISTS (SELECT 1 FROM pg_index i \
                     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] \
                     WHERE i.indrelid = to_regclass({1}) AND i.indisunique AND i.indnkeyatts = 1 \
                     AND i.indpred IS NULL AND a.attname = {2}) AS TEXT)",
                        vec![
                            Arg::Text(Some(table.clone())),
                            Arg::Text(Some(t.id.clone())),
                        ],
                    )
                    .await?
                }
                DbPool::Sqlite(_) => {
                    let sole_key = ask(
                    "SELECT CAST((SELECT COUNT(*) FROM pragma_table_info({1}) WHERE pk > 0) = 1 \
                     AND (SELECT pk FROM pragma_table_info({1}) WHERE name = {2}) = 1 AS TEXT)",
                    vec![Arg::Text(Some(t.name.clone())), Arg::Text(Some(t.id.clone()))],
                )
                .await?;
                    sole_key
                        || ask(
                            "SELECT CAST(COUNT(*) AS TEXT) FROM pragma_index_list({1}) AS l \
                         WHERE l.\"unique\" = 1 AND l.partial = 0 \
                         AND (SELECT COUNT(*) FROM pragma_index_info(l.name)) = 1 \
                         AND (SELECT name FROM pragma_index_info(l.name)) = {2}",
                            vec![
                                Arg::Text(Some(t.name.clone())),
                                Arg::Text(Some(t.id.clone())),
                            ],
                        )
                        .await?
                }
            };
        if !unique {
            return Err(StoreError::IdNotUnique {
                column: t.id.clone(),
                table,
            });
        }
        Ok(())
    }

    /// Holds the row for a write, if it is still as the decision saw it.
    /// On PostgreSQL the row is locked (`FOR UPDATE`, waiting at most
    /// `LOCK_TIMEOUT_SECONDS`) until `write_held` commits or the hold is
    /// dropped; nothing else can change it meanwhile. `Err` says why the row
    /// cannot be held: changed, gone, locked too long.
    pub async fn hold_row(&self, change: &Change) -> Result<HeldRow, WriteOutcome> {
        let (sql, args) = self.hold_sql(change).await;
        match self.pool() {
            DbPool::Postgres(_) => {
                let mut tx = self
                    .write_transaction()
                    .await
                    .map_err(|e| WriteOutcome::Refused(e.to_string()))?;
                match tx.execute(&format!("{sql} FOR UPDATE"), args).await {
                    Ok(Some(_)) => Ok(HeldRow { tx: Some(tx) }),
                    Ok(None) => {
                        tx.rollback().await;
                        Err(self.why_not_written(change).await)
                    }
                    Err(e) => {
                        tx.rollback().await;
                        Err(WriteOutcome::Refused(e.or_timeout().to_string()))
                    }
                }
            }
            DbPool::Sqlite(_) => match execute(self.pool(), &sql, args).await {
                Ok(Some(_)) => Ok(HeldRow { tx: None }),
                Ok(None) => Err(self.why_not_written(change).await),
                Err(e) => Err(WriteOutcome::Refused(e.or_timeout().to_string())),
            },
        }
    }

    /// A transaction for a write, with its waits bounded.
    async fn write_transaction(&self) -> Result<Tx, StoreError> {
        let mut tx = Tx::begin(self.pool()).await?;
        if let Tx::Postgres(_) = tx {
            let bounded = tx
                .execute(
                    &format!(
                        "SELECT set_config('lock_timeout', '{LOCK_TIMEOUT_SECONDS}s', true), \
                         set_config('statement_timeout', '{STATEMENT_TIMEOUT_SECONDS}s', true)"
                    ),
                    vec![],
                )
                .await;
            if let Err(e) = bounded {
                tx.rollback().await;
                return Err(e);
            }
        }
        Ok(tx)
    }

    /// Writes one change and its audit record in one transaction, only if
    /// the row is still as the decision saw it.
    pub async fn apply_change(
        &self,
        change: &Change,
        actor: &Actor,
    ) -> Result<WriteOutcome, StoreError> {
        match self.hold_row(change).await {
            Ok(held) => self.write_held(held, change, actor).await,
            Err(refused) => Ok(refused),
        }
    }

    /// The row's compare-and-set check, as `hold_row` runs it (without the
    /// `FOR UPDATE` it adds on PostgreSQL).
    pub(super) async fn hold_sql(&self, change: &Change) -> (String, Vec<Arg>) {
        let mut args = Vec::new();
        let condition = self.cas_where(change, &mut args).await;
        let sql = format!(
            "SELECT CAST({} AS TEXT) FROM {} WHERE {condition}",
            quote(&self.table().id),
            quoted_table(&self.table().name),
        );
        (sql, args)
    }

    /// The compare-and-set `UPDATE … RETURNING id` of a change, as
    /// `write_held` runs it.
    pub(super) async fn update_sql(
        &self,
        change: &Change,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(String, Vec<Arg>), StoreError> {
        let (sets, mut args) = self.set_clause(change, actor, now).await?;
        let t = self.table();
        let condition = self.cas_where(change, &mut args).await;
        let update = format!(
            "UPDATE {} SET {} WHERE {condition} RETURNING CAST({} AS TEXT)",
            quoted_table(&t.name),
            sets.join(", "),
            quote(&t.id),
        );
        Ok((update, args))
    }

    /// What a change writes: the `SET` terms, over the first three values
    /// (`{1}` the status spelling, `{2}` now, `{3}` the note).
    pub(super) async fn set_clause(
        &self,
        change: &Change,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(Vec<String>, Vec<Arg>), StoreError> {
        let after_raw = self
            .status_map()
            .write_spelling(change.after)
            .ok_or(StoreError::NoSpelling(change.after))?;
        let t = self.table();
        let mut sets = vec![format!("{} = {{1}}", quote(&t.status))];
        if let Some(c) = t
            .completed_at
            .as_deref()
            .filter(|_| change.after.is_terminal())
        {
            sets.push(format!("{} = {{2}}", quote(c)));
        }
        if let Some(c) = t.updated_at.as_deref() {
            sets.push(format!("{} = {{2}}", quote(c)));
        }
        let note = change.reason.as_ref().map(|r| {
            format!(
                "[exectop {}@{} {}] {r}",
                actor.operator,
                actor.host,
                now.format("%Y-%m-%dT%H:%M:%SZ")
            )
        });
        let args = vec![
            Arg::Text(Some(after_raw.to_string())),
            Arg::Time(Some(now)),
            Arg::Text(note.clone()),
        ];
        if note.is_some()
            && let Some(expr) = self.error_expression(self.error_column_type().await.as_deref())
        {
            sets.push(format!(
                "{} = {expr}",
                quote(t.error.as_deref().unwrap_or_default())
            ));
        }
        Ok((sets, args))
    }

    /// The write of a held row: the compare-and-set update (exactly one row,
    /// or rolled back) and its audit record, committed together. The
    /// transaction ends here, committed or rolled back, on every path: a
    /// transaction left to its drop stays open on its pooled connection
    /// (holding its locks) until that connection is used again.
    pub async fn write_held(
        &self,
        held: HeldRow,
        change: &Change,
        actor: &Actor,
    ) -> Result<WriteOutcome, StoreError> {
        let now = Utc::now();
        let (update, args) = match self.update_sql(change, actor, now).await {
            Ok(statement) => statement,
            Err(e) => {
                held.release().await;
                return Err(e);
            }
        };
        let mut tx = match held.tx {
            Some(tx) => tx,
            None => self.write_transaction().await?,
        };
        match self
            .write_in(&mut tx, &update, args, change, actor, now)
            .await
        {
            Ok(WriteOutcome::Applied) => {
                tx.commit().await?;
                Ok(WriteOutcome::Applied)
            }
            refused => {
                tx.rollback().await;
                match refused {
                    Ok(WriteOutcome::Refused(_)) => Ok(self.why_not_written(change).await),
                    other => other,
                }
            }
        }
    }

    /// The update and the audit insert inside `tx`; `Refused` when the
    /// compare-and-set found no row (the caller says why).
    async fn write_in(
        &self,
        tx: &mut Tx,
        update: &str,
        args: Vec<Arg>,
        change: &Change,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<WriteOutcome, StoreError> {
        match tx
            .execute_all(update, args)
            .await
            .map_err(StoreError::or_timeout)?
        {
            0 => return Ok(WriteOutcome::Refused(String::new())),
            1 => {}
            n => {
                return Err(StoreError::UpdateNotUnique {
                    rows: n,
                    id: change.execution_id.clone(),
                });
            }
        }
        let after_raw = self
            .status_map()
            .write_spelling(change.after)
            .unwrap_or_default();
        let details =
            serde_json::json!({ "before_raw": change.seen.status_raw, "after_raw": after_raw })
                .to_string();
        let record = AuditRecord {
            at: now,
            action: change.action,
            execution_id: &change.execution_id,
            before: Some(self.status_map().status_of(&change.seen.status_raw)),
            after: Some(change.after.to_string()),
            reason: change.reason.clone(),
            remote_status: change.remote_status_seen.clone(),
            details,
        };
        tx.execute(&record.insert_sql(), record.args(self, actor))
            .await
            .map_err(|e| {
                if e.names_audit_table() {
                    StoreError::AuditTableMissing(Box::new(e))
                } else {
                    StoreError::NothingWritten(Box::new(e))
                }
            })?;
        Ok(WriteOutcome::Applied)
    }

    /// Records a remote stop on its own, committed at once: whatever happens
    /// to the row's write after it, the stop is on record.
    pub async fn audit_stop(
        &self,
        change: &Change,
        actor: &Actor,
        remote_id: &str,
        answer: &str,
    ) -> Result<(), StoreError> {
        let record = AuditRecord {
            at: Utc::now(),
            action: "stop_remote",
            execution_id: &change.execution_id,
            before: Some(self.status_map().status_of(&change.seen.status_raw)),
            after: None,
            reason: change.reason.clone(),
            remote_status: Some(answer.to_string()),
            details: serde_json::json!({ "remote_id": remote_id }).to_string(),
        };
        execute(self.pool(), &record.insert_sql(), record.args(self, actor))
            .await
            .map(drop)
            .map_err(|e| StoreError::StopNotRecorded(Box::new(e)))
    }

    /// Why a compare-and-set found no row: what the row is now, against what
    /// the decision saw.
    pub(super) async fn why_not_written(&self, change: &Change) -> WriteOutcome {
        let now_is = match self
            .by_ids_versioned(std::slice::from_ref(&change.execution_id))
            .await
        {
            Ok(rows) => rows,
            Err(e) => return WriteOutcome::Refused(format!("{e}; nothing written")),
        };
        let seen = &change.seen;
        WriteOutcome::Refused(match now_is.first() {
            None => "row no longer exists, nothing written".to_string(),
            Some((row, _)) if *row.raw_status != seen.status_raw => format!(
                "row is now {} (\"{}\"), not \"{}\" as seen: changed since you looked, nothing written",
                row.status, row.raw_status, seen.status_raw
            ),
            Some((_, now)) if now.remote_id != seen.remote_id => format!(
                "its remote id is now {} (you saw {}): the row was reused for another attempt, nothing written",
                now.remote_id.as_deref().unwrap_or("none"),
                seen.remote_id.as_deref().unwrap_or("none"),
            ),
            Some(_) => "the row was written since you looked (same status, newer version): \
                 nothing written; look again and confirm"
                .to_string(),
        })
    }
}

/// One row of `exectop_audit`.
pub(super) struct AuditRecord<'a> {
    pub(super) at: DateTime<Utc>,
    pub(super) action: &'a str,
    pub(super) execution_id: &'a str,
    pub(super) before: Option<Status>,
    pub(super) after: Option<String>,
    pub(super) reason: Option<String>,
    pub(super) remote_status: Option<String>,
    pub(super) details: String,
}

impl AuditRecord<'_> {
    pub(super) fn insert_sql(&self) -> String {
        "INSERT INTO exectop_audit (at, operator, host, action, table_name, execution_id, before_status, \
         after_status, reason, remote_status, details) VALUES ({1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}, {9}, {10}, {11})"
            .to_string()
    }

    pub(super) fn args(&self, store: &Store, actor: &Actor) -> Vec<Arg> {
        vec![
            Arg::Time(Some(self.at)),
            Arg::Text(Some(actor.operator.clone())),
            Arg::Text(Some(actor.host.clone())),
            Arg::Text(Some(self.action.to_string())),
            Arg::Text(Some(store.table().name.clone())),
            Arg::Text(Some(self.execution_id.to_string())),
            Arg::Text(self.before.map(|s| s.to_string())),
            Arg::Text(self.after.clone()),
            Arg::Text(self.reason.clone()),
            Arg::Text(self.remote_status.clone()),
            Arg::Text(Some(self.details.clone())),
        ]
    }
}
