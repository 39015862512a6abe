//! SGR, the sequences that set colours and attributes: the shortest one
//! from what the terminal's pen is to what a cell needs.
//!
//! Named colours take their short codes (30–37, 90–97; 40–47, 100–107),
//! palette indexes `38;5;n`, RGB `38;2;r;g;b`, the default 39/49, underline
//! colours `58;…`/59 (as crossterm wrote them). Attributes are added and
//! removed with their own codes, all in one sequence, unless a reset and
//! the adds are shorter.

use std::io::Write as _;

use ratatui::buffer::Cell;
use ratatui::style::{Color, Modifier};

/// The terminal's current graphic rendition: what SGR sequences have set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Pen {
    fg: Color,
    bg: Color,
    underline: Color,
    modifier: Modifier,
    /// The foreground was sent as a palette index (`38;5;n`), not as a
    /// named colour (`3n`). Some terminals (xterm, whose `boldColors` is on
    /// by default) brighten bold text in a named dark colour (30–37) but
    /// not in a palette index, and crossterm always sent indexes: a bold
    /// dark foreground keeps the index form so it looks as it did.
    fg_indexed: bool,
}

impl Pen {
    pub(super) const DEFAULT: Pen = Pen {
        fg: Color::Reset,
        bg: Color::Reset,
        underline: Color::Reset,
        modifier: Modifier::empty(),
        fg_indexed: false,
    };

    /// What a cell needs the pen to be. Without colour (`NO_COLOR`, which
    /// crossterm honoured by writing no colour) only attributes are set.
    pub(super) fn for_cell(cell: &Cell, colour: bool) -> Pen {
        let (fg, bg, underline) = if colour {
            (cell.fg, cell.bg, cell.underline_color)
        } else {
            (Color::Reset, Color::Reset, Color::Reset)
        };
        Pen {
            fg,
            bg,
            underline,
            modifier: cell.modifier,
            fg_indexed: cell.modifier.contains(Modifier::BOLD) && dark_named(fg).is_some(),
        }
    }

    /// Whether text written with this pen looks as `want` asks.
    pub(super) fn draws(&self, want: &Pen) -> bool {
        self.fg == want.fg
            && self.bg == want.bg
            && self.underline == want.underline
            && self.modifier == want.modifier
            && (self.fg_indexed || !want.fg_indexed)
    }
}

/// The palette index of a named colour, `Some` for the eight dark ones.
fn dark_named(color: Color) -> Option<u8> {
    named_index(color).filter(|i| *i < 8)
}

/// The palette index crossterm sent for a named colour.
pub(super) fn named_index(color: Color) -> Option<u8> {
    Some(match color {
        Color::Black => 0,
        Color::Red => 1,
        Color::Green => 2,
        Color::Yellow => 3,
        Color::Blue => 4,
        Color::Magenta => 5,
        Color::Cyan => 6,
        Color::Gray => 7,
        Color::DarkGray => 8,
        Color::LightRed => 9,
        Color::LightGreen => 10,
        Color::LightYellow => 11,
        Color::LightBlue => 12,
        Color::LightMagenta => 13,
        Color::LightCyan => 14,
        Color::White => 15,
        Color::Reset | Color::Indexed(_) | Color::Rgb(..) => return None,
    })
}

/// SGR parameters, joined by `;` after the `ESC[` already written.
struct Params<'a> {
    out: &'a mut Vec<u8>,
    empty: bool,
}

impl Params<'_> {
    fn code(&mut self, code: u8) {
        self.separate();
        let _ = write!(self.out, "{code}");
    }

    fn separate(&mut self) {
        if !self.empty {
            self.out.push(b';');
        }
        self.empty = false;
    }

    /// `base` is 30 for the foreground, 40 for the background; the bright
    /// named colours are 60 above. `index_form` writes `38;5;n` instead.
    fn colour(&mut self, base: u8, color: Color, index_form: bool) {
        self.separate();
        let _ = match (color, named_index(color)) {
            (Color::Reset, _) => write!(self.out, "{}", base + 9),
            (_, Some(i)) if index_form => write!(self.out, "{};5;{i}", base + 8),
            (_, Some(i)) if i < 8 => write!(self.out, "{}", base + i),
            (_, Some(i)) => write!(self.out, "{}", base + 60 + i - 8),
            (Color::Indexed(i), _) => write!(self.out, "{};5;{i}", base + 8),
            (Color::Rgb(r, g, b), _) => write!(self.out, "{};2;{r};{g};{b}", base + 8),
            _ => unreachable!("every colour is named, indexed, RGB or reset"),
        };
    }

    /// Underline colours have no short form: `58;5;n`, `58;2;r;g;b`, `59`.
    fn underline(&mut self, color: Color) {
        self.separate();
        let _ = match (color, named_index(color)) {
            (Color::Reset, _) => write!(self.out, "59"),
            (_, Some(i)) | (Color::Indexed(i), _) => write!(self.out, "58;5;{i}"),
            (Color::Rgb(r, g, b), _) => write!(self.out, "58;2;{r};{g};{b}"),
            _ => unreachable!("every colour is named, indexed, RGB or reset"),
        };
    }
}

/// SGR codes that add each modifier, in ratatui's bit order.
const ADD_CODES: [(Modifier, u8); 9] = [
    (Modifier::BOLD, 1),
    (Modifier::DIM, 2),
    (Modifier::ITALIC, 3),
    (Modifier::UNDERLINED, 4),
    (Modifier::SLOW_BLINK, 5),
    (Modifier::RAPID_BLINK, 6),
    (Modifier::REVERSED, 7),
    (Modifier::HIDDEN, 8),
    (Modifier::CROSSED_OUT, 9),
];

/// SGR codes that remove modifiers. 22 ends both bold and dim, 25 both
/// blinks: the one that stays is added again.
const REMOVE_CODES: [(Modifier, u8); 7] = [
    (Modifier::BOLD.union(Modifier::DIM), 22),
    (Modifier::ITALIC, 23),
    (Modifier::UNDERLINED, 24),
    (Modifier::SLOW_BLINK.union(Modifier::RAPID_BLINK), 25),
    (Modifier::REVERSED, 27),
    (Modifier::HIDDEN, 28),
    (Modifier::CROSSED_OUT, 29),
];

/// Appends the shortest SGR sequence that takes the terminal from `from`
/// (`None`: unknown) to `want`, nothing when no change shows, and returns
/// the pen after.
pub(super) fn sgr(from: Option<&Pen>, want: &Pen, out: &mut Vec<u8>) -> Pen {
    if let Some(from) = from
        && from.draws(want)
    {
        return *from;
    }
    let start = out.len();
    let mut diff_pen = None;
    if let Some(from) = from {
        out.extend_from_slice(b"\x1b[");
        diff_pen = Some(push_changes(from, want, out));
        out.push(b'm');
    }
    let reset_start = out.len();
    out.extend_from_slice(b"\x1b[");
    let mut params = Params {
        out: &mut *out,
        empty: true,
    };
    if *want != Pen::DEFAULT {
        params.code(0);
    }
    push_whole(want, &mut params);
    out.push(b'm');
    let reset_len = out.len() - reset_start;
    match diff_pen {
        Some(pen) if reset_start - start <= reset_len => {
            out.truncate(reset_start);
            pen
        }
        _ => {
            out.drain(start..reset_start);
            *want
        }
    }
}

/// Every attribute and colour of `want`, as after a reset.
fn push_whole(want: &Pen, params: &mut Params) {
    for (modifier, code) in ADD_CODES {
        if want.modifier.contains(modifier) {
            params.code(code);
        }
    }
    if want.fg != Color::Reset {
        params.colour(30, want.fg, want.fg_indexed);
    }
    if want.bg != Color::Reset {
        params.colour(40, want.bg, false);
    }
    if want.underline != Color::Reset {
        params.underline(want.underline);
    }
}

/// Only what differs between `from` and `want`.
fn push_changes(from: &Pen, want: &Pen, out: &mut Vec<u8>) -> Pen {
    let mut params = Params { out, empty: true };
    let removed = from.modifier - want.modifier;
    let mut add = want.modifier - from.modifier;
    for (modifiers, code) in REMOVE_CODES {
        if removed.intersects(modifiers) {
            params.code(code);
            add |= want.modifier & modifiers;
        }
    }
    for (modifier, code) in ADD_CODES {
        if add.contains(modifier) {
            params.code(code);
        }
    }
    let mut pen = *want;
    if from.fg != want.fg || (want.fg_indexed && !from.fg_indexed) {
        params.colour(30, want.fg, want.fg_indexed);
    } else {
        pen.fg_indexed = from.fg_indexed;
    }
    if from.bg != want.bg {
        params.colour(40, want.bg, false);
    }
    if from.underline != want.underline {
        params.underline(want.underline);
    }
    pen
}
