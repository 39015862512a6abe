//! The details view of a Step Functions execution shows the service's own
//! history of it (`GetExecutionHistory`), against moto's server with every
//! execution failed (`SF_EXECUTION_HISTORY_TYPE=FAILURE`), in the live
//! monitor in tmux; and paging through the details of fifty rows stays
//! within the request budget. Every call goes through a counting proxy on
//! loopback, which is what the budget is measured by.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::moto::{EXPERIMENTS_TABLE, Moto, TEST_AWS_ENV, execution, preset_config};
use common::tmux::Tmux;
use sqlx::Executor;

const ROWS: usize = 50;
/// `poll.remote_rate`: look-ups and histories per second, together.
const RATE: usize = 4;

type Calls = Arc<Mutex<Vec<(Instant, String)>>>;

/// Forwards every call to moto and notes when it came and what it was.
async fn counting_proxy(upstream: String, calls: Calls) -> String {
    let client = reqwest::Client::new();
    let app = axum::Router::new().fallback(
        move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let (client, upstream, calls) = (client.clone(), upstream.clone(), calls.clone());
            async move {
                let target = common::moto::amz_target(&headers)
                    .trim_start_matches("AWSStepFunctions.")
                    .to_string();
                calls.lock().unwrap().push((Instant::now(), target));
                let mut request = client.post(format!("{upstream}/")).body(body);
                for (name, value) in &headers {
                    if name != "host" && name != "content-length" {
                        request = request.header(name.as_str(), value.as_bytes());
                    }
                }
                let answer = request.send().await.unwrap();
                let status = axum::http::StatusCode::from_u16(answer.status().as_u16()).unwrap();
                let kind = answer
                    .headers()
                    .get("x-amzn-errortype")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                let body = answer.bytes().await.unwrap();
                (
                    status,
                    [
                        ("content-type", "application/x-amz-json-1.0".to_string()),
                        ("x-amzn-errortype", kind),
                    ],
                    body,
                )
            }
        },
    );
    common::serve_loopback(app).await
}

fn count(calls: &Calls, call: &str) -> usize {
    calls
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, c)| c == call)
        .count()
}

/// The most calls of the look-up budget (describes and histories) that
/// arrived within any one second.
fn busiest_second(calls: &Calls) -> usize {
    let calls = calls.lock().unwrap();
    let budgeted: Vec<Instant> = calls
        .iter()
        .filter(|(_, c)| c == "DescribeExecution" || c == "GetExecutionHistory")
        .map(|(at, _)| *at)
        .collect();
    budgeted
        .iter()
        .map(|start| {
            budgeted
                .iter()
                .filter(|t| **t >= *start && t.duration_since(*start) < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap_or(0)
}

async fn plant(moto: &Moto, url: &str) {
    moto.create_machine(r#"{"StartAt":"A State","States":{"A State":{"Type":"Fail"}}}"#)
        .await;
    let mut values = Vec::new();
    for i in 1..=ROWS {
        let name = format!("run-{i}");
        moto.start_execution(&name).await;
        values.push(format!(
            "({i}, 'llama', now() - interval '{i} minutes', '{}', '{name}', 'RUNNING')",
            execution(&name)
        ));
    }
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    pool.execute(sqlx::AssertSqlSafe(format!(
        "{EXPERIMENTS_TABLE};
         INSERT INTO experiments (id, model_name, started_at, execution_arn, execution_name, execution_status) VALUES {}",
        values.join(", ")
    )))
    .await
    .unwrap();
    pool.close().await;
}

/// The live monitor on `config` in tmux at 160×48, with stand-in keys.
fn monitor(config: &std::path::Path, db_url: &str) -> Tmux {
    let mut vars = vec![("EXECTOP_DATABASE_URL", db_url)];
    vars.extend(TEST_AWS_ENV);
    Tmux::start_with(&format!("--config {}", config.display()), 160, 48, &vars)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn details_show_the_failed_runs_history_and_fifty_openings_stay_in_budget() {
    let moto = Moto::start_with(&[("SF_EXECUTION_HISTORY_TYPE", "FAILURE")]);
    let url = common::pg_fresh_url().await;
    plant(&moto, &url).await;
    let calls: Calls = Arc::default();
    let proxy = counting_proxy(moto.url.clone(), calls.clone()).await;
    let config = preset_config(
        &proxy,
        &[("remote_rate = 5\n", &format!("remote_rate = {RATE}\n"))],
    );
    let db_url = url.to_string();
    let calls_seen = calls.clone();
    tokio::task::spawn_blocking(move || {
        let calls = calls_seen;
        let tmux = monitor(&config, &db_url);
        // The poll has asked Step Functions: the mismatch is found.
        tmux.wait_for("the remote's answers", Duration::from_secs(60), |s| {
            s.contains("status_mismatch")
        });
        assert_eq!(
            count(&calls, "GetExecutionHistory"),
            0,
            "no history asked for by the poll"
        );

        // The details of the first row: the failing state, its error and
        // cause, and the events newest first.
        tmux.keys(&["Enter"]);
        let screen = tmux.wait_for("the history in the details", Duration::from_secs(20), |s| {
            s.contains("ExecutionFailed") && s.contains("An error occurred!")
        });
        assert!(screen.contains("remote history (newest first)"), "{screen}");
        assert!(
            screen.contains("ExecutionFailed in state \"A State\"")
                || screen.contains("FailStateEntered \"A State\""),
            "{screen}"
        );
        assert!(screen.contains("AnError"), "{screen}");
        let failed = screen
            .find("ExecutionFailed ·")
            .or(screen.find("ExecutionFailed\n"));
        let entered = screen.find("FailStateEntered \"A State\"");
        let started = screen.find("ExecutionStarted");
        assert!(
            failed < entered && entered < started,
            "newest first: {screen}"
        );
        assert_eq!(
            count(&calls, "GetExecutionHistory"),
            1,
            "one request for one opening"
        );
        tmux.keys(&["Escape"]);

        // Reopened, an ended run's history is not asked for again.
        tmux.keys(&["Enter"]);
        tmux.wait_for("the kept history", Duration::from_secs(10), |s| {
            s.contains("An error occurred!")
        });
        tmux.keys(&["Escape"]);
        assert_eq!(
            count(&calls, "GetExecutionHistory"),
            1,
            "kept, not asked again"
        );

        // Fifty details, one after another, as fast as keys go.
        let started = Instant::now();
        for _ in 0..ROWS {
            tmux.keys(&["Enter", "Escape", "Down"]);
        }
        tmux.keys(&["Enter"]);
        tmux.wait_for("the last row's history", Duration::from_secs(30), |s| {
            s.contains("An error occurred!")
        });
        let histories = count(&calls, "GetExecutionHistory");
        assert!(
            (2..=ROWS + 1).contains(&histories),
            "at most one request per opening, and the positive control asked: {histories}"
        );
        assert!(
            count(&calls, "DescribeExecution") >= ROWS,
            "the poll looked every row up"
        );
        let busiest = busiest_second(&calls);
        assert!(
            busiest <= RATE + 1,
            "{busiest} budgeted calls in one second at a rate of {RATE} ({:?} of paging)",
            started.elapsed()
        );
        tmux.keys(&["Escape", "q"]);
        tmux.wait_for("exit", Duration::from_secs(10), |s| s.contains("EXITED:0"));
    })
    .await
    .unwrap();
    let per_call: BTreeMap<String, usize> =
        calls
            .lock()
            .unwrap()
            .iter()
            .fold(BTreeMap::new(), |mut m, (_, c)| {
                *m.entry(c.clone()).or_default() += 1;
                m
            });
    eprintln!("calls: {per_call:?}");
}

/// A role without `states:GetExecutionHistory`: the details say why there is
/// no history, and the header still reads the poll's health (that the
/// tracker's health is left alone is `tests/stepfunctions_health.rs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_refused_is_said_in_the_details() {
    use std::sync::atomic::{AtomicUsize, Ordering};

    let refused = Arc::new(AtomicUsize::new(0));
    let app = {
        let refused = refused.clone();
        axum::Router::new().route(
            "/",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let refused = refused.clone();
                async move {
                    let target = common::moto::amz_target(&headers);
                    let ok = |body: String| (axum::http::StatusCode::OK, [("x-amzn-errortype", "")], body);
                    if target.ends_with("GetExecutionHistory") {
                        refused.fetch_add(1, Ordering::SeqCst);
                        return (
                            axum::http::StatusCode::BAD_REQUEST,
                            [("x-amzn-errortype", "AccessDeniedException")],
                            r#"{"__type":"AccessDeniedException","message":"not authorized to perform: states:GetExecutionHistory"}"#
                                .to_string(),
                        );
                    }
                    if target.ends_with("ListExecutions") {
                        return ok(serde_json::json!({ "executions": [] }).to_string());
                    }
                    let arn = serde_json::from_str::<serde_json::Value>(&body).unwrap()
                        ["executionArn"]
                        .clone();
                    ok(serde_json::json!({ "executionArn": arn, "status": "RUNNING", "startDate": 1.7e9 })
                        .to_string())
                }
            }),
        )
    };
    let base = common::serve_loopback(app).await;
    let url = common::pg_fresh_url().await;
    common::moto::plant_two_running(&url).await;
    let config = preset_config(&base, &[]);
    let db_url = url.to_string();
    let asked = refused.clone();
    tokio::task::spawn_blocking(move || {
        let tmux = monitor(&config, &db_url);
        tmux.wait_for("the remote's answers", Duration::from_secs(60), |s| {
            s.contains(" running ") && s.contains("remote ok")
        });
        for _ in 0..2 {
            for key in ["Down", "Up"] {
                tmux.keys(&["Enter"]);
                let screen =
                    tmux.wait_for("the refusal in the details", Duration::from_secs(20), |s| {
                        s.contains("not read:")
                    });
                assert!(screen.contains("AccessDeniedException"), "{screen}");
                tmux.keys(&["Escape", key]);
            }
        }
        assert!(
            asked.load(Ordering::SeqCst) >= 4,
            "asked and refused at each opening (positive control)"
        );
        // A database poll later (5 s) the header still reads the poll's health.
        std::thread::sleep(Duration::from_secs(7));
        let screen = tmux.screen();
        let header = screen.lines().next().unwrap_or_default();
        assert!(header.contains("remote ok"), "{screen}");
        assert!(
            !screen.contains("auth failing") && !screen.contains("degraded"),
            "{screen}"
        );
        tmux.keys(&["q"]);
        tmux.wait_for("exit", Duration::from_secs(10), |s| s.contains("EXITED:0"));
    })
    .await
    .unwrap();
}
