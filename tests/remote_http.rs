//! The HTTP tracker against a fake remote API on loopback: every answer a
//! real vendor API gives on a bad day.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use exectop::config::{DurationSpec, PollConfig, RemoteConfig, RemoteKind, StatusValues};
use exectop::domain::{RemoteAnswer, Status};
use exectop::remote::http::HttpTracker;
use exectop::remote::{LookupTarget, RemoteTracker};

#[derive(Default)]
struct Fake {
    hits: Mutex<Vec<(String, Instant, Option<String>)>>,
    flaky: AtomicUsize,
}

async fn answer(
    State(f): State<Arc<Fake>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    f.hits
        .lock()
        .unwrap()
        .push((id.clone(), Instant::now(), auth.clone()));
    match id.as_str() {
        "ok" => (StatusCode::OK, r#"{"execution":{"state":"SUCCEEDED"}}"#).into_response(),
        "odd" => (StatusCode::OK, r#"{"execution":{"state":"EXPLODED"}}"#).into_response(),
        "gone" => StatusCode::NOT_FOUND.into_response(),
        "busy" => {
            if f.flaky.fetch_add(1, Ordering::SeqCst) == 0 {
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("retry-after", "1")],
                    "slow down",
                )
                    .into_response()
            } else {
                (StatusCode::OK, r#"{"execution":{"state":"RUNNING"}}"#).into_response()
            }
        }
        "flaky" => {
            if f.flaky.fetch_add(1, Ordering::SeqCst) == 0 {
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            } else {
                (StatusCode::OK, r#"{"execution":{"state":"RUNNING"}}"#).into_response()
            }
        }
        "down" => StatusCode::BAD_GATEWAY.into_response(),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            (StatusCode::OK, r#"{"execution":{"state":"RUNNING"}}"#).into_response()
        }
        "garbage" => (StatusCode::OK, "{\"execution\": {\"sta").into_response(),
        "failed" => (
            StatusCode::OK,
            r#"{"execution":{"state":"FAILED","reason":"disk full","code":507}}"#,
        )
            .into_response(),
        "secret" => {
            if auth.as_deref() == Some("Bearer right-token") {
                (StatusCode::OK, r#"{"execution":{"state":"RUNNING"}}"#).into_response()
            } else {
                StatusCode::UNAUTHORIZED.into_response()
            }
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn list() -> Response {
    (StatusCode::OK, r#"{"items":[{"arn":"a1","execution":{"state":"RUNNING"},"name":"n1","started_at":"2026-11-24T10:00:00Z"},{"arn":7,"execution":{"state":"PENDING"}}]}"#).into_response()
}

async fn serve() -> (String, Arc<Fake>) {
    let fake = Arc::new(Fake::default());
    let app = Router::new()
        .route("/v1/executions/{id}", get(answer))
        .route("/v1/active", get(list))
        .with_state(fake.clone());
    (common::serve_loopback(app).await, fake)
}

fn tracker(base: &str, token_env: Option<&str>) -> HttpTracker {
    HttpTracker::new(&config(base, token_env), &poll()).unwrap()
}

fn poll() -> PollConfig {
    PollConfig {
        remote_timeout: Some(DurationSpec(Duration::from_millis(800))),
        ..Default::default()
    }
}

fn config(base: &str, token_env: Option<&str>) -> RemoteConfig {
    RemoteConfig {
        kind: RemoteKind::Http,
        base_url: Some(base.to_string()),
        status_path: Some("/v1/executions/{remote_id}".into()),
        status_pointer: Some("/execution/state".into()),
        list_active_path: Some("/v1/active".into()),
        list_pointer: Some("/items".into()),
        list_id_pointer: Some("/arn".into()),
        token_env: token_env.map(str::to_string),
        status_values: StatusValues {
            running: vec!["RUNNING".into()],
            pending: vec!["PENDING".into()],
            succeeded: vec!["SUCCEEDED".into()],
            ..Default::default()
        },
        ..Default::default()
    }
}

#[tokio::test]
async fn answers_become_observations() {
    let (base, fake) = serve().await;
    let t = tracker(&base, None);
    assert_eq!(
        t.lookup(&LookupTarget::remote_id("ok")).await,
        RemoteAnswer::Found {
            status: Status::Succeeded,
            raw: "SUCCEEDED".into()
        }
    );
    assert_eq!(
        t.lookup(&LookupTarget::remote_id("odd")).await,
        RemoteAnswer::Found {
            status: Status::Unknown,
            raw: "EXPLODED".into()
        }
    );
    assert_eq!(
        t.lookup(&LookupTarget::remote_id("gone")).await,
        RemoteAnswer::NotFound
    );
    match t.lookup(&LookupTarget::remote_id("garbage")).await {
        RemoteAnswer::Error { message } => assert!(message.contains("malformed JSON"), "{message}"),
        other => panic!("{other:?}"),
    }
    match t.lookup(&LookupTarget::remote_id("a/b c")).await {
        RemoteAnswer::NotFound => {}
        other => panic!("an id with / and space is encoded, not a path: {other:?}"),
    }
    assert!(
        fake.hits
            .lock()
            .unwrap()
            .iter()
            .any(|(id, _, _)| id == "a/b c")
    );
    assert!(t.health().ok);
}

#[tokio::test]
async fn the_fields_the_configuration_names_come_with_the_answer() {
    let (base, _fake) = serve().await;
    let mut remote = config(&base, None);
    remote.detail_fields = [
        ("reason".to_string(), "/execution/reason".to_string()),
        ("code".to_string(), "/execution/code".to_string()),
        ("absent".to_string(), "/execution/nothing".to_string()),
    ]
    .into();
    let t = HttpTracker::new(&remote, &poll()).unwrap();
    let (answer, detail) = t.lookup_detailed(&LookupTarget::remote_id("failed")).await;
    assert!(
        matches!(
            answer,
            RemoteAnswer::Found {
                status: Status::Unknown,
                ..
            }
        ),
        "{answer:?}"
    );
    let fields = detail.expect("the answer had named fields").fields.clone();
    assert_eq!(
        fields.into_iter().collect::<Vec<_>>(),
        [
            ("code".to_string(), "507".to_string()),
            ("reason".to_string(), "disk full".to_string())
        ]
    );
    // An answer with none of them has an empty detail: it replaces the
    // reason an earlier status had.
    let (_, detail) = t.lookup_detailed(&LookupTarget::remote_id("ok")).await;
    assert!(detail.expect("a detail, empty").is_empty());
    // Without named fields, no detail at all.
    let plain = tracker(&base, None);
    let (_, detail) = plain
        .lookup_detailed(&LookupTarget::remote_id("failed"))
        .await;
    assert_eq!(detail, None);
}

#[tokio::test]
async fn a_429_pauses_for_retry_after() {
    let (base, fake) = serve().await;
    let t = tracker(&base, None);
    match t.lookup(&LookupTarget::remote_id("busy")).await {
        RemoteAnswer::Throttled {
            retry_after_seconds,
        } => assert_eq!(retry_after_seconds, Some(1)),
        other => panic!("{other:?}"),
    }
    // While paused, nothing reaches the server.
    assert!(matches!(
        t.lookup(&LookupTarget::remote_id("busy")).await,
        RemoteAnswer::Throttled { .. }
    ));
    assert_eq!(fake.hits.lock().unwrap().len(), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(matches!(
        t.lookup(&LookupTarget::remote_id("busy")).await,
        RemoteAnswer::Found {
            status: Status::Running,
            ..
        }
    ));
    let hits = fake.hits.lock().unwrap();
    assert_eq!(hits.len(), 2);
    assert!(
        hits[1].1 - hits[0].1 >= Duration::from_millis(1000),
        "the second request waited out Retry-After"
    );
}

#[tokio::test]
async fn a_500_is_retried_and_recovers() {
    let (base, fake) = serve().await;
    let t = tracker(&base, None);
    assert!(matches!(
        t.lookup(&LookupTarget::remote_id("flaky")).await,
        RemoteAnswer::Found {
            status: Status::Running,
            ..
        }
    ));
    assert_eq!(fake.hits.lock().unwrap().len(), 2, "one failure, one retry");
    assert!(t.health().ok);
}

#[tokio::test]
async fn persistent_failures_end_in_an_error_then_degrade() {
    let (base, fake) = serve().await;
    let t = tracker(&base, None);
    match t.lookup(&LookupTarget::remote_id("down")).await {
        RemoteAnswer::Error { message } => assert_eq!(message, "remote API answered HTTP 502"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        fake.hits.lock().unwrap().len(),
        3,
        "first try and two retries with backoff"
    );
    assert!(!t.health().ok);
    for _ in 0..4 {
        t.lookup(&LookupTarget::remote_id("down")).await;
    }
    let health = t.health();
    assert!(
        health.degraded_until.is_some(),
        "five failures in a row degrade the tracker"
    );
    let before = fake.hits.lock().unwrap().len();
    assert!(
        matches!(
            t.lookup(&LookupTarget::remote_id("ok")).await,
            RemoteAnswer::Throttled { .. }
        ),
        "degraded: look-ups pause"
    );
    assert_eq!(fake.hits.lock().unwrap().len(), before);
}

#[tokio::test]
async fn a_slow_answer_times_out() {
    let (base, _fake) = serve().await;
    let t = tracker(&base, None);
    match t.lookup(&LookupTarget::remote_id("slow")).await {
        RemoteAnswer::Error { message } => assert_eq!(message, "request timed out"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_token_is_sent_and_never_shown() {
    let (base, fake) = serve().await;
    // SAFETY: each test uses its own variable name; no other thread reads it.
    unsafe { std::env::set_var("EXECTOP_TEST_TOKEN_RIGHT", "right-token") };
    unsafe { std::env::set_var("EXECTOP_TEST_TOKEN_WRONG", "wrong-token") };
    let right = tracker(&base, Some("EXECTOP_TEST_TOKEN_RIGHT"));
    assert!(matches!(
        right.lookup(&LookupTarget::remote_id("secret")).await,
        RemoteAnswer::Found { .. }
    ));
    assert_eq!(
        fake.hits.lock().unwrap()[0].2.as_deref(),
        Some("Bearer right-token")
    );
    assert!(!format!("{right:?}").contains("right-token"));
    let wrong = tracker(&base, Some("EXECTOP_TEST_TOKEN_WRONG"));
    match wrong.lookup(&LookupTarget::remote_id("secret")).await {
        // Refused credentials say nothing about the execution.
        RemoteAnswer::Unasked { message } => {
            assert_eq!(message, "not asked: authentication failed (HTTP 401)")
        }
        other => panic!("{other:?}"),
    }
    let health = wrong.health();
    assert_eq!(
        health.auth_failing.as_deref(),
        Some("authentication failed (HTTP 401)")
    );
    assert!(!health.ok);
    let remote = RemoteConfig {
        kind: RemoteKind::Http,
        base_url: Some(base),
        status_path: Some("/x/{remote_id}".into()),
        token_env: Some("EXECTOP_TEST_TOKEN_UNSET".into()),
        ..Default::default()
    };
    let err = HttpTracker::new(&remote, &PollConfig::default())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "remote.token_env names EXECTOP_TEST_TOKEN_UNSET, which is not set in the environment"
    );
}

#[tokio::test]
async fn the_list_endpoint_reads_ids_statuses_and_start_times() {
    let (base, _fake) = serve().await;
    let t = tracker(&base, None);
    assert!(t.can_list());
    let listed = t.list_active().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].remote_id, "a1");
    assert_eq!(listed[0].status, Status::Running);
    assert_eq!(listed[0].name.as_deref(), Some("n1"));
    assert!(listed[0].started_at.is_some());
    assert_eq!(listed[1].remote_id, "7", "numeric ids become text");
    assert_eq!(listed[1].status, Status::Pending);
}

#[tokio::test]
async fn no_second_sees_more_requests_than_the_rate_cap() {
    let (base, fake) = serve().await;
    let remote = RemoteConfig {
        kind: RemoteKind::Http,
        base_url: Some(base.clone()),
        status_path: Some("/v1/executions/{remote_id}".into()),
        status_pointer: Some("/execution/state".into()),
        ..Default::default()
    };
    let poll = PollConfig {
        remote_rate: Some(10.0),
        remote_concurrency: Some(40),
        ..Default::default()
    };
    let t = Arc::new(HttpTracker::new(&remote, &poll).unwrap());
    let lookups: Vec<_> = (0..35)
        .map(|_| {
            let t = t.clone();
            tokio::spawn(async move { t.lookup(&LookupTarget::remote_id("ok")).await })
        })
        .collect();
    for l in lookups {
        l.await.unwrap();
    }
    let times: Vec<Instant> = fake.hits.lock().unwrap().iter().map(|h| h.1).collect();
    assert_eq!(times.len(), 35);
    // The cap spaces the requests' starts; on a loaded machine one that
    // started on time may arrive late, next to the first of the following
    // second: one request of slack, and the whole run must still take as
    // long as 35 requests at 10 a second do.
    let first = times.iter().min().unwrap();
    let last = times.iter().max().unwrap();
    assert!(
        *last - *first >= Duration::from_millis(2_300),
        "35 requests at 10 a second took {:?}",
        *last - *first
    );
    let busiest = times
        .iter()
        .map(|&start| {
            times
                .iter()
                .filter(|&&t| t >= start && t < start + Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap();
    assert!(
        busiest <= 11,
        "{busiest} requests within one second, cap 10"
    );
}
