//! Operator actions against real PostgreSQL and SQLite tables of the seed
//! systems' shapes: compare-and-set, audit in the same transaction, the bulk
//! lease, read-only, dry runs, and the remote asked right before writing.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use exectop::actions::{self, ActionError, ActionKind, Target};
use exectop::config::{Config, parse_str};
use exectop::domain::{RemoteAnswer, Status};
use exectop::remote::{BoxFuture, LookupTarget, RemoteTracker, TrackerHealth};
use exectop::store::{Actor, DbPool, Store, migrate};
use sqlx::Executor;

struct FakeTracker(Mutex<HashMap<String, RemoteAnswer>>);

impl FakeTracker {
    fn new(answers: &[(&str, Status, &str)]) -> Arc<FakeTracker> {
        Arc::new(FakeTracker(Mutex::new(
            answers
                .iter()
                .map(|(id, s, raw)| {
                    (
                        id.to_string(),
                        RemoteAnswer::Found {
                            status: *s,
                            raw: (*raw).into(),
                        },
                    )
                })
                .collect(),
        )))
    }
    fn set(&self, id: &str, s: Status, raw: &str) {
        self.0.lock().unwrap().insert(
            id.into(),
            RemoteAnswer::Found {
                status: s,
                raw: raw.into(),
            },
        );
    }
}

impl RemoteTracker for FakeTracker {
    fn describe(&self) -> String {
        "fake".into()
    }
    fn lookup<'a>(&'a self, target: &'a LookupTarget) -> BoxFuture<'a, RemoteAnswer> {
        let remote_id = target.remote_id.as_str();
        let answer = self
            .0
            .lock()
            .unwrap()
            .get(remote_id)
            .cloned()
            .unwrap_or(RemoteAnswer::NotFound);
        Box::pin(async move { answer })
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

const AMC: &str = r#"
[table]
name = "workflow_executions"
id = "id"
status = "status"
remote_id = "amc_execution_id"
created_at = "created_at"
updated_at = "updated_at"
completed_at = "completed_at"
error = "error_message"
[table.status_values]
pending = ["PENDING"]
running = ["RUNNING"]
succeeded = ["SUCCESS"]
failed = ["FAILED"]
cancelled = ["CANCELLED"]
timed_out = ["TIMEOUT"]
"#;

const AMC_TABLE: &str = "CREATE TABLE workflow_executions (id TEXT PRIMARY KEY, status TEXT NOT NULL, amc_execution_id TEXT,
    created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ, completed_at TIMESTAMPTZ, error_message TEXT, untouched TEXT);
    INSERT INTO workflow_executions VALUES
    ('w1', 'RUNNING', 'amc-1', now() - interval '3 hours', now() - interval '3 hours', NULL, 'first attempt: token expired', 'keep'),
    ('w2', 'RUNNING', 'amc-2', now() - interval '2 hours', now() - interval '2 hours', NULL, NULL, 'keep'),
    ('w3', 'SUCCESS', 'amc-3', now() - interval '2 hours', now() - interval '1 hour', now() - interval '1 hour', NULL, 'keep'),
    ('w4', 'PENDING', NULL, now() - interval '30 hours', now() - interval '30 hours', NULL, NULL, 'keep')";

async fn amc_store(url: &str) -> Store {
    let pool = DbPool::connect(url, true).await.unwrap();
    let sql = if url.starts_with("sqlite") {
        AMC_TABLE
            .replace("TIMESTAMPTZ", "TEXT")
            .replace(
                "now() - interval '3 hours'",
                "strftime('%Y-%m-%dT%H:%M:%fZ','now','-3 hours')",
            )
            .replace(
                "now() - interval '2 hours'",
                "strftime('%Y-%m-%dT%H:%M:%fZ','now','-2 hours')",
            )
            .replace(
                "now() - interval '1 hour'",
                "strftime('%Y-%m-%dT%H:%M:%fZ','now','-1 hours')",
            )
            .replace(
                "now() - interval '30 hours'",
                "strftime('%Y-%m-%dT%H:%M:%fZ','now','-30 hours')",
            )
    } else {
        AMC_TABLE.to_string()
    };
    common::execute(&pool, sql).await;
    migrate::apply(&pool, false).await.unwrap();
    let config: Config = parse_str(AMC, "amc.toml").unwrap();
    let store = Store::with_pool(pool, url, &config.table);
    store.validate_schema().await.unwrap();
    store
}

async fn row(store: &Store, id: &str) -> (String, Option<String>, bool) {
    let r = store.by_ids(&[id.to_string()]).await.unwrap().remove(0);
    (r.raw_status.to_string(), r.error, r.completed_at.is_some())
}

async fn audit_count(store: &Store) -> usize {
    store.recent_audit(1000).await.unwrap().len()
}

fn target(id: &str, seen: Status) -> Target {
    Target {
        id: id.into(),
        seen: Some(seen),
    }
}

async fn reconcile_and_mark_failed(url: &str) {
    let store = amc_store(url).await;
    let tracker = FakeTracker::new(&[
        ("amc-1", Status::Succeeded, "SUCCEEDED"),
        ("amc-2", Status::Running, "RUNNING"),
        ("amc-3", Status::Running, "RUNNING"),
    ]);
    let dyn_tracker: Arc<dyn RemoteTracker> = tracker.clone();
    let targets = [
        target("w1", Status::Running),
        target("w2", Status::Running),
        target("w3", Status::Succeeded),
    ];
    let plan = actions::plan_reconcile(&store, Some(&dyn_tracker), &targets)
        .await
        .unwrap();
    assert_eq!(plan.changes(), 1, "{plan:?}");
    let outcomes = actions::apply(&store, Some(&dyn_tracker), &plan, &actor(), false)
        .await
        .unwrap();
    assert_eq!(outcomes[0].applied, Ok(()));
    assert_eq!(outcomes[0].after, Some(Status::Succeeded));
    assert!(
        outcomes[1]
            .applied
            .as_ref()
            .unwrap_err()
            .contains("already in step")
    );
    assert!(
        outcomes[2]
            .applied
            .as_ref()
            .unwrap_err()
            .contains("not allowed"),
        "a terminal status is never rewritten"
    );
    let (status, error, completed) = row(&store, "w1").await;
    assert_eq!(status, "SUCCESS", "the table's own spelling");
    assert!(completed, "completed_at set for a terminal status");
    assert_eq!(
        error.as_deref(),
        Some("first attempt: token expired"),
        "reconcile gives no reason, error untouched"
    );

    // Mark failed keeps the earlier error text and treats SQL as data.
    let reason = "worker died'; DROP TABLE workflow_executions; --";
    let plan = actions::plan_mark_failed(
        &store,
        None,
        &[target("w2", Status::Running)],
        reason,
        false,
    )
    .await
    .unwrap();
    let out = actions::apply(&store, None, &plan, &actor(), false)
        .await
        .unwrap();
    assert_eq!(out[0].applied, Ok(()));
    let (status, error, completed) = row(&store, "w2").await;
    assert_eq!(status, "FAILED");
    assert!(completed);
    let error = error.unwrap();
    assert!(
        error.starts_with("[exectop alice@ops-1 ") && error.ends_with(reason),
        "{error}"
    );
    let plan = actions::plan_mark_failed(
        &store,
        None,
        &[target("w1", Status::Succeeded)],
        "no",
        false,
    )
    .await
    .unwrap();
    assert_eq!(plan.changes(), 0, "a terminal row is never marked failed");

    let audit = store.recent_audit(10).await.unwrap();
    assert_eq!(audit.len(), 2, "one audit record per change");
    assert_eq!(
        (audit[0].action.as_str(), audit[0].execution_id.as_str()),
        ("mark_failed", "w2")
    );
    assert_eq!(audit[0].reason.as_deref(), Some(reason));
    assert_eq!(audit[1].remote_status.as_deref(), Some("SUCCEEDED"));
    assert_eq!(
        (audit[1].before.as_deref(), audit[1].after.as_deref()),
        (Some("running"), Some("succeeded"))
    );
    assert_eq!(audit[1].operator, "alice");
    assert_eq!(audit[1].host, "ops-1");
}

#[tokio::test]
async fn reconcile_and_mark_failed_on_postgres() {
    reconcile_and_mark_failed(&common::pg_fresh_url().await).await;
}

#[tokio::test]
async fn reconcile_and_mark_failed_on_sqlite() {
    reconcile_and_mark_failed(&common::sqlite_fresh_url().0).await;
}

async fn races_and_refusals(url: &str) {
    let store = amc_store(url).await;
    let tracker = FakeTracker::new(&[("amc-1", Status::Succeeded, "SUCCEEDED")]);
    let dyn_tracker: Arc<dyn RemoteTracker> = tracker.clone();

    // The worker finishes the row between preview and apply: refused, nothing written.
    let plan = actions::plan_mark_failed(
        &store,
        None,
        &[target("w1", Status::Running)],
        "stuck",
        false,
    )
    .await
    .unwrap();
    let pool = store.pool().clone();
    exectop::store::exec::execute(
        &pool,
        "UPDATE workflow_executions SET status = 'SUCCESS' WHERE id = 'w1'",
        vec![],
    )
    .await
    .unwrap();
    let out = actions::apply(&store, None, &plan, &actor(), false)
        .await
        .unwrap();
    let why = out[0].applied.clone().unwrap_err();
    assert!(
        why.contains("row is now succeeded") && why.contains("nothing written"),
        "{why}"
    );
    assert_eq!(
        row(&store, "w1").await.1.as_deref(),
        Some("first attempt: token expired")
    );
    assert_eq!(audit_count(&store).await, 0);

    // The remote moves on between preview and apply: reconcile asks again.
    let plan =
        actions::plan_reconcile(&store, Some(&dyn_tracker), &[target("w2", Status::Running)])
            .await
            .unwrap();
    assert_eq!(plan.changes(), 0, "remote does not know amc-2 yet");
    tracker.set("amc-2", Status::Running, "RUNNING");
    let plan =
        actions::plan_reconcile(&store, Some(&dyn_tracker), &[target("w2", Status::Running)])
            .await
            .unwrap();
    assert_eq!(plan.changes(), 0);

    // Read-only refuses in the action layer itself.
    let plan =
        actions::plan_mark_failed(&store, None, &[target("w2", Status::Running)], "x", false)
            .await
            .unwrap();
    assert_eq!(
        actions::apply(&store, None, &plan, &actor(), true).await,
        Err(ActionError::ReadOnly)
    );
    assert_eq!(row(&store, "w2").await.0, "RUNNING");

    // A failure between the update and the audit insert leaves neither.
    exectop::store::exec::execute(&pool, "DROP TABLE exectop_audit", vec![])
        .await
        .unwrap();
    let out = actions::apply(&store, None, &plan, &actor(), false)
        .await
        .unwrap();
    let why = out[0].applied.clone().unwrap_err();
    assert!(why.contains("exectop migrate"), "{why}");
    assert_eq!(
        row(&store, "w2").await.0,
        "RUNNING",
        "the update rolled back with the failed audit insert"
    );
}

#[tokio::test]
async fn races_and_refusals_on_postgres() {
    races_and_refusals(&common::pg_fresh_url().await).await;
}

#[tokio::test]
async fn races_and_refusals_on_sqlite() {
    races_and_refusals(&common::sqlite_fresh_url().0).await;
}

async fn concurrent_actors(url: &str) {
    let store = amc_store(url).await;
    // Two operators mark the same rows at once, row by row: each row changes once.
    let single = |id: &'static str| {
        let store = store.clone();
        async move {
            let plan = actions::plan_mark_failed(
                &store,
                None,
                &[target(id, Status::Running)],
                "dup",
                false,
            )
            .await
            .unwrap();
            actions::apply(&store, None, &plan, &actor(), false)
                .await
                .unwrap()
        }
    };
    let (a, b) = tokio::join!(single("w1"), single("w1"));
    let applied = [a, b].iter().filter(|o| o[0].applied.is_ok()).count();
    assert_eq!(applied, 1, "compare-and-set: one writer wins");
    assert_eq!(audit_count(&store).await, 1);

    // Two bulk clean-ups at once: the lease lets one run; no row changes twice.
    let bulk = || {
        let store = store.clone();
        async move {
            let plan = actions::plan_cleanup(
                &store,
                std::time::Duration::from_secs(60),
                chrono::Utc::now(),
            )
            .await
            .unwrap();
            actions::apply(&store, None, &plan, &actor(), false).await
        }
    };
    let (a, b) = tokio::join!(bulk(), bulk());
    let changed: usize = [&a, &b]
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|o| o.iter().filter(|x| x.applied.is_ok()).count())
        .sum();
    assert_eq!(changed, 2, "w2 and w4 timed out exactly once: {a:?} {b:?}");
    assert_eq!(audit_count(&store).await, 3);
    for r in [&a, &b] {
        if let Err(e) = r {
            assert!(e.to_string().contains("another exectop"), "{e}");
        }
    }
    assert_eq!(row(&store, "w4").await.0, "TIMEOUT");
}

#[tokio::test]
async fn concurrent_actors_on_postgres() {
    concurrent_actors(&common::pg_fresh_url().await).await;
}

#[tokio::test]
async fn concurrent_actors_on_sqlite() {
    concurrent_actors(&common::sqlite_fresh_url().0).await;
}

#[tokio::test]
async fn cleanup_without_a_timed_out_spelling_marks_failed_and_merges_json_errors() {
    let url = common::pg_fresh_url().await;
    let pool = DbPool::connect(&url, false).await.unwrap();
    let DbPool::Postgres(p) = pool.clone() else {
        unreachable!()
    };
    let p = &p;
    p.execute("CREATE TABLE job_executions (id serial PRIMARY KEY, job_id int, execution_number int, status varchar(20) NOT NULL,
        started_at timestamptz NOT NULL, completed_at timestamptz, last_error jsonb);
        INSERT INTO job_executions (id, job_id, execution_number, status, started_at, last_error) VALUES
        (39, 21, 5, 'running', now() - interval '22 hours', '{\"error\": \"OOM\"}'),
        (40, 21, 6, 'running', now() - interval '10 minutes', NULL)").await.unwrap();
    migrate::apply(&pool, false).await.unwrap();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/presets/job_executions.toml"
    ))
    .unwrap()
    .replace(
        "[table.status_values]",
        "error = \"last_error\"\n\n[table.status_values]",
    );
    let config = parse_str(&text, "job_executions.toml").unwrap();
    let store = Store::with_pool(pool, &url, &config.table);
    store.validate_schema().await.unwrap();
    let plan = actions::plan_cleanup(
        &store,
        std::time::Duration::from_secs(3600),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(plan.kind, ActionKind::Cleanup);
    assert_eq!(plan.items.len(), 1);
    assert_eq!(
        plan.items[0].after,
        Some(Status::Failed),
        "no timed-out spelling: failed"
    );
    let out = actions::apply(&store, None, &plan, &actor(), false)
        .await
        .unwrap();
    assert_eq!(out[0].applied, Ok(()));
    let (status, error): (String, String) =
        sqlx::query_as("SELECT status, last_error::text FROM job_executions WHERE id = 39")
            .fetch_one(p)
            .await
            .unwrap();
    assert_eq!(status, "failed");
    let json: serde_json::Value = serde_json::from_str(&error).unwrap();
    assert_eq!(json["error"], "OOM", "the earlier error is kept");
    assert!(
        json["exectop_reason"]
            .as_str()
            .unwrap()
            .contains("clean-up: active longer than 1h")
    );
    let untouched: String = sqlx::query_scalar("SELECT status FROM job_executions WHERE id = 40")
        .fetch_one(p)
        .await
        .unwrap();
    assert_eq!(untouched, "running");
}

#[tokio::test]
async fn dry_runs_write_nothing() {
    let url = common::pg_fresh_url().await;
    let store = amc_store(&url).await;
    let dir = std::env::temp_dir().join(common::unique("exectop_dry"));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("exectop.toml");
    std::fs::write(&config, AMC).unwrap();
    for args in [
        vec!["cleanup", "--max-age", "1h"],
        vec!["mark-failed", "--id", "w1", "--reason", "r", "--dry-run"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_exectop"))
            .args(&args)
            .arg("--config")
            .arg(&config)
            .arg("--json")
            .env("EXECTOP_DATABASE_URL", &url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["dry_run"], true);
        assert!(
            json["executions"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["applied"] != true)
        );
    }
    assert_eq!(row(&store, "w1").await.0, "RUNNING");
    assert_eq!(row(&store, "w4").await.0, "PENDING");
    assert_eq!(audit_count(&store).await, 0);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_exectop"))
        .args([
            "cleanup",
            "--max-age",
            "1h",
            "--fix",
            "--read-only",
            "--config",
        ])
        .arg(&config)
        .env("EXECTOP_DATABASE_URL", &url)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("read-only mode"));
}
