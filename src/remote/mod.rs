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

    /// The executions the tracker currently lists as active.
    fn list_active(&self) -> BoxFuture<'_, Result<Vec<RemoteExecution>, String>> {
        Box::pin(async { Err("this tracker cannot list executions".to_string()) })
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
