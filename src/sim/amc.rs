//! The simulated API in the shape of Amazon Marketing Cloud's reporting
//! API, over the same fleet: executions under their instance
//! (`/amc/reporting/{instanceId}/workflowExecutions/{id}`), a per-instance
//! list of every execution with a `nextToken`, and a Login with Amazon
//! style token endpoint (`/auth/o2/token`, the refresh-token grant).
//!
//! Every request must carry a live access token and both headers the
//! vendor wants: `Amazon-Advertising-API-ClientId` (the client id) and
//! `Amazon-Advertising-API-AdvertiserId` (the instance's advertiser).
//! Tokens expire after a lifetime or a number of uses; the refresh token
//! can be revoked (`POST /_amc/revoke`); now and then a request is
//! answered 429 with `Retry-After: 1`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::api::{Shared, fault_response};
use super::fleet::{RemoteRun, remote_spelling};
use crate::domain::Status;

pub const CLIENT_ID_HEADER: &str = "Amazon-Advertising-API-ClientId";
pub const ADVERTISER_HEADER: &str = "Amazon-Advertising-API-AdvertiserId";

/// Who may ask, and how long a token lives.
#[derive(Debug, Clone)]
pub struct AmcAuth {
    pub client_id: String,
    pub client_secret: String,
    pub refresh_token: String,
    /// Instance id → the advertiser (entity) id its requests must name.
    pub advertisers: BTreeMap<String, String>,
    pub token_lifetime: Duration,
    /// A token is refused after this many requests, when set.
    pub token_uses: Option<u64>,
    /// Now and then a request is throttled: the 3rd, 6th, 10th, 15th …
    /// (the gaps grow, so no client's own rhythm always meets them).
    pub throttle: bool,
    pub page_size: usize,
}

/// What the AMC routes answered (`GET /_amc/stats`).
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct AmcStats {
    pub grants: u64,
    pub refused_grants: u64,
    pub expired_tokens: u64,
    pub missing_headers: u64,
    pub throttled: u64,
    pub lookups: u64,
    pub list_pages: u64,
}

pub struct AmcState {
    pub fleet: Arc<Shared>,
    pub auth: AmcAuth,
    pub revoked: AtomicBool,
    tokens: Mutex<HashMap<String, Issued>>,
    requests: AtomicU64,
    pub stats: Mutex<AmcStats>,
}

struct Issued {
    expires: Instant,
    uses: u64,
}

impl AmcState {
    pub fn new(fleet: Arc<Shared>, auth: AmcAuth) -> AmcState {
        AmcState {
            fleet,
            auth,
            revoked: AtomicBool::new(false),
            tokens: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
            stats: Mutex::new(AmcStats::default()),
        }
    }

    /// The refresh token stops working, and so does every token issued.
    pub fn revoke(&self) {
        self.revoked.store(true, Ordering::SeqCst);
        self.tokens.lock().unwrap().clear();
    }

    /// A request past the credentials, the headers and the simulator's own
    /// faults (slow, 429, 5xx, garbage) is counted by `count`; otherwise
    /// the response to send instead.
    async fn admit(
        &self,
        headers: &HeaderMap,
        instance: &str,
        count: impl FnOnce(&mut AmcStats),
    ) -> Option<Response> {
        if let Some(refused) = self.refuse(headers, instance) {
            return Some(refused);
        }
        if let Some(m) = self.fleet.misbehave().await {
            return Some(fault_response(m));
        }
        count(&mut self.stats.lock().unwrap());
        None
    }

    /// Why the request may not be answered, as the response to send.
    fn refuse(&self, headers: &HeaderMap, instance: &str) -> Option<Response> {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let live = bearer.is_some_and(|token| {
            let mut tokens = self.tokens.lock().unwrap();
            match tokens.get_mut(token) {
                Some(t)
                    if t.expires > Instant::now()
                        && self.auth.token_uses.is_none_or(|n| t.uses < n) =>
                {
                    t.uses += 1;
                    true
                }
                _ => false,
            }
        });
        if !live {
            self.stats.lock().unwrap().expired_tokens += 1;
            return Some(
                (
                    StatusCode::UNAUTHORIZED,
                    Json(json!({"code": "UNAUTHORIZED", "details": "Not authorized"})),
                )
                    .into_response(),
            );
        }
        let has = |name: &str, want: Option<&String>| {
            headers.get(name).and_then(|v| v.to_str().ok()) == want.map(String::as_str)
        };
        if !has(CLIENT_ID_HEADER, Some(&self.auth.client_id))
            || !has(ADVERTISER_HEADER, self.auth.advertisers.get(instance))
        {
            self.stats.lock().unwrap().missing_headers += 1;
            return Some(
                (
                    StatusCode::FORBIDDEN,
                    Json(json!({"code": "FORBIDDEN", "details": "client id or advertiser id does not match the instance"})),
                )
                    .into_response(),
            );
        }
        let n = self.requests.fetch_add(1, Ordering::SeqCst) + 1;
        if self.auth.throttle && n >= 3 && is_triangular(n) {
            self.stats.lock().unwrap().throttled += 1;
            let mut r = (
                StatusCode::TOO_MANY_REQUESTS,
                Json(json!({"code": "TOO_MANY_REQUESTS"})),
            )
                .into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(1));
            return Some(r);
        }
        None
    }
}

/// n = k(k+1)/2 for some k: 8n + 1 is an odd square.
fn is_triangular(n: u64) -> bool {
    let m = 8 * n + 1;
    let r = m.isqrt();
    r * r == m
}

fn describe(run: &RemoteRun, now: DateTime<Utc>) -> serde_json::Value {
    let status = run.status_at(now);
    let mut out = json!({
        "workflowExecutionId": run.id,
        "workflowId": run.name,
        "status": remote_spelling(status),
        "createTime": run.created_at.to_rfc3339(),
        "lastUpdatedTime": now.to_rfc3339(),
    });
    // AMC says why a run did not succeed beside its status.
    let reason = match status {
        Status::Failed => Some("Query failed: the simulated query referenced a missing column"),
        Status::TimedOut => Some("Query exceeded the maximum execution time"),
        Status::Cancelled => Some("Cancelled by a client"),
        _ => None,
    };
    if let Some(reason) = reason {
        out["statusReason"] = json!(reason);
    }
    out
}

async fn token(State(s): State<Arc<AmcState>>, body: String) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let field = |k: &str| form.get(k).map(String::as_str);
    let a = &s.auth;
    let granted = field("grant_type") == Some("refresh_token")
        && field("client_id") == Some(a.client_id.as_str())
        && field("client_secret") == Some(a.client_secret.as_str())
        && field("refresh_token") == Some(a.refresh_token.as_str())
        && !s.revoked.load(Ordering::SeqCst);
    if !granted {
        s.stats.lock().unwrap().refused_grants += 1;
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant", "error_description": "The request has an invalid grant parameter"})),
        )
            .into_response();
    }
    let n = {
        let mut stats = s.stats.lock().unwrap();
        stats.grants += 1;
        stats.grants
    };
    let access = format!("Atza|sim-{n}-{}", Utc::now().timestamp_micros());
    s.tokens.lock().unwrap().insert(
        access.clone(),
        Issued {
            expires: Instant::now() + a.token_lifetime,
            uses: 0,
        },
    );
    Json(json!({
        "access_token": access,
        "token_type": "bearer",
        "expires_in": a.token_lifetime.as_secs().max(1),
    }))
    .into_response()
}

async fn get_one(
    State(s): State<Arc<AmcState>>,
    Path((instance, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = s.admit(&headers, &instance, |st| st.lookups += 1).await {
        return refused;
    }
    let now = Utc::now();
    let fleet = s.fleet.fleet.lock().unwrap();
    match fleet.get(&id).filter(|r| r.group == instance) {
        Some(run) => Json(describe(run, now)).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"code": "NOT_FOUND", "details": "Workflow execution not found"})),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(rename = "nextToken")]
    next_token: Option<String>,
    #[serde(rename = "minCreationTime")]
    min_creation_time: Option<String>,
}

async fn list(
    State(s): State<Arc<AmcState>>,
    Path(instance): Path<String>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = s.admit(&headers, &instance, |st| st.list_pages += 1).await {
        return refused;
    }
    let since = q
        .min_creation_time
        .as_deref()
        .and_then(|t| chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S").ok())
        .map(|t| t.and_utc());
    let now = Utc::now();
    let fleet = s.fleet.fleet.lock().unwrap();
    let mut runs = fleet
        .in_group_after(&instance, q.next_token.as_deref())
        .filter(|r| since.is_none_or(|t| r.created_at >= t));
    let items: Vec<_> = runs
        .by_ref()
        .take(s.auth.page_size.max(1))
        .map(|r| describe(r, now))
        .collect();
    match (items.last(), runs.next()) {
        (Some(last), Some(_)) => Json(json!({
            "executions": items,
            "nextToken": last["workflowExecutionId"],
        }))
        .into_response(),
        _ => Json(json!({ "executions": items })).into_response(),
    }
}

async fn cancel(
    State(s): State<Arc<AmcState>>,
    Path((instance, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = s.refuse(&headers, &instance) {
        return refused;
    }
    let mut fleet = s.fleet.fleet.lock().unwrap();
    if fleet.get(&id).is_none_or(|r| r.group != instance) {
        return (StatusCode::NOT_FOUND, Json(json!({"code": "NOT_FOUND"}))).into_response();
    }
    match fleet.stop(&id, Utc::now()) {
        Some(true) => {
            Json(json!({"workflowExecutionId": id, "status": "CANCELLED"})).into_response()
        }
        _ => (
            StatusCode::CONFLICT,
            Json(json!({"code": "CONFLICT", "details": "execution already finished"})),
        )
            .into_response(),
    }
}

async fn revoke(State(s): State<Arc<AmcState>>) -> Response {
    s.revoke();
    tracing::info!("simulated AMC: the refresh token is revoked");
    StatusCode::NO_CONTENT.into_response()
}

async fn stats(State(s): State<Arc<AmcState>>) -> Response {
    Json(s.stats.lock().unwrap().clone()).into_response()
}

/// The demo's stand-in credentials: nothing here is a secret anywhere.
pub fn demo_auth(groups: &[&str]) -> AmcAuth {
    AmcAuth {
        client_id: "amzn1.application-oa2-client.demo".into(),
        client_secret: "demo-client-secret".into(),
        refresh_token: "Atzr|demo-refresh-token".into(),
        advertisers: groups
            .iter()
            .map(|g| {
                (
                    g.to_string(),
                    format!("ENTITY{}", g.to_ascii_uppercase().replace('-', "")),
                )
            })
            .collect(),
        token_lifetime: Duration::from_secs(30),
        token_uses: None,
        throttle: false,
        page_size: 100,
    }
}

pub fn router(state: Arc<AmcState>) -> Router {
    Router::new()
        .route("/auth/o2/token", post(token))
        .route("/amc/reporting/{instance}/workflowExecutions", get(list))
        .route(
            "/amc/reporting/{instance}/workflowExecutions/{id}",
            get(get_one).delete(cancel),
        )
        .route("/_amc/revoke", post(revoke))
        .route("/_amc/stats", get(stats))
        .with_state(state)
}
