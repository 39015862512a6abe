//! moto's server standing in for AWS Step Functions, on a free loopback
//! port of the test's own.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

/// The table the Step Functions preset reads, with the seed's columns.
pub const EXPERIMENTS_TABLE: &str = "CREATE TABLE experiments (id bigserial PRIMARY KEY, model_name text,
  started_at timestamptz NOT NULL, completed_at timestamptz, execution_arn text, execution_name text,
  execution_status varchar(20), last_error jsonb)";

/// The ARN of execution `name` of the tests' state machine, `experiment`.
pub fn execution(name: &str) -> String {
    format!("arn:aws:states:{REGION}:{ACCOUNT}:execution:experiment:{name}")
}

/// The shipped Step Functions preset pointed at `endpoint`, each of
/// `edits` (text, replacement) applied, written to a file of the test's own.
pub fn preset_config(endpoint: &str, edits: &[(&str, &str)]) -> std::path::PathBuf {
    let mut text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("assets/presets/stepfunctions_experiments.toml"),
    )
    .unwrap()
    .replace(
        "region = \"us-east-1\"\n",
        &format!("region = \"us-east-1\"\nendpoint_url = \"{endpoint}\"\n"),
    );
    assert!(text.contains("endpoint_url = \"http://127.0.0.1"));
    for (from, to) in edits {
        assert!(text.contains(from), "the preset has {from:?}");
        text = text.replace(from, to);
    }
    let dir = std::env::temp_dir().join(super::unique("exectop_sfn"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("exectop.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The table with two runs of `experiment` the table says are running,
/// ids 1 and 2, executions `a` and `b`.
pub async fn plant_two_running(url: &str) {
    use sqlx::Executor;
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    pool.execute(sqlx::AssertSqlSafe(format!(
        "{EXPERIMENTS_TABLE};
         INSERT INTO experiments (id, model_name, started_at, execution_arn, execution_name, execution_status) VALUES
           (1, 'llama', now() - interval '10 minutes', '{a}', 'a', 'RUNNING'),
           (2, 'llama', now() - interval '10 minutes', '{b}', 'b', 'RUNNING')",
        a = execution("a"),
        b = execution("b"),
    )))
    .await
    .unwrap();
    pool.close().await;
}

/// The credentials exectop gets in these tests: from the environment only,
/// stand-in keys, no shared files, no instance metadata.
pub const TEST_AWS_ENV: [(&str, &str); 5] = [
    ("AWS_ACCESS_KEY_ID", "AKIAEXECTOPTEST"),
    ("AWS_SECRET_ACCESS_KEY", "exectop-test-secret"),
    ("AWS_CONFIG_FILE", "/nonexistent/exectop-test"),
    ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/exectop-test"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
];

/// The call a request to a Step Functions stand-in makes (`X-Amz-Target`).
pub fn amz_target(headers: &axum::http::HeaderMap) -> String {
    headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

pub fn machine_arn() -> String {
    format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:experiment")
}

/// moto's server on a free loopback port, stopped when dropped.
pub struct Moto {
    child: Child,
    pub url: String,
}

impl Moto {
    pub fn start() -> Moto {
        Moto::start_with(&[])
    }

    /// With these environment variables: `SF_EXECUTION_HISTORY_TYPE=FAILURE`
    /// makes every execution moto starts a failed one, with a history.
    pub fn start_with(vars: &[(&str, &str)]) -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(vars.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server must be installed (pip install 'moto[server]'; .ci/run does)");
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "moto_server did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// One call as the test's own client (moto does not check signatures).
    pub async fn call(&self, target: &str, body: Value) -> Value {
        exectop::remote::install_tls_provider();
        let answer = reqwest::Client::new()
            .post(format!("{}/", self.url))
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", format!("AWSStepFunctions.{target}"))
            .header(
                "authorization",
                format!("AWS4-HMAC-SHA256 Credential=testing/20261204/{REGION}/states/aws4_request, SignedHeaders=host, Signature=x"),
            )
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert!(
            answer.status().is_success(),
            "{target}: {}",
            answer.status()
        );
        serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap()
    }

    /// Creates the state machine `experiment` with this definition.
    pub async fn create_machine(&self, definition: &str) {
        self.call(
            "CreateStateMachine",
            json!({
                "name": "experiment",
                "definition": definition,
                "roleArn": format!("arn:aws:iam::{ACCOUNT}:role/experiments"),
            }),
        )
        .await;
    }

    pub async fn start_execution(&self, name: &str) {
        self.call(
            "StartExecution",
            json!({ "stateMachineArn": machine_arn(), "name": name }),
        )
        .await;
    }

    pub async fn status(&self, arn: &str) -> String {
        self.call("DescribeExecution", json!({ "executionArn": arn }))
            .await["status"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
