//! Reading a vendor API's answers: JSON pointers into bodies left unparsed
//! where they can be (a list page may hold thousands of runs), next-page
//! cursors and links, `Retry-After`, and ids made safe for a URL path.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use serde_json::value::RawValue;

use super::RemoteError;

/// The longest pause a remote may ask for. A `Retry-After` beyond it is
/// read as this: a remote that asks for years is broken, and waiting on it
/// would stall the tracker (and overflow the clock's arithmetic).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Every byte but the unreserved ones percent-encoded, `/` and `%` included,
/// so a value can never add or climb a path segment.
pub(super) fn percent_encode(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A remote id as one path segment. Ids made only of dots are refused:
/// `.` and `..` are path steps to every URL parser, encoded or not, and
/// would send the request (and its credentials) to another resource.
pub fn path_segment(id: &str) -> Result<String, RemoteError> {
    if id.is_empty() {
        return Err(RemoteError::Unsendable(
            "an empty remote id cannot be sent".into(),
        ));
    }
    if id.bytes().all(|b| b == b'.') {
        return Err(RemoteError::Unsendable(format!(
            "remote id {id:?} cannot be sent: an id made only of dots would climb the URL's path"
        )));
    }
    Ok(percent_encode(id))
}

/// `Retry-After` as seconds or as an HTTP date, at most [`MAX_RETRY_AFTER`].
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let v = value.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        // Digits past u64 are still a (very long) number of seconds.
        let secs = v.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    }
    let at = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
    let wait = at
        .signed_duration_since(now)
        .to_std()
        .unwrap_or(Duration::ZERO);
    Some(wait.min(MAX_RETRY_AFTER))
}

/// Why a request got no answer, in words that name `remote` and never
/// the URL (it may carry values from the row).
pub(super) fn send_failure(e: reqwest::Error, remote: &str) -> RemoteError {
    RemoteError::Transport(if e.is_timeout() {
        "request timed out".to_string()
    } else if e.is_connect() {
        format!("cannot connect to {remote}")
    } else {
        format!("request failed: {}", e.without_url())
    })
}

/// The answer's body, read as it streams in and refused past
/// `cap` (`remote.max_answer_bytes`): an endless or huge answer never fills memory.
pub(super) async fn read_capped(
    mut response: reqwest::Response,
    cap: u64,
) -> Result<Vec<u8>, RemoteError> {
    let too_big = || RemoteError::TooLarge { cap };
    if response.content_length().is_some_and(|n| n > cap) {
        return Err(too_big());
    }
    let mut body = Vec::with_capacity(
        response
            .content_length()
            .map_or(0, |n| n as usize)
            .min(64 << 10),
    );
    while let Some(chunk) = response.chunk().await.map_err(|e| {
        RemoteError::Transport(format!("reading the answer failed: {}", e.without_url()))
    })? {
        if (body.len() + chunk.len()) as u64 > cap {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The value at a JSON pointer in `body`, left unparsed: only the objects on
/// the way to it are read, keys and raw values.
fn raw_at<'b>(body: &'b [u8], pointer: &str) -> Result<Option<&'b RawValue>, RemoteError> {
    let malformed = |e: serde_json::Error| {
        RemoteError::BadAnswer(format!("malformed JSON from the list call: {e}"))
    };
    let mut here: &RawValue = serde_json::from_slice(body).map_err(malformed)?;
    for token in pointer.split('/').skip(1) {
        let key = token.replace("~1", "/").replace("~0", "~");
        let next = match here.get().trim_start().as_bytes().first() {
            Some(b'{') => serde_json::from_str::<HashMap<String, &RawValue>>(here.get())
                .map_err(malformed)?
                .remove(&key),
            Some(b'[') => key.parse::<usize>().ok().and_then(|i| {
                serde_json::from_str::<Vec<&RawValue>>(here.get())
                    .ok()?
                    .get(i)
                    .copied()
            }),
            _ => None,
        };
        match next {
            Some(value) => here = value,
            None => return Ok(None),
        }
    }
    Ok(Some(here))
}

/// The array at a JSON pointer in `body`, its items left unparsed.
pub(super) fn array_at<'b>(
    body: &'b [u8],
    pointer: &str,
) -> Result<Vec<&'b RawValue>, RemoteError> {
    let no_array =
        || RemoteError::BadAnswer(format!("the list answer has no array at {pointer:?}"));
    let raw = raw_at(body, pointer)?.ok_or_else(no_array)?;
    serde_json::from_str::<Vec<&RawValue>>(raw.get()).map_err(|_| no_array())
}

/// The next page's cursor at `pointer`: a string or a number; absent, null
/// or empty on the last page.
pub(super) fn next_at(body: &[u8], pointer: &str) -> Result<Option<String>, RemoteError> {
    let Some(raw) = raw_at(body, pointer)? else {
        return Ok(None);
    };
    match serde_json::from_str::<Value>(raw.get()) {
        Ok(Value::Null) => Ok(None),
        Ok(Value::String(s)) if s.is_empty() => Ok(None),
        Ok(Value::String(s)) => Ok(Some(s)),
        Ok(Value::Number(n)) => Ok(Some(n.to_string())),
        _ => Err(RemoteError::BadAnswer(format!(
            "the list answer's next page at {pointer:?} is neither text nor a number"
        ))),
    }
}

/// `scheme://host[:port]` of a URL, without any path.
pub(super) fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

/// The named fields an answer has (`remote.detail_fields`: name, JSON
/// pointer). With fields named, an answer that has none of them gives an
/// empty detail, not none: a history keeps its last detail through answers
/// without one (a list's), and a reason from a run's earlier status must not
/// stand beside the next.
pub(super) fn detail_fields(
    answer: &Value,
    named: &[(String, String)],
) -> Option<std::sync::Arc<crate::domain::RemoteDetail>> {
    let fields: std::collections::BTreeMap<String, String> = named
        .iter()
        .filter_map(|(name, pointer)| {
            let value = text_at(answer, pointer).filter(|v| !v.is_empty())?;
            Some((name.clone(), value))
        })
        .collect();
    (!named.is_empty()).then(|| {
        std::sync::Arc::new(crate::domain::RemoteDetail {
            fields,
            ..Default::default()
        })
    })
}

pub(super) fn text_at(value: &Value, pointer: &str) -> Option<String> {
    match value.pointer(pointer)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::array_at;

    fn ids(body: &str, pointer: &str) -> Result<Vec<String>, String> {
        Ok(array_at(body.as_bytes(), pointer)
            .map_err(|e| e.to_string())?
            .iter()
            .map(|raw| raw.get().to_string())
            .collect())
    }

    #[test]
    fn the_list_array_is_found_by_its_pointer_without_parsing_the_items() {
        assert_eq!(
            ids(r#"[{"id":1},{"id":2}]"#, "").unwrap(),
            [r#"{"id":1}"#, r#"{"id":2}"#]
        );
        let nested = r#"{"meta":{"n":1},"data":{"items":[{"id":"a"}]}}"#;
        assert_eq!(ids(nested, "/data/items").unwrap(), [r#"{"id":"a"}"#]);
        let pages = r#"{"pages":[{"items":[]},{"items":[7]}]}"#;
        assert_eq!(ids(pages, "/pages/1/items").unwrap(), ["7"]);
        assert_eq!(ids(r#"{"a/b":{"c~d":[1]}}"#, "/a~1b/c~0d").unwrap(), ["1"]);
    }

    #[test]
    fn a_missing_array_or_broken_json_is_a_clear_error() {
        let missing = ids(r#"{"executions":{"x":1}}"#, "/executions").unwrap_err();
        assert_eq!(missing, r#"the list answer has no array at "/executions""#);
        assert!(ids(r#"{"other":[]}"#, "/executions").is_err());
        assert!(ids(r#"{"pages":[]}"#, "/pages/3").is_err());
        let broken = ids(r#"{"executions":[{"id":1},"#, "/executions").unwrap_err();
        assert!(
            broken.starts_with("malformed JSON from the list call"),
            "{broken}"
        );
    }
}
