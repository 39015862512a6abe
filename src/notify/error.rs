//! What can go wrong in setting up the notifier or in delivering a message.
//! No variant carries the webhook URL: its setting is named by its key and
//! its variable, the receiver by its host (and port) alone, since the URL's
//! path is the secret (a Slack webhook's is).

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    #[error("notify.url: the environment variable {var} is not set")]
    UrlUnset { var: String },
    #[error("notify.url: the environment variable {var} is not valid UTF-8")]
    UrlNotUnicode { var: String },
    #[error("notify.url: {from} is empty")]
    UrlEmpty { from: String },
    /// `reason` is the URL parser's, which never quotes the input.
    #[error("notify.url: {from} is not a URL ({reason})")]
    UrlInvalid { from: String, reason: String },
    #[error(
        "notify.url: {from} must be an https:// URL (http:// only to a loopback host): the URL is a secret"
    )]
    UrlInsecure { from: String },
    #[error(
        "notify.url: a command is not supported for the webhook URL; give {{ env = \"VARIABLE\" }}"
    )]
    UrlCommand,
    #[error("notify: cannot build the HTTP client: {0}")]
    Client(String),
    /// No answer: cannot connect, timed out, the connection broke.
    #[error("webhook at {host}: {reason}")]
    Transport { host: String, reason: String },
    /// A 5xx answer.
    #[error("webhook at {host}: HTTP {status}")]
    Server { host: String, status: u16 },
    /// A 429 answer, with its `Retry-After` if it gave one.
    #[error("webhook at {host}: throttled (HTTP 429{})", retry_after_text(*.retry_after))]
    Throttled {
        host: String,
        retry_after: Option<Duration>,
    },
    /// Any other answer that is not a success (a 4xx, a redirect): sending
    /// the same again would not help. `detail` is the start of the
    /// receiver's answer (Slack says why: `invalid_payload`, `no_service`).
    #[error("webhook at {host}: HTTP {status}{}, not retried", detail_text(.detail))]
    Refused {
        host: String,
        status: u16,
        detail: String,
    },
}

fn retry_after_text(wait: Option<Duration>) -> String {
    wait.map_or_else(String::new, |w| {
        format!(", Retry-After {}s", w.as_secs_f64().ceil() as u64)
    })
}

fn detail_text(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(" ({detail})")
    }
}

impl NotifyError {
    /// Whether another try may succeed: no answer, a server error, or a
    /// throttle whose wait is at most `longest_wait`. A longer wait ends
    /// the series; the notifier holds the next message until then.
    pub fn is_retryable(&self, longest_wait: Duration) -> bool {
        match self {
            NotifyError::Transport { .. } | NotifyError::Server { .. } => true,
            NotifyError::Throttled { retry_after, .. } => {
                retry_after.is_none_or(|w| w <= longest_wait)
            }
            _ => false,
        }
    }

    /// The wait the receiver asked for (429 `Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            NotifyError::Throttled { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}
