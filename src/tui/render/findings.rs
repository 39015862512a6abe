//! The Stuck & orphaned pane: findings, worst first (the snapshot's order).

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

use super::{pane_block, window_start};
use crate::domain::{SuggestedAction, format_age_brief};
use crate::tui::app::{App, Pane};

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let theme = app.theme();
    let findings = &app.snapshot.findings;
    let block = pane_block(
        app,
        Pane::Findings,
        format!("Stuck & orphaned {}", findings.len()),
    );
    let inner_rows = usize::from(block.inner(area).height.saturating_sub(1));
    let len = findings.len();
    let start = window_start(app.findings.selected, app.findings.offset, inner_rows, len);
    let end = (start + inner_rows).min(len);
    let rows = findings[start..end].iter().map(|f| {
        let action_style = match f.suggested_action {
            SuggestedAction::MarkFailed => theme.bad,
            SuggestedAction::Reconcile | SuggestedAction::StopRemote => theme.warn,
            SuggestedAction::Investigate | SuggestedAction::Wait => theme.dim,
        };
        let id = f
            .execution_id
            .clone()
            .or_else(|| f.remote_id.as_ref().map(|r| format!("({r})")))
            .unwrap_or_default();
        let mark = match &f.execution_id {
            Some(id) if app.marked.contains(id) => "●",
            _ => " ",
        };
        Row::new(vec![
            Cell::from(Span::styled(mark, theme.marked)),
            Cell::from(f.kind.as_str()),
            Cell::from(id),
            Cell::from(format_age_brief(f.age_seconds)),
            Cell::from(Span::styled(f.suggested_action.as_str(), action_style)),
            Cell::from(f.reason.clone()),
        ])
    });
    let header = Row::new(["", "kind", "id", "age", "action", "reason"].map(Cell::from))
        .style(theme.header_row);
    // A narrow pane drops the reason (the detail popup has it) rather than
    // cutting every column to a few unreadable letters.
    let with_reason = area.width >= 72;
    let mut widths = vec![
        Constraint::Length(1),
        Constraint::Length(if with_reason { 20 } else { 15 }),
        Constraint::Length(6),
        Constraint::Length(7),
        Constraint::Length(11),
    ];
    if with_reason {
        widths.push(Constraint::Fill(1));
    }
    let table = Table::new(rows, widths)
        .header(header)
        .block(block)
        .row_highlight_style(theme.selected);
    if len == 0 {
        let text = if app.has_snapshot {
            " nothing stuck or orphaned"
        } else {
            ""
        };
        let inner = pane_block(app, Pane::Findings, String::new()).inner(area);
        frame.render_widget(table, area);
        frame.render_widget(Paragraph::new(Line::styled(text, theme.ok)), inner);
        return;
    }
    let mut state = TableState::default();
    if app.focus == Pane::Findings {
        state.select(Some(app.findings.selected - start));
    }
    frame.render_stateful_widget(table, area, &mut state);
}
