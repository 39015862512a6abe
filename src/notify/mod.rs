//! Notifications: a webhook (Slack-compatible `{"text": …}`) told when
//! findings appear and when they clear, grouped and rate-limited, so a
//! burst of 200 stuck rows is one message.
//!
//! `digest` and `message` are pure and unit-tested: which findings the
//! receiver should hear about and when, and the text that tells it.

mod digest;
mod error;
mod message;

pub use digest::{
    Changes, Delivery, Digest, FindingKey, Outgoing, Policy, Subject, between, diff, keys,
};
pub use error::NotifyError;
pub use message::{MAX_CHARS, MAX_LINES, compose};
