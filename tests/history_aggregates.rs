//! The day's error rates counted by the database agree with the same rates
//! counted row by row (`error_rates::compute`, the reference): both windows,
//! the 30-minute series, error classes from the configured rules, and the
//! groups, on PostgreSQL and SQLite.

mod common;

use chrono::{DateTime, Duration as Cd, SubsecRound, Utc};
use exectop::config::TableConfig;
use exectop::domain::{ErrorClass, ErrorClassifier, error_rates};
use exectop::store::{DbPool, Store, migrate};

/// id, status, finished at, error, group.
type Row = (
    i64,
    &'static str,
    DateTime<Utc>,
    Option<&'static str>,
    &'static str,
);

/// Deterministic rows: every status, finish times across 25 hours (some
/// outside the day, some right at the hour boundary), errors of every
/// class, LIKE's own wildcards in the text, and a handful of groups.
fn rows(now: DateTime<Utc>) -> Vec<Row> {
    let statuses = [
        "succeeded",
        "failed",
        "timed_out",
        "cancelled",
        "succeeded",
        "failed",
        "running",
    ];
    let errors = [
        None,
        Some("Request TIMED OUT after 30s"),
        Some("403 Forbidden: access denied"),
        Some("connection reset by peer"),
        Some("quota 100% used_up"),
        Some("something odd"),
        Some("token expired"),
    ];
    let groups = ["etl", "reports", "nightly", "adhoc"];
    (0..420)
        .map(|i: i64| {
            let minutes_ago = (i * 37) % (25 * 60);
            let at = if i == 7 {
                now - Cd::hours(1)
            } else {
                now - Cd::minutes(minutes_ago) - Cd::seconds(i % 50)
            };
            (
                i,
                statuses[(i % 7) as usize],
                at,
                errors[((i / 7) % 7) as usize],
                groups[(i % 4) as usize],
            )
        })
        .collect()
}

async fn agree(url: &str) {
    let pool = DbPool::connect(url, true).await.unwrap();
    migrate::apply(&pool, true).await.unwrap();
    // Whole seconds: SQLite's bound moments keep milliseconds, and a row
    // finishing in the very millisecond of `now` is not what is tested.
    let now = Utc::now().trunc_subsecs(0);
    let time = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    for chunk in rows(now).chunks(100) {
        let values: Vec<String> = chunk
            .iter()
            .map(|(id, status, at, error, group)| {
                let error = error.map_or("NULL".to_string(), |e| format!("'{e}'"));
                let completed = if *status == "running" {
                    "NULL".to_string()
                } else {
                    format!("'{}'", time(*at))
                };
                format!(
                    "({id}, '{status}', '{}', '{}', {completed}, {error}, '{group}')",
                    time(*at - Cd::minutes(5)),
                    time(*at),
                )
            })
            .collect();
        common::execute(
            &pool,
            format!(
                "INSERT INTO exectop_executions (id, status, created_at, updated_at, completed_at, error, group_name) VALUES {}",
                values.join(", ")
            ),
        )
        .await;
    }
    // Spellings no mapping covers, for the unmapped count.
    let created = time(now - Cd::minutes(3));
    common::execute(
        &pool,
        format!(
            "INSERT INTO exectop_executions (id, status, created_at) VALUES \
             (9001, 'QUEUED', '{created}'), (9002, 'QUEUED', '{created}'), (9003, 'weird', '{created}')"
        ),
    )
    .await;
    let store = Store::with_pool(pool, url, &TableConfig::default());
    store.validate_schema().await.unwrap();
    // `check`'s one scan counts what its two statements did.
    let (mut windows, unmapped) = store.day_counts(now).await.unwrap();
    let mut separately = store.finished_counts(now).await.unwrap();
    let key = |w: &exectop::domain::WindowCount| (w.status.as_str(), w.in_hour, w.count);
    windows.sort_by_key(key);
    separately.sort_by_key(key);
    assert_eq!(windows, separately, "{url}");
    assert!(!windows.is_empty(), "positive control");
    assert_eq!(
        unmapped,
        store.unmapped_statuses(now - Cd::hours(24)).await.unwrap(),
        "{url}"
    );
    assert_eq!(
        unmapped,
        [("QUEUED".to_string(), 2), ("weird".to_string(), 1)]
    );
    let classifier = ErrorClassifier::default();
    let counted = store.finished_breakdown(now, &classifier).await.unwrap();
    let read = store.finished_since(now - Cd::hours(24)).await.unwrap();
    let reference = error_rates::compute(&read, now, &classifier);
    assert!(
        reference.day.failed > 50,
        "positive control: {:?}",
        reference.day
    );
    assert!(reference.by_class.len() >= 5, "{:?}", reference.by_class);
    assert!(
        reference
            .by_class
            .iter()
            .any(|(c, _)| *c == ErrorClass::Resource),
        "the text with % and _ is classed by its words"
    );
    assert_eq!(counted, reference, "{url}");
}

#[tokio::test]
async fn the_database_counts_what_the_rows_say_on_postgres() {
    agree(&common::pg_fresh_url().await).await;
}

#[tokio::test]
async fn the_database_counts_what_the_rows_say_on_sqlite() {
    agree(&common::sqlite_fresh_url().0).await;
}

/// Groups are ordered by how many failed, as numbers: a group with 100
/// failures comes before one with 9 (as text, "9" sorts above "100").
async fn most_failing_first(url: &str) {
    let pool = DbPool::connect(url, true).await.unwrap();
    migrate::apply(&pool, true).await.unwrap();
    let now = Utc::now().trunc_subsecs(0);
    let at = (now - Cd::minutes(5))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let rows: Vec<String> = (0..109)
        .map(|i| {
            let group = if i < 9 { "a-nine" } else { "b-hundred" };
            format!("({i}, 'failed', '{at}', '{at}', '{at}', NULL, '{group}')")
        })
        .collect();
    common::execute(
        &pool,
        format!(
            "INSERT INTO exectop_executions (id, status, created_at, updated_at, completed_at, error, group_name) VALUES {}",
            rows.join(", ")
        ),
    )
    .await;
    let store = Store::with_pool(pool, url, &TableConfig::default());
    let rates = store
        .finished_breakdown(now, &ErrorClassifier::default())
        .await
        .unwrap();
    let order: Vec<(&str, u64)> = rates
        .by_group
        .iter()
        .map(|g| (g.group.as_str(), g.failed))
        .collect();
    assert_eq!(order, [("b-hundred", 100), ("a-nine", 9)], "{url}");
}

#[tokio::test]
async fn groups_are_ordered_by_failures_as_numbers() {
    most_failing_first(&common::pg_fresh_url().await).await;
    most_failing_first(&common::sqlite_fresh_url().0).await;
}
