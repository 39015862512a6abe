//! The day's history, aggregated where it lives. The error-rates pane needs
//! counts (per half hour, status and error class; per group), never the
//! rows: a busy table finishes millions of executions a day, and reading
//! them into the process cost gigabytes. Two `GROUP BY` statements give
//! everything the pane shows, bounded by buckets × statuses × classes and
//! by the number of groups shown, whatever the day's volume.

use chrono::{DateTime, Duration as Cd, Utc};
use sqlx::QueryBuilder;

use super::filter::moment_after;
use super::pool::{Backend, DbPool};
use super::read::{Store, StoreError, quote, quoted_table};
use crate::domain::error_rates::{BUCKETS, Breakdown, ClassCount, GroupCount};
use crate::domain::{ErrorClass, ErrorClassifier, ErrorRates, Status, WindowCount};

/// `SELECT ` and what `push` adds to it, run on either backend; every
/// column comes back as text.
macro_rules! select_rows {
    ($store:expr, |$qb:ident, $backend:ident| $push:expr) => {
        match $store.pool() {
            DbPool::Postgres(p) => {
                let mut $qb = QueryBuilder::new("SELECT ");
                let $backend = Backend::Postgres;
                $push;
                rows($qb.build().fetch_all(p).await)?
            }
            DbPool::Sqlite(p) => {
                let mut $qb = QueryBuilder::new("SELECT ");
                let $backend = Backend::Sqlite;
                $push;
                rows($qb.build().fetch_all(p).await)?
            }
        }
    };
}

/// Groups the pane can show at most; the aggregate returns these, not all.
const GROUPS_SHOWN: i64 = 20;

/// The class names the SQL gives back, in the classifier's rule order.
fn class_named(name: &str) -> ErrorClass {
    match name {
        "remote_api" => ErrorClass::RemoteApi,
        "timeout" => ErrorClass::Timeout,
        "authentication" => ErrorClass::Authentication,
        "permission" => ErrorClass::Permission,
        "query" => ErrorClass::Query,
        "resource" => ErrorClass::Resource,
        "network" => ErrorClass::Network,
        _ => ErrorClass::Unknown,
    }
}

/// A `LIKE` pattern that matches `word` anywhere, taken literally.
fn contains_pattern(word: &str) -> String {
    let escaped = word
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

impl Store {
    /// The error rates of the day before `now`, aggregated by the database:
    /// both windows, the 30-minute series, failures by error class (the
    /// configured rules, evaluated in SQL) and the groups that fail most.
    pub async fn finished_breakdown(
        &self,
        now: DateTime<Utc>,
        classifier: &ErrorClassifier,
    ) -> Result<ErrorRates, StoreError> {
        let terminal = self.status_map().spellings_of(&Status::TERMINAL);
        if terminal.is_empty() {
            return Ok(ErrorRates::default());
        }
        let buckets = select_rows!(self, |qb, backend| self
            .push_buckets(&mut qb, backend, now, classifier));
        let groups = select_rows!(self, |qb, backend| self.push_groups(&mut qb, backend, now));
        let number = |v: &Option<String>| v.as_deref().and_then(|n| n.trim().parse::<u64>().ok());
        let mut breakdown = Breakdown::default();
        for r in &buckets {
            let (Some(status), Some(bucket), Some(count)) =
                (r[0].as_deref(), number(&r[1]), number(&r[4]))
            else {
                continue;
            };
            breakdown.counts.push(ClassCount {
                status: self.status_map().status_of(status),
                bucket: (bucket as usize).min(BUCKETS - 1),
                in_hour: r[2].as_deref() == Some("1"),
                class: r[3].as_deref().map(class_named),
                count,
            });
        }
        for r in &groups {
            breakdown.groups.push(GroupCount {
                group: r[0].clone().unwrap_or_else(|| "(none)".into()),
                succeeded: number(&r[1]).unwrap_or(0),
                failed: number(&r[2]).unwrap_or(0),
                finished: number(&r[3]).unwrap_or(0),
            });
        }
        Ok(breakdown.rates())
    }

    /// What `check` counts of the day, in one scan: the finished rows by
    /// status and side of the hour (`finished_counts`), and the rows created
    /// in the day whose status no mapping covers (`unmapped_statuses`). Two
    /// statements scanned a busy day twice, on a 2-core machine at once.
    pub async fn day_counts(
        &self,
        now: DateTime<Utc>,
    ) -> Result<(Vec<WindowCount>, Vec<(String, u64)>), StoreError> {
        let rows = select_rows!(self, |qb, backend| self
            .push_day_counts(&mut qb, backend, now));
        let number = |v: &Option<String>| v.as_deref().and_then(|n| n.trim().parse::<u64>().ok());
        let mut windows = Vec::new();
        let mut unmapped: Vec<(String, u64)> = Vec::new();
        for r in &rows {
            let Some(count) = number(&r[2]) else {
                continue;
            };
            let status = r[0].as_deref().map(|s| self.status_map().status_of(s));
            match status {
                Some(status) if status.is_terminal() => windows.push(WindowCount {
                    status,
                    in_hour: r[1].as_deref() == Some("1"),
                    count,
                }),
                Some(status) if status != Status::Unknown => {}
                _ => {
                    let spelling = r[0].clone().unwrap_or_else(|| "(null)".to_string());
                    match unmapped.iter_mut().find(|(s, _)| *s == spelling) {
                        Some((_, n)) => *n += count,
                        None => unmapped.push((spelling, count)),
                    }
                }
            }
        }
        unmapped.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        unmapped.truncate(20);
        Ok((windows, unmapped))
    }

    fn push_day_counts<DB>(&self, qb: &mut QueryBuilder<DB>, backend: Backend, now: DateTime<Utc>)
    where
        DB: sqlx::Database,
        for<'t> String: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
        for<'t> DateTime<Utc>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    {
        let t = self.table();
        let status = quote(&t.status);
        let finished = self.completion_column().to_string();
        let every = self.status_map().spellings_of(&Status::ALL);
        let unmapped = |qb: &mut QueryBuilder<DB>| {
            qb.push(format!("(({status} IS NULL"));
            if !every.is_empty() {
                qb.push(" OR NOT ");
                push_in(qb, &status, &every);
            }
            qb.push(") AND ");
            moment_after(qb, backend, &t.created_at, now - Cd::hours(24), false);
            qb.push(")");
        };
        let finished_today = |qb: &mut QueryBuilder<DB>| {
            qb.push("(");
            self.push_day(qb, backend, now);
            qb.push(")");
        };
        // A row passes as finished today or as unmapped, and its status
        // alone says which (a terminal spelling is mapped): one count per
        // status is enough, told apart by the mapping afterwards.
        // Grouped by the bare column and comparison, made text outside:
        // grouped by a text CASE, PostgreSQL expected a group per row and
        // gave up its parallel aggregate (534 ms against 272 on 2 M rows).
        qb.push(format!(
            "CAST(s AS TEXT), CASE WHEN h THEN '1' ELSE '0' END, CAST(n AS TEXT) FROM (SELECT {status} AS s, "
        ));
        moment_after(qb, backend, &finished, now - Cd::hours(1), true);
        qb.push(format!(
            " AS h, COUNT(*) AS n FROM {} WHERE ",
            quoted_table(&t.name)
        ));
        finished_today(qb);
        qb.push(" OR ");
        unmapped(qb);
        qb.push(" GROUP BY 1, 2) AS day");
    }

    /// `status, bucket, in_hour, class, count` of the day's finished rows.
    fn push_buckets<DB>(
        &self,
        qb: &mut QueryBuilder<DB>,
        backend: Backend,
        now: DateTime<Utc>,
        classifier: &ErrorClassifier,
    ) where
        DB: sqlx::Database,
        for<'t> String: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
        for<'t> DateTime<Utc>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    {
        let t = self.table();
        let status = quote(&t.status);
        let finished = self.completion_column().to_string();
        let day_start = now - Cd::hours(24);
        qb.push(format!("CAST({status} AS TEXT), CAST(CAST("));
        match backend {
            Backend::Postgres => {
                qb.push(format!("floor(extract(epoch FROM ({} - ", quote(&finished)));
                qb.push_bind(day_start).push(")) / 1800)");
            }
            Backend::Sqlite => {
                // In whole milliseconds first: a day fraction times 48 lands a
                // row right on a boundary a hair below it.
                qb.push(format!("(((julianday({}) - julianday(", quote(&finished)));
                qb.push_bind(super::timestamp::sqlite_text(day_start))
                    .push(")) * 86400000.0 + 0.5) / 1800000.0)");
            }
        }
        qb.push(" AS INTEGER) AS TEXT) AS bucket, CASE WHEN ");
        moment_after(qb, backend, &finished, now - Cd::hours(1), true);
        qb.push(" THEN '1' ELSE '0' END AS in_hour, ");
        // The error class, for failures only: the configured rules in
        // order, each pattern a case-insensitive `LIKE`.
        match t.error.as_deref() {
            Some(error) => {
                let failures = self
                    .status_map()
                    .spellings_of(&[Status::Failed, Status::TimedOut]);
                let text = format!("lower(CAST({} AS TEXT))", quote(error));
                qb.push("CASE WHEN ");
                push_in(qb, &status, &failures);
                qb.push(" THEN CASE");
                for (class, words) in classifier.rules() {
                    if words.is_empty() {
                        continue;
                    }
                    qb.push(" WHEN ");
                    for (i, word) in words.iter().enumerate() {
                        if i > 0 {
                            qb.push(" OR ");
                        }
                        qb.push(format!("{text} LIKE "));
                        qb.push_bind(contains_pattern(&word.to_lowercase()));
                        qb.push(" ESCAPE '\\'");
                    }
                    qb.push(format!(" THEN '{}'", class.as_str()));
                }
                qb.push(" ELSE 'unknown' END END");
            }
            None => {
                let failures = self
                    .status_map()
                    .spellings_of(&[Status::Failed, Status::TimedOut]);
                qb.push("CASE WHEN ");
                push_in(qb, &status, &failures);
                qb.push(" THEN 'unknown' END");
            }
        }
        qb.push(format!(
            " AS class, CAST(COUNT(*) AS TEXT) FROM {} WHERE ",
            quoted_table(&t.name)
        ));
        self.push_day(qb, backend, now);
        qb.push(" GROUP BY 1, 2, 3, 4");
    }

    /// `group, succeeded, failed, finished` of the groups that failed most.
    fn push_groups<DB>(&self, qb: &mut QueryBuilder<DB>, backend: Backend, now: DateTime<Utc>)
    where
        DB: sqlx::Database,
        for<'t> String: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
        for<'t> DateTime<Utc>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    {
        let t = self.table();
        let status = quote(&t.status);
        let group = match (t.group.as_deref(), t.name_column.as_deref()) {
            (Some(g), Some(n)) => format!("CAST(COALESCE({}, {}) AS TEXT)", quote(g), quote(n)),
            (Some(c), None) | (None, Some(c)) => format!("CAST({} AS TEXT)", quote(c)),
            (None, None) => "CAST(NULL AS TEXT)".to_string(),
        };
        let count_of = |qb: &mut QueryBuilder<DB>, statuses: &[Status], name: &str| {
            let spellings = self.status_map().spellings_of(statuses);
            qb.push("SUM(CASE WHEN ");
            push_in(qb, &status, &spellings);
            qb.push(format!(" THEN 1 ELSE 0 END) AS {name}, "));
        };
        // Counted as numbers and ordered as numbers (as text, 9 sorts
        // above 100); made text only on the way out.
        qb.push(
            "g, CAST(succeeded AS TEXT), CAST(failed AS TEXT), CAST(finished AS TEXT) FROM (SELECT ",
        );
        qb.push(format!("{group} AS g, "));
        count_of(qb, &[Status::Succeeded], "succeeded");
        count_of(qb, &[Status::Failed, Status::TimedOut], "failed");
        qb.push(format!(
            "COUNT(*) AS finished FROM {} WHERE ",
            quoted_table(&t.name)
        ));
        self.push_day(qb, backend, now);
        qb.push(format!(
            " GROUP BY 1) AS day_groups ORDER BY failed DESC, g LIMIT {GROUPS_SHOWN}"
        ));
    }

    /// Terminal rows that finished in the day before `now`.
    fn push_day<DB>(&self, qb: &mut QueryBuilder<DB>, backend: Backend, now: DateTime<Utc>)
    where
        DB: sqlx::Database,
        for<'t> String: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
        for<'t> DateTime<Utc>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    {
        let finished = self.completion_column().to_string();
        let terminal = self.status_map().spellings_of(&Status::TERMINAL);
        push_in(qb, &quote(&self.table().status), &terminal);
        qb.push(" AND ");
        moment_after(qb, backend, &finished, now - Cd::hours(24), true);
        // `moment_after` may be two terms on SQLite: negate them together.
        qb.push(" AND NOT (");
        moment_after(qb, backend, &finished, now, true);
        qb.push(")");
    }
}

fn push_in<DB>(qb: &mut QueryBuilder<DB>, column: &str, values: &[String])
where
    DB: sqlx::Database,
    for<'t> String: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> DateTime<Utc>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    if values.is_empty() {
        qb.push("FALSE");
        return;
    }
    qb.push(format!("{column} IN ("));
    let mut list = qb.separated(", ");
    for v in values {
        list.push_bind(v.clone());
    }
    qb.push(")");
}

fn rows<R>(fetched: Result<Vec<R>, sqlx::Error>) -> Result<Vec<Vec<Option<String>>>, StoreError>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fetched
        .map(|r| super::exec::rows_as_text(&r))
        .map_err(|e| StoreError::Query(format!("database query failed: {e}")))
}
