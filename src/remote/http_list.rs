//! Listing the active runs through the HTTP API, page by page: each
//! page's URL (a cursor as a query parameter, or a next page's path on the
//! API's own origin), a short `Retry-After` waited out, the page read.

use chrono::{DateTime, Utc};
use reqwest::Method;

use super::{Attempt, HttpTracker, Sent};
use crate::domain::RemoteAnswer;
use crate::remote::answer::{origin_of, percent_encode};
use crate::remote::gate::RETRIES;
use crate::remote::request::Prepared;
use crate::remote::{ListPage, ListScope, RemoteError};

impl HttpTracker {
    /// The URL of a list page: the scope's path, then either the cursor
    /// as a query parameter or the cursor itself as a path or URL. A URL
    /// elsewhere than the API's own origin is refused: the credentials go
    /// with every request.
    pub(super) fn list_url(&self, path: &str, cursor: Option<&str>) -> Result<String, RemoteError> {
        let Some(cursor) = cursor else {
            return Ok(format!("{}{path}", self.base_url));
        };
        if let Some(param) = &self.list.cursor_param {
            let sep = if path.contains('?') { '&' } else { '?' };
            return Ok(format!(
                "{}{path}{sep}{param}={}",
                self.base_url,
                percent_encode(cursor)
            ));
        }
        let origin = origin_of(&self.base_url);
        if cursor.starts_with('/') {
            Ok(format!("{origin}{cursor}"))
        } else if cursor.starts_with(&format!("{origin}/")) {
            Ok(cursor.to_string())
        } else {
            Err(RemoteError::BadAnswer(format!(
                "the list answer's next page {cursor:?} is not a path or a URL under {origin}; \
                 exectop does not follow it (set remote.list_cursor_param if it is a cursor)"
            )))
        }
    }

    /// One list answer's next cursor and active runs (`list_items`).
    pub(in crate::remote) fn parse_page(
        &self,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<ListPage, RemoteError> {
        self.list.parse_page(body, now, &self.statuses, &self.gate)
    }

    /// One list page, waiting out a short `Retry-After` (the list is
    /// asked for once per interval; one 429 should not lose it) at most
    /// `RETRIES` times.
    pub(super) async fn list_page_of(
        &self,
        scope: &ListScope,
        cursor: Option<&str>,
    ) -> Result<ListPage, RemoteError> {
        for attempt in 0..=RETRIES {
            if let Err(wait) = self.gate.wait_out_pause().await {
                return Err(RemoteError::Throttled(format!(
                    "remote API paused for {}s",
                    wait.as_secs().max(1)
                )));
            }
            match self.list_page_once(scope, cursor).await {
                Err(RemoteError::Throttled(_)) if attempt < RETRIES => {}
                Err(RemoteError::Throttled(_)) => break,
                other => return other,
            }
        }
        Err(throttled_list())
    }

    async fn list_page_once(
        &self,
        scope: &ListScope,
        cursor: Option<&str>,
    ) -> Result<ListPage, RemoteError> {
        // The page tells the state of some moment after it was asked for.
        let asked_at = Utc::now();
        let url = self.list_url(&scope.path, cursor)?;
        let prepared = Prepared {
            path: scope.path.clone(),
            headers: scope.headers.clone(),
        };
        let Sent {
            status,
            headers,
            body,
            latency,
        } = match self.send(Method::GET, &url, &prepared).await {
            Ok(sent) => sent,
            Err(RemoteError::Auth(why)) => {
                return Err(RemoteError::Auth(format!("authentication failing: {why}")));
            }
            Err(e) => {
                self.gate.note_failure(&e.to_string());
                return Err(e);
            }
        };
        match self.classify(status, &headers) {
            Some(Attempt::Done(RemoteAnswer::Throttled { .. })) => {
                return Err(throttled_list());
            }
            Some(Attempt::Done(RemoteAnswer::Unasked { message })) => {
                return Err(RemoteError::Auth(message));
            }
            Some(Attempt::Done(RemoteAnswer::Error { message })) => {
                return Err(RemoteError::ErrorStatus(message));
            }
            Some(Attempt::Retry(e)) => {
                self.gate.note_failure(&e);
                return Err(RemoteError::ErrorStatus(e));
            }
            _ if !status.is_success() => {
                let message = format!("list call answered HTTP {}", status.as_u16());
                self.gate.note_failure(&message);
                return Err(RemoteError::ErrorStatus(message));
            }
            _ => {}
        }
        // A page that does not parse is a failed answer, for the
        // remote's health as for the list.
        let page = self
            .parse_page(&body, asked_at)
            .inspect_err(|e| self.gate.note_failure(&e.to_string()))?;
        self.gate.note_success(latency);
        Ok(page)
    }
}

fn throttled_list() -> RemoteError {
    RemoteError::Throttled("remote API throttled the list call".into())
}
