//! The line-oriented commands as an operator or a cron job meets them: the
//! real binary against a SQLite file and a fake remote API on loopback.
//! Exit codes, one-line errors, remote health in `check`, plain stderr.

mod common;

use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use common::cli::{env, exectop, text};

#[derive(Default)]
struct Fake {
    list_fails: AtomicBool,
}

/// `bad-*` answers malformed JSON, `done-*` SUCCEEDED, anything else RUNNING.
async fn one(UrlPath(id): UrlPath<String>) -> Response {
    if id.starts_with("bad-") {
        (StatusCode::OK, "{\"status\": \"RUNN").into_response()
    } else if id.starts_with("done-") {
        (StatusCode::OK, r#"{"status":"SUCCEEDED"}"#).into_response()
    } else {
        (StatusCode::OK, r#"{"status":"RUNNING"}"#).into_response()
    }
}

async fn list(State(f): State<Arc<Fake>>) -> Response {
    if f.list_fails.load(Ordering::SeqCst) {
        StatusCode::SERVICE_UNAVAILABLE.into_response()
    } else {
        (StatusCode::OK, r#"{"executions":[]}"#).into_response()
    }
}

async fn serve() -> (String, Arc<Fake>) {
    let fake = Arc::new(Fake::default());
    let app = Router::new()
        .route("/runs/{id}", get(one))
        .route("/active", get(list))
        .with_state(fake.clone());
    (common::serve_loopback(app).await, fake)
}

async fn status_of(db: &str, id: i64) -> String {
    let pool = sqlx::SqlitePool::connect(db).await.unwrap();
    let s = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT status FROM exectop_executions WHERE id = {id}"
    )))
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_runs_exit_1_when_a_row_asked_for_is_refused() {
    let (base, _fake) = serve().await;
    let e = env(
        &base,
        &[
            (1, "run-1", "running", 10),
            (2, "done-2", "succeeded", 10),
            (3, "run-3", "running", 10),
        ],
    )
    .await;
    let cfg = e.config.to_str().unwrap();
    let code = |o: &Output| o.status.code().unwrap();
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        // Nothing written for a row asked for: 1 on a write run, 0 dry.
        (
            vec!["mark-failed", "--id", "999999", "--reason", "r"],
            1,
            "no such execution",
        ),
        (
            vec![
                "mark-failed",
                "--id",
                "999999",
                "--reason",
                "r",
                "--dry-run",
            ],
            0,
            "drop --dry-run to write",
        ),
        (
            vec!["reconcile", "--id", "999999", "--fix"],
            1,
            "no such execution",
        ),
        (vec!["reconcile", "--id", "999999"], 0, "add --fix to write"),
        (
            vec!["mark-failed", "--id", "2", "--reason", "r"],
            1,
            "already succeeded",
        ),
        // Written, or already as asked: 0.
        (
            vec!["mark-failed", "--id", "1", "--reason", "stuck"],
            0,
            "applied",
        ),
        (
            vec!["mark-failed", "--id", "1", "--reason", "stuck"],
            0,
            "already failed",
        ),
        (
            vec!["reconcile", "--id", "3", "--fix"],
            0,
            "already in step",
        ),
        (
            vec!["cleanup", "--max-age", "24h", "--fix"],
            0,
            "0 of 0 executions changed",
        ),
        (
            vec![
                "mark-failed",
                "--id",
                "3",
                "--id",
                "999999",
                "--reason",
                "r",
            ],
            1,
            "1 of 2 executions changed",
        ),
    ];
    for (args, want, needle) in cases {
        let mut all = args.clone();
        all.extend(["--config", cfg]);
        let out = exectop(&e.dir, &all, &[]).await;
        let stdout = text(&out.stdout);
        assert_eq!(code(&out), want, "{args:?}: {stdout}{}", text(&out.stderr));
        assert!(stdout.contains(needle), "{args:?}: {stdout}");
        assert!(
            !(args.contains(&"mark-failed") && stdout.contains("--fix")),
            "mark-failed has no --fix: {stdout}"
        );
    }
    assert_eq!(status_of(&e.db, 1).await, "failed");
    assert_eq!(status_of(&e.db, 2).await, "succeeded");
    assert_eq!(status_of(&e.db, 3).await, "failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_echoes_the_age_as_the_operator_wrote_it() {
    let (base, _fake) = serve().await;
    let e = env(&base, &[(1, "run-1", "running", 25 * 60)]).await;
    let cfg = e.config.to_str().unwrap();
    let out = exectop(
        &e.dir,
        &[
            "cleanup",
            "--max-age",
            "24h",
            "--fix",
            "--json",
            "--config",
            cfg,
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["reason"], "clean-up: active longer than 24h");
    assert_eq!(json["executions"][0]["applied"], true);
    let pool = sqlx::SqlitePool::connect(&e.db).await.unwrap();
    let reason: String = sqlx::query_scalar("SELECT reason FROM exectop_audit")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(reason, "clean-up: active longer than 24h");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_the_remote_unhealthy_when_its_look_ups_failed() {
    let (base, fake) = serve().await;
    let e = env(
        &base,
        &[(1, "bad-1", "running", 10), (2, "run-2", "running", 10)],
    )
    .await;
    let cfg = e.config.to_str().unwrap();
    let out = exectop(&e.dir, &["check", "--json", "--config", cfg], &[]).await;
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let remote = &json["health"]["remote"];
    assert_eq!(remote["ok"], false, "{json}");
    let error = remote["error"].as_str().unwrap();
    assert!(
        error.contains("look-ups failed") && error.contains("malformed JSON"),
        "{error}"
    );
    assert_eq!(json["findings"][0]["kind"], "poll_failing", "{json}");
    let out = exectop(&e.dir, &["check", "--config", cfg], &[]).await;
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("remote http 127.0.0.1") && stdout.contains("not ok: "),
        "{stdout}"
    );

    // Every answer good: ok.
    let healthy = env(&base, &[(2, "run-2", "running", 10)]).await;
    let cfg = healthy.config.to_str().unwrap();
    let out = exectop(&healthy.dir, &["check", "--json", "--config", cfg], &[]).await;
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["health"]["remote"]["ok"], true, "{json}");

    // The list call fails: not ok either, and the warning on stderr (not a
    // terminal here) carries no colour codes.
    fake.list_fails.store(true, Ordering::SeqCst);
    let out = exectop(&healthy.dir, &["check", "--json", "--config", cfg], &[]).await;
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["health"]["remote"]["ok"], false, "{json}");
    assert!(
        json["health"]["remote"]["error"]
            .as_str()
            .unwrap()
            .contains("the list call failed"),
        "{json}"
    );
    let stderr = text(&out.stderr);
    assert!(stderr.contains("WARN"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "no escape codes: {stderr:?}");
}

/// `exectop check --json | head`: the reader goes away before the report is
/// written. That is an error naming what failed, not a panic and backtrace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_pipe_on_stdout_is_an_error_not_a_crash() {
    let (base, _fake) = serve().await;
    let e = env(&base, &[(2, "run-2", "running", 10)]).await;
    let config = e.config.to_str().unwrap();
    for (args, report) in [
        (
            vec!["check", "--json", "--config", config],
            "the JSON report",
        ),
        (vec!["check", "--config", config], "the report"),
        (vec!["check", "--explain", "--config", config], "the report"),
        (vec!["migrate", "--config", config], "the report"),
    ] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_exectop"));
        cmd.args(&args)
            .current_dir(&e.dir)
            .env_remove("EXECTOP_DATABASE_URL")
            .env_remove("DATABASE_URL")
            .env("XDG_CONFIG_HOME", e.dir.join("xdg"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let out = tokio::task::spawn_blocking(move || {
            let mut child = cmd.spawn().unwrap();
            // Closed long before the child has read its database.
            drop(child.stdout.take());
            child.wait_with_output().unwrap()
        })
        .await
        .unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("cannot write {report}: Broken pipe")),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[tokio::test]
async fn no_database_names_where_it_looked_and_how_to_set_one() {
    let dir = std::env::temp_dir().join(common::unique("exectop_nocfg"));
    std::fs::create_dir_all(&dir).unwrap();
    let out = exectop(&dir, &["check"], &[]).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    let xdg = dir.join("xdg/exectop/config.toml");
    for needle in [
        "no config file found",
        "--config",
        "$EXECTOP_CONFIG",
        "./exectop.toml",
        &xdg.display().to_string(),
        "[database] url",
        "EXECTOP_DATABASE_URL",
        "DATABASE_URL",
    ] {
        assert!(stderr.contains(needle), "{needle:?} in {stderr}");
    }
    assert!(!stderr.contains("built-in defaults"), "{stderr}");
}

/// The server's own reason, the password masked, and the variable the URL
/// came from, on one line.
#[tokio::test]
async fn an_unreachable_database_says_why_and_where_the_url_came_from() {
    let dir = std::env::temp_dir().join(common::unique("exectop_nodb"));
    std::fs::create_dir_all(&dir).unwrap();
    let base = common::pg_base_url();
    let (head, tail) = base.rsplit_once('/').unwrap();
    let query = tail.split_once('?').map(|(_, q)| format!("?{q}"));
    let missing_db = format!("{head}/exectop_no_such_db{}", query.unwrap_or_default());
    let cases = [
        (
            "EXECTOP_DATABASE_URL",
            "postgres://ops:s3cret@127.0.0.1:1/test".to_string(),
            "refused",
        ),
        (
            "DATABASE_URL",
            missing_db,
            "database \"exectop_no_such_db\" does not exist",
        ),
    ];
    for (var, url, cause) in cases {
        let out = exectop(&dir, &["check"], &[(var, &url)]).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(cause), "{cause:?} in {stderr}");
        assert!(!stderr.contains("pool timed out"), "{stderr}");
        assert!(stderr.contains(&format!("from {var}")), "{stderr}");
        assert!(!stderr.contains("s3cret"), "{stderr}");
    }
}
