//! Paginated list endpoints over real HTTP on loopback: the HTTP tracker
//! following cursors and next-page links, the simulator's pages, and the
//! live poller applying a list of several pages as they arrive.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use exectop::config::{PollConfig, RemoteConfig, RemoteKind, StatusValues};
use exectop::domain::{FindingKind, Status};
use exectop::monitor::{self, MonitorControl, MonitorEvent, Poller};
use exectop::remote::RemoteTracker;
use exectop::remote::http::HttpTracker;
use exectop::sim::{self, ApiFaults, SimOptions};
use serde_json::{Value, json};

type Seen = Arc<Mutex<Vec<Option<String>>>>;

#[derive(serde::Deserialize)]
struct PageQuery {
    cursor: Option<String>,
    page: Option<String>,
}

/// Three pages: by `?cursor=` (`/v1/active`), or by next-page paths
/// (`/api/v1/linked`); `/api/v1/looping` names itself as its next page and
/// `/api/v1/elsewhere` points off the API's origin.
async fn serve() -> (String, Seen) {
    let seen: Seen = Arc::default();
    async fn by_cursor(State(seen): State<Seen>, Query(q): Query<PageQuery>) -> Response {
        seen.lock().unwrap().push(q.cursor.clone());
        let body = match q.cursor.as_deref() {
            None => json!({"items": [run("a1"), run("a2")], "next": "c 2"}),
            Some("c 2") => json!({"items": [run("a3")], "next": 3}),
            Some("3") => json!({"items": [run("a4")], "next": null}),
            Some(other) => {
                return (axum::http::StatusCode::BAD_REQUEST, other.to_string()).into_response();
            }
        };
        axum::Json(body).into_response()
    }
    async fn linked(State(seen): State<Seen>, Query(q): Query<PageQuery>) -> Response {
        seen.lock().unwrap().push(q.page.clone());
        let body = match q.page.as_deref() {
            None => json!({"items": [run("b1")], "next": "/api/v1/linked?page=2"}),
            _ => json!({"items": [run("b2")], "next": ""}),
        };
        axum::Json(body).into_response()
    }
    async fn looping() -> Response {
        axum::Json(json!({"items": [run("c1")], "next": "/api/v1/looping?page=1"})).into_response()
    }
    async fn elsewhere() -> Response {
        axum::Json(json!({"items": [run("d1")], "next": "http://192.0.2.1/steal"})).into_response()
    }
    let app = Router::new()
        .route("/api/v1/active", get(by_cursor))
        .route("/api/v1/linked", get(linked))
        .route("/api/v1/looping", get(looping))
        .route("/api/v1/elsewhere", get(elsewhere))
        .with_state(seen.clone());
    (common::serve_loopback(app).await, seen)
}

fn run(id: &str) -> Value {
    json!({"id": id, "state": "RUNNING"})
}

fn tracker(base: &str, path: &str, cursor_param: Option<&str>) -> HttpTracker {
    let remote = RemoteConfig {
        kind: RemoteKind::Http,
        base_url: Some(format!("{base}/api")),
        status_path: Some("/v1/executions/{remote_id}".into()),
        status_pointer: Some("/state".into()),
        list_active_path: Some(path.into()),
        list_pointer: Some("/items".into()),
        list_next_pointer: Some("/next".into()),
        list_cursor_param: cursor_param.map(str::to_string),
        status_values: StatusValues {
            running: vec!["RUNNING".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    HttpTracker::new(&remote, &PollConfig::default()).unwrap()
}

fn ids(runs: &[exectop::domain::RemoteExecution]) -> Vec<&str> {
    runs.iter().map(|r| r.remote_id.as_str()).collect()
}

#[tokio::test]
async fn a_cursor_goes_back_as_the_configured_query_parameter() {
    let (base, seen) = serve().await;
    let t = tracker(&base, "/v1/active", Some("cursor"));
    let runs = t.list_active().await.unwrap();
    assert_eq!(ids(&runs), ["a1", "a2", "a3", "a4"]);
    assert!(runs.iter().all(|r| r.status == Status::Running));
    assert_eq!(
        *seen.lock().unwrap(),
        [None, Some("c 2".to_string()), Some("3".to_string())],
        "the cursor is sent encoded and a numeric cursor as its digits"
    );
}

#[tokio::test]
async fn a_next_page_path_is_followed_on_the_apis_origin() {
    let (base, seen) = serve().await;
    let t = tracker(&base, "/v1/linked", None);
    let runs = t.list_active().await.unwrap();
    assert_eq!(ids(&runs), ["b1", "b2"], "an empty next ends the list");
    assert_eq!(*seen.lock().unwrap(), [None, Some("2".to_string())]);
}

#[tokio::test]
async fn a_next_page_elsewhere_is_refused_before_any_request() {
    let (base, _) = serve().await;
    let t = tracker(&base, "/v1/elsewhere", None);
    let err = t.list_active().await.unwrap_err().to_string();
    assert!(
        err.contains("\"http://192.0.2.1/steal\" is not a path or a URL under http://127.0.0.1"),
        "{err}"
    );
}

#[tokio::test]
async fn a_next_page_that_repeats_stops_the_list() {
    let (base, _) = serve().await;
    let t = tracker(&base, "/v1/looping", None);
    let err = t.list_active().await.unwrap_err().to_string();
    assert!(err.contains("is the page just read"), "{err}");
}

fn steady_sim(db_url: String, steady: usize) -> SimOptions {
    let demo = SimOptions::demo(db_url, 3);
    SimOptions {
        rate: 0.0,
        history: false,
        steady,
        api_faults: ApiFaults {
            slow_rate: 0.0,
            throttle_rate: 0.0,
            server_error_rate: 0.0,
            malformed_rate: 0.0,
            ..demo.api_faults.clone()
        },
        ..demo
    }
}

#[tokio::test]
async fn the_simulator_pages_its_list_in_id_order() {
    let (db, _) = common::sqlite_fresh_url();
    let handle = sim::start(steady_sim(db, 5)).await.unwrap();
    exectop::remote::install_tls_provider();
    let http = reqwest::Client::new();
    let mut after: Option<String> = None;
    let mut pages = Vec::new();
    loop {
        let mut url = format!("http://{}/executions?state=active&limit=2", handle.api_addr);
        if let Some(a) = &after {
            url.push_str(&format!("&after={a}"));
        }
        let body = http.get(&url).send().await.unwrap().bytes().await.unwrap();
        let page: Value = serde_json::from_slice(&body).unwrap();
        let ids: Vec<String> = page["executions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect();
        pages.push(ids.len());
        after = page["next"].as_str().map(str::to_string);
        if after.is_none() {
            break;
        }
        assert_eq!(after.as_deref(), ids.last().map(String::as_str));
    }
    assert_eq!(pages, [2, 2, 1]);
}

/// The live poller against the simulator: 2 500 active runs come in three
/// pages, every local row gets the remote's status, and the runs the
/// database lost (one on each page) become remote-only findings.
#[tokio::test]
async fn the_live_poller_applies_a_list_of_several_pages() {
    let (db, _) = common::sqlite_fresh_url();
    let handle = sim::start(steady_sim(db.clone(), 2_500)).await.unwrap();
    // In id order, pages of 1 000: one on each of the three pages.
    let lost = ["steady-3-17", "steady-3-2499", "steady-3-999"];
    for id in lost {
        common::execute(
            &handle.pool,
            format!("DELETE FROM exectop_executions WHERE remote_id = '{id}'"),
        )
        .await;
    }
    let mut config = sim::exectop_config_for(&db, handle.api_addr);
    config.ui.refresh = Some(exectop::config::DurationSpec(Duration::from_secs(1)));
    config.thresholds.registration_grace =
        Some(exectop::config::DurationSpec(Duration::from_secs(0)));
    let setup_store = exectop::store::Store::connect(&db, &config.table)
        .await
        .unwrap();
    let tracker = exectop::remote::build(&config, None).unwrap();
    let poller = Poller::new(setup_store, tracker, &config);
    let (events_tx, mut events) = tokio::sync::mpsc::channel(64);
    let (control, control_rx) = tokio::sync::mpsc::channel(4);
    let monitor = tokio::spawn(monitor::run(poller, events_tx, control_rx));

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let snapshot = loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("the list reached a snapshot within 30 s")
            .unwrap();
        let MonitorEvent::Snapshot(s) = event else {
            continue;
        };
        let remote_only: Vec<&str> = s
            .findings
            .iter()
            .filter(|f| f.kind == FindingKind::RemoteOnly)
            .filter_map(|f| f.remote_id.as_deref())
            .collect();
        if remote_only.len() == lost.len() {
            break s;
        }
    };
    control.send(MonitorControl::Shutdown).await.unwrap();
    monitor.await.unwrap();

    let mut remote_only: Vec<&str> = snapshot
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::RemoteOnly)
        .filter_map(|f| f.remote_id.as_deref())
        .collect();
    remote_only.sort_unstable();
    assert_eq!(remote_only, lost);
    assert_eq!(snapshot.active.len(), 2_500 - lost.len());
    let seen = snapshot
        .active
        .iter()
        .filter(|e| {
            snapshot
                .remote
                .get(e.id.as_str())
                .and_then(|h| h.remote_status())
                == Some(Status::Running)
        })
        .count();
    assert_eq!(
        seen,
        snapshot.active.len(),
        "every row on every page was recorded"
    );
    let stats = reqwest::get(format!("http://{}/_sim/stats", handle.api_addr))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let stats: Value = serde_json::from_slice(&stats).unwrap();
    assert!(stats["lists"].as_u64().unwrap() >= 3, "{}", stats["lists"]);
}
