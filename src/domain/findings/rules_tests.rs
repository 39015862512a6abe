//! The rule table: its order is the precedence, the README states that same
//! order, and a reason's parts come from how it was built.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use super::rules::{Facts, RULES, Spelled};
use super::*;
use crate::domain::findings_tests::{
    ALL, err, exec, found, now, seen, with_error_count, with_heartbeat, without_remote_id,
};
use crate::domain::history::RemoteAnswer;

const EVERYTHING: Capabilities = Capabilities {
    heartbeat_column: true,
    ..ALL
};

/// The kinds whose rules hold for `e`, in table order, and the finding the
/// engine gives it.
fn judge(e: &Execution, history: Option<RemoteHistory>) -> (Vec<FindingKind>, Option<Finding>) {
    let t = Thresholds::default();
    let remote: HashMap<String, RemoteHistory> =
        history.into_iter().map(|h| (e.id.clone(), h)).collect();
    let input = FindingInput {
        now: now(),
        local_as_of: now(),
        thresholds: &t,
        capabilities: EVERYTHING,
        executions: std::slice::from_ref(e),
        remote: &remote,
        remote_only: &[],
        mismatch_confirmation: Duration::ZERO,
        per_job: crate::domain::PerJob::none(),
    };
    let spelled = Spelled::all(&t, input.per_job.rules);
    let facts = Facts::new(&input, &spelled, e, remote.get(&e.id));
    let holding = RULES
        .iter()
        .filter(|rule| (rule.when)(&facts))
        .map(|rule| rule.kind)
        .collect();
    let mut found = find(&input);
    assert!(found.len() <= 1, "one finding per execution at most");
    (holding, found.pop())
}

/// Running 7 300 s (past running_stuck), no heartbeat for 400 s (past
/// heartbeat_stale), and its own poller failed 5 times (the limit).
fn in_every_trouble() -> Execution {
    with_error_count(
        with_heartbeat(exec("1", Status::Running, 7_300), Some(400)),
        5,
    )
}

#[test]
fn the_first_rule_in_the_table_that_holds_gives_the_finding() {
    use FindingKind::*;
    let succeeded_then_gone = seen(&[
        (90, found(Status::Succeeded)),
        (60, RemoteAnswer::NotFound),
        (45, RemoteAnswer::NotFound),
        (30, RemoteAnswer::NotFound),
    ]);
    let gone = seen(&[
        (60, RemoteAnswer::NotFound),
        (45, RemoteAnswer::NotFound),
        (30, RemoteAnswer::NotFound),
    ]);
    let failing = seen(&[
        (75, err()),
        (60, err()),
        (45, err()),
        (30, err()),
        (15, err()),
    ]);
    let cases = [
        (
            "everything at once",
            in_every_trouble(),
            Some(succeeded_then_gone),
            vec![
                StatusMismatch,
                RemoteNotFound,
                Stuck,
                PollFailing,
                StaleHeartbeat,
            ],
        ),
        (
            "no further status reported",
            in_every_trouble(),
            Some(gone),
            vec![RemoteNotFound, Stuck, PollFailing, StaleHeartbeat],
        ),
        (
            "never registered",
            without_remote_id(in_every_trouble()),
            None,
            vec![MissingRemoteId, Stuck, PollFailing, StaleHeartbeat],
        ),
        (
            "registered, remote fine",
            in_every_trouble(),
            Some(seen(&[(5, found(Status::Running))])),
            vec![Stuck, PollFailing, StaleHeartbeat],
        ),
        (
            "young, look-ups failing",
            with_heartbeat(exec("1", Status::Running, 600), Some(400)),
            Some(failing),
            vec![PollFailing, StaleHeartbeat],
        ),
        (
            "young, silent",
            with_heartbeat(exec("1", Status::Running, 600), Some(400)),
            None,
            vec![StaleHeartbeat],
        ),
    ];
    for (name, e, history, want) in cases {
        let (holding, finding) = judge(&e, history);
        assert_eq!(holding, want, "{name}: the rules that hold");
        assert_eq!(
            finding.map(|f| f.kind),
            Some(want[0]),
            "{name}: the first of them gives the finding"
        );
    }
}

#[test]
fn the_readme_states_the_precedence_of_the_table() {
    let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"));
    let (_, after) = readme
        .split_once("Precedence: ")
        .expect("README.md states the precedence");
    let (list, _) = after
        .split_once('.')
        .expect("the list ends with a full stop");
    let stated: Vec<&str> = list.split(',').map(str::trim).collect();
    let table: Vec<&str> = RULES.iter().map(|rule| rule.kind.as_str()).collect();
    assert_eq!(stated, table, "README.md's precedence against RULES");
}

#[test]
fn every_kind_of_finding_on_an_active_row_has_one_rule() {
    let kinds: Vec<FindingKind> = RULES.iter().map(|rule| rule.kind).collect();
    let distinct: BTreeSet<FindingKind> = kinds.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        kinds.len(),
        "a kind in two rules: {kinds:?}"
    );
    // Judged apart: a row already finished, a run with no row.
    let apart = [FindingKind::RemoteStillRunning, FindingKind::RemoteOnly];
    let all: BTreeSet<FindingKind> = FindingKind::ALL.into_iter().collect();
    let ruled: BTreeSet<FindingKind> = distinct.into_iter().chain(apart).collect();
    assert_eq!(ruled, all);
}

#[test]
fn a_reason_is_built_as_its_age_clause_and_the_rest() {
    let cases = [
        (
            exec("1", Status::Pending, 3_700),
            None,
            "pending for 1h 1m, ",
            "over pending_stuck 1h, remote status unknown",
        ),
        (
            without_remote_id(exec("1", Status::Pending, 50)),
            None,
            "no remote id after 50s, ",
            "past the 45s registration grace",
        ),
        // Reasons that open with no age are whole, commas and all.
        (
            in_every_trouble(),
            Some(seen(&[(5, found(Status::Succeeded))])),
            "",
            "local running but remote says succeeded (SUCCEEDED), checked 5s ago",
        ),
        (
            with_heartbeat(exec("1", Status::Running, 600), Some(400)),
            None,
            "",
            "last heartbeat 6m 40s ago, over heartbeat_stale 5m",
        ),
    ];
    for (e, history, age, rest) in cases {
        let (_, finding) = judge(&e, history);
        let f = finding.expect("a finding");
        assert_eq!(f.reason, format!("{age}{rest}"));
        assert_eq!(f.reason_past_age(), rest);
    }
}

#[test]
fn the_reasons_parts_are_not_serialized() {
    let (_, finding) = judge(&exec("1", Status::Running, 7_300), None);
    let json = serde_json::to_value(finding.expect("stuck")).unwrap();
    let keys: BTreeSet<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "age_seconds",
            "evidence",
            "execution_id",
            "group",
            "kind",
            "local_status",
            "name",
            "reason",
            "remote_id",
            "remote_status",
            "suggested_action",
        ])
    );
}
