//! Learned limits end to end, on a native SQLite table with a history:
//! `exectop check --json` reports a short job hung for 20 minutes as
//! overdue with the learned limit in its evidence, leaves a long job in its
//! usual three hours alone, and says when history is too short;
//! `exectop thresholds` prints the learned table; and the live monitor,
//! whose learning runs in a task of its own, comes to the same findings.

mod common;

use std::time::Duration;

use common::cli::{exectop, pool_close, text};
use exectop::config::Config;
use exectop::domain::FindingKind;
use exectop::monitor::{self, MonitorEvent, Poller};
use exectop::store::{DbPool, Store, migrate};

/// 25 runs of a minute and 25 of three hours, 3 of a rare job, and one
/// running row of each: 20 minutes, 2 h 30 m and 2 h 30 m in.
async fn table(db: &str) {
    let pool = DbPool::connect(db, true).await.unwrap();
    migrate::apply(&pool, true).await.unwrap();
    let mut rows: Vec<(i64, &str, &str, i64, Option<i64>)> = Vec::new();
    for i in 0..25 {
        // Half a minute to a minute, every hour; three hours, twice a day.
        rows.push((i, "quick", "succeeded", 60 * (i + 1), Some(1)));
        rows.push((100 + i, "nightly", "succeeded", 720 * (i + 1), Some(180)));
    }
    for i in 0..3 {
        rows.push((200 + i, "rare", "succeeded", 1_440 * (i + 1), Some(30)));
    }
    rows.extend([
        (1_000, "quick", "running", 20, None),
        (1_001, "nightly", "running", 150, None),
        (1_002, "rare", "running", 150, None),
    ]);
    for (id, name, status, ago, took) in rows {
        let at =
            |minutes: i64| format!("strftime('%Y-%m-%dT%H:%M:%fZ','now','-{minutes} minutes')");
        let done = took.map_or("NULL".to_string(), |t| at(ago - t));
        // The running rows' workers beat: only their runtimes are at issue.
        let beat = if took.is_none() {
            at(0)
        } else {
            "NULL".to_string()
        };
        common::execute(
            &pool,
            format!(
                "INSERT INTO exectop_executions (id, name, status, created_at, started_at, updated_at, completed_at, heartbeat_at) \
                 VALUES ({id}, '{name}', '{status}', {}, {}, {}, {done}, {beat})",
                at(ago),
                at(ago),
                took.map_or(at(ago), |t| at(ago - t)),
            ),
        )
        .await;
    }
    pool_close(pool).await;
}

fn by_id(json: &serde_json::Value) -> Vec<(String, String, serde_json::Value)> {
    let mut out: Vec<_> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["execution_id"].as_str().unwrap_or_default().to_string(),
                f["kind"].as_str().unwrap().to_string(),
                f["evidence"]["limit"].clone(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[tokio::test]
async fn check_and_thresholds_use_and_show_the_learned_limits() {
    let (db, path) = common::sqlite_fresh_url();
    table(&db).await;
    let dir = path.parent().unwrap().to_path_buf();
    std::fs::write(
        dir.join("exectop.toml"),
        format!("[database]\nurl = \"{db}\"\n"),
    )
    .unwrap();

    let out = exectop(&dir, &["check", "--json"], &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let found = by_id(&json);
    let kinds: Vec<(&str, &str)> = found
        .iter()
        .map(|(i, k, _)| (i.as_str(), k.as_str()))
        .collect();
    assert_eq!(kinds, [("1000", "overdue"), ("1002", "stuck")], "{json:#}");
    let learned = &found[0].2;
    assert_eq!(learned["source"], "learned", "{learned}");
    assert_eq!(learned["runs"], 25);
    assert_eq!(
        learned["limit_seconds"], 300,
        "the floor: 3 × 1 min is less"
    );
    assert_eq!(learned["p95_seconds"], 60.0);
    let reason = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["execution_id"] == "1000")
        .and_then(|f| f["reason"].as_str())
        .unwrap();
    assert!(
        reason.starts_with("running for 20m")
            && reason.contains("this job's p95 is 1m (25 runs in 14d)"),
        "{reason}"
    );
    let fixed = &found[1].2;
    assert_eq!(
        (
            fixed["source"].as_str(),
            fixed["history_runs"].as_u64(),
            fixed["history_needed"].as_u64()
        ),
        (Some("fixed"), Some(3), Some(20)),
        "{fixed}"
    );

    let out = exectop(&dir, &["thresholds"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[1].starts_with("job "), "{table}");
    assert!(
        lines[2].starts_with("nightly") && lines[2].ends_with("learned"),
        "{table}"
    );
    assert!(lines[2].contains(" 3h "), "p95 of three hours: {table}");
    assert!(
        lines[4].starts_with("rare") && lines[4].ends_with("fixed (too few runs)"),
        "{table}"
    );
    let out = exectop(&dir, &["thresholds", "--json"], &[]).await;
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 3, "{json:#}");
    assert_eq!(json[0]["name"], "nightly");
    assert_eq!(json[0]["limit_seconds"], 3 * 3 * 3600);

    // Learning off: the fixed thresholds alone, the long job stuck again
    // and the hung short one unseen.
    std::fs::write(
        dir.join("exectop.toml"),
        format!("[database]\nurl = \"{db}\"\n[thresholds.learn]\nenabled = false\n"),
    )
    .unwrap();
    let out = exectop(&dir, &["check", "--json"], &[]).await;
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<(String, String)> = by_id(&json).into_iter().map(|(i, k, _)| (i, k)).collect();
    assert_eq!(
        kinds,
        [
            ("1001".to_string(), "stuck".to_string()),
            ("1002".to_string(), "stuck".to_string())
        ]
    );
}

#[tokio::test]
async fn the_live_monitor_learns_in_its_own_task_and_judges_by_it() {
    let (db, _path) = common::sqlite_fresh_url();
    table(&db).await;
    let mut config = Config::default();
    config.database.url = Some(db.clone());
    let pool = DbPool::connect(&db, true).await.unwrap();
    let store = Store::with_pool(pool, &db, &config.table);
    let poller = Poller::new(store, None, &config);
    let (events_tx, mut events) = tokio::sync::mpsc::channel(64);
    let (_control, control_rx) = tokio::sync::mpsc::channel(4);
    let monitor = tokio::spawn(monitor::run(poller, events_tx, control_rx));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    // The first snapshots may come before the first reading: then the fixed
    // thresholds judge, and the long job is stuck. Once learned, it is not.
    let snapshot = loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("a learned snapshot within 30 s")
            .unwrap();
        let MonitorEvent::Snapshot(s) = event else {
            continue;
        };
        if s.learned.as_of.is_some() && s.findings.iter().any(|f| f.kind == FindingKind::Overdue) {
            break s;
        }
    };
    monitor.abort();
    let mut kinds: Vec<(String, FindingKind)> = snapshot
        .findings
        .iter()
        .map(|f| (f.execution_id.clone().unwrap(), f.kind))
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            ("1000".to_string(), FindingKind::Overdue),
            ("1002".to_string(), FindingKind::Stuck)
        ]
    );
    assert_eq!(snapshot.learned.by_name["quick"].runs, 25);
}
