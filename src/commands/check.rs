//! `exectop check`: one diagnosis, as a table for people or JSON for scripts.
//! Exit 0 = no findings, 1 = findings.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::setup::{CommandFailure, DbUse, setup_for};
use crate::cli::Global;
use crate::domain::{Counts, ErrorRates, Finding, format_age};
use crate::monitor::{OneShotOptions, Snapshot, SourceHealth, one_shot};
use crate::text::one_line;

#[derive(Debug, Serialize)]
pub struct Health {
    pub ok: bool,
    pub latency_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Remote only: why its answers are not believed (most runs "not found"
    /// at once, or the list emptied at once); no `remote_not_found` comes from them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspect: Option<String>,
    /// Remote only: why it refuses exectop's credentials (a failed token
    /// refresh, HTTP 401/403). No finding about an execution comes of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_failing: Option<String>,
    /// Remote only: listed items without an id at `remote.list_id_pointer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items_without_id: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct HealthReport {
    pub database: Health,
    pub remote: Option<Health>,
}

/// A finding as `check --json` reports it: its fields, and its triage
/// (`null` when nobody claimed, acknowledged, snoozed or noted it).
#[derive(Debug, Serialize)]
pub struct FindingReport<'a> {
    #[serde(flatten)]
    pub finding: &'a Finding,
    pub triage: Option<&'a crate::domain::triage::TriageView>,
}

#[derive(Debug, Serialize)]
pub struct CheckReport<'a> {
    pub generated_at: String,
    pub counts: Counts,
    pub findings: Vec<FindingReport<'a>>,
    pub error_rates: &'a ErrorRates,
    pub health: HealthReport,
    /// Spelling → rows created in the last 24 h that carry it; empty when
    /// every status is mapped. Not a finding: it does not change the exit code.
    pub unmapped_statuses: BTreeMap<&'a str, u64>,
    /// Reads that would scan the whole table, each with the index that would
    /// serve it (`Store::index_advice`). Not a finding either.
    pub index_advice: &'a [String],
}

fn health(h: &SourceHealth) -> Health {
    Health {
        ok: h.ok,
        latency_ms: h.latency_ms,
        error: h.last_error.clone(),
        suspect: h.suspect.clone(),
        auth_failing: h.auth_failing.clone(),
        items_without_id: None,
    }
}

pub fn report<'a>(snapshot: &'a Snapshot, index_advice: &'a [String]) -> CheckReport<'a> {
    CheckReport {
        generated_at: snapshot.taken_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        counts: snapshot.counts,
        findings: snapshot
            .findings
            .iter()
            .map(|finding| FindingReport {
                finding,
                triage: snapshot.triage_of(finding),
            })
            .collect(),
        error_rates: &snapshot.error_rates,
        health: HealthReport {
            database: health(&snapshot.database),
            remote: snapshot.remote_health.as_ref().map(|h| Health {
                items_without_id: Some(h.items_without_id),
                ..health(h)
            }),
        },
        unmapped_statuses: snapshot
            .unmapped_statuses
            .iter()
            .map(|(s, n)| (s.as_str(), *n))
            .collect(),
        index_advice,
    }
}

fn rate(r: Option<f64>) -> String {
    r.map_or_else(|| "-".to_string(), |r| format!("{:.1}%", r * 100.0))
}

/// The human form: counts, findings worst first, error rates, health.
pub fn render_text(snapshot: &Snapshot, now: DateTime<Utc>) -> String {
    let mut out = String::new();
    let c = snapshot.counts;
    out.push_str(&format!(
        "{} active ({} pending, {} running) in {}\n",
        c.active, c.pending, c.running, snapshot.database.name
    ));
    if snapshot.findings.is_empty() {
        out.push_str("no findings\n");
    } else {
        out.push_str(&format!(
            "{} findings, worst first:\n",
            snapshot.findings.len()
        ));
        out.push_str(&format!(
            "  {:<20} {:<14} {:>8}  {:<12} {}\n",
            "KIND", "ID", "AGE", "SUGGESTED", "REASON"
        ));
        for f in snapshot.findings.iter() {
            let id = f
                .execution_id
                .clone()
                .or_else(|| f.remote_id.as_ref().map(|r| format!("remote:{r}")))
                .unwrap_or_default();
            out.push_str(&format!(
                "  {:<20} {:<14} {:>8}  {:<12} {}\n",
                f.kind.as_str(),
                one_line(&id),
                format_age(f.age_seconds),
                f.suggested_action.as_str(),
                one_line(&f.reason)
            ));
        }
    }
    let r = &snapshot.error_rates;
    for (label, w) in [("1h", &r.hour), ("24h", &r.day)] {
        out.push_str(&format!(
            "error rate {label:>3}: {} finished, {} succeeded, {} failed, {} cancelled, failure rate {}\n",
            w.finished, w.succeeded, w.failed, w.cancelled, rate(w.failure_rate)
        ));
    }
    for (spelling, rows) in &snapshot.unmapped_statuses {
        out.push_str(&format!(
            "unknown status {spelling:?}: {rows} rows created in 24 h carry a spelling [table.status_values] does not map; exectop does not watch them\n"
        ));
    }
    let sources = [
        ("database", Some(&snapshot.database)),
        ("remote", snapshot.remote_health.as_ref()),
    ];
    for (label, h) in sources {
        if let Some(h) = h.filter(|h| !h.ok) {
            let why = h
                .auth_failing
                .as_deref()
                .map(|_| h.last_error.as_deref().unwrap_or("authentication failing"))
                .or(h.suspect.as_deref())
                .or(h.last_error.as_deref())
                .unwrap_or("unhealthy");
            out.push_str(&format!("{label} {} not ok: {}\n", h.name, one_line(why)));
        }
    }
    if let Some(alert) = snapshot.long_running.filter(|a| a.firing) {
        out.push_str(&format!(
            "ALERT: {} executions running for over {} (limit {})\n",
            alert.running_over_age,
            format_age(alert.age_seconds as i64),
            alert.limit
        ));
    }
    let _ = now;
    out
}

/// Exit 1 when there are findings; with `unacked`, only findings nobody
/// claimed, acknowledged or snoozed count (a cron alert then does not
/// repeat what someone already took).
pub async fn run(global: &Global, json: bool, unacked: bool) -> Result<i32, CommandFailure> {
    let setup = setup_for(global, DbUse::OneShot).await?;
    let options = OneShotOptions {
        concurrency: setup.loaded.config.poll.remote_concurrency.unwrap_or(10),
        confirm_spacing: Duration::from_millis(300),
    };
    // Health over the whole diagnosis: a look-up that failed and then
    // succeeded on a later round still makes the remote "not ok".
    let tracker = setup.tracker.clone().map(|t| {
        Arc::new(crate::remote::tally::Tallied::new(t)) as Arc<dyn crate::remote::RemoteTracker>
    });
    let snapshot = one_shot(&setup.store, tracker, &setup.policy(), &options).await?;
    let advice = setup
        .store
        .index_advice(&setup.loaded.config.job_rules().learning)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!("cannot ask the database's plans for index advice: {e}");
            Vec::new()
        });
    if json {
        super::print_json(&report(&snapshot, &advice))?;
    } else {
        let mut text = render_text(&snapshot, Utc::now());
        for line in &advice {
            let _ = writeln!(text, "index advice: {line}");
        }
        super::print_text(&text)?;
    }
    let counted = snapshot
        .findings
        .iter()
        .filter(|f| !unacked || !snapshot.triage_of(f).is_some_and(|t| t.taken()))
        .count();
    Ok(if counted == 0 { 0 } else { 1 })
}

/// Which index a poll read needs where its plan scans the whole table.
fn index_hint(read: &str, table: &crate::config::TableConfig, completion: &str) -> String {
    let column = match read {
        "active" | "active count" | "heartbeats" => table.status.as_str(),
        "changed" => table.updated_at.as_deref().unwrap_or_default(),
        "finished" => completion,
        _ => table.created_at.as_str(),
    };
    format!("an index on {column:?} would let this read skip the history")
}

/// `exectop check --explain`: the plan of each read a poll makes, and a
/// hint where one scans the whole table. Exit 0 when every read uses an
/// index, 1 when one scans.
pub async fn explain(global: &Global) -> Result<i32, CommandFailure> {
    let loaded = super::setup::load_config(global)?;
    let store = super::setup::connect_for(&loaded, DbUse::Sequential).await?;
    let plans = store
        .explain_poll(Utc::now() - chrono::Duration::hours(24))
        .await?;
    let table = store.table();
    let whole_table = [
        "Seq Scan".to_string(),
        format!("SCAN {}", table.name.rsplit('.').next().unwrap_or_default()),
    ];
    let mut scans = 0;
    // Writing to a String cannot fail.
    let mut text = String::new();
    for (read, plan) in &plans {
        let _ = writeln!(text, "{read}:");
        for line in plan.lines() {
            let _ = writeln!(text, "    {line}");
        }
        let scanned = plan
            .lines()
            .any(|l| whole_table.iter().any(|w| l.contains(w.as_str())) && !l.contains("INDEX"));
        if scanned {
            scans += 1;
            let _ = writeln!(
                text,
                "    → scans the whole table: {}",
                index_hint(read, table, store.completion_column())
            );
        }
    }
    // The statements about rows exectop already knows, on a sample row.
    let id = store.id_type().await.map_or("0".into(), |k| k.sample());
    let remote_id = store
        .remote_id_type()
        .await
        .map_or("sample".into(), |k| k.sample());
    let short = table.name.rsplit('.').next().unwrap_or_default();
    for (statement, plan) in store.explain_known_rows(&id, &remote_id).await? {
        let scanned = crate::store::scans_whole_table(&plan, short);
        let _ = writeln!(
            text,
            "{statement}: {}",
            if scanned {
                "scans the whole table"
            } else {
                "uses an index"
            }
        );
        scans += usize::from(scanned);
    }
    for line in store
        .index_advice(&loaded.config.job_rules().learning)
        .await?
    {
        let _ = writeln!(text, "index advice: {line}");
    }
    let _ = if scans == 0 {
        writeln!(text, "every poll read uses an index")
    } else {
        writeln!(
            text,
            "{scans} poll read(s) scan the whole table (on a small table the planner may prefer that)"
        )
    };
    super::print_text(&text)?;
    Ok(i32::from(scans > 0))
}
