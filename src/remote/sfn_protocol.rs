//! AWS Step Functions' JSON 1.0 protocol, as pure functions: the request
//! of each call exectop makes (`DescribeExecution`, `ListExecutions`,
//! `StopExecution`, `GetExecutionHistory`), reading their answers and errors, and execution ARNs.
//! No IO and no signing: the tracker sends what these build.
//!
//! Every call is a `POST /` with `Content-Type: application/x-amz-json-1.0`
//! and `X-Amz-Target: AWSStepFunctions.<Call>`; dates are seconds since
//! the epoch as JSON numbers; an error is a 4xx or 5xx with `__type` in
//! the body (sometimes prefixed by a namespace and `#`) and the same in
//! the `X-Amzn-ErrorType` header.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::RemoteError;
use crate::config::StatusValues;
use crate::domain::remote_events::{RecentEvents, RemoteEvent};

pub const CONTENT_TYPE: &str = "application/x-amz-json-1.0";
/// The service name requests are signed for.
pub const SIGNING_NAME: &str = "states";
/// Most runs a `ListExecutions` page may hold.
pub const MAX_PAGE: u32 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    DescribeExecution,
    ListExecutions,
    StopExecution,
    GetExecutionHistory,
}

impl Call {
    /// The `X-Amz-Target` header's value.
    pub fn target(self) -> &'static str {
        match self {
            Call::DescribeExecution => "AWSStepFunctions.DescribeExecution",
            Call::ListExecutions => "AWSStepFunctions.ListExecutions",
            Call::StopExecution => "AWSStepFunctions.StopExecution",
            Call::GetExecutionHistory => "AWSStepFunctions.GetExecutionHistory",
        }
    }
}

/// Step Functions' own spellings, read as canonical statuses unless the
/// configuration says otherwise. `PENDING_REDRIVE`: a failed execution
/// about to be redriven, so it will run again.
pub fn default_status_values() -> StatusValues {
    let one = |s: &str| vec![s.to_string()];
    StatusValues {
        pending: one("PENDING_REDRIVE"),
        running: one("RUNNING"),
        succeeded: one("SUCCEEDED"),
        failed: one("FAILED"),
        cancelled: one("ABORTED"),
        timed_out: one("TIMED_OUT"),
    }
}

/// An execution ARN's parts: `arn:<partition>:states:<region>:<account>:execution:<state machine>:<name>`
/// (`express:` for express workflows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionArn<'a> {
    pub partition: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub state_machine: &'a str,
    pub name: &'a str,
}

impl<'a> ExecutionArn<'a> {
    /// The ARN's parts, or why it is not an execution ARN.
    pub fn parse(arn: &'a str) -> Result<ExecutionArn<'a>, RemoteError> {
        let not = |why: &str| {
            RemoteError::Unsendable(format!(
                "{arn:?} is not a Step Functions execution ARN: {why}"
            ))
        };
        let parts: Vec<&str> = arn.splitn(8, ':').collect();
        let [
            prefix,
            partition,
            service,
            region,
            account,
            kind,
            machine,
            name,
        ] = parts[..]
        else {
            return Err(not(
                "expected arn:aws:states:<region>:<account>:execution:<state machine>:<name>",
            ));
        };
        if prefix != "arn" || !partition.starts_with("aws") {
            return Err(not("it does not start with arn:aws"));
        }
        if service != "states" {
            return Err(not("its service is not states"));
        }
        if kind != "execution" && kind != "express" {
            return Err(not("it names no execution"));
        }
        let plain = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if !plain(region) || account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(not("its region or account is malformed"));
        }
        if machine.is_empty() || name.is_empty() || name.chars().any(char::is_control) {
            return Err(not("its state machine or execution name is empty"));
        }
        Ok(ExecutionArn {
            partition,
            region,
            account,
            state_machine: machine,
            name,
        })
    }

    /// The state machine the execution belongs to, whose list names it.
    pub fn state_machine_arn(&self) -> String {
        let (partition, region, account, machine) = self.state_machine();
        format!("arn:{partition}:states:{region}:{account}:stateMachine:{machine}")
    }

    /// The state machine's parts, to tell machines apart without building
    /// an ARN for every execution.
    pub fn state_machine(&self) -> (&'a str, &'a str, &'a str, &'a str) {
        (
            self.partition,
            self.region,
            self.account,
            self.state_machine,
        )
    }
}

pub fn describe_body(execution_arn: &str) -> Vec<u8> {
    json!({ "executionArn": execution_arn })
        .to_string()
        .into_bytes()
}

pub fn list_body(state_machine_arn: &str, page: u32, next_token: Option<&str>) -> Vec<u8> {
    let mut body = json!({
        "stateMachineArn": state_machine_arn,
        "statusFilter": "RUNNING",
        "maxResults": page.clamp(1, MAX_PAGE),
    });
    if let Some(token) = next_token {
        body["nextToken"] = json!(token);
    }
    body.to_string().into_bytes()
}

/// The newest `max` events, without the states' input and output: they
/// may carry what should not reach a screen, and they make the answer large.
pub fn history_body(execution_arn: &str, max: usize) -> Vec<u8> {
    json!({
        "executionArn": execution_arn,
        "maxResults": max.clamp(1, 1000),
        "reverseOrder": true,
        "includeExecutionData": false,
    })
    .to_string()
    .into_bytes()
}

/// Step Functions keeps `error` to 256 characters and `cause` to 32 768.
pub fn stop_body(execution_arn: &str, error: &str, cause: &str) -> Vec<u8> {
    let cut = |s: &str, n: usize| s.chars().take(n).collect::<String>();
    json!({
        "executionArn": execution_arn,
        "error": cut(error, 256),
        "cause": cut(cause, 32_768),
    })
    .to_string()
    .into_bytes()
}

/// What `DescribeExecution` says of one execution.
#[derive(Debug, Clone, PartialEq)]
pub struct Described {
    pub status: String,
    pub name: Option<String>,
    pub start_date: Option<DateTime<Utc>>,
    pub stop_date: Option<DateTime<Utc>>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeAnswer {
    status: String,
    name: Option<String>,
    start_date: Option<f64>,
    stop_date: Option<f64>,
    error: Option<String>,
    cause: Option<String>,
}

fn epoch(seconds: Option<f64>) -> Option<DateTime<Utc>> {
    let s = seconds.filter(|s| s.is_finite())?;
    DateTime::from_timestamp_millis((s * 1000.0).round() as i64)
}

pub fn parse_describe(body: &[u8]) -> Result<Described, RemoteError> {
    let a: DescribeAnswer = serde_json::from_slice(body).map_err(|e| {
        RemoteError::BadAnswer(format!("DescribeExecution's answer does not read: {e}"))
    })?;
    Ok(Described {
        status: a.status,
        name: a.name,
        start_date: epoch(a.start_date),
        stop_date: epoch(a.stop_date),
        error: a.error,
        cause: a.cause,
    })
}

/// One run of a `ListExecutions` page.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub execution_arn: String,
    pub name: Option<String>,
    pub status: String,
    pub start_date: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListAnswer {
    #[serde(default)]
    executions: Vec<ListItem>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListItem {
    execution_arn: String,
    name: Option<String>,
    status: String,
    start_date: Option<f64>,
}

/// A page's runs and the token of the next page (`None` on the last).
pub fn parse_list(body: &[u8]) -> Result<(Vec<Listed>, Option<String>), RemoteError> {
    let a: ListAnswer = serde_json::from_slice(body).map_err(|e| {
        RemoteError::BadAnswer(format!("ListExecutions' answer does not read: {e}"))
    })?;
    let runs = a
        .executions
        .into_iter()
        .map(|i| Listed {
            execution_arn: i.execution_arn,
            name: i.name,
            status: i.status,
            start_date: epoch(i.start_date),
        })
        .collect();
    Ok((runs, a.next_token.filter(|t| !t.is_empty())))
}

#[derive(Deserialize)]
struct HistoryAnswer {
    #[serde(default)]
    events: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// The events of a `GetExecutionHistory` page, newest first. Each event
/// keeps its details under a key named for its type
/// (`taskFailedEventDetails`, `stateEnteredEventDetails`, …): whichever
/// it has gives the state's name, the error and the cause.
pub fn parse_history(body: &[u8]) -> Result<RecentEvents, RemoteError> {
    let a: HistoryAnswer = serde_json::from_slice(body).map_err(|e| {
        RemoteError::BadAnswer(format!("GetExecutionHistory's answer does not read: {e}"))
    })?;
    let mut events = Vec::with_capacity(a.events.len());
    for (i, e) in a.events.iter().enumerate() {
        let (Some(id), Some(kind)) = (
            e.get("id").and_then(serde_json::Value::as_i64),
            e.get("type").and_then(serde_json::Value::as_str),
        ) else {
            return Err(RemoteError::BadAnswer(format!(
                "GetExecutionHistory's event {i} has no id or type"
            )));
        };
        let details = e
            .iter()
            .find(|(k, v)| k.ends_with("EventDetails") && v.is_object())
            .map(|(_, v)| v);
        let text = |key: &str| {
            details
                .and_then(|d| d.get(key))
                .and_then(serde_json::Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        events.push(RemoteEvent {
            id,
            previous: e.get("previousEventId").and_then(serde_json::Value::as_i64),
            at: epoch(e.get("timestamp").and_then(serde_json::Value::as_f64)),
            kind: kind.to_string(),
            state: text("name"),
            error: text("error"),
            cause: text("cause"),
        });
    }
    Ok(RecentEvents::newest_first(events))
}

/// What an error answer means to exectop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AwsError {
    /// `ExecutionDoesNotExist`: counts toward `remote_not_found`.
    NotFound,
    /// Throttled (`ThrottlingException` and its kin): back off, never "not found".
    Throttled,
    /// `InvalidArn`: the row's ARN, not the remote.
    InvalidArn(String),
    /// Credentials missing, expired or without permission.
    Denied(String),
    /// Anything else, with its type and message.
    Other(String),
}

#[derive(Deserialize)]
struct ErrorAnswer {
    #[serde(rename = "__type")]
    kind: Option<String>,
    #[serde(alias = "Message")]
    message: Option<String>,
}

/// Reads an error answer from its HTTP status, its `X-Amzn-ErrorType`
/// header (when given) and its body.
pub fn classify_error(status: u16, header_type: Option<&str>, body: &[u8]) -> AwsError {
    let answer: Option<ErrorAnswer> = serde_json::from_slice(body).ok();
    let raw = header_type
        .map(str::to_string)
        .or_else(|| answer.as_ref().and_then(|a| a.kind.clone()))
        .unwrap_or_default();
    // `namespace#Type:extra` → `Type`
    let kind = raw
        .rsplit('#')
        .next()
        .unwrap_or_default()
        .split(':')
        .next()
        .unwrap_or_default()
        .to_string();
    let message = answer
        .and_then(|a| a.message)
        .map(|m| {
            crate::text::one_line(&m)
                .chars()
                .take(300)
                .collect::<String>()
        })
        .unwrap_or_default();
    let said = |kind: &str| {
        if message.is_empty() {
            format!("{kind} (HTTP {status})")
        } else {
            format!("{kind}: {message} (HTTP {status})")
        }
    };
    match kind.as_str() {
        "ExecutionDoesNotExist" => AwsError::NotFound,
        "ThrottlingException"
        | "Throttling"
        | "TooManyRequestsException"
        | "RequestLimitExceeded"
        | "ProvisionedThroughputExceededException" => AwsError::Throttled,
        "InvalidArn" => AwsError::InvalidArn(said(&kind)),
        "AccessDeniedException"
        | "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "ExpiredTokenException"
        | "IncompleteSignature"
        | "MissingAuthenticationToken"
        | "InvalidClientTokenId"
        | "SignatureDoesNotMatch" => AwsError::Denied(said(&kind)),
        _ if status == 429 => AwsError::Throttled,
        _ if status == 401 || status == 403 => AwsError::Denied(said(if kind.is_empty() {
            "access denied"
        } else {
            &kind
        })),
        "" => AwsError::Other(format!("Step Functions answered HTTP {status}")),
        _ => AwsError::Other(said(&kind)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:states:us-east-1:123456789012:execution:sm1:e1";

    #[test]
    fn execution_arns_are_read_and_their_state_machine_found() {
        let arn = ExecutionArn::parse(ARN).unwrap();
        assert_eq!(arn.name, "e1");
        assert_eq!(
            arn.state_machine_arn(),
            "arn:aws:states:us-east-1:123456789012:stateMachine:sm1"
        );
        let express = "arn:aws-us-gov:states:us-gov-west-1:123456789012:express:sm:e:9f";
        assert_eq!(ExecutionArn::parse(express).unwrap().name, "e:9f");
        for bad in [
            "not-an-arn",
            "arn:aws:lambda:us-east-1:123456789012:execution:sm:e",
            "arn:aws:states:us-east-1:123456789012:stateMachine:sm",
            "arn:aws:states:us-east-1:12345:execution:sm:e",
            "arn:aws:states:us-east-1:123456789012:execution:sm:",
        ] {
            let err = ExecutionArn::parse(bad).unwrap_err().to_string();
            assert!(
                err.contains("is not a Step Functions execution ARN"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn answers_as_the_service_and_moto_give_them_are_read() {
        let d = parse_describe(
            br#"{"executionArn": "x", "status": "FAILED", "startDate": 1796403882.149,
                 "stopDate": 1796403890.5, "error": "States.Timeout", "cause": "Lambda timed out"}"#,
        )
        .unwrap();
        assert_eq!(d.status, "FAILED");
        assert_eq!(d.start_date.unwrap().timestamp_millis(), 1_796_403_882_149);
        assert_eq!(d.error.as_deref(), Some("States.Timeout"));
        let (runs, next) = parse_list(
            br#"{"executions": [{"executionArn": "a", "name": "e1", "status": "RUNNING", "startDate": 1.5}],
                 "nextToken": "tok"}"#,
        )
        .unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(next.as_deref(), Some("tok"));
        assert_eq!(parse_list(br#"{"executions": []}"#).unwrap().1, None);
        assert!(parse_describe(b"{\"status\": ").is_err());
    }

    #[test]
    fn errors_are_read_by_type_whatever_their_namespace() {
        let body = br#"{"__type": "ExecutionDoesNotExist", "message": "Execution Does Not Exist"}"#;
        assert_eq!(classify_error(400, None, body), AwsError::NotFound);
        let namespaced = br#"{"__type": "com.amazonaws.swf.service.v2.model#ThrottlingException"}"#;
        assert_eq!(classify_error(400, None, namespaced), AwsError::Throttled);
        assert_eq!(
            classify_error(400, Some("ExpiredTokenException:http://internal"), b""),
            AwsError::Denied("ExpiredTokenException (HTTP 400)".into())
        );
        assert!(matches!(
            classify_error(400, None, br#"{"__type": "InvalidArn", "message": "bad\u001b[2J"}"#),
            AwsError::InvalidArn(m) if !m.contains('\u{1b}')
        ));
        assert_eq!(classify_error(429, None, b"garbage"), AwsError::Throttled);
        assert_eq!(
            classify_error(500, None, b""),
            AwsError::Other("Step Functions answered HTTP 500".into())
        );
    }

    #[test]
    fn request_bodies_carry_what_each_call_needs() {
        let list: serde_json::Value =
            serde_json::from_slice(&list_body("sm", 5000, Some("t"))).unwrap();
        assert_eq!(list["maxResults"], 1000);
        assert_eq!(list["statusFilter"], "RUNNING");
        assert_eq!(list["nextToken"], "t");
        let stop: serde_json::Value =
            serde_json::from_slice(&stop_body(ARN, &"e".repeat(300), "why")).unwrap();
        assert_eq!(stop["error"].as_str().unwrap().len(), 256);
        assert_eq!(
            Call::StopExecution.target(),
            "AWSStepFunctions.StopExecution"
        );
        let statuses = default_status_values().to_map();
        assert_eq!(
            statuses.status_of("ABORTED"),
            crate::domain::Status::Cancelled
        );
        assert_eq!(
            statuses.status_of("TIMED_OUT"),
            crate::domain::Status::TimedOut
        );
    }

    #[test]
    fn a_history_is_read_newest_first_with_each_events_details() {
        let history: serde_json::Value = serde_json::from_slice(&history_body(ARN, 12)).unwrap();
        assert_eq!(history["reverseOrder"], true);
        assert_eq!(history["includeExecutionData"], false);
        assert_eq!(history["maxResults"], 12);
        // Oldest first, as a server that ignores reverseOrder gives it.
        let recent = parse_history(
            br#"{"events": [
                {"timestamp": 1577836800.0, "type": "ExecutionStarted", "id": 1, "previousEventId": 0,
                 "executionStartedEventDetails": {"input": "{}", "roleArn": "r"}},
                {"timestamp": 1577836810.0, "type": "FailStateEntered", "id": 2, "previousEventId": 0,
                 "stateEnteredEventDetails": {"name": "A State", "input": "{}"}},
                {"timestamp": 1577836810.0, "type": "ExecutionFailed", "id": 3, "previousEventId": 2,
                 "executionFailedEventDetails": {"error": "AnError", "cause": "An error occurred!"}}
            ]}"#,
        )
        .unwrap();
        let kinds: Vec<&str> = recent.events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["ExecutionFailed", "FailStateEntered", "ExecutionStarted"]
        );
        assert_eq!(recent.events[1].state.as_deref(), Some("A State"));
        assert_eq!(recent.events[0].at.unwrap().timestamp(), 1_577_836_810);
        let failure = recent.failure().unwrap();
        assert_eq!(failure.state.as_deref(), Some("A State"));
        assert_eq!(failure.error.as_deref(), Some("AnError"));
        assert_eq!(failure.cause.as_deref(), Some("An error occurred!"));
        let bad = parse_history(br#"{"events": [{"type": "X"}]}"#).unwrap_err();
        assert!(
            bad.to_string().contains("event 0 has no id or type"),
            "{bad}"
        );
    }
}
