//! The Running pane's filter: its text and whether it is being typed, the
//! keys of the entry, and the footer line that shows it while typing. The
//! rows it keeps are worked out in `sort::filtered_sorted`.

use ratatui::text::{Line, Span};

use super::keymap::{Command, Input, Keymap, Mode};
use super::theme::Theme;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct FilterEntry {
    pub text: String,
    pub editing: bool,
}

/// What a key did to the filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterStep {
    /// Nothing the rows depend on changed.
    Stay,
    /// A character was typed: the rows change, the cursor goes to the top.
    Typed,
    /// Erased or cleared: the rows change, the cursor stays on its row.
    Changed,
    /// The list stays navigable while typing.
    Move(Command),
    Quit,
}

impl FilterEntry {
    pub fn step(&mut self, input: Input) -> FilterStep {
        match input {
            Input::Command(Command::Interrupt) => FilterStep::Quit,
            Input::Command(Command::Cancel) => {
                self.editing = false;
                self.text.clear();
                FilterStep::Changed
            }
            Input::Command(Command::Submit) => {
                self.editing = false;
                FilterStep::Stay
            }
            Input::Command(c @ (Command::Up | Command::Down)) => FilterStep::Move(c),
            Input::Command(Command::Erase) => {
                self.text.pop();
                FilterStep::Changed
            }
            Input::Text(c) => {
                self.text.push(c);
                FilterStep::Typed
            }
            Input::Command(_) | Input::Unbound => FilterStep::Stay,
        }
    }

    /// The footer while typing: the text, a cursor and how to leave.
    pub fn footer(&self, keymap: &Keymap, theme: &Theme) -> Line<'static> {
        Line::from(vec![
            Span::styled(" filter: ", theme.key),
            Span::raw(self.text.clone()),
            Span::styled("█", theme.key),
            Span::styled(
                format!(
                    "  {} keep · {} clear",
                    keymap.label_in(Command::Submit, Mode::Filter),
                    keymap.label_in(Command::Cancel, Mode::Filter)
                ),
                theme.dim,
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    use crate::tui::sample;
    use crate::tui::state::Pane;
    use crate::tui::update::{Msg, update};

    fn press(app: &mut crate::tui::state::App, code: KeyCode) {
        update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    #[test]
    fn typing_filters_the_running_rows_and_esc_clears_them() {
        let mut app = sample::app(false);
        let all = app.view.len();
        press(&mut app, KeyCode::Char('/'));
        assert!(app.filter.editing);
        for c in "job-39".chars() {
            press(&mut app, KeyCode::Char(c));
        }
        assert_eq!(app.filter.text, "job-39");
        assert!(app.view.len() < all, "the filter keeps fewer rows");
        press(&mut app, KeyCode::Char('j'));
        assert_eq!(app.filter.text, "job-39j", "j is text while typing");
        press(&mut app, KeyCode::Backspace);
        press(&mut app, KeyCode::Enter);
        assert!(!app.filter.editing, "enter keeps the filter");
        assert_eq!(app.filter.text, "job-39");
        press(&mut app, KeyCode::Char('/'));
        press(&mut app, KeyCode::Esc);
        assert!(!app.filter.editing);
        assert!(app.filter.text.is_empty(), "esc clears it");
        assert_eq!(app.view.len(), all);
        assert_eq!(app.focus, Pane::Running);
    }
}
