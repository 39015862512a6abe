//! `[[commands]]` on screen: what a key asks the edge to run or open, what
//! comes back, the popup of a command's output and the yes a changing
//! command waits for. Plain data and drawing; `update::commands` decides
//! what a key or an answer does to the App.

use std::time::Duration;

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::keymap::{Command, Keymap, Mode};
use super::popup_frame::{Indented, Pinned, TextPopup};
use super::theme::Theme;
use crate::domain::Execution;
use crate::domain::row_command::{ContextValues, Rendered};
use crate::runner::{Exit, Outcome, STDOUT_CAP};

/// A command to run for one row, and what names it in the log and popup.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRequest {
    /// Matches the answer to the popup that waits for it.
    pub run: u64,
    pub description: String,
    pub execution_id: String,
    pub rendered: Rendered,
    pub timeout: Duration,
}

/// A URL for the desktop opener.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenRequest {
    pub description: String,
    pub execution_id: String,
    pub url: String,
}

/// The context row of `key` (the value of the row's `[remote.context]`
/// key field), for a command that uses context values.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextRequest {
    /// Matches the answer to the command that waits for it.
    pub ask: u64,
    pub key: String,
}

/// A command waiting for its row's context: the row as it was when its key
/// was pressed, so the command runs on the row the operator chose.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextWait {
    pub ask: u64,
    pub index: usize,
    pub row: Execution,
    /// The row field whose value is the key, and that value: for the
    /// footer when the query has no row for it.
    pub field: &'static str,
    pub key: String,
}

/// How a URL was handed on.
#[derive(Debug, Clone, PartialEq)]
pub enum Opened {
    By(&'static str),
    /// No desktop opener here (an SSH session): copied instead.
    Copied,
    Failed(String),
}

/// What the edge tells `update` of a command.
#[derive(Debug, Clone, PartialEq)]
pub enum CommandEvent {
    Finished {
        run: u64,
        description: String,
        execution_id: String,
        outcome: Outcome,
    },
    Opened {
        description: String,
        how: Opened,
    },
    /// The context row asked for: `None` when the query gives none for the
    /// key; an error when it could not be read.
    Context {
        ask: u64,
        answer: Result<Option<std::sync::Arc<ContextValues>>, String>,
    },
}

/// The output popup of a `show` command: running, then its outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputView {
    pub run: u64,
    pub description: String,
    pub execution_id: String,
    pub timeout: Duration,
    pub outcome: Option<Outcome>,
}

/// A command that changes something, rendered, waiting for the yes.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingRun {
    pub index: usize,
    pub execution_id: String,
    pub rendered: Rendered,
}

/// Output as lines safe to draw: CR LF read as LF, tabs as spaces, and
/// every other control character (escape sequences included) shown as its
/// inert stand-in by the one sanitiser.
fn safe_lines(text: &str) -> Vec<String> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    text.split('\n')
        .map(|l| {
            let l = l.strip_suffix('\r').unwrap_or(l).replace('\t', "    ");
            crate::text::one_line(&l).into_owned()
        })
        .collect()
}

pub fn output_frame(view: &OutputView, screen: Rect, theme: &Theme, keymap: &Keymap) -> Pinned {
    let title = format!(
        " {} — execution {} ",
        crate::text::one_line(&view.description),
        crate::text::one_line(&view.execution_id)
    );
    let close = keymap.spoken(Command::Close, Mode::Popup);
    let Some(o) = &view.outcome else {
        let rows = vec![(Line::raw(" running…"), 1)];
        let foot = vec![(
            Line::styled(
                format!(
                    " running (killed after {}) · {close} closes",
                    crate::domain::format_duration_spec(view.timeout)
                ),
                theme.dim,
            ),
            1,
        )];
        return Pinned::new(screen, title, &rows, &foot);
    };
    let mut rows: Indented = Vec::new();
    if !o.stdout.is_empty() {
        rows.extend(safe_lines(&o.stdout).into_iter().map(|l| (Line::raw(l), 0)));
    }
    if !o.stderr.is_empty() {
        if !rows.is_empty() {
            rows.push((Line::raw(""), 0));
        }
        rows.push((Line::styled("stderr:", theme.dim), 0));
        rows.extend(safe_lines(&o.stderr).into_iter().map(|l| (Line::raw(l), 0)));
    }
    if rows.is_empty() {
        rows.push((Line::styled("(no output)", theme.dim), 0));
    }
    let style = match o.exit {
        Exit::Code(0) => theme.ok,
        _ => theme.bad,
    };
    let mut foot = vec![Span::styled(format!(" {}", o.exit), style)];
    foot.push(Span::raw(format!(" · {:.1}s", o.elapsed.as_secs_f64())));
    if o.truncated {
        foot.push(Span::styled(
            format!(" · output cut at {} KiB", STDOUT_CAP / 1024),
            theme.warn,
        ));
    }
    foot.push(Span::raw(format!(" · {close} closes")));
    Pinned::new(
        screen,
        title,
        &rows,
        &[(Line::raw(""), 0), (Line::from(foot), 1)],
    )
}

pub fn confirm_popup(
    pending: &PendingRun,
    description: &str,
    screen: Rect,
    theme: &Theme,
    keymap: &Keymap,
) -> TextPopup {
    let yes = keymap.spoken(Command::Confirm, Mode::Preview);
    let lines: Indented = vec![
        (
            Line::raw(format!(
                " Run \"{}\" on execution {}?",
                crate::text::one_line(description),
                crate::text::one_line(&pending.execution_id)
            )),
            1,
        ),
        (Line::styled(" It changes something.", theme.warn), 1),
        (Line::raw(""), 0),
        (
            Line::raw(format!(
                " {}",
                crate::text::one_line(&pending.rendered.text())
            )),
            3,
        ),
        (Line::raw(""), 0),
        (
            Line::styled(
                format!(" {yes} runs it · any other key: nothing is run"),
                theme.alert,
            ),
            1,
        ),
    ];
    TextPopup::new(screen, 80, screen.height, " Run a command ".into(), &lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_in_output_are_shown_inert() {
        let lines = safe_lines("\x1b[2J\x1b]0;pwned\x07red\r\n\ttab\n");
        assert_eq!(
            lines,
            vec!["␛[2J␛]0;pwned␇red".to_string(), "    tab".into()]
        );
    }
}
