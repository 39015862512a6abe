//! What the monitor knows between polls, and the scheduling of remote
//! look-ups. No IO here: the poller and the one-shot diagnosis feed it.

use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Duration as Cd, Utc};

use super::snapshot::{Snapshot, SourceHealth};
use crate::domain::{
    Capabilities, ErrorClassifier, ErrorRates, Execution, FindingInput, Observation, RemoteAnswer,
    RemoteExecution, RemoteHistory, Status, Thresholds, error_rates, findings,
};

/// A look-up candidate: (last checked, created, id, remote id).
type Due<'a> = (Option<DateTime<Utc>>, DateTime<Utc>, &'a str, &'a str);

/// How many times a row that turned terminal while watched is looked up
/// again, so a remote run left going is noticed without a list endpoint.
const TERMINAL_RECHECKS: u32 = 2;

#[derive(Debug, Clone)]
pub struct Policy {
    pub thresholds: Thresholds,
    pub classifier: ErrorClassifier,
    pub capabilities: Capabilities,
    pub remote_interval: Duration,
    /// See `FindingInput::mismatch_confirmation`.
    pub mismatch_confirmation: Duration,
}

#[derive(Debug, Clone)]
struct Watched {
    execution: Execution,
    rechecks_left: u32,
}

/// Executions and histories live behind `Arc`s: a snapshot shares them with
/// the state instead of copying 100 000 rows every poll, and a poll keeps the
/// `Arc` of every row that did not change.
#[derive(Debug, Default)]
pub struct MonitorState {
    active: HashMap<String, Arc<Execution>>,
    /// Finished in the last 24 h, for error rates.
    finished: HashMap<String, Execution>,
    /// Terminal rows whose remote side is still being checked.
    watched_terminal: HashMap<String, Watched>,
    histories: HashMap<String, Arc<RemoteHistory>>,
    remote_only: HashMap<String, RemoteExecution>,
    /// When the local rows were last read (see `FindingInput::local_as_of`).
    local_as_of: Option<DateTime<Utc>>,
    pub database: SourceHealth,
    pub remote: Option<SourceHealth>,
    /// See `Snapshot::unmapped_statuses`; refreshed by the caller.
    pub unmapped_statuses: Vec<(String, u64)>,
    /// Error rates counted elsewhere (by the database, for a one-shot check),
    /// in place of computing them from `finished`.
    counted_error_rates: Option<ErrorRates>,
}

impl MonitorState {
    pub fn new(database_name: String, remote_name: Option<String>) -> Self {
        MonitorState {
            database: SourceHealth {
                name: database_name,
                ..Default::default()
            },
            remote: remote_name.map(|name| SourceHealth {
                name,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// Use these error rates instead of computing them from finished rows.
    pub fn set_error_rates(&mut self, rates: ErrorRates) {
        self.counted_error_rates = Some(rates);
    }

    /// The active row with this id, as held now.
    pub fn known(&self, id: &str) -> Option<&Arc<Execution>> {
        self.active.get(id)
    }

    /// The row as the state should hold it: the `Arc` it already has when
    /// nothing changed (so an unchanged row costs no memory), else a new one.
    pub fn reuse(&self, e: Execution) -> Arc<Execution> {
        match self.active.get(&e.id) {
            Some(known) if **known == e => known.clone(),
            _ => Arc::new(e),
        }
    }

    /// Replaces the active set; rows that left it are moved to the finished
    /// window (if `changed` says they finished) and, with a remote id, kept
    /// under watch for a couple of look-ups.
    pub fn apply_database<A: Into<Arc<Execution>>>(
        &mut self,
        active: impl IntoIterator<Item = A>,
        changed: Vec<Execution>,
        finished_window: Option<Vec<Execution>>,
        now: DateTime<Utc>,
    ) {
        let mut next: HashMap<String, Arc<Execution>> = active
            .into_iter()
            .map(|e| {
                let e = e.into();
                (e.id.clone(), e)
            })
            .collect();
        for e in changed {
            if e.status.is_active() {
                if !next.contains_key(&e.id) {
                    let e = self.reuse(e);
                    next.insert(e.id.clone(), e);
                }
            } else if e.status.is_terminal() {
                if self.active.contains_key(&e.id) && e.remote_id.is_some() {
                    self.watched_terminal.insert(
                        e.id.clone(),
                        Watched {
                            execution: e.clone(),
                            rechecks_left: TERMINAL_RECHECKS,
                        },
                    );
                }
                self.finished.insert(e.id.clone(), e);
            }
        }
        if let Some(window) = finished_window {
            self.finished = window.into_iter().map(|e| (e.id.clone(), e)).collect();
        }
        let day_ago = now - Cd::hours(24);
        self.finished.retain(|_, e| e.finished_at() > day_ago);
        self.active = next;
        self.local_as_of = Some(now);
        let (active, watched) = (&self.active, &self.watched_terminal);
        self.histories
            .retain(|id, _| active.contains_key(id) || watched.contains_key(id));
    }

    /// Active executions whose remote is further along than the local record:
    /// the rows whose silence decides a `status_mismatch`.
    pub fn mismatch_candidates(&self) -> Vec<String> {
        self.active
            .values()
            .filter(|e| {
                self.histories
                    .get(&e.id)
                    .and_then(|h| h.remote_status())
                    .is_some_and(|r| r != Status::Unknown && r.progress() > e.status.progress())
            })
            .map(|e| e.id.clone())
            .collect()
    }

    /// Replaces the named active rows with what the database says now: a
    /// worker that caught up meanwhile (a newer write, a final status) is not
    /// a mismatch. `local_as_of` stays the time of the read that covered every
    /// row: the rows not read again are known only as of then.
    pub fn refresh_rows(&mut self, ids: &[String], rows: Vec<Execution>) {
        for id in ids {
            self.active.remove(id);
        }
        for e in rows {
            if e.status.is_active() {
                self.active.insert(e.id.clone(), Arc::new(e));
            } else if e.status.is_terminal() {
                self.finished.insert(e.id.clone(), e);
            }
        }
    }

    /// Puts terminal rows under watch for a couple of look-ups.
    pub fn watch_terminal(&mut self, rows: Vec<crate::domain::Execution>) {
        for e in rows {
            self.watched_terminal
                .entry(e.id.clone())
                .or_insert(Watched {
                    execution: e,
                    rechecks_left: TERMINAL_RECHECKS,
                });
        }
    }

    pub fn history(&self, id: &str) -> Option<&RemoteHistory> {
        self.histories.get(id).map(|h| &**h)
    }

    /// The active set as it stands once `rows`, read because they were
    /// written, replace the ones held: a row no longer active leaves it. What
    /// a poll that read only the changes hands to `apply_database`.
    pub fn active_after(&self, rows: &[Execution]) -> Vec<Arc<Execution>> {
        let written: HashMap<&str, &Execution> = rows.iter().map(|e| (e.id.as_str(), e)).collect();
        let mut active: Vec<Arc<Execution>> = self
            .active
            .values()
            .filter(|e| !written.contains_key(e.id.as_str()))
            .cloned()
            .collect();
        active.extend(
            written
                .into_values()
                .filter(|e| e.status.is_active())
                .map(|e| self.reuse(e.clone())),
        );
        active
    }

    pub fn active_len(&self) -> usize {
        self.active.len()
    }

    /// Look-ups due now: past the registration grace, not checked within the
    /// remote interval, longest-unchecked first, at most `budget`.
    /// `skip` are ids the list endpoint already answered for this round.
    /// Runs every second over every active row: it keeps the `budget` most
    /// overdue as it goes and clones only their ids.
    pub fn due_lookups(
        &self,
        now: DateTime<Utc>,
        policy: &Policy,
        budget: usize,
        skip: &dyn Fn(&str) -> bool,
    ) -> Vec<(String, String)> {
        let grace = Cd::from_std(policy.thresholds.registration_grace).unwrap_or_default();
        let interval = Cd::from_std(policy.remote_interval).unwrap_or_default();
        if budget == 0 {
            return Vec::new();
        }
        let candidates = self
            .active
            .values()
            .filter_map(|e| self.due_entry(e, e.created_at, now, grace, interval, skip))
            .chain(self.watched_terminal.values().filter_map(|w| {
                let e = &w.execution;
                self.due_entry(e, e.finished_at(), now, grace, interval, skip)
            }));
        // A `Due` orders as the queue does: never checked first (None < Some),
        // then the longest ago, then the oldest row. A max-heap capped at the
        // budget keeps the most overdue without collecting every candidate.
        // `budget` may be unbounded (the one-shot check asks for every due row).
        let mut kept: BinaryHeap<Due<'_>> =
            BinaryHeap::with_capacity(budget.saturating_add(1).min(4_096));
        for due in candidates {
            kept.push(due);
            if kept.len() > budget {
                kept.pop();
            }
        }
        kept.into_sorted_vec()
            .into_iter()
            .map(|(_, _, id, rid)| (id.to_string(), rid.to_string()))
            .collect()
    }

    /// One row's place in the look-up queue, if it is due.
    fn due_entry<'s>(
        &'s self,
        e: &'s Execution,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
        grace: Cd,
        interval: Cd,
        skip: &dyn Fn(&str) -> bool,
    ) -> Option<Due<'s>> {
        let remote_id = e.remote_id.as_deref()?;
        if now - since <= grace || skip(remote_id) {
            return None;
        }
        let last = self.histories.get(&e.id).and_then(|h| h.last_checked_at());
        if last.is_some_and(|at| now - at < interval) {
            return None;
        }
        Some((last, e.created_at, e.id.as_str(), remote_id))
    }

    pub fn record(&mut self, id: &str, obs: Observation) {
        if let Some(w) = self.watched_terminal.get_mut(id) {
            w.rechecks_left = w.rechecks_left.saturating_sub(1);
            let still_active =
                matches!(&obs.answer, RemoteAnswer::Found { status, .. } if status.is_active());
            if w.rechecks_left == 0 && !still_active {
                self.watched_terminal.remove(id);
            }
        }
        Arc::make_mut(self.histories.entry(id.to_string()).or_default()).record(obs);
    }

    /// Applies one list of active remote executions: local rows it names are
    /// recorded as seen at that status; terminal local rows it names stay
    /// watched (the remote still runs them); unknown ids become remote-only.
    pub fn apply_list(
        &mut self,
        listed: Vec<RemoteExecution>,
        local_by_remote_id: Vec<Execution>,
        now: DateTime<Utc>,
    ) {
        let by_remote: HashMap<String, String> = self
            .active
            .values()
            .filter_map(|e| e.remote_id.clone().map(|r| (r, e.id.clone())))
            .collect();
        let mut still_remote_only = HashMap::new();
        for r in listed {
            let answer = RemoteAnswer::Found {
                status: r.status,
                raw: r.raw_status.clone(),
            };
            if let Some(id) = by_remote.get(&r.remote_id) {
                self.record(
                    id,
                    Observation {
                        checked_at: now,
                        answer,
                    },
                );
            } else if let Some(local) = local_by_remote_id
                .iter()
                .find(|e| e.remote_id.as_deref() == Some(&r.remote_id))
            {
                if local.status.is_terminal() {
                    self.watched_terminal
                        .entry(local.id.clone())
                        .or_insert_with(|| Watched {
                            execution: local.clone(),
                            rechecks_left: TERMINAL_RECHECKS,
                        });
                    self.record(
                        &local.id.clone(),
                        Observation {
                            checked_at: now,
                            answer,
                        },
                    );
                }
            } else {
                let first_seen = self
                    .remote_only
                    .get(&r.remote_id)
                    .map_or(now, |p| p.first_seen_at);
                still_remote_only.insert(
                    r.remote_id.clone(),
                    RemoteExecution {
                        first_seen_at: first_seen,
                        ..r
                    },
                );
            }
        }
        self.remote_only = still_remote_only;
    }

    /// Remote ids the list named that have no active local row (to look up locally).
    pub fn unmatched(&self, listed: &[RemoteExecution]) -> Vec<String> {
        let known: std::collections::HashSet<&str> = self
            .active
            .values()
            .filter_map(|e| e.remote_id.as_deref())
            .collect();
        listed
            .iter()
            .filter(|r| !known.contains(r.remote_id.as_str()))
            .map(|r| r.remote_id.clone())
            .collect()
    }

    pub fn snapshot(&self, now: DateTime<Utc>, policy: &Policy) -> Snapshot {
        // Oldest first; sorted on keys in one vector, not through the pointers.
        let mut keyed: Vec<(DateTime<Utc>, &str, &Arc<Execution>)> = self
            .active
            .values()
            .map(|e| (e.created_at, e.id.as_str(), e))
            .collect();
        keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
        let active: Vec<Arc<Execution>> = keyed.into_iter().map(|(_, _, e)| e.clone()).collect();
        let mut examined = active.clone();
        examined.extend(
            self.watched_terminal
                .values()
                .map(|w| Arc::new(w.execution.clone())),
        );
        let remote_only: Vec<RemoteExecution> = self.remote_only.values().cloned().collect();
        let found = findings::find(&FindingInput {
            now,
            local_as_of: self.local_as_of.unwrap_or(now),
            thresholds: &policy.thresholds,
            capabilities: policy.capabilities,
            executions: &examined,
            remote: &self.histories,
            remote_only: &remote_only,
            mismatch_confirmation: policy.mismatch_confirmation,
        });
        Snapshot {
            taken_at: now,
            counts: findings::count_active(&active),
            long_running: Some(findings::long_running_alert(
                &active,
                now,
                &policy.thresholds,
            )),
            error_rates: match &self.counted_error_rates {
                Some(counted) => counted.clone(),
                None => error_rates::compute(self.finished.values(), now, &policy.classifier),
            },
            findings: found,
            remote: self.histories.clone(),
            active,
            database: self.database.clone(),
            remote_health: self.remote.clone(),
            unmapped_statuses: self.unmapped_statuses.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 14, 0, 0).unwrap()
    }

    fn exec(id: &str, status: Status, age: i64, remote: Option<&str>) -> Execution {
        Execution {
            id: id.into(),
            remote_id: remote.map(str::to_string),
            name: None,
            group: None,
            status,
            raw_status: status.as_str().into(),
            created_at: now() - Cd::seconds(age),
            started_at: None,
            updated_at: None,
            completed_at: (!status.is_active()).then(|| now() - Cd::seconds(age / 2)),
            heartbeat_at: None,
            error: None,
            error_count: None,
        }
    }

    fn policy() -> Policy {
        Policy {
            thresholds: Thresholds::default(),
            classifier: ErrorClassifier::default(),
            capabilities: Capabilities {
                remote: true,
                remote_id_column: true,
                heartbeat_column: false,
            },
            remote_interval: Duration::from_secs(15),
            mismatch_confirmation: Duration::from_secs(45),
        }
    }

    fn found(at: DateTime<Utc>, s: Status) -> Observation {
        Observation {
            checked_at: at,
            answer: RemoteAnswer::Found {
                status: s,
                raw: s.as_str().into(),
            },
        }
    }

    #[test]
    fn schedules_past_the_grace_longest_unchecked_first_within_budget() {
        let mut state = MonitorState::default();
        state.apply_database(
            vec![
                exec("young", Status::Running, 45, Some("r-young")),
                exec("a", Status::Running, 46, Some("r-a")),
                exec("b", Status::Running, 600, Some("r-b")),
                exec("c", Status::Running, 900, Some("r-c")),
                exec("no-id", Status::Running, 900, None),
            ],
            vec![],
            None,
            now(),
        );
        let p = policy();
        let due = state.due_lookups(now(), &p, 10, &|_| false);
        let ids: Vec<&str> = due.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(
            ids,
            ["c", "b", "a"],
            "never-checked, oldest first; nothing inside the grace or without an id"
        );
        state.record("c", found(now() - Cd::seconds(14), Status::Running));
        state.record("b", found(now() - Cd::seconds(15), Status::Running));
        let due = state.due_lookups(now(), &p, 10, &|_| false);
        let ids: Vec<&str> = due.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(
            ids,
            ["a", "b"],
            "c was checked within the interval; b is due again, after the unchecked a"
        );
        assert_eq!(
            state.due_lookups(now(), &p, 1, &|_| false).len(),
            1,
            "the budget caps a round"
        );
        assert_eq!(
            state.due_lookups(now(), &p, usize::MAX, &|_| false).len(),
            2,
            "an unbounded budget (the one-shot check) takes every due row"
        );
        let skip_listed = state.due_lookups(now(), &p, 10, &|rid| rid == "r-a");
        assert_eq!(
            skip_listed.len(),
            1,
            "ids the list call answered are not looked up one by one"
        );
    }

    #[test]
    fn rows_that_finish_while_watched_are_rechecked_then_dropped() {
        let mut state = MonitorState::default();
        state.apply_database(
            vec![exec("x", Status::Running, 600, Some("r-x"))],
            vec![],
            None,
            now(),
        );
        let done = exec("x", Status::Failed, 600, Some("r-x"));
        state.apply_database(Vec::<Execution>::new(), vec![done], None, now());
        let later = now() + Cd::seconds(400);
        let p = policy();
        assert_eq!(
            state.due_lookups(later, &p, 10, &|_| false).len(),
            1,
            "a finished row is asked about once more"
        );
        state.record("x", found(later, Status::Running));
        let snap = state.snapshot(later, &p);
        assert_eq!(
            snap.findings[0].kind,
            crate::domain::FindingKind::RemoteStillRunning
        );
        assert_eq!(
            snap.error_rates.day.failed, 1,
            "and it counts in the error rates"
        );
    }

    #[test]
    fn a_row_that_caught_up_after_the_read_is_no_mismatch() {
        let p = policy();
        let mut quiet = exec("quiet", Status::Running, 600, Some("r-quiet"));
        quiet.heartbeat_at = Some(now() - Cd::seconds(300));
        let mut busy = exec("busy", Status::Running, 600, Some("r-busy"));
        busy.heartbeat_at = Some(now() - Cd::seconds(1));
        let mut state = MonitorState::default();
        state.apply_database(vec![quiet.clone(), busy.clone()], vec![], None, now());
        let later = now() + Cd::seconds(60);
        state.record("quiet", found(later, Status::Succeeded));
        state.record("busy", found(later, Status::Succeeded));
        let mut candidates = state.mismatch_candidates();
        candidates.sort();
        assert_eq!(candidates, ["busy", "quiet"]);
        let kinds = |state: &MonitorState| -> Vec<(String, crate::domain::FindingKind)> {
            state
                .snapshot(later, &p)
                .findings
                .into_iter()
                .map(|f| (f.execution_id.unwrap(), f.kind))
                .collect()
        };
        assert_eq!(
            kinds(&state),
            [(
                "quiet".to_string(),
                crate::domain::FindingKind::StatusMismatch
            )],
            "busy wrote 1 s before the read: its silence is not established"
        );
        let mut caught_up = busy.clone();
        caught_up.status = Status::Succeeded;
        caught_up.completed_at = Some(later);
        state.refresh_rows(&candidates, vec![quiet, caught_up]);
        assert_eq!(
            kinds(&state),
            [(
                "quiet".to_string(),
                crate::domain::FindingKind::StatusMismatch
            )],
            "the re-read finds busy finished; quiet is still silent"
        );
        assert_eq!(state.active_len(), 1);
        assert_eq!(state.snapshot(later, &p).error_rates.day.succeeded, 1);
    }

    #[test]
    fn listed_remote_runs_become_observations_or_remote_only() {
        let mut state = MonitorState::default();
        state.apply_database(
            vec![exec("a", Status::Running, 600, Some("r-a"))],
            vec![],
            None,
            now(),
        );
        let listed = |id: &str| RemoteExecution {
            remote_id: id.into(),
            status: Status::Running,
            raw_status: "RUNNING".into(),
            name: None,
            started_at: Some(now() - Cd::seconds(300)),
            first_seen_at: now(),
        };
        let items = vec![listed("r-a"), listed("r-orphan"), listed("r-done")];
        assert_eq!(state.unmatched(&items), ["r-orphan", "r-done"]);
        let local_done = exec("d", Status::Succeeded, 900, Some("r-done"));
        state.apply_list(items, vec![local_done], now());
        assert_eq!(
            state.history("a").unwrap().remote_status(),
            Some(Status::Running)
        );
        let kinds: Vec<_> = state
            .snapshot(now(), &policy())
            .findings
            .iter()
            .map(|f| f.kind)
            .collect();
        assert!(
            kinds.contains(&crate::domain::FindingKind::RemoteOnly),
            "{kinds:?}"
        );
        assert!(
            kinds.contains(&crate::domain::FindingKind::RemoteStillRunning),
            "{kinds:?}"
        );
    }
}
