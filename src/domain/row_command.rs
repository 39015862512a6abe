//! Per-execution commands and links (`[[commands]]`): templates over a
//! row's fields, rendered for one row. Pure: parsing, the field set and the
//! quoting live here; running a command is the edge's (`crate::runner`).
//!
//! A command without a shell is a list of arguments, each templated on its
//! own, so a value with spaces, quotes or newlines stays one argument and
//! nothing is ever re-split. A `shell = true` command is one string for
//! `sh -c`, and every value put into it is single-quoted, so a row cannot
//! add a command of its own. A URL gets its values percent-encoded.

use std::time::Duration;

use super::Execution;

/// The row fields a template may name, in the order errors list them.
pub const FIELDS: &[&str] = &[
    "id",
    "remote_id",
    "name",
    "group",
    "status",
    "error",
    "error_count",
    "created_at",
    "started_at",
    "updated_at",
    "completed_at",
    "heartbeat_at",
];

/// A piece of a template: text as written, or a field's value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Field(&'static str),
}

/// One template: `{field}` where a value goes, `{{` and `}}` for braces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// Parses `text`; an error names the unknown field (`unknown field
    /// {foo}`) or the stray brace, for the caller to prefix with its key.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => name.push(c),
                            None => {
                                return Err(format!("unclosed {{{name} (write {{{{ for a brace)"));
                            }
                        }
                    }
                    let field = FIELDS.iter().find(|f| **f == name).ok_or_else(|| {
                        format!(
                            "unknown field {{{name}}} (known fields: {})",
                            FIELDS.join(", ")
                        )
                    })?;
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Field(field));
                }
                '}' => return Err("a lone } (write }} for a brace)".to_string()),
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Template { parts })
    }

    /// The text with each field's value passed through `encode`; an error
    /// names the first field the row has no value for.
    fn render(&self, row: &Execution, encode: impl Fn(&str) -> String) -> Result<String, String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Field(f) => {
                    let value = field_value(row, f)
                        .filter(|v| !v.is_empty())
                        .ok_or_else(|| format!("field {{{f}}} is empty on this row"))?;
                    out.push_str(&encode(&value));
                }
            }
        }
        Ok(out)
    }
}

/// A row's value for a known field name; `None` when the row has none.
pub fn field_value(row: &Execution, field: &str) -> Option<String> {
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.to_rfc3339());
    match field {
        "id" => Some(row.id.clone()),
        "remote_id" => row.remote_id.clone(),
        "name" => row.name.as_deref().map(str::to_string),
        "group" => row.group.as_deref().map(str::to_string),
        "status" => Some(row.raw_status.to_string()),
        "error" => row.error.clone(),
        "error_count" => row.error_count.map(|n| n.to_string()),
        "created_at" => Some(row.created_at.to_rfc3339()),
        "started_at" => time(row.started_at),
        "updated_at" => time(row.updated_at),
        "completed_at" => time(row.completed_at),
        "heartbeat_at" => time(row.heartbeat_at),
        _ => None,
    }
}

/// How a command is run when its key is pressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// Run it and show its output in a popup.
    Show,
    /// Put the rendered command or URL on the clipboard.
    Copy,
    /// Hand the URL to the desktop opener (else copy it).
    Open,
}

/// What a command is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Program and arguments, each one template, run without a shell.
    Argv(Vec<Template>),
    /// One string for `sh -c`; values are shell-quoted.
    Shell(Template),
    Url(Template),
}

/// One `[[commands]]` entry, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowCommand {
    pub key: String,
    pub description: String,
    pub run: RunMode,
    pub target: Target,
    /// It changes something: asks for the confirming key, refused read-only.
    pub changes: bool,
    pub timeout: Duration,
}

/// A command filled in for one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rendered {
    Argv(Vec<String>),
    Shell(String),
    Url(String),
}

impl Rendered {
    /// As the operator would type it: the URL, the shell string, or the
    /// arguments shell-quoted where they need it (what `copy` copies).
    pub fn text(&self) -> String {
        match self {
            Rendered::Url(u) => u.clone(),
            Rendered::Shell(s) => s.clone(),
            Rendered::Argv(args) => args
                .iter()
                .map(|a| {
                    let plain = !a.is_empty()
                        && a.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@,+%".contains(&b));
                    if plain { a.clone() } else { shell_quote(a) }
                })
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

impl RowCommand {
    /// The description as help shows it: a shell command says so.
    pub fn help_text(&self) -> String {
        match self.target {
            Target::Shell(_) => format!("{} (runs a shell: sh -c)", self.description),
            _ => self.description.clone(),
        }
    }

    /// The command for `row`; an error names the empty field.
    pub fn render(&self, row: &Execution) -> Result<Rendered, String> {
        Ok(match &self.target {
            Target::Argv(args) => Rendered::Argv(
                args.iter()
                    .map(|a| a.render(row, str::to_string))
                    .collect::<Result<_, _>>()?,
            ),
            Target::Shell(t) => Rendered::Shell(t.render(row, shell_quote)?),
            Target::Url(t) => Rendered::Url(t.render(row, url_encode)?),
        })
    }
}

/// `value` as one POSIX shell word: single quotes, with each `'` closed,
/// escaped and reopened. Nothing inside single quotes is special.
pub fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// Percent-encodes all but the unreserved characters, `:` and `@` (which a
/// path segment allows and ARNs are full of): a value cannot add a path
/// segment, a query parameter or a fragment.
fn url_encode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Status;
    use chrono::{TimeZone, Utc};

    fn row(remote_id: Option<&str>, name: &str) -> Execution {
        Execution {
            id: "17".into(),
            remote_id: remote_id.map(str::to_string),
            name: Some(name.into()),
            group: Some("etl".into()),
            status: Status::Running,
            raw_status: "RUNNING".into(),
            created_at: Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
            started_at: None,
            updated_at: None,
            completed_at: None,
            heartbeat_at: None,
            error: None,
            error_count: None,
        }
    }

    fn argv(parts: &[&str]) -> RowCommand {
        RowCommand {
            key: "H".into(),
            description: "history".into(),
            run: RunMode::Show,
            target: Target::Argv(parts.iter().map(|p| Template::parse(p).unwrap()).collect()),
            changes: false,
            timeout: Duration::from_secs(10),
        }
    }

    #[test]
    fn unknown_fields_and_stray_braces_are_named() {
        let err = Template::parse("x {foo} y").unwrap_err();
        assert!(
            err.starts_with("unknown field {foo} (known fields: id, remote_id"),
            "{err}"
        );
        assert!(Template::parse("{id").unwrap_err().contains("unclosed {id"));
        assert!(Template::parse("a}b").unwrap_err().contains("lone }"));
        let t = Template::parse("{{{id}}}").unwrap();
        assert_eq!(t.render(&row(None, "n"), str::to_string).unwrap(), "{17}");
    }

    #[test]
    fn values_with_spaces_quotes_and_newlines_stay_one_argument() {
        let nasty = "a b 'c' \"d\"\n$(rm -rf /);e";
        let cmd = argv(&["echo", "--name={name}", "{id}"]);
        let Rendered::Argv(args) = cmd.render(&row(None, nasty)).unwrap() else {
            panic!("argv")
        };
        assert_eq!(
            args,
            vec!["echo".to_string(), format!("--name={nasty}"), "17".into()]
        );
    }

    #[test]
    fn shell_values_are_quoted_so_sh_reads_them_back_exactly() {
        let nasty = "it's a \"test\"\n; touch /tmp/pwned `id` $HOME";
        let cmd = RowCommand {
            target: Target::Shell(Template::parse("printf '%s' {name} | wc -c").unwrap()),
            ..argv(&[])
        };
        let Rendered::Shell(text) = cmd.render(&row(None, nasty)).unwrap() else {
            panic!("shell")
        };
        let quoted = shell_quote(nasty);
        assert_eq!(text, format!("printf '%s' {quoted} | wc -c"));
        // sh gives the value back byte for byte.
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf '%s' {quoted}"))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), nasty);
        assert!(cmd.help_text().contains("runs a shell"));
    }

    #[test]
    fn an_empty_field_is_named_at_render() {
        let cmd = argv(&["aws", "--arn", "{remote_id}"]);
        assert_eq!(
            cmd.render(&row(None, "n")).unwrap_err(),
            "field {remote_id} is empty on this row"
        );
        assert_eq!(
            cmd.render(&row(Some(""), "n")).unwrap_err(),
            "field {remote_id} is empty on this row"
        );
    }

    #[test]
    fn url_values_cannot_leave_their_place() {
        let cmd = RowCommand {
            target: Target::Url(
                Template::parse("https://c.example/#/executions/{remote_id}?g={group}").unwrap(),
            ),
            ..argv(&[])
        };
        let Rendered::Url(url) = cmd
            .render(&row(Some("arn:aws:states:x/../y?z=1#f"), "n"))
            .unwrap()
        else {
            panic!("url")
        };
        assert_eq!(
            url,
            "https://c.example/#/executions/arn:aws:states:x%2F..%2Fy%3Fz%3D1%23f?g=etl"
        );
    }

    #[test]
    fn copied_text_quotes_only_what_needs_it() {
        let r = Rendered::Argv(vec!["echo".into(), "a b".into(), "it's".into(), "".into()]);
        assert_eq!(r.text(), r"echo 'a b' 'it'\''s' ''");
        assert_eq!(
            argv(&["x", "{created_at}"])
                .render(&row(None, "n"))
                .unwrap()
                .text(),
            "x 2026-01-02T03:04:05+00:00"
        );
    }
}
