//! Pure `update` tests: messages in, state and effects out. No terminal, no IO.

use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::intent::{
    ActionCommand, ActionEvent, ActionKind, ActionPreview, ActionReport, ActionRequest, PreviewRow,
    ReportRow,
};
use super::popup::Popup;
use super::sample::update;
use super::sample::{self, execution, now, sample_snapshot};
use super::sort::SortColumn;
use super::state::{App, Pane};
use super::update::{Effect, Msg};
use crate::domain::Status;
use crate::monitor::{MonitorControl, MonitorEvent, PollSource, Snapshot};

/// How far the open popup scrolls at the app's size, as the last frame measured it.
pub(super) fn popup_room(app: &App) -> super::scroll::ScrollRoom {
    app.frame.popup.expect("a popup is open")
}

pub(super) fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

pub(super) fn ch(app: &mut App, c: char) -> Vec<Effect> {
    let mods = if c.is_ascii_uppercase() {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    update(app, Msg::Key(KeyEvent::new(KeyCode::Char(c), mods)))
}

fn snapshot(app: &mut App, snap: Snapshot) {
    update(app, Msg::Monitor(MonitorEvent::Snapshot(Arc::new(snap))));
}

fn selected_id(app: &App) -> String {
    app.selected_execution().unwrap().id.clone()
}

fn ids(app: &App) -> Vec<String> {
    app.view
        .iter()
        .map(|&i| app.snapshot.active[i].id.clone())
        .collect()
}

#[test]
fn navigation_moves_and_stops_at_the_ends() {
    let mut app = sample::app(false);
    assert_eq!(
        ids(&app),
        ["39", "7", "101", "102", "103", "104"],
        "oldest first"
    );
    assert_eq!(selected_id(&app), "39");
    key(&mut app, KeyCode::Up);
    assert_eq!(app.running.selected, 0, "no wrap above the top");
    ch(&mut app, 'j');
    key(&mut app, KeyCode::Down);
    assert_eq!(selected_id(&app), "101");
    ch(&mut app, 'k');
    assert_eq!(selected_id(&app), "7");
    key(&mut app, KeyCode::End);
    assert_eq!(selected_id(&app), "104");
    key(&mut app, KeyCode::Down);
    assert_eq!(selected_id(&app), "104", "no wrap below the bottom");
    key(&mut app, KeyCode::Home);
    assert_eq!(selected_id(&app), "39");
    key(&mut app, KeyCode::PageDown);
    assert_eq!(
        selected_id(&app),
        "104",
        "a page is longer than six rows at 80×24"
    );
    key(&mut app, KeyCode::PageUp);
    assert_eq!(selected_id(&app), "39");
}

#[test]
fn paging_through_many_rows_keeps_the_cursor_in_the_window() {
    let mut app = sample::app(false);
    let mut snap = sample_snapshot(now());
    snap.active = (0..10_000)
        .map(|i| std::sync::Arc::new(execution(&i.to_string(), Status::Running, 100_000 - i)))
        .collect();
    snapshot(&mut app, snap);
    key(&mut app, KeyCode::Home);
    let page = app.page_rows();
    assert_eq!(page, 10, "the Running pane shows 10 rows at 80×24");
    key(&mut app, KeyCode::PageDown);
    key(&mut app, KeyCode::PageDown);
    assert_eq!(app.running.selected, 2 * page);
    assert!(app.running.offset <= app.running.selected);
    assert!(app.running.selected < app.running.offset + page);
    key(&mut app, KeyCode::End);
    assert_eq!(app.running.selected, 9_999);
    assert_eq!(app.running.offset, 10_000 - page);
}

#[test]
fn findings_window_follows_the_findings_pane_height() {
    let mut app = sample::app(false);
    let mut snap = sample_snapshot(now());
    let f = snap.findings[0].clone();
    snap.findings = Arc::new(
        (0..40)
            .map(|i| {
                let mut f = f.clone();
                f.execution_id = Some(i.to_string());
                f
            })
            .collect(),
    );
    snapshot(&mut app, snap);
    key(&mut app, KeyCode::Tab);
    assert_eq!(
        app.findings.selected, 39,
        "the selected finding was followed by id"
    );
    key(&mut app, KeyCode::Home);
    let rows = app.rows_of(Pane::Findings);
    // At 80×24 the Running pane's 6 rows leave the findings 11 rows, not
    // the 7 of their fixed share.
    assert_eq!(rows, 11, "the findings pane shows 11 rows at 80×24");
    for _ in 0..rows {
        key(&mut app, KeyCode::Down);
    }
    assert_eq!((app.findings.selected, app.findings.offset), (rows, 1));
    key(&mut app, KeyCode::Up);
    assert_eq!(
        app.findings.offset, 1,
        "moving up inside the window does not scroll"
    );
}

#[test]
fn tab_cycles_panes_and_includes_the_log_only_when_shown() {
    let mut app = sample::app(false);
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Pane::Findings);
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Pane::ErrorRates);
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Pane::Running, "log hidden: wraps to Running");
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)),
    );
    assert_eq!(app.focus, Pane::ErrorRates);
    ch(&mut app, 'l');
    assert!(app.show_log);
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Pane::Log);
    ch(&mut app, 'l');
    assert_eq!(
        app.focus,
        Pane::Running,
        "hiding the focused log moves focus away"
    );
}

#[test]
fn filter_typing_narrows_and_esc_clears() {
    let mut app = sample::app(false);
    ch(&mut app, '/');
    assert!(app.filter.editing);
    for c in "report".chars() {
        ch(&mut app, c);
    }
    assert_eq!(ids(&app), ["7"], "matches the group");
    key(&mut app, KeyCode::Backspace);
    key(&mut app, KeyCode::Backspace);
    ch(&mut app, '_');
    assert_eq!(ids(&app), [] as [&str; 0]);
    key(&mut app, KeyCode::Backspace);
    ch(&mut app, 'r');
    ch(&mut app, 't');
    key(&mut app, KeyCode::Down);
    assert!(app.filter.editing, "arrows move the cursor while typing");
    assert_eq!(app.filter.text, "report");
    ch(&mut app, 'q');
    assert!(app.filter.editing, "q is text while typing, not quit");
    key(&mut app, KeyCode::Backspace);
    key(&mut app, KeyCode::Enter);
    assert!(!app.filter.editing);
    assert_eq!(app.filter.text, "report");
    key(&mut app, KeyCode::Esc);
    assert_eq!(
        app.filter.text, "",
        "esc outside the input clears the filter"
    );
    assert_eq!(app.view.len(), 6);

    ch(&mut app, '/');
    for c in "IN_PROG".chars() {
        ch(&mut app, c);
    }
    assert_eq!(ids(&app), ["102"], "matches the stored status spelling");
    key(&mut app, KeyCode::Esc);
    assert!(!app.filter.editing);
    assert_eq!(app.view.len(), 6, "esc in the input clears it");

    ch(&mut app, '/');
    for c in "amc-101".chars() {
        ch(&mut app, c);
    }
    assert_eq!(ids(&app), ["101"], "matches the remote id");
}

#[test]
fn sort_cycles_columns_and_reverses() {
    let mut app = sample::app(false);
    assert_eq!(app.sort, SortColumn::Age);
    ch(&mut app, 's');
    assert_eq!(app.sort, SortColumn::Updated);
    ch(&mut app, 's');
    ch(&mut app, 's');
    assert_eq!(app.sort, SortColumn::Id);
    assert_eq!(
        ids(&app),
        ["7", "39", "101", "102", "103", "104"],
        "ids sort numerically"
    );
    ch(&mut app, 'S');
    assert_eq!(ids(&app), ["104", "103", "102", "101", "39", "7"]);
    assert_eq!(
        selected_id(&app),
        "39",
        "the cursor follows its row through a sort"
    );
}

#[test]
fn pause_interval_refresh_and_quit_send_effects() {
    let mut app = sample::app(false);
    assert_eq!(
        ch(&mut app, 'p'),
        [Effect::SendControl(MonitorControl::Pause)]
    );
    assert!(app.paused);
    assert_eq!(
        ch(&mut app, 'p'),
        [Effect::SendControl(MonitorControl::Resume)]
    );
    assert_eq!(
        ch(&mut app, '+'),
        [Effect::SendControl(MonitorControl::SetInterval(
            Duration::from_secs(10)
        ))]
    );
    assert_eq!(
        ch(&mut app, '-'),
        [Effect::SendControl(MonitorControl::SetInterval(
            Duration::from_secs(5)
        ))]
    );
    for _ in 0..20 {
        ch(&mut app, '-');
    }
    assert_eq!(app.interval, Duration::from_secs(1));
    assert_eq!(ch(&mut app, '-'), [], "the lower bound holds");
    for _ in 0..20 {
        ch(&mut app, '+');
    }
    assert_eq!(app.interval, Duration::from_secs(300));
    assert_eq!(ch(&mut app, '+'), [], "the upper bound holds");
    assert_eq!(
        ch(&mut app, 'R'),
        [Effect::SendControl(MonitorControl::RefreshNow)]
    );
    assert_eq!(ch(&mut app, 'q'), [Effect::Quit]);
    assert_eq!(
        update(
            &mut app,
            Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL))
        ),
        [Effect::Quit]
    );
}

#[test]
fn schedule_event_updates_paused_and_interval() {
    let mut app = sample::app(false);
    update(
        &mut app,
        Msg::Monitor(MonitorEvent::Schedule {
            paused: true,
            interval: Duration::from_secs(30),
        }),
    );
    assert!(app.paused);
    assert_eq!(app.interval, Duration::from_secs(30));
}

#[test]
fn copy_yields_the_selected_id_in_each_list() {
    let mut app = sample::app(false);
    ch(&mut app, 'j');
    assert_eq!(ch(&mut app, 'y'), [Effect::CopyToClipboard("7".into())]);
    key(&mut app, KeyCode::Tab);
    assert_eq!(ch(&mut app, 'y'), [Effect::CopyToClipboard("39".into())]);
    key(&mut app, KeyCode::End);
    assert_eq!(
        ch(&mut app, 'y'),
        [Effect::CopyToClipboard("amc-ghost".into())],
        "a remote-only finding copies its remote id"
    );
}

#[test]
fn release_and_repeat_events_do_nothing() {
    let mut app = sample::app(false);
    let mut ev = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
    ev.kind = KeyEventKind::Release;
    assert_eq!(update(&mut app, Msg::Key(ev)), []);
    ev.kind = KeyEventKind::Repeat;
    assert_eq!(update(&mut app, Msg::Key(ev)), []);
}

#[test]
fn action_keys_request_actions_with_the_status_seen() {
    let mut app = sample::app(false);
    key(&mut app, KeyCode::End);
    key(&mut app, KeyCode::Up);
    key(&mut app, KeyCode::Up);
    let effects = ch(&mut app, 'r');
    let req = planned(&effects);
    assert_eq!(req.kind, ActionKind::Reconcile);
    assert_eq!(req.targets.len(), 1);
    assert_eq!(req.targets[0].id, "102");
    assert_eq!(req.targets[0].seen_status, Status::Running);
    assert_eq!(
        req.targets[0].seen_raw_status.as_deref(),
        Some("IN_PROGRESS")
    );
    assert_eq!(req.targets[0].remote_status_seen, Some(Status::Running));

    // space marks rows; f then acts on the marked set
    key(&mut app, KeyCode::Home);
    ch(&mut app, ' ');
    ch(&mut app, ' ');
    assert_eq!(app.marks.ids.len(), 2);
    let effects = with_reason(&mut app, 'f', "worker died");
    let req = planned(&effects);
    assert_eq!(req.kind, ActionKind::MarkFailed);
    assert_eq!(req.reason.as_deref(), Some("worker died"));
    let mut got: Vec<&str> = req.targets.iter().map(|t| t.id.as_str()).collect();
    got.sort();
    assert_eq!(got, ["39", "7"]);
    assert_eq!(app.marks.ids.len(), 2, "asking for a plan spends no marks");
}

#[test]
fn settings_from_config_reject_bad_keys_and_honour_read_only() {
    let mut config = crate::config::Config::default();
    let s = super::state::AppSettings::from_config(&config, true).unwrap();
    assert!(s.read_only, "the flag forces read-only");
    assert_eq!(s.interval, Duration::from_secs(5));
    config.ui.read_only = true;
    assert!(
        super::state::AppSettings::from_config(&config, false)
            .unwrap()
            .read_only
    );
    config
        .ui
        .keys
        .insert("quit".into(), crate::config::KeySpec::One("j".into()));
    let err = super::state::AppSettings::from_config(&config, false)
        .err()
        .unwrap();
    assert_eq!(
        err,
        "[ui.keys]: key \"j\" is bound to both \"down\" and \"quit\""
    );
}

#[test]
fn act_on_filtered_set_takes_every_filtered_row() {
    let mut app = sample::app(false);
    ch(&mut app, '/');
    for c in "pending".chars() {
        ch(&mut app, c);
    }
    key(&mut app, KeyCode::Enter);
    assert_eq!(ch(&mut app, 'A'), []);
    assert!(app.marks.bulk_armed);
    let effects = with_reason(&mut app, 'f', "stale");
    let req = planned(&effects);
    let got: Vec<&str> = req.targets.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(got, ["101", "103"]);
    assert!(!app.marks.bulk_armed);

    ch(&mut app, 'A');
    key(&mut app, KeyCode::Esc);
    assert!(!app.marks.bulk_armed, "esc disarms");
    assert_eq!(
        app.filter.text, "pending",
        "the disarming esc does not also clear the filter"
    );
}

#[test]
fn findings_pane_actions_use_the_finding_row() {
    let mut app = sample::app(false);
    key(&mut app, KeyCode::Tab);
    ch(&mut app, 'j');
    let effects = ch(&mut app, 'r');
    let req = planned(&effects);
    assert_eq!(req.targets[0].id, "7");
    assert_eq!(req.targets[0].remote_status_seen, Some(Status::Succeeded));
    ch(&mut app, 'j');
    assert_eq!(
        ch(&mut app, 'f'),
        [],
        "a remote-only finding has no local row to write"
    );
    assert!(
        app.message
            .as_ref()
            .unwrap()
            .0
            .contains("remote-only run has no local record"),
        "{:?}",
        app.message
    );
    key(&mut app, KeyCode::Tab);
    assert_eq!(
        ch(&mut app, 'r'),
        [],
        "the error-rate pane has no rows to act on"
    );
    assert!(
        app.message.as_ref().unwrap().0.contains("tab to one"),
        "{:?}",
        app.message
    );
}

#[test]
fn without_write_access_action_keys_say_why() {
    let mut app = sample::app(false);
    app.settings.no_write_access = Some(crate::store::StoreError::NoUpdatePrivilege {
        table: "\"runs\"".into(),
    });
    assert!(app.read_only());
    for c in ['r', 'f'] {
        assert_eq!(ch(&mut app, c), [], "{c}");
        assert_eq!(
            app.message.as_ref().unwrap().0,
            "read-only (no UPDATE privilege on \"runs\"): writes are disabled"
        );
    }
}

#[test]
fn read_only_refuses_action_keys_with_a_message() {
    let mut app = sample::app(true);
    for c in ['r', 'f', 'A'] {
        assert_eq!(ch(&mut app, c), [], "{c}");
        assert_eq!(
            app.message.as_ref().unwrap().0,
            "read-only: writes are disabled"
        );
        app.message = None;
    }
    key(&mut app, KeyCode::Tab);
    assert_eq!(ch(&mut app, 'f'), []);
    assert_eq!(
        app.message.as_ref().unwrap().0,
        "read-only: writes are disabled"
    );
}

#[test]
fn snapshot_keeps_the_selection_on_the_same_id() {
    let mut app = sample::app(false);
    ch(&mut app, 'j');
    ch(&mut app, 'j');
    assert_eq!(selected_id(&app), "101");
    let mut snap = sample_snapshot(now());
    snap.active = snap.active[1..].into();
    snapshot(&mut app, snap);
    assert_eq!(selected_id(&app), "101", "followed by id, now one row up");
    assert_eq!(app.running.selected, 1);
}

/// A poll that changed nothing shares its rows with the snapshot before:
/// the filtered, sorted view stands; a changed row rebuilds it.
#[test]
fn a_snapshot_of_the_same_rows_keeps_the_view() {
    let mut app = sample::app(false);
    ch(&mut app, 'j');
    let before = (app.view.clone(), selected_id(&app));
    let mut same = (*app.snapshot).clone();
    same.taken_at = now() + chrono::Duration::seconds(5);
    snapshot(&mut app, same);
    assert_eq!((app.view.clone(), selected_id(&app)), before);

    let mut changed = (*app.snapshot).clone();
    let mut first = (*changed.active[0]).clone();
    first.name = Some("renamed".into());
    let mut rows = changed.active.to_vec();
    rows[0] = Arc::new(first);
    rows.swap(0, 1);
    changed.active = rows.into();
    snapshot(&mut app, changed);
    assert_eq!(
        selected_id(&app),
        before.1,
        "rebuilt, and still on the same id"
    );
    assert_eq!(app.view.len(), before.0.len());
}

#[test]
fn snapshot_clamps_the_selection_when_rows_disappear() {
    let mut app = sample::app(false);
    key(&mut app, KeyCode::End);
    ch(&mut app, ' ');
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::End);
    let mut snap = sample_snapshot(now());
    snap.active = snap.active[..2].into();
    Arc::make_mut(&mut snap.findings).truncate(1);
    snapshot(&mut app, snap);
    assert_eq!(app.running.selected, 1);
    assert_eq!(selected_id(&app), "7");
    assert_eq!(app.findings.selected, 0);
    assert!(
        app.marks.ids.is_empty(),
        "marks on vanished rows are dropped"
    );

    snapshot(
        &mut app,
        Snapshot {
            taken_at: now(),
            ..Snapshot::default()
        },
    );
    assert_eq!(app.running.selected, 0);
    assert!(app.selected_execution().is_none());
    assert_eq!(ch(&mut app, 'y'), [], "nothing to copy");
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.popup, None, "no detail without a row");
}

#[test]
fn poll_failure_marks_data_stale_until_a_good_snapshot() {
    let mut app = sample::app(false);
    assert_eq!(app.db_stale_seconds(), None);
    update(
        &mut app,
        Msg::Monitor(MonitorEvent::PollFailed {
            source: PollSource::Database,
            error: "connection refused".into(),
            at: now(),
        }),
    );
    assert_eq!(app.db_stale_seconds(), Some(2), "age of the last good poll");
    snapshot(&mut app, sample_snapshot(now()));
    assert_eq!(app.db_stale_seconds(), None);
}

#[test]
fn old_data_is_stale_after_twice_the_interval_unless_paused() {
    let mut app = sample::app(false);
    update(&mut app, Msg::Tick(now() + chrono::Duration::seconds(8)));
    assert_eq!(
        app.db_stale_seconds(),
        None,
        "10s old is exactly 2× 5s: not yet"
    );
    update(&mut app, Msg::Tick(now() + chrono::Duration::seconds(40)));
    assert_eq!(app.db_stale_seconds(), Some(42));
    ch(&mut app, 'p');
    assert_eq!(
        app.db_stale_seconds(),
        None,
        "a paused monitor is quiet on purpose"
    );
}

#[test]
fn dirty_only_when_something_visible_changed() {
    let mut app = sample::app(false);
    app.dirty = false;
    update(&mut app, Msg::Tick(now()));
    assert!(!app.dirty, "same second: nothing to redraw");
    update(
        &mut app,
        Msg::Tick(now() + chrono::Duration::milliseconds(1_500)),
    );
    assert!(app.dirty, "the clock moved a second");
    app.dirty = false;
    let mut ev = KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE);
    ev.kind = KeyEventKind::Release;
    update(&mut app, Msg::Key(ev));
    assert!(!app.dirty);
    ch(&mut app, 'w');
    assert!(!app.dirty, "an unbound key redraws nothing");
    ch(&mut app, 'j');
    assert!(app.dirty);
}

#[test]
fn popups_open_scroll_and_close() {
    let mut app = sample::app(false);
    key(&mut app, KeyCode::Enter);
    assert_eq!(
        (app.popup.clone(), app.popup_scroll),
        (Some(Popup::Detail), 0)
    );
    ch(&mut app, 'j');
    assert_eq!(app.popup_scroll, 1);
    assert_eq!(ch(&mut app, 'y'), [Effect::CopyToClipboard("39".into())]);
    assert_eq!(ch(&mut app, 'r'), [], "action keys are inert under a popup");
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.popup, None);
    ch(&mut app, '?');
    assert_eq!(
        (app.popup.clone(), app.popup_scroll),
        (Some(Popup::Help), 0)
    );
    let room = popup_room(&app);
    assert!(
        room.max > room.page,
        "{room:?}: every key of every mode at 80×24"
    );
    key(&mut app, KeyCode::PageDown);
    assert_eq!(app.popup_scroll, room.page, "a page down moves a page");
    key(&mut app, KeyCode::End);
    key(&mut app, KeyCode::PageDown);
    assert_eq!(app.popup_scroll, room.max, "nothing below the last line");
    key(&mut app, KeyCode::Up);
    assert_eq!(app.popup_scroll, room.max - 1, "and Up moves at once");
    ch(&mut app, '?');
    assert_eq!(app.popup, None);
}

pub(super) fn planned(effects: &[Effect]) -> ActionRequest {
    match effects {
        [Effect::Action(ActionCommand::Plan { request, .. })] => request.clone(),
        other => panic!("expected a plan request, got {other:?}"),
    }
}

/// Presses the action key, types the reason and Enter.
pub(super) fn with_reason(app: &mut App, action_key: char, reason: &str) -> Vec<Effect> {
    assert_eq!(ch(app, action_key), []);
    assert!(
        matches!(app.popup, Some(Popup::Reason(_))),
        "{:?}",
        app.popup
    );
    for c in reason.chars() {
        ch(app, c);
    }
    key(app, KeyCode::Enter)
}

pub(super) fn preview(app: &App, rows: &[(&str, Option<&str>)]) -> ActionPreview {
    ActionPreview {
        request_id: app.pending_request.expect("a request is pending"),
        kind: ActionKind::MarkFailed,
        rows: rows
            .iter()
            .map(|(id, after)| PreviewRow {
                id: id.to_string(),
                before: "running".into(),
                after: after.map(str::to_string),
                note: String::new(),
            })
            .collect(),
        note: None,
    }
}

#[test]
fn mark_failed_asks_for_a_reason_and_esc_cancels() {
    let mut app = sample::app(false);
    assert_eq!(ch(&mut app, 'f'), []);
    assert_eq!(
        key(&mut app, KeyCode::Enter),
        [],
        "an empty reason is refused"
    );
    assert!(
        app.message
            .as_ref()
            .unwrap()
            .0
            .contains("reason is required")
    );
    ch(&mut app, 'q');
    assert!(
        matches!(&app.popup, Some(Popup::Reason(entry)) if entry.text == "q"),
        "q is text here, not quit"
    );
    assert_eq!(key(&mut app, KeyCode::Esc), []);
    assert_eq!(app.popup, None);
    assert!(app.message.as_ref().unwrap().0.contains("nothing written"));
}

#[test]
fn one_row_preview_confirms_with_y_and_defaults_to_no() {
    let mut app = sample::app(false);
    planned(&with_reason(&mut app, 'f', "dead"));
    let id = app.pending_request.unwrap();
    let p = preview(&app, &[("39", Some("failed"))]);
    update(&mut app, Msg::Action(ActionEvent::Planned(p)));
    assert!(matches!(app.popup, Some(Popup::Preview(_))));
    assert_eq!(
        key(&mut app, KeyCode::Enter),
        [Effect::Action(ActionCommand::Cancel { request_id: id })],
        "Enter is No"
    );
    assert_eq!(app.popup, None);

    planned(&with_reason(&mut app, 'f', "dead"));
    let id = app.pending_request.unwrap();
    let p = preview(&app, &[("39", Some("failed"))]);
    update(&mut app, Msg::Action(ActionEvent::Planned(p)));
    assert_eq!(
        ch(&mut app, 'y'),
        [Effect::Action(ActionCommand::Apply { request_id: id })]
    );
    assert_eq!(ch(&mut app, 'y'), [], "no second apply while applying");
    let report = ActionReport {
        request_id: id,
        kind: ActionKind::MarkFailed,
        rows: vec![ReportRow {
            id: "39".into(),
            before: "running".into(),
            after: Some("failed".into()),
            applied: Ok(()),
        }],
    };
    let effects = update(&mut app, Msg::Action(ActionEvent::Applied(report)));
    assert_eq!(effects, [Effect::SendControl(MonitorControl::RefreshNow)]);
    assert!(matches!(app.popup, Some(Popup::Report(_))));
    assert_eq!(app.message.as_ref().unwrap().0, "1 of 1 applied");
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.popup, None);
}

#[test]
fn bulk_preview_needs_the_typed_row_count() {
    let mut app = sample::app(false);
    planned(&ch(&mut app, 'r'));
    let id = app.pending_request.unwrap();
    let rows = [
        ("1", Some("succeeded")),
        ("2", Some("failed")),
        ("3", Some("failed")),
        ("4", None),
    ];
    let p = preview(&app, &rows);
    update(&mut app, Msg::Action(ActionEvent::Planned(p)));
    assert_eq!(ch(&mut app, 'y'), [], "y is not enough for a bulk action");
    ch(&mut app, '4');
    assert_eq!(
        key(&mut app, KeyCode::Enter),
        [],
        "4 rows listed, but 3 change"
    );
    assert!(app.message.as_ref().unwrap().0.contains("type 3"));
    ch(&mut app, '3');
    assert_eq!(
        key(&mut app, KeyCode::Enter),
        [Effect::Action(ActionCommand::Apply { request_id: id })]
    );
}

#[test]
fn stale_answers_are_ignored_and_failures_are_shown() {
    let mut app = sample::app(false);
    planned(&ch(&mut app, 'r'));
    let old = preview(&app, &[("39", Some("failed"))]);
    planned(&ch(&mut app, 'r'));
    update(&mut app, Msg::Action(ActionEvent::Planned(old)));
    assert_eq!(app.popup, None, "an answer to an older request is dropped");
    let id = app.pending_request;
    update(
        &mut app,
        Msg::Action(ActionEvent::Failed {
            request_id: id,
            error: "read-only mode: exectop writes nothing".into(),
        }),
    );
    assert_eq!(
        app.message.as_ref().unwrap().0,
        "action failed: read-only mode: exectop writes nothing"
    );
    assert_eq!(app.pending_request, None);
}

#[test]
fn the_audit_key_loads_and_shows_the_log_even_read_only() {
    let mut app = sample::app(true);
    assert_eq!(
        ch(&mut app, 'a'),
        [Effect::Action(ActionCommand::LoadAudit)]
    );
    update(&mut app, Msg::Action(ActionEvent::Audit(Vec::new())));
    assert!(matches!(app.popup, Some(Popup::Audit(_))));
}
