//! Small helpers every drawing uses: ages as the panes spell them, a
//! rectangle centred in another, a failure rate and the failures sparkline
//! (the error-rates pane's and the wall's).

use chrono::{DateTime, Utc};
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Style;
use ratatui::widgets::Sparkline;

use crate::domain::{format_age, format_age_brief, table_age_seconds};

pub fn ago(now: DateTime<Utc>, at: DateTime<Utc>) -> String {
    format_age((now - at).num_seconds().max(0))
}

/// [`ago`] for table columns: see `table_age_seconds`.
pub fn ago_brief(now: DateTime<Utc>, at: DateTime<Utc>) -> String {
    format_age_brief(table_age_seconds(now, at))
}

pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [h] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(v);
    h
}

/// A failure rate as the panes spell it: "7.5%", or "-" with nothing to divide.
pub fn rate(r: Option<f64>) -> String {
    r.map_or_else(|| "-".to_string(), |r| format!("{:.1}%", r * 100.0))
}

/// The failures per bucket as a sparkline `width` cells wide, and its peak.
/// The newest buckets matter most: when the area is narrower than the
/// series, it shows the series' right-hand (latest) end.
pub fn failures_sparkline(series: &[u64], width: u16, style: Style) -> (Sparkline<'_>, u64) {
    let peak = series.iter().copied().max().unwrap_or(0);
    let shown = &series[series.len().saturating_sub(usize::from(width))..];
    let spark = Sparkline::default()
        .data(shown)
        .max(peak.max(1))
        .style(style);
    (spark, peak)
}
