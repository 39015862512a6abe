//! Stores: the executions table (any name, any columns) on PostgreSQL or SQLite.

pub mod migrate;
pub mod pool;

pub use pool::{Backend, DbPool, redact_url};
