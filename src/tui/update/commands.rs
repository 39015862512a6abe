//! `[[commands]]` keys and answers: the selected row's command rendered,
//! refused read-only when it changes something, confirmed with the same
//! yes as an action, then run, copied or opened by the edge (`Effect`s);
//! the outcome fills the output popup. A command that uses context values
//! first asks the edge for the row's context row and is rendered when it
//! comes back, so nothing here reads the database.

use super::Effect;
use crate::domain::Execution;
use crate::domain::row_command::{ContextValues, Rendered, RunMode, field_value};
use crate::tui::keymap::{Command, Input};
use crate::tui::popup::Popup;
use crate::tui::row_commands::{
    CommandEvent, ContextRequest, ContextWait, OpenRequest, Opened, OutputView, PendingRun,
    RunRequest,
};
use crate::tui::state::{App, Pane};

/// The key of `[[commands]]` entry `index`, pressed in the panes.
pub(super) fn on_key(app: &mut App, index: usize) -> Vec<Effect> {
    let Some(command) = app.settings.commands.get(index).cloned() else {
        return Vec::new();
    };
    let name = command.description.clone();
    let row = match app.focus {
        Pane::Findings => match app.selected_finding().map(|f| f.execution_id.clone()) {
            Some(Some(id)) => match app.execution_by_id(&id) {
                Some(row) => row,
                None => {
                    app.say(format!("{name}: execution {id} is not among the rows read"));
                    return Vec::new();
                }
            },
            Some(None) => {
                app.say(format!("{name}: this finding has no execution row"));
                return Vec::new();
            }
            None => return Vec::new(),
        },
        _ => match app.selected_execution() {
            Some(row) => row,
            None => return Vec::new(),
        },
    };
    if command.changes && app.read_only() {
        app.refuse_write();
        return Vec::new();
    }
    let row = row.clone();
    if command.uses_context() {
        return ask_context(app, index, row);
    }
    proceed(app, index, &row, None)
}

/// Asks the edge for the context row of `row`'s key; the command waits in
/// `app.context_wait` (a later command key replaces it).
fn ask_context(app: &mut App, index: usize, row: Execution) -> Vec<Effect> {
    let name = app.settings.commands[index].description.clone();
    // Config checking allows context values only with [remote.context].
    let Some(field) = app.settings.context_key else {
        app.say(format!("{name}: context values need [remote.context]"));
        return Vec::new();
    };
    let Some(key) = field_value(&row, field).filter(|k| !k.is_empty()) else {
        app.say(format!(
            "{name}: the row has no {field} to find its context by (remote.context.key); nothing run"
        ));
        return Vec::new();
    };
    app.command_runs += 1;
    let ask = app.command_runs;
    app.say(format!("{name}: reading the context of {field} {key:?}…"));
    app.context_wait = Some(ContextWait {
        ask,
        index,
        row,
        field,
        key: key.clone(),
    });
    vec![Effect::ReadContext(ContextRequest { ask, key })]
}

/// Renders the command for `row` (and its context row) and goes on as its
/// entry says: the yes first for a changing one, else run, copy or open.
fn proceed(
    app: &mut App,
    index: usize,
    row: &Execution,
    context: Option<&ContextValues>,
) -> Vec<Effect> {
    let Some(command) = app.settings.commands.get(index).cloned() else {
        return Vec::new();
    };
    let name = command.description.clone();
    let execution_id = row.id.clone();
    let rendered = match command.render(row, context) {
        Ok(r) => r,
        Err(e) => {
            app.say(format!("{name}: {e}"));
            return Vec::new();
        }
    };
    if command.changes {
        app.popup = Some(Popup::CommandConfirm(PendingRun {
            index,
            execution_id,
            rendered,
        }));
        app.popup_scroll = 0;
        return Vec::new();
    }
    start(app, index, execution_id, rendered)
}

/// Keys while a changing command waits for its yes: the confirming key
/// runs it, any other leaves without running anything.
pub(super) fn on_confirm_input(app: &mut App, input: Input) -> Vec<Effect> {
    let Some(Popup::CommandConfirm(pending)) = app.popup.take() else {
        return Vec::new();
    };
    match input {
        Input::Command(Command::Confirm) => {
            start(app, pending.index, pending.execution_id, pending.rendered)
        }
        Input::Command(Command::Interrupt) => vec![Effect::Quit],
        _ => {
            app.say("cancelled: nothing run");
            Vec::new()
        }
    }
}

fn start(app: &mut App, index: usize, execution_id: String, rendered: Rendered) -> Vec<Effect> {
    let Some(command) = app.settings.commands.get(index).cloned() else {
        return Vec::new();
    };
    let description = command.description;
    match (command.run, rendered) {
        (RunMode::Open, Rendered::Url(url)) => vec![Effect::OpenUrl(OpenRequest {
            description,
            execution_id,
            url,
        })],
        (RunMode::Copy, rendered) | (RunMode::Open, rendered) => {
            app.say(format!("copied {description} for {execution_id}"));
            vec![Effect::CopyToClipboard(rendered.text())]
        }
        (RunMode::Show, rendered) => {
            app.command_runs += 1;
            let run = app.command_runs;
            app.popup = Some(Popup::CommandOutput(OutputView {
                run,
                description: description.clone(),
                execution_id: execution_id.clone(),
                timeout: command.timeout,
                outcome: None,
            }));
            app.popup_scroll = 0;
            vec![Effect::RunCommand(RunRequest {
                run,
                description,
                execution_id,
                rendered,
                timeout: command.timeout,
            })]
        }
    }
}

/// An answer from the edge: the output popup waiting for it is filled; if
/// it was closed meanwhile, the footer says how the run ended. A context
/// row goes on to the command that waited for it.
pub(super) fn on_event(app: &mut App, event: CommandEvent) -> Vec<Effect> {
    match event {
        CommandEvent::Finished {
            run,
            description,
            execution_id,
            outcome,
        } => match app.popup.as_mut() {
            Some(Popup::CommandOutput(view)) if view.run == run => view.outcome = Some(outcome),
            _ => app.say(format!("{description} on {execution_id}: {}", outcome.exit)),
        },
        CommandEvent::Opened { description, how } => app.say(match how {
            Opened::By(opener) => format!("{description}: opened with {opener}"),
            Opened::Copied => format!("{description}: no desktop opener here; copied the URL"),
            Opened::Failed(why) => format!("{description}: could not open: {why}"),
        }),
        CommandEvent::Context { ask, answer } => return on_context(app, ask, answer),
    }
    Vec::new()
}

/// The context row a command waited for: it goes on as if its key had
/// just been pressed, or the footer says why nothing runs.
fn on_context(
    app: &mut App,
    ask: u64,
    answer: Result<Option<std::sync::Arc<ContextValues>>, String>,
) -> Vec<Effect> {
    // An answer to a key pressed before the latest is left alone.
    let Some(wait) = app.context_wait.take_if(|w| w.ask == ask) else {
        return Vec::new();
    };
    let Some(command) = app.settings.commands.get(wait.index) else {
        return Vec::new();
    };
    let name = command.description.clone();
    if app.popup.is_some() {
        app.say(format!(
            "{name}: not run: a popup opened while its context was read"
        ));
        return Vec::new();
    }
    match answer {
        Ok(Some(context)) => {
            // "reading the context…" is over; what follows says its own.
            app.message = None;
            proceed(app, wait.index, &wait.row, Some(&context))
        }
        Ok(None) => {
            app.say(format!(
                "{name}: the context query gives no row for {} {:?}; nothing run",
                wait.field, wait.key
            ));
            Vec::new()
        }
        Err(why) => {
            app.say(format!("{name}: {why}; nothing run"));
            Vec::new()
        }
    }
}
