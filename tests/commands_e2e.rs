//! End to end: `[[commands]]` on the demo in a real terminal (tmux). A
//! show command's output in its popup, escape sequences in it inert, a
//! hung command killed at its timeout, a copy command's OSC 52 with the
//! rendered text, a changing command refused read-only, a key clash
//! stopping the start naming both, context values from the demo's context
//! query and from a SQLite table with no remote (and a column the query
//! lacks stopping the start), and an open command
//! copying its URL without a display or handing it to xdg-open with one.

mod common;

use std::time::{Duration, Instant};

use common::tmux::Tmux;

const READY: Duration = Duration::from_secs(60);
const SOON: Duration = Duration::from_secs(10);

const COMMANDS: &str = r#"
[[commands]]
key = "H"
description = "echo row"
command = ["echo", "shown:{id}:{name}"]

[[commands]]
key = "E"
description = "escapes"
shell = true
command = 'printf "a\033[2Jb\033]0;pwned\007c\033[31mred\033[0m %s\n" {id}'

[[commands]]
key = "W"
description = "hang"
command = ["sleep", "60"]
timeout = "2s"

[[commands]]
key = "C"
description = "copy it"
run = "copy"
command = ["echo", "{id}", "it's {name}"]

[[commands]]
key = "X"
description = "restart it"
changes = true
command = ["echo", "restarted", "{id}"]
"#;

/// A file that lives as long as the test.
struct TempFile(std::path::PathBuf);

impl TempFile {
    fn with(name: &str, text: &str) -> TempFile {
        let path = std::env::temp_dir().join(format!("exectop-{name}-{}.toml", std::process::id()));
        std::fs::write(&path, text).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A directory that lives as long as the test.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Waits until the terminal's bytes (captured to `bytes`) hold the OSC 52
/// copy of `text`.
fn wait_for_copy(bytes: &std::path::Path, text: &str) {
    let expected = exectop::tui::terminal::osc52(text);
    let start = Instant::now();
    loop {
        let captured = std::fs::read(bytes).unwrap_or_default();
        if captured
            .windows(expected.len())
            .any(|w| w == expected.as_bytes())
        {
            break;
        }
        assert!(
            start.elapsed() < SOON,
            "no {expected:?} in the terminal's bytes"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// What a popup shows right after `marker`, up to a space or the border.
fn word_after(screen: &str, marker: &str) -> String {
    screen
        .lines()
        .find_map(|l| l.split(marker).nth(1))
        .unwrap_or_else(|| panic!("no {marker} in {screen}"))
        .split_whitespace()
        .next()
        .unwrap()
        .trim_end_matches('│')
        .to_string()
}

/// The demo started with `config`, which it must refuse: what it says.
fn demo_refused(config: &TempFile) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_exectop"))
        .args(["demo", "--seed", "7", "--config"])
        .arg(&config.0)
        .output()
        .unwrap();
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Waits for the demo's first rows.
fn wait_for_demo(t: &Tmux) {
    t.wait_for("the demo's rows", READY, |s| {
        s.contains("Running") && s.contains("nightly-1")
    });
}

/// Presses `key` and waits for its output popup to end with exit 0: the
/// screen, and the word after `marker` in it.
fn shown_by(t: &Tmux, key: &str, marker: &str) -> (String, String) {
    t.keys(&[key]);
    let screen = t.wait_for("the output popup", SOON, |s| {
        s.contains(marker) && s.contains("exit 0")
    });
    let shown = word_after(&screen, marker);
    (screen, shown)
}

fn demo(config: &TempFile, extra: &str) -> String {
    format!("demo --seed 7 {extra} --config {}", config.0.display())
}

#[test]
fn show_escape_timeout_and_copy_commands_on_the_demo() {
    let config = TempFile::with("commands", COMMANDS);
    let bytes = std::env::temp_dir().join(format!("exectop-commands-{}.bytes", std::process::id()));
    let _bytes_file = TempFile(bytes.clone());
    let t = Tmux::start_capturing(&demo(&config, ""), 160, 48, &bytes);
    wait_for_demo(&t);

    // show: the row's id and name, as echo printed them, with exit 0.
    let (screen, shown) = shown_by(&t, "H", "shown:");
    let (id, name) = shown.split_once(':').unwrap();
    let (id, name) = (id.to_string(), name.to_string());
    assert!(
        screen.contains(&format!("echo row — execution {id}")),
        "{screen}"
    );
    t.keys(&["Escape"]);
    t.wait_for("the popup closed", SOON, |s| !s.contains("echo row —"));

    // Escape sequences come out as their inert stand-ins: the screen was
    // not cleared and nothing turned red.
    t.keys(&["E"]);
    let screen = t.wait_for("the escapes popup", SOON, |s| s.contains("exit 0"));
    assert!(
        screen.contains(&format!("a␛[2Jb␛]0;pwned␇c␛[31mred␛[0m {id}")),
        "{screen}"
    );
    assert!(
        screen.contains("Running"),
        "the screen was cleared: {screen}"
    );
    t.keys(&["Escape"]);

    // A hung command says it runs, then is killed at its timeout.
    t.keys(&["W"]);
    t.wait_for("the hang running", SOON, |s| {
        s.contains("running (killed after 2s)")
    });
    let started = Instant::now();
    t.wait_for("the hang killed", SOON, |s| {
        s.contains("timed out after 2s: killed")
    });
    assert!(started.elapsed() < Duration::from_secs(6));
    t.keys(&["Escape"]);

    // copy: OSC 52 with the rendered command, quoted as a shell reads it.
    t.keys(&["C"]);
    t.wait_for("the copy said", SOON, |s| {
        s.contains(&format!("copied copy it for {id}"))
    });
    wait_for_copy(&bytes, &format!("echo {id} 'it'\\''s {name}'"));

    // A changing command asks first; n runs nothing, y runs it.
    t.keys(&["X"]);
    t.wait_for("the question", SOON, |s| {
        s.contains("It changes something.")
    });
    t.keys(&["n"]);
    t.wait_for("nothing run", SOON, |s| {
        s.contains("cancelled: nothing run")
    });
    t.keys(&["X"]);
    t.wait_for("the question again", SOON, |s| {
        s.contains("It changes something.")
    });
    t.keys(&["y"]);
    t.wait_for("it ran", SOON, |s| s.contains(&format!("restarted {id}")));
}

#[test]
fn read_only_refuses_a_changing_command() {
    let config = TempFile::with("commands-ro", COMMANDS);
    let t = Tmux::start(&demo(&config, "--read-only"), 160, 48);
    wait_for_demo(&t);
    t.keys(&["X"]);
    t.wait_for("the refusal", SOON, |s| {
        s.contains("read-only: writes are disabled")
    });
    assert!(!t.screen().contains("It changes something."));
    // A command that changes nothing still runs.
    t.keys(&["H"]);
    t.wait_for("the output popup", SOON, |s| {
        s.contains("shown:") && s.contains("exit 0")
    });
}

#[test]
fn a_command_key_that_clashes_stops_the_start_naming_both() {
    let config = TempFile::with(
        "commands-clash",
        "[[commands]]\nkey = \"r\"\ndescription = \"history\"\ncommand = [\"x\"]\n",
    );
    let err = demo_refused(&config);
    assert!(
        err.contains(
            "commands[0].key: key \"r\" is bound to both \"reconcile\" and the command \"history\""
        ),
        "{err}"
    );
    assert!(err.contains(&config.0.display().to_string()), "{err}");
}

/// The demo's AMC-shaped configuration reads each group's instance and
/// advertiser from a context query: a command may use them.
#[test]
fn a_show_command_echoes_a_context_value_of_the_demo() {
    let config = TempFile::with(
        "commands-context",
        "[[commands]]\nkey = \"I\"\ndescription = \"instance\"\n\
         command = [\"echo\", \"ctx:{group}:{advertiser_id}:{instance_id}\"]\n",
    );
    let t = Tmux::start(&demo(&config, ""), 160, 48);
    wait_for_demo(&t);
    let (screen, shown) = shown_by(&t, "I", "ctx:");
    let parts: Vec<&str> = shown.split(':').collect();
    let [group, advertiser, instance] = parts.as_slice() else {
        panic!("{shown}")
    };
    // The simulator's instances: each group is its own instance, and its
    // advertiser is ENTITY and the group's letters.
    assert_eq!(instance, group, "{screen}");
    assert_eq!(
        *advertiser,
        format!("ENTITY{}", group.to_ascii_uppercase().replace('-', "")),
        "{screen}"
    );
}

#[test]
fn a_context_column_the_query_does_not_give_stops_the_start() {
    let config = TempFile::with(
        "commands-context-typo",
        "[[commands]]\nkey = \"I\"\ndescription = \"instance\"\nrun = \"copy\"\n\
         url = \"https://x.example/{instance}/{remote_id}\"\n",
    );
    let err = demo_refused(&config);
    assert!(
        err.contains(
            "commands[0].url uses {instance}, which remote.context.query does not give (it gives advertiser_id, instance_id, key)"
        ),
        "{err}"
    );
}

/// A show command that prints the selected row's id and group, and an open
/// command whose URL uses both and a context value of the demo (each demo
/// group is its own AMC instance).
const OPEN_COMMANDS: &str = r#"
[[commands]]
key = "H"
description = "echo row"
command = ["echo", "shown:{id}:{group}"]

[[commands]]
key = "O"
description = "console"
run = "open"
url = "https://console.example/instances/{instance_id}/groups/{group}/rows/{id}"
"#;

/// Starts the demo with `OPEN_COMMANDS` and the environment `vars`, and
/// returns it with the URL the open key renders for the selected row.
fn demo_for_open(name: &str, bytes: &std::path::Path, vars: &[(&str, &str)]) -> (Tmux, String) {
    let config = TempFile::with(name, OPEN_COMMANDS);
    let t = Tmux::start_capturing_with(&demo(&config, ""), 160, 48, bytes, vars);
    wait_for_demo(&t);
    let (_, shown) = shown_by(&t, "H", "shown:");
    let (id, group) = shown.split_once(':').unwrap();
    t.keys(&["Escape"]);
    t.wait_for("the popup closed", SOON, |s| !s.contains("echo row —"));
    let url = format!("https://console.example/instances/{group}/groups/{group}/rows/{id}");
    (t, url)
}

#[test]
fn open_without_a_display_copies_the_url() {
    let bytes =
        std::env::temp_dir().join(format!("exectop-open-copy-{}.bytes", std::process::id()));
    let _bytes_file = TempFile(bytes.clone());
    // Empty counts as unset; set both so the tmux server's own do not leak in.
    let (t, url) = demo_for_open(
        "open-copy",
        &bytes,
        &[("DISPLAY", ""), ("WAYLAND_DISPLAY", "")],
    );
    t.keys(&["O"]);
    t.wait_for("the copy said", SOON, |s| {
        s.contains("console: no desktop opener here; copied the URL")
    });
    wait_for_copy(&bytes, &url);
}

#[test]
fn open_with_a_display_runs_xdg_open_with_the_exact_url() {
    let dir = std::env::temp_dir().join(format!("exectop-open-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let _dir = TempDir(dir.clone());
    let opened = dir.join("opened");
    let script = dir.join("xdg-open");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nprintf '%s' \"$1\" > '{}'\n", opened.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let bytes = dir.join("terminal.bytes");
    let (t, url) = demo_for_open(
        "open-xdg",
        &bytes,
        &[("DISPLAY", ":99"), ("WAYLAND_DISPLAY", ""), ("PATH", &path)],
    );
    t.keys(&["O"]);
    t.wait_for("the open said", SOON, |s| {
        s.contains("console: opened with xdg-open")
    });
    let start = Instant::now();
    let got = loop {
        if let Ok(text) = std::fs::read_to_string(&opened)
            && !text.is_empty()
        {
            break text;
        }
        assert!(start.elapsed() < SOON, "xdg-open was not run");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(got, url);
    // Opened, not copied: no OSC 52 of it went to the terminal.
    let expected = exectop::tui::terminal::osc52(&url);
    let captured = std::fs::read(&bytes).unwrap_or_default();
    assert!(
        !captured
            .windows(expected.len())
            .any(|w| w == expected.as_bytes())
    );
}

/// Context values need no remote: a SQLite table, `[remote.context]` over
/// another table of it, and no tracker.
#[tokio::test]
async fn context_values_on_a_sqlite_table_without_a_remote() {
    use sqlx::Executor;
    let (url, _path) = common::sqlite_fresh_url();
    let pool = sqlx::SqlitePool::connect(&format!("{url}?mode=rwc"))
        .await
        .unwrap();
    pool.execute(
        "CREATE TABLE runs (id INTEGER PRIMARY KEY, status TEXT NOT NULL, grp TEXT, created_at TEXT NOT NULL);
         INSERT INTO runs VALUES
           (1, 'running', 'wf-1', strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-5 minutes')),
           (2, 'running', 'wf-2', strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-10 minutes'));
         CREATE TABLE workflows (name TEXT, instance TEXT);
         INSERT INTO workflows VALUES ('wf-1', 'amcXYZ');",
    )
    .await
    .unwrap();
    pool.close().await;
    let config = TempFile::with(
        "commands-sqlite-context",
        &format!(
            r#"[database]
url = "{url}"
[table]
name = "runs"
id = "id"
status = "status"
group = "grp"
created_at = "created_at"
[table.status_values]
running = ["running"]
succeeded = ["done"]
[remote.context]
key = "group"
query = "SELECT name AS key, instance AS instance_id FROM workflows"
[[commands]]
key = "I"
description = "instance"
command = ["echo", "ctx={{instance_id}}"]
"#
        ),
    );
    let t = Tmux::start(
        &format!("--read-only --config {}", config.0.display()),
        160,
        40,
    );
    t.wait_for("the rows", READY, |s| {
        s.contains("wf-1") && s.contains("wf-2")
    });
    // The older row first: wf-2, which the context query has no row for.
    t.keys(&["I"]);
    t.wait_for("the missing context named", SOON, |s| {
        s.contains("instance: the context query gives no row for group \"wf-2\"; nothing run")
    });
    assert!(!t.screen().contains("instance — execution"));
    t.keys(&["Down", "I"]);
    t.wait_for("the output popup", SOON, |s| {
        s.contains("ctx=amcXYZ") && s.contains("exit 0")
    });
}
