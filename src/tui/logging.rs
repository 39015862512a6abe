//! Logging while the TUI runs: nothing may reach stdout or stderr, where it
//! would tear the screen.
//! Tracing events go to tui-logger (the Log pane) and to a file; sqlx, which
//! logs every statement, is turned down to warnings.

use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
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

/// Opens the log for appending, readable by its owner only: a log names
/// hosts, tables and executions. The folder is made 0700 when exectop makes
/// it; an existing log with wider permissions is narrowed to 0600.
pub fn open_private(path: &Path) -> Result<fs::File, String> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    if let Some(dir) = path.parent() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let narrow = file
        .metadata()
        .is_ok_and(|m| m.permissions().mode() & 0o077 != 0);
    if narrow {
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(file)
}

/// Moves the events logged since the last call into the Log pane's buffer.
pub fn show_new_events() {
    tui_logger::move_events();
}

/// Installs the global subscriber. Returns the log file's path.
pub fn init() -> Result<PathBuf, String> {
    let path =
        log_path().ok_or("cannot place the log file: neither XDG_STATE_HOME nor HOME is set")?;
    let file = open_private(&path)?;
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
                .with_writer(Mutex::new(crate::text::SafeWriter::new(file, false)))
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

    #[test]
    fn the_log_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("exectop-log-{}", std::process::id()));
        let path = dir.join("nested").join("exectop.log");
        open_private(&path).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        // A log left world-readable by an older exectop is narrowed.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(mode(&path), 0o644, "positive control");
        open_private(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        fs::remove_dir_all(dir).unwrap();
    }
}
