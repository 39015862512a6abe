//! Finding, reading, layering and validating the configuration.
//! Layers: defaults ← file ← environment ← flags.

use std::path::{Path, PathBuf};

use super::types::{Config, NotifyConfig, RemoteKind, SecretSource, StatusValues};
use crate::domain::Status;
use crate::store::StoreError;

/// What is wrong with the configuration, one clear line naming the file,
/// the key or the value at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// A file named by `--config` or `$EXECTOP_CONFIG` that is not there.
    #[error("config file {} does not exist", .0.display())]
    Missing(PathBuf),
    #[error("cannot read config file {}: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },
    /// TOML that does not parse or fit, at `line` (whose text names the key).
    #[error("{origin}:{line}: {message} (at `{text}`)")]
    Syntax {
        origin: String,
        line: usize,
        text: String,
        message: String,
    },
    /// TOML that does not parse or fit, where the parser gave no place.
    #[error("{origin}: {message}")]
    SyntaxNowhere { origin: String, message: String },
    /// A database URL that names no backend; `from` is where it was set
    /// (the file, the variable, the command line).
    #[error("{from}: {reason}")]
    DatabaseUrl { from: String, reason: StoreError },
    /// A value that cannot work; `problem` names its key and the value.
    #[error("{origin}: {problem}")]
    Invalid { origin: String, problem: String },
}

fn invalid(origin: &str, problem: String) -> ConfigError {
    ConfigError::Invalid {
        origin: origin.to_string(),
        problem,
    }
}

/// Settings given on the command line; they win over everything else.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub read_only: bool,
    pub database_url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// The file read, if any; named in every later error about the config.
    pub path: Option<PathBuf>,
}

impl Loaded {
    /// How errors refer to where the configuration came from.
    pub fn origin(&self) -> String {
        self.path.as_ref().map_or_else(
            || "the built-in defaults".to_string(),
            |p| p.display().to_string(),
        )
    }

    /// Why there is no database URL, and where to set one, as one line.
    pub fn no_database_url(&self) -> String {
        let set = "set [database] url in a config file, or EXECTOP_DATABASE_URL or DATABASE_URL";
        match &self.path {
            Some(p) => format!(
                "no database configured: {} has no [database] url; set it there, or EXECTOP_DATABASE_URL or DATABASE_URL",
                p.display()
            ),
            None => format!(
                "no database configured and no config file found (looked for --config, $EXECTOP_CONFIG, ./exectop.toml, {}): {set}",
                xdg_config_path().map_or_else(
                    || "$XDG_CONFIG_HOME/exectop/config.toml".to_string(),
                    |p| p.display().to_string()
                )
            ),
        }
    }
}

/// `$XDG_CONFIG_HOME/exectop/config.toml`, XDG's default `~/.config` when
/// the variable is unset or not absolute (the XDG rule).
fn xdg_config_path() -> Option<PathBuf> {
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .map(|dir| dir.join("exectop").join("config.toml"))
}

/// `--config`, else `$EXECTOP_CONFIG`, else `./exectop.toml`, else
/// `$XDG_CONFIG_HOME/exectop/config.toml` (XDG default `~/.config`).
/// An explicitly named file must exist; the implicit places are optional.
pub fn locate(explicit: Option<&Path>) -> Result<Option<PathBuf>, ConfigError> {
    let named = explicit
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("EXECTOP_CONFIG").map(PathBuf::from));
    if let Some(path) = named {
        return if path.is_file() {
            Ok(Some(path))
        } else {
            Err(ConfigError::Missing(path))
        };
    }
    let local = PathBuf::from("exectop.toml");
    if local.is_file() {
        return Ok(Some(local));
    }
    Ok(xdg_config_path().filter(|p| p.is_file()))
}

pub fn load(explicit: Option<&Path>, overrides: &Overrides) -> Result<Loaded, ConfigError> {
    let path = locate(explicit)?;
    let mut config = match &path {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| ConfigError::Unreadable {
                path: p.clone(),
                reason: e.to_string(),
            })?;
            parse_str(&text, &p.display().to_string())?
        }
        None => Config::default(),
    };
    let env_url = ["EXECTOP_DATABASE_URL", "DATABASE_URL"]
        .iter()
        .find_map(|k| {
            std::env::var(k)
                .ok()
                .filter(|v| !v.is_empty())
                .map(|v| (v, k.to_string()))
        });
    let flag_url = overrides
        .database_url
        .clone()
        .map(|v| (v, "the command line".to_string()));
    if let Some((url, from)) = flag_url.or(env_url) {
        // Checked here so the error names the variable, not the file.
        crate::store::Backend::of_url(&url).map_err(|e| ConfigError::DatabaseUrl {
            from: from.clone(),
            reason: e,
        })?;
        config.database.url = Some(url);
        config.database.url_from = Some(from);
    }
    if overrides.read_only {
        config.ui.read_only = true;
    }
    let loaded = Loaded { config, path };
    validate(&loaded.config, &loaded.origin())?;
    Ok(loaded)
}

/// Parses TOML, turning serde's message into one line with the file, the
/// line number and that line's text (which names the key).
pub fn parse_str(text: &str, origin: &str) -> Result<Config, ConfigError> {
    toml::from_str::<Config>(text).map_err(|e| {
        let message = e.message().trim().replace('\n', " ");
        match e.span() {
            Some(span) => {
                let line_no = text[..span.start.min(text.len())].matches('\n').count() + 1;
                let line = text.lines().nth(line_no - 1).unwrap_or_default().trim();
                ConfigError::Syntax {
                    origin: origin.to_string(),
                    line: line_no,
                    text: line.to_string(),
                    message,
                }
            }
            None => ConfigError::SyntaxNowhere {
                origin: origin.to_string(),
                message,
            },
        }
    })
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        match parse_str(text, "x.toml").and_then(|c| validate(&c, "x.toml").map(|_| c)) {
            Ok(_) => panic!("expected an error for {text}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn defaults_are_the_native_schema_and_valid() {
        let c = parse_str("", "x.toml").unwrap();
        validate(&c, "x.toml").unwrap();
        assert_eq!(c.table.name, "exectop_executions");
    }

    #[test]
    fn errors_name_the_file_line_and_key() {
        let e = err(
            "[table]\nname = \"t\"\nid = \"id\"\nstatus = \"s\"\ncreated_at = \"c\"\ntabel = 1\n",
        );
        assert!(e.starts_with("x.toml:6: unknown field `tabel`"), "{e}");
        let e = err("[thresholds]\nrunning_stuck = \"2 hours\"\n");
        assert!(
            e.contains("x.toml:2") && e.contains("running_stuck") && e.contains("unknown unit"),
            "{e}"
        );
        let e = err(
            "[table]\nname = \"t; drop table x\"\nid = \"id\"\nstatus = \"s\"\ncreated_at = \"c\"\n",
        );
        assert!(
            e.contains("table.name") && e.contains("not a safe identifier"),
            "{e}"
        );
        let e = err(
            "[table]\nname = \"t\"\nid = \"id\"\nstatus = \"s\"\ncreated_at = \"c\"\nremote_id = \"a-b\"\n",
        );
        assert!(e.contains("table.remote_id \"a-b\""), "{e}");
        let e = err("[remote]\nkind = \"http\"\nstatus_path = \"/x/{remote_id}\"\n");
        assert!(e.contains("remote.base_url is required"), "{e}");
        let t = "[table]\nname = \"t\"\nid = \"id\"\nstatus = \"s\"\ncreated_at = \"c\"\n";
        let e = err(&format!(
            "{t}[table.status_values]\nrunning = [\"X\"]\nfailed = [\"x\"]\n"
        ));
        assert!(e.contains("mapped to both running and failed"), "{e}");
        let e = err(&format!("{t}[table.status_values]\nrunning = [\"R\"]\n"));
        assert!(e.contains("needs at least one active"), "{e}");
        let e = err("[database]\nurl = \"mysql://x\"\n");
        assert!(e.contains("neither postgres"), "{e}");
    }

    #[test]
    fn list_pages_need_a_pointer_and_a_plain_parameter_name() {
        let remote = "[remote]\nlist_active_path = \"/runs\"\n";
        let e = err(&format!("{remote}list_cursor_param = \"after\"\n"));
        assert!(
            e.contains("remote.list_cursor_param needs remote.list_next_pointer"),
            "{e}"
        );
        let e = err(&format!(
            "{remote}list_next_pointer = \"/next\"\nlist_cursor_param = \"a&b=1\"\n"
        ));
        assert!(
            e.contains("list_cursor_param \"a&b=1\" is not a plain query parameter name"),
            "{e}"
        );
        let e = err("[remote]\nlist_next_pointer = \"/next\"\n");
        assert!(e.contains("need remote.list_active_path"), "{e}");
        let c = parse_str(
            &format!("{remote}list_next_pointer = \"/next\"\nlist_cursor_param = \"page_token\"\n"),
            "x.toml",
        )
        .unwrap();
        validate(&c, "x.toml").unwrap();
    }

    #[test]
    fn poll_caps_must_be_positive_numbers() {
        for rate in ["0", "-1", "nan", "inf", "0.0"] {
            let e = err(&format!("[poll]\nremote_rate = {rate}\n"));
            assert!(e.contains("poll.remote_rate"), "{rate}: {e}");
        }
        let e = err("[poll]\nremote_timeout = \"0s\"\n");
        assert!(
            e.contains("poll.remote_timeout must be longer than 0s"),
            "{e}"
        );
        let e = err("[poll]\nremote_concurrency = 0\n");
        assert!(e.contains("poll.remote_concurrency"), "{e}");
        let e = err("[remote]\nmax_answer_bytes = 0\n");
        assert!(e.contains("remote.max_answer_bytes"), "{e}");
        let fine = parse_str(
            "[poll]\nremote_rate = 0.5\nremote_timeout = \"2s\"\n",
            "x.toml",
        )
        .unwrap();
        validate(&fine, "x.toml").unwrap();
    }

    #[test]
    fn notify_errors_name_the_key_and_never_the_url() {
        let e = err("[notify]\nurl = { env = \"HOOK\" }\ngroup = \"0s\"\n");
        assert_eq!(e, "x.toml: notify.group must be longer than 0s");
        let e = err("[notify]\nurl = { env = \"HOOK\" }\nmin_interval = \"2d\"\n");
        assert_eq!(e, "x.toml: notify.min_interval must be at most 24h");
        let e = err("[notify]\nurl = { env = \"HOOK\" }\ngroup = \"soon\"\n");
        assert!(e.starts_with("x.toml:3:") && e.contains("group"), "{e}");
        let e = err("[notify]\nurl = { env = \"\" }\n");
        assert!(
            e.contains("notify.url: the environment variable's name is empty"),
            "{e}"
        );
        let e = err("[notify]\nurl = { command = [\"pass\", \"hook\"] }\n");
        assert!(e.contains("notify.url: a command is not supported"), "{e}");
        let e = err("[notify]\n");
        assert!(e.contains("missing field `url`"), "{e}");
        // A URL written in the file is refused, and masked where the error is
        // printed (the error quotes the line that holds it).
        let written = "https://hooks.example.com/services/T0/B0/written-in-file";
        let e = err(&format!("[notify]\nurl = \"{written}\"\n"));
        assert!(e.contains("a webhook URL is a secret"), "{e}");
        assert!(
            !crate::text::hide_secrets(&e).contains("written-in-file"),
            "{e}"
        );
        // Positive control: a valid section parses, with its defaults.
        let c = parse_str(
            "[notify]\nurl = { env = \"HOOK\" }\nmin_interval = \"0s\"\n",
            "x.toml",
        )
        .unwrap();
        validate(&c, "x.toml").unwrap();
        let n = c.notify.unwrap();
        assert_eq!(n.group(), std::time::Duration::from_secs(30));
        assert_eq!(n.min_interval(), std::time::Duration::ZERO);
        assert!(parse_str("", "x.toml").unwrap().notify.is_none());
    }

    #[test]
    fn the_agent_keys_are_checked_and_named() {
        let e = err("[policy.cleanup]\nmax_age = \"0s\"\n");
        assert!(
            e.contains("policy.cleanup.max_age must be longer than 0s"),
            "{e}"
        );
        let e = err("[policy.cleanup]\nmax_age = \"24h\"\ninterval = \"0ms\"\n");
        assert!(
            e.contains("policy.cleanup.interval must be longer than 0s"),
            "{e}"
        );
        let e = err("[policy.cleanup]\ninterval = \"1h\"\n");
        assert!(e.contains("missing field `max_age`"), "{e}");
        let e = err("[policy.cleanup]\nmax_age = \"24h\"\napply = \"yes\"\n");
        assert!(e.contains("x.toml:3") && e.contains("apply"), "{e}");
        let e = err("[policy.cleanup]\nmax_age = \"24h\"\nmax_agee = \"1h\"\n");
        assert!(e.contains("unknown field `max_agee`"), "{e}");
        let e = err("[agent]\nlisten = \"localhost\"\n");
        assert!(
            e.contains("agent.listen \"localhost\" is not an address"),
            "{e}"
        );

        let none = parse_str("", "x.toml").unwrap();
        assert_eq!(none.policy.cleanup, None, "no section: no clean-up");
        assert_eq!(none.agent_listen(), Some("127.0.0.1:9464".parse().unwrap()));
        let some = parse_str(
            "[agent]\nlisten = \"0.0.0.0:9100\"\n[policy.cleanup]\nmax_age = \"24h\"\n",
            "x.toml",
        )
        .unwrap();
        validate(&some, "x.toml").unwrap();
        assert_eq!(some.agent_listen(), Some("0.0.0.0:9100".parse().unwrap()));
        let cleanup = some.policy.cleanup.unwrap();
        assert_eq!(cleanup.max_age.0, std::time::Duration::from_secs(24 * 3600));
        assert_eq!(cleanup.interval.0, std::time::Duration::from_secs(3600));
        assert!(!cleanup.apply, "only reports unless told to apply");
    }

    #[test]
    fn the_theme_is_chosen_by_name_and_a_wrong_name_is_refused() {
        use crate::config::ThemeName;
        let theme = |text: &str| parse_str(text, "x.toml").unwrap().ui.theme;
        assert_eq!(theme(""), ThemeName::Dark, "no key: dark");
        assert_eq!(theme("[ui]\n"), ThemeName::Dark);
        assert_eq!(theme("[ui]\ntheme = \"light\"\n"), ThemeName::Light);
        assert_eq!(theme("[ui]\ntheme = \"dark\"\n"), ThemeName::Dark);
        assert_eq!(
            theme("[ui]\ntheme = \"high-contrast\"\n"),
            ThemeName::HighContrast
        );
        for name in ThemeName::ALL {
            assert_eq!(theme(&format!("[ui]\ntheme = \"{name}\"\n")), name);
        }

        let e = err("[ui]\nread_only = true\ntheme = \"sepia\"\n");
        assert!(
            e.starts_with(
                "x.toml:3: ui.theme \"sepia\" is not a theme (dark, light, high-contrast)"
            ),
            "{e}"
        );
        for wrong in ["Light", "high_contrast", "highcontrast", ""] {
            let e = err(&format!("[ui]\ntheme = \"{wrong}\"\n"));
            assert!(
                e.contains(&format!("ui.theme {wrong:?} is not a theme")),
                "{e}"
            );
        }
        let e = err("[ui]\ntheme = 1\n");
        assert!(e.contains("x.toml:2") && e.contains("theme = 1"), "{e}");

        // The name alone, as another section (a wall screen) would read it.
        #[derive(Debug, serde::Deserialize)]
        struct Wall {
            theme: ThemeName,
        }
        let wall: Wall = toml::from_str("theme = \"high-contrast\"").unwrap();
        assert_eq!(wall.theme, ThemeName::HighContrast);
        let e = toml::from_str::<Wall>("theme = \"sepia\"").unwrap_err();
        assert_eq!(
            e.message(),
            "\"sepia\" is not a theme (dark, light, high-contrast)"
        );
    }

    #[test]
    fn identifiers() {
        for ok in ["id", "_x", "workflow_executions", "A1"] {
            assert!(is_safe_identifier(ok), "{ok}");
        }
        for bad in ["", "1a", "a-b", "a b", "a\"b", "x;y", &"a".repeat(64)] {
            assert!(!is_safe_identifier(bad), "{bad}");
        }
    }
}
