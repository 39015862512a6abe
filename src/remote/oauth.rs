//! The OAuth 2 refresh-token grant (RFC 6749 §6), as Login with Amazon and
//! most vendors serve it: a form POST of the refresh token, client id and
//! client secret to the token URL, answered with an access token and its
//! lifetime. Written on reqwest alone: the grant is one request, and the
//! `oauth2` crate would bring a second HTTP stack's worth of types for it.
//!
//! The access token is cached and renewed shortly before it expires; a
//! request the remote answers 401 renews it once (`renew_rejected`). A
//! refresh that fails is remembered for a while, so a revoked grant is one
//! request every `RETRY_FAILED_REFRESH`, not one per look-up.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::RemoteError;
use super::answer::read_capped;
use super::secrets::Secret;

/// Renewed this long before expiry at most (a quarter of the lifetime for
/// short-lived tokens).
const RENEW_MARGIN: Duration = Duration::from_secs(60);
/// After a failed refresh, requests wait this long before the next try.
const RETRY_FAILED_REFRESH: Duration = Duration::from_secs(30);
/// An answer without `expires_in` is taken to last an hour, as LwA's do.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);
const MAX_TOKEN_ANSWER: u64 = 64 << 10;
/// A lifetime the token answer gives is read within these bounds: `0`
/// would refresh before every request, a huge one overflow the clock.
const MIN_LIFETIME: Duration = Duration::from_secs(1);
const MAX_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

pub struct OAuth {
    token_url: String,
    client_id: Secret,
    client_secret: Secret,
    scope: Option<String>,
    /// The vendor may rotate it in a refresh answer.
    refresh_token: Mutex<Secret>,
    /// Held across a refresh, so concurrent requests wait for one refresh.
    token: tokio::sync::Mutex<Option<Token>>,
    failing: Mutex<Option<(Instant, String)>>,
}

struct Token {
    value: Secret,
    renew_at: Instant,
    expires_at: Instant,
}

#[derive(Deserialize)]
struct Granted {
    access_token: String,
    expires_in: Option<u64>,
    refresh_token: Option<String>,
}

#[derive(Deserialize)]
struct Refused {
    error: Option<String>,
}

impl OAuth {
    pub fn new(
        token_url: &str,
        scope: Option<String>,
        client_id: Secret,
        client_secret: Secret,
        refresh_token: Secret,
    ) -> OAuth {
        OAuth {
            token_url: token_url.to_string(),
            client_id,
            client_secret,
            scope,
            refresh_token: Mutex::new(refresh_token),
            token: tokio::sync::Mutex::new(None),
            failing: Mutex::new(None),
        }
    }

    /// The remote refused even a token granted for the retry: the
    /// credentials lack access, and refreshing again would only ask the
    /// token URL for more of the same. Requests wait out the back-off.
    pub async fn refused_fresh(&self, fresh: &Secret) {
        let mut token = self.token.lock().await;
        if token
            .as_ref()
            .is_some_and(|t| t.value.expose() == fresh.expose())
        {
            *token = None;
        }
        self.fail(
            "the remote refuses a token granted just now (HTTP 401): the credentials lack access to it"
                .into(),
        );
    }

    /// Why the last refresh failed, while its back-off lasts.
    fn recent_failure(&self) -> Option<String> {
        self.failing
            .lock()
            .unwrap()
            .as_ref()
            .filter(|(at, _)| at.elapsed() < RETRY_FAILED_REFRESH)
            .map(|(_, why)| why.clone())
    }

    fn fail(&self, why: String) -> String {
        let mut failing = self.failing.lock().unwrap();
        if failing.is_none() {
            tracing::warn!("remote authentication failing: {why}");
        }
        *failing = Some((Instant::now(), why.clone()));
        why
    }

    /// Why authentication fails, while it does.
    pub fn failing(&self) -> Option<String> {
        self.failing
            .lock()
            .unwrap()
            .as_ref()
            .map(|(_, m)| m.clone())
    }

    /// A valid access token: the cached one, or a fresh one. While a
    /// renewal fails, the old token serves until it expires.
    pub async fn bearer(&self, client: &reqwest::Client) -> Result<Secret, RemoteError> {
        let mut token = self.token.lock().await;
        let now = Instant::now();
        if let Some(t) = token.as_ref()
            && now < t.renew_at
        {
            return Ok(t.value.clone());
        }
        let renewed = match self.recent_failure() {
            Some(why) => Err(RemoteError::Auth(why)),
            None => self.refresh(client, &mut token).await,
        };
        match (renewed, token.as_ref()) {
            (Ok(fresh), _) => Ok(fresh),
            (Err(_), Some(old)) if now < old.expires_at => Ok(old.value.clone()),
            (Err(why), _) => Err(why),
        }
    }

    /// The remote refused `rejected` (HTTP 401): a fresh token, unless
    /// another request renewed it meanwhile.
    pub async fn renew_rejected(
        &self,
        client: &reqwest::Client,
        rejected: &Secret,
    ) -> Result<Secret, RemoteError> {
        let mut token = self.token.lock().await;
        if let Some(t) = token.as_ref()
            && t.value.expose() != rejected.expose()
            && Instant::now() < t.renew_at
        {
            return Ok(t.value.clone());
        }
        if let Some(why) = self.recent_failure() {
            *token = None;
            return Err(RemoteError::Auth(why));
        }
        *token = None;
        self.refresh(client, &mut token).await
    }

    async fn refresh(
        &self,
        client: &reqwest::Client,
        token: &mut Option<Token>,
    ) -> Result<Secret, RemoteError> {
        match self.grant(client).await {
            Ok(granted) => {
                let lifetime = granted
                    .expires_in
                    .map_or(DEFAULT_LIFETIME, Duration::from_secs)
                    .clamp(MIN_LIFETIME, MAX_LIFETIME);
                let margin = RENEW_MARGIN.min(lifetime / 4);
                let value = Secret::rotating(&granted.access_token);
                if let Some(rotated) = granted.refresh_token.filter(|r| !r.is_empty()) {
                    *self.refresh_token.lock().unwrap() = Secret::new(&rotated);
                }
                let now = Instant::now();
                *token = Some(Token {
                    value: value.clone(),
                    renew_at: now + lifetime - margin,
                    expires_at: now + lifetime,
                });
                if self.failing.lock().unwrap().take().is_some() {
                    tracing::warn!(
                        "remote authentication works again: the token refresh succeeded"
                    );
                }
                Ok(value)
            }
            Err(why) => Err(RemoteError::Auth(self.fail(why.to_string()))),
        }
    }

    async fn grant(&self, client: &reqwest::Client) -> Result<Granted, RemoteError> {
        let refresh_token = self.refresh_token.lock().unwrap().clone();
        // Finished before the request: the serializer is not Send.
        let body = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "refresh_token")
                .append_pair("refresh_token", refresh_token.expose())
                .append_pair("client_id", self.client_id.expose())
                .append_pair("client_secret", self.client_secret.expose());
            if let Some(scope) = &self.scope {
                form.append_pair("scope", scope);
            }
            form.finish()
        };
        let shown = crate::store::redact_url(&self.token_url);
        let response = client
            .post(&self.token_url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| {
                let why = if e.is_timeout() {
                    "timed out".to_string()
                } else if e.is_connect() {
                    "cannot connect".to_string()
                } else {
                    e.without_url().to_string()
                };
                RemoteError::Auth(format!("token refresh at {shown} failed: {why}"))
            })?;
        let status = response.status();
        let body = read_capped(response, MAX_TOKEN_ANSWER)
            .await
            .map_err(|e| RemoteError::Auth(format!("token refresh at {shown}: {e}")))?;
        if !status.is_success() {
            // Only the error code is shown: a description may quote what was sent.
            let code = serde_json::from_slice::<Refused>(&body)
                .ok()
                .and_then(|r| r.error)
                .filter(|c| {
                    c.len() <= 64 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                })
                .map_or(String::new(), |c| format!(": {c}"));
            return Err(RemoteError::Auth(format!(
                "token refresh refused{code} (HTTP {}, {shown})",
                status.as_u16()
            )));
        }
        let granted: Granted = serde_json::from_slice(&body).map_err(|_| {
            RemoteError::Auth(format!(
                "token refresh at {shown}: the answer has no access_token"
            ))
        })?;
        if granted.access_token.is_empty() {
            return Err(RemoteError::Auth(format!(
                "token refresh at {shown}: the access_token is empty"
            )));
        }
        Ok(granted)
    }
}

/// The token URL gets the client secret: it must be HTTPS, or plain HTTP on
/// this machine (a test or a local proxy).
/// Whether a URL's host is this machine: the one place plain http may carry
/// a secret (a test's fake, a local proxy).
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

pub fn check_token_url(url: &str) -> Result<(), RemoteError> {
    let parsed = url::Url::parse(url).map_err(|e| {
        RemoteError::Config(format!("remote.oauth.token_url {url:?} is not a URL: {e}"))
    })?;
    let loopback = is_loopback(&parsed);
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(RemoteError::Config(format!(
            "remote.oauth.token_url {url:?} must be https:// (the client secret goes with it)"
        ))),
    }
}
