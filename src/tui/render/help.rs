//! The help screen, generated from the keymap so remapped keys show as bound.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::popup::TextPopup;
use crate::tui::app::App;
use crate::tui::keymap::Action;

const WIDTH: u16 = 64;

/// Where a description continues when it wraps: under the descriptions.
const DESCRIPTION_INDENT: usize = 15;

pub fn view(app: &App, screen: Rect) -> TextPopup {
    let theme = app.theme();
    let keymap = app.keymap();
    let mut lines: Vec<(Line<'static>, usize)> = Action::ALL
        .iter()
        .map(|a| {
            let line = Line::from(vec![
                Span::styled(format!(" {:<14}", keymap.keys_label(*a)), theme.key),
                Span::raw(a.description()),
            ]);
            (line, DESCRIPTION_INDENT)
        })
        .collect();
    if app.read_only() {
        lines.push((
            Line::styled(
                " read-only: the write actions above are disabled",
                theme.warn,
            ),
            1,
        ));
    }
    let mut popup = TextPopup::new(screen, WIDTH, screen.height, String::new(), &lines);
    // Only a screen too short for every key is told it can scroll.
    popup.title = if popup.room().max > 0 {
        " Keys (↑↓ scroll · esc closes) ".into()
    } else {
        " Keys (esc closes) ".into()
    };
    popup
}
