use super::*;
use crossterm::event::KeyModifiers;

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
        m.command_for(Mode::Panes, &press(KeyCode::Char('j'), KeyModifiers::NONE)),
        Some(Command::Down)
    );
    assert_eq!(
        m.command_for(Mode::Panes, &press(KeyCode::Char('S'), KeyModifiers::SHIFT)),
        Some(Command::SortReverse)
    );
    assert_eq!(
        m.command_for(
            Mode::Panes,
            &press(KeyCode::Char('c'), KeyModifiers::CONTROL)
        ),
        Some(Command::Quit)
    );
    assert_eq!(
        m.command_for(Mode::Panes, &press(KeyCode::Tab, KeyModifiers::SHIFT)),
        Some(Command::PrevPane)
    );
    assert_eq!(
        m.command_for(Mode::Panes, &press(KeyCode::Char('w'), KeyModifiers::NONE)),
        None
    );
    let mut release = press(KeyCode::Char('q'), KeyModifiers::NONE);
    release.kind = KeyEventKind::Release;
    assert_eq!(
        m.command_for(Mode::Panes, &release),
        None,
        "only presses act"
    );
}

#[test]
fn overrides_replace_the_default_keys() {
    let m = Keymap::from_config(&spec(&[("quit", &["w", "ctrl-q"])])).unwrap();
    assert_eq!(
        m.command_for(Mode::Panes, &press(KeyCode::Char('w'), KeyModifiers::NONE)),
        Some(Command::Quit)
    );
    assert_eq!(
        m.command_for(Mode::Panes, &press(KeyCode::Char('q'), KeyModifiers::NONE)),
        None
    );
    assert_eq!(m.keys_label(Command::Quit), "w/ctrl-q");
}

#[test]
fn the_operator_docs_list_every_action() {
    let doc = include_str!("../../../docs/tui.md");
    for command in Command::all() {
        assert!(
            doc.contains(&format!("`{}`", command.name())),
            "docs/tui.md lacks {}",
            command.name()
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

#[test]
fn every_mode_resolves_its_own_keys() {
    let m = Keymap::default();
    let esc = press(KeyCode::Esc, KeyModifiers::NONE);
    assert_eq!(m.command_for(Mode::Panes, &esc), Some(Command::Close));
    assert_eq!(m.command_for(Mode::Popup, &esc), Some(Command::Close));
    for mode in [Mode::Filter, Mode::Reason, Mode::Preview, Mode::Count] {
        assert_eq!(m.command_for(mode, &esc), Some(Command::Cancel), "{mode:?}");
    }
    let enter = press(KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(m.command_for(Mode::Panes, &enter), Some(Command::Details));
    assert_eq!(m.command_for(Mode::Filter, &enter), Some(Command::Submit));
    assert_eq!(
        m.command_for(Mode::Preview, &enter),
        None,
        "one row: y applies"
    );
    let y = press(KeyCode::Char('y'), KeyModifiers::NONE);
    assert_eq!(m.command_for(Mode::Panes, &y), Some(Command::CopyId));
    assert_eq!(m.command_for(Mode::Preview, &y), Some(Command::Confirm));
    let ctrl_c = press(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(
        m.command_for(Mode::Reason, &ctrl_c),
        Some(Command::Interrupt)
    );
    assert_eq!(m.command_for(Mode::Panes, &ctrl_c), Some(Command::Quit));
}

#[test]
fn a_character_typed_into_an_entry_is_text_not_a_command() {
    let m = Keymap::default();
    let k = press(KeyCode::Char('k'), KeyModifiers::NONE);
    assert_eq!(m.input(Mode::Filter, &k), Some(Input::Text('k')));
    assert_eq!(m.input(Mode::Panes, &k), Some(Input::Command(Command::Up)));
    assert_eq!(
        m.input(Mode::Preview, &k),
        Some(Input::Command(Command::Up))
    );
    let q = press(KeyCode::Char('q'), KeyModifiers::NONE);
    assert_eq!(m.input(Mode::Reason, &q), Some(Input::Text('q')));
    assert_eq!(m.input(Mode::Preview, &q), Some(Input::Unbound));
    let seven = press(KeyCode::Char('7'), KeyModifiers::NONE);
    assert_eq!(m.input(Mode::Count, &seven), Some(Input::Text('7')));
    assert_eq!(
        m.input(Mode::Count, &k),
        Some(Input::Command(Command::Up)),
        "only digits type in the count"
    );
    assert_eq!(m.label_in(Command::Up, Mode::Filter), "↑");
    assert_eq!(m.label_in(Command::Up, Mode::Panes), "↑/k");
}

#[test]
fn esc_enter_and_the_confirm_key_can_be_rebound() {
    let m = Keymap::from_config(&spec(&[
        ("cancel", &["ctrl-g"]),
        ("submit", &["ctrl-j", "f2"]),
        ("confirm", &["!"]),
    ]))
    .unwrap();
    let ctrl_g = press(KeyCode::Char('g'), KeyModifiers::CONTROL);
    assert_eq!(m.command_for(Mode::Filter, &ctrl_g), Some(Command::Cancel));
    let esc = press(KeyCode::Esc, KeyModifiers::NONE);
    assert_eq!(
        m.command_for(Mode::Filter, &esc),
        None,
        "esc no longer cancels"
    );
    assert_eq!(
        m.command_for(Mode::Panes, &esc),
        Some(Command::Close),
        "close keeps its own key"
    );
    let f2 = press(KeyCode::F(2), KeyModifiers::NONE);
    assert_eq!(m.command_for(Mode::Reason, &f2), Some(Command::Submit));
    let bang = press(KeyCode::Char('!'), KeyModifiers::NONE);
    assert_eq!(m.command_for(Mode::Preview, &bang), Some(Command::Confirm));
    let y = press(KeyCode::Char('y'), KeyModifiers::NONE);
    assert_eq!(m.command_for(Mode::Preview, &y), None);
    assert_eq!(m.keys_label(Command::Submit), "ctrl-j/f2");
}

#[test]
fn a_conflict_inside_one_mode_is_rejected_with_the_mode_named() {
    let err = Keymap::from_config(&spec(&[("confirm", &["down"])])).unwrap_err();
    assert_eq!(
        err,
        "[ui.keys]: key \"↓\" is bound to both \"down\" and \"confirm\" while a preview waits for a yes"
    );
    // The same key in two modes that never meet is no conflict.
    assert!(Keymap::from_config(&spec(&[("confirm", &["r"])])).is_ok());
}

#[test]
fn an_entry_command_that_would_be_typed_is_rejected() {
    let err = Keymap::from_config(&spec(&[("submit", &["x"])])).unwrap_err();
    assert!(
        err.starts_with("[ui.keys] submit: no key of it works while typing a filter"),
        "{err}"
    );
    let err = Keymap::from_config(&spec(&[("erase", &[])])).unwrap_err();
    assert!(
        err.starts_with("[ui.keys] erase: no key of it works"),
        "{err}"
    );
    assert!(
        Keymap::from_config(&spec(&[("up", &["k"])])).is_ok(),
        "moving while typing a filter is a convenience, not a need"
    );
}
