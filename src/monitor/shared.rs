//! The monitor's side of one remote poller shared by every instance that
//! watches the same table through the same tracker (PostgreSQL only; see
//! `store::shared`). Each remote tick keeps the role: a follower tries the
//! scope's lock, a poller checks it still holds it. The poller publishes
//! every round's answers and every listing as it folds them in; a follower,
//! woken by the poller's notice or by its own tick, reads what is new and
//! folds it in exactly as the poller did, so both find the same.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::mpsc;

use super::snapshot::{RemoteVia, SourceHealth};
use super::state::MonitorState;
use crate::domain::{Observation, RemoteExecution};
use crate::store::shared::{PollerLock, Scope, SharedRecord};
use crate::store::{Store, StoreError};

/// How often a follower tries to take the lock: well within two remote
/// intervals, and one cheap statement a second.
const TRY_EVERY: Duration = Duration::from_secs(1);
/// A poller whose session was taken from it waits this long before it tries
/// again, so another instance takes over (the session may have been
/// terminated on purpose, or its host be the trouble).
const STEP_BACK: Duration = Duration::from_secs(5);
/// How often the poller says it is alive (and the tracker's health).
const BEAT_EVERY: Duration = Duration::from_secs(2);
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// Records read at once by a follower.
const READ_AT_ONCE: i64 = 20_000;

pub enum Role {
    Poller {
        lock: PollerLock,
        since: DateTime<Utc>,
    },
    Follower {
        last_seq: i64,
    },
}

/// A listing as the poller went through it, for a follower to replay.
#[derive(Debug, Clone, PartialEq)]
pub enum ListStep {
    Begin,
    Page(Vec<RemoteExecution>),
    Done,
    Failed,
}

pub struct Sharing {
    store: Store,
    scope: Scope,
    holder: String,
    pub role: Role,
    notices: mpsc::Receiver<()>,
    /// A triage change on this table, from any terminal.
    triage_notices: mpsc::Receiver<()>,
    last_try: Option<Instant>,
    /// Not before then: see `STEP_BACK`.
    next_try: Option<Instant>,
    last_beat: Option<Instant>,
    last_prune: Option<Instant>,
    /// The poller a follower last read, for its header.
    poller: Option<String>,
}

/// What changed in the role at a tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleChange {
    None,
    BecamePoller,
    LostLock,
}

/// This process, as other instances' headers name it: its host.
fn this_holder() -> String {
    crate::store::Actor::from_env(None).host
}

impl Sharing {
    /// Sharing for `store` through `tracker` (its `describe()`), or `None`
    /// where it cannot be: SQLite, or the shared tables not made yet
    /// (`exectop migrate`), said once in the log.
    pub async fn start(store: &Store, tracker: &str) -> Option<Sharing> {
        let scope = match store.sharing_scope(tracker).await {
            Ok(scope) => scope?,
            Err(e) => {
                tracing::warn!("{e}: this instance polls the remote itself");
                return None;
            }
        };
        match store.has_shared_tables().await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(
                    "no exectop_remote_observations table (run `exectop migrate`): \
                     this instance polls the remote itself"
                );
                return None;
            }
            Err(e) => {
                tracing::warn!("{e}: this instance polls the remote itself");
                return None;
            }
        }
        let (notify, notices) = mpsc::channel(1);
        let (triaged, triage_notices) = mpsc::channel(1);
        match store.listen_shared().await {
            Ok(Some(mut listener)) => {
                let name = scope.name.clone();
                let table = store.table().name.clone();
                tokio::spawn(async move {
                    loop {
                        match listener.recv().await {
                            Ok(n)
                                if n.channel() == crate::store::shared::TRIAGE_CHANNEL
                                    && n.payload() == table =>
                            {
                                let _ = triaged.try_send(());
                            }
                            Ok(n) if n.payload() == name => {
                                // One pending notice is enough: the read takes all.
                                if notify.is_closed() {
                                    return;
                                }
                                let _ = notify.try_send(());
                            }
                            Ok(_) => {}
                            // The listener reconnects on the next recv.
                            Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
                        }
                    }
                });
            }
            Ok(None) => {}
            Err(e) => tracing::warn!("{e}: reading shared answers every second instead"),
        }
        Some(Sharing {
            store: store.clone(),
            scope,
            holder: this_holder(),
            role: Role::Follower { last_seq: 0 },
            notices,
            triage_notices,
            last_try: None,
            next_try: None,
            last_beat: None,
            last_prune: None,
            poller: None,
        })
    }

    pub fn is_poller(&self) -> bool {
        matches!(self.role, Role::Poller { .. })
    }

    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// Waits for what the shared listener hears next: the poller's new
    /// answers (only a follower listens for them) or a triage change on
    /// this table. True for a triage change.
    pub async fn heard(&mut self, following: bool) -> bool {
        let answers = async {
            if !following || self.notices.recv().await.is_none() {
                std::future::pending::<()>().await;
            }
        };
        let triage = async {
            if self.triage_notices.recv().await.is_none() {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            () = answers => false,
            () = triage => true,
        }
    }

    /// Keeps the role at a remote tick: a follower tries the lock, a
    /// poller checks its session still holds it (before any request, so a
    /// dropped connection never leaves two pollers asking).
    pub async fn keep_role(&mut self) -> RoleChange {
        match &mut self.role {
            Role::Poller { lock, .. } => {
                if lock.still_held().await {
                    return RoleChange::None;
                }
                tracing::warn!(
                    "lost the remote poller's lock for {} (its connection dropped): \
                     reading another instance's answers",
                    self.scope.name
                );
                let last_seq = self.store.last_seq(&self.scope).await.unwrap_or(0);
                self.role = Role::Follower { last_seq };
                self.last_try = Some(Instant::now());
                self.next_try = Some(Instant::now() + STEP_BACK);
                RoleChange::LostLock
            }
            Role::Follower { .. } => {
                if self.last_try.is_some_and(|t| t.elapsed() < TRY_EVERY)
                    || self.next_try.is_some_and(|t| Instant::now() < t)
                {
                    return RoleChange::None;
                }
                self.last_try = Some(Instant::now());
                match self.store.try_lock_poller(&self.scope).await {
                    Ok(Some(lock)) => {
                        tracing::info!("this instance polls the remote for {}", self.scope.name);
                        self.role = Role::Poller {
                            lock,
                            since: Utc::now(),
                        };
                        self.last_beat = None;
                        RoleChange::BecamePoller
                    }
                    Ok(None) => RoleChange::None,
                    Err(e) => {
                        tracing::debug!("{e}");
                        RoleChange::None
                    }
                }
            }
        }
    }

    /// The poller: publishes a round's answers before folding them in.
    pub async fn publish_round(&self, observations: &[(String, Observation)]) {
        if !self.is_poller() || observations.is_empty() {
            return;
        }
        let round = Utc::now().timestamp_micros();
        let records: Vec<(&str, Option<&str>, Value)> = observations
            .iter()
            .filter_map(|(id, obs)| {
                let body = serde_json::to_value(obs).ok()?;
                Some(("lookup", Some(id.as_str()), body))
            })
            .collect();
        self.published(self.store.publish(&self.scope, round, &records).await);
    }

    /// The poller: publishes a step of a listing.
    pub async fn publish_list(&self, step: &ListStep) {
        if !self.is_poller() {
            return;
        }
        let (kind, body) = match step {
            ListStep::Begin => ("list_begin", Value::Null),
            ListStep::Page(runs) => (
                "list_page",
                serde_json::to_value(runs).unwrap_or(Value::Null),
            ),
            ListStep::Done => ("list_done", Value::Null),
            ListStep::Failed => ("list_failed", Value::Null),
        };
        let round = Utc::now().timestamp_micros();
        self.published(
            self.store
                .publish(&self.scope, round, &[(kind, None, body)])
                .await,
        );
    }

    fn published(&self, done: Result<(), StoreError>) {
        if let Err(e) = done {
            tracing::warn!("{e}: the other instances miss these answers");
        }
    }

    /// The poller: says it is alive, with the tracker's health, every few
    /// seconds; deletes old records once a minute.
    pub async fn beat(&mut self, health: Option<&SourceHealth>) {
        let Role::Poller { since, .. } = &self.role else {
            return;
        };
        if self.last_beat.is_some_and(|t| t.elapsed() < BEAT_EVERY) {
            return;
        }
        self.last_beat = Some(Instant::now());
        let body = health
            .and_then(|h| serde_json::to_value(h).ok())
            .unwrap_or(Value::Null);
        if let Err(e) = self
            .store
            .beat_poller(&self.scope, &self.holder, *since, &body)
            .await
        {
            tracing::warn!("{e}");
        }
        if self.last_prune.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
            self.last_prune = Some(Instant::now());
            if let Err(e) = self.store.prune_shared(&self.scope).await {
                tracing::warn!("{e}");
            }
        }
    }

    /// A follower: reads what the poller published since the last read and
    /// folds it into `state` as the poller did; returns whether anything
    /// was new. The tracker's health comes with the poller's beat.
    pub async fn follow(&mut self, state: &mut MonitorState) -> Result<bool, StoreError> {
        let Role::Follower { last_seq } = &mut self.role else {
            return Ok(false);
        };
        let records = self
            .store
            .records_after(&self.scope, *last_seq, READ_AT_ONCE)
            .await?;
        if let Some(last) = records.last() {
            *last_seq = last.seq;
        }
        let fresh = !records.is_empty();
        apply(&self.store, state, records).await;
        if let Some(poller) = self.store.poller_of(&self.scope).await? {
            let mut health: SourceHealth = poller
                .health
                .and_then(|h| serde_json::from_value(h).ok())
                .unwrap_or_default();
            health.via = Some(RemoteVia::Poller {
                holder: poller.holder.clone(),
            });
            // The follower doubts as the poller does: the same rounds give
            // the same verdict.
            health.suspect = state.remote_suspect.clone();
            health.ok = health.ok && health.suspect.is_none();
            if self.poller.as_deref() != Some(poller.holder.as_str()) {
                tracing::info!("the remote is polled by {} for this table", poller.holder);
                self.poller = Some(poller.holder);
            }
            state.remote = Some(health);
        }
        Ok(fresh)
    }
}

/// Folds published records into the state: a round's answers at once, a
/// listing step by step (its pages' unmatched ids read from this instance's
/// own database connection, as the poller did).
async fn apply(store: &Store, state: &mut MonitorState, records: Vec<SharedRecord>) {
    let mut round: Option<(i64, Vec<(String, Observation)>)> = None;
    for record in records {
        if let Some((at, answers)) = round.take() {
            if record.kind == "lookup" && record.round == at {
                round = Some((at, answers));
            } else {
                state.record_round(answers);
            }
        }
        match record.kind.as_str() {
            "lookup" => {
                let (Some(id), Ok(obs)) = (
                    record.execution_id,
                    serde_json::from_value::<Observation>(record.body),
                ) else {
                    continue;
                };
                round
                    .get_or_insert_with(|| (record.round, Vec::new()))
                    .1
                    .push((id, obs));
            }
            "list_begin" => state.begin_list(),
            "list_page" => {
                let Ok(runs) = serde_json::from_value::<Vec<RemoteExecution>>(record.body) else {
                    continue;
                };
                let unmatched = state.unmatched(&runs);
                let local = if unmatched.is_empty() {
                    Vec::new()
                } else {
                    store.by_remote_ids(&unmatched).await.unwrap_or_default()
                };
                state.apply_list_page(runs, local, Utc::now());
            }
            "list_done" => state.finish_list(),
            "list_failed" => state.abandon_list(),
            _ => {}
        }
    }
    if let Some((_, answers)) = round {
        state.record_round(answers);
    }
}
