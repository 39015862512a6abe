//! Remote trackers: the systems that actually run executions. The poller only
//! knows the [`RemoteTracker`] trait, so a new kind (Step Functions) is a new
//! implementation here, not a change to the poller.

use std::future::Future;
use std::pin::Pin;

use std::sync::Arc;

use crate::domain::remote_events::RecentEvents;
use crate::domain::{Execution, RemoteAnswer, RemoteDetail, RemoteExecution};

pub use error::RemoteError;

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
    /// Why the remote refuses exectop (a failed token refresh, HTTP 401 or
    /// 403), while it does. Says nothing about any execution.
    pub auth_failing: Option<String>,
    /// Listed items in which the id was not where the configuration says:
    /// a pointer that does not match the API's answers.
    pub items_without_id: u64,
}

/// What a tracker needs of a row to ask about it: the remote id, and the
/// row values a request template may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupTarget {
    pub id: String,
    pub remote_id: String,
    pub name: Option<Arc<str>>,
    pub group: Option<Arc<str>>,
}

impl LookupTarget {
    /// The row's target; `None` without a remote id.
    pub fn of(e: &Execution) -> Option<LookupTarget> {
        Some(LookupTarget {
            id: e.id.clone(),
            remote_id: e.remote_id.clone()?,
            name: e.name.clone(),
            group: e.group.clone(),
        })
    }

    /// A target known by its remote id alone.
    pub fn remote_id(remote_id: &str) -> LookupTarget {
        LookupTarget {
            id: remote_id.to_string(),
            remote_id: remote_id.to_string(),
            name: None,
            group: None,
        }
    }
}

/// One list to walk: where a tracker lists per instance or per account,
/// one per instance. Its path carries no secret; its headers may, and are
/// marked sensitive.
#[derive(Debug, Clone, Default)]
pub struct ListScope {
    pub path: String,
    pub headers: reqwest::header::HeaderMap,
}

pub trait RemoteTracker: Send + Sync {
    /// A short name for the header: `http api.example.com`, `none`.
    fn describe(&self) -> String;

    /// Reads what the tracker needs before its first request (the request
    /// context), so a configuration mistake stops the start with its key.
    fn prepare(&self) -> BoxFuture<'_, Result<(), RemoteError>> {
        Box::pin(async { Ok(()) })
    }

    /// Asks for one execution's status. Never panics on a bad answer: it
    /// becomes `RemoteAnswer::Error`.
    fn lookup<'a>(&'a self, target: &'a LookupTarget) -> BoxFuture<'a, RemoteAnswer>;

    /// The answer and, where the tracker says more than a status (Step
    /// Functions: error, cause, start and stop), that too.
    fn lookup_detailed<'a>(
        &'a self,
        target: &'a LookupTarget,
    ) -> BoxFuture<'a, (RemoteAnswer, Option<Arc<RemoteDetail>>)> {
        Box::pin(async move { (self.lookup(target).await, None) })
    }

    /// Whether `list_active` is available (a list endpoint is configured).
    fn can_list(&self) -> bool {
        false
    }

    /// The remote ids of the rows being watched, before a listing: a
    /// tracker that lists per state machine learns from them which to list.
    fn note_remote_ids(&self, _remote_ids: &mut dyn Iterator<Item = &str>) {}

    /// The lists a listing walks, each page by page.
    fn list_scopes(&self) -> BoxFuture<'_, Result<Vec<ListScope>, RemoteError>> {
        Box::pin(async { Ok(vec![ListScope::default()]) })
    }

    /// One page of the executions the tracker lists as active: the first
    /// page of `scope` without a cursor, then each `next` the page before gave.
    fn list_page<'a>(
        &'a self,
        _scope: &'a ListScope,
        _cursor: Option<&'a str>,
    ) -> BoxFuture<'a, Result<ListPage, RemoteError>> {
        Box::pin(async {
            Err(RemoteError::Unsupported(
                "this tracker cannot list executions",
            ))
        })
    }

    /// Every page of every list, at once. The live monitor takes them page
    /// by page instead (`ListWalk`), so a list of 100 000 runs is never
    /// held whole.
    fn list_active(&self) -> BoxFuture<'_, Result<Vec<RemoteExecution>, RemoteError>> {
        Box::pin(every_page(self))
    }

    /// Whether `stop` is available.
    fn can_stop(&self) -> bool {
        false
    }

    /// Asks the tracker to stop one execution; Ok once it accepted the
    /// request. `why` (who, and their reason) goes with it where the remote
    /// keeps one.
    fn stop<'a>(
        &'a self,
        _target: &'a LookupTarget,
        _why: &'a str,
    ) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async {
            Err(RemoteError::Unsupported(
                "this tracker cannot stop executions",
            ))
        })
    }

    /// Whether `recent_events` has anything to say: the tracker keeps a
    /// history of each run (Step Functions does; a status endpoint does not).
    fn keeps_events(&self) -> bool {
        false
    }

    /// The last events of one execution, newest first: asked for only when
    /// an operator opens its details, under the same caps as look-ups.
    fn recent_events<'a>(
        &'a self,
        _target: &'a LookupTarget,
    ) -> BoxFuture<'a, Result<RecentEvents, RemoteError>> {
        Box::pin(async {
            Err(RemoteError::Unsupported(
                "this tracker keeps no history of a run",
            ))
        })
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
    pub fn advance(&mut self, next: Option<String>) -> Result<bool, RemoteError> {
        self.pages += 1;
        let Some(next) = next else {
            return Ok(false);
        };
        if self.cursor.as_deref() == Some(next.as_str()) {
            return Err(RemoteError::BadAnswer(format!(
                "the list answer's next page {next:?} is the page just read; stopped listing"
            )));
        }
        if self.pages >= MAX_LIST_PAGES {
            return Err(RemoteError::BadAnswer(format!(
                "the list goes on past {MAX_LIST_PAGES} pages; stopped listing"
            )));
        }
        self.cursor = Some(next);
        Ok(true)
    }
}

async fn every_page<T: RemoteTracker + ?Sized>(
    tracker: &T,
) -> Result<Vec<RemoteExecution>, RemoteError> {
    let mut all = Vec::new();
    for scope in tracker.list_scopes().await? {
        let mut walk = ListWalk::default();
        loop {
            let page = tracker.list_page(&scope, walk.cursor()).await?;
            all.extend(page.runs);
            if !walk.advance(page.next)? {
                break;
            }
        }
    }
    Ok(all)
}

mod answer;
pub mod context;
mod error;
pub mod gate;
pub mod http;
mod list_items;
pub mod oauth;
pub mod observed;
pub mod recent;
mod request;
pub mod secrets;
pub mod sfn_protocol;
pub mod stepfunctions;
pub mod tally;
pub mod template;

/// Makes ring the process's TLS crypto provider (reqwest is built without
/// one: its default, aws-lc, needs cmake and a long C build). Idempotent;
/// every HTTP client exectop builds calls it first.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The HTTP client every tracker sends with: `poll.remote_timeout` per
/// request (10 s), connecting within the lesser of that and 5 s.
pub fn http_client(poll: &crate::config::PollConfig) -> Result<reqwest::Client, RemoteError> {
    let timeout = poll
        .remote_timeout
        .map_or(std::time::Duration::from_secs(10), |d| d.0);
    install_tls_provider();
    reqwest::Client::builder()
        .connect_timeout(timeout.min(std::time::Duration::from_secs(5)))
        .timeout(timeout)
        .user_agent(concat!("exectop/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| RemoteError::Config(format!("cannot build the HTTP client: {e}")))
}

/// The configured tracker, or `None` in database-only mode. `store` serves
/// the request context's query, when one is configured.
pub fn build(
    config: &crate::config::Config,
    store: Option<&crate::store::Store>,
) -> Result<Option<Arc<dyn RemoteTracker>>, RemoteError> {
    match config.remote.kind {
        crate::config::RemoteKind::None => Ok(None),
        crate::config::RemoteKind::Http => Ok(Some(Arc::new(http::HttpTracker::with_store(
            &config.remote,
            &config.poll,
            store,
        )?))),
        crate::config::RemoteKind::Stepfunctions => Ok(Some(Arc::new(
            stepfunctions::StepFunctionsTracker::new(&config.remote, &config.poll)?,
        ))),
    }
}

#[cfg(test)]
mod parse_props;
