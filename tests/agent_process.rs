//! `exectop agent` as a service manager runs it: the real binary, stopped by
//! SIGTERM or SIGINT (exit 0, promptly, an idle keep-alive connection
//! notwithstanding); the scheduled clean-up against real PostgreSQL, writing
//! once and auditing once as the agent, or only reporting; and a start that
//! cannot work, one line and exit 2.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::agent::{Row, eventually, get, health, native_store, plant, scrape};
use common::cli::{exectop, text};

const WAIT: Duration = Duration::from_secs(30);

/// The agent running as a child process, and what it has logged.
struct Running {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<String>>,
}

impl Running {
    /// Starts `exectop agent --config <config> --listen 127.0.0.1:0` and
    /// waits for the line that says where it listens.
    fn start(dir: &Path, config: &Path) -> Running {
        Running::start_with(dir, config, &[])
    }

    /// `start`, with these environment variables set for the agent.
    fn start_with(dir: &Path, config: &Path, vars: &[(&str, &str)]) -> Running {
        let mut child = Command::new(env!("CARGO_BIN_EXE_exectop"))
            .args(["agent", "--listen", "127.0.0.1:0", "--config"])
            .arg(config)
            .current_dir(dir)
            .env_remove("EXECTOP_DATABASE_URL")
            .env_remove("DATABASE_URL")
            .env_remove("EXECTOP_CONFIG")
            .env("XDG_CONFIG_HOME", dir.join("xdg"))
            // Not the audit's operator: the agent records itself.
            .env("EXECTOP_OPERATOR", "alice")
            .envs(vars.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (found, address) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or_default();
                    let _ = found.send(addr.parse::<SocketAddr>().unwrap());
                }
                kept.lock().unwrap().push_str(&format!("{line}\n"));
            }
        });
        let addr = address.recv_timeout(WAIT).unwrap_or_else(|e| {
            let _ = child.kill();
            panic!("no address logged ({e}):\n{}", log.lock().unwrap())
        });
        Running { child, addr, log }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .args(["-s", name, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -s {name}");
    }

    /// Its exit code, and how long it took, within `within`.
    async fn exit(&mut self, within: Duration) -> (Option<i32>, Duration) {
        let asked = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status.code(), asked.elapsed());
            }
            if asked.elapsed() > within {
                let _ = self.child.kill();
                panic!("still running after {within:?}:\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A native SQLite table with a running row, and a config without a remote
/// that polls every second.
async fn sqlite_env() -> common::cli::Env {
    let e = common::cli::env("http://127.0.0.1:9", &[(1, "run-1", "running", 3)]).await;
    e.edit_config(|c| {
        let database = c.split("[remote]").next().unwrap().to_string();
        format!("{database}[poll]\ndatabase_interval = \"1s\"\n")
    });
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_and_sigint_stop_it_with_exit_0_promptly() {
    for signal in ["TERM", "INT"] {
        let e = sqlite_env().await;
        let mut agent = Running::start(&e.dir, &e.config);
        let addr = agent.addr;
        eventually("the first poll", WAIT, || async {
            (health(addr).await.0 == 200).then_some(())
        })
        .await;
        // A client that keeps its connection open: shutting down must not
        // wait for it to leave.
        exectop::remote::install_tls_provider();
        let client = reqwest::Client::new();
        let kept = client
            .get(format!("http://{addr}/metrics"))
            .send()
            .await
            .unwrap();
        assert_eq!(kept.status(), 200);
        kept.text().await.unwrap();
        assert!(agent.child.try_wait().unwrap().is_none(), "running before");

        agent.signal(signal);
        let (code, took) = agent.exit(Duration::from_secs(15)).await;
        let log = agent.log();
        assert_eq!(code, Some(0), "SIG{signal}:\n{log}");
        assert!(
            took < Duration::from_secs(5),
            "SIG{signal} took {took:?}:\n{log}"
        );
        assert!(log.contains(&format!("SIG{signal}: stopping")), "{log}");
        assert!(log.contains("exectop agent stopped"), "{log}");
        assert!(!log.contains("did not stop"), "{log}");
        assert!(
            std::net::TcpStream::connect(addr).is_err(),
            "the port is closed"
        );
        drop(client);
    }
}

async fn audit_rows(url: &str) -> Vec<(String, String, String, String, String, String)> {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let rows = sqlx::query_as(
        "SELECT operator, host, action, execution_id, COALESCE(before_status, ''), \
         COALESCE(after_status, '') || ' ' || COALESCE(reason, '') FROM exectop_audit ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    rows
}

async fn row_state(url: &str, id: i64) -> (String, String) {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let row =
        sqlx::query_as("SELECT status, updated_at::text FROM exectop_executions WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    pool.close().await;
    row
}

/// Row 1 running for 22 hours (its worker died), row 2 for a minute; a
/// config whose clean-up runs every second with `apply`, and whose database
/// URL carries a password (the test server trusts everyone) that nothing
/// the agent says may show.
async fn cleanup_env(url: &str, apply: bool) -> (std::path::PathBuf, std::path::PathBuf) {
    let store = native_store(url).await;
    let started = |minutes| Row {
        status: "running",
        remote_id: None,
        minutes,
        updated: minutes,
        heartbeat: None,
    };
    plant(&store, &[started(22 * 60), started(1)]).await;
    let dir = std::env::temp_dir().join(common::unique("exectop_agent"));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("exectop.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"{url}&password=hunter2\"\n[poll]\ndatabase_interval = \"1s\"\n\
             [policy.cleanup]\nmax_age = \"20h\"\ninterval = \"1s\"\napply = {apply}\n"
        ),
    )
    .unwrap();
    (dir, config)
}

fn cleanup_rows(m: &common::agent::Exposition, result: &str) -> f64 {
    m.must("exectop_cleanup_rows_total", &[("result", result)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cleanup_policy_times_out_the_22_hour_row_once_audited_as_the_agent() {
    let url = common::pg_fresh_url().await;
    let (dir, config) = cleanup_env(&url, true).await;
    let fresh_before = row_state(&url, 2).await;
    let mut agent = Running::start(&dir, &config);
    let addr = agent.addr;
    // Three runs, a second apart: the first fixes, the next find nothing.
    let m = eventually("three clean-up runs", WAIT, || async {
        let m = scrape(addr).await;
        (m.must("exectop_cleanup_runs_total", &[("outcome", "completed")]) >= 3.0).then_some(m)
    })
    .await;
    assert_eq!(cleanup_rows(&m, "fixed"), 1.0, "{}", m.text);
    assert_eq!(cleanup_rows(&m, "refused"), 0.0);
    assert_eq!(cleanup_rows(&m, "reported"), 0.0);
    assert_eq!(
        m.must("exectop_cleanup_runs_total", &[("outcome", "failed")]),
        0.0
    );
    assert_eq!(row_state(&url, 1).await.0, "timed_out");
    assert_eq!(
        row_state(&url, 2).await,
        fresh_before,
        "the fresh row untouched"
    );
    let host = exectop::store::Actor::from_env(None).host;
    let audit = audit_rows(&url).await;
    assert_eq!(audit.len(), 1, "one audit row: {audit:?}");
    let (operator, audited_host, action, id, before, after) = &audit[0];
    assert_eq!(
        (
            operator.as_str(),
            audited_host,
            action.as_str(),
            id.as_str()
        ),
        ("exectop-agent", &host, "cleanup", "1")
    );
    assert_eq!(before, "running");
    assert!(
        after.starts_with("timed_out clean-up: active longer than 20h"),
        "{after}"
    );
    let log = agent.log();
    assert!(
        log.contains(
            "clean-up: 1 of 1 active executions older than 20h timed out by exectop-agent@"
        ),
        "{log}"
    );
    // The URL is named, its password is not: in the log, the health, the metrics.
    assert!(log.contains("password=***"), "{log}");
    let (_, _, said) = get(addr, "/health").await;
    for text in [&log, &said, &m.text] {
        assert!(!text.contains("hunter2"), "{text}");
    }

    agent.signal("TERM");
    assert_eq!(agent.exit(WAIT).await.0, Some(0), "{}", agent.log());
    assert_eq!(audit_rows(&url).await.len(), 1, "still one");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_only_cleanup_policy_writes_nothing() {
    let url = common::pg_fresh_url().await;
    let (dir, config) = cleanup_env(&url, false).await;
    let old_before = row_state(&url, 1).await;
    let mut agent = Running::start(&dir, &config);
    let addr = agent.addr;
    // It saw the row, twice: reported, not written.
    let m = eventually("two reports of the row", WAIT, || async {
        let m = scrape(addr).await;
        (cleanup_rows(&m, "reported") >= 2.0).then_some(m)
    })
    .await;
    assert_eq!(cleanup_rows(&m, "fixed"), 0.0);
    assert_eq!(
        row_state(&url, 1).await,
        old_before,
        "status and updated_at"
    );
    assert_eq!(audit_rows(&url).await, Vec::new(), "no audit row");
    let log = agent.log();
    assert!(
        log.contains("clean-up (report only, policy.cleanup.apply = false): 1 active executions older than 20h would be timed out: 1"),
        "{log}"
    );
    agent.signal("TERM");
    assert_eq!(agent.exit(WAIT).await.0, Some(0), "{}", agent.log());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_that_cannot_work_is_one_line_and_exit_2() {
    let e = sqlite_env().await;
    let cfg = e.config.to_str().unwrap();
    // The address taken by someone else.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap();
    let out = exectop(
        &e.dir,
        &["agent", "--config", cfg, "--listen", &port.to_string()],
        &[],
    )
    .await;
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!("exectop: cannot listen on {port}: "))
            && last.ends_with("(--listen)"),
        "{err}"
    );
    // A clean-up policy that would time out everything at once.
    e.edit_config(|c| format!("{c}[policy.cleanup]\nmax_age = \"0s\"\n"));
    let out = exectop(&e.dir, &["agent", "--config", cfg], &[]).await;
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!(
            "exectop: {cfg}: policy.cleanup.max_age must be longer than 0s"
        )),
        "{err}"
    );
    // The control: the same file with an age starts, serves and stops.
    e.edit_config(|c| c.replace("max_age = \"0s\"", "max_age = \"24h\""));
    let mut agent = Running::start(&e.dir, &e.config);
    let (code, _, _) = get(agent.addr, "/metrics").await;
    assert_eq!(code, 200);
    agent.signal("TERM");
    assert_eq!(agent.exit(WAIT).await.0, Some(0), "{}", agent.log());
    drop(taken);
}

/// `[notify]` in the agent: the webhook (a receiver on loopback, its URL
/// from the environment) hears once of the findings open at start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_tells_the_webhook_of_the_findings_open_at_start() {
    let heard: Arc<Mutex<Vec<String>>> = Arc::default();
    let kept = heard.clone();
    let app = axum::Router::new().route(
        "/hooks/secret-path",
        axum::routing::post(move |body: String| {
            let kept = kept.clone();
            async move {
                kept.lock().unwrap().push(body);
                "ok"
            }
        }),
    );
    let base = common::serve_loopback(app).await;
    let url = common::pg_fresh_url().await;
    let (dir, config) = cleanup_env(&url, false).await;
    let text = std::fs::read_to_string(&config).unwrap();
    let text = text.split("[policy.cleanup]").next().unwrap().to_string()
        + "[notify]\nurl = { env = \"EXECTOP_TEST_HOOK\" }\ngroup = \"1s\"\nmin_interval = \"0s\"\n";
    std::fs::write(&config, text).unwrap();
    let hook = format!("{base}/hooks/secret-path");
    let mut agent = Running::start_with(&dir, &config, &[("EXECTOP_TEST_HOOK", &hook)]);
    eventually("the webhook hears of the stuck row", WAIT, || async {
        let heard = heard.lock().unwrap().clone();
        heard.iter().any(|b| b.contains("stuck")).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let bodies = heard.lock().unwrap().clone();
    assert_eq!(
        bodies.len(),
        1,
        "one message while nothing changes: {bodies:?}"
    );
    let message: serde_json::Value = serde_json::from_str(&bodies[0]).unwrap();
    assert!(
        message["text"]
            .as_str()
            .is_some_and(|t| t.contains("stuck")),
        "{message}"
    );
    assert!(!agent.log().contains("secret-path"), "{}", agent.log());
    agent.signal("TERM");
    assert_eq!(agent.exit(WAIT).await.0, Some(0), "{}", agent.log());
    let _ = std::fs::remove_dir_all(&dir);
}
