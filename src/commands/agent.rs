//! `exectop agent [--config FILE] [--listen ADDR]`: the monitor headless,
//! serving `/metrics` and `/health`, running the scheduled clean-up when
//! configured, until SIGTERM or SIGINT; then it stops cleanly and exits 0.

use std::net::SocketAddr;

use super::setup::{CommandFailure, setup};
use crate::agent::cleanup::CleanupPolicy;
use crate::agent::{Agent, AgentOptions, OPERATOR};
use crate::cli::Global;
use crate::domain::format_duration_spec;
use crate::store::{Actor, WriteAccess};

pub async fn run(global: &Global, listen: Option<SocketAddr>) -> Result<i32, CommandFailure> {
    // Listened for before anything else: a signal during the start is
    // taken as a request to stop, not the default action (death, not 0).
    let mut signals = Signals::listen()?;
    let setup = setup(global).await?;
    let config = &setup.loaded.config;
    let origin = setup.loaded.origin();
    let (addr, from) = match (listen, config.agent_listen()) {
        (Some(addr), _) => (addr, "--listen".to_string()),
        (None, Some(addr)) if config.agent.listen.is_some() => {
            (addr, format!("agent.listen in {origin}"))
        }
        (None, Some(addr)) => (addr, "the default; set --listen or [agent] listen".into()),
        // `config::validate` refuses an agent.listen that is no address.
        (None, None) => {
            return Err(CommandFailure(format!(
                "{origin}: agent.listen is not an address"
            )));
        }
    };
    let read_only = config.ui.read_only;
    if let Some(policy) = CleanupPolicy::from_config(config).filter(|p| p.apply) {
        let why = if read_only {
            Some("read-only mode".to_string())
        } else {
            match setup.store.write_access().await {
                WriteAccess::Denied(why) => Some(why.to_string()),
                _ => None,
            }
        };
        if let Some(why) = why {
            tracing::warn!(
                "policy.cleanup.apply is true but exectop cannot write here ({why}): each clean-up run (every {}) will fail and say so",
                format_duration_spec(policy.interval)
            );
        }
    }
    // Said once, in the log: where the table makes polling expensive.
    let advised = setup.store.clone();
    let learning = setup.loaded.config.job_rules().learning;
    tokio::spawn(async move {
        if let Ok(advice) = advised.index_advice(&learning).await {
            for line in advice {
                tracing::warn!("index advice: {line}");
            }
        }
    });
    let actor = Actor::from_env(Some(
        global.operator.clone().unwrap_or_else(|| OPERATOR.into()),
    ));
    // Webhook notifications of findings that appear and clear, where
    // `[notify]` asks for them: the notifier reads every snapshot.
    let notifier = config
        .notify
        .as_ref()
        .map(crate::notify::start)
        .transpose()
        .map_err(|e| CommandFailure(format!("{origin}: {e}")))?;
    let options = AgentOptions {
        listen: addr,
        actor,
        read_only,
        snapshot_consumers: notifier.iter().map(|n| n.channel()).collect(),
    };
    let agent = Agent::start(setup.store.clone(), setup.tracker.clone(), config, options)
        .await
        .map_err(|e| CommandFailure(format!("{e} ({from})")))?;
    tracing::info!(
        "exectop agent {} watching {}{}; listening on http://{} (/metrics, /health)",
        env!("CARGO_PKG_VERSION"),
        setup.store.describe(),
        setup
            .tracker
            .as_ref()
            .map(|t| format!(" and {}", t.describe()))
            .unwrap_or_default(),
        agent.local_addr()
    );
    let signal = signals.next().await;
    tracing::info!("{signal}: stopping (the requests in flight are answered first)");
    agent.shutdown().await?;
    if let Some(notifier) = notifier {
        notifier.shutdown().await;
    }
    tracing::info!("exectop agent stopped");
    Ok(0)
}

/// SIGTERM (a service manager, `docker stop`) and SIGINT (Ctrl-C).
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn listen() -> Result<Signals, CommandFailure> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let listen = |kind: SignalKind, name: &str| {
                signal(kind).map_err(|e| CommandFailure(format!("cannot listen for {name}: {e}")))
            };
            Ok(Signals {
                term: listen(SignalKind::terminate(), "SIGTERM")?,
                int: listen(SignalKind::interrupt(), "SIGINT")?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// The first signal to arrive, by name.
    async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => "SIGTERM",
                _ = self.int.recv() => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}
