//! The Log pane: tracing events captured by tui-logger.

use ratatui::Frame;
use ratatui::layout::Rect;
use tui_logger::{TuiLoggerLevelOutput, TuiLoggerWidget};

use super::pane_block;
use crate::tui::app::{App, Pane};

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let theme = app.theme();
    let widget = TuiLoggerWidget::default()
        .block(pane_block(app, Pane::Log, "Log".to_string()))
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
