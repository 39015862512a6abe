//! The fault probe's cases, each kept as a test: a remote stop is never
//! sent for a row that cannot be written and is always on record once sent;
//! a write rests on everything the decision saw (status, remote id, row
//! version); what was confirmed is what is written; a role that cannot
//! write is told so before anything happens. Real PostgreSQL (and SQLite
//! where the case applies); the interleavings are made deterministic with
//! locks held by the test's own connection.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use exectop::actions::{self, ActionError, Target};
use exectop::config::{Config, parse_str};
use exectop::domain::{RemoteAnswer, Status};
use exectop::remote::{BoxFuture, LookupTarget, RemoteError, RemoteTracker, TrackerHealth};
use exectop::store::{Actor, DbPool, Store, WriteAccess, migrate};

/// A remote that answers per id and can stop runs: a stop makes the run
/// ABORTED, and every stop sent is counted.
#[derive(Default)]
struct Remote {
    answers: Mutex<HashMap<String, RemoteAnswer>>,
    stops: AtomicUsize,
}

impl Remote {
    fn set(&self, id: &str, status: Status, raw: &str) {
        self.answers.lock().unwrap().insert(
            id.into(),
            RemoteAnswer::Found {
                status,
                raw: raw.into(),
            },
        );
    }
}

impl RemoteTracker for Remote {
    fn describe(&self) -> String {
        "fake".into()
    }
    fn lookup<'a>(&'a self, target: &'a LookupTarget) -> BoxFuture<'a, RemoteAnswer> {
        let remote_id = target.remote_id.as_str();
        let answer = self.answers.lock().unwrap().get(remote_id).cloned();
        Box::pin(async move { answer.unwrap_or(RemoteAnswer::NotFound) })
    }
    fn can_stop(&self) -> bool {
        true
    }
    fn stop<'a>(
        &'a self,
        target: &'a LookupTarget,
        _why: &'a str,
    ) -> BoxFuture<'a, Result<(), RemoteError>> {
        let remote_id = target.remote_id.as_str();
        self.stops.fetch_add(1, Ordering::SeqCst);
        self.set(remote_id, Status::Cancelled, "ABORTED");
        Box::pin(async { Ok(()) })
    }
    fn health(&self) -> TrackerHealth {
        TrackerHealth {
            ok: true,
            ..Default::default()
        }
    }
}

fn actor() -> Actor {
    Actor {
        operator: "alice".into(),
        host: "ops-1".into(),
    }
}

fn target(id: &str) -> Target {
    Target {
        id: id.into(),
        seen: Some(Status::Running),
    }
}

const CONFIG: &str = r#"
[table]
name = "runs"
id = "id"
status = "status"
remote_id = "arn"
created_at = "created_at"
completed_at = "completed_at"
error = "last_error"
[table.status_values]
running = ["RUNNING"]
succeeded = ["SUCCEEDED"]
failed = ["FAILED"]
cancelled = ["ABORTED"]
"#;

/// A `runs` table like seed 002's experiments (no `updated_at`: on
/// PostgreSQL the row version alone tells a rewritten row), `last_error`
/// as jsonb, and three running rows.
async fn setup(url: &str, key: &str) -> (Store, DbPool) {
    let pool = DbPool::connect(url, true).await.unwrap();
    let (json, now) = if url.starts_with("sqlite") {
        ("TEXT", "strftime('%Y-%m-%dT%H:%M:%fZ','now','-3 hours')")
    } else {
        ("JSONB", "now() - interval '3 hours'")
    };
    common::execute(
        &pool,
        format!(
            "CREATE TABLE runs (id TEXT {key}, status TEXT NOT NULL, arn TEXT, created_at {ts} NOT NULL, \
             completed_at {ts}, last_error {json})",
            ts = if url.starts_with("sqlite") { "TEXT" } else { "TIMESTAMPTZ" }
        ),
    )
    .await;
    for (id, arn, error) in [
        ("r1", "arn-1", "NULL"),
        ("r2", "arn-2", "'\"lambda timed out\"'"),
        ("r3", "arn-3", "NULL"),
    ] {
        common::execute(
            &pool,
            format!("INSERT INTO runs VALUES ('{id}', 'RUNNING', '{arn}', {now}, NULL, {error})"),
        )
        .await;
    }
    migrate::apply(&pool, false).await.unwrap();
    let config: Config = parse_str(CONFIG, "runs.toml").unwrap();
    let store = Store::with_pool(pool.clone(), url, &config.table);
    store.validate_schema().await.unwrap();
    (store, pool)
}

async fn scalar(pool: &DbPool, sql: &str) -> Option<String> {
    exectop::store::exec::execute(pool, sql, vec![])
        .await
        .unwrap()
}

async fn status(pool: &DbPool, id: &str) -> Option<String> {
    let sql = format!("SELECT status FROM runs WHERE id = '{id}'");
    scalar(pool, &sql).await
}

async fn audit(pool: &DbPool) -> Vec<String> {
    let rows = scalar(
        pool,
        "SELECT COALESCE(string_agg(action || ':' || execution_id || ':' || COALESCE(remote_status, '-'), '|' ORDER BY id), '') FROM exectop_audit",
    )
    .await
    .unwrap_or_default();
    rows.split('|')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn remote() -> Arc<Remote> {
    let r = Remote::default();
    for (arn, status, raw) in [
        ("arn-1", Status::Running, "RUNNING"),
        ("arn-2", Status::Running, "RUNNING"),
        ("arn-3", Status::Running, "RUNNING"),
    ] {
        r.set(arn, status, raw);
    }
    Arc::new(r)
}

/// A transaction of the test's own, holding a lock while exectop acts.
async fn hold(url: &str, sql: &str) -> sqlx::Transaction<'static, sqlx::Postgres> {
    use sqlx::Executor;
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    tx.execute(sqlx::AssertSqlSafe(sql.to_string()))
        .await
        .unwrap();
    tx
}

#[tokio::test]
async fn a_row_held_by_a_worker_is_refused_before_any_stop() {
    let url = common::pg_fresh_url().await;
    let (store, pool) = setup(&url, "PRIMARY KEY").await;
    let remote = remote();
    let tracker: Arc<dyn RemoteTracker> = remote.clone();
    let plan = actions::plan_mark_failed(&store, Some(&tracker), &[target("r1")], "hung", true)
        .await
        .unwrap();
    assert_eq!(plan.changes(), 1);
    // A worker is writing the row: it holds the row lock.
    let worker = hold(&url, "SELECT * FROM runs WHERE id = 'r1' FOR UPDATE").await;
    let started = std::time::Instant::now();
    let out = actions::apply(&store, Some(&tracker), &plan, &actor(), false)
        .await
        .unwrap();
    let why = out[0].applied.clone().unwrap_err();
    assert!(why.contains("locked by another transaction"), "{why}");
    assert!(why.contains("not stopped"), "{why}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the wait is bounded"
    );
    assert_eq!(
        remote.stops.load(Ordering::SeqCst),
        0,
        "nothing was stopped"
    );
    assert!(audit(&pool).await.is_empty());
    worker.rollback().await.unwrap();
    // Positive control: with the worker gone, the same plan stops and writes.
    let out = actions::apply(&store, Some(&tracker), &plan, &actor(), false)
        .await
        .unwrap();
    assert_eq!(out[0].applied, Ok(()));
    assert_eq!(remote.stops.load(Ordering::SeqCst), 1);
    assert_eq!(
        audit(&pool).await,
        [
            "stop_remote:r1:stopped; the remote confirms ABORTED",
            "mark_failed:r1:ABORTED"
        ]
    );
}

#[tokio::test]
async fn a_stop_sent_is_on_record_even_when_the_row_write_then_fails() {
    let url = common::pg_fresh_url().await;
    let (store, pool) = setup(&url, "PRIMARY KEY").await;
    let remote = remote();
    let tracker: Arc<dyn RemoteTracker> = remote.clone();
    let plan = actions::plan_mark_failed(&store, Some(&tracker), &[target("r1")], "hung", true)
        .await
        .unwrap();
    // SHARE mode lets exectop lock the row (FOR UPDATE) but not update it:
    // the stop goes out, then the write waits out its lock timeout.
    let blocker = hold(&url, "LOCK TABLE runs IN SHARE MODE").await;
    let out = actions::apply(&store, Some(&tracker), &plan, &actor(), false)
        .await
        .unwrap();
    let why = out[0].applied.clone().unwrap_err();
    assert!(
        why.contains(
            "the remote run was stopped (on record in the audit log), but the row was not written"
        ),
        "{why}"
    );
    assert_eq!(remote.stops.load(Ordering::SeqCst), 1);
    blocker.rollback().await.unwrap();
    assert_eq!(
        audit(&pool).await,
        ["stop_remote:r1:stopped; the remote confirms ABORTED"]
    );
    assert_eq!(status(&pool, "r1").await.as_deref(), Some("RUNNING"));
}

/// No transaction of exectop's is left open on `table` after a refusal: a
/// transaction left to its drop stays open on its pooled connection,
/// holding its locks, until that connection is used again.
async fn no_transaction_left_on(url: &str, table: &str) {
    if !url.starts_with("postgres") {
        return;
    }
    use sqlx::Executor;
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    let locked = tx
        .execute(sqlx::AssertSqlSafe(format!(
            "LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE NOWAIT"
        )))
        .await;
    assert!(
        locked.is_ok(),
        "a transaction still holds {table}: {locked:?}"
    );
    tx.rollback().await.unwrap();
    pool.close().await;
}

async fn races(url: &str) {
    let (store, pool) = setup(url, "PRIMARY KEY").await;
    let remote = remote();
    let tracker: Arc<dyn RemoteTracker> = remote.clone();

    // A worker finishes the row between the preview and the confirmation.
    let plan = actions::plan_mark_failed(&store, Some(&tracker), &[target("r1")], "hung", true)
        .await
        .unwrap();
    common::execute(
        &pool,
        "UPDATE runs SET status = 'SUCCEEDED' WHERE id = 'r1'",
    )
    .await;
    let out = actions::apply(&store, Some(&tracker), &plan, &actor(), false)
        .await
        .unwrap();
    let why = out[0].applied.clone().unwrap_err();
    assert!(why.contains("changed since you looked"), "{why}");
    assert_eq!(
        remote.stops.load(Ordering::SeqCst),
        0,
        "nothing was stopped"
    );
    no_transaction_left_on(url, "runs").await;

    // The row is reused for a new attempt: same RUNNING, new remote id. The
    // old attempt's answer must not be written onto it.
    remote.set("arn-2", Status::Succeeded, "SUCCEEDED");
    let plan = actions::plan_reconcile(&store, Some(&tracker), &[target("r2")])
        .await
        .unwrap();
    assert_eq!(plan.items[0].after, Some(Status::Succeeded));
    common::execute(&pool, "UPDATE runs SET arn = 'arn-2b' WHERE id = 'r2'").await;
    let out = actions::apply(&store, Some(&tracker), &plan, &actor(), false)
        .await
        .unwrap();
    let why = out[0].applied.clone().unwrap_err();
    assert!(
        why.contains("remote id is now arn-2b (you saw arn-2)"),
        "{why}"
    );
    assert_eq!(status(&pool, "r2").await.as_deref(), Some("RUNNING"));
    no_transaction_left_on(url, "runs").await;

    // What was confirmed is what is written: the preview said succeeded,
    // the remote now says failed; the row is left alone and says so.
    remote.set("arn-3", Status::Succeeded, "SUCCEEDED");
    let plan = actions::plan_reconcile(&store, Some(&tracker), &[target("r3")])
        .await
        .unwrap();
    remote.set("arn-3", Status::Failed, "FAILED");
    let out = actions::apply(&store, Some(&tracker), &plan, &actor(), false)
        .await
        .unwrap();
    let why = out[0].applied.clone().unwrap_err();
    assert!(
        why.contains("the remote now says FAILED (→ failed), not what you confirmed (→ succeeded)"),
        "{why}"
    );
    assert_eq!(status(&pool, "r3").await.as_deref(), Some("RUNNING"));
    // Confirming again writes the new answer.
    let plan = actions::plan_reconcile(&store, Some(&tracker), &[target("r3")])
        .await
        .unwrap();
    let out = actions::apply(&store, Some(&tracker), &plan, &actor(), false)
        .await
        .unwrap();
    assert_eq!(out[0].applied, Ok(()));
    assert_eq!(status(&pool, "r3").await.as_deref(), Some("FAILED"));
    assert_eq!(audit(&pool).await, ["reconcile:r3:FAILED"]);
}

#[tokio::test]
async fn races_between_preview_and_write_on_postgres() {
    races(&common::pg_fresh_url().await).await;
}

#[tokio::test]
async fn races_between_preview_and_write_on_sqlite() {
    races(&common::sqlite_fresh_url().0).await;
}

#[tokio::test]
async fn a_rewritten_row_with_the_same_status_and_id_is_refused_on_postgres() {
    let url = common::pg_fresh_url().await;
    let (store, pool) = setup(&url, "PRIMARY KEY").await;
    let plan = actions::plan_mark_failed(&store, None, &[target("r3")], "hung", false)
        .await
        .unwrap();
    // Nothing exectop maps changes, but the row was written: its version moved.
    common::execute(&pool, "UPDATE runs SET status = status WHERE id = 'r3'").await;
    let out = actions::apply(&store, None, &plan, &actor(), false)
        .await
        .unwrap();
    let why = out[0].applied.clone().unwrap_err();
    assert!(why.contains("written since you looked"), "{why}");
}

#[tokio::test]
async fn a_select_only_role_is_read_only_and_nothing_is_stopped() {
    let url = common::pg_fresh_url().await;
    let (store, pool) = setup(&url, "PRIMARY KEY").await;
    let role = common::unique("exectop_ro");
    let schema = scalar(&pool, "SELECT current_schema()").await.unwrap();
    common::execute(
        &pool,
        format!(
            "CREATE ROLE {role} LOGIN; GRANT USAGE ON SCHEMA {schema} TO {role}; \
             GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}; \
             GRANT INSERT ON exectop_audit TO {role}"
        ),
    )
    .await;
    let ro_url = url.replacen("postgres@", &format!("{role}@"), 1);
    assert_ne!(ro_url, *url, "the test URL names its user: {url}");
    let ro_pool = DbPool::connect(&ro_url, false).await.unwrap();
    let config: Config = parse_str(CONFIG, "runs.toml").unwrap();
    let ro = Store::with_pool(ro_pool.clone(), &ro_url, &config.table);
    match ro.write_access().await {
        WriteAccess::Denied(why) => assert!(
            why.to_string().starts_with("no UPDATE privilege on"),
            "{why}"
        ),
        granted => panic!("{granted:?}"),
    }
    assert_eq!(
        store.write_access().await,
        WriteAccess::Granted,
        "positive control"
    );
    let remote = remote();
    let tracker: Arc<dyn RemoteTracker> = remote.clone();
    let plan = actions::plan_mark_failed(&ro, Some(&tracker), &[target("r1")], "hung", true)
        .await
        .unwrap();
    match actions::apply(&ro, Some(&tracker), &plan, &actor(), false).await {
        Err(ActionError::NoWriteAccess(why)) => {
            assert!(why.to_string().contains("UPDATE"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(remote.stops.load(Ordering::SeqCst), 0);
    if let DbPool::Postgres(p) = ro_pool {
        p.close().await;
    }
    common::execute(&pool, format!("DROP OWNED BY {role}; DROP ROLE {role}")).await;
}

#[tokio::test]
async fn an_id_that_is_not_unique_is_refused_at_start() {
    for url in [
        common::pg_fresh_url().await.to_string(),
        common::sqlite_fresh_url().0,
    ] {
        let (store, _pool) = setup(&url, "NOT NULL").await;
        match store.write_access().await {
            WriteAccess::Denied(why) => assert!(
                why.to_string()
                    .contains("table.id \"id\" is not a primary key or unique index"),
                "{url}: {why}"
            ),
            granted => panic!("{url}: {granted:?}"),
        }
        let plan = actions::plan_mark_failed(&store, None, &[target("r1")], "x", false)
            .await
            .unwrap();
        assert!(matches!(
            actions::apply(&store, None, &plan, &actor(), false).await,
            Err(ActionError::NoWriteAccess(_))
        ));
    }
    // A unique index (not a primary key) is enough, on both backends.
    for url in [
        common::pg_fresh_url().await.to_string(),
        common::sqlite_fresh_url().0,
    ] {
        let (store, pool) = setup(&url, "NOT NULL").await;
        common::execute(&pool, "CREATE UNIQUE INDEX runs_id ON runs (id)").await;
        assert_eq!(store.write_access().await, WriteAccess::Granted, "{url}");
    }
}

#[tokio::test]
async fn a_json_error_that_is_a_string_stays_an_object_with_both() {
    let url = common::pg_fresh_url().await;
    let (store, pool) = setup(&url, "PRIMARY KEY").await;
    let plan =
        actions::plan_mark_failed(&store, None, &[target("r2"), target("r3")], "hung", false)
            .await
            .unwrap();
    let out = actions::apply(&store, None, &plan, &actor(), false)
        .await
        .unwrap();
    assert!(out.iter().all(|o| o.applied.is_ok()), "{out:?}");
    let r2 = scalar(&pool, "SELECT last_error::text FROM runs WHERE id = 'r2'")
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&r2).unwrap();
    assert_eq!(v["exectop_previous_error"], "lambda timed out", "{v}");
    assert!(
        v["exectop_reason"].as_str().unwrap().ends_with("] hung"),
        "{v}"
    );
    let r3 = scalar(
        &pool,
        "SELECT jsonb_typeof(last_error) FROM runs WHERE id = 'r3'",
    )
    .await;
    assert_eq!(r3.as_deref(), Some("object"));
}

#[tokio::test]
async fn stop_remote_with_a_tracker_that_cannot_stop_is_refused() {
    let (store, _pool) = setup(&common::sqlite_fresh_url().0, "PRIMARY KEY").await;
    struct CannotStop;
    impl RemoteTracker for CannotStop {
        fn describe(&self) -> String {
            "http example".into()
        }
        fn lookup<'a>(&'a self, _: &'a LookupTarget) -> BoxFuture<'a, RemoteAnswer> {
            Box::pin(async { RemoteAnswer::NotFound })
        }
        fn health(&self) -> TrackerHealth {
            TrackerHealth::default()
        }
    }
    let tracker: Arc<dyn RemoteTracker> = Arc::new(CannotStop);
    let err = actions::plan_mark_failed(&store, Some(&tracker), &[target("r1")], "x", true)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cannot stop runs"), "{err}");
    let err = actions::plan_mark_failed(&store, None, &[target("r1")], "x", true)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("needs a remote tracker"), "{err}");
}

/// An id asked for twice is one row: planned once, written once (a chunk
/// would otherwise count one changed row for two ids and roll back).
#[tokio::test]
async fn an_id_asked_for_twice_is_written_once() {
    let url = common::pg_fresh_url().await;
    let (store, pool) = setup(&url, "PRIMARY KEY").await;
    let plan = actions::plan_mark_failed(
        &store,
        None,
        &[target("r1"), target("r1"), target("r3")],
        "hung",
        false,
    )
    .await
    .unwrap();
    assert_eq!(plan.items.len(), 2);
    let out = actions::apply(&store, None, &plan, &actor(), false)
        .await
        .unwrap();
    assert!(out.iter().all(|o| o.applied.is_ok()), "{out:?}");
    assert_eq!(audit(&pool).await.len(), 2);
}
