//! Ground truth: which fault the simulator put into which execution, and the
//! finding exectop should report for it at a given moment. Tests score
//! exectop's findings against this.

use std::time::Duration;

use chrono::{DateTime, Duration as Cd, Utc};
use serde::Serialize;

use crate::domain::{FindingKind, Thresholds};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// Nothing went wrong: exectop must stay quiet about it.
    Healthy,
    /// The remote call "failed": the row never gets its remote id.
    MissingRemoteId,
    /// The worker died mid-run: no more heartbeats, no final status.
    WorkerDied,
    /// The remote run finished but the row was never updated.
    NeverCaughtUp,
    /// The remote forgot the run: 404 from then on.
    RemoteForgot,
    /// The remote runs it; the database never recorded it.
    RemoteOnly,
    /// The row was marked terminal while the remote run went on.
    MarkedButRunning,
    /// A row left `running` for many hours (seeded history).
    LongStuck,
}

#[derive(Debug, Clone, Serialize)]
pub struct TruthEntry {
    pub execution_id: Option<String>,
    pub remote_id: Option<String>,
    pub fault: Fault,
    pub created_at: DateTime<Utc>,
    /// When the remote run ends (its outcome), if there is one.
    pub remote_ends_at: Option<DateTime<Utc>>,
    /// When the fault took effect (worker died, remote forgot, row marked).
    /// For a worker that died or never wrote its final status, this is also
    /// the row's last write.
    pub fault_at: Option<DateTime<Utc>>,
    /// When the row's remote id was actually written: at insert for seeded
    /// rows, else once the worker's write returned. Under load that write can
    /// lag its schedule by seconds, and meanwhile the row really is a pending
    /// row without a remote id.
    pub remote_id_at: Option<DateTime<Utc>>,
}

fn past(now: DateTime<Utc>, at: DateTime<Utc>, d: Duration) -> bool {
    now - at > Cd::from_std(d).unwrap_or_default()
}

impl TruthEntry {
    /// The finding exectop should report at `now` (one-shot semantics:
    /// confirmations are asked for on the spot).
    pub fn expected(&self, now: DateTime<Utc>, t: &Thresholds) -> Option<FindingKind> {
        let remote_ended = self.remote_ends_at.is_some_and(|end| now >= end);
        let fault_at = self.fault_at.unwrap_or(self.created_at);
        let id_still_missing = self.execution_id.is_some()
            && self.remote_id.is_some()
            && self.remote_id_at.is_none_or(|at| now < at);
        if id_still_missing {
            return past(now, self.created_at, t.registration_grace)
                .then_some(FindingKind::MissingRemoteId);
        }
        match self.fault {
            Fault::Healthy => None,
            Fault::MissingRemoteId => past(now, self.created_at, t.registration_grace)
                .then_some(FindingKind::MissingRemoteId),
            // The row's last write is at `fault_at`; a mismatch is called once
            // the remote has finished and the row has been silent for the grace.
            Fault::WorkerDied | Fault::NeverCaughtUp | Fault::LongStuck
                if remote_ended && past(now, fault_at, t.registration_grace) =>
            {
                Some(FindingKind::StatusMismatch)
            }
            Fault::LongStuck => Some(FindingKind::Stuck),
            Fault::WorkerDied => {
                past(now, fault_at, t.heartbeat_stale).then_some(FindingKind::StaleHeartbeat)
            }
            Fault::NeverCaughtUp => None,
            Fault::RemoteForgot => (now >= fault_at
                && past(now, self.created_at, t.registration_grace))
            .then_some(FindingKind::RemoteNotFound),
            Fault::RemoteOnly => (!remote_ended
                && past(now, self.created_at, t.registration_grace))
            .then_some(FindingKind::RemoteOnly),
            Fault::MarkedButRunning => (!remote_ended && past(now, fault_at, t.registration_grace))
                .then_some(FindingKind::RemoteStillRunning),
        }
    }

    /// The expectation when it holds all through `now ± margin`; `None` near
    /// a boundary, where a fair score cannot be given.
    pub fn settled(
        &self,
        now: DateTime<Utc>,
        margin: Duration,
        t: &Thresholds,
    ) -> Option<Option<FindingKind>> {
        let m = Cd::from_std(margin).unwrap_or_default();
        let at = self.expected(now, t);
        // Sampled every 50 ms: a short run can enter and leave a state inside the window.
        let steps = (m.num_milliseconds() / 50).max(1);
        (-steps..=steps)
            .all(|i| self.expected(now + m * i as i32 / steps as i32, t) == at)
            .then_some(at)
    }
}
