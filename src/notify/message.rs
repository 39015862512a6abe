//! Pure: the text of one message, summarised by kind, bounded in lines and
//! characters whatever the number of findings or the length of their ids.
//!
//! ```text
//! exectop: 12 new findings: 10 stuck, 2 missing_remote_id
//! • stuck: 241, 242, 243, 244, 245, 246, 247, 248, 249, 250 +5 more
//! • missing_remote_id: 251, 252
//! 3 findings cleared: 3 stuck
//! • stuck: 17, 18, 19
//! ```
//!
//! Ids come from the database and the remote, so they are made inert: no
//! control character, and Slack's three special characters (`&`, `<`, `>`)
//! escaped as its documentation asks, so an id cannot ping a channel
//! (`<!channel>`) or forge a link.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::domain::FindingKind;

use super::digest::{Changes, FindingKey};

/// The longest message, in characters; a Slack message stays readable.
pub const MAX_CHARS: usize = 3000;
/// The most lines in a message.
pub const MAX_LINES: usize = 40;
/// Ids listed per kind at most; the rest are counted.
const IDS_PER_KIND: usize = 10;
/// A kind's line at most, in characters, before its share of the budget.
const LINE_CHARS: usize = 200;
/// An id longer than this is cut (an ARN runs to about 100).
const ID_CHARS: usize = 80;

/// The message for `changes`; `at_start` phrases what appeared as open at
/// start (the baseline).
pub fn compose(changes: &Changes, at_start: bool) -> String {
    let appeared = by_kind(&changes.appeared);
    let cleared = by_kind(&changes.cleared);
    let mut headers = Vec::new();
    if !appeared.is_empty() {
        let n = changes.appeared.len();
        headers.push(if at_start {
            format!("{} open at start: {}", findings(n), tally(&appeared))
        } else {
            format!("{n} new {}: {}", noun(n), tally(&appeared))
        });
    }
    if !cleared.is_empty() {
        let n = changes.cleared.len();
        headers.push(format!("{} cleared: {}", findings(n), tally(&cleared)));
    }
    if let Some(first) = headers.first_mut() {
        first.insert_str(0, "exectop: ");
    }
    // Each kind's line gets an even share of what the headers leave, so the
    // message fits by construction: at most 2 headers and 2 × 9 kinds.
    let header_chars: usize = headers.iter().map(|h| h.chars().count() + 1).sum();
    let kind_lines = appeared.len() + cleared.len();
    let share = (MAX_CHARS.saturating_sub(header_chars) / kind_lines.max(1))
        .saturating_sub(1)
        .min(LINE_CHARS);
    let mut lines = Vec::with_capacity(headers.len() + kind_lines);
    let mut headers = headers.into_iter();
    for section in [appeared, cleared] {
        if section.is_empty() {
            continue;
        }
        lines.extend(headers.next());
        lines.extend(
            section
                .iter()
                .map(|(kind, ids)| kind_line(*kind, ids, share)),
        );
    }
    debug_assert!(lines.len() <= MAX_LINES);
    let text = lines.join("\n");
    crate::text::hide_secrets(&text).into_owned()
}

fn noun(n: usize) -> &'static str {
    if n == 1 { "finding" } else { "findings" }
}

fn findings(n: usize) -> String {
    format!("{n} {}", noun(n))
}

/// The ids of each kind, in a natural order (numbers by value), the kinds
/// with the most first.
fn by_kind(keys: &[FindingKey]) -> Vec<(FindingKind, Vec<&str>)> {
    let mut kinds: BTreeMap<FindingKind, Vec<&str>> = BTreeMap::new();
    for k in keys {
        kinds.entry(k.kind).or_default().push(k.subject.id());
    }
    let mut kinds: Vec<(FindingKind, Vec<&str>)> = kinds.into_iter().collect();
    for (_, ids) in &mut kinds {
        ids.sort_by(|a, b| natural(a, b));
    }
    kinds.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    kinds
}

/// Ids that are numbers in numeric order, before all others in text order.
fn natural(a: &str, b: &str) -> Ordering {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

/// "10 stuck, 2 missing_remote_id"
fn tally(kinds: &[(FindingKind, Vec<&str>)]) -> String {
    kinds
        .iter()
        .map(|(kind, ids)| format!("{} {}", ids.len(), kind.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// "• stuck: 241, 242 +8 more", at most `budget` characters.
fn kind_line(kind: FindingKind, ids: &[&str], budget: usize) -> String {
    let mut line = format!("• {}: ", kind.as_str());
    let mut used = line.chars().count();
    let mut listed = 0;
    for (i, id) in ids.iter().take(IDS_PER_KIND).enumerate() {
        let shown = inert(id);
        let sep = if i == 0 { 0 } else { 2 };
        let left = ids.len() - i - 1;
        // Room for this id, and for the "+N more" that may follow it.
        let more = if left > 0 {
            more(left).chars().count()
        } else {
            0
        };
        let width = shown.chars().count();
        if used + sep + width + more > budget {
            break;
        }
        if i > 0 {
            line.push_str(", ");
        }
        line.push_str(&shown);
        used += sep + width;
        listed += 1;
    }
    let left = ids.len() - listed;
    if left > 0 {
        line.push_str(&more(left));
    }
    line
}

fn more(n: usize) -> String {
    format!(" +{n} more")
}

/// An id as it may stand in a message: one line, Slack's specials escaped,
/// at most [`ID_CHARS`] characters.
fn inert(id: &str) -> String {
    let safe = crate::text::one_line(id);
    let mut cut: String = safe.chars().take(ID_CHARS).collect();
    if safe.chars().count() > ID_CHARS {
        cut.pop();
        cut.push('…');
    }
    cut.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::digest::Subject;

    fn keys(kind: FindingKind, ids: impl IntoIterator<Item = String>) -> Vec<FindingKey> {
        ids.into_iter()
            .map(|id| FindingKey {
                kind,
                subject: Subject::Execution(id),
            })
            .collect()
    }

    fn numbered(kind: FindingKind, ids: std::ops::Range<u32>) -> Vec<FindingKey> {
        keys(kind, ids.map(|i| i.to_string()))
    }

    #[test]
    fn a_summary_by_kind_with_the_first_ids_and_a_count_of_the_rest() {
        let mut appeared = numbered(FindingKind::Stuck, 241..251);
        appeared.extend(numbered(FindingKind::MissingRemoteId, 9..11));
        let changes = Changes {
            appeared,
            cleared: numbered(FindingKind::Stuck, 17..20),
        };
        assert_eq!(
            compose(&changes, false),
            "exectop: 12 new findings: 10 stuck, 2 missing_remote_id\n\
             • stuck: 241, 242, 243, 244, 245, 246, 247, 248, 249, 250\n\
             • missing_remote_id: 9, 10\n\
             3 findings cleared: 3 stuck\n\
             • stuck: 17, 18, 19"
        );
        let many = Changes {
            appeared: numbered(FindingKind::Stuck, 0..200),
            cleared: vec![],
        };
        assert_eq!(
            compose(&many, false),
            "exectop: 200 new findings: 200 stuck\n\
             • stuck: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 +190 more"
        );
    }

    #[test]
    fn the_start_and_singulars_read_right() {
        let one = Changes {
            appeared: numbered(FindingKind::RemoteOnly, 5..6),
            cleared: vec![],
        };
        assert_eq!(
            compose(&one, true),
            "exectop: 1 finding open at start: 1 remote_only\n• remote_only: 5"
        );
        let gone = Changes {
            appeared: vec![],
            cleared: numbered(FindingKind::Stuck, 5..6),
        };
        assert_eq!(
            compose(&gone, false),
            "exectop: 1 finding cleared: 1 stuck\n• stuck: 5"
        );
    }

    #[test]
    fn ids_sort_naturally() {
        let changes = Changes {
            appeared: keys(
                FindingKind::Stuck,
                ["b", "10", "9", "a", "100"].map(String::from),
            ),
            cleared: vec![],
        };
        assert!(
            compose(&changes, false).ends_with("• stuck: 9, 10, 100, a, b"),
            "{}",
            compose(&changes, false)
        );
    }

    #[test]
    fn ids_cannot_ping_forge_or_break_lines() {
        let changes = Changes {
            appeared: keys(
                FindingKind::Stuck,
                ["<!channel>", "a&b", "x\ny\u{1b}[2J"].map(String::from),
            ),
            cleared: vec![],
        };
        let text = compose(&changes, false);
        assert!(text.contains("&lt;!channel&gt;"), "{text}");
        assert!(text.contains("a&amp;b"), "{text}");
        assert!(text.contains("x\u{240a}y\u{241b}[2J"), "{text}");
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(!text.contains('<') && !text.contains('\u{1b}'), "{text}");
    }

    #[test]
    fn every_kind_with_long_ids_stays_within_the_bounds() {
        let long = |kind: FindingKind, tag: &str| {
            keys(
                kind,
                (0..500).map(|i| {
                    format!("arn:aws:states:eu-west-1:123456789012:execution:{tag}:{i:0>60}")
                }),
            )
        };
        let changes = Changes {
            appeared: FindingKind::ALL
                .iter()
                .flat_map(|k| long(*k, "new"))
                .collect(),
            cleared: FindingKind::ALL
                .iter()
                .flat_map(|k| long(*k, "old"))
                .collect(),
        };
        let text = compose(&changes, false);
        assert!(
            text.chars().count() <= MAX_CHARS,
            "{}",
            text.chars().count()
        );
        assert!(text.lines().count() <= MAX_LINES);
        // Both headers and every kind's line are there, each with its count.
        assert!(
            text.starts_with("exectop: 4500 new findings: 500 "),
            "{text}"
        );
        assert!(text.contains("\n4500 findings cleared: 500 "), "{text}");
        assert_eq!(text.lines().count(), 20, "{text}");
        assert!(
            text.lines().skip(1).take(9).all(|l| l.ends_with(" more")),
            "{text}"
        );
        // Positive control: the ids are cut, not left out, where one fits.
        assert!(text.contains("arn:aws:states"), "{text}");
        assert!(text.contains('…'), "{text}");
    }

    #[test]
    fn an_id_too_long_for_its_line_is_counted_instead() {
        let huge = "x".repeat(5000);
        let changes = Changes {
            appeared: keys(FindingKind::Stuck, [huge]),
            cleared: vec![],
        };
        let text = compose(&changes, false);
        assert!(text.chars().count() < 400, "{text}");
        assert!(text.ends_with("x…"), "{text}");
    }
}
