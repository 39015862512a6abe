//! The live poll on a table that maps `updated_at`: between whole reads it
//! reads only the rows written since the last poll, and the database's count
//! of active rows sends it back to a whole read when the changes cannot
//! explain the active set. On PostgreSQL and SQLite.

mod common;

use std::collections::BTreeMap;

use exectop::config::{Config, TableConfig};
use exectop::monitor::{DatabaseCycle, MonitorState, Poller, Snapshot};
use exectop::store::{DbPool, Store, migrate};

/// name → status spelling of the active rows a snapshot shows.
fn active(snapshot: &Snapshot) -> BTreeMap<String, String> {
    snapshot
        .active
        .iter()
        .map(|e| {
            (
                e.name.as_deref().unwrap_or_default().to_string(),
                e.raw_status.to_string(),
            )
        })
        .collect()
}

async fn reads_changes_and_trusts_the_count(url: &str) {
    let pool = DbPool::connect(url, true).await.unwrap();
    migrate::apply(&pool, true).await.unwrap();
    let (hour_ago, now) = match pool {
        DbPool::Postgres(_) => ("now() - interval '1 hour'", "now()"),
        DbPool::Sqlite(_) => (
            "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 hours')",
            "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        ),
    };
    let insert = |name: &str, status: &str, at: &str| {
        format!(
            "INSERT INTO exectop_executions (status, remote_id, name, created_at, started_at, updated_at) \
             VALUES ('{status}', 'r-{name}', '{name}', {hour_ago}, {hour_ago}, {at})"
        )
    };
    for name in ["a", "b", "c"] {
        common::execute(&pool, insert(name, "running", hour_ago)).await;
    }
    let poller = Poller::new(
        Store::with_pool(pool.clone(), url, &TableConfig::default()),
        None,
        &Config::default(),
    );
    let (mut cycle, mut state) = (DatabaseCycle::default(), MonitorState::default());
    let first = poller.database_cycle(&mut cycle, &mut state).await.unwrap();
    assert_eq!(active(&first).len(), 3);

    // Written the way an application writes: `updated_at` moves with the row.
    common::execute(&pool, insert("d", "pending", now)).await;
    common::execute(
        &pool,
        format!("UPDATE exectop_executions SET status = 'succeeded', completed_at = {now}, updated_at = {now} WHERE name = 'a'"),
    )
    .await;
    // Written behind the poll's back: `updated_at` stays, so a poll that
    // reads only the changes cannot see this one.
    common::execute(
        &pool,
        "UPDATE exectop_executions SET status = 'pending' WHERE name = 'b'",
    )
    .await;
    let second = poller.database_cycle(&mut cycle, &mut state).await.unwrap();
    assert_eq!(
        active(&second),
        BTreeMap::from([
            ("b".to_string(), "running".to_string()),
            ("c".to_string(), "running".to_string()),
            ("d".to_string(), "pending".to_string()),
        ]),
        "the changes were read, and only the changes"
    );
    assert!(
        std::sync::Arc::ptr_eq(&first.active[2], &second.active[1]),
        "an unwritten row is the same row, not a copy"
    );
    assert_eq!(second.error_rates.day.succeeded, 1, "a finished row counts");

    // The operator's "refresh now" reads the whole set: the missed write shows.
    cycle.read_whole_next();
    let third = poller.database_cycle(&mut cycle, &mut state).await.unwrap();
    assert_eq!(active(&third)["b"], "pending");

    // Behind the poll's back again, and a row deleted without a trace: the
    // database counts one row fewer than the changes give, so this poll reads
    // the whole active set, and sees the write it missed too.
    common::execute(
        &pool,
        "UPDATE exectop_executions SET status = 'running' WHERE name = 'd'",
    )
    .await;
    common::execute(&pool, "DELETE FROM exectop_executions WHERE name = 'c'").await;
    let fourth = poller.database_cycle(&mut cycle, &mut state).await.unwrap();
    assert_eq!(
        active(&fourth),
        BTreeMap::from([
            ("b".to_string(), "pending".to_string()),
            ("d".to_string(), "running".to_string()),
        ])
    );
}

#[tokio::test]
async fn a_poll_reads_the_changes_and_trusts_the_count_on_postgres() {
    reads_changes_and_trusts_the_count(&common::pg_fresh_url().await).await;
}

#[tokio::test]
async fn a_poll_reads_the_changes_and_trusts_the_count_on_sqlite() {
    let (url, _) = common::sqlite_fresh_url();
    reads_changes_and_trusts_the_count(&url).await;
}
