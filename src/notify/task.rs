//! The notifier's task: snapshots in, the digest decides, one delivery at a
//! time runs in a task of its own, so its retries never hold up reading.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::digest::{Delivery, Digest, Outgoing};
use super::{NotifyError, NotifyStatus, Settings, lock};
use crate::domain::Finding;
use crate::monitor::Snapshot;

type Sending = JoinHandle<Result<(), NotifyError>>;

pub(super) async fn run(
    mut snapshots: mpsc::Receiver<Arc<Snapshot>>,
    settings: Settings,
    status: Arc<Mutex<NotifyStatus>>,
) {
    let Settings {
        webhook,
        policy,
        retry,
    } = settings;
    let webhook = Arc::new(webhook);
    let mut digest = Digest::new(policy);
    let mut last_findings: Option<Arc<Vec<Finding>>> = None;
    let mut sending: Option<(Sending, Outgoing)> = None;
    let mut failing = false;
    loop {
        let due = digest.due_at();
        let wake = due.map_or_else(
            || tokio::time::Instant::now() + Duration::from_secs(3600),
            tokio::time::Instant::from_std,
        );
        tokio::select! {
            got = snapshots.recv() => {
                let Some(snapshot) = got else { break };
                // Before a database poll succeeds a snapshot knows no rows:
                // its "no findings" would be a false baseline. Findings
                // shared with the last snapshot are the same findings.
                if snapshot.database.last_success.is_none()
                    || last_findings
                        .as_ref()
                        .is_some_and(|f| Arc::ptr_eq(f, &snapshot.findings))
                {
                    continue;
                }
                digest.observe(&snapshot.findings, Instant::now());
                last_findings = Some(Arc::clone(&snapshot.findings));
            }
            ended = finish(&mut sending) => {
                let Some((_, outgoing)) = sending.take() else { continue };
                let result = ended.unwrap_or_else(|e| {
                    Err(NotifyError::Transport {
                        host: webhook.host().to_string(),
                        reason: format!("the delivery task ended: {e}"),
                    })
                });
                let delivery = match &result {
                    Ok(()) => Delivery::Delivered,
                    Err(NotifyError::Refused { .. }) => Delivery::Refused,
                    Err(e) => Delivery::Failed { retry_after: e.retry_after() },
                };
                digest.finished(delivery, Instant::now());
                report(&result, &outgoing, webhook.host(), retry.tries, &mut failing, &status);
                lock(&status).told_open = digest.told();
            }
            () = tokio::time::sleep_until(wake), if due.is_some() => {
                if let Some(outgoing) = digest.take(Instant::now()) {
                    let hook = Arc::clone(&webhook);
                    let text = outgoing.text.clone();
                    let task = tokio::spawn(async move { hook.deliver(&text, retry).await });
                    sending = Some((task, outgoing));
                }
            }
        }
    }
    if let Some((task, _)) = sending {
        task.abort();
    }
}

/// The end of the delivery under way; never, while there is none.
async fn finish(
    sending: &mut Option<(Sending, Outgoing)>,
) -> Result<Result<(), NotifyError>, tokio::task::JoinError> {
    match sending {
        Some((task, _)) => task.await,
        None => std::future::pending().await,
    }
}

/// One log line per message (never per try), and the status.
fn report(
    result: &Result<(), NotifyError>,
    outgoing: &Outgoing,
    host: &str,
    tries: usize,
    failing: &mut bool,
    status: &Mutex<NotifyStatus>,
) {
    let mut s = lock(status);
    match result {
        Ok(()) => {
            if std::mem::take(failing) {
                tracing::info!("notify: the webhook at {host} accepts messages again");
            }
            tracing::info!(
                "notify: told the webhook at {host} of {} new and {} cleared findings",
                outgoing.appeared,
                outgoing.cleared
            );
            s.delivered += 1;
            s.last_delivered_at = Some(chrono::Utc::now());
            s.last_error = None;
        }
        Err(e) => {
            *failing = true;
            match e {
                NotifyError::Refused { .. } => {
                    tracing::warn!("notify: {e}: the message is dropped");
                }
                _ => tracing::warn!(
                    "notify: {e}: not delivered (at most {tries} tries); its changes go into the next message"
                ),
            }
            s.undelivered += 1;
            s.last_error = Some(e.to_string());
        }
    }
}
