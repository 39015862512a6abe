//! What the monitor judges by: thresholds, per-job rules, the error
//! classifier, what the tracker can do and how often it is asked.

use std::sync::Arc;
use std::time::Duration;

use crate::domain::{Capabilities, ErrorClassifier, JobRules, Thresholds};

#[derive(Debug, Clone)]
pub struct Policy {
    pub thresholds: Thresholds,
    /// Per-job rules and how limits are learned (`[thresholds]`).
    pub job_rules: Arc<JobRules>,
    pub classifier: ErrorClassifier,
    pub capabilities: Capabilities,
    pub remote_interval: Duration,
    /// See `FindingInput::mismatch_confirmation`.
    pub mismatch_confirmation: Duration,
}

impl Policy {
    /// One policy for the live monitor and the one-shot commands, so `check`
    /// and `reconcile` call a mismatch only where the monitor would: the
    /// remote must have reported the further status for the registration
    /// grace, or the local record must have been silent that long. A worker's
    /// normal catch-up is no alarm, and a cron `reconcile --fix` never races
    /// the application's own completion handling.
    pub fn from_config(config: &crate::config::Config, capabilities: Capabilities) -> Policy {
        let thresholds = config.thresholds();
        Policy {
            mismatch_confirmation: thresholds.registration_grace,
            job_rules: Arc::new(config.job_rules()),
            thresholds,
            classifier: config.classifier(),
            capabilities,
            remote_interval: config.remote_interval(),
        }
    }
}
