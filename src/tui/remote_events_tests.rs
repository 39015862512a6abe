//! The details ask the tracker for a run's history when they open, once,
//! and draw the answer for the row they show and no other.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::intent::ActionEvent;
use super::render_layout_tests;
use super::render_tests::draw;
use super::sample::{self, update};
use super::state::App;
use super::update::{Effect, Msg};
use crate::domain::remote_events::{EventsState, RecentEvents, RemoteEvent};
use crate::remote::recent::EventsAnswer;

fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
    update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn screen(app: &App) -> String {
    render_layout_tests::screen(draw(app, 120, 60).backend().buffer())
}

fn answer(execution_id: &str) -> ActionEvent {
    let event = |id, kind: &str, state: Option<&str>, error: Option<&str>| RemoteEvent {
        id,
        previous: Some(id - 1),
        at: None,
        kind: kind.into(),
        state: state.map(str::to_string),
        error: error.map(str::to_string),
        cause: error.map(|_| "Lambda timed out after 900 s".to_string()),
    };
    ActionEvent::RemoteEvents(EventsAnswer {
        execution_id: execution_id.into(),
        events: Ok(Arc::new(RecentEvents::newest_first(vec![
            event(1, "ExecutionStarted", None, None),
            event(2, "TaskStateEntered", Some("Export"), None),
            event(3, "TaskFailed", None, Some("Lambda.Timeout")),
            event(4, "ExecutionFailed", None, Some("Lambda.Timeout")),
        ]))),
    })
}

#[test]
fn opening_the_details_asks_once_and_the_answer_for_that_row_is_drawn() {
    let mut app = sample::app(false);
    app.settings.remote_events = true;
    app.size = (120, 60);
    let row = app.selected_execution().unwrap().clone();
    let effects = press(&mut app, KeyCode::Enter);
    let [Effect::FetchEvents(target)] = effects.as_slice() else {
        panic!("one request for the history: {effects:?}")
    };
    assert_eq!(target.id, row.id);
    assert_eq!(Some(&target.remote_id), row.remote_id.as_ref());
    assert!(screen(&app).contains("asking the tracker…"));

    // Another row's answer (details opened before) is not drawn here.
    update(&mut app, Msg::Action(answer("not-this-one")));
    assert_eq!(
        app.remote_events.as_ref().map(|v| &v.state),
        Some(&EventsState::Loading)
    );
    update(&mut app, Msg::Action(answer(&row.id)));
    let screen = screen(&app);
    assert!(
        screen.contains("failed: TaskFailed in state \"Export\""),
        "{screen}"
    );
    assert!(
        screen.contains("cause: Lambda timed out after 900 s"),
        "{screen}"
    );
    let newest = screen.find("ExecutionFailed · Lambda.Timeout").unwrap();
    let oldest = screen.find("ExecutionStarted").unwrap();
    assert!(newest < oldest, "newest first: {screen}");
}

#[test]
fn without_a_history_to_ask_for_nothing_is_asked() {
    // The tracker keeps none (an HTTP status endpoint).
    let mut app = sample::app(false);
    assert_eq!(press(&mut app, KeyCode::Enter), []);
    assert!(!screen(&app).contains("remote history"));
    // A failed request says why, in the details.
    let mut app = sample::app(false);
    app.settings.remote_events = true;
    let id = app.selected_execution().unwrap().id.clone();
    press(&mut app, KeyCode::Enter);
    update(
        &mut app,
        Msg::Action(ActionEvent::RemoteEvents(EventsAnswer {
            execution_id: id,
            events: Err("AccessDeniedException: not authorized (HTTP 400)".into()),
        })),
    );
    assert!(
        screen(&app).contains("not read: AccessDeniedException"),
        "{}",
        screen(&app)
    );
}
