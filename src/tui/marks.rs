//! Marks and bulk: the rows picked with the select key for one action, and
//! the armed "act on the whole filtered set" that the next action key uses.

use std::collections::{BTreeSet, HashSet};

use crate::monitor::Snapshot;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Marks {
    /// Execution ids picked with the select key.
    pub ids: BTreeSet<String>,
    /// The act-on-filtered key was pressed: the next reconcile or mark
    /// failed applies to the whole filtered set.
    pub bulk_armed: bool,
}

impl Marks {
    pub fn toggle(&mut self, id: String) {
        if !self.ids.remove(&id) {
            self.ids.insert(id);
        }
    }

    /// Marks survive while their row is still shown in either list. Most
    /// snapshots find nothing marked: then no set of 100 000 ids is built.
    pub fn keep_shown(&mut self, snap: &Snapshot) {
        if self.ids.is_empty() {
            return;
        }
        let shown: HashSet<&str> = snap
            .active
            .iter()
            .map(|e| e.id.as_str())
            .chain(
                snap.findings
                    .iter()
                    .filter_map(|f| f.execution_id.as_deref()),
            )
            .collect();
        self.ids.retain(|id| shown.contains(id.as_str()));
    }

    /// The marks on rows an action was applied to are spent: acting on them
    /// again would be a second action, not this one.
    pub fn spend<'a>(&mut self, ids: impl IntoIterator<Item = &'a str>) {
        for id in ids {
            self.ids.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    use crate::tui::sample;
    use crate::tui::update::{Msg, update};

    fn press(app: &mut crate::tui::state::App, code: KeyCode) {
        update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    #[test]
    fn space_marks_and_moves_on_esc_clears_and_a_arms_the_filtered_set() {
        let mut app = sample::app(false);
        let first = app.selected_execution().unwrap().id.clone();
        press(&mut app, KeyCode::Char(' '));
        assert!(app.marks.ids.contains(&first));
        assert_ne!(
            app.selected_execution().unwrap().id,
            first,
            "the cursor moved on"
        );
        press(&mut app, KeyCode::Char(' '));
        assert_eq!(app.marks.ids.len(), 2);
        press(&mut app, KeyCode::Esc);
        assert!(app.marks.ids.is_empty(), "esc clears the marks");
        press(&mut app, KeyCode::Char('A'));
        assert!(app.marks.bulk_armed);
        press(&mut app, KeyCode::Char('j'));
        assert!(!app.marks.bulk_armed, "any other key disarms it");
    }
}
