//! Filtering and sorting of the Running pane's rows, done once per snapshot
//! or key, never per frame: the render only reads the resulting index list.

use std::cmp::Ordering;

use crate::domain::Execution;
use crate::monitor::Snapshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortColumn {
    Id,
    Name,
    Group,
    Status,
    Remote,
    Age,
    Updated,
    RemoteId,
}

impl SortColumn {
    pub const ALL: [SortColumn; 8] = [
        SortColumn::Id,
        SortColumn::Name,
        SortColumn::Group,
        SortColumn::Status,
        SortColumn::Remote,
        SortColumn::Age,
        SortColumn::Updated,
        SortColumn::RemoteId,
    ];

    pub fn next(self) -> SortColumn {
        let i = SortColumn::ALL.iter().position(|c| *c == self).unwrap_or(0);
        SortColumn::ALL[(i + 1) % SortColumn::ALL.len()]
    }

    pub fn title(self) -> &'static str {
        match self {
            SortColumn::Id => "id",
            SortColumn::Name => "name",
            SortColumn::Group => "group",
            SortColumn::Status => "status",
            SortColumn::Remote => "remote",
            SortColumn::Age => "age",
            SortColumn::Updated => "updated",
            SortColumn::RemoteId => "remote id",
        }
    }
}

/// Numeric ids compare as numbers ("9" < "10"); anything else as text.
pub fn compare_ids(a: &str, b: &str) -> Ordering {
    match (a.parse::<u128>(), b.parse::<u128>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

fn matches(snap: &Snapshot, e: &Execution, needle: &str) -> bool {
    let has = |s: &str| s.to_lowercase().contains(needle);
    has(&e.id)
        || e.name.as_deref().is_some_and(has)
        || e.group.as_deref().is_some_and(has)
        || has(&e.raw_status)
        || has(e.status.as_str())
        || e.remote_id.as_deref().is_some_and(has)
        || snap
            .remote
            .get(&e.id)
            .and_then(|h| h.remote_status())
            .is_some_and(|s| has(s.as_str()))
}

/// Indices into `snap.active` that match `filter`, in display order. Ages sort
/// oldest first; ties fall back to the id so the order is stable across polls.
pub fn filtered_sorted(
    snap: &Snapshot,
    filter: &str,
    column: SortColumn,
    reverse: bool,
) -> Vec<usize> {
    let needle = filter.trim().to_lowercase();
    let mut rows: Vec<usize> = (0..snap.active.len())
        .filter(|&i| needle.is_empty() || matches(snap, &snap.active[i], &needle))
        .collect();
    let remote = |e: &Execution| snap.remote.get(&e.id).and_then(|h| h.remote_status());
    rows.sort_by(|&a, &b| {
        let (x, y) = (&snap.active[a], &snap.active[b]);
        let primary = match column {
            SortColumn::Id => Ordering::Equal,
            SortColumn::Name => x.name.cmp(&y.name),
            SortColumn::Group => x.group.cmp(&y.group),
            SortColumn::Status => x.status.cmp(&y.status),
            SortColumn::Remote => remote(x).cmp(&remote(y)),
            SortColumn::Age => x.phase_start().cmp(&y.phase_start()),
            SortColumn::Updated => x.last_local_update().cmp(&y.last_local_update()),
            SortColumn::RemoteId => x.remote_id.cmp(&y.remote_id),
        };
        primary.then_with(|| compare_ids(&x.id, &y.id))
    });
    if reverse {
        rows.reverse();
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::sample::{now, sample_snapshot};

    fn ids(snap: &Snapshot, rows: &[usize]) -> Vec<String> {
        rows.iter().map(|&i| snap.active[i].id.clone()).collect()
    }

    #[test]
    fn numeric_ids_compare_as_numbers_and_others_as_text() {
        assert_eq!(compare_ids("9", "10"), Ordering::Less);
        assert_eq!(compare_ids("b", "a10"), Ordering::Greater);
        assert_eq!(compare_ids("10", "a"), Ordering::Less);
    }

    #[test]
    fn filter_matches_the_remote_status_case_insensitively() {
        let snap = sample_snapshot(now());
        let rows = filtered_sorted(&snap, "SUCCEEDED", SortColumn::Age, false);
        assert_eq!(ids(&snap, &rows), ["7"]);
        let rows = filtered_sorted(&snap, "  ", SortColumn::Age, false);
        assert_eq!(
            rows.len(),
            snap.active.len(),
            "a blank filter keeps every row"
        );
    }

    #[test]
    fn rows_without_a_value_sort_first_and_ties_fall_back_to_the_id() {
        let snap = sample_snapshot(now());
        let rows = filtered_sorted(&snap, "", SortColumn::RemoteId, false);
        assert_eq!(ids(&snap, &rows)[0], "103", "no remote id sorts first");
        let rows = filtered_sorted(&snap, "", SortColumn::Group, false);
        assert_eq!(ids(&snap, &rows), ["39", "101", "102", "103", "104", "7"]);
    }
}
