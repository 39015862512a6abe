//! The Running pane: a windowed table. Only the rows that fit are built, so a
//! frame costs the same with 100 or 100,000 active executions.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

use super::{ago_brief, pane_block, window_start};
use crate::domain::{Execution, JobLimit};
use crate::tui::state::{App, Pane};

/// The Running pane's columns: title and width.
const COLUMNS: [(&str, Constraint); 10] = [
    ("", Constraint::Length(1)),
    ("id", Constraint::Length(8)),
    ("name", Constraint::Min(10)),
    ("group", Constraint::Length(10)),
    ("status", Constraint::Length(11)),
    ("remote", Constraint::Length(9)),
    ("age", Constraint::Length(7)),
    (PROGRESS, Constraint::Length(6)),
    ("upd", Constraint::Length(7)),
    ("remote id", Constraint::Fill(1)),
];

/// The column of each run's progress against its job's usual duration.
const PROGRESS: &str = "/p95";

/// How far a running execution is into its job's usual duration: its age
/// as a percentage of the learned p95, styled by how near the limit it is
/// (dim below the p95, warn past it, bad past the limit). "-" where its
/// job has no learned limit.
fn progress<'a>(app: &'a App, e: &Execution) -> Span<'a> {
    let theme = app.theme();
    match app.snapshot.job_limit(e) {
        JobLimit::Learned { stats, limit } => {
            let age = (app.now - e.phase_start()).num_seconds().max(0) as f64;
            let percent = if stats.p95 > 0.0 {
                (100.0 * age / stats.p95).round().min(99_999.0)
            } else {
                99_999.0
            };
            let style = if age > limit.as_secs_f64() {
                theme.bad
            } else if percent > 100.0 {
                theme.warn
            } else {
                theme.dim
            };
            Span::styled(format!("{percent:.0}%"), style)
        }
        _ => Span::styled("-", theme.dim),
    }
}

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let theme = app.theme();
    let arrow = if app.sort_reverse { "▼" } else { "▲" };
    // Before the first poll the count is unknown, not 0.
    let mut title = if app.has_snapshot {
        format!("Running {}", app.view.len())
    } else {
        "Running".to_string()
    };
    if app.view.len() != app.snapshot.active.len() {
        title.push_str(&format!(" of {}", app.snapshot.active.len()));
    }
    title.push_str(&format!(" · sort {} {arrow}", app.sort.title()));
    if !app.filter.text.is_empty() {
        title.push_str(&format!(" · filter \"{}\"", app.filter.text));
    }
    if !app.marks.ids.is_empty() {
        title.push_str(&format!(" · {} selected", app.marks.ids.len()));
    }
    let block = pane_block(app, Pane::Running, title);
    let inner_rows = usize::from(block.inner(area).height.saturating_sub(1));

    // Without a remote tracker its column could only ever read "-".
    let with_remote = app.settings.remote;
    // Only once some job's runtimes are learned: until then it reads "-".
    let with_progress = !app.snapshot.learned.by_name.is_empty();
    let len = app.view.len();
    let start = window_start(app.running.selected, app.running.offset, inner_rows, len);
    let end = (start + inner_rows).min(len);
    let rows = app.view[start..end].iter().map(|&i| {
        let e = &app.snapshot.active[i];
        let remote = app
            .snapshot
            .remote
            .get(e.id.as_str())
            .and_then(|h| h.remote_status());
        // Only a mark is styled: under NO_COLOR the style is an underline,
        // which would draw a stray underscore on every unmarked row.
        let mark = if app.marks.ids.contains(&e.id) {
            Span::styled("●", theme.marked)
        } else {
            Span::raw(" ")
        };
        let local = if &*e.raw_status == e.status.as_str() {
            e.status.as_str()
        } else {
            &*e.raw_status
        };
        let mut cells = vec![
            Cell::from(mark),
            Cell::from(e.id.clone()),
            Cell::from(e.name.as_deref().unwrap_or_default()),
            Cell::from(e.group.as_deref().unwrap_or_default()),
            Cell::from(Span::styled(local, theme.status(e.status))),
        ];
        if with_remote {
            cells.push(Cell::from(match remote {
                Some(s) => Span::styled(s.as_str(), theme.status(s)),
                None => Span::styled("-", theme.dim),
            }));
        }
        cells.push(Cell::from(ago_brief(app.now, e.phase_start())));
        if with_progress {
            cells.push(Cell::from(progress(app, e)));
        }
        cells.extend([
            Cell::from(ago_brief(app.now, e.last_local_update())),
            Cell::from(e.remote_id.clone().unwrap_or_default()),
        ]);
        Row::new(cells)
    });
    let columns = COLUMNS
        .iter()
        .filter(|(title, _)| with_remote || *title != "remote")
        .filter(|(title, _)| with_progress || *title != PROGRESS);
    let header =
        Row::new(columns.clone().map(|&(title, _)| Cell::from(title))).style(theme.header_row);
    let widths: Vec<Constraint> = columns.map(|&(_, width)| width).collect();
    let table = Table::new(rows, widths)
        .header(header)
        .block(block)
        .row_highlight_style(theme.selected);
    let mut state = TableState::default();
    if len > 0 && app.focus == Pane::Running {
        state.select(Some(app.running.selected - start));
    }
    if len == 0 {
        let empty = match (app.has_snapshot, app.filter.text.is_empty()) {
            (false, _) => "",
            (true, true) => " no active executions",
            (true, false) => " no execution matches the filter",
        };
        let mut inner = pane_block(app, Pane::Running, String::new()).inner(area);
        inner.y += 1;
        inner.height = inner.height.saturating_sub(1);
        frame.render_widget(table, area);
        frame.render_widget(Paragraph::new(Line::styled(empty, theme.dim)), inner);
        return;
    }
    frame.render_stateful_widget(table, area, &mut state);
}
