//! Helpers shared by the integration tests: a fresh PostgreSQL schema per
//! test (on the real server) and a fresh SQLite file per test.
#![allow(dead_code)]

pub mod agent;
pub mod cli;
pub mod moto;
pub mod tmux;

use std::sync::atomic::{AtomicU32, Ordering};

static COUNTER: AtomicU32 = AtomicU32::new(0);

pub fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}_{}_{n}_{nanos}", std::process::id())
}

/// The server the tests use: `TEST_DATABASE_URL`, else the local cluster.
pub fn pg_base_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// A schema of the test's own on the test server, and a URL whose
/// connections use it. It reads as the URL (`&str`, `Display`) and drops
/// the schema when it goes out of scope, so a developer's database does not
/// grow with every run.
pub struct PgSchema {
    url: String,
    schema: String,
}

impl std::ops::Deref for PgSchema {
    type Target = str;
    fn deref(&self) -> &str {
        &self.url
    }
}

impl AsRef<std::ffi::OsStr> for PgSchema {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.url.as_ref()
    }
}

impl std::fmt::Debug for PgSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url)
    }
}

impl std::fmt::Display for PgSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url)
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let schema = self.schema.clone();
        // Drop runs inside the test's runtime: the statement goes on a
        // thread (and a runtime) of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(drop_schema(&schema));
        })
        .join();
    }
}

async fn drop_schema(schema: &str) {
    use sqlx::Executor;
    if let Ok(pool) = sqlx::PgPool::connect(&pg_base_url()).await {
        // A connection still in a transaction on the schema would make the
        // drop wait for ever: it gives up instead, and the schema is a
        // leftover for the next run to drop.
        let _ = pool
            .execute(sqlx::AssertSqlSafe(format!(
                "SET lock_timeout = '5s'; DROP SCHEMA IF EXISTS {schema} CASCADE"
            )))
            .await;
        pool.close().await;
    }
}

/// Schemas left by test processes that are gone (killed before their
/// guards ran): dropped once per process, before the first new schema.
async fn drop_leftovers(pool: &sqlx::PgPool) {
    static ONCE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    ONCE.get_or_init(|| async {
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'exectop\\_t\\_%'",
        )
        .fetch_all(pool)
        .await
        .unwrap_or_default();
        for name in names {
            let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
            let gone = pid.is_some_and(|pid| {
                pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
            });
            if gone {
                use sqlx::Executor;
                let _ = pool
                    .execute(sqlx::AssertSqlSafe(format!(
                        "SET lock_timeout = '5s'; DROP SCHEMA IF EXISTS {name} CASCADE"
                    )))
                    .await;
            }
        }
    })
    .await;
}

/// A new empty schema on the test server (see `PgSchema`).
pub async fn pg_fresh_url() -> PgSchema {
    use sqlx::Executor;
    let base = pg_base_url();
    let schema = unique("exectop_t");
    let pool = sqlx::PgPool::connect(&base).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL at {base} is not reachable ({e}); run scripts/test or set TEST_DATABASE_URL"
        )
    });
    drop_leftovers(&pool).await;
    pool.execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .await
        .unwrap();
    pool.close().await;
    let sep = if base.contains('?') { '&' } else { '?' };
    PgSchema {
        url: format!("{base}{sep}options=-c%20search_path%3D{schema}"),
        schema,
    }
}

/// A path for a new SQLite file under the system temp directory.
pub fn sqlite_fresh_url() -> (String, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(unique("exectop_sqlite"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("test.db");
    (format!("sqlite://{}", path.display()), path)
}

/// Serves `app` on a free loopback port (the HTTP fakes of the remote API)
/// and returns its base URL.
pub async fn serve_loopback(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// Runs one statement of a test's set-up on either backend; a failure is the
/// test's failure, with the statement named.
pub async fn execute(pool: &exectop::store::DbPool, sql: impl Into<String>) {
    use exectop::store::DbPool;
    use sqlx::Executor;
    let sql = sql.into();
    let done = match pool {
        DbPool::Postgres(p) => p.execute(sqlx::AssertSqlSafe(sql.clone())).await.map(drop),
        DbPool::Sqlite(p) => p.execute(sqlx::AssertSqlSafe(sql.clone())).await.map(drop),
    };
    if let Err(e) = done {
        panic!("set-up statement failed: {e}\n{sql}");
    }
}
