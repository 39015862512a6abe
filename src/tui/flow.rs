//! The action flow on screen: reason → preview → confirm → result, and the
//! audit view. Pure like the rest of `update`: keys and answers in, effects out.
//! Confirmation follows the two-message pattern: the preview opens a popup;
//! only the confirming key sends `Apply`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::{App, Effect, Popup};
use super::request::{ActionCommand, ActionEvent, ActionRequest};
use crate::monitor::MonitorControl;

/// Sends the request for planning under a new id; answers to older ids are dropped.
pub fn plan(app: &mut App, request: ActionRequest) -> Vec<Effect> {
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

fn is_ctrl_c(key: &KeyEvent) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c')
}

/// Keys while a popup that takes text or a confirmation is open.
/// Returns `None` when the popup is not one of those.
pub fn on_key(app: &mut App, key: &KeyEvent) -> Option<Vec<Effect>> {
    let popup = app.popup.clone()?;
    match popup {
        Popup::Reason { request, mut text } => Some(match key.code {
            _ if is_ctrl_c(key) => vec![Effect::Quit],
            KeyCode::Esc => {
                app.popup = None;
                app.say("cancelled: nothing written");
                Vec::new()
            }
            KeyCode::Enter if text.trim().is_empty() => {
                app.say("a reason is required to mark executions failed");
                Vec::new()
            }
            KeyCode::Enter => {
                app.popup = None;
                plan(
                    app,
                    ActionRequest {
                        reason: Some(text.trim().to_string()),
                        ..request
                    },
                )
            }
            KeyCode::Backspace => {
                text.pop();
                app.popup = Some(Popup::Reason { request, text });
                Vec::new()
            }
            KeyCode::Char(c) => {
                text.push(c);
                app.popup = Some(Popup::Reason { request, text });
                Vec::new()
            }
            _ => Vec::new(),
        }),
        Popup::Preview {
            preview,
            mut typed,
            applying,
        } => {
            if applying {
                // Applying: a repeated key must not apply twice.
                return Some(Vec::new());
            }
            let id = preview.request_id;
            let cancel = |app: &mut App| {
                app.popup = None;
                app.pending_request = None;
                app.say("cancelled: nothing written");
                vec![Effect::Action(ActionCommand::Cancel { request_id: id })]
            };
            let apply = |app: &mut App, preview| {
                app.popup = Some(Popup::Preview {
                    preview,
                    typed: String::new(),
                    applying: true,
                });
                vec![Effect::Action(ActionCommand::Apply { request_id: id })]
            };
            let changes = preview.changes();
            Some(match key.code {
                _ if is_ctrl_c(key) => vec![Effect::Quit],
                _ if changes == 0 => cancel(app),
                KeyCode::Char('y' | 'Y') if changes == 1 => apply(app, preview),
                _ if changes == 1 => cancel(app),
                KeyCode::Esc => cancel(app),
                KeyCode::Char(c) if c.is_ascii_digit() => {
                    typed.push(c);
                    app.popup = Some(Popup::Preview {
                        preview,
                        typed,
                        applying: false,
                    });
                    Vec::new()
                }
                KeyCode::Backspace => {
                    typed.pop();
                    app.popup = Some(Popup::Preview {
                        preview,
                        typed,
                        applying: false,
                    });
                    Vec::new()
                }
                KeyCode::Enter if typed == changes.to_string() => apply(app, preview),
                KeyCode::Enter => {
                    app.say(format!(
                        "type {changes} and Enter to apply to {changes} rows, or Esc"
                    ));
                    app.popup = Some(Popup::Preview {
                        preview,
                        typed: String::new(),
                        applying: false,
                    });
                    Vec::new()
                }
                _ => Vec::new(),
            })
        }
        _ => None,
    }
}

/// Answers from the action layer.
pub fn on_event(app: &mut App, event: ActionEvent) -> Vec<Effect> {
    match event {
        ActionEvent::Planned(preview) => {
            if app.pending_request != Some(preview.request_id) {
                return Vec::new();
            }
            app.message = None;
            app.popup = Some(Popup::Preview {
                preview,
                typed: String::new(),
                applying: false,
            });
            app.popup_scroll = 0;
            Vec::new()
        }
        ActionEvent::Applied(report) => {
            if app.pending_request != Some(report.request_id) {
                return Vec::new();
            }
            app.pending_request = None;
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
            if matches!(app.popup, Some(Popup::Preview { .. })) {
                app.popup = None;
            }
            tracing::warn!("action failed: {error}");
            app.say(format!("action failed: {error}"));
            Vec::new()
        }
        ActionEvent::Audit(entries) => {
            app.popup = Some(Popup::Audit(entries));
            app.popup_scroll = 0;
            Vec::new()
        }
    }
}
