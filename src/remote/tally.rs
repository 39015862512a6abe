//! A tracker's health over one run (`exectop check`), not only at its end.
//! A tracker's own health describes the latest answers: one success resets
//! it, so a remote that answered garbage to nearly every look-up could still
//! end a diagnosis "ok". A one-shot report must say that look-ups failed.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{
    BoxFuture, ListPage, ListScope, LookupTarget, RemoteError, RemoteTracker, TrackerHealth,
};
use crate::domain::{RemoteAnswer, RemoteDetail, RemoteExecution};

pub struct Tallied {
    inner: Arc<dyn RemoteTracker>,
    lookups: AtomicU64,
    failed_lookups: AtomicU64,
    /// Answered "throttled" (a 429, or not sent while the tracker paused).
    unanswered: AtomicU64,
    last_lookup_error: Mutex<Option<String>>,
    list_error: Mutex<Option<String>>,
}

impl Tallied {
    pub fn new(inner: Arc<dyn RemoteTracker>) -> Tallied {
        Tallied {
            inner,
            lookups: AtomicU64::new(0),
            failed_lookups: AtomicU64::new(0),
            unanswered: AtomicU64::new(0),
            last_lookup_error: Mutex::new(None),
            list_error: Mutex::new(None),
        }
    }

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

impl RemoteTracker for Tallied {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn prepare(&self) -> BoxFuture<'_, Result<(), RemoteError>> {
        self.inner.prepare()
    }

    fn lookup<'a>(&'a self, target: &'a LookupTarget) -> BoxFuture<'a, RemoteAnswer> {
        Box::pin(async move { self.lookup_detailed(target).await.0 })
    }

    fn lookup_detailed<'a>(
        &'a self,
        target: &'a LookupTarget,
    ) -> BoxFuture<'a, (RemoteAnswer, Option<Arc<RemoteDetail>>)> {
        Box::pin(async move {
            let (answer, detail) = self.inner.lookup_detailed(target).await;
            self.lookups.fetch_add(1, Ordering::Relaxed);
            match &answer {
                RemoteAnswer::Error { message } => {
                    self.failed_lookups.fetch_add(1, Ordering::Relaxed);
                    *self.last_lookup_error.lock().unwrap() = Some(message.clone());
                }
                RemoteAnswer::Throttled { .. } | RemoteAnswer::Unasked { .. } => {
                    self.unanswered.fetch_add(1, Ordering::Relaxed);
                }
                _ => {}
            }
            (answer, detail)
        })
    }

    fn can_list(&self) -> bool {
        self.inner.can_list()
    }

    fn note_remote_ids(&self, remote_ids: &mut dyn Iterator<Item = &str>) {
        self.inner.note_remote_ids(remote_ids)
    }

    fn list_scopes(&self) -> BoxFuture<'_, Result<Vec<ListScope>, RemoteError>> {
        Box::pin(async move {
            let scopes = self.inner.list_scopes().await;
            if let Err(e) = &scopes {
                *self.list_error.lock().unwrap() = Some(e.to_string());
            }
            scopes
        })
    }

    fn list_page<'a>(
        &'a self,
        scope: &'a ListScope,
        cursor: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ListPage, RemoteError>> {
        Box::pin(async move {
            let page = self.inner.list_page(scope, cursor).await;
            if let Err(e) = &page {
                *self.list_error.lock().unwrap() = Some(e.to_string());
            }
            page
        })
    }

    fn list_active(&self) -> BoxFuture<'_, Result<Vec<RemoteExecution>, RemoteError>> {
        Box::pin(async move {
            let listed = super::every_page(self).await;
            if let Err(e) = &listed {
                *self.list_error.lock().unwrap() = Some(e.to_string());
            }
            listed
        })
    }

    fn can_stop(&self) -> bool {
        self.inner.can_stop()
    }

    fn stop<'a>(
        &'a self,
        target: &'a LookupTarget,
        why: &'a str,
    ) -> BoxFuture<'a, Result<(), RemoteError>> {
        self.inner.stop(target, why)
    }

    /// The tracker's own health, not ok when anything failed during the run.
    fn health(&self) -> TrackerHealth {
        let mut health = self.inner.health();
        if let Some(failures) = self.failures() {
            health.ok = false;
            health.last_error = Some(failures);
        }
        health
    }
}
