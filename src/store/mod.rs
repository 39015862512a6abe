//! Stores: the executions table (any name, any columns) on PostgreSQL or SQLite.

mod bulk;
pub mod cas;
pub mod context;
mod error;
pub mod exec;
pub mod explain;
mod filter;
mod history;
mod keys;
pub mod migrate;
pub mod pool;
pub mod read;
mod runtimes;
pub mod shared;
pub mod timestamp;
pub mod triage;
pub mod write;

pub use bulk::CHUNK;
pub use cas::{HeldRow, RowVersion, WriteAccess};
pub use context::ContextValues;
pub use error::StoreError;
pub use explain::scans_whole_table;
pub use keys::KeyType;
pub use pool::{Backend, DbPool, redact_url};
pub use read::{RowView, Store, quote, quoted_table};
pub use runtimes::NAMES_LEARNED;
pub use timestamp::{parse_timestamp, sqlite_text};
pub use write::{Actor, AuditEntry, Change, Lease, WriteOutcome};
