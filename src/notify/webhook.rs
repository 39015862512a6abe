//! The edge: reading the webhook URL, checking it, and POSTing one message
//! with retries. Everything said about the receiver names its host (and
//! port), never its URL, whose path is the secret.

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use chrono::Utc;

use super::NotifyError;
use crate::config::SecretSource;
use crate::remote::secrets::Secret;

/// How a message is retried: exponential back-off with jitter from
/// `first_delay` (1 s, 2 s, 4 s, 8 s by default), `tries` in all. A 429's
/// `Retry-After` replaces the back-off's delay when it is at most
/// `longest_retry_after`; a longer one ends the series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    pub tries: usize,
    pub first_delay: Duration,
    pub max_delay: Duration,
    pub longest_retry_after: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            tries: 5,
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            longest_retry_after: Duration::from_secs(60),
        }
    }
}

/// A request has this long; connecting, the lesser of it and 5 s.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The start of a refusal's answer kept for the log.
const DETAIL_CHARS: usize = 120;
/// The most of an answer read.
const MAX_ANSWER: usize = 4096;

pub struct Webhook {
    url: Secret,
    /// The receiver as messages name it: host and port.
    host: String,
    client: reqwest::Client,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("host", &self.host)
            .field("url", &self.url)
            .finish()
    }
}

/// The URL from its source. Only `{ env = … }` is read here (the
/// configuration refuses a command at load).
pub fn read_url(source: &SecretSource) -> Result<(Secret, String), NotifyError> {
    let SecretSource::Env { env } = source else {
        return Err(NotifyError::UrlCommand);
    };
    let value = std::env::var(env).map_err(|e| match e {
        std::env::VarError::NotPresent => NotifyError::UrlUnset { var: env.clone() },
        std::env::VarError::NotUnicode(_) => NotifyError::UrlNotUnicode { var: env.clone() },
    })?;
    Ok((Secret::new(value.trim()), format!("the value of {env}")))
}

/// The URL parsed, when it may carry a secret: HTTPS, or plain HTTP to
/// this machine (a test, a local relay), as for the OAuth token URL.
/// `from` says where it came from, for the errors; they never quote it.
pub fn check_url(url: &str, from: &str) -> Result<url::Url, NotifyError> {
    if url.is_empty() {
        return Err(NotifyError::UrlEmpty { from: from.into() });
    }
    let parsed = url::Url::parse(url).map_err(|e| NotifyError::UrlInvalid {
        from: from.into(),
        reason: e.to_string(),
    })?;
    let loopback = crate::remote::oauth::is_loopback(&parsed);
    match parsed.scheme() {
        "https" if parsed.host().is_some() => Ok(parsed),
        "http" if loopback => Ok(parsed),
        _ => Err(NotifyError::UrlInsecure { from: from.into() }),
    }
}

impl Webhook {
    /// A webhook at `url` (checked by [`check_url`]); `from` names its
    /// source in errors. The URL, and its path and query alone, are
    /// registered as secrets, so no log line shows them.
    pub fn new(url: Secret, from: &str) -> Result<Webhook, NotifyError> {
        let parsed = check_url(url.expose(), from)?;
        // As sent (normalised by the parser), besides as given.
        crate::text::register_secret(parsed.as_str());
        crate::text::register_secret(&parsed[url::Position::BeforePath..]);
        let host = match (parsed.host_str(), parsed.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => String::from("(no host)"),
        };
        crate::remote::install_tls_provider();
        let client = reqwest::Client::builder()
            .connect_timeout(TIMEOUT.min(Duration::from_secs(5)))
            .timeout(TIMEOUT)
            // A redirect would carry the message elsewhere; a webhook does
            // not redirect, so one is an answer like any other refusal.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("exectop/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| NotifyError::Client(e.without_url().to_string()))?;
        Ok(Webhook { url, host, client })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// One POST of `{"text": …}`.
    pub async fn post_once(&self, text: &str) -> Result<(), NotifyError> {
        let body = serde_json::json!({ "text": text }).to_string();
        let answer = self
            .client
            .post(self.url.expose())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| self.transport(e))?;
        let status = answer.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = answer
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| crate::remote::http::parse_retry_after(v, Utc::now()));
        let host = self.host.clone();
        Err(if status.as_u16() == 429 {
            NotifyError::Throttled { host, retry_after }
        } else if status.is_server_error() {
            NotifyError::Server {
                host,
                status: status.as_u16(),
            }
        } else {
            NotifyError::Refused {
                host,
                status: status.as_u16(),
                detail: detail(answer).await,
            }
        })
    }

    /// `text` delivered, retried with back-off while that may help. A
    /// retry is logged at debug level; the caller logs the outcome.
    pub async fn deliver(&self, text: &str, retry: Retry) -> Result<(), NotifyError> {
        let backoff = ExponentialBuilder::new()
            .with_min_delay(retry.first_delay)
            .with_max_delay(retry.max_delay)
            .with_max_times(retry.tries.saturating_sub(1))
            .with_jitter();
        (|| self.post_once(text))
            .retry(backoff)
            .when(|e: &NotifyError| e.is_retryable(retry.longest_retry_after))
            // The receiver's own wait, where it gave one, instead of ours;
            // `None` (the tries are spent) stays the end.
            .adjust(|e: &NotifyError, next: Option<Duration>| {
                next.map(|ours| e.retry_after().unwrap_or(ours))
            })
            .notify(|e: &NotifyError, wait: Duration| {
                tracing::debug!("notify: {e}; trying again in {:.1}s", wait.as_secs_f64());
            })
            .await
    }

    fn transport(&self, e: reqwest::Error) -> NotifyError {
        let reason = if e.is_timeout() {
            "request timed out".to_string()
        } else if e.is_connect() {
            "cannot connect".to_string()
        } else {
            let e = e.without_url();
            let mut reason = format!("request failed: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                reason.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            crate::text::hide_secrets(&reason).into_owned()
        };
        NotifyError::Transport {
            host: self.host.clone(),
            reason,
        }
    }
}

/// The start of an answer, one line, secrets masked: why a receiver said no.
async fn detail(mut answer: reqwest::Response) -> String {
    let mut body = Vec::new();
    while body.len() < MAX_ANSWER {
        match answer.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&body);
    let short: String = text.trim().chars().take(DETAIL_CHARS).collect();
    let masked = crate::text::hide_secrets(&short).into_owned();
    crate::text::one_line(&masked).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http_and_errors_never_quote_the_url() {
        let from = "the value of HOOK";
        for ok in [
            "https://hooks.example.com/services/T/B/x",
            "http://127.0.0.1:8080/hook",
            "http://[::1]/hook",
            "http://localhost/hook",
        ] {
            assert!(check_url(ok, from).is_ok(), "{ok}");
        }
        for (bad, expected) in [
            (
                "http://hooks.example.com/services/T/B/leak1",
                "notify.url: the value of HOOK must be an https:// URL (http:// only to a loopback host): the URL is a secret",
            ),
            (
                "ftp://127.0.0.1/leak2",
                "notify.url: the value of HOOK must be an https:// URL (http:// only to a loopback host): the URL is a secret",
            ),
            (
                "hooks.example.com/leak3",
                "notify.url: the value of HOOK is not a URL (relative URL without a base)",
            ),
            ("", "notify.url: the value of HOOK is empty"),
        ] {
            let e = check_url(bad, from).unwrap_err().to_string();
            assert_eq!(e, expected, "{bad}");
        }
    }

    #[test]
    fn an_unset_variable_is_named() {
        let e = read_url(&SecretSource::Env {
            env: "EXECTOP_TEST_HOOK_NOT_SET_ANYWHERE".into(),
        })
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "notify.url: the environment variable EXECTOP_TEST_HOOK_NOT_SET_ANYWHERE is not set"
        );
        let e = read_url(&SecretSource::Command {
            command: vec!["pass".into()],
        })
        .unwrap_err();
        assert_eq!(e, NotifyError::UrlCommand);
    }

    #[test]
    fn the_url_and_its_path_are_masked_and_never_debug_printed() {
        let url = "https://hooks.example.com/services/T0/B0/masked-path-x1";
        let hook = Webhook::new(Secret::new(url), "a test").unwrap();
        assert_eq!(hook.host(), "hooks.example.com");
        let shown = format!("{hook:?}");
        assert!(!shown.contains("masked-path-x1"), "{shown}");
        assert!(shown.contains("hooks.example.com"), "{shown}");
        assert_eq!(
            crate::text::hide_secrets("POST /services/T0/B0/masked-path-x1 failed"),
            "POST *** failed"
        );
    }

    #[test]
    fn what_is_retried() {
        let host = || "h".to_string();
        let minute = Duration::from_secs(60);
        assert!(
            NotifyError::Server {
                host: host(),
                status: 503
            }
            .is_retryable(minute)
        );
        assert!(
            NotifyError::Transport {
                host: host(),
                reason: "x".into()
            }
            .is_retryable(minute)
        );
        let throttled = |secs: Option<u64>| NotifyError::Throttled {
            host: host(),
            retry_after: secs.map(Duration::from_secs),
        };
        assert!(throttled(None).is_retryable(minute));
        assert!(throttled(Some(60)).is_retryable(minute));
        assert!(!throttled(Some(61)).is_retryable(minute));
        let refused = NotifyError::Refused {
            host: host(),
            status: 404,
            detail: "no_service".into(),
        };
        assert!(!refused.is_retryable(minute));
        assert_eq!(
            refused.to_string(),
            "webhook at h: HTTP 404 (no_service), not retried"
        );
        assert_eq!(
            throttled(Some(3)).to_string(),
            "webhook at h: throttled (HTTP 429, Retry-After 3s)"
        );
    }
}
