//! Triage on screen: the short entry for an acknowledgement's note, a
//! snooze's length or a note (like the reason entry), and what a finding's
//! row says of its triage (`claimed by alice 4m`). The marks themselves are
//! stored by the action layer in exectop's own table, shared by every
//! terminal on the table.

use chrono::{DateTime, Utc};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::keymap::{Command, Input, Keymap, Mode};
use super::popup_frame::TextPopup;
use super::render_util::ago;
use super::theme::Theme;
use crate::domain::parse_duration;
use crate::domain::triage::{FindingKey, TriageChange, TriageView};

/// What the entry's text becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asking {
    /// An acknowledgement's note (may be empty).
    Acknowledge,
    /// How long to snooze (`1h`, `30m`).
    Snooze,
    /// A note (needs text).
    Note,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TriageEntry {
    pub asking: Asking,
    pub key: FindingKey,
    pub severity: u8,
    pub text: String,
}

/// What a key did to the entry.
#[derive(Debug, Clone, PartialEq)]
pub enum TriageStep {
    Stay,
    Quit,
    Cancelled,
    Say(String),
    Send(TriageChange),
}

impl TriageEntry {
    pub fn new(asking: Asking, key: FindingKey, severity: u8) -> Self {
        TriageEntry {
            asking,
            key,
            severity,
            text: String::new(),
        }
    }

    pub fn step(&mut self, input: Input, now: DateTime<Utc>) -> TriageStep {
        match input {
            Input::Command(Command::Interrupt) => TriageStep::Quit,
            Input::Command(Command::Cancel) => TriageStep::Cancelled,
            Input::Command(Command::Submit) => self.submitted(now),
            Input::Command(Command::Erase) => {
                self.text.pop();
                TriageStep::Stay
            }
            Input::Text(c) => {
                self.text.push(c);
                TriageStep::Stay
            }
            Input::Command(_) | Input::Unbound => TriageStep::Stay,
        }
    }

    fn submitted(&self, now: DateTime<Utc>) -> TriageStep {
        let text = self.text.trim().to_string();
        match self.asking {
            Asking::Acknowledge => TriageStep::Send(TriageChange::Acknowledge { note: text }),
            Asking::Note if text.is_empty() => TriageStep::Say("a note needs some text".into()),
            Asking::Note => TriageStep::Send(TriageChange::Note { text }),
            Asking::Snooze => {
                let spec = if text.is_empty() { "1h" } else { text.as_str() };
                match parse_duration(spec) {
                    Ok(d) if !d.is_zero() => TriageStep::Send(TriageChange::Snooze {
                        until: now
                            + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::hours(1)),
                    }),
                    Ok(_) => TriageStep::Say("snooze for longer than 0s".into()),
                    Err(e) => TriageStep::Say(format!("snooze for how long? {e}")),
                }
            }
        }
    }
}

/// The entry laid out on `screen`.
pub fn entry_popup(entry: &TriageEntry, screen: Rect, theme: &Theme, keymap: &Keymap) -> TextPopup {
    let (title, question, label) = match entry.asking {
        Asking::Acknowledge => (" Acknowledge ", "Acknowledge", "note (optional): "),
        Asking::Snooze => (" Snooze ", "Snooze", "for (e.g. 1h, 30m; empty: 1h): "),
        Asking::Note => (" Note ", "Leave a note on", "note: "),
    };
    let lines = vec![
        (
            Line::raw(format!(
                " {question} {} {}.",
                entry.key.kind.as_str(),
                entry.key.subject
            )),
            1,
        ),
        (Line::raw(""), 0),
        (
            Line::from(vec![
                Span::styled(format!(" {label}"), theme.key),
                Span::raw(format!("{}▏", entry.text)),
            ]),
            2,
        ),
        (Line::raw(""), 0),
        (
            Line::styled(
                format!(
                    " {} saves it for everyone watching this table · {} cancels",
                    keymap.spoken(Command::Submit, Mode::Reason),
                    keymap.spoken(Command::Cancel, Mode::Reason),
                ),
                theme.dim,
            ),
            1,
        ),
    ];
    TextPopup::new(screen, 72, screen.height, title.into(), &lines)
}

/// What a finding's row says of its triage, before its reason.
pub fn row_note(view: &TriageView, now: DateTime<Utc>) -> Option<String> {
    if let Some(c) = &view.claimed {
        return Some(format!("claimed by {} {}", c.by, ago(now, c.at)));
    }
    if let Some(a) = &view.acknowledged {
        return Some(format!("acked by {}", a.by));
    }
    if let (Some(s), Some(until)) = (&view.snoozed, view.snoozed_until) {
        return Some(format!("snoozed by {} for {}", s.by, ago(until, now)));
    }
    view.lapsed.clone()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    use super::*;
    use crate::domain::FindingKind;
    use crate::tui::intent::ActionCommand;
    use crate::tui::popup::Popup;
    use crate::tui::sample::{self, update};
    use crate::tui::state::Pane;
    use crate::tui::update::{Effect, Msg};

    fn press(app: &mut crate::tui::state::App, code: KeyCode) -> Vec<Effect> {
        update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }

    #[test]
    fn a_snooze_takes_a_length_and_refuses_nonsense() {
        let now = Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0).unwrap();
        let key = FindingKey {
            subject: "241".into(),
            kind: FindingKind::Stuck,
        };
        let mut e = TriageEntry::new(Asking::Snooze, key, 2);
        for c in "soon".chars() {
            e.step(Input::Text(c), now);
        }
        assert!(matches!(
            e.step(Input::Command(Command::Submit), now),
            TriageStep::Say(_)
        ));
        e.text = "30m".into();
        assert_eq!(
            e.step(Input::Command(Command::Submit), now),
            TriageStep::Send(TriageChange::Snooze {
                until: now + chrono::Duration::minutes(30)
            })
        );
    }

    #[test]
    fn c_claims_the_selected_finding_and_x_asks_for_a_note_first() {
        let mut app = sample::app(false);
        press(&mut app, KeyCode::Tab);
        assert_eq!(app.focus, Pane::Findings);
        let first = app.selected_finding().unwrap().clone();
        let effects = press(&mut app, KeyCode::Char('c'));
        let [Effect::Action(ActionCommand::Triage { key, change, .. })] = effects.as_slice() else {
            panic!("{effects:?}");
        };
        assert_eq!(key, &FindingKey::of(&first).unwrap());
        assert_eq!(change, &TriageChange::Claim);

        assert_eq!(press(&mut app, KeyCode::Char('x')), []);
        assert!(matches!(app.popup, Some(Popup::Triage(_))));
        for c in "on it".chars() {
            press(&mut app, KeyCode::Char(c));
        }
        let effects = press(&mut app, KeyCode::Enter);
        assert!(matches!(
            effects.as_slice(),
            [Effect::Action(ActionCommand::Triage {
                change: TriageChange::Acknowledge { .. },
                ..
            })]
        ));
        assert_eq!(app.popup, None);

        let mut read_only = sample::app(true);
        press(&mut read_only, KeyCode::Tab);
        assert_eq!(
            press(&mut read_only, KeyCode::Char('c')),
            [],
            "read-only: no triage"
        );
    }
}

#[cfg(test)]
mod drawn {
    use std::sync::Arc;

    use chrono::Duration;

    use crate::domain::triage::{FindingKey, Mark, TriageView};
    use crate::tui::render_tests::draw;
    use crate::tui::sample;

    fn screen(t: &ratatui::Terminal<ratatui::backend::TestBackend>) -> String {
        crate::tui::render_layout_tests::screen(t.backend().buffer())
    }

    #[test]
    fn a_claim_shows_on_its_row_and_an_acknowledgement_dims_and_counts() {
        let mut app = sample::app(false);
        let mut snap = (*app.snapshot).clone();
        let first = FindingKey::of(&snap.findings[0]).unwrap();
        let second = FindingKey::of(&snap.findings[1]).unwrap();
        let mark = |by: &str| {
            Some(Mark {
                by: by.into(),
                at: sample::now() - Duration::minutes(4),
                note: None,
            })
        };
        let mut views = std::collections::BTreeMap::new();
        views.insert(
            first,
            TriageView {
                claimed: mark("alice"),
                ..TriageView::default()
            },
        );
        views.insert(
            second.clone(),
            TriageView {
                acknowledged: mark("bob"),
                ..TriageView::default()
            },
        );
        snap.triage = Arc::new(views);
        app.snapshot = Arc::new(snap);
        let t = draw(&app, 160, 40);
        let text = screen(&t);
        assert!(text.contains("claimed by alice 4m ·"), "{text}");
        assert!(text.contains("acked by bob ·"), "{text}");
        assert!(text.contains("Stuck & orphaned 3 · 1 acked"), "{text}");
        // The acknowledged row is dimmed; the claimed one is not.
        let buf = t.backend().buffer();
        let row_of = |needle: &str| {
            (0..buf.area.height)
                .find(|&y| {
                    (0..buf.area.width)
                        .map(|x| buf[(x, y)].symbol())
                        .collect::<String>()
                        .contains(needle)
                })
                .unwrap()
        };
        let theme = app.theme().clone();
        let acked_row = row_of("acked by bob");
        let claimed_row = row_of("claimed by alice");
        let kind_cell = |y| buf[(3, y)].fg;
        assert_eq!(kind_cell(acked_row), theme.dim.fg.unwrap());
        assert_ne!(kind_cell(claimed_row), theme.dim.fg.unwrap());
    }
}
