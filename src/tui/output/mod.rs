//! The seam between frames and the terminal. By default frames go through
//! `QuietBackend` (the cells a frame changed, in few bytes, nothing for a
//! frame that changed nothing); `--plain-terminal` or `[ui] plain_terminal`
//! uses ratatui's own crossterm backend instead, for a terminal that
//! misbehaves with the encoder. Both show the same screen for the same
//! frames (`output_tests`).

mod encoder;
mod quiet_backend;
mod sgr;

#[cfg(test)]
mod emulator_tests;
#[cfg(test)]
mod encoder_tests;
#[cfg(test)]
mod output_tests;

use std::io::{self, Write};

use ratatui::backend::{Backend, ClearType, CrosstermBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};

pub use quiet_backend::QuietBackend;

/// Which backend writes the frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputKind {
    /// exectop's encoder: few bytes per frame.
    #[default]
    Quiet,
    /// ratatui's crossterm backend, as it comes.
    Plain,
}

pub enum Output<W: Write> {
    Quiet(QuietBackend<W>),
    Plain(CrosstermBackend<W>),
}

impl<W: Write> Output<W> {
    /// `cursor_hidden`: the caller hid the cursor before the first frame.
    pub fn new(kind: OutputKind, writer: W, cursor_hidden: bool) -> Self {
        match kind {
            OutputKind::Quiet => Output::Quiet(QuietBackend::new(writer, cursor_hidden)),
            OutputKind::Plain => Output::Plain(CrosstermBackend::new(writer)),
        }
    }
}

impl<W: Write> Write for Output<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Output::Quiet(b) => b.write(buf),
            Output::Plain(b) => b.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::Quiet(b) => Write::flush(b),
            Output::Plain(b) => Write::flush(b),
        }
    }
}

/// Every call goes to the backend chosen; nothing of its own.
macro_rules! each {
    ($self:ident, $b:ident => $call:expr) => {
        match $self {
            Output::Quiet($b) => $call,
            Output::Plain($b) => $call,
        }
    };
}

impl<W: Write> Backend for Output<W> {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        each!(self, b => b.draw(content))
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        each!(self, b => b.hide_cursor())
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        each!(self, b => b.show_cursor())
    }

    fn get_cursor_position(&mut self) -> io::Result<Position> {
        each!(self, b => b.get_cursor_position())
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        let position = position.into();
        each!(self, b => b.set_cursor_position(position))
    }

    fn clear(&mut self) -> io::Result<()> {
        each!(self, b => b.clear())
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        each!(self, b => b.clear_region(clear_type))
    }

    fn size(&self) -> io::Result<Size> {
        each!(self, b => b.size())
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        each!(self, b => b.window_size())
    }

    fn flush(&mut self) -> io::Result<()> {
        each!(self, b => Backend::flush(b))
    }
}
