//! Fixed data with every kind of row: for the screen tests (at a fixed
//! clock) and the `tui_preview` example (at the wall clock).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use crate::domain::{
    Counts, ErrorClass, ErrorRates, Execution, Finding, FindingKind, GroupStats, LongRunningAlert,
    Observation, RemoteAnswer, RemoteHistory, Status, SuggestedAction, WindowStats,
    findings::Evidence,
};
use crate::monitor::{Snapshot, SourceHealth};

use super::keymap::Keymap;
use super::output::OutputKind;
use super::state::{App, AppSettings};
use super::theme::Theme;
use super::update::{Effect, Msg};

/// The tests' fixed clock.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 14, 3, 22).unwrap()
}

fn before(base: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
    base - chrono::Duration::seconds(seconds)
}

/// An execution `age` seconds into its phase at the fixed clock.
pub fn execution(id: &str, status: Status, age: i64) -> Execution {
    execution_at(now(), id, status, age)
}

fn execution_at(base: DateTime<Utc>, id: &str, status: Status, age: i64) -> Execution {
    let ago = |s| before(base, s);
    Execution {
        id: id.to_string(),
        remote_id: Some(format!("amc-{id}")),
        name: Some(format!("job-{id}").into()),
        group: Some("etl".into()),
        status,
        raw_status: status.as_str().into(),
        created_at: ago(age + 30),
        started_at: (status == Status::Running).then(|| ago(age)),
        updated_at: Some(ago(age / 2)),
        completed_at: None,
        heartbeat_at: None,
        error: None,
        error_count: Some(0),
    }
}

fn found(base: DateTime<Utc>, status: Status, raw: &str, at: i64) -> RemoteHistory {
    let ago = |s| before(base, s);
    let mut h = RemoteHistory::default();
    h.record(Observation {
        checked_at: ago(at),
        answer: RemoteAnswer::Found {
            status,
            raw: raw.into(),
        },
        detail: None,
    });
    h
}

fn finding(
    base: DateTime<Utc>,
    kind: FindingKind,
    id: &str,
    age: i64,
    action: SuggestedAction,
    reason: &str,
) -> Finding {
    let ago = |s| before(base, s);
    Finding {
        kind,
        execution_id: Some(id.to_string()),
        remote_id: Some(format!("amc-{id}")),
        name: Some(format!("job-{id}").into()),
        group: Some("etl".into()),
        local_status: Some(Status::Running),
        remote_status: None,
        age_seconds: age,
        reason: reason.to_string(),
        reason_age_len: 0,
        suggested_action: action,
        evidence: Evidence {
            threshold_seconds: Some(7_200),
            last_local_update: Some(ago(age / 2)),
            remote_checked_at: Some(ago(12)),
            consecutive: None,
            remote: None,
            limit: None,
        },
    }
}

/// A snapshot taken at `now`. Row times are fixed relative to the tests'
/// clock, so ages are exact only when `now` is [`now()`].
pub fn sample_snapshot(now: DateTime<Utc>) -> Snapshot {
    let mut active = vec![
        execution_at(now, "39", Status::Running, 79_560),
        execution_at(now, "7", Status::Running, 9_000),
        execution_at(now, "101", Status::Pending, 4_000),
        execution_at(now, "102", Status::Running, 620),
        execution_at(now, "103", Status::Pending, 50),
        execution_at(now, "104", Status::Running, 30),
    ];
    active[0].error = Some(r#"{"code":"Throttled","detail":{"retries":5}}"#.to_string());
    active[0].error_count = Some(5);
    active[1].group = Some("reports".into());
    active[3].raw_status = "IN_PROGRESS".into();
    active[4].remote_id = None;
    active[5].status = Status::Unknown;
    active[5].raw_status = "EXPLODED".into();

    let mut remote = HashMap::new();
    remote.insert("39".to_string(), found(now, Status::Running, "RUNNING", 12));
    remote.insert(
        "7".to_string(),
        found(now, Status::Succeeded, "SUCCEEDED", 8),
    );
    remote.insert("102".to_string(), found(now, Status::Running, "RUNNING", 3));

    let mut mismatch = finding(
        now,
        FindingKind::StatusMismatch,
        "7",
        9_000,
        SuggestedAction::Reconcile,
        "remote says succeeded since 8s ago; local still running",
    );
    mismatch.group = Some("reports".into());
    mismatch.remote_status = Some(Status::Succeeded);
    let mut findings = vec![
        finding(
            now,
            FindingKind::Stuck,
            "39",
            79_560,
            SuggestedAction::MarkFailed,
            "running for 22h 6m, over running_stuck 2h",
        ),
        mismatch,
        Finding {
            execution_id: None,
            remote_id: Some("amc-ghost".to_string()),
            local_status: None,
            ..finding(
                now,
                FindingKind::RemoteOnly,
                "ghost",
                1_800,
                SuggestedAction::Investigate,
                "remote lists it as running; no local record",
            )
        },
    ];
    findings[0].reason_age_len = "running for 22h 6m, ".len();

    let mut failures_series = vec![0u64; 48];
    for (i, n) in [(40, 1), (44, 3), (45, 2), (47, 4)] {
        failures_series[i] = n;
    }
    let error_rates = ErrorRates {
        hour: WindowStats {
            finished: 12,
            succeeded: 8,
            failed: 4,
            cancelled: 0,
            failure_rate: Some(0.3333),
        },
        day: WindowStats {
            finished: 300,
            succeeded: 280,
            failed: 10,
            cancelled: 10,
            failure_rate: Some(0.0345),
        },
        finished_series: vec![6; 48],
        failures_series,
        by_class: vec![
            (ErrorClass::Timeout, 6),
            (ErrorClass::Network, 3),
            (ErrorClass::Query, 1),
        ],
        by_group: vec![
            GroupStats {
                group: "etl".into(),
                finished: 200,
                succeeded: 192,
                failed: 8,
                failure_rate: Some(0.04),
            },
            GroupStats {
                group: "reports".into(),
                finished: 100,
                succeeded: 96,
                failed: 2,
                failure_rate: Some(0.0204),
            },
        ],
    };
    Snapshot {
        taken_at: now,
        counts: Counts {
            pending: 2,
            running: 3,
            active: 6,
        },
        active: active.into_iter().map(Arc::new).collect(),
        findings: Arc::new(findings),
        findings_at: now,
        error_rates,
        long_running: Some(LongRunningAlert {
            running_over_age: 7,
            age_seconds: 3_600,
            limit: 5,
            firing: true,
        }),
        remote: Arc::new(
            remote
                .into_iter()
                .map(|(k, v)| (Arc::from(k), Arc::new(v)))
                .collect(),
        ),
        database: SourceHealth {
            name: "database".into(),
            ok: true,
            latency_ms: Some(3),
            last_success: Some(now - chrono::Duration::seconds(2)),
            last_error: None,
            degraded: false,
            suspect: None,
            ..Default::default()
        },
        remote_health: Some(SourceHealth {
            name: "remote".into(),
            ok: true,
            latency_ms: Some(120),
            last_success: Some(now - chrono::Duration::seconds(4)),
            last_error: None,
            degraded: false,
            suspect: None,
            ..Default::default()
        }),
        unmapped_statuses: vec![("QUEUED".into(), 3)],
        triage: Arc::default(),
        learned: Arc::default(),
        job_rules: Arc::default(),
    }
}

pub fn settings(read_only: bool) -> AppSettings {
    AppSettings {
        commands: Vec::new().into(),
        context_key: None,
        read_only,
        no_write_access: None,
        interval: Duration::from_secs(5),
        keymap: Keymap::default(),
        theme: Theme::colour(),
        remote: true,
        output: OutputKind::Quiet,
        wall: false,
        remote_events: false,
    }
}

/// An App at the fixed clock with the sample snapshot applied.
pub fn app(read_only: bool) -> App {
    let mut app = App::new(settings(read_only), now());
    let snap = Arc::new(sample_snapshot(now()));
    update(
        &mut app,
        Msg::Monitor(crate::monitor::MonitorEvent::Snapshot(snap)),
    );
    app
}

/// `update`, then what a frame of the new state would measure, as the
/// event loop hands it back after drawing: tests drive the keys with no
/// terminal.
pub fn update(app: &mut App, msg: Msg) -> Vec<Effect> {
    let effects = super::update::update(app, msg);
    let facts = super::render::frame_facts(app);
    if facts != app.frame {
        super::update::update(app, Msg::Frame(facts));
    }
    effects
}
