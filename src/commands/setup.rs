//! What every command starts with: the configuration, the validated store,
//! the remote tracker and the finding policy. Failures are one line each.

use std::sync::Arc;

use crate::cli::Global;
use crate::config::{self, Loaded, Overrides};
use crate::monitor::Policy;
use crate::remote::context::ContextCache;
use crate::remote::{self, RemoteTracker};
use crate::store::{Store, StoreError};

/// A failure that stops a command: printed as `exectop: <message>`, exit 2.
#[derive(Debug)]
pub struct CommandFailure(pub String);

impl std::fmt::Display for CommandFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<E: std::error::Error> From<E> for CommandFailure {
    fn from(e: E) -> Self {
        CommandFailure(e.to_string())
    }
}

pub struct Setup {
    pub loaded: Loaded,
    pub store: Store,
    pub tracker: Option<Arc<dyn RemoteTracker>>,
}

pub fn load_config(global: &Global) -> Result<Loaded, CommandFailure> {
    let overrides = Overrides {
        read_only: global.read_only,
        database_url: None,
    };
    Ok(config::load(global.config.as_deref(), &overrides)?)
}

/// How a command uses the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbUse {
    /// One statement after another (`check --explain`): one connection,
    /// one handshake.
    Sequential,
    /// One diagnosis (`check`): at most two connections, so the active set
    /// is read while the day is counted (`Store::day_counts`), and no
    /// handshake beyond the second.
    OneShot,
    /// The monitor and the actions (a bulk lease holds a connection of its own).
    Concurrent,
}

pub async fn connect(loaded: &Loaded) -> Result<Store, CommandFailure> {
    connect_for(loaded, DbUse::Concurrent).await
}

/// The configured database URL, or a line saying where to set one.
pub fn database_url(loaded: &Loaded) -> Result<&str, CommandFailure> {
    loaded
        .config
        .database
        .url
        .as_deref()
        .ok_or_else(|| CommandFailure(loaded.no_database_url()))
}

/// A connection error, saying where the URL came from when that was not
/// the config file: the operator then knows which setting to fix.
pub fn connect_failure(loaded: &Loaded, error: impl std::fmt::Display) -> CommandFailure {
    match &loaded.config.database.url_from {
        Some(from) => CommandFailure(format!("{error} (database URL from {from})")),
        None => CommandFailure(error.to_string()),
    }
}

pub async fn connect_for(loaded: &Loaded, db_use: DbUse) -> Result<Store, CommandFailure> {
    let origin = loaded.origin();
    let url = database_url(loaded)?;
    let max = match db_use {
        DbUse::Sequential => Some(1),
        DbUse::OneShot => Some(2),
        DbUse::Concurrent => None,
    };
    let store = Store::connect_sized(url, &loaded.config.table, max)
        .await
        .map_err(|e| connect_failure(loaded, e))?;
    store.validate_schema().await.map_err(|e| match e {
        StoreError::MissingColumn { .. } | StoreError::MissingTable { .. } => {
            CommandFailure(format!("{e} (configured in {origin})"))
        }
        other => CommandFailure(other.to_string()),
    })?;
    Ok(store)
}

pub async fn setup(global: &Global) -> Result<Setup, CommandFailure> {
    setup_for(global, DbUse::Concurrent).await
}

pub async fn setup_for(global: &Global, db_use: DbUse) -> Result<Setup, CommandFailure> {
    let loaded = load_config(global)?;
    let store = connect_for(&loaded, db_use).await?;
    let tracker = tracker_for(&loaded, &store).await?;
    Ok(Setup {
        loaded,
        store,
        tracker,
    })
}

/// The configured tracker, its request context read: a query or a column
/// the templates name wrong stops the start, naming the key.
pub async fn tracker_for(
    loaded: &Loaded,
    store: &Store,
) -> Result<Option<Arc<dyn RemoteTracker>>, CommandFailure> {
    let origin = loaded.origin();
    let tracker = remote::build(&loaded.config, Some(store))
        .map_err(|e| CommandFailure(format!("{origin}: {e}")))?;
    if let Some(t) = &tracker {
        t.prepare()
            .await
            .map_err(|e| CommandFailure(format!("{origin}: {e}")))?;
    }
    Ok(tracker)
}

/// The context rows of `[[commands]]` that use context values, their
/// columns checked against the query now (a typo stops the start, naming
/// the entry); `None` when no command uses one.
pub async fn commands_context(
    loaded: &Loaded,
    store: &Store,
) -> Result<Option<Arc<ContextCache>>, CommandFailure> {
    let entries = &loaded.config.commands;
    let origin = loaded.origin();
    let failed = |e: &dyn std::fmt::Display| CommandFailure(format!("{origin}: {e}"));
    let names = config::commands::names_of(&loaded.config);
    let commands = config::commands::resolve(entries, names).map_err(|e| failed(&e))?;
    let needed = config::commands::context_columns(entries, &commands);
    let context = loaded.config.remote.context.as_ref();
    let Some(context) = context.filter(|_| !needed.is_empty()) else {
        return Ok(None);
    };
    let cache = ContextCache::of_store(context, store, needed).map_err(|e| failed(&e))?;
    cache.prepare().await.map_err(|e| failed(&e))?;
    Ok(Some(Arc::new(cache)))
}

impl Setup {
    /// See `Policy::from_config`.
    pub fn policy(&self) -> Policy {
        Policy::from_config(
            &self.loaded.config,
            self.store.capabilities(self.tracker.is_some()),
        )
    }
}
