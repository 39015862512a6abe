//! Each shipped preset against a real table of its shape: rows that should
//! and should not produce findings, checked through the real binary, and
//! error rates compared with a plain SQL count over the same rows.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use exectop::config::commands::{names_of, resolve};
use exectop::domain::row_command::{ContextValues, Rendered, RowCommand};
use exectop::domain::{Execution, Status};
use serde_json::Value;
use sqlx::Executor;

fn preset(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("assets/presets")
            .join(name),
    )
    .unwrap()
}

fn write_config(text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(common::unique("exectop_cfg"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("exectop.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `exectop check --json` with the config and database URL given.
fn check(config: &Path, url: &str, extra_env: &[(&str, &str)]) -> (i32, Value, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_exectop"));
    cmd.args(["check", "--json", "--config"])
        .arg(config)
        .env("EXECTOP_DATABASE_URL", url);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), json, stderr)
}

fn finding_ids(json: &Value) -> BTreeSet<(String, String, String)> {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["execution_id"].as_str().unwrap_or("-").to_string(),
                f["suggested_action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn set(items: &[(&str, &str, &str)]) -> BTreeSet<(String, String, String)> {
    items
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

async fn pg(url: &str, sql: &str) {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    pool.execute(sqlx::AssertSqlSafe(sql.to_string()))
        .await
        .unwrap();
    pool.close().await;
}

async fn pg_count(url: &str, sql: &str) -> i64 {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    n
}

#[tokio::test]
async fn native_preset_on_postgres() {
    let url = common::pg_fresh_url().await;
    let config = write_config(&preset("native.toml"));
    let migrate = Command::new(env!("CARGO_BIN_EXE_exectop"))
        .args(["migrate", "--config"])
        .arg(&config)
        .env("EXECTOP_DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    pg(&url, "INSERT INTO exectop_executions (id, name, status, remote_id, created_at, started_at, updated_at, heartbeat_at, completed_at, error) VALUES
        (1, 'job-21', 'running', 'r1', now() - interval '22 hours', now() - interval '22 hours', now() - interval '22 hours', now() - interval '1 minute', NULL, NULL),
        (2, 'job-22', 'running', 'r2', now() - interval '25 hours', now() - interval '25 hours', now() - interval '25 hours', now() - interval '1 minute', NULL, NULL),
        (3, 'fresh', 'running', 'r3', now() - interval '5 minutes', now() - interval '5 minutes', now() - interval '5 minutes', now() - interval '10 seconds', NULL, NULL),
        (4, 'quiet', 'running', 'r4', now() - interval '20 minutes', now() - interval '20 minutes', now() - interval '20 minutes', now() - interval '10 minutes', NULL, NULL),
        (5, 'ok', 'succeeded', 'r5', now() - interval '40 minutes', now() - interval '40 minutes', now() - interval '30 minutes', NULL, now() - interval '30 minutes', NULL),
        (6, 'ok', 'succeeded', 'r6', now() - interval '50 minutes', now() - interval '50 minutes', now() - interval '45 minutes', NULL, now() - interval '45 minutes', NULL),
        (7, 'bad', 'failed', 'r7', now() - interval '20 minutes', now() - interval '20 minutes', now() - interval '10 minutes', NULL, now() - interval '10 minutes', 'query syntax error'),
        (8, 'bad', 'timed_out', 'r8', now() - interval '4 hours', now() - interval '4 hours', now() - interval '3 hours', NULL, now() - interval '3 hours', 'timeout'),
        (9, 'old', 'failed', 'r9', now() - interval '30 hours', now() - interval '30 hours', now() - interval '29 hours', NULL, now() - interval '29 hours', 'x'),
        (10, 'odd', 'exploded', 'r10', now() - interval '1 hour', NULL, now(), NULL, NULL, NULL)").await;
    let (code, json, stderr) = check(&config, &url, &[]);
    assert_eq!(code, 1, "findings mean exit 1: {stderr}");
    assert_eq!(
        finding_ids(&json),
        set(&[
            ("stuck", "1", "investigate"),
            ("stuck", "2", "mark_failed"),
            ("stale_heartbeat", "4", "investigate"),
        ])
    );
    assert_eq!(json["counts"]["running"], 4);
    assert_eq!(
        json["counts"]["active"], 4,
        "an unknown spelling is shown, not counted as active"
    );
    let stuck = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["execution_id"] == "1")
        .unwrap();
    // Learning is on by default; this job has no finished run to learn from.
    assert_eq!(
        stuck["reason"],
        "running for 22h, over running_stuck 2h; too little history to learn its limit (0 of 20 runs)"
    );
    assert_eq!(stuck["name"], "job-21");

    let day_failed = pg_count(&url, "SELECT COUNT(*) FROM exectop_executions WHERE status IN ('failed','timed_out') AND completed_at > now() - interval '24 hours'").await;
    let day_ok = pg_count(&url, "SELECT COUNT(*) FROM exectop_executions WHERE status = 'succeeded' AND completed_at > now() - interval '24 hours'").await;
    let hour_failed = pg_count(&url, "SELECT COUNT(*) FROM exectop_executions WHERE status IN ('failed','timed_out') AND completed_at > now() - interval '1 hour'").await;
    let rates = &json["error_rates"];
    assert_eq!(rates["24h"]["failed"], day_failed);
    assert_eq!(rates["24h"]["succeeded"], day_ok);
    assert_eq!(rates["1h"]["failed"], hour_failed);
    assert_eq!(rates["1h"]["failure_rate"], 0.3333);
    assert_eq!(json["health"]["database"]["ok"], true);
    assert!(json["health"]["remote"].is_null());
    // H: the runs of the same name, newest first.
    let (ok, runs) = recent_runs(&preset("native.toml"), "6", &url);
    assert!(ok && at(&runs, " 5 |") < at(&runs, " 6 |"), "{runs}");
    assert!(runs.contains("(2 rows)"), "{runs}");
}

#[tokio::test]
async fn healthy_table_exits_zero() {
    let url = common::pg_fresh_url().await;
    let config = write_config(&preset("job_executions.toml"));
    pg(&url, "CREATE TABLE job_executions (id serial PRIMARY KEY, job_id int NOT NULL, execution_number int NOT NULL, status varchar(20) NOT NULL, started_at timestamptz NOT NULL, completed_at timestamptz);
        INSERT INTO job_executions (job_id, execution_number, status, started_at, completed_at) VALUES
        (21, 1, 'completed', now() - interval '3 hours', now() - interval '2 hours'),
        (21, 2, 'running', now() - interval '10 minutes', NULL)").await;
    let (code, json, stderr) = check(&config, &url, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(json["findings"].as_array().unwrap().is_empty());
    assert_eq!(json["unmapped_statuses"], serde_json::json!({}));
}

#[tokio::test]
async fn job_executions_preset_finds_the_22_hour_run() {
    let url = common::pg_fresh_url().await;
    let config = write_config(&preset("job_executions.toml"));
    pg(&url, "CREATE TABLE job_executions (id serial PRIMARY KEY, job_id int NOT NULL, execution_number int NOT NULL, status varchar(20) NOT NULL, started_at timestamptz NOT NULL, completed_at timestamptz);
        INSERT INTO job_executions (id, job_id, execution_number, status, started_at, completed_at) VALUES
        (37, 21, 3, 'failed', now() - interval '23 hours', now() - interval '22 hours 30 minutes'),
        (38, 21, 4, 'completed', now() - interval '22 hours 20 minutes', now() - interval '22 hours 10 minutes'),
        (39, 21, 5, 'running', now() - interval '22 hours 6 minutes', NULL),
        (40, 22, 1, 'running', now() - interval '30 minutes', NULL),
        (41, 22, 2, 'paused', now() - interval '10 minutes', NULL),
        (42, 20, 1, 'archived', now() - interval '3 days', now() - interval '3 days')").await;
    let (code, json, stderr) = check(&config, &url, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(finding_ids(&json), set(&[("stuck", "39", "investigate")]));
    assert_eq!(
        json["unmapped_statuses"],
        serde_json::json!({"paused": 1}),
        "a spelling the preset does not map is reported, not an error; old rows are not read"
    );
    assert_eq!(
        json["counts"]["active"], 2,
        "the paused row is not counted as active"
    );
    let text = Command::new(env!("CARGO_BIN_EXE_exectop"))
        .args(["check", "--config"])
        .arg(&config)
        .env("EXECTOP_DATABASE_URL", &url)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("unknown status \"paused\": 1 rows created in 24 h"),
        "{text}"
    );
    let f = &json["findings"][0];
    assert_eq!(
        f["reason"],
        "running for 22h 6m, over running_stuck 1h; too little history to learn its limit (0 of 20 runs)"
    );
    assert_eq!(f["group"], "21");
    assert_eq!(f["name"], "5");
    assert_eq!(json["error_rates"]["24h"]["failed"], 1);
    assert_eq!(json["error_rates"]["24h"]["succeeded"], 1);

    // H: the job's runs, newest first; another job's are not among them.
    let base = preset("job_executions.toml");
    let (ok, runs) = recent_runs(&base, "39", &url);
    assert!(ok, "{runs}");
    assert!(at(&runs, " 39 |") < at(&runs, " 38 |") && at(&runs, " 38 |") < at(&runs, " 37 |"));
    assert!(!runs.contains(" 40 |"), "{runs}");
    // A value is never SQL: psql quotes it, and the table stands.
    let (ok, runs) = recent_runs(&base, "39'; DROP TABLE job_executions; --", &url);
    assert!(!ok && runs.contains("invalid input syntax"), "{runs}");
    assert_eq!(
        pg_count(&url, "SELECT COUNT(*) FROM job_executions").await,
        6
    );
}

#[tokio::test]
async fn schema_qualified_tb_job_run_with_lower_case_statuses() {
    let url = common::pg_fresh_url().await;
    let schema = common::unique("jobs");
    let config = write_config(
        &preset("jobs_tb_job_run.toml").replace("jobs.tb_job_run", &format!("{schema}.tb_job_run")),
    );
    pg(&url, &format!("CREATE SCHEMA {schema};
        CREATE TABLE {schema}.tb_job_run (id uuid PRIMARY KEY, identifier text NOT NULL, service_name text, status text NOT NULL,
          created_at timestamptz NOT NULL, started_at timestamptz, updated_at timestamptz, completed_at timestamptz, error_message text);
        INSERT INTO {schema}.tb_job_run VALUES
        ('00000000-0000-0000-0000-000000000001', 'sync-a', 'stripe', 'pending', now() - interval '2 hours', NULL, now() - interval '2 hours', NULL, NULL),
        ('00000000-0000-0000-0000-000000000002', 'sync-b', 'stripe', 'running', now() - interval '10 minutes', now() - interval '10 minutes', now(), NULL, NULL),
        ('00000000-0000-0000-0000-000000000003', 'sync-c', 'shell', 'failed', now() - interval '30 minutes', now() - interval '30 minutes', now() - interval '20 minutes', now() - interval '20 minutes', 'Command ''/usr/bin/rm'' is not allowed'),
        ('00000000-0000-0000-0000-000000000004', 'sync-d', 'shell', 'completed', now() - interval '30 minutes', now() - interval '30 minutes', now() - interval '25 minutes', now() - interval '25 minutes', NULL)")).await;
    let (code, json, stderr) = check(&config, &url, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        finding_ids(&json),
        set(&[(
            "stuck",
            "00000000-0000-0000-0000-000000000001",
            "investigate"
        )])
    );
    assert_eq!(
        json["findings"][0]["reason"],
        "pending for 2h, over pending_stuck 1h"
    );
    assert_eq!(json["error_rates"]["1h"]["failure_rate"], 0.5);
    let text =
        preset("jobs_tb_job_run.toml").replace("jobs.tb_job_run", &format!("{schema}.tb_job_run"));
    let (ok, runs) = recent_runs(&text, "00000000-0000-0000-0000-000000000003", &url);
    assert!(
        ok && runs.contains("sync-c") && runs.contains("(1 row)"),
        "{runs}"
    );
}

#[tokio::test]
async fn stepfunctions_experiments_with_json_errors() {
    let url = common::pg_fresh_url().await;
    // The table alone here (Step Functions itself: tests/stepfunctions_moto.rs).
    let config = write_config(
        &preset("stepfunctions_experiments.toml")
            .replace("kind = \"stepfunctions\"", "kind = \"none\""),
    );
    pg(&url, "CREATE TABLE experiments (id bigserial PRIMARY KEY, model_name text, started_at timestamptz NOT NULL, completed_at timestamptz,
          execution_arn text, execution_name text, execution_status varchar(20), last_error jsonb);
        INSERT INTO experiments (id, model_name, started_at, completed_at, execution_arn, execution_name, execution_status, last_error) VALUES
        (5, 'llama', now() - interval '3 hours', NULL, 'arn:aws:states:x:execution:run:a5', 'a5', 'RUNNING', NULL),
        (6, 'llama', now() - interval '20 minutes', NULL, 'arn:aws:states:x:execution:run:a6', 'a6', 'RUNNING', NULL),
        (7, 'qwen', now() - interval '50 minutes', now() - interval '35 minutes', 'arn:7', 'a7', 'TIMED_OUT', '{\"error\": \"Lambda.Timeout\", \"cause\": \"Task timed out after 900 seconds\"}'),
        (8, 'qwen', now() - interval '50 minutes', now() - interval '40 minutes', 'arn:8', 'a8', 'SUCCEEDED', NULL)").await;
    let (code, json, stderr) = check(&config, &url, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(finding_ids(&json), set(&[("stuck", "5", "investigate")]));
    assert_eq!(
        json["findings"][0]["remote_id"],
        "arn:aws:states:x:execution:run:a5"
    );
    assert_eq!(json["error_rates"]["1h"]["failed"], 1);
}

#[tokio::test]
async fn native_preset_on_sqlite() {
    let (url, path) = common::sqlite_fresh_url();
    std::fs::File::create(&path).unwrap();
    let config = write_config(&preset("native.toml"));
    let migrate = Command::new(env!("CARGO_BIN_EXE_exectop"))
        .args(["migrate", "--config"])
        .arg(&config)
        .env("EXECTOP_DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    pool.execute("INSERT INTO exectop_executions (id, name, status, created_at, started_at, updated_at, heartbeat_at, completed_at) VALUES
        (1, 'a', 'running', strftime('%Y-%m-%dT%H:%M:%fZ','now','-3 hours'), strftime('%Y-%m-%dT%H:%M:%fZ','now','-3 hours'), strftime('%Y-%m-%dT%H:%M:%fZ','now','-3 hours'), strftime('%Y-%m-%dT%H:%M:%fZ','now','-30 seconds'), NULL),
        (2, 'b', 'pending', datetime('now','-2 minutes'), NULL, datetime('now','-2 minutes'), NULL, NULL),
        (3, 'c', 'succeeded', datetime('now','-50 minutes'), NULL, datetime('now','-40 minutes'), NULL, datetime('now','-40 minutes')),
        (4, 'd', 'failed', datetime('now','-50 minutes'), NULL, datetime('now','-40 minutes'), NULL, strftime('%Y-%m-%dT%H:%M:%fZ','now','-30 minutes'))").await.unwrap();
    pool.close().await;
    let (code, json, stderr) = check(&config, &url, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(finding_ids(&json), set(&[("stuck", "1", "investigate")]));
    assert_eq!(json["counts"]["pending"], 1);
    assert_eq!(
        json["error_rates"]["1h"]["finished"], 2,
        "space- and T-separated timestamps both count"
    );
}

fn check_error(config_text: &str, url: &str) -> (i32, String) {
    let config = write_config(config_text);
    let out = Command::new(env!("CARGO_BIN_EXE_exectop"))
        .args(["check", "--config"])
        .arg(&config)
        .env("EXECTOP_DATABASE_URL", url)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(
        stderr.trim().lines().count(),
        1,
        "one line, no backtrace: {stderr}"
    );
    (
        out.status.code().unwrap(),
        stderr.replace(&config.display().to_string(), "CONFIG"),
    )
}

#[tokio::test]
async fn configuration_mistakes_are_one_clear_line_and_exit_2() {
    let url = common::pg_fresh_url().await;
    pg(&url, "CREATE TABLE job_executions (id serial PRIMARY KEY, job_id int, execution_number int, status text, started_at timestamptz, completed_at timestamptz)").await;
    let base = preset("job_executions.toml");
    let cases: Vec<(String, &str)> = vec![
        (
            format!("{base}\n[ui]\nrefresh_rate = \"5s\"\n"),
            "unknown field `refresh_rate`",
        ),
        (
            base.replace("running_stuck = \"1h\"", "running_stuck = \"1 hour\""),
            "bad duration \"1 hour\"",
        ),
        (
            base.replace(
                "name = \"job_executions\"",
                "name = \"job_executions; DROP TABLE x\"",
            ),
            "table.name \"job_executions; DROP TABLE x\" is not a safe identifier",
        ),
        (
            base.replace("group = \"job_id\"", "group = \"job_idx\""),
            "table \"job_executions\" has no column \"job_idx\" (mapped by table.group) (configured in CONFIG)",
        ),
        (
            base.replace("name = \"job_executions\"", "name = \"job_runs\""),
            "table \"job_runs\" does not exist",
        ),
    ];
    for (text, needle) in cases {
        let (code, stderr) = check_error(&text, &url);
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains(needle), "expected {needle:?} in {stderr:?}");
        assert!(stderr.starts_with("exectop: "), "{stderr}");
    }
    let (code, stderr) = check_error(&base, "postgres://postgres@127.0.0.1:1/none");
    assert_eq!(code, 2);
    assert!(
        stderr.contains("cannot connect to postgres://postgres@127.0.0.1:1/none"),
        "{stderr}"
    );
    let (code, stderr) = check_error(&base, "sqlite:///nonexistent/dir/x.db");
    assert_eq!(code, 2);
    assert!(
        stderr.contains("cannot open sqlite:///nonexistent/dir/x.db"),
        "{stderr}"
    );
}

/// A row as the presets' tables hold them, for rendering their commands.
fn sample_row(id: &str) -> Execution {
    let mut row = exectop::tui::sample::execution(id, Status::Running, 60);
    row.remote_id = Some("arn:aws:states:us-east-1:123456789012:execution:experiment:a5".into());
    row.name = Some("a5".into());
    row.group = Some("wf-1".into());
    row
}

fn sample_context() -> ContextValues {
    [
        ("key", "wf-1"),
        ("instance_id", "amcabc123"),
        ("advertiser_id", "ENTITY1"),
        ("marketplace_id", "ATVPDKIKX0DER"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// A preset's commands as exectop takes them at start: checked (with its
/// context query, where it has one) and their keys joined to the key table.
fn preset_commands(config: &exectop::config::Config, origin: &str) -> Vec<RowCommand> {
    let commands =
        resolve(&config.commands, names_of(config)).unwrap_or_else(|e| panic!("{origin}: {e}"));
    exectop::tui::keymap::Keymap::from_config(&config.ui.keys)
        .and_then(|k| k.with_commands(&commands))
        .unwrap_or_else(|e| panic!("{origin}: {e}"));
    commands
}

fn rendered(commands: &[RowCommand], key: &str) -> Rendered {
    let command = commands.iter().find(|c| c.key == key).unwrap();
    command
        .render(&sample_row("39"), Some(&sample_context()))
        .unwrap()
}

#[test]
fn every_preset_loads_and_its_commands_render() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/presets");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let config = exectop::config::parse_str(&text, &origin).unwrap_or_else(|e| panic!("{e}"));
        exectop::config::validate(&config, &origin).unwrap_or_else(|e| panic!("{e}"));
        let commands = preset_commands(&config, &origin);
        assert!(!commands.is_empty(), "{origin} ships commands");
        for c in &commands {
            c.render(&sample_row("39"), Some(&sample_context()))
                .unwrap_or_else(|e| panic!("{origin}: {}: {e}", c.description));
            // The context query gives every column a command uses.
            for column in c.context_columns() {
                let query = &config.remote.context.as_ref().unwrap().query;
                assert!(query.contains(column), "{origin}: {column}");
            }
        }
        n += 1;
    }
    assert_eq!(n, 5, "native plus the four seed systems");

    let sfn = exectop::config::parse_str(&preset("stepfunctions_experiments.toml"), "sfn").unwrap();
    let sfn = preset_commands(&sfn, "sfn");
    let arn = "arn:aws:states:us-east-1:123456789012:execution:experiment:a5";
    assert_eq!(
        rendered(&sfn, "H").text(),
        format!(
            "aws stepfunctions get-execution-history --region us-east-1 --execution-arn {arn} --reverse-order --max-results 10"
        )
    );
    assert_eq!(
        rendered(&sfn, "O"),
        Rendered::Url(format!(
            "https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/{arn}"
        ))
    );
    assert!(
        rendered(&sfn, "L")
            .text()
            .contains("--filter-pattern '\"a5\"'")
    );
    let amc = exectop::config::parse_str(&preset("amc_workflow_executions.toml"), "amc").unwrap();
    let amc = preset_commands(&amc, "amc");
    let Rendered::Url(instance) = rendered(&amc, "I") else {
        panic!("a url")
    };
    assert!(
        instance.contains("/amcabc123?entityId=ENTITY1"),
        "{instance}"
    );
}

/// A database-only preset's `H` command for row `id`, run as exectop runs it
/// (`sh -c`) against the database at `url`: its output and whether it succeeded.
fn recent_runs(config_text: &str, id: &str, url: &str) -> (bool, String) {
    let config = exectop::config::parse_str(config_text, "preset").unwrap();
    let commands = preset_commands(&config, "preset");
    let command = commands.iter().find(|c| c.key == "H").unwrap();
    let Rendered::Shell(line) = command.render(&sample_row(id), None).unwrap() else {
        panic!("a shell command")
    };
    let out = Command::new("sh")
        .arg("-c")
        .arg(&line)
        .env("EXECTOP_DATABASE_URL", url)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Where `needle` first appears in `text`, for order checks.
fn at(text: &str, needle: &str) -> usize {
    text.find(needle)
        .unwrap_or_else(|| panic!("no {needle:?} in {text}"))
}
