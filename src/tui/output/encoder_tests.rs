//! The encoder's bytes, exactly, where they matter: SGR sequences, moves,
//! the last column, wide and unsure symbols, what is forgotten. That the
//! screen looks right is `emulator_tests`' part.

use ratatui::buffer::{Cell, CellDiffOption};
use ratatui::layout::{Position, Size};
use ratatui::style::{Color, Modifier, Style};

use super::encoder::Encoder;
use super::sgr::{Pen, sgr};

const RED: Color = Color::Red;

fn encoder(width: u16, height: u16) -> Encoder {
    let mut e = Encoder::new(true);
    let mut out = Vec::new();
    e.reset_pen(&mut out);
    e.cleared(Some(Size { width, height }));
    e
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).replace('\x1b', "^")
}

fn encode(e: &mut Encoder, cells: &[(u16, u16, &Cell)]) -> String {
    let mut out = Vec::new();
    e.encode(cells.iter().copied(), &mut out);
    text(&out)
}

fn styled(symbol: &str, style: Style) -> Cell {
    let mut cell = Cell::EMPTY;
    cell.set_symbol(symbol);
    cell.set_style(style);
    cell
}

fn pen(style: Style) -> Pen {
    Pen::for_cell(&styled("x", style), true)
}

fn sgr_text(from: Style, to: Style) -> String {
    let mut out = Vec::new();
    sgr(Some(&pen(from)), &pen(to), &mut out);
    text(&out)
}

#[test]
fn colours_take_their_shortest_forms() {
    let none = Style::new();
    assert_eq!(sgr_text(none, none.fg(Color::Cyan)), "^[36m");
    assert_eq!(sgr_text(none, none.fg(Color::LightRed)), "^[91m");
    assert_eq!(sgr_text(none, none.bg(Color::DarkGray)), "^[100m");
    assert_eq!(sgr_text(none, none.fg(Color::White).bg(RED)), "^[97;41m");
    assert_eq!(sgr_text(none, none.fg(Color::Indexed(200))), "^[38;5;200m");
    assert_eq!(
        sgr_text(none, none.bg(Color::Rgb(1, 2, 3))),
        "^[48;2;1;2;3m"
    );
    assert_eq!(sgr_text(none.fg(Color::Cyan), none.fg(Color::Cyan)), "");
    assert_eq!(
        sgr_text(none.fg(Color::Cyan).bg(RED), none.bg(RED)),
        "^[39m"
    );
    assert_eq!(
        sgr_text(none.fg(Color::Cyan), none),
        "^[m",
        "a reset to default"
    );
}

#[test]
fn a_bold_dark_foreground_keeps_the_palette_index_crossterm_sent() {
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let none = Style::new();
    assert_eq!(sgr_text(none, bold.fg(Color::Cyan)), "^[1;38;5;6m");
    assert_eq!(sgr_text(none, bold.fg(Color::LightCyan)), "^[1;96m");
    // Not bold, the index draws the same colour: no need to send it again.
    assert_eq!(
        sgr_text(bold.fg(Color::Cyan), none.fg(Color::Cyan)),
        "^[22m"
    );
    // Bold again over a named dark colour: the index form is sent.
    assert_eq!(
        sgr_text(none.fg(Color::Cyan), bold.fg(Color::Cyan)),
        "^[1;38;5;6m"
    );
}

#[test]
fn attributes_are_removed_with_their_own_codes() {
    let m = |m: Modifier| Style::new().fg(Color::Indexed(100)).add_modifier(m);
    let bold_dim = Modifier::BOLD | Modifier::DIM;
    assert_eq!(sgr_text(m(bold_dim), m(Modifier::DIM)), "^[22;2m");
    assert_eq!(sgr_text(m(bold_dim), m(Modifier::BOLD)), "^[22;1m");
    let blinks = Modifier::SLOW_BLINK | Modifier::RAPID_BLINK;
    assert_eq!(sgr_text(m(blinks), m(Modifier::RAPID_BLINK)), "^[25;6m");
    // Without anything else to keep, a reset is as short.
    let plain = |m: Modifier| Style::new().add_modifier(m);
    assert_eq!(sgr_text(plain(bold_dim), plain(Modifier::DIM)), "^[0;2m");
    let italic = plain(Modifier::ITALIC);
    assert_eq!(sgr_text(italic, Style::new().fg(RED)), "^[0;31m");
    for (modifier, off) in [
        (Modifier::ITALIC, "23"),
        (Modifier::UNDERLINED, "24"),
        (Modifier::REVERSED, "27"),
        (Modifier::HIDDEN, "28"),
        (Modifier::CROSSED_OUT, "29"),
    ] {
        let kept = Style::new().fg(Color::Indexed(100)).bg(Color::Indexed(101));
        let from = kept.add_modifier(modifier);
        assert_eq!(sgr_text(from, kept), format!("^[{off}m"), "{modifier:?}");
        assert_eq!(
            sgr_text(kept, from),
            format!("^[{}m", modifier_code(modifier))
        );
    }
}

fn modifier_code(modifier: Modifier) -> u8 {
    [1, 2, 3, 4, 5, 6, 7, 8, 9][modifier.bits().trailing_zeros() as usize]
}

#[test]
fn a_reset_and_adds_replace_a_longer_diff() {
    let from = Style::new()
        .fg(RED)
        .bg(Color::Blue)
        .add_modifier(Modifier::BOLD | Modifier::ITALIC | Modifier::UNDERLINED);
    assert_eq!(sgr_text(from, Style::new().fg(Color::Green)), "^[0;32m");
    let mut out = Vec::new();
    sgr(None, &pen(Style::new().fg(Color::Green)), &mut out);
    assert_eq!(text(&out), "^[0;32m", "an unknown pen starts from a reset");
}

#[test]
fn underline_colours_have_their_own_codes() {
    let under = Style::new().add_modifier(Modifier::UNDERLINED);
    assert_eq!(
        sgr_text(under, under.underline_color(Color::Magenta)),
        "^[58;5;5m"
    );
    assert_eq!(
        sgr_text(under, under.underline_color(Color::Rgb(9, 8, 7))),
        "^[58;2;9;8;7m"
    );
    assert_eq!(
        sgr_text(under.underline_color(Color::Indexed(3)), under),
        "^[59m"
    );
}

#[test]
fn gaps_become_relative_moves_or_the_cells_already_shown() {
    let mut e = encoder(80, 24);
    let (a, b) = (Cell::new("a"), Cell::new("b"));
    assert_eq!(encode(&mut e, &[(0, 0, &a), (1, 0, &b)]), "^[Hab");
    // One blank between: writing it again is cheaper than any move.
    assert_eq!(encode(&mut e, &[(3, 0, &a)]), " a");
    assert_eq!(encode(&mut e, &[(20, 0, &b)]), "^[16Cb");
    assert_eq!(encode(&mut e, &[(0, 5, &a)]), "^[6Ha");
    assert_eq!(encode(&mut e, &[(40, 9, &a)]), "^[10;41Ha");
    assert_eq!(encode(&mut e, &[(41, 10, &a)]), "\na", "down a row");
}

#[test]
fn a_rewritten_gap_counts_the_colour_switches_it_needs() {
    let mut e = encoder(80, 24);
    let cyan = styled("x", Style::new().fg(Color::Cyan));
    // The blank between two cyan cells is default: re-writing it would
    // switch colours twice, a move does not.
    assert_eq!(
        encode(&mut e, &[(0, 0, &cyan), (2, 0, &cyan)]),
        "^[H^[36mx^[Cx^[m"
    );
}

#[test]
fn a_frame_of_default_cells_needs_no_reset() {
    let mut e = encoder(80, 24);
    assert_eq!(encode(&mut e, &[(4, 2, &Cell::new("z"))]), "^[3;5Hz");
    let red = styled("r", Style::new().fg(RED));
    assert_eq!(encode(&mut e, &[(5, 2, &red)]), "^[31mr^[m");
}

#[test]
fn the_last_column_is_left_by_a_carriage_return_never_by_printing() {
    let mut e = encoder(10, 13);
    let c = Cell::new("c");
    // After the last column the terminal waits to wrap: a relative move
    // from there differs by terminal, so a carriage return goes first.
    assert_eq!(
        encode(&mut e, &[(9, 10, &c), (0, 11, &c)]),
        "^[11;10Hc\r\nc"
    );
    assert_eq!(encode(&mut e, &[(9, 11, &c), (0, 12, &c)]), "^[8Cc\r\nc");
    // The bottom-right cell is written like any other and nothing follows
    // it on that row: the screen does not scroll.
    assert_eq!(encode(&mut e, &[(9, 12, &c)]), "^[8Cc");
    assert_eq!(encode(&mut e, &[(1, 0, &c)]), "^[1;2Hc");
}

#[test]
fn wide_symbols_move_the_cursor_two_columns() {
    let mut e = encoder(20, 2);
    let (wide, x) = (Cell::new("漢"), Cell::new("x"));
    assert_eq!(encode(&mut e, &[(0, 0, &wide), (2, 0, &x)]), "^[H漢x");
    // A blank after the wide symbol's tail is rewritten; the tail never.
    assert_eq!(encode(&mut e, &[(4, 0, &x)]), " x");
    // Down a row and back to its start, then over a known blank.
    assert_eq!(encode(&mut e, &[(1, 1, &x), (4, 1, &x)]), "\r\n x  x");
}

#[test]
fn an_unsure_symbol_is_followed_by_an_absolute_move() {
    let mut e = encoder(20, 2);
    let (emoji, x) = (Cell::new("❤\u{fe0f}"), Cell::new("x"));
    assert_eq!(
        encode(&mut e, &[(0, 0, &emoji), (2, 0, &x)]),
        "^[H❤\u{fe0f}^[1;3Hx"
    );
}

#[test]
fn what_the_encoder_forgets_it_reaches_absolutely() {
    let mut e = encoder(20, 4);
    let x = Cell::new("x");
    encode(&mut e, &[(0, 0, &x)]);
    e.forget_cursor_and_pen();
    assert_eq!(encode(&mut e, &[(1, 0, &x)]), "^[1;2H^[mx");
    e.forget_screen();
    assert_eq!(encode(&mut e, &[(3, 0, &x)]), "^[Cx", "no blank known");
    e.fit(Some(Size {
        width: 30,
        height: 4,
    }));
    assert_eq!(encode(&mut e, &[(4, 0, &x)]), "^[1;5Hx");
    e.cursor_moved(Position::new(10, 2));
    assert_eq!(encode(&mut e, &[(11, 2, &x)]), "^[Cx");
}

#[test]
fn skipped_cells_are_not_written_and_not_rewritten() {
    let mut e = encoder(20, 2);
    let x = Cell::new("x");
    let mut skipped = Cell::new("s");
    skipped.set_diff_option(CellDiffOption::Skip);
    assert_eq!(
        encode(&mut e, &[(0, 0, &x), (1, 0, &skipped), (2, 0, &x)]),
        "^[Hx^[Cx"
    );
}

#[test]
fn short_moves_take_control_characters() {
    let mut e = encoder(80, 24);
    let x = Cell::new("x");
    encode(&mut e, &[(10, 5, &x)]);
    assert_eq!(encode(&mut e, &[(9, 5, &x)]), "\u{8}\u{8}x", "two left");
    assert_eq!(encode(&mut e, &[(10, 4, &x)]), "^Mx", "one up");
    assert_eq!(encode(&mut e, &[(11, 7, &x)]), "\n\n\nx", "three down");
    assert_eq!(encode(&mut e, &[(12, 17, &x)]), "^[10Bx", "ten down");
}

#[test]
fn digits_ticking_down_columns_are_written_column_by_column() {
    let mut e = encoder(80, 24);
    let (four, five) = (Cell::new("4"), Cell::new("5"));
    let old: Vec<_> = (2..8)
        .flat_map(|y| [(30, y, &four), (40, y, &four)])
        .collect();
    encode(&mut e, &old);
    let ticked: Vec<_> = (2..8)
        .flat_map(|y| [(30, y, &five), (40, y, &five)])
        .collect();
    // Row by row each row would need `ESC[9C` to the second column and a
    // line feed and `ESC[10D` back to the first: 73 bytes, not 46.
    let down = "\n\u{8}5".repeat(5);
    assert_eq!(
        encode(&mut e, &ticked),
        format!("^[3;31H5{down}^[3;41H5{down}")
    );
}

/// Cells holding controls from data (an escape, an OSC's bell, C1, bidi
/// overrides) reach the terminal without them: only the encoder's own
/// sequences are escapes.
#[test]
fn controls_in_cells_never_reach_the_terminal() {
    let mut e = encoder(20, 2);
    let symbols = [
        "\u{1b}",
        "]",
        "0",
        ";",
        "p",
        "\u{7}",
        "a\u{202e}",
        "\u{9b}",
        "\u{2066}",
        "b",
    ];
    let cells: Vec<Cell> = symbols.iter().map(|s| styled(s, Style::new())).collect();
    let placed: Vec<(u16, u16, &Cell)> = cells
        .iter()
        .enumerate()
        .map(|(x, c)| (x as u16, 0, c))
        .collect();
    let mut out = Vec::new();
    e.encode(placed.iter().copied(), &mut out);
    let shown = String::from_utf8(out).unwrap();
    assert!(
        shown.contains("]0;p"),
        "positive control: the text is written: {shown:?}"
    );
    assert!(shown.contains('a') && shown.contains('b'));
    let mut rest = shown.as_str();
    let mut outside = String::new();
    // Remove the encoder's own CSI sequences; nothing unsafe may remain.
    while let Some(i) = rest.find('\u{1b}') {
        outside.push_str(&rest[..i]);
        let tail = &rest[i + 1..];
        assert!(
            tail.starts_with('['),
            "a bare escape reached the terminal: {shown:?}"
        );
        let end = tail[1..]
            .find(|c: char| c.is_ascii_alphabetic())
            .expect("a complete CSI");
        rest = &tail[end + 2..];
    }
    outside.push_str(rest);
    let unsafe_chars: Vec<char> = outside
        .chars()
        .filter(|&c| crate::text::is_unsafe(c))
        .collect();
    assert!(unsafe_chars.is_empty(), "{unsafe_chars:?} in {shown:?}");
}
