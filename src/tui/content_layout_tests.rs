//! The layout follows the content: pane heights by their rows, columns by
//! their values, reasons whole where there is room (`render::fit`).

use std::sync::Arc;

use super::render::{self as view, findings};
use super::render_layout_tests::{row_text, screen, with_snapshot};
use super::render_tests::{draw, draw_part, find, sized};
use super::sample;
use super::state::{App, Pane};
use crate::domain::{FindingKind, Status, SuggestedAction};

/// The sample app with `running` executions and `findings` findings.
fn with_counts(running: usize, findings: usize) -> App {
    let mut app = sample::app(false);
    let mut snap = sample::sample_snapshot(sample::now());
    snap.active = (0..running)
        .map(|i| Arc::new(sample::execution(&i.to_string(), Status::Running, 600)))
        .collect();
    let f = snap.findings[0].clone();
    snap.findings = Arc::new(vec![f; findings]);
    with_snapshot(&mut app, snap);
    app
}

#[test]
fn pane_heights_follow_their_rows() {
    // A body of 45 rows (160×48); the error rates need 9 rows, so the
    // findings row needs at least 9. Shares when both overflow: 27 and 18.
    let heights = |running, findings| view::pane_heights(&with_counts(running, findings), 160, 45);
    // Few rows each: Running takes its 6 rows + title + header, the rest
    // goes to the findings row, so no empty block sits between them.
    assert_eq!(heights(6, 3), [8, 37, 0]);
    // Many running, few findings: the findings row takes its 9.
    assert_eq!(heights(100, 3), [36, 9, 0]);
    // Few running, many findings: Running takes 4 (2 rows), the rest below.
    assert_eq!(heights(2, 40), [4, 41, 0]);
    // Both overflow: the usual proportions.
    assert_eq!(heights(100, 40), [27, 18, 0]);
    // Empty: a row to say so (rounded up to the 4-row step).
    assert_eq!(heights(0, 0), [4, 41, 0]);
    // The log keeps its share; the others split the rest.
    let mut app = with_counts(6, 3);
    app.show_log = true;
    assert_eq!(view::pane_heights(&app, 160, 45), [8, 26, 11]);
}

#[test]
fn a_running_count_moving_by_one_does_not_move_the_panes() {
    // 7 to 10 rows: one height (12 = 10 rounded up to the 4-row step).
    for running in 7..=10 {
        assert_eq!(
            view::pane_heights(&with_counts(running, 3), 160, 45),
            [12, 33, 0],
            "{running} rows"
        );
    }
    assert_eq!(
        view::pane_heights(&with_counts(11, 3), 160, 45),
        [16, 29, 0]
    );
}

#[test]
fn page_keys_move_by_the_rows_each_pane_shows_now() {
    let app = sized(with_counts(6, 3), 160, 48);
    assert_eq!(app.rows_of(Pane::Running), 6);
    assert_eq!(app.rows_of(Pane::Findings), 35);
    let app = sized(with_counts(100, 3), 160, 48);
    assert_eq!(app.rows_of(Pane::Running), 34);
    assert_eq!(app.rows_of(Pane::Findings), 7);
}

/// A fleet like the demo's: names of 5 to 9 letters, reasons of up to 67.
fn demo_like() -> App {
    let mut app = sample::app(false);
    let mut snap = sample::sample_snapshot(sample::now());
    let exec = |id: &str, name: &str, group: &str, age: i64| {
        let mut e = sample::execution(id, Status::Running, age);
        e.name = Some(name.into());
        e.group = Some(group.into());
        Arc::new(e)
    };
    snap.active = vec![
        exec("242", "nightly-1", "instance-b", 90_000),
        exec("241", "nightly-0", "instance-a", 79_140),
        exec("243", "nightly-2", "instance-c", 17_940),
        exec("244", "nightly-3", "instance-d", 10_740),
        exec("245", "job-0", "instance-b", 6),
        exec("246", "job-1", "instance-d", 4),
        exec("247", "job-2", "instance-c", 3),
    ]
    .into();
    let base = snap.findings[0].clone();
    let finding = |kind, id: &str, action, reason: &str| {
        let mut f = base.clone();
        f.kind = kind;
        f.execution_id = Some(id.into());
        f.suggested_action = action;
        f.reason = reason.into();
        f.reason_age_len = 0;
        f
    };
    snap.findings = Arc::new(vec![
        finding(
            FindingKind::Stuck,
            "242",
            SuggestedAction::MarkFailed,
            "over max_runtime 24h, remote running",
        ),
        finding(
            FindingKind::MissingRemoteId,
            "244",
            SuggestedAction::MarkFailed,
            "over pending_stuck 1h",
        ),
        finding(
            FindingKind::StatusMismatch,
            "243",
            SuggestedAction::Reconcile,
            "local running but remote says succeeded (SUCCEEDED), checked 2s ago",
        ),
        finding(
            FindingKind::Stuck,
            "241",
            SuggestedAction::Investigate,
            "over running_stuck 2h, remote running",
        ),
    ]);
    with_snapshot(&mut app, snap);
    sized(app, 160, 48)
}

#[test]
fn at_160x48_short_names_leave_their_width_to_whole_reasons() {
    let app = demo_like();
    let t = draw(&app, 160, 48);
    insta::assert_snapshot!(t.backend());
    let buf = t.backend().buffer();
    // The name column is as wide as "nightly-1" needs (its minimum, 10),
    // not 50.
    let (name_x, header_y) = find(buf, "name");
    let (group_x, _) = find(buf, "group");
    assert_eq!(group_x - name_x, 11);
    // Every reason whole, none cut.
    for reason in [
        "over max_runtime 24h, remote running",
        "over pending_stuck 1h",
        "over running_stuck 2h, remote running",
    ] {
        let (_, y) = find(buf, reason);
        assert!(!row_text(buf, y).contains('…'), "{}", row_text(buf, y));
    }
    // The longest wraps under itself into the rows the pane has to spare.
    let (x, y) = find(buf, "local running but remote says succeeded");
    let (x2, y2) = find(buf, "(SUCCEEDED), checked 2s ago");
    assert_eq!((x2, y2), (x, y + 1), "{}", row_text(buf, y + 1));
    // No big empty block between the panes: the findings' title follows
    // Running's 7 rows after at most 3 blank rows (the 4-row step).
    let (_, last_running) = find(buf, "job-2");
    let (_, findings_title) = find(buf, "Stuck & orphaned 4");
    assert_eq!(last_running, header_y + 7);
    assert!(findings_title - last_running <= 4, "{findings_title}");
    for y in last_running + 1..findings_title {
        assert_eq!(row_text(buf, y).trim(), "", "row {y}");
    }
}

#[test]
fn a_long_name_is_capped_and_marked_cut() {
    let mut app = sample::app(false);
    let mut snap = sample::sample_snapshot(sample::now());
    let mut active: Vec<_> = snap.active.to_vec();
    Arc::make_mut(&mut active[0]).name =
        Some("a-very-long-nightly-export-name-of-sixty-characters-or-more".into());
    snap.active = active.into();
    with_snapshot(&mut app, snap);
    let app = sized(app, 160, 48);
    let t = draw(&app, 160, 48);
    let buf = t.backend().buffer();
    let (name_x, _) = find(buf, "name");
    let (group_x, _) = find(buf, "group");
    assert_eq!(group_x - name_x, 41, "capped at 40");
    let (x, y) = find(buf, "a-very-long");
    let cell: String = row_text(buf, y)
        .chars()
        .skip(usize::from(x))
        .take(41)
        .collect();
    assert_eq!(cell, "a-very-long-nightly-export-name-of-sixt… ");
    // At 80×24 the same name still leaves the other columns whole.
    let app = sized(app, 80, 24);
    let t = draw(&app, 80, 24);
    let buf = t.backend().buffer();
    find(buf, "remote id");
    let (_, y) = find(buf, "a-very-long");
    let row = row_text(buf, y);
    assert!(
        row.contains('…') && row.contains("running") && row.contains("22h"),
        "{row}"
    );
}

#[test]
fn a_reason_wraps_only_where_every_finding_fits_wrapped() {
    let app = sized(sample::app(false), 100, 30);
    // 4 rows for 3 findings: the long reason takes two.
    let t = draw_part(&app, 100, 6, findings::render);
    let buf = t.backend().buffer();
    let (x, y) = find(buf, "remote says succeeded since 8s ago; local still");
    assert_eq!(find(buf, "running   ").1, y + 1);
    assert_eq!(row_text(buf, y + 1).find("running"), Some(usize::from(x)));
    // 3 rows: no room to wrap, so it is cut, and says so.
    let t = draw_part(&app, 100, 5, findings::render);
    let buf = t.backend().buffer();
    let (_, y) = find(buf, "remote says succeeded since 8s ago; local still…");
    assert!(row_text(buf, y + 1).contains("remote_only"));
}

#[test]
fn at_80x24_the_rows_under_running_go_to_the_error_rates_wrapped_lines() {
    let app = sized(demo_like(), 80, 24);
    let t = draw(&app, 80, 24);
    let buf = t.backend().buffer();
    // Running's 7 rows and then at once the findings: the 4-row step is
    // dropped, its 3 rows would leave the error rates' lines cut.
    let (_, last_running) = find(buf, "job-2");
    let (_, findings_title) = find(buf, "Stuck & orphaned 4");
    assert_eq!(findings_title, last_running + 1);
    let (x, y) = find(buf, "classes timeout 6 · network 3");
    // The rest of the line wraps under it, past its 8-cell label.
    let next: String = row_text(buf, y + 1)
        .chars()
        .skip(usize::from(x) + 8)
        .take(9)
        .collect();
    assert_eq!(next, "· query 1");
    find(buf, "reports 2/100 2.0%");
    assert!(!screen(buf).contains('…'), "{}", screen(buf));
}

#[test]
fn the_error_rates_wrap_the_lines_they_have_rows_for_and_cut_the_rest() {
    let app = sized(sample::app(false), 80, 24);
    // 4 rows under the sparkline for the alert, classes (2 wrapped) and
    // groups (2 wrapped): the classes wrap, the groups are cut.
    let t = draw_part(&app, 32, 10, super::render::error_rates::render);
    let buf = t.backend().buffer();
    let (_, y) = find(buf, "classes timeout 6 · network 3");
    assert!(row_text(buf, y + 1).contains("· query 1"));
    let (_, groups) = find(buf, "groups  etl 8/200 4.0%…");
    assert_eq!(groups, y + 2);
}
