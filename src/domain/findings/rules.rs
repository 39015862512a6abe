//! The rules that give an active execution its finding, in precedence order.
//!
//! [`RULES`] is the precedence, written once: the first rule whose condition
//! holds gives the execution its one finding, and the rules after it are not
//! asked. A new kind of finding is one more entry, placed where it ranks.
//!
//! A condition runs for every active row (a table may hold 100 000), so it
//! compares numbers and flags and formats nothing. The rest of a rule (its
//! action, evidence and reason) runs only for the rule that fired, and so
//! does the building of the finding.

use std::fmt::{self, Write as _};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Capabilities, Finding, FindingInput, FindingKind, SuggestedAction, Thresholds};
use crate::domain::duration::{format_age, format_duration_spec};
use crate::domain::execution::Execution;
use crate::domain::history::RemoteHistory;
use crate::domain::limits::{JobLimit, JobRules, LimitSource, ThresholdRule};
use crate::domain::status::Status;

/// One kind of finding: when an active execution shows it, and what the
/// finding then says.
pub(super) struct Rule {
    pub kind: FindingKind,
    /// Whether the execution shows it. Cheap: it runs for every active row.
    pub when: fn(&Facts<'_>) -> bool,
    /// What the operator is advised to do.
    pub action: fn(&Facts<'_>) -> SuggestedAction,
    /// The threshold crossed and the streak counted, for the evidence.
    pub evidence: fn(&Facts<'_>) -> Recorded,
    /// The age the finding shows.
    pub age: Age,
    /// Why, in words.
    pub reason: fn(&Facts<'_>) -> Reason,
}

/// The precedence: the first rule that holds for an execution gives its one
/// finding. README.md states this order; a test keeps the two alike.
/// `remote_still_running` (rows already finished) and `remote_only` (runs
/// with no row) concern no active row and are judged apart.
pub(super) const RULES: &[Rule] = &[
    Rule {
        kind: FindingKind::StatusMismatch,
        when: status_mismatch,
        action: |_| SuggestedAction::Reconcile,
        evidence: |_| Recorded::NOTHING,
        age: Age::InPhase,
        reason: |f| {
            let (remote, raw) = f.reported().unwrap_or((Status::Unknown, ""));
            let mut reason = Reason::whole(format_args!(
                "local {} but remote says {remote} ({raw})",
                f.e.status
            ));
            if let Some(checked) = f.history.and_then(RemoteHistory::last_checked_at) {
                reason.push(format_args!(
                    ", checked {} ago",
                    format_age((f.now - checked).num_seconds())
                ));
            }
            reason
        },
    },
    Rule {
        kind: FindingKind::RemoteNotFound,
        when: |f| {
            f.caps.remote
                && f.e.remote_id.is_some()
                && f.past_grace()
                && f.not_found_streak() >= f.t.not_found_confirmations.max(1)
        },
        action: |_| SuggestedAction::MarkFailed,
        evidence: |f| Recorded {
            threshold: Some(f.t.registration_grace),
            consecutive: Some(f.not_found_streak()),
        },
        age: Age::InPhase,
        reason: |f| {
            Reason::whole(format_args!(
                "remote has no execution {} ({} look-ups in a row)",
                f.e.remote_id.as_deref().unwrap_or_default(),
                f.not_found_streak()
            ))
        },
    },
    Rule {
        kind: FindingKind::MissingRemoteId,
        when: |f| {
            f.caps.remote && f.caps.remote_id_column && f.e.remote_id.is_none() && f.past_grace()
        },
        action: |f| {
            if f.registration_overdue() {
                SuggestedAction::MarkFailed
            } else {
                SuggestedAction::Wait
            }
        },
        evidence: |f| {
            Recorded::threshold(if f.registration_overdue() {
                f.t.pending_stuck
            } else {
                f.t.registration_grace
            })
        },
        age: Age::SinceCreated,
        reason: |f| {
            let age = format_age(f.total_age);
            if f.registration_overdue() {
                Reason::after_age(
                    format_args!("no remote id after {age}"),
                    format_args!("over pending_stuck {}", f.spelled.pending_stuck),
                )
            } else {
                Reason::after_age(
                    format_args!("no remote id after {age}"),
                    format_args!(
                        "past the {} registration grace",
                        f.spelled.registration_grace
                    ),
                )
            }
        },
    },
    Rule {
        kind: FindingKind::Stuck,
        // A job judged by its learned limit is `overdue` past it; `stuck`
        // then means only past the hard ceiling, max_runtime. So it does
        // while its history is still to be read.
        when: |f| match f.limit {
            JobLimit::Learned { .. } | JobLimit::Unread => f.past_max_runtime(),
            JobLimit::TooFew { .. } | JobLimit::Fixed => f.age > secs(f.stuck_after()),
        },
        action: |f| {
            if f.past_max_runtime() {
                SuggestedAction::MarkFailed
            } else {
                SuggestedAction::Investigate
            }
        },
        evidence: |f| {
            Recorded::threshold(if f.past_max_runtime() {
                f.t.max_runtime
            } else {
                f.stuck_after()
            })
        },
        age: Age::InPhase,
        reason: |f| {
            let (setting, spelled) = if f.past_max_runtime() {
                ("max_runtime", &f.spelled.max_runtime)
            } else if f.e.status == Status::Pending {
                ("pending_stuck", &f.spelled.pending_stuck)
            } else {
                ("running_stuck", &f.spelled.running_stuck)
            };
            let mut reason = Reason::after_age(
                format_args!("{} for {}", f.e.status, format_age(f.age)),
                format_args!("over {setting} {spelled}"),
            );
            if let Some(rule) = f.rule {
                reason.push(format_args!(" (rule `{}`)", rule.pattern));
            }
            f.push_remote_status(&mut reason);
            if let JobLimit::TooFew { runs, needed } = f.limit {
                reason.push(format_args!(
                    "; too little history to learn its limit ({runs} of {needed} runs)"
                ));
            }
            reason
        },
    },
    Rule {
        kind: FindingKind::Overdue,
        when: |f| f.learned_limit().is_some_and(|limit| f.age > secs(limit)),
        action: |_| SuggestedAction::Investigate,
        evidence: |f| Recorded::threshold(f.learned_limit().unwrap_or_default()),
        age: Age::InPhase,
        reason: |f| {
            let JobLimit::Learned { stats, limit } = f.limit else {
                return Reason::whole(format_args!("running for {}", format_age(f.age)));
            };
            let mut reason = Reason::after_age(
                format_args!("running for {}", format_age(f.age)),
                format_args!(
                    "this job's p95 is {} ({} runs in {}), over its limit {} ({}× p95)",
                    format_age(stats.p95.round() as i64),
                    stats.runs,
                    format_duration_spec(f.learned_window),
                    format_age(secs(limit)),
                    f.multiple
                ),
            );
            f.push_remote_status(&mut reason);
            reason
        },
    },
    Rule {
        kind: FindingKind::PollFailing,
        when: |f| f.failing_remote() || f.failing_locally(),
        action: |_| SuggestedAction::Investigate,
        evidence: |f| Recorded {
            threshold: None,
            consecutive: Some(u32::try_from(f.failures()).unwrap_or(u32::MAX)),
        },
        age: Age::InPhase,
        reason: |f| {
            let source = if f.failing_remote() {
                "remote look-ups"
            } else {
                "the table's error_count says its poller"
            };
            let mut reason = Reason::whole(format_args!(
                "{source} failed {} times in a row (limit {})",
                f.failures(),
                f.error_limit()
            ));
            if f.failing_remote()
                && let Some(message) = f.history.and_then(RemoteHistory::last_error)
            {
                reason.push(format_args!(": {message}"));
            }
            reason
        },
    },
    Rule {
        kind: FindingKind::StaleHeartbeat,
        when: |f| {
            f.caps.heartbeat_column
                && f.e.status == Status::Running
                && f.silent() > secs(f.t.heartbeat_stale)
        },
        action: |_| SuggestedAction::Investigate,
        evidence: |f| Recorded::threshold(f.t.heartbeat_stale),
        age: Age::InPhase,
        reason: |f| {
            let what = if f.e.heartbeat_at.is_some() {
                "last heartbeat"
            } else {
                "no heartbeat since start,"
            };
            Reason::whole(format_args!(
                "{what} {} ago, over heartbeat_stale {}",
                format_age(f.silent()),
                f.spelled.heartbeat_stale
            ))
        },
    },
];

/// What a rule reads of one active execution.
pub(super) struct Facts<'a> {
    pub e: &'a Execution,
    pub history: Option<&'a RemoteHistory>,
    /// The job's thresholds: its rule's, where one fits, else the global.
    pub t: &'a Thresholds,
    /// The per-job rule that fits, if any.
    pub rule: Option<&'a ThresholdRule>,
    /// A running job's learned limit, or why it has none.
    pub limit: JobLimit<'a>,
    /// What the learned runtimes were read over, and the multiple of p95.
    pub learned_window: Duration,
    pub multiple: f64,
    pub caps: Capabilities,
    pub spelled: &'a Spelled,
    /// When the remote answered, and what the findings' ages count to.
    pub now: DateTime<Utc>,
    /// When the local records were read. What a record lacked (a remote id, a
    /// heartbeat, a final status, any write) is known only up to then.
    pub seen: DateTime<Utc>,
    pub mismatch_confirmation: Duration,
    /// Seconds in its current phase when read.
    pub age: i64,
    /// Seconds since it was created, when read.
    pub total_age: i64,
}

impl<'a> Facts<'a> {
    /// `spelled` is `Spelled::all`'s: the global thresholds', then each
    /// rule's.
    pub fn new<E, H, K>(
        input: &FindingInput<'a, E, H, K>,
        spelled: &'a [Spelled],
        e: &'a Execution,
        history: Option<&'a RemoteHistory>,
    ) -> Self {
        let seen = input.local_as_of;
        let per_job = input.per_job;
        let (name, group) = (e.name.as_deref(), e.group.as_deref());
        let rule = per_job.rules.rule_for(name, group);
        let (t, spelled) = match rule {
            Some((i, r)) => (&r.thresholds, &spelled[i + 1]),
            None => (input.thresholds, &spelled[0]),
        };
        let rule = rule.map(|(_, r)| r);
        let limit = if e.status == Status::Running {
            JobLimit::of(per_job.rules, per_job.learned, rule, name)
        } else {
            JobLimit::Fixed
        };
        Facts {
            e,
            history,
            t,
            rule,
            limit,
            learned_window: per_job.learned.window,
            multiple: per_job.rules.learning.multiple,
            caps: input.capabilities,
            spelled,
            now: input.now,
            seen,
            mismatch_confirmation: input.mismatch_confirmation,
            age: e.age_seconds(seen),
            total_age: e.total_age_seconds(seen),
        }
    }

    /// The status the remote last reported and its spelling.
    fn reported(&self) -> Option<(Status, &'a str)> {
        self.history.and_then(RemoteHistory::last_status)
    }

    fn past_grace(&self) -> bool {
        self.total_age > secs(self.t.registration_grace)
    }

    fn not_found_streak(&self) -> u32 {
        self.history.map_or(0, |h| h.consecutive_not_found)
    }

    /// Without a remote id for longer than a pending run may wait at all.
    fn registration_overdue(&self) -> bool {
        self.total_age > secs(self.t.pending_stuck)
    }

    /// The learned limit that judges this running job, if it has one.
    fn learned_limit(&self) -> Option<Duration> {
        match self.limit {
            JobLimit::Learned { limit, .. } => Some(limit),
            _ => None,
        }
    }

    /// Where the threshold a finding of `kind` crossed came from.
    fn limit_source(&self, kind: FindingKind) -> LimitSource {
        match (kind, self.limit, self.rule) {
            (FindingKind::Overdue, JobLimit::Learned { stats, limit }, _) => LimitSource::Learned {
                p50_seconds: stats.p50,
                p95_seconds: stats.p95,
                max_seconds: stats.max,
                runs: stats.runs,
                window_seconds: self.learned_window.as_secs(),
                multiple: self.multiple,
                limit_seconds: limit.as_secs(),
            },
            (_, _, Some(rule)) => LimitSource::Rule {
                key: rule.key,
                pattern: rule.pattern.clone(),
            },
            (FindingKind::Stuck, JobLimit::TooFew { runs, needed }, None) => LimitSource::Fixed {
                history_runs: Some(runs),
                history_needed: Some(needed),
            },
            _ => LimitSource::Fixed {
                history_runs: None,
                history_needed: None,
            },
        }
    }

    /// ", remote <status>" where the remote said, or that it did not.
    fn push_remote_status(&self, reason: &mut Reason) {
        match self.history.and_then(RemoteHistory::remote_status) {
            Some(s) => reason.push(format_args!(", remote {s}")),
            None if self.caps.remote => reason.push(format_args!(", remote status unknown")),
            None => {}
        }
    }

    fn stuck_after(&self) -> Duration {
        if self.e.status == Status::Pending {
            self.t.pending_stuck
        } else {
            self.t.running_stuck
        }
    }

    fn past_max_runtime(&self) -> bool {
        self.total_age > secs(self.t.max_runtime)
    }

    fn error_limit(&self) -> u32 {
        self.t.poll_error_limit.max(1)
    }

    fn failing_remote(&self) -> bool {
        self.history.map_or(0, |h| h.consecutive_errors) >= self.error_limit()
    }

    fn local_errors(&self) -> u64 {
        self.e.error_count.unwrap_or(0).max(0) as u64
    }

    fn failing_locally(&self) -> bool {
        self.local_errors() >= u64::from(self.error_limit())
    }

    /// The failures counted: the remote's streak where it reached the limit,
    /// else the table's own count.
    fn failures(&self) -> u64 {
        match self.history {
            Some(h) if self.failing_remote() => u64::from(h.consecutive_errors),
            _ => self.local_errors(),
        }
    }

    /// Seconds without a heartbeat (since the start, where none came) when read.
    fn silent(&self) -> i64 {
        let beat = self.e.heartbeat_at.unwrap_or_else(|| self.e.phase_start());
        (self.seen - beat).num_seconds()
    }
}

/// The remote reports a status further along than the local record, and has
/// for the confirmation time, or the local record has been silent for longer
/// than that (no worker is about to catch up), so this is no normal lag.
fn status_mismatch(f: &Facts<'_>) -> bool {
    let Some(h) = f.history.filter(|_| f.caps.remote) else {
        return false;
    };
    let further = f.reported().is_some_and(|(remote, _)| {
        remote != Status::Unknown && remote.progress() > f.e.status.progress()
    });
    further && {
        let wait = secs(f.mismatch_confirmation);
        let reported_long_enough = h
            .status_since()
            .is_some_and(|since| (f.now - since).num_seconds() >= wait);
        let local_silent = (f.seen - f.e.last_local_update()).num_seconds() > wait;
        reported_long_enough || local_silent
    }
}

/// Which age a finding shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Age {
    /// In the current phase, up to now.
    InPhase,
    /// Since the record was created, up to when it was read.
    SinceCreated,
}

/// The evidence a rule records besides what every finding carries.
pub(super) struct Recorded {
    pub threshold: Option<Duration>,
    pub consecutive: Option<u32>,
}

impl Recorded {
    const NOTHING: Recorded = Recorded {
        threshold: None,
        consecutive: None,
    };

    fn threshold(d: Duration) -> Recorded {
        Recorded {
            threshold: Some(d),
            consecutive: None,
        }
    }
}

/// A reason as it is built: the whole text, and how much of it an opening
/// age clause takes ("running for 2h 7m, "), so the text past the age is
/// known without looking for where the age ends.
pub(super) struct Reason {
    pub text: String,
    pub age_len: usize,
}

impl Reason {
    /// A reason that opens with no age clause.
    fn whole(text: fmt::Arguments<'_>) -> Reason {
        Reason {
            text: fmt::format(text),
            age_len: 0,
        }
    }

    /// "{age}, {rest}": the age clause, then the rest.
    fn after_age(age: fmt::Arguments<'_>, rest: fmt::Arguments<'_>) -> Reason {
        let mut text = String::new();
        let _ = write!(text, "{age}, ");
        let age_len = text.len();
        let _ = text.write_fmt(rest);
        Reason { text, age_len }
    }

    fn push(&mut self, more: fmt::Arguments<'_>) {
        let _ = self.text.write_fmt(more);
    }
}

impl Rule {
    /// The finding this rule gives `f`'s execution; called once it holds.
    pub fn finding(&self, f: &Facts<'_>) -> Finding {
        let reason = (self.reason)(f);
        let recorded = (self.evidence)(f);
        let mut finding = super::base(self.kind, (self.action)(f), f.e, f.history, f.now);
        finding.reason = reason.text;
        finding.reason_age_len = reason.age_len;
        finding.evidence.threshold_seconds = recorded.threshold.map(|d| d.as_secs());
        if recorded.threshold.is_some() {
            finding.evidence.limit = Some(f.limit_source(self.kind));
        }
        finding.evidence.consecutive = recorded.consecutive;
        if self.age == Age::SinceCreated {
            finding.age_seconds = f.total_age;
        }
        finding
    }
}

pub(super) fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// The thresholds as reasons spell them, formatted once per run instead of
/// once per finding (a run may report 10 000).
pub(super) struct Spelled {
    registration_grace: String,
    pending_stuck: String,
    running_stuck: String,
    max_runtime: String,
    heartbeat_stale: String,
}

impl Spelled {
    /// The global thresholds' spelling, then each rule's, in `rules`' order.
    pub fn all(t: &Thresholds, rules: &JobRules) -> Vec<Spelled> {
        std::iter::once(t)
            .chain(rules.rules.iter().map(|r| &r.thresholds))
            .map(Spelled::new)
            .collect()
    }

    pub fn new(t: &Thresholds) -> Self {
        Spelled {
            registration_grace: format_duration_spec(t.registration_grace),
            pending_stuck: format_duration_spec(t.pending_stuck),
            running_stuck: format_duration_spec(t.running_stuck),
            max_runtime: format_duration_spec(t.max_runtime),
            heartbeat_stale: format_duration_spec(t.heartbeat_stale),
        }
    }
}
