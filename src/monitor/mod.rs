//! The poller: schedules database and remote polls and produces snapshots.

pub mod oneshot;
pub mod poller;
pub mod snapshot;
pub mod state;

pub use oneshot::{OneShotOptions, one_shot};
pub use poller::{DatabaseCycle, Poller, run};
pub use snapshot::{MonitorControl, MonitorEvent, PollSource, Snapshot, SourceHealth};
pub use state::{MonitorState, Policy};
