//! The live poller: polls the database every interval, runs remote rounds
//! in a task of their own (a slow API never delays the database poll), and
//! sends a snapshot to the UI after each poll. Controlled over a channel.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Duration as Cd, Utc};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::snapshot::{MonitorControl, MonitorEvent, PollSource, Snapshot, SourceHealth};
use super::state::{CountedRates, MonitorState, Policy};
use crate::domain::{Execution, Observation, RemoteExecution};
use crate::remote::{LookupTarget, RemoteError, RemoteTracker};
use crate::store::{Store, StoreError};

/// The day's error rates are counted by the database this often; between
/// counts, rows seen finishing are added on top (`MonitorState`).
const WINDOW_REFRESH: Duration = Duration::from_secs(60);
/// How often rows with unmapped status spellings are counted.
const UNMAPPED_REFRESH: Duration = Duration::from_secs(60);
/// Where `updated_at` is mapped, a poll reads only the rows written since
/// the last one, and the whole active set this often (see `database_cycle`).
const FULL_ACTIVE_REFRESH: Duration = Duration::from_secs(60);
const REMOTE_TICK: Duration = Duration::from_secs(1);
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
pub const MAX_INTERVAL: Duration = Duration::from_secs(300);

pub struct Poller {
    pub store: Store,
    pub tracker: Option<Arc<dyn RemoteTracker>>,
    pub policy: Policy,
    pub interval: Duration,
    pub concurrency: usize,
    /// Look-ups started per second at most (the tracker enforces its own cap too).
    pub rate: f64,
}

impl Poller {
    /// The poller the configuration asks for, over `store` and `tracker`.
    pub fn new(
        store: Store,
        tracker: Option<Arc<dyn RemoteTracker>>,
        config: &crate::config::Config,
    ) -> Poller {
        Poller {
            policy: Policy::from_config(config, store.capabilities(tracker.is_some())),
            interval: config.database_interval(),
            concurrency: config.poll.remote_concurrency.unwrap_or(10),
            rate: config.poll.remote_rate.unwrap_or(20.0),
            store,
            tracker,
        }
    }
}

struct RoundResult {
    observations: Vec<(String, Observation)>,
}

/// What a listing task sends, page by page, to the task that owns the state.
enum ListEvent {
    Page(Vec<RemoteExecution>),
    Done,
    Failed(RemoteError),
}

struct DatabaseRead {
    /// The active set when it was read whole; `None` when the poll read
    /// only the rows written since the last one (`changed`).
    whole: Option<Vec<Arc<Execution>>>,
    changed: Vec<Execution>,
    window: Option<CountedRates>,
    unmapped: Option<Vec<(String, u64)>>,
    latency: Duration,
}

impl Poller {
    /// The whole active set, each row kept as held when it reads the same.
    async fn read_active(&self, known: &MonitorState) -> Result<Vec<Arc<Execution>>, StoreError> {
        let mut active = Vec::with_capacity(known.active_len());
        self.store
            .active_each(|row| {
                let held = row.id().and_then(|id| known.known(id));
                match held.filter(|e| row.same_as(e)) {
                    Some(unchanged) => active.push(unchanged.clone()),
                    None => active.extend(row.to_execution().map(Arc::new)),
                }
            })
            .await?;
        Ok(active)
    }

    /// The rows written since `since`, and the active rows whose heartbeat
    /// moved (a worker may beat without touching `updated_at`), when they
    /// explain the active set: `None` when the database counts a different
    /// number of active rows than they give. A write the change read cannot
    /// see (a deleted row, a late commit) then costs a whole read at once.
    async fn read_written(
        &self,
        known: &MonitorState,
        changed: Vec<Execution>,
        since: DateTime<Utc>,
    ) -> Result<Option<Vec<Execution>>, StoreError> {
        let mut written = changed;
        written.extend(self.store.beats_since(since).await?);
        let counted = self.store.count_active().await?;
        let expected = known.active_len_after(&written);
        if counted == expected {
            Ok(Some(written))
        } else {
            tracing::debug!(
                "the database counts {counted} active rows, the changes give {expected}: reading them all"
            );
            Ok(None)
        }
    }

    async fn changed_since(
        &self,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<Execution>, StoreError> {
        match since {
            Some(since) => self.store.changed_since(since).await,
            None => Ok(Vec::new()),
        }
    }

    async fn read_database(
        &self,
        known: &MonitorState,
        last: Option<DateTime<Utc>>,
        due: DueReads,
        now: DateTime<Utc>,
    ) -> Result<DatabaseRead, StoreError> {
        let latency = self.store.ping().await?;
        // Overlap by a second so a row written during the last poll is not missed.
        let since = last.map(|at| at - Cd::seconds(1));
        let written = match since {
            Some(since) if !due.whole_active => {
                let changed = self.changed_since(Some(since)).await?;
                self.read_written(known, changed, since).await?
            }
            _ => None,
        };
        // A whole read decides which rows are active; the changes read after
        // it only say which rows finished.
        let (whole, changed) = match written {
            Some(written) => (None, written),
            None => (
                Some(self.read_active(known).await?),
                self.changed_since(since).await?,
            ),
        };
        let window = if due.window {
            let rates = self
                .store
                .finished_breakdown(now, &self.policy.classifier)
                .await?;
            Some((now, rates))
        } else {
            None
        };
        let unmapped = if due.unmapped {
            Some(self.store.unmapped_statuses(now - Cd::hours(24)).await?)
        } else {
            None
        };
        Ok(DatabaseRead {
            whole,
            changed,
            window,
            unmapped,
            latency,
        })
    }
}

/// Which of the periodic reads a poll makes.
struct DueReads {
    whole_active: bool,
    window: bool,
    unmapped: bool,
}

/// What the database side of the poller remembers from one cycle to the next.
#[derive(Debug, Default)]
pub struct DatabaseCycle {
    last_poll: Option<DateTime<Utc>>,
    last_window: Option<std::time::Instant>,
    last_whole_active: Option<std::time::Instant>,
    last_unmapped: Option<std::time::Instant>,
    warned_unmapped: HashSet<String>,
}

impl DatabaseCycle {
    /// The next poll reads the whole active set, not only the changes: what
    /// an operator's "refresh now" asks for.
    pub fn read_whole_next(&mut self) {
        self.last_whole_active = None;
    }
}

impl Poller {
    /// One database poll: reads what is due, folds it into `state` and
    /// returns the snapshot to send. The poll benchmark times exactly this.
    ///
    /// Where `updated_at` is mapped, most polls read only the rows written
    /// since the last one and make the active set from them, checked against
    /// the database's count; the whole active set is read on the first poll,
    /// every `FULL_ACTIVE_REFRESH`, and whenever the count disagrees. On a
    /// quiet table a poll then decodes nothing. Without `updated_at`, every
    /// poll reads the whole active set. The finished window and the
    /// unmapped-status count are read when their time comes.
    pub async fn database_cycle(
        &self,
        cycle: &mut DatabaseCycle,
        state: &mut MonitorState,
    ) -> Result<Snapshot, StoreError> {
        let now = Utc::now();
        let follows_changes = self.store.table().updated_at.is_some();
        let window_due = cycle.last_poll.is_none()
            || cycle
                .last_window
                .is_none_or(|t| t.elapsed() >= WINDOW_REFRESH);
        let due = DueReads {
            whole_active: !follows_changes
                || cycle
                    .last_whole_active
                    .is_none_or(|t| t.elapsed() >= FULL_ACTIVE_REFRESH),
            window: window_due,
            unmapped: cycle
                .last_unmapped
                .is_none_or(|t| t.elapsed() >= UNMAPPED_REFRESH),
        };
        let read = self.read_database(state, cycle.last_poll, due, now).await?;
        if read.window.is_some() {
            cycle.last_window = Some(std::time::Instant::now());
        }
        if read.whole.is_some() {
            cycle.last_whole_active = Some(std::time::Instant::now());
        }
        if let Some(unmapped) = read.unmapped {
            cycle.last_unmapped = Some(std::time::Instant::now());
            for (spelling, rows) in &unmapped {
                if cycle.warned_unmapped.insert(spelling.clone()) {
                    tracing::warn!(
                        "status {spelling:?} ({rows} rows created in 24 h) is not in [table.status_values]: \
                         those rows show as unknown and are not watched"
                    );
                }
            }
            state.unmapped_statuses = unmapped;
        }
        match read.whole {
            Some(active) => state.apply_database(active, read.changed, read.window, now),
            None => state.apply_written(read.changed, read.window, now),
        }
        state.database.ok = true;
        state.database.latency_ms = Some(read.latency.as_millis() as u64);
        state.database.last_success = Some(now);
        state.database.last_error = None;
        cycle.last_poll = Some(now);
        Ok(state.snapshot(Utc::now(), &self.policy))
    }
}

fn spawn_round(
    tracker: Arc<dyn RemoteTracker>,
    due: Vec<LookupTarget>,
    concurrency: usize,
) -> JoinHandle<RoundResult> {
    tokio::spawn(async move {
        let observations = futures_util::stream::iter(due)
            .map(|target| {
                let tracker = tracker.clone();
                async move {
                    let (answer, detail) = tracker.lookup_detailed(&target).await;
                    if let crate::domain::RemoteAnswer::Error { message } = &answer {
                        tracing::warn!(
                            "remote look-up of {} (execution {}) failed: {message}",
                            target.remote_id,
                            target.id
                        );
                    }
                    (
                        target.id,
                        Observation {
                            checked_at: Utc::now(),
                            answer,
                            detail,
                        },
                    )
                }
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        RoundResult { observations }
    })
}

/// Walks the tracker's lists (one per instance, where it lists that way)
/// in a task of its own and sends each page as it arrives. The channel
/// holds one page: the walk waits while the state takes the page before,
/// so at most two pages are in memory, whatever the lists' length. One
/// list failing fails the walk: an incomplete list cannot say which runs
/// are remote-only.
fn spawn_list(tracker: Arc<dyn RemoteTracker>) -> mpsc::Receiver<ListEvent> {
    let (pages, receiver) = mpsc::channel(1);
    tokio::spawn(async move {
        let end = match walk_lists(&*tracker, &pages).await {
            Ok(true) => ListEvent::Done,
            Ok(false) => return,
            Err(e) => ListEvent::Failed(e),
        };
        let _ = pages.send(end).await;
    });
    receiver
}

/// Ok(false) when the receiver is gone.
async fn walk_lists(
    tracker: &dyn RemoteTracker,
    pages: &mpsc::Sender<ListEvent>,
) -> Result<bool, RemoteError> {
    for scope in tracker.list_scopes().await? {
        let mut walk = crate::remote::ListWalk::default();
        loop {
            let page = tracker.list_page(&scope, walk.cursor()).await?;
            let more = walk.advance(page.next);
            if pages.send(ListEvent::Page(page.runs)).await.is_err() {
                return Ok(false);
            }
            if !more? {
                break;
            }
        }
    }
    Ok(true)
}
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
        }
    }

    /// On a remote tick: a round of the look-ups due, or a listing when one
    /// is due; nothing while the tracker pauses or before the first poll.
    fn start_remote_work(&mut self) -> Option<RemoteWork> {
        let poller = self.poller;
        let tracker = poller.tracker.clone()?;
        let health = tracker.health();
        let pausing = health
            .degraded_until
            .is_some_and(|until| until > Utc::now());
        if pausing || self.cycle.last_poll.is_none() {
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
                self.state.finish_list();
                crate::memory::return_freed_pages();
                if self.list_failure.take().is_some() {
                    tracing::warn!("listing active remote executions works again");
                }
            }
            Some(ListEvent::Failed(e)) => {
                // Said once while it fails the same way, not every interval.
                if self.list_failure.as_ref() != Some(&e) {
                    tracing::warn!("listing active remote executions failed: {e}");
                }
                self.list_failure = Some(e);
                self.state.abandon_list();
            }
            None => self.state.abandon_list(),
        }
        true
    }

    /// Folds a finished round of look-ups into the state. False when the
    /// receiver of `events` is gone.
    async fn finish_round(&mut self, done: Result<RoundResult, tokio::task::JoinError>) -> bool {
        match done {
            Ok(result) => {
                let was_suspect = self.state.remote_suspect.is_some();
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
            });
        }
        // The next database poll carries these answers to the screen; only when
        // none has for an interval (the database is failing) does a remote round
        // send its own. A snapshot costs findings over every active row.
        if self
            .last_snapshot
            .is_none_or(|t| t.elapsed() >= self.schedule.interval)
        {
            let snapshot = state.snapshot(now, &self.poller.policy);
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
            Ok(snapshot) => {
                crate::memory::return_freed_pages();
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

/// Runs until `Shutdown` arrives or the receiver of `events` is gone.
pub async fn run(
    poller: Poller,
    events: mpsc::Sender<MonitorEvent>,
    mut control: mpsc::Receiver<MonitorControl>,
) {
    let mut live = Live::new(&poller, events);
    let mut round: Option<JoinHandle<RoundResult>> = None;
    let mut listing: Option<mpsc::Receiver<ListEvent>> = None;
    loop {
        let remote_idle = round.is_none() && listing.is_none() && poller.tracker.is_some();
        let poll_db = tokio::select! {
            _ = live.schedule.database.tick(), if !live.schedule.paused => true,
            _ = live.schedule.remote.tick(), if !live.schedule.paused && remote_idle => {
                match live.start_remote_work() {
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
