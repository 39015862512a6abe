//! Colours and emphasis, by theme: `dark` (the default), `light` and
//! `high-contrast`, chosen by name (`[ui] theme`, `Theme::named`). Under
//! `NO_COLOR` every style is built from modifiers only, whatever the name,
//! so the selection stays visible where colour attributes are dropped.

use ratatui::style::{Color, Modifier, Style};

pub use crate::config::ThemeName;
use crate::domain::Status;

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    /// False for the modifier-only theme of `NO_COLOR`.
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
    /// Each status's style (`status`).
    pub statuses: StatusStyles,
}

/// How each status is drawn where it is named.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusStyles {
    pub pending: Style,
    pub running: Style,
    pub succeeded: Style,
    pub failed: Style,
    pub cancelled: Style,
    pub timed_out: Style,
    pub unknown: Style,
}

/// A colour of xterm's 256: the 6×6×6 cube and the grey ramp are the same
/// in every terminal, where the first 16 follow the user's palette.
const fn xterm(index: u8) -> Color {
    Color::Indexed(index)
}

impl Theme {
    /// The theme named in the configuration, unless `no_color` (`NO_COLOR`
    /// is set), which wins over any name and gives the modifier-only theme.
    pub fn named(name: ThemeName, no_color: bool) -> Theme {
        if no_color {
            return Theme::no_color();
        }
        match name {
            ThemeName::Dark => Theme::dark(),
            ThemeName::Light => Theme::light(),
            ThemeName::HighContrast => Theme::high_contrast(),
        }
    }

    /// Whether `NO_COLOR` is set and non-empty (no-color.org).
    pub fn no_color_env() -> bool {
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
    }

    /// The dark theme (its first name, which the samples use).
    pub fn colour() -> Theme {
        Theme::dark()
    }

    /// The dark theme, exectop's colours from the start: the terminal's own
    /// 16 colours, for a dark background.
    pub fn dark() -> Theme {
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
            statuses: StatusStyles {
                pending: Style::new().fg(Color::Yellow),
                running: Style::new().fg(Color::Cyan),
                succeeded: Style::new().fg(Color::Green),
                failed: Style::new().fg(Color::Red),
                timed_out: Style::new().fg(Color::LightRed),
                cancelled: Style::new().fg(Color::Gray),
                unknown: Style::new().fg(Color::Magenta),
            },
        }
    }

    /// For a light background: dark text colours from xterm's fixed 256
    /// (a light palette's own yellow, white and grey are often unreadable
    /// on it), each at least 4.5:1 against white; the selection a pale blue
    /// bar, the focused title white on dark blue.
    pub fn light() -> Theme {
        const BLUE: Color = xterm(25); // #005faf
        const TEAL: Color = xterm(24); // #005f87
        const GREEN: Color = xterm(28); // #008700
        const RED: Color = xterm(160); // #d70000
        const DARK_RED: Color = xterm(124); // #af0000
        const ORANGE: Color = xterm(130); // #af5f00
        const PURPLE: Color = xterm(90); // #870087
        const GREY: Color = xterm(242); // #6c6c6c
        const PALE_BLUE: Color = xterm(153); // #afd7ff
        const WHITE: Color = xterm(231); // #ffffff
        Theme {
            colour: true,
            selected: Style::new().bg(PALE_BLUE).add_modifier(Modifier::BOLD),
            marked: Style::new().fg(PURPLE).add_modifier(Modifier::BOLD),
            border: Style::new().fg(GREY),
            border_focused: Style::new().fg(BLUE).add_modifier(Modifier::BOLD),
            title: Style::new().add_modifier(Modifier::BOLD),
            title_focused: Style::new().fg(WHITE).bg(BLUE).add_modifier(Modifier::BOLD),
            header_row: Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            ok: Style::new().fg(GREEN),
            bad: Style::new().fg(RED).add_modifier(Modifier::BOLD),
            warn: Style::new().fg(ORANGE),
            dim: Style::new().fg(GREY),
            alert: Style::new().fg(WHITE).bg(RED).add_modifier(Modifier::BOLD),
            key: Style::new().fg(BLUE).add_modifier(Modifier::BOLD),
            statuses: StatusStyles {
                pending: Style::new().fg(ORANGE),
                running: Style::new().fg(TEAL),
                succeeded: Style::new().fg(GREEN),
                failed: Style::new().fg(RED),
                timed_out: Style::new().fg(DARK_RED),
                cancelled: Style::new().fg(GREY),
                unknown: Style::new().fg(PURPLE),
            },
        }
    }

    /// For colour-blind viewers and a wall across the room, on a dark
    /// background: colours after Okabe and Ito's (sky blue, orange, yellow,
    /// reddish purple; never red against green), and ok, warn and bad told
    /// apart by modifier too: ok plain, warn underlined, bad bold. Bad is
    /// no bar because the failure chart is drawn in it (reversed, its bars
    /// would turn to holes; underlined, it would be ruled across); a failed
    /// execution's status and the alert are orange bars. The selection is
    /// a white bar.
    pub fn high_contrast() -> Theme {
        const SKY: Color = xterm(39); // #00afff
        const PALE_SKY: Color = xterm(117); // #87d7ff
        const ORANGE: Color = xterm(208); // #ff8700
        const YELLOW: Color = xterm(227); // #ffff5f
        const PURPLE: Color = xterm(175); // #d787af
        const GREY: Color = xterm(250); // #bcbcbc
        const RULE: Color = xterm(252); // #d0d0d0
        const BLACK: Color = xterm(16); // #000000
        const WHITE: Color = xterm(231); // #ffffff
        let bold = Modifier::BOLD;
        Theme {
            colour: true,
            selected: Style::new().fg(BLACK).bg(WHITE).add_modifier(bold),
            marked: Style::new().fg(PURPLE).add_modifier(bold),
            border: Style::new().fg(RULE),
            border_focused: Style::new().fg(SKY).add_modifier(bold),
            title: Style::new().add_modifier(bold),
            title_focused: Style::new().fg(BLACK).bg(SKY).add_modifier(bold),
            header_row: Style::new().add_modifier(bold | Modifier::UNDERLINED),
            ok: Style::new().fg(SKY),
            bad: Style::new().fg(ORANGE).add_modifier(bold),
            warn: Style::new().fg(YELLOW).add_modifier(Modifier::UNDERLINED),
            dim: Style::new().fg(GREY),
            alert: Style::new().fg(BLACK).bg(ORANGE).add_modifier(bold),
            key: Style::new().fg(SKY).add_modifier(bold),
            statuses: StatusStyles {
                pending: Style::new().fg(YELLOW),
                running: Style::new().fg(PALE_SKY),
                succeeded: Style::new().fg(SKY),
                failed: Style::new()
                    .fg(ORANGE)
                    .add_modifier(bold | Modifier::REVERSED),
                timed_out: Style::new()
                    .fg(ORANGE)
                    .add_modifier(bold | Modifier::UNDERLINED),
                cancelled: Style::new().fg(GREY),
                unknown: Style::new().fg(PURPLE).add_modifier(Modifier::ITALIC),
            },
        }
    }

    /// Modifiers only, for `NO_COLOR`.
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
            statuses: StatusStyles {
                pending: Style::new(),
                running: Style::new(),
                succeeded: Style::new(),
                failed: Style::new().add_modifier(Modifier::BOLD),
                timed_out: Style::new().add_modifier(Modifier::BOLD),
                cancelled: Style::new(),
                unknown: Style::new().add_modifier(Modifier::ITALIC),
            },
        }
    }

    pub fn status(&self, status: Status) -> Style {
        let s = &self.statuses;
        match status {
            Status::Pending => s.pending,
            Status::Running => s.running,
            Status::Succeeded => s.succeeded,
            Status::Failed => s.failed,
            Status::TimedOut => s.timed_out,
            Status::Cancelled => s.cancelled,
            Status::Unknown => s.unknown,
        }
    }
}

#[cfg(test)]
#[path = "theme_tests.rs"]
mod tests;
