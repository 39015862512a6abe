//! The percentile and limit rules, and the `overdue` finding they give.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Duration as Cd;

use super::*;
use crate::domain::findings::{Capabilities, Finding, FindingInput, FindingKind, find};
use crate::domain::findings_tests::{ago, exec, now};
use crate::domain::status::Status;
use crate::domain::{Execution, RemoteHistory};

fn stats(durations: &[f64]) -> RuntimeStats {
    RuntimeStats::of(durations.to_vec()).unwrap()
}

#[test]
fn percentiles_interpolate_as_percentile_cont() {
    // PostgreSQL: percentile_cont(0.5) of 1..=4 is 2.5, 0.95 is 3.85.
    let s = stats(&[4.0, 1.0, 3.0, 2.0]);
    assert_eq!((s.runs, s.p50, s.max), (4, 2.5, 4.0));
    assert!((s.p95 - 3.85).abs() < 1e-9, "{}", s.p95);
    let (low, high, fraction) = percentile_ranks(4, 0.95).unwrap();
    assert_eq!((low, high), (3, 4));
    assert!((fraction - 0.85).abs() < 1e-9, "{fraction}");
    assert_eq!(percentile_ranks(1, 0.95), Some((1, 1, 0.0)));
    assert_eq!(percentile_ranks(0, 0.5), None);
    assert_eq!(RuntimeStats::of(Vec::new()), None);
}

#[test]
fn one_run_is_its_own_every_percentile() {
    let s = stats(&[42.0]);
    assert_eq!((s.runs, s.p50, s.p95, s.max), (1, 42.0, 42.0, 42.0));
}

#[test]
fn a_few_outliers_move_the_max_but_hardly_the_p95() {
    // 95 runs of about a minute, five of five hours: p95 falls among the
    // usual runs' neighbours, not at the outliers.
    let mut d: Vec<f64> = (0..95).map(|i| 55.0 + f64::from(i % 10)).collect();
    d.extend([18_000.0; 5]);
    let s = stats(&d);
    assert_eq!(s.max, 18_000.0);
    assert!(s.p50 < 65.0, "{}", s.p50);
    // Rank 95.05 of 100: 5 % of the way from the last usual run to an outlier.
    assert!(s.p95 < 1_000.0, "p95 {} stays near the usual runs", s.p95);
}

#[test]
fn a_job_whose_durations_changed_is_learned_from_the_window_only() {
    // Twenty days of 10-minute runs, then a release made it 2 minutes for
    // the last five days: a 3-day window knows only the new runtime.
    let runs: Vec<_> = (0..25 * 24)
        .map(|hour: i64| {
            let d = if hour < 5 * 24 { 120.0 } else { 600.0 };
            (ago(hour * 3600), d)
        })
        .collect();
    let recent = RuntimeStats::of_window(&runs, now(), Duration::from_secs(3 * 86_400)).unwrap();
    assert_eq!((recent.runs, recent.p95, recent.max), (72, 120.0, 120.0));
    let all = RuntimeStats::of_window(&runs, now(), Duration::from_secs(30 * 86_400)).unwrap();
    assert_eq!(all.runs, 600);
    assert_eq!(all.p95, 600.0);
    // A run finished exactly at the window's start is out; one at now is in.
    let edge = [(now() - Cd::seconds(60), 1.0), (now(), 2.0)];
    let s = RuntimeStats::of_window(&edge, now(), Duration::from_secs(60)).unwrap();
    assert_eq!(s.runs, 1);
}

#[test]
fn the_limit_is_a_multiple_of_p95_never_below_the_floor() {
    let learning = Learning::DEFAULT;
    assert_eq!(learning.limit(&stats(&[720.0])).as_secs(), 2_160);
    assert_eq!(learning.limit(&stats(&[30.0])), learning.floor);
    // Rounded up to the second: never tighter than the rule.
    assert_eq!(learning.limit(&stats(&[100.1])).as_secs(), 301);
    assert_eq!(learning.limit(&stats(&[0.0])), learning.floor);
}

#[test]
fn globs_match_whole_names() {
    assert!(glob_match("nightly-*", "nightly-export"));
    assert!(glob_match("nightly-*", "nightly-"));
    assert!(!glob_match("nightly-*", "a-nightly-export"));
    assert!(glob_match("*export*", "nightly-export-eu"));
    assert!(glob_match("a*b*c", "aXXbYYc"));
    assert!(!glob_match("a*b*c", "aXXbYY"));
    assert!(glob_match("exact", "exact"));
    assert!(!glob_match("exact", "Exact"));
    assert!(glob_match("*", ""));
}

fn rule(key: RuleKey, pattern: &str, running: Option<u64>) -> ThresholdRule {
    let mut thresholds = Thresholds::default();
    if let Some(s) = running {
        thresholds.running_stuck = Duration::from_secs(s);
    }
    ThresholdRule {
        key,
        pattern: pattern.into(),
        thresholds,
        pins_running: running.is_some(),
        learn: true,
    }
}

#[test]
fn the_first_rule_that_fits_wins() {
    let rules = JobRules {
        rules: vec![
            rule(RuleKey::Name, "nightly-*", Some(5 * 3600)),
            rule(RuleKey::Name, "nightly-export", Some(60)),
            rule(RuleKey::Group, "etl", None),
        ],
        learning: Learning::DEFAULT,
    };
    let (i, _) = rules.rule_for(Some("nightly-export"), Some("etl")).unwrap();
    assert_eq!(i, 0);
    let (i, _) = rules.rule_for(Some("hourly"), Some("etl")).unwrap();
    assert_eq!(i, 2);
    assert!(rules.rule_for(Some("hourly"), None).is_none());
    assert!(rules.rule_for(None, None).is_none());
}

/// The learned runtimes of `job-1` (the name `exec("1", …)` gives).
fn learned(durations: &[f64]) -> Learned {
    Learned {
        by_name: [("job-1".to_string(), stats(durations))].into(),
        window: Duration::from_secs(14 * 86_400),
        as_of: Some(now()),
        unreadable: false,
    }
}

fn judge(e: &Execution, rules: &JobRules, learned: &Learned) -> Option<Finding> {
    let t = Thresholds::default();
    let remote: HashMap<String, RemoteHistory> = HashMap::new();
    let mut found = find(&FindingInput {
        now: now(),
        local_as_of: now(),
        thresholds: &t,
        capabilities: Capabilities::default(),
        executions: std::slice::from_ref(e),
        remote: &remote,
        remote_only: &[],
        mismatch_confirmation: Duration::ZERO,
        per_job: PerJob { rules, learned },
    });
    found.pop()
}

/// 41 runs of about 12 minutes: p95 720 s, limit 36 m.
fn twelve_minutes() -> Learned {
    let mut d: Vec<f64> = (0..40).map(|i| 600.0 + f64::from(i)).collect();
    d.push(720.0);
    learned(&d)
}

#[test]
fn a_run_past_its_learned_limit_is_overdue_and_says_so_plainly() {
    let rules = JobRules::default();
    let learned = twelve_minutes();
    let p95 = learned.by_name["job-1"].p95;
    let limit = (p95 * 3.0).ceil() as i64;
    let at_limit = exec("1", Status::Running, limit);
    assert_eq!(
        judge(&at_limit, &rules, &learned),
        None,
        "at the limit is not past it"
    );
    let f = judge(
        &exec("1", Status::Running, 2 * 3600 + 600),
        &rules,
        &learned,
    )
    .unwrap();
    assert_eq!(f.kind, FindingKind::Overdue);
    assert_eq!(
        f.reason,
        format!(
            "running for 2h 10m, this job's p95 is {} (41 runs in 14d), over its limit {} (3× p95)",
            crate::domain::format_age(p95.round() as i64),
            crate::domain::format_age(limit)
        )
    );
    assert_eq!(
        f.reason_past_age(),
        &f.reason["running for 2h 10m, ".len()..]
    );
    assert_eq!(f.evidence.threshold_seconds, Some(limit as u64));
    match f.evidence.limit {
        Some(LimitSource::Learned {
            runs,
            limit_seconds,
            ..
        }) => assert_eq!((runs, limit_seconds), (41, limit as u64)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_long_usual_job_is_not_stuck_past_running_stuck() {
    // Always about three hours: the fixed 2 h calls it stuck every night;
    // its learned limit does not, and max_runtime still does.
    let rules = JobRules::default();
    let learned = learned(&[3.0 * 3600.0; 30]);
    assert_eq!(
        judge(&exec("1", Status::Running, 3 * 3600), &rules, &learned),
        None
    );
    let f = judge(&exec("1", Status::Running, 86_401), &rules, &learned).unwrap();
    assert_eq!(f.kind, FindingKind::Stuck);
    assert!(f.reason.contains("over max_runtime"), "{}", f.reason);
    // Without learning, the fixed threshold calls it stuck at 3 h.
    let f = judge(
        &exec("1", Status::Running, 3 * 3600),
        &JobRules::NONE,
        &learned,
    )
    .unwrap();
    assert_eq!(f.kind, FindingKind::Stuck);
}

#[test]
fn a_short_job_hung_for_ninety_minutes_is_reported() {
    let learned = learned(&[30.0; 25]);
    let f = judge(
        &exec("1", Status::Running, 90 * 60),
        &JobRules::default(),
        &learned,
    )
    .unwrap();
    assert_eq!(f.kind, FindingKind::Overdue);
    assert_eq!(f.evidence.threshold_seconds, Some(300), "the floor");
    assert_eq!(
        judge(
            &exec("1", Status::Running, 90 * 60),
            &JobRules::NONE,
            &learned
        ),
        None
    );
}

#[test]
fn too_little_history_falls_back_to_the_fixed_thresholds_and_says_so() {
    let learned = learned(&[30.0; 7]);
    let e = exec("1", Status::Running, 7_300);
    let f = judge(&e, &JobRules::default(), &learned).unwrap();
    assert_eq!(f.kind, FindingKind::Stuck);
    assert!(
        f.reason
            .ends_with("; too little history to learn its limit (7 of 20 runs)"),
        "{}",
        f.reason
    );
    assert_eq!(
        f.evidence.limit,
        Some(LimitSource::Fixed {
            history_runs: Some(7),
            history_needed: Some(20)
        })
    );
    // Before history was first read the run waits for it (see
    // `before_history_is_read_…`); a read that failed judges by the fixed
    // thresholds and says nothing of history.
    assert_eq!(judge(&e, &JobRules::default(), &Learned::NONE), None);
    let f = judge(&e, &JobRules::default(), &Learned::unreadable()).unwrap();
    assert_eq!(f.kind, FindingKind::Stuck);
    assert!(!f.reason.contains("history"), "{}", f.reason);
}

#[test]
fn a_rule_that_pins_running_stuck_wins_over_the_learned_limit() {
    let rules = JobRules {
        rules: vec![rule(RuleKey::Name, "job-*", Some(4 * 3600))],
        learning: Learning::DEFAULT,
    };
    let learned = twelve_minutes();
    assert_eq!(
        judge(&exec("1", Status::Running, 3 * 3600), &rules, &learned),
        None
    );
    let f = judge(&exec("1", Status::Running, 4 * 3600 + 1), &rules, &learned).unwrap();
    assert_eq!(f.kind, FindingKind::Stuck);
    assert!(
        f.reason.contains("over running_stuck 4h (rule `job-*`)"),
        "{}",
        f.reason
    );
    assert_eq!(
        f.evidence.limit,
        Some(LimitSource::Rule {
            key: RuleKey::Name,
            pattern: "job-*".into()
        })
    );
    // A rule that sets other keys leaves the learned limit in force.
    let rules = JobRules {
        rules: vec![rule(RuleKey::Name, "job-*", None)],
        learning: Learning::DEFAULT,
    };
    let f = judge(&exec("1", Status::Running, 3 * 3600), &rules, &learned).unwrap();
    assert_eq!(f.kind, FindingKind::Overdue);
}

#[test]
fn pending_runs_are_never_judged_by_runtimes() {
    let learned = learned(&[1.0; 30]);
    let e = exec("1", Status::Pending, 1_800);
    assert_eq!(judge(&e, &JobRules::default(), &learned), None);
}

#[test]
fn before_history_is_read_a_running_job_waits_for_it_except_past_max_runtime() {
    // The monitor's first polls come before the first history read: the
    // three-hour job must not be called stuck then, to clear seconds later.
    let unread = Learned::NONE;
    let rules = JobRules::default();
    let e = exec("1", Status::Running, 3 * 3600);
    assert_eq!(judge(&e, &rules, &unread), None);
    let f = judge(&exec("1", Status::Running, 86_401), &rules, &unread).unwrap();
    assert_eq!(f.kind, FindingKind::Stuck);
    assert!(f.reason.contains("over max_runtime"), "{}", f.reason);
    // Control: with learning off the fixed threshold judges at once.
    assert_eq!(
        judge(&e, &JobRules::NONE, &unread).map(|f| f.kind),
        Some(FindingKind::Stuck)
    );
    // A pending row is not judged by runtimes: its fixed threshold stands.
    assert_eq!(
        judge(&exec("1", Status::Pending, 3 * 3600), &rules, &unread).map(|f| f.kind),
        Some(FindingKind::Stuck)
    );
}
