//! What can go wrong in the store, one enum for the layer: a caller decides
//! by the variant (a refused lease, a row locked too long, an id that cannot
//! be of its column's type, no connection at all), never by the words. Each
//! variant's text is the one line the operator reads, naming the table,
//! column, key or id; a URL in it is always redacted (`redact_url`), so no
//! password reaches an error.

use super::cas::{LOCK_TIMEOUT_SECONDS, STATEMENT_TIMEOUT_SECONDS};
use crate::domain::Status;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    /// The URL names neither backend (`shown` is redacted).
    #[error("database url {shown:?} is neither postgres://… nor sqlite://…")]
    UnknownBackend { shown: String },
    /// The URL does not parse as its backend's.
    #[error("bad database url {shown}: {reason}")]
    BadUrl { shown: String, reason: String },
    /// No connection to the PostgreSQL server; `cause` is the OS's or the
    /// server's own words.
    #[error("cannot connect to {shown}: {cause}")]
    Connect { shown: String, cause: String },
    /// The SQLite file would not open.
    #[error("cannot open {shown}: {cause}")]
    Open { shown: String, cause: String },
    #[error("table \"{table}\" does not exist in {database}")]
    MissingTable { table: String, database: String },
    #[error("table \"{table}\" has no column \"{column}\" (mapped by table.{key})")]
    MissingColumn {
        table: String,
        column: String,
        key: String,
    },
    /// A read failed; the whole line, as the read words it.
    #[error("{0}")]
    Query(String),
    /// Triage needs exectop's own table, made by `exectop migrate`.
    #[error("no exectop_triage table: run `exectop migrate` once for shared triage ({0})")]
    NoTriageTable(Box<StoreError>),
    /// Sharing the remote poller with other instances failed (the
    /// database's words); the instance polls the remote itself meanwhile.
    #[error("sharing the remote poller: {0}")]
    Shared(String),
    /// The migration `name` failed; nothing of it was applied.
    #[error("migration {name} failed: {reason}")]
    Migration { name: &'static str, reason: String },
    #[error("cannot start a transaction: {0}")]
    Begin(String),
    /// A statement of a write failed (the database's words).
    #[error("database write failed: {0}")]
    Write(String),
    #[error("commit failed: {0}")]
    Commit(String),
    /// The row stayed locked by another transaction past the lock timeout.
    #[error(
        "the row is locked by another transaction (waited {}s); nothing written",
        LOCK_TIMEOUT_SECONDS
    )]
    Locked,
    /// A write ran past the statement timeout.
    #[error(
        "the write took longer than {}s; nothing written",
        STATEMENT_TIMEOUT_SECONDS
    )]
    TooSlow,
    /// Whether this role may write could not be found out.
    #[error("cannot check write access: {0}")]
    WriteAccessUnknown(Box<StoreError>),
    #[error("no audit table (exectop_audit): run `exectop migrate` to create it")]
    NoAuditTable,
    /// `table` is quoted as the SQL names it (`"jobs"."runs"`).
    #[error("no UPDATE privilege on {table}")]
    NoUpdatePrivilege { table: String },
    #[error("no INSERT privilege on exectop_audit")]
    NoAuditInsert,
    /// The mapped id column is neither a primary key nor a unique index.
    #[error(
        "table.id \"{column}\" is not a primary key or unique index of {table}: \
         a write by id could change more than one row"
    )]
    IdNotUnique { column: String, table: String },
    /// A compare-and-set update matched more than one row: rolled back.
    #[error(
        "the update would change {rows} rows with id {id}: table.id is not unique; \
         rolled back, nothing written"
    )]
    UpdateNotUnique { rows: usize, id: String },
    /// A chunk's update changed more rows than it had ids: rolled back.
    #[error(
        "the chunk changed {rows} rows for {ids} ids: table.id is not unique; \
         rolled back, nothing written"
    )]
    ChunkNotUnique { rows: usize, ids: usize },
    /// The audit record could not be written for want of its table; the
    /// change was rolled back with it.
    #[error("{0} — run `exectop migrate` to create the audit table; nothing written")]
    AuditTableMissing(Box<StoreError>),
    /// The audit record could not be written; the change was rolled back with it.
    #[error("{0}; nothing written")]
    NothingWritten(Box<StoreError>),
    /// A remote stop was sent but its audit record could not be written.
    #[error("the remote stop could not be recorded in the audit log: {0}")]
    StopNotRecorded(Box<StoreError>),
    /// The status to write has no spelling in the table.
    #[error("table.status_values has no spelling for {0}")]
    NoSpelling(Status),
    /// Another exectop holds the table's bulk-action lease (its holder,
    /// where the lease says).
    #[error(
        "another exectop{} is running a bulk action on this table; try again when it is done",
        held_by(.0)
    )]
    LeaseHeld(Option<String>),
    #[error("reading the audit log failed: {0}")]
    AuditRead(String),
    #[error("chunked writes are for PostgreSQL")]
    ChunksNeedPostgres,
    /// A value that cannot be of a key column's declared type.
    #[error("{value:?} cannot be a {declared}")]
    NotOfType { value: String, declared: String },
    /// An id asked for that cannot be of the id column's type.
    #[error("{value:?} cannot be a {declared} (table.id \"{column}\")")]
    IdNotOfType {
        value: String,
        declared: String,
        column: String,
    },
}

fn held_by(holder: &Option<String>) -> String {
    holder
        .as_ref()
        .map_or_else(String::new, |h| format!(" ({h})"))
}

impl StoreError {
    /// A write's failure as the operator reads it when the database gave up
    /// waiting: a lock held too long, or a statement past its timeout. The
    /// database says which only in its own words.
    pub(super) fn or_timeout(self) -> StoreError {
        let words = self.to_string();
        if words.contains("lock timeout") || words.contains("database is locked") {
            StoreError::Locked
        } else if words.contains("statement timeout") {
            StoreError::TooSlow
        } else {
            self
        }
    }

    /// Whether the database named the audit table in refusing a write.
    pub(super) fn names_audit_table(&self) -> bool {
        self.names_table("exectop_audit")
    }

    /// Whether the database's words name one of exectop's own tables (the
    /// way a missing one shows on either backend).
    pub(super) fn names_table(&self, table: &str) -> bool {
        self.to_string().contains(table)
    }
}

pub(super) fn write_failed(e: sqlx::Error) -> StoreError {
    StoreError::Write(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::StoreError;

    #[test]
    fn the_words_stay_those_the_operator_knows() {
        assert_eq!(
            StoreError::LeaseHeld(None).to_string(),
            "another exectop is running a bulk action on this table; try again when it is done"
        );
        assert_eq!(
            StoreError::LeaseHeld(Some("alice@ops-1 pid 7".into())).to_string(),
            "another exectop (alice@ops-1 pid 7) is running a bulk action on this table; try again when it is done"
        );
        assert_eq!(
            StoreError::Locked.to_string(),
            "the row is locked by another transaction (waited 5s); nothing written"
        );
        let timed_out = StoreError::Write("canceling statement due to statement timeout".into());
        assert_eq!(timed_out.or_timeout(), StoreError::TooSlow);
        assert_eq!(
            StoreError::IdNotUnique {
                column: "id".into(),
                table: "\"runs\"".into()
            }
            .to_string(),
            "table.id \"id\" is not a primary key or unique index of \"runs\": a write by id could change more than one row"
        );
    }
}
