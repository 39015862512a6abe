//! `[[commands]]` keys and answers: the selected row's command rendered,
//! refused read-only when it changes something, confirmed with the same
//! yes as an action, then run, copied or opened by the edge (`Effect`s);
//! the outcome fills the output popup.

use super::Effect;
use crate::domain::row_command::{Rendered, RunMode};
use crate::tui::keymap::{Command, Input};
use crate::tui::popup::Popup;
use crate::tui::row_commands::{
    CommandEvent, OpenRequest, Opened, OutputView, PendingRun, RunRequest,
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
    let execution_id = row.id.clone();
    let rendered = match command.render(row) {
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
/// it was closed meanwhile, the footer says how the run ended.
pub(super) fn on_event(app: &mut App, event: CommandEvent) {
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
    }
}
