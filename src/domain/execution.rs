//! An execution as exectop sees it (the local record), and what the remote
//! tracker said about it (observations).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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

/// An execution the remote tracker lists as active.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteExecution {
    pub remote_id: String,
    pub status: Status,
    /// Its own spelling, shared: a list of 100 000 runs spells a handful.
    pub raw_status: Arc<str>,
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
