//! Preview and confirm: the reason entry, the preview of what would change
//! with its confirmation, and the result. Confirmation takes two messages:
//! the preview opens a popup, and only the confirming key sends `Apply`.
//! One row is confirmed with a yes; many rows with their count typed, so a
//! stray key never applies a bulk change.
//!
//! The states here are plain data and their steps pure; what a step means
//! for the rest of the screen (a plan to ask for, a popup to close) is
//! decided in `update::act`.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::intent::{ActionKind, ActionPreview, ActionReport, ActionRequest};
use super::keymap::{Command, Input, Keymap, Mode};
use super::popup_frame::{Indented, Pinned, TextPopup};
use super::theme::Theme;

/// Mark failed: the reason being typed, for the request it will go with.
#[derive(Debug, Clone, PartialEq)]
pub struct ReasonEntry {
    pub request: ActionRequest,
    pub text: String,
}

/// A preview on screen: the count typed so far (many rows), and whether
/// the confirmed change is being applied.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviewState {
    pub preview: ActionPreview,
    pub typed: String,
    pub applying: bool,
}

/// What a key did to the flow.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Nothing to tell the rest of the screen (text typed, or ignored).
    Stay,
    Quit,
    /// Closed without writing anything.
    Cancelled,
    /// The operator confirmed: apply the plan.
    Apply,
    /// The reason is typed: ask for the plan.
    Plan(ActionRequest),
    /// A hint for the footer; the popup stays.
    Say(String),
    /// Move the preview's rows.
    Scroll(Command),
}

impl ReasonEntry {
    pub fn new(request: ActionRequest) -> Self {
        ReasonEntry {
            request,
            text: String::new(),
        }
    }

    pub fn step(&mut self, input: Input) -> Step {
        match input {
            Input::Command(Command::Interrupt) => Step::Quit,
            Input::Command(Command::Cancel) => Step::Cancelled,
            Input::Command(Command::Submit) if self.text.trim().is_empty() => {
                Step::Say("a reason is required to mark executions failed".into())
            }
            Input::Command(Command::Submit) => Step::Plan(ActionRequest {
                reason: Some(self.text.trim().to_string()),
                ..self.request.clone()
            }),
            Input::Command(Command::Erase) => {
                self.text.pop();
                Step::Stay
            }
            Input::Text(c) => {
                self.text.push(c);
                Step::Stay
            }
            Input::Command(_) | Input::Unbound => Step::Stay,
        }
    }
}

impl PreviewState {
    pub fn new(preview: ActionPreview) -> Self {
        PreviewState {
            preview,
            typed: String::new(),
            applying: false,
        }
    }

    fn bulk(&self) -> bool {
        self.preview.changes() > 1
    }

    /// Where its keys go: a yes for one row, the count for many.
    pub fn mode(&self) -> Mode {
        if self.bulk() && !self.applying {
            Mode::Count
        } else {
            Mode::Preview
        }
    }

    /// One row: the confirm key applies; the scroll keys scroll; any other
    /// key is a no. Many rows: the count typed and submit apply; only cancel
    /// is a no, so a stray key does not throw away a long review. While
    /// applying, a repeated key must not apply twice: only scrolling and
    /// quitting act.
    pub fn step(&mut self, input: Input, keymap: &Keymap) -> Step {
        if input == Input::Command(Command::Interrupt) {
            return Step::Quit;
        }
        if let Input::Command(c) = input
            && c.scrolls()
        {
            return Step::Scroll(c);
        }
        if self.applying {
            return Step::Stay;
        }
        let changes = self.preview.changes();
        if !self.bulk() {
            if changes == 1 && input == Input::Command(Command::Confirm) {
                self.applying = true;
                return Step::Apply;
            }
            return Step::Cancelled;
        }
        match input {
            Input::Text(c) => self.typed.push(c),
            Input::Command(Command::Erase) => {
                self.typed.pop();
            }
            Input::Command(Command::Submit) if self.typed == changes.to_string() => {
                self.typed.clear();
                self.applying = true;
                return Step::Apply;
            }
            Input::Command(Command::Submit) => {
                self.typed.clear();
                return Step::Say(format!(
                    "type {changes} and {} to apply to {changes} rows, or {}",
                    keymap.spoken(Command::Submit, Mode::Count),
                    keymap.spoken(Command::Cancel, Mode::Count),
                ));
            }
            Input::Command(Command::Cancel) => return Step::Cancelled,
            Input::Command(_) | Input::Unbound => {}
        }
        Step::Stay
    }
}

fn verb(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::Reconcile => "Reconcile",
        ActionKind::MarkFailed => "Mark failed",
        ActionKind::Cleanup => "Clean up",
    }
}

/// Where a preview row's text continues when it wraps: under "before".
const PREVIEW_INDENT: usize = 14;

/// Where a result row's text continues when it wraps: under the reason.
const REPORT_INDENT: usize = 23;

/// "↑↓ PgUp PgDn", as the pinned popups' titles say how they scroll.
pub fn scroll_keys(keymap: &Keymap) -> String {
    let first = |c| keymap.first_in(c, Mode::Preview).map(|k| k.spoken());
    let arrows: String = [first(Command::Up), first(Command::Down)]
        .into_iter()
        .flatten()
        .collect();
    [
        Some(arrows),
        first(Command::PageUp),
        first(Command::PageDown),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ")
}

/// The preview laid out on `screen`: its rows, and a footer with the note,
/// the summary and the prompt.
pub fn preview_frame(state: &PreviewState, screen: Rect, theme: &Theme, keymap: &Keymap) -> Pinned {
    let preview = &state.preview;
    let changes = preview.changes();
    let rows: Indented = preview
        .rows
        .iter()
        .map(|r| match &r.after {
            Some(after) => Line::from(vec![
                Span::styled(format!(" {:<12} ", r.id), theme.key),
                Span::raw(format!("{} → ", r.before)),
                Span::styled(after.clone(), theme.warn),
                Span::styled(format!("  {}", r.note), theme.dim),
            ]),
            None => Line::styled(
                format!(" {:<12} {} (left alone: {})", r.id, r.before, r.note),
                theme.dim,
            ),
        })
        .map(|l| (l, PREVIEW_INDENT))
        .collect();
    let mut foot = vec![Line::raw("")];
    if let Some(note) = &preview.note {
        foot.push(Line::styled(format!(" {note}"), theme.dim));
    }
    let skipped = preview.rows.len() - changes;
    foot.push(Line::raw(format!(
        " {changes} will change, {skipped} left alone; every write is compare-and-set and audited"
    )));
    let cancel = keymap.spoken(Command::Cancel, Mode::Preview);
    foot.push(Line::styled(
        if state.applying {
            " applying…".to_string()
        } else if changes == 0 {
            format!(" nothing to change: {cancel} closes")
        } else if changes == 1 {
            format!(
                " Apply? {}/N",
                keymap.spoken(Command::Confirm, Mode::Preview)
            )
        } else {
            format!(
                " Type {changes} and {} to apply to {changes} rows ({} cancels): {}▏",
                keymap.spoken(Command::Submit, Mode::Count),
                keymap.spoken(Command::Cancel, Mode::Count),
                state.typed
            )
        },
        theme.alert,
    ));
    let foot: Indented = foot.into_iter().map(|l| (l, 1)).collect();
    let title = format!(" {} — preview ", verb(preview.kind));
    Pinned::new(screen, title, &rows, &foot)
}

/// The result laid out on `screen`: its rows, and the count and how to close.
pub fn report_frame(report: &ActionReport, screen: Rect, theme: &Theme, keymap: &Keymap) -> Pinned {
    let rows: Indented = report
        .rows
        .iter()
        .map(|r| {
            let after = r.after.clone().unwrap_or_else(|| "-".into());
            let line = match &r.applied {
                Ok(()) => Line::from(vec![
                    Span::styled(" applied  ", theme.ok),
                    Span::raw(format!("{:<12} {} → {after}", r.id, r.before)),
                ]),
                Err(why) => Line::from(vec![
                    Span::styled(" refused  ", theme.bad),
                    Span::raw(format!("{:<12} {why}", r.id)),
                ]),
            };
            (line, REPORT_INDENT)
        })
        .collect();
    let applied = report.rows.iter().filter(|r| r.applied.is_ok()).count();
    let foot = vec![
        (Line::raw(""), 0),
        (
            Line::styled(
                format!(
                    " {applied} of {} applied · {} or {} closes",
                    report.rows.len(),
                    keymap.spoken(Command::Details, Mode::Popup),
                    keymap.spoken(Command::Close, Mode::Popup),
                ),
                theme.alert,
            ),
            1,
        ),
    ];
    let title = format!(" {} — result ", verb(report.kind));
    Pinned::new(screen, title, &rows, &foot)
}

/// "execution 241", or "3 executions (241, 242, 250)", or the first few and a count.
fn targets_named(request: &ActionRequest) -> String {
    const SHOWN: usize = 4;
    let ids: Vec<&str> = request.targets.iter().map(|t| t.id.as_str()).collect();
    match ids.as_slice() {
        [one] => format!("execution {one}"),
        many if many.len() <= SHOWN => format!("{} executions ({})", many.len(), many.join(", ")),
        many => format!(
            "{} executions ({}, … +{} more)",
            many.len(),
            many[..SHOWN].join(", "),
            many.len() - SHOWN
        ),
    }
}

/// The reason entry laid out on `screen`.
pub fn reason_popup(
    entry: &ReasonEntry,
    screen: Rect,
    theme: &Theme,
    keymap: &Keymap,
) -> TextPopup {
    let lines = vec![
        (
            Line::raw(format!(
                " Mark {} failed. Why?",
                targets_named(&entry.request)
            )),
            1,
        ),
        (Line::raw(""), 0),
        (
            Line::from(vec![
                Span::styled(" reason: ", theme.key),
                Span::raw(format!("{}▏", entry.text)),
            ]),
            9,
        ),
        (Line::raw(""), 0),
        (
            Line::styled(
                format!(
                    " {} plans the change (nothing is written yet) · {} cancels",
                    keymap.spoken(Command::Submit, Mode::Reason),
                    keymap.spoken(Command::Cancel, Mode::Reason),
                ),
                theme.dim,
            ),
            1,
        ),
    ];
    TextPopup::new(screen, 72, screen.height, " Mark failed ".into(), &lines)
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    use super::*;
    use crate::tui::intent::{ActionCommand, ActionEvent, PreviewRow};
    use crate::tui::popup::Popup;
    use crate::tui::sample::{self, update};
    use crate::tui::update::{Effect, Msg};

    fn preview(request_id: u64, changing: usize) -> ActionPreview {
        ActionPreview {
            request_id,
            kind: ActionKind::Reconcile,
            rows: (0..changing)
                .map(|i| PreviewRow {
                    id: i.to_string(),
                    before: "running".into(),
                    after: Some("succeeded".into()),
                    note: String::new(),
                })
                .collect(),
            note: None,
        }
    }

    fn press(app: &mut crate::tui::state::App, code: KeyCode) -> Vec<Effect> {
        update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }

    #[test]
    fn the_reason_entry_needs_a_reason_and_plans_with_it() {
        let keymap = Keymap::default();
        let mut entry = ReasonEntry::new(ActionRequest {
            kind: ActionKind::MarkFailed,
            targets: Vec::new(),
            reason: None,
        });
        assert!(matches!(
            entry.step(Input::Command(Command::Submit)),
            Step::Say(_)
        ));
        for c in " died ".chars() {
            assert_eq!(entry.step(Input::Text(c)), Step::Stay);
        }
        entry.step(Input::Command(Command::Erase));
        let Step::Plan(request) = entry.step(Input::Command(Command::Submit)) else {
            panic!("submit plans once a reason is typed");
        };
        assert_eq!(request.reason.as_deref(), Some("died"));
        assert_eq!(entry.step(Input::Command(Command::Cancel)), Step::Cancelled);
        let _ = keymap;
    }

    #[test]
    fn one_row_applies_on_yes_many_rows_on_their_count() {
        let keymap = Keymap::default();
        let mut one = PreviewState::new(preview(1, 1));
        assert_eq!(one.mode(), Mode::Preview);
        assert_eq!(
            one.step(Input::Command(Command::Down), &keymap),
            Step::Scroll(Command::Down)
        );
        assert_eq!(
            one.step(Input::Command(Command::Confirm), &keymap),
            Step::Apply
        );
        assert_eq!(
            one.step(Input::Command(Command::Confirm), &keymap),
            Step::Stay,
            "a repeated yes does not apply twice"
        );
        let mut other = PreviewState::new(preview(1, 1));
        assert_eq!(other.step(Input::Unbound, &keymap), Step::Cancelled);

        let mut many = PreviewState::new(preview(2, 12));
        assert_eq!(many.mode(), Mode::Count);
        assert_eq!(
            many.step(Input::Unbound, &keymap),
            Step::Stay,
            "a stray key"
        );
        many.step(Input::Text('1'), &keymap);
        assert_eq!(
            many.step(Input::Command(Command::Submit), &keymap),
            Step::Say("type 12 and Enter to apply to 12 rows, or Esc".into())
        );
        many.step(Input::Text('1'), &keymap);
        many.step(Input::Text('2'), &keymap);
        assert_eq!(
            many.step(Input::Command(Command::Submit), &keymap),
            Step::Apply
        );
        assert_eq!(many.mode(), Mode::Preview, "applying: no count any more");
    }

    #[test]
    fn through_update_the_yes_sends_apply_and_other_keys_cancel() {
        let mut app = sample::app(false);
        app.pending_request = Some(7);
        update(&mut app, Msg::Action(ActionEvent::Planned(preview(7, 1))));
        assert!(matches!(app.popup, Some(Popup::Preview(_))));
        assert_eq!(
            press(&mut app, KeyCode::Char('y')),
            [Effect::Action(ActionCommand::Apply { request_id: 7 })]
        );
        app.popup = None;
        app.pending_request = Some(8);
        update(&mut app, Msg::Action(ActionEvent::Planned(preview(8, 1))));
        assert_eq!(
            press(&mut app, KeyCode::Char('x')),
            [Effect::Action(ActionCommand::Cancel { request_id: 8 })]
        );
        assert_eq!(app.popup, None);
    }
}
