//! The panes' keys: moving in the lists, switching panes, sorting,
//! filtering, marking, pausing, the refresh interval, copying an id, and
//! the action keys (which hand over to `act`).

use std::time::Duration;

use super::Effect;
use crate::domain::remote_events::{EventsState, EventsView};
use crate::monitor::MonitorControl;
use crate::remote::LookupTarget;
use crate::tui::filter::FilterStep;
use crate::tui::intent::ActionCommand;
use crate::tui::keymap::{Command, Input};
use crate::tui::popup::Popup;
use crate::tui::state::{App, Pane};

/// Refresh intervals the interval keys step through.
pub const INTERVAL_STEPS: [u64; 10] = [1, 2, 3, 5, 10, 15, 30, 60, 120, 300];

pub(super) fn on_command(app: &mut App, command: Command) -> Vec<Effect> {
    if app.marks.bulk_armed && !matches!(command, Command::Reconcile | Command::MarkFailed) {
        app.marks.bulk_armed = false;
        app.message = None;
        if command == Command::Close {
            return Vec::new();
        }
    }
    on_pane_command(app, command)
}

/// The details of a row with a remote id ask for the tracker's history of
/// it, where the tracker keeps one; only then, so a poll never pays for it.
fn details_opened(app: &mut App) -> Vec<Effect> {
    if !app.settings.remote_events {
        return Vec::new();
    }
    let target = match app.focus {
        Pane::Findings => app.selected_finding().and_then(|f| {
            Some(LookupTarget {
                id: f.execution_id.clone()?,
                remote_id: f.remote_id.clone()?,
                name: f.name.clone(),
                group: f.group.clone(),
            })
        }),
        _ => app.selected_execution().and_then(LookupTarget::of),
    };
    let Some(target) = target.filter(|t| !t.remote_id.is_empty()) else {
        app.remote_events = None;
        return Vec::new();
    };
    app.remote_events = Some(EventsView {
        execution_id: target.id.clone(),
        state: EventsState::Loading,
    });
    vec![Effect::FetchEvents(target)]
}

pub(super) fn on_filter_input(app: &mut App, input: Input) -> Vec<Effect> {
    match app.filter.step(input) {
        FilterStep::Quit => return vec![Effect::Quit],
        FilterStep::Stay => {}
        FilterStep::Typed => {
            app.running.selected = 0;
            app.rebuild_view();
        }
        FilterStep::Changed => app.rebuild_view(),
        FilterStep::Move(Command::Up) => move_cursor(app, |s, _, _| s.saturating_sub(1)),
        FilterStep::Move(_) => move_cursor(app, |s, _, _| s + 1),
    }
    Vec::new()
}

fn move_cursor(app: &mut App, f: impl Fn(usize, usize, usize) -> usize) {
    let pane = app.focus;
    let len = app.list_len(pane);
    let page = app.rows_of(pane);
    if let Some(list) = app.list_mut(pane) {
        list.selected = f(list.selected, len.saturating_sub(1), page).min(len.saturating_sub(1));
    }
    app.scroll_into_view(pane);
}

fn on_pane_command(app: &mut App, action: Command) -> Vec<Effect> {
    let in_lists = matches!(app.focus, Pane::Running | Pane::Findings);
    let in_running = app.focus == Pane::Running;
    match action {
        Command::Quit => return vec![Effect::Quit],
        Command::Up if in_lists => move_cursor(app, |s, _, _| s.saturating_sub(1)),
        Command::Down if in_lists => move_cursor(app, |s, _, _| s + 1),
        Command::PageUp if in_lists => move_cursor(app, |s, _, p| s.saturating_sub(p)),
        Command::PageDown if in_lists => move_cursor(app, |s, _, p| s + p),
        Command::Home if in_lists => move_cursor(app, |_, _, _| 0),
        Command::End if in_lists => move_cursor(app, |_, last, _| last),
        Command::NextPane | Command::PrevPane => {
            let panes = app.panes();
            let i = panes.iter().position(|p| *p == app.focus).unwrap_or(0);
            let n = panes.len();
            let next = if action == Command::NextPane {
                (i + 1) % n
            } else {
                (i + n - 1) % n
            };
            app.focus = panes[next];
        }
        Command::Details if in_lists => {
            let has_row = match app.focus {
                Pane::Running => app.selected_execution().is_some(),
                _ => app.selected_finding().is_some(),
            };
            if has_row {
                app.popup = Some(Popup::Detail);
                app.popup_scroll = 0;
                return details_opened(app);
            }
        }
        Command::Help => {
            app.popup = Some(Popup::Help);
            app.popup_scroll = 0;
        }
        Command::Audit => return vec![Effect::Action(ActionCommand::LoadAudit)],
        Command::Claim | Command::Acknowledge | Command::Snooze | Command::Note if in_lists => {
            return super::act::triage(app, action);
        }
        Command::Close => {
            if !app.filter.text.is_empty() {
                app.filter.text.clear();
                app.rebuild_view();
            } else if !app.marks.ids.is_empty() {
                app.marks.ids.clear();
            }
        }
        Command::Filter if in_running => app.filter.editing = true,
        Command::Sort if in_running => {
            app.sort = app.sort.next(app.settings.remote);
            app.rebuild_view();
        }
        Command::SortReverse if in_running => {
            app.sort_reverse = !app.sort_reverse;
            app.rebuild_view();
        }
        Command::Pause => {
            app.paused = !app.paused;
            let c = if app.paused {
                MonitorControl::Pause
            } else {
                MonitorControl::Resume
            };
            return vec![Effect::SendControl(c)];
        }
        Command::IntervalUp | Command::IntervalDown => return step_interval(app, action),
        Command::Refresh => {
            app.say("refreshing…");
            return vec![Effect::SendControl(MonitorControl::RefreshNow)];
        }
        Command::ToggleLog => {
            app.show_log = !app.show_log;
            if !app.show_log && app.focus == Pane::Log {
                app.focus = Pane::Running;
            }
        }
        Command::CopyId if in_lists => return copy_selected(app),
        Command::Run(index) if in_lists => return super::commands::on_key(app, usize::from(index)),
        Command::Select if in_lists => toggle_mark(app),
        Command::ActOnFiltered if in_running => {
            if app.read_only() {
                app.refuse_write();
            } else if app.view.is_empty() {
                app.say("nothing to act on: the filtered set is empty");
            } else {
                app.marks.bulk_armed = true;
                app.say(format!(
                    "all {} filtered: r reconcile, f mark failed, esc cancel",
                    app.view.len()
                ));
            }
        }
        Command::Reconcile | Command::MarkFailed => return super::act::request_action(app, action),
        _ => {}
    }
    Vec::new()
}

fn step_interval(app: &mut App, action: Command) -> Vec<Effect> {
    let current = app.interval.as_secs();
    let next = if action == Command::IntervalUp {
        INTERVAL_STEPS.iter().copied().find(|s| *s > current)
    } else {
        INTERVAL_STEPS.iter().rev().copied().find(|s| *s < current)
    };
    match next {
        Some(secs) => {
            app.interval = Duration::from_secs(secs);
            app.say(format!("refresh every {secs}s"));
            vec![Effect::SendControl(MonitorControl::SetInterval(
                app.interval,
            ))]
        }
        None => {
            app.say(format!("refresh interval stays at {current}s (limit)"));
            Vec::new()
        }
    }
}

fn selected_id(app: &App) -> Option<String> {
    match app.focus {
        Pane::Findings => app
            .selected_finding()
            .and_then(|f| f.execution_id.clone().or_else(|| f.remote_id.clone())),
        _ => app.selected_execution().map(|e| e.id.clone()),
    }
}

pub(super) fn copy_selected(app: &mut App) -> Vec<Effect> {
    match selected_id(app) {
        Some(id) => {
            app.say(format!("copied {id}"));
            vec![Effect::CopyToClipboard(id)]
        }
        None => Vec::new(),
    }
}

fn toggle_mark(app: &mut App) {
    let id = match app.focus {
        Pane::Findings => app.selected_finding().and_then(|f| f.execution_id.clone()),
        _ => app.selected_execution().map(|e| e.id.clone()),
    };
    if let Some(id) = id {
        app.marks.toggle(id);
    }
    move_cursor(app, |s, _, _| s + 1);
}
