//! What the remote tracker said about an execution: answers, and the history
//! the monitor keeps of them.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::status::Status;

/// What one look-up at the remote tracker returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RemoteAnswer {
    /// The tracker knows the execution; `raw` is its own spelling, shared
    /// (a tracker spells a handful of statuses across all its runs).
    Found { status: Status, raw: Arc<str> },
    /// The tracker says no such execution exists (e.g. HTTP 404).
    NotFound,
    /// It could not be asked, or the answer made no sense.
    Error { message: String },
    /// The tracker told us to slow down; not the execution's fault.
    Throttled { retry_after_seconds: Option<u64> },
    /// Not found, but from a round in which the remote looked broken
    /// (`domain::doubt`): not the execution's fault either.
    Doubted { message: String },
    /// No request was made: the tracker could not ask (no request context
    /// for the row, credentials refused). Says nothing about the execution.
    Unasked { message: String },
}

/// What a tracker tells of an execution besides its status, where it
/// tells it (Step Functions: its error, cause, start and stop; an HTTP
/// tracker: the fields its configuration names).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RemoteDetail {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<DateTime<Utc>>,
    /// What the configuration names from a status answer
    /// (`remote.detail_fields`, e.g. AMC's `statusReason`), by its name.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub fields: std::collections::BTreeMap<String, String>,
}

/// An answer and when it was received.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub checked_at: DateTime<Utc>,
    pub answer: RemoteAnswer,
    /// With a status, what else the tracker said (shared: a list or a
    /// snapshot carries it without copying).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<Arc<RemoteDetail>>,
}

/// A moment that only moves forward, written through a shared reference.
///
/// A list answer re-reports every run every interval, and most reports say
/// what the last one said: only the time moves. Histories are shared with
/// the snapshot on screen, so writing that time through `Arc::make_mut` would
/// copy every history every interval (15 MB at 100 000 runs). The time alone
/// is written in place instead; a snapshot may thus show a later "checked"
/// time than its findings were computed with, which is harmless: the finding
/// did not depend on it being recent.
#[derive(Debug)]
struct ForwardTime(AtomicI64);

const NEVER: i64 = i64::MIN;

impl ForwardTime {
    fn new(at: Option<DateTime<Utc>>) -> Self {
        ForwardTime(AtomicI64::new(at.map_or(NEVER, |t| t.timestamp_micros())))
    }

    fn get(&self) -> Option<DateTime<Utc>> {
        match self.0.load(Ordering::Relaxed) {
            NEVER => None,
            micros => DateTime::from_timestamp_micros(micros),
        }
    }

    fn set(&mut self, at: DateTime<Utc>) {
        *self.0.get_mut() = at.timestamp_micros();
    }

    fn advance(&self, at: DateTime<Utc>) {
        self.0.fetch_max(at.timestamp_micros(), Ordering::Relaxed);
    }
}

impl Default for ForwardTime {
    fn default() -> Self {
        ForwardTime::new(None)
    }
}

impl Clone for ForwardTime {
    fn clone(&self) -> Self {
        ForwardTime::new(self.get())
    }
}

impl PartialEq for ForwardTime {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

/// The kind of the last answer; its details live in `last_status` and
/// `last_error`, so 100 000 histories do not hold them twice.
#[derive(Debug, Clone, Copy, PartialEq)]
enum AnswerKind {
    Found,
    NotFound,
    Error,
    Throttled { retry_after_seconds: Option<u32> },
    Doubted,
    Unasked,
}

/// Everything the monitor remembers about one execution's remote side.
/// Streaks count consecutive answers of one kind; any other answer resets them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RemoteHistory {
    last_answer: Option<AnswerKind>,
    checked_at: ForwardTime,
    /// The last status the tracker actually reported (when: `reported_at`).
    last_status: Option<(Status, Arc<str>)>,
    reported_at: ForwardTime,
    /// When the tracker was first seen reporting the status it reports now.
    status_since: ForwardTime,
    pub consecutive_not_found: u32,
    pub consecutive_errors: u32,
    /// Counts what `record` changed; `confirm` leaves it: what the findings
    /// engine reads of a history moves only with it.
    version: u32,
    /// Boxed, not a `String`: most histories never hold one, and 100 000 of
    /// them pay for the empty field.
    last_error: Option<Box<str>>,
    /// The last detail the tracker gave with a status.
    detail: Option<Arc<RemoteDetail>>,
}

impl RemoteDetail {
    /// Says nothing: the answer had none of what a tracker can tell.
    pub fn is_empty(&self) -> bool {
        self == &RemoteDetail::default()
    }
}

impl RemoteHistory {
    pub fn record(&mut self, obs: Observation) {
        self.version = self.version.wrapping_add(1);
        match &obs.answer {
            RemoteAnswer::Found { status, raw } => {
                if self.remote_status() != Some(*status) {
                    self.status_since.set(obs.checked_at);
                }
                self.last_status = Some((*status, raw.clone()));
                // A list's report carries none: the describe's stands. A
                // detail that says nothing replaces it with none.
                if let Some(detail) = &obs.detail {
                    self.detail = (!detail.is_empty()).then(|| detail.clone());
                }
                self.reported_at.set(obs.checked_at);
                self.consecutive_not_found = 0;
                self.consecutive_errors = 0;
            }
            RemoteAnswer::NotFound => {
                self.consecutive_not_found += 1;
                self.consecutive_errors = 0;
            }
            RemoteAnswer::Error { message } => {
                self.consecutive_errors += 1;
                self.last_error = Some(message.as_str().into());
            }
            // Throttling says nothing about the execution: streaks stand.
            RemoteAnswer::Throttled { .. } => {}
            RemoteAnswer::Doubted { message } | RemoteAnswer::Unasked { message } => {
                self.last_error = Some(message.as_str().into());
            }
        }
        self.checked_at.set(obs.checked_at);
        self.last_answer = Some(match obs.answer {
            RemoteAnswer::Found { .. } => AnswerKind::Found,
            RemoteAnswer::NotFound => AnswerKind::NotFound,
            RemoteAnswer::Error { .. } => AnswerKind::Error,
            RemoteAnswer::Throttled {
                retry_after_seconds,
            } => AnswerKind::Throttled {
                retry_after_seconds: retry_after_seconds.map(|s| s.min(u32::MAX as u64) as u32),
            },
            RemoteAnswer::Doubted { .. } => AnswerKind::Doubted,
            RemoteAnswer::Unasked { .. } => AnswerKind::Unasked,
        });
    }

    /// Records `answer` without a copy when it repeats the last answer (a
    /// status found again, same spelling), which changes nothing but the
    /// times. False when it says something new: `record` it then.
    pub fn confirm(&self, answer: &RemoteAnswer, at: DateTime<Utc>) -> bool {
        let RemoteAnswer::Found { status, raw } = answer else {
            return false;
        };
        let repeats = self.last_answer == Some(AnswerKind::Found)
            && matches!(&self.last_status, Some((s, r)) if s == status && r == raw);
        if repeats {
            self.reported_at.advance(at);
            self.checked_at.advance(at);
        }
        repeats
    }

    /// Changes whenever the history changes other than by `confirm`.
    pub fn version(&self) -> u32 {
        self.version
    }

    pub fn remote_status(&self) -> Option<Status> {
        self.last_status.as_ref().map(|(s, _)| *s)
    }

    /// The last status reported and the tracker's spelling of it.
    pub fn last_status(&self) -> Option<(Status, &str)> {
        self.last_status.as_ref().map(|(s, raw)| (*s, &**raw))
    }

    /// When the tracker last reported a status.
    pub fn reported_at(&self) -> Option<DateTime<Utc>> {
        self.reported_at.get()
    }

    pub fn last_answer(&self) -> Option<RemoteAnswer> {
        Some(match self.last_answer? {
            AnswerKind::Found => {
                let (status, raw) = self.last_status.clone()?;
                RemoteAnswer::Found { status, raw }
            }
            AnswerKind::NotFound => RemoteAnswer::NotFound,
            AnswerKind::Error => RemoteAnswer::Error {
                message: self.last_error.as_deref().unwrap_or_default().to_string(),
            },
            AnswerKind::Throttled {
                retry_after_seconds,
            } => RemoteAnswer::Throttled {
                retry_after_seconds: retry_after_seconds.map(u64::from),
            },
            AnswerKind::Doubted => RemoteAnswer::Doubted {
                message: self.last_error.as_deref().unwrap_or_default().to_string(),
            },
            AnswerKind::Unasked => RemoteAnswer::Unasked {
                message: self.last_error.as_deref().unwrap_or_default().to_string(),
            },
        })
    }

    pub fn last_checked_at(&self) -> Option<DateTime<Utc>> {
        self.checked_at.get()
    }

    pub fn status_since(&self) -> Option<DateTime<Utc>> {
        self.status_since.get()
    }

    /// What else the tracker said with its last status, where it says more.
    pub fn detail(&self) -> Option<&Arc<RemoteDetail>> {
        self.detail.as_ref()
    }

    /// The last error any answer gave; kept after later answers succeed.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap()
    }

    fn found(status: Status, raw: &str) -> RemoteAnswer {
        RemoteAnswer::Found {
            status,
            raw: raw.into(),
        }
    }

    #[test]
    fn a_repeated_answer_moves_only_the_times_in_place() {
        let mut h = RemoteHistory::default();
        assert!(!h.confirm(&found(Status::Running, "RUNNING"), at(0)));
        h.record(Observation {
            checked_at: at(0),
            answer: found(Status::Running, "RUNNING"),
            detail: None,
        });
        let shared = Arc::new(h);
        let on_screen = shared.clone();
        let version = shared.version();
        assert!(shared.confirm(&found(Status::Running, "RUNNING"), at(9)));
        assert_eq!(shared.version(), version, "a confirmation is no news");
        assert_eq!(on_screen.last_checked_at(), Some(at(9)));
        assert_eq!(on_screen.reported_at(), Some(at(9)));
        assert_eq!(on_screen.status_since(), Some(at(0)));
        assert!(
            !shared.confirm(&found(Status::Running, "Running"), at(10)),
            "a new spelling is news"
        );
        assert!(!shared.confirm(&found(Status::Succeeded, "SUCCEEDED"), at(10)));
        assert!(!shared.confirm(&RemoteAnswer::NotFound, at(10)));
        shared.confirm(&found(Status::Running, "RUNNING"), at(5));
        assert_eq!(
            on_screen.last_checked_at(),
            Some(at(9)),
            "an answer that arrives late does not move time back"
        );
    }

    #[test]
    fn a_history_stays_small() {
        // 100 000 of them live in a monitor, and as many again while a
        // snapshot shares the old ones (docs/PERFORMANCE.md §6).
        let size = std::mem::size_of::<RemoteHistory>();
        println!("RemoteHistory: {size} bytes");
        assert!(size <= 96, "{size}");
    }

    #[test]
    fn a_repeat_after_another_kind_of_answer_is_news() {
        let mut h = RemoteHistory::default();
        h.record(Observation {
            checked_at: at(0),
            answer: found(Status::Running, "RUNNING"),
            detail: None,
        });
        h.record(Observation {
            checked_at: at(1),
            answer: RemoteAnswer::NotFound,
            detail: None,
        });
        assert!(
            !h.confirm(&found(Status::Running, "RUNNING"), at(2)),
            "it resets the not-found streak"
        );
    }

    #[test]
    fn history_streaks_reset_on_other_answers() {
        let mut h = RemoteHistory::default();
        h.record(Observation {
            checked_at: at(0),
            answer: RemoteAnswer::NotFound,
            detail: None,
        });
        h.record(Observation {
            checked_at: at(1),
            answer: RemoteAnswer::NotFound,
            detail: None,
        });
        assert_eq!(h.consecutive_not_found, 2);
        h.record(Observation {
            checked_at: at(2),
            answer: RemoteAnswer::Throttled {
                retry_after_seconds: Some(3),
            },
            detail: None,
        });
        assert_eq!(h.consecutive_not_found, 2, "throttling keeps the streak");
        h.record(Observation {
            checked_at: at(3),
            answer: RemoteAnswer::Error {
                message: "boom".into(),
            },
            detail: None,
        });
        assert_eq!(h.consecutive_errors, 1);
        assert_eq!(
            h.consecutive_not_found, 2,
            "an error proves nothing about existence"
        );
        h.record(Observation {
            checked_at: at(4),
            answer: RemoteAnswer::Found {
                status: Status::Running,
                raw: "RUNNING".into(),
            },
            detail: None,
        });
        assert_eq!((h.consecutive_not_found, h.consecutive_errors), (0, 0));
        assert_eq!(h.remote_status(), Some(Status::Running));
        assert_eq!(h.last_checked_at(), Some(at(4)));
    }
}
