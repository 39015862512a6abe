//! A vendor's execution API over HTTP(S): GET one execution's status, list
//! the active ones (per instance, where the API lists that way), stop one.
//! Requests are made from templates (`request`), authenticated by a static
//! token or the OAuth 2 refresh grant (`oauth`). Bounded by a concurrency
//! cap and a request rate; polite under pressure (429 `Retry-After`,
//! backoff with jitter on 5xx and network errors, a degraded pause after
//! repeated failures).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub use super::answer::parse_retry_after;
use super::answer::{detail_fields, read_capped, send_failure, text_at};
use super::gate::{Gate, RETRIES};
use super::list_items::ListShape;
use super::oauth::OAuth;
use super::request::{Prepared, Requests};
use super::secrets::Secret;
use super::{
    BoxFuture, ListPage, ListScope, LookupTarget, RemoteError, RemoteTracker, TrackerHealth,
};
use crate::config::{PollConfig, RemoteConfig, StopMethod};
use crate::domain::{RemoteAnswer, RemoteDetail, StatusMap};
use crate::store::Store;

#[path = "http_list.rs"]
mod list;

const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);
/// The largest answer read when `remote.max_answer_bytes` is not set: a list
/// page of a thousand runs is a few hundred KB.
pub const DEFAULT_MAX_ANSWER_BYTES: u64 = 4 << 20;

pub struct HttpTracker {
    client: reqwest::Client,
    base_url: String,
    requests: Requests,
    status_pointer: String,
    /// `remote.detail_fields`: shown in the details beside the status.
    detail_fields: Vec<(String, String)>,
    list: ListShape,
    stop_method: Method,
    token: Option<Secret>,
    oauth: Option<OAuth>,
    /// Context keys whose list could not be made, already said in the log.
    unlisted_keys: Mutex<HashSet<String>>,
    max_answer_bytes: u64,
    statuses: StatusMap,
    gate: Gate,
}

/// The token never reaches a log line, even through `{:?}`.
impl std::fmt::Debug for HttpTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTracker")
            .field("base_url", &self.base_url)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

struct Sent {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
    latency: Duration,
}

enum Attempt {
    Done(RemoteAnswer),
    Retry(String),
}

impl HttpTracker {
    /// A tracker without a request context (`remote.context` needs the store).
    pub fn new(remote: &RemoteConfig, poll: &PollConfig) -> Result<HttpTracker, RemoteError> {
        HttpTracker::with_store(remote, poll, None)
    }

    pub fn with_store(
        remote: &RemoteConfig,
        poll: &PollConfig,
        store: Option<&Store>,
    ) -> Result<HttpTracker, RemoteError> {
        let client = super::http_client(poll)?;
        let token = match &remote.token_env {
            Some(var) => Some(Secret::new(&std::env::var(var).map_err(|_| {
                RemoteError::Secret(format!(
                    "remote.token_env names {var}, which is not set in the environment"
                ))
            })?)),
            None => None,
        };
        let secrets = super::secrets::read_all(&remote.secrets)?;
        let oauth = match &remote.oauth {
            None => None,
            Some(o) => {
                if token.is_some() {
                    return Err(RemoteError::Config(
                        "remote.oauth and remote.token_env both give the Authorization header; keep one".into(),
                    ));
                }
                super::oauth::check_token_url(&o.token_url)?;
                let take = |name: &str| {
                    secrets.get(name).cloned().ok_or_else(|| {
                        RemoteError::Config(format!("remote.oauth needs the secret {name} in [remote.secrets] (client_id, client_secret and refresh_token)"))
                    })
                };
                Some(OAuth::new(
                    &o.token_url,
                    o.scope.clone(),
                    take("client_id")?,
                    take("client_secret")?,
                    take("refresh_token")?,
                ))
            }
        };
        let requests = Requests::new(remote, secrets, store)?;
        let rate = poll.remote_rate.unwrap_or(20.0);
        let status_pointer = remote
            .status_pointer
            .clone()
            .unwrap_or_else(|| "/status".into());
        Ok(HttpTracker {
            client,
            base_url: remote
                .base_url
                .clone()
                .unwrap_or_default()
                .trim_end_matches('/')
                .to_string(),
            requests,
            list: ListShape::new(remote, &status_pointer),
            status_pointer,
            detail_fields: remote
                .detail_fields
                .iter()
                .map(|(name, pointer)| (name.clone(), pointer.clone()))
                .collect(),
            stop_method: match remote.stop_method.unwrap_or_default() {
                StopMethod::Post => Method::POST,
                StopMethod::Delete => Method::DELETE,
            },
            token,
            oauth,
            unlisted_keys: Mutex::new(HashSet::new()),
            max_answer_bytes: remote.max_answer_bytes.unwrap_or(DEFAULT_MAX_ANSWER_BYTES),
            statuses: remote.status_values.to_map(),
            gate: Gate::new(poll.remote_concurrency.unwrap_or(10), rate),
        })
    }

    /// The credentials to send: the OAuth access token, the static token, or none.
    async fn bearer(&self) -> Result<Option<Secret>, RemoteError> {
        match (&self.oauth, &self.token) {
            (Some(oauth), _) => oauth.bearer(&self.client).await.map(Some),
            (None, Some(token)) => Ok(Some(token.clone())),
            (None, None) => Ok(None),
        }
    }

    /// Sends one request under the caps. An answer of 401 to an OAuth token
    /// renews the token once and sends the request once more. No HTTP
    /// answer to read is `Auth` (no valid credentials: nothing was asked,
    /// or the grant was refused), `TooLarge`, or else worth a retry.
    async fn send(
        &self,
        method: Method,
        url: &str,
        prepared: &Prepared,
    ) -> Result<Sent, RemoteError> {
        let _slot = self.gate.slot().await?;
        let bearer = self.bearer().await?;
        let sent = self
            .send_once(&method, url, prepared, bearer.as_ref())
            .await?;
        let (Some(oauth), Some(token)) = (&self.oauth, &bearer) else {
            return Ok(sent);
        };
        if sent.status != StatusCode::UNAUTHORIZED {
            return Ok(sent);
        }
        let fresh = oauth.renew_rejected(&self.client, token).await?;
        let sent = self.send_once(&method, url, prepared, Some(&fresh)).await?;
        if sent.status == StatusCode::UNAUTHORIZED {
            oauth.refused_fresh(&fresh).await;
        }
        Ok(sent)
    }

    async fn send_once(
        &self,
        method: &Method,
        url: &str,
        prepared: &Prepared,
        bearer: Option<&Secret>,
    ) -> Result<Sent, RemoteError> {
        self.gate.take_token().await;
        let mut request = self
            .client
            .request(method.clone(), url)
            .headers(prepared.headers.clone());
        if let Some(token) = bearer {
            request = request.bearer_auth(token.expose());
        }
        let start = Instant::now();
        let response = request
            .send()
            .await
            .map_err(|e| send_failure(e, "the remote API"))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = read_capped(response, self.max_answer_bytes).await?;
        Ok(Sent {
            status,
            headers,
            body,
            latency: start.elapsed(),
        })
    }

    /// Shared by look-ups and listing: status codes to answers, 429 to a pause.
    fn classify(
        &self,
        status: StatusCode,
        headers: &reqwest::header::HeaderMap,
    ) -> Option<Attempt> {
        if status == StatusCode::TOO_MANY_REQUESTS {
            let wait = headers
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, Utc::now()))
                .unwrap_or(DEFAULT_RETRY_AFTER);
            self.gate.throttled(
                wait,
                format!("throttled (HTTP 429, Retry-After {}s)", wait.as_secs()),
            );
            return Some(Attempt::Done(RemoteAnswer::Throttled {
                retry_after_seconds: Some(wait.as_secs()),
            }));
        }
        if status.is_server_error() {
            return Some(Attempt::Retry(format!(
                "remote API answered HTTP {}",
                status.as_u16()
            )));
        }
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            // Our credentials, not the execution: nothing about it is learnt.
            let message = format!("authentication failed (HTTP {})", status.as_u16());
            self.gate.refused(&message);
            return Some(Attempt::Done(RemoteAnswer::Unasked {
                message: format!("not asked: {message}"),
            }));
        }
        None
    }

    async fn lookup_once(
        &self,
        target: &LookupTarget,
        detail: &mut Option<Arc<RemoteDetail>>,
    ) -> Attempt {
        let prepared = match self
            .requests
            .for_row(&self.requests.status_path, target)
            .await
        {
            Ok(prepared) => prepared,
            // The row's values or context, not the remote's health.
            Err(e) => {
                return Attempt::Done(RemoteAnswer::Unasked {
                    message: e.to_string(),
                });
            }
        };
        let url = format!("{}{}", self.base_url, prepared.path);
        let Sent {
            status,
            headers,
            body,
            latency,
        } = match self.send(Method::GET, &url, &prepared).await {
            Ok(sent) => sent,
            Err(RemoteError::Auth(why)) => {
                return Attempt::Done(RemoteAnswer::Unasked {
                    message: format!("not asked: authentication failing: {why}"),
                });
            }
            Err(e @ RemoteError::TooLarge { .. }) => {
                let message = e.to_string();
                self.gate.note_failure(&message);
                return Attempt::Done(RemoteAnswer::Error { message });
            }
            Err(e) => return Attempt::Retry(e.to_string()),
        };
        if let Some(done) = self.classify(status, &headers) {
            return done;
        }
        if status == StatusCode::NOT_FOUND {
            self.gate.note_success(latency);
            return Attempt::Done(RemoteAnswer::NotFound);
        }
        if !status.is_success() {
            let message = format!("remote API answered HTTP {}", status.as_u16());
            self.gate.note_failure(&message);
            return Attempt::Done(RemoteAnswer::Error { message });
        }
        let parsed = match serde_json::from_slice::<Value>(&body) {
            Err(e) => Err(format!("malformed JSON from the remote API: {e}")),
            Ok(value) => text_at(&value, &self.status_pointer)
                .ok_or_else(|| {
                    format!(
                        "the answer has no status (text or number) at {}",
                        self.status_pointer
                    )
                })
                .inspect(|_| *detail = detail_fields(&value, &self.detail_fields)),
        };
        // An answer that does not parse is a failed answer: it counts
        // against the remote's health like an error status would.
        Attempt::Done(match parsed {
            Ok(raw) => {
                self.gate.note_success(latency);
                RemoteAnswer::Found {
                    status: self.statuses.status_of(&raw),
                    raw: self.gate.spelling(&raw),
                }
            }
            Err(message) => {
                self.gate.note_failure(&message);
                RemoteAnswer::Error { message }
            }
        })
    }

    /// A look-up with its retries; `detail` gets what the answer says
    /// beside the status.
    async fn lookup_into(
        &self,
        target: &LookupTarget,
        detail: &mut Option<Arc<RemoteDetail>>,
    ) -> RemoteAnswer {
        if let Some(throttled) = self.gate.throttled_answer() {
            return throttled;
        }
        let mut last_error = String::new();
        for attempt in 0..=RETRIES {
            if attempt > 0 && self.gate.paused().is_some() {
                // Another request degraded the tracker meanwhile: the
                // pause is for everyone, retries included.
                break;
            }
            if attempt > 0 {
                tokio::time::sleep(self.gate.backoff(attempt)).await;
            }
            match self.lookup_once(target, detail).await {
                Attempt::Done(answer) => return answer,
                Attempt::Retry(e) => last_error = e,
            }
        }
        self.gate.note_failure(&last_error);
        RemoteAnswer::Error {
            message: last_error,
        }
    }
}

impl RemoteTracker for HttpTracker {
    fn describe(&self) -> String {
        let host = self
            .base_url
            .split("://")
            .nth(1)
            .unwrap_or(&self.base_url)
            .split('/')
            .next()
            .unwrap_or_default();
        format!("http {host}")
    }

    fn prepare(&self) -> BoxFuture<'_, Result<(), RemoteError>> {
        Box::pin(async move {
            match &self.requests.context {
                Some(context) => context.prepare().await,
                None => Ok(()),
            }
        })
    }

    fn lookup<'a>(&'a self, target: &'a LookupTarget) -> BoxFuture<'a, RemoteAnswer> {
        Box::pin(async move { self.lookup_into(target, &mut None).await })
    }

    fn lookup_detailed<'a>(
        &'a self,
        target: &'a LookupTarget,
    ) -> BoxFuture<'a, (RemoteAnswer, Option<Arc<RemoteDetail>>)> {
        Box::pin(async move {
            let mut detail = None;
            let answer = self.lookup_into(target, &mut detail).await;
            (answer, detail)
        })
    }

    fn can_list(&self) -> bool {
        self.requests.list_path.is_some()
    }

    fn list_scopes(&self) -> BoxFuture<'_, Result<Vec<ListScope>, RemoteError>> {
        Box::pin(async move {
            let mut reported = std::mem::take(&mut *self.unlisted_keys.lock().unwrap());
            let scopes = self.requests.list_scopes(&mut reported).await;
            *self.unlisted_keys.lock().unwrap() = reported;
            scopes
        })
    }

    fn list_page<'a>(
        &'a self,
        scope: &'a ListScope,
        cursor: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ListPage, RemoteError>> {
        Box::pin(self.list_page_of(scope, cursor))
    }

    fn can_stop(&self) -> bool {
        self.requests.stop_path.is_some()
    }

    fn stop<'a>(
        &'a self,
        target: &'a LookupTarget,
        _why: &'a str,
    ) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async move {
            let path = self
                .requests
                .stop_path
                .as_ref()
                .ok_or(RemoteError::Unsupported("no stop endpoint configured"))?;
            let prepared = self.requests.for_row(path, target).await?;
            let url = format!("{}{}", self.base_url, prepared.path);
            // A 429 did not stop anything: waited out (shortly) and sent again.
            for attempt in 0..=RETRIES {
                // A longer pause is not waited for: the operator asked now.
                let _ = self.gate.wait_out_pause().await;
                let sent = match self.send(self.stop_method.clone(), &url, &prepared).await {
                    Ok(sent) => sent,
                    Err(RemoteError::Auth(why)) => {
                        return Err(RemoteError::Auth(format!("authentication failing: {why}")));
                    }
                    Err(e) => return Err(e),
                };
                if sent.status == StatusCode::TOO_MANY_REQUESTS && attempt < RETRIES {
                    self.classify(sent.status, &sent.headers);
                    continue;
                }
                return if sent.status.is_success() {
                    Ok(())
                } else {
                    Err(RemoteError::ErrorStatus(format!(
                        "stop answered HTTP {}",
                        sent.status.as_u16()
                    )))
                };
            }
            Err(RemoteError::Throttled("stop answered HTTP 429".into()))
        })
    }

    fn health(&self) -> TrackerHealth {
        let s = self.gate.health();
        let degraded = s.degraded;
        let paused = s.paused_until;
        let auth_failing = self
            .oauth
            .as_ref()
            .and_then(OAuth::failing)
            .or_else(|| s.auth_error.clone());
        let context_error = self.requests.context.as_ref().and_then(|c| c.error());
        TrackerHealth {
            ok: s.consecutive_failures == 0
                && !degraded
                && auth_failing.is_none()
                && context_error.is_none(),
            latency_ms: s.latency_ms,
            degraded_until: if degraded { paused } else { None },
            last_error: auth_failing
                .as_ref()
                .map(|why| format!("authentication failing: {why}"))
                .or(context_error)
                .or_else(|| s.last_error.clone()),
            auth_failing,
            items_without_id: self.list.items_without_id(),
        }
    }
}
