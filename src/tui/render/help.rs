//! The help screen, generated from the keymap so remapped keys show as bound.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::centered;
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
            " read-only: reconcile, mark failed and bulk actions are disabled",
            theme.warn,
        ));
    }
    let popup = centered(area, 64, lines.len() as u16 + 2);
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .title(" Keys (esc closes) ")
                .border_style(theme.border_focused),
        ),
        popup,
    );
}
