//! The wall screen (`--wall`): snapshots at 80×24, 120×40 and 250×70 in
//! four conditions (all clear, findings, database down, remote degraded),
//! and its keys (quit and help only).

use std::sync::Arc;

use chrono::Duration;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::keymap::Mode;
use super::popup::Popup;
use super::render_layout_tests;
use super::render_tests::{draw, sized};
use super::sample::{self, now, update};
use super::state::App;
use super::update::{Effect, Msg};
use crate::domain::triage::{FindingKey, Mark, TriageView};
use crate::monitor::{MonitorEvent, PollSource};

const SIZES: [(u16, u16); 3] = [(80, 24), (120, 40), (250, 70)];

/// The sample data on the wall, with a claim on the first finding.
fn wall_app() -> App {
    let mut settings = sample::settings(true);
    settings.wall = true;
    let mut app = App::new(settings, now());
    let mut snap = sample::sample_snapshot(now());
    let key = FindingKey::of(&snap.findings[0]).unwrap();
    let mut views = std::collections::BTreeMap::new();
    views.insert(
        key,
        TriageView {
            claimed: Some(Mark {
                by: "alice".into(),
                at: now() - Duration::minutes(4),
                note: None,
            }),
            ..TriageView::default()
        },
    );
    snap.triage = Arc::new(views);
    update(
        &mut app,
        Msg::Monitor(MonitorEvent::Snapshot(Arc::new(snap))),
    );
    app
}

fn screen(app: &App, width: u16, height: u16) -> String {
    let app = sized(clone_of(app), width, height);
    render_layout_tests::screen(draw(&app, width, height).backend().buffer())
}

/// App is not Clone: rebuild the same state.
fn clone_of(app: &App) -> App {
    let mut copy = App::new(app.settings.clone(), app.now);
    copy.snapshot = app.snapshot.clone();
    copy.has_snapshot = app.has_snapshot;
    copy.db_failure = app.db_failure.clone();
    copy.remote_failure = app.remote_failure.clone();
    copy.wall = app.wall.clone();
    copy.popup = app.popup.clone();
    copy.ages_in_seconds_until = app.ages_in_seconds_until;
    copy
}

fn snapshots(name: &str, app: &App) {
    for (w, h) in SIZES {
        let app = sized(clone_of(app), w, h);
        insta::assert_snapshot!(format!("wall_{name}_{w}x{h}"), draw(&app, w, h).backend());
    }
}

/// No finding: the calm screen, clear since the poll that found none.
fn all_clear() -> App {
    let mut app = wall_app();
    let mut snap = (*app.snapshot).clone();
    snap.findings = Arc::default();
    snap.triage = Arc::default();
    snap.findings_at = now() - Duration::hours(2) - Duration::seconds(22);
    snap.taken_at = now();
    update(
        &mut app,
        Msg::Monitor(MonitorEvent::Snapshot(Arc::new(snap))),
    );
    app
}

#[test]
fn wall_all_clear() {
    let app = all_clear();
    snapshots("all_clear", &app);
    for (w, h) in SIZES {
        let text = screen(&app, w, h);
        assert!(
            text.contains("nothing wrong since 12:03:00 UTC (2h)"),
            "{text}"
        );
    }
}

#[test]
fn wall_findings_present() {
    let app = wall_app();
    snapshots("findings", &app);
    for (w, h) in SIZES {
        let text = screen(&app, w, h);
        assert!(text.contains("claimed by alice 3m"), "{w}x{h}\n{text}");
        assert!(text.contains("oldest stuck"), "{w}x{h}\n{text}");
        assert!(text.contains("failing most"), "{w}x{h}\n{text}");
        assert!(text.contains("data as of"), "{w}x{h}\n{text}");
    }
}

#[test]
fn wall_database_down() {
    let mut app = wall_app();
    let at = now() + Duration::seconds(5);
    update(&mut app, Msg::Tick(now() + Duration::minutes(3)));
    update(
        &mut app,
        Msg::Monitor(MonitorEvent::PollFailed {
            source: PollSource::Database,
            error: "connection refused".into(),
            at,
        }),
    );
    snapshots("database_down", &app);
    for (w, h) in SIZES {
        let text = screen(&app, w, h);
        assert!(text.contains("since 14:03:27 UTC (2m)"), "{w}x{h}\n{text}");
        assert!(text.contains("connection refused"), "{w}x{h}\n{text}");
        assert!(
            text.contains("STALE: the last known figures"),
            "{w}x{h}\n{text}"
        );
        assert!(text.contains("claimed by alice"), "figures stay\n{text}");
    }
    // The banner is in large letters where there is room.
    assert!(!screen(&app, 80, 24).contains('▀'));
    assert!(screen(&app, 250, 70).contains('▀') || screen(&app, 250, 70).contains('█'));
}

#[test]
fn wall_remote_degraded() {
    let mut app = wall_app();
    let mut snap = (*app.snapshot).clone();
    let h = snap.remote_health.as_mut().unwrap();
    h.ok = false;
    h.degraded = true;
    h.last_error = Some("HTTP 429 Too Many Requests".into());
    h.last_success = Some(now() - Duration::minutes(12));
    update(
        &mut app,
        Msg::Monitor(MonitorEvent::Snapshot(Arc::new(snap))),
    );
    snapshots("remote_degraded", &app);
    for (w, h) in SIZES {
        let text = screen(&app, w, h);
        assert!(text.contains("since 13:51:22 UTC (11m)"), "{w}x{h}\n{text}");
        assert!(text.contains("HTTP 429"), "{w}x{h}\n{text}");
    }
}

#[test]
fn the_wall_waits_for_the_first_poll() {
    let mut settings = sample::settings(true);
    settings.wall = true;
    let mut app = App::new(settings, now());
    for (w, h) in SIZES {
        let text = screen(&app, w, h);
        assert!(text.contains("waiting for the first poll"), "{text}");
        assert!(!text.contains("DOWN") && !text.contains("since"), "{text}");
    }
    // A database that refuses from the start is said so, not waited for.
    update(
        &mut app,
        Msg::Monitor(MonitorEvent::PollFailed {
            source: PollSource::Database,
            error: "password authentication failed".into(),
            at: now(),
        }),
    );
    for (w, h) in SIZES {
        let text = screen(&app, w, h);
        assert!(text.contains("since 14:03:22 UTC (just now)"), "{text}");
        assert!(text.contains("password authentication failed"), "{text}");
        assert!(text.contains("waiting for the first poll"), "{text}");
    }
    assert!(screen(&app, 80, 24).contains("DATABASE DOWN"));
}

fn press(app: &mut App, code: KeyCode, modifiers: KeyModifiers) -> Vec<Effect> {
    update(app, Msg::Key(KeyEvent::new(code, modifiers)))
}

#[test]
fn only_quit_and_help_act_on_the_wall() {
    let mut app = sized(wall_app(), 120, 40);
    assert_eq!(app.mode(), Mode::Wall);
    assert!(app.read_only());
    let before = (
        app.focus,
        app.running.clone(),
        app.findings.clone(),
        app.paused,
    );
    // Every other key of the panes: moves, details, filter, sort, pause,
    // interval, refresh, log, copy, the write and triage keys, audit.
    let others = [
        KeyCode::Down,
        KeyCode::Up,
        KeyCode::Char('j'),
        KeyCode::PageDown,
        KeyCode::End,
        KeyCode::Tab,
        KeyCode::Enter,
        KeyCode::Char('/'),
        KeyCode::Char('s'),
        KeyCode::Char('S'),
        KeyCode::Char('p'),
        KeyCode::Char('+'),
        KeyCode::Char('-'),
        KeyCode::Char('R'),
        KeyCode::Char('l'),
        KeyCode::Char('y'),
        KeyCode::Char('r'),
        KeyCode::Char('f'),
        KeyCode::Char(' '),
        KeyCode::Char('A'),
        KeyCode::Char('a'),
        KeyCode::Char('c'),
        KeyCode::Char('x'),
        KeyCode::Char('z'),
        KeyCode::Char('n'),
        KeyCode::Esc,
    ];
    for code in others {
        let effects = press(&mut app, code, KeyModifiers::NONE);
        assert!(effects.is_empty(), "{code:?} did {effects:?}");
        assert_eq!(app.popup, None, "{code:?} opened a popup");
        assert!(!app.filter.editing && !app.show_log, "{code:?}");
        assert_eq!(app.mode(), Mode::Wall);
    }
    assert_eq!(
        (
            app.focus,
            app.running.clone(),
            app.findings.clone(),
            app.paused
        ),
        before
    );
    // Help opens the help popup, and only that; it lists the wall's keys.
    assert!(press(&mut app, KeyCode::Char('?'), KeyModifiers::NONE).is_empty());
    assert_eq!(app.popup, Some(Popup::Help));
    assert_eq!(app.mode(), Mode::Wall);
    let text = screen(&app, 120, 40);
    assert!(text.contains("show / hide this help"), "{text}");
    assert!(!text.contains("filter"), "{text}");
    // Under the help, the other keys still do nothing.
    for code in [KeyCode::Enter, KeyCode::Char('y'), KeyCode::Down] {
        assert!(press(&mut app, code, KeyModifiers::NONE).is_empty());
        assert_eq!(app.popup, Some(Popup::Help));
    }
    // Esc or the help key closes it.
    press(&mut app, KeyCode::Esc, KeyModifiers::NONE);
    assert_eq!(app.popup, None);
    press(&mut app, KeyCode::Char('?'), KeyModifiers::NONE);
    press(&mut app, KeyCode::Char('?'), KeyModifiers::NONE);
    assert_eq!(app.popup, None);
    // q quits, and so does ctrl-c.
    assert_eq!(
        press(&mut app, KeyCode::Char('q'), KeyModifiers::NONE),
        vec![Effect::Quit]
    );
    assert_eq!(
        press(&mut app, KeyCode::Char('c'), KeyModifiers::CONTROL),
        vec![Effect::Quit]
    );
}

/// Rows from the sparkline's label to the failing groups: its height.
fn sparkline_rows(app: &App, width: u16, height: u16) -> usize {
    let text = screen(app, width, height);
    let lines: Vec<&str> = text.lines().collect();
    let at = |needle: &str| {
        lines
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} at {width}x{height}:\n{text}"))
    };
    // One gap row separates the sparkline from the groups.
    at("failing most") - at("failures per 30 min") - 1
}

#[test]
fn the_sparkline_takes_half_the_rows_to_spare_up_to_three_times_its_height() {
    let app = wall_app();
    // 80×24: what it grows by never pushes the claims off the screen.
    assert!(sparkline_rows(&app, 80, 24) >= 2);
    assert!(screen(&app, 80, 24).contains("claimed by alice"));
    let roomy = sparkline_rows(&app, 120, 40);
    assert!(roomy > 4 && roomy <= 12, "{roomy} rows at 120x40");
    // A taller wall adds rows up to the cap, never more.
    assert_eq!(sparkline_rows(&app, 250, 70), 12);
}
