//! Small helpers every drawing uses: ages as the panes spell them, and a
//! rectangle centred in another.

use chrono::{DateTime, Utc};
use ratatui::layout::{Constraint, Flex, Layout, Rect};

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
