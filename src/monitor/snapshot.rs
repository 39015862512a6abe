//! What one poll cycle knows: the input of the TUI's panes and of `check`.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::domain::triage::{FindingKey, TriageView};
use crate::domain::{
    Counts, ErrorRates, Execution, Finding, JobLimit, JobRules, Learned, LongRunningAlert,
};

/// Health of one source (database or remote tracker).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SourceHealth {
    pub name: String,
    pub ok: bool,
    pub latency_ms: Option<u64>,
    /// The last time a poll of this source succeeded.
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// Remote only: polling paused after repeated failures or throttling.
    pub degraded: bool,
    /// Remote only: its answers look broken (`domain::doubt`), so its
    /// "not found" is not believed; says why.
    pub suspect: Option<String>,
    /// Remote only: why it refuses our credentials, while it does (a failed
    /// token refresh, HTTP 401/403). No finding about any execution comes of it.
    pub auth_failing: Option<String>,
    /// Remote only: listed items without an id where the configuration says.
    pub items_without_id: u64,
    /// Remote only, where instances share one remote poller: whether this
    /// instance asks the remote itself or reads another's answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<RemoteVia>,
}

/// A source's health in one word: one reading for the TUI header, the
/// wall's banners and the agent's `/health`, so they never disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceCondition {
    /// Never asked yet (the remote is asked only once look-ups are due):
    /// nothing is known, so nothing is wrong yet either.
    Waiting,
    Ok,
    /// Polling paused after repeated failures or throttling.
    Degraded,
    /// Answers, but they look broken (most runs "not found" at once).
    Suspect,
    /// Refuses our credentials (a failed token refresh, HTTP 401/403).
    AuthFailing,
    Down,
}

impl SourceCondition {
    pub fn words(self) -> &'static str {
        match self {
            SourceCondition::Waiting => "waiting",
            SourceCondition::Ok => "ok",
            SourceCondition::Degraded => "degraded",
            SourceCondition::Suspect => "suspect",
            SourceCondition::AuthFailing => "auth failing",
            SourceCondition::Down => "down",
        }
    }

    /// Whether it is worth an alert: anything but waiting or ok.
    pub fn is_bad(self) -> bool {
        !matches!(self, SourceCondition::Waiting | SourceCondition::Ok)
    }
}

impl SourceHealth {
    /// The reading of this health; `failed`: its last poll failed since.
    pub fn condition(&self, failed: bool) -> SourceCondition {
        if failed {
            SourceCondition::Down
        } else if self.auth_failing.is_some() {
            SourceCondition::AuthFailing
        } else if self.degraded {
            SourceCondition::Degraded
        } else if self.suspect.is_some() {
            SourceCondition::Suspect
        } else if self.ok {
            SourceCondition::Ok
        } else if self.last_success.is_none() && self.last_error.is_none() {
            SourceCondition::Waiting
        } else {
            SourceCondition::Down
        }
    }
}

/// Who asks the remote for this instance.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemoteVia {
    /// This instance is the poller its scope shares.
    Direct,
    /// Another instance (its host and process) polls; this one reads.
    Poller { holder: String },
}

/// The active executions in the order a snapshot lists them, shared.
pub type ActiveList = Arc<[Arc<Execution>]>;

#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub taken_at: DateTime<Utc>,
    /// Active executions, oldest first; shared with the poller's state, and
    /// with the snapshots before while no row changes: a copy of 10 000
    /// `Arc`s touched 10 000 reference counts in as many cache lines, most of
    /// a quiet poll's CPU.
    pub active: ActiveList,
    pub counts: Counts,
    /// Worst first; shared between snapshots while the rows and answers they
    /// were found in stay the same (`MonitorState::snapshot`).
    pub findings: Arc<Vec<Finding>>,
    /// When the findings were evaluated: their `age_seconds` are as of then.
    pub findings_at: DateTime<Utc>,
    pub error_rates: ErrorRates,
    pub long_running: Option<LongRunningAlert>,
    /// Remote histories by local execution id (for the detail popup).
    /// Shared with the poller's state until its next write (`Histories`).
    pub remote: Arc<crate::monitor::state::Histories>,
    pub database: SourceHealth,
    pub remote_health: Option<SourceHealth>,
    /// Status spellings no mapping covers, with their row counts among rows
    /// created in the last 24 h (`Store::unmapped_statuses`).
    pub unmapped_statuses: Vec<(String, u64)>,
    /// The triage of the findings that have any (`monitor::triage`).
    pub triage: Arc<std::collections::BTreeMap<FindingKey, TriageView>>,
    /// Each job's runtimes as last learned (empty until read, or where
    /// learning is off), for the Running pane's progress and the details.
    pub learned: Arc<Learned>,
    /// The per-job rules and the learning policy the findings used.
    pub job_rules: Arc<JobRules>,
}

impl Snapshot {
    /// A finding's age at `now`: findings are kept while only the clock
    /// moves, and their ages are as of `findings_at`.
    pub fn finding_age(&self, finding: &Finding, now: DateTime<Utc>) -> i64 {
        finding.age_seconds + (now - self.findings_at).num_seconds().max(0)
    }

    /// The triage of a finding, if it has any.
    pub fn triage_of(&self, finding: &Finding) -> Option<&TriageView> {
        if self.triage.is_empty() {
            return None;
        }
        self.triage.get(&FindingKey::of(finding)?)
    }

    /// Whether some job has runs enough to be judged by a learned limit.
    pub fn learns_any_job(&self) -> bool {
        let learning = &self.job_rules.learning;
        learning.enabled
            && self
                .learned
                .by_name
                .values()
                .any(|s| s.runs >= u64::from(learning.min_runs.max(1)))
    }

    /// The limit that judges a running execution: learned from its job's
    /// history, or why not (`JobLimit::Fixed` for any other status).
    pub fn job_limit(&self, e: &Execution) -> JobLimit<'_> {
        if e.status != crate::domain::Status::Running {
            return JobLimit::Fixed;
        }
        let (name, group) = (e.name.as_deref(), e.group.as_deref());
        let rule = self.job_rules.rule_for(name, group).map(|(_, r)| r);
        JobLimit::of(&self.job_rules, &self.learned, rule, name)
    }

    /// When a finding's age counts from.
    pub fn finding_since(&self, finding: &Finding) -> DateTime<Utc> {
        self.findings_at - chrono::Duration::seconds(finding.age_seconds)
    }
}

/// What the UI (or any owner of a running monitor) can ask of the poller.
#[derive(Debug, Clone, PartialEq)]
pub enum MonitorControl {
    Pause,
    Resume,
    /// Poll the database (and due remote look-ups) now, out of schedule.
    RefreshNow,
    /// New database poll interval (the `+`/`-` keys).
    SetInterval(std::time::Duration),
    Shutdown,
}

/// What the poller sends to the task that owns UI state.
#[derive(Debug, Clone)]
pub enum MonitorEvent {
    /// A new complete picture; sent only when something changed or a poll finished.
    Snapshot(std::sync::Arc<Snapshot>),
    /// A poll of one source failed; the last snapshot stays, now stale.
    PollFailed {
        source: PollSource,
        error: String,
        at: DateTime<Utc>,
    },
    /// Polling paused or resumed, or its interval changed.
    Schedule {
        paused: bool,
        interval: std::time::Duration,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollSource {
    Database,
    Remote,
}
