//! Each job's runtimes in the learning window, aggregated where they live:
//! one statement returns a few numbers per job name, never the runs, so a
//! table finishing millions of runs a fortnight costs the database one scan
//! of the window and exectop a few kilobytes. Read in a task of its own
//! every `[thresholds.learn] refresh`, never on the UI's path.
//!
//! PostgreSQL computes the percentiles itself (`percentile_cont … WITHIN
//! GROUP`). SQLite has no ordered-set aggregate, so it ranks each job's
//! durations with window functions and returns only the values at the
//! ranks either side of p50 and p95, and the last (the max); the
//! interpolation between them is done here (`RuntimeStats::from_ranks`),
//! to `percentile_cont`'s definition, so both backends learn the same
//! limits from the same runs. Fetching each job's sorted durations instead
//! would move the whole window into the process.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;

use super::filter::moment_after;
use super::pool::{Backend, DbPool};
use super::read::{Store, StoreError, quote, quoted_table};
use crate::domain::{Learned, Learning, RuntimeStats, Status};

/// Job names returned at most, those with the most runs first: a table
/// whose names are unique per run (a date in the name) must not return
/// its whole window. Past it a job is judged by the fixed thresholds.
pub const NAMES_LEARNED: i64 = 10_000;

/// The percentiles learned, as fractions.
const P50: f64 = 0.5;
const P95: f64 = 0.95;

impl Store {
    /// The runtimes of each job name's succeeded runs that finished in the
    /// learning window before `now`: started (else created) to completed.
    /// Failed and timed-out runs are left out: a run that failed at once,
    /// or was killed at a timeout, says nothing of how long the job takes
    /// when it works. Empty where the table maps no name column.
    pub async fn learned_runtimes(
        &self,
        now: DateTime<Utc>,
        learning: &Learning,
    ) -> Result<Learned, StoreError> {
        let mut learned = Learned {
            by_name: BTreeMap::new(),
            window: learning.window,
            as_of: Some(now),
            unreadable: false,
        };
        if self.table().name_column.is_none()
            || self
                .status_map()
                .spellings_of(&[Status::Succeeded])
                .is_empty()
        {
            return Ok(learned);
        }
        let since = now - chrono::Duration::from_std(learning.window).unwrap_or_default();
        let failed = |e: sqlx::Error| {
            StoreError::Query(format!(
                "reading the job runtimes of {} failed: {e}",
                quoted_table(&self.table().name)
            ))
        };
        match self.pool() {
            DbPool::Postgres(p) => {
                let mut qb = QueryBuilder::new("");
                self.push_runtimes(&mut qb, Backend::Postgres, since, now);
                let rows = qb.build().fetch_all(p).await.map_err(failed)?;
                for r in super::exec::rows_as_text(&rows) {
                    let number =
                        |i: usize| r[i].as_deref().and_then(|v| v.trim().parse::<f64>().ok());
                    let (Some(name), Some(runs), Some(p50), Some(p95), Some(max)) =
                        (r[0].clone(), number(1), number(2), number(3), number(4))
                    else {
                        continue;
                    };
                    learned.by_name.insert(
                        name,
                        RuntimeStats {
                            runs: runs as u64,
                            p50,
                            p95,
                            max,
                        },
                    );
                }
            }
            DbPool::Sqlite(p) => {
                let mut qb = QueryBuilder::new("");
                self.push_runtimes(&mut qb, Backend::Sqlite, since, now);
                let rows = qb.build().fetch_all(p).await.map_err(failed)?;
                // name → (runs, value at each rank returned)
                let mut ranked: HashMap<String, (u64, HashMap<u64, f64>)> = HashMap::new();
                for r in super::exec::rows_as_text(&rows) {
                    let int = |i: usize| r[i].as_deref().and_then(|v| v.trim().parse::<u64>().ok());
                    let value = r[3].as_deref().and_then(|v| v.trim().parse::<f64>().ok());
                    let (Some(name), Some(rank), Some(runs), Some(value)) =
                        (r[0].clone(), int(1), int(2), value)
                    else {
                        continue;
                    };
                    let entry = ranked.entry(name).or_insert_with(|| (runs, HashMap::new()));
                    entry.1.insert(rank, value);
                }
                for (name, (runs, values)) in ranked {
                    // A job cut off by NAMES_LEARNED part-way lacks ranks:
                    // it is left out rather than learned wrong.
                    if let Some(stats) =
                        RuntimeStats::from_ranks(runs, |rank| values.get(&rank).copied())
                    {
                        learned.by_name.insert(name, stats);
                    }
                }
            }
        }
        Ok(learned)
    }

    /// The runtimes statement. Identifiers quoted, moments and spellings
    /// bound.
    pub(super) fn push_runtimes<DB>(
        &self,
        qb: &mut QueryBuilder<DB>,
        backend: Backend,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) where
        DB: sqlx::Database,
        for<'t> String: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
        for<'t> DateTime<Utc>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
        for<'t> i64: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    {
        let t = self.table();
        let name = quote(t.name_column.as_deref().unwrap_or_default());
        let finished = quote(self.completion_column());
        let started = quote(t.started_at.as_deref().unwrap_or(&t.created_at));
        let duration = match backend {
            Backend::Postgres => format!("extract(epoch FROM ({finished} - {started}))"),
            // julianday's doubles are off by microseconds at these
            // magnitudes (50 000 s read 50 000.00001): rounded to the
            // millisecond, the precision the stored texts carry.
            Backend::Sqlite => {
                format!("ROUND((julianday({finished}) - julianday({started})) * 86400.0, 3)")
            }
        };
        let runs = |qb: &mut QueryBuilder<DB>| {
            qb.push(format!(
                "SELECT CAST({name} AS TEXT) AS job, {duration} AS d FROM {} WHERE {name} IS NOT NULL AND {started} IS NOT NULL AND ",
                quoted_table(&t.name)
            ));
            let succeeded = self.status_map().spellings_of(&[Status::Succeeded]);
            // SQLite's planner would as soon search the status index, which
            // reads every succeeded run ever; a unary `+` keeps it off that
            // index, so the completion column's bounds the window.
            let plus = if backend == Backend::Sqlite { "+" } else { "" };
            qb.push(format!("{plus}{} IN (", quote(&t.status)));
            let mut list = qb.separated(", ");
            for s in succeeded {
                list.push_bind(s);
            }
            qb.push(") AND ");
            moment_after(qb, backend, self.completion_column(), since, true);
            // `moment_after` may be two terms on SQLite: negate them together.
            qb.push(" AND NOT (");
            moment_after(qb, backend, self.completion_column(), now, true);
            qb.push(")");
        };
        match backend {
            Backend::Postgres => {
                qb.push(format!(
                    "SELECT job, CAST(COUNT(*) AS TEXT), \
                     CAST(percentile_cont({P50}) WITHIN GROUP (ORDER BY d) AS TEXT), \
                     CAST(percentile_cont({P95}) WITHIN GROUP (ORDER BY d) AS TEXT), \
                     CAST(MAX(d) AS TEXT) FROM ("
                ));
                runs(qb);
                qb.push(") AS runs WHERE d >= 0 GROUP BY job ORDER BY COUNT(*) DESC, job LIMIT ");
                qb.push_bind(NAMES_LEARNED);
            }
            Backend::Sqlite => {
                // The ranks `percentile_ranks` names, in SQL: (n - 1) × p,
                // its floor + 1 and the rank after (the same IEEE product).
                let around = |p: f64| {
                    format!(
                        "CAST((n - 1) * {p} AS INTEGER) + 1, MIN(CAST((n - 1) * {p} AS INTEGER) + 2, n)"
                    )
                };
                qb.push(
                    "SELECT job, CAST(rn AS TEXT), CAST(n AS TEXT), CAST(d AS TEXT) FROM (\
                     SELECT job, d, ROW_NUMBER() OVER (PARTITION BY job ORDER BY d) AS rn, \
                     COUNT(*) OVER (PARTITION BY job) AS n FROM (",
                );
                runs(qb);
                qb.push(format!(
                    ") AS runs WHERE d >= 0) AS ranked WHERE rn = n OR rn IN ({}, {}) \
                     ORDER BY n DESC, job, rn LIMIT ",
                    around(P50),
                    around(P95)
                ));
                qb.push_bind(NAMES_LEARNED * 5);
            }
        }
    }

    /// The runtimes statement's plan (`EXPLAIN` text on PostgreSQL, `EXPLAIN
    /// QUERY PLAN` lines on SQLite), for the index advice and the tests.
    pub async fn explain_runtimes(&self, learning: &Learning) -> Result<String, StoreError> {
        let now = Utc::now();
        let since = now - chrono::Duration::from_std(learning.window).unwrap_or_default();
        let failed = |e: sqlx::Error| StoreError::Query(format!("explaining failed: {e}"));
        let (rows, detail) = match self.pool() {
            DbPool::Postgres(p) => {
                let mut qb = QueryBuilder::new("EXPLAIN ");
                self.push_runtimes(&mut qb, Backend::Postgres, since, now);
                let rows = qb.build().fetch_all(p).await.map_err(failed)?;
                (super::exec::rows_as_text(&rows), 0)
            }
            DbPool::Sqlite(p) => {
                let mut qb = QueryBuilder::new("EXPLAIN QUERY PLAN ");
                self.push_runtimes(&mut qb, Backend::Sqlite, since, now);
                let rows = qb.build().fetch_all(p).await.map_err(failed)?;
                (super::exec::rows_as_text(&rows), 3)
            }
        };
        Ok(rows
            .into_iter()
            .filter_map(|mut r| r.get_mut(detail).and_then(Option::take))
            .collect::<Vec<_>>()
            .join("\n"))
    }

    /// Where no index on the completion column narrows the runtimes
    /// statement to its window: the index that would. Asked of the plan
    /// for an hour's window, which any such index serves on either
    /// planner; the real window may rightly be read whole where the table
    /// keeps little more history than it. SQLite's plan may go through
    /// the status index instead, which reads every succeeded run, so what
    /// counts is whether the time column bounds an index search.
    pub(super) async fn runtimes_advice(
        &self,
        learning: &Learning,
    ) -> Result<Option<String>, StoreError> {
        if !learning.enabled || self.table().name_column.is_none() {
            return Ok(None);
        }
        let hour = Learning {
            window: std::time::Duration::from_secs(3600),
            ..learning.clone()
        };
        let plan = self.explain_runtimes(&hour).await?;
        if narrowed_by(&plan, self.completion_column()) {
            return Ok(None);
        }
        let short = self.table().name.rsplit('.').next().unwrap_or_default();
        let concurrently = if self.backend() == Backend::Postgres {
            " CONCURRENTLY"
        } else {
            ""
        };
        Ok(Some(format!(
            "learning job runtimes scans the whole of {}: CREATE INDEX{concurrently} {} ON {} ({});",
            quoted_table(&self.table().name),
            quote(&format!("{short}_exectop_finished")),
            quoted_table(&self.table().name),
            quote(self.completion_column())
        )))
    }
}

/// Whether a plan (PostgreSQL's text, SQLite's lines) searches an index by
/// `column`: PostgreSQL's `Index Cond` or `Recheck Cond` naming it, SQLite's
/// `USING … INDEX … (column>?)`.
fn narrowed_by(plan: &str, column: &str) -> bool {
    plan.lines().any(|l| {
        let by_index = l.contains("Index Cond") || l.contains("USING") && l.contains("INDEX");
        by_index && l.contains(column)
    })
}
