//! Remote requests by outcome, for `exectop_remote_requests_total`.
//!
//! The trackers keep their health (the gate's failure streak, the last
//! error), not a count of what they answered. The agent wraps its tracker
//! (`remote::observed`), so HTTP and Step Functions are counted alike. A
//! look-up, a list page or a stop counts once, as the tracker answered it:
//! the retries a tracker makes inside one call are not counted apart.

use std::sync::Arc;

use super::metrics::{Metrics, Request};
use crate::domain::RemoteAnswer;
use crate::remote::observed::{CallKind, CallObserver, Observed};
use crate::remote::{RemoteError, RemoteTracker};

/// The agent's tracker: each answer counted.
pub type Counted = Observed<Count>;

impl Counted {
    pub fn new(inner: Arc<dyn RemoteTracker>, metrics: Arc<Metrics>) -> Counted {
        Observed::wrap(inner, Count { metrics })
    }
}

pub struct Count {
    metrics: Arc<Metrics>,
}

/// The `outcome` label of a look-up's answer.
pub fn lookup_outcome(answer: &RemoteAnswer) -> &'static str {
    match answer {
        RemoteAnswer::Found { .. } => "found",
        RemoteAnswer::NotFound => "not_found",
        RemoteAnswer::Error { .. } => "error",
        RemoteAnswer::Throttled { .. } => "throttled",
        RemoteAnswer::Doubted { .. } => "doubted",
        RemoteAnswer::Unasked { .. } => "unasked",
    }
}

/// The `outcome` label of a list page or a stop (`None`: it succeeded).
pub fn call_outcome(error: Option<&RemoteError>) -> &'static str {
    match error {
        None => "ok",
        Some(RemoteError::Throttled(_)) => "throttled",
        // Nothing the remote answered about the call: it was not made, or
        // our credentials were refused (a look-up says `unasked` for both).
        Some(
            RemoteError::Auth(_)
            | RemoteError::Config(_)
            | RemoteError::Secret(_)
            | RemoteError::Context(_)
            | RemoteError::Unsendable(_)
            | RemoteError::Unsupported(_),
        ) => "unasked",
        Some(
            RemoteError::Transport(_)
            | RemoteError::TooLarge { .. }
            | RemoteError::ErrorStatus(_)
            | RemoteError::BadAnswer(_),
        ) => "error",
    }
}

impl CallObserver for Count {
    fn lookup(&self, answer: &RemoteAnswer) {
        self.metrics.count_request(Request {
            call: "lookup",
            outcome: lookup_outcome(answer),
        });
    }

    fn call(&self, kind: CallKind, error: Option<&RemoteError>) {
        let call = match kind {
            CallKind::Page => "list",
            CallKind::Stop => "stop",
            // A walk is counted page by page; finding the scopes asks nothing.
            CallKind::Scopes | CallKind::Walk => return,
        };
        self.metrics.count_request(Request {
            call,
            outcome: call_outcome(error),
        });
    }
}
