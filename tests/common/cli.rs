//! The real binary as an operator or a cron job runs it: a native SQLite
//! table with planted rows, a config file pointing at it and at a fake
//! remote on loopback, and the command run with a clean environment.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use exectop::store::{DbPool, migrate};
use sqlx::Executor;

pub struct Env {
    pub dir: PathBuf,
    pub config: PathBuf,
    pub db: String,
}

/// A native SQLite table with `rows` (id, remote id, status, minutes old)
/// and a config file pointing at it and at the fake remote.
pub async fn env(base: &str, rows: &[(i64, &str, &str, i64)]) -> Env {
    let (db, path) = super::sqlite_fresh_url();
    let pool = DbPool::connect(&db, true).await.unwrap();
    migrate::apply(&pool, true).await.unwrap();
    let DbPool::Sqlite(p) = &pool else {
        unreachable!()
    };
    for (id, remote_id, status, minutes) in rows {
        let at = format!("strftime('%Y-%m-%dT%H:%M:%fZ','now','-{minutes} minutes')");
        let completed = if *status == "running" { "NULL" } else { &at };
        p.execute(sqlx::AssertSqlSafe(format!(
            "INSERT INTO exectop_executions (id, remote_id, status, created_at, started_at, updated_at, completed_at) \
             VALUES ({id}, '{remote_id}', '{status}', {at}, {at}, {at}, {completed})"
        )))
        .await
        .unwrap();
    }
    pool_close(pool).await;
    let dir = path.parent().unwrap().to_path_buf();
    let config = dir.join("exectop.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"{db}\"\n\n[remote]\nkind = \"http\"\nbase_url = \"{base}\"\n\
             status_path = \"/runs/{{remote_id}}\"\nstatus_pointer = \"/status\"\n\
             list_active_path = \"/active\"\nlist_pointer = \"/executions\"\n\n\
             [remote.status_values]\nrunning = [\"RUNNING\"]\nsucceeded = [\"SUCCEEDED\"]\n"
        ),
    )
    .unwrap();
    Env { dir, config, db }
}

impl Env {
    /// Rewrites the config file: `edit` gets its text and returns the new one.
    pub fn edit_config(&self, edit: impl FnOnce(String) -> String) {
        let text = std::fs::read_to_string(&self.config).unwrap();
        std::fs::write(&self.config, edit(text)).unwrap();
    }

    /// No list endpoint: every row is looked up on its own.
    pub fn without_list(&self) {
        self.edit_config(|c| c.replace("list_active_path = \"/active\"\n", ""));
    }
}

pub async fn pool_close(pool: DbPool) {
    if let DbPool::Sqlite(p) = pool {
        p.close().await;
    }
}

/// Runs the binary off the runtime's threads (the fake remote keeps
/// serving), with no database URL or config inherited from the caller.
pub async fn exectop(cwd: &Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_exectop"));
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("EXECTOP_DATABASE_URL")
        .env_remove("DATABASE_URL")
        .env_remove("EXECTOP_CONFIG")
        .env_remove("NO_COLOR")
        .env("XDG_CONFIG_HOME", cwd.join("xdg"))
        .env("EXECTOP_OPERATOR", "alice");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `(kind, execution id or else remote id)` of each finding in a
/// `check --json` report.
pub fn finding_keys(json: &serde_json::Value) -> std::collections::BTreeSet<(String, String)> {
    json["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("no findings in {json}"))
        .iter()
        .map(|f| {
            let id = f["execution_id"]
                .as_str()
                .or(f["remote_id"].as_str())
                .unwrap_or("-");
            (f["kind"].as_str().unwrap().to_string(), id.to_string())
        })
        .collect()
}
