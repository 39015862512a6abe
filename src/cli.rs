//! The command line of PRODUCT.md §6.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    /// Your name in the audit log (else $EXECTOP_OPERATOR, else $USER)
    #[arg(long, global = true, value_name = "NAME")]
    pub operator: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The live monitor (the default)
    Tui,
    /// No set-up: temporary SQLite, simulated fleet and remote API, and the monitor
    Demo {
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// One diagnosis; exit 0 = no findings, 1 = findings, 2 = could not run
    Check {
        #[arg(long)]
        json: bool,
        /// Print the database's plan for each read a poll makes (is an index used?)
        #[arg(long, conflicts_with = "json")]
        explain: bool,
    },
    /// Write the remote tracker's status into stuck local records (dry run unless --fix)
    Reconcile {
        #[arg(long = "id", value_name = "ID")]
        ids: Vec<String>,
        #[arg(long, conflicts_with = "fix")]
        dry_run: bool,
        #[arg(long)]
        fix: bool,
        #[arg(long)]
        json: bool,
    },
    /// Mark executions failed, with a reason
    MarkFailed {
        #[arg(long = "id", value_name = "ID", required = true)]
        ids: Vec<String>,
        #[arg(long)]
        reason: String,
        /// Stop the remote run first and wait for the remote to confirm
        #[arg(long)]
        stop_remote: bool,
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// Time out every active execution older than --max-age (dry run unless --fix)
    Cleanup {
        #[arg(long, value_name = "DURATION")]
        max_age: String,
        #[arg(long, conflicts_with = "fix")]
        dry_run: bool,
        #[arg(long)]
        fix: bool,
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
    },
}
