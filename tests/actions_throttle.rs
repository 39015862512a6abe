//! Actions against a real HTTP tracker whose API throttles (429 with
//! Retry-After) on loopback: planning and the pre-write re-check wait the
//! throttle out, within a bound, instead of giving up on the row.

mod common;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use exectop::actions::{self, Target};
use exectop::config::{Config, PollConfig, RemoteConfig, RemoteKind, StatusValues};
use exectop::domain::Status;
use exectop::remote::RemoteTracker;
use exectop::remote::http::HttpTracker;
use exectop::store::{Actor, DbPool, Store, migrate};

/// Per remote id, the answers to give first (HTTP status, Retry-After);
/// after them every look-up answers SUCCEEDED.
#[derive(Default)]
struct Fake {
    script: Mutex<HashMap<String, VecDeque<(u16, u64)>>>,
    hits: Mutex<Vec<(String, Instant, u16)>>,
}

async fn answer(State(f): State<Arc<Fake>>, Path(id): Path<String>) -> Response {
    let next = f
        .script
        .lock()
        .unwrap()
        .get_mut(&id)
        .and_then(VecDeque::pop_front);
    let code = next.map_or(200, |(code, _)| code);
    f.hits.lock().unwrap().push((id, Instant::now(), code));
    match next {
        Some((429, after)) => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", after.to_string())],
            "slow down",
        )
            .into_response(),
        _ => (StatusCode::OK, r#"{"status":"SUCCEEDED"}"#).into_response(),
    }
}

async fn serve(script: &[(&str, &[(u16, u64)])]) -> (String, Arc<Fake>) {
    let fake = Arc::new(Fake::default());
    *fake.script.lock().unwrap() = script
        .iter()
        .map(|(id, answers)| (id.to_string(), answers.iter().copied().collect()))
        .collect();
    let app = Router::new()
        .route("/runs/{id}", get(answer))
        .with_state(fake.clone());
    (common::serve_loopback(app).await, fake)
}

fn tracker(base: &str) -> Arc<dyn RemoteTracker> {
    let remote = RemoteConfig {
        kind: RemoteKind::Http,
        base_url: Some(base.to_string()),
        status_path: Some("/runs/{remote_id}".into()),
        status_values: StatusValues {
            running: vec!["RUNNING".into()],
            succeeded: vec!["SUCCEEDED".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    Arc::new(HttpTracker::new(&remote, &PollConfig::default()).unwrap())
}

/// The native table with `n` running rows, ids 1..=n, remote ids r1..rn.
async fn native_store(url: &str, n: usize) -> Store {
    let pool = DbPool::connect(url, true).await.unwrap();
    migrate::apply(&pool, true).await.unwrap();
    for i in 1..=n {
        let sql = format!(
            "INSERT INTO exectop_executions (id, remote_id, status) VALUES ({i}, 'r{i}', 'running')"
        );
        common::execute(&pool, sql).await;
    }
    Store::with_pool(pool, url, &Config::default().table)
}

fn targets(n: usize) -> Vec<Target> {
    (1..=n)
        .map(|i| Target {
            id: i.to_string(),
            seen: Some(Status::Running),
        })
        .collect()
}

fn actor() -> Actor {
    Actor {
        operator: "alice".into(),
        host: "ops-1".into(),
    }
}

async fn a_429_is_waited_out_in_plan_and_apply(url: &str) {
    let store = native_store(url, 4).await;
    // r2 is throttled when planned, r3 when re-checked before the write.
    let (base, fake) = serve(&[("r2", &[(429, 1)]), ("r3", &[(200, 0), (429, 1)])]).await;
    let tracker = tracker(&base);

    let started = Instant::now();
    let plan = actions::plan_reconcile(&store, Some(&tracker), &targets(4))
        .await
        .unwrap();
    for item in &plan.items {
        assert_eq!(
            item.after,
            Some(Status::Succeeded),
            "{}: {}",
            item.execution_id,
            item.note
        );
    }
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the plan waited out Retry-After"
    );
    {
        let hits = fake.hits.lock().unwrap();
        let r2: Vec<_> = hits.iter().filter(|h| h.0 == "r2").collect();
        assert_eq!(r2.len(), 2, "r2 asked again after the 429");
        assert!(r2[1].1 - r2[0].1 >= Duration::from_secs(1));
    }

    let outcomes = actions::apply(&store, Some(&tracker), &plan, &actor(), false)
        .await
        .unwrap();
    for o in &outcomes {
        assert_eq!(o.applied, Ok(()), "{}", o.execution_id);
    }
    let r3: Vec<_> = fake
        .hits
        .lock()
        .unwrap()
        .iter()
        .filter(|h| h.0 == "r3")
        .map(|h| h.2)
        .collect();
    assert_eq!(r3, [200, 429, 200], "the re-check was asked again");
    let rows = store
        .by_ids(&["1".into(), "2".into(), "3".into(), "4".into()])
        .await
        .unwrap();
    assert!(rows.iter().all(|r| r.status == Status::Succeeded));
    assert_eq!(store.recent_audit(100).await.unwrap().len(), 4);
}

#[tokio::test]
async fn a_429_is_waited_out_in_plan_and_apply_on_sqlite() {
    let (url, _) = common::sqlite_fresh_url();
    a_429_is_waited_out_in_plan_and_apply(&url).await;
}

#[tokio::test]
async fn a_429_is_waited_out_in_plan_and_apply_on_postgres() {
    let url = common::pg_fresh_url().await;
    a_429_is_waited_out_in_plan_and_apply(&url).await;
}

#[tokio::test]
async fn a_wait_longer_than_the_bound_leaves_rows_alone_with_the_reason() {
    let (url, _) = common::sqlite_fresh_url();
    let store = native_store(&url, 3).await;
    let (base, fake) = serve(&[("r1", &[(429, 60)])]).await;
    let tracker = tracker(&base);
    let started = Instant::now();
    let plan = actions::plan_reconcile(&store, Some(&tracker), &targets(3))
        .await
        .unwrap();
    assert!(
        started.elapsed() < actions::THROTTLE_BUDGET,
        "no waiting for a Retry-After past the bound"
    );
    // The tracker honours the 60 s pause for every row: none is asked.
    assert_eq!(fake.hits.lock().unwrap().len(), 1);
    for item in &plan.items {
        assert_eq!(item.after, None);
        assert!(
            item.note.contains("the remote API is throttling us") && item.note.contains("60s"),
            "{}",
            item.note
        );
    }
    let outcomes = actions::apply(&store, Some(&tracker), &plan, &actor(), false)
        .await
        .unwrap();
    assert!(outcomes.iter().all(|o| o.applied.is_err()));
    assert!(store.recent_audit(100).await.unwrap().is_empty());
}
