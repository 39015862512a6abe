//! The action layer behind the monitor's keys.

use tokio::sync::mpsc;

use super::setup::Setup;
use crate::tui::{ActionChannel, ActionOutcome};

/// Serves the action keys. Until the action layer lands, every request is
/// answered honestly that nothing was written.
pub fn serve(_setup: &Setup, _read_only: bool) -> ActionChannel {
    let (request_tx, mut request_rx) = mpsc::channel(8);
    let (outcome_tx, outcome_rx) = mpsc::channel(8);
    tokio::spawn(async move {
        while let Some(_request) = request_rx.recv().await {
            let reply = ActionOutcome {
                ok: false,
                message: "actions are not available yet: nothing was written".into(),
            };
            if outcome_tx.send(reply).await.is_err() {
                break;
            }
        }
    });
    ActionChannel {
        requests: request_tx,
        outcomes: outcome_rx,
    }
}
