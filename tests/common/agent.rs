//! For the agent's tests: exectop's native table on the test server with
//! planted rows, plain HTTP GETs over loopback, a reader of the Prometheus
//! text exposition (version 0.0.4) that refuses any line it cannot read,
//! and a wait for a condition.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use exectop::config::TableConfig;
use exectop::store::{DbPool, Store, migrate};

/// exectop's native table (and audit table) in the schema `url` uses.
pub async fn native_store(url: &str) -> Store {
    let pool = DbPool::connect(url, false).await.unwrap();
    migrate::apply(&pool, true).await.unwrap();
    let store = Store::with_pool(pool, url, &TableConfig::default());
    store.validate_schema().await.unwrap();
    store
}

/// One native row: `minutes` ago it was created and started; it was last
/// written `updated` minutes ago, beat `heartbeat` minutes ago (NULL if
/// `None`) and, when terminal, completed `updated` minutes ago.
#[derive(Clone, Copy)]
pub struct Row<'a> {
    pub status: &'a str,
    pub remote_id: Option<&'a str>,
    pub minutes: i64,
    pub updated: i64,
    pub heartbeat: Option<i64>,
}

impl Row<'_> {
    pub fn sql(&self) -> String {
        let ago = |m: i64| format!("now() - interval '{m} minutes'");
        let terminal = !matches!(self.status, "pending" | "running");
        format!(
            "INSERT INTO exectop_executions (remote_id, status, created_at, started_at, updated_at, completed_at, heartbeat_at) \
             VALUES ({}, '{}', {}, {}, {}, {}, {})",
            self.remote_id
                .map_or("NULL".to_string(), |r| format!("'{r}'")),
            self.status,
            ago(self.minutes),
            if self.status == "pending" {
                "NULL".to_string()
            } else {
                ago(self.minutes)
            },
            ago(self.updated),
            if terminal {
                ago(self.updated)
            } else {
                "NULL".to_string()
            },
            self.heartbeat.map_or("NULL".to_string(), ago),
        )
    }
}

pub async fn plant(store: &Store, rows: &[Row<'_>]) {
    for row in rows {
        super::execute(store.pool(), row.sql()).await;
    }
}

/// GET `path` on `addr`: the status code, the `Content-Type` and the body.
pub async fn get(addr: SocketAddr, path: &str) -> (u16, String, String) {
    exectop::remote::install_tls_provider();
    let answer = reqwest::Client::new()
        .get(format!("http://{addr}{path}"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let code = answer.status().as_u16();
    let kind = answer
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (code, kind, answer.text().await.unwrap())
}

/// `/health` as JSON, with its status code.
pub async fn health(addr: SocketAddr) -> (u16, serde_json::Value) {
    let (code, kind, body) = get(addr, "/health").await;
    assert!(kind.starts_with("application/json"), "{kind}: {body}");
    (code, serde_json::from_str(&body).unwrap())
}

/// `/metrics`, read.
pub async fn scrape(addr: SocketAddr) -> Exposition {
    let (code, kind, body) = get(addr, "/metrics").await;
    assert_eq!(code, 200, "{body}");
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    Exposition::parse(&body)
}

/// Waits until `probe` gives a value, asking every 100 ms for `within`.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "waited {within:?} for {what} in vain"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A scrape as the exposition format reads: `# HELP name text`, `# TYPE
/// name type` before the family's samples, then `name{label="value",…}
/// value` lines.
#[derive(Debug, Default)]
pub struct Exposition {
    pub types: HashMap<String, String>,
    pub samples: Vec<Sample>,
    pub text: String,
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `a="x",b="y\"z"` → {a: x, b: y"z}.
fn labels(text: &str, line: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (name, after) = rest
            .split_once("=\"")
            .unwrap_or_else(|| panic!("a label without =\" in {line:?}"));
        assert!(is_name(name), "label name {name:?} in {line:?}");
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c @ ('\\' | '"'))) => value.push(c),
                    other => panic!("escape {other:?} in {line:?}"),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => panic!("an unterminated label value in {line:?}"),
            }
        };
        assert!(
            labels.insert(name.to_string(), value).is_none(),
            "label {name} twice in {line:?}"
        );
        rest = &after[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
    labels
}

impl Exposition {
    pub fn parse(text: &str) -> Exposition {
        let mut e = Exposition {
            text: text.to_string(),
            ..Default::default()
        };
        for line in text.lines().filter(|l| !l.is_empty()) {
            if let Some(comment) = line.strip_prefix("# ") {
                let mut parts = comment.splitn(3, ' ');
                let (word, name) = (parts.next().unwrap(), parts.next().unwrap_or_default());
                assert!(is_name(name), "metric name {name:?} in {line:?}");
                match word {
                    "HELP" => {}
                    "TYPE" => {
                        let kind = parts.next().unwrap_or_default();
                        assert!(
                            ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                            "type {kind:?} in {line:?}"
                        );
                        assert!(
                            e.types.insert(name.to_string(), kind.to_string()).is_none(),
                            "{name} typed twice"
                        );
                    }
                    _ => panic!("a comment that is neither HELP nor TYPE: {line:?}"),
                }
                continue;
            }
            let (series, value) = line
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("a sample without a value: {line:?}"));
            let value: f64 = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                v => v
                    .parse()
                    .unwrap_or_else(|_| panic!("value {v:?} in {line:?}")),
            };
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (
                    name,
                    labels(
                        rest.strip_suffix('}')
                            .unwrap_or_else(|| panic!("no closing brace in {line:?}")),
                        line,
                    ),
                ),
                None => (series, BTreeMap::new()),
            };
            assert!(is_name(name), "metric name {name:?} in {line:?}");
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .filter_map(|suffix| name.strip_suffix(suffix))
                .find(|f| e.types.get(*f).is_some_and(|t| t == "histogram"))
                .unwrap_or(name);
            assert!(
                e.types.contains_key(family),
                "sample {name} before any TYPE of its family"
            );
            e.samples.push(Sample {
                name: name.to_string(),
                labels,
                value,
            });
        }
        e
    }

    /// The value of the series `name{labels}` (exactly those labels).
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let wanted: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.samples
            .iter()
            .find(|s| s.name == name && s.labels == wanted)
            .map(|s| s.value)
    }

    /// The value, which must be there.
    pub fn must(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(name, labels)
            .unwrap_or_else(|| panic!("no {name}{labels:?} in\n{}", self.text))
    }
}
