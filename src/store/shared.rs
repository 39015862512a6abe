//! One remote poller for many instances, on PostgreSQL. Instances watching
//! the same table through the same tracker share a scope. The one holding
//! the scope's advisory lock (on a session of its own, so a crash or a
//! dropped connection releases it) asks the remote and writes each answer
//! to `exectop_remote_observations`, then `NOTIFY`s; the others `LISTEN`,
//! read what is new and ask the remote nothing.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::postgres::{PgConnection, PgListener, PgPool};
use sqlx::{Connection, Row};

use super::StoreError;
use super::pool::DbPool;
use super::read::Store;

/// The channel every poller notifies on; the payload is the scope.
pub const CHANNEL: &str = "exectop_remote";

/// The channel a triage change notifies on; the payload is the table.
pub const TRIAGE_CHANNEL: &str = "exectop_triage";

/// Observations older than this are deleted by the poller: a follower that
/// starts rebuilds its histories from what is left.
pub const KEPT_MINUTES: i64 = 10;

/// What the instances share: a table watched through a tracker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub name: String,
    /// The advisory lock's key, from the name (FNV-1a: the same on every host).
    pub key: i64,
}

impl Scope {
    pub fn new(table: &str, tracker: &str) -> Scope {
        let name = format!("{table} via {tracker}");
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in name.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        Scope {
            name,
            key: i64::from_ne_bytes(hash.to_ne_bytes()),
        }
    }
}

/// One record of the shared log.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedRecord {
    pub seq: i64,
    pub kind: String,
    pub round: i64,
    pub execution_id: Option<String>,
    pub body: Value,
}

/// Who polls a scope now.
#[derive(Debug, Clone, PartialEq)]
pub struct PollerRow {
    pub holder: String,
    pub since: DateTime<Utc>,
    pub beat_at: DateTime<Utc>,
    pub health: Option<Value>,
}

/// The scope's lock, held on a connection of its own for as long as this
/// lives: dropping it closes the connection, which releases the lock.
pub struct PollerLock {
    connection: PgConnection,
}

impl PollerLock {
    /// Whether the session holding the lock is still there (the server
    /// may have terminated it, or the network dropped it).
    pub async fn still_held(&mut self) -> bool {
        self.connection.ping().await.is_ok()
    }
}

fn shared(e: impl std::fmt::Display) -> StoreError {
    StoreError::Shared(e.to_string())
}

impl Store {
    fn postgres(&self) -> Option<&PgPool> {
        match self.pool() {
            DbPool::Postgres(p) => Some(p),
            DbPool::Sqlite(_) => None,
        }
    }

    /// The scope of this table through `tracker`: the table named with its
    /// database and schema, as an advisory lock is per database and a table
    /// name may repeat in another schema. `None` on SQLite, where every
    /// instance polls the remote itself.
    pub async fn sharing_scope(&self, tracker: &str) -> Result<Option<Scope>, StoreError> {
        let Some(pool) = self.postgres() else {
            return Ok(None);
        };
        let (database, schema): (String, Option<String>) =
            sqlx::query_as("SELECT current_database()::text, current_schema()::text")
                .fetch_one(pool)
                .await
                .map_err(shared)?;
        let table = &self.table().name;
        let qualified = if table.contains('.') {
            format!("{database}.{table}")
        } else {
            format!("{database}.{}.{table}", schema.unwrap_or_default())
        };
        Ok(Some(Scope::new(&qualified, tracker)))
    }

    /// Whether `exectop migrate` made the shared tables.
    pub async fn has_shared_tables(&self) -> Result<bool, StoreError> {
        let Some(pool) = self.postgres() else {
            return Ok(false);
        };
        let found: Option<String> =
            sqlx::query_scalar("SELECT to_regclass('exectop_remote_observations')::text")
                .fetch_one(pool)
                .await
                .map_err(shared)?;
        Ok(found.is_some())
    }

    /// Takes the scope's lock when nobody holds it; `None` when another
    /// instance does.
    pub async fn try_lock_poller(&self, scope: &Scope) -> Result<Option<PollerLock>, StoreError> {
        let Some(pool) = self.postgres() else {
            return Ok(None);
        };
        // A connection of its own, out of the pool: the lock lives and dies
        // with this session.
        let mut connection = pool.acquire().await.map_err(shared)?.detach();
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(scope.key)
            .fetch_one(&mut connection)
            .await
            .map_err(shared)?;
        if !got {
            let _ = connection.close().await;
            return Ok(None);
        }
        Ok(Some(PollerLock { connection }))
    }

    /// Says this instance polls `scope` now (and since when), with the
    /// tracker's health for the others' headers.
    pub async fn beat_poller(
        &self,
        scope: &Scope,
        holder: &str,
        since: DateTime<Utc>,
        health: &Value,
    ) -> Result<(), StoreError> {
        let Some(pool) = self.postgres() else {
            return Ok(());
        };
        sqlx::query(
            "INSERT INTO exectop_remote_pollers (scope, holder, since, beat_at, health) \
             VALUES ($1, $2, $3, now(), $4) \
             ON CONFLICT (scope) DO UPDATE SET holder = EXCLUDED.holder, \
             since = EXCLUDED.since, beat_at = EXCLUDED.beat_at, health = EXCLUDED.health",
        )
        .bind(&scope.name)
        .bind(holder)
        .bind(since)
        .bind(health)
        .execute(pool)
        .await
        .map_err(shared)?;
        Ok(())
    }

    pub async fn poller_of(&self, scope: &Scope) -> Result<Option<PollerRow>, StoreError> {
        let Some(pool) = self.postgres() else {
            return Ok(None);
        };
        let row = sqlx::query(
            "SELECT holder, since, beat_at, health FROM exectop_remote_pollers WHERE scope = $1",
        )
        .bind(&scope.name)
        .fetch_optional(pool)
        .await
        .map_err(shared)?;
        row.map(|r| {
            Ok(PollerRow {
                holder: r.try_get("holder").map_err(shared)?,
                since: r.try_get("since").map_err(shared)?,
                beat_at: r.try_get("beat_at").map_err(shared)?,
                health: r.try_get("health").map_err(shared)?,
            })
        })
        .transpose()
    }

    /// Appends records to the scope's log and notifies the others, in one
    /// transaction: a follower woken by the notice finds them all.
    /// `records` are `(kind, execution id, body)`.
    pub async fn publish(
        &self,
        scope: &Scope,
        round: i64,
        records: &[(&str, Option<&str>, Value)],
    ) -> Result<(), StoreError> {
        let Some(pool) = self.postgres() else {
            return Ok(());
        };
        if records.is_empty() {
            return Ok(());
        }
        let batch: Vec<Value> = records
            .iter()
            .map(|(kind, id, body)| serde_json::json!({"kind": kind, "id": id, "body": body}))
            .collect();
        let mut tx = pool.begin().await.map_err(shared)?;
        sqlx::query(
            "INSERT INTO exectop_remote_observations (scope, kind, round, execution_id, body) \
             SELECT $1, e->>'kind', $2, e->>'id', e->'body' \
             FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS t(e, n) ORDER BY n",
        )
        .bind(&scope.name)
        .bind(round)
        .bind(Value::Array(batch))
        .execute(&mut *tx)
        .await
        .map_err(shared)?;
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(&scope.name)
            .execute(&mut *tx)
            .await
            .map_err(shared)?;
        tx.commit().await.map_err(shared)?;
        Ok(())
    }

    /// The scope's records after `seq`, oldest first, at most `limit`.
    pub async fn records_after(
        &self,
        scope: &Scope,
        seq: i64,
        limit: i64,
    ) -> Result<Vec<SharedRecord>, StoreError> {
        let Some(pool) = self.postgres() else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query(
            "SELECT seq, kind, round, execution_id, body FROM exectop_remote_observations \
             WHERE scope = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(&scope.name)
        .bind(seq)
        .bind(limit)
        .fetch_all(pool)
        .await
        .map_err(shared)?;
        rows.into_iter()
            .map(|r| {
                Ok(SharedRecord {
                    seq: r.try_get("seq").map_err(shared)?,
                    kind: r.try_get("kind").map_err(shared)?,
                    round: r.try_get("round").map_err(shared)?,
                    execution_id: r.try_get("execution_id").map_err(shared)?,
                    body: r.try_get("body").map_err(shared)?,
                })
            })
            .collect()
    }

    /// The last record's sequence number of the scope (0 when none).
    pub async fn last_seq(&self, scope: &Scope) -> Result<i64, StoreError> {
        let Some(pool) = self.postgres() else {
            return Ok(0);
        };
        let seq: Option<i64> =
            sqlx::query_scalar("SELECT max(seq) FROM exectop_remote_observations WHERE scope = $1")
                .bind(&scope.name)
                .fetch_one(pool)
                .await
                .map_err(shared)?;
        Ok(seq.unwrap_or(0))
    }

    /// Deletes the scope's records older than `KEPT_MINUTES`.
    pub async fn prune_shared(&self, scope: &Scope) -> Result<u64, StoreError> {
        let Some(pool) = self.postgres() else {
            return Ok(0);
        };
        let done = sqlx::query(
            "DELETE FROM exectop_remote_observations WHERE scope = $1 \
             AND written_at < now() - make_interval(mins => $2::int)",
        )
        .bind(&scope.name)
        .bind(KEPT_MINUTES as i32)
        .execute(pool)
        .await
        .map_err(shared)?;
        Ok(done.rows_affected())
    }

    /// A listener on the pollers' channel; `None` on SQLite.
    pub async fn listen_shared(&self) -> Result<Option<PgListener>, StoreError> {
        let Some(pool) = self.postgres() else {
            return Ok(None);
        };
        let mut listener = PgListener::connect_with(pool).await.map_err(shared)?;
        listener
            .listen_all([CHANNEL, TRIAGE_CHANNEL])
            .await
            .map_err(shared)?;
        Ok(Some(listener))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_key_is_the_same_on_every_host_and_differs_by_name() {
        let a = Scope::new("runs", "http api.example.com");
        assert_eq!(a, Scope::new("runs", "http api.example.com"));
        assert_eq!(a.name, "runs via http api.example.com");
        assert_ne!(a.key, Scope::new("runs", "stepfunctions eu-west-1").key);
        assert_ne!(a.key, Scope::new("jobs", "http api.example.com").key);
    }
}
