//! The reads a poll makes, on exectop's native schema: they return exactly the
//! rows they should whatever text form a SQLite table keeps its moments in,
//! and once the history is large every one of them is served by an index
//! rather than a scan of the table (the poll's cost follows active and changed
//! rows, not history; docs/ARCHITECTURE.md).

mod common;

use std::collections::BTreeSet;

use chrono::{DateTime, TimeZone, Utc};
use exectop::config::TableConfig;
use exectop::store::{DbPool, Store, migrate};
use sqlx::Executor;

fn since() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 2, 0, 0).unwrap()
}

fn ids(rows: Vec<exectop::domain::Execution>) -> BTreeSet<String> {
    rows.into_iter().map(|e| e.id).collect()
}

#[tokio::test]
async fn sqlite_time_filters_read_every_iso_form_exactly() {
    let (url, _) = common::sqlite_fresh_url();
    let pool = DbPool::connect(&url, true).await.unwrap();
    migrate::apply(&pool, true).await.unwrap();
    let DbPool::Sqlite(p) = &pool else {
        unreachable!()
    };
    // (id, stored text, after `since` = 2026-11-25T02:00Z?)
    let moments = [
        ("1", "2026-11-25T01:50:00.000Z", false),
        ("2", "2026-11-25T02:01:00.000Z", true),
        ("3", "2026-11-25 02:01:00", true),
        ("4", "2026-11-25 01:59:59", false),
        // 03:00Z written at -08:00: its text says the day before.
        ("5", "2026-11-24T19:00:00-08:00", true),
        ("6", "2026-11-24T17:00:00-08:00", false),
        // 01:00Z written at +05:00: its text looks later than `since`.
        ("7", "2026-11-25T06:00:00+05:00", false),
        ("8", "2026-11-25T08:00:00+05:00", true),
        ("9", "2026-11-20T12:00:00Z", false),
    ];
    for (id, at, _) in moments {
        sqlx::query(
            "INSERT INTO exectop_executions (id, status, created_at, updated_at, completed_at) \
             VALUES (?1, 'succeeded', ?2, ?2, ?2)",
        )
        .bind(id.parse::<i64>().unwrap())
        .bind(at)
        .execute(p)
        .await
        .unwrap();
    }
    let store = Store::with_pool(pool.clone(), &url, &TableConfig::default());
    let want: BTreeSet<String> = moments
        .iter()
        .filter(|m| m.2)
        .map(|m| m.0.to_string())
        .collect();
    assert_eq!(ids(store.changed_since(since()).await.unwrap()), want);
    assert_eq!(ids(store.finished_since(since()).await.unwrap()), want);
}

/// Inserts `finished` old terminal rows, 40 active ones and 5 just finished.
async fn seed_history(pool: &DbPool, finished: i64) {
    let (series, ago, recent) = match pool {
        DbPool::Postgres(_) => (
            format!("generate_series(1, {finished}) AS g(i)"),
            "now() - interval '3 days' - i * interval '1 minute'".to_string(),
            "now() - interval '1 minute'",
        ),
        DbPool::Sqlite(_) => (
            format!(
                "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {finished}) SELECT i FROM n)"
            ),
            "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-3 days', '-' || i || ' minutes')".to_string(),
            "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 minutes')",
        ),
    };
    let statements = [
        format!(
            "INSERT INTO exectop_executions (status, remote_id, created_at, updated_at, completed_at) \
             SELECT CASE WHEN i % 10 = 0 THEN 'failed' ELSE 'succeeded' END, 'r-' || i, {ago}, {ago}, {ago} FROM {series}"
        ),
        format!(
            "INSERT INTO exectop_executions (status, created_at, updated_at) \
             SELECT 'running', {recent}, {recent} FROM {} ",
            series.replace(&finished.to_string(), "40")
        ),
        format!(
            "INSERT INTO exectop_executions (status, created_at, updated_at, completed_at) \
             SELECT 'succeeded', {recent}, {recent}, {recent} FROM {}",
            series.replace(&finished.to_string(), "5")
        ),
        "ANALYZE".to_string(),
    ];
    for sql in statements {
        common::execute(pool, sql).await;
    }
}

async fn poll_reads_use_indexes(url: &str, scan_words: &[&str]) {
    let pool = DbPool::connect(url, true).await.unwrap();
    migrate::apply(&pool, true).await.unwrap();
    seed_history(&pool, 50_000).await;
    let store = Store::with_pool(pool, url, &TableConfig::default());
    let since = Utc::now() - chrono::Duration::hours(24);
    assert_eq!(store.active().await.unwrap().len(), 40);
    assert_eq!(store.finished_since(since).await.unwrap().len(), 5);
    assert_eq!(store.changed_since(since).await.unwrap().len(), 45);
    let plans = store.explain_poll(since).await.unwrap();
    let names: Vec<&str> = plans.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "active",
            "changed",
            "heartbeats",
            "active count",
            "finished",
            "unmapped"
        ]
    );
    assert_eq!(store.count_active().await.unwrap(), 40);
    for (name, plan) in &plans {
        assert!(
            !scan_words.iter().any(|w| plan.contains(w)),
            "the {name} read scans the table:\n{plan}"
        );
        assert!(
            plan.to_lowercase().contains("index"),
            "the {name} read uses no index:\n{plan}"
        );
    }
}

#[tokio::test]
async fn poll_reads_use_indexes_on_postgres() {
    poll_reads_use_indexes(&common::pg_fresh_url().await, &["Seq Scan"]).await;
}

#[tokio::test]
async fn poll_reads_use_indexes_on_sqlite() {
    let (url, _) = common::sqlite_fresh_url();
    // SQLite says "SCAN <table>" for a full scan, "SEARCH … USING INDEX" otherwise.
    poll_reads_use_indexes(&url, &["SCAN exectop_executions"]).await;
}

/// Rows whose spelling no mapping covers are counted, by spelling, among the
/// rows created in the last 24 h. NULL is a spelling too, and so is a mapped
/// word in another case: the poll matches spellings exactly, so those rows
/// would otherwise go unwatched without a word.
async fn unmapped_spellings_are_counted(pool: DbPool, url: &str) {
    let (time_type, recent, old) = match pool {
        DbPool::Postgres(_) => (
            "TIMESTAMPTZ",
            "now() - interval '10 minutes'",
            "now() - interval '3 days'",
        ),
        DbPool::Sqlite(_) => (
            "TEXT",
            "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-10 minutes')",
            "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-3 days')",
        ),
    };
    let statements = [
        format!(
            "CREATE TABLE runs (id INTEGER PRIMARY KEY, state TEXT, created {time_type} NOT NULL)"
        ),
        format!(
            "INSERT INTO runs (id, state, created) VALUES \
             (1, 'RUNNING', {recent}), (2, 'DONE', {recent}), (3, 'QUEUED', {recent}), \
             (4, 'QUEUED', {recent}), (5, NULL, {recent}), (6, 'running', {recent}), \
             (7, 'LEGACY', {old}), (8, 'QUEUED', {old})"
        ),
    ];
    for sql in statements {
        common::execute(&pool, sql).await;
    }
    let config = exectop::config::parse_str(
        "[table]\nname = \"runs\"\nid = \"id\"\nstatus = \"state\"\ncreated_at = \"created\"\n\
         [table.status_values]\nrunning = [\"RUNNING\"]\nsucceeded = [\"DONE\"]\n",
        "test",
    )
    .unwrap();
    let store = Store::with_pool(pool, url, &config.table);
    let since = Utc::now() - chrono::Duration::hours(24);
    assert_eq!(
        store.unmapped_statuses(since).await.unwrap(),
        [
            ("QUEUED".to_string(), 2),
            ("(null)".to_string(), 1),
            ("running".to_string(), 1)
        ],
        "most first, then by spelling; the 3-day-old rows are outside the window"
    );
}

#[tokio::test]
async fn unmapped_spellings_are_counted_on_postgres() {
    let url = common::pg_fresh_url().await;
    let pool = DbPool::connect(&url, false).await.unwrap();
    unmapped_spellings_are_counted(pool, &url).await;
}

#[tokio::test]
async fn unmapped_spellings_are_counted_on_sqlite() {
    let (url, _) = common::sqlite_fresh_url();
    let pool = DbPool::connect(&url, true).await.unwrap();
    unmapped_spellings_are_counted(pool, &url).await;
}

fn explain(config: &str) -> (i32, String) {
    let dir = std::env::temp_dir().join(common::unique("exectop_explain"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("exectop.toml");
    std::fs::write(&path, config).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_exectop"))
        .args(["check", "--explain", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test]
async fn check_explain_shows_the_plans_and_names_a_missing_index() {
    let (url, _) = common::sqlite_fresh_url();
    let pool = DbPool::connect(&url, true).await.unwrap();
    migrate::apply(&pool, true).await.unwrap();
    seed_history(&pool, 2_000).await;
    let DbPool::Sqlite(p) = &pool else {
        unreachable!()
    };
    p.execute("CREATE TABLE bare (id INTEGER PRIMARY KEY, state TEXT, created TEXT, done TEXT)")
        .await
        .unwrap();

    let (code, text) = explain(&format!("[database]\nurl = \"{url}\"\n"));
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("every poll read uses an index"), "{text}");
    assert!(text.contains("USING INDEX"), "{text}");

    let (code, text) = explain(&format!(
        "[database]\nurl = \"{url}\"\n[table]\nname = \"bare\"\nid = \"id\"\nstatus = \"state\"\n\
         created_at = \"created\"\ncompleted_at = \"done\"\n[table.status_values]\nrunning = [\"R\"]\nsucceeded = [\"S\"]\n"
    ));
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("an index on \"state\"") && text.contains("an index on \"done\""),
        "{text}"
    );
}

/// A streamed row compares equal to what it decodes to, whatever it holds,
/// and unequal once any field differs; the live poll keeps the very same
/// `Arc` for a row that did not change and a new one for a row that did.
async fn rows_are_reused_only_when_unchanged(url: &str) {
    use exectop::monitor::{DatabaseCycle, MonitorState, Poller};
    let pool = DbPool::connect(url, true).await.unwrap();
    migrate::apply(&pool, true).await.unwrap();
    let sql = "INSERT INTO exectop_executions (status, remote_id, name, group_name, created_at, started_at, \
               updated_at, heartbeat_at, error, error_count) VALUES \
               ('running', 'r-1', 'job', 'g', {t}, {t}, {t}, {t}, NULL, 0), \
               ('pending', NULL, NULL, NULL, {t}, NULL, {t}, NULL, '', 3), \
               ('running', 'r-3', '', 'g', {t}, {t}, {t}, {t}, '{\"error\":\"x\"}', 0)";
    let (now, later) = match pool {
        DbPool::Postgres(_) => ("now()", "now() + interval '1 second'"),
        DbPool::Sqlite(_) => (
            "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
            "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+1 seconds')",
        ),
    };
    let run = |sql: String| {
        let pool = pool.clone();
        async move { common::execute(&pool, sql).await }
    };
    run(sql.replace("{t}", now)).await;
    let store = Store::with_pool(pool.clone(), url, &TableConfig::default());

    let mut seen = 0;
    store
        .active_each(|row| {
            let e = row.to_execution().unwrap();
            assert!(row.same_as(&e), "{e:?}");
            let changed = [
                exectop::domain::Execution {
                    raw_status: "x".into(),
                    ..e.clone()
                },
                exectop::domain::Execution {
                    name: Some("other".into()),
                    ..e.clone()
                },
                exectop::domain::Execution {
                    error: Some("boom".into()),
                    ..e.clone()
                },
                exectop::domain::Execution {
                    error_count: Some(99),
                    ..e.clone()
                },
                exectop::domain::Execution {
                    heartbeat_at: Some(Utc::now() + chrono::Duration::days(1)),
                    ..e.clone()
                },
            ];
            for other in &changed {
                assert!(!row.same_as(other), "{other:?}");
            }
            seen += 1;
        })
        .await
        .unwrap();
    assert_eq!(seen, 3);

    let poller = Poller::new(store, None, &exectop::config::Config::default());
    let (mut cycle, mut state) = (DatabaseCycle::default(), MonitorState::default());
    let first = poller.database_cycle(&mut cycle, &mut state).await.unwrap();
    run(format!(
        "UPDATE exectop_executions SET heartbeat_at = {later} WHERE remote_id = 'r-1'"
    ))
    .await;
    let second = poller.database_cycle(&mut cycle, &mut state).await.unwrap();
    assert_eq!(first.active.len(), 3);
    for (a, b) in first.active.iter().zip(second.active.iter()) {
        assert_eq!(a.id, b.id);
        let beat_changed = a.remote_id.as_deref() == Some("r-1");
        assert_eq!(
            std::sync::Arc::ptr_eq(a, b),
            !beat_changed,
            "row {}: reused only when unchanged",
            a.id
        );
    }
}

#[tokio::test]
async fn rows_are_reused_only_when_unchanged_on_postgres() {
    rows_are_reused_only_when_unchanged(&common::pg_fresh_url().await).await;
}

#[tokio::test]
async fn rows_are_reused_only_when_unchanged_on_sqlite() {
    let (url, _) = common::sqlite_fresh_url();
    rows_are_reused_only_when_unchanged(&url).await;
}

/// Reading rows by 40 000 ids works on both backends (SQLite binds at most
/// 32 766 values in one statement): the store reads in slices.
async fn many_ids_are_read_in_slices(url: &str) {
    let pool = DbPool::connect(url, true).await.unwrap();
    migrate::apply(&pool, true).await.unwrap();
    seed_history(&pool, 40_000).await;
    let store = Store::with_pool(pool, url, &TableConfig::default());
    let mut remote_ids: Vec<String> = (1..=40_000).map(|i| format!("r-{i}")).collect();
    remote_ids.push("r-none".to_string());
    let rows = store.by_remote_ids(&remote_ids).await.unwrap();
    assert_eq!(rows.len(), 40_000);
    let ids: Vec<String> = rows.iter().map(|e| e.id.clone()).collect();
    assert_eq!(store.by_ids(&ids).await.unwrap().len(), 40_000);
}

#[tokio::test]
async fn many_ids_are_read_in_slices_on_postgres() {
    many_ids_are_read_in_slices(&common::pg_fresh_url().await).await;
}

#[tokio::test]
async fn many_ids_are_read_in_slices_on_sqlite() {
    let (url, _) = common::sqlite_fresh_url();
    many_ids_are_read_in_slices(&url).await;
}

/// The database's counts give exactly the two windows that computing over
/// the rows one by one gives, at the hour and day edges too.
async fn counts_agree_with_the_rows(url: &str) {
    use exectop::domain::{ErrorClassifier, error_rates};
    let pool = DbPool::connect(url, true).await.unwrap();
    migrate::apply(&pool, true).await.unwrap();
    let store = Store::with_pool(pool.clone(), url, &TableConfig::default());
    let now = Utc::now();
    let statuses = [
        "succeeded",
        "failed",
        "timed_out",
        "cancelled",
        "failed",
        "succeeded",
    ];
    let errors = [
        None,
        Some("Query execution timeout after 900s"),
        Some("connection reset by peer"),
        Some(""),
        Some("403 Forbidden"),
        Some("worker exited with code 137"),
    ];
    // Spread over 25 h, with some right at the hour and bucket edges, and
    // one in the future.
    let mut seconds: Vec<i64> = (0..400).map(|i| i * 223 + 7).collect();
    seconds.extend([3_599, 3_600, 3_601, 1_800, 86_399, 86_400, 86_401, -30]);
    for (i, back) in seconds.iter().enumerate() {
        let at = now - chrono::Duration::seconds(*back) - chrono::Duration::milliseconds(250);
        let (group, name) = match i % 3 {
            0 => (Some(format!("group-{}", i % 4)), Some("job")),
            1 => (None, Some("named")),
            _ => (None, None),
        };
        let args: Vec<Option<String>> = vec![
            Some(statuses[i % statuses.len()].to_string()),
            group,
            name.map(str::to_string),
            errors[i % errors.len()].map(str::to_string),
        ];
        let (text, time) = match &pool {
            DbPool::Postgres(_) => (at.to_rfc3339(), "CAST($5 AS timestamptz)"),
            DbPool::Sqlite(_) => (at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(), "$5"),
        };
        let sql = format!(
            "INSERT INTO exectop_executions (status, group_name, name, error, created_at, updated_at, completed_at) \
             VALUES ($1, $2, $3, $4, {time}, {time}, {time})"
        );
        match &pool {
            DbPool::Postgres(p) => {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for a in &args {
                    q = q.bind(a.clone());
                }
                q.bind(text).execute(p).await.map(drop)
            }
            DbPool::Sqlite(p) => {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for a in &args {
                    q = q.bind(a.clone());
                }
                q.bind(text).execute(p).await.map(drop)
            }
        }
        .unwrap();
    }
    let classifier = ErrorClassifier::default();
    let rows = store
        .finished_since(now - chrono::Duration::hours(25))
        .await
        .unwrap();
    let by_rows = error_rates::compute(&rows, now, &classifier);
    let counts = store.finished_counts(now).await.unwrap();
    let by_counts = error_rates::windows(counts.iter().copied());
    assert!(by_rows.hour.finished > 10, "{:?}", by_rows.hour);
    assert!(by_rows.day.finished > 300, "{:?}", by_rows.day);
    assert!(counts.len() < rows.len(), "the database groups rows");
    assert_eq!((by_counts.hour, by_counts.day), (by_rows.hour, by_rows.day));
}

#[tokio::test]
async fn counts_agree_with_the_rows_on_postgres() {
    counts_agree_with_the_rows(&common::pg_fresh_url().await).await;
}

#[tokio::test]
async fn counts_agree_with_the_rows_on_sqlite() {
    let (url, _) = common::sqlite_fresh_url();
    counts_agree_with_the_rows(&url).await;
}

/// The context query only reads: a second statement smuggled after the
/// first (SQLite's driver would run it) is refused before anything runs,
/// and a `--` comment on its last line does not swallow the wrapper.
#[tokio::test]
async fn the_context_query_is_one_select_on_either_backend() {
    let (url, _) = common::sqlite_fresh_url();
    let sqlite = DbPool::connect(&url, true).await.unwrap();
    let pg_url = common::pg_fresh_url().await;
    let pg = DbPool::connect(&pg_url, false).await.unwrap();
    for (pool, url) in [(sqlite, url.as_str()), (pg, &*pg_url)] {
        common::execute(
            &pool,
            "CREATE TABLE wf (id TEXT PRIMARY KEY, instance TEXT)",
        )
        .await;
        common::execute(&pool, "INSERT INTO wf VALUES ('w1', 'i1'), ('w2', NULL)").await;
        let store = Store::with_pool(pool.clone(), url, &TableConfig::default());
        let rows = store
            .context_rows(
                "SELECT id AS key, instance AS instance_id FROM wf ORDER BY id -- the workflows\n;",
            )
            .await
            .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].get("instance_id").map(String::as_str), Some("i1"));
        assert!(
            !rows[1].contains_key("instance_id"),
            "NULL is left out: {rows:?}"
        );
        let smuggled = store
            .context_rows("SELECT 'x' AS key); DELETE FROM wf; SELECT * FROM (SELECT 1 AS key")
            .await
            .unwrap_err()
            .to_string();
        assert!(smuggled.contains("must be one SELECT"), "{smuggled}");
        let writes = store
            .context_rows("DELETE FROM wf RETURNING id AS key")
            .await;
        assert!(writes.is_err(), "a write is not a subquery");
        assert_eq!(
            store
                .context_rows("SELECT id AS key FROM wf")
                .await
                .unwrap()
                .len(),
            2
        );
    }
}
