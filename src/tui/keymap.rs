//! Key bindings: every action has a name (used in `[ui.keys]`), a description
//! (the help screen and footer read them) and default keys that the
//! configuration may replace. Keys are matched on Press only (pitfall 10).

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::config::KeySpec;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    NextPane,
    PrevPane,
    Details,
    Filter,
    Sort,
    SortReverse,
    Pause,
    IntervalUp,
    IntervalDown,
    Refresh,
    ToggleLog,
    CopyId,
    Help,
    Quit,
    Close,
    Reconcile,
    MarkFailed,
    Select,
    ActOnFiltered,
    Audit,
}

/// Where an action means something; the footer shows only what applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Global,
    /// Panes with a selectable list (Running, Stuck & orphaned).
    Lists,
    /// The Running pane only (sort, filter, act on the filtered set).
    Running,
}

impl Action {
    pub const ALL: [Action; 26] = [
        Action::Up,
        Action::Down,
        Action::PageUp,
        Action::PageDown,
        Action::Home,
        Action::End,
        Action::NextPane,
        Action::PrevPane,
        Action::Details,
        Action::Filter,
        Action::Sort,
        Action::SortReverse,
        Action::Pause,
        Action::IntervalUp,
        Action::IntervalDown,
        Action::Refresh,
        Action::ToggleLog,
        Action::CopyId,
        Action::Help,
        Action::Quit,
        Action::Close,
        Action::Reconcile,
        Action::MarkFailed,
        Action::Select,
        Action::ActOnFiltered,
        Action::Audit,
    ];

    /// The name used in `[ui.keys]`.
    pub fn name(self) -> &'static str {
        match self {
            Action::Up => "up",
            Action::Down => "down",
            Action::PageUp => "page_up",
            Action::PageDown => "page_down",
            Action::Home => "home",
            Action::End => "end",
            Action::NextPane => "next_pane",
            Action::PrevPane => "prev_pane",
            Action::Details => "details",
            Action::Filter => "filter",
            Action::Sort => "sort",
            Action::SortReverse => "sort_reverse",
            Action::Pause => "pause",
            Action::IntervalUp => "interval_up",
            Action::IntervalDown => "interval_down",
            Action::Refresh => "refresh",
            Action::ToggleLog => "toggle_log",
            Action::CopyId => "copy_id",
            Action::Help => "help",
            Action::Quit => "quit",
            Action::Close => "close",
            Action::Reconcile => "reconcile",
            Action::MarkFailed => "mark_failed",
            Action::Select => "select",
            Action::ActOnFiltered => "act_on_filtered",
            Action::Audit => "audit",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Action::Up => "move up",
            Action::Down => "move down",
            Action::PageUp => "page up",
            Action::PageDown => "page down",
            Action::Home => "first row",
            Action::End => "last row",
            Action::NextPane => "next pane",
            Action::PrevPane => "previous pane",
            Action::Details => "details of the selected row",
            Action::Filter => "filter (id, name, group, status, remote id)",
            Action::Sort => "cycle the sort column",
            Action::SortReverse => "reverse the sort order",
            Action::Pause => "pause / resume polling",
            Action::IntervalUp => "longer refresh interval",
            Action::IntervalDown => "shorter refresh interval",
            Action::Refresh => "refresh now",
            Action::ToggleLog => "show / hide the log pane",
            Action::CopyId => "copy the selected id (OSC 52)",
            Action::Help => "this help",
            Action::Quit => "quit",
            Action::Close => "close popup / clear filter",
            Action::Reconcile => "reconcile selected with the remote",
            Action::MarkFailed => "mark selected as failed",
            Action::Select => "select / unselect the row",
            Action::ActOnFiltered => "act on the whole filtered set (then r or f)",
            Action::Audit => "recent actions: who, when, what and why",
        }
    }

    /// Short label for the footer.
    pub fn short(self) -> &'static str {
        match self {
            Action::Up | Action::Down => "move",
            Action::PageUp | Action::PageDown => "page",
            Action::Home | Action::End => "jump",
            Action::NextPane | Action::PrevPane => "pane",
            Action::Details => "details",
            Action::Filter => "filter",
            Action::Sort => "sort",
            Action::SortReverse => "reverse",
            Action::Pause => "pause",
            Action::IntervalUp | Action::IntervalDown => "interval",
            Action::Refresh => "refresh",
            Action::ToggleLog => "log",
            Action::CopyId => "copy id",
            Action::Help => "help",
            Action::Quit => "quit",
            Action::Close => "close",
            Action::Reconcile => "reconcile",
            Action::MarkFailed => "mark failed",
            Action::Select => "select",
            Action::ActOnFiltered => "all filtered",
            Action::Audit => "audit",
        }
    }

    pub fn scope(self) -> Scope {
        match self {
            Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Home
            | Action::End
            | Action::Details
            | Action::CopyId
            | Action::Reconcile
            | Action::MarkFailed
            | Action::Select => Scope::Lists,
            Action::Filter | Action::Sort | Action::SortReverse | Action::ActOnFiltered => {
                Scope::Running
            }
            _ => Scope::Global,
        }
    }

    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }

    fn default_keys(self) -> &'static [&'static str] {
        match self {
            Action::Up => &["up", "k"],
            Action::Down => &["down", "j"],
            Action::PageUp => &["pgup"],
            Action::PageDown => &["pgdn"],
            Action::Home => &["home"],
            Action::End => &["end"],
            Action::NextPane => &["tab"],
            Action::PrevPane => &["shift-tab"],
            Action::Details => &["enter"],
            Action::Filter => &["/"],
            Action::Sort => &["s"],
            Action::SortReverse => &["S"],
            Action::Pause => &["p"],
            Action::IntervalUp => &["+"],
            Action::IntervalDown => &["-"],
            Action::Refresh => &["R"],
            Action::ToggleLog => &["l"],
            Action::CopyId => &["y"],
            Action::Help => &["?"],
            Action::Quit => &["q", "ctrl-c"],
            Action::Close => &["esc"],
            Action::Reconcile => &["r"],
            Action::MarkFailed => &["f"],
            Action::Select => &["space"],
            Action::ActOnFiltered => &["A"],
            Action::Audit => &["a"],
        }
    }
}

/// One key: a code plus Ctrl/Alt. Shift is folded into the character
/// (`S`, `?`, `+`) because terminals disagree on reporting it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

impl Key {
    pub fn from_event(ev: &KeyEvent) -> Key {
        let code = match ev.code {
            // Some terminals send Shift-Tab as Tab+SHIFT rather than BackTab.
            KeyCode::Tab if ev.modifiers.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
            c => c,
        };
        Key {
            code,
            ctrl: ev.modifiers.contains(KeyModifiers::CONTROL),
            alt: ev.modifiers.contains(KeyModifiers::ALT),
        }
    }

    /// Parses `ctrl-c`, `shift-tab`, `pgdn`, `?`, `S`, `space`, `f5`, `alt-x`.
    pub fn parse(spec: &str) -> Result<Key, String> {
        let mut ctrl = false;
        let mut alt = false;
        let mut shift = false;
        let mut rest = spec;
        // A lone "-" is the minus key, not a modifier separator.
        while rest.len() > 1 {
            let lower = rest.to_ascii_lowercase();
            if let Some(r) = lower.strip_prefix("ctrl-") {
                ctrl = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("alt-") {
                alt = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("shift-") {
                shift = true;
                rest = &rest[rest.len() - r.len()..];
            } else {
                break;
            }
        }
        let named = rest.to_ascii_lowercase();
        let code = match named.as_str() {
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdn" | "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" if shift => KeyCode::BackTab,
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "space" => KeyCode::Char(' '),
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            "insert" | "ins" => KeyCode::Insert,
            f if f.len() > 1 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                KeyCode::F(f[1..].parse().unwrap_or(1))
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) if shift => KeyCode::Char(c.to_ascii_uppercase()),
                    (Some(c), None) if ctrl => KeyCode::Char(c.to_ascii_lowercase()),
                    (Some(c), None) => KeyCode::Char(c),
                    _ => return Err(format!("unknown key \"{spec}\"")),
                }
            }
        };
        Ok(Key { code, ctrl, alt })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("del"),
            KeyCode::Insert => f.write_str("ins"),
            KeyCode::F(n) => write!(f, "f{n}"),
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            other => write!(f, "{other:?}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Keymap {
    bindings: BTreeMap<Action, Vec<Key>>,
    lookup: HashMap<Key, Action>,
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap::from_config(&BTreeMap::new()).expect("the default keymap has no conflicts")
    }
}

impl Keymap {
    /// Defaults, with each action named in `overrides` taking exactly the keys given.
    /// Errors name the `[ui.keys]` entry at fault.
    pub fn from_config(overrides: &BTreeMap<String, KeySpec>) -> Result<Keymap, String> {
        let mut bindings: BTreeMap<Action, Vec<Key>> = BTreeMap::new();
        for action in Action::ALL {
            let keys = action
                .default_keys()
                .iter()
                .map(|k| Key::parse(k).expect("default keys parse"))
                .collect();
            bindings.insert(action, keys);
        }
        for (name, spec) in overrides {
            let action = Action::from_name(name).ok_or_else(|| {
                let names: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
                format!(
                    "[ui.keys]: unknown action \"{name}\" (known actions: {})",
                    names.join(", ")
                )
            })?;
            let mut keys = Vec::new();
            for text in spec.keys() {
                let key = Key::parse(&text).map_err(|e| format!("[ui.keys] {name}: {e}"))?;
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
            bindings.insert(action, keys);
        }
        let mut lookup = HashMap::new();
        for (action, keys) in &bindings {
            for key in keys {
                if let Some(other) = lookup.insert(*key, *action) {
                    return Err(format!(
                        "[ui.keys]: key \"{key}\" is bound to both \"{}\" and \"{}\"",
                        other.name(),
                        action.name()
                    ));
                }
            }
        }
        Ok(Keymap { bindings, lookup })
    }

    /// The action for a key press; repeats and releases are ignored.
    pub fn action_for(&self, ev: &KeyEvent) -> Option<Action> {
        if ev.kind != KeyEventKind::Press {
            return None;
        }
        self.lookup.get(&Key::from_event(ev)).copied()
    }

    pub fn keys(&self, action: Action) -> &[Key] {
        self.bindings.get(&action).map_or(&[], Vec::as_slice)
    }

    /// "k/↑" for display.
    pub fn keys_label(&self, action: Action) -> String {
        self.keys(action)
            .iter()
            .map(Key::to_string)
            .collect::<Vec<_>>()
            .join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(pairs: &[(&str, &[&str])]) -> BTreeMap<String, KeySpec> {
        pairs
            .iter()
            .map(|(a, ks)| {
                (
                    a.to_string(),
                    KeySpec::Many(ks.iter().map(|k| k.to_string()).collect()),
                )
            })
            .collect()
    }

    fn press(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn parses_key_specs() {
        let k = |s| Key::parse(s).unwrap();
        assert_eq!(
            k("ctrl-c"),
            Key {
                code: KeyCode::Char('c'),
                ctrl: true,
                alt: false
            }
        );
        assert_eq!(k("shift-tab").code, KeyCode::BackTab);
        assert_eq!(k("pgdn").code, KeyCode::PageDown);
        assert_eq!(k("?").code, KeyCode::Char('?'));
        assert_eq!(k("S").code, KeyCode::Char('S'));
        assert_eq!(k("-").code, KeyCode::Char('-'));
        assert_eq!(k("space").code, KeyCode::Char(' '));
        assert_eq!(k("F5").code, KeyCode::F(5));
        assert!(Key::parse("hyper-x").is_err());
        assert!(Key::parse("pgdown2").is_err());
    }

    #[test]
    fn default_map_resolves_events() {
        let m = Keymap::default();
        assert_eq!(
            m.action_for(&press(KeyCode::Char('j'), KeyModifiers::NONE)),
            Some(Action::Down)
        );
        assert_eq!(
            m.action_for(&press(KeyCode::Char('S'), KeyModifiers::SHIFT)),
            Some(Action::SortReverse)
        );
        assert_eq!(
            m.action_for(&press(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
        assert_eq!(
            m.action_for(&press(KeyCode::Tab, KeyModifiers::SHIFT)),
            Some(Action::PrevPane)
        );
        assert_eq!(
            m.action_for(&press(KeyCode::Char('c'), KeyModifiers::NONE)),
            None
        );
        let mut release = press(KeyCode::Char('q'), KeyModifiers::NONE);
        release.kind = KeyEventKind::Release;
        assert_eq!(m.action_for(&release), None, "only presses act");
    }

    #[test]
    fn overrides_replace_the_default_keys() {
        let m = Keymap::from_config(&spec(&[("quit", &["x", "ctrl-q"])])).unwrap();
        assert_eq!(
            m.action_for(&press(KeyCode::Char('x'), KeyModifiers::NONE)),
            Some(Action::Quit)
        );
        assert_eq!(
            m.action_for(&press(KeyCode::Char('q'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(m.keys_label(Action::Quit), "x/ctrl-q");
    }

    #[test]
    fn the_operator_docs_list_every_action() {
        let doc = include_str!("../../docs/tui.md");
        for action in Action::ALL {
            assert!(
                doc.contains(&format!("`{}`", action.name())),
                "docs/tui.md lacks {}",
                action.name()
            );
        }
    }

    #[test]
    fn duplicate_binding_is_rejected_naming_both_actions() {
        let err = Keymap::from_config(&spec(&[("reconcile", &["j"])])).unwrap_err();
        assert_eq!(
            err,
            "[ui.keys]: key \"j\" is bound to both \"down\" and \"reconcile\""
        );
    }

    #[test]
    fn unknown_action_and_bad_key_are_rejected() {
        let err = Keymap::from_config(&spec(&[("explode", &["x"])])).unwrap_err();
        assert!(
            err.starts_with("[ui.keys]: unknown action \"explode\" (known actions: up, down"),
            "{err}"
        );
        let err = Keymap::from_config(&spec(&[("quit", &["ctrl-nope"])])).unwrap_err();
        assert_eq!(err, "[ui.keys] quit: unknown key \"ctrl-nope\"");
    }
}
