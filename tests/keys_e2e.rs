//! End to end: keys rebound under `[ui.keys]` act in the real binary, the
//! prompts and help say them, and a conflict stops it at start naming the
//! key. Driven in tmux on the demo, which takes the `[ui]` of `--config`.

mod common;

use std::time::Duration;

use common::tmux::Tmux;

const READY: Duration = Duration::from_secs(60);
const SOON: Duration = Duration::from_secs(10);

/// A configuration file that lives as long as the test.
struct ConfigFile(std::path::PathBuf);

impl ConfigFile {
    fn with(name: &str, text: &str) -> ConfigFile {
        let path = std::env::temp_dir().join(format!("exectop-{name}-{}.toml", std::process::id()));
        std::fs::write(&path, text).unwrap();
        ConfigFile(path)
    }
}

impl Drop for ConfigFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn rebound_cancel_submit_and_confirm_act_and_show_in_prompts_and_help() {
    let file = ConfigFile::with(
        "rebound",
        "[ui.keys]\ncancel = \"ctrl-g\"\nsubmit = \"f2\"\nconfirm = \"!\"\n",
    );
    let t = Tmux::start(
        &format!("demo --seed 7 --config {}", file.0.display()),
        160,
        48,
    );
    t.wait_for("the demo to show findings", READY, |s| {
        s.contains("Stuck") && s.contains("status_mismatch")
    });

    // Mark failed: the reason prompt names the rebound keys; Esc no longer
    // cancels, ctrl-g does.
    t.keys(&["Tab", "f"]);
    t.wait_for("the reason prompt", SOON, |s| {
        s.contains("F2 plans the change (nothing is written yet) · ctrl-g cancels")
    });
    t.keys(&["Escape"]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(t.screen().contains("Mark failed ─"), "{}", t.screen());
    t.keys(&["C-g"]);
    t.wait_for("the prompt to close", SOON, |s| {
        !s.contains("Mark failed ─")
    });

    // Filter: f2 keeps it.
    t.keys(&["BTab", "/"]);
    t.literal("nightly");
    t.keys(&["F2"]);
    t.wait_for("the filter kept", SOON, |s| {
        s.contains("filter \"nightly\"")
    });
    t.keys(&["Escape"]);
    t.wait_for("the filter cleared by close", SOON, |s| {
        !s.contains("filter \"nightly\"")
    });

    // Reconcile the status mismatch: y is no longer yes, ! is.
    t.keys(&["Tab", "j", "j", "r"]);
    t.wait_for("the one-row preview", SOON, |s| s.contains("Apply? !/N"));
    t.keys(&["y"]);
    t.wait_for("y to answer no", SOON, |s| {
        s.contains("cancelled: nothing written")
    });
    t.keys(&["r"]);
    t.wait_for("the preview again", SOON, |s| s.contains("Apply? !/N"));
    t.keys(&["!"]);
    t.wait_for("the change applied", SOON, |s| s.contains("1 of 1 applied"));
    t.keys(&["Escape"]);

    t.keys(&["?", "End"]);
    let help = t.wait_for("the end of help", SOON, |s| {
        s.contains("Preview of a change to many rows")
    });
    assert!(
        help.contains("│ !             apply the change shown"),
        "{help}"
    );
    assert!(
        help.contains("│ ctrl-g        cancel: nothing is written"),
        "{help}"
    );
    t.keys(&["Escape", "q"]);
    let screen = t.wait_for("exectop to exit", SOON, |s| s.contains("EXITED:"));
    assert!(screen.contains("EXITED:0"), "{screen}");
}

#[test]
fn a_key_bound_twice_in_one_mode_stops_the_start_naming_it_and_the_file() {
    let file = ConfigFile::with("conflict", "[ui.keys]\nconfirm = \"j\"\n");
    let t = Tmux::start(&format!("demo --config {}", file.0.display()), 160, 20);
    let screen = t.wait_for("exectop to refuse", READY, |s| s.contains("EXITED:"));
    assert!(screen.contains("EXITED:2"), "{screen}");
    assert!(
        screen.contains(&format!(
            "{}: [ui.keys]: key \"j\" is bound to both \"down\" and \"confirm\" while a preview waits for a yes",
            file.0.display()
        )),
        "{screen}"
    );
}
