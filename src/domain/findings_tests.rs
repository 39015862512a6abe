//! Table-driven tests of the findings engine: every kind, every boundary.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Duration as Cd, TimeZone, Utc};

use super::execution::*;
use super::findings::*;
use super::history::*;
use super::status::Status;

pub(super) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 14, 3, 22).unwrap()
}

pub(super) fn ago(s: i64) -> DateTime<Utc> {
    now() - Cd::seconds(s)
}

pub(super) fn exec(id: &str, status: Status, age: i64) -> Execution {
    Execution {
        id: id.into(),
        remote_id: Some(format!("r-{id}")),
        name: Some(format!("job-{id}").into()),
        group: None,
        status,
        raw_status: status.as_str().into(),
        created_at: ago(age),
        started_at: (status != Status::Pending).then(|| ago(age)),
        updated_at: Some(ago(age)),
        completed_at: None,
        heartbeat_at: None,
        error: None,
        error_count: None,
    }
}

pub(super) fn seen(answers: &[(i64, RemoteAnswer)]) -> RemoteHistory {
    let mut h = RemoteHistory::default();
    for (at, answer) in answers {
        h.record(Observation {
            checked_at: ago(*at),
            answer: answer.clone(),
            detail: None,
        });
    }
    h
}

pub(super) fn found(s: Status) -> RemoteAnswer {
    RemoteAnswer::Found {
        status: s,
        raw: s.as_str().to_uppercase().into(),
    }
}

pub(super) fn err() -> RemoteAnswer {
    RemoteAnswer::Error {
        message: "HTTP 500".into(),
    }
}

pub(super) const ALL: Capabilities = Capabilities {
    remote: true,
    remote_id_column: true,
    heartbeat_column: false,
};
const DB_ONLY: Capabilities = Capabilities {
    remote: false,
    remote_id_column: false,
    heartbeat_column: false,
};

struct Case {
    name: &'static str,
    exec: Execution,
    history: Option<RemoteHistory>,
    caps: Capabilities,
    expect: Option<(FindingKind, SuggestedAction)>,
}

fn run(case: &Case) -> Option<Finding> {
    let t = Thresholds::default();
    let mut remote = HashMap::new();
    if let Some(h) = &case.history {
        remote.insert(case.exec.id.clone(), h.clone());
    }
    let input = FindingInput {
        now: now(),
        local_as_of: now(),
        thresholds: &t,
        capabilities: case.caps,
        executions: std::slice::from_ref(&case.exec),
        remote: &remote,
        remote_only: &[],
        mismatch_confirmation: Duration::ZERO,
        per_job: crate::domain::PerJob::none(),
    };
    let mut all = find(&input);
    assert!(
        all.len() <= 1,
        "{}: one finding per execution at most",
        case.name
    );
    all.pop()
}

pub(super) fn without_remote_id(mut e: Execution) -> Execution {
    e.remote_id = None;
    e
}

pub(super) fn with_heartbeat(mut e: Execution, beat_ago: Option<i64>) -> Execution {
    e.heartbeat_at = beat_ago.map(ago);
    e
}

pub(super) fn with_error_count(mut e: Execution, n: i64) -> Execution {
    e.error_count = Some(n);
    e
}

fn finished(mut e: Execution, status: Status, secs_ago: i64) -> Execution {
    e.status = status;
    e.completed_at = Some(ago(secs_ago));
    e
}

#[test]
fn every_kind_and_boundary() {
    use FindingKind::*;
    use Status::*;
    use SuggestedAction as A;
    let heartbeat = Capabilities {
        heartbeat_column: true,
        ..ALL
    };
    let cases = vec![
        Case {
            name: "healthy running, remote running",
            exec: exec("1", Running, 600),
            history: Some(seen(&[(5, found(Running))])),
            caps: ALL,
            expect: None,
        },
        Case {
            name: "healthy pending, never checked",
            exec: exec("1", Pending, 30),
            history: None,
            caps: ALL,
            expect: None,
        },
        Case {
            name: "mismatch: remote succeeded",
            exec: exec("1", Running, 600),
            history: Some(seen(&[(5, found(Succeeded))])),
            caps: ALL,
            expect: Some((StatusMismatch, A::Reconcile)),
        },
        Case {
            name: "mismatch: remote further along (running vs pending)",
            exec: exec("1", Pending, 600),
            history: Some(seen(&[(5, found(Running))])),
            caps: ALL,
            expect: Some((StatusMismatch, A::Reconcile)),
        },
        Case {
            name: "no mismatch when remote is behind",
            exec: exec("1", Running, 600),
            history: Some(seen(&[(5, found(Pending))])),
            caps: ALL,
            expect: None,
        },
        Case {
            name: "remote unknown spelling is no mismatch",
            exec: exec("1", Running, 600),
            history: Some(seen(&[(5, found(Unknown))])),
            caps: ALL,
            expect: None,
        },
        Case {
            name: "no mismatch without a tracker",
            exec: exec("1", Running, 600),
            history: Some(seen(&[(5, found(Failed))])),
            caps: DB_ONLY,
            expect: None,
        },
        Case {
            name: "missing id: exactly at the grace",
            exec: without_remote_id(exec("1", Pending, 45)),
            history: None,
            caps: ALL,
            expect: None,
        },
        Case {
            name: "missing id: one second past the grace",
            exec: without_remote_id(exec("1", Pending, 46)),
            history: None,
            caps: ALL,
            expect: Some((MissingRemoteId, A::Wait)),
        },
        Case {
            name: "missing id: exactly at pending_stuck still waits",
            exec: without_remote_id(exec("1", Pending, 3_600)),
            history: None,
            caps: ALL,
            expect: Some((MissingRemoteId, A::Wait)),
        },
        Case {
            name: "missing id: past pending_stuck is mark_failed",
            exec: without_remote_id(exec("1", Running, 3_601)),
            history: None,
            caps: ALL,
            expect: Some((MissingRemoteId, A::MarkFailed)),
        },
        Case {
            name: "missing id needs a remote id column",
            exec: without_remote_id(exec("1", Pending, 600)),
            history: None,
            caps: Capabilities {
                remote_id_column: false,
                ..ALL
            },
            expect: None,
        },
        Case {
            name: "not found: two of three confirmations",
            exec: exec("1", Running, 600),
            history: Some(seen(&[
                (30, RemoteAnswer::NotFound),
                (15, RemoteAnswer::NotFound),
            ])),
            caps: ALL,
            expect: None,
        },
        Case {
            name: "not found: three confirmations",
            exec: exec("1", Running, 600),
            history: Some(seen(&[
                (45, RemoteAnswer::NotFound),
                (30, RemoteAnswer::NotFound),
                (15, RemoteAnswer::NotFound),
            ])),
            caps: ALL,
            expect: Some((RemoteNotFound, A::MarkFailed)),
        },
        Case {
            name: "not found: streak broken by a found answer",
            exec: exec("1", Running, 600),
            history: Some(seen(&[
                (60, RemoteAnswer::NotFound),
                (45, RemoteAnswer::NotFound),
                (30, found(Running)),
                (15, RemoteAnswer::NotFound),
            ])),
            caps: ALL,
            expect: None,
        },
        Case {
            name: "not found: inside the grace",
            exec: exec("1", Running, 45),
            history: Some(seen(&[
                (3, RemoteAnswer::NotFound),
                (2, RemoteAnswer::NotFound),
                (1, RemoteAnswer::NotFound),
            ])),
            caps: ALL,
            expect: None,
        },
        Case {
            name: "stuck pending: exactly at pending_stuck",
            exec: exec("1", Pending, 3_600),
            history: None,
            caps: DB_ONLY,
            expect: None,
        },
        Case {
            name: "stuck pending: one second past",
            exec: exec("1", Pending, 3_601),
            history: None,
            caps: DB_ONLY,
            expect: Some((Stuck, A::Investigate)),
        },
        Case {
            name: "stuck running: exactly at running_stuck",
            exec: exec("1", Running, 7_200),
            history: None,
            caps: DB_ONLY,
            expect: None,
        },
        Case {
            name: "stuck running: one second past",
            exec: exec("1", Running, 7_201),
            history: None,
            caps: DB_ONLY,
            expect: Some((Stuck, A::Investigate)),
        },
        Case {
            name: "stuck while remote still running",
            exec: exec("1", Running, 7_201),
            history: Some(seen(&[(5, found(Running))])),
            caps: ALL,
            expect: Some((Stuck, A::Investigate)),
        },
        Case {
            name: "stuck: exactly at max_runtime",
            exec: exec("39", Running, 86_400),
            history: None,
            caps: DB_ONLY,
            expect: Some((Stuck, A::Investigate)),
        },
        Case {
            name: "stuck: one second past max_runtime",
            exec: exec("39", Running, 86_401),
            history: None,
            caps: DB_ONLY,
            expect: Some((Stuck, A::MarkFailed)),
        },
        Case {
            name: "heartbeat: exactly stale",
            exec: with_heartbeat(exec("1", Running, 900), Some(300)),
            history: None,
            caps: heartbeat,
            expect: None,
        },
        Case {
            name: "heartbeat: one second past stale",
            exec: with_heartbeat(exec("1", Running, 900), Some(301)),
            history: None,
            caps: heartbeat,
            expect: Some((StaleHeartbeat, A::Investigate)),
        },
        Case {
            name: "heartbeat: never beat since start",
            exec: with_heartbeat(exec("1", Running, 301), None),
            history: None,
            caps: heartbeat,
            expect: Some((StaleHeartbeat, A::Investigate)),
        },
        Case {
            name: "heartbeat: not mapped, no finding",
            exec: with_heartbeat(exec("1", Running, 900), Some(800)),
            history: None,
            caps: DB_ONLY,
            expect: None,
        },
        Case {
            name: "heartbeat: pending rows have no worker yet",
            exec: with_heartbeat(exec("1", Pending, 900), None),
            history: None,
            caps: heartbeat,
            expect: None,
        },
        Case {
            name: "poll failing: four errors",
            exec: exec("1", Running, 600),
            history: Some(seen(&[(60, err()), (45, err()), (30, err()), (15, err())])),
            caps: ALL,
            expect: None,
        },
        Case {
            name: "poll failing: five errors",
            exec: exec("1", Running, 600),
            history: Some(seen(&[
                (75, err()),
                (60, err()),
                (45, err()),
                (30, err()),
                (15, err()),
            ])),
            caps: ALL,
            expect: Some((PollFailing, A::Investigate)),
        },
        Case {
            name: "poll failing: the table's own error_count",
            exec: with_error_count(exec("1", Running, 600), 5),
            history: None,
            caps: DB_ONLY,
            expect: Some((PollFailing, A::Investigate)),
        },
        Case {
            name: "poll failing: error_count under the limit",
            exec: with_error_count(exec("1", Running, 600), 4),
            history: None,
            caps: DB_ONLY,
            expect: None,
        },
        Case {
            name: "remote still running after local failed",
            exec: finished(exec("1", Running, 900), Failed, 46),
            history: Some(seen(&[(5, found(Running))])),
            caps: ALL,
            expect: Some((RemoteStillRunning, A::StopRemote)),
        },
        Case {
            name: "remote still running: inside the grace",
            exec: finished(exec("1", Running, 900), Failed, 45),
            history: Some(seen(&[(5, found(Running))])),
            caps: ALL,
            expect: None,
        },
        Case {
            name: "terminal both sides is healthy",
            exec: finished(exec("1", Running, 900), Succeeded, 300),
            history: Some(seen(&[(5, found(Succeeded))])),
            caps: ALL,
            expect: None,
        },
        Case {
            name: "terminal local, remote disagreeing terminal is not rewritten",
            exec: finished(exec("1", Running, 900), Failed, 300),
            history: Some(seen(&[(5, found(Succeeded))])),
            caps: ALL,
            expect: None,
        },
    ];
    for case in &cases {
        let got = run(case).map(|f| (f.kind, f.suggested_action));
        assert_eq!(got, case.expect, "{}", case.name);
    }
}

#[test]
fn mismatch_waits_for_confirmation_in_the_live_monitor() {
    let t = Thresholds::default();
    let mut e = exec("1", Status::Running, 600);
    e.heartbeat_at = Some(ago(5));
    let check = |history: RemoteHistory| {
        let remote = HashMap::from([("1".to_string(), history)]);
        let input = FindingInput {
            now: now(),
            local_as_of: now(),
            thresholds: &t,
            capabilities: ALL,
            executions: std::slice::from_ref(&e),
            remote: &remote,
            remote_only: &[],
            mismatch_confirmation: Duration::from_secs(45),
            per_job: crate::domain::PerJob::none(),
        };
        find(&input).first().map(|f| f.kind)
    };
    let fresh = seen(&[(60, found(Status::Running)), (10, found(Status::Succeeded))]);
    assert_eq!(check(fresh), None, "seen succeeded only 10 s ago");
    let confirmed = seen(&[
        (60, found(Status::Succeeded)),
        (10, found(Status::Succeeded)),
    ]);
    assert_eq!(check(confirmed), Some(FindingKind::StatusMismatch));
}

#[test]
fn a_silent_local_record_confirms_a_mismatch_at_once() {
    let t = Thresholds::default();
    let e = exec("1", Status::Running, 5 * 3_600);
    let remote = HashMap::from([("1".to_string(), seen(&[(1, found(Status::Succeeded))]))]);
    let input = FindingInput {
        now: now(),
        local_as_of: now(),
        thresholds: &t,
        capabilities: ALL,
        executions: std::slice::from_ref(&e),
        remote: &remote,
        remote_only: &[],
        mismatch_confirmation: Duration::from_secs(45),
        per_job: crate::domain::PerJob::none(),
    };
    assert_eq!(
        find(&input)[0].kind,
        FindingKind::StatusMismatch,
        "no write for 5 h: no catch-up coming"
    );
}

#[test]
fn silence_is_judged_as_of_the_read_not_as_of_now() {
    let t = Thresholds::default();
    let mut e = exec("1", Status::Running, 3_600);
    e.heartbeat_at = Some(ago(50));
    // The remote turned terminal only a second ago: only silence can confirm.
    let remote = HashMap::from([("1".to_string(), seen(&[(1, found(Status::Succeeded))]))]);
    let kind_when_read = |read_ago: i64| {
        let input = FindingInput {
            now: now(),
            local_as_of: ago(read_ago),
            thresholds: &t,
            capabilities: ALL,
            executions: std::slice::from_ref(&e),
            remote: &remote,
            remote_only: &[],
            mismatch_confirmation: Duration::from_secs(45),
            per_job: crate::domain::PerJob::none(),
        };
        find(&input).first().map(|f| f.kind)
    };
    let cases = [
        (
            0,
            Some(FindingKind::StatusMismatch),
            "read now: silent 50 s",
        ),
        (
            4,
            Some(FindingKind::StatusMismatch),
            "silent 46 s when read",
        ),
        (5, None, "silent exactly 45 s when read: not past it"),
        (20, None, "silent 30 s when read: the worker may yet write"),
    ];
    for (read_ago, want, why) in cases {
        assert_eq!(kind_when_read(read_ago), want, "{why}");
    }
}

#[test]
fn local_thresholds_are_judged_as_of_the_read() {
    let t = Thresholds::default();
    let mut no_id = exec("new", Status::Pending, 46);
    no_id.remote_id = None;
    let stale = with_heartbeat(exec("beat", Status::Running, 3_000), Some(301));
    let kind_when_read = |e: &Execution, read_ago: i64| {
        let remote: HashMap<String, RemoteHistory> = HashMap::new();
        let input = FindingInput {
            now: now(),
            local_as_of: ago(read_ago),
            thresholds: &t,
            capabilities: Capabilities {
                heartbeat_column: true,
                ..ALL
            },
            executions: std::slice::from_ref(e),
            remote: &remote,
            remote_only: &[],
            mismatch_confirmation: Duration::from_secs(45),
            per_job: crate::domain::PerJob::none(),
        };
        find(&input).first().map(|f| f.kind)
    };
    assert_eq!(
        kind_when_read(&no_id, 0),
        Some(FindingKind::MissingRemoteId)
    );
    assert_eq!(
        kind_when_read(&no_id, 2),
        None,
        "44 s old when read without an id: still inside the grace"
    );
    assert_eq!(kind_when_read(&stale, 0), Some(FindingKind::StaleHeartbeat));
    assert_eq!(
        kind_when_read(&stale, 2),
        None,
        "silent 299 s when read: not past heartbeat_stale"
    );
}

#[test]
fn remote_only_respects_the_grace_and_active_status() {
    let t = Thresholds::default();
    let listed = |id: &str, started: i64, status: Status| RemoteExecution {
        remote_id: id.into(),
        status,
        raw_status: status.as_str().into(),
        name: None,
        started_at: Some(ago(started)),
        first_seen_at: now(),
    };
    let remote_only = vec![
        listed("young", 45, Status::Running),
        listed("old", 46, Status::Running),
        listed("done", 600, Status::Succeeded),
    ];
    let remote: HashMap<String, RemoteHistory> = HashMap::new();
    let input = FindingInput {
        now: now(),
        local_as_of: now(),
        thresholds: &t,
        capabilities: ALL,
        executions: &[] as &[Execution],
        remote: &remote,
        remote_only: &remote_only,
        mismatch_confirmation: Duration::ZERO,
        per_job: crate::domain::PerJob::none(),
    };
    let found = find(&input);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, FindingKind::RemoteOnly);
    assert_eq!(found[0].remote_id.as_deref(), Some("old"));
    assert_eq!(found[0].execution_id, None);
    assert_eq!(found[0].suggested_action, SuggestedAction::Investigate);
}

#[test]
fn findings_are_sorted_worst_first_and_explain_themselves() {
    let t = Thresholds::default();
    let executions = vec![
        exec("young-stuck", Status::Running, 7_300),
        exec("old-stuck", Status::Running, 86_500),
        exec("39", Status::Running, 79_560),
        exec("fine", Status::Running, 60),
    ];
    let remote: HashMap<String, RemoteHistory> = HashMap::new();
    let input = FindingInput {
        now: now(),
        local_as_of: now(),
        thresholds: &t,
        capabilities: DB_ONLY,
        executions: &executions,
        remote: &remote,
        remote_only: &[],
        mismatch_confirmation: Duration::ZERO,
        per_job: crate::domain::PerJob::none(),
    };
    let found = find(&input);
    let ids: Vec<&str> = found
        .iter()
        .filter_map(|f| f.execution_id.as_deref())
        .collect();
    assert_eq!(ids, vec!["old-stuck", "39", "young-stuck"]);
    assert_eq!(found[1].reason, "running for 22h 6m, over running_stuck 2h");
    assert_eq!(found[1].age_seconds, 79_560);
    assert_eq!(found[1].evidence.threshold_seconds, Some(7_200));
    assert!(
        found[0].reason.contains("over max_runtime 24h"),
        "{}",
        found[0].reason
    );
}

#[test]
fn counts_and_long_running_alert() {
    let t = Thresholds::default();
    let mut rows: Vec<Execution> = (0..6)
        .map(|i| exec(&i.to_string(), Status::Running, 3_601))
        .collect();
    rows.push(exec("p", Status::Pending, 10));
    rows.push(exec("short", Status::Running, 3_600));
    let counts = count_active(&rows);
    assert_eq!((counts.pending, counts.running, counts.active), (1, 7, 8));
    let alert = long_running_alert(&rows, now(), &t);
    assert_eq!(alert.running_over_age, 6);
    assert!(alert.firing, "6 > 5");
    let alert = long_running_alert(&rows[1..], now(), &t);
    assert!(!alert.firing, "exactly 5 is not more than 5");
}

#[test]
fn a_table_reads_the_reason_past_its_opening_age() {
    let case = |name, exec, history| Case {
        name,
        exec,
        history,
        caps: ALL,
        expect: None,
    };
    let stuck = run(&case("stuck", exec("1", Status::Running, 79_560), None)).unwrap();
    assert_eq!(stuck.kind, FindingKind::Stuck);
    assert!(
        stuck.reason.starts_with("running for 22h 6m, "),
        "{}",
        stuck.reason
    );
    assert_eq!(
        stuck.reason_past_age(),
        "over running_stuck 2h, remote status unknown"
    );
    let missing = run(&case(
        "missing",
        without_remote_id(exec("1", Status::Pending, 3_600)),
        None,
    ))
    .unwrap();
    assert_eq!(missing.kind, FindingKind::MissingRemoteId);
    assert!(
        missing.reason.starts_with("no remote id after 1h"),
        "{}",
        missing.reason
    );
    assert_eq!(missing.reason_past_age(), "past the 45s registration grace");
    // A reason that does not open with an age is left whole, commas and all.
    let mismatch = run(&case(
        "mismatch",
        exec("1", Status::Running, 600),
        Some(seen(&[(5, found(Status::Succeeded))])),
    ))
    .unwrap();
    assert_eq!(mismatch.kind, FindingKind::StatusMismatch);
    assert!(
        mismatch.reason.contains(", checked "),
        "{}",
        mismatch.reason
    );
    assert_eq!(mismatch.reason_past_age(), mismatch.reason);
}
