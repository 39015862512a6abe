//! The active set, keyed by each row's own id.
//!
//! A `HashMap<String, Arc<Execution>>` held a copy of every id beside the
//! row that already has it: at 100 000 rows, 100 000 small strings and a
//! table four times wider, about 6 MB, and twice that while a whole read
//! builds the next set beside the current one (docs/PERFORMANCE.md §6).

use std::borrow::Borrow;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::domain::Execution;

/// A row that hashes and compares as its id, so the set finds it by `&str`.
#[derive(Debug, Clone)]
struct ById(Arc<Execution>);

impl Borrow<str> for ById {
    fn borrow(&self) -> &str {
        &self.0.id
    }
}

// By the id alone, as `Borrow<str>` requires: `str`'s hash and equality.
impl Hash for ById {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.id.as_str().hash(state);
    }
}

impl PartialEq for ById {
    fn eq(&self, other: &Self) -> bool {
        self.0.id == other.0.id
    }
}

impl Eq for ById {}

#[derive(Debug, Default)]
pub struct ActiveRows(HashSet<ById>);

impl ActiveRows {
    pub fn get(&self, id: &str) -> Option<&Arc<Execution>> {
        self.0.get(id).map(|row| &row.0)
    }

    pub fn contains_key(&self, id: &str) -> bool {
        self.0.contains(id)
    }

    /// Holds `e`, in place of a row with the same id.
    pub fn insert(&mut self, e: Arc<Execution>) {
        self.0.replace(ById(e));
    }

    pub fn remove(&mut self, id: &str) {
        self.0.remove(id);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn values(&self) -> impl Iterator<Item = &Arc<Execution>> {
        self.0.iter().map(|row| &row.0)
    }
}

impl FromIterator<Arc<Execution>> for ActiveRows {
    /// A later row with the same id wins, as with `insert`.
    fn from_iter<I: IntoIterator<Item = Arc<Execution>>>(rows: I) -> Self {
        let rows = rows.into_iter();
        let mut set = ActiveRows(HashSet::with_capacity(rows.size_hint().0));
        for e in rows {
            set.insert(e);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Status;
    use crate::tui::sample::execution;

    fn row(id: &str, status: Status) -> Arc<Execution> {
        Arc::new(execution(id, status, 60))
    }

    #[test]
    fn a_row_is_found_by_its_id_and_replaced_by_a_newer_one() {
        let mut rows: ActiveRows = [row("7", Status::Pending), row("8", Status::Running)]
            .into_iter()
            .collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows.get("7").map(|e| e.status), Some(Status::Pending));
        rows.insert(row("7", Status::Running));
        assert_eq!(rows.len(), 2, "replaced, not added");
        assert_eq!(rows.get("7").map(|e| e.status), Some(Status::Running));
        rows.remove("8");
        assert!(!rows.contains_key("8"));
        assert!(rows.get("9").is_none());
        let later_wins: ActiveRows = [row("1", Status::Pending), row("1", Status::Running)]
            .into_iter()
            .collect();
        assert_eq!(later_wins.len(), 1);
        assert_eq!(later_wins.get("1").map(|e| e.status), Some(Status::Running));
    }
}
