//! `exectop migrate`: exectop's own tables. The native executions table is
//! created only where it is the table in use; the audit log always.

use super::setup::{CommandFailure, load_config};
use crate::cli::Global;
use crate::store::{DbPool, migrate};

pub async fn run(global: &Global) -> Result<i32, CommandFailure> {
    let loaded = load_config(global)?;
    let url = super::setup::database_url(&loaded)?;
    let native = loaded.config.table.name == crate::config::TableConfig::default().name;
    let pool = DbPool::connect(url, native)
        .await
        .map_err(|e| super::setup::connect_failure(&loaded, e))?;
    let applied = migrate::apply(&pool, native).await?;
    let text = if applied.is_empty() {
        "schema up to date\n".to_string()
    } else {
        applied
            .iter()
            .map(|name| format!("applied {name}\n"))
            .collect()
    };
    super::print_text(&text)?;
    Ok(0)
}
