//! The wall screen (`exectop --wall`): a read-only view for a terminal
//! across the room, left on for weeks. Its state (since when everything is
//! clear, since when the database is down) and its drawing live here; the
//! render layer hands it what it reads of the App as plain data
//! ([`WallView`]), so this module sits among the features, below `state`.
//!
//! Large digits (tui-big-text) where the terminal has room; the same
//! figures in plain text down to 80×24. Every age on it moves with the
//! minute (nothing counts seconds), so an idle wall is redrawn once a
//! minute, as the panes are.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use tui_big_text::{BigText, PixelSize};

use super::render_util::{failures_sparkline, rate};
use super::theme::Theme;
use crate::domain::{FindingKind, format_age_brief, table_age_seconds};
use crate::monitor::Snapshot;

/// What the wall remembers between snapshots.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WallState {
    /// Since when no finding is open: set by the first snapshot with none,
    /// cleared by one with any.
    pub clear_since: Option<DateTime<Utc>>,
    /// The first failed database poll of the current outage.
    pub db_down_since: Option<DateTime<Utc>>,
}

impl WallState {
    /// A new snapshot came.
    pub fn observe(&mut self, snap: &Snapshot) {
        if snap.findings.is_empty() {
            self.clear_since.get_or_insert(snap.findings_at);
        } else {
            self.clear_since = None;
        }
        if snap.database.ok {
            self.db_down_since = None;
        }
    }

    /// A database poll failed at `at`.
    pub fn database_failed(&mut self, at: DateTime<Utc>) {
        self.db_down_since.get_or_insert(at);
    }
}

/// Something wrong with a source, for the banner.
#[derive(Debug, Clone, PartialEq)]
pub struct Alarm {
    /// "DATABASE DOWN", "REMOTE DEGRADED"…
    pub headline: String,
    pub since: Option<DateTime<Utc>>,
    /// The error, or why the source is judged so.
    pub detail: Option<String>,
}

/// What the wall draws, read from the App by the render layer.
pub struct WallView<'a> {
    pub snapshot: &'a Snapshot,
    pub has_snapshot: bool,
    pub now: DateTime<Utc>,
    pub theme: &'a Theme,
    pub state: &'a WallState,
    /// Wrong sources, worst first; their figures are then stale.
    pub alarms: Vec<Alarm>,
    /// The database's last good poll.
    pub last_good_poll: Option<DateTime<Utc>>,
    /// The database's figures are stale (a failure, or polls overdue).
    pub stale: bool,
}

/// How large the wall's figures are drawn, by the terminal's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Scale {
    /// Plain text (below 80×30: an 80×24 terminal gets every figure).
    Text,
    /// Quadrant pixels: 4 columns and 4 rows a character.
    Large,
    /// Full pixels: 8 columns and 8 rows a character (200×60 and up).
    Huge,
}

impl Scale {
    fn of(area: Rect) -> Scale {
        if area.width >= 200 && area.height >= 60 {
            Scale::Huge
        } else if area.width >= 80 && area.height >= 30 {
            Scale::Large
        } else {
            Scale::Text
        }
    }

    /// The scale `text` is drawn at in `width` columns: this one, or a
    /// smaller one where it does not fit.
    fn for_text(self, text: &str, width: u16) -> Scale {
        let chars = text.chars().count();
        match self {
            Scale::Huge if chars * 8 <= usize::from(width) => Scale::Huge,
            Scale::Huge | Scale::Large if chars * 4 <= usize::from(width) => Scale::Large,
            _ => Scale::Text,
        }
    }

    fn rows(self) -> u16 {
        match self {
            Scale::Text => 1,
            Scale::Large => 4,
            Scale::Huge => 8,
        }
    }
}

/// An age on the wall: "just now" under a minute (the wall never counts
/// seconds), then whole minutes moving with the clock's minute.
fn age(now: DateTime<Utc>, since: DateTime<Utc>) -> String {
    let seconds = table_age_seconds(now, since);
    if seconds < 60 {
        "just now".to_string()
    } else {
        format_age_brief(seconds)
    }
}

fn clock(at: DateTime<Utc>) -> String {
    at.format("%H:%M:%S").to_string()
}

fn since_text(now: DateTime<Utc>, since: DateTime<Utc>) -> String {
    format!("since {} UTC ({})", clock(since), age(now, since))
}

/// Draws the wall on `area`.
pub fn render(frame: &mut Frame, area: Rect, view: &WallView) {
    let scale = Scale::of(area);
    let mut rows: Vec<(u16, Block)> = vec![(1, Block::Title)];
    for alarm in &view.alarms {
        let text_rows = 1 + u16::from(alarm.detail.is_some());
        let head = scale.for_text(&alarm.headline, area.width).rows();
        rows.push((head + text_rows, Block::Banner(alarm)));
    }
    if !view.has_snapshot {
        rows.push((1, Block::Gap));
        rows.push((1, Block::Waiting));
    } else {
        if view.stale {
            rows.push((1, Block::Stale));
        }
        rows.push((1, Block::Gap));
        if view.snapshot.findings.is_empty() {
            rows.push((scale.for_text(CLEAR, area.width).rows(), Block::Clear));
            rows.push((1, Block::ClearSince));
        } else {
            let total = total_text(view.snapshot);
            rows.push((scale.for_text(&total, area.width).rows(), Block::Total));
            rows.push((kind_rows(view.snapshot, area.width), Block::Kinds));
        }
        rows.push((1, Block::Gap));
        rows.push((2, Block::Rates));
        rows.push((if scale > Scale::Text { 4 } else { 2 }, Block::Spark));
        rows.push((1, Block::Gap));
        rows.push((1, Block::Groups));
        let claims = claims(view);
        if !claims.is_empty() {
            rows.push((1, Block::Gap));
            rows.push((claims.len() as u16, Block::Claims(claims)));
        }
    }
    grow_sparkline(&mut rows, area.height);
    let areas = Layout::vertical(rows.iter().map(|(h, _)| Constraint::Length(*h))).split(area);
    for ((_, block), rect) in rows.iter().zip(areas.iter()) {
        if rect.height > 0 {
            block.render(frame, *rect, view, scale);
        }
    }
}

/// A wall seen from across the room has rows to spare below its figures:
/// half of them go to the failures' sparkline (at most three times its
/// height), whose bars then tell one half hour from the next at a distance.
/// The other half stays empty, so the figures keep their place at the top.
fn grow_sparkline(rows: &mut [(u16, Block)], height: u16) {
    let used: u16 = rows.iter().map(|(h, _)| *h).sum();
    let spare = height.saturating_sub(used) / 2;
    if let Some((h, _)) = rows.iter_mut().find(|(_, b)| matches!(b, Block::Spark)) {
        *h += spare.min(*h * 2);
    }
}

enum Block<'a> {
    Title,
    Gap,
    Banner(&'a Alarm),
    Waiting,
    Stale,
    Clear,
    ClearSince,
    Total,
    Kinds,
    Rates,
    Spark,
    Groups,
    Claims(Vec<Line<'static>>),
}

const CLEAR: &str = "ALL CLEAR";

fn total_text(snap: &Snapshot) -> String {
    let total = snap.findings.len();
    let noun = if total == 1 { "FINDING" } else { "FINDINGS" };
    format!("{total} {noun}")
}

/// `text` centred on `area`'s first rows, as large as `scale` and the
/// width allow; the rows below are what is left.
fn headline(frame: &mut Frame, area: Rect, text: &str, style: Style, scale: Scale) -> Rect {
    let scale = scale.for_text(text, area.width);
    let [head, rest] =
        Layout::vertical([Constraint::Length(scale.rows()), Constraint::Fill(1)]).areas(area);
    let pixels = match scale {
        Scale::Text => {
            frame.render_widget(
                Paragraph::new(Line::styled(format!(" {text} "), style))
                    .alignment(Alignment::Center),
                head,
            );
            return rest;
        }
        Scale::Large => PixelSize::Quadrant,
        Scale::Huge => PixelSize::Full,
    };
    let big = BigText::builder()
        .pixel_size(pixels)
        .style(style)
        .lines(vec![Line::from(text.to_string())])
        .centered()
        .build();
    frame.render_widget(big, head);
    rest
}

/// The finding kinds present, with their counts, in the table's order.
fn kinds(snap: &Snapshot) -> Vec<(FindingKind, usize)> {
    FindingKind::ALL
        .into_iter()
        .map(|k| (k, snap.findings.iter().filter(|f| f.kind == k).count()))
        .filter(|(_, n)| *n > 0)
        .collect()
}

fn kind_rows(snap: &Snapshot, width: u16) -> u16 {
    // Each "kind_name 12" takes at most 26 columns with its gap.
    let per_row = (usize::from(width) / 26).max(1);
    let rows = kinds(snap).len().div_ceil(per_row) + 1;
    u16::try_from(rows).unwrap_or(u16::MAX)
}

/// Who has claimed what: "claimed by alice 4m: stuck run-7".
fn claims(view: &WallView) -> Vec<Line<'static>> {
    let snap = view.snapshot;
    let mut claimed: Vec<(DateTime<Utc>, String)> = snap
        .findings
        .iter()
        .filter_map(|f| {
            let mark = snap.triage_of(f)?.claimed.as_ref()?;
            let what = f
                .execution_id
                .as_deref()
                .or(f.remote_id.as_deref())
                .unwrap_or("-");
            Some((
                mark.at,
                format!(
                    "claimed by {} {}: {} {}",
                    crate::text::one_line(&mark.by),
                    age(view.now, mark.at),
                    f.kind.as_str(),
                    crate::text::one_line(what)
                ),
            ))
        })
        .collect();
    claimed.sort_by_key(|c| std::cmp::Reverse(c.0));
    let total = claimed.len();
    let mut lines: Vec<Line<'static>> = claimed
        .into_iter()
        .take(5)
        .map(|(_, text)| Line::styled(text, view.theme.ok))
        .collect();
    if total > 5 {
        lines.push(Line::styled(
            format!("and {} more claimed", total - 5),
            view.theme.dim,
        ));
    }
    let unclaimed = snap
        .findings
        .iter()
        .filter(|f| !snap.triage_of(f).is_some_and(|t| t.taken()))
        .count();
    if total > 0 || unclaimed > 0 {
        lines.push(Line::styled(
            format!("{unclaimed} not taken by anyone"),
            if unclaimed > 0 {
                view.theme.warn
            } else {
                view.theme.dim
            },
        ));
    }
    lines
}

impl Block<'_> {
    fn render(&self, frame: &mut Frame, area: Rect, view: &WallView, scale: Scale) {
        let theme = view.theme;
        let snap = view.snapshot;
        // Stale figures are dimmed: the banner says why.
        let figures = |style: Style| if view.stale { theme.dim } else { style };
        let bold = Modifier::BOLD;
        match self {
            Block::Title => {
                let mut spans = vec![
                    Span::styled(" exectop wall ", theme.title),
                    Span::raw(format!(" {} UTC", view.now.format("%H:%M"))),
                ];
                match view.last_good_poll {
                    Some(at) if view.has_snapshot => spans.push(Span::styled(
                        format!(" · data as of {} (last good poll)", clock(at)),
                        if view.stale { theme.warn } else { theme.dim },
                    )),
                    _ => {}
                }
                frame.render_widget(Paragraph::new(Line::from(spans)), area);
            }
            Block::Gap => {}
            Block::Banner(alarm) => {
                let mut lines = Vec::new();
                let text_rows = headline(frame, area, &alarm.headline, theme.alert, scale);
                let since = alarm.since.map_or_else(
                    || "never answered".to_string(),
                    |at| since_text(view.now, at),
                );
                lines.push(Line::styled(since, theme.alert).alignment(Alignment::Center));
                if let Some(detail) = &alarm.detail {
                    lines.push(
                        Line::styled(crate::text::one_line(detail), theme.warn)
                            .alignment(Alignment::Center),
                    );
                }
                frame.render_widget(Paragraph::new(lines), text_rows);
            }
            Block::Waiting => frame.render_widget(
                Paragraph::new(Line::styled("waiting for the first poll", theme.dim))
                    .alignment(Alignment::Center),
                area,
            ),
            Block::Stale => {
                let text = match view.last_good_poll {
                    Some(at) => format!(
                        "STALE: the last known figures, as of {} UTC ({} ago)",
                        clock(at),
                        age(view.now, at)
                    ),
                    None => "STALE: the last known figures".to_string(),
                };
                frame.render_widget(
                    Paragraph::new(Line::styled(text, theme.warn.add_modifier(bold)))
                        .alignment(Alignment::Center),
                    area,
                );
            }
            Block::Clear => {
                headline(
                    frame,
                    area,
                    CLEAR,
                    figures(theme.ok.add_modifier(bold)),
                    scale,
                );
            }
            Block::ClearSince => {
                let text = match view.state.clear_since {
                    Some(at) => format!("nothing wrong {}", since_text(view.now, at)),
                    None => "nothing wrong".to_string(),
                };
                frame.render_widget(
                    Paragraph::new(Line::styled(text, theme.ok)).alignment(Alignment::Center),
                    area,
                );
            }
            Block::Total => {
                let style = figures(theme.bad.add_modifier(bold));
                headline(frame, area, &total_text(snap), style, scale);
            }
            Block::Kinds => {
                let per_row = (usize::from(area.width) / 26).max(1);
                let mut lines: Vec<Line> = kinds(snap)
                    .chunks(per_row)
                    .map(|chunk| {
                        let mut spans = Vec::new();
                        for (i, (kind, n)) in chunk.iter().enumerate() {
                            if i > 0 {
                                spans.push(Span::raw("   "));
                            }
                            spans.push(Span::styled(
                                format!("{} ", kind.as_str()),
                                theme.header_row,
                            ));
                            spans.push(Span::styled(
                                n.to_string(),
                                figures(theme.bad.add_modifier(bold)),
                            ));
                        }
                        Line::from(spans).alignment(Alignment::Center)
                    })
                    .collect();
                let oldest = snap
                    .findings
                    .iter()
                    .filter(|f| f.kind == FindingKind::Stuck)
                    .map(|f| snap.finding_since(f))
                    .min();
                lines.push(
                    match oldest {
                        Some(since) => Line::from(vec![
                            Span::styled("oldest stuck ", theme.header_row),
                            Span::styled(
                                age(view.now, since),
                                figures(theme.bad.add_modifier(bold)),
                            ),
                        ]),
                        None => Line::styled("nothing stuck", theme.dim),
                    }
                    .alignment(Alignment::Center),
                );
                frame.render_widget(Paragraph::new(lines), area);
            }
            Block::Rates => {
                let rates = &snap.error_rates;
                let line = |label: &str, w: &crate::domain::WindowStats| {
                    let style =
                        figures(if w.failed > 0 { theme.bad } else { theme.ok }.add_modifier(bold));
                    Line::from(vec![
                        Span::styled(format!("{label:<4}"), theme.header_row),
                        Span::styled(format!("{} failed", w.failed), style),
                        Span::raw(format!(" of {} done · ", w.finished)),
                        Span::styled(format!("{} fail rate", rate(w.failure_rate)), style),
                    ])
                };
                frame.render_widget(
                    Paragraph::new(vec![line("1h", &rates.hour), line("24h", &rates.day)]),
                    area,
                );
            }
            Block::Spark => {
                let [label, spark] =
                    Layout::horizontal([Constraint::Length(24), Constraint::Fill(1)]).areas(area);
                let (sparkline, peak) = failures_sparkline(
                    &snap.error_rates.failures_series,
                    spark.width,
                    figures(theme.bad),
                );
                frame.render_widget(
                    Paragraph::new(vec![
                        Line::styled("failures per 30 min", theme.dim),
                        Line::styled(format!("over 24 h (peak {peak})"), theme.dim),
                    ]),
                    label,
                );
                frame.render_widget(sparkline, spark);
            }
            Block::Groups => {
                let groups: Vec<String> = snap
                    .error_rates
                    .by_group
                    .iter()
                    .filter(|g| g.failed > 0)
                    .take(5)
                    .map(|g| {
                        format!(
                            "{} {}/{} {}",
                            crate::text::one_line(&g.group),
                            g.failed,
                            g.finished,
                            rate(g.failure_rate)
                        )
                    })
                    .collect();
                let text = if groups.is_empty() {
                    "none".to_string()
                } else {
                    groups.join(" · ")
                };
                frame.render_widget(
                    Paragraph::new(Line::from(vec![
                        Span::styled("failing most  ", theme.header_row),
                        Span::styled(text, figures(theme.bad)),
                    ])),
                    area,
                );
            }
            Block::Claims(lines) => {
                frame.render_widget(Paragraph::new(lines.clone()), area);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::sample;

    #[test]
    fn clear_since_is_when_the_findings_last_became_none() {
        let mut state = WallState::default();
        let mut snap = sample::sample_snapshot(sample::now());
        state.observe(&snap);
        assert_eq!(state.clear_since, None, "findings open");
        snap.findings = Default::default();
        snap.findings_at = sample::now() + chrono::Duration::minutes(1);
        state.observe(&snap);
        assert_eq!(state.clear_since, Some(snap.findings_at));
        let first = snap.findings_at;
        snap.findings_at = first + chrono::Duration::minutes(5);
        state.observe(&snap);
        assert_eq!(state.clear_since, Some(first), "still clear since then");
    }

    #[test]
    fn the_database_is_down_since_its_first_failure() {
        let mut state = WallState::default();
        let at = sample::now();
        state.database_failed(at);
        state.database_failed(at + chrono::Duration::seconds(5));
        assert_eq!(state.db_down_since, Some(at));
        let snap = sample::sample_snapshot(at);
        assert!(snap.database.ok);
        state.observe(&snap);
        assert_eq!(state.db_down_since, None);
    }
}
