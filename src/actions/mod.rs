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

/// Reads the targets now; a row whose status is no longer the one seen is
/// refused in the plan already.
/// A target as read now: the row to act on, or why it is left alone.
enum Read {
    Row(Box<(crate::domain::Execution, RowVersion)>),
    Refused(Box<Planned>),
}

async fn read_targets(store: &Store, targets: &[Target]) -> Result<Vec<Read>, ActionError> {
    // An id asked for twice is one row, planned once.
    let mut asked = std::collections::HashSet::new();
    let targets: Vec<&Target> = targets.iter().filter(|t| asked.insert(&t.id)).collect();
    let ids: Vec<String> = targets.iter().map(|t| t.id.clone()).collect();
    // Each id in the id column's form; one that cannot be of its type is
    // refused here, by name, before anything is read or written.
    let admitted = store.admit_ids(&ids).await;
    let valid: Vec<String> = admitted.iter().filter_map(|a| a.clone().ok()).collect();
    let rows = store.by_ids_versioned(&valid).await?;
    Ok(targets
        .iter()
        .zip(admitted)
        .map(|(t, admitted)| {
            let unknown = |note: String| {
                Read::Refused(Box::new(Planned {
                    execution_id: t.id.clone(),
                    remote_id: None,
                    target: None,
                    before: Status::Unknown,
                    seen: RowVersion::default(),
                    after: None,
                    note,
                    remote_status_seen: None,
                    already_done: false,
                }))
            };
            let id = match admitted {
                Ok(id) => id,
                Err(why) => return unknown(format!("no such execution: {why}")),
            };
            let Some((row, seen)) = rows.iter().find(|(r, _)| r.id == id) else {
                return unknown("no such execution".into());
            };
            match t.seen {
                Some(was) if was != row.status => Read::Refused(Box::new(Planned {
                    note: format!(
                        "row is now {} (you saw {was}): changed since you looked",
                        row.status
                    ),
                    ..skip(row, seen, String::new())
                })),
                _ => Read::Row(Box::new((row.clone(), seen.clone()))),
            }
        })
        .collect())
}

fn skip(row: &crate::domain::Execution, seen: &RowVersion, note: String) -> Planned {
    Planned {
        execution_id: row.id.clone(),
        remote_id: row.remote_id.clone(),
        target: LookupTarget::of(row),
        before: row.status,
        seen: seen.clone(),
        after: None,
        note,
        remote_status_seen: None,
        already_done: false,
    }
}

/// The longest an action waits out the remote's `Retry-After`, summed over
/// all its rows: long enough for a few 429s in a bulk plan, short enough
/// that an operator at the preview is not left staring at nothing.
pub const THROTTLE_BUDGET: Duration = Duration::from_secs(15);

/// What is left of one action's [`THROTTLE_BUDGET`].
#[derive(Debug)]
pub struct Patience {
    budget: Duration,
    left: Duration,
    /// Giving up is logged once per action, not once per remaining row.
    gave_up: bool,
}

impl Patience {
    pub fn new(budget: Duration) -> Patience {
        Patience {
            budget,
            left: budget,
            gave_up: false,
        }
    }
}

impl Default for Patience {
    fn default() -> Self {
        Patience::new(THROTTLE_BUDGET)
    }
}

/// Asks the remote, waiting out a 429's `Retry-After` and asking again while
/// the action's patience lasts. A throttled answer comes back only when the
/// wait asked for is more than what is left.
pub async fn lookup_patiently(
    tracker: &Arc<dyn RemoteTracker>,
    target: &LookupTarget,
    patience: &mut Patience,
) -> RemoteAnswer {
    let remote_id = &target.remote_id;
    loop {
        let answer = tracker.lookup(target).await;
        let RemoteAnswer::Throttled {
            retry_after_seconds,
        } = &answer
        else {
            return answer;
        };
        let wait = Duration::from_secs(retry_after_seconds.unwrap_or(1).max(1));
        if wait > patience.left {
            if !patience.gave_up {
                patience.gave_up = true;
                tracing::warn!(
                    "remote API still throttling (Retry-After {}s) after this action waited {}s: rows it cannot ask about are left alone",
                    wait.as_secs(),
                    (patience.budget - patience.left).as_secs()
                );
            }
            return answer;
        }
        tracing::info!(
            "remote API throttled the look-up of {remote_id}; waiting {}s as it asked, then asking again",
            wait.as_secs()
        );
        patience.left -= wait;
        tokio::time::sleep(wait).await;
    }
}

/// What reconcile makes of the remote's answer.
struct Decision {
    /// The status to write; `None`: nothing is written (see `note`).
    after: Option<Status>,
    note: String,
    seen: Option<String>,
    in_step: bool,
}

fn reconcile_decision(local: Status, answer: &RemoteAnswer) -> Decision {
    let leave = |note: String, seen: Option<String>| Decision {
        after: None,
        note,
        seen,
        in_step: false,
    };
    match answer {
        RemoteAnswer::Found { status, raw } if *status == Status::Unknown => leave(
            format!("remote says {raw:?}, which the configuration does not map"),
            Some(raw.to_string()),
        ),
        RemoteAnswer::Found { status, raw } if transition_allowed(local, *status) => Decision {
            after: Some(*status),
            note: format!("remote says {raw}"),
            seen: Some(raw.to_string()),
            in_step: false,
        },
        RemoteAnswer::Found { status, raw } if *status == local => Decision {
            in_step: true,
            ..leave(
                format!("already in step: remote says {raw}"),
                Some(raw.to_string()),
            )
        },
        RemoteAnswer::Found { status, raw } => leave(
            format!("remote says {raw}; {local} → {status} is not allowed"),
            Some(raw.to_string()),
        ),
        RemoteAnswer::NotFound => leave(
            "remote does not know this execution: use mark-failed".into(),
            None,
        ),
        RemoteAnswer::Error { message }
        | RemoteAnswer::Doubted { message }
        | RemoteAnswer::Unasked { message } => {
            leave(format!("could not ask the remote: {message}"), None)
        }
        RemoteAnswer::Throttled {
            retry_after_seconds,
        } => leave(
            format!(
                "the remote API is throttling us (it asks for {}s more; an action waits {}s at most): try again shortly",
                retry_after_seconds.unwrap_or(1),
                THROTTLE_BUDGET.as_secs()
            ),
            None,
        ),
    }
}

pub async fn plan_reconcile(
    store: &Store,
    tracker: Option<&Arc<dyn RemoteTracker>>,
    targets: &[Target],
) -> Result<Plan, ActionError> {
    let tracker = tracker.ok_or(ActionError::ReconcileNeedsTracker)?;
    let mut items = Vec::new();
    let mut patience = Patience::default();
    for read in read_targets(store, targets).await? {
        let (row, seen) = match read {
            Read::Row(row) => *row,
            Read::Refused(refused) => {
                items.push(*refused);
                continue;
            }
        };
        let Some(target) = LookupTarget::of(&row) else {
            items.push(skip(
                &row,
                &seen,
                "no remote id to ask about: use mark-failed".into(),
            ));
            continue;
        };
        let answer = lookup_patiently(tracker, &target, &mut patience).await;
        let decision = reconcile_decision(row.status, &answer);
        items.push(Planned {
            after: decision.after,
            note: decision.note,
            remote_status_seen: decision.seen,
            already_done: decision.in_step,
            ..skip(&row, &seen, String::new())
        });
    }
    Ok(Plan {
        kind: ActionKind::Reconcile,
        reason: None,
        stop_remote: false,
        items,
    })
}

/// Plans marking the targets failed. With `stop_remote`, the tracker must be
/// able to stop runs: a stop that cannot happen is refused here, never
/// skipped silently.
pub async fn plan_mark_failed(
    store: &Store,
    tracker: Option<&Arc<dyn RemoteTracker>>,
    targets: &[Target],
    reason: &str,
    stop_remote: bool,
) -> Result<Plan, ActionError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(ActionError::NoReason);
    }
    if stop_remote {
        match tracker {
            None => return Err(ActionError::StopNeedsTracker),
            Some(t) if !t.can_stop() => {
                return Err(ActionError::TrackerCannotStop {
                    tracker: t.describe(),
                });
            }
            Some(_) => {}
        }
    }
    let failed_status = Status::Failed;
    let mut items = Vec::new();
    for read in read_targets(store, targets).await? {
        items.push(match read {
            Read::Refused(refused) => *refused,
            Read::Row(row) => {
                let (row, seen) = *row;
                if !transition_allowed(row.status, failed_status) {
                    Planned {
                        already_done: row.status == failed_status,
                        ..skip(
                            &row,
                            &seen,
                            format!(
                                "already {}: a terminal status is never rewritten",
                                row.status
                            ),
                        )
                    }
                } else {
                    Planned {
                        after: Some(failed_status),
                        note: format!("reason: {reason}"),
                        ..skip(&row, &seen, String::new())
                    }
                }
            }
        });
    }
    Ok(Plan {
        kind: ActionKind::MarkFailed,
        reason: Some(reason.to_string()),
        stop_remote,
        items,
    })
}

/// Every active execution older than `max_age` becomes timed out (failed
/// where the table has no timed-out spelling).
pub async fn plan_cleanup(
    store: &Store,
    max_age: Duration,
    now: DateTime<Utc>,
) -> Result<Plan, ActionError> {
    let after = if store
        .status_map()
        .write_spelling(Status::TimedOut)
        .is_some()
    {
        Status::TimedOut
    } else {
        Status::Failed
    };
    let limit = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
    let over: Vec<String> = store
        .active()
        .await?
        .into_iter()
        .filter(|e| e.total_age_seconds(now) > limit)
        .map(|e| e.id)
        .collect();
    // Read again with what each write will compare against.
    let mut rows = store.by_ids_versioned(&over).await?;
    rows.retain(|(e, _)| e.status.is_active() && e.total_age_seconds(now) > limit);
    rows.sort_by_key(|(e, _)| e.created_at);
    let items = rows
        .iter()
        .map(|(e, seen)| Planned {
            after: Some(after),
            note: format!(
                "{} for {}, over --max-age {}",
                e.status,
                format_age(e.total_age_seconds(now)),
                format_duration_spec(max_age)
            ),
            ..skip(e, seen, String::new())
        })
        .collect();
    let reason = format!(
        "clean-up: active longer than {}",
        format_duration_spec(max_age)
    );
    Ok(Plan {
        kind: ActionKind::Cleanup,
        reason: Some(reason),
        stop_remote: false,
        items,
    })
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

mod stop;
