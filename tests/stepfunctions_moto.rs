//! The Step Functions tracker against moto's server on loopback (the AWS
//! API as moto serves it: executions stay RUNNING until stopped, then
//! ABORTED), through the shipped preset on a PostgreSQL `experiments`
//! table with the seed's columns.

mod common;

use common::moto::{EXPERIMENTS_TABLE, Moto, execution, preset_config};

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::Executor;

/// The state machine with executions in every state the test needs, and
/// the table that records (or fails to record) them.
async fn plant(moto: &Moto, url: &str) {
    moto.create_machine(r#"{"StartAt":"Train","States":{"Train":{"Type":"Pass","End":true}}}"#)
        .await;
    for name in ["run-ok", "run-aborted", "run-still", "run-orphan"] {
        moto.start_execution(name).await;
    }
    moto.call(
        "StopExecution",
        json!({ "executionArn": execution("run-aborted"), "error": "test", "cause": "planted" }),
    )
    .await;
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    pool.execute(sqlx::AssertSqlSafe(format!(
        "{EXPERIMENTS_TABLE};
         INSERT INTO experiments (id, model_name, started_at, completed_at, execution_arn, execution_name, execution_status) VALUES
           (1, 'llama', now() - interval '10 minutes', NULL, '{ok}', 'run-ok', 'RUNNING'),
           (2, 'llama', now() - interval '10 minutes', NULL, '{aborted}', 'run-aborted', 'RUNNING'),
           (3, 'qwen', now() - interval '10 minutes', now() - interval '2 minutes', '{still}', 'run-still', 'FAILED'),
           (4, 'qwen', now() - interval '10 minutes', NULL, '{ghost}', 'run-ghost', 'RUNNING'),
           (5, 'qwen', now() - interval '10 minutes', NULL, NULL, 'run-never-started', 'RUNNING')",
        ok = execution("run-ok"),
        aborted = execution("run-aborted"),
        still = execution("run-still"),
        ghost = execution("run-ghost"),
    )))
    .await
    .unwrap();
    pool.close().await;
}

/// The shipped preset, pointed at moto, with a grace that fits runs moto
/// started a moment ago.
fn config(endpoint: &str) -> PathBuf {
    preset_config(
        endpoint,
        &[(
            "[thresholds]\n",
            "[thresholds]\nregistration_grace = \"1s\"\n",
        )],
    )
}

/// The binary with credentials from the environment only: no shared files,
/// no instance metadata.
async fn exectop(config: &Path, url: &str, args: &[&str], key: Option<&str>) -> Output {
    let (config, url) = (config.to_path_buf(), url.to_string());
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let key = key.map(str::to_string);
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_exectop"));
        cmd.args(&args)
            .arg("--config")
            .arg(&config)
            .env("EXECTOP_DATABASE_URL", &url)
            .env("EXECTOP_OPERATOR", "e2e")
            .env("AWS_CONFIG_FILE", "/nonexistent/exectop-test")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/exectop-test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY");
        if let Some(key) = key {
            cmd.env("AWS_ACCESS_KEY_ID", "AKIAEXECTOPTEST")
                .env("AWS_SECRET_ACCESS_KEY", key);
        }
        cmd.output().unwrap()
    })
    .await
    .unwrap()
}

use common::cli::finding_keys as findings;

const SECRET: &str = "exectop-test-secret-key-0f9e";

#[tokio::test]
async fn the_preset_finds_exactly_the_planted_drift_in_step_functions() {
    let moto = Moto::start();
    let url = common::pg_fresh_url().await;
    plant(&moto, &url).await;
    let config = config(&moto.url);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let out = exectop(&config, &url, &["check", "--json"], Some(SECRET)).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let json: Value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let expected: BTreeSet<(String, String)> = [
        ("status_mismatch", "2"),
        ("remote_still_running", "3"),
        ("remote_not_found", "4"),
        ("missing_remote_id", "5"),
        ("remote_only", execution("run-orphan").as_str()),
    ]
    .iter()
    .map(|(k, id)| (k.to_string(), id.to_string()))
    .collect();
    assert_eq!(findings(&json), expected, "stderr: {stderr}");
    assert_eq!(json["health"]["remote"]["ok"], true, "{}", json["health"]);
    assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET));

    // The fix goes through Step Functions: stopped there, then marked here.
    let out = exectop(&config, &url, &["migrate"], Some(SECRET)).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = exectop(
        &config,
        &url,
        &[
            "mark-failed",
            "--id",
            "1",
            "--reason",
            "stuck in e2e",
            "--stop-remote",
        ],
        Some(SECRET),
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(moto.status(&execution("run-ok")).await, "ABORTED");
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let status: String =
        sqlx::query_scalar("SELECT execution_status FROM experiments WHERE id = 1")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(status, "FAILED");
    let stops: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM exectop_audit WHERE action = 'stop_remote' AND execution_id = '1'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(stops, 1);
    pool.close().await;
}

#[tokio::test]
async fn missing_credentials_are_one_line_of_health_not_a_finding() {
    let moto = Moto::start();
    let url = common::pg_fresh_url().await;
    plant(&moto, &url).await;
    let out = exectop(&config(&moto.url), &url, &["check", "--json"], None).await;
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    // What the table alone says, and nothing about Step Functions' runs.
    let expected: BTreeSet<(String, String)> =
        [("missing_remote_id".to_string(), "5".to_string())].into();
    assert_eq!(
        findings(&json),
        expected,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let remote = &json["health"]["remote"];
    let why = remote["auth_failing"].as_str().unwrap_or_default();
    assert!(why.starts_with("AWS credentials: "), "{remote}");
    assert_eq!(remote["ok"], false);
}

/// A loopback Step Functions that throttles its first answers
/// (`ThrottlingException`, as the service does under load) and then
/// answers: exectop backs off and asks again, and throttling never becomes
/// "not found" or any other finding. A failed run's error, cause and dates
/// reach the finding's evidence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_backs_off_and_recovers_and_a_failure_shows_its_error_and_cause() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    let asked = Arc::new(AtomicU32::new(0));
    let throttled = Arc::new(AtomicU32::new(0));
    let app = {
        let (asked, throttled) = (asked.clone(), throttled.clone());
        axum::Router::new().route(
            "/",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let (asked, throttled) = (asked.clone(), throttled.clone());
                async move {
                    let n = asked.fetch_add(1, Ordering::SeqCst);
                    let target = common::moto::amz_target(&headers);
                    let signed = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .is_some_and(|v| {
                            v.starts_with("AWS4-HMAC-SHA256 Credential=AKIAEXECTOPTEST/")
                        });
                    assert!(signed, "every request is signed with SigV4");
                    if n < 2 {
                        throttled.fetch_add(1, Ordering::SeqCst);
                        return (
                            axum::http::StatusCode::BAD_REQUEST,
                            [("x-amzn-errortype", "ThrottlingException")],
                            r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#
                                .to_string(),
                        );
                    }
                    let answer = if target.ends_with("ListExecutions") {
                        json!({ "executions": [] }).to_string()
                    } else {
                        let arn =
                            serde_json::from_str::<Value>(&body).unwrap()["executionArn"].clone();
                        if arn.as_str().is_some_and(|a| a.ends_with(":b")) {
                            json!({ "executionArn": arn, "status": "FAILED", "startDate": 1.7e9,
                                    "stopDate": 1.7e9 + 900.0, "error": "States.Timeout",
                                    "cause": "Task timed out after 900 seconds" })
                            .to_string()
                        } else {
                            json!({ "executionArn": arn, "status": "RUNNING", "startDate": 1.7e9 })
                                .to_string()
                        }
                    };
                    (
                        axum::http::StatusCode::OK,
                        [("x-amzn-errortype", "")],
                        answer,
                    )
                }
            }),
        )
    };
    let base = common::serve_loopback(app).await;
    let url = common::pg_fresh_url().await;
    common::moto::plant_two_running(&url).await;
    let out = exectop(&config(&base), &url, &["check", "--json"], Some(SECRET)).await;
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{json} {stderr}");
    assert_eq!(
        throttled.load(Ordering::SeqCst),
        2,
        "the fake throttled (positive control)"
    );
    assert!(
        asked.load(Ordering::SeqCst) > 2,
        "asked again after backing off"
    );
    assert_eq!(json["counts"]["running"], 2, "{json}");
    // Only the run Step Functions says failed; no finding from throttling.
    let expected: BTreeSet<(String, String)> =
        [("status_mismatch".to_string(), "2".to_string())].into();
    assert_eq!(findings(&json), expected, "{json}");
    let remote = &json["findings"][0]["evidence"]["remote"];
    assert_eq!(remote["error"], "States.Timeout", "{remote}");
    assert_eq!(remote["cause"], "Task timed out after 900 seconds");
    assert_eq!(remote["started_at"], "2023-11-14T22:13:20Z");
    assert_eq!(remote["stopped_at"], "2023-11-14T22:28:20Z");
    // The list waited out both refusals and was answered: recovered.
    assert_eq!(json["health"]["remote"]["ok"], true, "{}", json["health"]);
}
