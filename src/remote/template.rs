//! Request templates: a path with its query, or a header value, with
//! `{…}` where a value goes. Values come from the row (`{remote_id}`,
//! `{id}`, `{name}`, `{group}`), from the context query (`{key}` and its
//! other columns), from `[remote.secrets]` (`{secret.NAME}`, headers only)
//! and from the clock (`{list_since}`, list paths only).
//!
//! A value in a path is one percent-encoded segment, in a query one
//! percent-encoded value, so no value can add a segment, climb the path or
//! start another parameter; a header value with a control character is
//! refused rather than sent.

use std::borrow::Cow;
use std::collections::BTreeSet;

use super::RemoteError;
use super::answer::{path_segment, percent_encode};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Var {
    RemoteId,
    Id,
    Name,
    Group,
    /// The context row's `key` column.
    Key,
    ListSince,
    Secret(String),
    Context(String),
}

impl Var {
    fn parse(name: &str) -> Option<Var> {
        let plain = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        };
        Some(match name {
            "remote_id" => Var::RemoteId,
            "id" => Var::Id,
            "name" => Var::Name,
            "group" => Var::Group,
            "key" => Var::Key,
            "list_since" => Var::ListSince,
            _ => match name.strip_prefix("secret.") {
                Some(secret) if plain(secret) => Var::Secret(secret.to_string()),
                Some(_) => return None,
                None if plain(name) => Var::Context(name.to_string()),
                None => return None,
            },
        })
    }

    pub fn is_row(&self) -> bool {
        matches!(self, Var::RemoteId | Var::Id | Var::Name | Var::Group)
    }
}

impl std::fmt::Display for Var {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Var::RemoteId => f.write_str("{remote_id}"),
            Var::Id => f.write_str("{id}"),
            Var::Name => f.write_str("{name}"),
            Var::Group => f.write_str("{group}"),
            Var::Key => f.write_str("{key}"),
            Var::ListSince => f.write_str("{list_since}"),
            Var::Secret(s) => write!(f, "{{secret.{s}}}"),
            Var::Context(c) => write!(f, "{{{c}}}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Path,
    Query,
    Header,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Value(Var, Place),
}

/// Where a template is used, which decides the values it may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// A look-up's or a stop's path: row and context values.
    RowPath,
    /// A list path: context values and `{list_since}`.
    ListPath,
    /// A header value, sent with look-ups and lists alike: context values
    /// and secrets.
    Header,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The configuration key it came from, for errors (`remote.status_path`).
    key: String,
    pieces: Vec<Piece>,
}

impl Template {
    /// Parses `text`, refusing what `usage` cannot fill and secrets not in
    /// `secrets`; errors name `key`.
    pub fn parse(
        key: &str,
        text: &str,
        usage: Use,
        secrets: &BTreeSet<String>,
    ) -> Result<Template, RemoteError> {
        if usage != Use::Header && !text.starts_with('/') {
            // A value first in the path would join the host name.
            return Err(RemoteError::Config(format!(
                "{key}: {text:?} must start with /"
            )));
        }
        let mut pieces = Vec::new();
        let mut place = if usage == Use::Header {
            Place::Header
        } else {
            Place::Path
        };
        let mut rest = text;
        while !rest.is_empty() {
            let open = rest.find(['{', '}']).unwrap_or(rest.len());
            let literal = &rest[..open];
            if !literal.is_empty() {
                if place == Place::Path && literal.contains('?') {
                    place = Place::Query;
                }
                pieces.push(Piece::Text(literal.to_string()));
            }
            rest = &rest[open..];
            if rest.is_empty() {
                break;
            }
            if rest.starts_with('}') {
                return Err(RemoteError::Config(format!(
                    "{key}: a `}}` without its `{{` in {text:?}"
                )));
            }
            let close = rest.find('}').ok_or_else(|| {
                RemoteError::Config(format!("{key}: a `{{` without its `}}` in {text:?}"))
            })?;
            let name = &rest[1..close];
            let var = Var::parse(name).ok_or_else(|| {
                RemoteError::Config(format!("{key}: unknown template variable {{{name}}} (use remote_id, id, name, group, key, list_since, secret.NAME or a context column)"))
            })?;
            check_use(key, &var, usage, secrets)?;
            pieces.push(Piece::Value(var, place));
            rest = &rest[close + 1..];
        }
        Ok(Template {
            key: key.to_string(),
            pieces,
        })
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    /// The values it names.
    pub fn vars(&self) -> impl Iterator<Item = &Var> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Value(var, _) => Some(var),
            Piece::Text(_) => None,
        })
    }

    /// The text with every value in place, encoded for where it stands.
    /// `value` gives each; a value it does not have is an error naming it.
    pub fn render<'v>(
        &self,
        value: &dyn Fn(&Var) -> Option<Cow<'v, str>>,
    ) -> Result<String, RemoteError> {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Value(var, place) => {
                    let v = value(var)
                        .ok_or_else(|| RemoteError::Unsendable(missing(&self.key, var)))?;
                    match place {
                        Place::Path => out.push_str(&path_segment(&v).map_err(|e| {
                            RemoteError::Unsendable(format!("{} {var}: {e}", self.key))
                        })?),
                        Place::Query => out.push_str(&percent_encode(&v)),
                        Place::Header => {
                            if v.chars().any(|c| c.is_control()) {
                                // The value itself is not shown: it may be a secret.
                                return Err(RemoteError::Unsendable(format!(
                                    "{}: the value of {var} has a control character; not sent",
                                    self.key
                                )));
                            }
                            out.push_str(&v);
                        }
                    }
                }
            }
        }
        Ok(out)
    }
}

fn missing(key: &str, var: &Var) -> String {
    match var {
        Var::Context(_) | Var::Key => {
            format!("{key} uses {var}, which the context query gave no value for")
        }
        Var::Secret(_) => format!("{key} uses {var}, which is not set"),
        _ => format!("{key} uses {var}, which this execution has no value for"),
    }
}

fn check_use(
    key: &str,
    var: &Var,
    usage: Use,
    secrets: &BTreeSet<String>,
) -> Result<(), RemoteError> {
    if let Var::Secret(name) = var {
        if usage != Use::Header {
            return Err(RemoteError::Config(format!(
                "{key}: {var} may only be used in [remote.headers]: a secret in a URL would reach logs and proxies"
            )));
        }
        if !secrets.contains(name) {
            return Err(RemoteError::Config(format!(
                "{key}: {var} names no secret in [remote.secrets]"
            )));
        }
    }
    let allowed = match usage {
        Use::RowPath => var.is_row() || matches!(var, Var::Key | Var::Context(_)),
        Use::ListPath => matches!(var, Var::Key | Var::Context(_) | Var::ListSince),
        Use::Header => matches!(var, Var::Key | Var::Context(_) | Var::Secret(_)),
    };
    if allowed {
        return Ok(());
    }
    Err(RemoteError::Config(match usage {
        Use::RowPath => format!("{key}: {var} is only known when listing"),
        Use::ListPath => format!(
            "{key}: {var} is a row's value, and a list is asked for per context row, not per execution"
        ),
        Use::Header => format!(
            "{key}: {var} is a row's value; headers go with lists too, so they use context values and secrets"
        ),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none() -> BTreeSet<String> {
        BTreeSet::new()
    }

    fn render(t: &Template, pairs: &[(Var, &str)]) -> Result<String, String> {
        t.render(&|v| {
            pairs
                .iter()
                .find(|(k, _)| k == v)
                .map(|(_, s)| Cow::Owned(s.to_string()))
        })
        .map_err(|e| e.to_string())
    }

    #[test]
    fn values_are_encoded_for_where_they_stand() {
        let t = Template::parse(
            "remote.status_path",
            "/amc/reporting/{instance_id}/workflowExecutions/{remote_id}?x={name}",
            Use::RowPath,
            &none(),
        )
        .unwrap();
        let out = render(
            &t,
            &[
                (Var::Context("instance_id".into()), "amc a/b"),
                (Var::RemoteId, "r-1"),
                (Var::Name, "a&b=c"),
            ],
        )
        .unwrap();
        assert_eq!(
            out,
            "/amc/reporting/amc%20a%2Fb/workflowExecutions/r-1?x=a%26b%3Dc"
        );
        let dots = render(
            &t,
            &[
                (Var::Context("instance_id".into()), ".."),
                (Var::RemoteId, "r"),
                (Var::Name, "n"),
            ],
        )
        .unwrap_err();
        assert!(dots.contains("remote.status_path {instance_id}"), "{dots}");
    }

    #[test]
    fn a_missing_value_or_a_control_character_in_a_header_is_named_not_sent() {
        let secrets = BTreeSet::from(["client_id".to_string()]);
        let t = Template::parse(
            "remote.headers.X",
            "{secret.client_id}:{entity_id}",
            Use::Header,
            &secrets,
        )
        .unwrap();
        let missing = render(&t, &[(Var::Secret("client_id".into()), "c")]).unwrap_err();
        assert_eq!(
            missing,
            "remote.headers.X uses {entity_id}, which the context query gave no value for"
        );
        let bad = render(
            &t,
            &[
                (Var::Secret("client_id".into()), "xyzzy\r\n42"),
                (Var::Context("entity_id".into()), "e"),
            ],
        )
        .unwrap_err();
        assert!(!bad.contains("xyzzy"), "{bad}");
        assert!(bad.contains("{secret.client_id}"), "{bad}");
    }

    #[test]
    fn each_place_refuses_what_it_cannot_fill_and_names_the_key() {
        let secrets = BTreeSet::from(["token".to_string()]);
        let cases = [
            (
                "/x/{remote_id}",
                Use::ListPath,
                "remote.list_active_path: {remote_id} is a row's value",
            ),
            ("/x/{list_since}", Use::RowPath, "only known when listing"),
            (
                "/x/{secret.token}",
                Use::RowPath,
                "may only be used in [remote.headers]",
            ),
            ("{secret.other}", Use::Header, "names no secret"),
            ("{remote_id}", Use::Header, "is a row's value"),
            (
                "/x/{bad name}",
                Use::RowPath,
                "unknown template variable {bad name}",
            ),
            ("/x/{remote_id", Use::RowPath, "without its `}`"),
            ("/x/}", Use::RowPath, "without its `{`"),
            ("{instance_id}/x", Use::ListPath, "must start with /"),
        ];
        for (text, usage, expected) in cases {
            let err = Template::parse("remote.list_active_path", text, usage, &secrets)
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{text}: {err}");
            assert!(err.starts_with("remote.list_active_path"), "{err}");
        }
    }
}
