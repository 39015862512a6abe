//! End to end: the real binary's `demo` in a real terminal (tmux), driven by
//! keys as an operator would, and killed the way an SSH drop kills it.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::tmux::Tmux;

fn exectop_pids_under(shell_pid: u32) -> Vec<u32> {
    let out = Command::new("pgrep")
        .args(["-P", &shell_pid.to_string(), "-f", "exectop"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

fn alive(pid: u32) -> bool {
    // A zombie has exited; only a live process counts.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}

const READY: Duration = Duration::from_secs(60);

#[test]
fn demo_navigates_filters_opens_details_and_restores_the_terminal() {
    let t = Tmux::start("demo --seed 7", 120, 40);
    let screen = t.wait_for("the demo to show findings", READY, |s| {
        s.contains("Running") && s.contains("Stuck") && s.contains("stuck")
    });
    assert!(screen.contains("Error rates"), "{screen}");
    // The demo's jobs recur with a day of history: their runtimes are
    // learned, and the Running pane shows how far into its p95 each run is.
    t.wait_for("the learned runtimes' column", READY, |s| {
        s.contains("/p95") && s.lines().any(|l| l.contains(" job-") && l.contains('%'))
    });

    t.keys(&["Tab"]);
    t.keys(&["j", "j", "Enter"]);
    t.wait_for("the detail popup", Duration::from_secs(5), |s| {
        s.contains("── execution")
    });
    t.keys(&["Escape"]);
    t.wait_for("the popup to close", Duration::from_secs(5), |s| {
        !s.contains("── execution")
    });

    t.keys(&["?"]);
    t.wait_for("the help screen", Duration::from_secs(5), |s| {
        s.contains(" Keys (")
    });
    t.keys(&["Escape"]);

    // The filter belongs to the Running pane: back to it from the findings.
    t.keys(&["BTab", "/"]);
    t.literal("no-such-execution-xyz");
    t.keys(&["Enter"]);
    t.wait_for("the filter to apply", Duration::from_secs(5), |s| {
        s.contains("filter \"no-such-execution-xyz\"")
            && s.contains("no execution matches the filter")
    });

    t.keys(&["q"]);
    let screen = t.wait_for("exectop to exit", Duration::from_secs(10), |s| {
        s.contains("EXITED:")
    });
    assert!(screen.contains("EXITED:0"), "{screen}");
    assert!(
        screen.contains("TTY:cooked"),
        "terminal left in raw mode:\n{screen}"
    );
}

#[test]
fn sighup_ends_the_process_promptly() {
    let t = Tmux::start("demo --seed 3", 100, 30);
    t.wait_for("the demo to start", READY, |s| s.contains("Running"));
    let shell = t.pane_pid().expect("pane pid");
    let pids = exectop_pids_under(shell);
    assert_eq!(pids.len(), 1, "one exectop process under the pane shell");
    let pid = pids[0];
    Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .unwrap();
    let start = Instant::now();
    while alive(pid) && start.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!alive(pid), "exectop still running 3 s after SIGHUP");
    let screen = t.wait_for("the exit line", Duration::from_secs(5), |s| {
        s.contains("EXITED:")
    });
    assert!(
        screen.contains("TTY:cooked"),
        "terminal left in raw mode:\n{screen}"
    );
}

/// Whether terminal output holds what every first screen draws, polled or
/// not: the title and the Running pane's.
fn first_screen_in(bytes: &[u8]) -> bool {
    let has = |text: &str| bytes.windows(text.len()).any(|w| w == text.as_bytes());
    has(" exectop ") && has(" Running ")
}

/// A wall terminal on a quiet table: once drawn, a screen on which nothing
/// changes writes nothing to the terminal, although the clock ticks every
/// second (each tick redraws, and ratatui's backend would write colour
/// resets, a cursor hide and the synchronized-update markers every time).
#[test]
fn an_idle_screen_writes_nothing_to_the_terminal() {
    let dir = std::env::temp_dir().join(format!("exectop_idle_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("exectop.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://{}\"\n[poll]\ndatabase_interval = \"300s\"\n[ui]\nrefresh = \"300s\"\n",
            dir.join("quiet.db").display()
        ),
    )
    .unwrap();
    let migrated = Command::new(env!("CARGO_BIN_EXE_exectop"))
        .args(["migrate", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(migrated.status.success(), "{migrated:?}");

    let bytes = dir.join("terminal.bytes");
    let t = Tmux::start_capturing(&format!("--config {}", config.display()), 120, 30, &bytes);
    t.wait_for("the first poll", READY, |s| {
        s.contains("Running 0") && s.contains("db ok")
    });
    // The positive control: the capture holds the first screen, so a capture
    // that measures nothing (never created, never fed) cannot pass below.
    let captured = || std::fs::read(&bytes).unwrap_or_default();
    let start = Instant::now();
    while !first_screen_in(&captured()) && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let first = captured();
    assert!(
        first_screen_in(&first),
        "the capture missed the first screen ({} bytes): {:?}",
        first.len(),
        String::from_utf8_lossy(&first)
    );
    let size = || std::fs::metadata(&bytes).map(|m| m.len()).unwrap_or(0);
    // The header clock shows minutes: a window that spans a new minute sees
    // it written once, so such a window is tried again.
    let mut written = Vec::new();
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(1500));
        let minute = chrono::Utc::now().format("%H:%M").to_string();
        let before = size();
        std::thread::sleep(Duration::from_secs(4));
        let after = size();
        if chrono::Utc::now().format("%H:%M").to_string() == minute {
            written.push(after - before);
            break;
        }
    }
    assert_eq!(written, [0], "bytes written by an idle screen in 4 s");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The wall screen (`--wall`) on a SQLite file the test owns, polled every
/// second: it shows the calm screen, and once the table goes away the
/// banner says the database is down, with the last figures marked stale,
/// within two poll intervals. Then q quits: the only key that acts there.
#[test]
fn the_wall_says_the_database_is_down_within_two_polls() {
    let dir = std::env::temp_dir().join(format!("exectop_wall_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("wall.db");
    let config = dir.join("exectop.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://{}\"\n[poll]\ndatabase_interval = \"1s\"\n",
            db.display()
        ),
    )
    .unwrap();
    let migrated = Command::new(env!("CARGO_BIN_EXE_exectop"))
        .args(["migrate", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(migrated.status.success(), "{migrated:?}");

    let t = Tmux::start(&format!("--wall --config {}", config.display()), 120, 40);
    let screen = t.wait_for("the calm wall", READY, |s| {
        s.contains("exectop wall") && s.contains("nothing wrong since")
    });
    assert!(!screen.contains("STALE"), "{screen}");
    // Keys other than q and help do nothing on the wall.
    t.keys(&["Tab", "/", "Enter"]);
    assert!(t.screen().contains("nothing wrong since"));

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let pool = exectop::store::DbPool::connect(&format!("sqlite://{}", db.display()), false)
            .await
            .unwrap();
        common::execute(&pool, "ALTER TABLE exectop_executions RENAME TO gone").await;
        if let exectop::store::DbPool::Sqlite(p) = pool {
            p.close().await;
        }
    });
    let gone = Instant::now();
    let screen = t.wait_for("the database-down banner", Duration::from_secs(10), |s| {
        s.contains("STALE: the last known figures") && s.contains("since ")
    });
    let took = gone.elapsed();
    // Two poll intervals, and the 200 ms the screen is read every.
    assert!(
        took <= Duration::from_millis(2_200),
        "the banner took {took:?}:\n{screen}"
    );
    assert!(screen.contains("no such table"), "{screen}");

    t.keys(&["q"]);
    let screen = t.wait_for("exectop to exit", Duration::from_secs(10), |s| {
        s.contains("EXITED:")
    });
    assert!(screen.contains("EXITED:0"), "{screen}");
    assert!(screen.contains("TTY:cooked"), "{screen}");
    let _ = std::fs::remove_dir_all(&dir);
}
