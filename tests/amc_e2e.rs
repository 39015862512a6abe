//! The shipped AMC preset, unchanged but for its URLs, against a PostgreSQL
//! database made from the AMC application's schema and the loopback
//! stand-in for AMC (`exectop::sim::AmcServer`): per-instance paths, both
//! vendor headers enforced per instance, tokens that expire after two
//! seconds or five uses, a paginated per-instance list of every execution,
//! a 429 now and then, 404 for unknown executions.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use chrono::{Duration as Cd, Utc};
use exectop::domain::Status;
use exectop::sim::AmcServer;
use exectop::sim::amc::AmcAuth;
use exectop::sim::fleet::RemoteRun;
use serde_json::Value;
use sqlx::Executor;

const CLIENT_ID: &str = "amzn1.application-oa2-client.e2e-client-id";
const CLIENT_SECRET: &str = "e2e-client-secret-5f1d2c";
const REFRESH_TOKEN: &str = "Atzr|e2e-refresh-token-93ab";

fn auth() -> AmcAuth {
    AmcAuth {
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        refresh_token: REFRESH_TOKEN.into(),
        advertisers: BTreeMap::from([
            ("amcinst1".to_string(), "ENTITYAAA111".to_string()),
            ("amcinst2".to_string(), "ENTITYBBB222".to_string()),
        ]),
        token_lifetime: Duration::from_secs(2),
        token_uses: Some(5),
        throttle: true,
        page_size: 2,
    }
}

fn run(id: &str, instance: &str, minutes_ago: i64, outcome: Status, running: bool) -> RemoteRun {
    let started = Utc::now() - Cd::minutes(minutes_ago);
    RemoteRun {
        id: id.into(),
        name: "wf".into(),
        group: instance.into(),
        created_at: started,
        started_at: started,
        finishes_at: if running {
            Utc::now() + Cd::hours(2)
        } else {
            started + Cd::minutes(1)
        },
        outcome,
        stopped_at: None,
        forgotten: false,
    }
}

/// The application's tables with planted rows, and the remote's runs:
/// one of each finding the preset should raise, and rows that raise none.
async fn plant(url: &str, amc: &AmcServer) {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    pool.execute(include_str!("fixtures/amc_schema.sql"))
        .await
        .unwrap();
    pool.execute(
        "INSERT INTO amc_accounts VALUES
           ('00000000-0000-0000-0000-00000000000a', 'ENTITYAAA111', 'Brand A', 'ATVPDKIKX0DER'),
           ('00000000-0000-0000-0000-00000000000b', 'ENTITYBBB222', 'Brand B', NULL);
         INSERT INTO amc_instances VALUES
           ('00000000-0000-0000-0000-0000000000a1', 'amcinst1', 'A main', 'NA', '00000000-0000-0000-0000-00000000000a'),
           ('00000000-0000-0000-0000-0000000000b1', 'amcinst2', 'B main', 'NA', '00000000-0000-0000-0000-00000000000b');
         INSERT INTO workflows VALUES
           ('00000000-0000-0000-0000-000000000f01', 'wf-daily-sales', 'Daily sales', '00000000-0000-0000-0000-0000000000a1', 'SELECT 1'),
           ('00000000-0000-0000-0000-000000000f02', 'wf-audience', 'Audience', '00000000-0000-0000-0000-0000000000a1', 'SELECT 1'),
           ('00000000-0000-0000-0000-000000000f03', 'wf-b-weekly', 'Weekly', '00000000-0000-0000-0000-0000000000b1', 'SELECT 1');
         INSERT INTO workflow_executions (id, workflow_id, status, amc_execution_id, created_at, started_at, updated_at, completed_at) VALUES
           ('00000000-0000-0000-0000-0000000e0001', '00000000-0000-0000-0000-000000000f01', 'RUNNING', 'amc-ok-1', now() - interval '10 minutes', now() - interval '10 minutes', now() - interval '1 minute', NULL),
           ('00000000-0000-0000-0000-0000000e0002', '00000000-0000-0000-0000-000000000f02', 'RUNNING', 'amc-done-2', now() - interval '10 minutes', now() - interval '10 minutes', now() - interval '9 minutes', NULL),
           ('00000000-0000-0000-0000-0000000e0003', '00000000-0000-0000-0000-000000000f03', 'RUNNING', 'amc-gone-3', now() - interval '10 minutes', now() - interval '10 minutes', now() - interval '9 minutes', NULL),
           ('00000000-0000-0000-0000-0000000e0004', '00000000-0000-0000-0000-000000000f01', 'PENDING', NULL, now() - interval '5 minutes', NULL, now() - interval '5 minutes', NULL),
           ('00000000-0000-0000-0000-0000000e0005', '00000000-0000-0000-0000-000000000f03', 'FAILED', 'amc-still-5', now() - interval '10 minutes', now() - interval '10 minutes', now() - interval '2 minutes', now() - interval '2 minutes'),
           ('00000000-0000-0000-0000-0000000e0006', '00000000-0000-0000-0000-000000000f02', 'SUCCESS', 'amc-fine-6', now() - interval '30 minutes', now() - interval '30 minutes', now() - interval '20 minutes', now() - interval '20 minutes'),
           ('00000000-0000-0000-0000-0000000e0007', '00000000-0000-0000-0000-000000000f01', 'RUNNING', 'amc-ok-7', now() - interval '3 minutes', now() - interval '3 minutes', now() - interval '1 minute', NULL);",
    )
    .await
    .unwrap();
    pool.close().await;
    amc.plant(run("amc-ok-1", "amcinst1", 10, Status::Succeeded, true));
    amc.plant(run("amc-ok-7", "amcinst1", 3, Status::Succeeded, true));
    amc.plant(run("amc-done-2", "amcinst1", 10, Status::Succeeded, false));
    amc.plant(run("amc-still-5", "amcinst2", 10, Status::Succeeded, true));
    amc.plant(run("amc-fine-6", "amcinst1", 30, Status::Succeeded, false));
    // Runs the database never recorded: one still going (remote only), and
    // finished ones the list shows too and exectop leaves out.
    amc.plant(run("amc-orphan-8", "amcinst2", 10, Status::Succeeded, true));
    amc.plant(run("amc-old-9", "amcinst2", 50, Status::Failed, false));
    amc.plant(run("amc-old-10", "amcinst1", 40, Status::Succeeded, false));
}

/// The preset as shipped, pointed at the stand-in.
fn config(amc: &AmcServer) -> PathBuf {
    let preset = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/presets/amc_workflow_executions.toml"),
    )
    .unwrap();
    let base = format!("http://{}", amc.addr);
    let text = preset
        .replace("https://advertising-api.amazon.com", &base)
        .replace(
            "https://api.amazon.com/auth/o2/token",
            &format!("{base}/auth/o2/token"),
        );
    assert_ne!(text, preset, "the preset's URLs were found and replaced");
    let dir = std::env::temp_dir().join(common::unique("exectop_amc"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("exectop.toml");
    std::fs::write(&path, text).unwrap();
    path
}

struct Checked {
    code: i32,
    json: Value,
    stdout: String,
    stderr: String,
}

async fn check(config: &Path, url: &str) -> Checked {
    let config = config.to_path_buf();
    let url = url.to_string();
    // Off the runtime's threads: the stand-in keeps serving meanwhile.
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_exectop"))
            .args(["check", "--json", "--config"])
            .arg(&config)
            .env("EXECTOP_DATABASE_URL", &url)
            .env("AMC_CLIENT_ID", CLIENT_ID)
            .env("AMC_CLIENT_SECRET", CLIENT_SECRET)
            .env("AMC_REFRESH_TOKEN", REFRESH_TOKEN)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    Checked {
        code: out.status.code().unwrap_or(-1),
        json: serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stdout,
        stderr: String::from_utf8_lossy(&out.stderr).to_string(),
    }
}

use common::cli::finding_keys as findings;

fn no_secret_in(what: &str, text: &str) {
    for secret in [CLIENT_SECRET, REFRESH_TOKEN, "Atza|sim-"] {
        assert!(!text.contains(secret), "{what} shows a secret: {text}");
    }
}

#[tokio::test]
async fn the_preset_finds_exactly_the_planted_drift_across_token_expiry() {
    let url = common::pg_fresh_url().await;
    let amc = AmcServer::start(auth()).await.unwrap();
    plant(&url, &amc).await;
    // Failed at AMC rather than succeeded: a mismatch still, now with the
    // reason AMC gives beside the status.
    amc.plant(run("amc-done-2", "amcinst1", 10, Status::Failed, false));
    let config = config(&amc);
    let out = check(&config, &url).await;
    assert_eq!(out.code, 1, "findings exit 1: {}", out.stderr);
    let expected: BTreeSet<(String, String)> = [
        ("status_mismatch", "00000000-0000-0000-0000-0000000e0002"),
        ("remote_not_found", "00000000-0000-0000-0000-0000000e0003"),
        ("missing_remote_id", "00000000-0000-0000-0000-0000000e0004"),
        (
            "remote_still_running",
            "00000000-0000-0000-0000-0000000e0005",
        ),
        ("remote_only", "amc-orphan-8"),
    ]
    .iter()
    .map(|(k, id)| (k.to_string(), id.to_string()))
    .collect();
    assert_eq!(findings(&out.json), expected, "stderr: {}", out.stderr);
    // The preset's `remote.detail_fields` reads AMC's statusReason.
    let mismatch = out.json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "status_mismatch")
        .unwrap();
    assert_eq!(
        mismatch["evidence"]["remote"]["fields"]["status reason"],
        "Query failed: the simulated query referenced a missing column",
        "{mismatch}"
    );
    let remote = &out.json["health"]["remote"];
    assert!(remote.get("auth_failing").is_none(), "{remote}");
    assert_eq!(remote["items_without_id"], 0);
    // Proof the run went through what the stand-in makes hard: several
    // tokens (each dead after 2 s or 5 uses), a 429, more than one page.
    let stats = amc.stats();
    assert!(stats.grants >= 2, "tokens were renewed: {stats:?}");
    assert!(stats.throttled >= 1, "a 429 was answered: {stats:?}");
    assert!(stats.list_pages >= 3, "lists were paged: {stats:?}");
    assert_eq!(
        stats.missing_headers, 0,
        "both headers every time: {stats:?}"
    );
    assert_eq!(stats.refused_grants, 0, "{stats:?}");
    no_secret_in("stdout", &out.stdout);
    no_secret_in("stderr", &out.stderr);
}

#[tokio::test]
async fn a_revoked_refresh_token_is_an_authentication_failure_not_a_finding() {
    let url = common::pg_fresh_url().await;
    let amc = AmcServer::start(auth()).await.unwrap();
    plant(&url, &amc).await;
    amc.state.revoke();
    let out = check(&config(&amc), &url).await;
    // Only what the database alone says: no remote finding of any kind.
    let expected: BTreeSet<(String, String)> = [(
        "missing_remote_id".to_string(),
        "00000000-0000-0000-0000-0000000e0004".to_string(),
    )]
    .into();
    assert_eq!(findings(&out.json), expected, "stderr: {}", out.stderr);
    let remote = &out.json["health"]["remote"];
    assert_eq!(remote["ok"], false);
    let why = remote["auth_failing"].as_str().unwrap_or_default();
    assert!(
        why.contains("token refresh refused: invalid_grant (HTTP 400"),
        "{remote}"
    );
    assert!(amc.stats().refused_grants >= 1);
    assert_eq!(amc.stats().lookups, 0, "nothing was asked without a token");
    no_secret_in("stdout", &out.stdout);
    no_secret_in("stderr", &out.stderr);
}

#[tokio::test]
async fn context_mistakes_name_the_key_at_start() {
    let url = common::pg_fresh_url().await;
    let amc = AmcServer::start(auth()).await.unwrap();
    plant(&url, &amc).await;
    let config = config(&amc);
    let base = std::fs::read_to_string(&config).unwrap();
    let cases = [
        (
            base.replace("{advertiser_id}", "{advertiser}"),
            "remote.headers.Amazon-Advertising-API-AdvertiserId uses {advertiser}, which remote.context.query does not give (it gives advertiser_id, instance_id, key, marketplace_id)",
        ),
        (
            base.replace("JOIN amc_accounts a", "JOIN amc_acounts a"),
            "remote.context.query: the context query failed",
        ),
        (
            base.replace("SELECT w.id AS key", "SELECT w.id AS workflow"),
            "remote.context.query gives no column named key",
        ),
        (
            base.replace("{secret.client_id}", "{secret.clientid}"),
            "remote.headers.Amazon-Advertising-API-ClientId: {secret.clientid} names no secret in [remote.secrets]",
        ),
        (
            base.replace("{remote_id}\"\nstop_method", "{execution}\"\nstop_method"),
            "remote.stop_path uses {execution}, which remote.context.query does not give",
        ),
    ];
    for (text, needle) in cases {
        std::fs::write(&config, &text).unwrap();
        let out = check(&config, &url).await;
        assert_eq!(out.code, 2, "{needle}: {}", out.stderr);
        assert!(
            out.stderr.contains(needle),
            "expected {needle:?} in {}",
            out.stderr
        );
        assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
    }
    // A secret that is not set is named with its variable, not its value.
    let out = tokio::task::spawn_blocking({
        let config = config.clone();
        let url = url.to_string();
        move || {
            std::fs::write(&config, base).unwrap();
            Command::new(env!("CARGO_BIN_EXE_exectop"))
                .args(["check", "--config"])
                .arg(&config)
                .env("EXECTOP_DATABASE_URL", &url)
                .env("AMC_CLIENT_ID", CLIENT_ID)
                .env("AMC_CLIENT_SECRET", CLIENT_SECRET)
                .env_remove("AMC_REFRESH_TOKEN")
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "remote.secrets.refresh_token: the environment variable AMC_REFRESH_TOKEN is not set"
        ),
        "{stderr}"
    );
    no_secret_in("stderr", &stderr);
}

#[tokio::test]
async fn a_list_id_pointer_that_never_matches_is_counted_and_said_once() {
    let url = common::pg_fresh_url().await;
    let amc = AmcServer::start(auth()).await.unwrap();
    plant(&url, &amc).await;
    let config = config(&amc);
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "list_id_pointer = \"/workflowExecutionId\"",
        "list_id_pointer = \"/executionId\"",
    );
    std::fs::write(&config, text).unwrap();
    let out = check(&config, &url).await;
    let remote = &out.json["health"]["remote"];
    assert!(
        remote["items_without_id"].as_u64().unwrap_or(0) >= 8,
        "every listed item counted: {remote}"
    );
    let said: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("remote.list_id_pointer \"/executionId\""))
        .collect();
    assert_eq!(said.len(), 1, "said once: {}", out.stderr);
    assert!(
        said[0].contains("workflowExecutionId"),
        "names the keys the item has: {}",
        said[0]
    );
    assert!(
        !findings(&out.json).iter().any(|(k, _)| k == "remote_only"),
        "no run is made up from items without an id"
    );
}

/// The live monitor, as an operator runs it in a terminal: it shows the
/// planted drift, then a revoked grant as the remote's authentication
/// failing; no secret reaches the screen or the log file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_monitor_shows_the_drift_then_the_failing_authentication() {
    let url = common::pg_fresh_url().await;
    let amc = AmcServer::start(auth()).await.unwrap();
    plant(&url, &amc).await;
    let config = config(&amc);
    // Look-ups every second, so three "not found" confirm within seconds.
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "remote_concurrency = 4",
        "remote_concurrency = 4\nremote_interval = \"1s\"",
    );
    std::fs::write(&config, text).unwrap();
    let args = format!("--config {}", config.display());
    let vars = [
        ("EXECTOP_DATABASE_URL", &*url),
        ("AMC_CLIENT_ID", CLIENT_ID),
        ("AMC_CLIENT_SECRET", CLIENT_SECRET),
        ("AMC_REFRESH_TOKEN", REFRESH_TOKEN),
    ];
    let t = common::tmux::Tmux::start_with(&args, 160, 48, &vars);
    let screen = tokio::task::block_in_place(|| {
        t.wait_for("the planted findings", Duration::from_secs(60), |s| {
            [
                "status_mismatch",
                "remote_not_found",
                "missing_remote_id",
                "remote_still_running",
                "remote_only",
            ]
            .iter()
            .all(|kind| s.contains(kind))
        })
    });
    assert!(screen.contains("remote ok"), "{screen}");
    assert!(
        screen.contains("amc-orphan-8"),
        "the remote-only run by its id: {screen}"
    );
    amc.state.revoke();
    let screen = tokio::task::block_in_place(|| {
        t.wait_for(
            "authentication failing in the header",
            Duration::from_secs(30),
            |s| s.contains("remote auth failing"),
        )
    });
    no_secret_in("the screen", &screen);
    tokio::task::block_in_place(|| {
        t.keys(&["q"]);
        t.wait_for("exectop to exit", Duration::from_secs(10), |s| {
            s.contains("EXITED:0")
        })
    });
    let log = std::fs::read_to_string(t.home.join("state/exectop/exectop.log")).unwrap();
    assert!(
        log.contains("token refresh refused: invalid_grant"),
        "{log}"
    );
    no_secret_in("the log file", &log);
}

fn exectop_with_secrets(config: &Path, url: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_exectop"))
        .args(args)
        .arg("--config")
        .arg(config)
        .env("EXECTOP_DATABASE_URL", url)
        .env("EXECTOP_OPERATOR", "e2e")
        .env("AMC_CLIENT_ID", CLIENT_ID)
        .env("AMC_CLIENT_SECRET", CLIENT_SECRET)
        .env("AMC_REFRESH_TOKEN", REFRESH_TOKEN)
        .output()
        .unwrap()
}

/// The fixes go through the same requests: reconcile asks AMC for the
/// instance's execution, mark-failed --stop-remote cancels it there (DELETE
/// on its path) before the row is written.
#[tokio::test]
async fn reconcile_and_a_remote_stop_go_through_the_instance_paths() {
    let url = common::pg_fresh_url().await;
    let amc = AmcServer::start(auth()).await.unwrap();
    plant(&url, &amc).await;
    let config = config(&amc);
    let run = |args: &'static [&'static str]| {
        let (config, url) = (config.clone(), url.to_string());
        tokio::task::spawn_blocking(move || exectop_with_secrets(&config, &url, args))
    };
    let out = run(&["migrate"]).await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&[
        "reconcile",
        "--id",
        "00000000-0000-0000-0000-0000000e0002",
        "--fix",
    ])
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&[
        "mark-failed",
        "--id",
        "00000000-0000-0000-0000-0000000e0001",
        "--reason",
        "stuck in e2e",
        "--stop-remote",
    ])
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    no_secret_in("stderr", &stderr);
    let stopped = amc
        .state
        .fleet
        .fleet
        .lock()
        .unwrap()
        .get("amc-ok-1")
        .and_then(|r| r.stopped_at);
    assert!(stopped.is_some(), "the run was cancelled at AMC");
    // The stand-in throttles its third request: one of these met a 429
    // and was sent again after the wait.
    assert!(amc.stats().throttled >= 1, "{:?}", amc.stats());
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let statuses: Vec<(String, String)> = sqlx::query_as(
        "SELECT amc_execution_id, status FROM workflow_executions \
         WHERE amc_execution_id IN ('amc-done-2', 'amc-ok-1') ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        statuses,
        [
            ("amc-done-2".to_string(), "SUCCESS".to_string()),
            ("amc-ok-1".to_string(), "FAILED".to_string())
        ]
    );
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM exectop_audit")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        audited >= 3,
        "reconcile, the stop and the mark are on record: {audited}"
    );
    pool.close().await;
}
