//! Which popup is open. Each kind's state and drawing live with its
//! feature (help, details, confirm, audit); this is only the choice.

use super::confirm::{PreviewState, ReasonEntry};
use super::intent::ActionReport;
use super::keymap::Mode;
use super::row_commands::{OutputView, PendingRun};
use super::triage::TriageEntry;
use crate::store::AuditEntry;

#[derive(Debug, Clone, PartialEq)]
pub enum Popup {
    Help,
    /// Details of the selected row of the focused list.
    Detail,
    /// Mark failed: typing the reason.
    Reason(ReasonEntry),
    /// What would change; waiting for a yes (one row) or the count (many).
    Preview(PreviewState),
    /// What was applied and what was refused, and why.
    Report(ActionReport),
    Audit(Vec<AuditEntry>),
    /// Triage: typing a note or a snooze's length.
    Triage(TriageEntry),
    /// A `[[commands]]` entry's output (running, then its outcome).
    CommandOutput(OutputView),
    /// A `[[commands]]` entry that changes something, waiting for a yes.
    CommandConfirm(PendingRun),
}

impl Popup {
    /// Where the keys go while it is open.
    pub fn mode(&self) -> Mode {
        match self {
            Popup::Reason(_) | Popup::Triage(_) => Mode::Reason,
            Popup::Preview(state) => state.mode(),
            Popup::CommandConfirm(_) => Mode::Preview,
            Popup::Help
            | Popup::Detail
            | Popup::Report(_)
            | Popup::Audit(_)
            | Popup::CommandOutput(_) => Mode::Popup,
        }
    }
}
