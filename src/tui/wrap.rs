//! Word wrapping for popups, done before drawing. Paragraph's own wrap
//! starts continuation lines at column 0 (a refusal reason ran under the
//! "refused" label) and its line count is not known up front, so a popup
//! could neither size itself nor keep a pinned footer exact.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

fn cell_width(c: char) -> usize {
    let mut buf = [0u8; 4];
    Span::raw(&*c.encode_utf8(&mut buf)).width()
}

fn to_line(cells: &[(char, Style)]) -> Line<'static> {
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut text = String::new();
    let mut style = None;
    for &(c, s) in cells {
        if style.is_some_and(|old| old != s) {
            spans.push(Span::styled(
                std::mem::take(&mut text),
                style.unwrap_or_default(),
            ));
        }
        style = Some(s);
        text.push(c);
    }
    if !text.is_empty() {
        spans.push(Span::styled(text, style.unwrap_or_default()));
    }
    Line::from(spans)
}

/// `line` broken at spaces into lines at most `width` cells wide; lines
/// after the first start with `indent` spaces (a hanging indent). A word
/// longer than the room is cut where the room ends.
pub fn wrap(line: &Line<'_>, width: usize, indent: usize) -> Vec<Line<'static>> {
    let width = width.max(1);
    // A narrow popup drops the indent rather than leaving no room for text.
    let indent = if indent * 2 > width { 0 } else { indent };
    let cells: Vec<(char, Style)> = line
        .spans
        .iter()
        .flat_map(|s| {
            let style = line.style.patch(s.style);
            s.content.chars().map(move |c| (c, style))
        })
        .collect();
    let pad = || vec![(' ', Style::default()); indent];
    let mut out = Vec::new();
    let mut current: Vec<(char, Style)> = Vec::new();
    let mut used = 0;
    // Where the text of the current line starts (after the indent).
    let mut start = 0;
    for (c, style) in cells {
        let w = cell_width(c);
        if used + w > width && current.len() > start {
            let space = current[start..]
                .iter()
                .rposition(|(c, _)| *c == ' ')
                .map(|p| p + start)
                .filter(|&p| p > start);
            let mut rest = match space {
                Some(p) => {
                    let rest = current.split_off(p + 1);
                    current.pop();
                    rest
                }
                None => Vec::new(),
            };
            let rest_width: usize = rest.iter().map(|(c, _)| cell_width(*c)).sum();
            if indent + rest_width + w > width {
                // The carried word would not fit either: cut it here instead.
                current.append(&mut rest);
            }
            out.push(to_line(&current));
            current = pad();
            current.append(&mut rest);
            used = current.iter().map(|(c, _)| cell_width(*c)).sum();
            start = indent;
        }
        if c == ' ' && current.len() == start && start > 0 {
            continue;
        }
        current.push((c, style));
        used += w;
    }
    if current.len() > start || out.is_empty() {
        out.push(to_line(&current));
    }
    out
}

/// Every line wrapped to `width`, each with its own hanging indent.
pub fn wrap_all(lines: &[(Line<'_>, usize)], width: usize) -> Vec<Line<'static>> {
    lines
        .iter()
        .flat_map(|(line, indent)| wrap(line, width, *indent))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(lines: &[Line]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn wraps_at_spaces_with_a_hanging_indent() {
        let line = Line::raw(" refused  12   row changed since you looked");
        let got = wrap(&line, 24, 10);
        assert_eq!(
            texts(&got),
            [
                " refused  12   row",
                "          changed since",
                "          you looked"
            ]
        );
        assert!(got.iter().all(|l| l.width() <= 24));
    }

    #[test]
    fn a_word_longer_than_the_room_is_cut_and_styles_survive() {
        let line = Line::from(vec![
            Span::raw("id "),
            Span::styled("abcdefghij", Style::new().bold()),
        ]);
        let got = wrap(&line, 6, 2);
        assert_eq!(texts(&got), ["id", "  abcd", "  efgh", "  ij"]);
        assert_eq!(got[1].spans.last().unwrap().style, Style::new().bold());
        assert_eq!(texts(&wrap(&Line::raw("short"), 40, 4)), ["short"]);
        assert_eq!(texts(&wrap(&Line::raw(""), 40, 4)), [""]);
    }
}
