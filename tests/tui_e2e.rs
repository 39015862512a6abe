//! End to end: the real binary's `demo` in a real terminal (tmux), driven by
//! keys as an operator would, and killed the way an SSH drop kills it.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    session: String,
    home: PathBuf,
}

impl Tmux {
    /// Starts `exectop <args>` in a detached tmux session of the given size.
    /// After exectop exits, the pane prints whether the tty is back in
    /// canonical mode and the exit code, then stays open to be read.
    fn start(args: &str, cols: u16, rows: u16) -> Tmux {
        let n = std::process::id();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let session = format!("exectop_e2e_{n}_{nanos}");
        let home = std::env::temp_dir().join(&session);
        std::fs::create_dir_all(&home).unwrap();
        let bin = env!("CARGO_BIN_EXE_exectop");
        let script = format!(
            "cd {home}; {bin} {args}; code=$?; stty -a | grep -qw icanon && echo TTY:cooked || echo TTY:raw; echo EXITED:$code; sleep 60",
            home = home.display()
        );
        let status = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                &session,
                "-x",
                &cols.to_string(),
                "-y",
                &rows.to_string(),
            ])
            .arg("-e")
            .arg(format!("HOME={}", home.display()))
            .arg("-e")
            .arg(format!("XDG_STATE_HOME={}/state", home.display()))
            .arg("-e")
            .arg("TERM=xterm-256color")
            .arg("sh")
            .arg("-c")
            .arg(script)
            .status()
            .expect("tmux must be installed for the end-to-end tests");
        assert!(status.success(), "tmux new-session failed");
        // Else tmux holds an Escape for 500 ms and sends Escape + key as Alt-key.
        Command::new("tmux")
            .args(["set-option", "-s", "escape-time", "0"])
            .status()
            .unwrap();
        Tmux { session, home }
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            let status = Command::new("tmux")
                .args(["send-keys", "-t", &self.session, k])
                .status()
                .unwrap();
            assert!(status.success());
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    fn literal(&self, text: &str) {
        Command::new("tmux")
            .args(["send-keys", "-l", "-t", &self.session, text])
            .status()
            .unwrap();
        std::thread::sleep(Duration::from_millis(150));
    }

    /// Waits until the screen satisfies `pred`, or panics with the screen.
    fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if pred(&screen) {
                return screen;
            }
            if start.elapsed() > timeout {
                panic!("timed out waiting for {what}; screen was:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn pane_pid(&self) -> Option<u32> {
        let out = Command::new("tmux")
            .args(["list-panes", "-t", &self.session, "-F", "#{pane_pid}"])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.session])
            .status();
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

fn exectop_pids_under(shell_pid: u32) -> Vec<u32> {
    let out = Command::new("pgrep")
        .args(["-P", &shell_pid.to_string(), "-f", "exectop"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

fn alive(pid: u32) -> bool {
    // A zombie has exited; only a live process counts.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}

const READY: Duration = Duration::from_secs(60);

#[test]
fn demo_navigates_filters_opens_details_and_restores_the_terminal() {
    let t = Tmux::start("demo --seed 7", 120, 40);
    let screen = t.wait_for("the demo to show findings", READY, |s| {
        s.contains("Running") && s.contains("Stuck") && s.contains("stuck")
    });
    assert!(screen.contains("Error rates"), "{screen}");

    t.keys(&["Tab"]);
    t.keys(&["j", "j", "Enter"]);
    t.wait_for("the detail popup", Duration::from_secs(5), |s| {
        s.contains("── execution")
    });
    t.keys(&["Escape"]);
    t.wait_for("the popup to close", Duration::from_secs(5), |s| {
        !s.contains("── execution")
    });

    t.keys(&["?"]);
    t.wait_for("the help screen", Duration::from_secs(5), |s| {
        s.contains(" Keys (")
    });
    t.keys(&["Escape"]);

    // The filter belongs to the Running pane: back to it from the findings.
    t.keys(&["BTab", "/"]);
    t.literal("no-such-execution-xyz");
    t.keys(&["Enter"]);
    t.wait_for("the filter to apply", Duration::from_secs(5), |s| {
        s.contains("filter \"no-such-execution-xyz\"")
            && s.contains("no execution matches the filter")
    });

    t.keys(&["q"]);
    let screen = t.wait_for("exectop to exit", Duration::from_secs(10), |s| {
        s.contains("EXITED:")
    });
    assert!(screen.contains("EXITED:0"), "{screen}");
    assert!(
        screen.contains("TTY:cooked"),
        "terminal left in raw mode:\n{screen}"
    );
}

#[test]
fn sighup_ends_the_process_promptly() {
    let t = Tmux::start("demo --seed 3", 100, 30);
    t.wait_for("the demo to start", READY, |s| s.contains("Running"));
    let shell = t.pane_pid().expect("pane pid");
    let pids = exectop_pids_under(shell);
    assert_eq!(pids.len(), 1, "one exectop process under the pane shell");
    let pid = pids[0];
    Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .unwrap();
    let start = Instant::now();
    while alive(pid) && start.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!alive(pid), "exectop still running 3 s after SIGHUP");
    let screen = t.wait_for("the exit line", Duration::from_secs(5), |s| {
        s.contains("EXITED:")
    });
    assert!(
        screen.contains("TTY:cooked"),
        "terminal left in raw mode:\n{screen}"
    );
}

/// A wall terminal on a quiet table: once drawn, a screen on which nothing
/// changes writes nothing to the terminal, although the clock ticks every
/// second (each tick redraws, and ratatui's backend would write colour
/// resets, a cursor hide and the synchronized-update markers every time).
#[test]
fn an_idle_screen_writes_nothing_to_the_terminal() {
    let dir = std::env::temp_dir().join(format!("exectop_idle_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("exectop.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://{}\"\n[poll]\ndatabase_interval = \"300s\"\n[ui]\nrefresh = \"300s\"\n",
            dir.join("quiet.db").display()
        ),
    )
    .unwrap();
    let migrated = Command::new(env!("CARGO_BIN_EXE_exectop"))
        .args(["migrate", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(migrated.status.success(), "{migrated:?}");

    let t = Tmux::start(&format!("--config {}", config.display()), 120, 30);
    t.wait_for("the first poll", READY, |s| {
        s.contains("Running 0") && s.contains("db ok")
    });
    let bytes = dir.join("terminal.bytes");
    let status = Command::new("tmux")
        .args(["pipe-pane", "-o", "-t", &t.session])
        .arg(format!("cat >> {}", bytes.display()))
        .status()
        .unwrap();
    assert!(status.success());
    let size = || std::fs::metadata(&bytes).map(|m| m.len()).unwrap_or(0);
    // The header clock shows minutes: a window that spans a new minute sees
    // it written once, so such a window is tried again.
    let mut written = Vec::new();
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(1500));
        let minute = chrono::Utc::now().format("%H:%M").to_string();
        let before = size();
        std::thread::sleep(Duration::from_secs(4));
        let after = size();
        if chrono::Utc::now().format("%H:%M").to_string() == minute {
            written.push(after - before);
            break;
        }
    }
    assert_eq!(written, [0], "bytes written by an idle screen in 4 s");
    let _ = std::fs::remove_dir_all(&dir);
}
