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
