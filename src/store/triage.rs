//! Shared triage, stored in exectop's own `exectop_triage` (never in the
//! operator's table): read whole each poll (it holds a row per triaged
//! finding), changed one finding at a time with its audit row in the same
//! transaction.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::StoreError;
use super::cas::AuditRecord;
use super::exec::{Arg, Tx};
use super::read::Store;
use super::timestamp::parse_timestamp;
use super::write::Actor;
use crate::domain::FindingKind;
use crate::domain::triage::{FindingKey, Mark, Triage, TriageChange};

/// Columns as text on both backends (a PostgreSQL moment read as text).
const COLUMNS: &str = "subject, kind, claimed_by, CAST(claimed_at AS TEXT), acked_by, \
     CAST(acked_at AS TEXT), acked_note, snoozed_by, CAST(snoozed_at AS TEXT), \
     CAST(snoozed_until AS TEXT), noted_by, CAST(noted_at AS TEXT), note, CAST(severity AS TEXT)";

fn mark(by: &Option<String>, at: &Option<String>, note: Option<String>) -> Option<Mark> {
    Some(Mark {
        by: by.clone()?,
        at: parse_timestamp(at.as_deref()?)?,
        note,
    })
}

fn triage_of(row: &[Option<String>]) -> Option<(FindingKey, Triage)> {
    let key = FindingKey {
        subject: row.first()?.clone()?,
        kind: FindingKind::from_name(row.get(1)?.as_deref()?)?,
    };
    let t = Triage {
        claimed: mark(&row[2], &row[3], None),
        acknowledged: mark(&row[4], &row[5], row[6].clone()),
        snoozed: mark(&row[7], &row[8], None),
        snoozed_until: row[9].as_deref().and_then(parse_timestamp),
        note: mark(&row[10], &row[11], row[12].clone()),
        severity: row[13].as_deref().and_then(|s| s.parse().ok()),
    };
    Some((key, t))
}

fn time(at: Option<&Mark>) -> Arg {
    Arg::Time(at.map(|m| m.at))
}

fn text(value: Option<&str>) -> Arg {
    Arg::Text(value.map(str::to_string))
}

impl Store {
    /// Every triaged finding of this table. No triage table (not migrated
    /// yet) reads as none.
    pub async fn triage(&self) -> Result<HashMap<FindingKey, Triage>, StoreError> {
        let mut tx = Tx::begin(self.pool()).await?;
        let rows = tx
            .rows(
                &format!("SELECT {COLUMNS} FROM exectop_triage WHERE table_name = {{1}}"),
                vec![Arg::Text(Some(self.table().name.clone()))],
            )
            .await;
        tx.rollback().await;
        match rows {
            Ok(rows) => Ok(rows.iter().filter_map(|r| triage_of(r)).collect()),
            Err(e) if e.names_table("exectop_triage") => Ok(HashMap::new()),
            Err(e) => Err(e),
        }
    }

    /// Applies `change` to one finding by `actor`, with its audit row, in
    /// one transaction; returns the triage now. `severity` is the finding's
    /// as the operator saw it (`Finding::severity`).
    pub async fn change_triage(
        &self,
        key: &FindingKey,
        change: &TriageChange,
        severity: u8,
        actor: &Actor,
    ) -> Result<Triage, StoreError> {
        let at = Utc::now();
        let table = self.table().name.clone();
        let mut tx = Tx::begin(self.pool()).await?;
        let done = async {
            let before = tx
                .rows(
                    &format!(
                        "SELECT {COLUMNS} FROM exectop_triage \
                         WHERE table_name = {{1}} AND subject = {{2}} AND kind = {{3}}"
                    ),
                    vec![
                        Arg::Text(Some(table.clone())),
                        Arg::Text(Some(key.subject.clone())),
                        Arg::Text(Some(key.kind.as_str().into())),
                    ],
                )
                .await?
                .first()
                .and_then(|r| triage_of(r))
                .map(|(_, t)| t)
                .unwrap_or_default();
            let after = change.applied(&before, &actor.operator, at, severity);
            write(&mut tx, &table, key, &after).await?;
            let record = AuditRecord {
                at,
                action: change.action(),
                execution_id: &key.subject,
                before: None,
                after: None,
                reason: match change {
                    TriageChange::Acknowledge { note } => Some(note.clone()),
                    TriageChange::Note { text } => Some(text.clone()),
                    TriageChange::Snooze { until } => Some(format!("until {}", until.to_rfc3339())),
                    _ => None,
                },
                remote_status: None,
                details: serde_json::json!({ "kind": key.kind.as_str() }).to_string(),
            };
            tx.execute(&record.insert_sql(), record.args(self, actor))
                .await?;
            // The other terminals on the table read it at once where they
            // listen (team mode); otherwise with their next poll.
            if matches!(self.pool(), super::pool::DbPool::Postgres(_)) {
                tx.execute(
                    "SELECT pg_notify({1}, {2})",
                    vec![
                        Arg::Text(Some(super::shared::TRIAGE_CHANNEL.into())),
                        Arg::Text(Some(table.clone())),
                    ],
                )
                .await?;
            }
            Ok::<_, StoreError>(after)
        }
        .await;
        match done {
            Ok(after) => {
                tx.commit().await?;
                Ok(after)
            }
            Err(e) => {
                tx.rollback().await;
                Err(if e.names_table("exectop_triage") {
                    StoreError::NoTriageTable(Box::new(e))
                } else {
                    e
                })
            }
        }
    }
}

/// The row as `t` says, or no row where nothing is left of it.
async fn write(tx: &mut Tx, table: &str, key: &FindingKey, t: &Triage) -> Result<(), StoreError> {
    let id = vec![
        Arg::Text(Some(table.to_string())),
        Arg::Text(Some(key.subject.clone())),
        Arg::Text(Some(key.kind.as_str().into())),
    ];
    tx.execute(
        "DELETE FROM exectop_triage WHERE table_name = {1} AND subject = {2} AND kind = {3}",
        id.clone(),
    )
    .await?;
    if *t == Triage::default() {
        return Ok(());
    }
    let snoozed_until: Option<DateTime<Utc>> = t.snoozed_until;
    let mut args = id;
    args.extend([
        text(t.claimed.as_ref().map(|m| m.by.as_str())),
        time(t.claimed.as_ref()),
        text(t.acknowledged.as_ref().map(|m| m.by.as_str())),
        time(t.acknowledged.as_ref()),
        text(t.acknowledged.as_ref().and_then(|m| m.note.as_deref())),
        text(t.snoozed.as_ref().map(|m| m.by.as_str())),
        time(t.snoozed.as_ref()),
        Arg::Time(snoozed_until),
        text(t.note.as_ref().map(|m| m.by.as_str())),
        time(t.note.as_ref()),
        text(t.note.as_ref().and_then(|m| m.note.as_deref())),
        Arg::Text(t.severity.map(|s| s.to_string())),
    ]);
    tx.execute(
        "INSERT INTO exectop_triage (table_name, subject, kind, claimed_by, claimed_at, acked_by, \
         acked_at, acked_note, snoozed_by, snoozed_at, snoozed_until, noted_by, noted_at, note, \
         severity) VALUES ({1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}, {9}, {10}, {11}, {12}, {13}, \
         {14}, CAST({15} AS INTEGER))",
        args,
    )
    .await?;
    Ok(())
}
