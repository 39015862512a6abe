//! Remote trackers: the systems that actually run executions. The poller only
//! knows the [`RemoteTracker`] trait, so a new kind (Step Functions) is a new
//! implementation here, not a change to the poller.

use std::future::Future;
use std::pin::Pin;

use crate::domain::{RemoteAnswer, RemoteExecution};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Health of the tracker as a whole, for the header and `check --json`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrackerHealth {
    pub ok: bool,
    pub latency_ms: Option<u64>,
    /// Set after repeated failures, until the remote answers again: polling
    /// pauses until this moment passes, then probes.
    pub degraded_until: Option<chrono::DateTime<chrono::Utc>>,
    pub last_error: Option<String>,
}

pub trait RemoteTracker: Send + Sync {
    /// A short name for the header: `http api.example.com`, `none`.
    fn describe(&self) -> String;

    /// Asks for one execution's status. Never panics on a bad answer: it
    /// becomes `RemoteAnswer::Error`.
    fn lookup<'a>(&'a self, remote_id: &'a str) -> BoxFuture<'a, RemoteAnswer>;

    /// Whether `list_active` is available (a list endpoint is configured).
    fn can_list(&self) -> bool {
        false
    }

    /// One page of the executions the tracker lists as active: the first
    /// page without a cursor, then each `next` the page before gave.
    fn list_page<'a>(
        &'a self,
        _cursor: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ListPage, String>> {
        Box::pin(async { Err("this tracker cannot list executions".to_string()) })
    }

    /// Every page of the executions the tracker lists as active, at once.
    /// The live monitor takes them page by page instead (`ListWalk`), so a
    /// list of 100 000 runs is never held whole.
    fn list_active(&self) -> BoxFuture<'_, Result<Vec<RemoteExecution>, String>> {
        Box::pin(every_page(self))
    }

    /// Whether `stop` is available.
    fn can_stop(&self) -> bool {
        false
    }

    /// Asks the tracker to stop one execution; Ok once it accepted the request.
    fn stop<'a>(&'a self, _remote_id: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async { Err("this tracker cannot stop executions".to_string()) })
    }

    fn health(&self) -> TrackerHealth;
}

/// One answer of the list endpoint.
#[derive(Debug, Default)]
pub struct ListPage {
    pub runs: Vec<RemoteExecution>,
    /// Where the next page is; `None` on the last page.
    pub next: Option<String>,
}

/// Most pages one list walks: at 1 000 runs a page, ten million runs. An API
/// that keeps answering with new cursors past it is broken, not big.
pub const MAX_LIST_PAGES: usize = 10_000;

/// Walks a paginated list: refuses a cursor that repeats the one before
/// (the API would loop forever) and a list longer than `MAX_LIST_PAGES`.
#[derive(Debug, Default)]
pub struct ListWalk {
    pages: usize,
    cursor: Option<String>,
}

impl ListWalk {
    /// The cursor of the next page to ask for.
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// Takes a page's `next`: Ok(true) when there is another page to ask for.
    pub fn advance(&mut self, next: Option<String>) -> Result<bool, String> {
        self.pages += 1;
        let Some(next) = next else {
            return Ok(false);
        };
        if self.cursor.as_deref() == Some(next.as_str()) {
            return Err(format!(
                "the list answer's next page {next:?} is the page just read; stopped listing"
            ));
        }
        if self.pages >= MAX_LIST_PAGES {
            return Err(format!(
                "the list goes on past {MAX_LIST_PAGES} pages; stopped listing"
            ));
        }
        self.cursor = Some(next);
        Ok(true)
    }
}

async fn every_page<T: RemoteTracker + ?Sized>(
    tracker: &T,
) -> Result<Vec<RemoteExecution>, String> {
    let mut walk = ListWalk::default();
    let mut all = Vec::new();
    loop {
        let page = tracker.list_page(walk.cursor()).await?;
        all.extend(page.runs);
        if !walk.advance(page.next)? {
            return Ok(all);
        }
    }
}

mod answer;
pub mod http;
pub mod tally;

/// Makes ring the process's TLS crypto provider (reqwest is built without
/// one: its default, aws-lc, needs cmake and a long C build). Idempotent;
/// every HTTP client exectop builds calls it first.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The configured tracker, or `None` in database-only mode.
pub fn build(
    config: &crate::config::Config,
) -> Result<Option<std::sync::Arc<dyn RemoteTracker>>, String> {
    match config.remote.kind {
        crate::config::RemoteKind::None => Ok(None),
        crate::config::RemoteKind::Http => Ok(Some(std::sync::Arc::new(http::HttpTracker::new(
            &config.remote,
            &config.poll,
        )?))),
    }
}

#[cfg(test)]
mod parse_props;
