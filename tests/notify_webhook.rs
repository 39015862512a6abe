//! The notifier against a real webhook receiver on loopback (axum), which
//! records every POST and answers as scripted. Windows are short so the
//! tests run fast; every count is awaited with a generous timeout and then
//! checked exactly after a settle period longer than any retry or window
//! that could add to it, so a loaded machine makes them slower, not flaky.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use exectop::domain::findings::{Evidence, SuggestedAction};
use exectop::domain::{Finding, FindingKind};
use exectop::monitor::Snapshot;
use exectop::notify::{self, NotifySender, Policy, Settings};
use exectop::remote::secrets::Secret;

/// The part of every test's URL that is the secret, as in a Slack URL.
const SECRET: &str = "xoxo-s3cr3t-hook-path";

#[derive(Debug, Clone)]
struct Post {
    at: Instant,
    path: String,
    text: String,
    answered: u16,
}

/// An answer to give instead of 200: status, `Retry-After`, body.
type Scripted = (u16, Option<&'static str>, &'static str);

#[derive(Default)]
struct Receiver {
    posts: Mutex<Vec<Post>>,
    script: Mutex<VecDeque<Scripted>>,
    /// How long the first POST is held before its answer.
    hold_first: Mutex<Option<Duration>>,
}

impl Receiver {
    fn posts(&self) -> Vec<Post> {
        self.posts.lock().unwrap().clone()
    }
}

async fn hook(State(r): State<Arc<Receiver>>, uri: Uri, body: String) -> Response {
    let text = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("text").and_then(|t| t.as_str()).map(str::to_string))
        .unwrap_or_else(|| format!("(not a {{\"text\"}} body: {body})"));
    let (status, retry_after, answer) = r
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or((200, None, "ok"));
    let hold = r.hold_first.lock().unwrap().take();
    r.posts.lock().unwrap().push(Post {
        at: Instant::now(),
        path: uri.path().to_string(),
        text,
        answered: status,
    });
    if let Some(hold) = hold {
        tokio::time::sleep(hold).await;
    }
    let status = StatusCode::from_u16(status).unwrap();
    match retry_after {
        Some(wait) => (status, [("retry-after", wait)], answer).into_response(),
        None => (status, answer).into_response(),
    }
}

/// A receiver on 127.0.0.1 and the webhook URL that reaches it.
async fn serve() -> (String, Arc<Receiver>) {
    let receiver = Arc::new(Receiver::default());
    let app = Router::new()
        .route("/{*path}", post(hook))
        .with_state(Arc::clone(&receiver));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (
        format!("http://{addr}/services/T0TEST/B0TEST/{SECRET}"),
        receiver,
    )
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn settings(url: &str, group: Duration, min_interval: Duration) -> Settings {
    let mut s = Settings::new(
        Secret::new(url),
        "the test's URL",
        Policy {
            group,
            min_interval,
        },
    )
    .unwrap();
    s.retry.first_delay = ms(100);
    s
}

fn stuck(id: u32) -> Finding {
    Finding {
        kind: FindingKind::Stuck,
        execution_id: Some(id.to_string()),
        remote_id: None,
        name: None,
        group: None,
        local_status: None,
        remote_status: None,
        age_seconds: 3600,
        reason: "running for 1h".into(),
        reason_age_len: 0,
        suggested_action: SuggestedAction::MarkFailed,
        evidence: Evidence {
            threshold_seconds: None,
            last_local_update: None,
            remote_checked_at: None,
            consecutive: None,
            remote: None,
            limit: None,
        },
    }
}

fn snapshot(findings: Vec<Finding>) -> Arc<Snapshot> {
    let mut s = Snapshot {
        findings: Arc::new(findings),
        ..Snapshot::default()
    };
    s.database.last_success = Some(chrono::Utc::now());
    Arc::new(s)
}

fn stuck_ids(ids: std::ops::Range<u32>) -> Arc<Snapshot> {
    snapshot(ids.map(stuck).collect())
}

/// Waits (generously) until the receiver has `n` POSTs, then a settle
/// period, and returns them all: the caller asserts the exact count.
async fn posts_after(receiver: &Receiver, n: usize, settle: Duration) -> Vec<Post> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while receiver.posts().len() < n {
        assert!(
            Instant::now() < deadline,
            "waited 30s for {n} POSTs, got {:?}",
            receiver.posts()
        );
        tokio::time::sleep(ms(20)).await;
    }
    tokio::time::sleep(settle).await;
    receiver.posts()
}

async fn status_when(
    sender: &NotifySender,
    done: impl Fn(&notify::NotifyStatus) -> bool,
) -> notify::NotifyStatus {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = sender.status();
        if done(&status) {
            return status;
        }
        assert!(Instant::now() < deadline, "waited 30s; status {status:?}");
        tokio::time::sleep(ms(20)).await;
    }
}

/// Everything logged on this thread (the tests' runtimes have one thread,
/// so the notifier's tasks log here too).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}

#[tokio::test]
async fn a_burst_of_200_stuck_is_one_message_and_their_clearing_one_more() {
    let (url, receiver) = serve().await;
    let sender = notify::spawn(settings(&url, ms(1000), ms(0)));
    assert!(sender.send(snapshot(vec![])), "the baseline: nothing open");
    // 200 stuck rows arrive over four polls within the window.
    for step in 1..=4 {
        tokio::time::sleep(ms(50)).await;
        assert!(sender.send(stuck_ids(0..step * 50)));
    }
    let posts = posts_after(&receiver, 1, ms(1500)).await;
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0].path, format!("/services/T0TEST/B0TEST/{SECRET}"));
    assert_eq!(
        posts[0].text,
        "exectop: 200 new findings: 200 stuck\n\
         • stuck: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 +190 more"
    );
    // They clear over two polls: one message.
    assert!(sender.send(stuck_ids(0..100)));
    tokio::time::sleep(ms(50)).await;
    assert!(sender.send(snapshot(vec![])));
    let posts = posts_after(&receiver, 2, ms(1500)).await;
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert!(
        posts[1]
            .text
            .starts_with("exectop: 200 findings cleared: 200 stuck\n• stuck: 0, 1, 2"),
        "{}",
        posts[1].text
    );
    let status = sender.status();
    assert_eq!((status.delivered, status.undelivered), (2, 0));
    assert_eq!(status.told_open, 0);
    assert!(status.last_delivered_at.is_some() && status.last_error.is_none());
    sender.shutdown().await;
}

#[tokio::test]
async fn a_500_is_retried_with_the_same_message_once() {
    let (url, receiver) = serve().await;
    receiver
        .script
        .lock()
        .unwrap()
        .push_back((500, None, "oops"));
    let sender = notify::spawn(settings(&url, ms(200), ms(0)));
    // Open at start: the first snapshot is the baseline.
    assert!(sender.send(stuck_ids(1..4)));
    let posts = posts_after(&receiver, 2, ms(2000)).await;
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert_eq!(
        posts.iter().map(|p| p.answered).collect::<Vec<_>>(),
        [500, 200]
    );
    assert_eq!(posts[0].text, posts[1].text);
    assert_eq!(
        posts[1].text,
        "exectop: 3 findings open at start: 3 stuck\n• stuck: 1, 2, 3"
    );
    let status = sender.status();
    assert_eq!((status.delivered, status.undelivered), (1, 0));
    sender.shutdown().await;
}

#[tokio::test]
async fn a_429_waits_out_its_retry_after() {
    let (url, receiver) = serve().await;
    receiver
        .script
        .lock()
        .unwrap()
        .push_back((429, Some("1"), "slow down"));
    // The back-off alone would try again after 100-200 ms.
    let sender = notify::spawn(settings(&url, ms(200), ms(0)));
    assert!(sender.send(stuck_ids(1..2)));
    let posts = posts_after(&receiver, 2, ms(2000)).await;
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert_eq!(posts[1].answered, 200);
    let waited = posts[1].at - posts[0].at;
    assert!(waited >= ms(950), "tried again after {waited:?}");
    assert_eq!(sender.status().delivered, 1);
    sender.shutdown().await;
}

#[tokio::test]
async fn a_400_is_not_retried_and_the_url_shows_in_no_error_or_log() {
    let (logs, _guard) = capture_logs();
    let (url, receiver) = serve().await;
    receiver
        .script
        .lock()
        .unwrap()
        .push_back((400, None, "invalid_payload"));
    let sender = notify::spawn(settings(&url, ms(200), ms(0)));
    assert!(sender.send(stuck_ids(1..3)));
    let status = status_when(&sender, |s| s.delivered + s.undelivered >= 1).await;
    assert_eq!((status.delivered, status.undelivered), (0, 1), "{status:?}");
    // Retries would have come 100-200 ms apart; the refused changes are
    // not sent again either.
    let posts = posts_after(&receiver, 1, ms(1500)).await;
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0].answered, 400);
    let host = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let error = status.last_error.unwrap();
    assert_eq!(
        error,
        format!("webhook at {host}: HTTP 400 (invalid_payload), not retried")
    );
    let logged = logs.text();
    // Positive control: the failure was logged, once, naming the receiver.
    assert_eq!(logged.matches("HTTP 400").count(), 1, "logged:\n{logged}");
    assert!(logged.contains(&host), "logged:\n{logged}");
    assert!(
        !logged.contains(SECRET) && !logged.contains("B0TEST"),
        "logged:\n{logged}"
    );
    sender.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_receiver_is_named_by_its_host_alone() {
    let (logs, _guard) = capture_logs();
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let url = format!("http://{addr}/services/T0TEST/B0TEST/{SECRET}");
    let mut s = settings(&url, ms(100), ms(0));
    s.retry.tries = 2;
    s.retry.first_delay = ms(50);
    let sender = notify::spawn(s);
    assert!(sender.send(stuck_ids(1..2)));
    let status = status_when(&sender, |s| s.delivered + s.undelivered >= 1).await;
    assert_eq!((status.delivered, status.undelivered), (0, 1), "{status:?}");
    let error = status.last_error.unwrap();
    assert_eq!(error, format!("webhook at {addr}: cannot connect"));
    let logged = logs.text();
    assert!(
        logged.contains("cannot connect") && logged.contains("trying again"),
        "logged:\n{logged}"
    );
    assert!(
        !logged.contains(SECRET) && !logged.contains("B0TEST"),
        "logged:\n{logged}"
    );
    sender.shutdown().await;
}

#[tokio::test]
async fn a_finding_that_clears_within_the_window_is_not_announced() {
    let (url, receiver) = serve().await;
    let sender = notify::spawn(settings(&url, ms(2000), ms(0)));
    assert!(sender.send(snapshot(vec![])));
    assert!(sender.send(stuck_ids(7..8)));
    tokio::time::sleep(ms(100)).await;
    assert!(sender.send(snapshot(vec![])));
    tokio::time::sleep(ms(2500)).await;
    assert!(receiver.posts().is_empty(), "{:?}", receiver.posts());
    // Positive control: one that stays is announced, alone.
    assert!(sender.send(stuck_ids(8..9)));
    let posts = posts_after(&receiver, 1, ms(500)).await;
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0].text, "exectop: 1 new finding: 1 stuck\n• stuck: 8");
    sender.shutdown().await;
}

#[tokio::test]
async fn snapshots_are_read_while_a_delivery_is_slow_and_merge_into_the_next() {
    let (url, receiver) = serve().await;
    *receiver.hold_first.lock().unwrap() = Some(ms(1500));
    let sender = notify::spawn(settings(&url, ms(100), ms(0)));
    assert!(sender.send(snapshot(vec![])));
    assert!(sender.send(stuck_ids(0..1)));
    posts_after(&receiver, 1, ms(0)).await;
    // The first message is held by the receiver; polls go on.
    for n in 2..=30 {
        assert!(sender.send(stuck_ids(0..n)), "snapshot {n} was dropped");
        tokio::time::sleep(ms(20)).await;
    }
    let posts = posts_after(&receiver, 2, ms(1000)).await;
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert_eq!(posts[0].text, "exectop: 1 new finding: 1 stuck\n• stuck: 0");
    assert!(
        posts[1]
            .text
            .starts_with("exectop: 29 new findings: 29 stuck\n• stuck: 1, 2,"),
        "{}",
        posts[1].text
    );
    let status = sender.status();
    assert_eq!(status.dropped_snapshots, 0);
    assert_eq!((status.delivered, status.told_open), (2, 30));
    sender.shutdown().await;
}

#[tokio::test]
async fn the_configuration_names_the_url_by_its_variable() {
    let (url, receiver) = serve().await;
    // SAFETY: each variable is this test's own; no other thread reads it.
    unsafe { std::env::set_var("EXECTOP_TEST_NOTIFY_HOOK", &url) };
    unsafe {
        std::env::set_var(
            "EXECTOP_TEST_NOTIFY_PLAIN",
            format!("http://hooks.example.com/services/T0TEST/B0TEST/{SECRET}"),
        )
    };
    let config = |var: &str| {
        let c = exectop::config::parse_str(
            &format!(
                "[notify]\nurl = {{ env = \"{var}\" }}\ngroup = \"200ms\"\nmin_interval = \"0s\"\n"
            ),
            "notify.toml",
        )
        .unwrap();
        exectop::config::validate(&c, "notify.toml").unwrap();
        c.notify.unwrap()
    };
    let refused = notify::start(&config("EXECTOP_TEST_NOTIFY_PLAIN"))
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        refused,
        "notify.url: the value of EXECTOP_TEST_NOTIFY_PLAIN must be an https:// URL \
         (http:// only to a loopback host): the URL is a secret"
    );
    let sender = notify::start(&config("EXECTOP_TEST_NOTIFY_HOOK")).unwrap();
    // Before the first database poll a snapshot knows no rows: it is not
    // taken as an empty baseline.
    assert!(sender.send(Arc::new(Snapshot::default())));
    assert!(sender.send(stuck_ids(5..7)));
    let posts = posts_after(&receiver, 1, ms(500)).await;
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(
        posts[0].text,
        "exectop: 2 findings open at start: 2 stuck\n• stuck: 5, 6"
    );
    sender.shutdown().await;
}
