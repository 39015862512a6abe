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
    /// The event this one follows in its own branch (Step Functions'
    /// `previousEventId`): the way back to the state it happened in, where
    /// parallel branches interleave.
    pub previous: Option<i64>,
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

    /// Where the run failed, when its history ends in a failure (failed,
    /// timed out or aborted); `None` for a run that succeeded or still
    /// runs, whatever retried or caught failures it went through. The end's
    /// error and cause are the run's; the state's own failure it repeats (a
    /// `TaskFailed` with the same error) says where, and its kind is shown.
    pub fn failure(&self) -> Option<Failure> {
        let end = self
            .events
            .first()
            .filter(|e| e.ends_execution() && e.kind != "ExecutionSucceeded")?;
        let origin = end
            .error
            .as_ref()
            .and_then(|error| {
                self.events.iter().skip(1).find(|e| {
                    e.is_failure()
                        && !e.kind.starts_with("Execution")
                        && e.error.as_ref() == Some(error)
                })
            })
            .unwrap_or(end);
        Some(Failure {
            kind: origin.kind.clone(),
            state: self.state_of(origin),
            error: end.error.clone().or_else(|| origin.error.clone()),
            cause: end.cause.clone().or_else(|| origin.cause.clone()),
        })
    }

    /// The state `event` happened in: back along `previous` to the state
    /// entered in its own branch (another branch's states interleave); an
    /// answer without the links falls back to the state entered last
    /// before it. `None` when the way back leaves the events kept.
    fn state_of(&self, event: &RemoteEvent) -> Option<String> {
        let by_id = |id: i64| self.events.iter().find(|e| e.id == id);
        if event.previous.is_none() {
            return self
                .events
                .iter()
                .filter(|e| e.id <= event.id)
                .find(|e| e.kind.ends_with("StateEntered"))
                .and_then(|e| e.state.clone());
        }
        let mut at = event;
        for _ in 0..=self.events.len() {
            if at.kind.ends_with("StateEntered") {
                return at.state.clone();
            }
            at = by_id(at.previous?)?;
        }
        None
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
            previous: None,
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

    /// Events linked as Step Functions links them: each to the one before
    /// it in its own branch.
    /// (id, previous id, kind, state, error)
    type Linked<'a> = (i64, i64, &'a str, Option<&'a str>, Option<&'a str>);

    fn linked(events: &[Linked<'_>]) -> RecentEvents {
        RecentEvents::newest_first(
            events
                .iter()
                .map(|&(id, previous, kind, state, error)| RemoteEvent {
                    previous: Some(previous),
                    ..event(id, kind, state, error)
                })
                .collect(),
        )
    }

    #[test]
    fn a_failure_that_was_retried_or_caught_is_not_where_the_run_failed() {
        // Retried, then succeeded.
        let succeeded = linked(&[
            (1, 0, "ExecutionStarted", None, None),
            (2, 1, "TaskStateEntered", Some("Export"), None),
            (3, 2, "TaskFailed", None, Some("Lambda.ServiceException")),
            (4, 3, "TaskSucceeded", None, None),
            (5, 4, "ExecutionSucceeded", None, None),
        ]);
        assert_eq!(succeeded.failure(), None);
        // Still running after a failed attempt.
        let running = linked(&[
            (2, 1, "TaskStateEntered", Some("Export"), None),
            (3, 2, "TaskFailed", None, Some("Lambda.ServiceException")),
            (4, 3, "TaskScheduled", None, None),
        ]);
        assert_eq!(running.failure(), None);
        // Timed out after a retried failure: the timeout is why it ended.
        let timed_out = linked(&[
            (2, 1, "TaskStateEntered", Some("Export"), None),
            (3, 2, "TaskFailed", None, Some("Lambda.ServiceException")),
            (4, 3, "TaskScheduled", None, None),
            (5, 4, "ExecutionTimedOut", None, Some("States.Timeout")),
        ]);
        let f = timed_out.failure().unwrap();
        assert_eq!(f.kind, "ExecutionTimedOut");
        assert_eq!(f.error.as_deref(), Some("States.Timeout"));
        assert_eq!(f.state.as_deref(), Some("Export"));
    }

    #[test]
    fn the_state_is_found_in_the_failing_branch_not_the_last_one_entered() {
        // A Parallel state: branch A's task fails after branch B entered a
        // wait; the links lead back to A's state.
        let recent = linked(&[
            (2, 1, "ParallelStateEntered", Some("Both"), None),
            (3, 2, "TaskStateEntered", Some("Branch A"), None),
            (4, 3, "TaskScheduled", None, None),
            (5, 2, "WaitStateEntered", Some("Branch B wait"), None),
            (6, 4, "TaskFailed", None, Some("States.TaskFailed")),
            (7, 6, "ParallelStateFailed", None, None),
            (8, 7, "ExecutionFailed", None, Some("States.TaskFailed")),
        ]);
        let f = recent.failure().unwrap();
        assert_eq!(f.kind, "TaskFailed");
        assert_eq!(f.state.as_deref(), Some("Branch A"));
        // A way back that leaves the kept events names no state rather
        // than a wrong one.
        let cut = linked(&[
            (40, 39, "TaskFailed", None, Some("X")),
            (41, 40, "ExecutionFailed", None, Some("X")),
        ]);
        assert_eq!(cut.failure().unwrap().state, None);
    }
}
