//! A vendor's execution API over HTTP(S): GET one execution's status, list
//! the active ones, POST a stop. Bounded by a concurrency cap and a request
//! rate; polite under pressure (429 `Retry-After`, backoff with jitter on
//! 5xx and network errors, a degraded pause after repeated failures).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::Semaphore;

pub use super::answer::parse_retry_after;
use super::answer::{array_at, next_at, origin_of, path_segment, percent_encode, text_at};
use super::{BoxFuture, ListPage, RemoteTracker, TrackerHealth};
use crate::config::{PollConfig, RemoteConfig};
use crate::domain::{RemoteAnswer, RemoteExecution, StatusMap};
use crate::store::parse_timestamp;

const RETRIES: u32 = 2;
const BACKOFF_BASE: Duration = Duration::from_millis(200);
const BACKOFF_CAP: Duration = Duration::from_secs(5);
const DEGRADED_AFTER: u32 = 5;
const DEGRADED_CAP: Duration = Duration::from_secs(60);
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);
/// The largest answer read when `remote.max_answer_bytes` is not set: a list
/// page of a thousand runs is a few hundred KB.
pub const DEFAULT_MAX_ANSWER_BYTES: u64 = 4 << 20;
/// Distinct status spellings kept for sharing; an API that spells a status
/// differently every time gets fresh strings past it, not a growing table.
const MAX_SPELLINGS: usize = 64;

pub struct HttpTracker {
    client: reqwest::Client,
    base_url: String,
    status_path: String,
    status_pointer: String,
    list_path: Option<String>,
    list_pointer: String,
    list_id_pointer: String,
    list_next_pointer: Option<String>,
    list_cursor_param: Option<String>,
    /// Status spellings seen, shared by every answer that uses them.
    spellings: Mutex<Vec<Arc<str>>>,
    stop_path: Option<String>,
    token: Option<String>,
    max_answer_bytes: u64,
    statuses: StatusMap,
    in_flight: Semaphore,
    bucket: Mutex<Bucket>,
    state: Mutex<State>,
    jitter_seed: AtomicU64,
}

/// The token never reaches a log line, even through `{:?}`.
impl std::fmt::Debug for HttpTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTracker")
            .field("base_url", &self.base_url)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

struct Bucket {
    rate: f64,
    tokens: f64,
    last: Instant,
}

#[derive(Default)]
struct State {
    paused_until: Option<(Instant, DateTime<Utc>)>,
    consecutive_failures: u32,
    last_latency: Option<Duration>,
    last_error: Option<String>,
    /// Pauses taken since the tracker degraded; 0 while healthy. Each pause
    /// is longer than the one before, up to DEGRADED_CAP.
    degraded_pauses: u32,
    /// A 429 came, and no answer since: the remote is not answering for us.
    throttled: bool,
}

enum Attempt {
    Done(RemoteAnswer),
    Retry(String),
}

impl HttpTracker {
    pub fn new(remote: &RemoteConfig, poll: &PollConfig) -> Result<HttpTracker, String> {
        let timeout = poll.remote_timeout.map_or(Duration::from_secs(10), |d| d.0);
        super::install_tls_provider();
        let client = reqwest::Client::builder()
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .timeout(timeout)
            .user_agent(concat!("exectop/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let token = match &remote.token_env {
            Some(var) => Some(std::env::var(var).map_err(|_| {
                format!("remote.token_env names {var}, which is not set in the environment")
            })?),
            None => None,
        };
        let rate = poll.remote_rate.unwrap_or(20.0).max(0.1);
        Ok(HttpTracker {
            client,
            base_url: remote
                .base_url
                .clone()
                .unwrap_or_default()
                .trim_end_matches('/')
                .to_string(),
            status_path: remote.status_path.clone().unwrap_or_default(),
            status_pointer: remote
                .status_pointer
                .clone()
                .unwrap_or_else(|| "/status".into()),
            list_path: remote.list_active_path.clone(),
            list_pointer: remote.list_pointer.clone().unwrap_or_default(),
            list_id_pointer: remote
                .list_id_pointer
                .clone()
                .unwrap_or_else(|| "/id".into()),
            list_next_pointer: remote.list_next_pointer.clone(),
            list_cursor_param: remote.list_cursor_param.clone(),
            spellings: Mutex::new(Vec::new()),
            stop_path: remote.stop_path.clone(),
            token,
            max_answer_bytes: remote.max_answer_bytes.unwrap_or(DEFAULT_MAX_ANSWER_BYTES),
            statuses: remote.status_values.to_map(),
            in_flight: Semaphore::new(poll.remote_concurrency.unwrap_or(10).max(1)),
            bucket: Mutex::new(Bucket {
                rate,
                tokens: 1.0,
                last: Instant::now(),
            }),
            state: Mutex::new(State::default()),
            jitter_seed: AtomicU64::new(0x9E37_79B9_7F4A_7C15),
        })
    }

    /// `base_url` + `path`, with the remote id as one encoded path segment.
    fn url(&self, path: &str, remote_id: Option<&str>) -> Result<String, String> {
        let path = match remote_id {
            Some(id) => path.replace("{remote_id}", &path_segment(id)?),
            None => path.to_string(),
        };
        Ok(format!("{}{}", self.base_url, path))
    }

    /// The URL of a list page: the configured path, then either the cursor
    /// as a query parameter or the cursor itself as a path or URL. A URL
    /// elsewhere than the API's own origin is refused: the token goes with
    /// every request.
    fn list_url(&self, path: &str, cursor: Option<&str>) -> Result<String, String> {
        let Some(cursor) = cursor else {
            return self.url(path, None);
        };
        if let Some(param) = &self.list_cursor_param {
            let sep = if path.contains('?') { '&' } else { '?' };
            return Ok(format!(
                "{}{path}{sep}{param}={}",
                self.base_url,
                percent_encode(cursor)
            ));
        }
        let origin = origin_of(&self.base_url);
        if cursor.starts_with('/') {
            Ok(format!("{origin}{cursor}"))
        } else if cursor.starts_with(&format!("{origin}/")) {
            Ok(cursor.to_string())
        } else {
            Err(format!(
                "the list answer's next page {cursor:?} is not a path or a URL under {origin}; \
                 exectop does not follow it (set remote.list_cursor_param if it is a cursor)"
            ))
        }
    }

    /// One shared string per spelling.
    fn spelling(&self, raw: &str) -> Arc<str> {
        let mut known = self.spellings.lock().unwrap();
        if let Some(s) = known.iter().find(|s| &***s == raw) {
            return s.clone();
        }
        let s: Arc<str> = raw.into();
        if known.len() < MAX_SPELLINGS {
            known.push(s.clone());
        }
        s
    }

    /// Waits for a request slot under the rate cap (token bucket).
    async fn take_token(&self) {
        loop {
            let wait = {
                let mut b = self.bucket.lock().unwrap();
                let now = Instant::now();
                let refill = now.duration_since(b.last).as_secs_f64() * b.rate;
                // One token at most: requests are spaced at least 1/rate apart,
                // so no second ever sees more than the cap (a fuller bucket let a
                // burst and a second's refill land in the same second).
                b.tokens = (b.tokens + refill).min(1.0);
                b.last = now;
                if b.tokens >= 1.0 {
                    b.tokens -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - b.tokens) / b.rate)
            };
            tokio::time::sleep(wait).await;
        }
    }

    fn jitter(&self, max: Duration) -> Duration {
        // splitmix64: enough randomness to spread retries, no crate needed.
        let mut z = self
            .jitter_seed
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        max.mul_f64((z >> 11) as f64 / (1u64 << 53) as f64)
    }

    /// Remaining pause (after a 429 or while degraded), if any.
    fn paused(&self) -> Option<Duration> {
        let s = self.state.lock().unwrap();
        s.paused_until
            .and_then(|(until, _)| until.checked_duration_since(Instant::now()))
    }

    fn pause_for(&self, d: Duration) {
        let mut s = self.state.lock().unwrap();
        let until = Instant::now() + d;
        if s.paused_until.is_none_or(|(u, _)| u < until) {
            let wall = Utc::now() + chrono::Duration::from_std(d).unwrap_or_default();
            s.paused_until = Some((until, wall));
        }
    }

    fn note_success(&self, latency: Duration) {
        let mut s = self.state.lock().unwrap();
        if s.degraded_pauses > 0 {
            tracing::warn!("remote tracker recovered: the remote API answers again");
        }
        s.consecutive_failures = 0;
        s.degraded_pauses = 0;
        s.throttled = false;
        s.last_latency = Some(latency);
        s.last_error = None;
    }

    /// Past DEGRADED_AFTER failures in a row, pauses polling. Requests that
    /// were already in flight fail too when the remote dies; while a pause
    /// runs their failures neither lengthen it nor log again, so a dead
    /// remote is one log line, then one more when it answers again.
    fn note_failure(&self, error: &str) {
        let mut s = self.state.lock().unwrap();
        s.consecutive_failures += 1;
        s.last_error = Some(error.to_string());
        let pausing = s
            .paused_until
            .is_some_and(|(until, _)| until > Instant::now());
        if s.consecutive_failures < DEGRADED_AFTER || pausing {
            return;
        }
        let pause = (Duration::from_secs(5) * 2u32.saturating_pow(s.degraded_pauses.min(6)))
            .min(DEGRADED_CAP);
        if s.degraded_pauses == 0 {
            tracing::warn!(
                "remote tracker degraded after {} failures in a row ({error}); pausing {}s, then longer while it keeps failing",
                s.consecutive_failures,
                pause.as_secs()
            );
        } else {
            tracing::debug!(
                "remote tracker still failing ({error}); pausing {}s",
                pause.as_secs()
            );
        }
        s.degraded_pauses += 1;
        let wall = Utc::now() + chrono::Duration::from_std(pause).unwrap_or_default();
        s.paused_until = Some((Instant::now() + pause, wall));
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(StatusCode, reqwest::header::HeaderMap, Vec<u8>, Duration), String> {
        let _slot = self.in_flight.acquire().await.map_err(|e| e.to_string())?;
        self.take_token().await;
        let request = match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        let start = Instant::now();
        let response = request.send().await.map_err(|e| {
            if e.is_timeout() {
                "request timed out".to_string()
            } else if e.is_connect() {
                "cannot connect to the remote API".to_string()
            } else {
                format!("request failed: {}", e.without_url())
            }
        })?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = self.read_capped(response).await?;
        Ok((status, headers, body, start.elapsed()))
    }

    /// The answer's body, read as it streams in and refused past
    /// `max_answer_bytes`: an endless or huge answer never fills memory.
    async fn read_capped(&self, mut response: reqwest::Response) -> Result<Vec<u8>, String> {
        let cap = self.max_answer_bytes;
        let too_big =
            || format!("the answer is larger than {cap} bytes (remote.max_answer_bytes); not read");
        if response.content_length().is_some_and(|n| n > cap) {
            return Err(too_big());
        }
        let mut body = Vec::with_capacity(
            response
                .content_length()
                .map_or(0, |n| n as usize)
                .min(64 << 10),
        );
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("reading the answer failed: {}", e.without_url()))?
        {
            if (body.len() + chunk.len()) as u64 > cap {
                return Err(too_big());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
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
            tracing::info!(
                "remote API throttled us; waiting {}s as it asked",
                wait.as_secs()
            );
            self.pause_for(wait);
            let mut s = self.state.lock().unwrap();
            s.throttled = true;
            s.last_error = Some(format!(
                "throttled (HTTP 429, Retry-After {}s)",
                wait.as_secs()
            ));
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
            let message = format!("authentication failed (HTTP {})", status.as_u16());
            self.note_failure(&message);
            return Some(Attempt::Done(RemoteAnswer::Error { message }));
        }
        None
    }

    async fn lookup_once(&self, remote_id: &str) -> Attempt {
        let url = match self.url(&self.status_path, Some(remote_id)) {
            Ok(url) => url,
            // The row's id, not the remote's health.
            Err(message) => return Attempt::Done(RemoteAnswer::Error { message }),
        };
        let (status, headers, body, latency) = match self.send(self.client.get(url)).await {
            Ok(r) => r,
            Err(e) if e.starts_with("the answer is larger") => {
                self.note_failure(&e);
                return Attempt::Done(RemoteAnswer::Error { message: e });
            }
            Err(e) => return Attempt::Retry(e),
        };
        if let Some(done) = self.classify(status, &headers) {
            return done;
        }
        if status == StatusCode::NOT_FOUND {
            self.note_success(latency);
            return Attempt::Done(RemoteAnswer::NotFound);
        }
        if !status.is_success() {
            let message = format!("remote API answered HTTP {}", status.as_u16());
            self.note_failure(&message);
            return Attempt::Done(RemoteAnswer::Error { message });
        }
        let parsed = match serde_json::from_slice::<Value>(&body) {
            Err(e) => Err(format!("malformed JSON from the remote API: {e}")),
            Ok(value) => text_at(&value, &self.status_pointer).ok_or_else(|| {
                format!(
                    "the answer has no status (text or number) at {}",
                    self.status_pointer
                )
            }),
        };
        // An answer that does not parse is a failed answer: it counts
        // against the remote's health like an error status would.
        Attempt::Done(match parsed {
            Ok(raw) => {
                self.note_success(latency);
                RemoteAnswer::Found {
                    status: self.statuses.status_of(&raw),
                    raw: self.spelling(&raw),
                }
            }
            Err(message) => {
                self.note_failure(&message);
                RemoteAnswer::Error { message }
            }
        })
    }

    /// One list answer: the next page's cursor and the listed runs, each
    /// item parsed on its own (a page is never held as one JSON tree).
    pub(super) fn parse_page(&self, body: &[u8], now: DateTime<Utc>) -> Result<ListPage, String> {
        let next = match &self.list_next_pointer {
            Some(pointer) => next_at(body, pointer)?,
            None => None,
        };
        let items = array_at(body, &self.list_pointer)?;
        let runs = items
            .iter()
            .filter_map(|raw| {
                let item: Value = serde_json::from_str(raw.get()).ok()?;
                let item = &item;
                let remote_id = text_at(item, &self.list_id_pointer)?;
                let raw = text_at(item, &self.status_pointer).unwrap_or_default();
                Some(RemoteExecution {
                    remote_id,
                    status: self.statuses.status_of(&raw),
                    raw_status: self.spelling(&raw),
                    name: text_at(item, "/name"),
                    started_at: text_at(item, "/started_at")
                        .as_deref()
                        .and_then(parse_timestamp),
                    first_seen_at: now,
                })
            })
            .collect();
        Ok(ListPage { runs, next })
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

    fn lookup<'a>(&'a self, remote_id: &'a str) -> BoxFuture<'a, RemoteAnswer> {
        Box::pin(async move {
            if let Some(wait) = self.paused() {
                // Rounded up: a caller that sleeps this long finds the pause over.
                return RemoteAnswer::Throttled {
                    retry_after_seconds: Some(wait.as_secs_f64().ceil().max(1.0) as u64),
                };
            }
            let mut last_error = String::new();
            for attempt in 0..=RETRIES {
                if attempt > 0 && self.paused().is_some() {
                    // Another request degraded the tracker meanwhile: the
                    // pause is for everyone, retries included.
                    break;
                }
                if attempt > 0 {
                    let backoff = (BACKOFF_BASE * 2u32.pow(attempt - 1)).min(BACKOFF_CAP);
                    tokio::time::sleep(backoff + self.jitter(backoff)).await;
                }
                match self.lookup_once(remote_id).await {
                    Attempt::Done(answer) => return answer,
                    Attempt::Retry(e) => last_error = e,
                }
            }
            self.note_failure(&last_error);
            RemoteAnswer::Error {
                message: last_error,
            }
        })
    }

    fn can_list(&self) -> bool {
        self.list_path.is_some()
    }

    fn list_page<'a>(&'a self, cursor: Option<&'a str>) -> BoxFuture<'a, Result<ListPage, String>> {
        Box::pin(async move {
            let path = self
                .list_path
                .as_deref()
                .ok_or("no list endpoint configured")?;
            if let Some(wait) = self.paused() {
                return Err(format!("remote API paused for {}s", wait.as_secs().max(1)));
            }
            let url = self.list_url(path, cursor)?;
            let (status, headers, body, latency) = self
                .send(self.client.get(url))
                .await
                .inspect_err(|e| self.note_failure(e))?;
            match self.classify(status, &headers) {
                Some(Attempt::Done(RemoteAnswer::Throttled { .. })) => {
                    return Err("remote API throttled the list call".into());
                }
                Some(Attempt::Done(RemoteAnswer::Error { message })) => return Err(message),
                Some(Attempt::Retry(e)) => {
                    self.note_failure(&e);
                    return Err(e);
                }
                _ if !status.is_success() => {
                    let message = format!("list call answered HTTP {}", status.as_u16());
                    self.note_failure(&message);
                    return Err(message);
                }
                _ => {}
            }
            // A page that does not parse is a failed answer, for the
            // remote's health as for the list.
            let page = self
                .parse_page(&body, Utc::now())
                .inspect_err(|e| self.note_failure(e))?;
            self.note_success(latency);
            Ok(page)
        })
    }

    fn can_stop(&self) -> bool {
        self.stop_path.is_some()
    }

    fn stop<'a>(&'a self, remote_id: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let path = self
                .stop_path
                .as_deref()
                .ok_or("no stop endpoint configured")?;
            let (status, _, _, _) = self
                .send(self.client.post(self.url(path, Some(remote_id))?))
                .await?;
            if status.is_success() {
                Ok(())
            } else {
                Err(format!("stop answered HTTP {}", status.as_u16()))
            }
        })
    }

    fn health(&self) -> TrackerHealth {
        let s = self.state.lock().unwrap();
        // Until the remote answers again, even between two pauses: the
        // poller skips rounds only while this lies ahead, and the header
        // keeps saying degraded rather than down while the probe runs.
        let paused = s.paused_until.map(|(_, wall)| wall);
        // A throttled remote is degraded too: it answers nobody's question.
        let degraded = s.degraded_pauses > 0 || s.throttled;
        TrackerHealth {
            ok: s.consecutive_failures == 0 && !degraded,
            latency_ms: s.last_latency.map(|d| d.as_millis() as u64),
            degraded_until: if degraded { paused } else { None },
            last_error: s.last_error.clone(),
        }
    }
}
