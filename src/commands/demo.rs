//! `exectop demo`: nothing to set up. A temporary SQLite database, the fleet
//! simulator and its remote API on a loopback port in Amazon Marketing
//! Cloud's shape (per-instance paths, vendor headers, expiring OAuth
//! tokens), exectop's own HTTP tracker talking to it over real HTTP with
//! the AMC preset's requests, and the monitor on top.

use super::setup::{CommandFailure, Setup, connect};
use crate::cli::Global;
use crate::cli::SimTuning;
use crate::config::Loaded;
use crate::config::commands::CommandConfig;
use crate::domain::parse_duration;
use crate::domain::row_command::Names;
use crate::sim::{self, ApiFaults, SimOptions};

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub async fn run(
    global: &Global,
    seed: u64,
    revoke_token_after: Option<&str>,
    tracker: crate::cli::DemoTracker,
) -> Result<i32, CommandFailure> {
    let stepfunctions = tracker == crate::cli::DemoTracker::Stepfunctions;
    let revoke_after = revoke_token_after
        .map(|t| {
            parse_duration(t).map_err(|e| CommandFailure(format!("--revoke-token-after: {e}")))
        })
        .transpose()?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let dir =
        TempDir(std::env::temp_dir().join(format!("exectop-demo-{}-{nanos}", std::process::id())));
    std::fs::create_dir_all(&dir.0)
        .map_err(|e| CommandFailure(format!("{}: {e}", dir.0.display())))?;
    let db_url = format!("sqlite://{}", dir.0.join("demo.db").display());
    let auth = sim::amc::demo_auth(&sim::writer::GROUPS);
    let options = SimOptions {
        amc: (!stepfunctions).then(|| auth.clone()),
        stepfunctions,
        ..SimOptions::demo(db_url.clone(), seed)
    };
    let simulator = sim::start(options).await.map_err(CommandFailure)?;
    if let (Some(after), Some(amc)) = (revoke_after, simulator.amc.clone()) {
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            amc.revoke();
        });
    }
    let mut config = if stepfunctions {
        crate::config::parse_str(
            &sim::exectop_sfn_config_toml(&db_url, simulator.api_addr),
            "the demo's Step Functions configuration",
        )
        .map_err(|e| CommandFailure(e.to_string()))?
    } else {
        sim::exectop_amc_config_for(&db_url, simulator.api_addr, &auth).map_err(CommandFailure)?
    };
    if let Some(path) = &global.config {
        (config.ui, config.commands) = ui_of(path, crate::config::commands::names_of(&config))?;
    }
    config.ui.read_only |= global.read_only;
    let loaded = Loaded { config, path: None };
    let store = connect(&loaded).await?;
    let tracker = super::setup::tracker_for(&loaded, &store).await?;
    let setup = Setup {
        loaded,
        store,
        tracker,
    };
    let result = super::live::run(setup, global).await;
    simulator.shutdown();
    result
}

/// The simulator options of `exectop simulate`, each flag checked and named
/// when it is wrong.
pub fn sim_options(
    db: &str,
    listen: std::net::SocketAddr,
    seed: u64,
    rate: f64,
    tuning: &SimTuning,
) -> Result<SimOptions, CommandFailure> {
    let duration = |flag: &str, text: &str| {
        parse_duration(text).map_err(|e| CommandFailure(format!("--{flag}: {e}")))
    };
    if !(rate >= 0.0 && rate.is_finite()) {
        return Err(CommandFailure(format!(
            "--rate: {rate} is not a rate per second"
        )));
    }
    if !(tuning.time_scale > 0.0 && tuning.time_scale.is_finite()) {
        return Err(CommandFailure(format!(
            "--time-scale: {} must be more than 0",
            tuning.time_scale
        )));
    }
    let mut options = SimOptions::demo(db.to_string(), seed);
    options.listen = listen;
    options.rate = rate;
    options.fault_rate = tuning.fault_rate;
    options.time_scale = tuning.time_scale;
    options.steady = tuning.steady;
    options.history = !tuning.no_history;
    // The fleet the benchmarks measured (many rare names): their figures
    // stay comparable from one run to the next.
    options.recurring_jobs = false;
    options.api_faults = ApiFaults {
        latency: duration("api-latency", &tuning.api_latency)?,
        slow_rate: tuning.api_slow_rate,
        slow_by: duration("api-slow-by", &tuning.api_slow_by)?,
        throttle_rate: tuning.api_throttle_rate,
        retry_after_seconds: tuning.retry_after,
        server_error_rate: tuning.api_error_rate,
        malformed_rate: tuning.api_malformed_rate,
    };
    let flag_of = |key: &str| match key {
        "slow_rate" => "--api-slow-rate",
        "throttle_rate" => "--api-throttle-rate",
        "server_error_rate" => "--api-error-rate",
        "malformed_rate" => "--api-malformed-rate",
        _ => "--api-throttle-rate + --api-error-rate + --api-malformed-rate",
    };
    options.api_faults.validate().map_err(|e| {
        let key = e.split_whitespace().next().unwrap_or_default();
        CommandFailure(format!("{}: {e}", flag_of(key)))
    })?;
    if !(0.0..=1.0).contains(&options.fault_rate) {
        return Err(CommandFailure(format!(
            "--fault-rate: {} must be between 0 and 1",
            options.fault_rate
        )));
    }
    Ok(options)
}

/// `exectop simulate`: the simulator on its own, until Ctrl-C.
pub async fn simulate(
    db: &str,
    listen: std::net::SocketAddr,
    seed: u64,
    rate: f64,
    tuning: &SimTuning,
) -> Result<i32, CommandFailure> {
    let handle = sim::start(sim_options(db, listen, seed, rate, tuning)?)
        .await
        .map_err(CommandFailure)?;
    super::print_text(&format!(
        "simulated remote API listening on http://{}\n\
         ground truth: GET /_sim/truth · request counts: GET /_sim/stats · change faults: PUT /_sim/faults\n\
         # exectop configuration for this simulator:\n{}\n",
        handle.api_addr,
        sim::exectop_config_toml(db, handle.api_addr)
    ))?;
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| CommandFailure(e.to_string()))?;
    handle.shutdown();
    Ok(0)
}

/// The `[ui]` of the operator's own configuration file (keys, theme, refresh,
/// plain terminal) and its `[[commands]]`: the demo brings its own database
/// and remote, but the screen, its keys and the operator's commands are the
/// operator's. Everything else in the file is left unread.
/// `names`: whether the demo's own configuration has a context query (the
/// AMC-shaped one does), which the commands may then use.
fn ui_of(
    path: &std::path::Path,
    names: Names,
) -> Result<(crate::config::UiConfig, Vec<CommandConfig>), CommandFailure> {
    #[derive(serde::Deserialize)]
    struct OnlyUi {
        #[serde(default)]
        ui: crate::config::UiConfig,
        #[serde(default)]
        commands: Vec<CommandConfig>,
    }
    let named = |e: &dyn std::fmt::Display| CommandFailure(format!("{}: {e}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| named(&e))?;
    let only: OnlyUi = toml::from_str(&text).map_err(|e| named(&e))?;
    let commands =
        crate::config::commands::resolve(&only.commands, names).map_err(|e| named(&e))?;
    crate::tui::keymap::Keymap::from_config(&only.ui.keys)
        .and_then(|k| k.with_commands(&commands))
        .map_err(|e| named(&e))?;
    Ok((only.ui, only.commands))
}
