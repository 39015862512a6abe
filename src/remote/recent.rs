//! The tracker's history of the execution whose details are open, fetched
//! on demand. Two things keep it within the request budget: only the
//! latest request is served (an operator paging through fifty details asks
//! for the one left open, not for all fifty), and answers are kept: five
//! minutes once the run has ended (an ended run can be redriven, and goes on
//! under the same ARN), briefly while it runs.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use super::{LookupTarget, RemoteTracker};
use crate::domain::remote_events::RecentEvents;

/// How long a running execution's history is shown before it is asked for
/// again on the next opening.
pub const RUNNING_FRESH: Duration = Duration::from_secs(15);
/// How long an ended run's history is shown before it is asked for again.
pub const ENDED_FRESH: Duration = Duration::from_secs(300);
/// Histories kept; the oldest fetched goes first.
const KEPT: usize = 256;

/// A history, or why there is none, for one execution.
#[derive(Debug, Clone, PartialEq)]
pub struct EventsAnswer {
    pub execution_id: String,
    pub events: Result<Arc<RecentEvents>, String>,
}

#[derive(Default)]
struct Kept {
    by_remote_id: HashMap<String, (Instant, Arc<RecentEvents>)>,
}

impl Kept {
    fn fresh(&self, remote_id: &str, now: Instant) -> Option<Arc<RecentEvents>> {
        let (at, events) = self.by_remote_id.get(remote_id)?;
        let fresh_for = if events.is_final() {
            ENDED_FRESH
        } else {
            RUNNING_FRESH
        };
        (now.duration_since(*at) < fresh_for).then(|| events.clone())
    }

    fn keep(&mut self, remote_id: String, events: Arc<RecentEvents>, now: Instant) {
        if self.by_remote_id.len() >= KEPT && !self.by_remote_id.contains_key(&remote_id) {
            let oldest = self
                .by_remote_id
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                self.by_remote_id.remove(&oldest);
            }
        }
        self.by_remote_id.insert(remote_id, (now, events));
    }
}

/// Asks for histories one at a time, the latest wish first.
pub struct EventsFetcher {
    wanted: watch::Sender<Option<LookupTarget>>,
}

impl EventsFetcher {
    /// Serves wishes in a task of its own; each answer goes to `answers`
    /// through `wrap`. The task ends when the fetcher is dropped.
    pub fn spawn<T: Send + 'static>(
        tracker: Arc<dyn RemoteTracker>,
        answers: mpsc::Sender<T>,
        wrap: fn(EventsAnswer) -> T,
    ) -> EventsFetcher {
        let (wanted, mut wishes) = watch::channel::<Option<LookupTarget>>(None);
        tokio::spawn(async move {
            let mut kept = Kept::default();
            while wishes.changed().await.is_ok() {
                let Some(target) = wishes.borrow_and_update().clone() else {
                    continue;
                };
                let events = match kept.fresh(&target.remote_id, Instant::now()) {
                    Some(events) => Ok(events),
                    None => match tracker.recent_events(&target).await {
                        Ok(events) => {
                            let events = Arc::new(events);
                            kept.keep(target.remote_id.clone(), events.clone(), Instant::now());
                            Ok(events)
                        }
                        Err(e) => Err(crate::text::hide_secrets(&e.to_string()).into_owned()),
                    },
                };
                let answer = EventsAnswer {
                    execution_id: target.id,
                    events,
                };
                if answers.send(wrap(answer)).await.is_err() {
                    break;
                }
            }
        });
        EventsFetcher { wanted }
    }

    /// The history of `target` is wanted: replaces any wish not yet served.
    pub fn want(&self, target: LookupTarget) {
        let _ = self.wanted.send(Some(target));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::remote_events::RemoteEvent;

    fn events(final_: bool) -> Arc<RecentEvents> {
        let kind = if final_ {
            "ExecutionFailed"
        } else {
            "TaskStateEntered"
        };
        Arc::new(RecentEvents::newest_first(vec![RemoteEvent {
            id: 1,
            previous: None,
            at: None,
            kind: kind.into(),
            state: None,
            error: None,
            cause: None,
        }]))
    }

    #[test]
    fn an_ended_run_is_kept_for_minutes_a_running_one_briefly() {
        let mut kept = Kept::default();
        let start = Instant::now();
        kept.keep("ended".into(), events(true), start);
        kept.keep("running".into(), events(false), start);
        let later = start + RUNNING_FRESH + Duration::from_secs(1);
        assert!(kept.fresh("ended", later).is_some());
        assert!(kept.fresh("running", start).is_some());
        assert!(kept.fresh("running", later).is_none());
        // A redriven run goes on under its ARN: asked again in time.
        let much_later = start + ENDED_FRESH + Duration::from_secs(1);
        assert!(kept.fresh("ended", much_later).is_none());
    }

    #[test]
    fn the_oldest_history_makes_room() {
        let mut kept = Kept::default();
        let start = Instant::now();
        for i in 0..KEPT + 10 {
            kept.keep(
                format!("r{i}"),
                events(true),
                start + Duration::from_millis(i as u64),
            );
        }
        assert_eq!(kept.by_remote_id.len(), KEPT);
        assert!(kept.fresh("r0", start).is_none());
        assert!(kept.fresh(&format!("r{}", KEPT + 9), start).is_some());
    }
}
