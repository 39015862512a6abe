//! What one poll cycle knows: the input of the TUI's panes and of `check`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::domain::{Counts, ErrorRates, Execution, Finding, LongRunningAlert, RemoteHistory};

/// Health of one source (database or remote tracker).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceHealth {
    pub name: String,
    pub ok: bool,
    pub latency_ms: Option<u64>,
    /// The last time a poll of this source succeeded.
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// Remote only: polling paused after repeated failures.
    pub degraded: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub taken_at: DateTime<Utc>,
    /// Active executions, oldest first.
    pub active: Vec<Execution>,
    pub counts: Counts,
    pub findings: Vec<Finding>,
    pub error_rates: ErrorRates,
    pub long_running: Option<LongRunningAlert>,
    /// Remote histories by local execution id (for the detail popup).
    pub remote: HashMap<String, RemoteHistory>,
    pub database: SourceHealth,
    pub remote_health: Option<SourceHealth>,
}
