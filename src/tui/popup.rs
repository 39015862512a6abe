//! The popups, and the keys they all share. Every popup scrolls the same
//! way: the offset stays within the room the render layer measures at the
//! current terminal size, so a key back up always moves the text.

use super::app::{App, Effect, copy_selected};
use super::keymap::Action;
use super::request::{ActionPreview, ActionReport, ActionRequest};

#[derive(Debug, Clone, PartialEq)]
pub enum Popup {
    Help,
    /// Details of the selected row of the focused list.
    Detail,
    /// Mark failed: typing the reason.
    Reason {
        request: ActionRequest,
        text: String,
    },
    /// What would change; waiting for `y` (one row) or the typed count (bulk).
    Preview {
        preview: ActionPreview,
        typed: String,
        applying: bool,
    },
    /// What was applied and what was refused, and why.
    Report(ActionReport),
    Audit(Vec<crate::store::AuditEntry>),
}

/// Keys under a popup that neither takes text nor waits for an answer.
pub fn on_key(app: &mut App, action: Action) -> Vec<Effect> {
    if scroll(app, action) {
        return Vec::new();
    }
    match action {
        Action::Quit => return vec![Effect::Quit],
        Action::CopyId if matches!(app.popup, Some(Popup::Detail)) => return copy_selected(app),
        Action::Close | Action::Help | Action::Details => app.popup = None,
        _ => {}
    }
    Vec::new()
}

/// Moves the open popup's text when `action` is a scroll action; false
/// for any other action.
pub fn scroll(app: &mut App, action: Action) -> bool {
    use Action::{Down, End, Home, PageDown, PageUp, Up};
    // Laying out a long preview costs; a typed digit need not pay it.
    if !matches!(action, Up | Down | PageUp | PageDown | Home | End) {
        return false;
    }
    let room = app.popup_scroll_room().unwrap_or_default();
    // From where the text shows, not where earlier keys pushed it: a
    // resize or new data may have shortened it since.
    let at = room.clamp(app.popup_scroll);
    let to = match action {
        Up => at.saturating_sub(1),
        Down => at.saturating_add(1),
        PageUp => at.saturating_sub(room.page),
        PageDown => at.saturating_add(room.page),
        Home => 0,
        End => room.max,
        _ => return false,
    };
    app.popup_scroll = room.clamp(to);
    true
}

/// Pulls the offset back within the text after the size or the data
/// changed, so it never rests past the last page.
pub fn fit_scroll(app: &mut App) {
    app.popup_scroll = app
        .popup_scroll_room()
        .map_or(0, |room| room.clamp(app.popup_scroll));
}
