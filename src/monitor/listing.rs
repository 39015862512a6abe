//! Applying the remote tracker's list of active executions, page by page.
//!
//! A list of 100 000 runs arrives in pages and is applied as it arrives, so
//! it is never held whole. What a page needs from the state, which local row
//! has a listed remote id, is looked up in an index built once per list: the
//! active rows with a remote id, sorted by it.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{MonitorState, record_into};
use crate::domain::doubt::MIN_NOT_FOUND;
use crate::domain::{Execution, Observation, RemoteAnswer, RemoteExecution};

/// A list being applied.
#[derive(Debug, Default)]
pub(super) struct ListProgress {
    /// Active rows with a remote id when the list began, by remote id.
    by_remote_id: Vec<Arc<Execution>>,
    /// Listed runs without a local record, so far.
    remote_only: HashMap<String, RemoteExecution>,
    /// Runs listed so far.
    listed: usize,
}

impl ListProgress {
    fn local_row(&self, remote_id: &str) -> Option<&Arc<Execution>> {
        self.by_remote_id
            .binary_search_by(|e| e.remote_id.as_deref().unwrap_or_default().cmp(remote_id))
            .ok()
            .map(|i| &self.by_remote_id[i])
    }
}

impl MonitorState {
    /// Starts applying a list; its pages follow (`apply_list_page`), then
    /// `finish_list`. Starting again drops a list left unfinished.
    pub fn begin_list(&mut self) {
        let mut by_remote_id: Vec<Arc<Execution>> = self
            .active
            .values()
            .filter(|e| e.remote_id.is_some())
            .cloned()
            .collect();
        by_remote_id.sort_unstable_by(|a, b| a.remote_id.cmp(&b.remote_id));
        self.listing = Some(ListProgress {
            by_remote_id,
            remote_only: HashMap::new(),
            listed: 0,
        });
    }

    /// The remote ids of the active rows.
    pub fn active_remote_ids(&self) -> impl Iterator<Item = &str> {
        self.active.values().filter_map(|e| e.remote_id.as_deref())
    }

    /// Remote ids on this page that have no active row (to look up locally).
    pub fn unmatched(&self, page: &[RemoteExecution]) -> Vec<String> {
        let Some(progress) = &self.listing else {
            return page.iter().map(|r| r.remote_id.clone()).collect();
        };
        page.iter()
            .filter(|r| progress.local_row(&r.remote_id).is_none())
            .map(|r| r.remote_id.clone())
            .collect()
    }

    /// Applies one page: local rows it names are recorded as seen at that
    /// status; terminal local rows it names (`local_by_remote_id`, read for
    /// `unmatched`) stay watched, since the remote still runs them; unknown
    /// ids become remote-only when the list finishes.
    pub fn apply_list_page(
        &mut self,
        page: Vec<RemoteExecution>,
        local_by_remote_id: Vec<Execution>,
        now: DateTime<Utc>,
    ) {
        let Some(progress) = &mut self.listing else {
            return;
        };
        progress.listed += page.len();
        for r in page {
            let answer = RemoteAnswer::Found {
                status: r.status,
                raw: r.raw_status.clone(),
            };
            // As of when the page was asked for, not when it is applied (a
            // walk of many pages takes seconds): a row that finished after
            // that moment is not contradicted by it.
            let observation = Observation {
                checked_at: r.first_seen_at.min(now),
                answer,
                detail: None,
            };
            // A row that left the active set since the list began is not
            // recorded: its history went with it.
            if let Some(local) = progress.local_row(&r.remote_id)
                && self.active.contains_key(&local.id)
            {
                record_into(
                    Arc::make_mut(&mut self.histories),
                    &mut self.watched_terminal,
                    &local.id,
                    observation,
                );
            } else if let Some(local) = local_by_remote_id
                .iter()
                .find(|e| e.remote_id.as_deref() == Some(&r.remote_id))
            {
                if local.status.is_terminal() {
                    self.watched_terminal.watch(local);
                    record_into(
                        Arc::make_mut(&mut self.histories),
                        &mut self.watched_terminal,
                        &local.id,
                        observation,
                    );
                }
            } else {
                let first_seen = self
                    .remote_only
                    .get(&r.remote_id)
                    .map_or(now, |p| p.first_seen_at);
                progress.remote_only.insert(
                    r.remote_id.clone(),
                    RemoteExecution {
                        first_seen_at: first_seen,
                        ..r
                    },
                );
            }
        }
    }

    /// The list is complete: the runs it named without a local record are the
    /// remote-only ones now.
    ///
    /// A list that shrinks from several runs to none at once, while several
    /// local rows with a remote id are still active, is more likely a broken
    /// answer than every run ending together: the remote is marked suspect
    /// and the last complete answer stands.
    pub fn finish_list(&mut self) {
        let Some(progress) = self.listing.take() else {
            return;
        };
        let before = self.last_listed.replace(progress.listed);
        if progress.listed == 0
            && progress.by_remote_id.len() >= MIN_NOT_FOUND
            && let Some(before) = before.filter(|n| *n >= MIN_NOT_FOUND)
        {
            self.last_listed = Some(before);
            self.remote_suspect = Some(format!(
                "the list of active runs went from {before} to none at once: the remote looks broken, \
                 so the last complete list stands"
            ));
            return;
        }
        if progress.listed > 0
            && self
                .remote_suspect
                .as_deref()
                .is_some_and(|s| s.starts_with("the list"))
        {
            self.remote_suspect = None;
        }
        self.remote_only = progress.remote_only;
    }

    /// A page failed: what the pages before said stands, but an incomplete
    /// list cannot say which runs are remote-only.
    pub fn abandon_list(&mut self) {
        self.listing = None;
    }
}
