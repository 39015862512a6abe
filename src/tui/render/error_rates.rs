//! The Error rates pane: both windows, the failures sparkline, the top error
//! classes and failing groups, and the long-running alert.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::fit::ellipsize_line;
use super::pane_block;
use crate::domain::WindowStats;
use crate::tui::render_util::{failures_sparkline, rate};
use crate::tui::state::{App, Pane};
use crate::tui::wrap::wrap_all;

fn window<'a>(app: &App, label: &str, w: &WindowStats, wide: bool) -> Line<'a> {
    let theme = app.theme();
    let style = if w.failed > 0 { theme.bad } else { theme.ok };
    let label = Span::styled(format!("{label:<4}"), theme.header_row);
    if !wide {
        return Line::from(vec![
            label,
            Span::styled(format!("{}/{} failed", w.failed, w.finished), style),
            Span::raw(" · "),
            Span::styled(rate(w.failure_rate), style),
        ]);
    }
    Line::from(vec![
        label,
        Span::styled(format!("{} failed", w.failed), style),
        Span::raw(format!(" of {} done · ", w.finished)),
        Span::styled(format!("{} fail rate", rate(w.failure_rate)), style),
        Span::raw(format!(" · {} ok · {} cancelled", w.succeeded, w.cancelled)),
    ])
}

/// The lines under the sparkline: a firing alert first (so a short pane
/// never cuts it off), the error classes, the failing groups, and the
/// long-running count while it is under its alert.
fn summary(app: &App) -> Vec<Line<'static>> {
    let theme = app.theme();
    let rates = &app.snapshot.error_rates;
    let mut lines = Vec::new();
    if let Some(alert) = app.snapshot.long_running.filter(|a| a.firing) {
        let text = format!(
            "ALERT {} running >{} (limit {})",
            alert.running_over_age,
            crate::domain::format_age(i64::try_from(alert.age_seconds).unwrap_or(i64::MAX)),
            alert.limit
        );
        lines.push(Line::styled(text, theme.alert));
    }
    let classes: Vec<String> = rates
        .by_class
        .iter()
        .take(4)
        .map(|(c, n)| format!("{} {n}", c.as_str()))
        .collect();
    lines.push(Line::from(vec![
        Span::styled("classes ", theme.header_row),
        Span::raw(if classes.is_empty() {
            "-".to_string()
        } else {
            classes.join(" · ")
        }),
    ]));
    let groups: Vec<String> = rates
        .by_group
        .iter()
        .filter(|g| g.failed > 0)
        .take(3)
        .map(|g| {
            format!(
                "{} {}/{} {}",
                g.group,
                g.failed,
                g.finished,
                rate(g.failure_rate)
            )
        })
        .collect();
    lines.push(Line::from(vec![
        Span::styled("groups  ", theme.header_row),
        Span::raw(if groups.is_empty() {
            "-".to_string()
        } else {
            groups.join(" · ")
        }),
    ]));
    if let Some(alert) = app.snapshot.long_running.filter(|a| !a.firing) {
        lines.push(Line::styled(
            format!(
                "{} running >{} (alert above {})",
                alert.running_over_age,
                crate::domain::format_age(i64::try_from(alert.age_seconds).unwrap_or(i64::MAX)),
                alert.limit
            ),
            theme.dim,
        ));
    }
    lines
}

/// The pane's width with every line whole: both windows in their wide
/// form, the sparkline's whole series and the summary, the rule on its
/// left included.
pub fn natural_width(app: &App) -> u16 {
    if !app.has_snapshot {
        return 1;
    }
    let rates = &app.snapshot.error_rates;
    let widest = [
        window(app, "1h", &rates.hour, true).width(),
        window(app, "24h", &rates.day, true).width(),
        rates.failures_series.len(),
        summary(app).iter().map(Line::width).max().unwrap_or(0),
    ]
    .into_iter()
    .max()
    .unwrap_or(0);
    // The title: " Error rates ".
    u16::try_from(widest.max(13) + 1).unwrap_or(u16::MAX)
}

/// The pane's height at `width` with every line whole, the summary's
/// wrapped under their labels: title 1, windows 2, sparkline label 1 and
/// sparkline 2, then the summary.
pub fn height_at(app: &App, width: u16) -> u16 {
    if !app.has_snapshot {
        return 1;
    }
    let lines = wrapped(&summary(app), width.saturating_sub(1)).len();
    u16::try_from(6 + lines).unwrap_or(u16::MAX)
}

/// The summary lines wrapped to `width` under their 8-cell labels.
fn wrapped(summary: &[Line<'static>], width: u16) -> Vec<Line<'static>> {
    let indented: Vec<(Line, usize)> = summary.iter().map(|l| (l.clone(), 8)).collect();
    wrap_all(&indented, usize::from(width))
}

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let theme = app.theme();
    let rates = &app.snapshot.error_rates;
    let block = pane_block(app, Pane::ErrorRates, "Error rates".to_string());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    // Before the first poll nothing is known: no rates of 0/0.
    if !app.has_snapshot {
        return;
    }
    let wide = inner.width >= 60;

    // title 1, windows 2, label 1, sparkline 2: the 6 of `height_at`.
    let [windows, spark_label, spark, rest] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(1),
        Constraint::Length(2),
        Constraint::Fill(1),
    ])
    .areas(inner);
    frame.render_widget(
        Paragraph::new(vec![
            window(app, "1h", &rates.hour, wide),
            window(app, "24h", &rates.day, wide),
        ]),
        windows,
    );
    let (sparkline, peak) = failures_sparkline(&rates.failures_series, spark.width, theme.bad);
    frame.render_widget(
        Paragraph::new(Line::styled(
            if wide {
                format!("failures per 30 min over 24 h (peak {peak})")
            } else {
                format!("failures/30m, 24h (peak {peak})")
            },
            theme.dim,
        )),
        spark_label,
    );
    frame.render_widget(sparkline, spark);
    // A long line wraps under its label while there are rows for it;
    // otherwise it is cut, with `…`.
    frame.render_widget(Paragraph::new(fit_summary(app, rest)), rest);
}

/// The summary in `area`: each line, in order, wrapped under its label
/// while the lines after it still have a row each, otherwise cut with `…`.
fn fit_summary(app: &App, area: Rect) -> Vec<Line<'static>> {
    let summary = summary(app);
    let mut left = usize::from(area.height);
    let mut lines = Vec::new();
    for (i, line) in summary.iter().enumerate() {
        let after = summary.len() - i - 1;
        let wrapped = wrapped(std::slice::from_ref(line), area.width);
        if wrapped.len() + after <= left {
            left -= wrapped.len();
            lines.extend(wrapped);
        } else {
            left = left.saturating_sub(1);
            lines.push(ellipsize_line(line.clone(), area.width));
        }
    }
    lines
}
