//! A tracker wrapped so that something notes every answer it gives: the
//! `RemoteTracker` trait is the one seam every tracker goes through, so
//! HTTP and Step Functions are observed alike and neither changes. A call
//! is noted once, as the tracker answered it: the retries a tracker makes
//! inside one call are not noted apart. `check` tallies failures over its
//! run (`remote::tally`), the agent counts requests for its metrics
//! (`agent::requests`).

use std::sync::Arc;

use super::{
    BoxFuture, ListPage, ListScope, LookupTarget, RemoteError, RemoteTracker, TrackerHealth,
};
use crate::domain::remote_events::RecentEvents;
use crate::domain::{RemoteAnswer, RemoteDetail, RemoteExecution};

/// A call other than a look-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// Finding what to list (`list_scopes`).
    Scopes,
    /// One list page.
    Page,
    /// A whole list, every page (`list_active`): what a walk refuses (a
    /// cursor that repeats) is noted here only.
    Walk,
    Stop,
}

/// What a wrapper does with each answer; every hook defaults to nothing.
pub trait CallObserver: Send + Sync {
    fn lookup(&self, _answer: &RemoteAnswer) {}
    /// `error` is `None` when the call succeeded.
    fn call(&self, _kind: CallKind, _error: Option<&RemoteError>) {}
    /// The tracker's health as the wrapper reports it.
    fn health(&self, health: TrackerHealth) -> TrackerHealth {
        health
    }
}

pub struct Observed<O> {
    inner: Arc<dyn RemoteTracker>,
    pub observer: O,
}

impl<O: CallObserver> Observed<O> {
    pub fn wrap(inner: Arc<dyn RemoteTracker>, observer: O) -> Observed<O> {
        Observed { inner, observer }
    }

    fn noted<T>(&self, kind: CallKind, result: Result<T, RemoteError>) -> Result<T, RemoteError> {
        self.observer.call(kind, result.as_ref().err());
        result
    }
}

impl<O: CallObserver> RemoteTracker for Observed<O> {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn prepare(&self) -> BoxFuture<'_, Result<(), RemoteError>> {
        self.inner.prepare()
    }

    fn lookup<'a>(&'a self, target: &'a LookupTarget) -> BoxFuture<'a, RemoteAnswer> {
        Box::pin(async move {
            let answer = self.inner.lookup(target).await;
            self.observer.lookup(&answer);
            answer
        })
    }

    fn lookup_detailed<'a>(
        &'a self,
        target: &'a LookupTarget,
    ) -> BoxFuture<'a, (RemoteAnswer, Option<Arc<RemoteDetail>>)> {
        Box::pin(async move {
            let answered = self.inner.lookup_detailed(target).await;
            self.observer.lookup(&answered.0);
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
        Box::pin(async move { self.noted(CallKind::Scopes, self.inner.list_scopes().await) })
    }

    fn list_page<'a>(
        &'a self,
        scope: &'a ListScope,
        cursor: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ListPage, RemoteError>> {
        Box::pin(
            async move { self.noted(CallKind::Page, self.inner.list_page(scope, cursor).await) },
        )
    }

    /// Walks the pages through `list_scopes` and `list_page` above, so each
    /// is noted there.
    fn list_active(&self) -> BoxFuture<'_, Result<Vec<RemoteExecution>, RemoteError>> {
        Box::pin(async move { self.noted(CallKind::Walk, super::every_page(self).await) })
    }

    fn can_stop(&self) -> bool {
        self.inner.can_stop()
    }

    fn stop<'a>(
        &'a self,
        target: &'a LookupTarget,
        why: &'a str,
    ) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async move { self.noted(CallKind::Stop, self.inner.stop(target, why).await) })
    }

    fn keeps_events(&self) -> bool {
        self.inner.keeps_events()
    }

    fn recent_events<'a>(
        &'a self,
        target: &'a LookupTarget,
    ) -> BoxFuture<'a, Result<RecentEvents, RemoteError>> {
        self.inner.recent_events(target)
    }

    fn health(&self) -> TrackerHealth {
        self.observer.health(self.inner.health())
    }
}
