//! The scheduled clean-up (`[policy.cleanup]`): every `interval`, the active
//! executions older than `max_age` are timed out through the same plan and
//! apply as `exectop cleanup --max-age … --fix` (compare-and-set, audited,
//! the table's bulk lease), as the agent's operator; or, with `apply =
//! false`, only reported. Each run is logged and counted.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use super::metrics::{CleanupCounts, Metrics};
use crate::actions::{self, ActionError, Outcome, Plan};
use crate::config::Config;
use crate::domain::format_duration_spec;
use crate::store::{Actor, Store};

/// Ids a run names in its log line at most; the rest are counted.
const IDS_LOGGED: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanupPolicy {
    pub max_age: Duration,
    pub interval: Duration,
    /// Write (true) or only report (false).
    pub apply: bool,
}

impl CleanupPolicy {
    /// The configured policy; `None` without a `[policy.cleanup]` section.
    pub fn from_config(config: &Config) -> Option<CleanupPolicy> {
        config.policy.cleanup.as_ref().map(|c| CleanupPolicy {
            max_age: c.max_age.0,
            interval: c.interval.0,
            apply: c.apply,
        })
    }
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CleanupRun {
    /// Active executions over `max_age` when the run read them.
    pub over_age: usize,
    pub counts: CleanupCounts,
    /// What happened to each row written or refused (empty when only reporting).
    pub outcomes: Vec<Outcome>,
}

fn ids_of<'a>(ids: impl Iterator<Item = &'a str>) -> String {
    let ids: Vec<&str> = ids.collect();
    let mut shown = ids
        .iter()
        .take(IDS_LOGGED)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > IDS_LOGGED {
        shown.push_str(&format!(" and {} more", ids.len() - IDS_LOGGED));
    }
    crate::text::one_line(&shown).into_owned()
}

fn report(plan: &Plan, policy: &CleanupPolicy) -> CleanupRun {
    let over: Vec<&str> = plan
        .items
        .iter()
        .filter(|i| i.after.is_some())
        .map(|i| i.execution_id.as_str())
        .collect();
    if over.is_empty() {
        tracing::info!(
            "clean-up (report only): no active execution older than {}",
            format_duration_spec(policy.max_age)
        );
    } else {
        tracing::info!(
            "clean-up (report only, policy.cleanup.apply = false): {} active executions older than {} would be timed out: {}",
            over.len(),
            format_duration_spec(policy.max_age),
            ids_of(over.iter().copied())
        );
    }
    CleanupRun {
        over_age: over.len(),
        counts: CleanupCounts {
            reported: over.len() as u64,
            ..Default::default()
        },
        outcomes: Vec::new(),
    }
}

/// One run at `now`: plans the clean-up, then applies it or reports it.
/// An error is a run that did nothing (the database, the lease, write access).
pub async fn run_once(
    store: &Store,
    policy: &CleanupPolicy,
    actor: &Actor,
    read_only: bool,
) -> Result<CleanupRun, ActionError> {
    let plan = actions::plan_cleanup(store, policy.max_age, chrono::Utc::now()).await?;
    if !policy.apply {
        return Ok(report(&plan, policy));
    }
    if plan.changes() == 0 {
        tracing::info!(
            "clean-up: no active execution older than {}",
            format_duration_spec(policy.max_age)
        );
        return Ok(CleanupRun::default());
    }
    let outcomes = actions::apply(store, None, &plan, actor, read_only).await?;
    let fixed: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.applied.is_ok())
        .map(|o| o.execution_id.as_str())
        .collect();
    let refused: Vec<&Outcome> = outcomes.iter().filter(|o| o.refused()).collect();
    tracing::info!(
        "clean-up: {} of {} active executions older than {} timed out by {}@{}{}",
        fixed.len(),
        plan.changes(),
        format_duration_spec(policy.max_age),
        actor.operator,
        actor.host,
        if fixed.is_empty() {
            String::new()
        } else {
            format!(": {}", ids_of(fixed.iter().copied()))
        }
    );
    for o in refused.iter().take(IDS_LOGGED) {
        if let Err(why) = &o.applied {
            tracing::warn!(
                "clean-up left {} alone: {}",
                crate::text::one_line(&o.execution_id),
                crate::text::one_line(why)
            );
        }
    }
    Ok(CleanupRun {
        over_age: plan.changes(),
        counts: CleanupCounts {
            fixed: fixed.len() as u64,
            refused: refused.len() as u64,
            reported: 0,
        },
        outcomes,
    })
}

/// Runs the clean-up at once and then every `interval` until `stop` turns
/// true (or its sender is gone). A run under way then is finished first:
/// the agent waits for it a while before it gives up on it.
pub async fn schedule(
    store: Store,
    policy: CleanupPolicy,
    actor: Actor,
    read_only: bool,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    tracing::info!(
        "scheduled clean-up every {}: active executions older than {} {}",
        format_duration_spec(policy.interval),
        format_duration_spec(policy.max_age),
        if policy.apply {
            "are timed out"
        } else {
            "are reported (apply = false)"
        }
    );
    let mut ticks = tokio::time::interval(policy.interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
        match run_once(&store, &policy, &actor, read_only).await {
            Ok(run) => metrics.count_cleanup(Some(run.counts)),
            Err(e) => {
                tracing::warn!("clean-up run failed, nothing written: {e}");
                metrics.count_cleanup(None);
            }
        }
    }
}
