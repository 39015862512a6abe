//! The live monitor: polls the database every interval, runs remote rounds
//! and listings in tasks of their own, and sends a snapshot to the UI after
//! each poll. Controlled over a channel. Where instances share one remote
//! poller (`shared`), a follower reads the poller's answers instead of
//! asking the remote.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::poller::{
    DatabaseCycle, ListEvent, MAX_INTERVAL, MIN_INTERVAL, Poller, REMOTE_TICK, RoundResult,
    spawn_learning, spawn_list, spawn_round,
};
use super::shared::{ListStep, RoleChange, Sharing};
use super::snapshot::{MonitorControl, MonitorEvent, PollSource, RemoteVia, SourceHealth};
use super::state::MonitorState;
use crate::remote::RemoteError;

/// How often the poller wakes, and whether it is paused.
struct Schedule {
    interval: Duration,
    paused: bool,
    database: tokio::time::Interval,
    remote: tokio::time::Interval,
}

impl Schedule {
    fn new(interval: Duration) -> Schedule {
        let interval = interval.clamp(MIN_INTERVAL, MAX_INTERVAL);
        let mut database = tokio::time::interval(interval);
        database.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut remote = tokio::time::interval(REMOTE_TICK);
        remote.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Schedule {
            interval,
            paused: false,
            database,
            remote,
        }
    }

    fn set_interval(&mut self, interval: Duration) {
        self.interval = interval.clamp(MIN_INTERVAL, MAX_INTERVAL);
        self.database =
            tokio::time::interval_at(tokio::time::Instant::now() + self.interval, self.interval);
        self.database
            .set_missed_tick_behavior(MissedTickBehavior::Delay);
    }
}

/// Remote work started on a tick: a round of look-ups or a listing.
enum RemoteWork {
    Round(JoinHandle<RoundResult>),
    Listing(mpsc::Receiver<ListEvent>),
}

/// What a control message asks of the loop.
enum Obeyed {
    Stop,
    PollNow,
    Carry,
}

/// The running monitor: its state, and what the loop remembers between
/// wake-ups. The round and the listing in flight stay with `run`, which
/// waits on them.
struct Live<'p> {
    poller: &'p Poller,
    events: mpsc::Sender<MonitorEvent>,
    state: MonitorState,
    schedule: Schedule,
    cycle: DatabaseCycle,
    last_snapshot: Option<std::time::Instant>,
    last_list: Option<std::time::Instant>,
    listed_last: bool,
    list_failure: Option<RemoteError>,
    /// One remote poller for every instance on this table (PostgreSQL).
    sharing: Option<Sharing>,
    /// The stored triage as last read (with each database poll).
    triage:
        std::collections::HashMap<crate::domain::triage::FindingKey, crate::domain::triage::Triage>,
}

impl<'p> Live<'p> {
    fn new(poller: &'p Poller, events: mpsc::Sender<MonitorEvent>) -> Live<'p> {
        Live {
            state: MonitorState::new(
                poller.store.describe(),
                poller.tracker.as_ref().map(|t| t.describe()),
            ),
            schedule: Schedule::new(poller.interval),
            poller,
            events,
            cycle: DatabaseCycle::default(),
            last_snapshot: None,
            last_list: None,
            listed_last: false,
            list_failure: None,
            sharing: None,
            triage: std::collections::HashMap::new(),
        }
    }

    /// On a remote tick: a round of the look-ups due, or a listing when one
    /// is due; nothing while the tracker pauses or before the first poll.
    /// On a remote tick, where the remote poller is shared: keep the role;
    /// a follower reads the poller's answers and starts no remote work.
    async fn remote_tick(&mut self) -> Option<RemoteWork> {
        if let Some(sharing) = &mut self.sharing {
            if sharing.keep_role().await == RoleChange::BecamePoller {
                // Answers read from the last poller are history now.
                self.state.abandon_list();
            }
            if !sharing.is_poller() {
                self.follow().await;
                return None;
            }
            let health = self.state.remote.clone();
            sharing.beat(health.as_ref()).await;
        }
        let work = self.start_remote_work();
        if matches!(work, Some(RemoteWork::Listing(_)))
            && let Some(sharing) = &self.sharing
        {
            sharing.publish_list(&ListStep::Begin).await;
        }
        work
    }

    /// A follower: what the poller published since the last read, folded
    /// into the state, and a snapshot when one is due. False when the
    /// receiver of `events` is gone.
    async fn follow(&mut self) -> bool {
        let Some(sharing) = &mut self.sharing else {
            return true;
        };
        if self.cycle.polled_once() {
            match sharing.follow(&mut self.state).await {
                Ok(true) => return self.snapshot_if_due().await,
                Ok(false) => {}
                Err(e) => tracing::debug!("{e}"),
            }
        }
        true
    }

    fn start_remote_work(&mut self) -> Option<RemoteWork> {
        let poller = self.poller;
        let tracker = poller.tracker.clone()?;
        let health = tracker.health();
        let pausing = health
            .degraded_until
            .is_some_and(|until| until > Utc::now());
        if pausing || !self.cycle.polled_once() {
            return None;
        }
        let now = Utc::now();
        // A list answers for every run it names: when one is due it
        // goes alone, and look-ups resume after it for what it left.
        // A tick that follows a list looks up first, so a list due
        // every tick (a short interval) never starves the rows it
        // does not name.
        let list_due = tracker.can_list()
            && self
                .last_list
                .is_none_or(|t| t.elapsed() >= poller.policy.remote_interval);
        let due = if list_due && !self.listed_last {
            Vec::new()
        } else {
            let budget = (poller.rate * REMOTE_TICK.as_secs_f64()).ceil().max(1.0) as usize;
            self.state
                .due_lookups(now, &poller.policy, budget, &|_| false)
        };
        if !due.is_empty() {
            self.listed_last = false;
            Some(RemoteWork::Round(spawn_round(
                tracker,
                due,
                poller.concurrency,
            )))
        } else if list_due {
            self.listed_last = true;
            self.last_list = Some(std::time::Instant::now());
            self.state.begin_list();
            tracker.note_remote_ids(&mut self.state.active_remote_ids());
            Some(RemoteWork::Listing(spawn_list(tracker)))
        } else {
            None
        }
    }

    /// Takes what the listing task sent: true when the listing is over
    /// (done, failed or gone), false when more pages follow.
    async fn take_list_event(&mut self, event: Option<ListEvent>) -> bool {
        match event {
            Some(ListEvent::Page(runs)) => {
                if let Some(sharing) = &self.sharing {
                    sharing.publish_list(&ListStep::Page(runs.clone())).await;
                }
                // Only ids with no active row need the database: the
                // runs it finished (still going remotely) or never had.
                let unmatched = self.state.unmatched(&runs);
                let local = if unmatched.is_empty() {
                    Vec::new()
                } else {
                    self.poller
                        .store
                        .by_remote_ids(&unmatched)
                        .await
                        .unwrap_or_else(|e| {
                            tracing::warn!("reading rows for listed remote executions failed: {e}");
                            Vec::new()
                        })
                };
                self.state.apply_list_page(runs, local, Utc::now());
                return false;
            }
            Some(ListEvent::Done) => {
                if let Some(sharing) = &self.sharing {
                    sharing.publish_list(&ListStep::Done).await;
                }
                self.state.finish_list();
                crate::memory::return_freed_pages();
                if self.list_failure.take().is_some() {
                    tracing::warn!("listing active remote executions works again");
                }
            }
            Some(ListEvent::Failed(e)) => {
                if let Some(sharing) = &self.sharing {
                    sharing.publish_list(&ListStep::Failed).await;
                }
                // Said once while it fails the same way, not every interval.
                if self.list_failure.as_ref() != Some(&e) {
                    tracing::warn!("listing active remote executions failed: {e}");
                }
                self.list_failure = Some(e);
                self.state.abandon_list();
            }
            None => {
                if let Some(sharing) = &self.sharing {
                    sharing.publish_list(&ListStep::Failed).await;
                }
                self.state.abandon_list();
            }
        }
        true
    }

    /// Folds a finished round of look-ups into the state. False when the
    /// receiver of `events` is gone.
    async fn finish_round(&mut self, done: Result<RoundResult, tokio::task::JoinError>) -> bool {
        match done {
            Ok(result) => {
                let was_suspect = self.state.remote_suspect.is_some();
                if let Some(sharing) = &self.sharing {
                    sharing.publish_round(&result.observations).await;
                }
                self.state.record_round(result.observations);
                match (&self.state.remote_suspect, was_suspect) {
                    (Some(why), false) => tracing::warn!("remote tracker suspect: {why}"),
                    (None, true) => {
                        tracing::warn!("remote tracker trusted again: its look-ups find runs")
                    }
                    _ => {}
                }
                self.after_remote_answers().await
            }
            Err(e) => {
                tracing::error!("a remote polling round panicked: {e}");
                let _ = self
                    .events
                    .send(MonitorEvent::PollFailed {
                        source: PollSource::Remote,
                        error: e.to_string(),
                        at: Utc::now(),
                    })
                    .await;
                true
            }
        }
    }

    /// After remote answers: the tracker's health into the state, and a
    /// snapshot when no database poll has carried one for an interval. False
    /// when the receiver of `events` is gone.
    async fn after_remote_answers(&mut self) -> bool {
        let now = Utc::now();
        let state = &mut self.state;
        if let Some(tracker) = &self.poller.tracker {
            let h = tracker.health();
            let previous = state.remote.take().unwrap_or_default();
            state.remote = Some(SourceHealth {
                name: tracker.describe(),
                ok: h.ok && state.remote_suspect.is_none(),
                suspect: state.remote_suspect.clone(),
                latency_ms: h.latency_ms.or(previous.latency_ms),
                last_success: if h.ok {
                    Some(now)
                } else {
                    previous.last_success
                },
                last_error: h.last_error,
                degraded: h.degraded_until.is_some(),
                auth_failing: h.auth_failing.clone(),
                items_without_id: h.items_without_id,
                via: self.sharing.as_ref().map(|_| RemoteVia::Direct),
            });
        }
        if let Some(sharing) = &mut self.sharing {
            sharing.beat(state.remote.as_ref()).await;
        }
        self.snapshot_if_due().await
    }

    /// The next database poll carries remote answers to the screen; only
    /// when none has for an interval (the database is failing) do they go
    /// in a snapshot of their own. A snapshot costs findings over every
    /// active row. False when the receiver of `events` is gone.
    async fn snapshot_if_due(&mut self) -> bool {
        if self
            .last_snapshot
            .is_none_or(|t| t.elapsed() >= self.schedule.interval)
        {
            let mut snapshot = self.state.snapshot(Utc::now(), &self.poller.policy);
            super::triage::attach(&mut snapshot, &self.triage, Utc::now());
            self.last_snapshot = Some(std::time::Instant::now());
            return self
                .events
                .send(MonitorEvent::Snapshot(Arc::new(snapshot)))
                .await
                .is_ok();
        }
        true
    }

    /// A control message: pause, resume, a new interval, a refresh (which
    /// polls at once) or the end.
    async fn obey(&mut self, message: Option<MonitorControl>) -> Obeyed {
        match message {
            None | Some(MonitorControl::Shutdown) => return Obeyed::Stop,
            Some(MonitorControl::Pause) => self.schedule.paused = true,
            Some(MonitorControl::Resume) => self.schedule.paused = false,
            Some(MonitorControl::RefreshNow) => {
                self.cycle.read_whole_next();
                return Obeyed::PollNow;
            }
            Some(MonitorControl::SetInterval(d)) => self.schedule.set_interval(d),
        }
        let _ = self
            .events
            .send(MonitorEvent::Schedule {
                paused: self.schedule.paused,
                interval: self.schedule.interval,
            })
            .await;
        Obeyed::Carry
    }

    /// One database poll, its snapshot or its failure sent on. False when
    /// the receiver of `events` is gone.
    async fn poll_database(&mut self) -> bool {
        let now = Utc::now();
        match self
            .poller
            .database_cycle(&mut self.cycle, &mut self.state)
            .await
        {
            Ok(mut snapshot) => {
                crate::memory::return_freed_pages();
                // Triage is read with every poll: a claim made on another
                // terminal shows here within one poll.
                match self.poller.store.triage().await {
                    Ok(stored) => self.triage = stored,
                    Err(e) => tracing::debug!("reading the triage failed: {e}"),
                }
                super::triage::attach(&mut snapshot, &self.triage, Utc::now());
                self.last_snapshot = Some(std::time::Instant::now());
                self.events
                    .send(MonitorEvent::Snapshot(Arc::new(snapshot)))
                    .await
                    .is_ok()
            }
            Err(error) => {
                tracing::warn!("database poll failed: {error}");
                self.state.database.ok = false;
                self.state.database.last_error = Some(error.to_string());
                self.events
                    .send(MonitorEvent::PollFailed {
                        source: PollSource::Database,
                        error: error.to_string(),
                        at: now,
                    })
                    .await
                    .is_ok()
            }
        }
    }
}

/// Ends a task when the loop that started it returns, by any path.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs until `Shutdown` arrives or the receiver of `events` is gone.
pub async fn run(
    poller: Poller,
    events: mpsc::Sender<MonitorEvent>,
    mut control: mpsc::Receiver<MonitorControl>,
) {
    let mut live = Live::new(&poller, events);
    if let Some(tracker) = poller.tracker.as_ref().filter(|_| poller.share_remote) {
        live.sharing = Sharing::start(&poller.store, &tracker.describe()).await;
    }
    let mut round: Option<JoinHandle<RoundResult>> = None;
    let mut listing: Option<mpsc::Receiver<ListEvent>> = None;
    let learning = &poller.policy.job_rules.learning;
    let (mut learned, _learning) = if learning.enabled && poller.store.table().name_column.is_some()
    {
        let (readings, task) = spawn_learning(poller.store.clone(), learning.clone());
        (Some(readings), Some(AbortOnDrop(task)))
    } else {
        (None, None)
    };
    loop {
        let remote_idle = round.is_none() && listing.is_none() && poller.tracker.is_some();
        let following = live.sharing.as_ref().is_some_and(|s| !s.is_poller());
        let sharing = &mut live.sharing;
        // Which the shared listener heard first: the poller's answers
        // (a follower reads them) or a triage change (a poll shows it).
        let notice = async move {
            match sharing {
                Some(sharing) => sharing.heard(following).await,
                None => std::future::pending().await,
            }
        };
        let poll_db = tokio::select! {
            _ = live.schedule.database.tick(), if !live.schedule.paused => true,
            triaged = notice, if !live.schedule.paused => {
                if !triaged && !live.follow().await {
                    return;
                }
                triaged
            }
            _ = live.schedule.remote.tick(), if !live.schedule.paused && remote_idle => {
                match live.remote_tick().await {
                    Some(RemoteWork::Round(started)) => round = Some(started),
                    Some(RemoteWork::Listing(started)) => listing = Some(started),
                    None => {}
                }
                false
            }
            event = async { listing.as_mut().expect("guarded").recv().await }, if listing.is_some() => {
                if !live.take_list_event(event).await {
                    continue;
                }
                listing = None;
                if !live.after_remote_answers().await {
                    return;
                }
                false
            }
            done = async { round.as_mut().expect("guarded").await }, if round.is_some() => {
                round = None;
                if !live.finish_round(done).await {
                    return;
                }
                false
            }
            reading = async { learned.as_mut().expect("guarded").recv().await }, if learned.is_some() => {
                match reading {
                    // Judged with the next poll's snapshot: no extra one.
                    Some(reading) => live.state.set_learned(reading),
                    None => learned = None,
                }
                false
            }
            message = control.recv() => match live.obey(message).await {
                Obeyed::Stop => {
                    if let Some(r) = round.take() {
                        r.abort();
                    }
                    return;
                }
                Obeyed::PollNow => true,
                Obeyed::Carry => false,
            }
        };
        if poll_db && !live.poll_database().await {
            return;
        }
    }
}
