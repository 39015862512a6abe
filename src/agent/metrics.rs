//! `/metrics`: the monitor's picture in the Prometheus text format, through
//! `prometheus-client`. Names carry the `exectop_` prefix and base units
//! (seconds); counters end in `_total`; no label names an execution, so the
//! number of series stays fixed whatever the table holds.
//!
//! Gauges are set from each snapshot; counters count as things happen
//! (remote requests as the tracker answers them, clean-up runs and rows).

use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use chrono::{DateTime, Utc};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use super::health::remote_condition;
use crate::domain::{FindingKind, Status, WindowStats};
use crate::monitor::Snapshot;

/// The `Content-Type` of what [`Metrics::encode`] returns.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Bounds of the poll-duration buckets, in seconds: a quiet poll takes a
/// few milliseconds, a whole read of a large active set seconds.
const POLL_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WindowLabel {
    window: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WindowStatusLabels {
    window: &'static str,
    status: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    call: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// One remote call's outcome, as `exectop_remote_requests_total` labels it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// `lookup`, `list` (one page) or `stop`.
    pub call: &'static str,
    /// `found`, `not_found`, `ok`, `error`, `throttled`, `unasked`, `doubted`.
    pub outcome: &'static str,
}

/// What one clean-up run did, for `exectop_cleanup_*`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CleanupCounts {
    pub fixed: u64,
    pub refused: u64,
    pub reported: u64,
}

pub struct Metrics {
    registry: Registry,
    active: Family<StatusLabel, Gauge>,
    findings: Family<KindLabel, Gauge>,
    untriaged: Family<KindLabel, Gauge>,
    oldest_active_age: Gauge,
    long_running: Gauge,
    failure_ratio: Family<WindowLabel, FloatGauge>,
    finished: Family<WindowStatusLabels, Gauge>,
    remote_requests: Family<RequestLabels, Counter>,
    remote_up: Option<Gauge>,
    database_up: Gauge,
    last_poll: Gauge,
    poll_duration: Histogram,
    cleanup_runs: Family<OutcomeLabel, Counter>,
    cleanup_rows: Family<ResultLabel, Counter>,
    /// The database poll the last observed duration belongs to.
    last_poll_seen: Mutex<Option<DateTime<Utc>>>,
}

impl Metrics {
    /// `remote`: whether a remote tracker is configured (`exectop_remote_up`
    /// exists only then).
    pub fn new(remote: bool) -> Metrics {
        let mut m = Metrics {
            active: Family::default(),
            findings: Family::default(),
            untriaged: Family::default(),
            oldest_active_age: Gauge::default(),
            long_running: Gauge::default(),
            failure_ratio: Family::default(),
            finished: Family::default(),
            remote_requests: Family::default(),
            remote_up: remote.then(Gauge::default),
            database_up: Gauge::default(),
            last_poll: Gauge::default(),
            poll_duration: Histogram::new(POLL_BUCKETS),
            cleanup_runs: Family::default(),
            cleanup_rows: Family::default(),
            last_poll_seen: Mutex::new(None),
            registry: Registry::with_prefix("exectop"),
        };
        let registry = &mut m.registry;
        registry.register(
            "active_executions",
            "Active executions by status (pending, running)",
            m.active.clone(),
        );
        registry.register(
            "findings",
            "Findings by kind, one per execution at most (stuck, status_mismatch, remote_not_found and the others)",
            m.findings.clone(),
        );
        registry.register(
            "untriaged_findings",
            "Findings by kind that nobody claimed, acknowledged or snoozed (shared triage)",
            m.untriaged.clone(),
        );
        registry.register_with_unit(
            "oldest_active_age",
            "Age of the oldest active execution since it was created; 0 with none",
            Unit::Seconds,
            m.oldest_active_age.clone(),
        );
        registry.register(
            "long_running_executions",
            "Executions running for over thresholds.long_running_age",
            m.long_running.clone(),
        );
        registry.register(
            "failure_ratio",
            "Failed / (succeeded + failed) among executions finished in the window; absent when none did",
            m.failure_ratio.clone(),
        );
        registry.register(
            "finished_executions",
            "Executions finished in the window, by status (succeeded, failed, cancelled)",
            m.finished.clone(),
        );
        registry.register(
            "remote_requests",
            "Remote calls by outcome: each look-up and list page as the tracker answered it",
            m.remote_requests.clone(),
        );
        if let Some(up) = &m.remote_up {
            registry.register(
                "remote_up",
                "1 while the remote tracker answers (or has not been asked yet), 0 while it is down, degraded, suspect or refuses our credentials",
                up.clone(),
            );
        }
        registry.register(
            "database_up",
            "1 while the database poll succeeds, 0 while it fails",
            m.database_up.clone(),
        );
        registry.register_with_unit(
            "last_poll_timestamp",
            "When the last database poll succeeded (Unix time)",
            Unit::Seconds,
            m.last_poll.clone(),
        );
        registry.register_with_unit(
            "poll_duration",
            "Duration of each successful database poll (reads, findings, snapshot)",
            Unit::Seconds,
            m.poll_duration.clone(),
        );
        registry.register(
            "cleanup_runs",
            "Scheduled clean-up runs ([policy.cleanup]) by outcome (completed, failed)",
            m.cleanup_runs.clone(),
        );
        registry.register(
            "cleanup_rows",
            "Rows of scheduled clean-ups by result: fixed (written), refused, reported (apply = false)",
            m.cleanup_rows.clone(),
        );
        // Every label value a family can take, at 0, so that a query or an
        // alert finds the series before the first event of its kind.
        for kind in FindingKind::ALL {
            let _ = m.findings.get_or_create(&KindLabel {
                kind: kind.as_str(),
            });
            let _ = m.untriaged.get_or_create(&KindLabel {
                kind: kind.as_str(),
            });
        }
        for status in [Status::Pending, Status::Running] {
            let _ = m.active.get_or_create(&StatusLabel {
                status: status.as_str(),
            });
        }
        for outcome in ["completed", "failed"] {
            let _ = m.cleanup_runs.get_or_create(&OutcomeLabel { outcome });
        }
        for result in ["fixed", "refused", "reported"] {
            let _ = m.cleanup_rows.get_or_create(&ResultLabel { result });
        }
        m
    }

    /// Sets every gauge from a snapshot; `remote_failure` is a remote round
    /// that failed outright since the last one.
    pub fn observe_snapshot(&self, s: &Snapshot, remote_failure: Option<&str>) {
        let set_active = |status: Status, n: usize| {
            self.active
                .get_or_create(&StatusLabel {
                    status: status.as_str(),
                })
                .set(n as i64);
        };
        set_active(Status::Pending, s.counts.pending);
        set_active(Status::Running, s.counts.running);
        for kind in FindingKind::ALL {
            let n = s.findings.iter().filter(|f| f.kind == kind).count();
            self.findings
                .get_or_create(&KindLabel {
                    kind: kind.as_str(),
                })
                .set(n as i64);
            let untriaged = s
                .findings
                .iter()
                .filter(|f| f.kind == kind && !s.triage_of(f).is_some_and(|t| t.taken()))
                .count();
            self.untriaged
                .get_or_create(&KindLabel {
                    kind: kind.as_str(),
                })
                .set(untriaged as i64);
        }
        let oldest = s
            .active
            .iter()
            .map(|e| e.total_age_seconds(s.taken_at))
            .max()
            .unwrap_or(0);
        self.oldest_active_age.set(oldest);
        self.long_running
            .set(s.long_running.map_or(0, |a| a.running_over_age) as i64);
        self.set_window("1h", &s.error_rates.hour);
        self.set_window("24h", &s.error_rates.day);
        if let (Some(up), Some(h)) = (&self.remote_up, &s.remote_health) {
            up.set(i64::from(!remote_condition(h, remote_failure).is_bad()));
        }
        self.database_up.set(i64::from(s.database.ok));
        if let Some(at) = s.database.last_success {
            self.last_poll.set(at.timestamp());
        }
        let mut seen = self.last_poll_seen.lock().unwrap();
        if let Some(took) = poll_duration(*seen, s) {
            self.poll_duration.observe(took.as_secs_f64());
        }
        *seen = s.database.last_success;
    }

    fn set_window(&self, window: &'static str, w: &WindowStats) {
        for (status, n) in [
            ("succeeded", w.succeeded),
            ("failed", w.failed),
            ("cancelled", w.cancelled),
        ] {
            self.finished
                .get_or_create(&WindowStatusLabels { window, status })
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        let label = WindowLabel { window };
        match w.failure_rate {
            Some(rate) => {
                self.failure_ratio.get_or_create(&label).set(rate);
            }
            None => {
                self.failure_ratio.remove(&label);
            }
        }
    }

    /// The database poll failed: the gauges keep the last snapshot's
    /// values, and this says they are old.
    pub fn database_failed(&self) {
        self.database_up.set(0);
    }

    /// A remote round failed outright: the remote is down until the next snapshot.
    pub fn remote_failed(&self) {
        if let Some(up) = &self.remote_up {
            up.set(0);
        }
    }

    pub fn count_request(&self, request: Request) {
        self.remote_requests
            .get_or_create(&RequestLabels {
                call: request.call,
                outcome: request.outcome,
            })
            .inc();
    }

    /// One clean-up run: `None` when it failed as a whole.
    pub fn count_cleanup(&self, run: Option<CleanupCounts>) {
        let outcome = if run.is_some() { "completed" } else { "failed" };
        self.cleanup_runs
            .get_or_create(&OutcomeLabel { outcome })
            .inc();
        let run = run.unwrap_or_default();
        for (result, n) in [
            ("fixed", run.fixed),
            ("refused", run.refused),
            ("reported", run.reported),
        ] {
            self.cleanup_rows
                .get_or_create(&ResultLabel { result })
                .inc_by(n);
        }
    }

    /// The Prometheus text exposition (version 0.0.4).
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry);
        text
    }
}

/// How long the database poll behind `s` took, when `s` comes from a
/// database poll the agent has not counted yet. The poller stamps
/// `database.last_success` with the moment a database poll starts and
/// `taken_at` with the moment its snapshot is made; a snapshot from a remote
/// round carries the last poll's `last_success` again, and is not counted.
pub fn poll_duration(seen: Option<DateTime<Utc>>, s: &Snapshot) -> Option<Duration> {
    let started = s.database.last_success.filter(|at| Some(*at) != seen)?;
    Some((s.taken_at - started).to_std().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::SourceHealth;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_700_000_000_000 + ms).unwrap()
    }

    fn snapshot(started: i64, taken: i64) -> Snapshot {
        Snapshot {
            taken_at: at(taken),
            database: SourceHealth {
                ok: true,
                last_success: Some(at(started)),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn a_poll_is_timed_once_from_its_start_to_its_snapshot() {
        let first = snapshot(0, 120);
        assert_eq!(
            poll_duration(None, &first),
            Some(Duration::from_millis(120))
        );
        // A remote round's snapshot after it carries the same poll: not again.
        let remote = snapshot(0, 900);
        assert_eq!(poll_duration(Some(at(0)), &remote), None);
        let next = snapshot(5_000, 5_040);
        assert_eq!(
            poll_duration(Some(at(0)), &next),
            Some(Duration::from_millis(40))
        );
        let never = Snapshot::default();
        assert_eq!(poll_duration(None, &never), None);
    }

    #[test]
    fn findings_someone_took_are_not_untriaged() {
        use crate::domain::triage::{FindingKey, Mark, TriageView};
        let mut snap = crate::tui::sample::sample_snapshot(crate::tui::sample::now());
        let stuck: Vec<_> = snap
            .findings
            .iter()
            .filter(|f| f.kind == FindingKind::Stuck)
            .cloned()
            .collect();
        assert!(!stuck.is_empty(), "the sample has stuck findings");
        let mut views = std::collections::BTreeMap::new();
        views.insert(
            FindingKey::of(&stuck[0]).unwrap(),
            TriageView {
                claimed: Some(Mark {
                    by: "alice".into(),
                    at: crate::tui::sample::now(),
                    note: None,
                }),
                ..TriageView::default()
            },
        );
        snap.triage = std::sync::Arc::new(views);
        let m = Metrics::new(true);
        m.observe_snapshot(&snap, None);
        let text = m.encode();
        let all = stuck.len();
        assert!(
            text.contains(&format!("exectop_findings{{kind=\"stuck\"}} {all}\n")),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "exectop_untriaged_findings{{kind=\"stuck\"}} {}\n",
                all - 1
            )),
            "{text}"
        );
    }

    #[test]
    fn the_exposition_has_every_family_with_its_type_and_no_execution_label() {
        let m = Metrics::new(true);
        m.observe_snapshot(&snapshot(0, 250), None);
        m.observe_snapshot(&snapshot(0, 900), None);
        m.count_request(Request {
            call: "lookup",
            outcome: "found",
        });
        m.count_cleanup(Some(CleanupCounts {
            fixed: 2,
            refused: 1,
            reported: 0,
        }));
        let text = m.encode();
        for (name, kind) in [
            ("exectop_active_executions", "gauge"),
            ("exectop_findings", "gauge"),
            ("exectop_untriaged_findings", "gauge"),
            ("exectop_oldest_active_age_seconds", "gauge"),
            ("exectop_long_running_executions", "gauge"),
            ("exectop_finished_executions", "gauge"),
            ("exectop_remote_requests_total", "counter"),
            ("exectop_remote_up", "gauge"),
            ("exectop_database_up", "gauge"),
            ("exectop_last_poll_timestamp_seconds", "gauge"),
            ("exectop_poll_duration_seconds", "histogram"),
            ("exectop_cleanup_runs_total", "counter"),
            ("exectop_cleanup_rows_total", "counter"),
        ] {
            assert!(
                text.contains(&format!("# TYPE {name} {kind}\n")),
                "{name} {kind} in\n{text}"
            );
        }
        assert!(
            text.contains("exectop_findings{kind=\"stuck\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("exectop_remote_requests_total{call=\"lookup\",outcome=\"found\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("exectop_cleanup_rows_total{result=\"fixed\"} 2\n"),
            "{text}"
        );
        // One poll, timed once (0.25 s), though two snapshots carried it.
        assert!(
            text.contains("exectop_poll_duration_seconds_count 1\n"),
            "{text}"
        );
        assert!(
            text.contains("exectop_poll_duration_seconds_sum 0.25\n"),
            "{text}"
        );
        // Nothing finished: no ratio to give.
        assert!(!text.contains("exectop_failure_ratio{"), "{text}");
        assert!(!text.contains("id=\""), "{text}");
    }

    #[test]
    fn no_tracker_no_remote_up() {
        let text = Metrics::new(false).encode();
        assert!(!text.contains("exectop_remote_up"), "{text}");
        assert!(text.contains("exectop_database_up 0\n"), "{text}");
    }
}
