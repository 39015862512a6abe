//! The fleet simulator: a remote execution API on loopback and a workload
//! writer that records executions in the database and breaks them the way
//! real systems break. Deterministic for a seed and rate settings; the
//! faults it injected are its ground truth (`/_sim/truth`, [`SimHandle::truth`]).

pub mod amc;
pub mod api;
pub mod fleet;
pub mod rng;
pub mod runtimes;
pub mod sfn;
pub mod truth;
pub mod writer;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::config::{Config, DatabaseConfig, RemoteConfig, RemoteKind, StatusValues, TableConfig};
use crate::store::{DbPool, migrate};
use api::Shared;
pub use api::{ApiFaults, ApiFaultsPatch};
use fleet::Fleet;
use rng::Rng;
pub use truth::{Fault, TruthEntry};
use writer::Writer;

#[derive(Debug, Clone)]
pub struct SimOptions {
    pub db_url: String,
    pub listen: SocketAddr,
    pub seed: u64,
    /// New executions per second.
    pub rate: f64,
    /// Share of new executions that get a fault.
    pub fault_rate: f64,
    /// Multiplies run durations (1.0: 20 s to 2 min).
    pub time_scale: f64,
    pub api_faults: ApiFaults,
    /// Seed a day of finished executions and a few long-broken rows.
    pub history: bool,
    /// New executions run a handful of recurring jobs (`job-0` … `job-5`),
    /// and the seeded day is runs of the same jobs, so exectop learns their
    /// runtimes at once (the Running pane's `/p95`); else every name is
    /// rare and only fixed thresholds apply (`exectop simulate`, the fleet
    /// the benchmarks measure).
    pub recurring_jobs: bool,
    /// Start with this many healthy executions running for the next day
    /// (benchmarks). They are not in the ground truth and send no heartbeats.
    pub steady: usize,
    /// Also serve the API in AMC's shape (per-instance paths, headers, a
    /// token endpoint), and record each instance's advertiser in the
    /// database (`sim_amc_instances`) for exectop's context query.
    pub amc: Option<amc::AmcAuth>,
    /// Also serve the API as AWS Step Functions does (JSON 1.0 on `POST /`),
    /// with execution ARNs for remote ids.
    pub stepfunctions: bool,
}

impl SimOptions {
    /// Lively but believable: a run every two seconds, some faults, an API
    /// that is sometimes slow, throttles, fails or answers garbage.
    pub fn demo(db_url: String, seed: u64) -> SimOptions {
        SimOptions {
            db_url,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed,
            rate: 0.5,
            fault_rate: 0.25,
            time_scale: 1.0,
            api_faults: ApiFaults {
                latency: Duration::ZERO,
                slow_rate: 0.02,
                slow_by: Duration::from_millis(1500),
                throttle_rate: 0.01,
                retry_after_seconds: 2,
                server_error_rate: 0.02,
                malformed_rate: 0.01,
            },
            history: true,
            recurring_jobs: true,
            steady: 0,
            amc: None,
            stepfunctions: false,
        }
    }
}

pub struct SimHandle {
    pub api_addr: SocketAddr,
    pub pool: DbPool,
    shared: Arc<Shared>,
    /// The AMC-shaped routes' state, when served.
    pub amc: Option<Arc<amc::AmcState>>,
    tasks: Vec<JoinHandle<()>>,
}

impl SimHandle {
    pub fn truth(&self) -> Vec<TruthEntry> {
        self.shared.truth.lock().unwrap().clone()
    }

    /// Changes how the API behaves from now on (e.g. a 429 storm).
    pub fn set_api_faults(&self, faults: ApiFaults) -> Result<(), String> {
        faults.validate()?;
        *self.shared.faults.lock().unwrap() = faults;
        Ok(())
    }

    pub fn shutdown(self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Creates the schema, seeds history, binds the API and starts the writer.
pub async fn start(opts: SimOptions) -> Result<SimHandle, String> {
    opts.api_faults
        .validate()
        .map_err(|e| format!("simulated API faults: {e}"))?;
    if !(0.0..=1.0).contains(&opts.fault_rate) {
        return Err(format!(
            "the fault rate must be between 0 and 1, not {}",
            opts.fault_rate
        ));
    }
    let pool = DbPool::connect(&opts.db_url, true)
        .await
        .map_err(|e| e.to_string())?;
    migrate::apply(&pool, true)
        .await
        .map_err(|e| e.to_string())?;
    let mut rng = Rng::new(opts.seed);
    let shared = Arc::new(Shared {
        fleet: Mutex::new(Fleet::default()),
        truth: Mutex::new(Vec::new()),
        faults: Mutex::new(opts.api_faults.clone()),
        stats: Mutex::new(api::ApiStats::default()),
        rng: Mutex::new(rng.fork(1)),
    });
    if let Some(auth) = &opts.amc {
        record_amc_instances(&pool, auth).await?;
    }
    let writer = Arc::new(Writer {
        pool: pool.clone(),
        shared: shared.clone(),
        seed: opts.seed,
        time_scale: opts.time_scale,
        fault_rate: opts.fault_rate,
        arn_ids: opts.stepfunctions,
        recurring_jobs: opts.recurring_jobs,
    });
    if opts.history {
        writer.seed_history(&mut rng.fork(2)).await?;
    }
    if opts.steady > 0 {
        writer.seed_steady(opts.steady).await?;
    }
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", opts.listen))?;
    let api_addr = listener.local_addr().map_err(|e| e.to_string())?;
    let amc_state = opts
        .amc
        .clone()
        .map(|auth| Arc::new(amc::AmcState::new(shared.clone(), auth)));
    let mut router = match &amc_state {
        Some(state) => api::router(shared.clone()).merge(amc::router(state.clone())),
        None => api::router(shared.clone()),
    };
    if opts.stepfunctions {
        router = router.merge(sfn::router(shared.clone()));
    }
    let server = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!("simulated API stopped: {e}");
        }
    });
    let mut spawn_rng = rng.fork(3);
    let rate = opts.rate;
    let spawner = tokio::spawn(async move {
        if rate <= 0.0 {
            return;
        }
        let every = Duration::from_secs_f64(1.0 / rate);
        let mut n: u64 = 0;
        loop {
            let w = writer.clone();
            let run_rng = spawn_rng.fork(n);
            tokio::spawn(async move {
                if let Err(e) = w.live_one(n, run_rng).await {
                    tracing::warn!("simulated worker {n}: {e}");
                }
            });
            n += 1;
            tokio::time::sleep(every).await;
        }
    });
    tracing::info!("simulated remote API on http://{api_addr}");
    Ok(SimHandle {
        api_addr,
        pool,
        shared,
        amc: amc_state,
        tasks: vec![server, spawner],
    })
}

/// Each instance's ids as the application's own tables would hold them: the
/// table exectop's context query reads in the demo.
async fn record_amc_instances(pool: &DbPool, auth: &amc::AmcAuth) -> Result<(), String> {
    let DbPool::Sqlite(pool) = pool else {
        return Err("the AMC-shaped simulator records its instances in SQLite only".into());
    };
    let fail = |e: sqlx::Error| format!("recording the simulated AMC instances failed: {e}");
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS sim_amc_instances (group_name TEXT PRIMARY KEY, \
         instance_id TEXT NOT NULL, advertiser_id TEXT NOT NULL)",
    )
    .execute(pool)
    .await
    .map_err(fail)?;
    for (instance, advertiser) in &auth.advertisers {
        sqlx::query("INSERT OR REPLACE INTO sim_amc_instances VALUES (?, ?, ?)")
            .bind(instance)
            .bind(instance)
            .bind(advertiser)
            .execute(pool)
            .await
            .map_err(fail)?;
    }
    Ok(())
}

/// The AMC-shaped API alone, over a fleet the caller plants runs in: the
/// loopback stand-in for Amazon Marketing Cloud in tests.
pub struct AmcServer {
    pub addr: SocketAddr,
    pub state: Arc<amc::AmcState>,
    task: JoinHandle<()>,
}

impl AmcServer {
    pub async fn start(auth: amc::AmcAuth) -> Result<AmcServer, String> {
        let shared = Arc::new(Shared {
            fleet: Mutex::new(Fleet::default()),
            truth: Mutex::new(Vec::new()),
            faults: Mutex::new(ApiFaults::default()),
            stats: Mutex::new(api::ApiStats::default()),
            rng: Mutex::new(Rng::new(1)),
        });
        let state = Arc::new(amc::AmcState::new(shared, auth));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| format!("cannot listen on loopback: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let router = amc::router(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(AmcServer { addr, state, task })
    }

    pub fn plant(&self, run: fleet::RemoteRun) {
        self.state.fleet.fleet.lock().unwrap().insert(run);
    }

    pub fn stats(&self) -> amc::AmcStats {
        self.state.stats.lock().unwrap().clone()
    }
}

impl Drop for AmcServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The configuration that points exectop at a simulator.
pub fn exectop_config_for(db_url: &str, api_addr: SocketAddr) -> Config {
    let spell = |s: &str| vec![s.to_string()];
    Config {
        database: DatabaseConfig {
            url: Some(db_url.to_string()),
            url_from: None,
        },
        table: TableConfig::default(),
        remote: RemoteConfig {
            kind: RemoteKind::Http,
            base_url: Some(format!("http://{api_addr}")),
            status_path: Some("/executions/{remote_id}".into()),
            status_pointer: Some("/status".into()),
            list_active_path: Some("/executions?state=active".into()),
            list_pointer: Some("/executions".into()),
            list_id_pointer: Some("/id".into()),
            list_next_pointer: Some("/next".into()),
            list_cursor_param: Some("after".into()),
            stop_path: Some("/executions/{remote_id}/stop".into()),
            token_env: None,
            max_answer_bytes: None,
            status_values: StatusValues {
                pending: spell("PENDING"),
                running: spell("RUNNING"),
                succeeded: spell("SUCCEEDED"),
                failed: spell("FAILED"),
                cancelled: spell("CANCELLED"),
                timed_out: spell("TIMED_OUT"),
            },
            ..RemoteConfig::default()
        },
        ..Config::default()
    }
}

/// The configuration that points exectop at a simulator serving AMC's
/// shape (`SimOptions::amc`): the shipped AMC preset's requests, its
/// context read from the simulator's `sim_amc_instances`, the secrets
/// given by a command (the demo has nothing to set up).
pub fn exectop_amc_config_for(
    db_url: &str,
    api_addr: SocketAddr,
    auth: &amc::AmcAuth,
) -> Result<Config, String> {
    crate::config::parse_str(
        &exectop_amc_config_toml(db_url, api_addr, auth),
        "the simulator's AMC configuration",
    )
    .map_err(|e| e.to_string())
}

/// The same configuration as TOML text (what the demo runs on, and what
/// the simulator's tests hand the binary).
pub fn exectop_amc_config_toml(db_url: &str, api_addr: SocketAddr, auth: &amc::AmcAuth) -> String {
    let secret = |value: &str| format!("{{ command = [\"printf\", \"%s\", \"{value}\"] }}");
    format!(
        r#"[database]
url = "{db_url}"

[remote]
kind = "http"
base_url = "http://{api_addr}"
status_path = "/amc/reporting/{{instance_id}}/workflowExecutions/{{remote_id}}"
status_pointer = "/status"
list_active_path = "/amc/reporting/{{instance_id}}/workflowExecutions?minCreationTime={{list_since}}"
list_pointer = "/executions"
list_id_pointer = "/workflowExecutionId"
list_status_pointer = "/status"
list_started_pointer = "/createTime"
list_name_pointer = "/workflowId"
list_next_pointer = "/nextToken"
list_cursor_param = "nextToken"
stop_path = "/amc/reporting/{{instance_id}}/workflowExecutions/{{remote_id}}"
stop_method = "DELETE"

[remote.detail_fields]
"status reason" = "/statusReason"

[remote.headers]
{client_header} = "{{secret.client_id}}"
{advertiser_header} = "{{advertiser_id}}"

[remote.secrets]
client_id = {client_id}
client_secret = {client_secret}
refresh_token = {refresh_token}

[remote.oauth]
token_url = "http://{api_addr}/auth/o2/token"

[remote.context]
key = "group"
query = "SELECT group_name AS key, instance_id, advertiser_id FROM sim_amc_instances"

[remote.status_values]
pending = ["PENDING"]
running = ["RUNNING"]
succeeded = ["SUCCEEDED"]
failed = ["FAILED"]
cancelled = ["CANCELLED"]
timed_out = ["TIMED_OUT"]
"#,
        client_header = amc::CLIENT_ID_HEADER,
        advertiser_header = amc::ADVERTISER_HEADER,
        client_id = secret(&auth.client_id),
        client_secret = secret(&auth.client_secret),
        refresh_token = secret(&auth.refresh_token),
    )
}

/// The configuration that points exectop's Step Functions tracker at a
/// simulator serving that shape (`SimOptions::stepfunctions`).
pub fn exectop_sfn_config_toml(db_url: &str, api_addr: SocketAddr) -> String {
    format!(
        "[database]\nurl = \"{db_url}\"\n\n[remote]\nkind = \"stepfunctions\"\nregion = \"{}\"\n\
         endpoint_url = \"http://{api_addr}\"\n",
        sfn::REGION
    )
}

/// The same configuration as TOML text, for `exectop simulate` to print.
pub fn exectop_config_toml(db_url: &str, api_addr: SocketAddr) -> String {
    format!(
        "[database]\nurl = \"{db_url}\"\n\n[remote]\nkind = \"http\"\nbase_url = \"http://{api_addr}\"\n\
         status_path = \"/executions/{{remote_id}}\"\nstatus_pointer = \"/status\"\n\
         list_active_path = \"/executions?state=active\"\nlist_pointer = \"/executions\"\nlist_id_pointer = \"/id\"\n\
         list_next_pointer = \"/next\"\nlist_cursor_param = \"after\"\n\
         stop_path = \"/executions/{{remote_id}}/stop\"\n\n[remote.status_values]\npending = [\"PENDING\"]\n\
         running = [\"RUNNING\"]\nsucceeded = [\"SUCCEEDED\"]\nfailed = [\"FAILED\"]\ncancelled = [\"CANCELLED\"]\n\
         timed_out = [\"TIMED_OUT\"]\n"
    )
}
