//! Every popup laid out once, for both the drawing and the keys: how many
//! lines its text has at this size and how many show decides how far it can
//! scroll, so a key can never move the text somewhere the drawing would not.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph};

use super::actions::{self, Pinned};
use super::wrap::wrap_all;
use super::{centered, detail, help};
use crate::tui::app::{App, Popup};

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
}

/// A bordered popup of wrapped lines scrolling inside its borders: help,
/// detail, audit and the reason prompt.
pub struct TextPopup {
    pub title: String,
    pub area: Rect,
    pub lines: Vec<Line<'static>>,
}

impl TextPopup {
    /// `lines` are `(line, hanging indent)`, wrapped to the popup's width;
    /// the popup is as tall as they are, up to `max_height`.
    pub fn new(
        screen: Rect,
        width: u16,
        max_height: u16,
        title: String,
        lines: &[(Line<'static>, usize)],
    ) -> Self {
        let inner = usize::from(width.min(screen.width).saturating_sub(2)).max(1);
        let lines = wrap_all(lines, inner);
        let height = u16::try_from(lines.len())
            .unwrap_or(u16::MAX)
            .saturating_add(2)
            .min(max_height);
        TextPopup {
            title,
            area: centered(screen, width, height),
            lines,
        }
    }

    pub fn room(&self) -> ScrollRoom {
        ScrollRoom::new(self.lines.len(), self.area.height.saturating_sub(2))
    }

    fn render(self, frame: &mut Frame, app: &App) {
        let scroll = self.room().clamp(app.popup_scroll);
        frame.render_widget(Clear, self.area);
        frame.render_widget(
            Paragraph::new(self.lines).scroll((scroll, 0)).block(
                Block::bordered()
                    .title(self.title)
                    .border_style(app.theme().border_focused),
            ),
            self.area,
        );
    }
}

/// The open popup laid out on a screen of `screen`.
pub enum PopupLayout {
    Text(TextPopup),
    /// Rows scrolling above a footer that stays (the preview and the result).
    Pinned(Pinned),
}

impl PopupLayout {
    pub fn of(app: &App, screen: Rect) -> Option<Self> {
        Some(match app.popup.as_ref()? {
            Popup::Help => PopupLayout::Text(help::view(app, screen)),
            Popup::Detail => PopupLayout::Text(detail::view(app, screen)),
            Popup::Preview { .. } | Popup::Report(_) => {
                PopupLayout::Pinned(Pinned::of(app, screen)?)
            }
            Popup::Reason { .. } | Popup::Audit(_) => {
                PopupLayout::Text(actions::text_popup(app, screen)?)
            }
        })
    }

    pub fn room(&self) -> ScrollRoom {
        match self {
            PopupLayout::Text(text) => text.room(),
            PopupLayout::Pinned(pinned) => pinned.room(),
        }
    }

    pub fn render(self, frame: &mut Frame, app: &App) {
        match self {
            PopupLayout::Text(text) => text.render(frame, app),
            PopupLayout::Pinned(pinned) => pinned.render(frame, app),
        }
    }
}

/// How far the open popup can scroll on a screen of `screen`; `None` when
/// no popup is open.
pub fn popup_scroll_room(app: &App, screen: Rect) -> Option<ScrollRoom> {
    PopupLayout::of(app, screen).map(|layout| layout.room())
}
