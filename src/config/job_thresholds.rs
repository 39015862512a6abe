//! Per-job thresholds and learned limits in the configuration:
//! `[[thresholds.by_name]]`, `[[thresholds.by_group]]` and
//! `[thresholds.learn]`, resolved into `domain::JobRules` and validated
//! with errors that name the key.

use std::time::Duration;

use serde::Deserialize;

use super::types::{DurationSpec, ThresholdsConfig};
use crate::domain::{JobRules, Learning, RuleKey, ThresholdRule, Thresholds};

/// One per-job rule: a pattern and any of the per-execution threshold keys.
/// The long-running alert counts across jobs, so its keys are global only.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct JobThresholdsConfig {
    /// The job's name (or group) to match; `*` stands for any characters.
    pub pattern: String,
    pub registration_grace: Option<DurationSpec>,
    pub pending_stuck: Option<DurationSpec>,
    pub running_stuck: Option<DurationSpec>,
    pub max_runtime: Option<DurationSpec>,
    pub heartbeat_stale: Option<DurationSpec>,
    pub poll_error_limit: Option<u32>,
    pub not_found_confirmations: Option<u32>,
    /// `false`: these jobs keep fixed thresholds even with history.
    pub learn: Option<bool>,
}

impl JobThresholdsConfig {
    fn resolve(&self, key: RuleKey, global: &Thresholds) -> ThresholdRule {
        let pick = |v: Option<DurationSpec>, d: Duration| v.map_or(d, |s| s.0);
        ThresholdRule {
            key,
            pattern: self.pattern.clone(),
            thresholds: Thresholds {
                registration_grace: pick(self.registration_grace, global.registration_grace),
                pending_stuck: pick(self.pending_stuck, global.pending_stuck),
                running_stuck: pick(self.running_stuck, global.running_stuck),
                max_runtime: pick(self.max_runtime, global.max_runtime),
                heartbeat_stale: pick(self.heartbeat_stale, global.heartbeat_stale),
                poll_error_limit: self.poll_error_limit.unwrap_or(global.poll_error_limit),
                not_found_confirmations: self
                    .not_found_confirmations
                    .unwrap_or(global.not_found_confirmations),
                ..global.clone()
            },
            pins_running: self.running_stuck.is_some(),
            learn: self.learn.unwrap_or(true),
        }
    }
}

/// `[thresholds.learn]`: limits learned from each job's finished runs.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LearnConfig {
    /// On by default: a job without enough history keeps the fixed thresholds.
    pub enabled: Option<bool>,
    /// Finished runs in the window a job needs (default 20).
    pub min_runs: Option<u32>,
    /// How far back runs count (default 14d).
    pub window: Option<DurationSpec>,
    /// The limit is this many times the job's p95 (default 3) …
    pub multiple: Option<f64>,
    /// … and never less than this (default 5m).
    pub floor: Option<DurationSpec>,
    /// How often the runtimes are aggregated again (default 5m).
    pub refresh: Option<DurationSpec>,
}

impl LearnConfig {
    pub fn resolve(&self) -> Learning {
        let d = Learning::DEFAULT;
        Learning {
            enabled: self.enabled.unwrap_or(d.enabled),
            min_runs: self.min_runs.unwrap_or(d.min_runs),
            window: self.window.map_or(d.window, |s| s.0),
            multiple: self.multiple.unwrap_or(d.multiple),
            floor: self.floor.map_or(d.floor, |s| s.0),
            refresh: self.refresh.map_or(d.refresh, |s| s.0),
        }
    }
}

impl ThresholdsConfig {
    /// The per-job rules (every `by_name`, then every `by_group`, each in
    /// the file's order: the first that fits a job wins) and the learning.
    pub fn job_rules(&self) -> JobRules {
        let global = self.resolve();
        let rules = self
            .by_name
            .iter()
            .map(|r| r.resolve(RuleKey::Name, &global))
            .chain(
                self.by_group
                    .iter()
                    .map(|r| r.resolve(RuleKey::Group, &global)),
            )
            .collect();
        JobRules {
            rules,
            learning: self.learn.resolve(),
        }
    }

    /// What cannot work, as one line naming the key: an empty pattern, a
    /// rule whose max_runtime falls below its own stuck thresholds, a
    /// multiple below 1 (a limit under the usual runtime alarms on most
    /// runs), a zero window, min_runs or refresh.
    pub fn validate_jobs(&self) -> Result<(), String> {
        let global = self.resolve();
        for (table, rules, key) in [
            ("by_name", &self.by_name, RuleKey::Name),
            ("by_group", &self.by_group, RuleKey::Group),
        ] {
            for (i, rule) in rules.iter().enumerate() {
                let at = format!("thresholds.{table}[{i}]");
                if rule.pattern.trim().is_empty() {
                    return Err(format!("{at}.pattern is empty"));
                }
                let t = rule.resolve(key, &global).thresholds;
                if t.pending_stuck > t.max_runtime || t.running_stuck > t.max_runtime {
                    return Err(format!(
                        "{at} (pattern {:?}): max_runtime must not be shorter than pending_stuck and running_stuck",
                        rule.pattern
                    ));
                }
            }
        }
        let l = &self.learn;
        if let Some(m) = l.multiple
            && !(m.is_finite() && m >= 1.0)
        {
            return Err(format!(
                "thresholds.learn.multiple {m} must be a number of at least 1 (the limit is that many times p95)"
            ));
        }
        if l.min_runs == Some(0) {
            return Err("thresholds.learn.min_runs must be at least 1".to_string());
        }
        for (key, value) in [("window", l.window), ("refresh", l.refresh)] {
            if value.is_some_and(|d| d.0.is_zero()) {
                return Err(format!("thresholds.learn.{key} must be longer than 0s"));
            }
        }
        if l.window
            .is_some_and(|w| w.0 > Duration::from_secs(366 * 86_400))
        {
            return Err("thresholds.learn.window is longer than a year".to_string());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::load::load_error as err;
    use crate::config::{parse_str, validate};
    use crate::domain::RuleKey;

    #[test]
    fn rules_resolve_in_order_over_the_global_thresholds() {
        let c = parse_str(
            "[thresholds]\nrunning_stuck = \"1h\"\n\
             [[thresholds.by_group]]\npattern = \"etl\"\nheartbeat_stale = \"20m\"\n\
             [[thresholds.by_name]]\npattern = \"nightly-*\"\nrunning_stuck = \"5h\"\n\
             [[thresholds.by_name]]\npattern = \"quick\"\nlearn = false\n\
             [thresholds.learn]\nmin_runs = 10\nwindow = \"7d\"\nmultiple = 2.5\nfloor = \"2m\"\n",
            "x.toml",
        )
        .unwrap();
        validate(&c, "x.toml").unwrap();
        let rules = c.job_rules();
        let patterns: Vec<(RuleKey, &str)> = rules
            .rules
            .iter()
            .map(|r| (r.key, r.pattern.as_str()))
            .collect();
        assert_eq!(
            patterns,
            [
                (RuleKey::Name, "nightly-*"),
                (RuleKey::Name, "quick"),
                (RuleKey::Group, "etl")
            ]
        );
        let nightly = &rules.rules[0];
        assert_eq!(nightly.thresholds.running_stuck.as_secs(), 5 * 3600);
        assert!(nightly.pins_running && !nightly.lets_learn());
        assert!(!rules.rules[1].lets_learn());
        let etl = &rules.rules[2];
        assert_eq!(
            etl.thresholds.running_stuck.as_secs(),
            3600,
            "the global value"
        );
        assert_eq!(etl.thresholds.heartbeat_stale.as_secs(), 1200);
        assert!(etl.lets_learn());
        assert_eq!(rules.learning.min_runs, 10);
        assert_eq!(rules.learning.window.as_secs(), 7 * 86_400);
        assert_eq!(rules.learning.multiple, 2.5);
        assert_eq!(rules.learning.floor.as_secs(), 120);
        assert!(rules.learning.enabled, "on by default");
    }

    #[test]
    fn errors_name_the_key() {
        let e = err("[[thresholds.by_name]]\npattern = \" \"\n");
        assert!(e.contains("thresholds.by_name[0].pattern is empty"), "{e}");
        let e = err(
            "[[thresholds.by_name]]\npattern = \"a\"\n[[thresholds.by_group]]\npattern = \"g\"\nrunning_stuck = \"3d\"\n",
        );
        assert!(
            e.contains("thresholds.by_group[0]") && e.contains("max_runtime"),
            "{e}"
        );
        let e = err("[thresholds.learn]\nmultiple = 0.5\n");
        assert!(e.contains("thresholds.learn.multiple 0.5"), "{e}");
        let e = err("[thresholds.learn]\nmin_runs = 0\n");
        assert!(e.contains("thresholds.learn.min_runs"), "{e}");
        let e = err("[thresholds.learn]\nwindow = \"0s\"\n");
        assert!(e.contains("thresholds.learn.window"), "{e}");
        let e = err("[[thresholds.by_name]]\npattern = \"a\"\nrunning = \"1h\"\n");
        assert!(e.contains("unknown field `running`"), "{e}");
    }
}
