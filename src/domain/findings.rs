//! The findings engine: from local records and remote observations to the
//! list of executions that are stuck, orphaned or out of step with the
//! remote. Pure: the caller supplies `now`.
//!
//! One execution yields at most one finding, the most telling one, so that a
//! row is never listed twice and precision can be scored per execution. The
//! precedence is the order of the rules in `rules::RULES`. Boundaries are
//! strict: an execution exactly at a threshold has not crossed it; one second
//! past has.

mod rules;
#[cfg(test)]
mod rules_tests;

use std::borrow::Borrow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use self::rules::{Facts, RULES, Spelled, secs};
use super::duration::format_age;
use super::execution::{Execution, RemoteExecution};
use super::history::RemoteHistory;
use super::limits::{LimitSource, PerJob};
use super::status::Status;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    StatusMismatch,
    MissingRemoteId,
    RemoteNotFound,
    RemoteOnly,
    Stuck,
    StaleHeartbeat,
    PollFailing,
    RemoteStillRunning,
    /// Running longer than its job's learned limit (a multiple of its p95).
    Overdue,
}

impl FindingKind {
    pub const ALL: [FindingKind; 9] = [
        FindingKind::StatusMismatch,
        FindingKind::MissingRemoteId,
        FindingKind::RemoteNotFound,
        FindingKind::RemoteOnly,
        FindingKind::Stuck,
        FindingKind::StaleHeartbeat,
        FindingKind::PollFailing,
        FindingKind::RemoteStillRunning,
        FindingKind::Overdue,
    ];

    pub fn from_name(name: &str) -> Option<FindingKind> {
        FindingKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::StatusMismatch => "status_mismatch",
            FindingKind::MissingRemoteId => "missing_remote_id",
            FindingKind::RemoteNotFound => "remote_not_found",
            FindingKind::RemoteOnly => "remote_only",
            FindingKind::Stuck => "stuck",
            FindingKind::StaleHeartbeat => "stale_heartbeat",
            FindingKind::PollFailing => "poll_failing",
            FindingKind::RemoteStillRunning => "remote_still_running",
            FindingKind::Overdue => "overdue",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SuggestedAction {
    MarkFailed,
    Reconcile,
    StopRemote,
    Investigate,
    Wait,
}

impl SuggestedAction {
    pub fn as_str(self) -> &'static str {
        match self {
            SuggestedAction::MarkFailed => "mark_failed",
            SuggestedAction::Reconcile => "reconcile",
            SuggestedAction::StopRemote => "stop_remote",
            SuggestedAction::Investigate => "investigate",
            SuggestedAction::Wait => "wait",
        }
    }
}

/// The thresholds that decide when an execution is stuck, stale or
/// unregistered, when a poll is failing, and when long runs are too many.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    pub registration_grace: Duration,
    pub pending_stuck: Duration,
    pub running_stuck: Duration,
    pub max_runtime: Duration,
    pub heartbeat_stale: Duration,
    pub poll_error_limit: u32,
    pub not_found_confirmations: u32,
    pub long_running_age: Duration,
    pub long_running_count: usize,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            registration_grace: Duration::from_secs(45),
            pending_stuck: Duration::from_secs(3_600),
            running_stuck: Duration::from_secs(7_200),
            max_runtime: Duration::from_secs(86_400),
            heartbeat_stale: Duration::from_secs(300),
            poll_error_limit: 5,
            not_found_confirmations: 3,
            long_running_age: Duration::from_secs(3_600),
            long_running_count: 5,
        }
    }
}

/// What the table and the tracker can tell, so the engine never alarms on a
/// column or a tracker that does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Capabilities {
    /// A remote tracker is configured (`kind` is not `none`).
    pub remote: bool,
    /// The table maps a remote id column.
    pub remote_id_column: bool,
    /// The table maps a heartbeat column.
    pub heartbeat_column: bool,
}

/// Everything the engine decides from.
/// `E` and `H` are the executions and histories by value or behind a shared
/// pointer (the live monitor keeps them in `Arc`s so a snapshot copies none).
pub struct FindingInput<'a, E = Execution, H = RemoteHistory, K = String> {
    pub now: DateTime<Utc>,
    /// When the local records were read. What a record lacked (a remote id, a
    /// heartbeat, a final status, any write) is known only up to this moment:
    /// judging it against `now` would count time nobody watched, and call a
    /// finding on a worker that wrote meanwhile. `now` dates the remote's
    /// answers and the findings' ages for display.
    pub local_as_of: DateTime<Utc>,
    pub thresholds: &'a Thresholds,
    pub capabilities: Capabilities,
    /// Active executions, plus recently finished ones the tracker still watches.
    pub executions: &'a [E],
    /// Remote histories by local execution id.
    pub remote: &'a HashMap<K, H>,
    /// Remote executions listed as active that have no local record.
    pub remote_only: &'a [RemoteExecution],
    /// How long the remote must have reported a status further along than the
    /// local record, or the local record must have been silent, before it is
    /// a mismatch: a worker's normal catch-up is not an alarm. exectop passes
    /// the registration grace; a one-shot `check` sees one moment, so for it
    /// only the silence counts.
    pub mismatch_confirmation: Duration,
    /// Per-job rules and learned runtimes; `PerJob::none()` judges every
    /// job by `thresholds`.
    pub per_job: PerJob<'a>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    pub threshold_seconds: Option<u64>,
    pub last_local_update: Option<DateTime<Utc>>,
    pub remote_checked_at: Option<DateTime<Utc>>,
    pub consecutive: Option<u32>,
    /// What the tracker said besides the status (error, cause, start, stop).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote: Option<Arc<crate::domain::RemoteDetail>>,
    /// Where the threshold crossed came from: `[thresholds]`, a per-job
    /// rule, or the job's learned runtimes (with them). Set on the findings
    /// of a job's own limits (stuck, overdue, stale heartbeat, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<LimitSource>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub execution_id: Option<String>,
    pub remote_id: Option<String>,
    /// Shared with the execution: a poll may report 10 000 findings.
    pub name: Option<Arc<str>>,
    pub group: Option<Arc<str>>,
    pub local_status: Option<Status>,
    pub remote_status: Option<Status>,
    pub age_seconds: i64,
    pub reason: String,
    /// How much of `reason` its opening age clause takes ("running for 2h 7m,
    /// "): 0 where it opens with none. Set where the reason is built; not
    /// serialized.
    #[serde(skip)]
    pub reason_age_len: usize,
    pub suggested_action: SuggestedAction,
    pub evidence: Evidence,
}

impl Finding {
    /// The reason less its opening age ("running for 2h 7m, "), for a table
    /// that shows the age in a column of its own: there the clause repeats
    /// the column and, kept from the last evaluation, may lag it by a minute,
    /// while the threshold it pushed off the end of a narrow column is what
    /// the operator needs. Where the clause ends was recorded as the reason
    /// was built (`reason_age_len`).
    pub fn reason_past_age(&self) -> &str {
        self.reason
            .get(self.reason_age_len..)
            .unwrap_or(&self.reason)
    }

    /// Lower is worse: what needs a hand now comes first.
    pub fn severity(&self) -> u8 {
        match self.suggested_action {
            SuggestedAction::MarkFailed => 0,
            SuggestedAction::Reconcile | SuggestedAction::StopRemote => 1,
            SuggestedAction::Investigate => 2,
            SuggestedAction::Wait => 3,
        }
    }
}

/// Every finding, worst first (severity, then oldest, then id).
pub fn find<E, H, K>(input: &FindingInput<'_, E, H, K>) -> Vec<Finding>
where
    E: Borrow<Execution>,
    H: Borrow<RemoteHistory>,
    K: Borrow<str> + std::hash::Hash + Eq,
{
    let spelled = Spelled::all(input.thresholds, input.per_job.rules);
    let mut out: Vec<Finding> = input
        .executions
        .iter()
        .map(Borrow::borrow)
        .filter_map(|e| {
            finding_for(
                input,
                &spelled,
                e,
                input.remote.get(e.id.as_str()).map(Borrow::borrow),
            )
        })
        .collect();
    out.extend(remote_only_findings(input));
    worst_first(out)
}

/// Sorts on small keys and moves each finding once: sorting the findings
/// themselves moved ~250-byte values log n times each and compared ids on
/// every tie, a quarter of the engine's work at 100 000 rows. Ids make every
/// key unique, so an unstable sort is deterministic.
fn worst_first(findings: Vec<Finding>) -> Vec<Finding> {
    let mut order: Vec<(u8, i64, usize)> = findings
        .iter()
        .enumerate()
        .map(|(i, f)| (f.severity(), f.age_seconds, i))
        .collect();
    order.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then_with(|| {
            let (x, y) = (&findings[a.2], &findings[b.2]);
            x.execution_id
                .cmp(&y.execution_id)
                .then_with(|| x.remote_id.cmp(&y.remote_id))
        })
    });
    let mut slots: Vec<Option<Finding>> = findings.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|(_, _, i)| slots[i].take())
        .collect()
}

/// A finding of `kind` on `e`, its reason and its evidence's threshold and
/// count still to be filled in.
fn base(
    kind: FindingKind,
    action: SuggestedAction,
    e: &Execution,
    history: Option<&RemoteHistory>,
    now: DateTime<Utc>,
) -> Finding {
    Finding {
        kind,
        execution_id: Some(e.id.clone()),
        remote_id: e.remote_id.clone(),
        name: e.name.clone(),
        group: e.group.clone(),
        local_status: Some(e.status),
        remote_status: history.and_then(RemoteHistory::remote_status),
        age_seconds: e.age_seconds(now),
        reason: String::new(),
        reason_age_len: 0,
        suggested_action: action,
        evidence: Evidence {
            threshold_seconds: None,
            last_local_update: Some(e.last_local_update()),
            remote_checked_at: history.and_then(RemoteHistory::last_checked_at),
            consecutive: None,
            remote: history.and_then(|h| h.detail().cloned()),
            limit: None,
        },
    }
}

/// The finding of the first rule that holds for `e`, if any.
fn finding_for<E, H, K>(
    input: &FindingInput<'_, E, H, K>,
    spelled: &[Spelled],
    e: &Execution,
    history: Option<&RemoteHistory>,
) -> Option<Finding> {
    if e.status.is_terminal() {
        return remote_still_running(input, e, history);
    }
    if !e.status.is_active() {
        return None;
    }
    let facts = Facts::new(input, spelled, e, history);
    let rule = RULES.iter().find(|rule| (rule.when)(&facts))?;
    Some(rule.finding(&facts))
}

fn remote_still_running<E, H, K>(
    input: &FindingInput<'_, E, H, K>,
    e: &Execution,
    history: Option<&RemoteHistory>,
) -> Option<Finding> {
    let h = history?;
    let (remote, raw) = h.last_status()?;
    if !input.capabilities.remote || !remote.is_active() {
        return None;
    }
    // "Still" running only if the remote said so after the row finished:
    // a report from before (a list walked while the run ended) says nothing.
    if h.reported_at().is_none_or(|at| at < e.finished_at()) {
        return None;
    }
    let since_finished = (input.now - e.finished_at()).num_seconds();
    // The job's own rule, where one fits, as for its active rows.
    let thresholds = input
        .per_job
        .rules
        .rule_for(e.name.as_deref(), e.group.as_deref())
        .map_or(input.thresholds, |(_, rule)| &rule.thresholds);
    let grace = secs(thresholds.registration_grace);
    if since_finished <= grace {
        return None;
    }
    let mut f = base(
        FindingKind::RemoteStillRunning,
        SuggestedAction::StopRemote,
        e,
        history,
        input.now,
    );
    f.evidence.threshold_seconds = Some(thresholds.registration_grace.as_secs());
    f.reason = format!(
        "local {} {} ago but remote still {} ({raw})",
        e.status,
        format_age(since_finished),
        remote
    );
    f.age_seconds = since_finished;
    Some(f)
}

fn remote_only_findings<'a, E, H, K>(
    input: &'a FindingInput<'a, E, H, K>,
) -> impl Iterator<Item = Finding> + 'a {
    let grace = secs(input.thresholds.registration_grace);
    input
        .remote_only
        .iter()
        .filter(move |r| input.capabilities.remote && r.status.is_active())
        .filter_map(move |r| {
            let age = (input.now - r.started_at.unwrap_or(r.first_seen_at)).num_seconds();
            (age > grace).then(|| Finding {
                kind: FindingKind::RemoteOnly,
                execution_id: None,
                remote_id: Some(r.remote_id.clone()),
                name: r.name.as_deref().map(Arc::from),
                group: None,
                local_status: None,
                remote_status: Some(r.status),
                age_seconds: age,
                reason: format!(
                    "remote runs {} ({}) for {} with no local record",
                    r.remote_id,
                    r.raw_status,
                    format_age(age)
                ),
                reason_age_len: 0,
                suggested_action: SuggestedAction::Investigate,
                evidence: Evidence {
                    threshold_seconds: Some(input.thresholds.registration_grace.as_secs()),
                    last_local_update: None,
                    remote_checked_at: Some(r.first_seen_at),
                    consecutive: None,
                    remote: None,
                    limit: None,
                },
            })
        })
}

/// Active counts for the header and `check`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Counts {
    pub pending: usize,
    pub running: usize,
    pub active: usize,
}

pub fn count_active<E: Borrow<Execution>>(executions: &[E]) -> Counts {
    let status = |s: Status| {
        executions
            .iter()
            .filter(|e| (*e).borrow().status == s)
            .count()
    };
    let (pending, running) = (status(Status::Pending), status(Status::Running));
    Counts {
        pending,
        running,
        active: pending + running,
    }
}

/// Whether more than `long_running_count` executions have been running for
/// over `long_running_age`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LongRunningAlert {
    pub running_over_age: usize,
    pub age_seconds: u64,
    pub limit: usize,
    pub firing: bool,
}

pub fn long_running_alert<E: Borrow<Execution>>(
    executions: &[E],
    now: DateTime<Utc>,
    t: &Thresholds,
) -> LongRunningAlert {
    let running_over_age = executions
        .iter()
        .map(Borrow::borrow)
        .filter(|e: &&Execution| {
            e.status == Status::Running && e.age_seconds(now) > secs(t.long_running_age)
        })
        .count();
    LongRunningAlert {
        running_over_age,
        age_seconds: t.long_running_age.as_secs(),
        limit: t.long_running_count,
        firing: running_over_age > t.long_running_count,
    }
}
