//! The poller: schedules database and remote polls and produces snapshots.

pub mod live;
pub mod oneshot;
pub mod poller;
pub mod shared;
pub mod snapshot;
pub mod state;
pub mod triage;

pub use live::run;
pub use oneshot::{OneShotOptions, one_shot};
pub use poller::{DatabaseCycle, Poller};
pub use snapshot::{
    MonitorControl, MonitorEvent, PollSource, RemoteVia, Snapshot, SourceCondition, SourceHealth,
};
pub use state::{MonitorState, Policy};
