//! One module per subcommand; `main` only dispatches to them.

pub mod act;
pub mod actions;
pub mod agent;
pub mod check;
pub mod demo;
pub mod live;
pub mod migrate;
pub mod setup;
pub mod thresholds;

pub use setup::CommandFailure;

use std::io::Write;

/// Writes `value` to stdout as pretty JSON and a newline, as it is
/// serialized: a report of 10 000 findings is megabytes, and building it as
/// one string first grew and copied it over and over.
pub fn print_json(value: &impl serde::Serialize) -> Result<(), CommandFailure> {
    write_stdout("the JSON report", |out| {
        serde_json::to_writer_pretty(&mut *out, value)?;
        out.write_all(b"\n")
    })
}

/// Text reports carry values from rows and remote answers: every control
/// character in them is made visible and inert (`text::lines`).
pub fn print_text(text: &str) -> Result<(), CommandFailure> {
    write_stdout("the report", |out| {
        let text = crate::text::hide_secrets(text);
        out.write_all(crate::text::lines(&text).as_bytes())
    })
}

/// Through one buffer. A closed pipe (`exectop check --json | head`) is an
/// error to report, not a panic.
fn write_stdout(
    what: &str,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), CommandFailure> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    write(&mut out)
        .and_then(|()| out.flush())
        .map_err(|e| CommandFailure(format!("cannot write {what}: {e}")))
}
