//! Per-execution commands and links (`[[commands]]`): templates over a
//! row's fields and, where `[remote.context]` is configured, the columns of
//! the row's context row, rendered for one row. Pure: parsing, the field
//! set and the quoting live here; reading the context and running a command
//! are the edge's (`crate::runner`, `remote::context`).
//!
//! A command without a shell is a list of arguments, each templated on its
//! own, so a value with spaces, quotes or newlines stays one argument and
//! nothing is ever re-split. A `shell = true` command is one string for
//! `sh -c`, and every value put into it is single-quoted, so a row cannot
//! add a command of its own. A URL gets its values percent-encoded.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Execution;

/// A row's context: column → value, as the context query gave it (a NULL
/// column is absent).
pub type ContextValues = BTreeMap<String, String>;

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

/// A piece of a template: text as written, a field's value, or a column
/// of the row's context row.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Field(&'static str),
    Context(String),
}

/// Whether names beyond `FIELDS` may be used: context columns, where the
/// configuration has a `[remote.context]` query to give them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    FieldsOnly,
    WithContext,
}

/// One template: `{field}` where a value goes, `{{` and `}}` for braces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// Parses `text`; an error names the unknown field (`unknown field
    /// {foo}`) or the stray brace, for the caller to prefix with its key.
    /// With `Names::WithContext`, a name that is no field is a context
    /// column, which the context query must give (checked at start, where
    /// the query is read).
    pub fn parse(text: &str, names: Names) -> Result<Template, String> {
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
                    let part = named_part(name, names)?;
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(part);
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

    /// The context columns it uses, in order.
    fn context_columns(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Context(c) => Some(c.as_str()),
            _ => None,
        })
    }

    /// The text with each value passed through `encode`; an error names
    /// the first field or context value the row has none for.
    fn render(
        &self,
        row: &Execution,
        context: Option<&ContextValues>,
        encode: impl Fn(&str) -> String,
    ) -> Result<String, String> {
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
                Part::Context(c) => {
                    let context = context.ok_or_else(|| {
                        format!("context value {{{c}}}: this row's context was not read")
                    })?;
                    let value = context
                        .get(c)
                        .filter(|v| !v.is_empty())
                        .ok_or_else(|| format!("context value {{{c}}} is empty for this row"))?;
                    out.push_str(&encode(value));
                }
            }
        }
        Ok(out)
    }
}

/// What `{name}` stands for. Secrets are refused whatever the context: a
/// command line is seen by every process on the host (`ps`), copied to
/// clipboards and shown in the yes popup.
fn named_part(name: String, names: Names) -> Result<Part, String> {
    if let Some(field) = FIELDS.iter().find(|f| **f == name) {
        return Ok(Part::Field(field));
    }
    if name.starts_with("secret.") {
        return Err(format!(
            "{{{name}}}: secrets are never put into commands (a command line is visible to every process on the host)"
        ));
    }
    let column = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    match names {
        Names::WithContext if column => Ok(Part::Context(name)),
        Names::WithContext => Err(format!(
            "{{{name}}} is neither a field ({}) nor a context column name (letters, digits, _ and -)",
            FIELDS.join(", ")
        )),
        Names::FieldsOnly => Err(format!(
            "unknown field {{{name}}} (known fields: {}; a context column needs [remote.context])",
            FIELDS.join(", ")
        )),
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

    fn templates(&self) -> &[Template] {
        match &self.target {
            Target::Argv(args) => args,
            Target::Shell(t) | Target::Url(t) => std::slice::from_ref(t),
        }
    }

    /// The context columns its templates use, each once, in order.
    pub fn context_columns(&self) -> Vec<&str> {
        let mut columns: Vec<&str> = Vec::new();
        for c in self.templates().iter().flat_map(Template::context_columns) {
            if !columns.contains(&c) {
                columns.push(c);
            }
        }
        columns
    }

    /// It needs the row's context row before it can be rendered.
    pub fn uses_context(&self) -> bool {
        self.templates()
            .iter()
            .any(|t| t.context_columns().next().is_some())
    }

    /// The command for `row` and its context row (where it uses one); an
    /// error names the empty field or context value.
    pub fn render(
        &self,
        row: &Execution,
        context: Option<&ContextValues>,
    ) -> Result<Rendered, String> {
        Ok(match &self.target {
            Target::Argv(args) => Rendered::Argv(
                args.iter()
                    .map(|a| a.render(row, context, str::to_string))
                    .collect::<Result<_, _>>()?,
            ),
            Target::Shell(t) => Rendered::Shell(t.render(row, context, shell_quote)?),
            Target::Url(t) => Rendered::Url(t.render(row, context, url_encode)?),
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
#[path = "row_command_tests.rs"]
mod tests;
