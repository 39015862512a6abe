//! Rows that turned terminal while watched, each looked up a couple more
//! times, so a remote run left going is noticed without a list endpoint.
//! Bounded: where the remote budget cannot keep up with the rows finishing
//! (a rate cap far below the churn), the queue would grow for as long as
//! the monitor runs, and a wall left on for weeks must not.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::domain::{Execution, RemoteAnswer};

/// How many times a finished row is looked up again.
const RECHECKS: u32 = 2;
/// At most this many finished rows wait for their re-checks; the rows that
/// finished longest ago leave first, and the poller says how many.
pub(in crate::monitor) const WATCHED_TERMINAL_MAX: usize = 10_000;

#[derive(Debug, Clone)]
pub(super) struct Watched {
    pub execution: Execution,
    pub rechecks_left: u32,
}

#[derive(Debug, Default)]
pub(super) struct FinishedWatch {
    rows: HashMap<String, Watched>,
    /// Rows dropped unchecked (`WATCHED_TERMINAL_MAX`) since the caller
    /// last took the count.
    dropped: u64,
}

impl FinishedWatch {
    /// Watches `e` anew, its re-checks counted from the start.
    pub fn restart(&mut self, e: Execution) {
        self.rows.insert(
            e.id.clone(),
            Watched {
                execution: e,
                rechecks_left: RECHECKS,
            },
        );
    }

    /// Watches `e` unless it is watched already.
    pub fn watch(&mut self, e: &Execution) {
        self.rows.entry(e.id.clone()).or_insert_with(|| Watched {
            execution: e.clone(),
            rechecks_left: RECHECKS,
        });
    }

    pub fn contains(&self, id: &str) -> bool {
        self.rows.contains_key(id)
    }

    pub fn get(&self, id: &str) -> Option<&Execution> {
        self.rows.get(id).map(|w| &w.execution)
    }

    pub fn rows(&self) -> impl Iterator<Item = (&String, &Watched)> {
        self.rows.iter()
    }

    pub fn executions(&self) -> impl Iterator<Item = &Execution> {
        self.rows.values().map(|w| &w.execution)
    }

    /// An answer about `id` spends one of its re-checks; the last one ends
    /// the watch unless the remote still runs it.
    pub fn answered(&mut self, id: &str, answer: &RemoteAnswer) {
        if let Some(w) = self.rows.get_mut(id) {
            w.rechecks_left = w.rechecks_left.saturating_sub(1);
            let still_active =
                matches!(answer, RemoteAnswer::Found { status, .. } if status.is_active());
            if w.rechecks_left == 0 && !still_active {
                self.rows.remove(id);
            }
        }
    }

    /// Drops the rows that finished longest ago while more than
    /// `WATCHED_TERMINAL_MAX` wait.
    pub fn bound(&mut self) {
        let excess = self.rows.len().saturating_sub(WATCHED_TERMINAL_MAX);
        if excess == 0 {
            return;
        }
        let mut by_age: Vec<(DateTime<Utc>, &String)> = self
            .rows
            .iter()
            .map(|(id, w)| (w.execution.finished_at(), id))
            .collect();
        by_age.select_nth_unstable(excess - 1);
        let oldest: Vec<String> = by_age[..excess]
            .iter()
            .map(|(_, id)| (*id).clone())
            .collect();
        for id in oldest {
            self.rows.remove(&id);
        }
        self.dropped += excess as u64;
    }

    /// How many rows left the watch unchecked since the last call.
    pub fn take_dropped(&mut self) -> u64 {
        std::mem::take(&mut self.dropped)
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.rows.len()
    }
}
