//! The footer: the filter input while typing, else a recent message, else the
//! keys that apply to the focused pane (read from the keymap).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::keymap::{Command, Scope};
use crate::tui::state::{App, Pane};

/// A message stays this long in the footer.
pub const MESSAGE_SECONDS: i64 = 8;

fn applies(app: &App, action: Command) -> bool {
    let write = matches!(
        action,
        Command::Reconcile | Command::MarkFailed | Command::Select | Command::ActOnFiltered
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

/// The hints in the order they read, each with its rank: when the line is
/// too narrow the highest ranks go first. Help (rank 0) always stays: it
/// leads to every other key.
const HINTS: [(Command, usize); 16] = [
    (Command::Help, 0),
    (Command::Quit, 1),
    (Command::Down, 2),
    (Command::Details, 3),
    (Command::Filter, 7),
    (Command::Sort, 9),
    (Command::Select, 8),
    (Command::Reconcile, 4),
    (Command::MarkFailed, 5),
    (Command::ActOnFiltered, 10),
    (Command::CopyId, 13),
    (Command::NextPane, 6),
    (Command::Pause, 11),
    (Command::Refresh, 12),
    (Command::Audit, 14),
    (Command::ToggleLog, 15),
];

/// Which hints fit in `width` columns: whole hints only, dropped from the
/// highest rank down, never help.
fn fit(hints: &[(usize, String, &str)], width: usize) -> Vec<bool> {
    let cost = |(_, keys, short): &(usize, String, &str)| {
        Span::raw(keys.as_str()).width() + 1 + Span::raw(*short).width() + 2
    };
    let mut kept = vec![true; hints.len()];
    // The leading space, and no separator after the last hint.
    let mut used = (1 + hints.iter().map(cost).sum::<usize>()).saturating_sub(2);
    let mut by_rank: Vec<usize> = (0..hints.len()).collect();
    by_rank.sort_by_key(|&i| std::cmp::Reverse(hints[i].0));
    for i in by_rank {
        if used <= width || hints[i].0 == 0 {
            break;
        }
        kept[i] = false;
        used -= cost(&hints[i]);
    }
    kept
}

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let theme = app.theme();
    if app.filter.editing {
        let line = app.filter.footer(app.keymap(), theme);
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
    let first = |a| keymap.keys(a).first().map(|k| k.to_string());
    let mut hints: Vec<(usize, String, &str)> = HINTS
        .iter()
        .filter(|(a, _)| applies(app, *a))
        .filter_map(|&(action, rank)| {
            let keys = if action == Command::Down {
                format!("{}{}", first(Command::Up)?, first(Command::Down)?)
            } else {
                first(action)?
            };
            Some((rank, keys, action.short()))
        })
        .collect();
    // `[[commands]]` keys act on a row: shown in the list panes, after the
    // built-in keys and the first to go when the line is short.
    if matches!(app.focus, Pane::Running | Pane::Findings) {
        for (n, (key, description)) in keymap.commands().iter().enumerate() {
            hints.push((HINTS.len() + n, key.to_string(), description.as_str()));
        }
    }
    let kept = fit(&hints, usize::from(area.width));
    let mut spans = vec![Span::raw(" ")];
    for ((_, keys, short), _) in hints.iter().zip(&kept).filter(|(_, k)| **k) {
        if spans.len() > 1 {
            spans.push(Span::raw("  "));
        }
        spans.push(Span::styled(keys.clone(), theme.key));
        spans.push(Span::raw(format!(" {short}")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
