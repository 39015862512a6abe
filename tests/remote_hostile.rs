//! A remote that is broken or hostile, on loopback: it cannot crash exectop
//! (absurd `Retry-After`), fill its memory (endless answers), walk its
//! requests out of their path (ids made of dots), or fool the findings (a
//! gateway answering 404 to everything, throttling, garbage).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use common::cli::{env, exectop, text};
use exectop::config::{PollConfig, RemoteConfig, RemoteKind, StatusValues};
use exectop::domain::RemoteAnswer;
use exectop::remote::http::HttpTracker;
use exectop::remote::{LookupTarget, RemoteTracker};

#[derive(Default)]
struct Fake {
    /// Every path asked for, with its method.
    hits: Mutex<Vec<String>>,
    chunks_sent: AtomicUsize,
}

async fn one(State(f): State<Arc<Fake>>, Path(id): Path<String>, uri: Uri) -> Response {
    f.hits.lock().unwrap().push(format!("GET {}", uri.path()));
    match id.as_str() {
        "forever" => StatusCode::TOO_MANY_REQUESTS
            .into_response()
            .with_header("retry-after", "18446744073709551615"),
        "longer-than-u64" => StatusCode::TOO_MANY_REQUESTS
            .into_response()
            .with_header("retry-after", "99999999999999999999999999"),
        "endless" => {
            let fake = f.clone();
            let chunk = Bytes::from(vec![b' '; 64 << 10]);
            let stream = futures_util::stream::repeat_with(move || {
                fake.chunks_sent.fetch_add(1, Ordering::SeqCst);
                Ok::<_, std::io::Error>(chunk.clone())
            });
            (StatusCode::OK, Body::from_stream(stream)).into_response()
        }
        "huge" => (StatusCode::OK, vec![b' '; 3 << 20]).into_response(),
        "garbage" => (StatusCode::OK, "<html>gateway</html>").into_response(),
        "no-status" => (StatusCode::OK, r#"{"state":{"nested":1}}"#).into_response(),
        _ => (StatusCode::OK, r#"{"status":"RUNNING"}"#).into_response(),
    }
}

async fn stop(State(f): State<Arc<Fake>>, uri: Uri) -> Response {
    f.hits.lock().unwrap().push(format!("POST {}", uri.path()));
    StatusCode::OK.into_response()
}

trait WithHeader {
    fn with_header(self, name: &'static str, value: &'static str) -> Response;
}

impl WithHeader for Response {
    fn with_header(mut self, name: &'static str, value: &'static str) -> Response {
        self.headers_mut()
            .insert(name, axum::http::HeaderValue::from_static(value));
        self
    }
}

async fn serve() -> (String, Arc<Fake>) {
    let fake = Arc::new(Fake::default());
    let app = Router::new()
        .route("/runs/{id}", get(one))
        .route("/runs/{id}/stop", post(stop))
        .fallback(stop)
        .with_state(fake.clone());
    (common::serve_loopback(app).await, fake)
}

fn tracker(base: &str, max_answer_bytes: Option<u64>) -> HttpTracker {
    let remote = RemoteConfig {
        kind: RemoteKind::Http,
        base_url: Some(base.to_string()),
        status_path: Some("/runs/{remote_id}".into()),
        stop_path: Some("/runs/{remote_id}/stop".into()),
        max_answer_bytes,
        status_values: StatusValues {
            running: vec!["RUNNING".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    let poll = PollConfig {
        remote_rate: Some(1000.0),
        ..Default::default()
    };
    HttpTracker::new(&remote, &poll).unwrap()
}

#[tokio::test]
async fn an_absurd_retry_after_is_read_as_an_hour_and_shows_degraded() {
    let (base, _fake) = serve().await;
    for id in ["forever", "longer-than-u64"] {
        let t = tracker(&base, None);
        assert_eq!(
            t.lookup(&LookupTarget::remote_id(id)).await,
            RemoteAnswer::Throttled {
                retry_after_seconds: Some(3600)
            },
            "{id}"
        );
        let health = t.health();
        assert!(!health.ok, "a throttling remote is not ok: {health:?}");
        let until = health.degraded_until.expect("throttled shows as degraded");
        let pause = (until - chrono::Utc::now()).num_seconds();
        assert!((3590..=3600).contains(&pause), "{pause}");
        assert!(
            health.last_error.as_deref().unwrap().contains("429"),
            "{health:?}"
        );
    }
}

#[tokio::test]
async fn an_endless_answer_is_refused_at_the_cap_and_counts_against_health() {
    let (base, fake) = serve().await;
    let t = tracker(&base, Some(1 << 20));
    match t.lookup(&LookupTarget::remote_id("endless")).await {
        RemoteAnswer::Error { message } => assert!(
            message.contains("larger than 1048576 bytes (remote.max_answer_bytes)"),
            "{message}"
        ),
        other => panic!("{other:?}"),
    }
    // The body was streamed, not read whole: reading stopped near the cap
    // (what the fake produced past it sat in socket buffers), where reading
    // to the request's timeout would take gigabytes on loopback.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sent = fake.chunks_sent.load(Ordering::SeqCst);
    assert!(sent >= 16, "the fake did stream ({sent} chunks)");
    assert!(
        sent < 512,
        "reading stopped at the cap, not after {sent} chunks of 64 KiB"
    );
    assert!(!t.health().ok);
    // A declared length over the cap is refused without reading.
    match t.lookup(&LookupTarget::remote_id("huge")).await {
        RemoteAnswer::Error { message } => assert!(message.contains("larger than"), "{message}"),
        other => panic!("{other:?}"),
    }
    // Under the default cap (4 MiB) the same answer is read (and is not JSON).
    let roomy = tracker(&base, None);
    match roomy.lookup(&LookupTarget::remote_id("huge")).await {
        RemoteAnswer::Error { message } => assert!(message.contains("malformed JSON"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn unparseable_answers_count_against_health_until_the_remote_degrades() {
    let (base, _fake) = serve().await;
    let t = tracker(&base, None);
    assert!(matches!(
        t.lookup(&LookupTarget::remote_id("ok")).await,
        RemoteAnswer::Found { .. }
    ));
    assert!(t.health().ok, "positive control: a good answer is ok");
    for id in ["garbage", "no-status", "garbage", "no-status", "garbage"] {
        assert!(matches!(
            t.lookup(&LookupTarget::remote_id(id)).await,
            RemoteAnswer::Error { .. }
        ));
    }
    let health = t.health();
    assert!(!health.ok);
    assert!(
        health.degraded_until.is_some(),
        "five unparseable answers in a row degrade the tracker: {health:?}"
    );
}

#[tokio::test]
async fn ids_never_leave_their_path_segment() {
    let (base, fake) = serve().await;
    let t = tracker(&base, None);
    for id in ["..", ".", "...."] {
        match t.lookup(&LookupTarget::remote_id(id)).await {
            // Not asked: the id cannot be sent, which says nothing of the remote.
            RemoteAnswer::Unasked { message } => {
                assert!(message.contains("only of dots"), "{message}")
            }
            other => panic!("{id}: {other:?}"),
        }
        let refused = t
            .stop(&LookupTarget::remote_id(id), "test")
            .await
            .unwrap_err()
            .to_string();
        assert!(refused.contains("only of dots"), "{refused}");
    }
    assert!(
        fake.hits.lock().unwrap().is_empty(),
        "nothing was sent: {:?}",
        fake.hits.lock().unwrap()
    );
    // Slashes, dots and percent signs inside an id stay inside its segment.
    for id in ["../../admin", "a/../b", "%2e%2e", "x?y#z"] {
        assert!(
            matches!(
                t.lookup(&LookupTarget::remote_id(id)).await,
                RemoteAnswer::Found { .. }
            ),
            "{id}"
        );
        t.stop(&LookupTarget::remote_id(id), "test").await.unwrap();
    }
    let hits = fake.hits.lock().unwrap().clone();
    assert_eq!(hits.len(), 8, "{hits:?}");
    for hit in &hits {
        let path = hit.split_once(' ').unwrap().1;
        assert!(path.starts_with("/runs/"), "{hit}");
        let segments = path.trim_start_matches("/runs/").split('/').count();
        let expected = if hit.starts_with("POST") { 2 } else { 1 };
        assert_eq!(segments, expected, "one segment for the id: {hit}");
    }
    assert!(
        hits.iter().any(|h| h == "POST /runs/..%2F..%2Fadmin/stop"),
        "{hits:?}"
    );
}

/// A gateway in front of the remote (a wrong base path, an egress filter)
/// answers 404 to everything: `check` must not call every run missing.
async fn everything_missing(State(count): State<Arc<AtomicUsize>>) -> Response {
    count.fetch_add(1, Ordering::SeqCst);
    StatusCode::NOT_FOUND.into_response()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_answering_404_to_everything_is_suspect_not_a_wave_of_missing_runs() {
    let asked = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .fallback(everything_missing)
        .with_state(asked.clone());
    let base = common::serve_loopback(app).await;
    let rows: Vec<(i64, String)> = (1..=6).map(|i| (i, format!("run-{i}"))).collect();
    let planted: Vec<(i64, &str, &str, i64)> = rows
        .iter()
        .map(|(id, r)| (*id, r.as_str(), "running", 10))
        .collect();
    let e = env(&base, &planted).await;
    e.without_list();
    let cfg = e.config.to_str().unwrap();
    let out = exectop(&e.dir, &["check", "--json", "--config", cfg], &[]).await;
    let stdout = text(&out.stdout);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|err| {
        panic!("{err}: {stdout}\n{}", text(&out.stderr));
    });
    assert!(
        asked.load(Ordering::SeqCst) >= 6,
        "positive control: every row was asked about"
    );
    let kinds: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert!(
        !kinds.contains(&"remote_not_found"),
        "no run is called missing: {kinds:?}"
    );
    let remote = &report["health"]["remote"];
    assert_eq!(remote["ok"], false, "{remote}");
    assert!(
        remote["suspect"]
            .as_str()
            .is_some_and(|s| s.starts_with("6 of 6 look-ups answered not found")),
        "{remote}"
    );
    let human = exectop(&e.dir, &["check", "--config", cfg], &[]).await;
    assert!(
        text(&human.stdout).contains("remote http 127.0.0.1"),
        "{}",
        text(&human.stdout)
    );
    assert!(text(&human.stdout).contains("not ok: 6 of 6 look-ups answered not found"));
}

/// The same gateway with two runs it really does not know among runs it
/// answers: those two are still reported missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_few_unknown_runs_among_known_ones_are_still_reported_missing() {
    async fn some_missing(Path(id): Path<String>) -> Response {
        if id.starts_with("lost-") {
            StatusCode::NOT_FOUND.into_response()
        } else {
            (StatusCode::OK, r#"{"status":"RUNNING"}"#).into_response()
        }
    }
    let app = Router::new().route("/runs/{id}", get(some_missing));
    let base = common::serve_loopback(app).await;
    let e = env(
        &base,
        &[
            (1, "lost-1", "running", 10),
            (2, "lost-2", "running", 10),
            (3, "run-3", "running", 10),
            (4, "run-4", "running", 10),
            (5, "run-5", "running", 10),
        ],
    )
    .await;
    e.without_list();
    let cfg = e.config.to_str().unwrap();
    let out = exectop(&e.dir, &["check", "--json", "--config", cfg], &[]).await;
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let missing: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "remote_not_found")
        .map(|f| f["execution_id"].as_str().unwrap())
        .collect();
    assert_eq!(missing, ["1", "2"], "{report}");
    assert!(report["health"]["remote"]["suspect"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_survives_an_absurd_retry_after_with_one_line_not_a_panic() {
    let (base, _fake) = serve().await;
    let e = env(&base, &[(1, "forever", "running", 10)]).await;
    e.without_list();
    let cfg = e.config.to_str().unwrap();
    let started = std::time::Instant::now();
    let out = exectop(&e.dir, &["check", "--json", "--config", cfg], &[]).await;
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "check does not wait the hour out"
    );
    let code = out.status.code().unwrap();
    assert!(code == 0 || code == 1, "exit {code}: {}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["health"]["remote"]["ok"], false);
    assert!(!text(&out.stderr).contains("panicked"));
}
