//! The event loop: one `select!` over terminal input, monitor events, action
//! outcomes, a 1 Hz clock and termination signals. It redraws only when
//! `update` says something visible changed (a redraw per tick would cost
//! CPU and bytes on an idle wall terminal) and leaves promptly when the
//! terminal goes away (a hung-up SSH session must not leave it spinning).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use color_eyre::eyre::{Result, WrapErr, eyre};
use crossterm::event::{Event, EventStream};
use futures_util::StreamExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio::time::MissedTickBehavior;

use super::intent::{ActionCommand, ActionEvent};
use super::render::render;
use super::row_commands::{CommandEvent, ContextRequest, Opened, RunRequest};
use super::state::{App, AppSettings};
use super::terminal::{self, TerminalGuard, osc52};
use super::update::{Effect, Msg, update};
use crate::monitor::{MonitorControl, MonitorEvent, PollSource};
use crate::remote::context::ContextCache;

/// Where action keys go, and where their outcomes come back from.
pub struct ActionChannel {
    pub commands: mpsc::Sender<ActionCommand>,
    pub events: mpsc::Receiver<ActionEvent>,
    /// Where the tracker keeps histories: the details' requests go to it
    /// directly, never queued behind a plan or dropped with a full channel;
    /// its answers come back on `events`.
    pub histories: Option<crate::remote::recent::EventsFetcher>,
}

/// Why the loop ended; logged, and useful to the caller's exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exit {
    Quit,
    Signal,
    TerminalGone,
    /// A task panicked; the hook restored the terminal and printed the report.
    Panic,
}

fn send<T>(channel: &mpsc::Sender<T>, value: T, what: &str) {
    // Never wait on a slow consumer: the screen must stay responsive.
    match channel.try_send(value) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => tracing::warn!("{what} channel full; request dropped"),
        Err(TrySendError::Closed(_)) => tracing::warn!("{what} channel closed; request dropped"),
    }
}

/// Runs a `[[commands]]` entry in a task of its own and sends its outcome
/// back. Logged by name, execution and exit status only: the command line
/// and its output may carry secrets.
fn spawn_command(request: RunRequest, answers: mpsc::UnboundedSender<CommandEvent>) {
    tokio::spawn(async move {
        let outcome = crate::runner::run(&request.rendered, request.timeout).await;
        tracing::info!(
            "command \"{}\" on execution {}: {}",
            crate::text::one_line(&request.description),
            crate::text::one_line(&request.execution_id),
            outcome.exit
        );
        let _ = answers.send(CommandEvent::Finished {
            run: request.run,
            description: request.description,
            execution_id: request.execution_id,
            outcome,
        });
    });
}

/// Reads the context row a waiting command asked for, in a task of its own
/// (a read past the cache's age runs the query), and sends it back.
fn read_context(
    cache: Option<Arc<ContextCache>>,
    request: ContextRequest,
    answers: mpsc::UnboundedSender<CommandEvent>,
) {
    tokio::spawn(async move {
        let answer = match cache {
            Some(cache) => cache.for_key(&request.key).await.map_err(|e| e.to_string()),
            None => Err("no [remote.context] query to read".to_string()),
        };
        let _ = answers.send(CommandEvent::Context {
            ask: request.ask,
            answer,
        });
    });
}

/// Runs the TUI until the operator quits, a signal arrives or the terminal
/// goes away. Install color-eyre and logging (`tui::logging::init`) first.
/// `context` gives commands that use context values their row's context.
pub async fn run(
    settings: AppSettings,
    mut events: mpsc::Receiver<MonitorEvent>,
    control: mpsc::Sender<MonitorControl>,
    mut actions: ActionChannel,
    context: Option<Arc<ContextCache>>,
) -> Result<()> {
    let mut hangup = signal(SignalKind::hangup()).wrap_err("installing the SIGHUP handler")?;
    let mut terminate =
        signal(SignalKind::terminate()).wrap_err("installing the SIGTERM handler")?;
    let mut interrupt =
        signal(SignalKind::interrupt()).wrap_err("installing the SIGINT handler")?;

    let mut guard = TerminalGuard::enter(settings.output).wrap_err("setting up the terminal")?;
    let mut app = App::new(settings, Utc::now());
    if let Ok((width, height)) = crossterm::terminal::size() {
        update(&mut app, Msg::Resize { width, height });
    }
    let mut input = EventStream::new();
    let mut clock = tokio::time::interval(Duration::from_secs(1));
    clock.set_missed_tick_behavior(MissedTickBehavior::Skip);
    // `[[commands]]` answers: runs and opens happen in tasks of their own
    // (a command may take its whole timeout) and come back here.
    let (command_tx, mut command_rx) = mpsc::unbounded_channel();
    let mut monitor_open = true;
    let mut outcomes_open = true;

    let exit = loop {
        if terminal::panicked() {
            break Exit::Panic;
        }
        if app.dirty {
            super::logging::show_new_events();
            let facts = match guard.draw(|frame| render(frame, &app)) {
                Ok(facts) => facts,
                Err(e) => {
                    tracing::warn!("draw failed, leaving: {e}");
                    break Exit::TerminalGone;
                }
            };
            app.dirty = false;
            app.drawn_at = app.now;
            // What keys need of the screen reaches `update` as a message.
            if facts != app.frame {
                update(&mut app, Msg::Frame(facts));
            }
        }
        let msg = tokio::select! {
            _ = hangup.recv() => break Exit::TerminalGone,
            _ = terminate.recv() => break Exit::Signal,
            _ = interrupt.recv() => break Exit::Signal,
            ev = input.next() => match ev {
                Some(Ok(Event::Key(key))) => Msg::Key(key),
                Some(Ok(Event::Resize(width, height))) => {
                    let _ = guard.clear();
                    Msg::Resize { width, height }
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => {
                    tracing::warn!("terminal input failed, leaving: {e}");
                    break Exit::TerminalGone;
                }
                None => break Exit::TerminalGone,
            },
            ev = events.recv(), if monitor_open => match ev {
                Some(ev) => Msg::Monitor(ev),
                None => {
                    // The poller is gone (it panicked or stopped): say so and
                    // keep showing the last data, marked stale.
                    monitor_open = false;
                    tracing::error!("the monitor stopped; data is no longer refreshed");
                    Msg::Monitor(MonitorEvent::PollFailed {
                        source: PollSource::Database,
                        error: "monitor stopped".to_string(),
                        at: Utc::now(),
                    })
                }
            },
            event = actions.events.recv(), if outcomes_open => match event {
                Some(e) => Msg::Action(e),
                None => {
                    outcomes_open = false;
                    continue;
                }
            },
            Some(event) = command_rx.recv() => Msg::Command(event),
            _ = clock.tick() => Msg::Tick(Utc::now()),
        };
        let mut quit = false;
        for effect in update(&mut app, msg) {
            match effect {
                Effect::Quit => quit = true,
                Effect::SendControl(c) => send(&control, c, "monitor control"),
                Effect::Action(c) => send(&actions.commands, c, "action"),
                Effect::CopyToClipboard(text) => {
                    if let Err(e) = guard.write_raw(osc52(&text).as_bytes()) {
                        tracing::warn!("copy to clipboard failed: {e}");
                    }
                }
                Effect::RunCommand(request) => spawn_command(request, command_tx.clone()),
                Effect::FetchEvents(target) => {
                    if let Some(fetcher) = &actions.histories {
                        fetcher.want(target);
                    }
                }
                Effect::ReadContext(request) => {
                    read_context(context.clone(), request, command_tx.clone());
                }
                Effect::OpenUrl(request) => {
                    let how = match crate::runner::opener() {
                        Some(opener) => match crate::runner::open(opener, &request.url) {
                            Ok(()) => Opened::By(opener),
                            Err(e) => Opened::Failed(e.to_string()),
                        },
                        None => match guard.write_raw(osc52(&request.url).as_bytes()) {
                            Ok(()) => Opened::Copied,
                            Err(e) => Opened::Failed(format!("copying it: {e}")),
                        },
                    };
                    // Name and row only: the URL may carry what a log should not.
                    tracing::info!(
                        "command \"{}\" on execution {}: {how:?}",
                        crate::text::one_line(&request.description),
                        crate::text::one_line(&request.execution_id)
                    );
                    let _ = command_tx.send(CommandEvent::Opened {
                        description: request.description,
                        how,
                    });
                }
            }
        }
        if quit {
            break Exit::Quit;
        }
    };
    let _ = control.try_send(MonitorControl::Shutdown);
    drop(guard);
    tracing::info!("TUI closed: {exit:?}");
    if exit == Exit::Panic {
        return Err(eyre!(
            "a background task panicked (its report is above); exectop stopped"
        ));
    }
    Ok(())
}
