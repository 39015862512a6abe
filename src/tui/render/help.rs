//! The help screen, generated from the keymap so remapped keys show as bound.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::{centered, popup_scroll};
use crate::tui::app::App;
use crate::tui::keymap::Action;

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let theme = app.theme();
    let keymap = app.keymap();
    let mut lines: Vec<Line> = Action::ALL
        .iter()
        .map(|a| {
            Line::from(vec![
                Span::styled(format!(" {:<14}", keymap.keys_label(*a)), theme.key),
                Span::raw(a.description()),
            ])
        })
        .collect();
    if app.read_only() {
        lines.push(Line::styled(
            " read-only: the write actions above are disabled",
            theme.warn,
        ));
    }
    let popup = centered(area, 64, lines.len() as u16 + 2);
    let visible = popup.height.saturating_sub(2);
    let scroll = popup_scroll(app, lines.len(), visible);
    let title = if usize::from(visible) < lines.len() {
        " Keys (↑↓ scroll · esc closes) "
    } else {
        " Keys (esc closes) "
    };
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).scroll((scroll, 0)).block(
            Block::bordered()
                .title(title)
                .border_style(theme.border_focused),
        ),
        popup,
    );
}
