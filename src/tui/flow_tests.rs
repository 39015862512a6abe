//! The action flow's keys and answers: the preview scrolls without being
//! answered, and marks last until an action is applied.

use crossterm::event::KeyCode;

use super::app_tests::{ch, key, planned, popup_room, preview, with_reason};
use super::intent::{ActionCommand, ActionEvent, ActionKind, ActionReport, ReportRow};
use super::popup::Popup;
use super::popup_tests::scroll_keys_move_within_the_text;
use super::sample;
use super::sample::update;
use super::state::App;
use super::update::{Effect, Msg};

fn report(id: u64, rows: &[&str]) -> ActionReport {
    ActionReport {
        request_id: id,
        kind: ActionKind::MarkFailed,
        rows: rows
            .iter()
            .map(|id| ReportRow {
                id: id.to_string(),
                before: "running".into(),
                after: Some("failed".into()),
                applied: Ok(()),
            })
            .collect(),
    }
}

#[test]
fn marks_survive_a_cancelled_or_empty_preview_and_go_once_applied() {
    let mut app = sample::app(false);
    ch(&mut app, ' ');
    ch(&mut app, ' ');
    assert_eq!(app.marks.ids.len(), 2);

    // Cancelled.
    planned(&with_reason(&mut app, 'f', "dead"));
    let p = preview(&app, &[("39", Some("failed")), ("7", Some("failed"))]);
    update(&mut app, Msg::Action(ActionEvent::Planned(p)));
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.popup, None);
    assert_eq!(app.marks.ids.len(), 2, "a cancel keeps the marks");

    // Nothing to change: any key closes it.
    planned(&ch(&mut app, 'r'));
    let p = preview(&app, &[("39", None), ("7", None)]);
    update(&mut app, Msg::Action(ActionEvent::Planned(p)));
    ch(&mut app, 'x');
    assert_eq!(app.popup, None);
    assert_eq!(app.marks.ids.len(), 2, "an empty preview keeps the marks");

    // Applied: the marks on the rows acted on are spent.
    let req = planned(&with_reason(&mut app, 'f', "dead"));
    assert_eq!(
        req.targets.len(),
        2,
        "the request is still built from the marks"
    );
    let id = app.pending_request.unwrap();
    let p = preview(&app, &[("39", Some("failed")), ("7", Some("failed"))]);
    update(&mut app, Msg::Action(ActionEvent::Planned(p)));
    ch(&mut app, '2');
    assert_eq!(
        key(&mut app, KeyCode::Enter),
        [Effect::Action(ActionCommand::Apply { request_id: id })]
    );
    assert_eq!(app.marks.ids.len(), 2, "not spent before the answer");
    update(
        &mut app,
        Msg::Action(ActionEvent::Applied(report(id, &["39", "7"]))),
    );
    assert!(app.marks.ids.is_empty(), "{:?}", app.marks.ids);
}

/// A long preview: 40 rows in a 24-line terminal.
fn long_preview(app: &mut App, changing: usize) {
    app.size = (80, 24);
    planned(&ch(app, 'r'));
    let rows: Vec<(String, Option<&str>)> = (0..40)
        .map(|i| (format!("{i}"), (i < changing).then_some("failed")))
        .collect();
    let rows: Vec<(&str, Option<&str>)> = rows.iter().map(|(i, a)| (i.as_str(), *a)).collect();
    let p = preview(app, &rows);
    update(app, Msg::Action(ActionEvent::Planned(p)));
    assert!(matches!(app.popup, Some(Popup::Preview(_))));
}

#[test]
fn preview_rows_scroll_with_the_scroll_keys_without_answering() {
    for changing in [0, 1, 40] {
        let mut app = sample::app(false);
        long_preview(&mut app, changing);
        scroll_keys_move_within_the_text(&mut app, &format!("{changing} changing"));
    }
}

#[test]
fn preview_answers_are_unchanged_by_scrolling() {
    // One row: y applies after scrolling; any other key is No.
    let mut app = sample::app(false);
    planned(&ch(&mut app, 'r'));
    let id = app.pending_request.unwrap();
    let p = preview(&app, &[("39", Some("failed")), ("7", None)]);
    update(&mut app, Msg::Action(ActionEvent::Planned(p)));
    key(&mut app, KeyCode::End);
    assert_eq!(
        ch(&mut app, 'y'),
        [Effect::Action(ActionCommand::Apply { request_id: id })]
    );
    key(&mut app, KeyCode::Down);
    assert!(
        matches!(app.popup, Some(Popup::Preview(state)) if state.applying),
        "scrolling while applying neither applies again nor closes"
    );

    // Bulk: the count still has to be typed; stray keys neither cancel nor apply.
    let mut app = sample::app(false);
    long_preview(&mut app, 40);
    let id = app.pending_request.unwrap();
    key(&mut app, KeyCode::PageDown);
    assert_eq!(ch(&mut app, 'y'), []);
    ch(&mut app, '4');
    key(&mut app, KeyCode::End);
    ch(&mut app, '0');
    assert_eq!(
        key(&mut app, KeyCode::Enter),
        [Effect::Action(ActionCommand::Apply { request_id: id })]
    );
}

#[test]
fn a_long_result_scrolls_and_still_closes_with_esc() {
    let mut app = sample::app(false);
    app.size = (80, 24);
    app.pending_request = Some(7);
    let ids: Vec<String> = (0..40).map(|i| i.to_string()).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    update(&mut app, Msg::Action(ActionEvent::Applied(report(7, &ids))));
    let max = popup_room(&app).max;
    assert!(max > 0);
    key(&mut app, KeyCode::End);
    assert_eq!(app.popup_scroll, max);
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Up);
    assert_eq!(app.popup_scroll, max - 1, "no scrolling past the end");
    assert!(matches!(app.popup, Some(Popup::Report(_))));
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.popup, None);
}
