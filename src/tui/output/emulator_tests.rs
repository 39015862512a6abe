//! The encoder's bytes replayed in a terminal emulator (vt100) next to
//! crossterm's for the same diffs: random frames (styles, wide symbols,
//! gaps, clears, raw writes) and exectop's own screen, which must look the
//! same as before in far fewer bytes.

use std::cell::RefCell;
use std::io::{self, Write};
use std::rc::Rc;

use ratatui::Terminal;
use ratatui::backend::{Backend, ClearType, CrosstermBackend};
use ratatui::buffer::{Buffer, Cell, CellWidth};
use ratatui::layout::{Position, Rect, Size};
use ratatui::style::{Color, Modifier, Style};

use super::encoder::Encoder;
use super::quiet_backend::QuietBackend;
use super::sgr::named_index;
use crate::tui::render;
use crate::tui::render_tests::sized;
use crate::tui::sample::{self, update};
use crate::tui::update::Msg;

/// A small deterministic generator: no dependency for random frames.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn colour(&mut self) -> Color {
        match self.below(10) {
            0..=3 => Color::Reset,
            4..=7 => [
                Color::Black,
                Color::Red,
                Color::Green,
                Color::Yellow,
                Color::Blue,
                Color::Magenta,
                Color::Cyan,
                Color::Gray,
                Color::DarkGray,
                Color::LightRed,
                Color::LightGreen,
                Color::LightYellow,
                Color::LightBlue,
                Color::LightMagenta,
                Color::LightCyan,
                Color::White,
            ][self.below(16) as usize],
            8 => Color::Indexed(self.below(256) as u8),
            _ => Color::Rgb(self.below(256) as u8, 7, self.below(256) as u8),
        }
    }

    fn style(&mut self) -> Style {
        let mut modifier = Modifier::empty();
        for bit in 0..9 {
            if self.chance(15) {
                modifier |= Modifier::from_bits_truncate(1 << bit);
            }
        }
        let underline = if self.chance(20) {
            self.colour()
        } else {
            Color::Reset
        };
        Style::new()
            .fg(self.colour())
            .bg(self.colour())
            .underline_color(underline)
            .add_modifier(modifier)
    }

    fn words(&mut self) -> String {
        const WORDS: [&str; 12] = [
            "ok", "job-17", "漢字", "コ", "│", "━━", "·", " ", "a", "e\u{301}", "  ", "running",
        ];
        (0..1 + self.below(4))
            .map(|_| WORDS[self.below(WORDS.len() as u64) as usize])
            .collect()
    }

    /// A few spans of random text and style over `buf`.
    /// Short words stacked down a few columns, as ages ticking in a table:
    /// the frames the encoder may write column by column.
    fn paint_columns(&mut self, buf: &mut Buffer) {
        let area = buf.area;
        for _ in 0..1 + self.below(3) {
            let x = self.below(u64::from(area.width)) as u16;
            let style = self.style();
            for y in 0..area.height {
                if self.chance(70) {
                    let word = ["1", "42", "x", "漢", "9m"][self.below(5) as usize];
                    buf.set_stringn(x, y, word, usize::from(area.width - x), style);
                }
            }
        }
        settle_wide(buf);
    }

    fn paint(&mut self, buf: &mut Buffer, spans: u64) {
        let area = buf.area;
        for _ in 0..spans {
            let (x, y) = (
                self.below(u64::from(area.width)) as u16,
                self.below(u64::from(area.height)) as u16,
            );
            let style = self.style();
            let words = self.words();
            buf.set_stringn(x, y, words, usize::from(area.width - x), style);
        }
        settle_wide(buf);
    }
}

/// ratatui's diff assumes no symbol in a wide one's second column:
/// a span painted over it wins, as it would on a terminal.
fn settle_wide(buf: &mut Buffer) {
    let area = buf.area;
    for y in 0..area.height {
        for x in 0..area.width - 1 {
            if buf[(x, y)].symbol().cell_width() == 2 && buf[(x + 1, y)].symbol() != " " {
                buf[(x, y)].set_symbol(" ");
            }
        }
    }
}

/// vt100's colours for ratatui's: the same palette index either way.
fn emulated(color: Color) -> vt100::Color {
    match color {
        Color::Reset => vt100::Color::Default,
        Color::Indexed(i) => vt100::Color::Idx(i),
        Color::Rgb(r, g, b) => vt100::Color::Rgb(r, g, b),
        named => vt100::Color::Idx(named_index(named).unwrap()),
    }
}

/// How a cell looks, as far as vt100 tells: symbol, colours, and the
/// attributes it knows (not blink, hidden, crossed out, underline colour).
#[derive(Debug, PartialEq)]
struct Look {
    symbol: String,
    fg: vt100::Color,
    bg: vt100::Color,
    /// vt100 keeps one of bold (1) and dim (2); ratatui may ask both (3).
    intensity: u8,
    italic: bool,
    underline: bool,
    inverse: bool,
}

impl Look {
    fn of(cell: &Cell) -> Look {
        let m = cell.modifier;
        Look {
            symbol: cell.symbol().to_string(),
            fg: emulated(cell.fg),
            bg: emulated(cell.bg),
            intensity: u8::from(m.contains(Modifier::BOLD))
                + 2 * u8::from(m.contains(Modifier::DIM)),
            italic: m.contains(Modifier::ITALIC),
            underline: m.contains(Modifier::UNDERLINED),
            inverse: m.contains(Modifier::REVERSED),
        }
    }

    fn shown(cell: &vt100::Cell) -> Look {
        Look {
            symbol: match cell.contents() {
                "" => " ".to_string(),
                c => c.to_string(),
            },
            fg: cell.fgcolor(),
            bg: cell.bgcolor(),
            intensity: u8::from(cell.bold()) + 2 * u8::from(cell.dim()),
            italic: cell.italic(),
            underline: cell.underline(),
            inverse: cell.inverse(),
        }
    }

    /// Equal, but where bold and dim were both asked for, either counts.
    fn matches(&self, other: &Look, asked: &Look) -> bool {
        let intensity = |l: &Look| if asked.intensity == 3 { 0 } else { l.intensity };
        Look {
            intensity: intensity(self),
            ..self.clone_plain()
        } == Look {
            intensity: intensity(other),
            ..other.clone_plain()
        }
    }

    fn clone_plain(&self) -> Look {
        Look {
            symbol: self.symbol.clone(),
            ..*self
        }
    }
}

/// Asserts that the screen the encoder's bytes made (`new`) looks like
/// the one crossterm's bytes made (`old`) in every cell, and like `buf`
/// wherever crossterm's does. (vt100 blanks the tail of a wide symbol
/// written over with the pen of the time, where ratatui assumes a default
/// blank: crossterm's screen differs from the buffer there too.)
pub(in crate::tui) fn assert_looks_as_before(
    new: &vt100::Screen,
    old: &vt100::Screen,
    buf: &Buffer,
    context: &str,
) {
    let area = buf.area;
    for y in 0..area.height {
        let mut x = 0;
        while x < area.width {
            let asked = Look::of(&buf[(x, y)]);
            let (new_cell, old_cell) = (new.cell(y, x).unwrap(), old.cell(y, x).unwrap());
            let (now, before) = (Look::shown(new_cell), Look::shown(old_cell));
            let at = format!("{context} at ({x}, {y}): asked {asked:?}");
            if before.matches(&asked, &asked) {
                assert!(now.matches(&asked, &asked), "{at}, is {now:?}");
            } else {
                // Such a tail takes the pen's colours, and bold or dim by
                // the order each backend sent them in (vt100 keeps one).
                assert_eq!(before.symbol, asked.symbol, "{at}: crossterm's differs");
                let both = Look {
                    intensity: 3,
                    ..asked.clone_plain()
                };
                assert!(
                    now.matches(&before, &both),
                    "{at}, was {before:?}, is {now:?}"
                );
            }
            assert_eq!(new_cell.is_wide(), old_cell.is_wide(), "{at}");
            x += if new_cell.is_wide() { 2 } else { 1 };
        }
    }
}

/// vt100 reads `58;2;r;g;b` as 58 (unknown), then 2 (dim), then r as a
/// code, and so on: underline colours are taken out before it sees them.
fn without_underline_colours(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some(start) = rest.windows(2).position(|w| w == b"\x1b[") {
        out.extend_from_slice(&rest[..start]);
        rest = &rest[start..];
        let end = rest.iter().position(|b| b.is_ascii_alphabetic()).unwrap();
        if rest[end] != b'm' {
            out.extend_from_slice(&rest[..=end]);
            rest = &rest[end + 1..];
            continue;
        }
        let params = std::str::from_utf8(&rest[2..end]).unwrap();
        let mut kept = Vec::new();
        let mut codes = params.split(';');
        while let Some(code) = codes.next() {
            // A colour's own parameters follow it: `5;n` or `2;r;g;b`.
            let mut colour = vec![code];
            if matches!(code, "38" | "48" | "58") {
                let form = codes.next().unwrap();
                colour.push(form);
                colour.extend(codes.by_ref().take(if form == "5" { 1 } else { 3 }));
            }
            if !matches!(code, "58" | "59") {
                kept.extend(colour);
            }
        }
        // Taking out a lone 58/59 must not leave `ESC[m`, a reset.
        if !kept.is_empty() || params.is_empty() {
            out.extend_from_slice(format!("\x1b[{}m", kept.join(";")).as_bytes());
        }
        rest = &rest[end + 1..];
    }
    out.extend_from_slice(rest);
    out
}

pub(in crate::tui) fn emulator(size: Size) -> vt100::Parser {
    let nonzero = |n| std::num::NonZeroU16::new(n).unwrap();
    vt100::Parser::new(nonzero(size.height), nonzero(size.width), 0)
}

pub(in crate::tui) fn replay(parser: &mut vt100::Parser, bytes: &[u8]) {
    parser.process(&without_underline_colours(bytes));
}

#[test]
fn random_frames_look_the_same_in_an_emulator_as_in_ratatui() {
    // crossterm writes no colour where NO_COLOR is set; colours are compared.
    crossterm::style::Colored::set_ansi_color_disabled(false);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // ENCODER_CASES=3000 searches longer (about two minutes).
    let cases: u64 = std::env::var("ENCODER_CASES").map_or(12, |v| v.parse().unwrap());
    for case in 0..cases {
        let random_size =
            |rng: &mut Rng| Size::new(8 + rng.below(40) as u16, 2 + rng.below(10) as u16);
        let mut size = random_size(&mut rng);
        let mut e = Encoder::new(true);
        let mut parser = emulator(size);
        let mut old = emulator(size);
        let mut prev = Buffer::empty(Rect::from((Position::ORIGIN, size)));
        let (mut new_bytes, mut old_bytes) = (0, 0);
        for frame in 0..150 {
            let mut out = Vec::new();
            let mut clear = frame == 0 || rng.chance(5);
            if rng.chance(2) {
                // A resize: ratatui clears, then draws everything again.
                size = random_size(&mut rng);
                for p in [&mut parser, &mut old] {
                    *p = emulator(size);
                }
                e.fit(Some(size));
                clear = true;
            }
            let area = Rect::from((Position::ORIGIN, size));
            let context = format!("case {case}, frame {frame}, {size}");
            if clear {
                e.reset_pen(&mut out);
                out.extend_from_slice(b"\x1b[2J");
                e.cleared(Some(size));
                old.process(b"\x1b[2J");
                prev = Buffer::empty(area);
            } else if rng.chance(5) {
                // Raw bytes between frames, such as an OSC 52 copy.
                out.extend_from_slice(b"\x1b]52;c;eA==\x07");
                e.forget_cursor_and_pen();
            } else if rng.chance(5) {
                let at = Position::new(rng.below(u64::from(size.width)) as u16, 0);
                out.extend_from_slice(format!("\x1b[1;{}H", at.x + 1).as_bytes());
                e.cursor_moved(at);
            } else if rng.chance(3) {
                e.forget_screen();
            }
            let mut next = if rng.chance(10) {
                Buffer::empty(area)
            } else {
                prev.clone()
            };
            let spans = if rng.chance(10) { 40 } else { 1 + rng.below(4) };
            if rng.chance(30) {
                rng.paint_columns(&mut next);
            } else {
                rng.paint(&mut next, spans);
            }
            let diff = prev.diff(&next);
            e.fit(Some(size));
            e.encode(diff.iter().copied(), &mut out);
            replay(&mut parser, &out);
            new_bytes += out.len();
            let mut crossterm = Vec::new();
            CrosstermBackend::new(&mut crossterm)
                .draw(diff.iter().copied())
                .unwrap();
            replay(&mut old, &crossterm);
            old_bytes += crossterm.len();
            assert_looks_as_before(parser.screen(), old.screen(), &next, &context);
            prev = next;
        }
        assert!(
            new_bytes * 10 < old_bytes * 8,
            "case {case}: {new_bytes} bytes, crossterm {old_bytes}"
        );
    }
}

/// The bytes a backend wrote, readable while a `Terminal` holds it.
#[derive(Clone, Default)]
pub(super) struct Written(pub(super) Rc<RefCell<Vec<u8>>>);

impl Written {
    pub(super) fn take(&self) -> Vec<u8> {
        std::mem::take(&mut self.0.borrow_mut())
    }
}

impl Write for Written {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn exectops_screen_costs_far_fewer_bytes_and_looks_the_same() {
    // crossterm writes no colour where NO_COLOR is set; colours are compared.
    crossterm::style::Colored::set_ansi_color_disabled(false);
    let size = Size::new(160, 48);
    let mut app = sized(sample::app(false), size.width, size.height);
    let written = Written::default();
    let backend = QuietBackend::sized_by(written.clone(), true, || Ok(Size::new(160, 48)));
    let mut terminal = Terminal::new(backend).unwrap();
    // As `TerminalGuard::enter` does.
    terminal.backend_mut().clear_region(ClearType::All).unwrap();
    let (mut new, mut old) = (emulator(size), emulator(size));
    old.process(b"\x1b[2J");
    let mut prev = Buffer::empty(Rect::new(0, 0, size.width, size.height));
    let mut bytes = Vec::new();
    for minute in 0..3 {
        let now = sample::now() + chrono::Duration::seconds(61 * minute);
        update(&mut app, Msg::Tick(now));
        let next = terminal
            .draw(|f| {
                render::render(f, &app);
            })
            .unwrap()
            .buffer
            .clone();
        let encoded = written.take();
        let mut crossterm = Vec::new();
        CrosstermBackend::new(&mut crossterm)
            .draw(prev.diff(&next).into_iter())
            .unwrap();
        replay(&mut new, &encoded);
        replay(&mut old, &crossterm);
        assert_looks_as_before(
            new.screen(),
            old.screen(),
            &next,
            &format!("minute {minute}"),
        );
        // Before, every frame had the synchronized-update markers too.
        bytes.push((encoded.len(), crossterm.len() + 16));
        prev = next;
    }
    let [(first, first_before), (second, second_before), ..] = bytes[..] else {
        unreachable!()
    };
    // Text is most of a first frame (box drawing is three bytes a cell);
    // a later frame is mostly moves and colours.
    assert!(first * 4 < first_before * 3, "first frame: {bytes:?}");
    assert!(second * 3 < second_before * 2, "a minute later: {bytes:?}");
}
