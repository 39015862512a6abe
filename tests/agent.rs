//! The agent in process against real PostgreSQL: `/metrics` scraped over
//! loopback HTTP and read as the exposition format, its values the rows
//! planted; `/health` and its HTTP status through starting, healthy,
//! degraded (a remote that is down, the long-running alert) and unhealthy
//! (a poll that hangs, a table dropped mid-run); remote requests counted
//! by outcome through the real HTTP tracker; snapshots handed to a consumer.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Path as UrlPath;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use common::agent::{Row, eventually, health, native_store, plant, scrape};
use exectop::agent::{Agent, AgentOptions, OPERATOR, SnapshotSender};
use exectop::config::{Config, parse_str, validate};
use exectop::monitor::Snapshot;
use exectop::store::{Actor, Store};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(20);

fn config(extra: &str) -> Config {
    let text = format!("[poll]\ndatabase_interval = \"1s\"\n{extra}");
    let config = parse_str(&text, "agent.toml").unwrap();
    validate(&config, "agent.toml").unwrap();
    config
}

async fn start(store: &Store, config: &Config, consumers: Vec<SnapshotSender>) -> Agent {
    let tracker = exectop::remote::build(config, Some(store)).unwrap();
    if let Some(t) = &tracker {
        t.prepare().await.unwrap();
    }
    let options = AgentOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        actor: Actor::from_env(Some(OPERATOR.into())),
        read_only: false,
        snapshot_consumers: consumers,
    };
    Agent::start(store.clone(), tracker, config, options)
        .await
        .unwrap()
}

fn running<'a>(remote_id: Option<&'a str>, minutes: i64) -> Row<'a> {
    Row {
        status: "running",
        remote_id,
        minutes,
        updated: 0,
        heartbeat: Some(0),
    }
}

fn finished(status: &str, minutes_ago: i64) -> Row<'_> {
    Row {
        status,
        remote_id: None,
        minutes: minutes_ago + 5,
        updated: minutes_ago,
        heartbeat: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_scraped_over_loopback_are_the_planted_rows() {
    let url = common::pg_fresh_url().await;
    let store = native_store(&url).await;
    let pending = Row {
        status: "pending",
        remote_id: None,
        minutes: 1,
        updated: 1,
        heartbeat: None,
    };
    plant(
        &store,
        &[
            Row { ..pending },
            Row { ..pending },
            running(None, 1),
            running(None, 1),
            running(None, 1),
            // Running for 3 h: stuck (running_stuck 2h), long-running (1h),
            // the oldest active execution.
            running(None, 180),
            // Silent for 20 minutes: stale_heartbeat (5m).
            Row {
                status: "running",
                remote_id: None,
                minutes: 30,
                updated: 20,
                heartbeat: Some(20),
            },
            finished("succeeded", 10),
            finished("succeeded", 10),
            finished("failed", 10),
            finished("cancelled", 10),
            finished("succeeded", 300),
            finished("failed", 300),
        ],
    )
    .await;
    let (consumer, mut snapshots) = mpsc::channel::<Arc<Snapshot>>(4);
    let agent = start(&store, &config(""), vec![consumer]).await;
    let addr = agent.local_addr();

    // Two polls timed: the histogram counts each one once.
    let m = eventually("two polls", WAIT, || async {
        let m = scrape(addr).await;
        (m.value("exectop_poll_duration_seconds_count", &[]) >= Some(2.0)).then_some(m)
    })
    .await;
    for (status, n) in [("pending", 2.0), ("running", 5.0)] {
        assert_eq!(
            m.must("exectop_active_executions", &[("status", status)]),
            n,
            "{status}"
        );
    }
    for kind in [
        "status_mismatch",
        "missing_remote_id",
        "remote_not_found",
        "remote_only",
        "stuck",
        "stale_heartbeat",
        "poll_failing",
        "remote_still_running",
    ] {
        let expected = f64::from(u8::from(matches!(kind, "stuck" | "stale_heartbeat")));
        assert_eq!(
            m.must("exectop_findings", &[("kind", kind)]),
            expected,
            "{kind}"
        );
    }
    let oldest = m.must("exectop_oldest_active_age_seconds", &[]);
    assert!((10_800.0..10_900.0).contains(&oldest), "{oldest}");
    assert_eq!(m.must("exectop_long_running_executions", &[]), 1.0);
    for (window, succeeded, failed, cancelled, ratio) in
        [("1h", 2.0, 1.0, 1.0, 0.3333), ("24h", 3.0, 2.0, 1.0, 0.4)]
    {
        let count = |status| {
            m.must(
                "exectop_finished_executions",
                &[("window", window), ("status", status)],
            )
        };
        assert_eq!(
            (count("succeeded"), count("failed"), count("cancelled")),
            (succeeded, failed, cancelled),
            "{window}"
        );
        assert_eq!(
            m.must("exectop_failure_ratio", &[("window", window)]),
            ratio,
            "{window}"
        );
    }
    assert_eq!(m.must("exectop_database_up", &[]), 1.0);
    assert_eq!(m.value("exectop_remote_up", &[]), None, "no tracker");
    let polled = m.must("exectop_last_poll_timestamp_seconds", &[]);
    let now = chrono::Utc::now().timestamp() as f64;
    assert!((now - 30.0..=now).contains(&polled), "{polled} vs {now}");
    let sum = m.must("exectop_poll_duration_seconds_sum", &[]);
    let count = m.must("exectop_poll_duration_seconds_count", &[]);
    assert!(sum > 0.0 && sum < count * 5.0, "{sum} s over {count} polls");
    assert_eq!(
        m.must("exectop_poll_duration_seconds_bucket", &[("le", "+Inf")]),
        count
    );
    // Prometheus's conventions: the prefix, counters in _total, base units,
    // and no series per execution.
    for (name, kind) in &m.types {
        assert!(name.starts_with("exectop_"), "{name}");
        assert_eq!(kind == "counter", name.ends_with("_total"), "{name} {kind}");
        assert!(
            !name.contains("millis") && !name.contains("minutes"),
            "{name}"
        );
    }
    for s in &m.samples {
        for label in s.labels.keys() {
            assert!(
                [
                    "status", "kind", "window", "call", "outcome", "result", "le"
                ]
                .contains(&label.as_str()),
                "{} has label {label}",
                s.name
            );
        }
    }

    // /health agrees, in the old system's shape.
    let (code, json) = health(addr).await;
    assert_eq!(
        (code, json["status"].as_str()),
        (200, Some("healthy")),
        "{json}"
    );
    let counts = &json["metrics"];
    assert_eq!(counts["running_executions"], 5, "{json}");
    assert_eq!(counts["scheduled_executions"], 2, "{json}");
    assert_eq!(counts["long_running_executions"], 1, "{json}");
    assert_eq!(counts["recent_executions_24h"], 6, "{json}");

    // The consumer plugged in got the same picture.
    let snapshot = tokio::time::timeout(WAIT, snapshots.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((snapshot.counts.pending, snapshot.counts.running), (2, 5));

    // The gauges follow the table: a row more shows at the next poll.
    plant(&store, &[pending]).await;
    eventually("the new pending row", WAIT, || async {
        let m = scrape(addr).await;
        (m.must("exectop_active_executions", &[("status", "pending")]) == 3.0).then_some(())
    })
    .await;
    agent.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_goes_starting_then_stale_then_healthy_then_unhealthy_when_the_table_goes() {
    let url = common::pg_fresh_url().await;
    let store = native_store(&url).await;
    plant(&store, &[running(None, 1)]).await;
    // A transaction holding the table: the first poll waits on it.
    let holder = sqlx::PgPool::connect(&url).await.unwrap();
    let mut held = holder.begin().await.unwrap();
    sqlx::query("LOCK TABLE exectop_executions IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *held)
        .await
        .unwrap();
    let agent = start(&store, &config(""), Vec::new()).await;
    let addr = agent.local_addr();

    let (code, json) = health(addr).await;
    assert_eq!(
        (code, json["status"].as_str()),
        (503, Some("starting")),
        "{json}"
    );
    assert_eq!(json["checks"]["database"], "starting", "{json}");
    assert!(json.get("metrics").is_none(), "{json}");
    // Three intervals (1 s each) without a snapshot: unhealthy.
    let json = eventually("unhealthy while the poll hangs", WAIT, || async {
        let (code, json) = health(addr).await;
        (code == 503 && json["status"] == "unhealthy").then_some(json)
    })
    .await;
    assert_eq!(json["checks"]["database"], "stale", "{json}");
    assert!(
        json["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("no snapshot for"),
        "{json}"
    );

    held.rollback().await.unwrap();
    let json = eventually("healthy once the poll goes through", WAIT, || async {
        let (code, json) = health(addr).await;
        (code == 200).then_some(json)
    })
    .await;
    assert_eq!(json["status"], "healthy", "{json}");
    assert_eq!(json["metrics"]["running_executions"], 1, "{json}");

    common::execute(store.pool(), "DROP TABLE exectop_executions").await;
    let json = eventually("unhealthy once the table is gone", WAIT, || async {
        let (code, json) = health(addr).await;
        (code == 503).then_some(json)
    })
    .await;
    assert_eq!(json["status"], "unhealthy", "{json}");
    assert_eq!(json["checks"]["database"], "failing", "{json}");
    let reason = json["reasons"][0].as_str().unwrap();
    assert!(
        reason.starts_with("database poll failing") && reason.contains("exectop_executions"),
        "{reason}"
    );
    assert_eq!(scrape(addr).await.must("exectop_database_up", &[]), 0.0);
    agent.shutdown().await.unwrap();
    holder.close().await;
}

/// `run-*` is RUNNING, anything else unknown (404).
async fn fake_remote() -> String {
    async fn one(UrlPath(id): UrlPath<String>) -> Response {
        if id.starts_with("run-") {
            (StatusCode::OK, r#"{"status":"RUNNING"}"#).into_response()
        } else {
            StatusCode::NOT_FOUND.into_response()
        }
    }
    common::serve_loopback(Router::new().route("/runs/{id}", get(one))).await
}

fn remote_at(base: &str) -> String {
    format!(
        "[remote]\nkind = \"http\"\nbase_url = \"{base}\"\nstatus_path = \"/runs/{{remote_id}}\"\n\
         status_pointer = \"/status\"\n[remote.status_values]\nrunning = [\"RUNNING\"]\n"
    )
}

/// A loopback port nothing listens on.
fn closed_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_that_is_down_degrades_health_and_its_requests_count_as_errors() {
    let url = common::pg_fresh_url().await;
    let store = native_store(&url).await;
    // Past the 45 s registration grace: looked up at once.
    plant(
        &store,
        &[
            running(Some("run-1"), 10),
            running(Some("run-2"), 10),
            running(Some("gone-1"), 10),
        ],
    )
    .await;

    // First the control: the remote answers.
    let agent = start(
        &store,
        &config(&remote_at(&fake_remote().await)),
        Vec::new(),
    )
    .await;
    let addr = agent.local_addr();
    let m = eventually("look-ups answered", WAIT, || async {
        let m = scrape(addr).await;
        let found = m.value(
            "exectop_remote_requests_total",
            &[("call", "lookup"), ("outcome", "found")],
        );
        let not_found = m.value(
            "exectop_remote_requests_total",
            &[("call", "lookup"), ("outcome", "not_found")],
        );
        (found >= Some(2.0) && not_found >= Some(1.0)).then_some(m)
    })
    .await;
    assert_eq!(
        m.value(
            "exectop_remote_requests_total",
            &[("call", "lookup"), ("outcome", "error")]
        ),
        None,
        "{}",
        m.text
    );
    let json = eventually("the answers in a snapshot", WAIT, || async {
        let (code, json) = health(addr).await;
        (code == 200 && json["checks"]["remote"] == "ok").then_some(json)
    })
    .await;
    assert_eq!(json["status"], "healthy", "{json}");
    assert_eq!(scrape(addr).await.must("exectop_remote_up", &[]), 1.0);
    agent.shutdown().await.unwrap();

    // Then nothing listens where the remote should be.
    let down = closed_port();
    let agent = start(
        &store,
        &config(&remote_at(&format!("http://{down}"))),
        Vec::new(),
    )
    .await;
    let addr = agent.local_addr();
    let json = eventually("degraded", WAIT, || async {
        let (code, json) = health(addr).await;
        (json["status"] == "degraded").then_some((code, json))
    })
    .await;
    let (code, json) = json;
    assert_eq!(code, 200, "degraded stays in the load balancer: {json}");
    assert!(
        ["down", "degraded"].contains(&json["checks"]["remote"].as_str().unwrap()),
        "{json}"
    );
    let reason = json["reasons"][0].as_str().unwrap();
    assert!(
        reason.starts_with(&format!("remote tracker http {down}")),
        "{reason}"
    );
    let m = scrape(addr).await;
    assert_eq!(m.must("exectop_remote_up", &[]), 0.0);
    assert!(
        m.must(
            "exectop_remote_requests_total",
            &[("call", "lookup"), ("outcome", "error")]
        ) >= 1.0
    );
    assert_eq!(
        m.value(
            "exectop_remote_requests_total",
            &[("call", "lookup"), ("outcome", "found")]
        ),
        None
    );
    agent.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_long_running_executions_than_the_count_degrade_health() {
    let url = common::pg_fresh_url().await;
    let store = native_store(&url).await;
    plant(&store, &[running(None, 90), running(None, 90)]).await;
    let thresholds = |count: u32| {
        format!("[thresholds]\nlong_running_age = \"1h\"\nlong_running_count = {count}\n")
    };
    // Two running over an hour: not more than 2, more than 1.
    for (count, status, firing) in [(2, "healthy", false), (1, "degraded", true)] {
        let agent = start(&store, &config(&thresholds(count)), Vec::new()).await;
        let addr = agent.local_addr();
        let (code, json) = eventually("the first poll", WAIT, || async {
            let (code, json) = health(addr).await;
            (json["status"] != "starting").then_some((code, json))
        })
        .await;
        assert_eq!(
            (code, json["status"].as_str()),
            (200, Some(status)),
            "{json}"
        );
        assert_eq!(json["checks"]["long_running_alert"], firing, "{json}");
        assert_eq!(json["metrics"]["long_running_executions"], 2, "{json}");
        if firing {
            assert_eq!(
                json["reasons"][0], "2 executions running for over 3600s (more than 1 is an alert)",
                "{json}"
            );
        }
        agent.shutdown().await.unwrap();
    }
}
