//! The help screen: every binding of the key table, mode by mode, read from
//! the keymap so remapped keys show as bound.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::keymap::{BINDINGS, Command, Keymap, Mode};
use super::popup_frame::{Indented, TextPopup};
use super::theme::Theme;

const WIDTH: u16 = 64;

/// Where a description continues when it wraps: under the descriptions.
const DESCRIPTION_INDENT: usize = 15;

fn line(theme: &Theme, keys: &str, description: &str) -> (Line<'static>, usize) {
    // A label too wide for its column keeps a space before the description.
    let line = Line::from(vec![
        Span::styled(format!(" {keys:<13} "), theme.key),
        Span::raw(description.to_string()),
    ]);
    (line, DESCRIPTION_INDENT)
}

/// The lines of one mode other than the panes: commands that do the same
/// there (the scroll keys, the keys that close) share a line.
fn mode_lines(mode: Mode, theme: &Theme, keymap: &Keymap) -> Indented {
    let mut grouped: Vec<(String, &'static str)> = Vec::new();
    for binding in BINDINGS.iter().filter(|b| b.modes.contains(&mode)) {
        let keys = keymap.label_in(binding.command, mode);
        if keys.is_empty() {
            continue;
        }
        let description = binding.command.description_in(mode);
        match grouped.iter_mut().find(|(_, d)| *d == description) {
            Some((k, _)) => {
                k.push(' ');
                k.push_str(&keys);
            }
            None => grouped.push((keys, description)),
        }
    }
    let mut lines = vec![
        (Line::raw(""), 0),
        (Line::styled(format!(" {}", mode.title()), theme.title), 1),
    ];
    lines.extend(grouped.iter().map(|(k, d)| line(theme, k, d)));
    match mode {
        Mode::Filter | Mode::Reason => {
            lines.push(line(theme, "any character", "typed into the entry"));
        }
        Mode::Count => lines.push(line(theme, "0-9", "type the count of rows")),
        Mode::Preview => lines.push(line(theme, "any other key", "no: nothing is written")),
        Mode::Panes | Mode::Popup | Mode::Wall => {}
    }
    lines
}

pub fn popup(keymap: &Keymap, theme: &Theme, read_only: bool, screen: Rect) -> TextPopup {
    let mut lines: Indented = BINDINGS
        .iter()
        .filter(|b| b.modes.contains(&Mode::Panes))
        .map(|b| line(theme, &keymap.keys_label(b.command), b.description))
        .collect();
    if !keymap.commands().is_empty() {
        lines.push((Line::raw(""), 0));
        lines.push((Line::styled(" Commands ([[commands]])", theme.title), 1));
        for (key, description) in keymap.commands() {
            lines.push(line(
                theme,
                &key.to_string(),
                &crate::text::one_line(description),
            ));
        }
    }
    if read_only {
        lines.push((
            Line::styled(
                " read-only: the write actions above are disabled",
                theme.warn,
            ),
            1,
        ));
    }
    for mode in Mode::ALL
        .into_iter()
        .filter(|m| !matches!(m, Mode::Panes | Mode::Wall))
    {
        lines.extend(mode_lines(mode, theme, keymap));
    }
    let popup = TextPopup::new(screen, WIDTH, screen.height, String::new(), &lines);
    titled(popup, keymap, Mode::Popup)
}

/// The wall screen's help: its keys only, all of them (quit, help, close).
pub fn wall_popup(keymap: &Keymap, theme: &Theme, screen: Rect) -> TextPopup {
    let mut lines = mode_lines(Mode::Wall, theme, keymap);
    lines.remove(0);
    lines.push((Line::raw(""), 0));
    lines.push((
        Line::styled(
            " read-only: a screen to watch, nothing to act on",
            theme.dim,
        ),
        1,
    ));
    let popup = TextPopup::new(screen, WIDTH, screen.height, String::new(), &lines);
    titled(popup, keymap, Mode::Wall)
}

fn titled(mut popup: TextPopup, keymap: &Keymap, mode: Mode) -> TextPopup {
    let close = keymap.label_in(Command::Close, mode);
    // Only a screen too short for every key is told it can scroll.
    popup.title = if popup.room().max > 0 {
        let arrows: String = [Command::Up, Command::Down]
            .iter()
            .filter_map(|c| keymap.first_in(*c, Mode::Popup))
            .map(|k| k.to_string())
            .collect();
        format!(" Keys ({arrows} scroll · {close} closes) ")
    } else {
        format!(" Keys ({close} closes) ")
    };
    popup
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use ratatui::layout::Rect;

    use super::*;
    use crate::config::KeySpec;

    fn text(popup: &TextPopup) -> String {
        popup
            .lines
            .iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn help_lists_every_mode_and_every_binding_as_bound() {
        let screen = Rect::new(0, 0, 120, 200);
        let theme = Theme::colour();
        let shown = text(&popup(&Keymap::default(), &theme, false, screen));
        for mode in Mode::ALL
            .into_iter()
            .filter(|m| !matches!(m, Mode::Panes | Mode::Wall))
        {
            assert!(shown.contains(mode.title()), "{mode:?}\n{shown}");
        }
        for binding in BINDINGS {
            assert!(
                shown.contains(binding.command.description())
                    || binding
                        .modes
                        .iter()
                        .any(|m| shown.contains(binding.command.description_in(*m))),
                "{} missing\n{shown}",
                binding.name
            );
        }

        let rebound: BTreeMap<String, KeySpec> =
            [("cancel", "ctrl-g"), ("submit", "f2"), ("confirm", "!")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), KeySpec::One(v.to_string())))
                .collect();
        let keymap = Keymap::from_config(&rebound).unwrap();
        let shown = text(&popup(&keymap, &theme, false, screen));
        let row = |keys: &str, what: &str| format!(" {keys:<13} {what}");
        assert!(
            shown.contains(&row("ctrl-g", "cancel: nothing is written")),
            "{shown}"
        );
        assert!(shown.contains(&row("f2", "keep the filter")), "{shown}");
        assert!(
            shown.contains(&row("!", "apply the change shown")),
            "{shown}"
        );
        assert!(
            !shown.contains(" y/Y"),
            "the old confirm keys are gone\n{shown}"
        );
    }
}

#[cfg(test)]
mod wall_tests {
    use ratatui::layout::Rect;

    use super::*;

    #[test]
    fn the_wall_help_lists_exactly_quit_help_and_close() {
        let screen = Rect::new(0, 0, 80, 24);
        let popup = wall_popup(&Keymap::default(), &Theme::colour(), screen);
        let shown: Vec<String> = popup.lines.iter().map(|l| l.to_string()).collect();
        let text = shown.join("\n");
        let rows: Vec<&String> = shown
            .iter()
            .filter(|l| l.len() > 15 && l.starts_with(' ') && l.as_bytes()[1] != b' ')
            .filter(|l| !l.contains("read-only") && !l.contains("wall screen"))
            .collect();
        assert_eq!(rows.len(), 3, "{text}");
        assert!(text.contains(" q/ctrl-c"), "{text}");
        assert!(text.contains("show / hide this help"), "{text}");
        assert!(text.contains("close the help"), "{text}");
        for other in [
            "filter", "sort", "pause", "mark", "claim", "scroll", "details",
        ] {
            assert!(!text.contains(other), "{other} in the wall help\n{text}");
        }
    }
}
