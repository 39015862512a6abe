//! The simulated API as AWS Step Functions serves it: JSON 1.0 on `POST /`,
//! the call named by `X-Amz-Target`, over the same fleet. Runs are
//! execution ARNs under a state machine named after their group; a run
//! the fleet forgot is `ExecutionDoesNotExist`; the simulator's faults
//! come back as `ThrottlingException`, 500s and garbage. Signatures are not
//! checked (moto does not either).

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::api::{Misbehave, Shared};
use super::fleet::RemoteRun;
use crate::domain::Status;

pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";

/// The execution ARN of run `id` in state machine `machine`.
pub fn execution_arn(machine: &str, id: &str) -> String {
    format!("arn:aws:states:{REGION}:{ACCOUNT}:execution:{machine}:{id}")
}

fn machine_arn(machine: &str) -> String {
    format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{machine}")
}

/// Step Functions' spelling: it has no pending (a started run runs).
fn spelling(s: Status) -> &'static str {
    match s {
        Status::Pending | Status::Running | Status::Unknown => "RUNNING",
        Status::Succeeded => "SUCCEEDED",
        Status::Failed => "FAILED",
        Status::TimedOut => "TIMED_OUT",
        Status::Cancelled => "ABORTED",
    }
}

fn epoch(at: DateTime<Utc>) -> f64 {
    at.timestamp_millis() as f64 / 1000.0
}

fn describe(run: &RemoteRun, now: DateTime<Utc>) -> Value {
    let status = run.status_at(now);
    let mut out = json!({
        "executionArn": run.id,
        "stateMachineArn": machine_arn(&run.group),
        "name": run.name,
        "status": spelling(status),
        "startDate": epoch(run.started_at),
    });
    if status.is_terminal() {
        out["stopDate"] = json!(epoch(run.stopped_at.unwrap_or(run.finishes_at)));
    }
    match status {
        Status::Failed => {
            out["error"] = json!("States.TaskFailed");
            out["cause"] = json!("the simulated task failed");
        }
        Status::TimedOut => {
            out["error"] = json!("States.Timeout");
            out["cause"] = json!("the simulated task timed out");
        }
        _ => {}
    }
    out
}

fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        [("x-amzn-errortype", kind.to_string())],
        json!({ "__type": kind, "message": message }).to_string(),
    )
        .into_response()
}

async fn call(
    axum::extract::State(s): axum::extract::State<Arc<Shared>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if let Some(m) = s.misbehave().await {
        return match m {
            Misbehave::Throttle(_) => error(
                StatusCode::BAD_REQUEST,
                "ThrottlingException",
                "Rate exceeded",
            ),
            Misbehave::ServerError => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                "simulated",
            ),
            Misbehave::Malformed => (StatusCode::OK, "{\"status\": \"RUNN").into_response(),
        };
    }
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Ok(request) = serde_json::from_str::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "SerializationException",
            "not JSON",
        );
    };
    let text = |key: &str| request[key].as_str().unwrap_or_default().to_string();
    let now = Utc::now();
    if target.ends_with(".DescribeExecution") {
        s.stats
            .lock()
            .unwrap()
            .lookups
            .entry(text("executionArn"))
            .or_default()
            .push(now);
    }
    let mut fleet = s.fleet.lock().unwrap();
    match target.strip_prefix("AWSStepFunctions.") {
        Some("DescribeExecution") => match fleet.get(&text("executionArn")) {
            Some(run) => describe(run, now).to_string().into_response(),
            None => error(
                StatusCode::BAD_REQUEST,
                "ExecutionDoesNotExist",
                "Execution Does Not Exist",
            ),
        },
        Some("ListExecutions") => {
            {
                let mut stats = s.stats.lock().unwrap();
                stats.lists += 1;
                *stats.list_per_second.entry(now.timestamp()).or_default() += 1;
            }
            let machine_arn = text("stateMachineArn");
            let machine = machine_arn.rsplit(':').next().unwrap_or_default();
            let max = request["maxResults"].as_u64().unwrap_or(100).clamp(1, 1000) as usize;
            let after = request["nextToken"].as_str();
            let mut running = fleet
                .in_group_after(machine, after)
                .filter(|r| r.status_at(now).is_active());
            let page: Vec<Value> = running
                .by_ref()
                .take(max)
                .map(|r| {
                    json!({
                        "executionArn": r.id, "stateMachineArn": machine_arn, "name": r.name,
                        "status": "RUNNING", "startDate": epoch(r.started_at),
                    })
                })
                .collect();
            let mut out = json!({ "executions": page });
            if running.next().is_some()
                && let Some(last) = page.last()
            {
                out["nextToken"] = last["executionArn"].clone();
            }
            out.to_string().into_response()
        }
        Some("StopExecution") => match fleet.stop(&text("executionArn"), now) {
            Some(_) => json!({ "stopDate": epoch(now) })
                .to_string()
                .into_response(),
            None => error(
                StatusCode::BAD_REQUEST,
                "ExecutionDoesNotExist",
                "Execution Does Not Exist",
            ),
        },
        _ => error(
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            "not simulated",
        ),
    }
}

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new().route("/", post(call)).with_state(shared)
}
