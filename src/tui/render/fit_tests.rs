//! Column widths and pane sizes that follow the content.

use ratatui::style::Style;

use ratatui::text::{Line, Span};

use super::*;

/// mark, id, name (cap 40), status, reason (flexible).
const TABLE: [Column; 5] = [
    Column::new("", 1, 1, 9),
    Column::new("id", 4, 36, 3),
    Column::new("name", 10, 40, 1),
    Column::new("status", 6, 14, 2),
    Column::flex("reason", 20),
];

#[test]
fn columns_take_what_their_values_need_and_the_rest_goes_to_the_flexible_one() {
    // Values: ids of 3, names of 10, statuses of 9; 160 cells.
    let widths = column_widths(&TABLE, &[1, 3, 10, 9, 44], 160);
    // The title "id" is narrower than the values, "name" too.
    assert_eq!(widths, [1, 4, 10, 9, 132]);
    assert_eq!(widths.iter().sum::<u16>() + 4 * SPACING, 160);
}

#[test]
fn a_title_wider_than_the_values_sets_the_width_and_a_cap_stops_a_long_value() {
    let widths = column_widths(&TABLE, &[1, 2, 70, 2, 10], 160);
    assert_eq!(widths[2], 40, "name capped");
    assert_eq!(widths[3], 6, "\"status\" is wider than its values");
    assert_eq!(widths[4], 160 - 4 - 1 - 4 - 40 - 6);
}

#[test]
fn a_narrow_table_cuts_the_flexible_column_first_then_by_cut_order() {
    // 80 cells: 1 + 4 + 40 + 9 + 4 gaps = 58, the reason gets 22.
    assert_eq!(
        column_widths(&TABLE, &[1, 3, 40, 9, 60], 80),
        [1, 4, 40, 9, 22]
    );
    // 60 cells: the reason to its 20, then the name (cut 1) gives up 20.
    assert_eq!(
        column_widths(&TABLE, &[1, 3, 40, 9, 60], 60),
        [1, 4, 22, 9, 20]
    );
    // 40 cells: every column at its minimum is 1 + 4 + 10 + 6 + 20 + 4 = 45;
    // the rightmost cells go.
    let widths = column_widths(&TABLE, &[1, 3, 40, 9, 60], 40);
    assert_eq!(widths, [1, 4, 10, 6, 15]);
    assert_eq!(widths.iter().sum::<u16>() + 4, 40);
}

#[test]
fn a_table_without_a_flexible_column_keeps_its_natural_widths() {
    let columns = [Column::new("kind", 12, 20, 1), Column::new("id", 6, 40, 2)];
    assert_eq!(column_widths(&columns, &[15, 11], 80), [15, 11]);
    // Too narrow: kind gives up width before the id does.
    assert_eq!(column_widths(&columns, &[15, 11], 25), [13, 11]);
    assert_eq!(column_widths(&columns, &[15, 11], 20), [12, 7]);
    assert_eq!(natural_width(&columns, &[15, 11]), 27);
}

#[test]
fn the_natural_width_of_a_table_counts_its_gaps() {
    assert_eq!(
        natural_width(&TABLE, &[1, 3, 10, 9, 44]),
        1 + 4 + 10 + 9 + 44 + 4
    );
    assert_eq!(widest(["a", "héllo", "ab"]), 5);
    assert_eq!(widest([]), 0);
}

#[test]
fn ellipsize_marks_a_cut_and_prefers_a_space() {
    assert_eq!(ellipsize("short", 10), "short");
    assert_eq!(ellipsize("exactly 10", 10), "exactly 10");
    // "local running but remote says succeeded" in 30 cells: not "succeede".
    let cut = ellipsize("local running but remote says succeeded", 30);
    assert_eq!(cut, "local running but remote says…");
    assert!(width_of(&cut) <= 30);
    // No space near the end: cut in the word, but marked.
    assert_eq!(ellipsize("remote says succeeded", 16), "remote says…");
    assert_eq!(
        ellipsize("etl 8/200 4.0% · reports 2/100", 23),
        "etl 8/200 4.0%…"
    );
    assert_eq!(ellipsize("abcdefghijklmnop", 8), "abcdefg…");
    assert_eq!(ellipsize("one twothreefourfive", 10), "one twoth…");
    assert_eq!(ellipsize("abc", 1), "…");
    assert_eq!(ellipsize("abc", 0), "");
    // Wide characters count two cells.
    assert_eq!(ellipsize("日本語テキスト", 7), "日本語…");
}

#[test]
fn ellipsize_line_keeps_the_styles_of_what_fits() {
    let line = Line::from(vec![
        Span::styled("claimed by alice · ", Style::new().bold()),
        Span::raw("remote says succeeded since 8s ago"),
    ]);
    let cut = ellipsize_line(line.clone(), 31);
    assert_eq!(cut.width(), 31);
    assert_eq!(cut.spans[0], line.spans[0]);
    assert_eq!(cut.spans[1].content, "remote says…");
    // A span that fits exactly while more follows still shows the cut.
    let two = Line::from(vec![Span::raw("abc"), Span::raw("def")]);
    assert_eq!(ellipsize_line(two, 3).to_string(), "ab…");
    assert_eq!(ellipsize_line(line.clone(), 80), line);
    // Cut inside the first span: the second goes.
    let cut = ellipsize_line(line, 10);
    assert_eq!(cut.spans.len(), 1);
    assert_eq!(cut.spans[0].content, "claimed…");
}

fn claim(need: u16, share: u16) -> Claim {
    Claim { need, share }
}

#[test]
fn panes_with_few_rows_take_their_rows_and_the_rest_goes_where_rows_overflow() {
    // Running: 6 rows + title + header = 8 of a 27-row share; the lower
    // row needs 40 of 18: it gets the 19 rows Running leaves.
    assert_eq!(allot(45, &[claim(8, 27), claim(40, 18)], 1, 1), [8, 37]);
    // The other way round.
    assert_eq!(allot(45, &[claim(100, 27), claim(10, 18)], 1, 1), [35, 10]);
}

#[test]
fn when_everything_fits_the_spare_goes_to_the_named_pane() {
    assert_eq!(allot(45, &[claim(8, 27), claim(10, 18)], 1, 1), [8, 37]);
    assert_eq!(allot(45, &[claim(8, 27), claim(10, 18)], 1, 0), [35, 10]);
}

#[test]
fn when_every_pane_overflows_the_shares_stand() {
    assert_eq!(allot(45, &[claim(100, 27), claim(40, 18)], 4, 1), [27, 18]);
    assert_eq!(
        allot(45, &[claim(100, 20), claim(40, 14), claim(11, 11)], 4, 1),
        [20, 14, 11]
    );
}

#[test]
fn what_a_pane_leaves_is_shared_by_the_overflowing_ones_in_proportion() {
    // The middle pane leaves 10 of its 14; 20:11 of them to the others.
    let got = allot(45, &[claim(100, 20), claim(4, 14), claim(100, 11)], 1, 1);
    assert_eq!(got, [27, 4, 14]);
    assert_eq!(got.iter().sum::<u16>(), 45);
    // An overflowing pane takes only what it needs; the rest to the spare.
    let got = allot(45, &[claim(22, 20), claim(4, 14), claim(100, 11)], 1, 1);
    assert_eq!(got, [22, 4, 19]);
}

#[test]
fn empty_panes_keep_their_minimum() {
    // An empty list still shows its title, header and "nothing" line: 3.
    assert_eq!(allot(21, &[claim(3, 12), claim(3, 9)], 1, 1), [3, 18]);
    assert_eq!(allot(21, &[claim(3, 12), claim(3, 9)], 4, 1), [4, 17]);
}

#[test]
fn rounding_to_a_step_keeps_a_pane_still_while_its_count_moves_by_one() {
    // Running with 7 to 10 rows (+ title and header): the same height, 12.
    let heights: Vec<Vec<u16>> = (7..=10)
        .map(|rows| allot(45, &[claim(rows + 2, 27), claim(10, 18)], 4, 1))
        .collect();
    assert!(heights.iter().all(|h| h == &[12, 33]), "{heights:?}");
    // 11 rows: the next step; 6 rows: the one before.
    assert_eq!(allot(45, &[claim(13, 27), claim(10, 18)], 4, 1), [16, 29]);
    assert_eq!(allot(45, &[claim(8, 27), claim(10, 18)], 4, 1), [8, 37]);
}

#[test]
fn rounding_is_dropped_where_it_would_cut_another_pane() {
    // Rounded, the lower row (7 → 8) would leave Running a row short of
    // its 38: the exact needs are used.
    assert_eq!(allot(45, &[claim(38, 27), claim(7, 18)], 4, 1), [38, 7]);
    // Where it cuts nobody it stays: 7 → 8, and the spare row to the lower.
    assert_eq!(allot(45, &[claim(36, 27), claim(7, 18)], 4, 1), [36, 9]);
}

#[test]
fn a_screen_too_small_for_the_shares_gives_what_there_is() {
    let got = allot(12, &[claim(3, 3), claim(3, 9)], 4, 1);
    assert_eq!(got.iter().sum::<u16>(), 12);
    assert!(got.iter().all(|&h| h >= 3), "{got:?}");
}
