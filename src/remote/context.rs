//! The request context, cached: the context query's rows by their `key`,
//! read again every `refresh`, and at most every `MISS_REREAD` when an
//! execution names a key the last read did not have (a workflow created
//! since). A read that fails keeps the rows of the last good one.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{BoxFuture, RemoteError};
use crate::store::{ContextValues, Store, StoreError};

/// An unknown key reads the query again at most this often.
const MISS_REREAD: Duration = Duration::from_secs(30);
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(300);

/// Where the context rows come from; the store in production.
pub trait ContextSource: Send + Sync {
    fn read(&self) -> BoxFuture<'_, Result<Vec<ContextValues>, StoreError>>;
}

/// The store and the operator's query.
pub struct StoreContext {
    pub store: Store,
    pub query: String,
}

impl ContextSource for StoreContext {
    fn read(&self) -> BoxFuture<'_, Result<Vec<ContextValues>, StoreError>> {
        Box::pin(async move { self.store.context_rows(&self.query).await })
    }
}

/// Which row value the query's `key` column matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowField {
    Id,
    RemoteId,
    Name,
    Group,
}

impl RowField {
    pub fn parse(name: &str) -> Result<RowField, RemoteError> {
        Ok(match name {
            "id" => RowField::Id,
            "remote_id" => RowField::RemoteId,
            "name" => RowField::Name,
            "group" => RowField::Group,
            other => {
                return Err(RemoteError::Config(format!(
                    "remote.context.key {other:?} is not a row value (group, name, id or remote_id)"
                )));
            }
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RowField::Id => "id",
            RowField::RemoteId => "remote_id",
            RowField::Name => "name",
            RowField::Group => "group",
        }
    }
}

pub type ContextRow = Arc<ContextValues>;
type ByKey = Arc<HashMap<String, ContextRow>>;

pub struct ContextCache {
    source: Box<dyn ContextSource>,
    pub field: RowField,
    refresh: Duration,
    /// Columns the templates use, each with the first key that uses it.
    needed: Vec<(String, String)>,
    /// Held across a read, so concurrent look-ups wait for one read.
    rows: tokio::sync::Mutex<Cached>,
    /// The last read's failure, while it stands; for the tracker's health.
    error: Mutex<Option<String>>,
}

#[derive(Default)]
struct Cached {
    by_key: Option<ByKey>,
    read_at: Option<Instant>,
    /// Keys already reported missing, so a row without context is one log
    /// line, not one per look-up.
    reported: BTreeSet<String>,
}

impl ContextCache {
    pub fn new(
        source: Box<dyn ContextSource>,
        field: RowField,
        refresh: Duration,
        needed: Vec<(String, String)>,
    ) -> ContextCache {
        ContextCache {
            source,
            field,
            refresh,
            needed,
            rows: tokio::sync::Mutex::new(Cached::default()),
            error: Mutex::new(None),
        }
    }

    /// The configured query over `store`, for templates that use `needed`
    /// (each column with the first key that uses it).
    pub fn of_store(
        config: &crate::config::ContextConfig,
        store: &Store,
        needed: Vec<(String, String)>,
    ) -> Result<ContextCache, RemoteError> {
        Ok(ContextCache::new(
            Box::new(StoreContext {
                store: store.clone(),
                query: config.query.clone(),
            }),
            RowField::parse(&config.key)?,
            config.refresh.map_or(DEFAULT_REFRESH, |d| d.0),
            needed,
        ))
    }

    pub fn error(&self) -> Option<String> {
        self.error.lock().unwrap().clone()
    }

    /// The rows, read again when they are older than `max_age`.
    async fn rows(&self, max_age: Duration) -> Result<ByKey, RemoteError> {
        let mut cached = self.rows.lock().await;
        if let (Some(rows), Some(at)) = (&cached.by_key, cached.read_at)
            && at.elapsed() < max_age
        {
            return Ok(rows.clone());
        }
        cached.read_at = Some(Instant::now());
        match self.read().await {
            Ok(rows) => {
                cached.by_key = Some(rows.clone());
                *self.error.lock().unwrap() = None;
                Ok(rows)
            }
            Err(why) => {
                let first = self
                    .error
                    .lock()
                    .unwrap()
                    .replace(why.to_string())
                    .is_none();
                match &cached.by_key {
                    Some(rows) => {
                        if first {
                            tracing::warn!("{why}; the rows read before stand");
                        }
                        Ok(rows.clone())
                    }
                    None => Err(why),
                }
            }
        }
    }

    async fn read(&self) -> Result<ByKey, RemoteError> {
        let rows = self
            .source
            .read()
            .await
            .map_err(|e| RemoteError::Context(format!("remote.context.query: {e}")))?;
        check_columns(&rows, &self.needed)?;
        let mut by_key: HashMap<String, ContextRow> = HashMap::with_capacity(rows.len());
        // Rows without a key (NULL) match no execution and are left out.
        for row in rows {
            let Some(key) = row.get("key").cloned() else {
                continue;
            };
            match by_key.get(&key) {
                // A join that repeats a row is harmless; two different
                // contexts for one key would send look-ups to the wrong place.
                Some(held) if **held != row => {
                    return Err(RemoteError::Context(format!(
                        "remote.context.query gives key {key:?} twice, with different values: each key must have one context"
                    )));
                }
                Some(_) => {}
                None => {
                    by_key.insert(key, Arc::new(row));
                }
            }
        }
        Ok(Arc::new(by_key))
    }

    /// Reads the rows now: a start that proves the query and the columns
    /// the templates use.
    pub async fn prepare(&self) -> Result<(), RemoteError> {
        self.rows(Duration::ZERO).await.map(|_| ())
    }

    /// The context row of `key`; `Ok(None)` when the query has none, after
    /// a fresh read if the last one is older than `MISS_REREAD`.
    pub async fn for_key(&self, key: &str) -> Result<Option<ContextRow>, RemoteError> {
        if let Some(row) = self.rows(self.refresh).await?.get(key) {
            return Ok(Some(row.clone()));
        }
        let row = self.rows(MISS_REREAD).await?.get(key).cloned();
        if row.is_none() && self.rows.lock().await.reported.insert(key.to_string()) {
            tracing::warn!(
                "the context query gives no row with key {key:?} (the row's {}): nothing that needs the context of its executions is done",
                self.field.as_str()
            );
        }
        Ok(row)
    }

    /// Every context row, for the lists asked per context row.
    pub async fn all(&self) -> Result<Vec<ContextRow>, RemoteError> {
        let rows = self.rows(self.refresh).await?;
        let mut all: Vec<ContextRow> = rows.values().cloned().collect();
        all.sort_by(|a, b| a.get("key").cmp(&b.get("key")));
        Ok(all)
    }
}

/// Every column a template uses must be one the query gives, and the query
/// must give `key`: a typo is named at start, not found out one failed
/// request at a time. A query that returns no rows proves nothing yet.
fn check_columns(rows: &[ContextValues], needed: &[(String, String)]) -> Result<(), RemoteError> {
    if rows.is_empty() {
        return Ok(());
    }
    let given: BTreeSet<&str> = rows
        .iter()
        .flat_map(|r| r.keys().map(String::as_str))
        .collect();
    let listed = given.iter().copied().collect::<Vec<_>>().join(", ");
    if !given.contains("key") {
        return Err(RemoteError::Context(format!(
            "remote.context.query gives no column named key (it gives {listed}): name the column that matches the row's value `AS key`"
        )));
    }
    for (column, used_by) in needed {
        if !given.contains(column.as_str()) {
            return Err(RemoteError::Context(format!(
                "{used_by} uses {{{column}}}, which remote.context.query does not give (it gives {listed})"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Rows(Vec<ContextValues>, Arc<AtomicUsize>);

    impl ContextSource for Rows {
        fn read(&self) -> BoxFuture<'_, Result<Vec<ContextValues>, StoreError>> {
            self.1.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move { Ok(self.0.clone()) })
        }
    }

    fn row(pairs: &[(&str, &str)]) -> ContextValues {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn cache(rows: Vec<ContextValues>, needed: &[&str]) -> (ContextCache, Arc<AtomicUsize>) {
        let reads = Arc::new(AtomicUsize::new(0));
        let needed = needed
            .iter()
            .map(|c| (c.to_string(), "remote.status_path".to_string()))
            .collect();
        (
            ContextCache::new(
                Box::new(Rows(rows, reads.clone())),
                RowField::Group,
                DEFAULT_REFRESH,
                needed,
            ),
            reads,
        )
    }

    #[tokio::test]
    async fn rows_are_cached_and_an_unknown_key_reads_again_at_most_every_30_seconds() {
        let (c, reads) = cache(
            vec![row(&[("key", "wf-1"), ("instance_id", "amc1")])],
            &["instance_id"],
        );
        let hit = c.for_key("wf-1").await.unwrap().unwrap();
        assert_eq!(hit.get("instance_id").map(String::as_str), Some("amc1"));
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        assert!(c.for_key("wf-2").await.unwrap().is_none());
        assert!(c.for_key("wf-2").await.unwrap().is_none());
        // The first read is younger than 30 s: no second read for the miss.
        assert_eq!(reads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_key_with_two_different_contexts_is_refused_and_repeats_are_not() {
        let same = row(&[("key", "wf-1"), ("instance_id", "amc1")]);
        let (repeats, _) = cache(vec![same.clone(), same.clone()], &["instance_id"]);
        assert!(repeats.prepare().await.is_ok());
        let other = row(&[("key", "wf-1"), ("instance_id", "amc2")]);
        let (twice, _) = cache(vec![same, other], &["instance_id"]);
        assert_eq!(
            twice.prepare().await.unwrap_err().to_string(),
            "remote.context.query gives key \"wf-1\" twice, with different values: each key must have one context"
        );
    }

    #[tokio::test]
    async fn a_column_the_templates_use_and_the_query_lacks_is_named() {
        let (c, _) = cache(
            vec![row(&[("key", "wf-1"), ("instance", "amc1")])],
            &["instance_id"],
        );
        let err = c.prepare().await.unwrap_err().to_string();
        assert_eq!(
            err,
            "remote.status_path uses {instance_id}, which remote.context.query does not give (it gives instance, key)"
        );
        let (no_key, _) = cache(vec![row(&[("workflow", "wf-1")])], &[]);
        assert!(
            no_key
                .prepare()
                .await
                .unwrap_err()
                .to_string()
                .contains("gives no column named key")
        );
    }
}
