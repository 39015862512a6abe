//! Every popup scrolls the same way: never past its last line, whatever was
//! pressed before, and never further than the terminal's current size needs.

use crossterm::event::KeyCode;

use super::app_tests::{key, popup_room};
use super::intent::{ActionEvent, ActionKind, ActionReport, ReportRow};
use super::keymap::Command;
use super::render_layout_tests;
use super::render_tests::{draw, press, sized};
use super::sample;
use super::sample::update;
use super::scroll::ScrollRoom;
use super::state::App;
use super::update::Msg;
use crate::store::AuditEntry;

const WIDTH: u16 = 80;
const HEIGHT: u16 = 24;
/// Tall enough for every case's whole text.
const TALL: u16 = 100;

/// A popup that does not fit in 80×24, and a line from each end of its text.
struct Case {
    name: &'static str,
    open: fn(&mut App),
    first: &'static str,
    last: &'static str,
}

fn open_audit(app: &mut App) {
    let entries = (900..940)
        .map(|id| AuditEntry {
            at: Some(sample::now() - chrono::Duration::minutes(940 - id)),
            operator: "alice".into(),
            host: "ops-1".into(),
            action: "mark_failed".into(),
            execution_id: id.to_string(),
            before: Some("running".into()),
            after: Some("failed".into()),
            reason: Some("worker crashed".into()),
            remote_status: None,
        })
        .collect();
    update(app, Msg::Action(ActionEvent::Audit(entries)));
}

fn cases() -> [Case; 3] {
    [
        Case {
            name: "help",
            open: |app| press(app, KeyCode::Char('?')),
            first: Command::Up.description(),
            // The help ends with the keys of the bulk preview.
            last: "type the count of rows",
        },
        Case {
            name: "detail",
            open: |app| press(app, KeyCode::Enter),
            first: "── execution",
            last: "consecutive:",
        },
        Case {
            name: "audit",
            open: open_audit,
            first: " 900 running",
            last: " 939 running",
        },
    ]
}

fn opened(case: &Case, width: u16, height: u16) -> App {
    let mut app = sized(sample::app(false), width, height);
    (case.open)(&mut app);
    assert!(app.popup.is_some(), "{}: did not open", case.name);
    app
}

fn screen(app: &App) -> String {
    let (width, height) = app.size;
    render_layout_tests::screen(draw(app, width, height).backend().buffer())
}

#[test]
fn end_shows_the_last_line_and_home_the_first() {
    for case in cases() {
        let mut app = opened(&case, WIDTH, HEIGHT);
        let top = screen(&app);
        assert!(top.contains(case.first), "{}: opens at the top", case.name);
        assert!(!top.contains(case.last), "{}: fits at 80×24", case.name);

        press(&mut app, KeyCode::End);
        let bottom = screen(&app);
        assert!(bottom.contains(case.last), "{}: End\n{bottom}", case.name);
        assert!(!bottom.contains(case.first), "{}: End", case.name);
        let at_end = app.popup_scroll;
        press(&mut app, KeyCode::Down);
        press(&mut app, KeyCode::PageDown);
        assert_eq!(app.popup_scroll, at_end, "{}: nothing below", case.name);

        press(&mut app, KeyCode::Home);
        assert_eq!(app.popup_scroll, 0, "{}: Home", case.name);
        assert_eq!(screen(&app), top, "{}: Home", case.name);
    }
}

#[test]
fn up_after_pressing_down_past_the_end_moves_at_once() {
    for case in cases() {
        let mut reference = opened(&case, WIDTH, HEIGHT);
        press(&mut reference, KeyCode::End);
        press(&mut reference, KeyCode::Up);

        let mut app = opened(&case, WIDTH, HEIGHT);
        for _ in 0..60 {
            press(&mut app, KeyCode::Down);
            press(&mut app, KeyCode::Char('j'));
        }
        for _ in 0..5 {
            press(&mut app, KeyCode::PageDown);
        }
        let past_the_end = screen(&app);
        press(&mut app, KeyCode::Up);
        let up = screen(&app);
        assert_ne!(up, past_the_end, "{}: Up did not move", case.name);
        assert_eq!(up, screen(&reference), "{}: one line up", case.name);
        assert_eq!(app.popup_scroll, reference.popup_scroll, "{}", case.name);
    }
}

#[test]
fn a_resize_that_makes_the_text_fit_resets_the_scroll() {
    for case in cases() {
        let mut app = opened(&case, WIDTH, HEIGHT);
        for _ in 0..3 {
            press(&mut app, KeyCode::Down);
        }
        press(&mut app, KeyCode::End);
        assert!(app.popup_scroll > 0, "{}", case.name);

        update(
            &mut app,
            Msg::Resize {
                width: WIDTH,
                height: TALL,
            },
        );
        assert_eq!(app.popup_scroll, 0, "{}: everything fits", case.name);
        let whole = screen(&app);
        assert!(
            whole.contains(case.first) && whole.contains(case.last),
            "{}: the whole text\n{whole}",
            case.name
        );

        // Back to the small size: the scroll starts again from the top.
        update(
            &mut app,
            Msg::Resize {
                width: WIDTH,
                height: HEIGHT,
            },
        );
        press(&mut app, KeyCode::Down);
        assert_eq!(app.popup_scroll, 1, "{}", case.name);
    }
}

#[test]
fn a_resize_that_shortens_the_text_keeps_the_last_line_at_the_bottom() {
    for case in cases() {
        let mut app = opened(&case, WIDTH, HEIGHT);
        press(&mut app, KeyCode::End);
        let small_end = app.popup_scroll;
        update(
            &mut app,
            Msg::Resize {
                width: WIDTH,
                height: HEIGHT + 2,
            },
        );
        assert!(app.popup_scroll < small_end, "{}: clamped", case.name);
        let shown = screen(&app);
        assert!(shown.contains(case.last), "{}\n{shown}", case.name);
        press(&mut app, KeyCode::Up);
        assert!(!screen(&app).contains(case.last), "{}: Up", case.name);
    }
}

/// Every scroll key, from the top, on an open popup that scrolls: each
/// moves the text, none past either end, none answers or closes the popup.
pub(super) fn scroll_keys_move_within_the_text(app: &mut App, name: &str) {
    let ScrollRoom { page, max } = popup_room(app);
    assert!(max > 1, "{name}: scrolls by more than a line");
    let kind = std::mem::discriminant(app.popup.as_ref().unwrap());
    for (code, want) in [
        (KeyCode::Down, 1),
        (KeyCode::Char('j'), 2),
        (KeyCode::Char('k'), 1),
        (KeyCode::Up, 0),
        (KeyCode::Up, 0),
        (KeyCode::PageDown, page.min(max)),
        (KeyCode::End, max),
        (KeyCode::Down, max),
        (KeyCode::PageDown, max),
        (KeyCode::Up, max - 1),
        (KeyCode::PageUp, (max - 1).saturating_sub(page)),
        (KeyCode::Home, 0),
    ] {
        assert_eq!(key(app, code), [], "{name}: {code:?}");
        assert_eq!(app.popup_scroll, want, "{name}: {code:?}");
        assert_eq!(
            app.popup.as_ref().map(std::mem::discriminant),
            Some(kind),
            "{name}: {code:?} closed the popup"
        );
    }
}

#[test]
fn every_popup_takes_the_same_scroll_keys() {
    for case in cases() {
        let mut app = opened(&case, WIDTH, HEIGHT);
        scroll_keys_move_within_the_text(&mut app, case.name);
    }
    let mut app = sized(sample::app(false), WIDTH, HEIGHT);
    app.pending_request = Some(7);
    let report = ActionReport {
        request_id: 7,
        kind: ActionKind::Reconcile,
        rows: (0..40)
            .map(|i| ReportRow {
                id: i.to_string(),
                before: "running".into(),
                after: Some("succeeded".into()),
                applied: Ok(()),
            })
            .collect(),
    };
    update(&mut app, Msg::Action(ActionEvent::Applied(report)));
    scroll_keys_move_within_the_text(&mut app, "result");
}
