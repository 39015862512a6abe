//! What the UI makes of a source's health: the header's word for it, and
//! whether the remote side of the panes is stale. One reading, so the header
//! and the pane titles never disagree.

use crate::monitor::SourceHealth;

use super::state::{App, PollFailure};

pub use crate::monitor::SourceCondition as Condition;

pub fn condition(h: &SourceHealth, failure: Option<&PollFailure>) -> Condition {
    h.condition(failure.is_some())
}

/// Whether the header shows a source's poll age: not while it waits for its
/// first answer, nor while it is ok and fresh (a ticking age would rewrite
/// an idle header every second); once it says something, it does.
pub fn shows_poll_age(condition: Condition, fresh: bool) -> bool {
    condition != Condition::Waiting && !(fresh && condition == Condition::Ok)
}

/// The database is fresh while polls come on time and are not paused.
pub fn db_fresh(app: &App) -> bool {
    !app.paused && app.db_stale_seconds().is_none()
}

/// The tracker is asked only when look-ups are due, so the age of its last
/// answer says little while it is healthy: it is fresh unless paused.
pub fn remote_fresh(app: &App) -> bool {
    !app.paused
}

/// Whether the header shows any poll age now (it then ticks every second).
pub fn poll_age_shown(app: &App) -> bool {
    if !app.has_snapshot {
        return false;
    }
    let snap = &app.snapshot;
    shows_poll_age(
        condition(&snap.database, app.db_failure.as_ref()),
        db_fresh(app),
    ) || snap.remote_health.as_ref().is_some_and(|h| {
        shows_poll_age(condition(h, app.remote_failure.as_ref()), remote_fresh(app))
    })
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
        Condition::Down | Condition::Degraded | Condition::Suspect | Condition::AuthFailing => {
            Some(RemoteStale {
                seconds: h.last_success.map(|at| (app.now - at).num_seconds().max(0)),
            })
        }
        Condition::Ok | Condition::Waiting => None,
    }
}
