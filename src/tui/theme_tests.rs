//! The themes: what each must tell apart, and whole screens drawn in them.
//! Insta's text snapshot of a TestBackend holds only the symbols, so these
//! snapshot the buffer's `Debug`, which lists every change of style too,
//! and check a few cells' styles by name.

use ratatui::buffer::Buffer;

use super::*;
use crate::tui::render_tests::{draw, find, find_from, sized};
use crate::tui::sample;
use crate::tui::state::AppSettings;

/// The whole sample screen at 80×24 in `theme`, with its styles.
fn screen(theme: Theme) -> Buffer {
    let mut app = sample::app(false);
    app.settings.theme = theme;
    let app = sized(app, 80, 24);
    draw(&app, 80, 24).backend().buffer().clone()
}

/// Every style of a theme, named, the statuses' included.
fn styles(t: &Theme) -> Vec<(String, Style)> {
    let mut out: Vec<(String, Style)> = [
        ("selected", t.selected),
        ("marked", t.marked),
        ("border", t.border),
        ("border_focused", t.border_focused),
        ("title", t.title),
        ("title_focused", t.title_focused),
        ("header_row", t.header_row),
        ("ok", t.ok),
        ("bad", t.bad),
        ("warn", t.warn),
        ("dim", t.dim),
        ("alert", t.alert),
        ("key", t.key),
    ]
    .into_iter()
    .map(|(n, s)| (n.to_string(), s))
    .collect();
    out.extend(Status::ALL.map(|s| (format!("status {}", s.as_str()), t.status(s))));
    out
}

/// The first two of `styles` that are equal, if any.
fn equal_pair(styles: &[(&str, Style)]) -> Option<(String, String)> {
    for (i, (a, sa)) in styles.iter().enumerate() {
        for (b, sb) in &styles[i + 1..] {
            if sa == sb {
                return Some((a.to_string(), b.to_string()));
            }
        }
    }
    None
}

/// The styles a cell can have in a row, unselected: what the selection
/// must visibly change.
fn row_cell_styles(t: &Theme) -> Vec<(String, Style)> {
    let mut out = vec![("plain".to_string(), Style::new())];
    out.extend(
        [
            ("ok", t.ok),
            ("bad", t.bad),
            ("warn", t.warn),
            ("dim", t.dim),
        ]
        .map(|(n, s)| (n.to_string(), s)),
    );
    out.push(("marked".into(), t.marked));
    out.extend(Status::ALL.map(|s| (format!("status {}", s.as_str()), t.status(s))));
    out
}

/// The cells whose look the selection leaves as it was.
fn unchanged_by_selection(t: &Theme) -> Vec<String> {
    row_cell_styles(t)
        .into_iter()
        .filter(|(_, s)| s.patch(t.selected) == *s)
        .map(|(n, _)| n)
        .collect()
}

#[test]
fn every_theme_tells_ok_bad_warn_and_dim_apart_and_shows_the_selection() {
    // Controls: the checks see two equal styles, and a selection that
    // changes nothing.
    let dark = Theme::dark();
    assert_eq!(
        equal_pair(&[("ok", dark.ok), ("bad", dark.bad), ("also ok", dark.ok)]),
        Some(("ok".into(), "also ok".into()))
    );
    let mut unseen = Theme::dark();
    unseen.selected = Style::new();
    assert!(unchanged_by_selection(&unseen).contains(&"plain".to_string()));
    let mut bold_only = Theme::dark();
    bold_only.selected = Style::new().add_modifier(Modifier::BOLD);
    assert!(unchanged_by_selection(&bold_only).contains(&"bad".to_string()));

    for name in ThemeName::ALL {
        let t = Theme::named(name, false);
        assert!(t.colour, "{name}");
        let four = [
            ("ok", t.ok),
            ("bad", t.bad),
            ("warn", t.warn),
            ("dim", t.dim),
        ];
        assert_eq!(equal_pair(&four), None, "{name}: {four:?}");
        assert_ne!(t.title_focused, t.title, "{name}");
        assert_ne!(t.title_focused, t.selected, "{name}");
        assert_eq!(
            unchanged_by_selection(&t),
            Vec::<String>::new(),
            "{name}: the selected row must differ from an unselected one in every cell"
        );
    }
    // NO_COLOR's selection too (its bad and warn are both bold, as before).
    assert_eq!(
        unchanged_by_selection(&Theme::no_color()),
        Vec::<String>::new()
    );
}

#[test]
fn no_color_wins_over_every_theme_and_dark_is_the_colours_of_old() {
    for name in ThemeName::ALL {
        assert_eq!(Theme::named(name, true), Theme::no_color(), "{name}");
    }
    assert!(!Theme::no_color().colour);
    assert_eq!(Theme::named(ThemeName::Dark, false), Theme::colour());
    assert_eq!(Theme::named(ThemeName::default(), false), Theme::dark());
    assert_ne!(Theme::light(), Theme::dark());
    assert_ne!(Theme::high_contrast(), Theme::dark());
}

#[test]
fn the_configuration_chooses_the_theme() {
    let settings = |text: &str| {
        let config = crate::config::parse_str(text, "x.toml").unwrap();
        AppSettings::from_config(&config, false).unwrap().theme
    };
    let no_color = Theme::no_color_env();
    assert_eq!(settings(""), Theme::named(ThemeName::Dark, no_color));
    for name in ThemeName::ALL {
        assert_eq!(
            settings(&format!("[ui]\ntheme = \"{name}\"\n")),
            Theme::named(name, no_color),
            "{name}"
        );
    }
}

#[test]
fn high_contrast_tells_ok_bad_and_warn_apart_by_modifier_not_only_colour() {
    let t = Theme::high_contrast();
    let modifiers = |s: Style| Style::new().add_modifier(s.add_modifier);
    let by_modifier = [
        ("ok", modifiers(t.ok)),
        ("bad", modifiers(t.bad)),
        ("warn", modifiers(t.warn)),
    ];
    assert_eq!(equal_pair(&by_modifier), None, "{by_modifier:?}");
    let statuses = [
        ("succeeded", modifiers(t.status(Status::Succeeded))),
        ("failed", modifiers(t.status(Status::Failed))),
        ("timed out", modifiers(t.status(Status::TimedOut))),
    ];
    assert_eq!(equal_pair(&statuses), None, "{statuses:?}");
    // Control: the dark theme's ok and warn differ by colour alone.
    assert_eq!(
        equal_pair(&[
            ("ok", modifiers(Theme::dark().ok)),
            ("warn", modifiers(Theme::dark().warn))
        ]),
        Some(("ok".into(), "warn".into()))
    );
}

/// A colour's red, green and blue where every terminal agrees on them:
/// xterm's 6×6×6 cube and grey ramp, and RGB. The first 16 follow the
/// user's palette.
fn fixed_rgb(c: Color) -> Option<(u8, u8, u8)> {
    const LEVEL: [u8; 6] = [0, 95, 135, 175, 215, 255];
    match c {
        Color::Rgb(r, g, b) => Some((r, g, b)),
        Color::Indexed(n @ 16..=231) => {
            let i = usize::from(n - 16);
            Some((LEVEL[i / 36], LEVEL[i / 6 % 6], LEVEL[i % 6]))
        }
        Color::Indexed(n @ 232..=255) => {
            let v = 8 + 10 * (n - 232);
            Some((v, v, v))
        }
        _ => None,
    }
}

/// WCAG's contrast ratio between two colours.
fn contrast(a: (u8, u8, u8), b: (u8, u8, u8)) -> f64 {
    fn luminance((r, g, b): (u8, u8, u8)) -> f64 {
        let channel = |v: u8| {
            let v = f64::from(v) / 255.0;
            if v <= 0.039_28 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    }
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

const WHITE: (u8, u8, u8) = (255, 255, 255);
const BLACK: (u8, u8, u8) = (0, 0, 0);

/// Why a cell styled `s` is hard to read on a white background, if it is:
/// text on the default background must be in a fixed colour at 4.5:1 or
/// more against white (so no white, yellow or grey of the palette), text on
/// a background of its own at 4.5:1 against it.
fn unreadable_on_white(s: Style) -> Option<String> {
    let fg = s.fg.filter(|c| *c != Color::Reset);
    let bg = s.bg.filter(|c| *c != Color::Reset);
    let (text, ground) = match (fg, bg) {
        (None, None) => return None,
        // The terminal's own text colour, dark on a light background.
        (None, Some(bg)) => (Some(BLACK), fixed_rgb(bg)),
        (Some(fg), None) => (fixed_rgb(fg), Some(WHITE)),
        (Some(fg), Some(bg)) => (fixed_rgb(fg), fixed_rgb(bg)),
    };
    match (text, ground) {
        (Some(t), Some(g)) if contrast(t, g) >= 4.5 => None,
        (Some(t), Some(g)) => Some(format!("{:.2}:1", contrast(t, g))),
        _ => Some(format!("{fg:?} on {bg:?}: a colour of the palette")),
    }
}

#[test]
fn light_text_reads_on_a_light_background() {
    // Controls: today's yellow, white on nothing, a pale grey are refused.
    assert!(unreadable_on_white(Theme::dark().warn).is_some());
    assert!(unreadable_on_white(Style::new().fg(Color::White)).is_some());
    assert!(unreadable_on_white(Style::new().fg(Color::Indexed(250))).is_some());
    assert!(unreadable_on_white(Style::new().fg(Color::Indexed(28))).is_none());

    let t = Theme::light();
    for (name, s) in styles(&t) {
        assert_eq!(unreadable_on_white(s), None, "light {name}: {s:?}");
    }
    // In the selected row, coloured text keeps 3:1 against the bar.
    let bar = fixed_rgb(t.selected.bg.unwrap()).unwrap();
    assert!(contrast(bar, WHITE) >= 1.4, "the bar must show on white");
    for (name, s) in row_cell_styles(&t) {
        if let Some(fg) = s.fg {
            let ratio = contrast(fixed_rgb(fg).unwrap(), bar);
            assert!(ratio >= 3.0, "selected light {name}: {ratio:.2}:1");
        }
    }
}

/// Pure reds and greens, the pair a red–green colour-blind viewer confuses.
fn red_or_green(c: Color) -> bool {
    match c {
        Color::Red | Color::LightRed | Color::Green | Color::LightGreen => true,
        c => fixed_rgb(c).is_some_and(|(r, g, b)| {
            let green = g > r && g > b;
            let red = r > 0 && u16::from(g) * 3 < u16::from(r) && u16::from(b) * 3 < u16::from(r);
            green || red
        }),
    }
}

#[test]
fn high_contrast_uses_no_red_or_green() {
    // Controls: the dark theme's ok and bad, the light theme's.
    assert!(red_or_green(Theme::dark().ok.fg.unwrap()));
    assert!(red_or_green(Theme::dark().bad.fg.unwrap()));
    assert!(red_or_green(Theme::light().ok.fg.unwrap()));
    assert!(red_or_green(Theme::light().bad.fg.unwrap()));
    for (name, s) in styles(&Theme::high_contrast()) {
        for c in [s.fg, s.bg].into_iter().flatten() {
            assert!(!red_or_green(c), "high-contrast {name}: {c:?}");
            assert!(
                fixed_rgb(c).is_some(),
                "high-contrast {name}: {c:?} follows the palette"
            );
        }
    }
}

/// Today's colours, style by style: the dark theme must keep them.
#[test]
fn dark_whole_screen_80x24_styles() {
    insta::assert_debug_snapshot!(screen(Theme::colour()));
}

/// Today's modifier-only screen under `NO_COLOR`.
#[test]
fn no_color_whole_screen_80x24_styles() {
    insta::assert_debug_snapshot!(screen(Theme::no_color()));
}

fn cell_style(buf: &Buffer, (x, y): (u16, u16)) -> Style {
    buf[(x, y)].style()
}

#[test]
fn light_whole_screen_80x24() {
    let buf = screen(Theme::light());
    let t = Theme::light();
    // The focused title, the selected row against the next, a status, the alert.
    let title = cell_style(&buf, find(&buf, "Running 6"));
    assert_eq!((title.fg, title.bg), (Some(xterm(231)), Some(xterm(25))));
    let selected = cell_style(&buf, find(&buf, "job-39"));
    let next = cell_style(&buf, find(&buf, "job-7"));
    assert_eq!(selected.bg, Some(xterm(153)));
    assert!(selected.add_modifier.contains(Modifier::BOLD));
    assert_eq!(next.bg, Some(Color::Reset));
    let (_, row) = find(&buf, "job-101");
    let pending = cell_style(&buf, find_from(&buf, "pending", row));
    assert_eq!(pending.fg, t.status(Status::Pending).fg);
    let alert = cell_style(&buf, find(&buf, "ALERT "));
    assert_eq!((alert.fg, alert.bg), (t.alert.fg, t.alert.bg));
    // Every cell of the screen reads on white.
    for y in 0..24 {
        for x in 0..80 {
            let s = cell_style(&buf, (x, y));
            assert_eq!(unreadable_on_white(s), None, "{x},{y}: {s:?}");
        }
    }
    insta::assert_debug_snapshot!(buf);
}

#[test]
fn high_contrast_whole_screen_80x24() {
    let buf = screen(Theme::high_contrast());
    // The selected row is a white bar; the next row is not.
    let selected = cell_style(&buf, find(&buf, "job-39"));
    assert_eq!(
        (selected.fg, selected.bg),
        (Some(xterm(16)), Some(xterm(231)))
    );
    assert_eq!(cell_style(&buf, find(&buf, "job-7")).bg, Some(Color::Reset));
    // ok plain sky blue, bad bold orange, warn underlined yellow.
    let (_, header) = find(&buf, "db ok");
    let ok = cell_style(&buf, find_from(&buf, "ok", header));
    assert_eq!(
        (ok.fg, ok.add_modifier),
        (Some(xterm(39)), Modifier::empty())
    );
    let bad = cell_style(&buf, find(&buf, "4/12 failed"));
    assert_eq!(
        (bad.fg, bad.add_modifier),
        (Some(xterm(208)), Modifier::BOLD)
    );
    let (_, findings) = find(&buf, "kind ");
    let warn = cell_style(&buf, find_from(&buf, "reconcile", findings));
    assert_eq!(
        (warn.fg, warn.add_modifier),
        (Some(xterm(227)), Modifier::UNDERLINED)
    );
    // The failure chart keeps its bars: orange on the background, neither
    // reversed into holes nor ruled across.
    let chart = cell_style(&buf, find(&buf, "█"));
    assert_eq!((chart.fg, chart.bg), (Some(xterm(208)), Some(Color::Reset)));
    assert_eq!(chart.add_modifier, Modifier::BOLD);
    // The alert is an orange bar.
    let alert = cell_style(&buf, find(&buf, "ALERT "));
    assert_eq!((alert.fg, alert.bg), (Some(xterm(16)), Some(xterm(208))));
    // No red or green anywhere.
    for y in 0..24 {
        for x in 0..80 {
            let c = &buf[(x, y)];
            assert!(!red_or_green(c.fg) && !red_or_green(c.bg), "{x},{y}: {c:?}");
        }
    }
    insta::assert_debug_snapshot!(buf);
}
