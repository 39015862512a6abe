//! The themes: what each must tell apart, and whole screens drawn in them.
//! Insta's text snapshot of a TestBackend holds only the symbols, so these
//! snapshot the buffer's `Debug`, which lists every change of style too.

use super::*;
use crate::tui::render_tests::{draw, sized};
use crate::tui::sample;

/// The whole sample screen at 80×24 in `theme`, with its styles.
fn screen(theme: Theme) -> ratatui::buffer::Buffer {
    let mut app = sample::app(false);
    app.settings.theme = theme;
    let app = sized(app, 80, 24);
    draw(&app, 80, 24).backend().buffer().clone()
}

/// Today's colours, style by style: the dark theme must keep them.
#[test]
fn dark_whole_screen_80x24_styles() {
    insta::assert_debug_snapshot!(screen(Theme::colour()));
}

/// Today's modifier-only screen under `NO_COLOR`.
#[test]
fn no_color_whole_screen_80x24_styles() {
    insta::assert_debug_snapshot!(screen(Theme::no_color()));
}
