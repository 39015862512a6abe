//! What the UI makes of a source's health: the header's word for it, and
//! whether the remote side of the panes is stale. One reading, so the header
//! and the pane titles never disagree.

use crate::monitor::SourceHealth;

use super::app::{App, Failure};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// Never asked yet (the remote is asked only once look-ups are due):
    /// nothing is known, so nothing is wrong yet either.
    Waiting,
    Ok,
    /// Polling paused after repeated failures.
    Degraded,
    Down,
}

pub fn condition(h: &SourceHealth, failure: Option<&Failure>) -> Condition {
    if failure.is_some() {
        Condition::Down
    } else if h.degraded {
        Condition::Degraded
    } else if h.ok {
        Condition::Ok
    } else if h.last_success.is_none() && h.last_error.is_none() {
        Condition::Waiting
    } else {
        Condition::Down
    }
}

/// The remote side of the panes (the remote column, remote findings) while
/// the tracker is failing: seconds since its last good answer, `None` when
/// it never answered. The counterpart of `App::db_stale_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteStale {
    pub seconds: Option<i64>,
}

pub fn remote_stale(app: &App) -> Option<RemoteStale> {
    if !app.has_snapshot {
        return None;
    }
    let h = app.snapshot.remote_health.as_ref()?;
    match condition(h, app.remote_failure.as_ref()) {
        Condition::Down | Condition::Degraded => Some(RemoteStale {
            seconds: h.last_success.map(|at| (app.now - at).num_seconds().max(0)),
        }),
        Condition::Ok | Condition::Waiting => None,
    }
}
