//! Notifications: a webhook (Slack-compatible `{"text": …}`) told when
//! findings appear and when they clear, grouped and rate-limited, so a
//! burst of 200 stuck rows is one message.
//!
//! ```text
//! poller ──Arc<Snapshot>──▶ NotifySender::send (try_send, 4 deep; full: dropped)
//!                             │
//!                             ▼  notifier task (spawn)
//!                           Digest (pure: what the receiver knows, what is due)
//!                             │ a message due
//!                             ▼  delivery task, one at a time
//!                           Webhook::deliver (POST, back-off retries) ──▶ outcome ──▶ Digest
//! ```
//!
//! Sending never blocks polling: the caller only `try_send`s, and a full
//! channel drops the snapshot (the next one carries the whole state
//! anyway). The notifier task keeps reading snapshots while a message is
//! being delivered and retried in its own task; what changes meanwhile goes
//! into the next message.
//!
//! `digest` and `message` are pure and unit-tested; `webhook` and `task`
//! are the edges (the environment, HTTP, the clock).

mod digest;
mod error;
mod message;
mod task;
mod webhook;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use crate::config::NotifyConfig;
use crate::monitor::Snapshot;
use crate::remote::secrets::Secret;

pub use digest::{
    Changes, Delivery, Digest, FindingKey, Outgoing, Policy, Subject, between, diff, keys,
};
pub use error::NotifyError;
pub use message::{MAX_CHARS, MAX_LINES, compose};
pub use webhook::{Retry, Webhook, check_url};

/// Snapshots waiting for the notifier at most; more are dropped.
pub const CHANNEL_CAPACITY: usize = 4;

/// Everything the notifier needs: where to send, when, how to retry.
#[derive(Debug)]
pub struct Settings {
    webhook: Webhook,
    pub policy: Policy,
    pub retry: Retry,
}

impl Settings {
    /// From `[notify]`: reads the URL from its environment variable and
    /// checks it (HTTPS, or HTTP to a loopback host).
    pub fn from_config(config: &NotifyConfig) -> Result<Settings, NotifyError> {
        let (url, from) = webhook::read_url(&config.url)?;
        let policy = Policy {
            group: config.group(),
            min_interval: config.min_interval(),
        };
        Settings::new(url, &from, policy)
    }

    /// A webhook at `url`, which `from` names in errors ("the value of
    /// EXECTOP_WEBHOOK_URL"), with the default retries.
    pub fn new(url: Secret, from: &str, policy: Policy) -> Result<Settings, NotifyError> {
        Ok(Settings {
            webhook: Webhook::new(url, from)?,
            policy,
            retry: Retry::default(),
        })
    }
}

/// How notifying goes, for a health or metrics endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifyStatus {
    /// Messages the webhook accepted.
    pub delivered: u64,
    /// Messages not delivered: refused (a 4xx), or failing after every try.
    pub undelivered: u64,
    /// Snapshots dropped because the notifier had 4 waiting.
    pub dropped_snapshots: u64,
    /// Why the last message was not delivered; `None` once one is.
    pub last_error: Option<String>,
    pub last_delivered_at: Option<DateTime<Utc>>,
    /// Findings the receiver has been told are open.
    pub told_open: usize,
}

/// The caller's end of a running notifier. Dropping it (or
/// [`NotifySender::shutdown`]) stops the notifier; changes not yet sent are
/// not sent (the next start announces what is open then).
pub struct NotifySender {
    snapshots: mpsc::Sender<Arc<Snapshot>>,
    status: Arc<Mutex<NotifyStatus>>,
    task: tokio::task::JoinHandle<()>,
}

impl NotifySender {
    /// The channel the notifier reads, for a caller that fans snapshots
    /// out to several consumers (the agent); sends on it must not wait.
    pub fn channel(&self) -> mpsc::Sender<Arc<Snapshot>> {
        self.snapshots.clone()
    }

    /// Hands a snapshot to the notifier without waiting: false when it was
    /// dropped (the notifier has [`CHANNEL_CAPACITY`] waiting, or stopped).
    pub fn send(&self, snapshot: Arc<Snapshot>) -> bool {
        match self.snapshots.try_send(snapshot) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                lock(&self.status).dropped_snapshots += 1;
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    pub fn status(&self) -> NotifyStatus {
        lock(&self.status).clone()
    }

    /// Stops the notifier (a delivery under way is abandoned) and waits
    /// until it has.
    pub async fn shutdown(self) {
        drop(self.snapshots);
        let _ = self.task.await;
    }
}

/// Starts the notifier `[notify]` describes. Call it within a Tokio runtime.
pub fn start(config: &NotifyConfig) -> Result<NotifySender, NotifyError> {
    Ok(spawn(Settings::from_config(config)?))
}

/// Starts the notifier in a task of its own. Call it within a Tokio runtime.
pub fn spawn(settings: Settings) -> NotifySender {
    let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
    let status = Arc::new(Mutex::new(NotifyStatus::default()));
    let task = tokio::spawn(task::run(rx, settings, Arc::clone(&status)));
    NotifySender {
        snapshots: tx,
        status,
        task,
    }
}

fn lock(status: &Mutex<NotifyStatus>) -> std::sync::MutexGuard<'_, NotifyStatus> {
    status.lock().unwrap_or_else(|e| e.into_inner())
}
