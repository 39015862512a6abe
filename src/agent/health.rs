//! `/health`: what the agent has heard from the monitor, judged for a load
//! balancer (the HTTP status) and for a person (the JSON). Pure: the
//! readings and the moment in, the report out.
//!
//! - **starting** (503): no poll has finished yet.
//! - **unhealthy** (503): the database poll fails, or no snapshot came for
//!   [`STALE_INTERVALS`] database intervals (a poll that hangs).
//! - **degraded** (200): the remote tracker is down, degraded (paused after
//!   failures or throttling), failing authentication or suspect, or the
//!   long-running alert is on. The monitor still does its work.
//! - **healthy** (200): none of these.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::SecondsFormat;
use serde::Serialize;

use crate::monitor::{PollSource, Snapshot, SourceHealth};

/// Database intervals without a snapshot after which the agent is unhealthy.
pub const STALE_INTERVALS: u32 = 3;

/// What the agent has heard from the monitor; kept by the task that takes
/// its events, read by every `/health` request.
#[derive(Debug, Clone, Default)]
pub struct Readings {
    pub snapshot: Option<Arc<Snapshot>>,
    /// When the last snapshot arrived (monotonic).
    pub snapshot_at: Option<Instant>,
    /// Why the database poll fails, while it does.
    pub database_failure: Option<String>,
    /// A remote round that failed outright, until the next snapshot.
    pub remote_failure: Option<String>,
}

impl Readings {
    /// A new snapshot. One sent by a remote round while the database fails
    /// says so (`database.ok` false): the failure stands until a database
    /// poll succeeds.
    pub fn take_snapshot(&mut self, snapshot: Arc<Snapshot>, at: Instant) {
        if snapshot.database.ok {
            self.database_failure = None;
        } else if self.database_failure.is_none() {
            self.database_failure = Some(
                snapshot
                    .database
                    .last_error
                    .clone()
                    .unwrap_or_else(|| "the database poll failed".into()),
            );
        }
        self.remote_failure = None;
        self.snapshot = Some(snapshot);
        self.snapshot_at = Some(at);
    }

    pub fn poll_failed(&mut self, source: PollSource, error: String) {
        match source {
            PollSource::Database => self.database_failure = Some(error),
            PollSource::Remote => self.remote_failure = Some(error),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    Starting,
    Healthy,
    Degraded,
    Unhealthy,
}

impl HealthStatus {
    /// What a load balancer acts on: 200 keeps the instance in, 503 takes
    /// it out. Degraded stays in: the monitor works, its remote does not.
    pub fn http_code(self) -> u16 {
        match self {
            HealthStatus::Healthy | HealthStatus::Degraded => 200,
            HealthStatus::Starting | HealthStatus::Unhealthy => 503,
        }
    }
}

/// The database side, in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DatabaseCondition {
    Starting,
    Ok,
    Failing,
    /// No snapshot for `STALE_INTERVALS` intervals.
    Stale,
}

/// The remote tracker, in one word: the same reading as the TUI header's.
pub use crate::monitor::SourceCondition as RemoteCondition;

pub fn remote_condition(h: &SourceHealth, failure: Option<&str>) -> RemoteCondition {
    h.condition(failure.is_some())
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Checks {
    pub database: DatabaseCondition,
    /// `None`: no remote tracker is configured.
    pub remote: Option<RemoteCondition>,
    /// Whether more than `long_running_count` executions run past
    /// `long_running_age`; `None` before the first poll.
    pub long_running_alert: Option<bool>,
}

/// The counts of the team's old health endpoint, from the last snapshot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthMetrics {
    pub running_executions: usize,
    /// Pending: created, not started.
    pub scheduled_executions: usize,
    /// Running past `thresholds.long_running_age`.
    pub long_running_executions: usize,
    /// Finished in the last 24 h.
    pub recent_executions_24h: u64,
    pub findings: usize,
    /// When the snapshot these counts come from was taken (RFC 3339, UTC).
    pub timestamp: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthReport {
    pub status: HealthStatus,
    /// Why it is not healthy, one line each; empty when it is.
    pub reasons: Vec<String>,
    pub checks: Checks,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<HealthMetrics>,
}

/// One line of data for the report: control characters and any secret
/// value exectop knows of are kept out.
fn said(text: &str) -> String {
    crate::text::one_line(&crate::text::hide_secrets(text)).into_owned()
}

/// Judges the readings at `now`. `started` is when the agent started (the
/// staleness of "no snapshot yet" counts from it); `interval` is the
/// database poll interval.
pub fn assess(
    readings: &Readings,
    started: Instant,
    now: Instant,
    interval: Duration,
) -> HealthReport {
    let mut reasons = Vec::new();
    let stale_after = interval * STALE_INTERVALS;
    let silent = now.saturating_duration_since(readings.snapshot_at.unwrap_or(started));
    let database = if let Some(why) = &readings.database_failure {
        reasons.push(format!("database poll failing: {}", said(why)));
        DatabaseCondition::Failing
    } else if silent > stale_after {
        reasons.push(format!(
            "no snapshot for {}s ({STALE_INTERVALS} database intervals of {}s)",
            silent.as_secs(),
            interval.as_secs_f64()
        ));
        DatabaseCondition::Stale
    } else if readings.snapshot.is_none() {
        reasons.push("no poll has finished yet".into());
        DatabaseCondition::Starting
    } else {
        DatabaseCondition::Ok
    };
    let snapshot = readings.snapshot.as_deref();
    let remote = snapshot.and_then(|s| {
        let h = s.remote_health.as_ref()?;
        let condition = remote_condition(h, readings.remote_failure.as_deref());
        if condition.is_bad() {
            let why = readings
                .remote_failure
                .as_deref()
                .or(h.auth_failing.as_deref())
                .or(h.suspect.as_deref())
                .or(h.last_error.as_deref())
                .unwrap_or("no detail");
            reasons.push(format!(
                "remote tracker {} {}: {}",
                said(&h.name),
                condition.words(),
                said(why)
            ));
        }
        Some(condition)
    });
    let long_running = snapshot.and_then(|s| s.long_running);
    if let Some(alert) = long_running.filter(|a| a.firing) {
        reasons.push(format!(
            "{} executions running for over {}s (more than {} is an alert)",
            alert.running_over_age, alert.age_seconds, alert.limit
        ));
    }
    let status = match database {
        DatabaseCondition::Failing | DatabaseCondition::Stale => HealthStatus::Unhealthy,
        DatabaseCondition::Starting => HealthStatus::Starting,
        DatabaseCondition::Ok
            if remote.is_some_and(RemoteCondition::is_bad)
                || long_running.is_some_and(|a| a.firing) =>
        {
            HealthStatus::Degraded
        }
        DatabaseCondition::Ok => HealthStatus::Healthy,
    };
    HealthReport {
        status,
        reasons,
        checks: Checks {
            database,
            remote,
            long_running_alert: long_running.map(|a| a.firing),
        },
        metrics: snapshot.map(|s| HealthMetrics {
            running_executions: s.counts.running,
            scheduled_executions: s.counts.pending,
            long_running_executions: s.long_running.map_or(0, |a| a.running_over_age),
            recent_executions_24h: s.error_rates.day.finished,
            findings: s.findings.len(),
            timestamp: s.taken_at.to_rfc3339_opts(SecondsFormat::Secs, false),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::LongRunningAlert;

    const INTERVAL: Duration = Duration::from_secs(5);

    fn snapshot(edit: impl FnOnce(&mut Snapshot)) -> Arc<Snapshot> {
        let mut s = Snapshot {
            database: SourceHealth {
                name: "postgres db".into(),
                ok: true,
                ..Default::default()
            },
            long_running: Some(LongRunningAlert {
                running_over_age: 0,
                age_seconds: 3600,
                limit: 5,
                firing: false,
            }),
            ..Default::default()
        };
        s.counts.running = 3;
        s.counts.pending = 2;
        s.error_rates.day.finished = 4;
        edit(&mut s);
        Arc::new(s)
    }

    fn with(s: Arc<Snapshot>, at: Instant) -> Readings {
        let mut r = Readings::default();
        r.take_snapshot(s, at);
        r
    }

    #[test]
    fn before_the_first_poll_it_is_starting_then_unhealthy_once_late() {
        let started = Instant::now();
        let r = Readings::default();
        let report = assess(&r, started, started + Duration::from_secs(1), INTERVAL);
        assert_eq!(report.status, HealthStatus::Starting);
        assert_eq!(report.status.http_code(), 503);
        assert_eq!(report.metrics, None);
        let report = assess(&r, started, started + Duration::from_secs(16), INTERVAL);
        assert_eq!(report.status, HealthStatus::Unhealthy, "{report:?}");
        assert_eq!(report.checks.database, DatabaseCondition::Stale);
    }

    #[test]
    fn a_fresh_snapshot_is_healthy_with_the_old_counts() {
        let at = Instant::now();
        let report = assess(&with(snapshot(|_| {}), at), at, at, INTERVAL);
        assert_eq!(report.status, HealthStatus::Healthy);
        assert_eq!(report.status.http_code(), 200);
        assert!(report.reasons.is_empty(), "{:?}", report.reasons);
        let m = report.metrics.unwrap();
        assert_eq!(
            (
                m.running_executions,
                m.scheduled_executions,
                m.recent_executions_24h
            ),
            (3, 2, 4)
        );
        assert_eq!(m.timestamp, "1970-01-01T00:00:00+00:00");
    }

    #[test]
    fn no_snapshot_for_three_intervals_is_unhealthy() {
        let at = Instant::now();
        let r = with(snapshot(|_| {}), at);
        let just = assess(&r, at, at + INTERVAL * 3, INTERVAL);
        assert_eq!(just.status, HealthStatus::Healthy, "exactly 3 is not past");
        let late = assess(&r, at, at + INTERVAL * 3 + Duration::from_secs(1), INTERVAL);
        assert_eq!(late.status, HealthStatus::Unhealthy);
        assert_eq!(late.status.http_code(), 503);
        assert!(
            late.reasons[0].starts_with("no snapshot for 16s"),
            "{late:?}"
        );
    }

    #[test]
    fn a_failing_database_poll_is_unhealthy_until_one_succeeds() {
        let at = Instant::now();
        let mut r = with(snapshot(|_| {}), at);
        r.poll_failed(PollSource::Database, "relation does not exist".into());
        let report = assess(&r, at, at, INTERVAL);
        assert_eq!(report.status, HealthStatus::Unhealthy);
        assert_eq!(
            report.reasons,
            ["database poll failing: relation does not exist"]
        );
        // A remote round's snapshot while the database fails keeps it failing.
        r.take_snapshot(snapshot(|s| s.database.ok = false), at);
        assert_eq!(assess(&r, at, at, INTERVAL).status, HealthStatus::Unhealthy);
        r.take_snapshot(snapshot(|_| {}), at);
        assert_eq!(assess(&r, at, at, INTERVAL).status, HealthStatus::Healthy);
    }

    #[test]
    fn a_remote_that_is_down_degraded_or_refusing_us_degrades_but_waiting_does_not() {
        let at = Instant::now();
        let remote = |h: SourceHealth| {
            snapshot(move |s| {
                s.remote_health = Some(SourceHealth {
                    name: "http api".into(),
                    ..h
                })
            })
        };
        let waiting = assess(&with(remote(SourceHealth::default()), at), at, at, INTERVAL);
        assert_eq!(waiting.status, HealthStatus::Healthy);
        assert_eq!(waiting.checks.remote, Some(RemoteCondition::Waiting));
        let cases = [
            (
                SourceHealth {
                    last_error: Some("connection refused".into()),
                    ..Default::default()
                },
                RemoteCondition::Down,
                "remote tracker http api down: connection refused",
            ),
            (
                SourceHealth {
                    degraded: true,
                    last_error: Some("HTTP 503".into()),
                    ..Default::default()
                },
                RemoteCondition::Degraded,
                "remote tracker http api degraded: HTTP 503",
            ),
            (
                SourceHealth {
                    auth_failing: Some("invalid_grant".into()),
                    ..Default::default()
                },
                RemoteCondition::AuthFailing,
                "remote tracker http api auth failing: invalid_grant",
            ),
        ];
        for (health, condition, reason) in cases {
            let report = assess(&with(remote(health), at), at, at, INTERVAL);
            assert_eq!(report.status, HealthStatus::Degraded, "{condition:?}");
            assert_eq!(report.status.http_code(), 200);
            assert_eq!(report.checks.remote, Some(condition));
            assert_eq!(report.reasons, [reason]);
        }
    }

    #[test]
    fn the_long_running_alert_degrades() {
        let at = Instant::now();
        let firing = snapshot(|s| {
            s.long_running = Some(LongRunningAlert {
                running_over_age: 6,
                age_seconds: 3600,
                limit: 5,
                firing: true,
            })
        });
        let report = assess(&with(firing, at), at, at, INTERVAL);
        assert_eq!(report.status, HealthStatus::Degraded);
        assert_eq!(report.checks.long_running_alert, Some(true));
        assert_eq!(report.metrics.unwrap().long_running_executions, 6);
        assert_eq!(
            report.reasons,
            ["6 executions running for over 3600s (more than 5 is an alert)"]
        );
    }

    #[test]
    fn the_json_has_the_old_shape() {
        let at = Instant::now();
        let report = assess(&with(snapshot(|_| {}), at), at, at, INTERVAL);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["status"], "healthy");
        for key in [
            "running_executions",
            "scheduled_executions",
            "long_running_executions",
            "recent_executions_24h",
            "timestamp",
        ] {
            assert!(json["metrics"].get(key).is_some(), "{key} in {json}");
        }
        assert_eq!(json["checks"]["database"], "ok");
        assert_eq!(json["checks"]["remote"], serde_json::Value::Null);
    }
}
