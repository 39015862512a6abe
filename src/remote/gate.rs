//! What every tracker needs between its requests and the remote, whatever
//! the protocol: a cap on requests in flight and on requests per second, a
//! pause when the remote asks for one (429 `Retry-After`, throttling
//! errors) or keeps failing (degraded, longer each time), jittered backoff
//! for retries, the remote's health as the header shows it, and one shared
//! string per status spelling.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::domain::RemoteAnswer;

/// Retries of one request after a network error or a 5xx.
pub const RETRIES: u32 = 2;
const BACKOFF_BASE: Duration = Duration::from_millis(200);
const BACKOFF_CAP: Duration = Duration::from_secs(5);
const DEGRADED_AFTER: u32 = 5;
const DEGRADED_CAP: Duration = Duration::from_secs(60);
/// A pause a list page or a stop waits out before asking again; a longer
/// one fails it (it is asked for again next interval, or by the operator).
pub const PATIENCE: Duration = Duration::from_secs(10);
/// Distinct status spellings kept for sharing; an API that spells a status
/// differently every time gets fresh strings past it, not a growing table.
const MAX_SPELLINGS: usize = 64;

pub struct Gate {
    in_flight: Semaphore,
    bucket: Mutex<Bucket>,
    state: Mutex<State>,
    jitter_seed: AtomicU64,
    spellings: Mutex<Vec<Arc<str>>>,
}

struct Bucket {
    rate: f64,
    tokens: f64,
    last: Instant,
}

#[derive(Default)]
struct State {
    paused_until: Option<(Instant, DateTime<Utc>)>,
    consecutive_failures: u32,
    last_latency: Option<Duration>,
    last_error: Option<String>,
    /// Pauses taken since the tracker degraded; 0 while healthy. Each pause
    /// is longer than the one before, up to DEGRADED_CAP.
    degraded_pauses: u32,
    /// Throttled, and no answer since: the remote is not answering for us.
    throttled: bool,
    /// The remote refused our credentials, and no answer since.
    auth_error: Option<String>,
}

/// The gate's view of the remote's health; trackers add what they know.
#[derive(Debug, Clone, Default)]
pub struct GateHealth {
    pub consecutive_failures: u32,
    pub degraded: bool,
    pub paused_until: Option<DateTime<Utc>>,
    pub latency_ms: Option<u64>,
    pub last_error: Option<String>,
    pub auth_error: Option<String>,
}

impl Gate {
    /// At most `concurrency` requests in flight and `rate` per second.
    pub fn new(concurrency: usize, rate: f64) -> Gate {
        Gate {
            in_flight: Semaphore::new(concurrency.max(1)),
            bucket: Mutex::new(Bucket {
                rate: rate.max(0.1),
                tokens: 1.0,
                last: Instant::now(),
            }),
            state: Mutex::new(State::default()),
            jitter_seed: AtomicU64::new(0x9E37_79B9_7F4A_7C15),
            spellings: Mutex::new(Vec::new()),
        }
    }

    /// A slot among the requests in flight; held while the request runs.
    pub async fn slot(&self) -> Result<SemaphorePermit<'_>, super::RemoteError> {
        self.in_flight
            .acquire()
            .await
            .map_err(|e| super::RemoteError::Transport(e.to_string()))
    }

    /// Waits for a request's turn under the rate cap (token bucket).
    pub async fn take_token(&self) {
        loop {
            let wait = {
                let mut b = self.bucket.lock().unwrap();
                let now = Instant::now();
                let refill = now.duration_since(b.last).as_secs_f64() * b.rate;
                // One token at most: requests are spaced at least 1/rate apart,
                // so no second ever sees more than the cap (a fuller bucket let a
                // burst and a second's refill land in the same second).
                b.tokens = (b.tokens + refill).min(1.0);
                b.last = now;
                if b.tokens >= 1.0 {
                    b.tokens -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - b.tokens) / b.rate)
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// The wait before retry `attempt` (1, 2, …): doubling, capped, jittered.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let backoff = (BACKOFF_BASE * 2u32.pow(attempt.saturating_sub(1).min(16))).min(BACKOFF_CAP);
        backoff + self.jitter(backoff)
    }

    fn jitter(&self, max: Duration) -> Duration {
        // splitmix64: enough randomness to spread retries, no crate needed.
        let mut z = self
            .jitter_seed
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        max.mul_f64((z >> 11) as f64 / (1u64 << 53) as f64)
    }

    /// Remaining pause (after throttling or while degraded), if any.
    pub fn paused(&self) -> Option<Duration> {
        let s = self.state.lock().unwrap();
        s.paused_until
            .and_then(|(until, _)| until.checked_duration_since(Instant::now()))
    }

    /// Waits out a pause of at most `PATIENCE`; a longer one is returned
    /// instead of waited.
    pub async fn wait_out_pause(&self) -> Result<(), Duration> {
        match self.paused() {
            Some(wait) if wait > PATIENCE => Err(wait),
            Some(wait) => {
                tokio::time::sleep(wait).await;
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// While paused, what a look-up answers without asking: throttled, for
    /// the pause rounded up (a caller that sleeps this long finds it over).
    pub fn throttled_answer(&self) -> Option<RemoteAnswer> {
        self.paused().map(|wait| RemoteAnswer::Throttled {
            retry_after_seconds: Some(wait.as_secs_f64().ceil().max(1.0) as u64),
        })
    }

    fn pause_for(&self, d: Duration) {
        let mut s = self.state.lock().unwrap();
        let until = Instant::now() + d;
        if s.paused_until.is_none_or(|(u, _)| u < until) {
            let wall = Utc::now() + chrono::Duration::from_std(d).unwrap_or_default();
            s.paused_until = Some((until, wall));
        }
    }

    /// The remote asked us to wait `wait`: everyone pauses, and the
    /// tracker shows degraded until it answers again.
    pub fn throttled(&self, wait: Duration, why: String) {
        tracing::info!("remote API throttled us; waiting {}s", wait.as_secs());
        self.pause_for(wait);
        let mut s = self.state.lock().unwrap();
        s.throttled = true;
        s.last_error = Some(why);
    }

    /// The remote refused our credentials: a failure, and why auth fails.
    pub fn refused(&self, why: &str) {
        self.note_failure(why);
        self.state.lock().unwrap().auth_error = Some(why.to_string());
    }

    pub fn note_success(&self, latency: Duration) {
        let mut s = self.state.lock().unwrap();
        if s.degraded_pauses > 0 {
            tracing::warn!("remote tracker recovered: the remote API answers again");
        }
        s.consecutive_failures = 0;
        s.degraded_pauses = 0;
        s.throttled = false;
        s.auth_error = None;
        s.last_latency = Some(latency);
        s.last_error = None;
    }

    /// Past DEGRADED_AFTER failures in a row, pauses polling. Requests that
    /// were already in flight fail too when the remote dies; while a pause
    /// runs their failures neither lengthen it nor log again, so a dead
    /// remote is one log line, then one more when it answers again.
    pub fn note_failure(&self, error: &str) {
        let mut s = self.state.lock().unwrap();
        s.consecutive_failures += 1;
        s.last_error = Some(error.to_string());
        let pausing = s
            .paused_until
            .is_some_and(|(until, _)| until > Instant::now());
        if s.consecutive_failures < DEGRADED_AFTER || pausing {
            return;
        }
        let pause = (Duration::from_secs(5) * 2u32.saturating_pow(s.degraded_pauses.min(6)))
            .min(DEGRADED_CAP);
        if s.degraded_pauses == 0 {
            tracing::warn!(
                "remote tracker degraded after {} failures in a row ({error}); pausing {}s, then longer while it keeps failing",
                s.consecutive_failures,
                pause.as_secs()
            );
        } else {
            tracing::debug!(
                "remote tracker still failing ({error}); pausing {}s",
                pause.as_secs()
            );
        }
        s.degraded_pauses += 1;
        let wall = Utc::now() + chrono::Duration::from_std(pause).unwrap_or_default();
        s.paused_until = Some((Instant::now() + pause, wall));
    }

    pub fn health(&self) -> GateHealth {
        let s = self.state.lock().unwrap();
        // A throttled remote is degraded too: it answers nobody's question.
        let degraded = s.degraded_pauses > 0 || s.throttled;
        GateHealth {
            consecutive_failures: s.consecutive_failures,
            degraded,
            // Until the remote answers again, even between two pauses: the
            // poller skips rounds only while this lies ahead, and the header
            // keeps saying degraded rather than down while the probe runs.
            paused_until: s.paused_until.map(|(_, wall)| wall),
            latency_ms: s.last_latency.map(|d| d.as_millis() as u64),
            last_error: s.last_error.clone(),
            auth_error: s.auth_error.clone(),
        }
    }

    /// One shared string per spelling.
    pub fn spelling(&self, raw: &str) -> Arc<str> {
        let mut known = self.spellings.lock().unwrap();
        if let Some(s) = known.iter().find(|s| &***s == raw) {
            return s.clone();
        }
        let s: Arc<str> = raw.into();
        if known.len() < MAX_SPELLINGS {
            known.push(s.clone());
        }
        s
    }
}
