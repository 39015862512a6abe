mod common;

use exectop::store::{DbPool, migrate};

async fn applies_once(url: &str) {
    let pool = DbPool::connect(url, true).await.unwrap();
    let first = migrate::apply(&pool, true).await.unwrap();
    assert_eq!(
        first,
        vec![
            "0001_native_executions",
            "0002_audit",
            "0003_native_poll_indexes",
            "0004_native_heartbeat_index",
            "0005_shared_remote",
            "0006_triage"
        ]
    );
    let second = migrate::apply(&pool, true).await.unwrap();
    assert!(second.is_empty(), "a second run applies nothing");
}

#[tokio::test]
async fn migrations_apply_once_on_postgres() {
    applies_once(&common::pg_fresh_url().await).await;
}

#[tokio::test]
async fn migrations_apply_once_on_sqlite() {
    let (url, _) = common::sqlite_fresh_url();
    applies_once(&url).await;
}

#[tokio::test]
async fn audit_only_leaves_the_native_table_out() {
    let (url, _) = common::sqlite_fresh_url();
    let pool = DbPool::connect(&url, true).await.unwrap();
    assert_eq!(
        migrate::apply(&pool, false).await.unwrap(),
        vec!["0002_audit", "0005_shared_remote", "0006_triage"]
    );
    let DbPool::Sqlite(p) = &pool else {
        unreachable!()
    };
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'exectop_executions'")
            .fetch_one(p)
            .await
            .unwrap();
    assert_eq!(n, 0);
}
