//! What the HTTP tracker sends: each request's path and headers made from
//! the configuration's templates with the row's values, its context row
//! and the secrets. A request that cannot be made (no context for the
//! row, a value missing, a header value with a control character) is not
//! sent; the reason becomes the execution's evidence.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Duration;

use chrono::Utc;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::context::{ContextCache, ContextRow, RowField};
use super::secrets::Secret;
use super::template::{Template, Use, Var};
use super::{ListScope, LookupTarget, RemoteError};
use crate::config::RemoteConfig;
use crate::store::Store;

/// `{list_since}` reaches back this far unless `remote.list_window` says.
const DEFAULT_LIST_WINDOW: Duration = Duration::from_secs(24 * 3600);

pub struct Requests {
    pub status_path: Template,
    pub list_path: Option<Template>,
    pub stop_path: Option<Template>,
    headers: Vec<(HeaderName, Template)>,
    secrets: BTreeMap<String, Secret>,
    pub context: Option<ContextCache>,
    list_window: Duration,
}

/// A request ready to send: its path and query, values in place, and its headers.
#[derive(Debug)]
pub struct Prepared {
    pub path: String,
    pub headers: HeaderMap,
}

/// The templates of a configuration, each checked for what its place can fill.
pub struct Templates {
    pub status_path: Template,
    pub list_path: Option<Template>,
    pub stop_path: Option<Template>,
    pub headers: Vec<(HeaderName, Template)>,
}

impl Templates {
    pub fn parse(
        remote: &RemoteConfig,
        secret_names: &BTreeSet<String>,
    ) -> Result<Templates, RemoteError> {
        let status_path = Template::parse(
            "remote.status_path",
            remote.status_path.as_deref().unwrap_or_default(),
            Use::RowPath,
            secret_names,
        )?;
        let optional = |key: &str, text: &Option<String>, usage: Use| {
            text.as_deref()
                .map(|t| Template::parse(key, t, usage, secret_names))
                .transpose()
        };
        let list_path = optional(
            "remote.list_active_path",
            &remote.list_active_path,
            Use::ListPath,
        )?;
        let stop_path = optional("remote.stop_path", &remote.stop_path, Use::RowPath)?;
        let mut headers = Vec::new();
        for (name, text) in &remote.headers {
            let key = format!("remote.headers.{name}");
            let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                RemoteError::Config(format!("{key}: {name:?} is not a header name"))
            })?;
            if header == reqwest::header::AUTHORIZATION
                && (remote.oauth.is_some() || remote.token_env.is_some())
            {
                return Err(RemoteError::Config(format!(
                    "{key}: Authorization is sent by remote.oauth or remote.token_env already"
                )));
            }
            headers.push((
                header,
                Template::parse(&key, text, Use::Header, secret_names)?,
            ));
        }
        let templates = Templates {
            status_path,
            list_path,
            stop_path,
            headers,
        };
        if remote.context.is_none()
            && let Some((t, var)) = templates.all().find_map(|t| {
                Some((
                    t,
                    t.vars().find(|v| matches!(v, Var::Key | Var::Context(_)))?,
                ))
            })
        {
            return Err(RemoteError::Config(format!(
                "{}: unknown template variable {var}: not a row value (remote_id, id, name, group), and no [remote.context] query gives it",
                t.key()
            )));
        }
        Ok(templates)
    }

    fn all(&self) -> impl Iterator<Item = &Template> {
        std::iter::once(&self.status_path)
            .chain(&self.list_path)
            .chain(&self.stop_path)
            .chain(self.headers.iter().map(|(_, t)| t))
    }

    /// Each context column the templates use, with the first key that uses it.
    fn context_columns(&self) -> Vec<(String, String)> {
        let mut needed: Vec<(String, String)> = Vec::new();
        for t in self.all() {
            for var in t.vars() {
                if let Var::Context(column) = var
                    && !needed.iter().any(|(c, _)| c == column)
                {
                    needed.push((column.clone(), t.key().to_string()));
                }
            }
        }
        needed
    }
}

impl Requests {
    pub fn new(
        remote: &RemoteConfig,
        secrets: BTreeMap<String, Secret>,
        store: Option<&Store>,
    ) -> Result<Requests, RemoteError> {
        let names: BTreeSet<String> = secrets.keys().cloned().collect();
        let templates = Templates::parse(remote, &names)?;
        let context = match &remote.context {
            None => None,
            Some(c) => {
                RowField::parse(&c.key)?;
                let store = store.ok_or(RemoteError::Config(
                    "remote.context needs the database, and there is none".into(),
                ))?;
                Some(ContextCache::of_store(
                    c,
                    store,
                    templates.context_columns(),
                )?)
            }
        };
        let Templates {
            status_path,
            list_path,
            stop_path,
            headers,
        } = templates;
        Ok(Requests {
            status_path,
            list_path,
            stop_path,
            headers,
            secrets,
            context,
            list_window: remote.list_window.map_or(DEFAULT_LIST_WINDOW, |d| d.0),
        })
    }

    /// The row's context, or why there is none.
    async fn context_of(&self, target: &LookupTarget) -> Result<Option<ContextRow>, RemoteError> {
        let Some(cache) = &self.context else {
            return Ok(None);
        };
        let field = cache.field;
        let key = match field {
            RowField::Id => Some(target.id.as_str()),
            RowField::RemoteId => Some(target.remote_id.as_str()),
            RowField::Name => target.name.as_deref(),
            RowField::Group => target.group.as_deref(),
        };
        let Some(key) = key else {
            return Err(RemoteError::Unsendable(format!(
                "not asked: the row has no {} to find its context by (remote.context.key)",
                field.as_str()
            )));
        };
        match cache.for_key(key).await {
            Ok(Some(row)) => Ok(Some(row)),
            Ok(None) => Err(RemoteError::Unsendable(format!(
                "not asked: the context query gives no row for {} {key:?}",
                field.as_str()
            ))),
            Err(why) => Err(RemoteError::Unsendable(format!("not asked: {why}"))),
        }
    }

    /// The look-up or stop request of one execution.
    pub async fn for_row(
        &self,
        path: &Template,
        target: &LookupTarget,
    ) -> Result<Prepared, RemoteError> {
        let context = self.context_of(target).await?;
        let value = |var: &Var| -> Option<Cow<'_, str>> {
            match var {
                Var::RemoteId => Some(Cow::Borrowed(target.remote_id.as_str())),
                Var::Id => Some(Cow::Borrowed(target.id.as_str())),
                Var::Name => target.name.as_deref().map(|s| Cow::Owned(s.to_string())),
                Var::Group => target.group.as_deref().map(|s| Cow::Owned(s.to_string())),
                _ => self.shared_value(var, context.as_ref()),
            }
        };
        let not_asked = |e: RemoteError| RemoteError::Unsendable(format!("not asked: {e}"));
        let path = path.render(&value).map_err(not_asked)?;
        let headers = self.headers(context.as_ref()).map_err(not_asked)?;
        Ok(Prepared { path, headers })
    }

    /// `{list_since}` for one listing: rendered once, so every list of a
    /// walk asks from the same moment (and two lists of one instance are
    /// never told apart by the clock).
    fn list_since(&self) -> String {
        let window = chrono::Duration::from_std(self.list_window).unwrap_or_default();
        (Utc::now() - window)
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string()
    }

    /// Values a row does not give: the context's, the secrets'.
    fn shared_value(&self, var: &Var, context: Option<&ContextRow>) -> Option<Cow<'static, str>> {
        match var {
            Var::Key => context
                .and_then(|c| c.get("key"))
                .map(|s| Cow::Owned(s.clone())),
            Var::Context(column) => context
                .and_then(|c| c.get(column))
                .map(|s| Cow::Owned(s.clone())),
            Var::Secret(name) => self
                .secrets
                .get(name)
                .map(|s| Cow::Owned(s.expose().to_string())),
            _ => None,
        }
    }

    fn headers(&self, context: Option<&ContextRow>) -> Result<HeaderMap, RemoteError> {
        let mut map = HeaderMap::new();
        for (name, template) in &self.headers {
            let text = template.render(&|var| self.shared_value(var, context))?;
            let mut value = HeaderValue::from_str(&text).map_err(|_| {
                RemoteError::Unsendable(format!(
                    "{}: the value is not a valid header value; not sent",
                    template.key()
                ))
            })?;
            // Shown as "Sensitive" by any Debug print of the request.
            value.set_sensitive(true);
            map.insert(name.clone(), value);
        }
        Ok(map)
    }

    /// The lists to walk: one per distinct request the context rows make
    /// (many workflows share an instance, and its list is asked once), or
    /// the one list without a context. A context row the list cannot be
    /// made for is left out, said once in the log.
    pub async fn list_scopes(
        &self,
        reported: &mut HashSet<String>,
    ) -> Result<Vec<ListScope>, RemoteError> {
        let Some(path) = &self.list_path else {
            return Ok(Vec::new());
        };
        let rows: Vec<Option<ContextRow>> = match &self.context {
            Some(cache) => cache.all().await?.into_iter().map(Some).collect(),
            None => vec![None],
        };
        let since = self.list_since();
        let mut seen = HashSet::new();
        let mut scopes = Vec::new();
        for context in rows {
            let made = path
                .render(&|var| match var {
                    Var::ListSince => Some(Cow::Owned(since.clone())),
                    _ => self.shared_value(var, context.as_ref()),
                })
                .and_then(|p| Ok((p, self.headers(context.as_ref())?)));
            match made {
                Ok((path, headers)) => {
                    let identity = format!("{path}\n{:?}", header_values(&headers));
                    if seen.insert(identity) {
                        scopes.push(ListScope { path, headers });
                    }
                }
                Err(why) => {
                    let key = context
                        .as_ref()
                        .and_then(|c| c.get("key"))
                        .cloned()
                        .unwrap_or_default();
                    if reported.insert(key.clone()) {
                        tracing::warn!("not listing for context key {key:?}: {why}");
                    }
                }
            }
        }
        Ok(scopes)
    }
}

/// Header values for telling two lists apart (Debug hides sensitive ones).
fn header_values(headers: &HeaderMap) -> Vec<&[u8]> {
    headers.values().map(HeaderValue::as_bytes).collect()
}
