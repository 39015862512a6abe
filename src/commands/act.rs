//! `exectop reconcile`, `exectop mark-failed`, `exectop cleanup`: the same
//! plan and apply as the monitor's keys, dry run unless told to write.

use std::fmt::Write as _;

use serde::Serialize;

use super::setup::{CommandFailure, Setup, setup};
use crate::actions::{self, ActionKind, Outcome, Plan, Target};
use crate::cli::Global;
use crate::domain::{SuggestedAction, parse_duration};
use crate::monitor::{OneShotOptions, one_shot};
use crate::store::Actor;
use crate::text::one_line;

#[derive(Serialize)]
struct Report<'a> {
    action: &'static str,
    dry_run: bool,
    executions: Vec<Outcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

fn dry_outcomes(plan: &Plan) -> Vec<Outcome> {
    plan.items
        .iter()
        .map(|i| Outcome {
            execution_id: i.execution_id.clone(),
            before: i.before,
            after: i.after,
            applied: Err(if i.after.is_some() {
                "dry run: nothing written".into()
            } else {
                i.note.clone()
            }),
            already_done: i.already_done,
        })
        .collect()
}

async fn finish(
    setup: &Setup,
    global: &Global,
    plan: Plan,
    write: bool,
    json: bool,
) -> Result<i32, CommandFailure> {
    let outcomes = if write {
        let actor = Actor::from_env(global.operator.clone());
        actions::apply(
            &setup.store,
            setup.tracker.as_ref(),
            &plan,
            &actor,
            setup.loaded.config.ui.read_only,
        )
        .await?
    } else {
        dry_outcomes(&plan)
    };
    if json {
        let report = Report {
            action: plan.kind.as_str(),
            dry_run: !write,
            executions: outcomes.clone(),
            reason: plan.reason.as_deref(),
        };
        super::print_json(&report)?;
    } else {
        // Writing to a String cannot fail.
        let mut text = String::new();
        for o in &outcomes {
            let after = o.after.map_or_else(|| "-".to_string(), |s| s.to_string());
            let verdict = match &o.applied {
                Ok(()) => "applied".to_string(),
                Err(why) => format!("not applied: {}", one_line(why)),
            };
            let _ = writeln!(
                text,
                "{}: {} → {after}  {verdict}",
                one_line(&o.execution_id),
                o.before
            );
        }
        let applied = outcomes.iter().filter(|o| o.applied.is_ok()).count();
        if write {
            let _ = writeln!(text, "{} of {} executions changed", applied, outcomes.len());
        } else {
            // mark-failed writes unless told not to; the others the other way round.
            let how = if plan.kind == ActionKind::MarkFailed {
                "drop --dry-run to write"
            } else {
                "add --fix to write"
            };
            let _ = writeln!(
                text,
                "dry run: {} of {} executions would change; {how}",
                plan.changes(),
                outcomes.len()
            );
        }
        super::print_text(&text)?;
    }
    Ok(exit_code(write, &outcomes))
}

/// 0: everything asked for was written, already so, or there was nothing to
/// do (a dry run always); 1: a write run left a row it was asked about
/// unwritten (refused, changed meanwhile, no such execution, the remote
/// could not say). "Could not run at all" is a `CommandFailure`, exit 2.
pub fn exit_code(write: bool, outcomes: &[Outcome]) -> i32 {
    i32::from(write && outcomes.iter().any(Outcome::refused))
}

pub async fn reconcile(
    global: &Global,
    ids: Vec<String>,
    fix: bool,
    json: bool,
) -> Result<i32, CommandFailure> {
    let setup = setup(global).await?;
    let targets: Vec<Target> = if ids.is_empty() {
        // Everything the diagnosis would reconcile.
        let options = OneShotOptions {
            concurrency: 10,
            confirm_spacing: std::time::Duration::from_millis(300),
        };
        let snapshot = one_shot(
            &setup.store,
            setup.tracker.clone(),
            &setup.policy(),
            &options,
        )
        .await?;
        snapshot
            .findings
            .iter()
            .filter(|f| f.suggested_action == SuggestedAction::Reconcile)
            .filter_map(|f| {
                Some(Target {
                    id: f.execution_id.clone()?,
                    seen: f.local_status,
                })
            })
            .collect()
    } else {
        ids.into_iter()
            .map(|id| Target { id, seen: None })
            .collect()
    };
    let plan = actions::plan_reconcile(&setup.store, setup.tracker.as_ref(), &targets).await?;
    finish(&setup, global, plan, fix, json).await
}

pub async fn mark_failed(
    global: &Global,
    ids: Vec<String>,
    reason: String,
    stop_remote: bool,
    dry_run: bool,
    json: bool,
) -> Result<i32, CommandFailure> {
    let setup = setup(global).await?;
    let targets: Vec<Target> = ids
        .into_iter()
        .map(|id| Target { id, seen: None })
        .collect();
    let plan = actions::plan_mark_failed(
        &setup.store,
        setup.tracker.as_ref(),
        &targets,
        &reason,
        stop_remote,
    )
    .await?;
    finish(&setup, global, plan, !dry_run, json).await
}

pub async fn cleanup(
    global: &Global,
    max_age: &str,
    fix: bool,
    json: bool,
) -> Result<i32, CommandFailure> {
    let max_age = parse_duration(max_age).map_err(|e| CommandFailure(format!("--max-age: {e}")))?;
    let setup = setup(global).await?;
    let plan = actions::plan_cleanup(&setup.store, max_age, chrono::Utc::now()).await?;
    finish(&setup, global, plan, fix, json).await
}
