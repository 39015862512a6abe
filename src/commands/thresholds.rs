//! `exectop thresholds`: the runtimes learned per job and the limit in
//! force for each, so an operator can review them and pin values in the
//! config (`[[thresholds.by_name]]`). Thin: one read of the store
//! (`Store::learned_runtimes`), the rest is `table`, pure.

use chrono::Utc;
use serde::Serialize;

use super::setup::{CommandFailure, DbUse};
use crate::cli::Global;
use crate::domain::{
    JobLimit, JobRules, Learned, RuntimeStats, Thresholds, format_age, format_duration_spec,
};

/// One job's line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobLine {
    pub name: String,
    #[serde(flatten)]
    pub stats: RuntimeStats,
    /// The running limit in force, in seconds.
    pub limit_seconds: u64,
    /// Where it comes from: `learned`, `rule <pattern>`, `fixed`.
    pub source: String,
}

/// Every job with runs in the window, most runs first, with the running
/// limit that judges it now: its learned limit, its rule's running_stuck,
/// or the global one (too few runs, or learning off).
pub fn table(learned: &Learned, rules: &JobRules, global: &Thresholds) -> Vec<JobLine> {
    let mut lines: Vec<JobLine> = learned
        .by_name
        .iter()
        .map(|(name, stats)| {
            let rule = rules.rule_for(Some(name), None).map(|(_, r)| r);
            let fixed = rule.map_or(global, |r| &r.thresholds).running_stuck;
            let (limit, source) = match JobLimit::of(rules, learned, rule, Some(name)) {
                JobLimit::Learned { limit, .. } => (limit, "learned".to_string()),
                _ => match rule {
                    Some(r) => (fixed, format!("rule {}", r.pattern)),
                    None if stats.runs < u64::from(rules.learning.min_runs) => {
                        (fixed, "fixed (too few runs)".to_string())
                    }
                    None => (fixed, "fixed".to_string()),
                },
            };
            JobLine {
                name: name.clone(),
                stats: *stats,
                limit_seconds: limit.as_secs(),
                source,
            }
        })
        .collect();
    lines.sort_by(|a, b| {
        b.stats
            .runs
            .cmp(&a.stats.runs)
            .then_with(|| a.name.cmp(&b.name))
    });
    lines
}

/// The table as text, columns aligned.
pub fn text(lines: &[JobLine], learned: &Learned, rules: &JobRules) -> String {
    let l = &rules.learning;
    let mut out = format!(
        "succeeded runs in the last {}; limit = {}× p95, at least {}, from {} runs{}\n",
        format_duration_spec(learned.window),
        l.multiple,
        format_duration_spec(l.floor),
        l.min_runs,
        if l.enabled { "" } else { " (learning is off)" }
    );
    if lines.is_empty() {
        out.push_str("no job has succeeded runs in the window\n");
        return out;
    }
    let width = lines
        .iter()
        .map(|j| j.name.chars().count())
        .max()
        .unwrap_or(0)
        .max(3);
    let age = |s: f64| format_age(s.round() as i64);
    out.push_str(&format!(
        "{:<width$}  {:>6}  {:>8}  {:>8}  {:>8}  {:>8}  source\n",
        "job", "runs", "p50", "p95", "max", "limit"
    ));
    for j in lines {
        out.push_str(&format!(
            "{:<width$}  {:>6}  {:>8}  {:>8}  {:>8}  {:>8}  {}\n",
            j.name,
            j.stats.runs,
            age(j.stats.p50),
            age(j.stats.p95),
            age(j.stats.max),
            format_age(j.limit_seconds as i64),
            j.source
        ));
    }
    out.push_str(
        "pin a limit: [[thresholds.by_name]] pattern = \"<job>\" running_stuck = \"<limit>\"\n",
    );
    out
}

pub async fn run(global: &Global, json: bool) -> Result<i32, CommandFailure> {
    let loaded = super::setup::load_config(global)?;
    let store = super::setup::connect_for(&loaded, DbUse::Sequential).await?;
    let rules = loaded.config.job_rules();
    if loaded.config.table.name_column.is_none() {
        return Err(CommandFailure(format!(
            "{}: [table] maps no name_column, so there is no job to learn runtimes of",
            loaded.origin()
        )));
    }
    let learned = store.learned_runtimes(Utc::now(), &rules.learning).await?;
    let lines = table(&learned, &rules, &loaded.config.thresholds());
    if json {
        super::print_json(&lines)?;
    } else {
        super::print_text(&text(&lines, &learned, &rules))?;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::domain::{Learning, RuleKey, ThresholdRule};

    fn stats(runs: u64, p95: f64) -> RuntimeStats {
        RuntimeStats {
            runs,
            p50: p95 / 2.0,
            p95,
            max: p95 * 2.0,
        }
    }

    #[test]
    fn each_job_shows_the_limit_in_force_and_where_it_comes_from() {
        let learned = Learned {
            by_name: [
                ("export".to_string(), stats(41, 720.0)),
                ("rare".to_string(), stats(3, 60.0)),
                ("nightly-eu".to_string(), stats(14, 3.0 * 3600.0)),
                ("tiny".to_string(), stats(50, 10.0)),
            ]
            .into(),
            window: Duration::from_secs(14 * 86_400),
            as_of: Some(Utc::now()),
            unreadable: false,
        };
        let pinned = Thresholds {
            running_stuck: Duration::from_secs(5 * 3600),
            ..Thresholds::default()
        };
        let rules = JobRules {
            rules: vec![ThresholdRule {
                key: RuleKey::Name,
                pattern: "nightly-*".into(),
                thresholds: pinned,
                pins_running: true,
                learn: true,
            }],
            learning: Learning::DEFAULT,
        };
        let lines = table(&learned, &rules, &Thresholds::default());
        let got: Vec<(&str, u64, &str)> = lines
            .iter()
            .map(|j| (j.name.as_str(), j.limit_seconds, j.source.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("tiny", 300, "learned"),
                ("export", 2_160, "learned"),
                ("nightly-eu", 5 * 3600, "rule nightly-*"),
                ("rare", 7_200, "fixed (too few runs)"),
            ]
        );
        let text = text(&lines, &learned, &rules);
        assert!(
            text.starts_with(
                "succeeded runs in the last 14d; limit = 3× p95, at least 5m, from 20 runs\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "\nexport          41        6m       12m       24m       36m  learned\n"
            ),
            "{text}"
        );
    }
}
