//! `exectop agent`: the live monitor without a terminal, for a server or a
//! container. The same poller and findings as the TUI (`monitor::run` over
//! `Poller::new`); the agent takes its events itself and
//!
//! - keeps the last word of the monitor for `/health` (`health`) and sets
//!   the gauges of `/metrics` from each snapshot (`metrics`), both served
//!   on one address (`server`);
//! - counts the tracker's answers by outcome (`requests`);
//! - hands each snapshot to the snapshot consumers it was started with
//!   ([`AgentOptions::snapshot_consumers`]: where a notifier plugs in);
//! - runs the scheduled clean-up, when the configuration has one (`cleanup`).
//!
//! ```text
//!  monitor::run ──MonitorEvent──▶ take_events ──▶ Readings ──▶ GET /health
//!   (Poller)                          │      └──▶ Metrics  ──▶ GET /metrics
//!      ▲  RemoteTracker (Counted) ────┼──────────▶ Metrics
//!      │                              └──▶ snapshot consumers (mpsc, try_send)
//!  Shutdown                    cleanup::schedule ──▶ actions::plan_cleanup / apply
//! ```

pub mod cleanup;
pub mod health;
pub mod metrics;
pub mod requests;
pub mod server;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use self::cleanup::CleanupPolicy;
use self::health::Readings;
use self::metrics::Metrics;
use self::requests::Counted;
use self::server::Shared;
use crate::config::Config;
use crate::monitor::poller::{MAX_INTERVAL, MIN_INTERVAL};
use crate::monitor::{self, MonitorControl, MonitorEvent, PollSource, Poller, Snapshot};
use crate::remote::RemoteTracker;
use crate::store::{Actor, Store};

/// The operator the agent's writes are audited as (with its host), unless
/// `--operator` names another.
pub const OPERATOR: &str = "exectop-agent";

/// How long the shutdown waits for each part (the requests in flight, a
/// clean-up run, the poll under way) before it stops waiting for it.
const SHUTDOWN_PATIENCE: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the HTTP server failed: {0}")]
    Serve(#[source] std::io::Error),
}

/// Where a consumer of snapshots plugs in: each snapshot the monitor makes
/// is sent to every such sender, without waiting. A consumer that is
/// behind misses snapshots (each is a whole picture: the next one says
/// all); one whose receiver is gone is dropped.
pub type SnapshotSender = mpsc::Sender<Arc<Snapshot>>;

pub struct AgentOptions {
    /// Where `/metrics` and `/health` are served (port 0: any free port;
    /// see [`Agent::local_addr`]).
    pub listen: SocketAddr,
    /// Who the scheduled clean-up's writes are audited as.
    pub actor: Actor,
    /// Refuse every write (the clean-up then fails each run, and says so).
    pub read_only: bool,
    /// The snapshot consumers (a notifier, …); see [`SnapshotSender`].
    pub snapshot_consumers: Vec<SnapshotSender>,
}

/// A running agent: its tasks, and how to stop them.
pub struct Agent {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    control: mpsc::Sender<MonitorControl>,
    monitor: JoinHandle<()>,
    events: JoinHandle<()>,
    server: JoinHandle<Result<(), AgentError>>,
    cleanup: Option<JoinHandle<()>>,
}

impl Agent {
    /// Binds the address, then starts the poller, the task that takes its
    /// events, the HTTP server and, when configured, the clean-up.
    pub async fn start(
        store: Store,
        tracker: Option<Arc<dyn RemoteTracker>>,
        config: &Config,
        options: AgentOptions,
    ) -> Result<Agent, AgentError> {
        let listener = server::bind(options.listen).await?;
        let addr = listener.local_addr().map_err(|source| AgentError::Bind {
            addr: options.listen,
            source,
        })?;
        let metrics = Arc::new(Metrics::new(tracker.is_some()));
        let tracker =
            tracker.map(|t| Arc::new(Counted::new(t, metrics.clone())) as Arc<dyn RemoteTracker>);
        let poller = Poller::new(store.clone(), tracker, config);
        let shared = Arc::new(Shared {
            metrics: metrics.clone(),
            readings: Mutex::new(Readings::default()),
            started: Instant::now(),
            // As the poller's schedule clamps it.
            interval: poller.interval.clamp(MIN_INTERVAL, MAX_INTERVAL),
        });
        let (stop, stopping) = watch::channel(false);
        let (event_tx, event_rx) = mpsc::channel(64);
        let (control, control_rx) = mpsc::channel(4);
        let monitor = tokio::spawn(monitor::run(poller, event_tx, control_rx));
        let events = tokio::spawn(take_events(
            event_rx,
            shared.clone(),
            options.snapshot_consumers,
        ));
        let server = tokio::spawn(server::serve(
            listener,
            server::router(shared),
            stopping.clone(),
        ));
        let cleanup = CleanupPolicy::from_config(config).map(|policy| {
            tokio::spawn(cleanup::schedule(
                store,
                policy,
                options.actor,
                options.read_only,
                metrics,
                stopping,
            ))
        });
        Ok(Agent {
            addr,
            stop,
            control,
            monitor,
            events,
            server,
            cleanup,
        })
    }

    /// The address served, as bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops in order: the server stops accepting and answers the requests
    /// in flight; a clean-up run under way finishes; the poller stops after
    /// the poll under way. Each is waited for `SHUTDOWN_PATIENCE` at most.
    pub async fn shutdown(self) -> Result<(), AgentError> {
        let _ = self.stop.send(true);
        let served = wait_for(self.server, "the HTTP server").await;
        if let Some(cleanup) = self.cleanup {
            wait_for(cleanup, "the clean-up run").await;
        }
        let _ = self.control.send(MonitorControl::Shutdown).await;
        wait_for(self.monitor, "the poller").await;
        // Its events end with the poller.
        wait_for(self.events, "the event task").await;
        served.unwrap_or(Ok(()))
    }
}

async fn wait_for<T>(task: JoinHandle<T>, what: &str) -> Option<T> {
    let abort = task.abort_handle();
    match tokio::time::timeout(SHUTDOWN_PATIENCE, task).await {
        Ok(Ok(done)) => Some(done),
        Ok(Err(e)) => {
            tracing::warn!("{what} ended badly: {e}");
            None
        }
        Err(_) => {
            tracing::warn!(
                "{what} did not stop within {}s; stopped it",
                SHUTDOWN_PATIENCE.as_secs()
            );
            abort.abort();
            None
        }
    }
}

/// The agent's side of the monitor's channel: every event goes to the
/// readings and the metrics, every snapshot to the consumers too.
async fn take_events(
    mut events: mpsc::Receiver<MonitorEvent>,
    shared: Arc<Shared>,
    mut consumers: Vec<SnapshotSender>,
) {
    while let Some(event) = events.recv().await {
        match event {
            MonitorEvent::Snapshot(snapshot) => {
                shared
                    .readings
                    .lock()
                    .unwrap()
                    .take_snapshot(snapshot.clone(), Instant::now());
                shared.metrics.observe_snapshot(&snapshot, None);
                fan_out(&mut consumers, &snapshot);
            }
            MonitorEvent::PollFailed { source, error, .. } => {
                match source {
                    PollSource::Database => shared.metrics.database_failed(),
                    PollSource::Remote => shared.metrics.remote_failed(),
                }
                shared.readings.lock().unwrap().poll_failed(source, error);
            }
            MonitorEvent::Schedule { .. } => {}
        }
    }
}

fn fan_out(consumers: &mut Vec<SnapshotSender>, snapshot: &Arc<Snapshot>) {
    consumers.retain(|consumer| match consumer.try_send(snapshot.clone()) {
        Ok(()) => true,
        Err(TrySendError::Full(_)) => {
            tracing::debug!("a snapshot consumer is behind: it gets the next snapshot");
            true
        }
        Err(TrySendError::Closed(_)) => {
            tracing::info!("a snapshot consumer has stopped; no more snapshots go to it");
            false
        }
    });
}
