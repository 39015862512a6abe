//! Team mode on PostgreSQL: instances watching one table through one tracker
//! elect one remote poller with an advisory lock; the others read its
//! answers (LISTEN/NOTIFY and exectop's observations table) and send the
//! remote nothing. When the poller goes (its task ends and its connection
//! closes, or the server terminates its session), another takes over.
//!
//! Every instance here reaches the same fake remote under a path of its own
//! (`/i0/…`, `/i1/…`): the tracker's scope is its host, so they share one
//! poller, and the fake can tell who asked.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use exectop::config::{Config, DurationSpec, RemoteConfig, RemoteKind, StatusValues};
use exectop::domain::FindingKind;
use exectop::monitor::{self, MonitorControl, MonitorEvent, Poller, RemoteVia, Snapshot};
use exectop::remote::RemoteTracker;
use exectop::remote::http::HttpTracker;
use exectop::store::{DbPool, Store, migrate};
use serde_json::json;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// Requests the fake received, by instance prefix.
type Asked = Arc<Mutex<BTreeMap<String, usize>>>;

async fn fake_remote() -> (String, Asked) {
    let asked: Asked = Arc::default();
    async fn status(
        State(asked): State<Asked>,
        Path((instance, id)): Path<(String, String)>,
    ) -> axum::Json<serde_json::Value> {
        *asked.lock().unwrap().entry(instance).or_default() += 1;
        let state = if id == "r-done" {
            "SUCCEEDED"
        } else {
            "RUNNING"
        };
        axum::Json(json!({ "state": state }))
    }
    let app = Router::new()
        .route("/{instance}/executions/{id}", get(status))
        .with_state(asked.clone());
    (common::serve_loopback(app).await, asked)
}

const REMOTE_INTERVAL: Duration = Duration::from_secs(3);

fn config(base: &str, instance: usize) -> Config {
    let mut config = Config::default();
    config.poll.database_interval = Some(DurationSpec(Duration::from_secs(1)));
    config.poll.remote_interval = Some(DurationSpec(REMOTE_INTERVAL));
    config.remote = RemoteConfig {
        kind: RemoteKind::Http,
        base_url: Some(format!("{base}/i{instance}")),
        status_path: Some("/executions/{remote_id}".into()),
        status_pointer: Some("/state".into()),
        status_values: StatusValues {
            running: vec!["RUNNING".into()],
            succeeded: vec!["SUCCEEDED".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    config
}

/// One monitor, as `exectop` runs it, with its latest snapshot.
struct Instance {
    task: JoinHandle<()>,
    latest: watch::Receiver<Option<Arc<Snapshot>>>,
    _control: mpsc::Sender<MonitorControl>,
}

async fn start(url: &str, base: &str, n: usize) -> Instance {
    start_with(url, config(base, n)).await
}

async fn start_with(url: &str, config: Config) -> Instance {
    let pool = DbPool::connect(url, true).await.unwrap();
    let store = Store::with_pool(pool, url, &config.table);
    let tracker: Arc<dyn RemoteTracker> =
        Arc::new(HttpTracker::new(&config.remote, &config.poll).unwrap());
    let poller = Poller::new(store, Some(tracker), &config);
    let (events, mut received) = mpsc::channel(16);
    let (control, controls) = mpsc::channel(4);
    let (publish, latest) = watch::channel(None);
    let task = tokio::spawn(async move {
        let monitor = tokio::spawn(monitor::run(poller, events, controls));
        while let Some(event) = received.recv().await {
            if let MonitorEvent::Snapshot(s) = event {
                let _ = publish.send(Some(s));
            }
        }
        monitor.abort();
    });
    Instance {
        task,
        latest,
        _control: control,
    }
}

impl Instance {
    fn via(&self) -> Option<RemoteVia> {
        let snap = self.latest.borrow().clone()?;
        snap.remote_health.as_ref()?.via.clone()
    }

    fn sees_the_finished_run(&self) -> bool {
        self.latest.borrow().as_ref().is_some_and(|s| {
            s.findings.iter().any(|f| {
                f.kind == FindingKind::StatusMismatch && f.remote_id.as_deref() == Some("r-done")
            })
        })
    }
}

async fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "{what}: not within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn who_asked(asked: &Asked) -> BTreeMap<String, usize> {
    asked.lock().unwrap().clone()
}

/// Requests per instance over `window`.
async fn asked_during(asked: &Asked, window: Duration) -> BTreeMap<String, usize> {
    let before = who_asked(asked);
    tokio::time::sleep(window).await;
    let mut during = who_asked(asked);
    for (who, n) in &mut during {
        *n -= before.get(who).copied().unwrap_or(0);
    }
    during.retain(|_, n| *n > 0);
    during
}

async fn planted() -> (common::PgSchema, DbPool) {
    let schema = common::pg_fresh_url().await;
    let pool = DbPool::connect(&schema, true).await.unwrap();
    migrate::apply(&pool, true).await.unwrap();
    for id in ["r-1", "r-2", "r-3", "r-done"] {
        common::execute(
            &pool,
            format!(
                "INSERT INTO exectop_executions (status, remote_id, name, created_at, started_at, updated_at) \
                 VALUES ('running', '{id}', 'job-{id}', now() - interval '10 minutes', \
                 now() - interval '10 minutes', now() - interval '10 minutes')"
            ),
        )
        .await;
    }
    (schema, pool)
}

/// The poller's session, as the server lists the advisory lock of this
/// test's scope (other tests hold locks of their own in the same database).
async fn poller_backend(url: &str, pool: &DbPool, base: &str) -> Option<i32> {
    let store = Store::with_pool(pool.clone(), url, &Config::default().table);
    let host = base.trim_start_matches("http://");
    let scope = store
        .sharing_scope(&format!("http {host}"))
        .await
        .unwrap()
        .unwrap();
    let DbPool::Postgres(pg) = pool else {
        unreachable!()
    };
    sqlx::query_scalar(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 \
         AND ((classid::bigint << 32) | objid::bigint) = $1 \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .bind(scope.key)
    .fetch_optional(pg)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_instance_asks_the_remote_and_every_instance_sees_its_answers() {
    let (schema, _pool) = planted().await;
    let (base, asked) = fake_remote().await;
    let instances = [
        start(&schema, &base, 0).await,
        start(&schema, &base, 1).await,
        start(&schema, &base, 2).await,
    ];
    wait_until(
        "every instance sees the run the remote finished",
        30 * REMOTE_INTERVAL,
        || instances.iter().all(Instance::sees_the_finished_run),
    )
    .await;
    let vias: Vec<Option<RemoteVia>> = instances.iter().map(Instance::via).collect();
    assert_eq!(
        vias.iter()
            .filter(|v| **v == Some(RemoteVia::Direct))
            .count(),
        1,
        "one poller: {vias:?}"
    );
    assert_eq!(
        vias.iter()
            .filter(|v| matches!(v, Some(RemoteVia::Poller { .. })))
            .count(),
        2,
        "two followers: {vias:?}"
    );
    // Over two remote intervals only the poller asks, each run about once an interval.
    let during = asked_during(&asked, 2 * REMOTE_INTERVAL).await;
    assert_eq!(during.len(), 1, "one instance asked the remote: {during:?}");
    let requests: usize = during.values().sum();
    assert!(
        (4..=16).contains(&requests),
        "4 runs asked about once every {REMOTE_INTERVAL:?} for two intervals: {requests}"
    );
    for i in instances {
        i.task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn another_instance_takes_over_when_the_poller_goes_or_its_session_is_terminated() {
    let (schema, pool) = planted().await;
    let (base, asked) = fake_remote().await;
    let mut instances: Vec<Option<Instance>> = Vec::new();
    for n in 0..3 {
        instances.push(Some(start(&schema, &base, n).await));
    }
    wait_until("a poller asks the remote", 10 * REMOTE_INTERVAL, || {
        !who_asked(&asked).is_empty()
    })
    .await;
    let first = asked_during(&asked, REMOTE_INTERVAL).await;
    assert_eq!(first.len(), 1, "{first:?}");
    let poller: usize = first.keys().next().unwrap()[1..].parse().unwrap();

    // The poller's process goes: its task ends, its connections close.
    let gone = instances[poller].take().unwrap();
    gone.task.abort();
    let _ = gone.task.await;
    let went = Instant::now();
    wait_until(
        "another instance asks",
        2 * REMOTE_INTERVAL + Duration::from_secs(2),
        || who_asked(&asked).keys().any(|k| k != &format!("i{poller}")),
    )
    .await;
    let took = went.elapsed();
    let after = asked_during(&asked, REMOTE_INTERVAL).await;
    assert_eq!(after.len(), 1, "one poller after the takeover: {after:?}");
    let second: usize = after.keys().next().unwrap()[1..].parse().unwrap();
    assert_ne!(second, poller);
    assert!(took <= 2 * REMOTE_INTERVAL, "took over in {took:?}");

    // The server terminates the new poller's session: it must stop asking,
    // and the third instance takes over.
    let pid = poller_backend(&schema, &pool, &base)
        .await
        .expect("the poller holds the lock");
    let DbPool::Postgres(pg) = &pool else {
        unreachable!()
    };
    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(pg)
        .await
        .unwrap();
    assert!(killed);
    let terminated = Instant::now();
    wait_until(
        "the third instance asks",
        2 * REMOTE_INTERVAL + Duration::from_secs(2),
        || {
            who_asked(&asked)
                .keys()
                .any(|k| k != &format!("i{poller}") && k != &format!("i{second}"))
        },
    )
    .await;
    assert!(terminated.elapsed() <= 2 * REMOTE_INTERVAL);
    let last = asked_during(&asked, 2 * REMOTE_INTERVAL).await;
    assert_eq!(
        last.len(),
        1,
        "the terminated poller stopped asking; one poller again: {last:?}"
    );
    assert!(!last.contains_key(&format!("i{second}")), "{last:?}");
    for i in instances.into_iter().flatten() {
        i.task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_sharing_off_every_instance_asks_for_itself() {
    let (schema, _pool) = planted().await;
    let (base, asked) = fake_remote().await;
    let mut tasks = Vec::new();
    for n in 0..2 {
        let mut config = config(&base, n);
        config.poll.share_remote = Some(false);
        let pool = DbPool::connect(&schema, true).await.unwrap();
        let store = Store::with_pool(pool, &schema, &config.table);
        let tracker: Arc<dyn RemoteTracker> =
            Arc::new(HttpTracker::new(&config.remote, &config.poll).unwrap());
        let poller = Poller::new(store, Some(tracker), &config);
        let (events, mut received) = mpsc::channel(16);
        let (control, controls) = mpsc::channel(4);
        tasks.push(tokio::spawn(async move {
            let _control = control;
            let monitor = tokio::spawn(monitor::run(poller, events, controls));
            while received.recv().await.is_some() {}
            monitor.abort();
        }));
    }
    wait_until("both instances ask", 10 * REMOTE_INTERVAL, || {
        who_asked(&asked).len() == 2
    })
    .await;
    for t in tasks {
        t.abort();
    }
}

/// Team mode hears a triage change at once: with a database poll only
/// every 30 s, a claim made elsewhere shows within a few seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_triage_change_reaches_every_instance_without_waiting_for_a_poll() {
    use exectop::domain::triage::{FindingKey, TriageChange};
    let (schema, pool) = planted().await;
    let (base, _asked) = fake_remote().await;
    let slow = |n| {
        let mut c = config(&base, n);
        c.poll.database_interval = Some(DurationSpec(Duration::from_secs(30)));
        c
    };
    let instances = [
        start_with(&schema, slow(0)).await,
        start_with(&schema, slow(1)).await,
    ];
    wait_until("both see the finished run", 30 * REMOTE_INTERVAL, || {
        instances.iter().all(Instance::sees_the_finished_run)
    })
    .await;
    let store = Store::with_pool(pool, &schema, &Config::default().table);
    let key = FindingKey {
        subject: instances[0]
            .latest
            .borrow()
            .as_ref()
            .unwrap()
            .findings
            .iter()
            .find(|f| f.kind == FindingKind::StatusMismatch)
            .and_then(|f| f.execution_id.clone())
            .unwrap(),
        kind: FindingKind::StatusMismatch,
    };
    let claimed = Instant::now();
    store
        .change_triage(
            &key,
            &TriageChange::Claim,
            1,
            &exectop::store::Actor {
                operator: "alice".into(),
                host: "ops-1".into(),
            },
        )
        .await
        .unwrap();
    wait_until("both show the claim", Duration::from_secs(10), || {
        instances.iter().all(|i| {
            i.latest
                .borrow()
                .as_ref()
                .is_some_and(|s| s.triage.values().any(|t| t.claimed.is_some()))
        })
    })
    .await;
    assert!(
        claimed.elapsed() < Duration::from_secs(10),
        "heard before the next 30 s poll"
    );
    for i in instances {
        i.task.abort();
    }
}
