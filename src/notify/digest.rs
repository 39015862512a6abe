//! Pure: which findings the receiver should hear about, and when. No IO and
//! no clock of its own: the caller passes `now`.
//!
//! The digest keeps two sets of finding keys: what the latest snapshot has
//! (`seen`) and what the receiver has been told is open (`told`). A message
//! is their difference, so changes that wait (for the group window, the
//! rate limit, a failed delivery) merge by themselves, and a finding that
//! appears and clears before a message goes out is never mentioned.
//!
//! Timing: the first change the receiver has not heard of opens a window of
//! `group`; when it ends, and at least `min_interval` after the last
//! delivery ended, one message goes out. The window does not stretch while
//! changes keep coming, so a steady trickle still gets messages.
//!
//! The first snapshot is the baseline: the findings open in it (and any
//! that join them within the first window) go out as one "open at start"
//! message; with none, nothing is sent.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::domain::{Finding, FindingKind};

use super::message;

/// Who a finding is about: a local execution, or a remote run without one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subject {
    Execution(String),
    Remote(String),
}

impl Subject {
    pub fn id(&self) -> &str {
        match self {
            Subject::Execution(id) | Subject::Remote(id) => id,
        }
    }
}

/// One finding as the receiver knows it: its kind and whom it is about. An
/// execution whose finding changes kind clears one key and opens another.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FindingKey {
    pub kind: FindingKind,
    pub subject: Subject,
}

impl FindingKey {
    /// `None` for a finding about nothing (neither id), which the engine
    /// does not make.
    pub fn of(f: &Finding) -> Option<FindingKey> {
        let subject = match (&f.execution_id, &f.remote_id) {
            (Some(id), _) => Subject::Execution(id.clone()),
            (None, Some(remote)) => Subject::Remote(remote.clone()),
            (None, None) => return None,
        };
        Some(FindingKey {
            kind: f.kind,
            subject,
        })
    }
}

/// What changed between two sets of findings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    pub appeared: Vec<FindingKey>,
    pub cleared: Vec<FindingKey>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.appeared.is_empty() && self.cleared.is_empty()
    }
}

pub fn keys(findings: &[Finding]) -> HashSet<FindingKey> {
    findings.iter().filter_map(FindingKey::of).collect()
}

/// The findings of `current` not in `previous` (appeared) and the keys of
/// `previous` no longer in `current` (cleared), each sorted.
pub fn diff(previous: &HashSet<FindingKey>, current: &[Finding]) -> Changes {
    between(previous, &keys(current))
}

pub fn between(previous: &HashSet<FindingKey>, current: &HashSet<FindingKey>) -> Changes {
    let mut appeared: Vec<FindingKey> = current.difference(previous).cloned().collect();
    let mut cleared: Vec<FindingKey> = previous.difference(current).cloned().collect();
    appeared.sort_unstable();
    cleared.sort_unstable();
    Changes { appeared, cleared }
}

/// When messages go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// How long changes gather before one message.
    pub group: Duration,
    /// The least time between the end of one delivery and the next message.
    pub min_interval: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            group: crate::config::NotifyConfig::DEFAULT_GROUP,
            min_interval: crate::config::NotifyConfig::DEFAULT_MIN_INTERVAL,
        }
    }
}

/// How a message's delivery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Delivered,
    /// The receiver refused it (a 4xx): it is dropped, and its changes count
    /// as told, so the same refused content is not sent again.
    Refused,
    /// No try succeeded: its changes are not told and go into the next
    /// message, which waits at least `retry_after` if the receiver asked.
    Failed {
        retry_after: Option<Duration>,
    },
}

/// A message ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub text: String,
    pub appeared: usize,
    pub cleared: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Baseline {
    /// No snapshot yet: nothing is known, nothing is due.
    Unseen,
    /// The first snapshot had findings; the first message says they were
    /// open at start.
    Announcing,
    Done,
}

#[derive(Debug, Clone)]
pub struct Digest {
    policy: Policy,
    baseline: Baseline,
    seen: HashSet<FindingKey>,
    told: HashSet<FindingKey>,
    /// What `told` becomes if the message in flight is delivered.
    in_flight: Option<HashSet<FindingKey>>,
    /// Since when `seen` differs from what the receiver will know.
    waiting_since: Option<Instant>,
    last_delivery_end: Option<Instant>,
    /// The receiver asked for a longer wait than a retry series waits.
    hold_until: Option<Instant>,
}

impl Digest {
    pub fn new(policy: Policy) -> Digest {
        Digest {
            policy,
            baseline: Baseline::Unseen,
            seen: HashSet::new(),
            told: HashSet::new(),
            in_flight: None,
            waiting_since: None,
            last_delivery_end: None,
            hold_until: None,
        }
    }

    /// A snapshot's findings, as of `now`.
    pub fn observe(&mut self, findings: &[Finding], now: Instant) {
        self.seen = keys(findings);
        if self.baseline == Baseline::Unseen {
            self.baseline = if self.seen.is_empty() {
                Baseline::Done
            } else {
                Baseline::Announcing
            };
        }
        self.recheck(now);
    }

    fn recheck(&mut self, now: Instant) {
        let expected = self.in_flight.as_ref().unwrap_or(&self.told);
        if self.baseline != Baseline::Unseen && self.seen != *expected {
            self.waiting_since.get_or_insert(now);
        } else {
            self.waiting_since = None;
        }
    }

    /// When the next message may go out: `None` while nothing waits or a
    /// message is in flight.
    pub fn due_at(&self) -> Option<Instant> {
        if self.in_flight.is_some() {
            return None;
        }
        let window_end = later(self.waiting_since?, self.policy.group);
        let rate_end = self
            .last_delivery_end
            .map(|t| later(t, self.policy.min_interval));
        Some(
            [Some(window_end), rate_end, self.hold_until]
                .into_iter()
                .flatten()
                .max()
                .unwrap_or(window_end),
        )
    }

    /// The message due at `now`, if one is; it is then in flight until
    /// [`Digest::finished`].
    pub fn take(&mut self, now: Instant) -> Option<Outgoing> {
        if self.due_at()? > now {
            return None;
        }
        let changes = between(&self.told, &self.seen);
        if changes.is_empty() {
            self.waiting_since = None;
            return None;
        }
        let text = message::compose(&changes, self.baseline == Baseline::Announcing);
        self.in_flight = Some(self.seen.clone());
        self.waiting_since = None;
        self.hold_until = None;
        Some(Outgoing {
            text,
            appeared: changes.appeared.len(),
            cleared: changes.cleared.len(),
        })
    }

    /// How the message in flight ended, at `now`.
    pub fn finished(&mut self, delivery: Delivery, now: Instant) {
        let Some(sent) = self.in_flight.take() else {
            return;
        };
        self.last_delivery_end = Some(now);
        match delivery {
            Delivery::Delivered | Delivery::Refused => {
                self.told = sent;
                self.baseline = Baseline::Done;
            }
            Delivery::Failed { retry_after } => {
                self.hold_until = retry_after.map(|wait| later(now, wait));
            }
        }
        self.recheck(now);
    }

    /// Findings the receiver has been told are open.
    pub fn told(&self) -> usize {
        self.told.len()
    }

    pub fn in_flight(&self) -> bool {
        self.in_flight.is_some()
    }
}

/// `t + d`, or far ahead where that would overflow the clock.
fn later(t: Instant, d: Duration) -> Instant {
    t.checked_add(d)
        .unwrap_or_else(|| t + Duration::from_secs(100 * 365 * 24 * 3600))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::findings::{Evidence, SuggestedAction};

    fn finding(kind: FindingKind, id: &str) -> Finding {
        Finding {
            kind,
            execution_id: (kind != FindingKind::RemoteOnly).then(|| id.to_string()),
            remote_id: Some(format!("r-{id}")),
            name: None,
            group: None,
            local_status: None,
            remote_status: None,
            age_seconds: 60,
            reason: String::new(),
            reason_age_len: 0,
            suggested_action: SuggestedAction::Investigate,
            evidence: Evidence {
                threshold_seconds: None,
                last_local_update: None,
                remote_checked_at: None,
                consecutive: None,
                remote: None,
                limit: None,
            },
        }
    }

    fn stuck(ids: std::ops::Range<u32>) -> Vec<Finding> {
        ids.map(|i| finding(FindingKind::Stuck, &i.to_string()))
            .collect()
    }

    fn key(kind: FindingKind, id: &str) -> FindingKey {
        FindingKey {
            kind,
            subject: Subject::Execution(id.into()),
        }
    }

    const S: Duration = Duration::from_secs(1);

    fn policy(group: u64, min_interval: u64) -> Policy {
        Policy {
            group: S * group as u32,
            min_interval: S * min_interval as u32,
        }
    }

    #[test]
    fn diff_is_keyed_by_kind_and_subject() {
        let previous: HashSet<FindingKey> = [
            key(FindingKind::Stuck, "1"),
            key(FindingKind::Stuck, "2"),
            key(FindingKind::MissingRemoteId, "3"),
        ]
        .into();
        let current = vec![
            finding(FindingKind::Stuck, "1"),
            // Same execution, another kind: one cleared, one appeared.
            finding(FindingKind::StatusMismatch, "2"),
            finding(FindingKind::RemoteOnly, "run-9"),
        ];
        let changes = diff(&previous, &current);
        assert_eq!(
            changes.appeared,
            vec![
                key(FindingKind::StatusMismatch, "2"),
                FindingKey {
                    kind: FindingKind::RemoteOnly,
                    subject: Subject::Remote("r-run-9".into()),
                },
            ]
        );
        assert_eq!(
            changes.cleared,
            vec![
                key(FindingKind::MissingRemoteId, "3"),
                key(FindingKind::Stuck, "2"),
            ]
        );
        assert!(diff(&keys(&current), &current).is_empty());
    }

    #[test]
    fn the_first_snapshot_is_announced_once_as_open_at_start() {
        let t0 = Instant::now();
        let mut d = Digest::new(policy(30, 60));
        assert_eq!(d.due_at(), None, "nothing before a snapshot");
        d.observe(&stuck(0..3), t0);
        assert_eq!(d.due_at(), Some(t0 + 30 * S));
        assert_eq!(d.take(t0 + 29 * S), None, "not before the window ends");
        let m = d.take(t0 + 30 * S).unwrap();
        assert!(
            m.text
                .starts_with("exectop: 3 findings open at start: 3 stuck"),
            "{}",
            m.text
        );
        assert_eq!(d.due_at(), None, "in flight");
        d.finished(Delivery::Delivered, t0 + 31 * S);
        assert_eq!(d.told(), 3);
        // The same findings again: nothing to say.
        d.observe(&stuck(0..3), t0 + 40 * S);
        assert_eq!(d.due_at(), None);
        // A new one is new, not "open at start".
        d.observe(&stuck(0..4), t0 + 50 * S);
        let m = d.take(t0 + 200 * S).unwrap();
        assert!(
            m.text.starts_with("exectop: 1 new finding: 1 stuck"),
            "{}",
            m.text
        );
    }

    #[test]
    fn an_empty_start_sends_nothing_and_later_findings_are_new() {
        let t0 = Instant::now();
        let mut d = Digest::new(policy(30, 60));
        d.observe(&[], t0);
        assert_eq!(d.due_at(), None);
        d.observe(&stuck(0..2), t0 + 5 * S);
        let m = d.take(t0 + 35 * S).unwrap();
        assert!(m.text.starts_with("exectop: 2 new findings"), "{}", m.text);
    }

    #[test]
    fn a_burst_over_successive_snapshots_is_one_message() {
        let t0 = Instant::now();
        let mut d = Digest::new(policy(30, 60));
        d.observe(&[], t0);
        for step in 1..=4u32 {
            d.observe(&stuck(0..step * 50), t0 + step * S);
            assert_eq!(d.take(t0 + step * S), None);
        }
        // The window opened with the first change and did not stretch.
        assert_eq!(d.due_at(), Some(t0 + 31 * S));
        let m = d.take(t0 + 31 * S).unwrap();
        assert_eq!((m.appeared, m.cleared), (200, 0));
        assert!(
            m.text.starts_with("exectop: 200 new findings: 200 stuck"),
            "{}",
            m.text
        );
        d.finished(Delivery::Delivered, t0 + 32 * S);
        d.observe(&[], t0 + 40 * S);
        // The rate limit (60s after the last delivery) outlasts the window.
        assert_eq!(d.due_at(), Some(t0 + 92 * S));
        let m = d.take(t0 + 92 * S).unwrap();
        assert_eq!((m.appeared, m.cleared), (0, 200));
        assert!(
            m.text
                .starts_with("exectop: 200 findings cleared: 200 stuck"),
            "{}",
            m.text
        );
    }

    #[test]
    fn a_finding_that_clears_within_the_window_is_never_mentioned() {
        let t0 = Instant::now();
        let mut d = Digest::new(policy(30, 0));
        d.observe(&[], t0);
        d.observe(&stuck(7..8), t0 + S);
        assert!(d.due_at().is_some());
        d.observe(&[], t0 + 10 * S);
        assert_eq!(d.due_at(), None, "back to what the receiver knows");
        assert_eq!(d.take(t0 + 100 * S), None);
        // Positive control: one that stays is announced, alone.
        d.observe(&stuck(8..9), t0 + 101 * S);
        d.observe(&stuck(8..9), t0 + 110 * S);
        let m = d.take(t0 + 131 * S).unwrap();
        assert_eq!((m.appeared, m.cleared), (1, 0));
        assert!(m.text.contains("stuck: 8"), "{}", m.text);
        assert!(!m.text.contains('7'), "{}", m.text);
    }

    #[test]
    fn changes_during_a_delivery_wait_for_the_next_message() {
        let t0 = Instant::now();
        let mut d = Digest::new(policy(1, 0));
        d.observe(&[], t0);
        d.observe(&stuck(0..1), t0);
        let first = d.take(t0 + S).unwrap();
        assert_eq!(first.appeared, 1);
        // While it is in flight: one more appears, nothing is due.
        d.observe(&stuck(0..2), t0 + 2 * S);
        assert_eq!(d.due_at(), None);
        d.finished(Delivery::Delivered, t0 + 5 * S);
        // Its window opened when it appeared, so it is due at once.
        assert_eq!(d.due_at(), Some(t0 + 5 * S));
        let second = d.take(t0 + 5 * S).unwrap();
        assert_eq!((second.appeared, second.cleared), (1, 0));
        assert!(second.text.contains("stuck: 1"), "{}", second.text);
    }

    #[test]
    fn a_failed_delivery_merges_into_the_next_message() {
        let t0 = Instant::now();
        let mut d = Digest::new(policy(1, 10));
        d.observe(&[], t0);
        d.observe(&stuck(0..3), t0);
        assert_eq!(d.take(t0 + S).unwrap().appeared, 3);
        d.observe(&stuck(1..5), t0 + 2 * S);
        d.finished(Delivery::Failed { retry_after: None }, t0 + 20 * S);
        assert_eq!(d.told(), 0);
        // The rate limit counts from the failed delivery's end.
        assert_eq!(d.due_at(), Some(t0 + 30 * S));
        let m = d.take(t0 + 30 * S).unwrap();
        // The untold 0..3 and the later 1..5, merged: 0 never cleared for
        // the receiver because it never heard of it.
        assert_eq!((m.appeared, m.cleared), (4, 0));
        assert!(m.text.starts_with("exectop: 4 new findings"), "{}", m.text);
    }

    #[test]
    fn a_long_retry_after_holds_the_next_message() {
        let t0 = Instant::now();
        let mut d = Digest::new(policy(1, 0));
        d.observe(&[], t0);
        d.observe(&stuck(0..1), t0);
        d.take(t0 + S).unwrap();
        d.finished(
            Delivery::Failed {
                retry_after: Some(600 * S),
            },
            t0 + 2 * S,
        );
        assert_eq!(d.due_at(), Some(t0 + 602 * S));
        assert!(d.take(t0 + 601 * S).is_none());
        assert!(d.take(t0 + 602 * S).is_some());
    }

    #[test]
    fn a_refused_message_is_not_sent_again() {
        let t0 = Instant::now();
        let mut d = Digest::new(policy(1, 0));
        d.observe(&[], t0);
        d.observe(&stuck(0..2), t0);
        d.take(t0 + S).unwrap();
        d.finished(Delivery::Refused, t0 + 2 * S);
        assert_eq!(d.told(), 2);
        assert_eq!(d.due_at(), None);
        // Positive control: a real change after it is sent.
        d.observe(&stuck(0..3), t0 + 3 * S);
        assert_eq!(d.take(t0 + 4 * S).unwrap().appeared, 1);
    }

    #[test]
    fn the_baseline_survives_a_failed_first_message() {
        let t0 = Instant::now();
        let mut d = Digest::new(policy(1, 0));
        d.observe(&stuck(0..2), t0);
        d.take(t0 + S).unwrap();
        d.finished(Delivery::Failed { retry_after: None }, t0 + 2 * S);
        let m = d.take(t0 + 3 * S).unwrap();
        assert!(m.text.contains("2 findings open at start"), "{}", m.text);
    }

    #[test]
    fn huge_durations_do_not_overflow_the_clock() {
        let t0 = Instant::now();
        let mut d = Digest::new(Policy {
            group: Duration::MAX,
            min_interval: Duration::MAX,
        });
        d.observe(&stuck(0..1), t0);
        assert!(d.due_at().unwrap() > t0 + 365 * 24 * 3600 * S);
    }
}
