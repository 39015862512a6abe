//! `exectop` / `exectop tui`: the poller in one task, the UI in another,
//! connected by channels (the UI task is the only owner of UI state).

use tokio::sync::mpsc;

use super::setup::{CommandFailure, Setup};
use crate::monitor::{self, Poller};
use crate::store::WriteAccess;
use crate::tui::{self, AppSettings};

pub async fn run(setup: Setup, global: &crate::cli::Global) -> Result<i32, CommandFailure> {
    let read_only_flag = global.read_only;
    let log_path = tui::logging::init().map_err(CommandFailure)?;
    let config = &setup.loaded.config;
    let mut settings = AppSettings::from_config(config, read_only_flag)
        .map_err(|e| CommandFailure(format!("{}: {e}", setup.loaded.origin())))?;
    settings.wall = global.wall;
    settings.remote_events = setup.tracker.as_ref().is_some_and(|t| t.keeps_events());
    if global.plain_terminal {
        settings.output = tui::output::OutputKind::Plain;
    }
    if !settings.read_only
        && let WriteAccess::Denied(why) = setup.store.write_access().await
    {
        tracing::warn!("exectop cannot write here, so it runs read-only: {why}");
        settings.no_write_access = Some(why);
    }
    tracing::info!(
        "exectop {} watching {}; log file {}",
        env!("CARGO_PKG_VERSION"),
        setup.store.describe(),
        log_path.display()
    );
    // Said once, in the log: where the operator's table makes polling
    // expensive, and the index that would fix it.
    let advised = setup.store.clone();
    let learning = setup.loaded.config.job_rules().learning;
    tokio::spawn(async move {
        if let Ok(advice) = advised.index_advice(&learning).await {
            for line in advice {
                tracing::warn!("index advice: {line}");
            }
        }
    });
    let context = super::setup::commands_context(&setup.loaded, &setup.store).await?;
    let mut poller = Poller::new(setup.store.clone(), setup.tracker.clone(), config);
    if global.no_share_remote {
        poller.share_remote = false;
    }
    let (event_tx, event_rx) = mpsc::channel(64);
    let (control_tx, control_rx) = mpsc::channel(16);
    let monitor = tokio::spawn(monitor::run(poller, event_tx, control_rx));
    let actions = super::actions::serve(&setup, settings.read_only, global.operator.clone());
    let result = tui::run(settings, event_rx, control_tx, actions, context).await;
    monitor.abort();
    result.map_err(|e| CommandFailure(format!("{e:#}")))?;
    Ok(0)
}
