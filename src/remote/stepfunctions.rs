//! AWS Step Functions as a tracker: `DescribeExecution` for a row's ARN,
//! `ListExecutions` of the running executions per state machine, and
//! `StopExecution`. Credentials come from the AWS chain the CLI uses
//! (`aws-config`: environment, shared files and profiles, credential_process,
//! SSO, assume-role, web identity, container and instance metadata); each
//! JSON 1.0 request is signed with SigV4 and sent with exectop's own HTTP
//! client, under per-API caps (the service meters each API per account and
//! region, shared with the workload that starts the executions).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use chrono::Utc;
use reqwest::StatusCode;

use super::answer::{read_capped, send_failure};
use super::gate::{Gate, RETRIES};
use super::http::DEFAULT_MAX_ANSWER_BYTES;
use super::sfn_protocol::{
    AwsError, Call, ExecutionArn, classify_error, default_status_values, describe_body,
    history_body, list_body, parse_describe, parse_history, parse_list, stop_body,
};
use super::{
    BoxFuture, ListPage, ListScope, LookupTarget, RemoteError, RemoteTracker, TrackerHealth,
};
use crate::config::{PollConfig, RemoteConfig, StatusValues};
use crate::domain::remote_events::{EVENTS_SHOWN, RecentEvents};
use crate::domain::{RemoteAnswer, RemoteDetail, RemoteExecution, StatusMap};

/// Describes per second unless `poll.remote_rate` says: well below the
/// service's bucket (10–15 refilled per second), which production shares.
#[path = "sfn_auth.rs"]
mod auth;
use auth::{Aws, sign};

const DEFAULT_DESCRIBE_RATE: f64 = 5.0;
/// Lists per second unless `remote.list_rate` says (the bucket refills 2–5).
const DEFAULT_LIST_RATE: f64 = 1.0;
pub struct StepFunctionsTracker {
    client: reqwest::Client,
    region: Option<String>,
    profile: Option<String>,
    endpoint: Option<String>,
    aws: tokio::sync::OnceCell<Aws>,
    credentials: tokio::sync::Mutex<Option<(Credentials, Instant)>>,
    describes: Gate,
    lists: Gate,
    statuses: StatusMap,
    configured: Vec<String>,
    /// State machines the rows' ARNs named so far.
    derived: Mutex<BTreeSet<String>>,
    /// Why credentials fail, while they do.
    auth_error: Mutex<Option<String>>,
}

struct Answer {
    status: StatusCode,
    error_type: Option<String>,
    body: Vec<u8>,
    latency: Duration,
}

impl StepFunctionsTracker {
    pub fn new(
        remote: &RemoteConfig,
        poll: &PollConfig,
    ) -> Result<StepFunctionsTracker, RemoteError> {
        let client = super::http_client(poll)?;
        let statuses = if remote.status_values == StatusValues::default() {
            default_status_values()
        } else {
            remote.status_values.clone()
        };
        Ok(StepFunctionsTracker {
            client,
            region: remote.region.clone(),
            profile: remote.profile.clone(),
            endpoint: remote
                .endpoint_url
                .as_ref()
                .map(|u| u.trim_end_matches('/').to_string()),
            aws: tokio::sync::OnceCell::new(),
            credentials: tokio::sync::Mutex::new(None),
            describes: Gate::new(
                poll.remote_concurrency.unwrap_or(10),
                poll.remote_rate.unwrap_or(DEFAULT_DESCRIBE_RATE),
            ),
            lists: Gate::new(1, remote.list_rate.unwrap_or(DEFAULT_LIST_RATE)),
            statuses: statuses.to_map(),
            configured: remote.state_machines.clone(),
            derived: Mutex::new(BTreeSet::new()),
            auth_error: Mutex::new(None),
        })
    }

    /// One signed call under `gate`'s caps. No answer to read is
    /// `Config` or `Auth` (no region, no credentials: nothing was asked),
    /// or else worth a retry (network, timeout, an answer too large).
    async fn call(&self, gate: &Gate, call: Call, body: Vec<u8>) -> Result<Answer, RemoteError> {
        let aws = self.aws().await?;
        let credentials = self.credentials(aws).await?;
        let _slot = gate.slot().await?;
        gate.take_token().await;
        let request = sign(aws, &credentials, call, body)?;
        let start = Instant::now();
        let response = self
            .client
            .execute(request)
            .await
            .map_err(|e| send_failure(e, "Step Functions"))?;
        let status = response.status();
        let error_type = response
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = read_capped(response, DEFAULT_MAX_ANSWER_BYTES).await?;
        Ok(Answer {
            status,
            error_type,
            body,
            latency: start.elapsed(),
        })
    }

    fn error_of(answer: &Answer) -> AwsError {
        classify_error(
            answer.status.as_u16(),
            answer.error_type.as_deref(),
            &answer.body,
        )
    }

    async fn describe(&self, target: &LookupTarget) -> (RemoteAnswer, Option<Arc<RemoteDetail>>) {
        let mut detail = None;
        let answer = self.describe_into(target, &mut detail).await;
        (answer, detail)
    }

    async fn describe_into(
        &self,
        target: &LookupTarget,
        detail: &mut Option<Arc<RemoteDetail>>,
    ) -> RemoteAnswer {
        let arn = match ExecutionArn::parse(&target.remote_id) {
            Ok(arn) => arn,
            // The row's ARN, not the remote: reported, not held against it.
            Err(e) => {
                return RemoteAnswer::Error {
                    message: e.to_string(),
                };
            }
        };
        self.derived.lock().unwrap().insert(arn.state_machine_arn());
        if let Some(throttled) = self.describes.throttled_answer() {
            return throttled;
        }
        let mut last = String::new();
        for attempt in 0..=RETRIES {
            if attempt > 0 {
                if self.describes.paused().is_some() {
                    break;
                }
                tokio::time::sleep(self.describes.backoff(attempt)).await;
            }
            let answer = match self
                .call(
                    &self.describes,
                    Call::DescribeExecution,
                    describe_body(&target.remote_id),
                )
                .await
            {
                Ok(answer) => answer,
                Err(why @ (RemoteError::Auth(_) | RemoteError::Config(_))) => {
                    return RemoteAnswer::Unasked {
                        message: format!("not asked: {why}"),
                    };
                }
                Err(e) => {
                    last = e.to_string();
                    continue;
                }
            };
            if answer.status.is_success() {
                return match parse_describe(&answer.body) {
                    Ok(d) => {
                        self.describes.note_success(answer.latency);
                        *detail = Some(Arc::new(RemoteDetail {
                            error: d.error.clone(),
                            cause: d.cause.clone(),
                            started_at: d.start_date,
                            stopped_at: d.stop_date,
                            fields: Default::default(),
                        }));
                        RemoteAnswer::Found {
                            status: self.statuses.status_of(&d.status),
                            raw: self.describes.spelling(&d.status),
                        }
                    }
                    Err(e) => {
                        let message = e.to_string();
                        self.describes.note_failure(&message);
                        RemoteAnswer::Error { message }
                    }
                };
            }
            match Self::error_of(&answer) {
                AwsError::NotFound => {
                    self.describes.note_success(answer.latency);
                    return RemoteAnswer::NotFound;
                }
                AwsError::Throttled => {
                    let wait = self.describes.backoff(4);
                    self.describes.throttled(
                        wait,
                        "throttled by Step Functions (ThrottlingException)".into(),
                    );
                    return RemoteAnswer::Throttled {
                        retry_after_seconds: Some(wait.as_secs().max(1)),
                    };
                }
                AwsError::InvalidArn(message) => return RemoteAnswer::Error { message },
                AwsError::Denied(why) => {
                    self.describes.refused(&why);
                    return RemoteAnswer::Unasked {
                        message: format!("not asked: {why}"),
                    };
                }
                AwsError::Other(e) if answer.status.is_server_error() => last = e,
                AwsError::Other(message) => {
                    self.describes.note_failure(&message);
                    return RemoteAnswer::Error { message };
                }
            }
        }
        self.describes.note_failure(&last);
        RemoteAnswer::Error { message: last }
    }

    /// A call that waits out throttling (at most `gate::PATIENCE` each time, and
    /// `RETRIES` times): lists and stops are asked for once, not every second.
    async fn patiently(&self, gate: &Gate, call: Call, body: &[u8]) -> Result<Answer, RemoteError> {
        for attempt in 0..=RETRIES {
            if let Err(wait) = gate.wait_out_pause().await {
                return Err(RemoteError::Throttled(format!(
                    "Step Functions paused for {}s",
                    wait.as_secs().max(1)
                )));
            }
            let answer = match self.call(gate, call, body.to_vec()).await {
                Ok(answer) => answer,
                Err(why @ (RemoteError::Auth(_) | RemoteError::Config(_))) => return Err(why),
                Err(e) => {
                    gate.note_failure(&e.to_string());
                    return Err(e);
                }
            };
            if answer.status.is_success() {
                gate.note_success(answer.latency);
                return Ok(answer);
            }
            match Self::error_of(&answer) {
                AwsError::Throttled if attempt < RETRIES => {
                    gate.throttled(
                        gate.backoff(attempt + 2),
                        "throttled by Step Functions".into(),
                    );
                }
                error => {
                    match &error {
                        AwsError::Denied(why) => gate.refused(why),
                        AwsError::InvalidArn(e) | AwsError::Other(e) => gate.note_failure(e),
                        AwsError::Throttled | AwsError::NotFound => {}
                    }
                    return Err(call_error(error));
                }
            }
        }
        Err(throttled())
    }
}

fn throttled() -> RemoteError {
    RemoteError::Throttled("throttled by Step Functions".into())
}

/// What a call that Step Functions refused returns (a look-up reads the
/// same errors as answers instead, in `describe_into`).
fn call_error(error: AwsError) -> RemoteError {
    match error {
        AwsError::Denied(why) => RemoteError::Auth(why),
        AwsError::Throttled => throttled(),
        AwsError::NotFound => RemoteError::ErrorStatus("no such execution".into()),
        AwsError::InvalidArn(e) | AwsError::Other(e) => RemoteError::ErrorStatus(e),
    }
}

impl RemoteTracker for StepFunctionsTracker {
    fn describe(&self) -> String {
        match (&self.endpoint, &self.region) {
            (Some(url), _) => format!("stepfunctions {}", url.split("://").nth(1).unwrap_or(url)),
            (None, Some(region)) => format!("stepfunctions {region}"),
            (None, None) => "stepfunctions".into(),
        }
    }

    /// Loads the AWS configuration: no region stops the start. Missing
    /// credentials do not: they show as the remote's authentication failing.
    fn prepare(&self) -> BoxFuture<'_, Result<(), RemoteError>> {
        Box::pin(async move { self.aws().await.map(|_| ()) })
    }

    fn lookup<'a>(&'a self, target: &'a LookupTarget) -> BoxFuture<'a, RemoteAnswer> {
        Box::pin(async move { self.describe(target).await.0 })
    }

    fn lookup_detailed<'a>(
        &'a self,
        target: &'a LookupTarget,
    ) -> BoxFuture<'a, (RemoteAnswer, Option<Arc<RemoteDetail>>)> {
        Box::pin(self.describe(target))
    }

    fn can_list(&self) -> bool {
        true
    }

    fn note_remote_ids(&self, remote_ids: &mut dyn Iterator<Item = &str>) {
        // Rows share a few machines: one ARN is built per machine, not per row.
        let mut machines = BTreeSet::new();
        let mut arns = Vec::new();
        for arn in remote_ids.filter_map(|id| ExecutionArn::parse(id).ok()) {
            if machines.insert(arn.state_machine()) {
                arns.push(arn.state_machine_arn());
            }
        }
        self.derived.lock().unwrap().extend(arns);
    }

    /// The configured state machines and those the rows' ARNs named.
    fn list_scopes(&self) -> BoxFuture<'_, Result<Vec<ListScope>, RemoteError>> {
        Box::pin(async move {
            let mut machines: BTreeSet<String> = self.configured.iter().cloned().collect();
            machines.extend(self.derived.lock().unwrap().iter().cloned());
            Ok(machines
                .into_iter()
                .map(|path| ListScope {
                    path,
                    headers: Default::default(),
                })
                .collect())
        })
    }

    fn list_page<'a>(
        &'a self,
        scope: &'a ListScope,
        cursor: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ListPage, RemoteError>> {
        Box::pin(async move {
            let body = list_body(&scope.path, super::sfn_protocol::MAX_PAGE, cursor);
            let asked_at = Utc::now();
            let answer = self
                .patiently(&self.lists, Call::ListExecutions, &body)
                .await?;
            let (runs, next) = parse_list(&answer.body)
                .inspect_err(|e| self.lists.note_failure(&e.to_string()))?;
            let runs = runs
                .into_iter()
                .map(|r| RemoteExecution {
                    status: self.statuses.status_of(&r.status),
                    raw_status: self.lists.spelling(&r.status),
                    remote_id: r.execution_arn,
                    name: r.name,
                    started_at: r.start_date,
                    first_seen_at: asked_at,
                })
                .filter(|r| r.status.is_active())
                .collect();
            Ok(ListPage { runs, next })
        })
    }

    fn can_stop(&self) -> bool {
        true
    }

    fn stop<'a>(
        &'a self,
        target: &'a LookupTarget,
        why: &'a str,
    ) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async move {
            ExecutionArn::parse(&target.remote_id)?;
            let body = stop_body(&target.remote_id, "exectop", why);
            self.patiently(&self.describes, Call::StopExecution, &body)
                .await
                .map(|_| ())
        })
    }

    fn keeps_events(&self) -> bool {
        true
    }

    fn recent_events<'a>(
        &'a self,
        target: &'a LookupTarget,
    ) -> BoxFuture<'a, Result<RecentEvents, RemoteError>> {
        Box::pin(async move {
            ExecutionArn::parse(&target.remote_id)?;
            // Under the look-ups' caps (a slot and a token of the describes'
            // gate): the details never cost more than the poll's own requests
            // per second allow. But not in the gate's health: a role without
            // states:GetExecutionHistory, or a history that fails, says so in
            // the details only, and never makes the poll "auth failing",
            // degraded, or healthy again.
            let body = history_body(&target.remote_id, EVENTS_SHOWN);
            let answer = self
                .call(&self.describes, Call::GetExecutionHistory, body)
                .await?;
            if answer.status.is_success() {
                return parse_history(&answer.body);
            }
            Err(call_error(Self::error_of(&answer)))
        })
    }

    fn health(&self) -> TrackerHealth {
        let describes = self.describes.health();
        let lists = self.lists.health();
        let auth_failing = self
            .auth_error
            .lock()
            .unwrap()
            .clone()
            .or(describes.auth_error.clone())
            .or(lists.auth_error.clone());
        let degraded = describes.degraded || lists.degraded;
        TrackerHealth {
            ok: describes.consecutive_failures == 0
                && lists.consecutive_failures == 0
                && !degraded
                && auth_failing.is_none(),
            latency_ms: describes.latency_ms.or(lists.latency_ms),
            degraded_until: if degraded {
                describes.paused_until.max(lists.paused_until)
            } else {
                None
            },
            last_error: auth_failing
                .clone()
                .or(describes.last_error)
                .or(lists.last_error),
            auth_failing,
            items_without_id: 0,
        }
    }
}
