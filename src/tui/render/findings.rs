//! The Stuck & orphaned pane: findings, worst first (the snapshot's order).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Cell, Paragraph, Row, TableState};

use super::fit::{Column, column_widths, ellipsize, ellipsize_line, natural_width, widest};
use super::{ago_brief, list_table, pane_block, window_start};
use crate::domain::{Finding, SuggestedAction};
use crate::tui::state::{App, Pane};
use crate::tui::wrap::wrap;

/// The pane's columns. The reason takes the width the others leave; when
/// the pane is too narrow, the id gives up width before the kind does: the
/// kind is what the operator reads first (`remote_still_running` and
/// `remote_not_found` share their first 12 letters), while a 36-letter uuid
/// is told apart by its first few, and the details and `y` give it whole.
const COLUMNS: [Column; 6] = [
    Column::new("", 1, 1, 9),
    Column::new("kind", 12, 20, 2),
    Column::new("id", 6, 40, 1),
    Column::new("age", 5, 7, 3),
    Column::new("action", 6, 11, 3),
    Column::flex("reason", 20),
];

/// A narrow pane drops the reason (the detail popup has it) rather than
/// cutting every column to a few unreadable letters.
const WITH_REASON: u16 = 72;

/// One finding's cells as text, measured before anything is drawn.
struct RowText<'a> {
    finding: &'a Finding,
    marked: bool,
    id: String,
    age: String,
    /// Who took it (triage), shown before the reason.
    note: Option<String>,
}

impl RowText<'_> {
    fn texts(&self) -> [&str; 5] {
        [
            if self.marked { "●" } else { " " },
            self.finding.kind.as_str(),
            &self.id,
            &self.age,
            self.finding.suggested_action.as_str(),
        ]
    }

    fn reason(&self, note_style: Style) -> Line<'_> {
        let reason = self.finding.reason_past_age();
        match &self.note {
            Some(note) => Line::from(vec![
                Span::styled(format!("{note} · "), note_style),
                Span::raw(reason),
            ]),
            None => Line::raw(reason),
        }
    }
}

/// The findings a pane of `inner_rows` rows shows, from the first drawn.
fn shown(app: &App, inner_rows: usize) -> (usize, Vec<RowText<'_>>) {
    let findings = &app.snapshot.findings;
    let start = window_start(
        app.findings.selected,
        app.findings.offset,
        inner_rows,
        findings.len(),
    );
    let end = (start + inner_rows).min(findings.len());
    let rows = findings[start..end]
        .iter()
        .map(|f| RowText {
            finding: f,
            marked: f
                .execution_id
                .as_ref()
                .is_some_and(|id| app.marks.ids.contains(id)),
            id: id_text(f),
            age: ago_brief(app.now, app.snapshot.finding_since(f)),
            note: app
                .snapshot
                .triage_of(f)
                .and_then(|t| crate::tui::triage::row_note(t, app.now)),
        })
        .collect();
    (start, rows)
}

/// The widest value of each column among `rows`.
fn widest_values(rows: &[RowText]) -> [u16; 6] {
    let texts: Vec<[&str; 5]> = rows.iter().map(RowText::texts).collect();
    let mut out = [0; 6];
    for (c, w) in out.iter_mut().enumerate().take(5) {
        *w = widest(texts.iter().map(|t| t[c]));
    }
    out[5] = rows
        .iter()
        .map(|r| u16::try_from(r.reason(Style::default()).width()).unwrap_or(u16::MAX))
        .max()
        .unwrap_or(0);
    out
}

/// The width the pane wants for its rows shown in a pane `height` rows
/// tall: every reason whole.
pub fn natural(app: &App, height: u16) -> u16 {
    let (_, rows) = shown(app, usize::from(height.saturating_sub(2)));
    natural_width(&COLUMNS, &widest_values(&rows)) + MARGIN
}

/// A blank cell between the reason and the error rates' rule.
const MARGIN: u16 = 1;

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
    let (start, shown) = shown(app, inner_rows);
    let with_reason = area.width >= WITH_REASON;
    let columns = if with_reason {
        &COLUMNS[..]
    } else {
        &COLUMNS[..5]
    };
    // Without the reason every cell counts: no margin.
    let room = if with_reason {
        area.width.saturating_sub(MARGIN)
    } else {
        area.width
    };
    let widths = column_widths(columns, &widest_values(&shown), room);
    // Where the pane has rows to spare, a long reason wraps under itself
    // instead of being cut: only when every finding fits so, so the list
    // never has to scroll through rows of uneven height.
    let wrapped: Option<Vec<Vec<Line<'static>>>> = (with_reason && shown.len() == len)
        .then(|| {
            shown
                .iter()
                .map(|r| wrap(&r.reason(theme.key), usize::from(widths[5]), 0))
                .collect::<Vec<_>>()
        })
        .filter(|lines| lines.iter().map(Vec::len).sum::<usize>() <= inner_rows);
    let rows = shown.iter().enumerate().map(|(i, r)| {
        let f = r.finding;
        let action_style = match f.suggested_action {
            SuggestedAction::MarkFailed => theme.bad,
            SuggestedAction::Reconcile | SuggestedAction::StopRemote => theme.warn,
            SuggestedAction::Investigate | SuggestedAction::Wait => theme.dim,
        };
        let texts = r.texts();
        let fit = |c: usize| ellipsize(texts[c], widths[c]).into_owned();
        // Only a mark is styled: see the Running pane.
        let mark = if r.marked {
            Span::styled("●", theme.marked)
        } else {
            Span::raw(" ")
        };
        let mut cells = vec![
            Cell::from(mark),
            Cell::from(fit(1)),
            Cell::from(fit_id(f, usize::from(widths[2]))),
            Cell::from(fit(3)),
            Cell::from(Span::styled(fit(4), action_style)),
        ];
        // Triage: who took it, before the reason.
        let mut height = 1;
        if let Some(lines) = wrapped.as_ref().and_then(|w| w.get(i)) {
            height = u16::try_from(lines.len()).unwrap_or(1);
            cells.push(Cell::from(Text::from(lines.clone())));
        } else if with_reason {
            cells.push(Cell::from(ellipsize_line(r.reason(theme.key), widths[5])));
        }
        let row = Row::new(cells).height(height);
        // Acknowledged and snoozed rows dimmed (they are sorted below the rest).
        if app.snapshot.triage_of(f).is_some_and(|t| t.quiet()) {
            row.style(theme.dim)
        } else {
            row
        }
    });
    let table = list_table(app, rows, columns, &widths, block);
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
    let room = |w: usize| u16::try_from(w).unwrap_or(u16::MAX);
    match (&f.execution_id, &f.remote_id) {
        (None, Some(remote)) if width >= 4 => format!("({})", ellipsize(remote, room(width - 2))),
        _ => ellipsize(&text, room(width)).into_owned(),
    }
}
