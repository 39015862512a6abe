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

/// A run's history as the service keeps it: started, its one task state
/// entered and scheduled, then how it ended; oldest first.
fn history(run: &RemoteRun, now: DateTime<Utc>) -> Vec<Value> {
    let started = epoch(run.started_at);
    let state = format!("Run {}", run.group);
    let mut events = vec![
        json!({"id": 1, "previousEventId": 0, "timestamp": started, "type": "ExecutionStarted",
               "executionStartedEventDetails": {"roleArn": format!("arn:aws:iam::{ACCOUNT}:role/sim")}}),
        json!({"id": 2, "previousEventId": 1, "timestamp": started, "type": "TaskStateEntered",
               "stateEnteredEventDetails": {"name": state}}),
        json!({"id": 3, "previousEventId": 2, "timestamp": started, "type": "TaskScheduled",
               "taskScheduledEventDetails": {"resourceType": "lambda", "resource": "invoke"}}),
    ];
    let status = run.status_at(now);
    if !status.is_terminal() {
        return events;
    }
    let ended = epoch(run.stopped_at.unwrap_or(run.finishes_at));
    let mut push = |kind: &str, details: &str, body: Value| {
        let id = events.len() as i64 + 1;
        let mut event =
            json!({"id": id, "previousEventId": id - 1, "timestamp": ended, "type": kind});
        event[details] = body;
        events.push(event);
    };
    match status {
        Status::Succeeded => {
            push(
                "TaskSucceeded",
                "taskSucceededEventDetails",
                json!({"resourceType": "lambda"}),
            );
            push(
                "TaskStateExited",
                "stateExitedEventDetails",
                json!({"name": state}),
            );
            push(
                "ExecutionSucceeded",
                "executionSucceededEventDetails",
                json!({}),
            );
        }
        Status::Failed => {
            let failed =
                json!({"error": "States.TaskFailed", "cause": "the simulated task failed"});
            push("TaskFailed", "taskFailedEventDetails", failed.clone());
            push("ExecutionFailed", "executionFailedEventDetails", failed);
        }
        Status::TimedOut => {
            let timeout =
                json!({"error": "States.Timeout", "cause": "the simulated task timed out"});
            push("TaskTimedOut", "taskTimedOutEventDetails", timeout.clone());
            push(
                "ExecutionTimedOut",
                "executionTimedOutEventDetails",
                timeout,
            );
        }
        _ => push(
            "ExecutionAborted",
            "executionAbortedEventDetails",
            json!({"error": "exectop", "cause": "stopped by a client"}),
        ),
    }
    events
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
        Some("GetExecutionHistory") => match fleet.get(&text("executionArn")) {
            Some(run) => {
                s.stats.lock().unwrap().histories += 1;
                let mut events = history(run, now);
                if request["reverseOrder"].as_bool() == Some(true) {
                    events.reverse();
                }
                let max = request["maxResults"].as_u64().unwrap_or(100).clamp(1, 1000) as usize;
                events.truncate(max);
                json!({ "events": events }).to_string().into_response()
            }
            None => error(
                StatusCode::BAD_REQUEST,
                "ExecutionDoesNotExist",
                "Execution Does Not Exist",
            ),
        },
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
