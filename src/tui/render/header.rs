//! The header: source health, notable latencies, poll ages, interval, modes, counts and
//! the clock.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::ago;
use crate::monitor::{RemoteVia, SourceHealth};
use crate::store::StoreError;
use crate::tui::health::{self, Condition};
use crate::tui::state::{App, PollFailure};

/// The latency from which a source's round trip is shown in the header.
pub const NOTABLE_LATENCY_MS: u64 = 100;

fn source<'a>(
    app: &App,
    label: &str,
    h: &SourceHealth,
    failure: Option<&PollFailure>,
    wide: bool,
    fresh: bool,
) -> Vec<Span<'a>> {
    let theme = app.theme();
    // Where instances share one remote poller: whether this one asks.
    let label = match &h.via {
        Some(RemoteVia::Poller { holder }) => format!("{label} via {holder}"),
        Some(RemoteVia::Direct) => format!("{label} direct"),
        None => label.to_string(),
    };
    let mut out = vec![Span::raw(format!("{label} "))];
    let condition = health::condition(h, failure);
    let (word, style) = match condition {
        Condition::Waiting => {
            out.push(Span::styled("waiting…", theme.dim));
            return out;
        }
        Condition::Down => ("down", theme.bad),
        Condition::Degraded => ("degraded", theme.warn),
        Condition::Suspect => ("suspect", theme.warn),
        Condition::AuthFailing => ("auth failing", theme.bad),
        Condition::Ok => ("ok", theme.ok),
    };
    out.push(Span::styled(word, style));
    // A small latency changes every poll and says nothing: written only
    // when notable, it leaves an idle wall terminal's header alone.
    if let Some(ms) = h.latency_ms.filter(|ms| *ms >= NOTABLE_LATENCY_MS) {
        out.push(Span::raw(format!(" {ms}ms")));
    }
    // A fresh source shows no poll age: a ticking age would rewrite the
    // header every second on an idle wall terminal. The age appears once it
    // says something (stale, down, paused), and then ticks.
    let polled = match (h.last_success, wide) {
        _ if !health::shows_poll_age(condition, fresh) => return out,
        (Some(at), true) => format!(" · polled {} ago", ago(app.now, at)),
        (Some(at), false) => format!(" {} ago", ago(app.now, at)),
        (None, _) => " · never polled".to_string(),
    };
    let style = if condition != Condition::Ok || app.paused {
        theme.dim
    } else {
        theme.warn
    };
    out.push(Span::styled(polled, style));
    out
}

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let theme = app.theme();
    let snap = &app.snapshot;
    let [line1, line2] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);

    let mut first = vec![Span::styled(" exectop ", theme.key), Span::raw(" ")];
    let wide = area.width >= 100;
    if app.has_snapshot {
        first.extend(source(
            app,
            "db",
            &snap.database,
            app.db_failure.as_ref(),
            wide,
            health::db_fresh(app),
        ));
        first.push(Span::raw("  "));
        match &snap.remote_health {
            Some(h) => first.extend(source(
                app,
                "remote",
                h,
                app.remote_failure.as_ref(),
                wide,
                health::remote_fresh(app),
            )),
            None => first.push(Span::styled("remote: none", theme.dim)),
        }
    } else {
        first.push(Span::styled("waiting for the first poll…", theme.dim));
    }
    // Minutes: a seconds clock alone would write to the terminal every second.
    let clock = app.now.format("%H:%M UTC").to_string();
    let [left, right] = Layout::horizontal([
        Constraint::Fill(1),
        Constraint::Length(clock.len() as u16 + 1),
    ])
    .areas(line1);
    frame.render_widget(Paragraph::new(Line::from(first)), left);
    frame.render_widget(Paragraph::new(clock), right);

    // Below 120 columns the routine words shrink so warnings still fit.
    let roomy = area.width >= 120;
    let mut second = vec![Span::raw(if roomy {
        format!(" every {}s", app.interval.as_secs())
    } else {
        format!(" {}s", app.interval.as_secs())
    })];
    second.push(Span::raw(" · "));
    if app.paused {
        second.push(Span::styled("PAUSED", theme.warn));
    } else {
        second.push(Span::styled("live", theme.ok));
    }
    second.push(Span::raw(" · "));
    match (app.read_only(), roomy) {
        (true, true) => second.push(Span::styled(
            match &app.settings.no_write_access {
                Some(why) => format!("read-only ({})", brief_denial(why)),
                None => "read-only".to_string(),
            },
            theme.key,
        )),
        (true, false) => second.push(Span::styled("ro", theme.key)),
        (false, true) => second.push(Span::raw("read-write")),
        (false, false) => second.push(Span::raw("rw")),
    }
    let c = &snap.counts;
    // Before the first poll the counts are unknown, not 0.
    second.push(Span::raw(if !app.has_snapshot {
        String::new()
    } else if roomy {
        format!(
            " · {} active ({} pending, {} running) · {} findings",
            c.active,
            c.pending,
            c.running,
            snap.findings.len()
        )
    } else {
        format!(" · {} active · {} findings", c.active, snap.findings.len())
    }));
    if let Some((spelling, rows)) = snap.unmapped_statuses.first() {
        let more = snap.unmapped_statuses.len() - 1;
        let more = if more > 0 {
            format!(" +{more} more")
        } else {
            String::new()
        };
        second.push(Span::styled(
            format!(" · unknown status {spelling:?} ×{rows}{more}"),
            theme.warn,
        ));
    }
    if let Some(f) = &app.db_failure {
        second.push(Span::styled(format!(" · db: {}", f.error), theme.bad));
    } else if let Some(f) = &app.remote_failure {
        second.push(Span::styled(format!(" · remote: {}", f.error), theme.bad));
    }
    frame.render_widget(Paragraph::new(Line::from(second)), line2);
}

/// The header's few words for why exectop cannot write (the whole reason is
/// in the log and in every refusal).
fn brief_denial(why: &StoreError) -> &'static str {
    match why {
        StoreError::NoUpdatePrivilege { .. } => "no UPDATE privilege",
        StoreError::NoAuditInsert => "no INSERT on the audit table",
        StoreError::NoAuditTable => "no audit table",
        StoreError::IdNotUnique { .. } => "id not unique",
        _ => "cannot write",
    }
}
