//! What the command line prints is safe: values from rows and remote
//! answers cannot steer the terminal, no secret of a URL is shown, and a
//! panic is one line with exit 2.

mod common;

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use common::cli::{env, exectop, text};

/// Characters that would steer a terminal or reorder what it shows.
fn steering(s: &str) -> Vec<char> {
    s.chars()
        .filter(|&c| c != '\n' && exectop::text::is_unsafe(c))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_from_rows_and_the_remote_cannot_steer_the_terminal() {
    // The remote's answer carries an OSC title change and a bidi override.
    let app = Router::new().route(
        "/runs/{id}",
        get(|| async {
            (
                StatusCode::OK,
                "{\"status\":\"\\u001b]0;pwned\\u0007\\u202eDENNUR\"}",
            )
                .into_response()
        }),
    );
    let base = common::serve_loopback(app).await;
    let e = env(&base, &[(1, "run-\u{1b}[2J", "running", 30)]).await;
    // No list endpoint; the remote's spelling mapped as succeeded, so the
    // row is a mismatch whose reason quotes it.
    e.without_list();
    e.edit_config(|c| {
        c.replace(
            "succeeded = [\"SUCCEEDED\"]",
            "succeeded = [\"SUCCEEDED\", \"\\u001b]0;pwned\\u0007\\u202eDENNUR\"]",
        )
    });
    let cfg = e.config.to_str().unwrap();

    let out = exectop(&e.dir, &["check", "--config", cfg], &[]).await;
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("status_mismatch"),
        "positive control: the row is reported\n{stdout}"
    );
    assert!(
        stdout.contains('\u{241b}'),
        "the escape is shown as a picture\n{stdout}"
    );
    assert_eq!(steering(&stdout), Vec::<char>::new(), "{stdout:?}");
    assert_eq!(steering(&text(&out.stderr)), Vec::<char>::new());

    // JSON stays exact: the same values, escaped by the serializer.
    let out = exectop(&e.dir, &["check", "--json", "--config", cfg], &[]).await;
    let raw = text(&out.stdout);
    assert!(!raw.contains('\u{1b}'), "{raw:?}");
    let report: serde_json::Value = serde_json::from_str(&raw).unwrap();
    let finding = &report["findings"][0];
    assert_eq!(finding["remote_id"], "run-\u{1b}[2J", "{report}");

    // The action report names the row the same safe way.
    let out = exectop(
        &e.dir,
        &[
            "mark-failed",
            "--id",
            "1",
            "--reason",
            "x\u{1b}[2Jy",
            "--dry-run",
            "--config",
            cfg,
        ],
        &[],
    )
    .await;
    let stdout = text(&out.stdout);
    assert!(stdout.contains("dry run"), "{stdout}");
    assert_eq!(steering(&stdout), Vec::<char>::new(), "{stdout:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_of_a_database_url_is_printed() {
    let dir = std::env::temp_dir().join(common::unique("exectop_secret"));
    std::fs::create_dir_all(&dir).unwrap();
    // Nothing listens on port 1: the error names the server, not the password.
    for url in [
        "postgres://app:hunter2@127.0.0.1:1/app",
        "postgres://app:pa@ss@127.0.0.1:1/app",
        "postgres://app@127.0.0.1:1/app?password=hunter2&sslmode=disable",
    ] {
        let out = exectop(&dir, &["check"], &[("EXECTOP_DATABASE_URL", url)]).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("127.0.0.1:1"),
            "positive control: the URL is named\n{stderr}"
        );
        for secret in ["hunter2", "pa@ss", "ss@127"] {
            assert!(!stderr.contains(secret), "{url}: {stderr}");
            assert!(!text(&out.stdout).contains(secret));
        }
    }
    // A password that works (the test server trusts everyone) is not shown
    // in the report either.
    let base = common::pg_fresh_url().await;
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}password=hunter2");
    let out = exectop(&dir, &["migrate"], &[("EXECTOP_DATABASE_URL", &url)]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = exectop(&dir, &["check"], &[("EXECTOP_DATABASE_URL", &url)]).await;
    let stdout = text(&out.stdout);
    assert!(stdout.contains("password=***"), "{stdout}");
    assert!(!stdout.contains("hunter2"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_is_one_line_and_exit_2() {
    let dir = std::env::temp_dir().join(common::unique("exectop_panic"));
    std::fs::create_dir_all(&dir).unwrap();
    let out = exectop(
        &dir,
        &["check"],
        &[("EXECTOP_TEST_PANIC", "1"), ("RUST_BACKTRACE", "0")],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("exectop: internal error: EXECTOP_TEST_PANIC is set"),
        "{stderr}"
    );
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
}
