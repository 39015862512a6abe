//! What the action keys ask of the action layer (with what the operator
//! saw, for compare-and-set) and what it answers: plain data both sides
//! share.

use crate::domain::Status;
use crate::domain::triage::{FindingKey, TriageChange};

pub use crate::actions::ActionKind;

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
    /// Claim, acknowledge, snooze or note a finding (exectop's own table).
    Triage {
        key: FindingKey,
        change: TriageChange,
        /// The finding's severity as the operator saw it.
        severity: u8,
    },
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
    /// A triage change was stored; what to tell the operator.
    Triaged(String),
    /// The tracker's history of one execution, or why there is none.
    RemoteEvents(crate::remote::recent::EventsAnswer),
}
