//! Colours and emphasis. Under `NO_COLOR` every style is built from modifiers
//! only, so the selection stays visible where colour attributes are dropped.

use ratatui::style::{Color, Modifier, Style};

use crate::domain::Status;

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub colour: bool,
    pub selected: Style,
    /// Rows picked with space for a bulk action.
    pub marked: Style,
    pub border: Style,
    pub border_focused: Style,
    /// A pane's title, and the focused pane's.
    pub title: Style,
    pub title_focused: Style,
    pub header_row: Style,
    pub ok: Style,
    pub bad: Style,
    pub warn: Style,
    pub dim: Style,
    pub alert: Style,
    pub key: Style,
}

impl Theme {
    /// The theme for this process: colourless when `NO_COLOR` is set and non-empty.
    pub fn from_env() -> Theme {
        match std::env::var_os("NO_COLOR") {
            Some(v) if !v.is_empty() => Theme::no_color(),
            _ => Theme::colour(),
        }
    }

    pub fn colour() -> Theme {
        Theme {
            colour: true,
            selected: Style::new()
                .bg(Color::DarkGray)
                .add_modifier(Modifier::BOLD),
            marked: Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
            border: Style::new().fg(Color::Gray),
            border_focused: Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            title: Style::new().add_modifier(Modifier::BOLD),
            title_focused: Style::new()
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
            header_row: Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            ok: Style::new().fg(Color::Green),
            bad: Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            warn: Style::new().fg(Color::Yellow),
            dim: Style::new().fg(Color::DarkGray),
            alert: Style::new()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD),
            key: Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
        }
    }

    pub fn no_color() -> Theme {
        Theme {
            colour: false,
            selected: Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            marked: Style::new().add_modifier(Modifier::UNDERLINED | Modifier::BOLD),
            border: Style::new(),
            border_focused: Style::new().add_modifier(Modifier::BOLD),
            title: Style::new().add_modifier(Modifier::BOLD),
            title_focused: Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            header_row: Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            ok: Style::new(),
            bad: Style::new().add_modifier(Modifier::BOLD),
            warn: Style::new().add_modifier(Modifier::BOLD),
            dim: Style::new().add_modifier(Modifier::DIM),
            alert: Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            key: Style::new().add_modifier(Modifier::BOLD),
        }
    }

    pub fn status(&self, status: Status) -> Style {
        if !self.colour {
            return match status {
                Status::Failed | Status::TimedOut => Style::new().add_modifier(Modifier::BOLD),
                Status::Unknown => Style::new().add_modifier(Modifier::ITALIC),
                _ => Style::new(),
            };
        }
        match status {
            Status::Pending => Style::new().fg(Color::Yellow),
            Status::Running => Style::new().fg(Color::Cyan),
            Status::Succeeded => Style::new().fg(Color::Green),
            Status::Failed => Style::new().fg(Color::Red),
            Status::TimedOut => Style::new().fg(Color::LightRed),
            Status::Cancelled => Style::new().fg(Color::Gray),
            Status::Unknown => Style::new().fg(Color::Magenta),
        }
    }
}

#[cfg(test)]
#[path = "theme_tests.rs"]
mod tests;
