//! A tracker's health over one run (`exectop check`), not only at its end.
//! A tracker's own health describes the latest answers: one success resets
//! it, so a remote that answered garbage to nearly every look-up could still
//! end a diagnosis "ok". A one-shot report must say that look-ups failed.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::observed::{CallKind, CallObserver, Observed};
use super::{RemoteError, RemoteTracker, TrackerHealth};
use crate::domain::RemoteAnswer;

/// The tracker as `check` asks it: each answer tallied.
pub type Tallied = Observed<Tally>;

impl Tallied {
    pub fn new(inner: Arc<dyn RemoteTracker>) -> Tallied {
        Observed::wrap(inner, Tally::default())
    }
}

#[derive(Default)]
pub struct Tally {
    lookups: AtomicU64,
    failed_lookups: AtomicU64,
    /// Answered "throttled" (a 429, or not sent while the tracker paused).
    unanswered: AtomicU64,
    last_lookup_error: Mutex<Option<String>>,
    list_error: Mutex<Option<String>>,
}

impl Tally {
    /// What failed during the run, as one line; `None` when nothing did.
    pub fn failures(&self) -> Option<String> {
        let mut parts = Vec::new();
        let failed = self.failed_lookups.load(Ordering::Relaxed);
        if failed > 0 {
            let last = self.last_lookup_error.lock().unwrap().clone();
            let unanswered = match self.unanswered.load(Ordering::Relaxed) {
                0 => String::new(),
                n => format!(", {n} unanswered (throttled or paused)"),
            };
            parts.push(format!(
                "{failed} of {} look-ups failed{unanswered} (last: {})",
                self.lookups.load(Ordering::Relaxed),
                last.unwrap_or_default()
            ));
        }
        if let Some(e) = self.list_error.lock().unwrap().clone() {
            parts.push(format!("the list call failed: {e}"));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

impl CallObserver for Tally {
    fn lookup(&self, answer: &RemoteAnswer) {
        self.lookups.fetch_add(1, Ordering::Relaxed);
        match answer {
            RemoteAnswer::Error { message } => {
                self.failed_lookups.fetch_add(1, Ordering::Relaxed);
                *self.last_lookup_error.lock().unwrap() = Some(message.clone());
            }
            RemoteAnswer::Throttled { .. } | RemoteAnswer::Unasked { .. } => {
                self.unanswered.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }

    fn call(&self, kind: CallKind, error: Option<&RemoteError>) {
        if let (CallKind::Scopes | CallKind::Page | CallKind::Walk, Some(e)) = (kind, error) {
            *self.list_error.lock().unwrap() = Some(e.to_string());
        }
    }

    /// The tracker's own health, not ok when anything failed during the run.
    fn health(&self, mut health: TrackerHealth) -> TrackerHealth {
        if let Some(failures) = self.failures() {
            health.ok = false;
            health.last_error = Some(failures);
        }
        health
    }
}
