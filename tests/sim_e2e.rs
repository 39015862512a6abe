//! End to end: the fleet simulator writes a living, breaking fleet into a real
//! database and serves its remote API on loopback; `exectop check --json`
//! (the real binary, over real HTTP) must find every injected fault with the
//! right kind and say nothing about healthy executions. Precision and recall
//! per kind are printed.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::process::Command;
use std::time::Duration;

use chrono::Utc;
use exectop::domain::{FindingKind, Thresholds};
use exectop::sim::{self, ApiFaults, Fault, SimOptions};
use serde_json::Value;

/// Fleets in this file run one at a time: two at once on a small machine
/// slow each other's database writes past the seconds-long test thresholds.
static FLEET: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn options(db_url: String, seed: u64) -> SimOptions {
    SimOptions {
        db_url,
        listen: "127.0.0.1:0".parse().unwrap(),
        seed,
        rate: 8.0,
        fault_rate: 0.5,
        time_scale: 0.04,
        api_faults: ApiFaults::default(),
        history: true,
        recurring_jobs: false,
        steady: 0,
        amc: None,
        stepfunctions: false,
    }
}

fn kind_of(s: &str) -> FindingKind {
    FindingKind::ALL
        .into_iter()
        .find(|k| k.as_str() == s)
        .unwrap()
}

/// How exectop asks the simulator: its plain API, or AMC's shape (context,
/// headers, expiring OAuth tokens), as the demo does.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Plain,
    Amc,
    StepFunctions,
}

async fn score(db_url: String, seed: u64, shape: Shape) {
    let _one_fleet = FLEET.lock().await;
    let auth = sim::amc::AmcAuth {
        token_lifetime: Duration::from_secs(2),
        ..sim::amc::demo_auth(&sim::writer::GROUPS)
    };
    let handle = sim::start(SimOptions {
        amc: (shape == Shape::Amc).then(|| auth.clone()),
        stepfunctions: shape == Shape::StepFunctions,
        ..options(db_url.clone(), seed)
    })
    .await
    .unwrap();
    // Let runs start, finish and break (runs last 0.8–5 s at this scale).
    tokio::time::sleep(Duration::from_secs(6)).await;
    let dir = std::env::temp_dir().join(common::unique("exectop_sim"));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("exectop.toml");
    let mut toml = match shape {
        Shape::Plain => sim::exectop_config_toml(&db_url, handle.api_addr),
        Shape::Amc => sim::exectop_amc_config_toml(&db_url, handle.api_addr, &auth),
        // Seconds-long runs: the check must take well under a second per
        // state machine, so the per-API caps are raised for it.
        Shape::StepFunctions => {
            sim::exectop_sfn_config_toml(&db_url, handle.api_addr)
                + "list_rate = 100\n\n[poll]\nremote_rate = 200\n"
        }
    };
    // Seconds-long runs: scale the registration grace down with them.
    toml.push_str("\n[thresholds]\nregistration_grace = \"1s\"\nheartbeat_stale = \"2s\"\n");
    std::fs::write(&config, toml).unwrap();
    let checked_at = Utc::now();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_exectop"))
            .args(["check", "--json", "--config"])
            .arg(&config)
            // The Step Functions shape signs with these; nothing else reads them.
            .env("AWS_ACCESS_KEY_ID", "AKIAEXECTOPTEST")
            .env("AWS_SECRET_ACCESS_KEY", "exectop-test-not-a-secret")
            .env("AWS_CONFIG_FILE", "/nonexistent/exectop-test")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/exectop-test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let done_at = Utc::now();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let json: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    if let Some(amc) = &handle.amc {
        // Proof the check went through the AMC shape, not around it.
        let st = amc.stats.lock().unwrap().clone();
        assert!(
            st.grants >= 1 && st.lookups + st.list_pages > 0 && st.missing_headers == 0,
            "{st:?}"
        );
    }

    let thresholds = Thresholds {
        registration_grace: Duration::from_secs(1),
        heartbeat_stale: Duration::from_secs(2),
        ..Thresholds::default()
    };
    // Key findings by execution id, or by remote id for remote-only ones.
    let mut reported: HashMap<String, FindingKind> = HashMap::new();
    let mut reasons: HashMap<String, String> = HashMap::new();
    for f in json["findings"].as_array().unwrap() {
        let key = f["execution_id"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("remote:{}", f["remote_id"].as_str().unwrap()));
        reported.insert(key.clone(), kind_of(f["kind"].as_str().unwrap()));
        reasons.insert(key, f.to_string());
    }
    // On a disagreement, what exectop said and what the simulator did, in full.
    let explain = |key: &str, entry: &sim::TruthEntry| {
        eprintln!(
            "  exectop: {}\n  truth: {entry:?}\n  checked {checked_at} .. {done_at}",
            reasons.get(key).map_or("-", String::as_str)
        );
    };
    let margin = (done_at - checked_at).to_std().unwrap() + Duration::from_secs(1);
    let mid = checked_at + (done_at - checked_at) / 2;
    // kind -> (true positives, false positives, false negatives)
    let mut tally: BTreeMap<&str, (u32, u32, u32)> = BTreeMap::new();
    let mut healthy = 0;
    let mut faults_seen: BTreeMap<String, u32> = BTreeMap::new();
    for entry in handle.truth() {
        let Some(expected) = entry.settled(mid, margin, &thresholds) else {
            continue;
        };
        let key = entry
            .execution_id
            .clone()
            .unwrap_or_else(|| format!("remote:{}", entry.remote_id.clone().unwrap()));
        let got = reported.remove(&key);
        *faults_seen.entry(format!("{:?}", entry.fault)).or_default() += 1;
        if entry.fault == Fault::Healthy {
            healthy += 1;
        }
        match (expected, got) {
            (Some(e), Some(g)) if e == g => tally.entry(e.as_str()).or_default().0 += 1,
            (Some(e), Some(g)) => {
                tally.entry(e.as_str()).or_default().2 += 1;
                tally.entry(g.as_str()).or_default().1 += 1;
                eprintln!(
                    "execution {key} ({:?}): expected {e:?}, reported {g:?}",
                    entry.fault
                );
                explain(&key, &entry);
            }
            (Some(e), None) => {
                tally.entry(e.as_str()).or_default().2 += 1;
                eprintln!(
                    "execution {key} ({:?}): expected {e:?}, not reported",
                    entry.fault
                );
                explain(&key, &entry);
            }
            (None, Some(g)) => {
                tally.entry(g.as_str()).or_default().1 += 1;
                eprintln!(
                    "execution {key} ({:?}): no finding expected, reported {g:?}",
                    entry.fault
                );
                explain(&key, &entry);
            }
            (None, None) => {}
        }
    }
    println!("scored against ground truth: {faults_seen:?}, {healthy} healthy");
    println!(
        "{:<22} {:>9} {:>9}  tp/fp/fn",
        "kind", "precision", "recall"
    );
    let (mut tp, mut fp, mut fn_) = (0, 0, 0);
    for (kind, (t, f, n)) in &tally {
        let p = if t + f == 0 {
            1.0
        } else {
            *t as f64 / (t + f) as f64
        };
        let r = if t + n == 0 {
            1.0
        } else {
            *t as f64 / (t + n) as f64
        };
        println!("{kind:<22} {p:>9.2} {r:>9.2}  {t}/{f}/{n}");
        tp += t;
        fp += f;
        fn_ += n;
    }
    assert!(
        healthy >= 5,
        "the fleet had healthy executions to stay quiet about"
    );
    for kind in [
        "stuck",
        "missing_remote_id",
        "status_mismatch",
        "remote_not_found",
        "remote_only",
        "remote_still_running",
    ] {
        assert!(
            tally.get(kind).is_some_and(|t| t.0 > 0),
            "no {kind} fault was found (or injected): {tally:?}"
        );
    }
    assert_eq!(
        (fp, fn_),
        (0, 0),
        "every injected fault found with the right kind, no false alarm ({tp} found)"
    );
    handle.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_fleet_scored_on_sqlite() {
    let (url, _) = common::sqlite_fresh_url();
    score(url, 11, Shape::Plain).await;
}

/// `exectop demo --tracker stepfunctions`: the same ground truth through the
/// Step Functions tracker (signed JSON 1.0, lists per state machine).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_fleet_scored_through_step_functions() {
    let (url, _) = common::sqlite_fresh_url();
    score(url, 11, Shape::StepFunctions).await;
}

/// The demo's shape: the same ground truth through per-instance requests,
/// both vendor headers and tokens that expire every two seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_fleet_scored_through_the_amc_shape() {
    let (url, _) = common::sqlite_fresh_url();
    score(url, 13, Shape::Amc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_fleet_scored_on_postgres() {
    score(common::pg_fresh_url().await.to_string(), 12, Shape::Plain).await;
}

/// Starts `exectop simulate` with `args`; returns the child and its API base URL.
fn spawn_simulate(db_url: &str, args: &[&str]) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_exectop"))
        .args(["simulate", "--db", db_url, "--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("simulate ended before it listened")
            .unwrap();
        if let Some(url) = line.strip_prefix("simulated remote API listening on ") {
            break url.trim().to_string();
        }
    };
    // Keep reading so the child never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, base)
}

#[test]
fn simulate_refuses_a_bad_rate_naming_its_flag() {
    let (url, _) = common::sqlite_fresh_url();
    for (flag, value) in [
        ("--api-throttle-rate", "1.5"),
        ("--fault-rate", "1.5"),
        ("--api-latency", "soon"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_exectop"))
            .args([
                "simulate",
                "--db",
                &url,
                "--listen",
                "127.0.0.1:0",
                flag,
                value,
            ])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {stderr}");
        assert!(
            stderr.lines().count() == 1 && stderr.contains(flag),
            "{flag} {value}: {stderr}"
        );
    }
}

async fn get_json(http: &reqwest::Client, url: String) -> Value {
    let bytes = http.get(url).send().await.unwrap().bytes().await.unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn put_json(http: &reqwest::Client, url: String, body: Value) -> reqwest::Response {
    http.put(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn simulate_serves_a_steady_fleet_with_latency_and_a_storm_on_demand() {
    let _one_fleet = FLEET.lock().await;
    let (url, _) = common::sqlite_fresh_url();
    let quiet = [
        "--rate",
        "0",
        "--no-history",
        "--steady",
        "500",
        "--api-latency",
        "50ms",
        "--api-slow-rate",
        "0",
        "--api-throttle-rate",
        "0",
        "--api-error-rate",
        "0",
        "--api-malformed-rate",
        "0",
    ];
    let (mut child, base) = spawn_simulate(&url, &quiet);
    exectop::remote::install_tls_provider();
    let http = reqwest::Client::new();
    let listed = get_json(&http, format!("{base}/executions?state=active")).await;
    assert_eq!(listed["executions"].as_array().unwrap().len(), 500);

    let started = std::time::Instant::now();
    let one = http
        .get(format!("{base}/executions/steady-1-7"))
        .send()
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(50),
        "the latency is applied"
    );
    let one: Value = serde_json::from_slice(&one.bytes().await.unwrap()).unwrap();
    assert_eq!(one["status"], "RUNNING");

    let storm = put_json(
        &http,
        format!("{base}/_sim/faults"),
        serde_json::json!({"throttle_rate": 1.0, "retry_after_seconds": 3}),
    )
    .await;
    assert!(storm.status().is_success());
    let throttled = http
        .get(format!("{base}/executions/steady-1-7"))
        .send()
        .await
        .unwrap();
    assert_eq!(throttled.status().as_u16(), 429);
    assert_eq!(throttled.headers()["retry-after"], "3");
    let refused = put_json(
        &http,
        format!("{base}/_sim/faults"),
        serde_json::json!({"throttle_rate": 2.0}),
    )
    .await;
    assert_eq!(refused.status().as_u16(), 400);

    let stats = get_json(&http, format!("{base}/_sim/stats")).await;
    assert_eq!(stats["requests"], 3, "{stats}");
    assert_eq!(stats["throttled"], 1);
    assert_eq!(stats["lists"], 1);
    assert_eq!(
        stats["executions"]["steady-1-7"]["lookups"], 1,
        "a 429 is no answered look-up"
    );

    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let running: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM exectop_executions WHERE status = 'running' AND remote_id LIKE 'steady-1-%'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(running, 500);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn a_steady_fleet_seeds_on_postgres_too() {
    let _one_fleet = FLEET.lock().await;
    let url = common::pg_fresh_url().await;
    let handle = sim::start(SimOptions {
        rate: 0.0,
        history: false,
        steady: 300,
        ..options(url.to_string(), 3)
    })
    .await
    .unwrap();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let (running, groups): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(DISTINCT group_name) FROM exectop_executions \
         WHERE status = 'running' AND remote_id LIKE 'steady-3-%'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((running, groups), (300, 4));
    handle.shutdown();
}
