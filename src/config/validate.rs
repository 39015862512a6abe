//! Validating a loaded configuration: each problem one line naming its
//! key and value (`remote.status_path must contain {remote_id}`).

use super::load::{ConfigError, invalid};
use super::types::{Config, NotifyConfig, RemoteKind, SecretSource, StatusValues};
use crate::domain::Status;

/// A SQL identifier exectop will double-quote: letters, digits and `_`,
/// not starting with a digit, at most 63 characters (PostgreSQL's limit).
pub fn is_safe_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 63
}

fn validate_stepfunctions(config: &Config, origin: &str) -> Result<(), ConfigError> {
    let r = &config.remote;
    let fail = |m: String| Err(invalid(origin, m));
    if config.table.remote_id.is_none() {
        return fail(
            "remote.kind = \"stepfunctions\" needs table.remote_id (the column holding the execution ARN)"
                .into(),
        );
    }
    if let Some(url) = &r.endpoint_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return fail(format!(
            "remote.endpoint_url {url:?} must start with http:// or https://"
        ));
    }
    for arn in &r.state_machines {
        let parts: Vec<&str> = arn.split(':').collect();
        if parts.len() != 7
            || parts[0] != "arn"
            || parts[2] != "states"
            || parts[5] != "stateMachine"
        {
            return fail(format!(
                "remote.state_machines: {arn:?} is not a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>)"
            ));
        }
    }
    if r.list_rate
        .is_some_and(|rate| !(rate > 0.0 && rate.is_finite()))
    {
        return fail("remote.list_rate must be above 0".into());
    }
    check_spellings(&r.status_values, "remote.status_values", origin, false)
}

pub fn validate(config: &Config, origin: &str) -> Result<(), ConfigError> {
    super::commands::resolve(&config.commands, super::commands::names_of(config))
        .map_err(|e| invalid(origin, e))?;
    let table = &config.table;
    let parts: Vec<&str> = table.name.split('.').collect();
    if parts.len() > 2 || !parts.iter().all(|p| is_safe_identifier(p)) {
        return Err(invalid(
            origin,
            format!(
                "table.name {:?} is not a safe identifier (letters, digits, _; optionally schema.table)",
                table.name
            ),
        ));
    }
    for (key, column) in table.columns() {
        if !is_safe_identifier(column) {
            return Err(invalid(
                origin,
                format!("table.{key} {column:?} is not a safe identifier (letters, digits, _)"),
            ));
        }
    }
    check_spellings(&table.status_values, "table.status_values", origin, true)?;
    if config.remote.kind == RemoteKind::Http {
        let r = &config.remote;
        for (key, value) in [("base_url", &r.base_url), ("status_path", &r.status_path)] {
            if value.as_deref().is_none_or(str::is_empty) {
                return Err(invalid(
                    origin,
                    format!("remote.{key} is required when remote.kind = \"http\""),
                ));
            }
        }
        let base = r.base_url.as_deref().unwrap_or_default();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(invalid(
                origin,
                format!("remote.base_url {base:?} must start with http:// or https://"),
            ));
        }
        if !r
            .status_path
            .as_deref()
            .unwrap_or_default()
            .contains("{remote_id}")
        {
            return Err(invalid(
                origin,
                "remote.status_path must contain {remote_id}".to_string(),
            ));
        }
        if table.remote_id.is_none() {
            return Err(invalid(
                origin,
                "remote.kind = \"http\" needs table.remote_id (the column holding the remote id)"
                    .to_string(),
            ));
        }
        check_spellings(&r.status_values, "remote.status_values", origin, false)?;
        for (key, pointer) in [
            ("status_pointer", &r.status_pointer),
            ("list_pointer", &r.list_pointer),
            ("list_id_pointer", &r.list_id_pointer),
            ("list_next_pointer", &r.list_next_pointer),
            ("list_status_pointer", &r.list_status_pointer),
            ("list_started_pointer", &r.list_started_pointer),
            ("list_name_pointer", &r.list_name_pointer),
        ] {
            if let Some(p) = pointer
                && !p.is_empty()
                && !p.starts_with('/')
            {
                return Err(invalid(
                    origin,
                    format!("remote.{key} {p:?} is not a JSON pointer (it starts with /)"),
                ));
            }
        }
        for (name, p) in &r.detail_fields {
            if !p.starts_with('/') {
                return Err(invalid(
                    origin,
                    format!(
                        "remote.detail_fields.{name} {p:?} is not a JSON pointer (it starts with /)"
                    ),
                ));
            }
        }
    }
    if config.remote.kind != RemoteKind::Http && !config.remote.detail_fields.is_empty() {
        return Err(invalid(
            origin,
            "remote.detail_fields reads an HTTP tracker's status answer (remote.kind = \"http\")"
                .to_string(),
        ));
    }
    if config.remote.kind == RemoteKind::Stepfunctions {
        validate_stepfunctions(config, origin)?;
    }
    let r = &config.remote;
    if let Some(param) = &r.list_cursor_param {
        if r.list_next_pointer.is_none() {
            return Err(invalid(
                origin,
                "remote.list_cursor_param needs remote.list_next_pointer (where the answer gives the cursor)".to_string(),
            ));
        }
        if param.is_empty()
            || !param
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        {
            return Err(invalid(
                origin,
                format!(
                    "remote.list_cursor_param {param:?} is not a plain query parameter name (letters, digits, _ - .)"
                ),
            ));
        }
    }
    if (r.list_next_pointer.is_some() || r.list_cursor_param.is_some())
        && r.list_active_path.is_none()
    {
        return Err(invalid(
            origin,
            "remote.list_next_pointer and list_cursor_param need remote.list_active_path"
                .to_string(),
        ));
    }
    if r.list_window
        .is_some_and(|w| w.0 > std::time::Duration::from_secs(3650 * 24 * 3600))
    {
        return Err(invalid(
            origin,
            "remote.list_window is longer than ten years".to_string(),
        ));
    }
    if let Some(url) = &config.database.url {
        crate::store::Backend::of_url(url).map_err(|e| ConfigError::DatabaseUrl {
            from: origin.to_string(),
            reason: e,
        })?;
    }
    validate_poll(config, origin)?;
    if let Some(notify) = &config.notify {
        validate_notify(notify, origin)?;
    }
    validate_agent(config, origin)?;
    let t = config.thresholds();
    if t.pending_stuck > t.max_runtime || t.running_stuck > t.max_runtime {
        return Err(invalid(
            origin,
            "thresholds.max_runtime must not be shorter than pending_stuck and running_stuck"
                .to_string(),
        ));
    }
    config
        .thresholds
        .validate_jobs()
        .map_err(|problem| invalid(origin, problem))?;
    Ok(())
}

/// Caps that must be positive numbers: a rate of 0, NaN or below would stall
/// or flood the tracker, a zero timeout fails every request.
fn validate_poll(config: &Config, origin: &str) -> Result<(), ConfigError> {
    let p = &config.poll;
    if let Some(rate) = p.remote_rate
        && !(rate.is_finite() && rate > 0.0)
    {
        return Err(invalid(
            origin,
            format!("poll.remote_rate {rate} must be a number of requests per second above 0"),
        ));
    }
    if p.remote_concurrency == Some(0) {
        return Err(invalid(
            origin,
            "poll.remote_concurrency must be at least 1".to_string(),
        ));
    }
    for (key, value) in [
        ("remote_timeout", p.remote_timeout),
        ("database_interval", p.database_interval),
        ("remote_interval", p.remote_interval),
    ] {
        if value.is_some_and(|d| d.0.is_zero()) {
            return Err(invalid(
                origin,
                format!("poll.{key} must be longer than 0s"),
            ));
        }
    }
    if config.remote.max_answer_bytes == Some(0) {
        return Err(invalid(
            origin,
            "remote.max_answer_bytes must be at least 1".to_string(),
        ));
    }
    Ok(())
}

/// `[notify]`: the URL from an environment variable (the value itself is
/// read and checked when the notifier starts), and a grouping window and
/// rate limit the clock can add (at most a day).
fn validate_notify(notify: &NotifyConfig, origin: &str) -> Result<(), ConfigError> {
    const LONGEST: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
    match &notify.url {
        SecretSource::Env { env } if env.trim().is_empty() => {
            return Err(invalid(
                origin,
                "notify.url: the environment variable's name is empty".to_string(),
            ));
        }
        SecretSource::Env { .. } => {}
        SecretSource::Command { .. } => {
            return Err(invalid(
                origin,
                "notify.url: a command is not supported for the webhook URL; give { env = \"VARIABLE\" }"
                    .to_string(),
            ));
        }
    }
    if notify.group.is_some_and(|d| d.0.is_zero()) {
        return Err(invalid(
            origin,
            "notify.group must be longer than 0s".to_string(),
        ));
    }
    for (key, value) in [
        ("group", notify.group),
        ("min_interval", notify.min_interval),
    ] {
        if value.is_some_and(|d| d.0 > LONGEST) {
            return Err(invalid(origin, format!("notify.{key} must be at most 24h")));
        }
    }
    Ok(())
}

/// `[agent] listen` must be an address, and a clean-up policy's age and
/// interval longer than nothing: a zero age would time out every active
/// execution, a zero interval run the clean-up without pause.
fn validate_agent(config: &Config, origin: &str) -> Result<(), ConfigError> {
    if let Some(listen) = &config.agent.listen
        && config.agent_listen().is_none()
    {
        return Err(invalid(
            origin,
            format!("agent.listen {listen:?} is not an address (IP:port, e.g. 127.0.0.1:9464)"),
        ));
    }
    if let Some(cleanup) = &config.policy.cleanup {
        for (key, value) in [("max_age", cleanup.max_age), ("interval", cleanup.interval)] {
            if value.0.is_zero() {
                return Err(invalid(
                    origin,
                    format!("policy.cleanup.{key} must be longer than 0s"),
                ));
            }
        }
    }
    Ok(())
}

fn check_spellings(
    values: &StatusValues,
    key: &str,
    origin: &str,
    need_both: bool,
) -> Result<(), ConfigError> {
    let mut seen: Vec<(&str, Status)> = Vec::new();
    for (status, words) in values.to_map().entries() {
        for w in words {
            if w.trim().is_empty() {
                return Err(invalid(
                    origin,
                    format!("{key}.{status} has an empty spelling"),
                ));
            }
            if let Some((_, other)) = seen.iter().find(|(s, _)| s.eq_ignore_ascii_case(w)) {
                return Err(invalid(
                    origin,
                    format!("{key}: spelling {w:?} is mapped to both {other} and {status}"),
                ));
            }
            seen.push((w, *status));
        }
    }
    let map = values.to_map();
    if need_both
        && (map.spellings_of(&Status::ACTIVE).is_empty()
            || map.spellings_of(&Status::TERMINAL).is_empty())
    {
        return Err(invalid(
            origin,
            format!("{key} needs at least one active (pending/running) and one terminal spelling"),
        ));
    }
    Ok(())
}
