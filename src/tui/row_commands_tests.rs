//! `[[commands]]` through `update`: keys in, effects and popups out. No
//! terminal and nothing run: the edge's part is `runner`'s tests.

use std::time::Duration;

use crossterm::event::KeyCode;

use super::app_tests::{ch, key};
use super::keymap::Keymap;
use super::popup::Popup;
use super::row_commands::{CommandEvent, RunRequest};
use super::sample::{self, now, update};
use super::state::App;
use super::update::{Effect, Msg};
use crate::domain::row_command::{ContextValues, Names, Rendered, RowCommand};
use crate::runner::{Exit, Outcome};

const COMMANDS: &str = r#"
[[commands]]
key = "H"
description = "echo row"
command = ["echo", "{id}", "{name}"]
[[commands]]
key = "C"
description = "copy describe"
run = "copy"
command = ["aws", "describe", "--name", "{name}"]
[[commands]]
key = "X"
description = "restart it"
changes = true
command = ["restart", "{id}"]
[[commands]]
key = "G"
description = "needs an error"
command = ["echo", "{error}"]
[[commands]]
key = "L"
description = "logs"
shell = true
command = "tail {id}"
"#;

fn commands(text: &str) -> Vec<RowCommand> {
    #[derive(serde::Deserialize)]
    struct File {
        commands: Vec<crate::config::commands::CommandConfig>,
    }
    let file: File = toml::from_str(text).unwrap();
    crate::config::commands::resolve(&file.commands, Names::WithContext).unwrap()
}

fn app(read_only: bool) -> App {
    app_with(COMMANDS, read_only)
}

/// An App with the commands of `text`, the sample's rows read.
fn app_with(text: &str, read_only: bool) -> App {
    let cmds = commands(text);
    let mut settings = sample::settings(read_only);
    settings.keymap = Keymap::default().with_commands(&cmds).unwrap();
    settings.commands = cmds.into();
    let mut app = App::new(settings, now());
    let snap = std::sync::Arc::new(sample::sample_snapshot(now()));
    update(
        &mut app,
        Msg::Monitor(crate::monitor::MonitorEvent::Snapshot(snap)),
    );
    app
}

fn selected(app: &App) -> (String, String) {
    let row = app.selected_execution().unwrap();
    (row.id.clone(), row.name.as_deref().unwrap().to_string())
}

fn message(app: &App) -> String {
    app.message
        .as_ref()
        .map(|(m, _)| m.clone())
        .unwrap_or_default()
}

#[test]
fn a_show_key_runs_the_rows_command_and_its_outcome_fills_the_popup() {
    let mut app = app(false);
    let (id, name) = selected(&app);
    let effects = ch(&mut app, 'H');
    let [Effect::RunCommand(request)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    let RunRequest {
        run,
        rendered,
        timeout,
        ..
    } = request.clone();
    assert_eq!(
        rendered,
        Rendered::Argv(vec!["echo".into(), id.clone(), name])
    );
    assert_eq!(timeout, Duration::from_secs(10));
    assert!(matches!(&app.popup, Some(Popup::CommandOutput(v)) if v.outcome.is_none()));

    let outcome = Outcome {
        exit: Exit::Code(0),
        stdout: "hello\n".into(),
        stderr: String::new(),
        truncated: false,
        elapsed: Duration::from_millis(5),
    };
    let finished = |run| CommandEvent::Finished {
        run,
        description: "echo row".into(),
        execution_id: id.clone(),
        outcome: outcome.clone(),
    };
    // An answer of an older run does not fill this popup.
    update(&mut app, Msg::Command(finished(run + 7)));
    assert!(matches!(&app.popup, Some(Popup::CommandOutput(v)) if v.outcome.is_none()));
    update(&mut app, Msg::Command(finished(run)));
    assert!(
        matches!(&app.popup, Some(Popup::CommandOutput(v)) if v.outcome == Some(outcome.clone()))
    );

    // Closed before the answer: the footer tells how it ended.
    key(&mut app, KeyCode::Esc);
    ch(&mut app, 'H');
    key(&mut app, KeyCode::Esc);
    update(&mut app, Msg::Command(finished(run + 1)));
    assert_eq!(message(&app), format!("echo row on {id}: exit 0"));
}

#[test]
fn a_copy_key_copies_the_rendered_command_quoted() {
    let mut app = app(false);
    let (_, name) = selected(&app);
    let effects = ch(&mut app, 'C');
    let quoted = crate::domain::row_command::Rendered::Argv(vec![name]).text();
    assert_eq!(
        effects,
        vec![Effect::CopyToClipboard(format!(
            "aws describe --name {quoted}"
        ))]
    );
    assert!(app.popup.is_none());
}

#[test]
fn a_changing_command_asks_for_yes_and_is_refused_read_only() {
    let mut ro = app(true);
    assert!(ch(&mut ro, 'X').is_empty());
    assert!(ro.popup.is_none());
    assert!(message(&ro).contains("read-only"), "{}", message(&ro));

    let mut app = app(false);
    assert!(ch(&mut app, 'X').is_empty());
    assert!(matches!(app.popup, Some(Popup::CommandConfirm(_))));
    assert!(ch(&mut app, 'n').is_empty());
    assert!(app.popup.is_none());
    assert_eq!(message(&app), "cancelled: nothing run");

    ch(&mut app, 'X');
    let effects = ch(&mut app, 'y');
    assert!(
        matches!(effects.as_slice(), [Effect::RunCommand(_)]),
        "{effects:?}"
    );
}

#[test]
fn an_empty_field_is_named_and_nothing_runs() {
    let mut app = app(false);
    // The sample's first row by age carries an error; find one without.
    while app.selected_execution().is_some_and(|e| e.error.is_some()) {
        key(&mut app, KeyCode::Down);
    }
    assert!(ch(&mut app, 'G').is_empty());
    assert_eq!(
        message(&app),
        "needs an error: field {error} is empty on this row"
    );
}

#[test]
fn command_keys_join_the_key_table_and_a_clash_names_both() {
    let clash =
        commands("[[commands]]\nkey = \"r\"\ndescription = \"history\"\ncommand = [\"x\"]\n");
    assert_eq!(
        Keymap::default().with_commands(&clash).unwrap_err(),
        "commands[0].key: key \"r\" is bound to both \"reconcile\" and the command \"history\""
    );
    let twice = commands(
        "[[commands]]\nkey = \"H\"\ndescription = \"one\"\ncommand = [\"x\"]\n\
         [[commands]]\nkey = \"H\"\ndescription = \"two\"\ncommand = [\"y\"]\n",
    );
    assert_eq!(
        Keymap::default().with_commands(&twice).unwrap_err(),
        "commands[1].key: key \"H\" is bound to both the command \"one\" and the command \"two\""
    );
    let bad =
        commands("[[commands]]\nkey = \"nope-key\"\ndescription = \"d\"\ncommand = [\"x\"]\n");
    assert!(
        Keymap::default()
            .with_commands(&bad)
            .unwrap_err()
            .starts_with("commands[0].key:")
    );
}

#[test]
fn help_lists_the_commands_and_says_which_run_a_shell() {
    let app = app(false);
    let listed: Vec<String> = app
        .keymap()
        .commands()
        .iter()
        .map(|(k, d)| format!("{k} {d}"))
        .collect();
    assert_eq!(listed[0], "H echo row");
    assert_eq!(listed[4], "L logs (runs a shell: sh -c)");
}

const CONTEXT_COMMANDS: &str = r#"
[[commands]]
key = "I"
description = "instance"
command = ["echo", "{instance_id}", "{id}"]
[[commands]]
key = "M"
description = "marketplace"
run = "copy"
url = "https://c.example/{marketplace_id}/{remote_id}"
[[commands]]
key = "X"
description = "restart in instance"
changes = true
command = ["restart", "{instance_id}", "{id}"]
"#;

/// An App whose commands use context values keyed by the row's group.
fn context_app(read_only: bool) -> App {
    let mut app = app_with(CONTEXT_COMMANDS, read_only);
    app.settings.context_key = Some("group");
    app
}

/// The context read a key asked for: its number and key.
fn asked(effects: &[Effect]) -> (u64, String) {
    let [Effect::ReadContext(request)] = effects else {
        panic!("{effects:?}")
    };
    (request.ask, request.key.clone())
}

fn context_row(pairs: &[(&str, &str)]) -> Result<Option<std::sync::Arc<ContextValues>>, String> {
    Ok(Some(std::sync::Arc::new(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )))
}

fn answer(
    app: &mut App,
    ask: u64,
    answer: Result<Option<std::sync::Arc<ContextValues>>, String>,
) -> Vec<Effect> {
    update(app, Msg::Command(CommandEvent::Context { ask, answer }))
}

#[test]
fn a_context_command_asks_for_the_rows_context_then_runs_with_it() {
    let mut app = context_app(false);
    let row = app.selected_execution().unwrap().clone();
    let (ask, group) = asked(&ch(&mut app, 'I'));
    assert_eq!(Some(group.as_str()), row.group.as_deref());
    assert!(
        app.popup.is_none(),
        "nothing runs before the context is read"
    );
    assert!(message(&app).starts_with("instance: reading the context of group"));
    let effects = answer(
        &mut app,
        ask,
        context_row(&[("key", &group), ("instance_id", "amc1")]),
    );
    let [Effect::RunCommand(request)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(
        request.rendered,
        Rendered::Argv(vec!["echo".into(), "amc1".into(), row.id.clone()])
    );
    assert!(matches!(&app.popup, Some(Popup::CommandOutput(v)) if v.outcome.is_none()));
    assert_eq!(message(&app), "", "the reading is over");
    // The answer is taken once.
    key(&mut app, KeyCode::Esc);
    assert!(answer(&mut app, ask, context_row(&[("instance_id", "amc1")])).is_empty());
}

#[test]
fn only_the_latest_keys_context_counts() {
    let mut app = context_app(false);
    let (first, _) = asked(&ch(&mut app, 'I'));
    let (second, key) = asked(&ch(&mut app, 'M'));
    assert!(answer(&mut app, first, context_row(&[("instance_id", "amc1")])).is_empty());
    let effects = answer(
        &mut app,
        second,
        context_row(&[("key", &key), ("marketplace_id", "ATVPDKIKX0DER")]),
    );
    let [Effect::CopyToClipboard(url)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert!(url.starts_with("https://c.example/ATVPDKIKX0DER/"), "{url}");
}

#[test]
fn a_missing_context_row_an_empty_value_and_a_failed_read_are_named() {
    let mut app = context_app(false);
    let (ask, key) = asked(&ch(&mut app, 'I'));
    assert!(answer(&mut app, ask, Ok(None)).is_empty());
    assert_eq!(
        message(&app),
        format!("instance: the context query gives no row for group {key:?}; nothing run")
    );
    let (ask, _) = asked(&ch(&mut app, 'M'));
    assert!(answer(&mut app, ask, context_row(&[("instance_id", "amc1")])).is_empty());
    assert_eq!(
        message(&app),
        "marketplace: context value {marketplace_id} is empty for this row"
    );
    let (ask, _) = asked(&ch(&mut app, 'I'));
    assert!(answer(&mut app, ask, Err("remote.context.query: boom".into())).is_empty());
    assert_eq!(
        message(&app),
        "instance: remote.context.query: boom; nothing run"
    );
    assert!(app.popup.is_none());
}

#[test]
fn a_changing_context_command_is_refused_read_only_before_reading_and_asks_yes_after() {
    let mut ro = context_app(true);
    assert!(ch(&mut ro, 'X').is_empty());
    assert!(message(&ro).contains("read-only"), "{}", message(&ro));

    let mut app = context_app(false);
    let (ask, _) = asked(&ch(&mut app, 'X'));
    assert!(answer(&mut app, ask, context_row(&[("instance_id", "amc1")])).is_empty());
    let Some(Popup::CommandConfirm(pending)) = &app.popup else {
        panic!("{:?}", app.popup)
    };
    assert!(pending.rendered.text().starts_with("restart amc1 "));
    assert!(matches!(
        ch(&mut app, 'y').as_slice(),
        [Effect::RunCommand(_)]
    ));
}

#[test]
fn a_popup_opened_while_the_context_is_read_stops_the_command() {
    let mut app = context_app(false);
    let (ask, _) = asked(&ch(&mut app, 'I'));
    ch(&mut app, '?');
    assert!(matches!(app.popup, Some(Popup::Help)));
    assert!(answer(&mut app, ask, context_row(&[("instance_id", "amc1")])).is_empty());
    assert!(matches!(app.popup, Some(Popup::Help)));
    assert_eq!(
        message(&app),
        "instance: not run: a popup opened while its context was read"
    );
}

#[test]
fn a_row_without_the_key_field_is_named() {
    let mut app = context_app(false);
    app.settings.context_key = Some("error");
    while app.selected_execution().is_some_and(|e| e.error.is_some()) {
        key(&mut app, KeyCode::Down);
    }
    assert!(ch(&mut app, 'I').is_empty());
    assert_eq!(
        message(&app),
        "instance: the row has no error to find its context by (remote.context.key); nothing run"
    );
}
