//! The UI's state: plain data, owned by the event loop and changed only by
//! `update`; the view reads it. The queries here read it; none changes it.

use crate::domain::remote_events::EventsView;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::domain::row_command::RowCommand;
use crate::domain::{Execution, Finding};
use crate::monitor::Snapshot;

use super::filter::FilterEntry;
use super::keymap::{Keymap, Mode};
use super::marks::Marks;
use super::output::OutputKind;
use super::popup::Popup;
use super::scroll::FrameFacts;
use super::sort::SortColumn;
use super::theme::Theme;
use super::wall::WallState;

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
pub struct PollFailure {
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
    pub no_write_access: Option<crate::store::StoreError>,
    pub interval: Duration,
    pub keymap: Keymap,
    pub theme: Theme,
    /// A remote tracker is configured: the Running pane has a column for
    /// its answers, and the sort key cycles through it.
    pub remote: bool,
    /// Which backend writes the frames.
    pub output: OutputKind,
    /// The wall screen (`--wall`) instead of the panes; implies `read_only`.
    pub wall: bool,
    /// `[[commands]]`, by their place (`Command::Run(i)`).
    pub commands: Arc<[RowCommand]>,
    /// The tracker keeps a history of each run: opening the details asks
    /// for its last events (`RemoteTracker::keeps_events`).
    pub remote_events: bool,
    /// The row field whose value is the key of its context row
    /// (`[remote.context] key`), for commands that use context values.
    pub context_key: Option<&'static str>,
}

impl AppSettings {
    /// From the configuration (`[ui]`) and the `--read-only` flag.
    pub fn from_config(config: &crate::config::Config, read_only: bool) -> Result<Self, String> {
        let commands = crate::config::commands::resolve(
            &config.commands,
            crate::config::commands::names_of(config),
        )?;
        let context_key = config
            .remote
            .context
            .as_ref()
            .map(|c| crate::remote::context::RowField::parse(&c.key).map(|f| f.as_str()))
            .transpose()
            .map_err(|e| e.to_string())?;
        Ok(AppSettings {
            read_only: read_only || config.ui.read_only,
            wall: false,
            no_write_access: None,
            interval: config.database_interval(),
            keymap: Keymap::from_config(&config.ui.keys)?.with_commands(&commands)?,
            commands: commands.into(),
            context_key,
            theme: Theme::named(config.ui.theme, Theme::no_color_env()),
            remote: config.remote.kind != crate::config::RemoteKind::None,
            // The caller knows its tracker and says (`remote_events`).
            remote_events: false,
            output: if config.ui.plain_terminal {
                OutputKind::Plain
            } else {
                OutputKind::Quiet
            },
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
    /// `[[commands]]` runs and context reads started, numbering each so its
    /// answer finds its popup or its waiting command.
    pub command_runs: u64,
    /// A command whose key was pressed, waiting for its row's context.
    pub context_wait: Option<super::row_commands::ContextWait>,
    /// Indices into `snapshot.active`, filtered and sorted.
    pub view: Vec<usize>,
    pub running: ListState,
    pub findings: ListState,
    pub sort: SortColumn,
    pub sort_reverse: bool,
    pub filter: FilterEntry,
    pub marks: Marks,
    pub message: Option<(String, DateTime<Utc>)>,
    pub db_failure: Option<PollFailure>,
    pub remote_failure: Option<PollFailure>,
    pub size: (u16, u16),
    /// What the last frame drew that keys depend on (`Msg::Frame`).
    pub frame: FrameFacts,
    pub dirty: bool,
    /// When the screen was last drawn (`clock::tick`).
    pub drawn_at: DateTime<Utc>,
    /// Until when some age in the panes is under a minute (`clock`).
    pub ages_in_seconds_until: Option<DateTime<Utc>>,
    /// Ids of action requests; only the answer to the latest counts.
    pub request_seq: u64,
    pub pending_request: Option<u64>,
    /// What the wall screen remembers (`settings.wall`).
    pub wall: WallState,
    /// The tracker's history of the execution whose details were opened last.
    pub remote_events: Option<EventsView>,
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
            command_runs: 0,
            context_wait: None,
            view: Vec::new(),
            running: ListState::default(),
            findings: ListState::default(),
            sort: SortColumn::Age,
            sort_reverse: false,
            filter: FilterEntry::default(),
            marks: Marks::default(),
            message: None,
            db_failure: None,
            remote_failure: None,
            size: (80, 24),
            frame: FrameFacts::default(),
            dirty: true,
            drawn_at: now,
            ages_in_seconds_until: None,
            request_seq: 0,
            pending_request: None,
            wall: WallState::default(),
            remote_events: None,
        }
    }

    pub fn read_only(&self) -> bool {
        self.settings.read_only || self.settings.no_write_access.is_some() || self.settings.wall
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

    /// Where the keys go now.
    pub fn mode(&self) -> Mode {
        match &self.popup {
            // The wall has one mode, its help popup open or not.
            _ if self.settings.wall => Mode::Wall,
            Some(popup) => popup.mode(),
            None if self.filter.editing => Mode::Filter,
            None => Mode::Panes,
        }
    }

    /// Rows a page key moves in the Running pane: its visible rows in the last frame.
    pub fn page_rows(&self) -> usize {
        self.rows_of(Pane::Running)
    }

    /// Visible rows of a list pane in the last frame.
    pub fn rows_of(&self, pane: Pane) -> usize {
        let [running, findings] = self.frame.list_rows;
        if pane == Pane::Findings {
            findings
        } else {
            running
        }
    }

    pub(super) fn list_len(&self, pane: Pane) -> usize {
        match pane {
            Pane::Running => self.view.len(),
            Pane::Findings => self.snapshot.findings.len(),
            _ => 0,
        }
    }

    pub(super) fn panes(&self) -> Vec<Pane> {
        let mut p = vec![Pane::Running, Pane::Findings, Pane::ErrorRates];
        if self.show_log {
            p.push(Pane::Log);
        }
        p
    }
}
