//! False alarms and misses with fixed thresholds only, and with learned
//! limits, on the same simulated day (`sim::runtimes`): jobs of seconds to
//! hours, their fortnight of history written to a real SQLite table and
//! learned by the store's aggregate, then a day of runs, some hung, judged
//! by the findings engine every 5 minutes for a day longer than the runs
//! start (every hung run gets its full `max_runtime`).
//!
//! A healthy run reported stuck or overdue at any moment is a false alarm;
//! a hung run never reported is a miss. `scripts/bench/learned_alarms.sh`
//! prints the table; docs/PERFORMANCE.md records it.

mod common;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration as Cd, TimeZone, Utc};
use exectop::config::TableConfig;
use exectop::domain::findings::{FindingInput, find};
use exectop::domain::{
    Capabilities, Execution, FindingKind, JobRules, Learned, PerJob, RemoteHistory, Status,
    Thresholds,
};
use exectop::sim::runtimes::{CATALOGUE, Run, Score, workload};
use exectop::store::{DbPool, Store, migrate};

const SEED: u64 = 24;
const HANG_RATE: f64 = 0.05;
/// Days of runs judged; each run is watched for a day more.
const DAYS: i64 = 3;
const STEP: i64 = 300;

fn day_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap()
}

fn time(t: DateTime<Utc>) -> String {
    format!("'{}'", t.format("%Y-%m-%dT%H:%M:%S%.3fZ"))
}

/// The history written to a native table and learned by the store.
async fn learned_from(history: &[Run]) -> Learned {
    let (url, _) = common::sqlite_fresh_url();
    let pool = DbPool::connect(&url, true).await.unwrap();
    migrate::apply(&pool, true).await.unwrap();
    for chunk in history.chunks(500) {
        let values: Vec<String> = chunk
            .iter()
            .map(|r| {
                let done = time(r.finished.expect("history has finished"));
                format!(
                    "({}, '{}', 'succeeded', {}, {}, {done}, {done})",
                    r.id,
                    r.job,
                    time(r.started),
                    time(r.started)
                )
            })
            .collect();
        common::execute(
            &pool,
            format!(
                "INSERT INTO exectop_executions (id, name, status, created_at, started_at, updated_at, completed_at) VALUES {}",
                values.join(", ")
            ),
        )
        .await;
    }
    let store = Store::with_pool(pool, &url, &TableConfig::default());
    store
        .learned_runtimes(day_start(), &JobRules::default().learning)
        .await
        .unwrap()
}

fn row(r: &Run) -> Execution {
    Execution {
        id: r.id.to_string(),
        remote_id: None,
        name: Some(r.job.into()),
        group: None,
        status: Status::Running,
        raw_status: "running".into(),
        created_at: r.started,
        started_at: Some(r.started),
        updated_at: Some(r.started),
        completed_at: None,
        heartbeat_at: None,
        error: None,
        error_count: None,
    }
}

/// When each of the day's runs was first reported stuck or overdue.
fn first_reports(day: &[Run], per_job: PerJob<'_>) -> HashMap<u64, DateTime<Utc>> {
    let thresholds = Thresholds::default();
    let remote: HashMap<String, RemoteHistory> = HashMap::new();
    let mut first = HashMap::new();
    let end = day_start() + Cd::days(DAYS + 1);
    let mut t = day_start();
    while t <= end {
        let active: Vec<Execution> = day.iter().filter(|r| r.running_at(t)).map(row).collect();
        let found = find(&FindingInput {
            now: t,
            local_as_of: t,
            thresholds: &thresholds,
            capabilities: Capabilities::default(),
            executions: &active,
            remote: &remote,
            remote_only: &[],
            mismatch_confirmation: thresholds.registration_grace,
            per_job,
        });
        for f in found {
            assert!(
                matches!(f.kind, FindingKind::Stuck | FindingKind::Overdue),
                "{f:?}"
            );
            let id: u64 = f.execution_id.unwrap().parse().unwrap();
            first.entry(id).or_insert(t);
        }
        t += Cd::seconds(STEP);
    }
    first
}

fn score(day: &[Run], reported: &HashMap<u64, DateTime<Utc>>) -> BTreeMap<&'static str, Score> {
    let mut by_job: BTreeMap<&'static str, Score> = BTreeMap::new();
    for r in day {
        let s = by_job.entry(r.job).or_default();
        match (r.hung(), reported.get(&r.id)) {
            (false, None) => s.healthy += 1,
            (false, Some(_)) => {
                s.healthy += 1;
                s.false_alarms += 1;
            }
            (true, None) => s.misses += 1,
            (true, Some(at)) => {
                s.caught += 1;
                s.detection_seconds += (*at - r.started).num_seconds();
            }
        }
    }
    by_job
}

fn total(by_job: &BTreeMap<&'static str, Score>) -> Score {
    by_job.values().fold(Score::default(), |a, s| Score {
        false_alarms: a.false_alarms + s.false_alarms,
        misses: a.misses + s.misses,
        caught: a.caught + s.caught,
        healthy: a.healthy + s.healthy,
        detection_seconds: a.detection_seconds + s.detection_seconds,
    })
}

fn mean(s: &Score) -> String {
    s.mean_detection()
        .map_or("-".to_string(), exectop::domain::format_age)
}

#[tokio::test]
async fn learned_limits_halve_false_alarms_with_no_more_misses() {
    let w = workload(SEED, &CATALOGUE, day_start(), DAYS, HANG_RATE);
    // Only runs that start in the measured days are judged; the day after
    // gives each its full max_runtime.
    let day: Vec<Run> = w
        .day
        .into_iter()
        .filter(|r| r.started < day_start() + Cd::days(DAYS))
        .collect();
    let learned = learned_from(&w.history).await;
    let rules = JobRules::default();
    let fixed = score(&day, &first_reports(&day, PerJob::none()));
    let learning = score(
        &day,
        &first_reports(
            &day,
            PerJob {
                rules: &rules,
                learned: &learned,
            },
        ),
    );
    println!(
        "seed {SEED}: {} runs in {DAYS} days ({} hung), history {} runs over 14 days; judged every {STEP} s for {} days",
        day.len(),
        day.iter().filter(|r| r.hung()).count(),
        w.history.len(),
        DAYS + 1
    );
    println!(
        "{:<15} {:>5} {:>8} {:>5} | {:>6} {:>6} {:>8} | {:>6} {:>6} {:>8}",
        "job", "runs", "p95", "hung", "fixFA", "fixMS", "fixDet", "lrnFA", "lrnMS", "lrnDet"
    );
    for (job, f) in &fixed {
        let l = &learning[job];
        let p95 = learned
            .by_name
            .get(*job)
            .filter(|s| s.runs >= u64::from(rules.learning.min_runs))
            .map_or("(few)".to_string(), |s| {
                exectop::domain::format_age(s.p95.round() as i64)
            });
        println!(
            "{job:<15} {:>5} {p95:>8} {:>5} | {:>6} {:>6} {:>8} | {:>6} {:>6} {:>8}",
            f.healthy + f.caught + f.misses,
            f.caught + f.misses,
            f.false_alarms,
            f.misses,
            mean(f),
            l.false_alarms,
            l.misses,
            mean(l)
        );
    }
    let (f, l) = (total(&fixed), total(&learning));
    println!(
        "{:<15} {:>5} {:>8} {:>5} | {:>6} {:>6} {:>8} | {:>6} {:>6} {:>8}",
        "all",
        f.healthy + f.caught + f.misses,
        "",
        f.caught + f.misses,
        f.false_alarms,
        f.misses,
        mean(&f),
        l.false_alarms,
        l.misses,
        mean(&l)
    );
    // Positive controls: the fixed thresholds do cry wolf on the long jobs
    // and there are hung runs to catch.
    assert!(f.false_alarms > 10, "{f:?}");
    assert!(f.caught + f.misses > 10, "{f:?}");
    assert!(
        l.false_alarms * 2 <= f.false_alarms,
        "learned {l:?} against fixed {f:?}"
    );
    assert!(l.misses <= f.misses, "learned {l:?} against fixed {f:?}");
}
