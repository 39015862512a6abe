//! Logging while the TUI runs: nothing may reach stdout or stderr (pitfall 7).
//! Tracing events go to tui-logger (the Log pane) and to a file; sqlx, which
//! logs every statement, is turned down to warnings.

use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::path::PathBuf;
use std::sync::Mutex;

use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// `$XDG_STATE_HOME/exectop/exectop.log`, else `~/.local/state/exectop/exectop.log`.
pub fn log_path() -> Option<PathBuf> {
    log_path_from(std::env::var_os("XDG_STATE_HOME"), std::env::var_os("HOME"))
}

/// The XDG rule: a relative or empty `XDG_STATE_HOME` is ignored.
fn log_path_from(state_home: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    let base = state_home
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| home.map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(base.join("exectop").join("exectop.log"))
}

/// Moves the events logged since the last call into the Log pane's buffer.
pub fn show_new_events() {
    tui_logger::move_events();
}

/// Installs the global subscriber. Returns the log file's path.
pub fn init() -> Result<PathBuf, String> {
    let path =
        log_path().ok_or("cannot place the log file: neither XDG_STATE_HOME nor HOME is set")?;
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    // Not `tui_logger::init_logger`: its thread wakes every 10 ms to move
    // events into the pane's buffer, which was 40 % of an idle monitor's CPU.
    // The UI task moves them itself before it draws (`show_new_events`); the
    // hot buffer holds a burst of that many events between two draws.
    tui_logger::set_hot_buffer_depth(10_000);
    tui_logger::set_default_level(tui_logger::LevelFilter::Info);
    tui_logger::set_level_for_target("sqlx", tui_logger::LevelFilter::Warn);
    let filter = Targets::new()
        .with_default(Level::INFO)
        .with_target("sqlx", Level::WARN);
    tracing_subscriber::registry()
        .with(filter)
        .with(tui_logger::TuiTracingSubscriberLayer)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(Mutex::new(file))
                .with_ansi(false),
        )
        .try_init()
        .map_err(|e| format!("logging: {e}"))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_path_follows_xdg_state_home_then_home() {
        let some = |s: &str| Some(OsString::from(s));
        assert_eq!(
            log_path_from(some("/state"), some("/home/op")),
            Some(PathBuf::from("/state/exectop/exectop.log"))
        );
        assert_eq!(
            log_path_from(some("relative"), some("/home/op")),
            Some(PathBuf::from("/home/op/.local/state/exectop/exectop.log"))
        );
        assert_eq!(
            log_path_from(some(""), some("/home/op")),
            Some(PathBuf::from("/home/op/.local/state/exectop/exectop.log"))
        );
        assert_eq!(log_path_from(None, None), None);
    }
}
