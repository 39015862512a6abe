//! The audit view: exectop's recent writes, who made them, when and why,
//! newest first, read from the audit table when the operator asks.

use chrono::{DateTime, Utc};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::keymap::{Command, Keymap, Mode};
use super::popup_frame::{Indented, TextPopup};
use super::render_util::ago;
use super::theme::Theme;
use crate::store::AuditEntry;

pub fn popup(
    entries: &[AuditEntry],
    now: DateTime<Utc>,
    screen: Rect,
    theme: &Theme,
    keymap: &Keymap,
) -> TextPopup {
    let mut lines: Indented = entries
        .iter()
        .map(|e| {
            let when =
                e.at.map_or_else(|| "?".to_string(), |at| format!("{} ago", ago(now, at)));
            let line = Line::from(vec![
                Span::styled(format!(" {when:<9} "), theme.dim),
                Span::styled(format!("{}@{} ", e.operator, e.host), theme.key),
                Span::raw(match e.after.as_deref() {
                    Some(after) => format!(
                        "{} {} {} → {after}  {}",
                        e.action,
                        e.execution_id,
                        e.before.as_deref().unwrap_or("-"),
                        e.reason.as_deref().unwrap_or("")
                    ),
                    // Triage changes no row and asks no remote.
                    None if e.remote_status.is_none() => format!(
                        "{} {}  {}",
                        e.action,
                        e.execution_id,
                        e.reason.as_deref().unwrap_or("")
                    ),
                    // A remote stop changes no row: what the remote answered.
                    None => format!(
                        "{} {} remote: {}  {}",
                        e.action,
                        e.execution_id,
                        e.remote_status.as_deref().unwrap_or("-"),
                        e.reason.as_deref().unwrap_or("")
                    ),
                }),
            ]);
            (line, 11)
        })
        .collect();
    if lines.is_empty() {
        lines.push((Line::styled(" no actions recorded yet", theme.dim), 1));
    }
    let close = keymap.label_in(Command::Close, Mode::Popup);
    TextPopup::new(
        screen,
        110,
        screen.height,
        format!(" Audit log, newest first ({close} closes) "),
        &lines,
    )
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    use crate::tui::intent::{ActionCommand, ActionEvent};
    use crate::tui::popup::Popup;
    use crate::tui::sample::{self, update};
    use crate::tui::update::{Effect, Msg};

    fn press(app: &mut crate::tui::state::App, code: KeyCode) -> Vec<Effect> {
        update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }

    #[test]
    fn the_audit_key_asks_for_the_log_and_its_answer_opens_it() {
        let mut app = sample::app(true);
        assert_eq!(
            press(&mut app, KeyCode::Char('a')),
            [Effect::Action(ActionCommand::LoadAudit)],
            "read-only too"
        );
        update(&mut app, Msg::Action(ActionEvent::Audit(Vec::new())));
        assert!(matches!(app.popup, Some(Popup::Audit(_))));
        press(&mut app, KeyCode::Esc);
        assert_eq!(app.popup, None);
    }
}
