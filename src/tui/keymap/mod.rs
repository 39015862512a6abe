//! The one key table. Every key the operator can press, in every mode (the
//! panes, a popup, the filter and reason entries, the two previews), is a
//! binding here: a command with a name (`[ui.keys]`), a description (help
//! and footer read them), the modes it acts in and its default keys, which
//! the configuration may replace. Precedence within a mode is simple: one
//! key, one command, checked when the keymap loads. Keys act on Press only:
//! terminals that report releases and repeats would otherwise act twice.
//!
//! Only the text of an entry field is read raw ([`Keymap::typed`]): in a
//! mode that takes text, a key that types a character is text there, never
//! a command.

mod key;

use std::collections::{BTreeMap, HashMap};

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind};

use crate::config::KeySpec;
use crate::domain::row_command::RowCommand;

pub use key::Key;

/// What a key press can mean, in one mode or several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Command {
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
    Claim,
    Acknowledge,
    Snooze,
    Note,
    Confirm,
    Submit,
    Cancel,
    Erase,
    Interrupt,
    /// A `[[commands]]` entry, by its place in the list: not in
    /// `BINDINGS` (the configuration makes them), in the panes only.
    Run(u8),
}

/// Where the keys go: what is on screen decides it (`App::mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    /// No popup and no entry: the panes and their lists.
    Panes,
    /// Help, details, the audit and the result of an action.
    Popup,
    /// Typing the filter of the Running pane.
    Filter,
    /// Typing why executions are marked failed.
    Reason,
    /// The preview of a change to one row, waiting for a yes.
    Preview,
    /// The preview of a change to many rows, waiting for their count.
    Count,
    /// The wall screen (`--wall`): nothing to move or act on; quit and
    /// help only (and close, for the help popup).
    Wall,
}

impl Mode {
    pub const ALL: [Mode; 7] = [
        Mode::Panes,
        Mode::Popup,
        Mode::Filter,
        Mode::Reason,
        Mode::Preview,
        Mode::Count,
        Mode::Wall,
    ];

    /// The heading of the mode's part of the help screen.
    pub fn title(self) -> &'static str {
        match self {
            Mode::Panes => "Panes",
            Mode::Popup => "In a popup (help, details, audit, result)",
            Mode::Filter => "Typing a filter",
            Mode::Reason => "Typing a reason to mark failed, or a triage note",
            Mode::Preview => "Preview of a change to one row",
            Mode::Count => "Preview of a change to many rows: type their count",
            Mode::Wall => "The wall screen",
        }
    }

    /// Whether a key types text in this mode: a character without Ctrl or
    /// Alt in the entries, a digit in the count.
    pub fn types(self, key: &Key) -> bool {
        let KeyCode::Char(c) = key.code else {
            return false;
        };
        if key.ctrl || key.alt {
            return false;
        }
        match self {
            Mode::Filter | Mode::Reason => true,
            Mode::Count => c.is_ascii_digit(),
            Mode::Panes | Mode::Popup | Mode::Preview | Mode::Wall => false,
        }
    }
}

/// Where a pane command means something; the footer shows only what applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Global,
    /// Panes with a selectable list (Running, Stuck & orphaned).
    Lists,
    /// The Running pane only (sort, filter, act on the filtered set).
    Running,
}

/// One row of the table.
pub struct Binding {
    pub command: Command,
    /// The name in `[ui.keys]`.
    pub name: &'static str,
    /// What it does in the panes (or in its own modes), for help.
    pub description: &'static str,
    /// The footer's word for it.
    pub short: &'static str,
    pub modes: &'static [Mode],
    pub default_keys: &'static [&'static str],
}

use Mode::{Count, Filter, Panes, Popup, Preview, Reason, Wall};

/// Moves in a list scroll a popup's text, and a preview's rows.
const SCROLLS: &[Mode] = &[Panes, Popup, Preview, Count];
/// Entries and previews: a key that leaves them.
const ENTRIES_AND_PREVIEWS: &[Mode] = &[Filter, Reason, Preview, Count];

const fn bind(
    command: Command,
    name: &'static str,
    description: &'static str,
    short: &'static str,
    modes: &'static [Mode],
    default_keys: &'static [&'static str],
) -> Binding {
    Binding {
        command,
        name,
        description,
        short,
        modes,
        default_keys,
    }
}

/// Every binding, in the order help lists them.
#[rustfmt::skip]
pub const BINDINGS: &[Binding] = &[
    bind(Command::Up, "up", "move up", "move", &[Panes, Popup, Filter, Preview, Count], &["up", "k"]),
    bind(Command::Down, "down", "move down", "move", &[Panes, Popup, Filter, Preview, Count], &["down", "j"]),
    bind(Command::PageUp, "page_up", "page up", "page", SCROLLS, &["pgup"]),
    bind(Command::PageDown, "page_down", "page down", "page", SCROLLS, &["pgdn"]),
    bind(Command::Home, "home", "first row", "jump", SCROLLS, &["home"]),
    bind(Command::End, "end", "last row", "jump", SCROLLS, &["end"]),
    bind(Command::NextPane, "next_pane", "next pane", "pane", &[Panes], &["tab"]),
    bind(Command::PrevPane, "prev_pane", "previous pane", "pane", &[Panes], &["shift-tab"]),
    bind(Command::Details, "details", "details of the selected row", "details", &[Panes, Popup], &["enter"]),
    bind(Command::Filter, "filter", "filter (id, name, group, status, remote id)", "filter", &[Panes], &["/"]),
    bind(Command::Sort, "sort", "cycle the sort column", "sort", &[Panes], &["s"]),
    bind(Command::SortReverse, "sort_reverse", "reverse the sort order", "reverse", &[Panes], &["S"]),
    bind(Command::Pause, "pause", "pause / resume polling", "pause", &[Panes], &["p"]),
    bind(Command::IntervalUp, "interval_up", "longer refresh interval", "interval", &[Panes], &["+"]),
    bind(Command::IntervalDown, "interval_down", "shorter refresh interval", "interval", &[Panes], &["-"]),
    bind(Command::Refresh, "refresh", "refresh now", "refresh", &[Panes], &["R"]),
    bind(Command::ToggleLog, "toggle_log", "show / hide the log pane", "log", &[Panes], &["l"]),
    bind(Command::CopyId, "copy_id", "copy the selected id (OSC 52)", "copy id", &[Panes, Popup], &["y"]),
    bind(Command::Help, "help", "this help", "help", &[Panes, Popup, Wall], &["?"]),
    bind(Command::Quit, "quit", "quit", "quit", &[Panes, Popup, Wall], &["q", "ctrl-c"]),
    bind(Command::Close, "close", "close popup / clear filter", "close", &[Panes, Popup, Wall], &["esc"]),
    bind(Command::Reconcile, "reconcile", "reconcile selected with the remote", "reconcile", &[Panes], &["r"]),
    bind(Command::MarkFailed, "mark_failed", "mark selected as failed", "mark failed", &[Panes], &["f"]),
    bind(Command::Select, "select", "select / unselect the row", "select", &[Panes], &["space"]),
    bind(Command::ActOnFiltered, "act_on_filtered", "act on the whole filtered set (then r or f)", "all filtered", &[Panes], &["A"]),
    bind(Command::Audit, "audit", "recent actions: who, when, what and why", "audit", &[Panes], &["a"]),
    bind(Command::Claim, "claim", "claim (\"I'm on it\") / unclaim the finding", "claim", &[Panes], &["c"]),
    bind(Command::Acknowledge, "acknowledge", "acknowledge the finding, with a note / undo", "ack", &[Panes], &["x"]),
    bind(Command::Snooze, "snooze", "snooze the finding (1h, 30m…) / wake it", "snooze", &[Panes], &["z"]),
    bind(Command::Note, "note", "leave a note on the finding for the team", "note", &[Panes], &["n"]),
    bind(Command::Confirm, "confirm", "apply the change shown", "apply", &[Preview], &["y", "Y"]),
    bind(Command::Submit, "submit", "keep the filter / send the reason / apply the count typed", "enter", &[Filter, Reason, Count], &["enter"]),
    bind(Command::Cancel, "cancel", "leave without writing (filter: clear it)", "cancel", ENTRIES_AND_PREVIEWS, &["esc"]),
    bind(Command::Erase, "erase", "delete the last character typed", "erase", &[Filter, Reason, Count], &["backspace"]),
    bind(Command::Interrupt, "interrupt", "quit at once", "quit", ENTRIES_AND_PREVIEWS, &["ctrl-c"]),
];

impl Command {
    fn binding(self) -> &'static Binding {
        BINDINGS
            .iter()
            .find(|b| b.command == self)
            .expect("every command has a row in BINDINGS")
    }

    /// The name used in `[ui.keys]`.
    pub fn name(self) -> &'static str {
        match self {
            Command::Run(_) => "command",
            _ => self.binding().name,
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            // Its own words are in the keymap (`Keymap::commands`).
            Command::Run(_) => "a command of [[commands]]",
            _ => self.binding().description,
        }
    }

    /// What it does in `mode`, where that differs from the panes.
    pub fn description_in(self, mode: Mode) -> &'static str {
        match (mode, self) {
            (Popup | Preview | Count, c) if c.scrolls() => "scroll",
            (Filter, Command::Up | Command::Down) => "move in the Running pane",
            (Popup, Command::Close | Command::Help | Command::Details) => "close",
            (Wall, Command::Help) => "show / hide this help",
            (Wall, Command::Close) => "close the help",
            (Popup, Command::CopyId) => "copy the id (details)",
            (Filter, Command::Submit) => "keep the filter",
            (Filter, Command::Cancel) => "clear the filter",
            (Reason, Command::Submit) => {
                "work out what would change, for a preview (a note: save it)"
            }
            (Count, Command::Submit) => "apply, once the count typed matches",
            (Reason | Preview | Count, Command::Cancel) => "cancel: nothing is written",
            _ => self.description(),
        }
    }

    /// Short label for the footer.
    pub fn short(self) -> &'static str {
        match self {
            Command::Run(_) => "command",
            _ => self.binding().short,
        }
    }

    pub fn modes(self) -> &'static [Mode] {
        match self {
            Command::Run(_) => &[Mode::Panes],
            _ => self.binding().modes,
        }
    }

    /// A move that scrolls a popup's text or a preview's rows.
    pub fn scrolls(self) -> bool {
        matches!(
            self,
            Command::Up
                | Command::Down
                | Command::PageUp
                | Command::PageDown
                | Command::Home
                | Command::End
        )
    }

    pub fn scope(self) -> Scope {
        match self {
            Command::Up
            | Command::Down
            | Command::PageUp
            | Command::PageDown
            | Command::Home
            | Command::End
            | Command::Details
            | Command::CopyId
            | Command::Reconcile
            | Command::MarkFailed
            | Command::Select
            | Command::Claim
            | Command::Acknowledge
            | Command::Snooze
            | Command::Note
            | Command::Run(_) => Scope::Lists,
            Command::Filter | Command::Sort | Command::SortReverse | Command::ActOnFiltered => {
                Scope::Running
            }
            _ => Scope::Global,
        }
    }

    pub fn from_name(name: &str) -> Option<Command> {
        BINDINGS.iter().find(|b| b.name == name).map(|b| b.command)
    }

    /// Every command, in the table's order.
    pub fn all() -> impl Iterator<Item = Command> {
        BINDINGS.iter().map(|b| b.command)
    }
}

/// What a key press is in the mode it came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Command(Command),
    /// A character typed into the entry of this mode.
    Text(char),
    /// Bound to nothing here (releases and repeats are ignored before this).
    Unbound,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Keymap {
    bindings: BTreeMap<Command, Vec<Key>>,
    lookup: HashMap<(Mode, Key), Command>,
    /// The `[[commands]]` keys and what help says of each, in order.
    commands: Vec<(Key, String)>,
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap::from_config(&BTreeMap::new()).expect("the default keymap has no conflicts")
    }
}

impl Keymap {
    /// Defaults, with each command named in `overrides` taking exactly the
    /// keys given. Errors name the `[ui.keys]` entry at fault: an unknown
    /// command or key, one key bound to two commands in one mode, or a
    /// command of an entry that every key of it would type into the entry.
    pub fn from_config(overrides: &BTreeMap<String, KeySpec>) -> Result<Keymap, String> {
        let mut bindings: BTreeMap<Command, Vec<Key>> = BTreeMap::new();
        for binding in BINDINGS {
            let keys = binding
                .default_keys
                .iter()
                .map(|k| Key::parse(k).expect("default keys parse"))
                .collect();
            bindings.insert(binding.command, keys);
        }
        for (name, spec) in overrides {
            let command = Command::from_name(name).ok_or_else(|| {
                let names: Vec<&str> = BINDINGS.iter().map(|b| b.name).collect();
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
            bindings.insert(command, keys);
        }
        let mut lookup = HashMap::new();
        for mode in Mode::ALL {
            for (command, keys) in &bindings {
                if !command.modes().contains(&mode) {
                    continue;
                }
                let usable: Vec<&Key> = keys.iter().filter(|k| !mode.types(k)).collect();
                if usable.is_empty() && needs_a_key(*command, mode) {
                    return Err(format!(
                        "[ui.keys] {}: no key of it works while {}: a character there is typed \
                         text; bind a named key (enter, esc, f1, …) or one with ctrl- or alt-",
                        command.name(),
                        mode_phrase(mode)
                    ));
                }
                for key in usable {
                    if let Some(other) = lookup.insert((mode, *key), *command) {
                        let place = match mode {
                            Mode::Panes => String::new(),
                            _ => format!(" while {}", mode_phrase(mode)),
                        };
                        return Err(format!(
                            "[ui.keys]: key \"{key}\" is bound to both \"{}\" and \"{}\"{place}",
                            other.name(),
                            command.name()
                        ));
                    }
                }
            }
        }
        Ok(Keymap {
            bindings,
            lookup,
            commands: Vec::new(),
        })
    }

    /// This keymap with the `[[commands]]` keys joined to the panes' table,
    /// so a key that a built-in command (or another entry) already has is
    /// an error naming both.
    pub fn with_commands(mut self, commands: &[RowCommand]) -> Result<Keymap, String> {
        for (i, c) in commands.iter().enumerate() {
            let index = u8::try_from(i).map_err(|_| "commands: at most 256 entries".to_string())?;
            let key = Key::parse(&c.key).map_err(|e| format!("commands[{i}].key: {e}"))?;
            if let Some(other) = self.lookup.get(&(Mode::Panes, key)) {
                let other = match other {
                    Command::Run(j) => {
                        format!("the command \"{}\"", commands[usize::from(*j)].description)
                    }
                    c => format!("\"{}\"", c.name()),
                };
                return Err(format!(
                    "commands[{i}].key: key \"{key}\" is bound to both {other} and the command \"{}\"",
                    c.description
                ));
            }
            let command = Command::Run(index);
            self.lookup.insert((Mode::Panes, key), command);
            self.bindings.insert(command, vec![key]);
            self.commands.push((key, c.help_text()));
        }
        Ok(self)
    }

    /// The `[[commands]]` keys with their descriptions, for help.
    pub fn commands(&self) -> &[(Key, String)] {
        &self.commands
    }

    /// What a key press means in `mode`; repeats and releases are nothing.
    pub fn input(&self, mode: Mode, ev: &KeyEvent) -> Option<Input> {
        if ev.kind != KeyEventKind::Press {
            return None;
        }
        let key = Key::from_event(ev);
        if mode.types(&key)
            && let KeyCode::Char(c) = key.code
        {
            return Some(Input::Text(c));
        }
        Some(
            self.lookup
                .get(&(mode, key))
                .map_or(Input::Unbound, |c| Input::Command(*c)),
        )
    }

    /// The command a key press means in `mode`, if any.
    pub fn command_for(&self, mode: Mode, ev: &KeyEvent) -> Option<Command> {
        match self.input(mode, ev)? {
            Input::Command(c) => Some(c),
            Input::Text(_) | Input::Unbound => None,
        }
    }

    pub fn keys(&self, command: Command) -> &[Key] {
        self.bindings.get(&command).map_or(&[], Vec::as_slice)
    }

    /// The keys of `command` that act in `mode`.
    pub fn keys_in(&self, command: Command, mode: Mode) -> Vec<Key> {
        self.keys(command)
            .iter()
            .filter(|k| !mode.types(k))
            .copied()
            .collect()
    }

    /// "k/↑" for display.
    pub fn keys_label(&self, command: Command) -> String {
        label(self.keys(command))
    }

    /// The keys of `command` that act in `mode`, for display.
    pub fn label_in(&self, command: Command, mode: Mode) -> String {
        label(&self.keys_in(command, mode))
    }

    /// The first key of `command` in `mode` as a prompt says it ("Enter").
    pub fn spoken(&self, command: Command, mode: Mode) -> String {
        self.first_in(command, mode)
            .map_or_else(|| "(unbound)".to_string(), |k| k.spoken())
    }

    /// The first key of `command` that acts in `mode`, for a hint.
    pub fn first_in(&self, command: Command, mode: Mode) -> Option<Key> {
        self.keys_in(command, mode).first().copied()
    }
}

fn label(keys: &[Key]) -> String {
    keys.iter()
        .map(Key::to_string)
        .collect::<Vec<_>>()
        .join("/")
}

/// Moving the Running pane's cursor while typing a filter is a convenience;
/// every other command of an entry is the only way to leave it or fix it.
fn needs_a_key(command: Command, mode: Mode) -> bool {
    matches!(mode, Mode::Filter | Mode::Reason | Mode::Count)
        && !matches!(command, Command::Up | Command::Down)
        && !command.scrolls()
}

fn mode_phrase(mode: Mode) -> &'static str {
    match mode {
        Mode::Panes => "in the panes",
        Mode::Popup => "a popup is open",
        Mode::Filter => "typing a filter",
        Mode::Reason => "typing a reason",
        Mode::Preview => "a preview waits for a yes",
        Mode::Count => "a preview waits for a count",
        Mode::Wall => "on the wall screen",
    }
}

#[cfg(test)]
mod tests;
