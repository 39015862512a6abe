//! The open popup laid out once per frame, by the feature that owns it. The
//! same layout gives the drawing and the scroll room the frame reports to
//! `update` (`FrameFacts`), so a key can never move the text somewhere the
//! drawing would not.

use ratatui::Frame;
use ratatui::layout::Rect;

use crate::tui::details::{self, Subject};
use crate::tui::popup::Popup;
use crate::tui::popup_frame::{Pinned, TextPopup};
use crate::tui::scroll::ScrollRoom;
use crate::tui::state::{App, Pane};
use crate::tui::{audit, confirm, help, row_commands, triage};

/// The open popup laid out on a screen of `screen`.
pub enum PopupLayout {
    Text(TextPopup),
    /// Rows scrolling above a footer that stays (the preview and the result).
    Pinned(Pinned),
}

impl PopupLayout {
    pub fn of(app: &App, screen: Rect) -> Option<Self> {
        let theme = app.theme();
        let keymap = app.keymap();
        Some(match app.popup.as_ref()? {
            Popup::Help if app.settings.wall => {
                PopupLayout::Text(help::wall_popup(keymap, theme, screen))
            }
            Popup::Help => PopupLayout::Text(help::popup(keymap, theme, app.read_only(), screen)),
            Popup::Detail => {
                let subject = match app.focus {
                    Pane::Findings => Subject::Finding(app.selected_finding()),
                    _ => Subject::Execution(app.selected_execution()),
                };
                PopupLayout::Text(details::popup(
                    &app.snapshot,
                    subject,
                    app.remote_events.as_ref(),
                    app.now,
                    screen,
                    theme,
                    keymap,
                ))
            }
            Popup::Preview(state) => {
                PopupLayout::Pinned(confirm::preview_frame(state, screen, theme, keymap))
            }
            Popup::Report(report) => {
                PopupLayout::Pinned(confirm::report_frame(report, screen, theme, keymap))
            }
            Popup::Reason(entry) => {
                PopupLayout::Text(confirm::reason_popup(entry, screen, theme, keymap))
            }
            Popup::Triage(entry) => {
                PopupLayout::Text(triage::entry_popup(entry, screen, theme, keymap))
            }
            Popup::Audit(entries) => {
                PopupLayout::Text(audit::popup(entries, app.now, screen, theme, keymap))
            }
            Popup::CommandOutput(view) => {
                PopupLayout::Pinned(row_commands::output_frame(view, screen, theme, keymap))
            }
            Popup::CommandConfirm(pending) => {
                let description = app
                    .settings
                    .commands
                    .get(pending.index)
                    .map_or("", |c| c.description.as_str());
                PopupLayout::Text(row_commands::confirm_popup(
                    pending,
                    description,
                    screen,
                    theme,
                    keymap,
                ))
            }
        })
    }

    pub fn room(&self) -> ScrollRoom {
        match self {
            PopupLayout::Text(text) => text.room(),
            PopupLayout::Pinned(pinned) => pinned.room(),
        }
    }

    pub fn render(self, frame: &mut Frame, app: &App) {
        match self {
            PopupLayout::Text(text) => text.render(frame, app.popup_scroll, app.theme()),
            PopupLayout::Pinned(pinned) => pinned.render(
                frame,
                app.popup_scroll,
                app.theme(),
                &confirm::scroll_keys(app.keymap()),
            ),
        }
    }
}
