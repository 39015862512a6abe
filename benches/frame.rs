//! What a frame and the findings engine cost (docs/PERFORMANCE.md).
//!
//! `cargo bench --bench frame`
//!
//! - `frame_250x70/N`: drawing the whole screen at 250×70 with N active
//!   executions, through the real `render` into ratatui's TestBackend. The
//!   target: under 2 ms, and the same at 100 and 100 000 rows (only visible
//!   rows are laid out).
//! - `apply_snapshot/N`: what the UI task does once per poll with a new
//!   snapshot (filter, sort, keep the selection), for scale.
//! - `findings/N`: the pure findings engine over N active executions, half of
//!   them with a remote history. The target: linear in N.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;

use chrono::{DateTime, Duration as Cd, TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use exectop::domain::{
    Capabilities, ErrorClassifier, Execution, FindingInput, Observation, RemoteAnswer,
    RemoteHistory, Status, Thresholds, error_rates, findings,
};
use exectop::monitor::{MonitorEvent, Snapshot, SourceHealth};
use exectop::tui::{App, Msg, render::render, sample, update};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
}

/// `n` executions of every age up to 30 h, some pending, some without a
/// remote id, a few with errors; deterministic.
fn executions(n: usize, status_of: impl Fn(usize) -> Status) -> Vec<Execution> {
    (0..n)
        .map(|i| {
            let created = now() - Cd::seconds((i as i64 * 37) % 108_000);
            let status = status_of(i);
            Execution {
                id: (i + 1).to_string(),
                remote_id: (i % 101 != 0).then(|| format!("r-{i}")),
                name: Some(format!("job-{}", i % 200).into()),
                group: Some(format!("group-{}", i % 17).into()),
                status,
                raw_status: status.as_str().into(),
                created_at: created,
                started_at: Some(created + Cd::seconds(3)),
                updated_at: Some(created + Cd::seconds(60)),
                completed_at: status.is_terminal().then(|| created + Cd::seconds(600)),
                heartbeat_at: Some(now() - Cd::seconds((i as i64 * 13) % 900)),
                error: (i % 20 == 0).then(|| "query syntax error near GROUP".to_string()),
                error_count: Some((i % 7) as i64),
            }
        })
        .collect()
}

fn active(n: usize) -> Vec<Execution> {
    executions(n, |i| {
        if i % 10 == 0 {
            Status::Pending
        } else {
            Status::Running
        }
    })
}

/// Every other execution has been looked up; a few disagree with the remote.
fn histories(rows: &[Execution]) -> HashMap<String, RemoteHistory> {
    rows.iter()
        .enumerate()
        .filter(|(i, e)| i % 2 == 0 && e.remote_id.is_some())
        .map(|(i, e)| {
            let mut h = RemoteHistory::default();
            let status = if i % 50 == 0 {
                Status::Succeeded
            } else {
                Status::Running
            };
            for back in [120, 60] {
                h.record(Observation {
                    checked_at: now() - Cd::seconds(back),
                    answer: RemoteAnswer::Found {
                        status,
                        raw: status.as_str().to_uppercase().into(),
                    },
                    detail: None,
                });
            }
            (e.id.clone(), h)
        })
        .collect()
}

const CAPABILITIES: Capabilities = Capabilities {
    remote: true,
    remote_id_column: true,
    heartbeat_column: true,
};

fn snapshot(n: usize) -> Snapshot {
    let active = active(n);
    let remote = histories(&active);
    let thresholds = Thresholds::default();
    let found = findings::find(&FindingInput {
        now: now(),
        local_as_of: now(),
        thresholds: &thresholds,
        capabilities: CAPABILITIES,
        executions: &active,
        remote: &remote,
        remote_only: &[],
        mismatch_confirmation: thresholds.registration_grace,
        per_job: exectop::domain::PerJob::none(),
    });
    let finished = executions(2_000, |i| match i % 20 {
        0 => Status::Failed,
        1 => Status::TimedOut,
        _ => Status::Succeeded,
    });
    let health = |name: &str| SourceHealth {
        name: name.to_string(),
        ok: true,
        latency_ms: Some(3),
        last_success: Some(now()),
        last_error: None,
        degraded: false,
        suspect: None,
        ..Default::default()
    };
    Snapshot {
        taken_at: now(),
        counts: findings::count_active(&active),
        long_running: Some(findings::long_running_alert(&active, now(), &thresholds)),
        error_rates: error_rates::compute(finished.iter(), now(), &ErrorClassifier::default()),
        findings: Arc::new(found),
        findings_at: now(),
        remote: Arc::new(
            remote
                .into_iter()
                .map(|(k, v)| (Arc::from(k), Arc::new(v)))
                .collect(),
        ),
        active: active.into_iter().map(Arc::new).collect(),
        database: health("postgres://app@db/app exectop_executions"),
        remote_health: Some(health("http api.example.com")),
        unmapped_statuses: Vec::new(),
        triage: Default::default(),
        learned: Default::default(),
        job_rules: Default::default(),
    }
}

fn app_with(snapshot: &Arc<Snapshot>) -> App {
    let mut app = App::new(sample::settings(false), now());
    update(
        &mut app,
        Msg::Resize {
            width: 250,
            height: 70,
        },
    );
    update(
        &mut app,
        Msg::Monitor(MonitorEvent::Snapshot(snapshot.clone())),
    );
    app
}

fn frame(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame_250x70");
    for n in [100, 100_000] {
        let snap = Arc::new(snapshot(n));
        let app = app_with(&snap);
        let mut terminal = Terminal::new(TestBackend::new(250, 70)).unwrap();
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                terminal
                    .draw(|f| {
                        render(f, black_box(&app));
                    })
                    .unwrap();
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("apply_snapshot");
    group.sample_size(20);
    for n in [100, 100_000] {
        let snap = Arc::new(snapshot(n));
        let mut app = app_with(&snap);
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                update(
                    &mut app,
                    Msg::Monitor(MonitorEvent::Snapshot(black_box(snap.clone()))),
                )
            })
        });
    }
    group.finish();
}

fn find_over(rows: &[Execution], remote: &HashMap<String, RemoteHistory>) -> usize {
    let thresholds = Thresholds::default();
    findings::find(black_box(&FindingInput {
        now: now(),
        local_as_of: now(),
        thresholds: &thresholds,
        capabilities: CAPABILITIES,
        executions: rows,
        remote,
        remote_only: &[],
        mismatch_confirmation: thresholds.registration_grace,
        per_job: exectop::domain::PerJob::none(),
    }))
    .len()
}

fn engine(c: &mut Criterion) {
    let mut group = c.benchmark_group("findings");
    group.sample_size(20);
    for n in [10_000, 100_000] {
        let rows = active(n);
        let remote = histories(&rows);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| find_over(&rows, &remote))
        });
    }
    group.finish();
}

criterion_group!(benches, frame, engine);

/// `ENGINE_ONCE=N` runs the engine once over N executions and exits, for an
/// instruction count that no other load on the machine can move:
/// `valgrind --tool=callgrind --toggle-collect='*find_over*' <bench binary>`.
fn main() {
    if let Some(n) = std::env::var("ENGINE_ONCE")
        .ok()
        .and_then(|n| n.parse().ok())
    {
        let rows = active(n);
        let remote = histories(&rows);
        println!("{} findings over {n} executions", find_over(&rows, &remote));
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
