//! The Error rates pane: both windows, the failures sparkline, the top error
//! classes and failing groups, and the long-running alert.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline};

use super::pane_block;
use crate::domain::WindowStats;
use crate::tui::app::{App, Pane};

fn rate(r: Option<f64>) -> String {
    r.map_or_else(|| "-".to_string(), |r| format!("{:.1}%", r * 100.0))
}

fn window<'a>(app: &App, label: &str, w: &WindowStats) -> Line<'a> {
    let theme = app.theme();
    let failing = w.failed > 0;
    Line::from(vec![
        Span::styled(format!("{label:<4}"), theme.header_row),
        Span::raw(format!("{} done · {} ok · ", w.finished, w.succeeded)),
        Span::styled(format!("{} failed", w.failed), if failing { theme.bad } else { theme.ok }),
        Span::raw(format!(" · {} cancelled · ", w.cancelled)),
        Span::styled(rate(w.failure_rate), if failing { theme.bad } else { theme.ok }),
    ])
}

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let theme = app.theme();
    let rates = &app.snapshot.error_rates;
    let block = pane_block(app, Pane::ErrorRates, "Error rates".to_string());
    let inner = block.inner(area);
    frame.render_widget(block, area);

    let [windows, spark_label, spark, rest] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(1),
        Constraint::Length(2),
        Constraint::Fill(1),
    ])
    .areas(inner);
    frame.render_widget(
        Paragraph::new(vec![window(app, "1h", &rates.hour), window(app, "24h", &rates.day)]),
        windows,
    );
    let peak = rates.failures_series.iter().copied().max().unwrap_or(0);
    frame.render_widget(
        Paragraph::new(Line::styled(
            format!("failures per 30 min, last 24 h (peak {peak})"),
            theme.dim,
        )),
        spark_label,
    );
    // The newest buckets matter most: when the pane is narrower than the
    // series, show its right-hand (latest) end.
    let series = &rates.failures_series;
    let shown = &series[series.len().saturating_sub(usize::from(spark.width))..];
    frame.render_widget(
        Sparkline::default().data(shown).max(peak.max(1)).style(theme.bad),
        spark,
    );

    let mut lines = Vec::new();
    let classes: Vec<String> = rates
        .by_class
        .iter()
        .take(4)
        .map(|(c, n)| format!("{} {n}", c.as_str()))
        .collect();
    lines.push(Line::from(vec![
        Span::styled("classes ", theme.header_row),
        Span::raw(if classes.is_empty() { "-".to_string() } else { classes.join(" · ") }),
    ]));
    let groups: Vec<String> = rates
        .by_group
        .iter()
        .filter(|g| g.failed > 0)
        .take(3)
        .map(|g| format!("{} {}/{} {}", g.group, g.failed, g.finished, rate(g.failure_rate)))
        .collect();
    lines.push(Line::from(vec![
        Span::styled("groups  ", theme.header_row),
        Span::raw(if groups.is_empty() { "-".to_string() } else { groups.join(" · ") }),
    ]));
    if let Some(alert) = &app.snapshot.long_running {
        let text = format!(
            "{} running over {} (alert above {})",
            alert.running_over_age,
            crate::domain::format_age(i64::try_from(alert.age_seconds).unwrap_or(i64::MAX)),
            alert.limit
        );
        lines.push(if alert.firing {
            Line::styled(format!("ALERT: {text}"), theme.alert)
        } else {
            Line::styled(text, theme.dim)
        });
    }
    frame.render_widget(Paragraph::new(lines), rest);
}
