//! The tracker's own history of one execution (Step Functions'
//! `GetExecutionHistory`), as the details view shows it: the last events,
//! newest first, and where it failed. Pure: reading the answer is the
//! tracker's, fetching it the edge's.

use std::sync::Arc;

use chrono::{DateTime, Utc};

/// How many events the details ask for and keep: the end of a run is what
/// explains it, and a long history would cost a page of requests.
pub const EVENTS_SHOWN: usize = 12;

/// One event of the tracker's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteEvent {
    /// The tracker's own number: newer events have larger ones.
    pub id: i64,
    pub at: Option<DateTime<Utc>>,
    /// `TaskFailed`, `TaskStateEntered`, `ExecutionFailed`, …
    pub kind: String,
    /// The state it belongs to, where the event names one.
    pub state: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

impl RemoteEvent {
    /// An event that ends the whole execution: nothing follows it.
    pub fn ends_execution(&self) -> bool {
        matches!(
            self.kind.as_str(),
            "ExecutionSucceeded" | "ExecutionFailed" | "ExecutionAborted" | "ExecutionTimedOut"
        )
    }

    fn is_failure(&self) -> bool {
        self.error.is_some()
            || self.kind.ends_with("Failed")
            || self.kind.ends_with("TimedOut")
            || self.kind.ends_with("Aborted")
    }
}

/// The last events of one execution, newest first, at most `EVENTS_SHOWN`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecentEvents {
    pub events: Vec<RemoteEvent>,
}

impl RecentEvents {
    /// Keeps the newest `EVENTS_SHOWN` whatever order the answer gave them
    /// in (some servers ignore `reverseOrder`).
    pub fn newest_first(mut events: Vec<RemoteEvent>) -> RecentEvents {
        events.sort_by_key(|e| std::cmp::Reverse(e.id));
        events.dedup_by_key(|e| e.id);
        events.truncate(EVENTS_SHOWN);
        RecentEvents { events }
    }

    /// The execution has ended: its history will not change again.
    pub fn is_final(&self) -> bool {
        self.events.first().is_some_and(RemoteEvent::ends_execution)
    }

    /// Where the run failed. A state's own failure (`TaskFailed`) says
    /// more than the execution's echo of it (`ExecutionFailed` repeats the
    /// error), so the newest failure below the execution that carries an
    /// error or a cause wins, else the newest failure; its state is the
    /// one it names, or else the one entered last before it.
    pub fn failure(&self) -> Option<Failure> {
        let newest = self.events.iter().find(|e| e.is_failure())?;
        let telling = self
            .events
            .iter()
            .find(|e| {
                e.is_failure()
                    && !e.kind.starts_with("Execution")
                    && (e.error.is_some() || e.cause.is_some())
            })
            .unwrap_or(newest);
        let state = telling.state.clone().or_else(|| {
            self.events
                .iter()
                .filter(|e| e.id <= telling.id)
                .find(|e| e.kind.ends_with("StateEntered"))
                .and_then(|e| e.state.clone())
        });
        Some(Failure {
            kind: telling.kind.clone(),
            state,
            error: telling.error.clone().or_else(|| newest.error.clone()),
            cause: telling.cause.clone().or_else(|| newest.cause.clone()),
        })
    }
}

/// Where and how a run failed, read from its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: String,
    pub state: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

/// What the details show of the tracker's history of one execution.
#[derive(Debug, Clone, PartialEq)]
pub enum EventsState {
    /// Asked for; the answer has not come.
    Loading,
    Loaded(Arc<RecentEvents>),
    /// Why there are none: the request failed, or the tracker was not asked.
    Failed(String),
}

/// The history shown for one execution of the details.
#[derive(Debug, Clone, PartialEq)]
pub struct EventsView {
    pub execution_id: String,
    pub state: EventsState,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: i64, kind: &str, state: Option<&str>, error: Option<&str>) -> RemoteEvent {
        RemoteEvent {
            id,
            at: None,
            kind: kind.into(),
            state: state.map(str::to_string),
            error: error.map(str::to_string),
            cause: error.map(|e| format!("cause of {e}")),
        }
    }

    #[test]
    fn events_are_kept_newest_first_and_bounded() {
        let events = (1..=30).map(|i| event(i, "PassStateEntered", None, None));
        let recent = RecentEvents::newest_first(events.collect());
        assert_eq!(recent.events.len(), EVENTS_SHOWN);
        assert_eq!(recent.events[0].id, 30);
        assert_eq!(recent.events[EVENTS_SHOWN - 1].id, 19);
        assert!(!recent.is_final());
    }

    #[test]
    fn the_failing_state_its_error_and_cause_are_found() {
        // As Step Functions gives it: the task fails in its state, the
        // execution then fails with the same error.
        let recent = RecentEvents::newest_first(vec![
            event(1, "ExecutionStarted", None, None),
            event(2, "TaskStateEntered", Some("Export"), None),
            event(3, "TaskScheduled", None, None),
            event(4, "TaskFailed", None, Some("Lambda.Timeout")),
            event(5, "ExecutionFailed", None, Some("Lambda.Timeout")),
        ]);
        assert!(recent.is_final());
        let f = recent.failure().unwrap();
        assert_eq!(f.kind, "TaskFailed");
        assert_eq!(f.state.as_deref(), Some("Export"));
        assert_eq!(f.error.as_deref(), Some("Lambda.Timeout"));
        assert_eq!(f.cause.as_deref(), Some("cause of Lambda.Timeout"));
    }

    #[test]
    fn a_run_that_has_not_failed_has_no_failure() {
        let recent = RecentEvents::newest_first(vec![
            event(1, "ExecutionStarted", None, None),
            event(2, "TaskStateEntered", Some("Export"), None),
            event(3, "ExecutionSucceeded", None, None),
        ]);
        assert!(recent.is_final());
        assert_eq!(recent.failure(), None);
        // An abort has no error, and still says where it stopped.
        let aborted = RecentEvents::newest_first(vec![
            event(2, "TaskStateEntered", Some("Wait"), None),
            event(3, "ExecutionAborted", None, None),
        ]);
        let f = aborted.failure().unwrap();
        assert_eq!(
            (f.kind.as_str(), f.state.as_deref()),
            ("ExecutionAborted", Some("Wait"))
        );
    }
}
