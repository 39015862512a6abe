//! What the monitor knows between polls, and the scheduling of remote
//! look-ups. No IO here: the poller and the one-shot diagnosis feed it.

use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Duration as Cd, Utc};

use super::snapshot::{ActiveList, Snapshot, SourceHealth};
use crate::domain::doubt::{RoundVerdict, doubted, judge_round};
use crate::domain::findings::LongRunningAlert;
use crate::domain::{
    Counts, ErrorClassifier, ErrorRates, Execution, Finding, FindingInput, Learned, Observation,
    PerJob, RemoteExecution, RemoteHistory, Status, error_rates, findings, wall_minute,
};
use crate::remote::LookupTarget;

/// Error rates counted by the database, and the moment they are as of.
pub type CountedRates = (DateTime<Utc>, ErrorRates);

/// A look-up candidate: (last checked, created, id, remote id).
type LookupCandidate<'a> = (Option<DateTime<Utc>>, DateTime<Utc>, &'a str, &'a str);

use finished_watch::FinishedWatch;
pub(super) use finished_watch::WATCHED_TERMINAL_MAX;
pub use policy::Policy;

/// The findings and the long-running alert evaluated from unchanged rows
/// and answers, kept until the wall clock's minute turns: only the clock
/// moved, and a threshold it carries a row across shows within a minute,
/// with the ages on screen, which move when the minute turns too
/// (`table_age_seconds`). Evaluating 10 000 rows' findings every poll was
/// half the CPU of an idle monitor (docs/PERFORMANCE.md §4).
#[derive(Debug)]
struct FindingsMemo {
    /// Of what they were evaluated from (`fingerprints`).
    fingerprint: u64,
    at: DateTime<Utc>,
    found: Arc<Vec<Finding>>,
    long_running: LongRunningAlert,
}

/// Executions and histories live behind `Arc`s: a snapshot shares them with
/// the state instead of copying 100 000 rows every poll, and a poll keeps the
/// `Arc` of every row that did not change.
#[derive(Debug, Default)]
pub struct MonitorState {
    active: ActiveRows,
    /// The day's error rates as the database counted them (`finished_breakdown`)
    /// and the moment they were counted as of: no row of the day is held.
    rates_base: Option<CountedRates>,
    /// Rows seen finishing since `rates_base` was counted (about a minute's
    /// worth), added on top of it; before the first count, every row seen.
    finished_since: HashMap<String, Execution>,
    /// The error rates of `finished` and the minute they were counted in:
    /// kept until a finished row comes or goes or the minute turns. A busy
    /// day holds tens of thousands of finished rows, and counting them every
    /// poll cost more than the rest of a quiet poll (docs/PERFORMANCE.md).
    rates_memo: Option<(i64, ErrorRates)>,
    /// Terminal rows whose remote side is still being checked.
    watched_terminal: FinishedWatch,
    /// By local execution id. The map is shared with the snapshots and
    /// copied on the first write after one (`Arc::make_mut`): a snapshot
    /// taken when no answer came costs nothing, and a copy shares every key
    /// and history.
    histories: Arc<Histories>,
    remote_only: HashMap<String, RemoteExecution>,
    findings_memo: Option<FindingsMemo>,
    /// The active rows oldest first and their counts by status, and the
    /// fingerprint of the rows they were worked out from.
    active_memo: Option<(u64, ActiveList, Counts)>,
    /// A list being applied page by page (see `listing`).
    listing: Option<listing::ListProgress>,
    /// When the local rows were last read (see `FindingInput::local_as_of`).
    local_as_of: Option<DateTime<Utc>>,
    pub database: SourceHealth,
    pub remote: Option<SourceHealth>,
    /// See `Snapshot::unmapped_statuses`; refreshed by the caller.
    pub unmapped_statuses: Vec<(String, u64)>,
    /// Why the remote looks broken, from the last round that could tell
    /// (`record_round`); `None` while its answers can be believed.
    pub remote_suspect: Option<String>,
    /// How many runs the last complete list named (see `finish_list`).
    last_listed: Option<usize>,
    /// Error rates counted elsewhere (by the database, for a one-shot check),
    /// in place of computing them from `finished`.
    counted_error_rates: Option<ErrorRates>,
    /// Each job's runtimes as the database last aggregated them
    /// (`Store::learned_runtimes`, read in a task of its own).
    learned: Arc<Learned>,
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
    /// New learned runtimes: the findings are judged again with them.
    pub fn set_learned(&mut self, learned: Learned) {
        self.learned = Arc::new(learned);
        self.findings_memo = None;
    }

    pub fn learned(&self) -> &Arc<Learned> {
        &self.learned
    }

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

    /// Replaces the active set with a whole read of it. `changed` (rows
    /// written since the last poll) moves the rows that finished to the
    /// finished window and, with a remote id, under watch for a couple of
    /// look-ups.
    pub fn apply_database<A: Into<Arc<Execution>>>(
        &mut self,
        active: impl IntoIterator<Item = A>,
        changed: Vec<Execution>,
        finished_window: Option<CountedRates>,
        now: DateTime<Utc>,
    ) {
        let next = active.into_iter().map(Into::into).collect();
        self.note_finished(changed);
        self.active = next;
        self.settle(finished_window, now);
    }

    /// Applies rows written since the last poll to the active set in place:
    /// each replaces the row held, and leaves the set once it is not active.
    /// What a poll that read only the changes does instead of
    /// `apply_database`; no row that was not written is touched.
    pub fn apply_written(
        &mut self,
        written: Vec<Execution>,
        finished_window: Option<CountedRates>,
        now: DateTime<Utc>,
    ) {
        for e in &written {
            if e.status.is_active() {
                let e = self.reuse(e.clone());
                self.active.insert(e);
            }
        }
        // Before the rows leave: a row that finished while active is watched.
        self.note_finished(
            written
                .iter()
                .filter(|e| !e.status.is_active())
                .cloned()
                .collect(),
        );
        for e in &written {
            if !e.status.is_active() {
                self.active.remove(&e.id);
            }
        }
        self.settle(finished_window, now);
    }

    /// How many rows the active set would hold once `written` is applied.
    pub fn active_len_after(&self, written: &[Execution]) -> usize {
        let latest: HashMap<&str, bool> = written
            .iter()
            .map(|e| (e.id.as_str(), e.status.is_active()))
            .collect();
        latest
            .into_iter()
            .fold(self.active.len(), |len, (id, active)| {
                match (self.active.contains_key(id), active) {
                    (true, false) => len - 1,
                    (false, true) => len + 1,
                    _ => len,
                }
            })
    }

    fn note_finished(&mut self, changed: Vec<Execution>) {
        for e in changed.into_iter().filter(|e| e.status.is_terminal()) {
            if self.active.contains_key(&e.id) && e.remote_id.is_some() {
                self.watched_terminal.restart(e.clone());
            }
            self.add_finished(e);
        }
    }

    fn add_finished(&mut self, e: Execution) {
        if self
            .rates_base
            .as_ref()
            .is_some_and(|(at, _)| e.finished_at() <= *at)
        {
            // Counted by the database already.
            return;
        }
        self.rates_memo = None;
        self.finished_since.insert(e.id.clone(), e);
    }

    fn settle(&mut self, finished_window: Option<CountedRates>, now: DateTime<Utc>) {
        if let Some((at, rates)) = finished_window {
            self.finished_since.retain(|_, e| e.finished_at() > at);
            self.rates_base = Some((at, rates));
            self.rates_memo = None;
        }
        // Rows older than the day leave when the rates are counted anew
        // (`error_rates_at`), not by a walk over the day every poll.
        self.local_as_of = Some(now);
        self.watched_terminal.bound();
        let (active, watched) = (&self.active, &self.watched_terminal);
        let histories = &self.histories;
        if histories
            .keys()
            .any(|id| !active.contains_key(id) && !watched.contains(id))
        {
            Arc::make_mut(&mut self.histories)
                .retain(|id, _| active.contains_key(id) || watched.contains(id));
        }
    }

    /// How many finished rows left the watch unchecked since the last call.
    pub fn take_watch_dropped(&mut self) -> u64 {
        self.watched_terminal.take_dropped()
    }

    /// Active executions whose remote is further along than the local record:
    /// the rows whose silence decides a `status_mismatch`.
    pub fn mismatch_candidates(&self) -> Vec<String> {
        self.active
            .values()
            .filter(|e| {
                self.histories
                    .get(e.id.as_str())
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
                self.active.insert(Arc::new(e));
            } else if e.status.is_terminal() {
                self.add_finished(e);
            }
        }
    }

    /// Puts terminal rows under watch for a couple of look-ups.
    pub fn watch_terminal(&mut self, rows: Vec<crate::domain::Execution>) {
        for e in &rows {
            self.watched_terminal.watch(e);
        }
    }

    pub fn history(&self, id: &str) -> Option<&RemoteHistory> {
        self.histories.get(id).map(|h| &**h)
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
    ) -> Vec<LookupTarget> {
        let grace = Cd::from_std(policy.thresholds.registration_grace).unwrap_or_default();
        let interval = Cd::from_std(policy.remote_interval).unwrap_or_default();
        if budget == 0 {
            return Vec::new();
        }
        let candidates =
            self.active
                .values()
                .filter_map(|e| self.due_entry(e, e.created_at, now, grace, interval, skip))
                .chain(self.watched_terminal.executions().filter_map(|e| {
                    self.due_entry(e, e.finished_at(), now, grace, interval, skip)
                }));
        // A `LookupCandidate` orders as the queue does: never checked first (None < Some),
        // then the longest ago, then the oldest row. A max-heap capped at the
        // budget keeps the most overdue without collecting every candidate.
        // `budget` may be unbounded (the one-shot check asks for every due row).
        let mut kept: BinaryHeap<LookupCandidate<'_>> =
            BinaryHeap::with_capacity(budget.saturating_add(1).min(4_096));
        for due in candidates {
            kept.push(due);
            if kept.len() > budget {
                kept.pop();
            }
        }
        kept.into_sorted_vec()
            .into_iter()
            .filter_map(|(_, _, id, _)| {
                let row = self
                    .active
                    .get(id)
                    .map(|e| &**e)
                    .or_else(|| self.watched_terminal.get(id))?;
                LookupTarget::of(row)
            })
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
    ) -> Option<LookupCandidate<'s>> {
        let remote_id = e.remote_id.as_deref()?;
        if now - since <= grace || skip(remote_id) {
            return None;
        }
        let last = self
            .histories
            .get(e.id.as_str())
            .and_then(|h| h.last_checked_at());
        // A finished row the remote was last asked about before it
        // finished is asked again at once: whether it still runs is news.
        let asked_since_finished =
            |at: DateTime<Utc>| !e.status.is_terminal() || at >= e.finished_at();
        if last.is_some_and(|at| now - at < interval && asked_since_finished(at)) {
            return None;
        }
        Some((last, e.created_at, e.id.as_str(), remote_id))
    }

    /// Records a round of look-ups, judged together first: when the remote
    /// answered "not found" to most of them it looks broken, and those
    /// answers are recorded as doubted (no streak moves, no `remote_not_found`).
    pub fn record_round(&mut self, observations: Vec<(String, Observation)>) -> RoundVerdict {
        let verdict = judge_round(observations.iter().map(|(id, obs)| {
            let fresh = self
                .history(id)
                .is_none_or(|h| h.consecutive_not_found == 0);
            (fresh, &obs.answer)
        }));
        match &verdict {
            RoundVerdict::Suspect(why) => self.remote_suspect = Some(why.clone()),
            RoundVerdict::Trusted => self.remote_suspect = None,
            RoundVerdict::Unjudged => {}
        }
        for (id, mut obs) in observations {
            if let RoundVerdict::Suspect(why) = &verdict {
                obs.answer = doubted(obs.answer, why);
            }
            self.record(&id, obs);
        }
        verdict
    }

    pub fn record(&mut self, id: &str, obs: Observation) {
        record_into(
            Arc::make_mut(&mut self.histories),
            &mut self.watched_terminal,
            id,
            obs,
        );
    }

    /// The error rates as of `now`'s minute (see `rates_memo`).
    fn error_rates_at(&mut self, now: DateTime<Utc>, classifier: &ErrorClassifier) -> ErrorRates {
        if let Some(counted) = &self.counted_error_rates {
            return counted.clone();
        }
        let minute = wall_minute(now);
        if let Some((at, rates)) = &self.rates_memo
            && *at == minute
        {
            return rates.clone();
        }
        let day_ago = now - Cd::hours(24);
        self.finished_since.retain(|_, e| e.finished_at() > day_ago);
        let rates = match &self.rates_base {
            Some((_, base)) => {
                error_rates::with_recent(base, self.finished_since.values(), classifier)
            }
            // No count from the database yet: the rows seen, counted here.
            None => error_rates::compute(self.finished_since.values(), now, classifier),
        };
        self.rates_memo = Some((minute, rates.clone()));
        rates
    }

    /// What the findings are evaluated from, less the clock: every active
    /// row (a row keeps its `Arc` until it changes), every history's version,
    /// the watched finished rows and the remote-only runs, as two sums (maps
    /// iterate in no fixed order): the active rows alone, and all of it.
    /// Equal fingerprints mean only time has passed.
    fn fingerprints(&self) -> (u64, u64) {
        fn mix(h: u64, x: u64) -> u64 {
            (h ^ x).wrapping_mul(0x0100_0000_01b3).rotate_left(29)
        }
        // Without answers no row's memory is read for its id: the pointers
        // alone, from the set's own memory, fingerprint the rows.
        let no_answers = self.histories.is_empty();
        let version = |id: &str| {
            self.histories
                .get(id)
                .map_or(u64::MAX, |h| u64::from(h.version()))
        };
        let hash_str = |s: &str| s.bytes().fold(0x811c_9dc5_u64, |h, b| mix(h, u64::from(b)));
        let (rows, answers) = self
            .active
            .values()
            .fold((0u64, 0u64), |(rows, answers), e| {
                let row = mix(0xcbf2_9ce4_8422_2325, Arc::as_ptr(e) as usize as u64);
                (
                    rows.wrapping_add(row),
                    answers.wrapping_add(if no_answers {
                        row
                    } else {
                        mix(row, version(&e.id))
                    }),
                )
            });
        let rows = mix(rows, self.active.len() as u64);
        let watched = self.watched_terminal.rows().fold(0u64, |sum, (id, w)| {
            sum.wrapping_add(mix(
                mix(hash_str(id), version(id)),
                u64::from(w.rechecks_left),
            ))
        });
        let remote_only = self.remote_only.values().fold(0u64, |sum, r| {
            sum.wrapping_add(mix(hash_str(&r.remote_id), r.status as u64))
        });
        (rows, mix(mix(mix(rows, answers), watched), remote_only))
    }

    /// The active rows, oldest first, and their counts; sorted and counted
    /// again only when a row changed (each visits every row's memory).
    fn active_oldest_first(&mut self, rows_fingerprint: u64) -> (ActiveList, Counts) {
        if let Some((same, sorted, counts)) = &self.active_memo
            && *same == rows_fingerprint
        {
            return (Arc::clone(sorted), *counts);
        }
        // Sorted on keys in one vector, not through the pointers.
        let mut keyed: Vec<(DateTime<Utc>, &str, &Arc<Execution>)> = self
            .active
            .values()
            .map(|e| (e.created_at, e.id.as_str(), e))
            .collect();
        keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
        // From a borrow, not `into_iter()`: an in-place collect would keep
        // keyed's 40-byte slots as capacity for 8-byte pointers (see view.rs).
        let sorted: ActiveList = keyed.iter().map(|&(_, _, e)| Arc::clone(e)).collect();
        let counts = findings::count_active(&sorted);
        self.active_memo = Some((rows_fingerprint, Arc::clone(&sorted), counts));
        (sorted, counts)
    }

    pub fn snapshot(&mut self, now: DateTime<Utc>, policy: &Policy) -> Snapshot {
        let error_rates_now = self.error_rates_at(now, &policy.classifier);
        let (rows_fingerprint, fingerprint) = self.fingerprints();
        let (active, counts) = self.active_oldest_first(rows_fingerprint);
        let kept = self.findings_memo.as_ref().filter(|memo| {
            memo.fingerprint == fingerprint
                && wall_minute(memo.at) == wall_minute(now)
                && now >= memo.at
        });
        let (findings_at, found, long_running) = match kept {
            Some(memo) => (memo.at, Arc::clone(&memo.found), memo.long_running),
            None => {
                let mut examined = active.to_vec();
                examined.extend(
                    self.watched_terminal
                        .executions()
                        .map(|e| Arc::new(e.clone())),
                );
                let remote_only: Vec<RemoteExecution> =
                    self.remote_only.values().cloned().collect();
                let found = Arc::new(findings::find(&FindingInput {
                    now,
                    local_as_of: self.local_as_of.unwrap_or(now),
                    thresholds: &policy.thresholds,
                    capabilities: policy.capabilities,
                    executions: &examined,
                    remote: &self.histories,
                    remote_only: &remote_only,
                    mismatch_confirmation: policy.mismatch_confirmation,
                    per_job: PerJob {
                        rules: &policy.job_rules,
                        learned: &self.learned,
                    },
                }));
                let long_running = findings::long_running_alert(&active, now, &policy.thresholds);
                self.findings_memo = Some(FindingsMemo {
                    fingerprint,
                    at: now,
                    found: Arc::clone(&found),
                    long_running,
                });
                (now, found, long_running)
            }
        };
        Snapshot {
            taken_at: now,
            counts,
            long_running: Some(long_running),
            error_rates: error_rates_now,
            findings: found,
            findings_at,
            remote: Arc::clone(&self.histories),
            active,
            database: self.database.clone(),
            remote_health: self.remote.clone(),
            unmapped_statuses: self.unmapped_statuses.clone(),
            triage: Arc::default(),
            learned: Arc::clone(&self.learned),
            job_rules: Arc::clone(&policy.job_rules),
        }
    }
}

/// One remote answer for execution `id`: its history, and the countdown of a
/// finished row still being watched. Over the fields, so a list can be
/// applied while the active set lends it ids.
/// Remote histories by local execution id.
pub type Histories = HashMap<Arc<str>, Arc<RemoteHistory>>;

fn record_into(
    histories: &mut Histories,
    watched_terminal: &mut FinishedWatch,
    id: &str,
    obs: Observation,
) {
    watched_terminal.answered(id, &obs.answer);
    match histories.get_mut(id) {
        Some(history) => {
            if !history.confirm(&obs.answer, obs.checked_at) {
                Arc::make_mut(history).record(obs);
            }
        }
        None => {
            let mut history = RemoteHistory::default();
            history.record(obs);
            histories.insert(id.into(), Arc::new(history));
        }
    }
}

#[path = "listing.rs"]
mod listing;

#[path = "finished_watch.rs"]
mod finished_watch;

#[path = "policy.rs"]
mod policy;

#[path = "active_rows.rs"]
mod active_rows;
use active_rows::ActiveRows;

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
