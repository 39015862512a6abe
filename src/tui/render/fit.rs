//! Sizes that follow the content, for every pane: a table's columns as wide
//! as the values shown (each up to a cap) with the rest to its one flexible
//! column, text cut with `…` where there is truly no room, and the screen's
//! rows (or a row's cells) split among panes by what each has to show.
//! Pure functions: widths in, widths out.

use std::borrow::Cow;

use ratatui::text::{Line, Span};

/// ratatui's `Table` puts one blank cell between columns.
pub const SPACING: u16 = 1;

/// How a table column is sized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub title: &'static str,
    /// The narrowest it is cut to when the table does not fit.
    pub min: u16,
    /// The widest it grows, however long its values.
    pub cap: u16,
    /// Takes the width the other columns leave (one column a table).
    pub flex: bool,
    /// When the table does not fit, the flexible column gives up width
    /// first, then the others from the lowest `cut` up.
    pub cut: u8,
}

impl Column {
    /// A column that follows its values between `min` and `cap`.
    pub const fn new(title: &'static str, min: u16, cap: u16, cut: u8) -> Column {
        Column {
            title,
            min,
            cap,
            flex: false,
            cut,
        }
    }

    /// The flexible column: what the others leave, at least `min`.
    pub const fn flex(title: &'static str, min: u16) -> Column {
        Column {
            title,
            min,
            cap: u16::MAX,
            flex: true,
            cut: 0,
        }
    }

    /// Its width with nothing cut: the widest value or the title, within
    /// `min..=cap`.
    fn natural(&self, widest: u16) -> u16 {
        width_of(self.title).max(widest).min(self.cap).max(self.min)
    }
}

/// Cells `text` takes on screen.
pub fn width_of(text: &str) -> u16 {
    u16::try_from(Span::raw(text).width()).unwrap_or(u16::MAX)
}

/// The widest of `texts`, in cells.
pub fn widest<'a>(texts: impl IntoIterator<Item = &'a str>) -> u16 {
    texts.into_iter().map(width_of).max().unwrap_or(0)
}

/// The width a table wants to show every value whole: its columns'
/// natural widths and the spaces between them.
pub fn natural_width(columns: &[Column], widest: &[u16]) -> u16 {
    let gaps = SPACING * u16::try_from(columns.len().saturating_sub(1)).unwrap_or(0);
    columns
        .iter()
        .zip(widest)
        .map(|(c, &w)| c.natural(w))
        .fold(gaps, u16::saturating_add)
}

/// Each column's width in a table `room` cells wide, `widest[i]` being
/// the widest value column `i` shows. Every column gets what its values
/// need (title included, up to its cap); the flexible column gets all
/// that is left. Only when that does not fit is anything cut: the flexible
/// column down to its minimum, then the others in their `cut` order down to
/// theirs, and when even the minimums do not fit, the rightmost columns
/// go.
pub fn column_widths(columns: &[Column], widest: &[u16], room: u16) -> Vec<u16> {
    let mut widths: Vec<u16> = columns
        .iter()
        .zip(widest)
        .map(|(c, &w)| c.natural(w))
        .collect();
    let gaps = SPACING * u16::try_from(columns.len().saturating_sub(1)).unwrap_or(0);
    let avail = room.saturating_sub(gaps);
    let total: u16 = widths.iter().fold(0, |a, &w| a.saturating_add(w));
    if total <= avail {
        if let Some(flex) = columns.iter().position(|c| c.flex) {
            widths[flex] += avail - total;
        }
        return widths;
    }
    let mut over = total - avail;
    let mut order: Vec<usize> = (0..columns.len()).collect();
    order.sort_by_key(|&i| (!columns[i].flex, columns[i].cut));
    for i in order {
        let take = over.min(widths[i].saturating_sub(columns[i].min));
        widths[i] -= take;
        over -= take;
    }
    for w in widths.iter_mut().rev() {
        let take = over.min(*w);
        *w -= take;
        over -= take;
    }
    widths
}

/// `text` in at most `width` cells: whole when it fits, otherwise cut and
/// ended with `…`, at a space when one is near the end so no word is left
/// half-written.
pub fn ellipsize(text: &str, width: u16) -> Cow<'_, str> {
    if width_of(text) <= width {
        return Cow::Borrowed(text);
    }
    Cow::Owned(cut(text, width))
}

/// `text` cut to `width` cells, the last of them `…`.
fn cut(text: &str, width: u16) -> String {
    if width == 0 {
        return String::new();
    }
    let room = width - 1;
    let mut used = 0;
    let mut end = 0;
    for (at, c) in text.char_indices() {
        let w = width_of(&text[at..at + c.len_utf8()]);
        if used + w > room {
            break;
        }
        used += w;
        end = at + c.len_utf8();
    }
    let mut kept = &text[..end];
    // Back to the last space when it loses at most a third of the room.
    let cut_mid_word = !text[end..].starts_with(' ');
    if cut_mid_word
        && let Some(space) = kept.rfind(' ')
        && width_of(&kept[space..]) <= room / 3
    {
        kept = &kept[..space];
    }
    // A separator left dangling before the mark says nothing.
    let kept = kept.trim_end_matches([' ', '·', ',', ';', ':']);
    format!("{kept}…")
}

/// [`ellipsize`] for a line of styled spans: the spans that fit are kept
/// as they are, the one that does not is cut with `…`, the rest dropped.
pub fn ellipsize_line(line: Line<'_>, width: u16) -> Line<'_> {
    if line.width() <= usize::from(width) {
        return line;
    }
    let mut left = width;
    let mut spans = Vec::new();
    for span in line.spans {
        let w = width_of(&span.content);
        if w < left {
            left -= w;
            spans.push(span);
            continue;
        }
        // The last span shown, and more follows: cut even when it fits.
        spans.push(Span::styled(cut(&span.content, left), span.style));
        break;
    }
    Line::from(spans).style(line.style)
}

/// A pane's claim on the rows (or cells) of the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    /// What it needs to show all it has.
    pub need: u16,
    /// What it has when everything overflows: the fixed proportions.
    pub share: u16,
}

/// Splits `total` among panes by their claims (whose shares add up to
/// `total`). A pane that needs less than its share gets what it needs,
/// rounded up to a multiple of `step` when that rounding cuts no other
/// pane; what it leaves goes to the panes that need more than their share,
/// in proportion to their shares and up to their needs; what is still left
/// goes to pane `spare`. When every pane needs more than its share, the
/// shares stand.
///
/// The rounding keeps the panes still: a list that gains or loses a row
/// each poll moves the panes below it only when its count crosses a
/// multiple of `step`, not every poll (each move redraws everything under
/// it). It is derived from the counts alone, so drawing stays a pure
/// function of the state, and it is dropped whenever it would leave rows
/// empty beside a pane that is cut.
pub fn allot(total: u16, claims: &[Claim], step: u16, spare: usize) -> Vec<u16> {
    let step = step.max(1);
    let rounded: Vec<Claim> = claims
        .iter()
        .map(|c| Claim {
            need: c.need.div_ceil(step).saturating_mul(step),
            ..*c
        })
        .collect();
    let exact = share_out(total, claims, spare);
    let padded = share_out(total, &rounded, spare);
    // Rounded, no pane may get fewer rows than it needs and would have had.
    let cuts_nobody = padded
        .iter()
        .zip(&exact)
        .zip(claims)
        .all(|((&padded, &exact), c)| padded >= exact.min(c.need));
    if cuts_nobody { padded } else { exact }
}

fn share_out(total: u16, claims: &[Claim], spare: usize) -> Vec<u16> {
    let mut got: Vec<u16> = claims.iter().map(|c| c.need.min(c.share)).collect();
    let mut pool = total.saturating_sub(got.iter().sum());
    loop {
        let hungry: Vec<usize> = (0..claims.len())
            .filter(|&i| got[i] < claims[i].need)
            .collect();
        if hungry.is_empty() || pool == 0 {
            break;
        }
        let weight: u32 = hungry
            .iter()
            .map(|&i| u32::from(claims[i].share))
            .sum::<u32>()
            .max(1);
        let mut given = 0;
        for &i in &hungry {
            let fair = u32::from(pool) * u32::from(claims[i].share) / weight;
            let extra = u16::try_from(fair)
                .unwrap_or(u16::MAX)
                .min(claims[i].need - got[i]);
            got[i] += extra;
            given += extra;
        }
        if given == 0 {
            // Rounding left every fair part at 0: one at a time.
            got[hungry[0]] += 1;
            given = 1;
        }
        pool -= given;
    }
    if let Some(g) = got.get_mut(spare) {
        *g += pool;
    }
    got
}

#[cfg(test)]
#[path = "fit_tests.rs"]
mod tests;
