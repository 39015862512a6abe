//! Secret values for requests, read once at start from the environment or
//! from a command's output (as git credential helpers and kubectl's exec
//! plugins do), never from the configuration file. Each value is
//! registered with `text::register_secret`, so no log line or printed error
//! shows it, and its `Debug` form is `***`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::RemoteError;
use crate::config::SecretSource;

/// A command has this long to print its secret.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct Secret(Arc<str>);

impl Secret {
    pub fn new(value: &str) -> Secret {
        crate::text::register_secret(value);
        Secret(value.into())
    }

    /// A short-lived secret (an access token): masked too, but among the
    /// bounded few the process remembers.
    pub fn rotating(value: &str) -> Secret {
        crate::text::register_rotating_secret(value);
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Every secret of `[remote.secrets]`, by name. Errors name the secret
/// and where it was to come from, never a value or a command's output.
pub fn read_all(
    sources: &BTreeMap<String, SecretSource>,
) -> Result<BTreeMap<String, Secret>, RemoteError> {
    sources
        .iter()
        .map(|(name, source)| Ok((name.clone(), read(name, source)?)))
        .collect()
}

fn read(name: &str, source: &SecretSource) -> Result<Secret, RemoteError> {
    let key = format!("remote.secrets.{name}");
    let value = match source {
        SecretSource::Env { env } => std::env::var(env).map_err(|e| {
            RemoteError::Secret(match e {
                std::env::VarError::NotPresent => {
                    format!("{key}: the environment variable {env} is not set")
                }
                std::env::VarError::NotUnicode(_) => {
                    format!("{key}: the environment variable {env} is not valid UTF-8")
                }
            })
        })?,
        SecretSource::Command { command } => run(&key, command)?,
    };
    if value.is_empty() {
        return Err(RemoteError::Secret(format!("{key} is empty")));
    }
    Ok(Secret::new(&value))
}

/// The command's standard output without its trailing line break. Its
/// standard error goes to exectop's own (a helper may ask or explain
/// there); a failure is named by the program and its exit status only.
fn run(key: &str, command: &[String]) -> Result<String, RemoteError> {
    let Some((program, args)) = command.split_first() else {
        return Err(RemoteError::Secret(format!("{key}: command is empty")));
    };
    let mut child = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .map_err(|e| RemoteError::Secret(format!("{key}: cannot run {program:?}: {e}")))?;
    let deadline = std::time::Instant::now() + COMMAND_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| {
            RemoteError::Secret(format!("{key}: waiting for {program:?} failed: {e}"))
        })? {
            break status;
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(RemoteError::Secret(format!(
                "{key}: {program:?} gave no secret within {}s",
                COMMAND_TIMEOUT.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = Vec::new();
    if let Some(mut stdout) = child.stdout.take() {
        use std::io::Read;
        stdout.read_to_end(&mut out).map_err(|e| {
            RemoteError::Secret(format!(
                "{key}: reading the output of {program:?} failed: {e}"
            ))
        })?;
    }
    if !status.success() {
        return Err(RemoteError::Secret(format!(
            "{key}: {program:?} failed ({status})"
        )));
    }
    let text = String::from_utf8(out).map_err(|_| {
        RemoteError::Secret(format!(
            "{key}: the output of {program:?} is not valid UTF-8"
        ))
    })?;
    Ok(text.trim_end_matches(['\n', '\r']).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(args: &[&str]) -> SecretSource {
        SecretSource::Command {
            command: args.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn a_command_gives_its_output_without_the_line_break() {
        let s = read("t", &command(&["printf", "from-helper-123\\n"])).unwrap();
        assert_eq!(s.expose(), "from-helper-123");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(
            crate::text::hide_secrets("token from-helper-123"),
            "token ***"
        );
    }

    #[test]
    fn failures_name_the_secret_and_the_source_never_the_output() {
        let failed = read("t", &command(&["sh", "-c", "echo leaked-value; exit 3"]))
            .unwrap_err()
            .to_string();
        assert!(
            failed.starts_with("remote.secrets.t: \"sh\" failed"),
            "{failed}"
        );
        assert!(!failed.contains("leaked-value"), "{failed}");
        let missing = read(
            "client_secret",
            &SecretSource::Env {
                env: "EXECTOP_TEST_NOT_SET_ANYWHERE".into(),
            },
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            missing,
            "remote.secrets.client_secret: the environment variable EXECTOP_TEST_NOT_SET_ANYWHERE is not set"
        );
        let nothing = read("t", &command(&["true"])).unwrap_err().to_string();
        assert_eq!(nothing, "remote.secrets.t is empty");
    }
}
