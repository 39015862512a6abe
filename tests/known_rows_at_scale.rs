//! Rows exectop already knows are found through the table's indexes, as the
//! same statement typed in psql would be: tables of 200 000 rows keyed by
//! bigint, uuid and text, with and without an index on the status, and the
//! database's own plans (`EXPLAIN (FORMAT JSON)`) and scan counters as the
//! judge. SQLite the same, by `EXPLAIN QUERY PLAN`.

mod common;

use std::time::Duration;

use exectop::actions::{self, Target};
use exectop::config::{Config, parse_str};
use exectop::domain::Status;
use exectop::store::{Actor, DbPool, Store, migrate};

const ROWS: i64 = 200_000;

fn config(table: &str) -> Config {
    parse_str(
        &format!(
            r#"
[table]
name = "{table}"
id = "id"
status = "status"
remote_id = "remote_id"
created_at = "created_at"
updated_at = "updated_at"
error = "error"
[table.status_values]
running = ["running"]
succeeded = ["succeeded"]
failed = ["failed"]
"#
        ),
        "scale.toml",
    )
    .unwrap()
}

/// A table of `ROWS` rows keyed by `key` (an SQL type and the expression
/// making row `g`'s key), every tenth row running, an index on the remote
/// id, and optionally one on the status.
async fn seed(pool: &DbPool, table: &str, key: (&str, &str), status_index: bool) {
    let (key_type, key_of) = key;
    common::execute(
        pool,
        format!(
            "CREATE TABLE {table} (id {key_type} PRIMARY KEY, status text NOT NULL, remote_id text, \
             created_at timestamptz NOT NULL, updated_at timestamptz, error text);
             INSERT INTO {table} SELECT {key_of}, CASE WHEN g % 10 = 0 THEN 'running' ELSE 'succeeded' END, \
             'r-' || g, now() - interval '2 days' + g * interval '1 second', now() - interval '1 day', NULL \
             FROM generate_series(1, {ROWS}) AS g;
             CREATE INDEX {table}_remote ON {table} (remote_id);
             ANALYZE {table};"
        ),
    )
    .await;
    if status_index {
        common::execute(
            pool,
            format!("CREATE INDEX {table}_status ON {table} (status); ANALYZE {table};"),
        )
        .await;
    }
}

/// Every node of a JSON plan that reads `table` by a sequential scan.
fn seq_scans(plan: &serde_json::Value, table: &str) -> usize {
    let mut found = 0;
    let mut stack = vec![plan];
    while let Some(v) = stack.pop() {
        match v {
            serde_json::Value::Object(node) => {
                if node.get("Node Type").and_then(|t| t.as_str()) == Some("Seq Scan")
                    && node.get("Relation Name").and_then(|t| t.as_str()) == Some(table)
                {
                    found += 1;
                }
                stack.extend(node.values());
            }
            serde_json::Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    found
}

async fn plans_use_indexes(
    url: &str,
    table: &str,
    key: (&str, &str),
    status_index: bool,
    sample: &str,
) {
    let pool = DbPool::connect(url, false).await.unwrap();
    seed(&pool, table, key, status_index).await;
    migrate::apply(&pool, false).await.unwrap();
    let store = Store::with_pool(pool.clone(), url, &config(table).table);
    store.validate_schema().await.unwrap();

    // Positive control: the old comparison, the column cast to text, is a
    // sequential scan, and the walker sees it.
    let DbPool::Postgres(p) = &pool else {
        unreachable!()
    };
    let old: serde_json::Value = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "EXPLAIN (FORMAT JSON) SELECT * FROM {table} WHERE CAST(id AS TEXT) = $1"
    )))
    .bind(sample)
    .fetch_one(p)
    .await
    .unwrap();
    // (A text key cast to text is the key itself: that form was indexed.)
    let expected_old = if key.0 == "text" { 0 } else { 1 };
    assert_eq!(seq_scans(&old, table), expected_old, "{table}: {old}");

    let plans = store.explain_known_rows(sample, "r-10").await.unwrap();
    let names: Vec<&str> = plans.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "by id",
            "by remote id",
            "compare-and-set check",
            "compare-and-set write"
        ]
    );
    for (name, plan) in &plans {
        let plan: serde_json::Value = serde_json::from_str(plan).unwrap();
        assert_eq!(seq_scans(&plan, table), 0, "{table} {name}: {plan}");
    }
}

#[tokio::test]
async fn known_rows_are_read_and_written_through_their_indexes_on_postgres() {
    let url = common::pg_fresh_url().await;
    plans_use_indexes(&url, "by_bigint", ("bigint", "g"), false, "5000").await;
    plans_use_indexes(&url, "by_bigint_status", ("bigint", "g"), true, "5000").await;
    plans_use_indexes(
        &url,
        "by_uuid",
        ("uuid", "md5(g::text)::uuid"),
        false,
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
    )
    .await;
    plans_use_indexes(&url, "by_text", ("text", "'job-' || g"), false, "job-5000").await;
}

async fn seq_scans_so_far(url: &str, table: &str) -> i64 {
    // A connection of its own that ends before the count is read: a
    // backend reports its counters when it goes.
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    sqlx::query("SELECT pg_stat_clear_snapshot()")
        .execute(&pool)
        .await
        .unwrap();
    let n: i64 = sqlx::query_scalar(
        "SELECT COALESCE(seq_scan, 0) FROM pg_stat_user_tables WHERE relid = to_regclass($1)",
    )
    .bind(table)
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    n
}

fn alice() -> Actor {
    Actor {
        operator: "alice".into(),
        host: "ops-1".into(),
    }
}

/// The table's sequential scans once `pool` (exectop's) is closed: its
/// backends report their counters as they go.
async fn seq_scans_once_closed(pool: DbPool, url: &str, table: &str) -> i64 {
    if let DbPool::Postgres(p) = pool {
        p.close().await;
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    seq_scans_so_far(url, table).await
}

/// Counters move a moment after the backend that scanned has gone.
async fn seq_scans_after(url: &str, table: &str, before: i64) -> i64 {
    let mut now = before;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        now = seq_scans_so_far(url, table).await;
        if now != before {
            break;
        }
    }
    now
}

#[tokio::test]
async fn a_one_row_mark_failed_reads_no_tuple_by_sequential_scan() {
    let url = common::pg_fresh_url().await;
    let table = "one_row";
    {
        let pool = DbPool::connect(&url, false).await.unwrap();
        seed(&pool, table, ("bigint", "g"), false).await;
        migrate::apply(&pool, false).await.unwrap();
        if let DbPool::Postgres(p) = pool {
            p.close().await;
        }
    }
    // Positive control: a scan the counter must see.
    let before = seq_scans_so_far(&url, table).await;
    {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM {table} WHERE CAST(id AS TEXT) = '5'"
        )))
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    }
    let after_control = seq_scans_after(&url, table, before).await;
    assert!(after_control > before, "the counter saw the control's scan");

    let pool = DbPool::connect(&url, false).await.unwrap();
    let store = Store::with_pool(pool.clone(), &url, &config(table).table);
    store.validate_schema().await.unwrap();
    let plan = actions::plan_mark_failed(
        &store,
        None,
        &[Target {
            id: "1000".into(),
            seen: Some(Status::Running),
        }],
        "hung",
        false,
    )
    .await
    .unwrap();
    let actor = alice();
    let out = actions::apply(&store, None, &plan, &actor, false)
        .await
        .unwrap();
    assert_eq!(out[0].applied, Ok(()), "{out:?}");
    assert_eq!(
        seq_scans_once_closed(pool, &url, table).await,
        after_control,
        "the plan's read, the row lock, the write and the re-read went by the primary key"
    );
}

#[tokio::test]
async fn an_id_that_cannot_be_of_the_key_type_is_refused_by_name() {
    let url = common::pg_fresh_url().await;
    let pool = DbPool::connect(&url, false).await.unwrap();
    common::execute(
        &pool,
        "CREATE TABLE small (id bigint PRIMARY KEY, status text NOT NULL, remote_id text, \
         created_at timestamptz NOT NULL, updated_at timestamptz, error text);
         INSERT INTO small VALUES (7, 'running', 'r-7', now(), now(), NULL)",
    )
    .await;
    migrate::apply(&pool, false).await.unwrap();
    let store = Store::with_pool(pool, &url, &config("small").table);
    store.validate_schema().await.unwrap();
    let target = |id: &str| Target {
        id: id.into(),
        seen: Some(Status::Running),
    };
    let plan =
        actions::plan_mark_failed(&store, None, &[target("x7"), target("007")], "hung", false)
            .await
            .unwrap();
    assert_eq!(
        plan.items[0].note,
        "no such execution: \"x7\" cannot be a bigint (table.id \"id\")"
    );
    assert_eq!(plan.items[1].after, Some(Status::Failed), "007 is row 7");
    assert_eq!(plan.items[1].execution_id, "7");
}

#[tokio::test]
async fn known_rows_are_searched_by_key_on_sqlite() {
    let (url, _) = common::sqlite_fresh_url();
    let pool = DbPool::connect(&url, true).await.unwrap();
    for (table, key_type, key_of) in [
        ("by_int", "INTEGER", "value"),
        ("by_text", "TEXT", "'job-' || value"),
    ] {
        common::execute(
            &pool,
            format!(
                "CREATE TABLE {table} (id {key_type} PRIMARY KEY, status TEXT NOT NULL, remote_id TEXT, \
                 created_at TEXT NOT NULL, updated_at TEXT, error TEXT);
                 WITH RECURSIVE n(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM n WHERE value < 20000) \
                 INSERT INTO {table} SELECT {key_of}, CASE WHEN value % 10 = 0 THEN 'running' ELSE 'succeeded' END, \
                 'r-' || value, '2026-12-01T00:00:00Z', '2026-12-01T00:00:00Z', NULL FROM n;
                 CREATE INDEX {table}_remote ON {table} (remote_id);"
            ),
        )
        .await;
    }
    migrate::apply(&pool, true).await.unwrap();
    for (table, sample) in [("by_int", "5000"), ("by_text", "job-5000")] {
        let store = Store::with_pool(pool.clone(), &url, &config(table).table);
        store.validate_schema().await.unwrap();
        let plans = store.explain_known_rows(sample, "r-10").await.unwrap();
        assert_eq!(plans.len(), 4, "{plans:?}");
        for (name, plan) in plans {
            assert!(
                !plan
                    .lines()
                    .any(|l| l.starts_with(&format!("SCAN {table}"))),
                "{table} {name}: {plan}"
            );
            assert!(plan.contains("SEARCH"), "{table} {name}: {plan}");
        }
    }
}

/// Without an index on the status or the remote id, `check` says which
/// reads scan the table and the exact statement that fixes each; after
/// the operator runs those statements, nothing is left to advise.
#[tokio::test]
async fn advice_names_the_exact_index_and_following_it_silences_it() {
    let url = common::pg_fresh_url().await;
    let pool = DbPool::connect(&url, false).await.unwrap();
    common::execute(
        &pool,
        format!(
            "CREATE TABLE bare (id bigint PRIMARY KEY, status text NOT NULL, remote_id text, \
             created_at timestamptz NOT NULL, updated_at timestamptz, error text);
             INSERT INTO bare SELECT g, CASE WHEN g % 100 = 0 THEN 'running' ELSE 'succeeded' END, 'r-' || g, \
             now() - interval '2 days', now() - interval '1 day', NULL FROM generate_series(1, {ROWS}) AS g;
             ANALYZE bare;"
        ),
    )
    .await;
    let store = Store::with_pool(pool.clone(), &url, &config("bare").table);
    store.validate_schema().await.unwrap();
    let advice = store
        .index_advice(&exectop::domain::Learning::DEFAULT)
        .await
        .unwrap();
    assert_eq!(
        advice,
        [
            "the active-set read scans the whole of \"bare\": CREATE INDEX CONCURRENTLY \"bare_exectop_active\" ON \"bare\" (\"status\") WHERE \"status\" IN ('running');",
            "looking rows up by remote id scans the whole of \"bare\": CREATE INDEX CONCURRENTLY \"bare_exectop_remote_id\" ON \"bare\" (\"remote_id\");",
        ]
    );
    for line in &advice {
        // CONCURRENTLY waits for every transaction in the database (other
        // tests' included); the index it builds is the same without it.
        let statement = line.split_once(": ").unwrap().1;
        common::execute(&pool, statement.replace(" CONCURRENTLY", "")).await;
    }
    common::execute(&pool, "ANALYZE bare").await;
    assert_eq!(
        store
            .index_advice(&exectop::domain::Learning::DEFAULT)
            .await
            .unwrap(),
        Vec::<String>::new()
    );
}

/// A bulk clean-up is written a chunk of rows per statement, each row still
/// compare-and-set and audited, through the primary key: no sequential scan,
/// and a row changed since the preview refused on its own.
#[tokio::test]
async fn a_bulk_cleanup_is_written_in_chunks_through_the_key() {
    let url = common::pg_fresh_url().await;
    let table = "bulk";
    let pool = DbPool::connect(&url, false).await.unwrap();
    seed(&pool, table, ("bigint", "g"), true).await;
    migrate::apply(&pool, false).await.unwrap();
    let store = Store::with_pool(pool.clone(), &url, &config(table).table);
    store.validate_schema().await.unwrap();
    let plan = actions::plan_cleanup(&store, Duration::from_secs(3600), chrono::Utc::now())
        .await
        .unwrap();
    // Every running row created over an hour ago: most of them, past a chunk.
    let planned = plan.changes() as i64;
    assert!(planned > 10_000, "{planned}");
    // A worker finishes one row after the preview.
    common::execute(
        &pool,
        format!("UPDATE {table} SET status = 'succeeded' WHERE id = 2500"),
    )
    .await;
    if let DbPool::Postgres(p) = &pool {
        p.close().await;
    }
    let before = seq_scans_so_far(&url, table).await;
    let pool = DbPool::connect(&url, false).await.unwrap();
    let store = Store::with_pool(pool.clone(), &url, &config(table).table);
    store.validate_schema().await.unwrap();
    let actor = alice();
    let out = actions::apply(&store, None, &plan, &actor, false)
        .await
        .unwrap();
    let refused: Vec<_> = out.iter().filter(|o| o.applied.is_err()).collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].execution_id, "2500");
    assert!(
        refused[0]
            .applied
            .as_ref()
            .unwrap_err()
            .contains("changed since you looked"),
        "{refused:?}"
    );
    let audited = exectop::store::exec::execute(
        &pool,
        "SELECT CAST(COUNT(DISTINCT execution_id) AS TEXT) || '/' || CAST(COUNT(*) AS TEXT) FROM exectop_audit",
        vec![],
    )
    .await
    .unwrap();
    let n = planned - 1;
    assert_eq!(
        audited,
        Some(format!("{n}/{n}")),
        "each written row audited once"
    );
    let left = exectop::store::exec::execute(
        &pool,
        &format!("SELECT CAST(COUNT(*) AS TEXT) FROM {table} WHERE status = 'running'"),
        vec![],
    )
    .await
    .unwrap();
    let not_planned = ROWS / 10 - planned;
    assert_eq!(left, Some(not_planned.to_string()));
    assert_eq!(
        seq_scans_once_closed(pool, &url, table).await,
        before,
        "every chunk found its rows through the primary key"
    );
}
