//! The simulator's runtime fault settings over real HTTP on loopback.

mod common;

use std::time::Duration;

use exectop::sim::{self, ApiFaults, SimOptions};
use serde_json::{Value, json};

fn quiet(db_url: String) -> SimOptions {
    let demo = SimOptions::demo(db_url, 1);
    SimOptions {
        rate: 0.0,
        history: false,
        api_faults: ApiFaults {
            latency: Duration::from_millis(5),
            ..demo.api_faults.clone()
        },
        ..demo
    }
}

async fn put(http: &reqwest::Client, url: &str, body: Value) -> (u16, Value) {
    let r = http
        .put(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (
        status,
        serde_json::from_slice(&r.bytes().await.unwrap()).unwrap(),
    )
}

async fn get(http: &reqwest::Client, url: &str) -> Value {
    let r = http.get(url).send().await.unwrap();
    serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
}

#[tokio::test]
async fn put_faults_changes_only_the_fields_given() {
    let (db, _) = common::sqlite_fresh_url();
    let handle = sim::start(quiet(db)).await.unwrap();
    exectop::remote::install_tls_provider();
    let http = reqwest::Client::new();
    let url = format!("http://{}/_sim/faults", handle.api_addr);
    let full = json!({
        "latency": 5, "slow_rate": 0.02, "slow_by": 1500, "throttle_rate": 0.01,
        "retry_after_seconds": 2, "server_error_rate": 0.02, "malformed_rate": 0.01
    });
    assert_eq!(get(&http, &url).await, full);

    let (status, answer) = put(&http, &url, json!({"malformed_rate": 0.97})).await;
    assert_eq!(status, 200, "{answer}");
    let mut want = full.clone();
    want["malformed_rate"] = json!(0.97);
    assert_eq!(answer, want, "the answer shows every setting now in force");
    assert_eq!(get(&http, &url).await, want, "the others are kept");

    let (status, answer) = put(
        &http,
        &url,
        json!({"malformed_rate": 0.0, "server_error_rate": 0.0, "throttle_rate": 1.0, "retry_after_seconds": 5}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    want["malformed_rate"] = json!(0.0);
    want["server_error_rate"] = json!(0.0);
    want["throttle_rate"] = json!(1.0);
    want["retry_after_seconds"] = json!(5);
    assert_eq!(answer, want);

    // Invalid as a whole (the rates add up past 1): nothing changes.
    let (status, answer) = put(&http, &url, json!({"server_error_rate": 0.5})).await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("more than 1"),
        "{answer}"
    );
    assert_eq!(get(&http, &url).await, want);
    let r = http
        .put(&url)
        .header("content-type", "application/json")
        .body(r#"{"trottle_rate": 1.0}"#)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "an unknown field is refused");
    assert_eq!(get(&http, &url).await, want);

    // The new settings are the ones served: every look-up is now a 429.
    let r = http
        .get(format!("http://{}/executions/x", handle.api_addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    assert_eq!(r.headers()["retry-after"], "5");
    handle.shutdown();
}
