//! The two frames every popup is drawn in: a text that scrolls inside its
//! borders, and rows that scroll above a footer pinned to the bottom. Both
//! measure how far they can scroll, for the drawing and, through the frame
//! facts, for the keys.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Margin, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph};

use super::render_util::centered;
use super::scroll::ScrollRoom;
use super::theme::Theme;
use super::wrap::wrap_all;

/// Lines, each with the indent its wrapped continuation takes.
pub type Indented = Vec<(Line<'static>, usize)>;

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

    pub fn render(self, frame: &mut Frame, scroll: u16, theme: &Theme) {
        let scroll = self.room().clamp(scroll);
        frame.render_widget(Clear, self.area);
        frame.render_widget(
            Paragraph::new(self.lines).scroll((scroll, 0)).block(
                Block::bordered()
                    .title(self.title)
                    .border_style(theme.border_focused),
            ),
            self.area,
        );
    }
}

const POPUP_WIDTH: u16 = 96;

/// A popup whose rows scroll above a footer pinned to its bottom (the
/// preview's summary and prompt, the result's count), so a long list never
/// hides what is asked or what happened.
pub struct Pinned {
    pub title: String,
    pub popup: Rect,
    pub rows_area: Rect,
    pub foot_area: Rect,
    pub rows: Vec<Line<'static>>,
    pub foot: Vec<Line<'static>>,
}

impl Pinned {
    pub fn new(
        area: Rect,
        title: String,
        rows: &[(Line<'static>, usize)],
        foot: &[(Line<'static>, usize)],
    ) -> Self {
        let width = POPUP_WIDTH.min(area.width);
        let inner = usize::from(width.saturating_sub(2)).max(1);
        let rows = wrap_all(rows, inner);
        let foot = wrap_all(foot, inner);
        let wanted = rows.len() + foot.len() + 2;
        // A line free above and below keeps the header and the footer's
        // messages (e.g. a wrong count) in sight.
        let height = u16::try_from(wanted)
            .unwrap_or(u16::MAX)
            .min(area.height.saturating_sub(2));
        let popup = centered(area, width, height);
        let body = popup.inner(Margin::new(1, 1));
        // The footer wins every line but one, so at least one row shows.
        let foot_height = u16::try_from(foot.len())
            .unwrap_or(u16::MAX)
            .min(body.height.saturating_sub(1));
        let [rows_area, foot_area] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(foot_height)]).areas(body);
        Pinned {
            title,
            popup,
            rows_area,
            foot_area,
            rows,
            foot,
        }
    }

    /// Only the rows scroll; the footer stays.
    pub fn room(&self) -> ScrollRoom {
        ScrollRoom::new(self.rows.len(), self.rows_area.height)
    }

    pub fn render(self, frame: &mut Frame, scroll: u16, theme: &Theme, scroll_keys: &str) {
        let room = self.room();
        let scroll = room.clamp(scroll);
        let mut title = self.title;
        if room.max > 0 {
            let first = usize::from(scroll) + 1;
            let last = usize::from(scroll) + usize::from(self.rows_area.height);
            title.push_str(&format!(
                "· lines {first}–{last} of {} · {scroll_keys} scroll ",
                self.rows.len()
            ));
        }
        frame.render_widget(Clear, self.popup);
        frame.render_widget(
            Block::bordered()
                .title(title)
                .border_style(theme.border_focused),
            self.popup,
        );
        frame.render_widget(
            Paragraph::new(self.rows).scroll((scroll, 0)),
            self.rows_area,
        );
        // Anchored to its end: when the popup is too short for the whole
        // footer, the prompt is the line kept.
        let foot_scroll = self
            .foot
            .len()
            .saturating_sub(usize::from(self.foot_area.height));
        frame.render_widget(
            Paragraph::new(self.foot).scroll((u16::try_from(foot_scroll).unwrap_or(0), 0)),
            self.foot_area,
        );
    }
}
