//! What the action keys ask for: the request sent to the action layer (with
//! the status the operator saw, for compare-and-set) and its outcome.

use crate::domain::{Execution, Finding, Status};

use super::app::{App, Effect, Pane};
use super::keymap::Action;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    Reconcile,
    MarkFailed,
}

/// One execution to act on, with what the operator saw (for compare-and-set).
#[derive(Debug, Clone, PartialEq)]
pub struct ActionTarget {
    pub id: String,
    pub seen_status: Status,
    /// The table's spelling when the row was in the snapshot's active list.
    pub seen_raw_status: Option<String>,
    pub remote_status_seen: Option<Status>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActionRequest {
    pub kind: ActionKind,
    pub targets: Vec<ActionTarget>,
    /// Mark failed: why, as the operator typed it.
    pub reason: Option<String>,
}

/// What the UI asks of the action layer.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionCommand {
    /// Work out what would change (read the rows, ask the remote) and preview it.
    Plan {
        request_id: u64,
        request: ActionRequest,
    },
    /// The operator confirmed the preview of this request.
    Apply {
        request_id: u64,
    },
    /// The operator declined: forget the plan.
    Cancel {
        request_id: u64,
    },
    LoadAudit,
}

/// One row of a preview: before → after, or why it will be left alone.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviewRow {
    pub id: String,
    pub before: String,
    pub after: Option<String>,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActionPreview {
    pub request_id: u64,
    pub kind: ActionKind,
    pub rows: Vec<PreviewRow>,
    /// E.g. "remote runs are stopped first".
    pub note: Option<String>,
}

impl ActionPreview {
    pub fn changes(&self) -> usize {
        self.rows.iter().filter(|r| r.after.is_some()).count()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReportRow {
    pub id: String,
    pub before: String,
    pub after: Option<String>,
    /// `Err` says why nothing was written for this row.
    pub applied: Result<(), String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActionReport {
    pub request_id: u64,
    pub kind: ActionKind,
    pub rows: Vec<ReportRow>,
}

/// What the action layer answers.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionEvent {
    Planned(ActionPreview),
    Applied(ActionReport),
    Failed {
        request_id: Option<u64>,
        error: String,
    },
    Audit(Vec<crate::store::AuditEntry>),
}

fn from_execution(app: &App, e: &Execution) -> ActionTarget {
    ActionTarget {
        id: e.id.clone(),
        seen_status: e.status,
        seen_raw_status: Some(e.raw_status.to_string()),
        remote_status_seen: app
            .snapshot
            .remote
            .get(e.id.as_str())
            .and_then(|h| h.remote_status()),
    }
}

/// A target by id: from the active row when there is one, else from the
/// finding (a terminal row the remote still runs is not in the active list).
fn target_for(app: &App, id: &str, fallback: Option<&Finding>) -> Option<ActionTarget> {
    if let Some(e) = app.execution_by_id(id) {
        return Some(from_execution(app, e));
    }
    let f = fallback?;
    let remote_seen = app.snapshot.remote.get(id).and_then(|h| h.remote_status());
    Some(ActionTarget {
        id: id.to_string(),
        seen_status: f.local_status?,
        seen_raw_status: None,
        remote_status_seen: f.remote_status.or(remote_seen),
    })
}
pub(super) fn request_action(app: &mut App, action: Action) -> Vec<Effect> {
    let bulk = std::mem::take(&mut app.bulk_armed);
    if app.read_only() {
        app.refuse_write();
        return Vec::new();
    }
    let kind = match action {
        Action::Reconcile => ActionKind::Reconcile,
        _ => ActionKind::MarkFailed,
    };
    let targets: Vec<ActionTarget> = if bulk {
        // Straight from the view's indices: the filtered set may be huge.
        app.view
            .iter()
            .map(|&i| from_execution(app, &app.snapshot.active[i]))
            .collect()
    } else if !app.marked.is_empty() {
        let findings = &app.snapshot.findings;
        // The marks stay until the action is applied (flow::on_event): a
        // cancelled preview must not cost the operator their selection.
        app.marked
            .iter()
            .filter_map(|id| {
                let f = findings
                    .iter()
                    .find(|f| f.execution_id.as_deref() == Some(id));
                target_for(app, id, f)
            })
            .collect()
    } else {
        match app.focus {
            Pane::Running => app
                .selected_execution()
                .map(|e| from_execution(app, e))
                .into_iter()
                .collect(),
            Pane::Findings => app
                .selected_finding()
                .and_then(|f| target_for(app, f.execution_id.as_deref()?, Some(f)))
                .into_iter()
                .collect(),
            _ => Vec::new(),
        }
    };
    if targets.is_empty() {
        app.say(match app.focus {
            Pane::Findings if app.selected_finding().is_some() => {
                "a remote-only run has no local record to change: investigate it on the remote"
            }
            Pane::Running | Pane::Findings => "nothing selected to act on",
            _ => "actions work on the Running and Stuck & orphaned panes: tab to one",
        });
        return Vec::new();
    }
    app.message = None;
    let request = ActionRequest {
        kind,
        targets,
        reason: None,
    };
    match kind {
        // A reason first; the plan is asked for once it is typed.
        ActionKind::MarkFailed => {
            app.popup = Some(super::app::Popup::Reason {
                request,
                text: String::new(),
            });
            Vec::new()
        }
        ActionKind::Reconcile => super::flow::plan(app, request),
    }
}
