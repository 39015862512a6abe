//! Thresholds that fit each job: per-job rules from the configuration, and
//! runtime limits learned from the table's own history.
//!
//! One `running_stuck` for every job is wrong both ways: a nightly export
//! that always takes 3 h is "stuck" every night, and a 30-second job hung
//! for 90 minutes is not. A rule (`[[thresholds.by_name]]`, `by_group`)
//! gives a job its own thresholds; where none pins `running_stuck`, a job
//! with enough finished runs in the window is judged against a multiple of
//! its own p95 runtime instead (`FindingKind::Overdue`).
//!
//! Pure: the percentiles come from the store (one aggregate query), and the
//! clock from the caller.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::findings::Thresholds;

/// What a rule's pattern is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKey {
    Name,
    Group,
}

impl RuleKey {
    /// The configuration's table for it: `by_name`, `by_group`.
    pub fn table(self) -> &'static str {
        match self {
            RuleKey::Name => "by_name",
            RuleKey::Group => "by_group",
        }
    }
}

/// One per-job rule: the jobs it fits and the thresholds they get.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdRule {
    pub key: RuleKey,
    /// `*` stands for any run of characters (none included); everything
    /// else is literal and case-sensitive, as job names are.
    pub pattern: String,
    /// The global thresholds with this rule's keys laid over them.
    pub thresholds: Thresholds,
    /// The rule sets `running_stuck` itself: an operator who pinned a value
    /// meant it, so no learned limit stands in for it.
    pub pins_running: bool,
    /// `learn = false` in the rule: its jobs keep the fixed thresholds.
    pub learn: bool,
}

impl ThresholdRule {
    pub fn fits(&self, name: Option<&str>, group: Option<&str>) -> bool {
        let value = match self.key {
            RuleKey::Name => name,
            RuleKey::Group => group,
        };
        value.is_some_and(|v| glob_match(&self.pattern, v))
    }

    /// Whether a learned limit may judge this rule's running jobs.
    pub fn lets_learn(&self) -> bool {
        self.learn && !self.pins_running
    }
}

/// `*` matches any run of characters; the rest is literal. Greedy with one
/// back-track point, so a pattern costs linear time, never exponential.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// How limits are learned from history (`[thresholds.learn]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Learning {
    pub enabled: bool,
    /// Finished runs in the window a job needs before its limit is learned.
    pub min_runs: u32,
    /// How far back runs count: long enough for a weekly rhythm, short
    /// enough that a job whose runtime changed is learned anew.
    pub window: Duration,
    /// The limit is this many times the job's p95 …
    pub multiple: f64,
    /// … and never less than this, so a 2-second job is not overdue at 7 s.
    pub floor: Duration,
    /// How often the percentiles are read again.
    pub refresh: Duration,
}

impl Learning {
    pub const DEFAULT: Learning = Learning {
        enabled: true,
        min_runs: 20,
        window: Duration::from_secs(14 * 86_400),
        multiple: 3.0,
        floor: Duration::from_secs(300),
        refresh: Duration::from_secs(300),
    };

    const OFF: Learning = Learning {
        enabled: false,
        ..Learning::DEFAULT
    };

    /// The limit a job with these runtimes gets: `multiple` × p95, at
    /// least `floor`, in whole seconds (rounded up: a limit is never
    /// tighter than the rule says).
    pub fn limit(&self, stats: &RuntimeStats) -> Duration {
        let scaled = (stats.p95 * self.multiple).ceil();
        let scaled = if scaled.is_finite() && scaled > 0.0 {
            Duration::from_secs(scaled.min(u64::MAX as f64 / 2.0) as u64)
        } else {
            Duration::ZERO
        };
        scaled.max(self.floor)
    }
}

impl Default for Learning {
    fn default() -> Self {
        Learning::DEFAULT
    }
}

/// The per-job rules in the order they are tried (every `by_name`, then
/// every `by_group`: the first that fits wins) and the learning policy.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRules {
    pub rules: Vec<ThresholdRule>,
    pub learning: Learning,
}

impl JobRules {
    /// No rules and no learning: every job gets the global thresholds.
    pub const NONE: JobRules = JobRules {
        rules: Vec::new(),
        learning: Learning::OFF,
    };

    /// The first rule that fits the job, with its place in `rules`.
    pub fn rule_for(
        &self,
        name: Option<&str>,
        group: Option<&str>,
    ) -> Option<(usize, &ThresholdRule)> {
        self.rules
            .iter()
            .enumerate()
            .find(|(_, r)| r.fits(name, group))
    }
}

impl Default for JobRules {
    fn default() -> Self {
        JobRules {
            rules: Vec::new(),
            learning: Learning::DEFAULT,
        }
    }
}

/// One job's runtimes in the window, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RuntimeStats {
    pub runs: u64,
    pub p50: f64,
    pub p95: f64,
    pub max: f64,
}

impl RuntimeStats {
    /// The statistics of these durations (any order); `None` for none.
    /// Percentiles as PostgreSQL's `percentile_cont` gives them, so both
    /// backends learn the same limits.
    pub fn of(mut durations: Vec<f64>) -> Option<RuntimeStats> {
        durations.retain(|d| d.is_finite() && *d >= 0.0);
        durations.sort_by(f64::total_cmp);
        Some(RuntimeStats {
            runs: durations.len() as u64,
            p50: percentile_cont(&durations, 0.5)?,
            p95: percentile_cont(&durations, 0.95)?,
            max: *durations.last()?,
        })
    }

    /// The statistics of the runs that finished in the `window` before
    /// `now` (and not after it): what the store's aggregate computes, for
    /// the ones that hold runs in memory (the simulator's ground truth).
    pub fn of_window(
        runs: &[(DateTime<Utc>, f64)],
        now: DateTime<Utc>,
        window: Duration,
    ) -> Option<RuntimeStats> {
        let since = now - chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
        RuntimeStats::of(
            runs.iter()
                .filter(|(finished, _)| *finished > since && *finished <= now)
                .map(|(_, d)| *d)
                .collect(),
        )
    }
}

impl RuntimeStats {
    /// The statistics of `runs` sorted durations known only at some ranks
    /// (1-based): those either side of p50 and p95, and the last. `None`
    /// when a rank needed is missing.
    pub fn from_ranks(runs: u64, at: impl Fn(u64) -> Option<f64>) -> Option<RuntimeStats> {
        let percentile = |p: f64| {
            let (low, high, fraction) = percentile_ranks(runs, p)?;
            let (low, high) = (at(low)?, at(high)?);
            Some(low + (high - low) * fraction)
        };
        let max = at(runs)?;
        Some(RuntimeStats {
            runs,
            p50: percentile(0.5)?,
            p95: percentile(0.95)?,
            max,
        })
    }
}

/// The `p` percentile (0 to 1) of `sorted`, interpolated between the two
/// nearest ranks: `percentile_cont`'s definition. `None` when empty.
pub fn percentile_cont(sorted: &[f64], p: f64) -> Option<f64> {
    let n = sorted.len() as u64;
    let (low, high, fraction) = percentile_ranks(n, p)?;
    let at = |rank: u64| sorted[(rank - 1) as usize];
    Some(at(low) + (at(high) - at(low)) * fraction)
}

/// Where the `p` percentile of `n` sorted values lies: the 1-based ranks
/// below and above it, and how far between them. The SQLite store asks
/// the database for just the values at these ranks.
pub fn percentile_ranks(n: u64, p: f64) -> Option<(u64, u64, f64)> {
    if n == 0 {
        return None;
    }
    let position = p.clamp(0.0, 1.0) * (n - 1) as f64;
    let low = position.floor();
    let high = (low as u64 + 1).min(n - 1);
    Some((low as u64 + 1, high + 1, position - low))
}

/// The learned runtimes by job name, as last read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Learned {
    pub by_name: BTreeMap<String, RuntimeStats>,
    /// The window they were read over.
    pub window: Duration,
    /// When they were read; `None` before the first read (nothing is said
    /// about history until it was looked at).
    pub as_of: Option<DateTime<Utc>>,
    /// The first read failed: the fixed thresholds judge every job until
    /// one succeeds (rather than only `max_runtime`, as while it is awaited).
    pub unreadable: bool,
}

impl Learned {
    pub const NONE: Learned = Learned {
        by_name: BTreeMap::new(),
        window: Duration::ZERO,
        as_of: None,
        unreadable: false,
    };

    /// What a failed first read leaves: nothing learned, fixed thresholds.
    pub fn unreadable() -> Learned {
        Learned {
            unreadable: true,
            ..Learned::NONE
        }
    }

    pub fn stats(&self, name: Option<&str>) -> Option<&RuntimeStats> {
        self.by_name.get(name?)
    }
}

/// Which limit judges a running job.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum JobLimit<'a> {
    /// Learned: its runtimes and the limit they give.
    Learned {
        stats: &'a RuntimeStats,
        limit: Duration,
    },
    /// History was read but holds too few of its runs: the fixed thresholds
    /// judge it, and the finding says why.
    TooFew { runs: u64, needed: u32 },
    /// History was not read yet, and the job may well be learned once it
    /// is: until then only `max_runtime` judges it. Judging it by the fixed
    /// `running_stuck` for the seconds the first read takes would report
    /// the nightly three-hour job stuck at start, and a webhook would tell
    /// of it, then of its clearing.
    Unread,
    /// Learning is off (globally or by its rule), the job has no name, or
    /// its history could not be read.
    Fixed,
}

impl<'a> JobLimit<'a> {
    /// The limit for a job of this name under `rule` (if one fits).
    pub fn of(
        rules: &JobRules,
        learned: &'a Learned,
        rule: Option<&ThresholdRule>,
        name: Option<&str>,
    ) -> JobLimit<'a> {
        let learning = &rules.learning;
        if !learning.enabled || name.is_none() || rule.is_some_and(|r| !r.lets_learn()) {
            return JobLimit::Fixed;
        }
        if learned.as_of.is_none() {
            return if learned.unreadable {
                JobLimit::Fixed
            } else {
                JobLimit::Unread
            };
        }
        match learned.stats(name) {
            Some(stats) if stats.runs >= u64::from(learning.min_runs.max(1)) => JobLimit::Learned {
                stats,
                limit: learning.limit(stats),
            },
            found => JobLimit::TooFew {
                runs: found.map_or(0, |s| s.runs),
                needed: learning.min_runs.max(1),
            },
        }
    }
}

/// Where the limit a finding crossed came from, for its evidence (and
/// `check --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum LimitSource {
    /// The global `[thresholds]`; with the history that was too short to
    /// learn from, where it was read.
    Fixed {
        #[serde(skip_serializing_if = "Option::is_none")]
        history_runs: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        history_needed: Option<u32>,
    },
    /// A per-job rule.
    Rule { key: RuleKey, pattern: String },
    /// Learned from the job's history.
    Learned {
        p50_seconds: f64,
        p95_seconds: f64,
        max_seconds: f64,
        runs: u64,
        window_seconds: u64,
        multiple: f64,
        limit_seconds: u64,
    },
}

impl LimitSource {
    /// One line for the details view.
    pub fn describe(&self) -> String {
        use super::duration::{format_age, format_duration_spec};
        let age = |s: f64| format_age(s.round() as i64);
        match self {
            LimitSource::Fixed {
                history_runs: Some(runs),
                history_needed: Some(needed),
            } => format!(
                "threshold from [thresholds]: {runs} runs in history, {needed} needed to learn"
            ),
            LimitSource::Fixed { .. } => "threshold from [thresholds]".to_string(),
            LimitSource::Rule { key, pattern } => {
                format!("threshold from rule `{pattern}` ({})", key.table())
            }
            LimitSource::Learned {
                p50_seconds,
                p95_seconds,
                max_seconds,
                runs,
                window_seconds,
                multiple,
                limit_seconds,
            } => format!(
                "learned limit {} ({multiple}× p95) from {runs} runs in {}: p50 {}, p95 {}, max {}",
                format_age(*limit_seconds as i64),
                format_duration_spec(Duration::from_secs(*window_seconds)),
                age(*p50_seconds),
                age(*p95_seconds),
                age(*max_seconds)
            ),
        }
    }
}

/// The per-job settings a findings run reads: the rules and the learned
/// runtimes. Copy: two references.
#[derive(Debug, Clone, Copy)]
pub struct PerJob<'a> {
    pub rules: &'a JobRules,
    pub learned: &'a Learned,
}

impl PerJob<'static> {
    /// No rules, no learning: the global thresholds for every job.
    pub fn none() -> PerJob<'static> {
        static RULES: JobRules = JobRules::NONE;
        static LEARNED: Learned = Learned::NONE;
        PerJob {
            rules: &RULES,
            learned: &LEARNED,
        }
    }
}

#[cfg(test)]
#[path = "limits_tests.rs"]
mod tests;
