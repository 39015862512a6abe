//! One row of the database's answer read as an `Execution`: the columns
//! as text, borrowed, decoded only where the poll needs it.

use super::{FIELDS, Interner, Store};
use crate::domain::Execution;
use crate::store::timestamp::parse_timestamp;

impl Store {
    /// One row to an Execution; a row without id or readable created_at is
    /// skipped with a warning naming it, so one bad row cannot hide the rest.
    pub(super) fn decode(&self, r: Vec<Option<String>>) -> Option<Execution> {
        let cols: Columns<'_> = std::array::from_fn(|i| r.get(i).and_then(|v| v.as_deref()));
        self.decode_columns(&cols)
    }

    pub(super) fn decode_columns(&self, cols: &Columns<'_>) -> Option<Execution> {
        let text = |i: usize| present(cols[i]).map(str::to_string);
        let shared = |i: usize| present(cols[i]).map(|v| self.interned.share(v));
        let id = text(0)?;
        let Some(created_at) = present(cols[5]).and_then(parse_timestamp) else {
            let mut warned = self.warned.lock().unwrap_or_else(|e| e.into_inner());
            if warned.len() < Interner::MAX && warned.insert(id.clone()) {
                tracing::warn!(
                    "execution {id}: column {} holds {:?}, not a timestamp; row skipped (said once per row)",
                    self.table.created_at,
                    cols[5]
                );
            }
            return None;
        };
        let raw_status = shared(1).unwrap_or_else(|| self.interned.share(""));
        let ts = |i: usize| present(cols[i]).and_then(parse_timestamp);
        Some(Execution {
            status: self.statuses.status_of(&raw_status),
            raw_status,
            remote_id: text(2),
            name: shared(3),
            group: shared(4),
            created_at,
            started_at: ts(6),
            updated_at: ts(7),
            completed_at: ts(8),
            heartbeat_at: ts(9),
            error: text(10),
            error_count: present(cols[11]).and_then(|v| v.trim().parse().ok()),
            id,
        })
    }
}

/// The selected columns of one row, borrowed from the database's answer.
pub(in crate::store) type Columns<'r> = [Option<&'r str>; FIELDS.len()];

/// Empty text reads as absent, as NULL does.
pub(super) fn present(v: Option<&str>) -> Option<&str> {
    v.filter(|v| !v.is_empty())
}

/// One row of a streamed read, borrowed: the poll compares it with what it
/// already holds and allocates only for a row that changed.
pub struct RowView<'r> {
    pub(super) store: &'r Store,
    pub(super) cols: Columns<'r>,
}

impl RowView<'_> {
    pub fn id(&self) -> Option<&str> {
        present(self.cols[0])
    }

    /// Whether the row reads exactly as `e` (what `to_execution` would give).
    pub fn same_as(&self, e: &Execution) -> bool {
        let c = &self.cols;
        let text = |i: usize| present(c[i]);
        let ts = |i: usize| text(i).and_then(parse_timestamp);
        text(0) == Some(e.id.as_str())
            && text(1).unwrap_or_default() == &*e.raw_status
            && text(2) == e.remote_id.as_deref()
            && text(3) == e.name.as_deref()
            && text(4) == e.group.as_deref()
            && ts(5) == Some(e.created_at)
            && ts(6) == e.started_at
            && ts(7) == e.updated_at
            && ts(8) == e.completed_at
            && ts(9) == e.heartbeat_at
            && text(10) == e.error.as_deref()
            && text(11).and_then(|v| v.trim().parse().ok()) == e.error_count
    }

    pub fn to_execution(&self) -> Option<Execution> {
        self.store.decode_columns(&self.cols)
    }
}
