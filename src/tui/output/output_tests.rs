//! Both outputs show the same screen for the same frames: the encoder is an
//! optimisation, never a different picture.

use ratatui::backend::{Backend, ClearType};
use ratatui::layout::{Rect, Size};
use ratatui::{Terminal, TerminalOptions, Viewport};

use super::emulator_tests::{Written, emulator, replay};
use super::quiet_backend::QuietBackend;
use super::{Output, OutputKind};
use crate::tui::keymap::Command;
use crate::tui::render;
use crate::tui::render_tests::sized;
use crate::tui::sample::{self, update};
use crate::tui::update::Msg;

fn terminal(kind: OutputKind, written: &Written, size: Size) -> Terminal<Output<Written>> {
    let backend = match kind {
        OutputKind::Quiet => Output::Quiet(QuietBackend::sized_by(written.clone(), true, || {
            Ok(Size::new(120, 40))
        })),
        OutputKind::Plain => Output::new(OutputKind::Plain, written.clone(), true),
    };
    let area = Rect::new(0, 0, size.width, size.height);
    let mut terminal = Terminal::with_options(
        backend,
        TerminalOptions {
            viewport: Viewport::Fixed(area),
        },
    )
    .unwrap();
    // As `TerminalGuard::enter` does.
    terminal.backend_mut().clear_region(ClearType::All).unwrap();
    terminal
}

#[test]
fn the_quiet_and_the_plain_output_show_the_same_screens() {
    crossterm::style::Colored::set_ansi_color_disabled(false);
    let size = Size::new(120, 40);
    let mut app = sized(sample::app(false), size.width, size.height);
    let (quiet_bytes, plain_bytes) = (Written::default(), Written::default());
    let mut quiet = terminal(OutputKind::Quiet, &quiet_bytes, size);
    let mut plain = terminal(OutputKind::Plain, &plain_bytes, size);
    let (mut quiet_screen, mut plain_screen) = (emulator(size), emulator(size));
    let key = |app: &mut crate::tui::state::App, command: Command| {
        let k = app.keymap().keys(command)[0];
        update(
            app,
            Msg::Key(crossterm::event::KeyEvent::new(
                k.code,
                crossterm::event::KeyModifiers::NONE,
            )),
        );
    };
    let steps: [(&str, Option<Command>); 5] = [
        ("first screen", None),
        ("cursor down", Some(Command::Down)),
        ("details open", Some(Command::Details)),
        ("details closed", Some(Command::Close)),
        ("help open", Some(Command::Help)),
    ];
    let mut frames = 0;
    for (what, command) in steps {
        if let Some(command) = command {
            key(&mut app, command);
        }
        quiet
            .draw(|f| {
                render::render(f, &app);
            })
            .unwrap();
        plain
            .draw(|f| {
                render::render(f, &app);
            })
            .unwrap();
        let (q, p) = (quiet_bytes.take(), plain_bytes.take());
        assert!(!p.is_empty(), "{what}: the plain output wrote the frame");
        replay(&mut quiet_screen, &q);
        replay(&mut plain_screen, &p);
        assert_eq!(
            quiet_screen.screen().contents(),
            plain_screen.screen().contents(),
            "{what}"
        );
        for row in 0..size.height {
            for col in 0..size.width {
                let (a, b) = (
                    quiet_screen.screen().cell(row, col).unwrap(),
                    plain_screen.screen().cell(row, col).unwrap(),
                );
                assert_eq!(
                    (a.fgcolor(), a.bgcolor(), a.bold(), a.inverse()),
                    (b.fgcolor(), b.bgcolor(), b.bold(), b.inverse()),
                    "{what}: cell {row},{col}"
                );
            }
        }
        frames += 1;
    }
    assert_eq!(frames, 5);
    assert!(
        plain_screen.screen().contents().contains("Keys"),
        "the last frame shows help: the frames compared were drawn"
    );
}
