//! The detail popup for the selected execution or finding: every field, the
//! full error text (JSON pretty-printed), the remote side and the evidence.

use chrono::{DateTime, SecondsFormat, Utc};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::keymap::{Command, Keymap, Mode};
use super::popup_frame::TextPopup;
use super::render_util::ago;
use super::theme::Theme;
use crate::domain::remote_events::{EventsState, EventsView};
use crate::domain::{
    Execution, Finding, JobLimit, RemoteAnswer, RemoteHistory, format_age, format_duration_spec,
};
use crate::monitor::Snapshot;
use crate::text::one_line;

/// What the details are of: the selected row of the focused list.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    Execution(Option<&'a Execution>),
    Finding(Option<&'a Finding>),
}

/// Where a field's value continues when it wraps: under the value.
const VALUE_INDENT: usize = 19;

/// Where a line of the error text continues when it wraps.
const ERROR_INDENT: usize = 4;

struct Lines<'t> {
    theme: &'t Theme,
    now: DateTime<Utc>,
    /// Each line with its hanging indent.
    out: Vec<(Line<'static>, usize)>,
}

impl Lines<'_> {
    fn field(&mut self, name: &str, value: impl Into<String>) {
        self.out.push((
            Line::from(vec![
                Span::styled(format!("{name:>17}: "), self.theme.key),
                Span::raw(value.into()),
            ]),
            VALUE_INDENT,
        ));
    }

    fn time(&mut self, name: &str, at: Option<DateTime<Utc>>) {
        let text = match at {
            Some(t) => format!(
                "{} ({} ago)",
                t.to_rfc3339_opts(SecondsFormat::Secs, true),
                ago(self.now, t)
            ),
            None => "-".to_string(),
        };
        self.field(name, text);
    }

    fn section(&mut self, title: &str) {
        self.out.push((Line::raw(""), 0));
        self.out.push((
            Line::styled(format!("── {title}"), self.theme.header_row),
            0,
        ));
    }
}

/// JSON errors read better indented; anything else is shown as written.
pub fn pretty_error(text: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v @ (serde_json::Value::Object(_) | serde_json::Value::Array(_))) => {
            serde_json::to_string_pretty(&v).unwrap_or_else(|_| text.to_string())
        }
        _ => text.to_string(),
    }
}

fn execution(l: &mut Lines, e: &Execution) {
    l.section("execution");
    l.field("id", e.id.clone());
    l.field(
        "remote id",
        e.remote_id.clone().unwrap_or_else(|| "-".into()),
    );
    l.field("name", e.name.as_deref().unwrap_or("-").to_string());
    l.field("group", e.group.as_deref().unwrap_or("-").to_string());
    l.field(
        "status",
        format!("{} (stored as \"{}\")", e.status, e.raw_status),
    );
    l.field("age", format_age(e.age_seconds(l.now)));
    l.time("created", Some(e.created_at));
    l.time("started", e.started_at);
    l.time("updated", e.updated_at);
    l.time("completed", e.completed_at);
    l.time("heartbeat", e.heartbeat_at);
    l.field(
        "error count",
        e.error_count.map_or("-".into(), |n| n.to_string()),
    );
    match &e.error {
        Some(text) => {
            l.field("error", "");
            for line in pretty_error(text).lines() {
                l.out.push((Line::raw(format!("    {line}")), ERROR_INDENT));
            }
        }
        None => l.field("error", "-"),
    }
}

fn remote(l: &mut Lines, h: Option<&RemoteHistory>) {
    l.section("remote");
    let Some(h) = h else {
        l.field("observed", "never");
        return;
    };
    match h.last_answer() {
        Some(answer) => {
            let answer = match &answer {
                RemoteAnswer::Found { status, raw } => format!("{status} (\"{raw}\")"),
                RemoteAnswer::NotFound => "not found".to_string(),
                RemoteAnswer::Error { message } => format!("error: {message}"),
                RemoteAnswer::Throttled {
                    retry_after_seconds,
                } => match retry_after_seconds {
                    Some(s) => format!("throttled (retry after {s}s)"),
                    None => "throttled".to_string(),
                },
                RemoteAnswer::Doubted { message } | RemoteAnswer::Unasked { message } => {
                    message.clone()
                }
            };
            l.field("last answer", answer);
            l.time("checked", h.last_checked_at());
        }
        None => l.field("last answer", "-"),
    }
    if let Some((status, raw)) = h.last_status() {
        l.field("last status", format!("{status} (\"{raw}\")"));
        l.time("reported", h.reported_at());
    }
    if let Some(d) = h.detail() {
        if d.started_at.is_some() {
            l.time("remote started", d.started_at);
        }
        if d.stopped_at.is_some() {
            l.time("remote stopped", d.stopped_at);
        }
        if let Some(error) = &d.error {
            l.field("remote error", error.as_str());
        }
        if let Some(cause) = &d.cause {
            l.field("remote cause", cause.as_str());
        }
        for (name, value) in &d.fields {
            l.field(&one_line(name), one_line(value));
        }
    }
    l.time("status since", h.status_since());
    l.field(
        "streaks",
        format!(
            "{} not found · {} errors",
            h.consecutive_not_found, h.consecutive_errors
        ),
    );
    if let Some(err) = h.last_error() {
        l.field("last error", err);
    }
}

/// The tracker's own last events of the execution, newest first, with
/// where it failed on top; for the details of `execution_id` only.
fn remote_events(l: &mut Lines, view: Option<&EventsView>, execution_id: &str) {
    let Some(view) = view.filter(|v| v.execution_id == execution_id) else {
        return;
    };
    l.section("remote history (newest first)");
    let recent = match &view.state {
        EventsState::Loading => {
            l.field("events", "asking the tracker…");
            return;
        }
        EventsState::Failed(why) => {
            l.field("events", format!("not read: {}", one_line(why)));
            return;
        }
        EventsState::Loaded(recent) => recent,
    };
    if let Some(f) = recent.failure() {
        let place = match &f.state {
            Some(state) => format!("{} in state \"{}\"", one_line(&f.kind), one_line(state)),
            None => one_line(&f.kind).into_owned(),
        };
        l.field("failed", place);
        if let Some(error) = &f.error {
            l.field("error", one_line(error));
        }
        if let Some(cause) = &f.cause {
            l.field("cause", one_line(cause));
        }
    }
    if recent.events.is_empty() {
        l.field("events", "none");
    }
    for e in &recent.events {
        let at =
            e.at.map_or("--:--:--".to_string(), |t| t.format("%H:%M:%S").to_string());
        let mut text = one_line(&e.kind).into_owned();
        if let Some(state) = &e.state {
            text.push_str(&format!(" \"{}\"", one_line(state)));
        }
        if let Some(error) = &e.error {
            text.push_str(&format!(" · {}", one_line(error)));
        }
        l.field(&at, text);
    }
}

fn finding(l: &mut Lines, f: &Finding, age: i64) {
    l.section("finding");
    l.field("kind", f.kind.as_str());
    l.field("suggested", f.suggested_action.as_str());
    l.field("reason", f.reason.clone());
    l.field("age", format_age(age));
    l.field(
        "local status",
        f.local_status.map_or("-".into(), |s| s.to_string()),
    );
    l.field(
        "remote status",
        f.remote_status.map_or("-".into(), |s| s.to_string()),
    );
    let ev = &f.evidence;
    l.field(
        "threshold",
        ev.threshold_seconds.map_or("-".into(), |s| {
            format_age(i64::try_from(s).unwrap_or(i64::MAX))
        }),
    );
    l.time("last local update", ev.last_local_update);
    l.time("remote checked", ev.remote_checked_at);
    l.field(
        "consecutive",
        ev.consecutive.map_or("-".into(), |n| n.to_string()),
    );
    if let Some(limit) = &ev.limit {
        l.field("limit from", limit.describe());
    }
}

/// The job's runtime distribution and the limit that judges this run.
fn runtimes(l: &mut Lines, snap: &Snapshot, e: &Execution) {
    let stats = snap.learned.stats(e.name.as_deref());
    let limit = snap.job_limit(e);
    // Nothing is said of history before it was read.
    if stats.is_none() && matches!(limit, JobLimit::Fixed | JobLimit::Unread) {
        return;
    }
    l.section("runtimes");
    let window = format_duration_spec(snap.learned.window);
    let age = |s: f64| format_age(s.round() as i64);
    match stats {
        Some(s) => {
            l.field("succeeded runs", format!("{} in {window}", s.runs));
            l.field(
                "p50 · p95 · max",
                format!("{} · {} · {}", age(s.p50), age(s.p95), age(s.max)),
            );
        }
        None => l.field("succeeded runs", format!("none in {window}")),
    }
    match limit {
        JobLimit::Learned { stats, limit } => {
            let running = e.age_seconds(l.now) as f64;
            let percent = if stats.p95 > 0.0 {
                format!(" ({:.0}% of p95)", 100.0 * running / stats.p95)
            } else {
                String::new()
            };
            l.field(
                "limit",
                format!(
                    "{} ({}× p95, floor {}); running {}{percent}",
                    format_age(limit.as_secs() as i64),
                    snap.job_rules.learning.multiple,
                    format_duration_spec(snap.job_rules.learning.floor),
                    format_age(running as i64),
                ),
            );
        }
        JobLimit::TooFew { runs, needed } => l.field(
            "limit",
            format!("fixed thresholds: {runs} of {needed} runs needed to learn"),
        ),
        JobLimit::Unread | JobLimit::Fixed => l.field("limit", "fixed thresholds"),
    }
}

/// Who took the finding, and what they wrote.
fn triage(l: &mut Lines, view: Option<&crate::domain::triage::TriageView>) {
    let Some(v) = view else {
        return;
    };
    l.section("triage");
    let said = |m: &crate::domain::triage::Mark| match &m.note {
        Some(note) => format!("{}: {note}", m.by),
        None => m.by.clone(),
    };
    if let Some(m) = &v.claimed {
        l.field("claimed by", said(m));
        l.time("claimed", Some(m.at));
    }
    if let Some(m) = &v.acknowledged {
        l.field("acknowledged by", said(m));
        l.time("acknowledged", Some(m.at));
    }
    if let Some(m) = &v.snoozed {
        l.field("snoozed by", said(m));
        if let Some(until) = v.snoozed_until {
            let now = l.now;
            l.field(
                "snoozed until",
                format!(
                    "{} (in {})",
                    until.to_rfc3339_opts(SecondsFormat::Secs, true),
                    ago(until, now)
                ),
            );
        }
    }
    if let Some(m) = &v.note {
        l.field("note", said(m));
    }
    if let Some(why) = &v.lapsed {
        l.field("lapsed", why.clone());
    }
}

fn lines(
    snap: &Snapshot,
    subject: Subject<'_>,
    events: Option<&EventsView>,
    now: DateTime<Utc>,
    theme: &Theme,
) -> (String, Vec<(Line<'static>, usize)>) {
    let mut l = Lines {
        theme,
        now,
        out: Vec::new(),
    };
    let active = |id: &str| snap.active.iter().find(|e| e.id == id).map(|e| &**e);
    let title = match subject {
        Subject::Finding(selected) => match selected {
            Some(f) => {
                finding(&mut l, f, snap.finding_age(f, now));
                triage(&mut l, snap.triage_of(f));
                if let Some(id) = &f.execution_id {
                    if let Some(e) = active(id) {
                        execution(&mut l, e);
                        runtimes(&mut l, snap, e);
                    } else {
                        l.section("execution");
                        l.field("id", id.clone());
                        l.field("name", f.name.as_deref().unwrap_or("-"));
                        l.field(
                            "remote id",
                            f.remote_id.clone().unwrap_or_else(|| "-".into()),
                        );
                    }
                    remote(&mut l, snap.remote.get(id.as_str()).map(|h| &**h));
                    remote_events(&mut l, events, id);
                } else {
                    l.field(
                        "remote id",
                        f.remote_id.clone().unwrap_or_else(|| "-".into()),
                    );
                }
                format!("Finding: {}", f.kind.as_str())
            }
            None => "Finding".to_string(),
        },
        Subject::Execution(selected) => match selected {
            Some(e) => {
                execution(&mut l, e);
                runtimes(&mut l, snap, e);
                remote(&mut l, snap.remote.get(e.id.as_str()).map(|h| &**h));
                remote_events(&mut l, events, &e.id);
                // The evidence belongs with the row wherever it is opened from.
                if let Some(f) = snap
                    .findings
                    .iter()
                    .find(|f| f.execution_id.as_deref() == Some(e.id.as_str()))
                {
                    finding(&mut l, f, snap.finding_age(f, now));
                }
                format!("Execution {}", e.id)
            }
            None => "Execution".to_string(),
        },
    };
    // Drop the blank line that opens the first section.
    if l.out.first().is_some_and(|(x, _)| x.width() == 0) {
        l.out.remove(0);
    }
    (title, l.out)
}

pub fn popup(
    snap: &Snapshot,
    subject: Subject<'_>,
    events: Option<&EventsView>,
    now: DateTime<Utc>,
    screen: Rect,
    theme: &Theme,
    keymap: &Keymap,
) -> TextPopup {
    let (title, lines) = lines(snap, subject, events, now, theme);
    let up = keymap.first_in(Command::Up, Mode::Popup);
    let down = keymap.first_in(Command::Down, Mode::Popup);
    let arrows: String = [up, down].iter().flatten().map(|k| k.to_string()).collect();
    TextPopup::new(
        screen,
        screen.width.saturating_sub(4).min(100),
        // A line free above and below keeps the header and the footer in sight.
        screen.height.saturating_sub(2),
        format!(
            " {title} ({arrows} scroll · {} copy id · {} close) ",
            keymap.label_in(Command::CopyId, Mode::Popup),
            keymap.label_in(Command::Close, Mode::Popup),
        ),
        &lines,
    )
}

#[cfg(test)]
mod keys {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    use crate::tui::popup::Popup;
    use crate::tui::sample::{self, update};
    use crate::tui::update::{Effect, Msg};

    fn press(app: &mut crate::tui::state::App, code: KeyCode) -> Vec<Effect> {
        update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }

    #[test]
    fn enter_opens_the_details_y_copies_the_id_and_esc_closes() {
        let mut app = sample::app(false);
        let id = app.selected_execution().unwrap().id.clone();
        press(&mut app, KeyCode::Enter);
        assert_eq!(app.popup, Some(Popup::Detail));
        assert_eq!(
            press(&mut app, KeyCode::Char('y')),
            [Effect::CopyToClipboard(id)]
        );
        assert_eq!(
            press(&mut app, KeyCode::Char('f')),
            [],
            "no action under a popup"
        );
        press(&mut app, KeyCode::Esc);
        assert_eq!(app.popup, None);
    }
}
