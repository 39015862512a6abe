//! The database's own plans for the statements exectop runs about rows it
//! already knows: by id, by remote id, the compare-and-set check and write.
//! Built by the same code as the statements themselves, so what is
//! explained is what runs. `check --explain` prints them; the tests assert
//! from them that the table's indexes serve every one.

use chrono::Utc;

use sqlx::{Postgres, QueryBuilder, Row};

use super::exec::{Arg, Tx, prepare};
use super::filter::{Filter, Keys};
use super::pool::Backend;
use super::read::{Store, StoreError, quote, quoted_table};
use super::write::{Actor, Change};
use super::{DbPool, RowVersion};
use crate::domain::Status;

impl Store {
    /// Each known-row statement's plan, named (`by id`, `by remote id`,
    /// `compare-and-set check`, `compare-and-set write`): JSON on
    /// PostgreSQL (`EXPLAIN (FORMAT JSON)`), `EXPLAIN QUERY PLAN` lines on
    /// SQLite. `id` and `remote_id` are sample values of the columns' types;
    /// nothing is executed.
    pub async fn explain_known_rows(
        &self,
        id: &str,
        remote_id: &str,
    ) -> Result<Vec<(&'static str, String)>, StoreError> {
        let mut plans = Vec::new();
        let by_id = Filter::KeyIn(
            self.table().id.clone(),
            Keys {
                kind: self.id_type().await,
                values: vec![id.to_string()],
            },
        );
        plans.push(("by id", self.explain_filter(&by_id).await?));
        if let Some(col) = self.table().remote_id.clone() {
            let by_remote = Filter::KeyIn(
                col,
                Keys {
                    kind: self.remote_id_type().await,
                    values: vec![remote_id.to_string()],
                },
            );
            plans.push(("by remote id", self.explain_filter(&by_remote).await?));
        }
        let change = Change {
            action: "explain",
            execution_id: id.to_string(),
            seen: RowVersion {
                status_raw: self
                    .status_map()
                    .write_spelling(Status::Running)
                    .unwrap_or_default()
                    .to_string(),
                remote_id: Some(remote_id.to_string()),
                updated_at: None,
                xmin: Some("1".into()),
            },
            after: Status::Failed,
            reason: Some("explain".into()),
            remote_status_seen: None,
        };
        let actor = Actor {
            operator: "explain".into(),
            host: "explain".into(),
        };
        let (hold, args) = self.hold_sql(&change).await;
        plans.push((
            "compare-and-set check",
            self.explain_template(&hold, args).await?,
        ));
        if self.status_map().write_spelling(Status::Failed).is_some() {
            let (update, args) = self.update_sql(&change, &actor, Utc::now()).await?;
            plans.push((
                "compare-and-set write",
                self.explain_template(&update, args).await?,
            ));
        }
        Ok(plans)
    }

    /// A read through `filter`, explained.
    async fn explain_filter(&self, filter: &Filter) -> Result<String, StoreError> {
        let failed = |e: sqlx::Error| StoreError::Query(format!("explaining failed: {e}"));
        match self.pool() {
            DbPool::Postgres(p) => {
                let mut qb = QueryBuilder::<Postgres>::new(format!(
                    "EXPLAIN (FORMAT JSON) {}",
                    self.select_sql()
                ));
                filter.push(&mut qb, Backend::Postgres);
                let row = qb.build().fetch_one(p).await.map_err(failed)?;
                json_plan(&row).map_err(failed)
            }
            DbPool::Sqlite(_) => {
                let rows = self
                    .text_rows(
                        format!("EXPLAIN QUERY PLAN {}", self.select_sql()),
                        filter,
                        "",
                    )
                    .await?;
                Ok(sqlite_plan(rows))
            }
        }
    }

    /// One `{n}`-templated statement, explained.
    async fn explain_template(&self, sql: &str, args: Vec<Arg>) -> Result<String, StoreError> {
        let failed = |e: String| StoreError::Query(format!("explaining failed: {e}"));
        match self.pool() {
            DbPool::Postgres(p) => {
                let explained = prepare(true, &format!("EXPLAIN (FORMAT JSON) {sql}"), &args);
                let mut q = sqlx::query(sqlx::AssertSqlSafe(explained));
                for a in args {
                    q = match a {
                        Arg::Text(t) => q.bind(t),
                        Arg::Time(t) => q.bind(t.map(|t| t.to_rfc3339())),
                        Arg::Int(i) => q.bind(i),
                    };
                }
                let row = q.fetch_one(p).await.map_err(|e| failed(e.to_string()))?;
                json_plan(&row).map_err(|e| failed(e.to_string()))
            }
            DbPool::Sqlite(_) => {
                let mut tx = Tx::begin(self.pool())
                    .await
                    .map_err(|e| failed(e.to_string()))?;
                let rows = tx
                    .rows(&format!("EXPLAIN QUERY PLAN {sql}"), args)
                    .await
                    .map_err(|e| failed(e.to_string()))?;
                Ok(sqlite_plan(rows))
            }
        }
    }
}

/// PostgreSQL's JSON plan (a `json` value, not text) as text.
fn json_plan(row: &sqlx::postgres::PgRow) -> Result<String, sqlx::Error> {
    let plan: sqlx::types::Json<serde_json::Value> = row.try_get(0)?;
    Ok(plan.0.to_string())
}

/// SQLite's plan rows, their detail column (the fourth), one per line.
fn sqlite_plan(rows: Vec<Vec<Option<String>>>) -> String {
    rows.into_iter()
        .filter_map(|mut r| r.get_mut(3).and_then(Option::take))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Store {
    /// Where this table makes polling expensive: the active-set read or the
    /// remote-id look-up that would scan the whole table, each with the
    /// exact index that would serve it, and the learning of job runtimes
    /// where it reads the whole table rather than its window. exectop never
    /// creates an index; it says which one, once per `check` and once per
    /// monitor.
    pub async fn index_advice(
        &self,
        learning: &crate::domain::Learning,
    ) -> Result<Vec<String>, StoreError> {
        let t = self.table();
        let short = t.name.rsplit('.').next().unwrap_or_default();
        let postgres = self.backend() == Backend::Postgres;
        let create = |suffix: &str, columns: &str, partial: &str| {
            let concurrently = if postgres { " CONCURRENTLY" } else { "" };
            format!(
                "CREATE INDEX{concurrently} {} ON {} ({columns}){partial};",
                quote(&format!("{short}_{suffix}")),
                quoted_table(&t.name),
            )
        };
        let mut advice = Vec::new();
        let active = self
            .explain_poll(Utc::now())
            .await?
            .into_iter()
            .find(|(read, _)| *read == "active");
        if let Some((_, plan)) = active
            && scans_whole_table(&plan, short)
        {
            let spellings = self.status_map().spellings_of(&Status::ACTIVE);
            // A partial index serves PostgreSQL's poll, which is planned with
            // the spellings bound; SQLite's planner cannot match one.
            let partial = if postgres && !spellings.is_empty() {
                let listed: Vec<String> = spellings
                    .iter()
                    .map(|s| format!("'{}'", s.replace('\'', "''")))
                    .collect();
                format!(" WHERE {} IN ({})", quote(&t.status), listed.join(", "))
            } else {
                String::new()
            };
            advice.push(format!(
                "the active-set read scans the whole of {}: {}",
                quoted_table(&t.name),
                create("exectop_active", &quote(&t.status), &partial)
            ));
        }
        if let Some(col) = t.remote_id.clone() {
            let sample = match self.remote_id_type().await {
                Some(kind) => kind.sample(),
                None => "sample".to_string(),
            };
            let by_remote = Filter::KeyIn(
                col.clone(),
                Keys {
                    kind: self.remote_id_type().await,
                    values: vec![sample],
                },
            );
            if scans_whole_table(&self.explain_filter(&by_remote).await?, short) {
                advice.push(format!(
                    "looking rows up by remote id scans the whole of {}: {}",
                    quoted_table(&t.name),
                    create("exectop_remote_id", &quote(&col), "")
                ));
            }
        }
        advice.extend(self.runtimes_advice(learning).await?);
        Ok(advice)
    }
}

/// Whether a plan (PostgreSQL's JSON or text, SQLite's lines) reads `table`
/// whole.
pub fn scans_whole_table(plan: &str, table: &str) -> bool {
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(plan) {
        let mut stack = vec![&json];
        while let Some(v) = stack.pop() {
            match v {
                serde_json::Value::Object(node) => {
                    if node.get("Node Type").and_then(|t| t.as_str()) == Some("Seq Scan")
                        && node.get("Relation Name").and_then(|t| t.as_str()) == Some(table)
                    {
                        return true;
                    }
                    stack.extend(node.values());
                }
                serde_json::Value::Array(items) => stack.extend(items),
                _ => {}
            }
        }
        return false;
    }
    plan.lines().any(|l| {
        let l = l.trim();
        (l.contains(&format!("Seq Scan on {table}")) || l == format!("SCAN {table}"))
            && !l.contains("INDEX")
    })
}
