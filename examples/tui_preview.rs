//! Runs the TUI against a fake monitor that republishes the sample snapshot,
//! for trying the keys and for end-to-end checks in a pseudo-terminal.
//! `cargo run --example tui_preview [-- --read-only]`. Action requests are
//! answered with a made-up outcome; nothing is written anywhere.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use exectop::monitor::{MonitorControl, MonitorEvent};
use exectop::tui::{
    ActionChannel, ActionOutcome, ActionRequest, AppSettings, keymap::Keymap, sample, theme::Theme,
};
use tokio::sync::mpsc;

#[tokio::main]
async fn main() -> color_eyre::Result<()> {
    color_eyre::install()?;
    let log = exectop::tui::logging::init().map_err(|e| color_eyre::eyre::eyre!(e))?;
    let read_only = std::env::args().any(|a| a == "--read-only");
    // For checking pitfall 5 by hand: the fake monitor panics after its first snapshot.
    let panic_monitor = std::env::args().any(|a| a == "--panic-monitor");
    let settings = AppSettings {
        read_only,
        interval: Duration::from_secs(5),
        keymap: Keymap::default(),
        theme: Theme::from_env(),
    };
    let (event_tx, event_rx) = mpsc::channel(16);
    let (control_tx, mut control_rx) = mpsc::channel(16);
    let (request_tx, mut request_rx) = mpsc::channel::<ActionRequest>(16);
    let (outcome_tx, outcome_rx) = mpsc::channel(16);

    tokio::spawn(async move {
        let mut interval = Duration::from_secs(5);
        let mut paused = false;
        loop {
            if !paused {
                let snap = Arc::new(sample::sample_snapshot(Utc::now()));
                if event_tx.send(MonitorEvent::Snapshot(snap)).await.is_err() {
                    return;
                }
                if panic_monitor {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    panic!("the fake monitor panicked on purpose");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                c = control_rx.recv() => {
                    match c {
                        Some(MonitorControl::Pause) => paused = true,
                        Some(MonitorControl::Resume) => paused = false,
                        Some(MonitorControl::SetInterval(d)) => interval = d,
                        Some(MonitorControl::RefreshNow) => {}
                        Some(MonitorControl::Shutdown) | None => return,
                    }
                    tracing::info!("control: {c:?}");
                    let _ = event_tx.send(MonitorEvent::Schedule { paused, interval }).await;
                }
            }
        }
    });
    tokio::spawn(async move {
        while let Some(req) = request_rx.recv().await {
            tracing::info!("action requested: {req:?}");
            let ids: Vec<&str> = req.targets.iter().map(|t| t.id.as_str()).collect();
            let message = format!("preview: would {:?} {}", req.kind, ids.join(", "));
            let _ = outcome_tx.send(ActionOutcome { ok: true, message }).await;
        }
    });

    let channel = ActionChannel {
        requests: request_tx,
        outcomes: outcome_rx,
    };
    exectop::tui::run(settings, event_rx, control_tx, channel).await?;
    // The terminal may be gone (SSH drop): a failed write is not an error here.
    let _ = writeln!(std::io::stdout(), "log: {}", log.display());
    Ok(())
}
