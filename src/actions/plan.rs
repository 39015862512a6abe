//! Planning an action: the targets read now (a row whose status is no
//! longer the one seen is refused here already), the remote asked where the
//! action depends on it, and what would change said row by row.

use super::*;

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
pub(super) struct Decision {
    /// The status to write; `None`: nothing is written (see `note`).
    pub after: Option<Status>,
    pub note: String,
    pub seen: Option<String>,
    pub in_step: bool,
}

pub(super) fn reconcile_decision(local: Status, answer: &RemoteAnswer) -> Decision {
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
