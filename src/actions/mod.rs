//! Operator actions: reconcile, mark failed, clean up. One implementation
//! serves the monitor's keys and the command line: `plan_*` reads the rows
//! (and asks the remote) and says what would change; `apply` writes each
//! change compare-and-set, with its audit record, after asking the remote
//! once more where the action depends on it.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::{RemoteAnswer, Status, format_age, format_duration_spec, transition_allowed};
use crate::remote::{LookupTarget, RemoteError, RemoteTracker};
use crate::store::{Actor, Change, RowVersion, Store, StoreError, WriteAccess, WriteOutcome};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Reconcile,
    MarkFailed,
    Cleanup,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Reconcile => "reconcile",
            ActionKind::MarkFailed => "mark_failed",
            ActionKind::Cleanup => "cleanup",
        }
    }
}

/// An execution to act on, and the status the operator saw (for compare-and-set).
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub id: String,
    pub seen: Option<Status>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Planned {
    pub execution_id: String,
    pub remote_id: Option<String>,
    /// What the tracker needs to ask about the row (its remote id, name, group).
    #[serde(skip)]
    pub target: Option<LookupTarget>,
    pub before: Status,
    /// What the decision rests on, as read for the preview: the write is
    /// compare-and-set on all of it (status spelling, remote id, version).
    #[serde(skip)]
    pub seen: RowVersion,
    /// `None`: nothing will be written for this row (see `note`).
    pub after: Option<Status>,
    pub note: String,
    pub remote_status_seen: Option<String>,
    /// Nothing is written because the row already is what the action would
    /// make it (reconcile: in step with the remote; mark failed: failed).
    /// Not a refusal: the command line exits 0 for it.
    pub already_done: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub kind: ActionKind,
    pub reason: Option<String>,
    /// Mark failed: stop the remote run first and wait for it to confirm.
    pub stop_remote: bool,
    pub items: Vec<Planned>,
}

impl Plan {
    pub fn changes(&self) -> usize {
        self.items.iter().filter(|i| i.after.is_some()).count()
    }
}

/// What happened to one execution. Serializes as `--json` reports it:
/// `applied` is `true`, or the reason nothing was written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub execution_id: String,
    pub before: Status,
    pub after: Option<Status>,
    #[serde(serialize_with = "applied_json")]
    pub applied: Result<(), String>,
    /// See [`Planned::already_done`]; `applied` then holds why nothing was written.
    #[serde(skip)]
    pub already_done: bool,
}

impl Outcome {
    /// A row asked for that was neither written nor already as asked.
    pub fn refused(&self) -> bool {
        self.applied.is_err() && !self.already_done
    }
}

fn applied_json<S: serde::Serializer>(v: &Result<(), String>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Ok(()) => s.serialize_bool(true),
        Err(why) => s.serialize_str(why),
    }
}

/// Why an action does not run at all, or a row's write failed outright.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ActionError {
    /// Read-only mode: the action layer itself refuses.
    #[error("read-only mode: exectop writes nothing")]
    ReadOnly,
    /// This role or table cannot take exectop's writes (see `WriteAccess`).
    #[error("read-only ({0}): exectop writes nothing")]
    NoWriteAccess(StoreError),
    /// Reading the rows, taking the lease or a write failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("mark-failed needs a reason")]
    NoReason,
    #[error("reconcile needs a remote tracker ([remote] kind in the configuration)")]
    ReconcileNeedsTracker,
    #[error(
        "--stop-remote needs a remote tracker ([remote] kind in the configuration); nothing written"
    )]
    StopNeedsTracker,
    /// `tracker` is the tracker's short name (`http api.example.com`).
    #[error(
        "--stop-remote: the remote tracker ({tracker}) cannot stop runs (no remote.stop_path); nothing written"
    )]
    TrackerCannotStop { tracker: String },
    /// The plan asks for stops the tracker given to `apply` cannot make.
    #[error("the remote tracker cannot stop runs; nothing written")]
    StopUnavailable,
    /// A remote stop was sent but could not be put on record: the row is
    /// left as it was.
    #[error("{0}; the row was not written")]
    StopNotRecorded(StoreError),
    /// Clean-up takes an age, not a selection: no key of the monitor asks for it.
    #[error("clean-up runs from the command line (exectop cleanup), not from a key")]
    CleanupFromKeys,
}

/// Why a remote stop is not confirmed; its text goes on record in the
/// audit log and into the row's refusal.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StopError {
    #[error("the remote did not accept the stop ({0})")]
    NotAccepted(RemoteError),
    #[error("the stop was sent but the remote did not confirm it within {seconds}s")]
    NotConfirmed { seconds: u64 },
}

/// Writes the plan: each row compare-and-set with its audit record. More
/// than one write takes the table's bulk lease first. Read-only, and a role
/// or table that cannot take exectop's writes, refuse here before anything
/// happens. What is written is what the operator confirmed: a reconcile
/// whose remote now says something else leaves the row alone and says so.
pub async fn apply(
    store: &Store,
    tracker: Option<&Arc<dyn RemoteTracker>>,
    plan: &Plan,
    actor: &Actor,
    read_only: bool,
) -> Result<Vec<Outcome>, ActionError> {
    if read_only {
        return Err(ActionError::ReadOnly);
    }
    if let WriteAccess::Denied(why) = store.write_access().await {
        return Err(ActionError::NoWriteAccess(why));
    }
    let stopper = if plan.kind == ActionKind::MarkFailed && plan.stop_remote {
        match tracker.filter(|t| t.can_stop()) {
            Some(t) => Some(t),
            None => return Err(ActionError::StopUnavailable),
        }
    } else {
        None
    };
    let lease = if plan.changes() > 1 {
        Some(store.lease(actor).await?)
    } else {
        None
    };
    if plan.kind != ActionKind::Reconcile && stopper.is_none() {
        let changes: Vec<Change> = plan
            .items
            .iter()
            .filter_map(|item| change_of(plan, item))
            .collect();
        if changes.len() > 1 && store.can_write_in_chunks(&changes) {
            let outcomes = write_in_chunks(store, plan, &changes, actor).await;
            if let Some(lease) = lease {
                lease.release().await;
            }
            return Ok(outcomes);
        }
    }
    let mut outcomes = Vec::new();
    let mut patience = Patience::default();
    for item in &plan.items {
        let mut outcome = Outcome {
            execution_id: item.execution_id.clone(),
            before: item.before,
            after: item.after,
            applied: Err(item.note.clone()),
            already_done: item.already_done,
        };
        let Some(mut change) = change_of(plan, item) else {
            outcomes.push(outcome);
            continue;
        };
        let after = change.after;
        if plan.kind == ActionKind::Reconcile {
            let (Some(tracker), Some(target)) = (tracker, item.target.as_ref()) else {
                outcomes.push(outcome);
                continue;
            };
            if let Err((why, in_step)) =
                still_as_confirmed(tracker, target, item, &mut patience, &mut change).await
            {
                outcome.applied = Err(why);
                outcome.after = None;
                outcome.already_done = in_step;
                outcomes.push(outcome);
                continue;
            }
        }
        let written = match (stopper, item.target.as_ref()) {
            (Some(tracker), Some(target)) => {
                stop::stop_then_write(store, tracker, &mut change, target, actor).await
            }
            _ => store
                .apply_change(&change, actor)
                .await
                .map_err(ActionError::from),
        };
        outcome.applied = match written {
            Ok(WriteOutcome::Applied) => {
                tracing::info!(
                    "{} {}: {} → {after} by {}",
                    plan.kind.as_str(),
                    item.execution_id,
                    item.before,
                    actor.operator
                );
                Ok(())
            }
            Ok(WriteOutcome::Refused(why)) => {
                tracing::warn!(
                    "{} {} refused: {why}",
                    plan.kind.as_str(),
                    item.execution_id
                );
                Err(why)
            }
            Err(e) => Err(e.to_string()),
        };
        outcomes.push(outcome);
    }
    if let Some(lease) = lease {
        lease.release().await;
    }
    Ok(outcomes)
}

/// The write a planned row asks for, if any.
fn change_of(plan: &Plan, item: &Planned) -> Option<Change> {
    Some(Change {
        action: plan.kind.as_str(),
        execution_id: item.execution_id.clone(),
        seen: item.seen.clone(),
        after: item.after?,
        reason: plan.reason.clone(),
        remote_status_seen: item.remote_status_seen.clone(),
    })
}

/// A bulk write without remote steps, a statement per chunk of rows
/// (`Store::apply_chunk`), each row still compare-and-set and audited.
async fn write_in_chunks(
    store: &Store,
    plan: &Plan,
    changes: &[Change],
    actor: &Actor,
) -> Vec<Outcome> {
    let mut written: std::collections::HashMap<&str, Result<(), String>> =
        std::collections::HashMap::new();
    for chunk in changes.chunks(crate::store::CHUNK) {
        match store.apply_chunk(chunk, actor).await {
            Ok(results) => {
                for (change, result) in chunk.iter().zip(results) {
                    written.insert(
                        &change.execution_id,
                        match result {
                            WriteOutcome::Applied => Ok(()),
                            WriteOutcome::Refused(why) => Err(why),
                        },
                    );
                }
            }
            Err(e) => {
                tracing::warn!(
                    "{} of {} rows refused: {e}",
                    plan.kind.as_str(),
                    chunk.len()
                );
                for change in chunk {
                    written.insert(&change.execution_id, Err(e.to_string()));
                }
            }
        }
    }
    let applied = written.values().filter(|r| r.is_ok()).count();
    tracing::info!(
        "{}: {applied} of {} rows written by {}",
        plan.kind.as_str(),
        changes.len(),
        actor.operator
    );
    plan.items
        .iter()
        .map(|item| Outcome {
            execution_id: item.execution_id.clone(),
            before: item.before,
            after: item.after,
            applied: written
                .remove(item.execution_id.as_str())
                .unwrap_or_else(|| Err(item.note.clone())),
            already_done: item.already_done,
        })
        .collect()
}

/// Asks the remote again right before a reconcile writes. The write goes
/// ahead only with the status the operator confirmed; any other answer is
/// returned as why nothing was written (and whether the row is in step).
async fn still_as_confirmed(
    tracker: &Arc<dyn RemoteTracker>,
    target: &LookupTarget,
    item: &Planned,
    patience: &mut Patience,
    change: &mut Change,
) -> Result<(), (String, bool)> {
    let answer = lookup_patiently(tracker, target, patience).await;
    let decision = reconcile_decision(item.before, &answer);
    match decision.after {
        Some(now) if Some(now) == item.after => {
            change.remote_status_seen = decision.seen;
            Ok(())
        }
        Some(now) => Err((
            format!(
                "the remote now says {} (→ {now}), not what you confirmed (→ {}): nothing written; reconcile again to see the new answer",
                decision.seen.as_deref().unwrap_or("?"),
                item.after.map_or("-".into(), |s| s.to_string()),
            ),
            false,
        )),
        None => Err((decision.note, decision.in_step)),
    }
}

mod plan;
mod stop;

use plan::reconcile_decision;
pub use plan::{
    Patience, THROTTLE_BUDGET, lookup_patiently, plan_cleanup, plan_mark_failed, plan_reconcile,
};
