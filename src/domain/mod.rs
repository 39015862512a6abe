//! The domain: statuses, transitions, findings, error rates and error classes.
//! Pure code: no database, HTTP or terminal types, and no clock of its own.

pub mod doubt;
pub mod duration;
pub mod error_rates;
pub mod execution;
pub mod findings;
pub mod history;
pub mod limits;
pub mod remote_events;
pub mod row_command;
pub mod status;
pub mod triage;

#[cfg(test)]
mod findings_tests;

pub use duration::{
    format_age, format_age_brief, format_duration_spec, parse_duration, table_age_seconds,
    wall_minute,
};
pub use error_rates::{
    ErrorClass, ErrorClassifier, ErrorRates, GroupStats, WindowCount, WindowStats,
};
pub use execution::{Execution, RemoteExecution};
pub use findings::{
    Capabilities, Counts, Finding, FindingInput, FindingKind, LongRunningAlert, SuggestedAction,
    Thresholds,
};
pub use history::{Observation, RemoteAnswer, RemoteDetail, RemoteHistory};
pub use limits::{
    JobLimit, JobRules, Learned, Learning, LimitSource, PerJob, RuleKey, RuntimeStats,
    ThresholdRule,
};
pub use status::{Status, StatusMap, transition_allowed};
