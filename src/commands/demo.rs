//! `exectop demo`: nothing to set up. A temporary SQLite database, the fleet
//! simulator and its remote API on a loopback port, exectop's own HTTP
//! tracker talking to it over real HTTP, and the monitor on top.

use super::setup::{Failure, Setup, connect};
use crate::cli::Global;
use crate::config::Loaded;
use crate::sim::{self, SimOptions};

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub async fn run(global: &Global, seed: u64) -> Result<i32, Failure> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let dir =
        TempDir(std::env::temp_dir().join(format!("exectop-demo-{}-{nanos}", std::process::id())));
    std::fs::create_dir_all(&dir.0).map_err(|e| Failure(format!("{}: {e}", dir.0.display())))?;
    let db_url = format!("sqlite://{}", dir.0.join("demo.db").display());
    let simulator = sim::start(SimOptions::demo(db_url.clone(), seed))
        .await
        .map_err(Failure)?;
    let mut config = sim::exectop_config_for(&db_url, simulator.api_addr);
    config.ui.read_only = global.read_only;
    let loaded = Loaded { config, path: None };
    let store = connect(&loaded).await?;
    let tracker = crate::remote::build(&loaded.config).map_err(Failure)?;
    let setup = Setup {
        loaded,
        store,
        tracker,
    };
    let result = super::live::run(setup, global).await;
    simulator.shutdown();
    result
}

/// `exectop simulate`: the simulator on its own, until Ctrl-C.
pub async fn simulate(
    db: &str,
    listen: std::net::SocketAddr,
    seed: u64,
    rate: f64,
) -> Result<i32, Failure> {
    let mut options = SimOptions::demo(db.to_string(), seed);
    options.listen = listen;
    options.rate = rate;
    let handle = sim::start(options).await.map_err(Failure)?;
    println!(
        "simulated remote API listening on http://{}",
        handle.api_addr
    );
    println!(
        "# exectop configuration for this simulator:\n{}",
        sim::exectop_config_toml(db, handle.api_addr)
    );
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| Failure(e.to_string()))?;
    handle.shutdown();
    Ok(0)
}
