//! Runs a `[[commands]]` entry, at the edge (the TUI's event loop spawns
//! it; `update` only asks for it). Without a shell unless the entry says
//! `shell = true`; stdin closed; stdout and stderr captured up to a bound
//! (the rest is read and dropped, so a chatty command is not blocked on a
//! full pipe); killed, with its process group, at its timeout; killed too
//! if the run is dropped. Nothing here logs the command line: arguments may
//! carry what the operator would not want in a log file.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};

use crate::domain::row_command::Rendered;

/// What a popup can show of stdout; more is cut, and said to be.
pub const STDOUT_CAP: usize = 64 * 1024;
/// Stderr is for the reason it failed: a shorter bound.
pub const STDERR_CAP: usize = 16 * 1024;

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    /// Ended by a signal (not ours).
    Signal(i32),
    /// Still running at its timeout: killed.
    TimedOut(Duration),
    /// Never started (no such program, not executable).
    NotStarted(String),
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Code(c) => write!(f, "exit {c}"),
            Exit::Signal(s) => write!(f, "killed by signal {s}"),
            Exit::TimedOut(t) => write!(
                f,
                "timed out after {}: killed",
                crate::domain::format_duration_spec(*t)
            ),
            Exit::NotStarted(why) => write!(f, "did not start: {why}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub exit: Exit,
    /// As read, lossily decoded: the screen sanitises it, not this.
    pub stdout: String,
    pub stderr: String,
    /// Some output was past its bound and dropped.
    pub truncated: bool,
    pub elapsed: Duration,
}

/// Runs `rendered` (a command, never a URL: a URL is opened or copied) and
/// waits at most `timeout`.
pub async fn run(rendered: &Rendered, timeout: Duration) -> Outcome {
    let started = Instant::now();
    let mut command = match rendered {
        Rendered::Argv(args) => {
            let mut c = tokio::process::Command::new(&args[0]);
            c.args(&args[1..]);
            c
        }
        Rendered::Shell(line) => {
            let mut c = tokio::process::Command::new("sh");
            c.arg("-c").arg(line);
            c
        }
        Rendered::Url(_) => return not_started("a url is opened, not run".into(), started),
    };
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // Its own process group: the timeout kills what it started too (a
    // shell's pipeline), and a Ctrl-C meant for exectop does not reach it.
    #[cfg(unix)]
    command.process_group(0);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return not_started(e.to_string(), started),
    };
    let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
        return not_started("no pipes".into(), started);
    };
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let waited = tokio::time::timeout(timeout, async {
        let (cut_out, cut_err, status) = tokio::join!(
            read_bounded(out, STDOUT_CAP, &mut stdout),
            read_bounded(err, STDERR_CAP, &mut stderr),
            child.wait()
        );
        (cut_out || cut_err, status)
    })
    .await;
    let (exit, truncated) = match waited {
        Ok((cut, Ok(status))) => (exit_of(status), cut),
        Ok((cut, Err(e))) => (Exit::NotStarted(e.to_string()), cut),
        Err(_) => {
            kill_group(&child);
            let _ = child.kill().await;
            (Exit::TimedOut(timeout), false)
        }
    };
    Outcome {
        exit,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        truncated,
        elapsed: started.elapsed(),
    }
}

fn not_started(why: String, started: Instant) -> Outcome {
    Outcome {
        exit: Exit::NotStarted(why),
        stdout: String::new(),
        stderr: String::new(),
        truncated: false,
        elapsed: started.elapsed(),
    }
}

fn exit_of(status: std::process::ExitStatus) -> Exit {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return Exit::Signal(signal);
        }
    }
    Exit::Code(status.code().unwrap_or(-1))
}

#[cfg(unix)]
fn kill_group(child: &tokio::process::Child) {
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        // SAFETY: kill(2) with a negative pid signals the process group the
        // child leads (process_group(0) above); it touches no memory.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

#[cfg(not(unix))]
fn kill_group(_: &tokio::process::Child) {}

/// Reads to the end, keeping the first `cap` bytes in `into`; true when
/// anything was dropped.
async fn read_bounded(mut from: impl AsyncRead + Unpin, cap: usize, into: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 8192];
    let mut cut = false;
    loop {
        match from.read(&mut chunk).await {
            Ok(0) | Err(_) => return cut,
            Ok(n) => {
                let room = cap.saturating_sub(into.len());
                into.extend_from_slice(&chunk[..n.min(room)]);
                cut |= n > room;
            }
        }
    }
}

/// The desktop's URL opener, where there is one: `open` on macOS,
/// `xdg-open` where a display is set and it is installed. A headless SSH
/// session has none: the caller copies the URL instead.
pub fn opener() -> Option<&'static str> {
    if cfg!(target_os = "macos") {
        return Some("open");
    }
    let display = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
    let installed = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("xdg-open").is_file()));
    (display && installed).then_some("xdg-open")
}

/// Hands `url` to `opener`, detached (its output would draw over the
/// screen); the child is reaped in a task of its own.
pub fn open(opener: &str, url: &str) -> std::io::Result<()> {
    let mut child = tokio::process::Command::new(opener)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    tokio::spawn(async move {
        let _ = child.wait().await;
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(args: &[&str]) -> Rendered {
        Rendered::Argv(args.iter().map(|a| a.to_string()).collect())
    }

    #[tokio::test]
    async fn arguments_arrive_as_given_and_output_and_status_come_back() {
        let o = run(
            &argv(&[
                "sh",
                "-c",
                "printf '[%s]' \"$1\"; echo oops >&2; exit 3",
                "x",
                "a b 'c'\n",
            ]),
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(o.exit, Exit::Code(3));
        assert_eq!(o.stdout, "[a b 'c'\n]");
        assert_eq!(o.stderr, "oops\n");
        assert!(!o.truncated);
    }

    #[tokio::test]
    async fn a_hung_command_is_killed_with_its_children_at_the_timeout() {
        let started = Instant::now();
        // The shell's child holds the pipes: only killing the group ends it.
        let o = run(
            &Rendered::Shell("echo started; sleep 30; echo never".into()),
            Duration::from_millis(300),
        )
        .await;
        assert_eq!(o.exit, Exit::TimedOut(Duration::from_millis(300)));
        assert_eq!(o.stdout, "started\n");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn output_past_the_bound_is_cut_and_said_to_be() {
        let o = run(
            &Rendered::Shell("head -c 200000 /dev/zero | tr '\\0' x".into()),
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(o.exit, Exit::Code(0));
        assert_eq!(o.stdout.len(), STDOUT_CAP);
        assert!(o.truncated);
    }

    #[tokio::test]
    async fn a_missing_program_did_not_start() {
        let o = run(
            &argv(&["/nonexistent/exectop-no-such"]),
            Duration::from_secs(1),
        )
        .await;
        assert!(matches!(o.exit, Exit::NotStarted(_)), "{:?}", o.exit);
    }
}
