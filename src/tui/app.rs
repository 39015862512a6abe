//! The one owner of UI state, and `update`: the pure state machine that
//! turns messages (keys, ticks, monitor events, action results) into state
//! changes and effects. No IO here; `run` performs the effects.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::domain::{Execution, Finding};
use crate::monitor::{MonitorControl, MonitorEvent, PollSource, Snapshot};

use super::keymap::{Action, Keymap};
pub use super::popup::Popup;
use super::render::popup::ScrollRoom;
use super::request::request_action;
pub use super::request::{
    ActionCommand, ActionEvent, ActionKind, ActionPreview, ActionReport, ActionRequest,
    ActionTarget, PreviewRow, ReportRow,
};
use super::theme::Theme;
use super::view::{self, SortColumn};

/// Refresh intervals `+`/`-` step through.
pub const INTERVAL_STEPS: [u64; 10] = [1, 2, 3, 5, 10, 15, 30, 60, 120, 300];

#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Resize { width: u16, height: u16 },
    Tick(DateTime<Utc>),
    Monitor(MonitorEvent),
    Action(ActionEvent),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    SendControl(MonitorControl),
    CopyToClipboard(String),
    Action(ActionCommand),
    Quit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Running,
    Findings,
    ErrorRates,
    Log,
}

/// A scrolled list: the cursor index into the visible rows, and the first row drawn.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListState {
    pub selected: usize,
    pub offset: usize,
}

/// A poll failure that arrived after the last good snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub error: String,
    pub at: DateTime<Utc>,
}

/// How the App starts: everything that comes from configuration.
#[derive(Debug, Clone)]
pub struct AppSettings {
    pub read_only: bool,
    /// Why exectop cannot write here though nobody asked for read-only (no
    /// UPDATE privilege, no audit table, an id that is not unique): shown
    /// in the header and in every refusal. Implies `read_only`.
    pub no_write_access: Option<String>,
    pub interval: Duration,
    pub keymap: Keymap,
    pub theme: Theme,
    /// A remote tracker is configured: the Running pane has a column for
    /// its answers, and the sort key cycles through it.
    pub remote: bool,
}

impl AppSettings {
    /// From the configuration (`[ui]`) and the `--read-only` flag.
    pub fn from_config(config: &crate::config::Config, read_only: bool) -> Result<Self, String> {
        Ok(AppSettings {
            read_only: read_only || config.ui.read_only,
            no_write_access: None,
            interval: config.database_interval(),
            keymap: Keymap::from_config(&config.ui.keys)?,
            theme: Theme::from_env(),
            remote: config.remote.kind != crate::config::RemoteKind::None,
        })
    }
}

pub struct App {
    pub now: DateTime<Utc>,
    pub snapshot: Arc<Snapshot>,
    pub has_snapshot: bool,
    pub settings: AppSettings,
    pub interval: Duration,
    pub paused: bool,
    pub focus: Pane,
    pub show_log: bool,
    pub popup: Option<Popup>,
    /// Lines the open popup is scrolled by.
    pub popup_scroll: u16,
    /// Indices into `snapshot.active`, filtered and sorted.
    pub view: Vec<usize>,
    pub running: ListState,
    pub findings: ListState,
    pub sort: SortColumn,
    pub sort_reverse: bool,
    pub filter: String,
    pub filter_editing: bool,
    /// Execution ids picked with space.
    pub marked: BTreeSet<String>,
    /// `A` was pressed: the next `r`/`f` applies to the whole filtered set.
    pub bulk_armed: bool,
    pub message: Option<(String, DateTime<Utc>)>,
    pub db_failure: Option<Failure>,
    pub remote_failure: Option<Failure>,
    pub size: (u16, u16),
    pub dirty: bool,
    /// When the screen was last drawn (`clock::tick`).
    pub drawn_at: DateTime<Utc>,
    /// Until when some age in the panes is under a minute (`clock`).
    pub ages_in_seconds_until: Option<DateTime<Utc>>,
    /// Ids of action requests; only the answer to the latest counts.
    pub request_seq: u64,
    pub pending_request: Option<u64>,
}

impl App {
    pub fn new(settings: AppSettings, now: DateTime<Utc>) -> App {
        App {
            now,
            snapshot: Arc::new(Snapshot::default()),
            has_snapshot: false,
            interval: settings.interval,
            settings,
            paused: false,
            focus: Pane::Running,
            show_log: false,
            popup: None,
            popup_scroll: 0,
            view: Vec::new(),
            running: ListState::default(),
            findings: ListState::default(),
            sort: SortColumn::Age,
            sort_reverse: false,
            filter: String::new(),
            filter_editing: false,
            marked: BTreeSet::new(),
            bulk_armed: false,
            message: None,
            db_failure: None,
            remote_failure: None,
            size: (80, 24),
            dirty: true,
            drawn_at: now,
            ages_in_seconds_until: None,
            request_seq: 0,
            pending_request: None,
        }
    }

    pub fn read_only(&self) -> bool {
        self.settings.read_only || self.settings.no_write_access.is_some()
    }

    /// Says why a write key does nothing.
    pub fn refuse_write(&mut self) {
        let why = match &self.settings.no_write_access {
            Some(why) => format!("read-only ({why}): writes are disabled"),
            None => "read-only: writes are disabled".to_string(),
        };
        self.say(why);
    }

    pub fn keymap(&self) -> &Keymap {
        &self.settings.keymap
    }

    pub fn theme(&self) -> &Theme {
        &self.settings.theme
    }

    pub fn selected_execution(&self) -> Option<&Execution> {
        self.view
            .get(self.running.selected)
            .and_then(|&i| self.snapshot.active.get(i))
            .map(|e| &**e)
    }

    pub fn selected_finding(&self) -> Option<&Finding> {
        self.snapshot.findings.get(self.findings.selected)
    }

    pub fn execution_by_id(&self, id: &str) -> Option<&Execution> {
        self.snapshot
            .active
            .iter()
            .find(|e| e.id == id)
            .map(|e| &**e)
    }

    /// Seconds of staleness of the database data, when it is stale: the last
    /// good poll is older than twice the interval, or a poll failed since.
    pub fn db_stale_seconds(&self) -> Option<i64> {
        if !self.has_snapshot {
            return None;
        }
        let last = self
            .snapshot
            .database
            .last_success
            .unwrap_or(self.snapshot.taken_at);
        let age = (self.now - last).num_seconds().max(0);
        let limit = i64::try_from(self.interval.as_secs().saturating_mul(2)).unwrap_or(i64::MAX);
        // A paused monitor is expected to go quiet; only a failure marks it then.
        let too_old = !self.paused && age > limit;
        (too_old || self.db_failure.is_some()).then_some(age)
    }

    /// Rows a page key moves in the Running pane: its visible rows at this size.
    pub fn page_rows(&self) -> usize {
        self.rows_of(Pane::Running)
    }

    /// Visible rows of a list pane at the current size, as the render lays it out.
    pub fn rows_of(&self, pane: Pane) -> usize {
        let [running, findings] = super::render::list_rows(self.size.1, self.show_log);
        if pane == Pane::Findings {
            findings
        } else {
            running
        }
    }

    /// How far the open popup can scroll at the current size, as the render lays it out.
    pub fn popup_scroll_room(&self) -> Option<ScrollRoom> {
        let screen = ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1);
        super::render::popup::popup_scroll_room(self, screen)
    }

    fn list_len(&self, pane: Pane) -> usize {
        match pane {
            Pane::Running => self.view.len(),
            Pane::Findings => self.snapshot.findings.len(),
            _ => 0,
        }
    }

    fn list_mut(&mut self, pane: Pane) -> Option<&mut ListState> {
        match pane {
            Pane::Running => Some(&mut self.running),
            Pane::Findings => Some(&mut self.findings),
            _ => None,
        }
    }

    fn panes(&self) -> Vec<Pane> {
        let mut p = vec![Pane::Running, Pane::Findings, Pane::ErrorRates];
        if self.show_log {
            p.push(Pane::Log);
        }
        p
    }

    pub(super) fn say(&mut self, text: impl Into<String>) {
        self.message = Some((text.into(), self.now));
    }

    /// Re-filters and re-sorts, keeping the cursor on the same execution id when it still exists.
    pub fn rebuild_view(&mut self) {
        let keep = self.selected_execution().map(|e| e.id.clone());
        self.rebuild_view_keeping(keep);
    }

    fn rebuild_view_keeping(&mut self, keep: Option<String>) {
        self.view =
            view::filtered_sorted(&self.snapshot, &self.filter, self.sort, self.sort_reverse);
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
            self.ages_in_seconds_until = super::clock::ages_in_seconds_until(&self.snapshot);
        }
        if self.snapshot.database.ok {
            self.db_failure = None;
        }
        if self.snapshot.remote_health.as_ref().is_some_and(|h| h.ok) {
            self.remote_failure = None;
        }
        // Marks survive while their row is still shown in either list. Most
        // snapshots find nothing marked: then no set of 100 000 ids is built.
        if !self.marked.is_empty() {
            let snap = &self.snapshot;
            let shown: HashSet<&str> = snap
                .active
                .iter()
                .map(|e| e.id.as_str())
                .chain(
                    snap.findings
                        .iter()
                        .filter_map(|f| f.execution_id.as_deref()),
                )
                .collect();
            self.marked.retain(|id| shown.contains(id.as_str()));
        }
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

fn finding_key(f: &Finding) -> (Option<String>, Option<String>) {
    (f.execution_id.clone(), f.remote_id.clone())
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
            app.scroll_into_view(Pane::Running);
            app.scroll_into_view(Pane::Findings);
            super::popup::fit_scroll(app);
            app.dirty = true;
            Vec::new()
        }
        Msg::Monitor(ev) => {
            on_monitor(app, ev);
            // New data can shorten the detail popup.
            super::popup::fit_scroll(app);
            app.dirty = true;
            Vec::new()
        }
        Msg::Action(event) => {
            app.dirty = true;
            super::flow::on_event(app, event)
        }
        Msg::Key(key) => {
            if key.kind != KeyEventKind::Press {
                return Vec::new();
            }
            // An unbound key changes nothing on screen: no redraw.
            if app.filter_editing || app.keymap().action_for(&key).is_some() {
                app.dirty = true;
            }
            on_key(app, key)
        }
    }
}

fn on_monitor(app: &mut App, ev: MonitorEvent) {
    match ev {
        MonitorEvent::Snapshot(snap) => app.apply_snapshot(snap),
        MonitorEvent::PollFailed { source, error, at } => {
            let failure = Some(Failure { error, at });
            match source {
                PollSource::Database => app.db_failure = failure,
                PollSource::Remote => app.remote_failure = failure,
            }
        }
        MonitorEvent::Schedule { paused, interval } => {
            app.paused = paused;
            app.interval = interval;
        }
    }
}

fn on_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    if app.filter_editing {
        return on_filter_key(app, key);
    }
    if let Some(effects) = super::flow::on_key(app, &key) {
        app.dirty = true;
        return effects;
    }
    let Some(action) = app.keymap().action_for(&key) else {
        return Vec::new();
    };
    if app.popup.is_some() {
        return super::popup::on_key(app, action);
    }
    if app.bulk_armed && !matches!(action, Action::Reconcile | Action::MarkFailed) {
        app.bulk_armed = false;
        app.message = None;
        if action == Action::Close {
            return Vec::new();
        }
    }
    on_action(app, action)
}

fn on_filter_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return vec![Effect::Quit];
    }
    match key.code {
        KeyCode::Esc => {
            app.filter_editing = false;
            app.filter.clear();
            app.rebuild_view();
        }
        KeyCode::Enter => app.filter_editing = false,
        // The list stays navigable while typing.
        KeyCode::Up => move_cursor(app, |s, _, _| s.saturating_sub(1)),
        KeyCode::Down => move_cursor(app, |s, _, _| s + 1),
        KeyCode::Backspace => {
            app.filter.pop();
            app.rebuild_view();
        }
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
            app.filter.push(c);
            app.running.selected = 0;
            app.rebuild_view();
        }
        _ => {}
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

fn on_action(app: &mut App, action: Action) -> Vec<Effect> {
    let in_lists = matches!(app.focus, Pane::Running | Pane::Findings);
    let in_running = app.focus == Pane::Running;
    match action {
        Action::Quit => return vec![Effect::Quit],
        Action::Up if in_lists => move_cursor(app, |s, _, _| s.saturating_sub(1)),
        Action::Down if in_lists => move_cursor(app, |s, _, _| s + 1),
        Action::PageUp if in_lists => move_cursor(app, |s, _, p| s.saturating_sub(p)),
        Action::PageDown if in_lists => move_cursor(app, |s, _, p| s + p),
        Action::Home if in_lists => move_cursor(app, |_, _, _| 0),
        Action::End if in_lists => move_cursor(app, |_, last, _| last),
        Action::NextPane | Action::PrevPane => {
            let panes = app.panes();
            let i = panes.iter().position(|p| *p == app.focus).unwrap_or(0);
            let n = panes.len();
            let next = if action == Action::NextPane {
                (i + 1) % n
            } else {
                (i + n - 1) % n
            };
            app.focus = panes[next];
        }
        Action::Details if in_lists => {
            let has_row = match app.focus {
                Pane::Running => app.selected_execution().is_some(),
                _ => app.selected_finding().is_some(),
            };
            if has_row {
                app.popup = Some(Popup::Detail);
                app.popup_scroll = 0;
            }
        }
        Action::Help => {
            app.popup = Some(Popup::Help);
            app.popup_scroll = 0;
        }
        Action::Audit => return vec![Effect::Action(ActionCommand::LoadAudit)],
        Action::Close => {
            if !app.filter.is_empty() {
                app.filter.clear();
                app.rebuild_view();
            } else if !app.marked.is_empty() {
                app.marked.clear();
            }
        }
        Action::Filter if in_running => app.filter_editing = true,
        Action::Sort if in_running => {
            app.sort = app.sort.next(app.settings.remote);
            app.rebuild_view();
        }
        Action::SortReverse if in_running => {
            app.sort_reverse = !app.sort_reverse;
            app.rebuild_view();
        }
        Action::Pause => {
            app.paused = !app.paused;
            let c = if app.paused {
                MonitorControl::Pause
            } else {
                MonitorControl::Resume
            };
            return vec![Effect::SendControl(c)];
        }
        Action::IntervalUp | Action::IntervalDown => return step_interval(app, action),
        Action::Refresh => {
            app.say("refreshing…");
            return vec![Effect::SendControl(MonitorControl::RefreshNow)];
        }
        Action::ToggleLog => {
            app.show_log = !app.show_log;
            if !app.show_log && app.focus == Pane::Log {
                app.focus = Pane::Running;
            }
        }
        Action::CopyId if in_lists => return copy_selected(app),
        Action::Select if in_lists => toggle_mark(app),
        Action::ActOnFiltered if in_running => {
            if app.read_only() {
                app.refuse_write();
            } else if app.view.is_empty() {
                app.say("nothing to act on: the filtered set is empty");
            } else {
                app.bulk_armed = true;
                app.say(format!(
                    "all {} filtered: r reconcile, f mark failed, esc cancel",
                    app.view.len()
                ));
            }
        }
        Action::Reconcile | Action::MarkFailed => return request_action(app, action),
        _ => {}
    }
    Vec::new()
}

fn step_interval(app: &mut App, action: Action) -> Vec<Effect> {
    let current = app.interval.as_secs();
    let next = if action == Action::IntervalUp {
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
    if let Some(id) = id
        && !app.marked.remove(&id)
    {
        app.marked.insert(id);
    }
    move_cursor(app, |s, _, _| s + 1);
}
