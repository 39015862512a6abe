//! The Stuck & orphaned pane: findings, worst first (the snapshot's order).

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

use super::{ago_brief, pane_block, window_start};
use crate::domain::{Finding, SuggestedAction};
use crate::tui::state::{App, Pane};

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let theme = app.theme();
    let findings = &app.snapshot.findings;
    let title = if app.has_snapshot {
        let mut title = format!("Stuck & orphaned {}", findings.len());
        let triage = app.snapshot.triage.values();
        let acked = triage.clone().filter(|t| t.acknowledged.is_some()).count();
        let snoozed = triage.filter(|t| t.snoozed.is_some()).count();
        if acked > 0 {
            title.push_str(&format!(" · {acked} acked"));
        }
        if snoozed > 0 {
            title.push_str(&format!(" · {snoozed} snoozed"));
        }
        title
    } else {
        "Stuck & orphaned".to_string()
    };
    let block = pane_block(app, Pane::Findings, title);
    let inner_rows = usize::from(block.inner(area).height.saturating_sub(1));
    let len = findings.len();
    let start = window_start(app.findings.selected, app.findings.offset, inner_rows, len);
    let end = (start + inner_rows).min(len);
    // A narrow pane drops the reason (the detail popup has it) rather than
    // cutting every column to a few unreadable letters.
    let with_reason = area.width >= 72;
    let shown = &findings[start..end];
    let [kind_width, id_width] = kind_and_id_widths(area.width, with_reason, shown);
    let rows = shown.iter().map(|f| {
        let action_style = match f.suggested_action {
            SuggestedAction::MarkFailed => theme.bad,
            SuggestedAction::Reconcile | SuggestedAction::StopRemote => theme.warn,
            SuggestedAction::Investigate | SuggestedAction::Wait => theme.dim,
        };
        // Only a mark is styled: see the Running pane.
        let mark = match &f.execution_id {
            Some(id) if app.marks.ids.contains(id) => Span::styled("●", theme.marked),
            _ => Span::raw(" "),
        };
        // Triage: who took it, before the reason; acknowledged and
        // snoozed rows dimmed (they are sorted below the rest).
        let triage = app.snapshot.triage_of(f);
        let reason = match triage.and_then(|t| crate::tui::triage::row_note(t, app.now)) {
            Some(note) => Line::from(vec![
                Span::styled(format!("{note} · "), theme.key),
                Span::raw(f.reason_past_age()),
            ]),
            None => Line::raw(f.reason_past_age()),
        };
        let row = Row::new(vec![
            Cell::from(mark),
            Cell::from(f.kind.as_str()),
            Cell::from(fit_id(f, usize::from(id_width))),
            Cell::from(ago_brief(app.now, app.snapshot.finding_since(f))),
            Cell::from(Span::styled(f.suggested_action.as_str(), action_style)),
            Cell::from(reason),
        ]);
        if triage.is_some_and(|t| t.quiet()) {
            row.style(theme.dim)
        } else {
            row
        }
    });
    let header = Row::new(["", "kind", "id", "age", "action", "reason"].map(Cell::from))
        .style(theme.header_row);
    let mut widths = vec![
        Constraint::Length(1),
        Constraint::Length(kind_width),
        Constraint::Length(id_width),
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
        // Below the column header, not over it.
        let mut inner = pane_block(app, Pane::Findings, String::new()).inner(area);
        inner.y += 1;
        inner.height = inner.height.saturating_sub(1);
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

/// The kind and id columns. The id column is as wide as the widest id shown
/// (at least 6), within what the pane leaves it (the reason keeps 20). A
/// narrow pane lends the id up to 3 columns of the kind column: kinds read
/// well from their first 12 letters, ids must be read whole.
fn kind_and_id_widths(pane_width: u16, with_reason: bool, shown: &[Finding]) -> [u16; 2] {
    let kind: u16 = if with_reason { 20 } else { 15 };
    // borders 2, mark 1, age 7, action 11 and a space between columns
    let fixed = 2 + 1 + kind + 7 + 11 + if with_reason { 5 + 20 } else { 4 };
    let room = pane_width.saturating_sub(fixed);
    let widest = shown
        .iter()
        .map(|f| id_text(f).chars().count())
        .max()
        .unwrap_or(0);
    let wanted = u16::try_from(widest).unwrap_or(u16::MAX).clamp(6, 40);
    let lent = if with_reason {
        0
    } else {
        wanted.saturating_sub(room).min(3)
    };
    [kind - lent, wanted.min(room + lent).max(6)]
}

/// The execution id, or a remote-only finding's remote id in parentheses.
fn id_text(f: &Finding) -> String {
    match (&f.execution_id, &f.remote_id) {
        (Some(id), _) => id.clone(),
        (None, Some(remote)) => format!("({remote})"),
        (None, None) => String::new(),
    }
}

/// The id cut to `width` with an ellipsis, keeping a remote id's closing
/// parenthesis: a bracket cut off reads as a typo.
fn fit_id(f: &Finding, width: usize) -> String {
    let text = id_text(f);
    if text.chars().count() <= width {
        return text;
    }
    let cut = |s: &str, room: usize| -> String {
        let mut out: String = s.chars().take(room.saturating_sub(1)).collect();
        out.push('…');
        out
    };
    match (&f.execution_id, &f.remote_id) {
        (None, Some(remote)) if width >= 4 => format!("({})", cut(remote, width - 2)),
        _ => cut(&text, width),
    }
}
