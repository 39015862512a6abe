//! The footer: the filter input while typing, else a recent message, else the
//! keys that apply to the focused pane (read from the keymap).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::app::{App, Pane};
use crate::tui::keymap::{Action, Scope};

/// A message stays this long in the footer.
pub const MESSAGE_SECONDS: i64 = 8;

fn applies(app: &App, action: Action) -> bool {
    let write = matches!(
        action,
        Action::Reconcile | Action::MarkFailed | Action::Select | Action::ActOnFiltered
    );
    if write && app.read_only() {
        return false;
    }
    match action.scope() {
        Scope::Global => true,
        Scope::Lists => matches!(app.focus, Pane::Running | Pane::Findings),
        Scope::Running => app.focus == Pane::Running,
    }
}

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let theme = app.theme();
    if app.filter_editing {
        let line = Line::from(vec![
            Span::styled(" filter: ", theme.key),
            Span::raw(app.filter.clone()),
            Span::styled("█", theme.key),
            Span::styled("  enter keep · esc clear", theme.dim),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    if let Some((text, at)) = &app.message
        && (app.now - *at).num_seconds() < MESSAGE_SECONDS
    {
        frame.render_widget(
            Paragraph::new(Line::styled(format!(" {text}"), theme.warn)),
            area,
        );
        return;
    }
    let keymap = app.keymap();
    // Help and quit first: they must survive a narrow terminal's cut.
    let shown = [
        Action::Help,
        Action::Quit,
        Action::Down,
        Action::Details,
        Action::Filter,
        Action::Sort,
        Action::Select,
        Action::Reconcile,
        Action::MarkFailed,
        Action::ActOnFiltered,
        Action::CopyId,
        Action::NextPane,
        Action::Pause,
        Action::Refresh,
        Action::ToggleLog,
    ];
    let mut spans = vec![Span::raw(" ")];
    for action in shown.into_iter().filter(|a| applies(app, *a)) {
        let keys = if action == Action::Down {
            let first = |a| {
                keymap
                    .keys(a)
                    .first()
                    .map(|k| k.to_string())
                    .unwrap_or_default()
            };
            format!("{}{}", first(Action::Up), first(Action::Down))
        } else {
            match keymap.keys(action).first() {
                Some(k) => k.to_string(),
                None => continue,
            }
        };
        spans.push(Span::styled(keys, theme.key));
        spans.push(Span::raw(format!(" {}  ", action.short())));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
