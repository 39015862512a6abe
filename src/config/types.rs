//! The configuration's shape. Loading, layering and
//! validation live in `config::load`; these types only describe the file.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::domain::{ErrorClass, ErrorClassifier, Status, StatusMap, Thresholds, parse_duration};

/// A duration written like `45s`, `2h` or `1h30m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationSpec(pub Duration);

impl<'de> Deserialize<'de> for DurationSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_duration(&text)
            .map(DurationSpec)
            .map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub database: DatabaseConfig,
    #[serde(default)]
    pub table: TableConfig,
    #[serde(default)]
    pub remote: RemoteConfig,
    #[serde(default)]
    pub thresholds: ThresholdsConfig,
    #[serde(default)]
    pub poll: PollConfig,
    #[serde(default)]
    pub ui: UiConfig,
    /// `exectop agent`: where it serves `/metrics` and `/health`.
    #[serde(default)]
    pub agent: AgentConfig,
    /// What the agent does on its own (`[policy.cleanup]`).
    #[serde(default)]
    pub policy: PolicyConfig,
    /// Error-class rules, in order; when given they replace the defaults.
    #[serde(default)]
    pub error_classes: Vec<ErrorClassRule>,
    /// A webhook told when findings appear and clear (`src/notify`); none
    /// without the section.
    #[serde(default)]
    pub notify: Option<NotifyConfig>,
    /// Per-execution commands and links (`config::commands`).
    #[serde(default)]
    pub commands: Vec<super::commands::CommandConfig>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `postgres://…` or `sqlite://path`; `EXECTOP_DATABASE_URL`, then `DATABASE_URL`, override it.
    pub url: Option<String>,
    /// Where `url` came from when not from the file (an environment
    /// variable, the command line): errors about the database name it, so
    /// the operator fixes the setting in use. Never read from TOML.
    #[serde(skip)]
    pub url_from: Option<String>,
}

/// The executions table as it is: its name and which column holds what.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TableConfig {
    pub name: String,
    pub id: String,
    pub status: String,
    pub remote_id: Option<String>,
    pub name_column: Option<String>,
    pub group: Option<String>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub updated_at: Option<String>,
    pub completed_at: Option<String>,
    pub heartbeat_at: Option<String>,
    pub error: Option<String>,
    pub error_count: Option<String>,
    #[serde(default = "StatusValues::canonical")]
    pub status_values: StatusValues,
}

impl TableConfig {
    /// Every mapped column with the key that maps it (`remote_id`, `created_at`, …).
    pub fn columns(&self) -> Vec<(&'static str, &str)> {
        let required = [
            ("id", Some(&self.id)),
            ("status", Some(&self.status)),
            ("created_at", Some(&self.created_at)),
        ];
        let optional = [
            ("remote_id", self.remote_id.as_ref()),
            ("name_column", self.name_column.as_ref()),
            ("group", self.group.as_ref()),
            ("started_at", self.started_at.as_ref()),
            ("updated_at", self.updated_at.as_ref()),
            ("completed_at", self.completed_at.as_ref()),
            ("heartbeat_at", self.heartbeat_at.as_ref()),
            ("error", self.error.as_ref()),
            ("error_count", self.error_count.as_ref()),
        ];
        required
            .into_iter()
            .chain(optional)
            .filter_map(|(k, v)| v.map(|c| (k, c.as_str())))
            .collect()
    }
}

impl Default for TableConfig {
    /// exectop's native schema (`migrations/`).
    fn default() -> Self {
        TableConfig {
            name: "exectop_executions".into(),
            id: "id".into(),
            status: "status".into(),
            remote_id: Some("remote_id".into()),
            name_column: Some("name".into()),
            group: Some("group_name".into()),
            created_at: "created_at".into(),
            started_at: Some("started_at".into()),
            updated_at: Some("updated_at".into()),
            completed_at: Some("completed_at".into()),
            heartbeat_at: Some("heartbeat_at".into()),
            error: Some("error".into()),
            error_count: Some("error_count".into()),
            status_values: StatusValues::canonical(),
        }
    }
}

/// Spellings of each canonical status. Statuses left out have no spelling.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StatusValues {
    #[serde(default)]
    pub pending: Vec<String>,
    #[serde(default)]
    pub running: Vec<String>,
    #[serde(default)]
    pub succeeded: Vec<String>,
    #[serde(default)]
    pub failed: Vec<String>,
    #[serde(default)]
    pub cancelled: Vec<String>,
    #[serde(default)]
    pub timed_out: Vec<String>,
}

impl StatusValues {
    pub fn canonical() -> Self {
        let one = |s: Status| vec![s.as_str().to_string()];
        StatusValues {
            pending: one(Status::Pending),
            running: one(Status::Running),
            succeeded: one(Status::Succeeded),
            failed: one(Status::Failed),
            cancelled: one(Status::Cancelled),
            timed_out: one(Status::TimedOut),
        }
    }

    pub fn to_map(&self) -> StatusMap {
        StatusMap::new(vec![
            (Status::Pending, self.pending.clone()),
            (Status::Running, self.running.clone()),
            (Status::Succeeded, self.succeeded.clone()),
            (Status::Failed, self.failed.clone()),
            (Status::Cancelled, self.cancelled.clone()),
            (Status::TimedOut, self.timed_out.clone()),
        ])
    }
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RemoteKind {
    #[default]
    None,
    Http,
    Stepfunctions,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RemoteConfig {
    #[serde(default)]
    pub kind: RemoteKind,
    pub base_url: Option<String>,
    /// Path of one execution, with `{remote_id}` where the id goes.
    pub status_path: Option<String>,
    /// JSON pointer to the status in the answer (default `/status`).
    pub status_pointer: Option<String>,
    /// Path that lists active executions; enables `remote_only` findings.
    pub list_active_path: Option<String>,
    /// JSON pointer to the array of executions in the list answer (default: the whole answer).
    pub list_pointer: Option<String>,
    /// JSON pointer to the remote id within one listed item (default `/id`).
    pub list_id_pointer: Option<String>,
    /// JSON pointer to the next page's cursor in a list answer; absent, null
    /// or empty on the last page. Without it the list is one answer.
    pub list_next_pointer: Option<String>,
    /// Query parameter that carries the cursor to the next page. Without it
    /// the cursor is the next page's path or URL (on the API's own origin).
    pub list_cursor_param: Option<String>,
    /// JSON pointers within one listed item: its status (an item whose status
    /// is not active by `status_values` is left out; an item without one is
    /// taken as listed active), its creation or start time, its name.
    pub list_status_pointer: Option<String>,
    pub list_started_pointer: Option<String>,
    pub list_name_pointer: Option<String>,
    /// Fields of the status answer the details show, name → JSON pointer
    /// (`reason = "/statusReason"`): what the vendor says beside a status.
    #[serde(default)]
    pub detail_fields: BTreeMap<String, String>,
    /// How far back `{list_since}` in a list path reaches (default 1 day),
    /// for APIs that list every execution created since a moment.
    pub list_window: Option<DurationSpec>,
    /// Path that stops one execution, with `{remote_id}`; enables stop_remote.
    pub stop_path: Option<String>,
    /// The stop request's method: `POST` (default) or `DELETE`.
    pub stop_method: Option<StopMethod>,
    /// Name of the environment variable holding the bearer token. The token is never logged.
    pub token_env: Option<String>,
    /// Largest answer read, in bytes (default 4 MiB); a larger one is a failed answer.
    pub max_answer_bytes: Option<u64>,
    #[serde(default)]
    pub status_values: StatusValues,
    /// Headers sent with every request: name → template (`{secret.NAME}`,
    /// row and context values).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Named secrets, each read from the environment or a command's output;
    /// never from this file.
    #[serde(default)]
    pub secrets: BTreeMap<String, SecretSource>,
    pub oauth: Option<OAuthConfig>,
    pub context: Option<ContextConfig>,
    /// Step Functions: the AWS region (else the profile's or `AWS_REGION`).
    pub region: Option<String>,
    /// Step Functions: the named profile of the shared AWS files (as `--profile`).
    pub profile: Option<String>,
    /// Step Functions: another endpoint (LocalStack, moto, a VPC endpoint).
    pub endpoint_url: Option<String>,
    /// Step Functions: state machines whose running executions are listed,
    /// besides those the rows' ARNs name.
    #[serde(default)]
    pub state_machines: Vec<String>,
    /// Step Functions: `ListExecutions` calls per second at most (default 1;
    /// `poll.remote_rate` caps the `DescribeExecution` calls).
    pub list_rate: Option<f64>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "UPPERCASE")]
pub enum StopMethod {
    #[default]
    Post,
    Delete,
}

/// Where a secret's value comes from.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, untagged)]
pub enum SecretSource {
    /// `{ env = "AMC_CLIENT_SECRET" }`
    Env { env: String },
    /// `{ command = ["pass", "show", "amc/refresh-token"] }`: its standard
    /// output, without the trailing line break.
    Command { command: Vec<String> },
}

/// The OAuth 2 refresh-token grant (RFC 6749 §6). Its client id, client
/// secret and refresh token are the secrets named `client_id`,
/// `client_secret` and `refresh_token` in `[remote.secrets]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OAuthConfig {
    pub token_url: String,
    /// Space-separated scopes sent with the grant, if the vendor wants them.
    pub scope: Option<String>,
}

/// Values from related tables for the request templates: a read-only query
/// whose column `key` matches a row value, its other columns template
/// variables.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ContextConfig {
    /// Which row value the query's `key` column matches: `group`, `name`,
    /// `id` or `remote_id`.
    pub key: String,
    pub query: String,
    /// How often the query is read again (default 5m).
    pub refresh: Option<DurationSpec>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ThresholdsConfig {
    pub registration_grace: Option<DurationSpec>,
    pub pending_stuck: Option<DurationSpec>,
    pub running_stuck: Option<DurationSpec>,
    pub max_runtime: Option<DurationSpec>,
    pub heartbeat_stale: Option<DurationSpec>,
    pub poll_error_limit: Option<u32>,
    pub not_found_confirmations: Option<u32>,
    pub long_running_age: Option<DurationSpec>,
    pub long_running_count: Option<usize>,
    /// Per-job rules by name pattern, tried in order before `by_group`.
    #[serde(default)]
    pub by_name: Vec<super::job_thresholds::JobThresholdsConfig>,
    /// Per-job rules by group pattern.
    #[serde(default)]
    pub by_group: Vec<super::job_thresholds::JobThresholdsConfig>,
    /// Limits learned from each job's history.
    #[serde(default)]
    pub learn: super::job_thresholds::LearnConfig,
}

impl ThresholdsConfig {
    pub fn resolve(&self) -> Thresholds {
        let d = Thresholds::default();
        let pick = |v: Option<DurationSpec>, default: Duration| v.map_or(default, |s| s.0);
        Thresholds {
            registration_grace: pick(self.registration_grace, d.registration_grace),
            pending_stuck: pick(self.pending_stuck, d.pending_stuck),
            running_stuck: pick(self.running_stuck, d.running_stuck),
            max_runtime: pick(self.max_runtime, d.max_runtime),
            heartbeat_stale: pick(self.heartbeat_stale, d.heartbeat_stale),
            poll_error_limit: self.poll_error_limit.unwrap_or(d.poll_error_limit),
            not_found_confirmations: self
                .not_found_confirmations
                .unwrap_or(d.not_found_confirmations),
            long_running_age: pick(self.long_running_age, d.long_running_age),
            long_running_count: self.long_running_count.unwrap_or(d.long_running_count),
        }
    }
}

/// How often and how hard exectop asks: intervals, caps and timeouts.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PollConfig {
    /// Database poll interval (default 5s).
    pub database_interval: Option<DurationSpec>,
    /// Each execution is looked up at most this often (default 15s).
    pub remote_interval: Option<DurationSpec>,
    /// Requests in flight at once (default 10).
    pub remote_concurrency: Option<usize>,
    /// Requests per second at most (default 20).
    pub remote_rate: Option<f64>,
    /// Per-request timeout (default 10s); connect timeout is the lesser of this and 5s.
    pub remote_timeout: Option<DurationSpec>,
    /// One remote poller for every instance on the table (PostgreSQL; default
    /// true): the others read its answers and send the remote nothing.
    pub share_remote: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UiConfig {
    /// Screen refresh / database poll interval shown in the header (default 5s).
    pub refresh: Option<DurationSpec>,
    #[serde(default)]
    pub read_only: bool,
    /// Draw with ratatui's own crossterm backend, not exectop's encoder.
    #[serde(default)]
    pub plain_terminal: bool,
    /// Key bindings: command name → key or keys (`"r"`, `["q", "ctrl-c"]`).
    #[serde(default)]
    pub keys: BTreeMap<String, KeySpec>,
    /// The colours (`dark`, the default; `light`; `high-contrast`).
    /// `NO_COLOR` wins over it.
    #[serde(default, deserialize_with = "ui_theme")]
    pub theme: ThemeName,
}

/// A theme's name, as the configuration spells it (kebab-case). The TUI
/// builds the theme (`tui::theme::Theme::named`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ThemeName {
    /// Today's colours, for a dark background.
    #[default]
    Dark,
    /// For a light background.
    Light,
    /// For colour-blind viewers and a screen read from across the room: ok,
    /// bad and warn differ by modifier as well as by colour.
    HighContrast,
}

impl ThemeName {
    pub const ALL: [ThemeName; 3] = [ThemeName::Dark, ThemeName::Light, ThemeName::HighContrast];

    pub fn as_str(self) -> &'static str {
        match self {
            ThemeName::Dark => "dark",
            ThemeName::Light => "light",
            ThemeName::HighContrast => "high-contrast",
        }
    }
}

impl std::fmt::Display for ThemeName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ThemeName {
    type Err = String;

    /// The error says what was written and lists the themes; the caller
    /// puts the key in front of it.
    fn from_str(text: &str) -> Result<Self, String> {
        ThemeName::ALL
            .into_iter()
            .find(|t| t.as_str() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = ThemeName::ALL.iter().map(|t| t.as_str()).collect();
                format!("{text:?} is not a theme ({})", names.join(", "))
            })
    }
}

impl<'de> Deserialize<'de> for ThemeName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// `ui.theme`: a theme's name, the error naming the key.
fn ui_theme<'de, D: Deserializer<'de>>(d: D) -> Result<ThemeName, D::Error> {
    String::deserialize(d)?
        .parse()
        .map_err(|e| serde::de::Error::custom(format!("ui.theme {e}")))
}

/// `[agent]`: the headless agent's settings.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// The address `/metrics` and `/health` are served on, `IP:port`
    /// (default `127.0.0.1:9464`); `--listen` wins over it.
    pub listen: Option<String>,
}

/// `[policy]`: what the agent does without an operator.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Scheduled clean-up; no section means none.
    pub cleanup: Option<CleanupPolicyConfig>,
}

/// `[policy.cleanup]`: every `interval`, the agent times out the active
/// executions older than `max_age`, as `exectop cleanup --max-age … --fix`
/// does, or only reports them (`apply = false`, the default).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CleanupPolicyConfig {
    pub max_age: DurationSpec,
    /// How often it runs (default 1h); the first run is at the agent's start.
    #[serde(default = "CleanupPolicyConfig::default_interval")]
    pub interval: DurationSpec,
    /// Write the changes (true) or only report what would change (false).
    #[serde(default)]
    pub apply: bool,
}

impl CleanupPolicyConfig {
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(3600);

    fn default_interval() -> DurationSpec {
        DurationSpec(Self::DEFAULT_INTERVAL)
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum KeySpec {
    One(String),
    Many(Vec<String>),
}

impl KeySpec {
    pub fn keys(&self) -> Vec<String> {
        match self {
            KeySpec::One(k) => vec![k.clone()],
            KeySpec::Many(ks) => ks.clone(),
        }
    }
}

/// `[notify]`: a webhook (Slack-compatible `{"text": …}`) told when
/// findings appear and when they clear, in grouped, rate-limited messages.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// Where the webhook URL comes from: `{ env = "EXECTOP_WEBHOOK_URL" }`.
    /// A webhook URL is itself a secret, so it is never written in the file.
    #[serde(deserialize_with = "secret_source_only")]
    pub url: SecretSource,
    /// How long changes gather before they go out as one message (default 30s).
    pub group: Option<DurationSpec>,
    /// One message at most this often (default 60s; `0s`: no limit but `group`).
    pub min_interval: Option<DurationSpec>,
}

impl NotifyConfig {
    pub const DEFAULT_GROUP: Duration = Duration::from_secs(30);
    pub const DEFAULT_MIN_INTERVAL: Duration = Duration::from_secs(60);

    pub fn group(&self) -> Duration {
        self.group.map_or(Self::DEFAULT_GROUP, |d| d.0)
    }

    pub fn min_interval(&self) -> Duration {
        self.min_interval
            .map_or(Self::DEFAULT_MIN_INTERVAL, |d| d.0)
    }
}

/// A secret's source, refusing a value written in its place: the value is
/// registered as a secret first, so the error that quotes the line (which
/// holds it) is masked where it is printed.
fn secret_source_only<'de, D: Deserializer<'de>>(d: D) -> Result<SecretSource, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Given {
        Source(SecretSource),
        Written(String),
    }
    match Given::deserialize(d)? {
        Given::Source(source) => Ok(source),
        Given::Written(value) => {
            crate::text::register_secret(&value);
            Err(serde::de::Error::custom(
                "a webhook URL is a secret and is not written in the file: \
                 give url = { env = \"VARIABLE\" } and set the variable",
            ))
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ErrorClassRule {
    pub class: ErrorClass,
    pub patterns: Vec<String>,
}

impl Config {
    pub fn thresholds(&self) -> Thresholds {
        self.thresholds.resolve()
    }

    /// The per-job rules and the learning policy (`[thresholds]`).
    pub fn job_rules(&self) -> crate::domain::JobRules {
        self.thresholds.job_rules()
    }

    pub fn classifier(&self) -> ErrorClassifier {
        if self.error_classes.is_empty() {
            ErrorClassifier::default()
        } else {
            ErrorClassifier::new(
                self.error_classes
                    .iter()
                    .map(|r| (r.class, r.patterns.clone()))
                    .collect(),
            )
        }
    }

    pub fn database_interval(&self) -> Duration {
        self.poll
            .database_interval
            .or(self.ui.refresh)
            .map_or(Duration::from_secs(5), |d| d.0)
    }

    /// Where the agent listens unless `--listen` says: `[agent] listen`,
    /// else `127.0.0.1:9464`: loopback, so the endpoints reach beyond the
    /// host only when the operator says so. `None` when the key is not an
    /// address; `config::validate` refuses that at load.
    pub fn agent_listen(&self) -> Option<std::net::SocketAddr> {
        match &self.agent.listen {
            Some(text) => text.trim().parse().ok(),
            None => Some(std::net::SocketAddr::from(([127, 0, 0, 1], 9464))),
        }
    }

    pub fn remote_interval(&self) -> Duration {
        self.poll
            .remote_interval
            .map_or(Duration::from_secs(15), |d| d.0)
    }
}
