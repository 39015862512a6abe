//! One diagnosis, for `exectop check`: read the database once, ask the
//! remote tracker about every execution past its grace, and confirm what
//! needs confirming (not-found and error streaks) by asking again, so the
//! one-shot answer follows the same definitions as the live monitor.

use std::sync::Arc;
use std::time::Duration;

use chrono::{Duration as Cd, Utc};
use futures_util::StreamExt;

use super::snapshot::{Snapshot, SourceHealth};
use super::state::{MonitorState, Policy};
use crate::domain::{Observation, RemoteAnswer, error_rates};
use crate::remote::{LookupTarget, RemoteTracker};
use crate::store::{Store, StoreError};

/// The longest a confirming round waits for the remote's own pause.
const CONFIRM_PATIENCE: Duration = Duration::from_secs(10);

/// Terminal rows finished this recently are asked about once, to find remote
/// runs left going (`remote_still_running`) when there is no list endpoint.
const RECENT_TERMINAL: Cd = Cd::hours(1);
const RECENT_TERMINAL_CAP: usize = 200;

pub struct OneShotOptions {
    pub concurrency: usize,
    /// Pause between confirming look-ups of the same execution.
    pub confirm_spacing: Duration,
}

pub async fn one_shot(
    store: &Store,
    tracker: Option<Arc<dyn RemoteTracker>>,
    policy: &Policy,
    options: &OneShotOptions,
) -> Result<Snapshot, StoreError> {
    let mut state = MonitorState::new(store.describe(), tracker.as_ref().map(|t| t.describe()));
    let latency = store.ping().await?;
    // The active set is read while the day is counted on a second
    // connection: over a long history the counts are most of the database's
    // time. Only the day's two windows are counted (`check` reports no
    // breakdowns), and the spellings nothing maps.
    let counted_at = Utc::now();
    let (active, (counts, unmapped)) =
        tokio::try_join!(store.active(), store.day_counts(counted_at))?;
    let now = Utc::now();
    state.set_error_rates(error_rates::windows(counts));
    state.unmapped_statuses = unmapped;
    // Only the last hour's finished rows are read, and only to look for
    // remote runs left going.
    let finished = if tracker.is_some() {
        store.finished_since(now - RECENT_TERMINAL).await?
    } else {
        Vec::new()
    };
    // Learned limits judge the running rows as the monitor's do; where the
    // history cannot be read, the fixed thresholds still can.
    let learning = &policy.job_rules.learning;
    if learning.enabled {
        match store.learned_runtimes(now, learning).await {
            Ok(learned) => state.set_learned(learned),
            Err(e) => {
                tracing::warn!("{e}; the fixed thresholds judge every job");
                state.set_learned(crate::domain::Learned::unreadable());
            }
        }
    }
    state.database.ok = true;
    state.database.latency_ms = Some(latency.as_millis() as u64);
    state.database.last_success = Some(now);

    let recent: Vec<_> = {
        let mut r: Vec<_> = finished
            .iter()
            .filter(|e| e.remote_id.is_some() && now - e.finished_at() <= RECENT_TERMINAL)
            .cloned()
            .collect();
        r.sort_by_key(|e| std::cmp::Reverse(e.finished_at()));
        r.truncate(RECENT_TERMINAL_CAP);
        r
    };
    state.apply_database(active, Vec::new(), None, now);

    if let Some(tracker) = tracker {
        if tracker.can_list() {
            tracker.note_remote_ids(&mut state.active_remote_ids());
            match tracker.list_active().await {
                Ok(listed) => {
                    state.begin_list();
                    let unmatched = state.unmatched(&listed);
                    let local = store.by_remote_ids(&unmatched).await?;
                    state.apply_list_page(listed, local, Utc::now());
                    state.finish_list();
                }
                Err(e) => tracing::warn!("listing active remote executions failed: {e}"),
            }
        }
        state.watch_terminal(recent);
        let due = state.due_lookups(now, policy, usize::MAX, &|_| false);
        let mut pending = due;
        let t = &policy.thresholds;
        let rounds = t.not_found_confirmations.max(t.poll_error_limit).max(1);
        for round in 0..rounds {
            if pending.is_empty() {
                break;
            }
            if round > 0 {
                // A remote that asked us to wait (429 `Retry-After`) is waited
                // for, a little: rounds spent inside its pause confirm nothing.
                let pause = tracker
                    .health()
                    .degraded_until
                    .and_then(|until| (until - Utc::now()).to_std().ok())
                    .filter(|left| *left <= CONFIRM_PATIENCE)
                    .unwrap_or_default();
                tokio::time::sleep(options.confirm_spacing.max(pause)).await;
            }
            let answers: Vec<(LookupTarget, Observation)> =
                futures_util::stream::iter(pending.clone())
                    .map(|target| {
                        let tracker = tracker.clone();
                        async move {
                            let (answer, detail) = tracker.lookup_detailed(&target).await;
                            (
                                target,
                                Observation {
                                    checked_at: Utc::now(),
                                    answer,
                                    detail,
                                },
                            )
                        }
                    })
                    .buffer_unordered(options.concurrency.max(1))
                    .collect()
                    .await;
            pending.clear();
            // Asked again while unconfirmed: every answer but a status.
            let unsettled: Vec<LookupTarget> = answers
                .iter()
                .filter(|(_, obs)| !matches!(obs.answer, RemoteAnswer::Found { .. }))
                .map(|(target, _)| target.clone())
                .collect();
            state.record_round(
                answers
                    .into_iter()
                    .map(|(target, obs)| (target.id, obs))
                    .collect(),
            );
            for target in unsettled {
                let unconfirmed = state.history(&target.id).is_some_and(|h| {
                    (h.consecutive_not_found > 0
                        && h.consecutive_not_found < t.not_found_confirmations)
                        || (h.consecutive_errors > 0 && h.consecutive_errors < t.poll_error_limit)
                        || matches!(
                            h.last_answer(),
                            Some(RemoteAnswer::Throttled { .. } | RemoteAnswer::Doubted { .. })
                        )
                });
                if unconfirmed {
                    pending.push(target);
                }
            }
        }
        // The rows were read before the look-ups: read the ones the remote
        // is ahead of again, so a worker that caught up meanwhile is seen.
        let candidates = state.mismatch_candidates();
        if !candidates.is_empty() {
            let rows = store.by_ids(&candidates).await?;
            state.refresh_rows(&candidates, rows);
        }
        let health = tracker.health();
        state.remote = Some(SourceHealth {
            name: tracker.describe(),
            ok: health.ok && state.remote_suspect.is_none(),
            suspect: state.remote_suspect.clone(),
            latency_ms: health.latency_ms,
            last_success: health.ok.then(Utc::now),
            last_error: health.last_error,
            degraded: health.degraded_until.is_some(),
            auth_failing: health.auth_failing.clone(),
            items_without_id: health.items_without_id,
            via: None,
        });
    }
    let mut snapshot = state.snapshot(Utc::now(), policy);
    let stored = store.triage().await.unwrap_or_else(|e| {
        tracing::warn!("reading the triage failed: {e}");
        Default::default()
    });
    super::triage::attach(&mut snapshot, &stored, Utc::now());
    Ok(snapshot)
}
