//! The terminal guard: alternate screen and raw mode while the TUI runs, and
//! a restore that runs on every exit path (Drop, panic, signal) exactly once,
//! so a crash never leaves the operator's shell in raw mode. Draws that
//! change many cells are wrapped in synchronized updates (no tearing) and,
//! by default, encoded in few bytes by `QuietBackend`.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::mem::ManuallyDrop;
use std::os::fd::AsFd;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::{DisableBracketedPaste, DisableMouseCapture};
use crossterm::terminal::{
    EndSynchronizedUpdate, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode,
    enable_raw_mode,
};
use crossterm::{cursor, execute};
use ratatui::backend::{Backend, ClearType};
use ratatui::{Frame, Terminal};

use super::output::{Output, OutputKind};

/// True while the terminal is in TUI mode; makes `restore` idempotent.
static ACTIVE: AtomicBool = AtomicBool::new(false);
static HOOK: Once = Once::new();
/// Set by the panic hook: a panic anywhere (a background task included) has
/// already restored the terminal, so the event loop must not draw again.
static PANICKED: AtomicBool = AtomicBool::new(false);

/// Whether any thread or task panicked since the TUI started.
pub fn panicked() -> bool {
    PANICKED.load(Ordering::SeqCst)
}

/// Frames go to stdout's descriptor through a buffer of their own: std's
/// stdout is line-buffered and would split a frame at its line feeds.
type FrameWriter = BufWriter<File>;

/// Room for a frame and the few commands around it (cursor, update
/// markers), so a draw leaves in one `write(2)`; a larger frame is written
/// straight through.
const FRAME_BUFFER: usize = 64 * 1024;

fn frame_writer() -> io::Result<FrameWriter> {
    let stdout = io::stdout().as_fd().try_clone_to_owned()?;
    Ok(BufWriter::with_capacity(FRAME_BUFFER, File::from(stdout)))
}

pub struct TerminalGuard {
    /// Never dropped: ratatui's `Terminal::drop` re-shows the cursor and,
    /// when that fails because the terminal is gone (SSH drop), `eprintln!`s
    /// into the dead stderr, which panics inside a drop and aborts the
    /// process. `restore` shows the cursor itself, best effort.
    terminal: ManuallyDrop<Terminal<Output<FrameWriter>>>,
}

impl TerminalGuard {
    /// Enters TUI mode. Call after `color_eyre::install()`: the panic hook
    /// installed here restores the terminal first, then chains the hook that
    /// was there (color-eyre's), so its report lands on a sane screen.
    pub fn enter(output: OutputKind) -> io::Result<TerminalGuard> {
        HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                PANICKED.store(true, Ordering::SeqCst);
                restore();
                previous(info);
            }));
        });
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        let mut out = io::stdout();
        if let Err(e) = execute!(out, EnterAlternateScreen, cursor::Hide) {
            restore();
            return Err(e);
        }
        // A clear the backend sees, whatever the alternate screen held: the
        // first frame then knows every cell it does not write is blank.
        let terminal = frame_writer()
            .and_then(|writer| Terminal::new(Output::new(output, writer, true)))
            .and_then(|mut t| {
                t.backend_mut().clear_region(ClearType::All)?;
                Ok(t)
            });
        let terminal = match terminal {
            Ok(t) => ManuallyDrop::new(t),
            Err(e) => {
                restore();
                return Err(e);
            }
        };
        Ok(TerminalGuard { terminal })
    }

    /// One frame; only the cells that changed are written. Returns what
    /// `f` returned (the frame's measures).
    pub fn draw<T>(&mut self, f: impl FnOnce(&mut Frame) -> T) -> io::Result<T> {
        let mut out = None;
        self.terminal.draw(|frame| out = Some(f(frame)))?;
        Ok(out.expect("ratatui calls the draw closure once per draw"))
    }

    /// After a resize the next draw repaints everything.
    pub fn clear(&mut self) -> io::Result<()> {
        self.terminal.clear()
    }

    /// Writes raw bytes (an OSC 52 sequence) to the terminal.
    pub fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        let backend = self.terminal.backend_mut();
        backend.write_all(bytes)?;
        Write::flush(backend)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Best-effort restore: every step runs even when an earlier one fails
/// (after SSH drops, all of them fail, and that is fine).
pub fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let _ = disable_raw_mode();
    let mut out = io::stdout();
    // Mouse capture and bracketed paste are never enabled today; disabling
    // them is harmless and keeps the restore right if that ever changes.
    let _ = execute!(
        out,
        DisableMouseCapture,
        DisableBracketedPaste,
        EndSynchronizedUpdate,
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = out.flush();
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (RFC 4648), as OSC 52 expects.
pub fn base64(input: &[u8]) -> String {
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The OSC 52 "set clipboard" sequence for `text`.
pub fn osc52(text: &str) -> String {
    format!("\x1b]52;c;{}\x07", base64(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain:?}");
        }
        assert_eq!(base64(&[0xff, 0xfe, 0xfd]), "//79");
    }

    #[test]
    fn osc52_wraps_the_encoded_text() {
        assert_eq!(osc52("exec-42"), "\x1b]52;c;ZXhlYy00Mg==\x07");
    }
}
