//! Cells in, terminal bytes out: a compact encoder of ratatui's frame diffs.
//!
//! ratatui's crossterm backend spends most of its bytes on bookkeeping: a
//! full cursor position (`ESC[r;cH`) for every gap between changed cells,
//! colours in their long form (`ESC[38;5;6;49m`), and four resets after
//! every draw. This encoder keeps what the terminal shows (a shadow of the
//! cells written, the cursor, the pen of colours and attributes) and, for
//! each changed cell, writes the fewest bytes that make the screen show it:
//! a relative move or a re-write of the cells in a short gap when the
//! shadow knows them, and only the attributes that change.
//!
//! What it assumes, and where it stops assuming:
//! - Only this encoder writes cells: no cell is left to another writer
//!   (ratatui's `CellDiffOption::Skip`, for an image, say), which a gap's
//!   re-write would cover; exectop marks none. A skipped cell handed over
//!   is forgotten. The backend forgets the cursor and pen after raw bytes,
//!   and the shadow after a partial clear or a size change; what is
//!   forgotten is reached with an absolute move again.
//! - A symbol of one code point moves the cursor by its display width;
//!   terminals agree on those. After anything else (emoji sequences,
//!   combining marks, control characters, forced widths) the cursor and the
//!   cells it may have covered are forgotten.
//! - A cell written in the last column leaves the cursor waiting to wrap.
//!   Nothing is printed from there: the next move is a carriage return or
//!   an absolute one, so the bottom-right cell never scrolls the screen,
//!   as with crossterm. Line feeds are used only below a row that exists,
//!   so they never scroll either.
//! - Text is written with autowrap untouched and no scrolling region set.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::io::Write as _;

use ratatui::buffer::{Cell, CellDiffOption, CellWidth};
use ratatui::layout::{Position, Size};

use super::sgr::{Pen, sgr};

/// What one cell of the terminal shows, as far as the encoder knows.
#[derive(Debug, Clone)]
enum Shown {
    Unknown,
    /// A one-column symbol, which can be written again to move over it.
    Narrow(Cell),
    /// The left column of a two-column symbol.
    WideHead,
    /// The right column of a two-column symbol.
    WideTail,
}

/// Where the terminal's cursor is. `x` equals the width after a write into
/// the last column: the terminal then waits to wrap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cursor {
    x: u16,
    y: u16,
}

/// How the cursor reaches a row.
#[derive(Debug, Clone, Copy)]
enum Vertical {
    /// `ESC[r;cH`, straight to the cell.
    Absolute,
    Stay,
    /// `\r`, then the rows down or up.
    Return {
        down: u16,
        up: u16,
    },
    /// The rows down (line feeds or `ESC[nB`) or up (`ESC M` or `ESC[nA`),
    /// keeping the column: raw mode leaves a line feed a line feed.
    Rows {
        down: u16,
        up: u16,
    },
}

/// How the cursor then reaches the column.
#[derive(Debug, Clone, Copy)]
enum Horizontal {
    Stay,
    Forward(u16),
    Back(u16),
    /// Write again the cells the terminal already shows up to the target.
    Rewrite,
}

/// Re-writing costs a byte a cell at least, and a relative move at most 8
/// bytes (`ESC[999C`): a longer gap is never worth re-writing.
const MAX_REWRITE: u16 = 8;

#[derive(Clone)]
pub(super) struct Encoder {
    colour: bool,
    size: Option<Size>,
    /// Row-major, `size` cells; empty while the size is unknown.
    shown: Vec<Shown>,
    cursor: Option<Cursor>,
    pen: Option<Pen>,
    /// Where cost estimates write the SGR sequences they measure.
    scratch: RefCell<Vec<u8>>,
}

impl Encoder {
    /// Knows nothing of the terminal until told its size and a clear.
    pub(super) fn new(colour: bool) -> Encoder {
        Encoder {
            colour,
            size: None,
            shown: Vec::new(),
            cursor: None,
            pen: None,
            scratch: RefCell::new(Vec::new()),
        }
    }

    /// The terminal's size now. A different one (or none) forgets the
    /// shadow and the cursor: a resize moves and reflows both.
    pub(super) fn fit(&mut self, size: Option<Size>) {
        if size == self.size {
            return;
        }
        self.size = size;
        self.cursor = None;
        self.shown.clear();
        if let Some(size) = size {
            let cells = usize::from(size.width) * usize::from(size.height);
            self.shown.resize(cells, Shown::Unknown);
        }
    }

    /// The whole screen was erased (`ESC[2J`). Erased cells take the pen's
    /// background, so they are blank only when the pen was the default
    /// (`reset_pen` first).
    pub(super) fn cleared(&mut self, size: Option<Size>) {
        self.fit(size);
        let blank = match self.pen {
            Some(pen) if pen == Pen::DEFAULT => Shown::Narrow(Cell::EMPTY),
            _ => Shown::Unknown,
        };
        self.shown.fill(blank);
    }

    /// Part of the screen was erased or written by someone else.
    pub(super) fn forget_screen(&mut self) {
        self.shown.fill(Shown::Unknown);
    }

    /// Bytes this encoder did not write went to the terminal.
    pub(super) fn forget_cursor_and_pen(&mut self) {
        self.cursor = None;
        self.pen = None;
    }

    /// The cursor was put at `position` with an absolute move.
    pub(super) fn cursor_moved(&mut self, position: Position) {
        self.cursor = match self.size {
            Some(size) if position.x < size.width && position.y < size.height => Some(Cursor {
                x: position.x,
                y: position.y,
            }),
            _ => None,
        };
    }

    /// Writes `ESC[m` unless the pen is known to be the default already.
    pub(super) fn reset_pen(&mut self, out: &mut Vec<u8>) {
        if self.pen != Some(Pen::DEFAULT) {
            out.extend_from_slice(b"\x1b[m");
            self.pen = Some(Pen::DEFAULT);
        }
    }

    /// Appends to `out` what makes the terminal show `cells`, and leaves the
    /// pen at the default (a clear or other writes may follow).
    ///
    /// The cells come row by row, and that order suits a screen of text. A
    /// few changes stacked in columns (ages ticking down a table) cost less
    /// column by column: a digit and a line feed and a backspace each, where
    /// row by row each row needs a move between its columns and another to
    /// the next row. Such a frame is encoded both ways and the shorter kept.
    /// A row's cells keep their order either way, so the screen ends the
    /// same (writing over half a wide symbol erases it, left to right).
    pub(super) fn encode<'a>(
        &mut self,
        cells: impl Iterator<Item = (u16, u16, &'a Cell)>,
        out: &mut Vec<u8>,
    ) {
        let cells: Vec<(u16, u16, &Cell)> = cells.collect();
        let start = out.len();
        let Some(by_columns) = column_order(&cells) else {
            return self.encode_in_order(cells.into_iter(), out);
        };
        let mut column_encoder = self.clone();
        let mut column_bytes = Vec::new();
        column_encoder.encode_in_order(by_columns.iter().map(|&i| cells[i]), &mut column_bytes);
        self.encode_in_order(cells.into_iter(), out);
        if column_bytes.len() < out.len() - start {
            out.truncate(start);
            out.extend_from_slice(&column_bytes);
            *self = column_encoder;
        }
    }

    fn encode_in_order<'a>(
        &mut self,
        cells: impl Iterator<Item = (u16, u16, &'a Cell)>,
        out: &mut Vec<u8>,
    ) {
        let start = out.len();
        for (x, y, cell) in cells {
            // Outside the terminal (a resize ratatui has not seen yet), a
            // cell could only be clamped to the edge, wrap or scroll.
            let outside = self.size.is_some_and(|s| x >= s.width || y >= s.height);
            if outside {
                continue;
            }
            if skipped(cell) {
                self.forget_span(x, y, 1);
                continue;
            }
            let want = Pen::for_cell(cell, self.colour);
            self.move_to(x, y, &want, out);
            self.set_pen(&want, out);
            self.put(x, y, cell, out);
        }
        if out.len() > start {
            self.reset_pen(out);
        }
    }

    fn put(&mut self, x: u16, y: u16, cell: &Cell, out: &mut Vec<u8>) {
        out.extend_from_slice(crate::text::cell(cell.symbol()).as_bytes());
        let Some(width) = trusted_width(cell) else {
            // The terminal may draw it over one, two or no columns.
            self.cursor = None;
            self.forget_span(x, y, 2);
            return;
        };
        self.cursor = Some(Cursor { x: x + width, y });
        let Some(row) = self.row_index(y) else {
            return;
        };
        let width_limit = self.size.map_or(0, |s| s.width);
        if x + width > width_limit {
            // A wide symbol in the last column wraps or is cut, terminal by
            // terminal: forget this row's end and where the cursor went.
            self.cursor = None;
            self.forget_span(x, y, width_limit.saturating_sub(x));
            return;
        }
        self.unlink_wide_neighbours(row, x, width);
        let at = row + usize::from(x);
        if width == 1 {
            self.shown[at] = Shown::Narrow(cell.clone());
        } else {
            self.shown[at] = Shown::WideHead;
            self.shown[at + 1] = Shown::WideTail;
        }
    }

    /// Forgets `len` columns from `x`, and the other half of any wide
    /// symbol they cut.
    fn forget_span(&mut self, x: u16, y: u16, len: u16) {
        let Some(row) = self.row_index(y) else {
            return;
        };
        let width = self.size.map_or(0, |s| s.width);
        let len = len.min(width.saturating_sub(x));
        if len == 0 {
            return;
        }
        self.unlink_wide_neighbours(row, x, len);
        for cell in &mut self.shown[row + usize::from(x)..][..usize::from(len)] {
            *cell = Shown::Unknown;
        }
    }

    /// Writing over half of a wide symbol erases the other half in some
    /// terminals and not in others.
    fn unlink_wide_neighbours(&mut self, row: usize, x: u16, len: u16) {
        let width = self.size.map_or(0, |s| s.width);
        let first = row + usize::from(x);
        let last = first + usize::from(len) - 1;
        if x > 0 && matches!(self.shown[first], Shown::WideTail) {
            self.shown[first - 1] = Shown::Unknown;
        }
        if x + len < width && matches!(self.shown[last], Shown::WideHead) {
            self.shown[last + 1] = Shown::Unknown;
        }
    }

    fn row_index(&self, y: u16) -> Option<usize> {
        let size = self.size?;
        (y < size.height && !self.shown.is_empty())
            .then(|| usize::from(y) * usize::from(size.width))
    }

    fn set_pen(&mut self, want: &Pen, out: &mut Vec<u8>) {
        self.pen = Some(sgr(self.pen.as_ref(), want, out));
    }

    /// Moves the cursor to (`x`, `y`) by the cheapest way the encoder
    /// knows to be right, counting the attributes the cell will need.
    fn move_to(&mut self, x: u16, y: u16, want: &Pen, out: &mut Vec<u8>) {
        let Some(cursor) = self.cursor else {
            return self.emit(x, y, Vertical::Absolute, Horizontal::Stay, out);
        };
        if cursor == (Cursor { x, y }) {
            return;
        }
        let mut best = (
            cup_len(x, y) + self.sgr_len(self.pen, want),
            Vertical::Absolute,
            Horizontal::Stay,
        );
        let (down, up) = (y.saturating_sub(cursor.y), cursor.y.saturating_sub(y));
        let same_row = down == 0 && up == 0;
        let carriage_return = Vertical::Return { down, up };
        // Moves relative to the column need the cursor off the wrap
        // position, where terminals disagree about them. A target to its
        // right on the same row proves it is not there.
        let off_the_edge =
            self.size.is_some_and(|s| cursor.x < s.width) || (same_row && cursor.x <= x);
        let relative = off_the_edge.then_some(if same_row {
            Vertical::Stay
        } else {
            Vertical::Rows { down, up }
        });
        let verticals = [Some((carriage_return, 0)), relative.map(|v| (v, cursor.x))];
        for (vertical, from) in verticals.into_iter().flatten() {
            let vertical_len = vertical_len(vertical);
            let step = match from.cmp(&x) {
                Ordering::Equal => (Horizontal::Stay, 0, self.pen),
                Ordering::Less => (Horizontal::Forward(x - from), rel_len(x - from), self.pen),
                Ordering::Greater => (Horizontal::Back(from - x), back_len(from - x), self.pen),
            };
            let rewrite = (from < x)
                .then(|| self.rewrite_len(from, x, y))
                .flatten()
                .map(|(len, pen)| (Horizontal::Rewrite, len, pen));
            for (horizontal, len, pen) in std::iter::once(step).chain(rewrite) {
                let total = vertical_len + len + self.sgr_len(pen, want);
                if total < best.0 {
                    best = (total, vertical, horizontal);
                }
            }
        }
        self.emit(x, y, best.1, best.2, out);
    }

    fn emit(
        &mut self,
        x: u16,
        y: u16,
        vertical: Vertical,
        horizontal: Horizontal,
        out: &mut Vec<u8>,
    ) {
        let from = match vertical {
            Vertical::Absolute => {
                push_cup(x, y, out);
                x
            }
            Vertical::Stay => self.cursor.map_or(x, |c| c.x),
            Vertical::Return { down, up } => {
                out.push(b'\r');
                push_rows(down, up, out);
                0
            }
            Vertical::Rows { down, up } => {
                push_rows(down, up, out);
                self.cursor.map_or(x, |c| c.x)
            }
        };
        match horizontal {
            Horizontal::Stay => {}
            Horizontal::Forward(n) => push_rel(n, b'C', out),
            Horizontal::Back(n) => push_back(n, out),
            Horizontal::Rewrite => {
                let row = self.row_index(y).expect("a rewrite needs the shadow");
                for column in from..x {
                    let Shown::Narrow(cell) = &self.shown[row + usize::from(column)] else {
                        unreachable!("a rewrite covers known narrow cells only");
                    };
                    let want = Pen::for_cell(cell, self.colour);
                    self.pen = Some(sgr(self.pen.as_ref(), &want, out));
                    out.extend_from_slice(crate::text::cell(cell.symbol()).as_bytes());
                }
            }
        }
        self.cursor = Some(Cursor { x, y });
    }

    /// Bytes to write columns `from..to` of row `y` again as the terminal
    /// shows them, and the pen after; `None` when the shadow does not know
    /// them all or a move is surely shorter.
    fn rewrite_len(&self, from: u16, to: u16, y: u16) -> Option<(usize, Option<Pen>)> {
        if to - from > MAX_REWRITE {
            return None;
        }
        let row = self.row_index(y)?;
        let mut pen = self.pen;
        let mut len = 0;
        for column in from..to {
            let Shown::Narrow(cell) = &self.shown[row + usize::from(column)] else {
                return None;
            };
            let (sgr_len, after) = self.sgr_cost(pen, &Pen::for_cell(cell, self.colour));
            len += sgr_len + cell.symbol().len();
            pen = Some(after);
        }
        Some((len, pen))
    }

    fn sgr_len(&self, from: Option<Pen>, want: &Pen) -> usize {
        self.sgr_cost(from, want).0
    }

    /// The length of `sgr(from, want)` and the pen after it, unwritten.
    fn sgr_cost(&self, from: Option<Pen>, want: &Pen) -> (usize, Pen) {
        if let Some(pen) = from
            && pen.draws(want)
        {
            return (0, pen);
        }
        let mut scratch = self.scratch.borrow_mut();
        scratch.clear();
        let pen = sgr(from.as_ref(), want, &mut scratch);
        (scratch.len(), pen)
    }
}

/// ratatui's diff never yields these; a caller's own iterator may.
#[allow(deprecated)]
fn skipped(cell: &Cell) -> bool {
    matches!(cell.diff_option, CellDiffOption::Skip)
        || (cell.skip && matches!(cell.diff_option, CellDiffOption::None))
}

/// The columns a symbol covers, when every terminal agrees on it: one code
/// point, printable, one or two columns wide.
fn trusted_width(cell: &Cell) -> Option<u16> {
    if !matches!(
        cell.diff_option,
        CellDiffOption::None | CellDiffOption::AlwaysUpdate
    ) {
        return None;
    }
    let symbol = cell.symbol();
    let mut chars = symbol.chars();
    let c = chars.next()?;
    if chars.next().is_some() || c.is_control() {
        return None;
    }
    match symbol.cell_width() {
        w @ (1 | 2) => Some(w),
        _ => None,
    }
}

fn digits(n: u16) -> usize {
    match n {
        0..=9 => 1,
        10..=99 => 2,
        100..=999 => 3,
        1000..=9999 => 4,
        _ => 5,
    }
}

/// `ESC[r;cH`, with `;c` left out in the first column and both at home.
fn cup_len(x: u16, y: u16) -> usize {
    match (x, y) {
        (0, 0) => 3,
        (0, _) => 3 + digits(y + 1),
        _ => 4 + digits(y + 1) + digits(x + 1),
    }
}

fn push_cup(x: u16, y: u16, out: &mut Vec<u8>) {
    let _ = match (x, y) {
        (0, 0) => write!(out, "\x1b[H"),
        (0, _) => write!(out, "\x1b[{}H", y + 1),
        _ => write!(out, "\x1b[{};{}H", y + 1, x + 1),
    };
}

/// `ESC[C`, `ESC[nC` and the like; nothing for no move.
fn rel_len(n: u16) -> usize {
    match n {
        0 => 0,
        1 => 3,
        _ => 3 + digits(n),
    }
}

fn push_rel(n: u16, direction: u8, out: &mut Vec<u8>) {
    match n {
        0 => {}
        1 => out.extend_from_slice(&[0x1b, b'[', direction]),
        _ => {
            let _ = write!(out, "\x1b[{n}");
            out.push(direction);
        }
    }
}

/// Backspaces for a short move left, `ESC[nD` for a longer one. The
/// cursor is never in the wrap position here (see `move_to`), where
/// terminals disagree about a backspace.
fn back_len(n: u16) -> usize {
    usize::from(n).min(rel_len(n))
}

/// A move of `n` cells costs no more as `n` one-byte controls (backspaces,
/// line feeds) than as one `ESC[n…` sequence.
fn one_byte_each(n: u16) -> bool {
    usize::from(n) <= rel_len(n)
}

fn push_back(n: u16, out: &mut Vec<u8>) {
    if one_byte_each(n) {
        out.extend(std::iter::repeat_n(b'\x08', usize::from(n)));
    } else {
        push_rel(n, b'D', out);
    }
}

/// Line feeds for a few rows down, `ESC[nB` for more; `ESC M` (reverse
/// index) for one row up, `ESC[nA` for more. Both targets are rows that
/// exist, so neither scrolls.
fn down_len(n: u16) -> usize {
    usize::from(n).min(rel_len(n))
}

fn up_len(n: u16) -> usize {
    if n == 1 { 2 } else { rel_len(n) }
}

fn push_rows(down: u16, up: u16, out: &mut Vec<u8>) {
    if one_byte_each(down) {
        out.extend(std::iter::repeat_n(b'\n', usize::from(down)));
    } else {
        push_rel(down, b'B', out);
    }
    if up == 1 {
        out.extend_from_slice(b"\x1bM");
    } else {
        push_rel(up, b'A', out);
    }
}

fn vertical_len(vertical: Vertical) -> usize {
    match vertical {
        Vertical::Absolute | Vertical::Stay => 0,
        Vertical::Return { down, up } => 1 + down_len(down) + up_len(up),
        Vertical::Rows { down, up } => down_len(down) + up_len(up),
    }
}

/// Cells closer than this in a row are one run when ordering by columns:
/// the encoder bridges such a gap with a short move or a re-write.
const RUN_GAP: u16 = 4;

/// The most cells a frame may change for the column order to be tried: it
/// suits a few scattered changes, and costs a copy of the shadow.
const COLUMN_ORDER_MAX_CELLS: usize = 512;

/// The cells' indices ordered by columns: runs of nearby cells in a row,
/// sorted by where they start, then by row. `None` when that order cannot
/// be shorter: a large frame, one row, a symbol of unsure width, or the cells
/// in that order already.
fn column_order(cells: &[(u16, u16, &Cell)]) -> Option<Vec<usize>> {
    if cells.len() > COLUMN_ORDER_MAX_CELLS
        || cells.windows(2).all(|w| w[0].1 == w[1].1)
        || cells
            .iter()
            .any(|(_, _, cell)| trusted_width(cell) != Some(1))
    {
        return None;
    }
    // (start column, row, first index, end index)
    let mut runs: Vec<(u16, u16, usize, usize)> = Vec::new();
    for (i, &(x, y, _)) in cells.iter().enumerate() {
        match runs.last_mut() {
            Some(run) if run.1 == y && x <= cells[run.3 - 1].0 + RUN_GAP => run.3 = i + 1,
            _ => runs.push((x, y, i, i + 1)),
        }
    }
    // Already in that order (one run a row, all starting in one column, as
    // when the selection moves): the trial would encode the same bytes twice.
    if runs.is_sorted_by_key(|&(x, y, _, _)| (x, y)) {
        return None;
    }
    runs.sort_by_key(|&(x, y, _, _)| (x, y));
    Some(
        runs.into_iter()
            .flat_map(|(_, _, from, to)| from..to)
            .collect(),
    )
}
