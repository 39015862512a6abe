//! Mark failed with a remote stop: the one irreversible step exectop takes.
//! The order makes sure nothing happens off the record: the row is held
//! first (locked on PostgreSQL, checked on SQLite), so a row that changed
//! since the preview is refused before anything is stopped; then the stop is
//! sent and recorded in the audit log on its own, whatever follows; only a
//! stop the remote confirms lets the row be written.

use std::sync::Arc;
use std::time::Duration;

use super::{ActionError, StopError};
use crate::domain::RemoteAnswer;
use crate::remote::{LookupTarget, RemoteTracker};
use crate::store::{Actor, Change, Store, StoreError, WriteOutcome};

const STOP_CONFIRM_WAIT: Duration = Duration::from_secs(10);

pub(super) async fn stop_then_write(
    store: &Store,
    tracker: &Arc<dyn RemoteTracker>,
    change: &mut Change,
    target: &LookupTarget,
    actor: &Actor,
) -> Result<WriteOutcome, ActionError> {
    let remote_id = target.remote_id.as_str();
    let held = match store.hold_row(change).await {
        Ok(held) => held,
        Err(WriteOutcome::Refused(why)) => {
            return Ok(WriteOutcome::Refused(format!(
                "{why}; the remote run was not stopped"
            )));
        }
        Err(other) => return Ok(other),
    };
    let why = format!(
        "stopped by {}@{} with exectop: {}",
        actor.operator,
        actor.host,
        change.reason.as_deref().unwrap_or("no reason given")
    );
    let stopped = stop_and_confirm(tracker, target, &why).await;
    let on_record = match &stopped {
        Ok(status) => format!("stopped; the remote confirms {status}"),
        Err(why) => why.to_string(),
    };
    if let Err(e) = audit_stop_patiently(store, change, actor, remote_id, &on_record).await {
        held.release().await;
        tracing::error!("execution {}: {e}", change.execution_id);
        return Err(ActionError::StopNotRecorded(e));
    }
    tracing::info!(
        "execution {}: remote run {remote_id} stop by {}: {on_record}",
        change.execution_id,
        actor.operator
    );
    match stopped {
        Ok(status) => {
            change.remote_status_seen = Some(status);
            let not_written = |why: String| {
                WriteOutcome::Refused(format!(
                    "the remote run was stopped (on record in the audit log), but the row was not written: {why}"
                ))
            };
            Ok(match store.write_held(held, change, actor).await {
                Ok(WriteOutcome::Refused(why)) => not_written(why),
                Err(e) => not_written(e.to_string()),
                Ok(applied) => applied,
            })
        }
        Err(why) => {
            held.release().await;
            Ok(WriteOutcome::Refused(format!("{why}; nothing written")))
        }
    }
}

/// The stop is sent: its record must be written. A passing failure (no
/// connection in time, a busy SQLite writer) is retried a few times.
async fn audit_stop_patiently(
    store: &Store,
    change: &Change,
    actor: &Actor,
    remote_id: &str,
    answer: &str,
) -> Result<(), StoreError> {
    let mut attempt = 0u32;
    loop {
        match store.audit_stop(change, actor, remote_id, answer).await {
            Ok(()) => return Ok(()),
            Err(e) if attempt >= 3 => return Err(e),
            Err(_) => attempt += 1,
        }
        tokio::time::sleep(Duration::from_millis(250 * u64::from(attempt))).await;
    }
}

/// Stops the remote run and waits until the remote reports it finished:
/// its status then, or why the stop is not confirmed.
async fn stop_and_confirm(
    tracker: &Arc<dyn RemoteTracker>,
    target: &LookupTarget,
    why: &str,
) -> Result<String, StopError> {
    tracker
        .stop(target, why)
        .await
        .map_err(StopError::NotAccepted)?;
    let deadline = tokio::time::Instant::now() + STOP_CONFIRM_WAIT;
    loop {
        match tracker.lookup(target).await {
            RemoteAnswer::Found { status, raw } if status.is_terminal() => {
                return Ok(raw.to_string());
            }
            RemoteAnswer::NotFound => return Ok("not found".into()),
            _ if tokio::time::Instant::now() >= deadline => {
                return Err(StopError::NotConfirmed {
                    seconds: STOP_CONFIRM_WAIT.as_secs(),
                });
            }
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}
