//! Reading a list answer's items: where each keeps its id, status, start
//! time and name (`remote.list_*_pointer`), which to keep (active ones; an
//! item without a status counts as listed active), and the items whose id
//! is not where the configuration says: counted, and said once.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::answer::{array_at, next_at, text_at};
use super::gate::Gate;
use super::{ListPage, RemoteError};
use crate::config::RemoteConfig;
use crate::domain::{RemoteExecution, Status, StatusMap};
use crate::store::parse_timestamp;

/// The spelling shown for a run listed without a status.
const LISTED_ACTIVE: &str = "listed active";

/// Where a listed item keeps what exectop reads of it.
pub(super) struct ListShape {
    pointer: String,
    id_pointer: String,
    status_pointer: String,
    started_pointer: String,
    name_pointer: String,
    pub(super) next_pointer: Option<String>,
    pub(super) cursor_param: Option<String>,
    without_id: AtomicU64,
    reported_without_id: AtomicBool,
}

impl ListShape {
    pub(super) fn new(remote: &RemoteConfig, status_pointer: &str) -> ListShape {
        let pointer =
            |p: &Option<String>, default: &str| p.clone().unwrap_or_else(|| default.into());
        ListShape {
            pointer: remote.list_pointer.clone().unwrap_or_default(),
            id_pointer: pointer(&remote.list_id_pointer, "/id"),
            status_pointer: pointer(&remote.list_status_pointer, status_pointer),
            started_pointer: pointer(&remote.list_started_pointer, "/started_at"),
            name_pointer: pointer(&remote.list_name_pointer, "/name"),
            next_pointer: remote.list_next_pointer.clone(),
            cursor_param: remote.list_cursor_param.clone(),
            without_id: AtomicU64::new(0),
            reported_without_id: AtomicBool::new(false),
        }
    }

    /// Listed items so far without an id where `list_id_pointer` says.
    pub(super) fn items_without_id(&self) -> u64 {
        self.without_id.load(Ordering::Relaxed)
    }

    /// One list answer: the next page's cursor and the listed runs, each
    /// item parsed on its own (a page is never held as one JSON tree).
    /// Items whose status is not active are left out; an item without a
    /// status is taken as listed active. An item without an id is counted,
    /// and said in the log the first time with the keys it has.
    pub(super) fn parse_page(
        &self,
        body: &[u8],
        asked_at: DateTime<Utc>,
        statuses: &StatusMap,
        gate: &Gate,
    ) -> Result<ListPage, RemoteError> {
        let next = match &self.next_pointer {
            Some(pointer) => next_at(body, pointer)?,
            None => None,
        };
        let items = array_at(body, &self.pointer)?;
        let mut runs = Vec::with_capacity(items.len());
        for raw in items {
            let Ok(item) = serde_json::from_str::<Value>(raw.get()) else {
                continue;
            };
            let Some(remote_id) = text_at(&item, &self.id_pointer) else {
                self.count_without_id(&item);
                continue;
            };
            let (status, raw_status) = match text_at(&item, &self.status_pointer) {
                Some(raw) => {
                    let status = statuses.status_of(&raw);
                    if !status.is_active() {
                        continue;
                    }
                    (status, gate.spelling(&raw))
                }
                None => (Status::Running, gate.spelling(LISTED_ACTIVE)),
            };
            runs.push(RemoteExecution {
                remote_id,
                status,
                raw_status,
                name: text_at(&item, &self.name_pointer),
                started_at: text_at(&item, &self.started_pointer)
                    .as_deref()
                    .and_then(parse_timestamp),
                first_seen_at: asked_at,
            });
        }
        Ok(ListPage { runs, next })
    }

    fn count_without_id(&self, item: &Value) {
        self.without_id.fetch_add(1, Ordering::Relaxed);
        if self.reported_without_id.swap(true, Ordering::Relaxed) {
            return;
        }
        let keys = match item {
            Value::Object(map) => map.keys().cloned().collect::<Vec<_>>().join(", "),
            other => format!("none: the item is {}", kind_of(other)),
        };
        tracing::warn!(
            "a listed item has no id at remote.list_id_pointer {:?} (its keys: {keys}); such items are counted and left out",
            self.id_pointer
        );
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
