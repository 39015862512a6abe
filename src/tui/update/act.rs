//! The action flow on screen, as `update` runs it: the action keys build a
//! request (the selection, the marks or the whole filtered set, with what
//! the operator saw), the reason and the preview take their keys through
//! `confirm`, and the action layer's answers open the preview, the result
//! or the audit.

use super::Effect;
use crate::domain::remote_events::EventsState;
use crate::domain::triage::{FindingKey, TriageChange};
use crate::domain::{Execution, Finding};
use crate::monitor::MonitorControl;
use crate::tui::confirm::{PreviewState, ReasonEntry, Step};
use crate::tui::intent::{ActionCommand, ActionEvent, ActionKind, ActionRequest, ActionTarget};
use crate::tui::keymap::{Command, Input};
use crate::tui::popup::Popup;
use crate::tui::state::{App, Pane};
use crate::tui::triage::{Asking, TriageEntry, TriageStep};

/// Sends the request for planning under a new id; answers to older ids are dropped.
fn plan(app: &mut App, request: ActionRequest) -> Vec<Effect> {
    app.request_seq += 1;
    app.pending_request = Some(app.request_seq);
    app.say(format!(
        "working out what would change for {} row(s)…",
        request.targets.len()
    ));
    vec![Effect::Action(ActionCommand::Plan {
        request_id: app.request_seq,
        request,
    })]
}

/// Keys while the reason entry or a preview is open.
pub(super) fn on_input(app: &mut App, input: Input) -> Vec<Effect> {
    if let Some(Popup::Triage(entry)) = app.popup.as_mut() {
        let step = entry.step(input, app.now);
        return on_triage_step(app, step);
    }
    let keymap = &app.settings.keymap;
    let (step, request_id) = match app.popup.as_mut() {
        Some(Popup::Reason(entry)) => (entry.step(input), None),
        Some(Popup::Preview(state)) => (state.step(input, keymap), Some(state.preview.request_id)),
        _ => return Vec::new(),
    };
    match step {
        Step::Stay => Vec::new(),
        Step::Quit => vec![Effect::Quit],
        Step::Say(text) => {
            app.say(text);
            Vec::new()
        }
        Step::Scroll(command) => {
            super::scroll_popup(app, command);
            Vec::new()
        }
        Step::Plan(request) => {
            app.popup = None;
            plan(app, request)
        }
        Step::Apply => match request_id {
            Some(request_id) => vec![Effect::Action(ActionCommand::Apply { request_id })],
            None => Vec::new(),
        },
        Step::Cancelled => {
            app.popup = None;
            app.say("cancelled: nothing written");
            match request_id {
                Some(request_id) => {
                    app.pending_request = None;
                    vec![Effect::Action(ActionCommand::Cancel { request_id })]
                }
                None => Vec::new(),
            }
        }
    }
}

/// Answers from the action layer.
pub(super) fn on_event(app: &mut App, event: ActionEvent) -> Vec<Effect> {
    match event {
        ActionEvent::Planned(preview) => {
            if app.pending_request != Some(preview.request_id) {
                return Vec::new();
            }
            app.message = None;
            app.popup = Some(Popup::Preview(PreviewState::new(preview)));
            app.popup_scroll = 0;
            Vec::new()
        }
        ActionEvent::Applied(report) => {
            if app.pending_request != Some(report.request_id) {
                return Vec::new();
            }
            app.pending_request = None;
            app.marks.spend(report.rows.iter().map(|r| r.id.as_str()));
            let applied = report.rows.iter().filter(|r| r.applied.is_ok()).count();
            for row in &report.rows {
                if let Err(why) = &row.applied
                    && row.after.is_some()
                {
                    tracing::warn!("{}: not applied: {why}", row.id);
                }
            }
            app.say(format!("{applied} of {} applied", report.rows.len()));
            app.popup = Some(Popup::Report(report));
            app.popup_scroll = 0;
            vec![Effect::SendControl(MonitorControl::RefreshNow)]
        }
        ActionEvent::Failed { request_id, error } => {
            if request_id.is_some() && app.pending_request != request_id {
                return Vec::new();
            }
            app.pending_request = None;
            if matches!(app.popup, Some(Popup::Preview(_))) {
                app.popup = None;
            }
            tracing::warn!("action failed: {error}");
            app.say(format!("action failed: {error}"));
            Vec::new()
        }
        ActionEvent::Triaged(text) => {
            app.say(text);
            vec![Effect::SendControl(MonitorControl::RefreshNow)]
        }
        ActionEvent::RemoteEvents(answer) => {
            // Kept only for the execution whose details were opened last
            // (an answer for one opened before is dropped; the edge keeps it
            // for the next opening).
            if let Some(view) = app.remote_events.as_mut()
                && view.execution_id == answer.execution_id
            {
                view.state = match answer.events {
                    Ok(events) => EventsState::Loaded(events),
                    Err(why) => EventsState::Failed(why),
                };
            }
            Vec::new()
        }
        ActionEvent::Audit(entries) => {
            app.popup = Some(Popup::Audit(entries));
            app.popup_scroll = 0;
            Vec::new()
        }
    }
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
pub(super) fn request_action(app: &mut App, command: Command) -> Vec<Effect> {
    let bulk = std::mem::take(&mut app.marks.bulk_armed);
    if app.read_only() {
        app.refuse_write();
        return Vec::new();
    }
    let kind = match command {
        Command::Reconcile => ActionKind::Reconcile,
        _ => ActionKind::MarkFailed,
    };
    let targets: Vec<ActionTarget> = if bulk {
        // Straight from the view's indices: the filtered set may be huge.
        app.view
            .iter()
            .map(|&i| from_execution(app, &app.snapshot.active[i]))
            .collect()
    } else if !app.marks.ids.is_empty() {
        let findings = &app.snapshot.findings;
        // The marks stay until the action is applied (`on_event`): a
        // cancelled preview must not cost the operator their selection.
        app.marks
            .ids
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
            app.popup = Some(Popup::Reason(ReasonEntry::new(request)));
            Vec::new()
        }
        ActionKind::Reconcile | ActionKind::Cleanup => plan(app, request),
    }
}

fn on_triage_step(app: &mut App, step: TriageStep) -> Vec<Effect> {
    match step {
        TriageStep::Stay => Vec::new(),
        TriageStep::Quit => vec![Effect::Quit],
        TriageStep::Say(text) => {
            app.say(text);
            Vec::new()
        }
        TriageStep::Cancelled => {
            app.popup = None;
            app.say("cancelled: nothing written");
            Vec::new()
        }
        TriageStep::Send(change) => {
            let Some(Popup::Triage(entry)) = app.popup.take() else {
                return Vec::new();
            };
            vec![Effect::Action(ActionCommand::Triage {
                key: entry.key,
                change,
                severity: entry.severity,
            })]
        }
    }
}

/// The triage keys on the selected finding (in the Running pane: the
/// selected row's finding). Toggles: a claimed finding is unclaimed, an
/// acknowledged one unacknowledged, a snoozed one woken; otherwise an
/// acknowledgement, a snooze or a note asks for its text first.
pub(super) fn triage(app: &mut App, command: Command) -> Vec<Effect> {
    if app.read_only() {
        app.refuse_write();
        return Vec::new();
    }
    let finding = match app.focus {
        Pane::Findings => app.selected_finding().cloned(),
        _ => app.selected_execution().and_then(|e| {
            app.snapshot
                .findings
                .iter()
                .find(|f| f.execution_id.as_deref() == Some(e.id.as_str()))
                .cloned()
        }),
    };
    let Some(finding) = finding else {
        app.say("no finding here to triage: triage is on the Stuck & orphaned findings");
        return Vec::new();
    };
    let Some(key) = FindingKey::of(&finding) else {
        return Vec::new();
    };
    let severity = finding.severity();
    let view = app
        .snapshot
        .triage_of(&finding)
        .cloned()
        .unwrap_or_default();
    let send = |change| {
        vec![Effect::Action(ActionCommand::Triage {
            key: key.clone(),
            change,
            severity,
        })]
    };
    let ask = |app: &mut App, asking| {
        app.popup = Some(Popup::Triage(TriageEntry::new(
            asking,
            key.clone(),
            severity,
        )));
        Vec::new()
    };
    match command {
        Command::Claim if view.claimed.is_some() => send(TriageChange::Unclaim),
        Command::Claim => send(TriageChange::Claim),
        Command::Acknowledge if view.acknowledged.is_some() => send(TriageChange::Unacknowledge),
        Command::Acknowledge => ask(app, Asking::Acknowledge),
        Command::Snooze if view.snoozed.is_some() => send(TriageChange::Unsnooze),
        Command::Snooze => ask(app, Asking::Snooze),
        Command::Note => ask(app, Asking::Note),
        _ => Vec::new(),
    }
}
