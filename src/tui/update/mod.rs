//! `update`: the one place UI state changes. Messages (keys, ticks, the
//! monitor's snapshots, action answers, the last frame's measures) come in;
//! effects (monitor controls, action commands, the clipboard, quitting) go
//! out for the event loop to perform. Nothing here draws or lays out: what
//! a key needs of the screen arrives as `Msg::Frame`.
//!
//! A key is read in the mode the screen is in (`App::mode`) through the one
//! key table, then handed to the feature that owns that mode.

mod act;
mod commands;
mod panes;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;

use super::intent::{ActionCommand, ActionEvent};
use super::keymap::{Command, Input, Mode};
use super::popup::Popup;
use super::row_commands::{CommandEvent, ContextRequest, OpenRequest, RunRequest};
use super::scroll::FrameFacts;
use super::sort;
use super::state::{App, ListState, Pane, PollFailure};
use crate::domain::Finding;
use crate::monitor::{MonitorControl, MonitorEvent, PollSource, Snapshot};

pub use panes::INTERVAL_STEPS;

#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Resize {
        width: u16,
        height: u16,
    },
    /// What the frame just drawn measured: rows per list, popup scroll room.
    Frame(FrameFacts),
    Tick(DateTime<Utc>),
    Monitor(MonitorEvent),
    Action(ActionEvent),
    /// A `[[commands]]` run ended, or a URL was handed on.
    Command(CommandEvent),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    SendControl(MonitorControl),
    CopyToClipboard(String),
    Action(ActionCommand),
    /// Run a `[[commands]]` entry; its outcome comes back as `Msg::Command`.
    RunCommand(RunRequest),
    /// Hand a URL to the desktop opener, else copy it.
    OpenUrl(OpenRequest),
    /// Ask the tracker for a run's last events (the details just opened);
    /// the answer comes back as `ActionEvent::RemoteEvents`.
    FetchEvents(crate::remote::LookupTarget),
    /// Read the context row of a key for a waiting command; it comes back
    /// as `Msg::Command(CommandEvent::Context)`.
    ReadContext(ContextRequest),
    Quit,
}

/// The state machine. Marks `dirty` only when something visible changed.
pub fn update(app: &mut App, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Tick(now) => {
            super::clock::tick(app, now);
            Vec::new()
        }
        Msg::Resize { width, height } => {
            app.size = (width, height);
            app.dirty = true;
            Vec::new()
        }
        Msg::Frame(facts) => {
            // The frame drawn already showed the lists and the popup where
            // these measures put them: keeping them changes nothing visible.
            app.frame = facts;
            app.scroll_into_view(Pane::Running);
            app.scroll_into_view(Pane::Findings);
            app.popup_scroll = facts
                .popup
                .map_or(app.popup_scroll, |room| room.clamp(app.popup_scroll));
            Vec::new()
        }
        Msg::Monitor(ev) => {
            on_monitor(app, ev);
            app.dirty = true;
            Vec::new()
        }
        Msg::Action(event) => {
            app.dirty = true;
            act::on_event(app, event)
        }
        Msg::Command(event) => {
            app.dirty = true;
            commands::on_event(app, event)
        }
        Msg::Key(key) => {
            let mode = app.mode();
            let Some(input) = app.keymap().input(mode, &key) else {
                return Vec::new();
            };
            // An unbound key changes nothing on screen: no redraw; except
            // that any key answers a preview of one row.
            if input != Input::Unbound || matches!(mode, Mode::Preview) {
                app.dirty = true;
            }
            on_input(app, mode, input)
        }
    }
}

fn on_monitor(app: &mut App, ev: MonitorEvent) {
    match ev {
        MonitorEvent::Snapshot(snap) => app.apply_snapshot(snap),
        MonitorEvent::PollFailed { source, error, at } => {
            let failure = Some(PollFailure { error, at });
            match source {
                PollSource::Database => {
                    if let Some(f) = &failure {
                        app.wall.database_failed(f.at);
                    }
                    app.db_failure = failure;
                }
                PollSource::Remote => app.remote_failure = failure,
            }
        }
        MonitorEvent::Schedule { paused, interval } => {
            app.paused = paused;
            app.interval = interval;
        }
    }
}

fn on_input(app: &mut App, mode: Mode, input: Input) -> Vec<Effect> {
    match mode {
        Mode::Filter => panes::on_filter_input(app, input),
        Mode::Preview if matches!(app.popup, Some(Popup::CommandConfirm(_))) => {
            commands::on_confirm_input(app, input)
        }
        Mode::Reason | Mode::Preview | Mode::Count => act::on_input(app, input),
        Mode::Popup => match input {
            Input::Command(command) => on_popup_command(app, command),
            Input::Text(_) | Input::Unbound => Vec::new(),
        },
        Mode::Panes => match input {
            Input::Command(command) => panes::on_command(app, command),
            Input::Text(_) | Input::Unbound => Vec::new(),
        },
        Mode::Wall => match input {
            Input::Command(command) => on_wall_command(app, command),
            Input::Text(_) | Input::Unbound => Vec::new(),
        },
    }
}

/// The wall screen's keys: quit, and the help popup opened and closed.
/// The keymap gives this mode no other command.
fn on_wall_command(app: &mut App, command: Command) -> Vec<Effect> {
    match command {
        Command::Quit => return vec![Effect::Quit],
        Command::Help if app.popup.is_none() => app.popup = Some(Popup::Help),
        Command::Help | Command::Close => app.popup = None,
        _ => {}
    }
    Vec::new()
}

/// Keys under a popup that neither takes text nor waits for an answer.
fn on_popup_command(app: &mut App, command: Command) -> Vec<Effect> {
    if scroll_popup(app, command) {
        return Vec::new();
    }
    match command {
        Command::Quit => return vec![Effect::Quit],
        Command::CopyId if matches!(app.popup, Some(Popup::Detail)) => {
            return panes::copy_selected(app);
        }
        Command::Close | Command::Help | Command::Details => app.popup = None,
        _ => {}
    }
    Vec::new()
}

/// Moves the open popup's text when `command` scrolls, within the room the
/// last frame measured; false for any other command.
fn scroll_popup(app: &mut App, command: Command) -> bool {
    let room = app.frame.popup.unwrap_or_default();
    match room.scrolled(command, app.popup_scroll) {
        Some(to) => {
            app.popup_scroll = to;
            true
        }
        None => false,
    }
}

fn finding_key(f: &Finding) -> (Option<String>, Option<String>) {
    (f.execution_id.clone(), f.remote_id.clone())
}

/// The changes of state more than one message makes.
impl App {
    /// Says why a write key does nothing.
    pub fn refuse_write(&mut self) {
        let why = match &self.settings.no_write_access {
            Some(why) => format!("read-only ({why}): writes are disabled"),
            None => "read-only: writes are disabled".to_string(),
        };
        self.say(why);
    }

    fn list_mut(&mut self, pane: Pane) -> Option<&mut ListState> {
        match pane {
            Pane::Running => Some(&mut self.running),
            Pane::Findings => Some(&mut self.findings),
            _ => None,
        }
    }

    pub fn say(&mut self, text: impl Into<String>) {
        self.message = Some((text.into(), self.now));
    }

    /// Re-filters and re-sorts, keeping the cursor on the same execution id when it still exists.
    pub fn rebuild_view(&mut self) {
        let keep = self.selected_execution().map(|e| e.id.clone());
        self.rebuild_view_keeping(keep);
    }

    fn rebuild_view_keeping(&mut self, keep: Option<String>) {
        self.view = sort::filtered_sorted(
            &self.snapshot,
            &self.filter.text,
            self.sort,
            self.sort_reverse,
        );
        let index = keep.and_then(|id| {
            self.view
                .iter()
                .position(|&i| self.snapshot.active[i].id == id)
        });
        let len = self.view.len();
        self.running.selected = index
            .unwrap_or(self.running.selected)
            .min(len.saturating_sub(1));
        self.scroll_into_view(Pane::Running);
    }

    fn scroll_into_view(&mut self, pane: Pane) {
        let page = self.rows_of(pane);
        let len = self.list_len(pane);
        if let Some(list) = self.list_mut(pane) {
            if list.selected < list.offset {
                list.offset = list.selected;
            } else if list.selected >= list.offset + page {
                list.offset = list.selected + 1 - page;
            }
            list.offset = list.offset.min(len.saturating_sub(page));
        }
    }

    fn apply_snapshot(&mut self, snap: Arc<Snapshot>) {
        // Read the ids before the old rows go: `view` indexes the old snapshot.
        let keep_finding = self.selected_finding().map(finding_key);
        let keep_running = self.selected_execution().map(|e| e.id.clone());
        // The same rows in the same order, with the same remote answers: the
        // view (a filter and sort over 10 000 rows) stands as it is.
        let same_rows = self.has_snapshot
            && Arc::ptr_eq(&self.snapshot.remote, &snap.remote)
            && (Arc::ptr_eq(&self.snapshot.active, &snap.active)
                || self.snapshot.active.len() == snap.active.len()
                    && self
                        .snapshot
                        .active
                        .iter()
                        .zip(snap.active.iter())
                        .all(|(a, b)| Arc::ptr_eq(a, b)));
        // The same rows and findings have the same youngest age: no scan.
        let same_ages = same_rows
            && Arc::ptr_eq(&self.snapshot.findings, &snap.findings)
            && self.snapshot.findings_at == snap.findings_at;
        self.snapshot = snap;
        self.has_snapshot = true;
        if !same_ages {
            self.ages_in_seconds_until = crate::tui::clock::ages_in_seconds_until(&self.snapshot);
        }
        if self.snapshot.database.ok {
            self.db_failure = None;
        }
        if self.snapshot.remote_health.as_ref().is_some_and(|h| h.ok) {
            self.remote_failure = None;
        }
        self.marks.keep_shown(&self.snapshot);
        self.wall.observe(&self.snapshot);
        if !same_rows {
            self.rebuild_view_keeping(keep_running);
        }
        let len = self.snapshot.findings.len();
        let index = keep_finding.and_then(|k| {
            self.snapshot
                .findings
                .iter()
                .position(|f| finding_key(f) == k)
        });
        self.findings.selected = index
            .unwrap_or(self.findings.selected)
            .min(len.saturating_sub(1));
        self.scroll_into_view(Pane::Findings);
    }
}
