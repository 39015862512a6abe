//! The WHERE clauses of the store's reads, built with `QueryBuilder`: every
//! identifier validated at load and double-quoted, every value bound. The two
//! backends differ only in how a moment is compared (see `Filter::push`).

use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Row};

use super::keys::KeyType;
use super::pool::Backend;
use super::read::{Columns, quote};
use super::timestamp::sqlite_text;

/// The statement behind `finished_counts`, after its `SELECT`.
pub(super) struct CountQuery {
    pub(super) table: String,
    pub(super) status: String,
    pub(super) terminal: Vec<String>,
    pub(super) finished: String,
    pub(super) now: DateTime<Utc>,
}

pub(super) enum Filter {
    StatusIn(String, Vec<String>),
    After(String, DateTime<Utc>),
    StatusInAfter(String, Vec<String>, String, DateTime<Utc>),
    /// Status NULL or none of the spellings, and the time column at or after.
    UnmappedAfter(String, Vec<String>, String, DateTime<Utc>),
    /// Not a filter but the whole statement after `SELECT`: see `finished_counts`.
    FinishedCounts(Box<CountQuery>),
    /// A key column equal to one of the values, each bound in the column's
    /// type so its index serves (`keys`).
    KeyIn(String, Keys),
}

/// Values of a key column and its declared type; without a known type the
/// column is compared as text (correct, but no index serves it).
#[derive(Debug, Clone)]
pub(super) struct Keys {
    pub(super) kind: Option<KeyType>,
    pub(super) values: Vec<String>,
}

impl Filter {
    pub(super) fn is_empty(&self) -> bool {
        match self {
            Filter::StatusIn(_, v) | Filter::StatusInAfter(_, v, _, _) => v.is_empty(),
            Filter::KeyIn(_, keys) => keys.values.is_empty(),
            Filter::After(..) | Filter::UnmappedAfter(..) => false,
            Filter::FinishedCounts(q) => q.terminal.is_empty(),
        }
    }

    /// The backends differ only in how a moment is compared. PostgreSQL gets
    /// it bound as a timestamptz, so the column's index is used. SQLite
    /// compares through `julianday()`, so `T`- and space-separated ISO text
    /// and zone offsets all work; `julianday(col)` cannot use an index, so a
    /// plain text bound on the day before goes first: every ISO-8601 text of
    /// a later moment sorts after it, whatever its separator or offset, and
    /// the index narrows the scan to the last two days of rows.
    pub(super) fn push<DB>(&self, qb: &mut QueryBuilder<DB>, backend: Backend)
    where
        DB: sqlx::Database,
        for<'t> String: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
        for<'t> DateTime<Utc>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    {
        fn values_in<DB>(qb: &mut QueryBuilder<DB>, expr: String, values: &[String])
        where
            DB: sqlx::Database,
            for<'t> String: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
            for<'t> DateTime<Utc>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
        {
            qb.push(expr).push(" IN (");
            let mut list = qb.separated(", ");
            for v in values {
                list.push_bind(v.clone());
            }
            qb.push(")");
        }
        let after = |qb: &mut QueryBuilder<DB>, col: &str, at: DateTime<Utc>, strict: bool| {
            moment_after(qb, backend, col, at, strict)
        };
        match self {
            Filter::StatusIn(col, values) => values_in(qb, quote(col), values),
            Filter::After(col, at) => after(qb, col, *at, true),
            Filter::StatusInAfter(status, values, col, at) => {
                values_in(qb, quote(status), values);
                qb.push(" AND ");
                after(qb, col, *at, false);
            }
            Filter::UnmappedAfter(status, values, col, at) => {
                qb.push(format!("({} IS NULL", quote(status)));
                if !values.is_empty() {
                    qb.push(" OR NOT ");
                    values_in(qb, quote(status), values);
                }
                qb.push(") AND ");
                after(qb, col, *at, false);
            }
            Filter::KeyIn(col, Keys { kind: None, values }) => {
                values_in(qb, format!("CAST({} AS TEXT)", quote(col)), values)
            }
            Filter::KeyIn(
                col,
                Keys {
                    kind: Some(kind),
                    values,
                },
            ) => {
                qb.push(quote(col)).push(" IN (");
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        qb.push(", ");
                    }
                    let (before, after) = kind.cast_around();
                    qb.push(before);
                    qb.push_bind(v.clone());
                    qb.push(after);
                }
                qb.push(")");
            }
            Filter::FinishedCounts(q) => {
                let status = quote(&q.status);
                let day_start = q.now - chrono::Duration::hours(24);
                let hour_start = q.now - chrono::Duration::hours(1);
                qb.push(format!("CAST({status} AS TEXT), CASE WHEN "));
                after(qb, &q.finished, hour_start, true);
                qb.push(" THEN '1' ELSE '0' END, ");
                qb.push(format!("CAST(COUNT(*) AS TEXT) FROM {} WHERE ", q.table));
                values_in(qb, status, &q.terminal);
                qb.push(" AND ");
                after(qb, &q.finished, day_start, true);
                // `after` may be two terms on SQLite: negate them together.
                qb.push(" AND NOT (");
                after(qb, &q.finished, q.now, true);
                qb.push(") GROUP BY 1, 2");
            }
        }
    }
}

/// `col > at` (or `>=`), indexable on both backends (see `Filter::push`).
pub(super) fn moment_after<DB>(
    qb: &mut QueryBuilder<DB>,
    backend: Backend,
    col: &str,
    at: DateTime<Utc>,
    strict: bool,
) where
    DB: sqlx::Database,
    for<'t> String: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> DateTime<Utc>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    let op = if strict { " > " } else { " >= " };
    match backend {
        Backend::Postgres => {
            // Bound as a timestamptz, not as text cast in the statement: a
            // cast of a text parameter is evaluated for every row a scan
            // filters (4x the time of a day's aggregate over 2 M rows).
            qb.push(quote(col)).push(op);
            qb.push_bind(at);
        }
        Backend::Sqlite => {
            let day_before = (at - chrono::Duration::days(1)).format("%Y-%m-%d");
            qb.push(quote(col)).push(" >= ");
            qb.push_bind(day_before.to_string()).push(" AND ");
            qb.push(format!("julianday({})", quote(col)))
                .push(op)
                .push("julianday(");
            qb.push_bind(sqlite_text(at)).push(")");
        }
    }
}

pub(super) async fn text_rows<DB>(
    pool: &sqlx::Pool<DB>,
    head: String,
    filter: &Filter,
    tail: &str,
    backend: Backend,
) -> Result<Vec<Vec<Option<String>>>, sqlx::Error>
where
    DB: sqlx::Database,
    for<'t> String: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> DateTime<Utc>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'r> Option<String>: sqlx::Decode<'r, DB> + sqlx::Type<DB>,
    for<'c> &'c sqlx::Pool<DB>: sqlx::Executor<'c, Database = DB>,
    <DB as sqlx::Database>::Arguments: sqlx::IntoArguments<DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let mut qb = QueryBuilder::<DB>::new(head);
    filter.push(&mut qb, backend);
    qb.push(tail);
    let rows = qb.build().fetch_all(pool).await?;
    Ok(super::exec::rows_as_text(&rows))
}

pub(super) async fn stream_rows<DB>(
    pool: &sqlx::Pool<DB>,
    head: String,
    filter: &Filter,
    backend: Backend,
    each: &mut (dyn for<'r> FnMut(Columns<'r>) + Send),
) -> Result<(), sqlx::Error>
where
    DB: sqlx::Database,
    for<'t> String: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> DateTime<Utc>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'r> Option<&'r str>: sqlx::Decode<'r, DB> + sqlx::Type<DB>,
    for<'c> &'c sqlx::Pool<DB>: sqlx::Executor<'c, Database = DB>,
    <DB as sqlx::Database>::Arguments: sqlx::IntoArguments<DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    use futures_util::TryStreamExt;
    let mut qb = QueryBuilder::<DB>::new(head);
    filter.push(&mut qb, backend);
    let mut rows = qb.build().fetch(pool);
    while let Some(row) = rows.try_next().await? {
        each(std::array::from_fn(|i| {
            row.try_get::<Option<&str>, _>(i).ok().flatten()
        }));
    }
    Ok(())
}
