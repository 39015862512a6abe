//! A crossterm backend that writes nothing for a frame that changed nothing.
//!
//! The 1 Hz clock redraws an idle screen every second, and most of those
//! frames change no cell. ratatui's crossterm backend still writes four
//! colour and attribute resets after every draw, and the terminal hides the
//! cursor again every frame: about 40 bytes a second to an idle wall
//! terminal over SSH, with the synchronized-update markers. Here a frame is
//! wrapped in a synchronized update (pitfall 4) only when it has cells to
//! write, and the cursor is hidden only when it is shown.

use std::io::{self, Write};

use crossterm::queue;
use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use ratatui::backend::{Backend, ClearType, CrosstermBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};

pub struct QuietBackend<W: Write> {
    inner: CrosstermBackend<W>,
    /// A synchronized update is open: the next flush ends it.
    updating: bool,
    /// `TerminalGuard::enter` hides the cursor before the first frame.
    cursor_hidden: bool,
}

impl<W: Write> QuietBackend<W> {
    pub fn new(writer: W, cursor_hidden: bool) -> Self {
        QuietBackend {
            inner: CrosstermBackend::new(writer),
            updating: false,
            cursor_hidden,
        }
    }

    fn begin_update(&mut self) -> io::Result<()> {
        if !self.updating {
            queue!(self.inner, BeginSynchronizedUpdate)?;
            self.updating = true;
        }
        Ok(())
    }
}

impl<W: Write> Write for QuietBackend<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Write::flush(&mut self.inner)
    }
}

impl<W: Write> Backend for QuietBackend<W> {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let mut content = content.peekable();
        if content.peek().is_none() {
            return Ok(());
        }
        self.begin_update()?;
        self.inner.draw(content)
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        if self.cursor_hidden {
            return Ok(());
        }
        self.cursor_hidden = true;
        self.inner.hide_cursor()
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        self.cursor_hidden = false;
        self.inner.show_cursor()
    }

    fn get_cursor_position(&mut self) -> io::Result<Position> {
        self.inner.get_cursor_position()
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        self.inner.set_cursor_position(position)
    }

    fn clear(&mut self) -> io::Result<()> {
        self.begin_update()?;
        self.inner.clear()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        self.begin_update()?;
        self.inner.clear_region(clear_type)
    }

    fn size(&self) -> io::Result<Size> {
        self.inner.size()
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        self.inner.window_size()
    }

    /// Ends the frame's synchronized update, if it opened one, and flushes.
    fn flush(&mut self) -> io::Result<()> {
        if self.updating {
            self.updating = false;
            queue!(self.inner, EndSynchronizedUpdate)?;
        }
        Backend::flush(&mut self.inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEGIN: &str = "\x1b[?2026h";
    const END: &str = "\x1b[?2026l";

    /// What the backend wrote, readable while the backend holds the writer.
    #[derive(Clone, Default)]
    struct Screen(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

    impl Write for Screen {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn written(screen: &Screen) -> String {
        String::from_utf8(screen.0.borrow().clone()).unwrap()
    }

    #[test]
    fn a_frame_that_changes_nothing_writes_nothing() {
        let screen = Screen::default();
        let mut backend = QuietBackend::new(screen.clone(), true);
        backend.draw(std::iter::empty()).unwrap();
        backend.hide_cursor().unwrap();
        Backend::flush(&mut backend).unwrap();
        assert_eq!(written(&screen), "");
    }

    #[test]
    fn a_changed_cell_is_written_inside_one_synchronized_update() {
        let screen = Screen::default();
        let mut backend = QuietBackend::new(screen.clone(), true);
        let cell = Cell::new("x");
        backend.draw([(3, 1, &cell)].into_iter()).unwrap();
        backend.hide_cursor().unwrap();
        Backend::flush(&mut backend).unwrap();
        let out = written(&screen);
        assert!(out.starts_with(BEGIN), "{out:?}");
        assert!(out.ends_with(END), "{out:?}");
        assert!(out.contains('x'), "{out:?}");
        assert_eq!(out.matches(BEGIN).count(), 1, "{out:?}");
        assert!(!out.contains("\x1b[?25l"), "the cursor was hidden already");

        backend.show_cursor().unwrap();
        backend.hide_cursor().unwrap();
        assert!(
            written(&screen).ends_with("\x1b[?25l"),
            "shown, so hidden again"
        );
    }
}
