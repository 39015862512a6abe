//! Two operators on one PostgreSQL table, each in a real terminal: a claim
//! made in one monitor shows in the other within a poll, an acknowledgement
//! with its note dims the row in both and is counted in the pane title, and
//! the audit view says who did what.

mod common;

use std::time::Duration;

use common::agent::{Row, native_store, plant};
use common::tmux::Tmux;

const READY: Duration = Duration::from_secs(60);
const ONE_POLL: Duration = Duration::from_secs(8);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_and_an_acknowledgement_in_one_monitor_show_in_the_other() {
    let url = common::pg_fresh_url().await;
    let store = native_store(&url).await;
    let stuck = |minutes| Row {
        status: "running",
        remote_id: None,
        minutes,
        updated: minutes,
        heartbeat: None,
    };
    // Two rows running for hours: two stuck findings.
    plant(&store, &[stuck(300), stuck(200)]).await;
    let dir = std::env::temp_dir().join(common::unique("exectop_triage"));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("exectop.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"{}\"\n[poll]\ndatabase_interval = \"2s\"\n",
            &*url
        ),
    )
    .unwrap();
    let args = format!("--config {}", config.display());
    let alice = Tmux::start_with(&args, 160, 40, &[("EXECTOP_OPERATOR", "alice")]);
    let bob = Tmux::start_with(&args, 160, 40, &[("EXECTOP_OPERATOR", "bob")]);
    for t in [&alice, &bob] {
        t.wait_for("two stuck findings", READY, |s| {
            s.contains("Stuck & orphaned 2")
        });
    }

    // Alice claims the first finding.
    alice.keys(&["Tab", "c"]);
    bob.wait_for("alice's claim in bob's monitor", ONE_POLL, |s| {
        s.contains("claimed by alice")
    });

    // Bob acknowledges the other one with a note.
    bob.keys(&["Tab", "j", "x"]);
    bob.wait_for("the note prompt", Duration::from_secs(5), |s| {
        s.contains(" Acknowledge ")
    });
    bob.literal("restarting the worker");
    bob.keys(&["Enter"]);
    let seen = alice.wait_for("bob's acknowledgement in alice's monitor", ONE_POLL, |s| {
        s.contains("Stuck & orphaned 2 · 1 acked") && s.contains("acked by bob")
    });
    // The acknowledged finding is listed after the claimed one.
    let claimed = seen.find("claimed by alice").unwrap();
    let acked = seen.find("acked by bob").unwrap();
    assert!(claimed < acked, "{seen}");

    alice.keys(&["a"]);
    let audit = alice.wait_for("the audit view", Duration::from_secs(5), |s| {
        s.contains("Audit log")
    });
    assert!(
        audit.contains("bob@") && audit.contains("acknowledge"),
        "{audit}"
    );
    assert!(
        audit.contains("alice@") && audit.contains("claim"),
        "{audit}"
    );
    assert!(audit.contains("restarting the worker"), "{audit}");
    for t in [&alice, &bob] {
        t.keys(&["Escape", "q"]);
        let screen = t.wait_for("exit", Duration::from_secs(10), |s| s.contains("EXITED:"));
        assert!(screen.contains("EXITED:0"), "{screen}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
