//! Remote polling at scale (docs/PERFORMANCE.md): the real poller and HTTP
//! tracker against the simulator's API on loopback, with N active
//! executions and a fixed latency per answer. Not a micro-benchmark: a
//! scenario, measured from the API's side (`/_sim/stats`).
//!
//! ```sh
//! cargo bench --bench remote_scale                       # 10 000 executions, 20 ms, cap 20/s
//! EXECUTIONS=10000 RATE_CAP=1000 CONCURRENCY=50 cargo bench --bench remote_scale
//! LIST=1 cargo bench --bench remote_scale                # with a list endpoint
//! STEPFUNCTIONS=1 cargo bench --bench remote_scale       # the Step Functions tracker
//! ```
//!
//! With `STEPFUNCTIONS=1` the simulator speaks Step Functions and the
//! tracker asks it as it would AWS: the executions run under four state
//! machines, `ListExecutions` is capped by `LIST_CAP` (default 1/s) and
//! `DescribeExecution` by `RATE_CAP` (default 5/s here). It also prints the
//! describes and lists per remote interval, and the busiest second of each
//! against its cap.
//!
//! Phases: steady polling (`STEADY_SECS`, default 60), a 429 storm where
//! every answer is 429 with `Retry-After: 5` (`STORM_SECS`, 30), and recovery
//! (`RECOVER_SECS`, 20). Per phase it prints the requests per second the API
//! saw (mean and the busiest second) against the cap; for the steady phase
//! also how many executions were looked up and the longest gap between two
//! look-ups of one execution, against the interval the cap allows.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use exectop::config::Loaded;
use exectop::monitor::{self, MonitorEvent, Poller};
use exectop::sim::{self, ApiFaults, SimOptions};
use serde_json::Value;
use tokio::sync::mpsc;

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn stats(base: &str) -> Value {
    let bytes = reqwest::get(format!("{base}/_sim/stats"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// `[[t, n], …]` as the stats object `per_second` reads.
fn json_pairs(pairs: &Value) -> Value {
    serde_json::json!({ "per_second": pairs })
}

/// Requests per second between two moments (Unix seconds, end exclusive).
fn per_second(stats: &Value, from: i64, to: i64) -> BTreeMap<i64, u64> {
    let mut seconds: BTreeMap<i64, u64> = (from..to).map(|t| (t, 0)).collect();
    for pair in stats["per_second"].as_array().unwrap() {
        let t = pair[0].as_i64().unwrap();
        if (from..to).contains(&t) {
            seconds.insert(t, pair[1].as_u64().unwrap());
        }
    }
    seconds
}

fn report(phase: &str, seconds: &BTreeMap<i64, u64>, cap: f64) {
    let total: u64 = seconds.values().sum();
    let mean = total as f64 / seconds.len().max(1) as f64;
    let busiest = seconds.values().copied().max().unwrap_or(0);
    println!(
        "{phase:<10} {:>4} s  {total:>7} requests  mean {mean:>7.1}/s  busiest second {busiest:>5}  (cap {cap}/s)",
        seconds.len()
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        // `cargo bench -- --list` asks benches to list themselves.
        return;
    }
    let executions: usize = env("EXECUTIONS", 10_000);
    let latency_ms: u64 = env("LATENCY_MS", 20);
    let cap: f64 = env("RATE_CAP", 20.0);
    let concurrency: usize = env("CONCURRENCY", 10);
    let steady: u64 = env("STEADY_SECS", 60);
    let storm: u64 = env("STORM_SECS", 30);
    let recover: u64 = env("RECOVER_SECS", 20);
    let list = std::env::var("LIST").is_ok_and(|v| v == "1");
    let stepfunctions = std::env::var("STEPFUNCTIONS").is_ok_and(|v| v == "1");
    let cap: f64 = if stepfunctions {
        env("RATE_CAP", 5.0)
    } else {
        cap
    };
    let list_cap: f64 = env("LIST_CAP", 1.0);
    if stepfunctions {
        // SAFETY: no other thread runs yet (the runtime starts below).
        unsafe {
            std::env::set_var("AWS_ACCESS_KEY_ID", "AKIAEXECTOPBENCH");
            std::env::set_var("AWS_SECRET_ACCESS_KEY", "exectop-bench-not-a-secret");
            std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        }
    }
    exectop::remote::install_tls_provider();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let dir = std::env::temp_dir().join(format!("exectop-remote-scale-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let db_url = format!("sqlite://{}", dir.join("fleet.db").display());
        let quiet = ApiFaults {
            latency: Duration::from_millis(latency_ms),
            ..ApiFaults::default()
        };
        let handle = sim::start(SimOptions {
            rate: 0.0,
            fault_rate: 0.0,
            history: false,
            steady: executions,
            stepfunctions,
            api_faults: quiet.clone(),
            ..SimOptions::demo(db_url.clone(), 7)
        })
        .await
        .unwrap();
        let base = format!("http://{}", handle.api_addr);

        let mut config = if stepfunctions {
            exectop::config::parse_str(&sim::exectop_sfn_config_toml(&db_url, handle.api_addr), "bench")
                .unwrap()
        } else {
            sim::exectop_config_for(&db_url, handle.api_addr)
        };
        if !list && !stepfunctions {
            config.remote.list_active_path = None;
        }
        config.remote.list_rate = Some(list_cap);
        config.poll.remote_rate = Some(cap);
        config.poll.remote_concurrency = Some(concurrency);
        let loaded = Loaded { config, path: None };
        let store = exectop::commands::setup::connect(&loaded).await.unwrap();
        let tracker = exectop::commands::setup::tracker_for(&loaded, &store)
            .await
            .unwrap();
        let setup = exectop::commands::setup::Setup {
            loaded,
            store: store.clone(),
            tracker: tracker.clone(),
        };
        let interval = setup.loaded.config.remote_interval();
        let poller = Poller {
            concurrency,
            rate: cap,
            ..Poller::new(store, tracker, &setup.loaded.config)
        };
        let (events_tx, mut events) = mpsc::channel(64);
        let (_control, control_rx) = mpsc::channel(4);
        let monitor = tokio::spawn(monitor::run(poller, events_tx, control_rx));
        let snapshots = tokio::spawn(async move {
            let mut n = 0u64;
            while let Some(ev) = events.recv().await {
                if matches!(ev, MonitorEvent::Snapshot(_)) {
                    n += 1;
                }
            }
            n
        });

        println!(
            "{executions} active executions, {latency_ms} ms per answer, cap {cap}/s, {concurrency} in flight, \
             remote interval {}s, list endpoint {}",
            interval.as_secs(),
            if stepfunctions { "Step Functions (lists per state machine)" } else if list { "on" } else { "off" }
        );
        let t0 = Utc::now().timestamp() + 1;
        tokio::time::sleep(Duration::from_secs(steady)).await;
        let t1 = Utc::now().timestamp();
        let after_steady = stats(&base).await;
        handle
            .set_api_faults(ApiFaults {
                throttle_rate: 1.0,
                retry_after_seconds: 5,
                ..quiet.clone()
            })
            .unwrap();
        tokio::time::sleep(Duration::from_secs(storm)).await;
        let t2 = Utc::now().timestamp();
        handle.set_api_faults(quiet).unwrap();
        tokio::time::sleep(Duration::from_secs(recover)).await;
        let t3 = Utc::now().timestamp();
        let end = stats(&base).await;
        monitor.abort();
        drop(handle);

        println!();
        report("steady", &per_second(&end, t0, t1), cap);
        report("429 storm", &per_second(&end, t1 + 1, t2), cap);
        report("recovery", &per_second(&end, t2 + 1, t3), cap);
        println!("list calls: {}", end["lists"]);
        if stepfunctions {
            let lists = per_second(
                &json_pairs(&end["list_per_second"]),
                t0,
                t1,
            );
            let all = per_second(&end, t0, t1);
            let list_total: u64 = lists.values().sum();
            let describe_total: u64 = all.values().sum::<u64>() - list_total;
            let secs = (t1 - t0).max(1) as f64;
            let cycles = secs / interval.as_secs_f64();
            let busiest_list = lists.values().copied().max().unwrap_or(0);
            let busiest_describe = all
                .iter()
                .map(|(t, n)| n - lists.get(t).copied().unwrap_or(0))
                .max()
                .unwrap_or(0);
            println!(
                "steady, per remote interval ({}s): {:.1} ListExecutions, {:.1} DescribeExecution \
                 for {executions} running executions",
                interval.as_secs(),
                list_total as f64 / cycles,
                describe_total as f64 / cycles,
            );
            println!(
                "busiest second: {busiest_list} lists (cap {list_cap}/s), {busiest_describe} describes (cap {cap}/s)"
            );
        }

        let looked: Vec<(u64, f64)> = after_steady["executions"]
            .as_object()
            .unwrap()
            .values()
            .map(|e| {
                (
                    e["lookups"].as_u64().unwrap(),
                    e["max_gap_seconds"].as_f64().unwrap(),
                )
            })
            .collect();
        let twice: Vec<f64> = looked
            .iter()
            .filter(|(n, _)| *n >= 2)
            .map(|(_, gap)| *gap)
            .collect();
        let mut gaps = twice.clone();
        gaps.sort_by(|a, b| a.total_cmp(b));
        let pct = |p: f64| {
            gaps.get(((gaps.len() as f64 - 1.0) * p).round() as usize)
                .copied()
                .unwrap_or(0.0)
        };
        // Past the 45 s registration grace, each is due every interval, or
        // every N / cap seconds when the cap cannot serve N per interval.
        let allowed = (executions as f64 / cap).max(interval.as_secs_f64());
        println!(
            "steady: {} of {executions} executions looked up, {} at least twice; \
             longest gap p50 {:.1} s, p99 {:.1} s, max {:.1} s (the cap allows one look-up every {allowed:.1} s)",
            looked.len(),
            twice.len(),
            pct(0.5),
            pct(0.99),
            pct(1.0),
        );
        println!("snapshots sent to the UI: {}", snapshots.await.unwrap_or(0));
        let _ = std::fs::remove_dir_all(&dir);
    });
}
