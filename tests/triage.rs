//! Shared triage, stored in exectop's own table: `check --json` carries each
//! finding's triage (null when none), acknowledged and snoozed findings come
//! after the rest, `check --unacked` counts only findings nobody took, and
//! every change is in the audit log. On SQLite through the real binary, and
//! on PostgreSQL through the store.

mod common;

use chrono::{Duration, Utc};
use common::cli::{exectop, text};
use exectop::config::TableConfig;
use exectop::domain::FindingKind;
use exectop::domain::triage::{FindingKey, TriageChange};
use exectop::store::{Actor, Store};
use serde_json::Value;

fn key(id: &str) -> FindingKey {
    FindingKey {
        subject: id.into(),
        kind: FindingKind::Stuck,
    }
}

fn actor(name: &str) -> Actor {
    Actor {
        operator: name.into(),
        host: "ops-1".into(),
    }
}

/// A stuck finding's severity (`investigate`), as the operator saw it.
const INVESTIGATE: u8 = 2;

async fn check(e: &common::cli::Env, args: &[&str]) -> (Option<i32>, String) {
    let mut all = vec!["--config", e.config.to_str().unwrap(), "check"];
    all.extend_from_slice(args);
    let out = exectop(&e.dir, &all, &[]).await;
    (out.status.code(), text(&out.stdout) + &text(&out.stderr))
}

async fn findings(e: &common::cli::Env) -> Vec<Value> {
    let (_, out) = check(e, &["--json"]).await;
    let json: Value = serde_json::from_str(&out).unwrap_or_else(|_| panic!("{out}"));
    json["findings"].as_array().unwrap().clone()
}

#[tokio::test]
async fn check_carries_the_triage_and_unacked_counts_only_what_nobody_took() {
    let e = common::cli::env(
        "http://127.0.0.1:9",
        &[(1, "r-1", "running", 200), (2, "r-2", "running", 180)],
    )
    .await;
    // No remote: the rows are stuck by their age alone.
    e.edit_config(|c| c.split("[remote]").next().unwrap().to_string());
    let before = findings(&e).await;
    assert_eq!(before.len(), 2, "{before:?}");
    assert!(before.iter().all(|f| f["triage"].is_null()), "{before:?}");
    assert_eq!(before[0]["execution_id"], "1", "oldest first");

    let store = Store::connect(&e.db, &TableConfig::default())
        .await
        .unwrap();
    store
        .change_triage(
            &key("1"),
            &TriageChange::Acknowledge {
                note: "restarting the worker".into(),
            },
            INVESTIGATE,
            &actor("bob"),
        )
        .await
        .unwrap();
    let after = findings(&e).await;
    assert_eq!(
        after[0]["execution_id"], "2",
        "the acknowledged one comes last"
    );
    assert!(after[0]["triage"].is_null());
    let t = &after[1]["triage"];
    assert_eq!(t["acknowledged"]["by"], "bob", "{t}");
    assert_eq!(t["acknowledged"]["note"], "restarting the worker", "{t}");
    assert_eq!(
        check(&e, &["--unacked"]).await.0,
        Some(1),
        "2 is nobody's yet"
    );

    store
        .change_triage(
            &key("2"),
            &TriageChange::Claim,
            INVESTIGATE,
            &actor("alice"),
        )
        .await
        .unwrap();
    assert_eq!(check(&e, &["--unacked"]).await.0, Some(0), "both taken");
    assert_eq!(check(&e, &[]).await.0, Some(1), "still findings");
    let claimed = findings(&e).await;
    assert_eq!(claimed[0]["triage"]["claimed"]["by"], "alice");

    // A snooze that has run out is as if never given.
    store
        .change_triage(
            &key("1"),
            &TriageChange::Unacknowledge,
            INVESTIGATE,
            &actor("bob"),
        )
        .await
        .unwrap();
    store
        .change_triage(
            &key("1"),
            &TriageChange::Snooze {
                until: Utc::now() - Duration::minutes(1),
            },
            INVESTIGATE,
            &actor("bob"),
        )
        .await
        .unwrap();
    let lapsed = findings(&e).await;
    assert_eq!(lapsed[0]["execution_id"], "1");
    assert!(lapsed[0]["triage"].is_null(), "{}", lapsed[0]);
    assert_eq!(check(&e, &["--unacked"]).await.0, Some(1));

    let exectop::store::DbPool::Sqlite(p) = store.pool() else {
        unreachable!()
    };
    let audited: Vec<(String, String, String)> =
        sqlx::query_as("SELECT action, operator, execution_id FROM exectop_audit ORDER BY id")
            .fetch_all(p)
            .await
            .unwrap();
    let actions: Vec<&str> = audited.iter().map(|(a, _, _)| a.as_str()).collect();
    assert_eq!(actions, ["acknowledge", "claim", "unacknowledge", "snooze"]);
    assert_eq!(audited[1], ("claim".into(), "alice".into(), "2".into()));
}

#[tokio::test]
async fn triage_round_trips_on_postgres_and_a_lifted_snooze_keeps_the_note() {
    let url = common::pg_fresh_url().await;
    let pool = exectop::store::DbPool::connect(&url, true).await.unwrap();
    exectop::store::migrate::apply(&pool, true).await.unwrap();
    let store = Store::with_pool(pool, &url, &TableConfig::default());
    let until = Utc::now() + Duration::hours(2);
    store
        .change_triage(
            &key("7"),
            &TriageChange::Snooze { until },
            INVESTIGATE,
            &actor("carol"),
        )
        .await
        .unwrap();
    store
        .change_triage(
            &key("7"),
            &TriageChange::Note {
                text: "vendor ticket 42".into(),
            },
            INVESTIGATE,
            &actor("dave"),
        )
        .await
        .unwrap();
    let stored = store.triage().await.unwrap();
    let t = &stored[&key("7")];
    assert_eq!(t.snoozed.as_ref().unwrap().by, "carol");
    assert_eq!(
        t.snoozed_until.map(|u| u.timestamp()),
        Some(until.timestamp()),
        "the moment survives the round trip"
    );
    assert_eq!(
        t.note.as_ref().unwrap().note.as_deref(),
        Some("vendor ticket 42")
    );
    assert_eq!(t.severity, Some(INVESTIGATE));
    store
        .change_triage(
            &key("7"),
            &TriageChange::Unsnooze,
            INVESTIGATE,
            &actor("carol"),
        )
        .await
        .unwrap();
    let lifted = &store.triage().await.unwrap()[&key("7")];
    assert_eq!(lifted.snoozed, None);
    assert_eq!(lifted.note.as_ref().unwrap().by, "dave", "the note stays");
}
