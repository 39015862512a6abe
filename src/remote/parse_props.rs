//! Property tests of the parsers that read what a remote sends: whatever the
//! bytes, they answer or refuse; none panics, and every wait is bounded.

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use serde_json::Value;

use super::answer::{MAX_RETRY_AFTER, array_at, next_at, parse_retry_after, path_segment, text_at};
use super::http::HttpTracker;
use crate::config::{PollConfig, RemoteConfig, RemoteKind, StatusValues};

/// Any JSON value, a few levels deep, with keys that pointers may name.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[a-z0-9/~ ]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                "(id|status|items|next|a/b|c~d|[a-z]{1,3}|0|1)",
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn pointer() -> impl Strategy<Value = String> {
    prop::collection::vec(
        "(id|status|items|next|a~1b|c~0d|[a-z]{1,3}|0|1|~|~2|)",
        0..4,
    )
    .prop_map(|tokens| tokens.iter().map(|t| format!("/{t}")).collect())
}

fn tracker(list_pointer: &str, id_pointer: &str, next_pointer: &str) -> HttpTracker {
    let remote = RemoteConfig {
        kind: RemoteKind::Http,
        base_url: Some("http://127.0.0.1:9".into()),
        status_path: Some("/runs/{remote_id}".into()),
        status_pointer: Some("/status".into()),
        list_active_path: Some("/runs".into()),
        list_pointer: Some(list_pointer.into()),
        list_id_pointer: Some(id_pointer.into()),
        list_next_pointer: Some(next_pointer.into()),
        status_values: StatusValues {
            running: vec!["RUNNING".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    HttpTracker::new(&remote, &PollConfig::default()).unwrap()
}

proptest! {
    #[test]
    fn retry_after_is_bounded_whatever_its_text(text in "\\PC{0,40}", digits in "[0-9]{1,40}") {
        let now = Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0).unwrap();
        for value in [text.as_str(), digits.as_str()] {
            if let Some(wait) = parse_retry_after(value, now) {
                prop_assert!(wait <= MAX_RETRY_AFTER);
            }
        }
        prop_assert!(parse_retry_after(&digits, now).is_some(), "digits are seconds");
    }

    #[test]
    fn retry_after_dates_far_off_are_bounded(secs in -20_000_000_000i64..20_000_000_000i64) {
        let now = Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0).unwrap();
        if let Some(at) = Utc.timestamp_opt(secs, 0).single() {
            let wait = parse_retry_after(&at.to_rfc2822(), now);
            prop_assert!(wait.is_none_or(|w| w <= MAX_RETRY_AFTER));
        }
    }

    #[test]
    fn pointers_into_any_json_answer_or_refuse(value in json(), p in pointer()) {
        let body = serde_json::to_vec(&value).unwrap();
        let _ = array_at(&body, &p);
        let _ = next_at(&body, &p);
        let _ = text_at(&value, &p);
        // The same pointer read the slow way agrees on where arrays are.
        if let Ok(items) = array_at(&body, &p) {
            let expected = value.pointer(&p).and_then(Value::as_array).map(Vec::len);
            prop_assert_eq!(Some(items.len()), expected);
        }
    }

    #[test]
    fn pointers_into_any_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200), p in pointer()) {
        let _ = array_at(&bytes, &p);
        let _ = next_at(&bytes, &p);
    }

    #[test]
    fn list_pages_of_any_shape_parse_or_fail_cleanly(value in json(), lp in pointer(), ip in pointer(), np in pointer()) {
        let t = tracker(&lp, &ip, &np);
        let body = serde_json::to_vec(&value).unwrap();
        if let Ok(page) = t.parse_page(&body, Utc::now()) {
            for run in &page.runs {
                prop_assert!(!run.remote_id.is_empty() || value.pointer(&lp).is_some());
            }
        }
    }

    #[test]
    fn any_status_spelling_maps_to_a_status(spelling in "\\PC{0,30}") {
        let map = StatusValues {
            running: vec!["RUNNING".into()],
            failed: vec!["FAILED".into()],
            ..Default::default()
        }
        .to_map();
        let status = map.status_of(&spelling);
        prop_assert_eq!(status == crate::domain::Status::Running, spelling == "RUNNING");
    }

    #[test]
    fn an_id_is_one_path_segment_or_refused(id in "\\PC{0,24}") {
        match path_segment(&id) {
            Ok(segment) => {
                prop_assert!(!segment.contains('/') && !segment.contains('?') && !segment.contains('#'));
                prop_assert!(!segment.bytes().all(|b| b == b'.'));
                prop_assert!(segment.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~%".contains(&b)));
            }
            Err(_) => prop_assert!(id.is_empty() || id.bytes().all(|b| b == b'.')),
        }
    }
}
