//! The poller: one database poll (`database_cycle`), a round of remote
//! look-ups and a listing, each in a task of its own so a slow API never
//! delays the database poll. `live` schedules them.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Duration as Cd, Utc};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::snapshot::Snapshot;
use super::state::{CountedRates, MonitorState, Policy};
use crate::domain::{Execution, Learned, Observation, RemoteExecution};
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
/// How often at most the poller says that finished rows left the re-check
/// queue unchecked (`WATCHED_TERMINAL_MAX`): a remote too slow for the churn
/// would say so every poll.
const WATCH_WARNING_EVERY: Duration = Duration::from_secs(600);
pub(super) const REMOTE_TICK: Duration = Duration::from_secs(1);
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
    /// Share one remote poller with the other instances on this table
    /// (PostgreSQL; `[poll] share_remote`, on by default).
    pub share_remote: bool,
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
            share_remote: config.poll.share_remote.unwrap_or(true),
            store,
            tracker,
        }
    }
}

pub(super) struct RoundResult {
    pub(super) observations: Vec<(String, Observation)>,
}

/// What a listing task sends, page by page, to the task that owns the state.
pub(super) enum ListEvent {
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
    /// Finished rows dropped from the re-check queue since the last warning,
    /// and when that was: one line every ten minutes at most.
    watch_dropped: u64,
    last_watch_warning: Option<std::time::Instant>,
}

impl DatabaseCycle {
    /// Whether the database was polled once: remote work waits for it.
    pub fn polled_once(&self) -> bool {
        self.last_poll.is_some()
    }

    fn warn_of_dropped_rechecks(&mut self, dropped: u64) {
        self.watch_dropped += dropped;
        if self.watch_dropped == 0
            || self
                .last_watch_warning
                .is_some_and(|t| t.elapsed() < WATCH_WARNING_EVERY)
        {
            return;
        }
        tracing::warn!(
            "{} finished rows were not re-checked on the remote: more than {} waited, \
             the remote budget ([poll] remote_rate, remote_concurrency) cannot keep up with the rows finishing",
            self.watch_dropped,
            super::state::WATCHED_TERMINAL_MAX
        );
        self.watch_dropped = 0;
        self.last_watch_warning = Some(std::time::Instant::now());
    }

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
        cycle.warn_of_dropped_rechecks(state.take_watch_dropped());
        state.database.ok = true;
        state.database.latency_ms = Some(read.latency.as_millis() as u64);
        state.database.last_success = Some(now);
        state.database.last_error = None;
        cycle.last_poll = Some(now);
        Ok(state.snapshot(Utc::now(), &self.policy))
    }
}

pub(super) fn spawn_round(
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
pub(super) fn spawn_list(tracker: Arc<dyn RemoteTracker>) -> mpsc::Receiver<ListEvent> {
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

/// Reads each job's runtimes (`Store::learned_runtimes`) now and every
/// `refresh` after, in a task of its own: on a long history the aggregate
/// takes seconds, and the database poll (and through it the screen) must
/// not wait for it. Sends each reading; ends when the receiver is gone. A
/// failure is logged once while it lasts, and the last reading stays.
pub(super) fn spawn_learning(
    store: Store,
    learning: crate::domain::Learning,
) -> (mpsc::Receiver<Learned>, JoinHandle<()>) {
    let (sender, receiver) = mpsc::channel(1);
    let task = tokio::spawn(async move {
        let mut failing = false;
        let mut read_once = false;
        loop {
            match store.learned_runtimes(Utc::now(), &learning).await {
                Ok(learned) => {
                    if failing {
                        tracing::warn!("reading the job runtimes works again");
                        failing = false;
                    }
                    read_once = true;
                    if sender.send(learned).await.is_err() {
                        return;
                    }
                }
                Err(e) if !failing => {
                    failing = true;
                    if read_once {
                        tracing::warn!("{e}; the last runtimes learned stay in force");
                    } else {
                        // Until a read succeeds, the fixed thresholds judge.
                        tracing::warn!("{e}; the fixed thresholds judge every job");
                        if sender.send(Learned::unreadable()).await.is_err() {
                            return;
                        }
                    }
                }
                Err(_) => {}
            }
            tokio::time::sleep(learning.refresh).await;
        }
    });
    (receiver, task)
}
