//! Finding, reading and layering the configuration (`validate` checks it).
//! Layers: defaults ← file ← environment ← flags.

use std::path::{Path, PathBuf};

use super::types::Config;
pub use super::validate::{is_safe_identifier, validate};
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

pub(super) fn invalid(origin: &str, problem: String) -> ConfigError {
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

/// The one-line error a configuration text gets at load, for tests.
#[cfg(test)]
pub(crate) fn load_error(text: &str) -> String {
    match parse_str(text, "x.toml").and_then(|c| validate(&c, "x.toml").map(|_| c)) {
        Ok(_) => panic!("expected an error for {text}"),
        Err(e) => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::load_error as err;
    use super::*;

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
