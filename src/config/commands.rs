//! `[[commands]]`: per-execution commands and links, as the file spells
//! them, and their checking into `domain::row_command::RowCommand`. Errors
//! name the entry and key (`commands[0].command: unknown field {foo}`).

use std::time::Duration;

use serde::Deserialize;

use super::DurationSpec;
use crate::domain::row_command::{Names, RowCommand, RunMode, Target, Template};

/// How long a `show` command may run unless its entry says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longer than this would leave a popup waiting beyond any use.
const MAX_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    #[default]
    Show,
    Copy,
    Open,
}

/// A command as a list of arguments, or one string (for `shell = true`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum CommandLine {
    Args(Vec<String>),
    Line(String),
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CommandConfig {
    pub key: String,
    pub description: String,
    #[serde(default)]
    pub run: RunKind,
    pub command: Option<CommandLine>,
    pub url: Option<String>,
    #[serde(default)]
    pub changes: bool,
    #[serde(default)]
    pub shell: bool,
    pub timeout: Option<DurationSpec>,
}

/// Every entry checked, in order; the first problem, named. `names` says
/// whether a `[remote.context]` query gives context columns to use.
pub fn resolve(entries: &[CommandConfig], names: Names) -> Result<Vec<RowCommand>, String> {
    entries
        .iter()
        .enumerate()
        .map(|(i, entry)| resolve_one(entry, names).map_err(|e| format!("commands[{i}].{e}")))
        .collect()
}

/// The names a configuration's command templates may use.
pub fn names_of(config: &super::Config) -> Names {
    if config.remote.context.is_some() {
        Names::WithContext
    } else {
        Names::FieldsOnly
    }
}

/// Each context column the commands use, with the first key that uses it
/// (`commands[0].url`): what the context query must give, checked at start.
pub fn context_columns(
    entries: &[CommandConfig],
    commands: &[RowCommand],
) -> Vec<(String, String)> {
    let mut needed: Vec<(String, String)> = Vec::new();
    for (i, (entry, command)) in entries.iter().zip(commands).enumerate() {
        let key = if entry.url.is_some() {
            "url"
        } else {
            "command"
        };
        for column in command.context_columns() {
            if !needed.iter().any(|(c, _)| c == column) {
                needed.push((column.to_string(), format!("commands[{i}].{key}")));
            }
        }
    }
    needed
}

fn resolve_one(c: &CommandConfig, names: Names) -> Result<RowCommand, String> {
    if c.key.trim().is_empty() {
        return Err("key: empty".into());
    }
    if c.description.trim().is_empty() {
        return Err("description: empty (help and the footer show it)".into());
    }
    let parse =
        |key: &str, text: &str| Template::parse(text, names).map_err(|e| format!("{key}: {e}"));
    let target = match (&c.command, &c.url) {
        (Some(_), Some(_)) => return Err("url: give either command or url, not both".into()),
        (None, None) => return Err("command: missing (or give a url)".into()),
        (None, Some(url)) => {
            if c.shell {
                return Err("shell: a url is not run by a shell".into());
            }
            Target::Url(parse("url", url)?)
        }
        (Some(CommandLine::Line(line)), None) if c.shell => Target::Shell(parse("command", line)?),
        (Some(CommandLine::Line(_)), None) => {
            return Err("command: a list of arguments (or one string with shell = true)".into());
        }
        (Some(CommandLine::Args(_)), None) if c.shell => {
            return Err("command: with shell = true, one string for sh -c".into());
        }
        (Some(CommandLine::Args(args)), None) => {
            if args.is_empty() || args[0].trim().is_empty() {
                return Err("command: empty: the first argument is the program".into());
            }
            Target::Argv(
                args.iter()
                    .map(|a| parse("command", a))
                    .collect::<Result<_, _>>()?,
            )
        }
    };
    let run = match (c.run, &target) {
        (RunKind::Show, Target::Url(_)) => {
            return Err("run: \"show\" runs a command; a url is copied or opened".into());
        }
        (RunKind::Open, Target::Argv(_) | Target::Shell(_)) => {
            return Err("run: \"open\" hands a url to the desktop opener; give url".into());
        }
        (RunKind::Show, _) => RunMode::Show,
        (RunKind::Copy, _) => RunMode::Copy,
        (RunKind::Open, _) => RunMode::Open,
    };
    let timeout = c.timeout.map_or(DEFAULT_TIMEOUT, |t| t.0);
    if timeout.is_zero() || timeout > MAX_TIMEOUT {
        return Err("timeout: between 1s and 10m".into());
    }
    Ok(RowCommand {
        key: c.key.clone(),
        description: c.description.clone(),
        run,
        target,
        changes: c.changes,
        timeout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(toml_text: &str) -> Result<Vec<RowCommand>, String> {
        #[derive(Deserialize)]
        struct File {
            commands: Vec<CommandConfig>,
        }
        let file: File = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        resolve(&file.commands, Names::FieldsOnly)
    }

    #[test]
    fn the_issue_example_loads() {
        let cmds = resolved(
            r#"[[commands]]
key = "H"
description = "execution history"
run = "show"
command = ["aws", "stepfunctions", "get-execution-history", "--execution-arn", "{remote_id}"]
timeout = "5s"
[[commands]]
key = "O"
description = "console"
run = "open"
url = "https://console.aws.amazon.com/states/home#/v2/executions/details/{remote_id}"
"#,
        )
        .unwrap();
        assert_eq!(cmds.len(), 2);
        assert_eq!(cmds[0].timeout, Duration::from_secs(5));
        assert_eq!(cmds[1].run, RunMode::Open);
        assert_eq!(cmds[1].timeout, DEFAULT_TIMEOUT);
    }

    #[test]
    fn errors_name_the_entry_and_key() {
        let one = |body: &str| {
            resolved(&format!(
                "[[commands]]\nkey = \"H\"\ndescription = \"d\"\n{body}\n"
            ))
            .unwrap_err()
        };
        assert!(
            one(r#"command = ["echo", "{foo}"]"#)
                .starts_with("commands[0].command: unknown field {foo}"),
        );
        assert!(
            one(r#"url = "https://x/{bar}""#).starts_with("commands[0].url: unknown field {bar}")
        );
        assert_eq!(one(""), "commands[0].command: missing (or give a url)");
        assert!(one(r#"command = "echo {id}""#).contains("shell = true"));
        assert!(one("command = \"echo\"\nshell = false").starts_with("commands[0].command:"));
        assert!(one("command = [\"echo\"]\nshell = true").contains("one string for sh -c"));
        assert!(one(r#"command = []"#).contains("empty"));
        assert!(one("run = \"open\"\ncommand = [\"x\"]").starts_with("commands[0].run:"));
        assert!(one("url = \"https://x\"").starts_with("commands[0].run: \"show\""));
        assert!(one("command = [\"x\"]\ntimeout = \"0s\"").starts_with("commands[0].timeout"));
        assert!(
            resolved(
                "[[commands]]\nkey = \"H\"\ndescription = \"d\"\ncommand = [\"x\"]\nwhat = 1\n"
            )
            .unwrap_err()
            .contains("unknown field `what`")
        );
    }

    #[test]
    fn validation_names_the_file_too() {
        let config = crate::config::parse_str(
            "[[commands]]\nkey = \"H\"\ndescription = \"d\"\ncommand = [\"echo\", \"{foo}\"]\n",
            "/etc/exectop.toml",
        )
        .unwrap();
        let err = crate::config::validate(&config, "/etc/exectop.toml")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("/etc/exectop.toml: commands[0].command: unknown field {foo}"),
            "{err}"
        );
    }

    #[test]
    fn a_shell_string_and_a_copied_url_are_taken() {
        let cmds = resolved(
            "[[commands]]\nkey = \"L\"\ndescription = \"logs\"\nshell = true\ncommand = \"tail {id} | head\"\n\
             [[commands]]\nkey = \"U\"\ndescription = \"link\"\nrun = \"copy\"\nurl = \"https://x/{id}\"\n",
        )
        .unwrap();
        assert!(matches!(cmds[0].target, Target::Shell(_)));
        assert_eq!(cmds[1].run, RunMode::Copy);
    }

    #[test]
    fn context_columns_are_names_only_with_a_context_query() {
        let text = "[[commands]]\nkey = \"I\"\ndescription = \"console\"\nrun = \"copy\"\n\
                    url = \"https://x/{instance_id}/{remote_id}\"\n\
                    [[commands]]\nkey = \"J\"\ndescription = \"echo\"\n\
                    command = [\"echo\", \"{advertiser_id}\", \"{instance_id}\"]\n";
        let without = crate::config::parse_str(text, "f.toml").unwrap();
        let err = crate::config::validate(&without, "f.toml")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "f.toml: commands[0].url: unknown field {instance_id} (known fields: id,"
            ),
            "{err}"
        );
        assert!(
            err.contains("a context column needs [remote.context]"),
            "{err}"
        );

        let with = crate::config::parse_str(
            &format!("{text}[remote.context]\nkey = \"group\"\nquery = \"SELECT 1 AS key\"\n"),
            "f.toml",
        )
        .unwrap();
        crate::config::validate(&with, "f.toml").unwrap();
        let cmds = resolve(&with.commands, names_of(&with)).unwrap();
        assert_eq!(
            context_columns(&with.commands, &cmds),
            vec![
                ("instance_id".to_string(), "commands[0].url".to_string()),
                (
                    "advertiser_id".to_string(),
                    "commands[1].command".to_string()
                ),
            ]
        );
        let secret = "[[commands]]\nkey = \"S\"\ndescription = \"d\"\ncommand = [\"x\", \"{secret.token}\"]\n";
        let with_secret = crate::config::parse_str(
            &format!("{secret}[remote.context]\nkey = \"group\"\nquery = \"SELECT 1 AS key\"\n"),
            "f.toml",
        )
        .unwrap();
        assert!(
            crate::config::validate(&with_secret, "f.toml")
                .unwrap_err()
                .to_string()
                .contains(
                    "commands[0].command: {secret.token}: secrets are never put into commands"
                )
        );
    }
}
