//! Drawing: a pure function of the App (its `now` included), one module per
//! pane. Nothing here mutates state; scroll offsets are re-derived from the
//! App's cursor so a frame is always consistent with what `update` decided.

pub mod error_rates;
pub mod findings;
pub mod fit;
pub mod footer;
pub mod header;
pub mod popup;
pub mod running;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};

use self::fit::Claim;
use super::health::{Condition, condition, remote_stale};
use super::scroll::FrameFacts;
use super::state::{App, Pane};
use super::wall::{self, Alarm, WallView};
use crate::domain::format_age;

pub use super::render_util::{ago, ago_brief, centered};

pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 15;

/// Draws the whole screen from the state, and returns what the frame
/// measured that keys depend on (for `Msg::Frame`).
pub fn render(frame: &mut Frame, app: &App) -> FrameFacts {
    let area = frame.area();
    let mut facts = FrameFacts {
        list_rows: list_rows(app, area.width, area.height),
        popup: None,
    };
    if app.settings.wall {
        wall::render(frame, area, &wall_view(app));
        if let Some(popup) = popup::PopupLayout::of(app, area) {
            facts.popup = Some(popup.room());
            popup.render(frame, app);
        }
        return facts;
    }
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let text = format!("terminal too small (need {MIN_WIDTH}×{MIN_HEIGHT})");
        frame.render_widget(Paragraph::new(text), area);
        return facts;
    }
    let [head, body, foot] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    header::render(frame, head, app);
    footer::render(frame, foot, app);

    let [top_h, lower_h, log_h] = pane_heights(app, area.width, body.height);
    let [top, lower, log_area] = Layout::vertical([
        Constraint::Length(top_h),
        Constraint::Length(lower_h),
        Constraint::Length(log_h),
    ])
    .areas(body);
    let [left_w, right_w] = lower_widths(app, lower);
    let [left, right] =
        Layout::horizontal([Constraint::Length(left_w), Constraint::Length(right_w)]).areas(lower);
    running::render(frame, top, app);
    findings::render(frame, left, app);
    error_rates::render(frame, right, app);
    if log_h > 0 {
        let block = pane_block(app, Pane::Log, "Log".to_string());
        super::log_pane::render(frame, log_area, block, app.theme());
    }

    if let Some(popup) = popup::PopupLayout::of(app, area) {
        facts.popup = Some(popup.room());
        popup.render(frame, app);
    }
    facts
}

/// What the wall screen reads of the App: its figures, and each source
/// that is wrong as the header would judge it (`health::condition`).
fn wall_view(app: &App) -> WallView<'_> {
    let snap = &app.snapshot;
    let mut alarms = Vec::new();
    let db = condition(&snap.database, app.db_failure.as_ref());
    let last_good_poll = app
        .has_snapshot
        .then(|| snap.database.last_success.unwrap_or(snap.taken_at));
    // Down before the first poll answered too: the wall is never a
    // "waiting" screen over a database that refuses.
    if app.db_failure.is_some() || (app.has_snapshot && db == Condition::Down) {
        alarms.push(Alarm {
            headline: "DATABASE DOWN".to_string(),
            since: app.wall.db_down_since.or(last_good_poll),
            detail: app
                .db_failure
                .as_ref()
                .map(|f| f.error.clone())
                .or_else(|| snap.database.last_error.clone()),
        });
    } else if let Some(age) = app.db_stale_seconds() {
        alarms.push(Alarm {
            headline: "NO DATA".to_string(),
            since: last_good_poll,
            detail: Some(format!(
                "no database poll for {} (every {} expected)",
                format_age(age),
                format_age(i64::try_from(app.interval.as_secs()).unwrap_or(i64::MAX))
            )),
        });
    }
    if app.has_snapshot
        && let Some(h) = snap.remote_health.as_ref()
    {
        let headline = match condition(h, app.remote_failure.as_ref()) {
            Condition::Down => Some("REMOTE DOWN"),
            Condition::Degraded => Some("REMOTE DEGRADED"),
            Condition::Suspect => Some("REMOTE SUSPECT"),
            Condition::AuthFailing => Some("REMOTE AUTH FAILING"),
            Condition::Ok | Condition::Waiting => None,
        };
        if let Some(headline) = headline {
            alarms.push(Alarm {
                headline: headline.to_string(),
                since: h.last_success,
                detail: app
                    .remote_failure
                    .as_ref()
                    .map(|f| f.error.clone())
                    .or_else(|| h.auth_failing.clone())
                    .or_else(|| h.suspect.clone())
                    .or_else(|| h.last_error.clone()),
            });
        }
    }
    WallView {
        snapshot: snap,
        has_snapshot: app.has_snapshot,
        now: app.now,
        theme: app.theme(),
        state: &app.wall,
        stale: app.db_stale_seconds().is_some(),
        alarms,
        last_good_poll,
    }
}

/// What a frame of the state at its terminal size measures, without
/// drawing it: for tests that drive `update` with no terminal.
pub fn frame_facts(app: &App) -> FrameFacts {
    let screen = Rect::new(0, 0, app.size.0, app.size.1);
    FrameFacts {
        list_rows: list_rows(app, app.size.0, app.size.1),
        popup: popup::PopupLayout::of(app, screen).map(|layout| layout.room()),
    }
}

/// Pane heights move in steps of this many rows (`fit::allot`).
const ROW_STEP: u16 = 4;
/// The findings / error rates split moves in steps of this many cells, so
/// a count in the error rates growing a digit does not move it.
const CELL_STEP: u16 = 4;

/// The fixed proportions of the Running pane, the findings/error-rates
/// row and the log pane in a body of `body` lines: what each has when all
/// of them have more to show than fits.
fn pane_shares(body: u16, show_log: bool) -> [u16; 3] {
    let lower = (body * 2 / 5).clamp(9, 22);
    if show_log {
        let log = (body / 4).max(5);
        let lower = lower.min(body.saturating_sub(log + 5));
        [body.saturating_sub(lower + log), lower, log]
    } else {
        [body.saturating_sub(lower), lower, 0]
    }
}

/// Heights of the Running pane, the findings/error-rates row and the log
/// pane for a body of `body` lines and `width` cells. Each list pane is as tall as its rows
/// (a title, the column header and at least one row, which says the list
/// is empty); what a pane leaves goes to the one whose rows do not fit,
/// and what is left then goes to the findings/error-rates row, so the
/// empty rows are at the bottom rather than between the panes. The log
/// pane keeps its share. `update` learns the list heights through
/// `FrameFacts`, so page keys move by exactly one visible page.
pub fn pane_heights(app: &App, width: u16, body: u16) -> [u16; 3] {
    let shares = pane_shares(body, app.show_log);
    let rows = |n: usize| {
        u16::try_from(n.max(1))
            .unwrap_or(u16::MAX)
            .saturating_add(2)
    };
    // The error rates at their share of the width: their lines wrapped.
    let rates_height = error_rates::height_at(app, width - lower_split(width));
    let claims = [
        Claim {
            need: rows(app.view.len()),
            share: shares[0],
        },
        Claim {
            need: rows(app.snapshot.findings.len()).max(rates_height),
            share: shares[1],
        },
    ];
    let got = fit::allot(body.saturating_sub(shares[2]), &claims, ROW_STEP, 1);
    [got[0], got[1], shares[2]]
}

/// The findings' share of a row `width` cells wide (the error rates have
/// the rest) when both have more to show than fits.
fn lower_split(width: u16) -> u16 {
    let split = if width < 120 { 60 } else { 55 };
    u16::try_from(u32::from(width) * split / 100).unwrap_or(width)
}

/// Widths of the findings and the error rates side by side in `lower`:
/// each as wide as its text wants (the findings' reasons whole), the fixed
/// proportions when both want more; what is left goes to the findings.
fn lower_widths(app: &App, lower: Rect) -> [u16; 2] {
    let left = lower_split(lower.width);
    // Before the first poll neither side has anything to measure.
    if !app.has_snapshot {
        return [left, lower.width - left];
    }
    let rates_width = error_rates::natural_width(app);
    let claims = [
        Claim {
            need: findings::natural(app, lower.height),
            share: left,
        },
        Claim {
            need: rates_width,
            share: lower.width - left,
        },
    ];
    let got = fit::allot(lower.width, &claims, CELL_STEP, 0);
    [got[0], got[1]]
}

/// Rows of data the Running and the findings panes show in a terminal of
/// `height` lines.
pub fn list_rows(app: &App, width: u16, height: u16) -> [usize; 2] {
    // header 2 + footer 1; each pane: title 1 + column header 1
    let [top, lower, _] = pane_heights(app, width, height.saturating_sub(3));
    [top, lower].map(|h| usize::from(h.saturating_sub(2)).max(1))
}

/// A pane's head: its title on the pane's first line, as a highlighted tab
/// when the pane has the focus, and the stale marks after it: the
/// database's on every pane, the remote's on the panes that show remote
/// answers.
///
/// Panes have no box around them, as in htop: a title line and the table's
/// underlined column header set each apart. A box took two rows and two
/// columns a pane, a title line takes one row: a row more for executions in
/// each pane. A box is also most of the bytes a first screen
/// sends down an SSH link (docs/PERFORMANCE.md §4). The error rates, beside
/// the findings, keep a rule on their left.
pub fn pane_block<'a>(app: &App, pane: Pane, title: String) -> Block<'a> {
    let theme = app.theme();
    let focused = app.focus == pane;
    let mut spans = vec![Span::styled(
        format!(" {title} "),
        if focused {
            theme.title_focused
        } else {
            theme.title
        },
    )];
    if let Some(age) = app.db_stale_seconds()
        && pane != Pane::Log
    {
        spans.push(Span::styled(
            format!("(stale {}) ", format_age(age)),
            theme.warn,
        ));
    }
    if let Some(stale) = remote_stale(app)
        && matches!(pane, Pane::Running | Pane::Findings)
    {
        let text = match stale.seconds {
            Some(age) => format!("(remote stale {}) ", format_age(age)),
            None => "(remote stale) ".to_string(),
        };
        spans.push(Span::styled(text, theme.warn));
    }
    let borders = if pane == Pane::ErrorRates {
        Borders::LEFT
    } else {
        Borders::NONE
    };
    Block::new()
        .borders(borders)
        .border_style(theme.border)
        .title(Line::from(spans))
}

/// A list pane's table: the rows, the column titles fitted to `widths`
/// (`fit::column_widths`), the header and selection styles.
pub fn list_table<'a>(
    app: &App,
    rows: impl IntoIterator<Item = Row<'a>>,
    columns: &[fit::Column],
    widths: &[u16],
    block: Block<'a>,
) -> Table<'a> {
    let theme = app.theme();
    let header = Row::new(
        columns
            .iter()
            .zip(widths)
            .map(|(c, &w)| Cell::from(fit::ellipsize(c.title, w).into_owned())),
    )
    .style(theme.header_row);
    let widths: Vec<Constraint> = widths.iter().map(|&w| Constraint::Length(w)).collect();
    Table::new(rows, widths)
        .header(header)
        .block(block)
        .row_highlight_style(theme.selected)
}

/// The first row to draw so that `selected` is visible in `height` rows.
pub fn window_start(selected: usize, offset: usize, height: usize, len: usize) -> usize {
    if height == 0 {
        return 0;
    }
    let mut start = offset;
    if selected < start {
        start = selected;
    } else if selected >= start + height {
        start = selected + 1 - height;
    }
    start.min(len.saturating_sub(height))
}
