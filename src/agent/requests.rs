//! Remote requests by outcome, for `exectop_remote_requests_total`.
//!
//! The trackers keep their health (the gate's failure streak, the last
//! error), not a count of what they answered. The agent wraps its tracker in
//! [`Counted`] at the one seam every tracker goes through, the
//! `RemoteTracker` trait, so HTTP and Step Functions are counted alike and
//! neither changes. A look-up or a list page counts once, as the tracker
//! answered it: the retries a tracker makes inside one call are not
//! counted apart.

use std::sync::Arc;

use super::metrics::{Metrics, Request};
use crate::domain::{RemoteAnswer, RemoteDetail};
use crate::remote::{
    BoxFuture, ListPage, ListScope, LookupTarget, RemoteError, RemoteTracker, TrackerHealth,
};

pub struct Counted {
    inner: Arc<dyn RemoteTracker>,
    metrics: Arc<Metrics>,
}

impl Counted {
    pub fn new(inner: Arc<dyn RemoteTracker>, metrics: Arc<Metrics>) -> Counted {
        Counted { inner, metrics }
    }
}

/// The `outcome` label of a look-up's answer.
pub fn lookup_outcome(answer: &RemoteAnswer) -> &'static str {
    match answer {
        RemoteAnswer::Found { .. } => "found",
        RemoteAnswer::NotFound => "not_found",
        RemoteAnswer::Error { .. } => "error",
        RemoteAnswer::Throttled { .. } => "throttled",
        RemoteAnswer::Doubted { .. } => "doubted",
        RemoteAnswer::Unasked { .. } => "unasked",
    }
}

/// The `outcome` label of a list page or a stop.
pub fn call_outcome<T>(result: &Result<T, RemoteError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(RemoteError::Throttled(_)) => "throttled",
        // Nothing the remote answered about the call: it was not made, or
        // our credentials were refused (a look-up says `unasked` for both).
        Err(
            RemoteError::Auth(_)
            | RemoteError::Config(_)
            | RemoteError::Secret(_)
            | RemoteError::Context(_)
            | RemoteError::Unsendable(_)
            | RemoteError::Unsupported(_),
        ) => "unasked",
        Err(
            RemoteError::Transport(_)
            | RemoteError::TooLarge { .. }
            | RemoteError::ErrorStatus(_)
            | RemoteError::BadAnswer(_),
        ) => "error",
    }
}

impl Counted {
    fn count(&self, call: &'static str, outcome: &'static str) {
        self.metrics.count_request(Request { call, outcome });
    }
}

impl RemoteTracker for Counted {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn prepare(&self) -> BoxFuture<'_, Result<(), RemoteError>> {
        self.inner.prepare()
    }

    fn lookup<'a>(&'a self, target: &'a LookupTarget) -> BoxFuture<'a, RemoteAnswer> {
        Box::pin(async move {
            let answer = self.inner.lookup(target).await;
            self.count("lookup", lookup_outcome(&answer));
            answer
        })
    }

    fn lookup_detailed<'a>(
        &'a self,
        target: &'a LookupTarget,
    ) -> BoxFuture<'a, (RemoteAnswer, Option<Arc<RemoteDetail>>)> {
        Box::pin(async move {
            let answered = self.inner.lookup_detailed(target).await;
            self.count("lookup", lookup_outcome(&answered.0));
            answered
        })
    }

    fn can_list(&self) -> bool {
        self.inner.can_list()
    }

    fn note_remote_ids(&self, remote_ids: &mut dyn Iterator<Item = &str>) {
        self.inner.note_remote_ids(remote_ids)
    }

    fn list_scopes(&self) -> BoxFuture<'_, Result<Vec<ListScope>, RemoteError>> {
        self.inner.list_scopes()
    }

    // `list_active` is left to the trait's default, which walks the pages
    // through `list_page` below: each page is counted there.
    fn list_page<'a>(
        &'a self,
        scope: &'a ListScope,
        cursor: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ListPage, RemoteError>> {
        Box::pin(async move {
            let page = self.inner.list_page(scope, cursor).await;
            self.count("list", call_outcome(&page));
            page
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
        Box::pin(async move {
            let stopped = self.inner.stop(target, why).await;
            self.count("stop", call_outcome(&stopped));
            stopped
        })
    }

    fn health(&self) -> TrackerHealth {
        self.inner.health()
    }
}
