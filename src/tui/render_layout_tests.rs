//! What must stay on screen and readable: the preview's prompt however long
//! the preview, the remote's stale marks, the footer's whole hints, ids and
//! wrapped reasons.

use std::sync::Arc;

use crossterm::event::KeyCode;
use ratatui::buffer::Buffer;
use ratatui::style::Modifier;

use super::intent::{ActionEvent, ActionKind, ActionPreview, ActionReport, PreviewRow, ReportRow};
use super::keymap::Command;
use super::render::{findings, footer};
use super::render_tests::{draw, draw_part, find, press, sized};
use super::sample;
use super::sample::update;
use super::state::{App, Pane};
use super::theme::Theme;
use super::update::Msg;
use crate::monitor::{MonitorEvent, Snapshot, SourceHealth};

pub(super) fn row_text(buf: &Buffer, y: u16) -> String {
    (0..buf.area.width)
        .map(|x| buf[(x, y)].symbol().to_string())
        .collect()
}

pub(super) fn screen(buf: &Buffer) -> String {
    (0..buf.area.height)
        .map(|y| row_text(buf, y))
        .collect::<Vec<_>>()
        .join("\n")
}

pub(super) fn with_snapshot(app: &mut App, snap: Snapshot) {
    update(app, Msg::Monitor(MonitorEvent::Snapshot(Arc::new(snap))));
}

/// The sample app at 80×24 showing a preview of 40 rows, `changing` of them changing.
fn long_preview(changing: usize) -> App {
    let mut app = sized(sample::app(false), 80, 24);
    app.pending_request = Some(1);
    let preview = ActionPreview {
        request_id: 1,
        kind: ActionKind::MarkFailed,
        rows: (0..40)
            .map(|i| PreviewRow {
                id: format!("{}", 200 + i),
                before: "running".into(),
                after: (i < changing).then(|| "failed".to_string()),
                note: "reason: worker died".into(),
            })
            .collect(),
        note: None,
    };
    update(&mut app, Msg::Action(ActionEvent::Planned(preview)));
    app
}

#[test]
fn a_long_bulk_preview_keeps_its_summary_and_prompt_in_sight() {
    let mut app = long_preview(40);
    let t = draw(&app, 80, 24);
    insta::assert_snapshot!(t.backend());
    let buf = t.backend().buffer();
    let (_, summary) = find(buf, "40 will change, 0 left alone");
    let (_, prompt) = find(buf, "Type 40 and Enter to apply to 40 rows");
    assert_eq!(prompt, summary + 1);
    find(buf, "lines 1–");

    press(&mut app, KeyCode::End);
    let t = draw(&app, 80, 24);
    let buf = t.backend().buffer();
    let (_, last) = find(buf, " 239 ");
    let (_, prompt) = find(buf, "Type 40 and Enter");
    assert!(last < prompt, "the last row shows above the prompt");
    assert!(
        !screen(buf).contains(" 200 "),
        "scrolled past the first row"
    );
}

#[test]
fn one_change_among_many_rows_still_asks_y_n_in_sight() {
    let app = long_preview(1);
    let t = draw(&app, 80, 24);
    let buf = t.backend().buffer();
    find(buf, "1 will change, 39 left alone");
    find(buf, "Apply? y/N");
    let app = long_preview(0);
    let t = draw(&app, 60, 15);
    find(t.backend().buffer(), "nothing to change");
}

#[test]
fn a_long_result_keeps_its_count_in_sight() {
    let mut app = sized(sample::app(false), 80, 24);
    app.pending_request = Some(1);
    let report = ActionReport {
        request_id: 1,
        kind: ActionKind::MarkFailed,
        rows: (0..40)
            .map(|i| ReportRow {
                id: format!("{}", 200 + i),
                before: "running".into(),
                after: Some("failed".into()),
                applied: if i % 3 == 0 {
                    Err(
                        "the remote did not accept the stop (stop answered HTTP 409); \
                         nothing written"
                            .into(),
                    )
                } else {
                    Ok(())
                },
            })
            .collect(),
    };
    update(&mut app, Msg::Action(ActionEvent::Applied(report)));
    let t = draw(&app, 80, 24);
    let buf = t.backend().buffer();
    find(buf, "26 of 40 applied · Enter or Esc closes");
    find(buf, "Mark failed — result · lines 1–");
}

fn remote_health(ok: bool, last_success: Option<i64>, error: Option<&str>) -> Snapshot {
    let mut snap = sample::sample_snapshot(sample::now());
    snap.remote_health = Some(SourceHealth {
        name: "remote".into(),
        ok,
        latency_ms: None,
        last_success: last_success.map(|s| sample::now() - chrono::Duration::seconds(s)),
        last_error: error.map(str::to_string),
        degraded: false,
        suspect: None,
        ..Default::default()
    });
    snap
}

#[test]
fn a_failing_remote_marks_the_remote_panes_stale() {
    let mut app = sized(sample::app(false), 160, 48);
    with_snapshot(
        &mut app,
        remote_health(false, Some(55), Some("connection refused")),
    );
    let t = draw(&app, 160, 48);
    let buf = t.backend().buffer();
    assert!(
        row_text(buf, 0).contains("remote down"),
        "{}",
        row_text(buf, 0)
    );
    let (_, running) = find(buf, "Running 6");
    assert!(row_text(buf, running).contains("(remote stale 55s)"));
    let (_, stuck) = find(buf, "Stuck & orphaned 3");
    let stuck_title = row_text(buf, stuck);
    assert!(stuck_title.contains("(remote stale 55s)"), "{stuck_title}");
    let rates = stuck_title.split("Error rates").nth(1).unwrap();
    assert!(
        !rates.contains("stale"),
        "the error rates are the database's"
    );
    assert!(
        !screen(buf).contains("(stale "),
        "the database is fresh: no db mark"
    );

    // Degraded (polling paused) is stale too, and says so in the header.
    let mut snap = remote_health(false, Some(90), Some("503"));
    snap.remote_health.as_mut().unwrap().degraded = true;
    with_snapshot(&mut app, snap);
    let t = draw(&app, 160, 48);
    let buf = t.backend().buffer();
    assert!(row_text(buf, 0).contains("remote degraded"));
    find(buf, "(remote stale 1m 30s)");

    // A remote that never answered and then failed has no age to give.
    with_snapshot(&mut app, remote_health(false, None, Some("timeout")));
    let t = draw(&app, 160, 48);
    find(
        t.backend().buffer(),
        "Running 6 · sort age ▲ (remote stale)",
    );

    // Healthy again: the mark goes.
    with_snapshot(&mut app, sample::sample_snapshot(sample::now()));
    assert!(!screen(draw(&app, 160, 48).backend().buffer()).contains("remote stale"));
}

#[test]
fn the_remote_is_waiting_not_down_until_its_first_look_up() {
    let mut app = sized(sample::app(false), 80, 24);
    with_snapshot(&mut app, remote_health(false, None, None));
    let t = draw(&app, 80, 24);
    let buf = t.backend().buffer();
    let header = row_text(buf, 0);
    assert!(header.contains("remote waiting…"), "{header}");
    assert!(
        !header.contains("down") && !header.contains("never"),
        "{header}"
    );
    assert!(!screen(buf).contains("stale"), "nothing is stale yet");

    with_snapshot(
        &mut app,
        remote_health(false, None, Some("connection refused")),
    );
    let header = row_text(draw(&app, 80, 24).backend().buffer(), 0);
    assert!(header.contains("remote down"), "{header}");
}

#[test]
fn details_from_the_running_pane_include_the_finding() {
    let mut app = sized(sample::app(false), 100, 70);
    assert_eq!(app.selected_execution().unwrap().id, "39");
    press(&mut app, KeyCode::Enter);
    let text = screen(draw(&app, 100, 70).backend().buffer());
    assert!(text.contains("── finding"), "{text}");
    assert!(text.contains("running for 22h 6m, over running_stuck 2h"));
    assert!(text.contains("── execution") && text.contains("── remote"));

    // A row without a finding has no finding section.
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::End);
    press(&mut app, KeyCode::Enter);
    let text = screen(draw(&app, 100, 70).backend().buffer());
    assert!(text.contains("── execution") && !text.contains("── finding"));
}

#[test]
fn the_empty_findings_message_sits_below_the_column_header() {
    let mut app = sized(sample::app(false), 80, 24);
    let mut snap = sample::sample_snapshot(sample::now());
    Arc::make_mut(&mut snap.findings).clear();
    with_snapshot(&mut app, snap);
    let t = draw_part(&app, 80, 8, findings::render);
    let buf = t.backend().buffer();
    let (_, header) = find(buf, "kind");
    let (_, message) = find(buf, "nothing stuck or orphaned");
    assert_eq!(message, header + 1);
    assert!(row_text(buf, header).contains("reason"));
}

#[test]
fn no_color_underlines_only_marked_rows() {
    let mut app = sample::app(false);
    app.settings.theme = Theme::no_color();
    let mut app = sized(app, 80, 24);
    press(&mut app, KeyCode::Char(' '));
    let t = draw(&app, 80, 24);
    let buf = t.backend().buffer();
    let (_, marked) = find(buf, "job-39");
    assert_eq!(buf[(0, marked)].symbol(), "●");
    assert!(buf[(0, marked)].modifier.contains(Modifier::UNDERLINED));
    for job in ["job-7", "job-101", "job-102"] {
        let (_, y) = find(buf, job);
        let cell = &buf[(0, y)];
        assert_eq!(cell.symbol(), " ");
        assert!(
            !cell.modifier.contains(Modifier::UNDERLINED),
            "{job}: {:?}",
            cell.modifier
        );
    }
    let (_, y) = find(buf, "remote_only");
    assert!(!buf[(0, y)].modifier.contains(Modifier::UNDERLINED));
}

/// Every hint on the footer is whole: a key, a space and a known label.
fn assert_whole_hints(line: &str, width: u16) {
    assert!(line.starts_with(" ? help"), "{width}: {line:?}");
    for hint in line.trim().split("  ") {
        let whole = Command::all().any(|a| hint.ends_with(&format!(" {}", a.short())));
        assert!(whole, "{width}: cut hint {hint:?} in {line:?}");
    }
}

#[test]
fn the_footer_shows_whole_hints_at_every_width_and_always_help() {
    for read_only in [false, true] {
        for focus in [Pane::Running, Pane::Findings, Pane::ErrorRates] {
            for width in 60..=260 {
                let mut app = sample::app(read_only);
                app.focus = focus;
                let t = draw_part(&app, width, 1, footer::render);
                assert_whole_hints(&row_text(t.backend().buffer(), 0), width);
            }
        }
    }
    let app = sample::app(false);
    let line = row_text(draw_part(&app, 80, 1, footer::render).backend().buffer(), 0);
    for hint in ["? help", "q quit", "r reconcile", "f mark failed"] {
        assert!(line.contains(hint), "{line}");
    }
    let line = row_text(
        draw_part(&app, 250, 1, footer::render).backend().buffer(),
        0,
    );
    assert!(line.contains("a audit") && line.contains("l log"), "{line}");
}

#[test]
fn a_refusal_reason_wraps_under_itself() {
    let mut app = sized(sample::app(false), 80, 24);
    app.pending_request = Some(1);
    let report = ActionReport {
        request_id: 1,
        kind: ActionKind::Reconcile,
        rows: vec![ReportRow {
            id: "12".into(),
            before: "running".into(),
            after: Some("failed".into()),
            applied: Err(
                "the row changed since you looked: it is now succeeded, not running \
                          as seen, so nothing was written"
                    .into(),
            ),
        }],
    };
    update(&mut app, Msg::Action(ActionEvent::Applied(report)));
    let t = draw(&app, 80, 24);
    let buf = t.backend().buffer();
    let (x, y) = find(buf, "the row changed");
    let next = row_text(buf, y + 1);
    let indent = next.chars().skip(1).take_while(|c| *c == ' ').count() + 1;
    assert_eq!(indent, usize::from(x), "{next:?}");
}

fn snap_kind(app: &App, finding: usize) -> String {
    app.snapshot.findings[finding].kind.as_str().to_string()
}

#[test]
fn a_remote_only_id_is_whole_or_cut_inside_its_parentheses() {
    let app = sized(sample::app(false), 80, 24);
    let t = draw(&app, 80, 24);
    find(t.backend().buffer(), "(amc-ghost)");

    let mut app = sized(sample::app(false), 80, 24);
    let mut snap = sample::sample_snapshot(sample::now());
    Arc::make_mut(&mut snap.findings)[2].remote_id = Some("amc-0123456789abcdef".into());
    with_snapshot(&mut app, snap);
    let t = draw(&app, 80, 24);
    let buf = t.backend().buffer();
    let (x, y) = find(buf, "(amc-0123");
    let cell: String = row_text(buf, y)
        .chars()
        .skip(usize::from(x))
        .take(11)
        .collect();
    // The id gives up width before the kind, which stays whole.
    assert_eq!(cell, "(amc-0123…)");
    let kind = &snap_kind(&app, 2);
    assert!(row_text(buf, y).contains(kind.as_str()), "{kind}");
}

#[test]
fn without_a_remote_tracker_the_running_pane_has_no_remote_column() {
    let words_after_status = |remote: bool| {
        let mut app = sample::app(false);
        app.settings.remote = remote;
        let app = sized(app, 120, 30);
        let t = draw(&app, 120, 30);
        let buf = t.backend().buffer();
        let (_, header) = find(buf, "upd");
        let (_, job) = find(buf, "job-39");
        [header, job].map(|y| {
            let text = row_text(buf, y);
            let words: Vec<&str> = text.split_whitespace().collect();
            let at = words.iter().position(|w| *w == "status" || *w == "running");
            words[at.unwrap() + 1].to_string()
        })
    };
    assert_eq!(words_after_status(true), ["remote", "running"]);
    assert_eq!(words_after_status(false), ["age", "22h"]);
}
