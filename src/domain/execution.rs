//! An execution as exectop sees it (the local record), and what the remote
//! tracker said about it (observations).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::status::Status;

/// One row of the executions table, read through the configured mapping.
/// Every optional field is `None` when its column is not mapped or is NULL.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Execution {
    /// The primary key as text, whatever its type in the database.
    pub id: String,
    pub remote_id: Option<String>,
    /// Names, groups and spellings repeat across rows: the store shares one
    /// allocation per distinct value (a monitor may hold 100 000 rows).
    pub name: Option<Arc<str>>,
    pub group: Option<Arc<str>>,
    pub status: Status,
    /// The table's own spelling, kept for display and for compare-and-set writes.
    pub raw_status: Arc<str>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub heartbeat_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    pub error_count: Option<i64>,
}

impl Execution {
    /// The moment its current phase began: a running execution's age counts
    /// from `started_at` when mapped, anything else from `created_at`.
    pub fn phase_start(&self) -> DateTime<Utc> {
        match self.status {
            Status::Running => self.started_at.unwrap_or(self.created_at),
            _ => self.created_at,
        }
    }

    /// Seconds in the current phase at `now`; never negative (clock skew).
    pub fn age_seconds(&self, now: DateTime<Utc>) -> i64 {
        (now - self.phase_start()).num_seconds().max(0)
    }

    /// Seconds since the record was created, whatever its phase.
    pub fn total_age_seconds(&self, now: DateTime<Utc>) -> i64 {
        (now - self.created_at).num_seconds().max(0)
    }

    /// When the execution finished, for error-rate windows: `completed_at`
    /// where mapped, else `updated_at`, else `created_at`.
    pub fn finished_at(&self) -> DateTime<Utc> {
        self.completed_at
            .or(self.updated_at)
            .unwrap_or(self.created_at)
    }

    /// The last time anything wrote to the row that exectop can see.
    pub fn last_local_update(&self) -> DateTime<Utc> {
        [
            self.updated_at,
            self.heartbeat_at,
            self.started_at,
            self.completed_at,
        ]
        .into_iter()
        .flatten()
        .fold(self.created_at, |a, b| a.max(b))
    }
}

/// What one look-up at the remote tracker returned.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RemoteAnswer {
    /// The tracker knows the execution; `raw` is its own spelling.
    Found { status: Status, raw: String },
    /// The tracker says no such execution exists (e.g. HTTP 404).
    NotFound,
    /// It could not be asked, or the answer made no sense.
    Error { message: String },
    /// The tracker told us to slow down; not the execution's fault.
    Throttled { retry_after_seconds: Option<u64> },
}

/// An answer and when it was received.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Observation {
    pub checked_at: DateTime<Utc>,
    pub answer: RemoteAnswer,
}

/// Everything the monitor remembers about one execution's remote side.
/// Streaks count consecutive answers of one kind; any other answer resets them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RemoteHistory {
    pub last: Option<Observation>,
    /// The last status the tracker actually reported, and when.
    pub last_status: Option<(Status, String, DateTime<Utc>)>,
    /// When the tracker was first seen reporting the status it reports now.
    pub status_since: Option<DateTime<Utc>>,
    pub consecutive_not_found: u32,
    pub consecutive_errors: u32,
    pub last_error: Option<String>,
}

impl RemoteHistory {
    pub fn record(&mut self, obs: Observation) {
        match &obs.answer {
            RemoteAnswer::Found { status, raw } => {
                if self.remote_status() != Some(*status) {
                    self.status_since = Some(obs.checked_at);
                }
                // The same spelling again keeps its string: a list answer
                // re-reports every run every interval.
                let raw = match self.last_status.take() {
                    Some((_, kept, _)) if kept == *raw => kept,
                    _ => raw.clone(),
                };
                self.last_status = Some((*status, raw, obs.checked_at));
                self.consecutive_not_found = 0;
                self.consecutive_errors = 0;
            }
            RemoteAnswer::NotFound => {
                self.consecutive_not_found += 1;
                self.consecutive_errors = 0;
            }
            RemoteAnswer::Error { message } => {
                self.consecutive_errors += 1;
                self.last_error = Some(message.clone());
            }
            // Throttling says nothing about the execution: streaks stand.
            RemoteAnswer::Throttled { .. } => {}
        }
        self.last = Some(obs);
    }

    pub fn remote_status(&self) -> Option<Status> {
        self.last_status.as_ref().map(|(s, _, _)| *s)
    }

    pub fn last_checked_at(&self) -> Option<DateTime<Utc>> {
        self.last.as_ref().map(|o| o.checked_at)
    }
}

/// An execution the remote tracker lists as active.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RemoteExecution {
    pub remote_id: String,
    pub status: Status,
    pub raw_status: String,
    pub name: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    /// When exectop first saw it listed; its age when the tracker gives no start time.
    pub first_seen_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap()
    }

    #[test]
    fn history_streaks_reset_on_other_answers() {
        let mut h = RemoteHistory::default();
        h.record(Observation {
            checked_at: at(0),
            answer: RemoteAnswer::NotFound,
        });
        h.record(Observation {
            checked_at: at(1),
            answer: RemoteAnswer::NotFound,
        });
        assert_eq!(h.consecutive_not_found, 2);
        h.record(Observation {
            checked_at: at(2),
            answer: RemoteAnswer::Throttled {
                retry_after_seconds: Some(3),
            },
        });
        assert_eq!(h.consecutive_not_found, 2, "throttling keeps the streak");
        h.record(Observation {
            checked_at: at(3),
            answer: RemoteAnswer::Error {
                message: "boom".into(),
            },
        });
        assert_eq!(h.consecutive_errors, 1);
        assert_eq!(
            h.consecutive_not_found, 2,
            "an error proves nothing about existence"
        );
        h.record(Observation {
            checked_at: at(4),
            answer: RemoteAnswer::Found {
                status: Status::Running,
                raw: "RUNNING".into(),
            },
        });
        assert_eq!((h.consecutive_not_found, h.consecutive_errors), (0, 0));
        assert_eq!(h.remote_status(), Some(Status::Running));
        assert_eq!(h.last_checked_at(), Some(at(4)));
    }

    #[test]
    fn finished_at_prefers_completed_then_updated_then_created() {
        let mut e = Execution {
            id: "1".into(),
            remote_id: None,
            name: None,
            group: None,
            status: Status::Failed,
            raw_status: "failed".into(),
            created_at: at(0),
            started_at: None,
            updated_at: None,
            completed_at: None,
            heartbeat_at: None,
            error: None,
            error_count: None,
        };
        assert_eq!(e.finished_at(), at(0));
        e.updated_at = Some(at(5));
        assert_eq!(e.finished_at(), at(5));
        e.completed_at = Some(at(9));
        assert_eq!(e.finished_at(), at(9));
    }
}
