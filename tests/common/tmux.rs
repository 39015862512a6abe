//! A real terminal for the end-to-end tests: the binary in a detached tmux
//! session, driven by keys and read back from the screen.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Tmux {
    pub session: String,
    pub home: PathBuf,
}

impl Tmux {
    /// Starts `exectop <args>` in a detached tmux session of the given size.
    /// After exectop exits, the pane prints whether the tty is back in
    /// canonical mode and the exit code, then stays open to be read.
    pub fn start(args: &str, cols: u16, rows: u16) -> Tmux {
        Tmux::start_with(args, cols, rows, &[])
    }

    /// Like `start`, with these environment variables set for exectop.
    pub fn start_with(args: &str, cols: u16, rows: u16, vars: &[(&str, &str)]) -> Tmux {
        Tmux::launch(args, cols, rows, vars, None)
    }

    /// Like `start`, with every byte exectop writes to the terminal, from
    /// the first, appended to the file `capture`.
    pub fn start_capturing(args: &str, cols: u16, rows: u16, capture: &Path) -> Tmux {
        Tmux::launch(args, cols, rows, &[], Some(capture))
    }

    /// `start_capturing` with these environment variables set for exectop.
    pub fn start_capturing_with(
        args: &str,
        cols: u16,
        rows: u16,
        capture: &Path,
        vars: &[(&str, &str)],
    ) -> Tmux {
        Tmux::launch(args, cols, rows, vars, Some(capture))
    }

    fn launch(
        args: &str,
        cols: u16,
        rows: u16,
        vars: &[(&str, &str)],
        capture: Option<&Path>,
    ) -> Tmux {
        let n = std::process::id();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let session = format!("exectop_e2e_{n}_{nanos}");
        let home = std::env::temp_dir().join(&session);
        std::fs::create_dir_all(&home).unwrap();
        let bin = env!("CARGO_BIN_EXE_exectop");
        // With a capture, the pane waits (5 s at most) until the pipe that
        // fills it has created the file, so it misses none of the first screen.
        let wait = capture.map_or(String::new(), |c| {
            format!(
                "for _ in $(seq 100); do [ -e {c} ] && break; sleep 0.05; done; ",
                c = c.display()
            )
        });
        // tmux gives a new pane the PATH of the client that made it, whatever
        // `-e` says: a PATH asked for is set again in the pane's shell.
        let path = vars
            .iter()
            .find(|(k, _)| *k == "PATH")
            .map_or(String::new(), |(_, v)| {
                format!("export PATH='{}'; ", v.replace('\'', r"'\''"))
            });
        let script = format!(
            "cd {home}; {path}{wait}{bin} {args}; code=$?; stty -a | grep -qw icanon && echo TTY:cooked || echo TTY:raw; echo EXITED:$code; sleep 60",
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
            .args(
                vars.iter()
                    .flat_map(|(k, v)| ["-e".to_string(), format!("{k}={v}")]),
            )
            .arg("sh")
            .arg("-c")
            .arg(script)
            // The pipe is attached in the same tmux command, before the pane
            // has run anything.
            .args(capture.into_iter().flat_map(|c| {
                [
                    ";".to_string(),
                    "pipe-pane".to_string(),
                    "-t".to_string(),
                    session.clone(),
                    format!("cat >> {}", c.display()),
                ]
            }))
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

    pub fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn keys(&self, keys: &[&str]) {
        for k in keys {
            let status = Command::new("tmux")
                .args(["send-keys", "-t", &self.session, k])
                .status()
                .unwrap();
            assert!(status.success());
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    pub fn literal(&self, text: &str) {
        Command::new("tmux")
            .args(["send-keys", "-l", "-t", &self.session, text])
            .status()
            .unwrap();
        std::thread::sleep(Duration::from_millis(150));
    }

    /// Waits until the screen satisfies `pred`, or panics with the screen.
    pub fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
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

    pub fn pane_pid(&self) -> Option<u32> {
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
