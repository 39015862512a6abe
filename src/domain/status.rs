//! Canonical execution statuses, the transition rules, and the mapping from a
//! table's (or a remote API's) own spellings to canonical statuses.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The canonical lifecycle of an execution, whatever a table calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    TimedOut,
    /// A spelling the configuration does not map: shown to the operator, never a crash.
    Unknown,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Pending,
        Status::Running,
        Status::Succeeded,
        Status::Failed,
        Status::Cancelled,
        Status::TimedOut,
        Status::Unknown,
    ];
    pub const ACTIVE: [Status; 2] = [Status::Pending, Status::Running];
    pub const TERMINAL: [Status; 4] = [
        Status::Succeeded,
        Status::Failed,
        Status::Cancelled,
        Status::TimedOut,
    ];

    pub fn is_active(self) -> bool {
        matches!(self, Status::Pending | Status::Running)
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Status::Succeeded | Status::Failed | Status::Cancelled | Status::TimedOut
        )
    }

    /// Counts toward the failure rate (`failed` + `timed_out`).
    pub fn is_failure(self) -> bool {
        matches!(self, Status::Failed | Status::TimedOut)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Running => "running",
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
            Status::TimedOut => "timed_out",
            Status::Unknown => "unknown",
        }
    }

    pub fn from_canonical(name: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// How far along the lifecycle a status is; used to tell that the remote
    /// is "further along" than the local record (pending < running < terminal).
    pub fn progress(self) -> u8 {
        match self {
            Status::Unknown => 0,
            Status::Pending => 1,
            Status::Running => 2,
            _ => 3,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// pending → running | any terminal; running → any terminal. Terminal is final,
/// and exectop never rewrites one terminal status as another.
pub fn transition_allowed(from: Status, to: Status) -> bool {
    match (from, to) {
        (Status::Pending, Status::Running) => true,
        (Status::Pending | Status::Running, t) => t.is_terminal(),
        _ => false,
    }
}

/// One table's or API's spellings of each canonical status.
///
/// Look-up is exact first, then case-insensitive on trimmed text, so a table
/// mapped as `RUNNING` still reads a stray `running`. Writes always use the
/// first spelling configured for a status.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatusMap {
    spellings: Vec<(Status, Vec<String>)>,
    exact: HashMap<String, Status>,
    folded: HashMap<String, Status>,
}

impl StatusMap {
    pub fn new(spellings: Vec<(Status, Vec<String>)>) -> Self {
        let mut exact = HashMap::new();
        let mut folded = HashMap::new();
        for (status, words) in &spellings {
            for word in words {
                exact.entry(word.clone()).or_insert(*status);
                folded.entry(word.trim().to_lowercase()).or_insert(*status);
            }
        }
        StatusMap {
            spellings,
            exact,
            folded,
        }
    }

    /// exectop's own spelling: the canonical names.
    pub fn canonical() -> Self {
        StatusMap::new(
            Status::ALL
                .into_iter()
                .filter(|s| *s != Status::Unknown)
                .map(|s| (s, vec![s.as_str().to_string()]))
                .collect(),
        )
    }

    pub fn status_of(&self, raw: &str) -> Status {
        if let Some(s) = self.exact.get(raw) {
            return *s;
        }
        self.folded
            .get(&raw.trim().to_lowercase())
            .copied()
            .unwrap_or(Status::Unknown)
    }

    /// Every spelling of the given statuses, for `WHERE status IN (…)`.
    pub fn spellings_of(&self, statuses: &[Status]) -> Vec<String> {
        self.spellings
            .iter()
            .filter(|(s, _)| statuses.contains(s))
            .flat_map(|(_, words)| words.iter().cloned())
            .collect()
    }

    /// The spelling exectop writes for a status, if the table has one.
    pub fn write_spelling(&self, status: Status) -> Option<&str> {
        self.spellings
            .iter()
            .find(|(s, words)| *s == status && !words.is_empty())
            .map(|(_, words)| words[0].as_str())
    }

    pub fn entries(&self) -> &[(Status, Vec<String>)] {
        &self.spellings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_follow_the_contract() {
        use Status::*;
        let cases = [
            (Pending, Running, true),
            (Pending, Succeeded, true),
            (Pending, Failed, true),
            (Pending, Cancelled, true),
            (Pending, TimedOut, true),
            (Running, Succeeded, true),
            (Running, Failed, true),
            (Running, TimedOut, true),
            (Running, Cancelled, true),
            (Running, Pending, false),
            (Running, Running, false),
            (Pending, Pending, false),
            (Succeeded, Failed, false),
            (Failed, Succeeded, false),
            (TimedOut, Failed, false),
            (Cancelled, Running, false),
            (Succeeded, Pending, false),
            (Unknown, Failed, false),
            (Pending, Unknown, false),
        ];
        for (from, to, allowed) in cases {
            assert_eq!(transition_allowed(from, to), allowed, "{from} -> {to}");
        }
    }

    #[test]
    fn status_map_reads_spellings_and_falls_back_to_unknown() {
        let map = StatusMap::new(vec![
            (
                Status::Running,
                vec!["RUNNING".into(), "IN_PROGRESS".into()],
            ),
            (Status::Succeeded, vec!["SUCCESS".into()]),
            (Status::Failed, vec!["FAILED".into()]),
        ]);
        assert_eq!(map.status_of("RUNNING"), Status::Running);
        assert_eq!(map.status_of("IN_PROGRESS"), Status::Running);
        assert_eq!(map.status_of(" running "), Status::Running);
        assert_eq!(map.status_of("SUCCESS"), Status::Succeeded);
        assert_eq!(map.status_of("EXPLODED"), Status::Unknown);
        assert_eq!(map.write_spelling(Status::Running), Some("RUNNING"));
        assert_eq!(map.write_spelling(Status::TimedOut), None);
        assert_eq!(
            map.spellings_of(&Status::ACTIVE),
            vec!["RUNNING".to_string(), "IN_PROGRESS".to_string()]
        );
    }

    #[test]
    fn canonical_map_round_trips() {
        let map = StatusMap::canonical();
        for s in Status::ALL {
            if s != Status::Unknown {
                assert_eq!(map.status_of(s.as_str()), s);
                assert_eq!(map.write_spelling(s), Some(s.as_str()));
            }
        }
    }
}
