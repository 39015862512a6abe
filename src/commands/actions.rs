//! The action layer behind the monitor's keys: plans what the operator asked
//! for, keeps the plan until it is confirmed or cancelled, applies it with
//! the same code as the command line, and answers over a channel.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::setup::Setup;
use crate::actions::{self, ActionError, Plan, Target};
use crate::remote::RemoteTracker;
use crate::remote::recent::EventsFetcher;
use crate::store::{Actor, Store};
use crate::tui::{
    ActionChannel, ActionCommand, ActionEvent, ActionKind, ActionPreview, ActionReport,
    ActionRequest, PreviewRow, ReportRow,
};

const AUDIT_ROWS: i64 = 200;

async fn plan(
    store: &Store,
    tracker: Option<&Arc<dyn RemoteTracker>>,
    request: &ActionRequest,
) -> Result<Plan, ActionError> {
    let targets: Vec<Target> = request
        .targets
        .iter()
        .map(|t| Target {
            id: t.id.clone(),
            seen: Some(t.seen_status),
        })
        .collect();
    match request.kind {
        ActionKind::Reconcile => actions::plan_reconcile(store, tracker, &targets).await,
        ActionKind::MarkFailed => {
            let reason = request.reason.as_deref().unwrap_or_default();
            // Stop the remote run first wherever the tracker can.
            let stop = tracker.is_some_and(|t| t.can_stop());
            actions::plan_mark_failed(store, tracker, &targets, reason, stop).await
        }
        ActionKind::Cleanup => Err(ActionError::CleanupFromKeys),
    }
}

fn preview(request_id: u64, kind: ActionKind, plan: &Plan) -> ActionPreview {
    ActionPreview {
        request_id,
        kind,
        rows: plan
            .items
            .iter()
            .map(|i| PreviewRow {
                id: i.execution_id.clone(),
                before: i.before.to_string(),
                after: i.after.map(|s| s.to_string()),
                note: i.note.clone(),
            })
            .collect(),
        note: plan.stop_remote.then(|| {
            "remote runs are stopped first; a row is marked only once its remote confirms".into()
        }),
    }
}

/// Spawns the action task; the returned channel plugs into `tui::run`.
pub fn serve(setup: &Setup, read_only: bool, operator: Option<String>) -> ActionChannel {
    let (command_tx, mut command_rx) = mpsc::channel::<ActionCommand>(8);
    let (event_tx, event_rx) = mpsc::channel::<ActionEvent>(8);
    let store = setup.store.clone();
    let tracker = setup.tracker.clone();
    let actor = Actor::from_env(operator);
    let read_only = read_only || setup.loaded.config.ui.read_only;
    let histories = tracker
        .as_ref()
        .filter(|t| t.keeps_events())
        .map(|t| EventsFetcher::spawn(t.clone(), event_tx.clone(), ActionEvent::RemoteEvents));
    tokio::spawn(async move {
        let mut plans: HashMap<u64, (ActionKind, Plan)> = HashMap::new();
        while let Some(command) = command_rx.recv().await {
            let event = match command {
                ActionCommand::Plan {
                    request_id,
                    request,
                } => match plan(&store, tracker.as_ref(), &request).await {
                    Ok(p) => {
                        let event = ActionEvent::Planned(preview(request_id, request.kind, &p));
                        plans.insert(request_id, (request.kind, p));
                        event
                    }
                    Err(e) => ActionEvent::Failed {
                        request_id: Some(request_id),
                        error: e.to_string(),
                    },
                },
                ActionCommand::Apply { request_id } => match plans.remove(&request_id) {
                    None => ActionEvent::Failed {
                        request_id: Some(request_id),
                        error: "that preview has expired".into(),
                    },
                    Some((kind, p)) => {
                        match actions::apply(&store, tracker.as_ref(), &p, &actor, read_only).await
                        {
                            Ok(outcomes) => ActionEvent::Applied(ActionReport {
                                request_id,
                                kind,
                                rows: outcomes
                                    .into_iter()
                                    .map(|o| ReportRow {
                                        id: o.execution_id,
                                        before: o.before.to_string(),
                                        after: o.after.map(|s| s.to_string()),
                                        applied: o.applied,
                                    })
                                    .collect(),
                            }),
                            Err(e) => ActionEvent::Failed {
                                request_id: Some(request_id),
                                error: e.to_string(),
                            },
                        }
                    }
                },
                ActionCommand::Cancel { request_id } => {
                    plans.remove(&request_id);
                    continue;
                }
                ActionCommand::Triage {
                    key,
                    change,
                    severity,
                } if !read_only => match store.change_triage(&key, &change, severity, &actor).await
                {
                    Ok(_) => ActionEvent::Triaged(format!(
                        "{}: {} {} by {}",
                        change.action(),
                        key.kind.as_str(),
                        key.subject,
                        actor.operator
                    )),
                    Err(e) => ActionEvent::Failed {
                        request_id: None,
                        error: e.to_string(),
                    },
                },
                ActionCommand::Triage { .. } => ActionEvent::Failed {
                    request_id: None,
                    error: "read-only mode: exectop writes nothing".into(),
                },
                ActionCommand::LoadAudit => match store.recent_audit(AUDIT_ROWS).await {
                    Ok(entries) => ActionEvent::Audit(entries),
                    Err(e) => ActionEvent::Failed {
                        request_id: None,
                        error: e.to_string(),
                    },
                },
            };
            if event_tx.send(event).await.is_err() {
                break;
            }
        }
    });
    ActionChannel {
        commands: command_tx,
        events: event_rx,
        histories,
    }
}
