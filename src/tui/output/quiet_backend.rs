//! exectop's terminal backend: crossterm for everything but the cells,
//! which `Encoder` writes in few bytes, and nothing for a frame that
//! changed nothing.
//!
//! The 1 Hz clock redraws an idle screen every second, and most of those
//! frames change no cell: such a frame writes no byte, not even a cursor
//! hide (it is hidden already). A frame that does change cells is written
//! by `encoder::Encoder`, which keeps what the terminal shows and moves and
//! colours relatively: a frame that changes a few digits costs a few bytes
//! more than the digits, where ratatui's crossterm backend wrote ~90.
//!
//! Synchronized-update markers (which stop a terminal showing half a frame) wrap a frame that follows a
//! clear or is larger than `UNMARKED_FRAME_LIMIT`. A smaller frame goes to
//! the terminal in one `write(2)` without them: the writer is a
//! `BufWriter` over stdout's descriptor, not std's line-buffered stdout
//! (which would write up to a frame's last line feed at once and the rest
//! at the flush), and nothing else is buffered when a draw begins (every
//! earlier write was flushed), so the frame leaves at the flush in one
//! piece, below the kernel's 2 KiB tty write chunk: the terminal reads it
//! in one go. The markers would add 16 bytes to a frame of a few dozen.

use std::io::{self, Write};

use crossterm::queue;
use crossterm::style::Colored;
use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use ratatui::backend::{Backend, ClearType, CrosstermBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};

use super::encoder::Encoder;

/// The largest frame written without synchronized-update markers: one
/// stdout buffer, so one `write(2)`.
const UNMARKED_FRAME_LIMIT: usize = 1024;

pub struct QuietBackend<W: Write> {
    inner: CrosstermBackend<W>,
    encoder: Encoder,
    /// The frame being written, reused from frame to frame.
    frame: Vec<u8>,
    /// A synchronized update is open: the next flush ends it.
    updating: bool,
    /// `TerminalGuard::enter` hides the cursor before the first frame.
    cursor_hidden: bool,
    /// The terminal's size; a test gives a fixed one.
    terminal_size: fn() -> io::Result<Size>,
}

fn crossterm_size() -> io::Result<Size> {
    let (width, height) = crossterm::terminal::size()?;
    Ok(Size { width, height })
}

impl<W: Write> QuietBackend<W> {
    pub fn new(writer: W, cursor_hidden: bool) -> Self {
        QuietBackend::sized_by(writer, cursor_hidden, crossterm_size)
    }

    pub(super) fn sized_by(
        writer: W,
        cursor_hidden: bool,
        terminal_size: fn() -> io::Result<Size>,
    ) -> Self {
        QuietBackend {
            inner: CrosstermBackend::new(writer),
            // crossterm writes no colour under NO_COLOR; neither does this.
            encoder: Encoder::new(!Colored::ansi_color_disabled_memoized()),
            frame: Vec::new(),
            updating: false,
            cursor_hidden,
            terminal_size,
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
    /// Raw bytes (an OSC 52 copy): the encoder no longer vouches for the
    /// cursor or the pen.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.encoder.forget_cursor_and_pen();
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
        // A resize between ratatui's size check and this draw makes the
        // shadow wrong: the encoder then forgets it and moves absolutely.
        self.encoder.fit((self.terminal_size)().ok());
        self.frame.clear();
        self.encoder.encode(content, &mut self.frame);
        if self.frame.len() > UNMARKED_FRAME_LIMIT {
            self.begin_update()?;
        }
        self.inner.write_all(&self.frame)
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
        let position = position.into();
        self.inner.set_cursor_position(position)?;
        self.encoder.cursor_moved(position);
        Ok(())
    }

    fn clear(&mut self) -> io::Result<()> {
        self.clear_region(ClearType::All)
    }

    /// A whole clear leaves a blank screen the encoder knows (the pen is
    /// reset first, as erased cells take its background); a partial one
    /// makes it forget the screen.
    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        self.begin_update()?;
        if clear_type != ClearType::All {
            self.inner.clear_region(clear_type)?;
            self.encoder.forget_screen();
            return Ok(());
        }
        self.frame.clear();
        self.encoder.reset_pen(&mut self.frame);
        self.inner.write_all(&self.frame)?;
        self.inner.clear_region(clear_type)?;
        self.encoder.cleared((self.terminal_size)().ok());
        Ok(())
    }

    fn size(&self) -> io::Result<Size> {
        (self.terminal_size)()
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
    pub(super) struct Screen(pub(super) std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

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

    fn backend(screen: &Screen) -> QuietBackend<Screen> {
        QuietBackend::sized_by(screen.clone(), true, || Ok(Size::new(80, 24)))
    }

    #[test]
    fn a_frame_that_changes_nothing_writes_nothing() {
        let screen = Screen::default();
        let mut backend = backend(&screen);
        backend.draw(std::iter::empty()).unwrap();
        backend.hide_cursor().unwrap();
        Backend::flush(&mut backend).unwrap();
        assert_eq!(written(&screen), "");
    }

    #[test]
    fn a_small_frame_is_written_without_synchronized_update_markers() {
        let screen = Screen::default();
        let mut backend = backend(&screen);
        let cell = Cell::new("x");
        backend.draw([(3, 1, &cell)].into_iter()).unwrap();
        backend.hide_cursor().unwrap();
        Backend::flush(&mut backend).unwrap();
        assert_eq!(written(&screen), "\x1b[2;4H\x1b[mx", "the pen was unknown");
        assert!(!written(&screen).contains("\x1b[?25l"), "hidden already");

        backend.show_cursor().unwrap();
        backend.hide_cursor().unwrap();
        assert!(
            written(&screen).ends_with("\x1b[?25l"),
            "shown, so hidden again"
        );
    }

    #[test]
    fn a_cleared_screen_is_drawn_inside_one_synchronized_update() {
        let screen = Screen::default();
        let mut backend = backend(&screen);
        backend.clear_region(ClearType::All).unwrap();
        let cells = [Cell::new("a"), Cell::new("b")];
        backend
            .draw([(0, 1, &cells[0]), (0, 2, &cells[1])].into_iter())
            .unwrap();
        Backend::flush(&mut backend).unwrap();
        assert_eq!(
            written(&screen),
            format!("{BEGIN}\x1b[m\x1b[2J\x1b[2Ha\r\nb{END}"),
            "the pen reset before the clear"
        );
    }

    #[test]
    fn a_large_frame_is_drawn_inside_one_synchronized_update() {
        let screen = Screen::default();
        let mut backend = backend(&screen);
        let cell = &Cell::new("━");
        let rows = (0..10).flat_map(|y| (0..80).map(move |x| (x, 2 * y, cell)));
        backend.draw(rows).unwrap();
        Backend::flush(&mut backend).unwrap();
        let out = written(&screen);
        assert!(out.len() > UNMARKED_FRAME_LIMIT, "{}", out.len());
        assert!(out.starts_with(BEGIN) && out.ends_with(END), "{out:?}");
    }
}
