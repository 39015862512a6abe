//! Shared triage of findings: who claimed one ("I'm on it"), who
//! acknowledged it with a note, who snoozed it until when, and notes. Pure:
//! what the stored marks mean for a finding now. A finding is keyed by its
//! execution (or, for a run only the remote knows, its remote id) and its
//! kind, so a finding that changes kind starts untriaged; one that worsens
//! past the severity it was triaged at (a stuck row crossing `max_runtime`
//! now needs marking failed) is no longer acknowledged or snoozed, and says
//! so.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::findings::{Finding, FindingKind};

/// Which finding a triage mark is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FindingKey {
    /// The execution id, or `remote:<id>` for a run only the remote knows.
    pub subject: String,
    pub kind: FindingKind,
}

impl FindingKey {
    pub fn of(f: &Finding) -> Option<FindingKey> {
        let subject = match (&f.execution_id, &f.remote_id) {
            (Some(id), _) => id.clone(),
            (None, Some(remote)) => format!("remote:{remote}"),
            (None, None) => return None,
        };
        Some(FindingKey {
            subject,
            kind: f.kind,
        })
    }
}

/// Who did it and when, with what they wrote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mark {
    pub by: String,
    pub at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The stored triage of one finding.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Triage {
    pub claimed: Option<Mark>,
    pub acknowledged: Option<Mark>,
    pub snoozed: Option<Mark>,
    pub snoozed_until: Option<DateTime<Utc>>,
    pub note: Option<Mark>,
    /// The finding's severity when it was acknowledged or snoozed
    /// (`Finding::severity`: lower is worse).
    pub severity: Option<u8>,
}

/// What an operator does to a finding.
#[derive(Debug, Clone, PartialEq)]
pub enum TriageChange {
    Claim,
    Unclaim,
    Acknowledge { note: String },
    Unacknowledge,
    Snooze { until: DateTime<Utc> },
    Unsnooze,
    Note { text: String },
}

impl TriageChange {
    /// The audit log's action.
    pub fn action(&self) -> &'static str {
        match self {
            TriageChange::Claim => "claim",
            TriageChange::Unclaim => "unclaim",
            TriageChange::Acknowledge { .. } => "acknowledge",
            TriageChange::Unacknowledge => "unacknowledge",
            TriageChange::Snooze { .. } => "snooze",
            TriageChange::Unsnooze => "unsnooze",
            TriageChange::Note { .. } => "note",
        }
    }

    /// The triage after this change by `by` at `at`, for a finding of `severity`.
    pub fn applied(&self, before: &Triage, by: &str, at: DateTime<Utc>, severity: u8) -> Triage {
        let mark = |note: Option<String>| {
            Some(Mark {
                by: by.to_string(),
                at,
                note,
            })
        };
        let mut t = before.clone();
        match self {
            TriageChange::Claim => t.claimed = mark(None),
            TriageChange::Unclaim => t.claimed = None,
            TriageChange::Acknowledge { note } => {
                t.acknowledged = mark(Some(note.clone()).filter(|n| !n.is_empty()));
                t.severity = Some(severity);
            }
            TriageChange::Unacknowledge => t.acknowledged = None,
            TriageChange::Snooze { until } => {
                t.snoozed = mark(None);
                t.snoozed_until = Some(*until);
                t.severity = Some(severity);
            }
            TriageChange::Unsnooze => {
                t.snoozed = None;
                t.snoozed_until = None;
            }
            TriageChange::Note { text } => t.note = mark(Some(text.clone())),
        }
        t
    }
}

/// What the triage means for the finding now: shown on its row, carried by
/// `check --json` as the finding's `triage`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TriageView {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimed: Option<Mark>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acknowledged: Option<Mark>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snoozed: Option<Mark>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snoozed_until: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<Mark>,
    /// Why an acknowledgement or snooze no longer holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lapsed: Option<String>,
}

impl TriageView {
    /// Acknowledged or snoozed now: sorted below the rest and dimmed.
    pub fn quiet(&self) -> bool {
        self.acknowledged.is_some() || self.snoozed.is_some()
    }

    /// Someone took it: claimed, acknowledged or snoozed.
    pub fn taken(&self) -> bool {
        self.claimed.is_some() || self.quiet()
    }
}

/// The triage of `finding` at `now`. `other_kind` is an acknowledgement or
/// snooze the same execution had under another kind, if any: the finding
/// changed kind since, and says so.
pub fn view(
    triage: Option<&Triage>,
    other_kind: Option<FindingKind>,
    finding: &Finding,
    now: DateTime<Utc>,
) -> Option<TriageView> {
    let Some(t) = triage else {
        return other_kind.map(|was| TriageView {
            lapsed: Some(format!(
                "was triaged as {}, now {}",
                was.as_str(),
                finding.kind.as_str()
            )),
            ..TriageView::default()
        });
    };
    let mut v = TriageView {
        claimed: t.claimed.clone(),
        acknowledged: t.acknowledged.clone(),
        note: t.note.clone(),
        ..TriageView::default()
    };
    if let (Some(mark), Some(until)) = (&t.snoozed, t.snoozed_until)
        && until > now
    {
        v.snoozed = Some(mark.clone());
        v.snoozed_until = Some(until);
    }
    let worsened = t.severity.is_some_and(|then| finding.severity() < then);
    if worsened && v.quiet() {
        let what = if v.acknowledged.is_some() {
            "acknowledged"
        } else {
            "snoozed"
        };
        v.acknowledged = None;
        v.snoozed = None;
        v.snoozed_until = None;
        v.lapsed = Some(format!(
            "worse than when {what}: now {}",
            finding.suggested_action.as_str()
        ));
    }
    (v != TriageView::default()).then_some(v)
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::domain::SuggestedAction;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0).unwrap()
    }

    fn finding(kind: FindingKind, action: SuggestedAction) -> Finding {
        Finding {
            kind,
            execution_id: Some("241".into()),
            remote_id: None,
            name: None,
            group: None,
            local_status: None,
            remote_status: None,
            age_seconds: 3_600,
            reason: String::new(),
            reason_age_len: 0,
            suggested_action: action,
            evidence: crate::domain::findings::Evidence {
                threshold_seconds: None,
                last_local_update: None,
                remote_checked_at: None,
                consecutive: None,
                remote: None,
                limit: None,
            },
        }
    }

    #[test]
    fn a_snooze_holds_until_its_time_then_lapses_quietly() {
        let f = finding(FindingKind::Stuck, SuggestedAction::Investigate);
        let until = now() + Duration::hours(1);
        let t = TriageChange::Snooze { until }.applied(
            &Triage::default(),
            "alice",
            now(),
            f.severity(),
        );
        let v = view(Some(&t), None, &f, now() + Duration::minutes(59)).unwrap();
        assert!(v.quiet() && v.snoozed_until == Some(until));
        assert_eq!(
            view(Some(&t), None, &f, until),
            None,
            "over: as if never snoozed"
        );
    }

    #[test]
    fn a_finding_that_worsens_is_no_longer_acknowledged_and_says_so() {
        let stuck = finding(FindingKind::Stuck, SuggestedAction::Investigate);
        let t = TriageChange::Acknowledge {
            note: "restarting".into(),
        }
        .applied(&Triage::default(), "bob", now(), stuck.severity());
        assert!(view(Some(&t), None, &stuck, now()).unwrap().quiet());
        let past_max_runtime = finding(FindingKind::Stuck, SuggestedAction::MarkFailed);
        let v = view(Some(&t), None, &past_max_runtime, now()).unwrap();
        assert!(!v.quiet());
        assert_eq!(
            v.lapsed.as_deref(),
            Some("worse than when acknowledged: now mark_failed")
        );
    }

    #[test]
    fn a_finding_that_changed_kind_starts_untriaged_and_says_what_it_was() {
        let f = finding(FindingKind::StatusMismatch, SuggestedAction::Reconcile);
        let v = view(None, Some(FindingKind::Stuck), &f, now()).unwrap();
        assert!(!v.taken());
        assert_eq!(
            v.lapsed.as_deref(),
            Some("was triaged as stuck, now status_mismatch")
        );
        assert_eq!(view(None, None, &f, now()), None);
    }

    #[test]
    fn claims_and_notes_come_and_go() {
        let f = finding(FindingKind::Stuck, SuggestedAction::Investigate);
        let claimed = TriageChange::Claim.applied(&Triage::default(), "alice", now(), f.severity());
        let v = view(Some(&claimed), None, &f, now()).unwrap();
        assert!(v.taken() && !v.quiet());
        assert_eq!(v.claimed.as_ref().unwrap().by, "alice");
        let noted = TriageChange::Note {
            text: "vendor ticket 42".into(),
        }
        .applied(&claimed, "bob", now(), f.severity());
        let unclaimed = TriageChange::Unclaim.applied(&noted, "alice", now(), f.severity());
        let v = view(Some(&unclaimed), None, &f, now()).unwrap();
        assert!(!v.taken());
        assert_eq!(v.note.unwrap().note.as_deref(), Some("vendor ticket 42"));
    }
}
