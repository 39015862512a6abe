//! MonitorState: scheduling, watched rows, written rows, list answers.

use super::*;
use crate::domain::{Capabilities, RemoteAnswer, Thresholds};
use chrono::TimeZone;
use std::time::Duration;

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

/// A state that has read these active rows, and nothing else, at `now()`.
fn watching(rows: Vec<Execution>) -> MonitorState {
    let mut state = MonitorState::default();
    state.apply_database(rows, vec![], None, now());
    state
}

fn policy() -> Policy {
    Policy {
        thresholds: Thresholds::default(),
        job_rules: std::sync::Arc::new(crate::domain::JobRules::NONE),
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
        detail: None,
    }
}

#[test]
fn schedules_past_the_grace_longest_unchecked_first_within_budget() {
    let mut state = watching(vec![
        exec("young", Status::Running, 45, Some("r-young")),
        exec("a", Status::Running, 46, Some("r-a")),
        exec("b", Status::Running, 600, Some("r-b")),
        exec("c", Status::Running, 900, Some("r-c")),
        exec("no-id", Status::Running, 900, None),
    ]);
    let p = policy();
    let due = state.due_lookups(now(), &p, 10, &|_| false);
    let ids: Vec<&str> = due.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(
        ids,
        ["c", "b", "a"],
        "never-checked, oldest first; nothing inside the grace or without an id"
    );
    state.record("c", found(now() - Cd::seconds(14), Status::Running));
    state.record("b", found(now() - Cd::seconds(15), Status::Running));
    let due = state.due_lookups(now(), &p, 10, &|_| false);
    let ids: Vec<&str> = due.iter().map(|t| t.id.as_str()).collect();
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
    let mut state = watching(vec![exec("x", Status::Running, 600, Some("r-x"))]);
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

/// A poll that read only the written rows touches nothing else: the
/// rows not written keep their `Arc`, a finished row leaves for the
/// window and the watch, a new one joins, and the count it is checked
/// against says the same.
#[test]
fn written_rows_change_the_active_set_in_place() {
    let mut state = watching(vec![
        exec("a", Status::Running, 600, Some("r-a")),
        exec("b", Status::Running, 600, Some("r-b")),
    ]);
    let held_b = state.known("b").unwrap().clone();
    let written = vec![
        exec("a", Status::Succeeded, 600, Some("r-a")),
        exec("c", Status::Pending, 10, None),
        exec("c", Status::Running, 10, None),
    ];
    assert_eq!(
        state.active_len_after(&written),
        2,
        "a leaves, c joins once"
    );
    state.apply_written(written, None, now());
    assert!(state.known("a").is_none());
    assert!(Arc::ptr_eq(state.known("b").unwrap(), &held_b));
    assert_eq!(
        state.known("c").unwrap().status,
        Status::Running,
        "the last write wins"
    );
    let later = now() + Cd::seconds(400);
    assert_eq!(
        state.due_lookups(later, &policy(), 10, &|_| false).len(),
        2,
        "the finished row is asked about once more, beside b"
    );
    assert_eq!(
        state.snapshot(later, &policy()).error_rates.day.succeeded,
        1
    );
}

#[test]
fn a_row_that_caught_up_after_the_read_is_no_mismatch() {
    let p = policy();
    let mut quiet = exec("quiet", Status::Running, 600, Some("r-quiet"));
    quiet.heartbeat_at = Some(now() - Cd::seconds(300));
    let mut busy = exec("busy", Status::Running, 600, Some("r-busy"));
    busy.heartbeat_at = Some(now() - Cd::seconds(1));
    let mut state = watching(vec![quiet.clone(), busy.clone()]);
    let later = now() + Cd::seconds(60);
    state.record("quiet", found(later, Status::Succeeded));
    state.record("busy", found(later, Status::Succeeded));
    let mut candidates = state.mismatch_candidates();
    candidates.sort();
    assert_eq!(candidates, ["busy", "quiet"]);
    let kinds = |state: &mut MonitorState| -> Vec<(String, crate::domain::FindingKind)> {
        state
            .snapshot(later, &p)
            .findings
            .iter()
            .map(|f| (f.execution_id.clone().unwrap(), f.kind))
            .collect()
    };
    assert_eq!(
        kinds(&mut state),
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
        kinds(&mut state),
        [(
            "quiet".to_string(),
            crate::domain::FindingKind::StatusMismatch
        )],
        "the re-read finds busy finished; quiet is still silent"
    );
    assert_eq!(state.active_len(), 1);
    assert_eq!(state.snapshot(later, &p).error_rates.day.succeeded, 1);
}

/// A run the remote lists as running for five minutes.
fn listed(id: &str) -> RemoteExecution {
    RemoteExecution {
        remote_id: id.into(),
        status: Status::Running,
        raw_status: "RUNNING".into(),
        name: None,
        started_at: Some(now() - Cd::seconds(300)),
        first_seen_at: now(),
    }
}

#[test]
fn listed_remote_runs_become_observations_or_remote_only() {
    let mut state = watching(vec![exec("a", Status::Running, 600, Some("r-a"))]);
    let items = vec![listed("r-a"), listed("r-orphan"), listed("r-done")];
    state.begin_list();
    assert_eq!(state.unmatched(&items), ["r-orphan", "r-done"]);
    let local_done = exec("d", Status::Succeeded, 900, Some("r-done"));
    state.apply_list_page(items, vec![local_done], now());
    state.finish_list();
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

/// A list arrives in pages; only a complete one says which runs are
/// remote-only, and a list that fails part-way leaves the last complete
/// answer standing.
#[test]
fn remote_only_runs_are_replaced_only_by_a_complete_list() {
    let mut state = watching(vec![exec("a", Status::Running, 600, Some("r-a"))]);
    let remote_only = |state: &mut MonitorState| {
        let mut ids: Vec<String> = state
            .snapshot(now(), &policy())
            .findings
            .iter()
            .filter(|f| f.kind == crate::domain::FindingKind::RemoteOnly)
            .filter_map(|f| f.remote_id.clone())
            .collect();
        ids.sort();
        ids
    };
    state.begin_list();
    state.apply_list_page(vec![listed("r-1"), listed("r-a")], vec![], now());
    state.apply_list_page(vec![listed("r-2")], vec![], now());
    assert!(
        remote_only(&mut state).is_empty(),
        "not before the list is complete"
    );
    assert_eq!(
        state.history("a").unwrap().remote_status(),
        Some(Status::Running)
    );
    state.finish_list();
    assert_eq!(remote_only(&mut state), ["r-1", "r-2"]);

    state.begin_list();
    assert_eq!(state.unmatched(&[listed("r-a"), listed("r-3")]), ["r-3"]);
    state.apply_list_page(vec![listed("r-3")], vec![], now());
    state.abandon_list();
    assert_eq!(
        remote_only(&mut state),
        ["r-1", "r-2"],
        "a broken list changes nothing"
    );
}

fn not_found(at: DateTime<Utc>) -> Observation {
    Observation {
        checked_at: at,
        answer: RemoteAnswer::NotFound,
        detail: None,
    }
}

fn finding_kinds(state: &mut MonitorState, at: DateTime<Utc>) -> Vec<crate::domain::FindingKind> {
    state
        .snapshot(at, &policy())
        .findings
        .iter()
        .map(|f| f.kind)
        .collect()
}

/// A remote that suddenly answers 404 to everything is suspect: rounds of
/// it raise no `remote_not_found`, however long it lasts, and the remote
/// is trusted again once its look-ups find runs.
#[test]
fn rounds_of_not_found_for_everything_are_doubted_not_believed() {
    let ids = ["a", "b", "c", "d", "e"];
    let rows = ids
        .iter()
        .map(|id| exec(id, Status::Running, 600, Some(&format!("r-{id}"))))
        .collect();
    let mut state = watching(rows);
    for round in 0..5 {
        let at = now() + Cd::seconds(20 * round);
        let verdict = state.record_round(
            ids.iter()
                .map(|id| (id.to_string(), not_found(at)))
                .collect(),
        );
        assert!(matches!(verdict, RoundVerdict::Suspect(_)), "round {round}");
    }
    assert!(state.remote_suspect.is_some());
    let later = now() + Cd::seconds(120);
    assert!(
        !finding_kinds(&mut state, later).contains(&crate::domain::FindingKind::RemoteNotFound),
        "no run is called missing"
    );
    assert_eq!(state.history("a").unwrap().consecutive_not_found, 0);
    assert!(matches!(
        state.history("a").unwrap().last_answer(),
        Some(RemoteAnswer::Doubted { .. })
    ));

    // The remote answers again: trusted, and a run it really lacks is
    // confirmed missing over the usual rounds (positive control).
    for round in 0..3 {
        let at = later + Cd::seconds(20 * round);
        let mut answers: Vec<(String, Observation)> = ids[1..]
            .iter()
            .map(|id| (id.to_string(), found(at, Status::Running)))
            .collect();
        answers.push(("a".into(), not_found(at)));
        assert_eq!(state.record_round(answers), RoundVerdict::Trusted);
    }
    assert!(state.remote_suspect.is_none());
    assert!(
        finding_kinds(&mut state, later + Cd::seconds(60))
            .contains(&crate::domain::FindingKind::RemoteNotFound)
    );
}

/// A list that empties at once while runs are active locally is suspect,
/// and the last complete list (its remote-only runs) stands.
#[test]
fn a_list_that_empties_at_once_is_suspect_and_the_last_list_stands() {
    let ids = ["a", "b", "c", "d"];
    let mut state = watching(
        ids.iter()
            .map(|id| exec(id, Status::Running, 600, Some(&format!("r-{id}"))))
            .collect(),
    );
    state.begin_list();
    let mut page: Vec<RemoteExecution> = ids.iter().map(|id| listed(&format!("r-{id}"))).collect();
    page.push(listed("r-orphan"));
    state.apply_list_page(page, vec![], now());
    state.finish_list();
    assert!(state.remote_suspect.is_none());
    state.begin_list();
    state.finish_list();
    assert!(
        state
            .remote_suspect
            .as_deref()
            .is_some_and(|s| s.contains("went from 5 to none")),
        "{:?}",
        state.remote_suspect
    );
    assert!(finding_kinds(&mut state, now()).contains(&crate::domain::FindingKind::RemoteOnly));
    // A full list again: trusted.
    state.begin_list();
    state.apply_list_page(vec![listed("r-a")], vec![], now());
    state.finish_list();
    assert!(state.remote_suspect.is_none());
}

/// The error rates are counted once a minute, and again as soon as a
/// finished row arrives: a row leaves the hour window when the minute turns.
#[test]
fn error_rates_follow_new_rows_at_once_and_the_clock_by_the_minute() {
    let p = policy();
    let mut state = MonitorState::default();
    // Finished 59 min 30 s before now(), which is on a minute.
    let early = exec("early", Status::Failed, 2 * 3_570, None);
    state.apply_database(Vec::<Execution>::new(), vec![early], None, now());
    let rates = |state: &mut MonitorState, at| {
        let r = state.snapshot(at, &p).error_rates;
        (r.hour.finished, r.day.finished)
    };
    assert_eq!(rates(&mut state, now()), (1, 1));
    assert_eq!(
        rates(&mut state, now() + Cd::seconds(45)),
        (1, 1),
        "counted as of the minute"
    );
    assert_eq!(
        rates(&mut state, now() + Cd::seconds(60)),
        (0, 1),
        "the minute turned: out of the hour, still in the day"
    );
    let late = exec("late", Status::Succeeded, 20, None);
    state.apply_written(vec![late], None, now() + Cd::seconds(61));
    assert_eq!(
        rates(&mut state, now() + Cd::seconds(61)),
        (1, 2),
        "a new finished row counts at once"
    );
}

/// Findings are evaluated again when a row or an answer changes, and
/// otherwise when the wall clock's minute turns: a row the clock alone
/// carries past a threshold shows less than a minute late.
#[test]
fn findings_are_kept_while_only_the_clock_moves() {
    let p = policy();
    let mut state = MonitorState::default();
    // Running for 2 h minus 10 s: stuck (running_stuck 2h) 10 s from now.
    let near = exec("near", Status::Running, 7_190, Some("r-near"));
    let stuck = exec("stuck", Status::Running, 9_000, Some("r-stuck"));
    state.apply_database(vec![near.clone(), stuck.clone()], vec![], None, now());
    let kinds = |s: &Snapshot| -> Vec<String> {
        s.findings
            .iter()
            .map(|f| {
                format!(
                    "{}:{}",
                    f.execution_id.clone().unwrap_or_default(),
                    f.kind.as_str()
                )
            })
            .collect()
    };
    let first = state.snapshot(now(), &p);
    assert_eq!(kinds(&first), ["stuck:stuck"]);

    // A quiet poll: nothing written.
    let later = now() + Cd::seconds(20);
    state.apply_written(vec![], None, later);
    let kept = state.snapshot(later, &p);
    assert!(
        Arc::ptr_eq(&first.findings, &kept.findings),
        "only the clock moved"
    );
    assert_eq!(kept.findings_at, now());
    let f = &kept.findings[0];
    assert_eq!(
        kept.finding_age(f, later),
        f.age_seconds + 20,
        "ages move on with the clock"
    );

    let end_of_minute = now() + Cd::seconds(59);
    state.apply_written(vec![], None, end_of_minute);
    let still = state.snapshot(end_of_minute, &p);
    assert!(Arc::ptr_eq(&first.findings, &still.findings));
    assert_eq!(still.long_running, first.long_running);

    let refresh = now() + Cd::seconds(60);
    state.apply_written(vec![], None, refresh);
    assert_eq!(
        kinds(&state.snapshot(refresh, &p)),
        ["stuck:stuck", "near:stuck"],
        "the crossing shows once the findings are evaluated again"
    );

    // A confirmation changes nothing; a new status is news at once.
    let next = refresh + Cd::seconds(1);
    state.record("near", found(next, Status::Running));
    let before = state.snapshot(next, &p);
    state.record("near", found(next, Status::Running));
    let confirmed = state.snapshot(next, &p);
    assert!(Arc::ptr_eq(&before.findings, &confirmed.findings));
    state.record("near", found(next + Cd::seconds(60), Status::Succeeded));
    let mismatch = state.snapshot(next + Cd::seconds(61), &p);
    assert!(!Arc::ptr_eq(&confirmed.findings, &mismatch.findings));

    // A written row is news at once.
    let mut written = stuck.clone();
    written.status = Status::Failed;
    written.completed_at = Some(next);
    state.apply_written(vec![written], None, next + Cd::seconds(62));
    assert!(
        !kinds(&state.snapshot(next + Cd::seconds(62), &p)).contains(&"stuck:stuck".to_string()),
        "the finished row's finding goes at once"
    );
}

/// A quiet poll's snapshot shares the sorted rows with the one before: a
/// copy touched every row's reference count (most of a quiet poll's CPU).
/// A changed row sorts them again.
#[test]
fn snapshots_of_unchanged_rows_share_them() {
    let rows = (0..1_000)
        .map(|i| exec(&i.to_string(), Status::Running, i, None))
        .collect();
    let mut state = watching(rows);
    let snap = state.snapshot(now(), &policy());
    assert_eq!(snap.active.len(), 1_000);
    let again = state.snapshot(now() + Cd::seconds(5), &policy());
    assert!(Arc::ptr_eq(&snap.active, &again.active));
    let mut changed = exec("7", Status::Running, 7, None);
    changed.name = Some("renamed".into());
    state.apply_written(vec![changed], None, now() + Cd::seconds(10));
    let after = state.snapshot(now() + Cd::seconds(10), &policy());
    assert!(!Arc::ptr_eq(&snap.active, &after.active));
    assert_eq!(after.active.len(), 1_000);
}

/// The day is counted by the database; rows seen finishing afterwards are
/// added on top of that count at once, and a row the count already holds
/// is not counted twice. No row of the day is kept to do it.
#[test]
fn error_rates_are_the_databases_count_plus_rows_finishing_since() {
    let mut state = watching(vec![exec("a", Status::Running, 600, Some("r-a"))]);
    let counted_at = now();
    let base = crate::domain::error_rates::windows([
        crate::domain::WindowCount {
            status: Status::Succeeded,
            in_hour: true,
            count: 40,
        },
        crate::domain::WindowCount {
            status: Status::Failed,
            in_hour: false,
            count: 10,
        },
    ]);
    state.apply_written(vec![], Some((counted_at, base)), counted_at);
    let rates = |state: &mut MonitorState, at| state.snapshot(at, &policy()).error_rates;
    assert_eq!(
        rates(&mut state, now()).day.finished,
        50,
        "the database's count"
    );

    // Finished before the count: already in it.
    let mut early = exec("early", Status::Failed, 900, None);
    early.completed_at = Some(counted_at - Cd::seconds(5));
    // Finished after it: added.
    let mut late = exec("a", Status::Failed, 600, Some("r-a"));
    late.completed_at = Some(counted_at + Cd::seconds(3));
    late.error = Some("request timed out".into());
    state.apply_written(vec![early, late], None, counted_at + Cd::seconds(4));
    let r = rates(&mut state, counted_at + Cd::seconds(4));
    assert_eq!((r.day.finished, r.day.failed, r.hour.failed), (51, 11, 1));
    assert_eq!(r.failures_series.last(), Some(&1));
    assert_eq!(
        r.by_class,
        [(crate::domain::ErrorClass::Timeout, 1)],
        "classified by the configured rules"
    );
    assert!(
        state.finished_since.len() <= 1,
        "only rows since the count are held"
    );

    // The next count holds the late row: it is dropped from the extra.
    let recount = crate::domain::error_rates::windows([crate::domain::WindowCount {
        status: Status::Failed,
        in_hour: true,
        count: 1,
    }]);
    let next = counted_at + Cd::seconds(60);
    state.apply_written(vec![], Some((next, recount)), next);
    assert!(state.finished_since.is_empty());
    assert_eq!(rates(&mut state, next).day.finished, 1);
}

/// A remote too slow for the churn leaves finished rows waiting for their
/// re-checks; the queue keeps the `WATCHED_TERMINAL_MAX` that finished
/// last, and says how many it let go.
#[test]
fn the_recheck_queue_keeps_the_rows_that_finished_last_up_to_its_bound() {
    let extra = 25;
    let total = WATCHED_TERMINAL_MAX + extra;
    let rows: Vec<Execution> = (0..total)
        .map(|i| exec(&format!("e{i}"), Status::Running, 600, Some("r")))
        .collect();
    let mut state = watching(rows);
    // Row i finished i seconds after the first: e0..e24 finished first.
    let done: Vec<Execution> = (0..total)
        .map(|i| {
            let mut e = exec(&format!("e{i}"), Status::Failed, 600, Some("r"));
            e.completed_at = Some(now() - Cd::seconds(total as i64 - i as i64));
            e
        })
        .collect();
    state.apply_written(done, None, now());
    assert_eq!(state.watched_terminal.len(), WATCHED_TERMINAL_MAX);
    assert_eq!(state.take_watch_dropped(), extra as u64);
    assert_eq!(state.take_watch_dropped(), 0, "the count is taken once");
    for i in 0..extra {
        assert!(!state.watched_terminal.contains(&format!("e{i}")));
    }
    assert!(state.watched_terminal.contains(&format!("e{extra}")));
    assert!(state.watched_terminal.contains(&format!("e{}", total - 1)));
}
