//! The Error rates pane: both windows, the failures sparkline, the top error
//! classes and failing groups, and the long-running alert.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::pane_block;
use crate::domain::WindowStats;
use crate::tui::render_util::{failures_sparkline, rate};
use crate::tui::state::{App, Pane};

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

    let mut lines = Vec::new();
    // A firing alert goes first so a short pane never cuts it off.
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
    frame.render_widget(Paragraph::new(lines), rest);
}
