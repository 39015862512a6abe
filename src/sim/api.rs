//! The simulated remote execution API, served over real HTTP on loopback,
//! with faults injected at adjustable rates.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use super::fleet::{Fleet, RemoteRun, remote_spelling};
use super::rng::Rng;
use super::truth::TruthEntry;

/// How often the API misbehaves (each a probability per request).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApiFaults {
    pub slow_rate: f64,
    pub slow_by: Duration,
    pub throttle_rate: f64,
    pub retry_after_seconds: u64,
    pub server_error_rate: f64,
    pub malformed_rate: f64,
}

pub struct Shared {
    pub fleet: Mutex<Fleet>,
    pub truth: Mutex<Vec<TruthEntry>>,
    pub faults: ApiFaults,
    pub rng: Mutex<Rng>,
}

enum Misbehave {
    Throttle(u64),
    ServerError,
    Malformed,
}

impl Shared {
    async fn misbehave(&self) -> Option<Misbehave> {
        let (slow, pick) = {
            let mut rng = self.rng.lock().unwrap();
            let f = &self.faults;
            let slow = rng.chance(f.slow_rate);
            let roll = rng.unit();
            let pick = if roll < f.throttle_rate {
                Some(Misbehave::Throttle(f.retry_after_seconds))
            } else if roll < f.throttle_rate + f.server_error_rate {
                Some(Misbehave::ServerError)
            } else if roll < f.throttle_rate + f.server_error_rate + f.malformed_rate {
                Some(Misbehave::Malformed)
            } else {
                None
            };
            (slow, pick)
        };
        if slow {
            tokio::time::sleep(self.faults.slow_by).await;
        }
        pick
    }
}

fn fault_response(m: Misbehave) -> Response {
    match m {
        Misbehave::Throttle(secs) => {
            let mut r = (
                StatusCode::TOO_MANY_REQUESTS,
                Json(json!({"error": "rate exceeded"})),
            )
                .into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            r
        }
        Misbehave::ServerError => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": "service unavailable"})),
        )
            .into_response(),
        Misbehave::Malformed => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "{\"status\": \"RUNN",
        )
            .into_response(),
    }
}

fn describe(run: &RemoteRun) -> serde_json::Value {
    let now = Utc::now();
    json!({
        "id": run.id,
        "name": run.name,
        "status": remote_spelling(run.status_at(now)),
        "created_at": run.created_at.to_rfc3339(),
        "started_at": run.started_at.to_rfc3339(),
    })
}

async fn get_one(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    if let Some(m) = s.misbehave().await {
        return fault_response(m);
    }
    match s.fleet.lock().unwrap().get(&id) {
        Some(run) => Json(describe(run)).into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({"error": "not found"}))).into_response(),
    }
}

#[derive(Deserialize)]
struct ListQuery {
    state: Option<String>,
}

async fn list(State(s): State<Arc<Shared>>, Query(q): Query<ListQuery>) -> Response {
    if q.state.as_deref() != Some("active") {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "only state=active is supported"})),
        )
            .into_response();
    }
    if let Some(m) = s.misbehave().await {
        return fault_response(m);
    }
    let fleet = s.fleet.lock().unwrap();
    let items: Vec<_> = fleet
        .active_at(Utc::now())
        .into_iter()
        .map(describe)
        .collect();
    Json(json!({ "executions": items })).into_response()
}

async fn stop(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    match s.fleet.lock().unwrap().stop(&id, Utc::now()) {
        Some(true) => (
            StatusCode::ACCEPTED,
            Json(json!({"id": id, "status": "CANCELLED"})),
        )
            .into_response(),
        Some(false) => (
            StatusCode::CONFLICT,
            Json(json!({"error": "execution already finished"})),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({"error": "not found"}))).into_response(),
    }
}

async fn truth(State(s): State<Arc<Shared>>) -> Response {
    let entries = s.truth.lock().unwrap().clone();
    Json(json!({ "entries": entries })).into_response()
}

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/executions", get(list))
        .route("/executions/{id}", get(get_one))
        .route("/executions/{id}/stop", post(stop))
        .route("/_sim/truth", get(truth))
        .with_state(shared)
}
