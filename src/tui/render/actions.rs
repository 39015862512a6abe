//! The action popups: the reason prompt, the preview with its confirmation,
//! the result, and the audit log.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Margin, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::popup::{ScrollRoom, TextPopup};
use super::wrap::wrap_all;
use super::{ago, centered};
use crate::tui::app::{ActionKind, ActionPreview, ActionReport, App, Popup};

fn verb(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::Reconcile => "Reconcile",
        ActionKind::MarkFailed => "Mark failed",
    }
}

const POPUP_WIDTH: u16 = 96;

/// Where a preview row's text continues when it wraps: under "before".
const PREVIEW_INDENT: usize = 14;

/// Where a result row's text continues when it wraps: under the reason.
const REPORT_INDENT: usize = 23;

/// A popup whose rows scroll above a footer pinned to its bottom (the
/// preview's summary and prompt, the result's count), so a long list never
/// hides what is asked or what happened.
pub struct Pinned {
    pub title: String,
    pub popup: Rect,
    pub rows_area: Rect,
    pub foot_area: Rect,
    pub rows: Vec<Line<'static>>,
    pub foot: Vec<Line<'static>>,
}

impl Pinned {
    fn new(
        area: Rect,
        title: String,
        rows: &[(Line<'static>, usize)],
        foot: &[(Line<'static>, usize)],
    ) -> Self {
        let width = POPUP_WIDTH.min(area.width);
        let inner = usize::from(width.saturating_sub(2)).max(1);
        let rows = wrap_all(rows, inner);
        let foot = wrap_all(foot, inner);
        let wanted = rows.len() + foot.len() + 2;
        // A line free above and below keeps the header and the footer's
        // messages (e.g. a wrong count) in sight.
        let height = u16::try_from(wanted)
            .unwrap_or(u16::MAX)
            .min(area.height.saturating_sub(2));
        let popup = centered(area, width, height);
        let body = popup.inner(Margin::new(1, 1));
        // The footer wins every line but one, so at least one row shows.
        let foot_height = u16::try_from(foot.len())
            .unwrap_or(u16::MAX)
            .min(body.height.saturating_sub(1));
        let [rows_area, foot_area] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(foot_height)]).areas(body);
        Pinned {
            title,
            popup,
            rows_area,
            foot_area,
            rows,
            foot,
        }
    }

    /// The open preview or result laid out in `area`; `None` for other popups.
    pub fn of(app: &App, area: Rect) -> Option<Self> {
        match app.popup.as_ref()? {
            Popup::Preview {
                preview,
                typed,
                applying,
            } => {
                let (rows, foot) = preview_lines(app, preview, typed, *applying);
                let title = format!(" {} — preview ", verb(preview.kind));
                Some(Pinned::new(area, title, &rows, &foot))
            }
            Popup::Report(report) => {
                let (rows, foot) = report_lines(app, report);
                let title = format!(" {} — result ", verb(report.kind));
                Some(Pinned::new(area, title, &rows, &foot))
            }
            _ => None,
        }
    }

    /// Only the rows scroll; the footer stays.
    pub fn room(&self) -> ScrollRoom {
        ScrollRoom::new(self.rows.len(), self.rows_area.height)
    }

    pub(super) fn render(self, frame: &mut Frame, app: &App) {
        let theme = app.theme();
        let room = self.room();
        let scroll = room.clamp(app.popup_scroll);
        let mut title = self.title;
        if room.max > 0 {
            let first = usize::from(scroll) + 1;
            let last = usize::from(scroll) + usize::from(self.rows_area.height);
            title.push_str(&format!(
                "· lines {first}–{last} of {} · ↑↓ PgUp PgDn scroll ",
                self.rows.len()
            ));
        }
        frame.render_widget(Clear, self.popup);
        frame.render_widget(
            Block::bordered()
                .title(title)
                .border_style(theme.border_focused),
            self.popup,
        );
        frame.render_widget(
            Paragraph::new(self.rows).scroll((scroll, 0)),
            self.rows_area,
        );
        // Anchored to its end: when the popup is too short for the whole
        // footer, the prompt is the line kept.
        let foot_scroll = self
            .foot
            .len()
            .saturating_sub(usize::from(self.foot_area.height));
        frame.render_widget(
            Paragraph::new(self.foot).scroll((u16::try_from(foot_scroll).unwrap_or(0), 0)),
            self.foot_area,
        );
    }
}

type Indented = Vec<(Line<'static>, usize)>;

/// The preview's rows, and its footer: the note, the summary and the prompt.
fn preview_lines(
    app: &App,
    preview: &ActionPreview,
    typed: &str,
    applying: bool,
) -> (Indented, Indented) {
    let theme = app.theme();
    let changes = preview.changes();
    let rows = preview
        .rows
        .iter()
        .map(|r| match &r.after {
            Some(after) => Line::from(vec![
                Span::styled(format!(" {:<12} ", r.id), theme.key),
                Span::raw(format!("{} → ", r.before)),
                Span::styled(after.clone(), theme.warn),
                Span::styled(format!("  {}", r.note), theme.dim),
            ]),
            None => Line::styled(
                format!(" {:<12} {} (left alone: {})", r.id, r.before, r.note),
                theme.dim,
            ),
        })
        .map(|l| (l, PREVIEW_INDENT))
        .collect();
    let mut foot = vec![Line::raw("")];
    if let Some(note) = &preview.note {
        foot.push(Line::styled(format!(" {note}"), theme.dim));
    }
    let skipped = preview.rows.len() - changes;
    foot.push(Line::raw(format!(
        " {changes} will change, {skipped} left alone; every write is compare-and-set and audited"
    )));
    foot.push(Line::styled(
        if applying {
            " applying…".to_string()
        } else if changes == 0 {
            " nothing to change: Esc closes".to_string()
        } else if changes == 1 {
            " Apply? y/N".to_string()
        } else {
            format!(" Type {changes} and Enter to apply to {changes} rows (Esc cancels): {typed}▏")
        },
        theme.alert,
    ));
    (rows, foot.into_iter().map(|l| (l, 1)).collect())
}

/// The result's rows, and its footer: the count and how to close.
fn report_lines(app: &App, report: &ActionReport) -> (Indented, Indented) {
    let theme = app.theme();
    let rows = report
        .rows
        .iter()
        .map(|r| {
            let after = r.after.clone().unwrap_or_else(|| "-".into());
            let line = match &r.applied {
                Ok(()) => Line::from(vec![
                    Span::styled(" applied  ", theme.ok),
                    Span::raw(format!("{:<12} {} → {after}", r.id, r.before)),
                ]),
                Err(why) => Line::from(vec![
                    Span::styled(" refused  ", theme.bad),
                    Span::raw(format!("{:<12} {why}", r.id)),
                ]),
            };
            (line, REPORT_INDENT)
        })
        .collect();
    let applied = report.rows.iter().filter(|r| r.applied.is_ok()).count();
    let foot = vec![
        (Line::raw(""), 0),
        (
            Line::styled(
                format!(
                    " {applied} of {} applied · Enter or Esc closes",
                    report.rows.len()
                ),
                theme.alert,
            ),
            1,
        ),
    ];
    (rows, foot)
}

/// "execution 241", or "3 executions (241, 242, 250)", or the first few and a count.
fn targets_named(request: &crate::tui::request::ActionRequest) -> String {
    const SHOWN: usize = 4;
    let ids: Vec<&str> = request.targets.iter().map(|t| t.id.as_str()).collect();
    match ids.as_slice() {
        [one] => format!("execution {one}"),
        many if many.len() <= SHOWN => format!("{} executions ({})", many.len(), many.join(", ")),
        many => format!(
            "{} executions ({}, … +{} more)",
            many.len(),
            many[..SHOWN].join(", "),
            many.len() - SHOWN
        ),
    }
}

/// The reason prompt or the audit log; `None` for other popups.
pub fn text_popup(app: &App, screen: Rect) -> Option<TextPopup> {
    let theme = app.theme();
    match app.popup.as_ref()? {
        Popup::Reason { request, text } => {
            let lines = vec![
                (
                    Line::raw(format!(" Mark {} failed. Why?", targets_named(request))),
                    1,
                ),
                (Line::raw(""), 0),
                (
                    Line::from(vec![
                        Span::styled(" reason: ", theme.key),
                        Span::raw(format!("{text}▏")),
                    ]),
                    9,
                ),
                (Line::raw(""), 0),
                (
                    Line::styled(
                        " Enter plans the change (nothing is written yet) · Esc cancels",
                        theme.dim,
                    ),
                    1,
                ),
            ];
            Some(TextPopup::new(
                screen,
                72,
                screen.height,
                " Mark failed ".into(),
                &lines,
            ))
        }
        Popup::Audit(entries) => {
            let mut lines: Indented = entries
                .iter()
                .map(|e| {
                    let when = e
                        .at
                        .map_or_else(|| "?".to_string(), |at| format!("{} ago", ago(app.now, at)));
                    let line = Line::from(vec![
                        Span::styled(format!(" {when:<9} "), theme.dim),
                        Span::styled(format!("{}@{} ", e.operator, e.host), theme.key),
                        Span::raw(match e.after.as_deref() {
                            Some(after) => format!(
                                "{} {} {} → {after}  {}",
                                e.action,
                                e.execution_id,
                                e.before.as_deref().unwrap_or("-"),
                                e.reason.as_deref().unwrap_or("")
                            ),
                            // A remote stop changes no row: what the remote answered.
                            None => format!(
                                "{} {} remote: {}  {}",
                                e.action,
                                e.execution_id,
                                e.remote_status.as_deref().unwrap_or("-"),
                                e.reason.as_deref().unwrap_or("")
                            ),
                        }),
                    ]);
                    (line, 11)
                })
                .collect();
            if lines.is_empty() {
                lines.push((Line::styled(" no actions recorded yet", theme.dim), 1));
            }
            Some(TextPopup::new(
                screen,
                110,
                screen.height,
                " Audit log, newest first (esc closes) ".into(),
                &lines,
            ))
        }
        _ => None,
    }
}
