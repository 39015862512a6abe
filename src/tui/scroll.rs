//! Scrolling a popup's text, and what `update` learns of the last frame.
//! `update` never lays anything out: the view measures each frame and the
//! event loop hands the measures back as a message (`Msg::Frame`).

use super::keymap::Command;

/// How far a popup's text can scroll: a page is the lines it shows, and the
/// furthest offset puts the last line on the bottom row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScrollRoom {
    pub page: u16,
    pub max: u16,
}

impl ScrollRoom {
    pub fn new(lines: usize, visible: u16) -> Self {
        let hidden = lines.saturating_sub(usize::from(visible));
        ScrollRoom {
            page: visible.max(1),
            max: u16::try_from(hidden).unwrap_or(u16::MAX),
        }
    }

    pub fn clamp(self, offset: u16) -> u16 {
        offset.min(self.max)
    }

    /// The offset after a scroll command from `offset`; `None` when the
    /// command does not scroll.
    pub fn scrolled(self, command: Command, offset: u16) -> Option<u16> {
        // From where the text shows, not where earlier keys pushed it: a
        // resize or new data may have shortened it since.
        let at = self.clamp(offset);
        let to = match command {
            Command::Up => at.saturating_sub(1),
            Command::Down => at.saturating_add(1),
            Command::PageUp => at.saturating_sub(self.page),
            Command::PageDown => at.saturating_add(self.page),
            Command::Home => 0,
            Command::End => self.max,
            _ => return None,
        };
        Some(self.clamp(to))
    }
}

/// What the last frame drew that keys depend on: the rows each list pane
/// shows (a page key moves by one visible page) and how far the open popup
/// can scroll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameFacts {
    /// Rows of data in the Running and the Stuck & orphaned panes.
    pub list_rows: [usize; 2],
    /// `None` when no popup is open.
    pub popup: Option<ScrollRoom>,
}

impl Default for FrameFacts {
    fn default() -> Self {
        FrameFacts {
            list_rows: [1, 1],
            popup: None,
        }
    }
}
