//! The action popups: the reason prompt, the preview with its confirmation,
//! the result, and the audit log.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::{ago, centered, popup_scroll};
use crate::tui::app::{ActionKind, ActionPreview, ActionReport, App, Popup};

fn verb(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::Reconcile => "Reconcile",
        ActionKind::MarkFailed => "Mark failed",
    }
}

fn show(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    title: String,
    lines: Vec<Line<'static>>,
    width: u16,
) {
    let theme = app.theme();
    // Long refusals wrap: size the popup by wrapped lines so the last line shows.
    let inner = usize::from(width.min(area.width).saturating_sub(2)).max(1);
    let rows: usize = lines.iter().map(|l| l.width().div_ceil(inner).max(1)).sum();
    let popup = centered(
        area,
        width,
        u16::try_from(rows).unwrap_or(u16::MAX).saturating_add(2),
    );
    let scroll = popup_scroll(app, rows, popup.height.saturating_sub(2));
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .scroll((scroll, 0))
            .wrap(Wrap { trim: false })
            .block(
                Block::bordered()
                    .title(title)
                    .border_style(theme.border_focused),
            ),
        popup,
    );
}

fn preview_lines(
    app: &App,
    preview: &ActionPreview,
    typed: &str,
    applying: bool,
) -> Vec<Line<'static>> {
    let theme = app.theme();
    let changes = preview.changes();
    let mut lines: Vec<Line> = preview
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
        .collect();
    lines.push(Line::raw(""));
    if let Some(note) = &preview.note {
        lines.push(Line::styled(format!(" {note}"), theme.dim));
    }
    let skipped = preview.rows.len() - changes;
    lines.push(Line::raw(format!(
        " {changes} will change, {skipped} left alone; every write is compare-and-set and audited"
    )));
    lines.push(Line::styled(
        if applying {
            " applying…".to_string()
        } else if changes == 0 {
            " nothing to change: any key closes".to_string()
        } else if changes == 1 {
            " Apply? y/N".to_string()
        } else {
            format!(" Type {changes} and Enter to apply to {changes} rows (Esc cancels): {typed}▏")
        },
        theme.alert,
    ));
    lines
}

fn report_lines(app: &App, report: &ActionReport) -> Vec<Line<'static>> {
    let theme = app.theme();
    let mut lines: Vec<Line> = report
        .rows
        .iter()
        .map(|r| {
            let after = r.after.clone().unwrap_or_else(|| "-".into());
            match &r.applied {
                Ok(()) => Line::from(vec![
                    Span::styled(" applied  ", theme.ok),
                    Span::raw(format!("{:<12} {} → {after}", r.id, r.before)),
                ]),
                Err(why) => Line::from(vec![
                    Span::styled(" refused  ", theme.bad),
                    Span::raw(format!("{:<12} {why}", r.id)),
                ]),
            }
        })
        .collect();
    let applied = report.rows.iter().filter(|r| r.applied.is_ok()).count();
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!(
            " {applied} of {} applied · Enter or Esc closes",
            report.rows.len()
        ),
        theme.alert,
    ));
    lines
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

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let theme = app.theme();
    match &app.popup {
        Some(Popup::Reason { request, text }) => {
            let lines = vec![
                Line::raw(format!(" Mark {} failed. Why?", targets_named(request))),
                Line::raw(""),
                Line::from(vec![
                    Span::styled(" reason: ", theme.key),
                    Span::raw(format!("{text}▏")),
                ]),
                Line::raw(""),
                Line::styled(
                    " Enter plans the change (nothing is written yet) · Esc cancels",
                    theme.dim,
                ),
            ];
            show(frame, area, app, " Mark failed ".into(), lines, 72);
        }
        Some(Popup::Preview {
            preview,
            typed,
            applying,
        }) => {
            let title = format!(" {} — preview ", verb(preview.kind));
            show(
                frame,
                area,
                app,
                title,
                preview_lines(app, preview, typed, *applying),
                96,
            );
        }
        Some(Popup::Report(report)) => {
            let title = format!(" {} — result ", verb(report.kind));
            show(frame, area, app, title, report_lines(app, report), 96);
        }
        Some(Popup::Audit(entries)) => {
            let mut lines: Vec<Line> = entries
                .iter()
                .map(|e| {
                    let when = e
                        .at
                        .map_or_else(|| "?".to_string(), |at| format!("{} ago", ago(app.now, at)));
                    Line::from(vec![
                        Span::styled(format!(" {when:<9} "), theme.dim),
                        Span::styled(format!("{}@{} ", e.operator, e.host), theme.key),
                        Span::raw(format!(
                            "{} {} {} → {}  {}",
                            e.action,
                            e.execution_id,
                            e.before.as_deref().unwrap_or("-"),
                            e.after.as_deref().unwrap_or("-"),
                            e.reason.as_deref().unwrap_or("")
                        )),
                    ])
                })
                .collect();
            if lines.is_empty() {
                lines.push(Line::styled(" no actions recorded yet", theme.dim));
            }
            show(
                frame,
                area,
                app,
                " Audit log, newest first (esc closes) ".into(),
                lines,
                110,
            );
        }
        _ => {}
    }
}
