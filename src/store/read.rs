//! The executions table as configured: validated at start, read through
//! queries that select only what a poll needs.
//!
//! Every mapped column is selected as `CAST("col" AS TEXT)`, so one decoder
//! serves both backends and every column type (bigint or uuid ids, jsonb
//! errors, timestamp or timestamptz). Values are always bound, identifiers
//! validated at load and double-quoted here.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::cas::WriteAccess;
pub use super::error::StoreError;
use super::filter::{CountQuery, Filter, Keys, stream_rows, text_rows};
use super::keys::KeyType;
use super::pool::{Backend, DbPool, redact_url};
use crate::config::TableConfig;
use crate::domain::{Capabilities, Execution, Status, StatusMap, WindowCount};

fn query_error(e: sqlx::Error) -> StoreError {
    StoreError::Query(format!("database query failed: {e}"))
}

/// Ids bound in one `IN (…)` at most.
const IDS_PER_QUERY: usize = 1_000;

/// The order of the selected columns; unmapped ones are selected as NULL.
const FIELDS: [&str; 12] = [
    "id",
    "status",
    "remote_id",
    "name_column",
    "group",
    "created_at",
    "started_at",
    "updated_at",
    "completed_at",
    "heartbeat_at",
    "error",
    "error_count",
];

#[derive(Debug, Clone)]
pub struct Store {
    pool: DbPool,
    table: TableConfig,
    statuses: StatusMap,
    shown_url: String,
    interned: Interner,
    /// Found once by `write_access` and kept.
    write_access: Arc<std::sync::OnceLock<WriteAccess>>,
    /// The declared type of each column, learned once (`keys`).
    types: Arc<std::sync::OnceLock<std::collections::HashMap<String, KeyType>>>,
    /// Rows already warned about as unreadable: one warning per row, not
    /// one per poll. Bounded like the interner.
    warned: Arc<Mutex<HashSet<String>>>,
}

/// One shared allocation per distinct status spelling, name and group: they
/// repeat across rows, and a monitor may hold 100 000 of them. Bounded, so a
/// column of unique names cannot grow it without end.
#[derive(Debug, Clone, Default)]
struct Interner(Arc<Mutex<HashSet<Arc<str>>>>);

impl Interner {
    const MAX: usize = 50_000;

    fn share(&self, text: &str) -> Arc<str> {
        let mut known = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(hit) = known.get(text) {
            return hit.clone();
        }
        let fresh: Arc<str> = Arc::from(text);
        if known.len() < Self::MAX {
            known.insert(fresh.clone());
        }
        fresh
    }
}

/// `jobs.tb_job_run` → `"jobs"."tb_job_run"`. Safe: parts were validated at load.
pub fn quoted_table(name: &str) -> String {
    name.split('.').map(quote).collect::<Vec<_>>().join(".")
}

pub fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

impl Store {
    pub async fn connect(url: &str, table: &TableConfig) -> Result<Store, StoreError> {
        Store::connect_sized(url, table, None).await
    }

    /// See [`DbPool::connect_sized`].
    pub async fn connect_sized(
        url: &str,
        table: &TableConfig,
        max_connections: Option<u32>,
    ) -> Result<Store, StoreError> {
        let pool = DbPool::connect_sized(url, false, max_connections).await?;
        Ok(Store::with_pool(pool, url, table))
    }

    pub fn with_pool(pool: DbPool, url: &str, table: &TableConfig) -> Store {
        Store {
            pool,
            statuses: table.status_values.to_map(),
            table: table.clone(),
            shown_url: redact_url(url),
            interned: Interner::default(),
            write_access: Arc::default(),
            types: Arc::default(),
            warned: Arc::default(),
        }
    }

    pub(super) fn known_write_access(&self) -> Option<WriteAccess> {
        self.write_access.get().cloned()
    }

    pub(super) fn keep_write_access(&self, access: WriteAccess) {
        let _ = self.write_access.set(access);
    }

    pub(super) fn known_types(&self) -> Option<&std::collections::HashMap<String, KeyType>> {
        self.types.get()
    }

    pub(super) fn keep_types(&self, types: std::collections::HashMap<String, KeyType>) {
        let _ = self.types.set(types);
    }

    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    pub fn table(&self) -> &TableConfig {
        &self.table
    }

    pub fn status_map(&self) -> &StatusMap {
        &self.statuses
    }

    pub fn backend(&self) -> Backend {
        self.pool.backend()
    }

    /// `postgres://app@db/app exectop_executions` — never with a password.
    pub fn describe(&self) -> String {
        format!("{} {}", self.shown_url, self.table.name)
    }

    pub fn capabilities(&self, remote: bool) -> Capabilities {
        Capabilities {
            remote,
            remote_id_column: self.table.remote_id.is_some(),
            heartbeat_column: self.table.heartbeat_at.is_some(),
        }
    }

    /// Checks that the table and every mapped column exist, naming the first that does not.
    pub async fn validate_schema(&self) -> Result<(), StoreError> {
        let columns: Vec<String> = match &self.pool {
            DbPool::Postgres(p) => {
                let quoted = quoted_table(&self.table.name);
                sqlx::query(
                    "SELECT attname::text FROM pg_attribute \
                     WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped",
                )
                .bind(quoted)
                .fetch_all(p)
                .await
                .map_err(query_error)?
                .iter()
                .map(|r| r.get::<String, _>(0))
                .collect()
            }
            DbPool::Sqlite(p) => sqlx::query("SELECT name FROM pragma_table_info(?1)")
                .bind(self.table.name.clone())
                .fetch_all(p)
                .await
                .map_err(query_error)?
                .iter()
                .map(|r| r.get::<String, _>(0))
                .collect(),
        };
        if columns.is_empty() {
            return Err(StoreError::MissingTable {
                table: self.table.name.clone(),
                database: self.shown_url.clone(),
            });
        }
        for (key, column) in self.table.columns() {
            if !columns.iter().any(|c| c == column) {
                return Err(StoreError::MissingColumn {
                    table: self.table.name.clone(),
                    column: column.to_string(),
                    key: key.to_string(),
                });
            }
        }
        Ok(())
    }

    pub async fn ping(&self) -> Result<Duration, StoreError> {
        let start = Instant::now();
        match &self.pool {
            DbPool::Postgres(p) => sqlx::query("SELECT 1").execute(p).await.map(|_| ()),
            DbPool::Sqlite(p) => sqlx::query("SELECT 1").execute(p).await.map(|_| ()),
        }
        .map_err(query_error)?;
        Ok(start.elapsed())
    }

    fn column_for(&self, field: &str) -> Option<&str> {
        let t = &self.table;
        match field {
            "id" => Some(&t.id),
            "status" => Some(&t.status),
            "remote_id" => t.remote_id.as_deref(),
            "name_column" => t.name_column.as_deref(),
            "group" => t.group.as_deref(),
            "created_at" => Some(&t.created_at),
            "started_at" => t.started_at.as_deref(),
            "updated_at" => t.updated_at.as_deref(),
            "completed_at" => t.completed_at.as_deref(),
            "heartbeat_at" => t.heartbeat_at.as_deref(),
            "error" => t.error.as_deref(),
            "error_count" => t.error_count.as_deref(),
            _ => None,
        }
    }

    pub(super) fn select_sql(&self) -> String {
        let cols: Vec<String> = FIELDS
            .iter()
            .map(|f| match self.column_for(f) {
                Some(c) => format!("CAST({} AS TEXT)", quote(c)),
                None => "CAST(NULL AS TEXT)".to_string(),
            })
            .collect();
        format!(
            "SELECT {} FROM {} WHERE ",
            cols.join(", "),
            quoted_table(&self.table.name)
        )
    }

    /// The column that says when an execution finished (see README: error rates).
    pub fn completion_column(&self) -> &str {
        self.table
            .completed_at
            .as_deref()
            .or(self.table.updated_at.as_deref())
            .unwrap_or(&self.table.created_at)
    }

    /// Every pending or running execution (any spelling mapped to them).
    pub async fn active(&self) -> Result<Vec<Execution>, StoreError> {
        self.fetch(self.poll_read(PollRead::Active, Utc::now()))
            .await
    }

    /// The active set streamed a row at a time, each borrowed from the
    /// database's answer: the live poll keeps the rows it already holds and
    /// allocates only for those that changed, instead of decoding a second
    /// copy of the whole active set every interval.
    pub async fn active_each(
        &self,
        mut each: impl FnMut(&RowView<'_>) + Send,
    ) -> Result<(), StoreError> {
        let filter = self.poll_read(PollRead::Active, Utc::now());
        if filter.is_empty() {
            return Ok(());
        }
        let mut on_row = |cols: Columns<'_>| each(&RowView { store: self, cols });
        let head = self.select_sql();
        match &self.pool {
            DbPool::Postgres(p) => {
                stream_rows(p, head, &filter, Backend::Postgres, &mut on_row).await
            }
            DbPool::Sqlite(p) => stream_rows(p, head, &filter, Backend::Sqlite, &mut on_row).await,
        }
        .map_err(query_error)
    }

    /// Rows written since `since` (by `updated_at`); empty when it is not mapped.
    pub async fn changed_since(&self, since: DateTime<Utc>) -> Result<Vec<Execution>, StoreError> {
        if self.table.updated_at.is_none() {
            return Ok(Vec::new());
        }
        self.fetch(self.poll_read(PollRead::Changed, since)).await
    }

    /// Active rows whose heartbeat is at or after `since`: a worker may beat
    /// without touching `updated_at`. Empty when no heartbeat is mapped.
    pub async fn beats_since(&self, since: DateTime<Utc>) -> Result<Vec<Execution>, StoreError> {
        if self.table.heartbeat_at.is_none() {
            return Ok(Vec::new());
        }
        self.fetch(self.poll_read(PollRead::Beats, since)).await
    }

    /// How many rows are active, counted by the database: a poll that read
    /// only the changed rows checks its picture against it.
    pub async fn count_active(&self) -> Result<usize, StoreError> {
        let filter = self.poll_read(PollRead::ActiveCount, Utc::now());
        if filter.is_empty() {
            return Ok(0);
        }
        let rows = self.text_rows(self.count_head(), &filter, "").await?;
        Ok(rows
            .first()
            .and_then(|r| r.first()?.as_deref()?.trim().parse().ok())
            .unwrap_or(0))
    }

    fn count_head(&self) -> String {
        format!(
            "SELECT CAST(COUNT(*) AS TEXT) FROM {} WHERE ",
            quoted_table(&self.table.name)
        )
    }

    /// Terminal rows that finished at or after `since`.
    pub async fn finished_since(&self, since: DateTime<Utc>) -> Result<Vec<Execution>, StoreError> {
        self.fetch(self.poll_read(PollRead::Finished, since)).await
    }

    /// Status spellings that no mapping covers (or NULL, shown as `(null)`),
    /// with how many rows created since `since` carry them, most first. Those
    /// rows read as `unknown`: neither active nor finished, so the poll never
    /// watches them, and the operator must be told. Bounded by `created_at`,
    /// so its cost follows recent rows, not history.
    pub async fn unmapped_statuses(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        let (head, tail) = self.unmapped_head_tail();
        let filter = self.poll_read(PollRead::Unmapped, since);
        let rows = self.text_rows(head, &filter, &tail).await?;
        let mut counted: Vec<(String, u64)> = rows
            .into_iter()
            .map(|mut r| {
                let spelling = r[0].take().unwrap_or_else(|| "(null)".to_string());
                let count = r[1].take().and_then(|n| n.parse().ok()).unwrap_or(0);
                (spelling, count)
            })
            .collect();
        // The backends order NULL differently; one order for both.
        counted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(counted)
    }

    fn unmapped_head_tail(&self) -> (String, String) {
        let status = quote(&self.table.status);
        (
            format!(
                "SELECT CAST({status} AS TEXT), CAST(COUNT(*) AS TEXT) FROM {} WHERE ",
                quoted_table(&self.table.name)
            ),
            format!(" GROUP BY {status} ORDER BY COUNT(*) DESC, {status} LIMIT 20"),
        )
    }

    /// The WHERE of each read a poll makes; the reads and `explain_poll` share it.
    fn poll_read(&self, read: PollRead, since: DateTime<Utc>) -> Filter {
        let t = &self.table;
        match read {
            PollRead::Active | PollRead::ActiveCount => Filter::StatusIn(
                t.status.clone(),
                self.statuses.spellings_of(&Status::ACTIVE),
            ),
            PollRead::Beats => Filter::StatusInAfter(
                t.status.clone(),
                self.statuses.spellings_of(&Status::ACTIVE),
                t.heartbeat_at.clone().unwrap_or_default(),
                since,
            ),
            PollRead::Changed => Filter::After(t.updated_at.clone().unwrap_or_default(), since),
            PollRead::Finished => Filter::StatusInAfter(
                t.status.clone(),
                self.statuses.spellings_of(&Status::TERMINAL),
                self.completion_column().to_string(),
                since,
            ),
            PollRead::Unmapped => Filter::UnmappedAfter(
                t.status.clone(),
                self.statuses.spellings_of(&Status::ALL),
                t.created_at.clone(),
                since,
            ),
        }
    }

    /// The finished executions of the day before `now`, counted by the
    /// database by status and side of the hour boundary: a one-shot `check`
    /// gets the day's two windows without reading the day's rows.
    pub async fn finished_counts(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<WindowCount>, StoreError> {
        let t = &self.table;
        let query = Filter::FinishedCounts(Box::new(CountQuery {
            table: quoted_table(&t.name),
            status: t.status.clone(),
            terminal: self.statuses.spellings_of(&Status::TERMINAL),
            finished: self.completion_column().to_string(),
            now,
        }));
        if query.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self.text_rows("SELECT ".to_string(), &query, "").await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                Some(WindowCount {
                    status: self.statuses.status_of(r[0].as_deref()?),
                    in_hour: r[1].as_deref()? == "1",
                    count: r[2].as_deref()?.trim().parse().ok()?,
                })
            })
            .collect())
    }

    async fn fetch(&self, filter: Filter) -> Result<Vec<Execution>, StoreError> {
        if filter.is_empty() {
            return Ok(Vec::new());
        }
        // SQLite takes at most 32 766 bound values, PostgreSQL 65 535: long
        // id lists go in slices.
        if let Filter::KeyIn(col, key) = &filter
            && key.values.len() > IDS_PER_QUERY
        {
            let mut all = Vec::with_capacity(key.values.len());
            for slice in key.values.chunks(IDS_PER_QUERY) {
                let chunk = Keys {
                    kind: key.kind.clone(),
                    values: slice.to_vec(),
                };
                let rows = self
                    .text_rows(self.select_sql(), &Filter::KeyIn(col.clone(), chunk), "")
                    .await?;
                all.extend(rows.into_iter().filter_map(|r| self.decode(r)));
            }
            return Ok(all);
        }
        let rows = self.text_rows(self.select_sql(), &filter, "").await?;
        Ok(rows.into_iter().filter_map(|r| self.decode(r)).collect())
    }

    /// Runs `head` + the filter; every column comes back as text (or NULL).
    pub(super) async fn text_rows(
        &self,
        head: String,
        filter: &Filter,
        tail: &str,
    ) -> Result<Vec<Vec<Option<String>>>, StoreError> {
        match &self.pool {
            DbPool::Postgres(p) => text_rows(p, head, filter, tail, Backend::Postgres).await,
            DbPool::Sqlite(p) => text_rows(p, head, filter, tail, Backend::Sqlite).await,
        }
        .map_err(query_error)
    }

    /// The database's own plan for each read a poll makes (active set, rows
    /// changed since `since`, the finished window, the unmapped-status count),
    /// so an operator can see which index serves it on a large table before
    /// trusting the poll cost.
    pub async fn explain_poll(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(&'static str, String)>, StoreError> {
        let (prefix, detail_column) = match self.backend() {
            Backend::Postgres => ("EXPLAIN ", 0),
            Backend::Sqlite => ("EXPLAIN QUERY PLAN ", 3),
        };
        let mut plans = Vec::new();
        for read in PollRead::ALL {
            let follows_changes = self.table.updated_at.is_some();
            let skip = match read {
                PollRead::Changed | PollRead::ActiveCount => !follows_changes,
                PollRead::Beats => !follows_changes || self.table.heartbeat_at.is_none(),
                _ => false,
            };
            if skip {
                continue;
            }
            let filter = self.poll_read(read, since);
            if filter.is_empty() {
                continue;
            }
            let (head, tail) = match read {
                PollRead::Unmapped => self.unmapped_head_tail(),
                PollRead::ActiveCount => (self.count_head(), String::new()),
                _ => (self.select_sql(), String::new()),
            };
            let lines = self
                .text_rows(format!("{prefix}{head}"), &filter, &tail)
                .await?;
            let plan = lines
                .into_iter()
                .filter_map(|mut r| r.get_mut(detail_column).and_then(Option::take))
                .collect::<Vec<_>>()
                .join("\n");
            plans.push((read.name(), plan));
        }
        Ok(plans)
    }
}

/// The reads a poll makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PollRead {
    Active,
    Changed,
    /// Only where `updated_at` is mapped: see `Poller::database_cycle`.
    Beats,
    ActiveCount,
    Finished,
    Unmapped,
}

impl PollRead {
    const ALL: [PollRead; 6] = [
        PollRead::Active,
        PollRead::Changed,
        PollRead::Beats,
        PollRead::ActiveCount,
        PollRead::Finished,
        PollRead::Unmapped,
    ];

    fn name(self) -> &'static str {
        match self {
            PollRead::Active => "active",
            PollRead::Changed => "changed",
            PollRead::Beats => "heartbeats",
            PollRead::ActiveCount => "active count",
            PollRead::Finished => "finished",
            PollRead::Unmapped => "unmapped",
        }
    }
}

#[path = "by_id.rs"]
mod by_id;
#[path = "decode.rs"]
mod decode;
pub(super) use decode::Columns;
pub use decode::RowView;

#[cfg(test)]
mod tests {
    use super::Interner;
    use std::sync::Arc;

    #[test]
    fn the_interner_shares_repeats_and_stays_bounded() {
        let interner = Interner::default();
        let a = interner.share("running");
        assert!(Arc::ptr_eq(&a, &interner.share("running")));
        assert_eq!(&*interner.share("failed"), "failed");
        for i in 0..Interner::MAX + 10 {
            interner.share(&format!("name-{i}"));
        }
        assert_eq!(interner.0.lock().unwrap().len(), Interner::MAX);
        let late = interner.share("late");
        assert_eq!(
            &*late, "late",
            "past the bound a value is still right, just not shared"
        );
        assert!(!Arc::ptr_eq(&late, &interner.share("late")));
    }
}
