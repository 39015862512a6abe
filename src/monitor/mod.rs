//! The poller: schedules database and remote polls and produces snapshots.

pub mod snapshot;

pub use snapshot::{MonitorControl, MonitorEvent, PollSource, Snapshot, SourceHealth};
