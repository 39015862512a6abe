//! The stored triage joined to a snapshot's findings: what each mark means
//! now (`domain::triage::view`), and the findings reordered so the
//! acknowledged and snoozed ones come after the rest, each part worst first.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::snapshot::Snapshot;
use crate::domain::FindingKind;
use crate::domain::triage::{FindingKey, Triage, view};

pub fn attach(snap: &mut Snapshot, stored: &HashMap<FindingKey, Triage>, now: DateTime<Utc>) {
    if stored.is_empty() {
        if !snap.triage.is_empty() {
            snap.triage = Arc::default();
        }
        return;
    }
    // A subject acknowledged or snoozed under another kind than it has now.
    let mut quiet_kinds: HashMap<&str, FindingKind> = HashMap::new();
    for (key, t) in stored {
        if t.acknowledged.is_some() || t.snoozed.is_some() {
            quiet_kinds.insert(key.subject.as_str(), key.kind);
        }
    }
    let mut views = BTreeMap::new();
    for f in snap.findings.iter() {
        let Some(key) = FindingKey::of(f) else {
            continue;
        };
        let triage = stored.get(&key);
        let other = match triage {
            Some(_) => None,
            None => quiet_kinds.get(key.subject.as_str()).copied(),
        };
        if let Some(v) = view(triage, other, f, now) {
            views.insert(key, v);
        }
    }
    if views.values().any(|v| v.quiet()) {
        let quiet = |f: &crate::domain::Finding| {
            FindingKey::of(f)
                .and_then(|k| views.get(&k))
                .is_some_and(|v| v.quiet())
        };
        // Stable: each part keeps the engine's worst-first order.
        Arc::make_mut(&mut snap.findings).sort_by_key(|f| quiet(f));
    }
    snap.triage = Arc::new(views);
}
