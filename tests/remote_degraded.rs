//! A remote API that dies under a full load of concurrent look-ups: the
//! tracker logs the degradation once and the recovery once, and requests
//! that were in flight do not stretch its pauses.

mod common;

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use exectop::config::{PollConfig, RemoteConfig, RemoteKind, StatusValues};
use exectop::domain::RemoteAnswer;
use exectop::remote::http::HttpTracker;
use exectop::remote::{LookupTarget, RemoteTracker};

#[derive(Default)]
struct Fake {
    down: AtomicBool,
    hits: AtomicUsize,
}

async fn answer(State(f): State<Arc<Fake>>) -> Response {
    f.hits.fetch_add(1, Ordering::SeqCst);
    if f.down.load(Ordering::SeqCst) {
        StatusCode::BAD_GATEWAY.into_response()
    } else {
        (StatusCode::OK, r#"{"status":"RUNNING"}"#).into_response()
    }
}

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    fn lines_with(&self, needle: &str) -> usize {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .filter(|l| l.contains(needle))
            .count()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dead_remote_is_logged_once_and_shown_degraded_until_it_answers() {
    let log = Log::default();
    let writer = log.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .init();

    let fake = Arc::new(Fake::default());
    let app = Router::new()
        .route("/runs/{id}", get(answer))
        .with_state(fake.clone());
    let base = common::serve_loopback(app).await;
    let remote = RemoteConfig {
        kind: RemoteKind::Http,
        base_url: Some(base),
        status_path: Some("/runs/{remote_id}".into()),
        status_values: StatusValues {
            running: vec!["RUNNING".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    let poll = PollConfig {
        remote_concurrency: Some(10),
        remote_rate: Some(1000.0),
        ..Default::default()
    };
    let t = Arc::new(HttpTracker::new(&remote, &poll).unwrap());

    fake.down.store(true, Ordering::SeqCst);
    // Two poll rounds' worth of look-ups in flight when the remote dies.
    let lookups: Vec<_> = (0..30)
        .map(|i| {
            let t = t.clone();
            tokio::spawn(async move { t.lookup(&LookupTarget::remote_id(&format!("r{i}"))).await })
        })
        .collect();
    for l in lookups {
        l.await.unwrap();
    }
    assert_eq!(log.lines_with("degraded"), 1, "one transition, one line");
    let health = t.health();
    assert!(!health.ok);
    let until = health.degraded_until.expect("degraded");
    let pause = (until - chrono::Utc::now()).num_milliseconds();
    assert!(
        (1..=5_000).contains(&pause),
        "the first pause is the shortest, not lengthened by requests in flight: {pause} ms"
    );

    // The pause is over: the poller may probe (it skips rounds only while
    // `degraded_until` lies ahead), and nothing has answered yet: still
    // degraded, not merely down.
    tokio::time::sleep(Duration::from_millis(pause as u64 + 100)).await;
    let health = t.health();
    assert!(
        health
            .degraded_until
            .is_some_and(|u| u <= chrono::Utc::now())
            && !health.ok,
        "{health:?}"
    );
    // The probe fails: one more pause, longer, and no second warning.
    let probes: Vec<_> = (0..10)
        .map(|i| {
            let t = t.clone();
            tokio::spawn(async move { t.lookup(&LookupTarget::remote_id(&format!("p{i}"))).await })
        })
        .collect();
    for p in probes {
        p.await.unwrap();
    }
    let until = t.health().degraded_until.expect("paused again");
    let pause = (until - chrono::Utc::now()).num_milliseconds();
    assert!((5_001..=10_000).contains(&pause), "{pause} ms");
    assert_eq!(log.lines_with("degraded"), 1);
    tokio::time::sleep(Duration::from_millis(pause as u64 + 100)).await;

    fake.down.store(false, Ordering::SeqCst);
    assert!(matches!(
        t.lookup(&LookupTarget::remote_id("r1")).await,
        RemoteAnswer::Found { .. }
    ));
    for i in 0..5 {
        t.lookup(&LookupTarget::remote_id(&format!("r{i}"))).await;
    }
    let health = t.health();
    assert!(health.ok && health.degraded_until.is_none(), "{health:?}");
    assert_eq!(log.lines_with("recovered"), 1, "one recovery, one line");
    assert_eq!(log.lines_with("degraded"), 1);
}
