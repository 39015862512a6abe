//! The remote side of the simulation: runs and their lifecycle. A run's
//! status is a function of the clock (pending until it starts, running until
//! it ends, then its outcome), so nothing needs to tick.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::Status;

#[derive(Debug, Clone, Serialize)]
pub struct RemoteRun {
    pub id: String,
    pub name: String,
    /// The instance (AMC) or account it runs in: the row's group.
    pub group: String,
    pub created_at: DateTime<Utc>,
    pub started_at: DateTime<Utc>,
    pub finishes_at: DateTime<Utc>,
    pub outcome: Status,
    /// Stopped by a client: cancelled from this moment.
    pub stopped_at: Option<DateTime<Utc>>,
    /// The remote "forgot" it: 404 from then on.
    pub forgotten: bool,
}

impl RemoteRun {
    pub fn status_at(&self, now: DateTime<Utc>) -> Status {
        if let Some(stopped) = self.stopped_at
            && now >= stopped
        {
            return Status::Cancelled;
        }
        if now < self.started_at {
            Status::Pending
        } else if now < self.finishes_at {
            Status::Running
        } else {
            self.outcome
        }
    }
}

/// The API's spelling of a status (Step Functions style).
pub fn remote_spelling(s: Status) -> &'static str {
    match s {
        Status::Pending => "PENDING",
        Status::Running => "RUNNING",
        Status::Succeeded => "SUCCEEDED",
        Status::Failed => "FAILED",
        Status::TimedOut => "TIMED_OUT",
        Status::Cancelled => "CANCELLED",
        Status::Unknown => "UNKNOWN",
    }
}

#[derive(Debug, Default)]
pub struct Fleet {
    runs: BTreeMap<String, RemoteRun>,
}

impl Fleet {
    pub fn insert(&mut self, run: RemoteRun) {
        self.runs.insert(run.id.clone(), run);
    }

    /// What a client asking now sees; `None` for unknown or forgotten runs.
    pub fn get(&self, id: &str) -> Option<&RemoteRun> {
        self.runs.get(id).filter(|r| !r.forgotten)
    }

    pub fn forget(&mut self, id: &str) {
        if let Some(r) = self.runs.get_mut(id) {
            r.forgotten = true;
        }
    }

    /// True when the stop took effect (the run was still active).
    pub fn stop(&mut self, id: &str, now: DateTime<Utc>) -> Option<bool> {
        let run = self.runs.get_mut(id).filter(|r| !r.forgotten)?;
        if run.status_at(now).is_active() {
            run.stopped_at = Some(now);
            Some(true)
        } else {
            Some(false)
        }
    }

    /// Active runs in id order, after `after` when given: a list page.
    pub fn active_after<'a>(
        &'a self,
        after: Option<&str>,
        now: DateTime<Utc>,
    ) -> impl Iterator<Item = &'a RemoteRun> + 'a {
        self.known_after(after)
            .filter(move |r| r.status_at(now).is_active())
    }

    /// Runs not forgotten, in id order, after `after` when given.
    fn known_after<'a>(&'a self, after: Option<&str>) -> impl Iterator<Item = &'a RemoteRun> + 'a {
        use std::ops::Bound;
        let from = match after {
            Some(id) => Bound::Excluded(id.to_string()),
            None => Bound::Unbounded,
        };
        self.runs
            .range((from, Bound::Unbounded))
            .map(|(_, r)| r)
            .filter(|r| !r.forgotten)
    }

    /// Every run of one group (instance) not forgotten, in id order, after
    /// `after` when given: an API that lists every execution, not only the
    /// active ones.
    pub fn in_group_after<'a>(
        &'a self,
        group: &'a str,
        after: Option<&str>,
    ) -> impl Iterator<Item = &'a RemoteRun> + 'a {
        self.known_after(after).filter(move |r| r.group == group)
    }

    pub fn len(&self) -> usize {
        self.runs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }
}
