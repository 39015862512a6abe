//! What can go wrong in the remote layer, one enum for it: a caller decides
//! by the variant (credentials refused, throttled, no answer at all, an
//! answer too large or unreadable, a request that could not be made for a
//! row), never by the words. Each variant's text is the one line the
//! operator reads, naming the configuration key, the remote or the id; no
//! secret value is ever part of it (secrets are named, and every value is
//! also masked by `text::hide_secrets` on the way out).

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RemoteError {
    /// A configuration the tracker cannot be set up with: a template, a
    /// header, the token URL, the context's key, the AWS region. Names the key.
    #[error("{0}")]
    Config(String),
    /// A secret of `[remote.secrets]` or `remote.token_env` that could not
    /// be read: named with its source, never with its value.
    #[error("{0}")]
    Secret(String),
    /// The request context (`remote.context.query`) failed or gave rows
    /// that cannot serve.
    #[error("{0}")]
    Context(String),
    /// A request that could not be made for this row (a value missing, no
    /// context row, an id that cannot be sent): nothing was sent.
    #[error("{0}")]
    Unsendable(String),
    /// Credentials missing, failing to refresh or refused by the remote.
    #[error("{0}")]
    Auth(String),
    /// The remote asked exectop to slow down, or the tracker is pausing.
    #[error("{0}")]
    Throttled(String),
    /// No answer: the network, a timeout, the answer's transfer.
    #[error("{0}")]
    Transport(String),
    /// An answer larger than `cap` bytes, left unread.
    #[error("the answer is larger than {cap} bytes (remote.max_answer_bytes); not read")]
    TooLarge { cap: u64 },
    /// An answer with an error status (other than throttling or auth).
    #[error("{0}")]
    ErrorStatus(String),
    /// An answer that does not read as it should: malformed JSON, no list
    /// where the configuration says, a next page that loops or leaves.
    #[error("{0}")]
    BadAnswer(String),
    /// What this tracker cannot do (list, stop).
    #[error("{0}")]
    Unsupported(&'static str),
}
