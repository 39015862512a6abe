//! The Log pane: tracing events captured by tui-logger.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::Block;
use tui_logger::{TuiLoggerLevelOutput, TuiLoggerWidget};

use super::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, block: Block<'_>, theme: &Theme) {
    let widget = TuiLoggerWidget::default()
        .block(block)
        .output_separator(' ')
        .output_timestamp(Some("%H:%M:%S".to_string()))
        .output_level(Some(TuiLoggerLevelOutput::Abbreviated))
        .output_target(true)
        .output_file(false)
        .output_line(false)
        .style_error(theme.bad)
        .style_warn(theme.warn)
        .style_debug(theme.dim)
        .style_trace(theme.dim);
    frame.render_widget(widget, area);
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    use crate::tui::sample::{self, update};
    use crate::tui::state::Pane;
    use crate::tui::update::Msg;

    fn press(app: &mut crate::tui::state::App, code: KeyCode) {
        update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    #[test]
    fn the_log_key_shows_the_pane_tab_reaches_it_and_hiding_it_moves_the_focus() {
        let mut app = sample::app(false);
        press(&mut app, KeyCode::Char('l'));
        assert!(app.show_log);
        for _ in 0..3 {
            press(&mut app, KeyCode::Tab);
        }
        assert_eq!(app.focus, Pane::Log);
        press(&mut app, KeyCode::Char('l'));
        assert!(!app.show_log);
        assert_eq!(app.focus, Pane::Running);
    }
}
