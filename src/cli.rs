//! The command line: the subcommands, their flags, and the options every
//! command shares.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// The tracker `exectop demo` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DemoTracker {
    Http,
    Stepfunctions,
}

#[derive(Debug, Parser)]
#[command(
    name = "exectop",
    version,
    about = "Watch job executions live and clean up the ones that went wrong"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct Global {
    /// Configuration file (else $EXECTOP_CONFIG, ./exectop.toml, $XDG_CONFIG_HOME/exectop/config.toml)
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Refuse every write (for wall terminals)
    #[arg(long, global = true)]
    pub read_only: bool,
    /// The wall screen: large counts, error rates, claims and the data's
    /// age for a terminal across the room; read-only, only q and help act
    #[arg(long, global = true)]
    pub wall: bool,
    /// Draw with ratatui's own terminal backend instead of exectop's encoder
    /// (for a terminal that shows the screen wrongly)
    #[arg(long, global = true)]
    pub plain_terminal: bool,
    /// Ask the remote from this instance even where another polls it for the
    /// same table (sharing is on by default on PostgreSQL)
    #[arg(long, global = true)]
    pub no_share_remote: bool,
    /// Your name in the audit log (else $EXECTOP_OPERATOR, else $USER)
    #[arg(long, global = true, value_name = "NAME")]
    pub operator: Option<String>,
}

/// The exit status of the commands that write (reconcile, mark-failed, cleanup).
const ACTION_EXIT: &str = "Exit status: 0 = every execution asked for was written or already \
was so, or there was nothing to do (a dry run is always 0); 1 = an execution asked for was \
refused or left alone (no such execution, changed meanwhile, the remote could not say); \
2 = could not run.";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The live monitor (the default)
    Tui,
    /// No set-up: temporary SQLite, simulated fleet and remote API, and the monitor
    Demo {
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Revoke the simulated API's refresh token after this long (e.g.
        /// `1m`), to see how a failing token refresh shows
        #[arg(long, value_name = "DURATION")]
        revoke_token_after: Option<String>,
        /// Which tracker the demo runs: `http` (the AMC preset's requests) or
        /// `stepfunctions` (the Step Functions tracker, pointed at the
        /// simulator through endpoint_url; no AWS account needed)
        #[arg(long, value_enum, default_value_t = DemoTracker::Http)]
        tracker: DemoTracker,
    },
    /// One diagnosis; exit 0 = no findings, 1 = findings, 2 = could not run
    Check {
        #[arg(long)]
        json: bool,
        /// Exit 1 only for findings nobody claimed, acknowledged or snoozed
        #[arg(long, conflicts_with = "explain")]
        unacked: bool,
        /// Print the database's plan for each read a poll makes (is an index used?)
        #[arg(long, conflicts_with = "json")]
        explain: bool,
    },
    /// Write the remote tracker's status into stuck local records (dry run unless --fix)
    #[command(after_help = ACTION_EXIT)]
    Reconcile {
        /// The execution to reconcile (repeatable); none: every status_mismatch finding
        #[arg(long = "id", value_name = "ID")]
        ids: Vec<String>,
        /// Show what would change and write nothing (the default)
        #[arg(long, conflicts_with = "fix")]
        dry_run: bool,
        /// Write the changes
        #[arg(long)]
        fix: bool,
        #[arg(long)]
        json: bool,
    },
    /// Mark executions failed, with a reason (writes unless --dry-run)
    #[command(after_help = ACTION_EXIT)]
    MarkFailed {
        #[arg(long = "id", value_name = "ID", required = true)]
        ids: Vec<String>,
        #[arg(long)]
        reason: String,
        /// Stop the remote run first and wait for the remote to confirm
        #[arg(long)]
        stop_remote: bool,
        /// Show what would change and write nothing
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// Time out every active execution older than --max-age (dry run unless --fix)
    #[command(after_help = ACTION_EXIT)]
    Cleanup {
        #[arg(long, value_name = "DURATION")]
        max_age: String,
        /// Show what would change and write nothing (the default)
        #[arg(long, conflicts_with = "fix")]
        dry_run: bool,
        /// Write the changes
        #[arg(long)]
        fix: bool,
        #[arg(long)]
        json: bool,
    },
    /// The monitor without a terminal: serves /metrics (Prometheus) and /health
    /// (JSON), runs [policy.cleanup] when configured; stops on SIGTERM or SIGINT
    Agent {
        /// Where to serve /metrics and /health, IP:port (else [agent] listen,
        /// else 127.0.0.1:9464)
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
    },
    /// Each job's runtimes learned from history (p50, p95, max, runs) and the
    /// running limit in force, to review and pin in the config
    Thresholds {
        #[arg(long)]
        json: bool,
    },
    /// Create exectop's own tables (native executions table, audit log)
    Migrate,
    /// Run the fleet simulator and its remote API (for demos, tests and benchmarks)
    Simulate {
        #[arg(long, value_name = "URL")]
        db: String,
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8787")]
        listen: SocketAddr,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// New executions per second
        #[arg(long, default_value_t = 0.5)]
        rate: f64,
        #[command(flatten)]
        tuning: SimTuning,
    },
}

/// How the simulated fleet and its API break; defaults are the demo's.
#[derive(Debug, Args, Clone)]
pub struct SimTuning {
    /// Share of new executions that get a fault (missing remote id, dead worker,
    /// never caught up, remote forgot, marked but running, remote only)
    #[arg(long, default_value_t = 0.25, value_name = "P")]
    pub fault_rate: f64,
    /// Multiply run durations (1: runs last 20 s to 2 min)
    #[arg(long, default_value_t = 1.0, value_name = "X")]
    pub time_scale: f64,
    /// Start with N healthy executions running for the next day (benchmarks)
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub steady: usize,
    /// Skip the seeded day of finished executions and long-broken rows
    #[arg(long)]
    pub no_history: bool,
    /// Every API answer waits this long, e.g. 20ms
    #[arg(long, default_value = "0s", value_name = "DURATION")]
    pub api_latency: String,
    /// Share of API answers that are slow (by --api-slow-by)
    #[arg(long, default_value_t = 0.02, value_name = "P")]
    pub api_slow_rate: f64,
    #[arg(long, default_value = "1500ms", value_name = "DURATION")]
    pub api_slow_by: String,
    /// Share of API answers that are 429 with Retry-After
    #[arg(long, default_value_t = 0.01, value_name = "P")]
    pub api_throttle_rate: f64,
    /// Retry-After of a 429, in seconds
    #[arg(long, default_value_t = 2, value_name = "SECS")]
    pub retry_after: u64,
    /// Share of API answers that are 503
    #[arg(long, default_value_t = 0.02, value_name = "P")]
    pub api_error_rate: f64,
    /// Share of API answers that are malformed JSON
    #[arg(long, default_value_t = 0.01, value_name = "P")]
    pub api_malformed_rate: f64,
}
