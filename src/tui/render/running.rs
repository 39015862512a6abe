//! The Running pane: a windowed table. Only the rows that fit are built, so a
//! frame costs the same with 100 or 100,000 active executions.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, TableState};

use ratatui::style::Style;

use super::fit::{Column, column_widths, ellipsize, widest};
use super::{ago_brief, list_table, pane_block, window_start};
use crate::domain::{Execution, JobLimit, Status};
use crate::tui::state::{App, Pane};

/// The Running pane's columns. Each is as wide as the values shown, up to
/// its cap; the remote id takes what is left. An age column keeps 5 cells
/// ("1h 6m") so that a run passing the hour does not move the columns
/// after it.
const COLUMNS: [Column; 10] = [
    Column::new("", 1, 1, 9),
    Column::new("id", 4, 36, 4),
    Column::new("name", 10, 40, 1),
    Column::new("group", 6, 20, 1),
    Column::new("status", 7, 14, 2),
    Column::new("remote", 7, 11, 2),
    Column::new("age", 5, 7, 3),
    Column::new(PROGRESS, 4, 6, 3),
    Column::new("upd", 5, 7, 3),
    Column::flex("remote id", 9),
];

/// The column of each run's progress against its job's usual duration.
const PROGRESS: &str = "/p95";

/// How far a running execution is into its job's usual duration: its age
/// as a percentage of the learned p95, styled by how near the limit it is
/// (dim below the p95, warn past it, bad past the limit). "-" where its
/// job has no learned limit.
fn progress(app: &App, e: &Execution) -> (String, Style) {
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
            (format!("{percent:.0}%"), style)
        }
        _ => ("-".to_string(), theme.dim),
    }
}

/// One execution's cells as text, measured before anything is drawn.
struct RowText<'a> {
    marked: bool,
    id: &'a str,
    name: &'a str,
    group: &'a str,
    status: (&'a str, Status),
    remote: Option<Status>,
    age: String,
    /// Shown once some job's runtimes are learned.
    progress: Option<(String, Style)>,
    updated: String,
    remote_id: &'a str,
}

impl RowText<'_> {
    /// The texts in the order of `COLUMNS` (the remote's left out when
    /// there is no remote tracker).
    fn texts(&self, with_remote: bool) -> Vec<&str> {
        let mut texts = vec![
            if self.marked { "●" } else { " " },
            self.id,
            self.name,
            self.group,
            self.status.0,
        ];
        if with_remote {
            texts.push(self.remote.map_or("-", |s| s.as_str()));
        }
        texts.push(self.age.as_str());
        if let Some((text, _)) = &self.progress {
            texts.push(text);
        }
        texts.extend([self.updated.as_str(), self.remote_id]);
        texts
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
    // Only once some job has enough runs to be learned: until then it
    // would read "-" on every row.
    let with_progress = app.snapshot.learns_any_job();
    let len = app.view.len();
    let start = window_start(app.running.selected, app.running.offset, inner_rows, len);
    let end = (start + inner_rows).min(len);
    let shown: Vec<RowText> = app.view[start..end]
        .iter()
        .map(|&i| {
            let e = &app.snapshot.active[i];
            let local = if &*e.raw_status == e.status.as_str() {
                e.status.as_str()
            } else {
                &*e.raw_status
            };
            RowText {
                marked: app.marks.ids.contains(&e.id),
                id: &e.id,
                name: e.name.as_deref().unwrap_or_default(),
                group: e.group.as_deref().unwrap_or_default(),
                status: (local, e.status),
                remote: app
                    .snapshot
                    .remote
                    .get(e.id.as_str())
                    .and_then(|h| h.remote_status()),
                age: ago_brief(app.now, e.phase_start()),
                progress: with_progress.then(|| progress(app, e)),
                updated: ago_brief(app.now, e.last_local_update()),
                remote_id: e.remote_id.as_deref().unwrap_or_default(),
            }
        })
        .collect();
    let columns: Vec<Column> = COLUMNS
        .into_iter()
        .filter(|c| with_remote || c.title != "remote")
        .filter(|c| with_progress || c.title != PROGRESS)
        .collect();
    let texts: Vec<Vec<&str>> = shown.iter().map(|r| r.texts(with_remote)).collect();
    let widest: Vec<u16> = (0..columns.len())
        .map(|c| widest(texts.iter().map(|t| t[c])))
        .collect();
    let widths = column_widths(&columns, &widest, area.width);
    let rows = shown.iter().zip(&texts).map(|(r, texts)| {
        let cells = texts
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (text, &w))| {
                let text = ellipsize(text, w).into_owned();
                // Only a mark is styled: under NO_COLOR the style is an
                // underline, which would draw a stray underscore on every
                // unmarked row.
                let style = match columns[c].title {
                    "" if r.marked => theme.marked,
                    "status" => theme.status(r.status.1),
                    "remote" => r.remote.map_or(theme.dim, |s| theme.status(s)),
                    PROGRESS => r.progress.as_ref().map_or(theme.dim, |(_, s)| *s),
                    _ => Default::default(),
                };
                Cell::from(Span::styled(text, style))
            });
        Row::new(cells)
    });
    let table = list_table(app, rows, &columns, &widths, block);
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
