//! The runtimes the database learns per job agree with the same statistics
//! computed from the runs themselves (`RuntimeStats::of_window`, the
//! reference): succeeded runs in the window only, PostgreSQL's
//! `percentile_cont` and SQLite's ranks alike; and where the table has no
//! index to narrow the window, `index_advice` names the one it needs.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Duration as Cd, SubsecRound, Utc};
use exectop::config::TableConfig;
use exectop::domain::{Learned, Learning, RuntimeStats};
use exectop::store::{DbPool, Store, migrate};

/// name, status, started, completed (None: still running).
type Run = (
    Option<&'static str>,
    &'static str,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

/// Deterministic runs: a job of seconds, one of minutes with an outlier,
/// one of hours, one with three runs, one with a single run, failures and
/// runs finished before the window or still going (which must not count),
/// and a run with no name.
fn runs(now: DateTime<Utc>) -> Vec<Run> {
    let mut out = Vec::new();
    let mut add = |name, status, seconds: i64, finished_ago: i64| {
        let completed = now - Cd::seconds(finished_ago);
        out.push((
            name,
            status,
            completed - Cd::seconds(seconds),
            Some(completed),
        ));
    };
    for i in 0..57 {
        add(
            Some("seconds"),
            "succeeded",
            20 + (i * 7) % 23,
            600 + i * 3_000,
        );
    }
    for i in 0..33 {
        let seconds = if i == 5 { 50_000 } else { 700 + (i * 37) % 200 };
        add(Some("minutes"), "succeeded", seconds, 900 + i * 20_000);
    }
    for i in 0..21 {
        add(
            Some("hours"),
            "succeeded",
            3 * 3600 + i * 61,
            86_400 * (i % 9) + 7,
        );
    }
    for s in [40, 10, 25] {
        add(Some("three"), "succeeded", s, 5_000);
    }
    add(Some("single"), "succeeded", 99, 123);
    // Not counted: failed and timed-out runs, runs finished before the
    // window (8 days ago for a 7-day window), a run finished in the future.
    add(Some("minutes"), "failed", 5, 1_000);
    add(Some("minutes"), "timed_out", 90_000, 2_000);
    add(Some("seconds"), "succeeded", 99_999, 8 * 86_400);
    add(Some("seconds"), "succeeded", 99_999, -600);
    add(None, "succeeded", 42, 300);
    out.push((Some("seconds"), "running", now - Cd::hours(5), None));
    out
}

fn window() -> Learning {
    Learning {
        window: Duration::from_secs(7 * 86_400),
        ..Learning::DEFAULT
    }
}

/// What the store should learn: the reference over the succeeded runs.
fn reference(runs: &[Run], now: DateTime<Utc>) -> BTreeMap<String, RuntimeStats> {
    let mut by_name: BTreeMap<String, Vec<(DateTime<Utc>, f64)>> = BTreeMap::new();
    for (name, status, started, completed) in runs {
        if let (Some(name), "succeeded", Some(completed)) = (name, *status, completed) {
            by_name.entry(name.to_string()).or_default().push((
                *completed,
                (*completed - *started).num_milliseconds() as f64 / 1000.0,
            ));
        }
    }
    by_name
        .into_iter()
        .filter_map(|(name, runs)| {
            RuntimeStats::of_window(&runs, now, window().window).map(|s| (name, s))
        })
        .collect()
}

async fn seeded(url: &str, now: DateTime<Utc>) -> (DbPool, Store) {
    let pool = DbPool::connect(url, true).await.unwrap();
    migrate::apply(&pool, true).await.unwrap();
    let time = |t: DateTime<Utc>| format!("'{}'", t.format("%Y-%m-%dT%H:%M:%S%.3fZ"));
    let values: Vec<String> = runs(now)
        .iter()
        .enumerate()
        .map(|(id, (name, status, started, completed))| {
            format!(
                "({id}, {}, '{status}', {}, {}, {}, {})",
                name.map_or("NULL".to_string(), |n| format!("'{n}'")),
                time(*started),
                time(*started),
                completed.map_or(time(*started), time),
                completed.map_or("NULL".to_string(), time),
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
    let store = Store::with_pool(pool.clone(), url, &TableConfig::default());
    store.validate_schema().await.unwrap();
    (pool, store)
}

fn close(a: &RuntimeStats, b: &RuntimeStats) -> bool {
    let near = |x: f64, y: f64| (x - y).abs() < 0.01;
    a.runs == b.runs && near(a.p50, b.p50) && near(a.p95, b.p95) && near(a.max, b.max)
}

async fn agree(url: &str) {
    let now = Utc::now().trunc_subsecs(0);
    let (_pool, store) = seeded(url, now).await;
    let learned: Learned = store.learned_runtimes(now, &window()).await.unwrap();
    let want = reference(&runs(now), now);
    assert_eq!(
        learned.by_name.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "{url}"
    );
    for (name, stats) in &want {
        let got = &learned.by_name[name];
        assert!(
            close(got, stats),
            "{url} {name}: got {got:?}, want {stats:?}"
        );
    }
    // Positive controls: the outlier is the max, not the p95; the counts
    // leave out what they must.
    let minutes = &learned.by_name["minutes"];
    assert_eq!((minutes.runs, minutes.max), (31, 50_000.0), "{url}");
    assert!(minutes.p95 < 1_000.0, "{url} {minutes:?}");
    assert_eq!(learned.by_name["single"].p95, 99.0);
    assert_eq!(learned.window, window().window);
    assert_eq!(learned.as_of, Some(now));
}

#[tokio::test]
async fn the_database_learns_what_the_runs_say_on_postgres() {
    agree(&common::pg_fresh_url().await).await;
}

#[tokio::test]
async fn the_database_learns_what_the_runs_say_on_sqlite() {
    agree(&common::sqlite_fresh_url().0).await;
}

/// The plan the advice is judged on: the statement for an hour's window.
async fn hour_plan(store: &Store, learning: &Learning) -> String {
    let hour = Learning {
        window: Duration::from_secs(3600),
        ..learning.clone()
    };
    store.explain_runtimes(&hour).await.unwrap()
}

/// 60 000 succeeded runs over 42 days: a 7-day window is served by the
/// completion index; without it, the statement reads the whole table and
/// the advice names the index.
async fn advice(url: &str, postgres: bool) {
    let now = Utc::now().trunc_subsecs(0);
    let (pool, store) = seeded(url, now).await;
    let (series, at) = if postgres {
        (
            "generate_series(1, 60000) AS g(i)".to_string(),
            "now() - i * interval '1 minute'".to_string(),
        )
    } else {
        (
            "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60000) SELECT i FROM n)".to_string(),
            "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || i || ' minutes')".to_string(),
        )
    };
    common::execute(
        &pool,
        format!(
            "INSERT INTO exectop_executions (id, name, status, created_at, started_at, updated_at, completed_at) \
             SELECT 100000 + i, 'job-' || (i % 50), 'succeeded', {at}, {at}, {at}, {at} FROM {series}"
        ),
    )
    .await;
    common::execute(&pool, "ANALYZE").await;
    let learning = window();
    let runtimes = |advice: Vec<String>| {
        advice
            .into_iter()
            .filter(|a| a.starts_with("learning job runtimes"))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        runtimes(store.index_advice(&learning).await.unwrap()),
        Vec::<String>::new(),
        "{url}: {}",
        hour_plan(&store, &learning).await
    );
    common::execute(&pool, "DROP INDEX exectop_executions_completed_at").await;
    common::execute(&pool, "ANALYZE").await;
    // A pooled SQLite connection keeps the statement it prepared before the
    // drop, and explains it with the index gone: a new pool plans afresh.
    let store = Store::with_pool(
        DbPool::connect(url, true).await.unwrap(),
        url,
        &TableConfig::default(),
    );
    let concurrently = if postgres { " CONCURRENTLY" } else { "" };
    assert_eq!(
        runtimes(store.index_advice(&learning).await.unwrap()),
        [format!(
            "learning job runtimes scans the whole of \"exectop_executions\": CREATE INDEX{concurrently} \"exectop_executions_exectop_finished\" ON \"exectop_executions\" (\"completed_at\");"
        )],
        "{url}: {}",
        hour_plan(&store, &learning).await
    );
    // Learning off: nothing to advise.
    let off = Learning {
        enabled: false,
        ..learning
    };
    assert!(runtimes(store.index_advice(&off).await.unwrap()).is_empty());
}

#[tokio::test]
async fn a_missing_index_is_advised_on_postgres() {
    advice(&common::pg_fresh_url().await, true).await;
}

#[tokio::test]
async fn a_missing_index_is_advised_on_sqlite() {
    advice(&common::sqlite_fresh_url().0, false).await;
}
