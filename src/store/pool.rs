//! One connection pool for either backend. exectop speaks PostgreSQL and
//! SQLite through their own sqlx drivers (not `Any`, which loses chrono types
//! and uses the wrong placeholders on PostgreSQL).

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{PgPool, SqlitePool};

use super::error::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn of_url(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else {
            Err(StoreError::UnknownBackend {
                shown: redact_url(url),
            })
        }
    }

    pub fn migrations_dir(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The part of a connection error an operator acts on: the OS's or the
/// server's own words (`Connection refused`, `password authentication
/// failed for user "x"`, `database "x" does not exist`), without sqlx's
/// wrapping. The URL is never part of it, so no password can leak here.
fn cause(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::Database(db) => db.message().to_string(),
        sqlx::Error::PoolTimedOut => format!(
            "no connection within {}s (is the server up and reachable?)",
            CONNECT_TIMEOUT.as_secs()
        ),
        other => other.to_string(),
    }
}

/// Why the pool timed out. The pool retries a refused connection until its
/// deadline (assuming a server that is starting) and then reports only the
/// timeout; one direct attempt brings back the actual reason.
async fn pg_cause(options: &PgConnectOptions) -> String {
    use sqlx::{ConnectOptions, Connection};
    match tokio::time::timeout(CONNECT_TIMEOUT, options.connect()).await {
        Ok(Err(e)) => cause(&e),
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            format!(
                "no connection within {}s, though the server accepts one now: try again",
                CONNECT_TIMEOUT.as_secs()
            )
        }
        Err(_) => cause(&sqlx::Error::PoolTimedOut),
    }
}

#[derive(Debug, Clone)]
pub enum DbPool {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// Query parameters that carry a secret in connection URLs (libpq's
/// `password`, `sslpassword`, and the names other drivers use).
const SECRET_PARAMETERS: [&str; 8] = [
    "password",
    "sslpassword",
    "pass",
    "passwd",
    "pwd",
    "secret",
    "token",
    "access_token",
];

/// Hides every secret in a URL before it reaches a log, an error or the
/// screen: the password of its userinfo and any password-like query
/// parameter. The URL is parsed, not split, so an `@` or `:` inside a
/// password cannot move the cut; a URL that does not parse is not shown.
pub fn redact_url(raw: &str) -> String {
    let Ok(mut url) = url::Url::parse(raw) else {
        let scheme = raw.split_once("://").map_or("", |(s, _)| s);
        return format!("{scheme}://(unparseable URL, not shown)");
    };
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    let secret = |key: &str| SECRET_PARAMETERS.contains(&key.to_ascii_lowercase().as_str());
    if url.query_pairs().any(|(k, _)| secret(&k)) {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if secret(&k) {
                    "***".into()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

impl DbPool {
    /// Connects lazily-checked: the first query proves the database is there.
    /// A SQLite file is created only when `create_sqlite` is set (demo, simulator).
    pub async fn connect(url: &str, create_sqlite: bool) -> Result<DbPool, StoreError> {
        DbPool::connect_sized(url, create_sqlite, None).await
    }

    /// `max_connections` caps the pool (default 6 on PostgreSQL, 4 on
    /// SQLite). A one-shot command wants as many as it runs statements at
    /// once: the pool takes a returned connection back asynchronously, so a
    /// statement that follows another may otherwise open (and handshake) a
    /// new one.
    pub async fn connect_sized(
        url: &str,
        create_sqlite: bool,
        max_connections: Option<u32>,
    ) -> Result<DbPool, StoreError> {
        let shown = redact_url(url);
        let bad_url = |e: sqlx::Error| StoreError::BadUrl {
            shown: shown.clone(),
            reason: e.to_string(),
        };
        match Backend::of_url(url)? {
            Backend::Postgres => {
                let options = PgConnectOptions::from_str(url)
                    .map_err(bad_url)?
                    .application_name("exectop");
                let pool = PgPoolOptions::new()
                    .max_connections(max_connections.unwrap_or(6))
                    .acquire_timeout(CONNECT_TIMEOUT)
                    .connect_with(options.clone())
                    .await;
                match pool {
                    Ok(pool) => Ok(DbPool::Postgres(pool)),
                    Err(sqlx::Error::PoolTimedOut) => Err(StoreError::Connect {
                        cause: pg_cause(&options).await,
                        shown,
                    }),
                    Err(e) => Err(StoreError::Connect {
                        shown,
                        cause: cause(&e),
                    }),
                }
            }
            Backend::Sqlite => {
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(bad_url)?
                    .create_if_missing(create_sqlite)
                    .journal_mode(SqliteJournalMode::Wal)
                    .busy_timeout(Duration::from_secs(5))
                    .foreign_keys(true);
                let pool = SqlitePoolOptions::new()
                    .max_connections(max_connections.unwrap_or(4))
                    .acquire_timeout(CONNECT_TIMEOUT)
                    .connect_with(options)
                    .await
                    .map_err(|e| StoreError::Open {
                        shown: shown.clone(),
                        cause: cause(&e),
                    })?;
                Ok(DbPool::Sqlite(pool))
            }
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            DbPool::Postgres(_) => Backend::Postgres,
            DbPool::Sqlite(_) => Backend::Sqlite,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn every_secret_in_a_url_is_hidden() {
        let cases = [
            (
                "postgres://app:hunter2@db:5432/app",
                "postgres://app:***@db:5432/app",
            ),
            // An `@` in the password: the cut is where the URL says, not at the first `@`.
            ("postgres://app:pa@ss@db/app", "postgres://app:***@db/app"),
            (
                "postgres://app:p%40ss:w@db/app",
                "postgres://app:***@db/app",
            ),
            (
                "postgres://app@db/app?password=hunter2&sslmode=require",
                "postgres://app@db/app?password=***&sslmode=require",
            ),
            (
                "postgres://db/app?PassWord=x&sslpassword=y",
                "postgres://db/app?PassWord=***&sslpassword=***",
            ),
            ("postgres://app@db/app", "postgres://app@db/app"),
            ("sqlite:///tmp/x.db", "sqlite:///tmp/x.db"),
        ];
        for (raw, shown) in cases {
            assert_eq!(redact_url(raw), shown, "{raw}");
        }
        for secret in ["hunter2", "pa@ss", "p%40ss", "ss@db"] {
            for (raw, _) in cases {
                if raw.contains(secret) {
                    assert!(!redact_url(raw).contains(secret), "{raw}");
                }
            }
        }
        let broken = redact_url("postgres://app:hunter2@db:notaport/app");
        assert!(!broken.contains("hunter2"), "{broken}");
        assert!(broken.starts_with("postgres://"), "{broken}");
    }
}
