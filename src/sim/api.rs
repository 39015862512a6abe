//! The simulated remote execution API, served over real HTTP on loopback,
//! with faults injected at adjustable rates.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::fleet::{Fleet, RemoteRun, remote_spelling};
use super::rng::Rng;
use super::truth::TruthEntry;

/// How the API behaves: a latency every answer waits, and how often it
/// misbehaves (each a probability per request). Changeable while the
/// simulator runs (`PUT /_sim/faults`), e.g. to start and end a 429 storm.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiFaults {
    #[serde(with = "millis")]
    pub latency: Duration,
    pub slow_rate: f64,
    #[serde(with = "millis")]
    pub slow_by: Duration,
    pub throttle_rate: f64,
    pub retry_after_seconds: u64,
    pub server_error_rate: f64,
    pub malformed_rate: f64,
}

/// Durations as whole milliseconds in the faults JSON (`"latency": 20`).
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

impl ApiFaults {
    /// Every rate must be a probability; says which one is not.
    pub fn validate(&self) -> Result<(), String> {
        for (name, rate) in [
            ("slow_rate", self.slow_rate),
            ("throttle_rate", self.throttle_rate),
            ("server_error_rate", self.server_error_rate),
            ("malformed_rate", self.malformed_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} must be between 0 and 1, not {rate}"));
            }
        }
        let sum = self.throttle_rate + self.server_error_rate + self.malformed_rate;
        if sum > 1.0 {
            return Err(format!(
                "throttle_rate + server_error_rate + malformed_rate is {sum}, more than 1"
            ));
        }
        Ok(())
    }
}

/// A `PUT /_sim/faults` body: only the fields given change, so turning one
/// fault up mid-run leaves the others as they were.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiFaultsPatch {
    #[serde(with = "millis_opt")]
    pub latency: Option<Duration>,
    pub slow_rate: Option<f64>,
    #[serde(with = "millis_opt")]
    pub slow_by: Option<Duration>,
    pub throttle_rate: Option<f64>,
    pub retry_after_seconds: Option<u64>,
    pub server_error_rate: Option<f64>,
    pub malformed_rate: Option<f64>,
}

mod millis_opt {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<u64>::deserialize(d).map(|v| v.map(Duration::from_millis))
    }
}

impl ApiFaults {
    /// These settings with the patch's fields laid over them.
    pub fn patched(&self, patch: &ApiFaultsPatch) -> ApiFaults {
        ApiFaults {
            latency: patch.latency.unwrap_or(self.latency),
            slow_rate: patch.slow_rate.unwrap_or(self.slow_rate),
            slow_by: patch.slow_by.unwrap_or(self.slow_by),
            throttle_rate: patch.throttle_rate.unwrap_or(self.throttle_rate),
            retry_after_seconds: patch
                .retry_after_seconds
                .unwrap_or(self.retry_after_seconds),
            server_error_rate: patch.server_error_rate.unwrap_or(self.server_error_rate),
            malformed_rate: patch.malformed_rate.unwrap_or(self.malformed_rate),
        }
    }
}

/// What the API has answered, for benchmarks and tests (`GET /_sim/stats`).
#[derive(Debug, Default)]
pub struct ApiStats {
    /// Requests received, by the second (Unix time) they arrived in.
    pub per_second: BTreeMap<i64, u64>,
    pub throttled: u64,
    /// Look-ups of one execution by remote id answered with its status or a
    /// 404 (a 429, 503 or garbage answer is no look-up): when each was.
    pub lookups: HashMap<String, Vec<DateTime<Utc>>>,
    pub lists: u64,
    /// List calls by the second they arrived in (a list has a cap of its own).
    pub list_per_second: BTreeMap<i64, u64>,
    /// `GetExecutionHistory` calls answered (Step Functions' shape).
    pub histories: u64,
}

pub struct Shared {
    pub fleet: Mutex<Fleet>,
    pub truth: Mutex<Vec<TruthEntry>>,
    pub faults: Mutex<ApiFaults>,
    pub stats: Mutex<ApiStats>,
    pub rng: Mutex<Rng>,
}

pub(super) enum Misbehave {
    Throttle(u64),
    ServerError,
    Malformed,
}

impl Shared {
    pub(super) async fn misbehave(&self) -> Option<Misbehave> {
        let now = Utc::now();
        *self
            .stats
            .lock()
            .unwrap()
            .per_second
            .entry(now.timestamp())
            .or_default() += 1;
        let (wait, pick) = {
            let f = self.faults.lock().unwrap().clone();
            let mut rng = self.rng.lock().unwrap();
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
            (
                f.latency + if slow { f.slow_by } else { Duration::ZERO },
                pick,
            )
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        if matches!(pick, Some(Misbehave::Throttle(_))) {
            self.stats.lock().unwrap().throttled += 1;
        }
        pick
    }
}

pub(super) fn fault_response(m: Misbehave) -> Response {
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
    s.stats
        .lock()
        .unwrap()
        .lookups
        .entry(id.clone())
        .or_default()
        .push(Utc::now());
    match s.fleet.lock().unwrap().get(&id) {
        Some(run) => Json(describe(run)).into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({"error": "not found"}))).into_response(),
    }
}

#[derive(Deserialize)]
struct ListQuery {
    state: Option<String>,
    /// The last id of the page before: the list goes on after it.
    after: Option<String>,
    limit: Option<usize>,
}

/// Runs per list page unless `limit` asks for fewer (at most this many), as
/// real execution APIs page (Step Functions: 1 000).
pub const LIST_PAGE_MAX: usize = 1000;

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
    s.stats.lock().unwrap().lists += 1;
    let limit = q.limit.unwrap_or(LIST_PAGE_MAX).clamp(1, LIST_PAGE_MAX);
    let fleet = s.fleet.lock().unwrap();
    let mut page = fleet.active_after(q.after.as_deref(), Utc::now());
    let items: Vec<_> = page.by_ref().take(limit).map(describe).collect();
    let more = page.next().is_some();
    match items.last() {
        Some(last) if more => {
            Json(json!({ "executions": items, "next": last["id"] })).into_response()
        }
        _ => Json(json!({ "executions": items })).into_response(),
    }
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

async fn get_faults(State(s): State<Arc<Shared>>) -> Response {
    Json(s.faults.lock().unwrap().clone()).into_response()
}

/// Changes the given fields only; answers with every setting now in force.
/// A patch that would leave the whole invalid changes nothing.
async fn put_faults(State(s): State<Arc<Shared>>, Json(patch): Json<ApiFaultsPatch>) -> Response {
    let faults = {
        let mut current = s.faults.lock().unwrap();
        let next = current.patched(&patch);
        if let Err(e) = next.validate() {
            return (StatusCode::BAD_REQUEST, Json(json!({"error": e}))).into_response();
        }
        *current = next.clone();
        next
    };
    tracing::info!("simulated API faults now {faults:?}");
    Json(faults).into_response()
}

/// Requests per second, throttled answers, list calls, and per execution the
/// number of answered look-ups and the longest gap between two of them (or
/// from the last one to now), in seconds.
async fn stats(State(s): State<Arc<Shared>>) -> Response {
    let now = Utc::now();
    let st = s.stats.lock().unwrap();
    let per_second: Vec<_> = st.per_second.iter().map(|(t, n)| json!([t, n])).collect();
    let executions: serde_json::Map<String, serde_json::Value> = st
        .lookups
        .iter()
        .map(|(id, times)| {
            let gaps = times.windows(2).map(|w| (w[1] - w[0]).num_milliseconds());
            let since_last = times.last().map(|t| (now - *t).num_milliseconds());
            let max_gap = gaps.chain(since_last).max().unwrap_or(0) as f64 / 1000.0;
            (
                id.clone(),
                json!({"lookups": times.len(), "max_gap_seconds": max_gap}),
            )
        })
        .collect();
    Json(json!({
        "requests": st.per_second.values().sum::<u64>(),
        "throttled": st.throttled,
        "lists": st.lists,
        "histories": st.histories,
        "list_per_second": st.list_per_second.iter().map(|(t, n)| json!([t, n])).collect::<Vec<_>>(),
        "per_second": per_second,
        "executions": executions,
    }))
    .into_response()
}

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/executions", get(list))
        .route("/executions/{id}", get(get_one))
        .route("/executions/{id}/stop", post(stop))
        .route("/_sim/truth", get(truth))
        .route("/_sim/faults", get(get_faults).put(put_faults))
        .route("/_sim/stats", get(stats))
        .with_state(shared)
}
