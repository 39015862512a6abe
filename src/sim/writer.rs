//! The workload writer: records executions in exectop's native table the way
//! real systems do (pending → remote id → running → heartbeats → final
//! status), and breaks the way they break.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Duration as Cd, Utc};

use super::api::Shared;
use super::fleet::RemoteRun;
use super::rng::Rng;
use super::truth::{Fault, TruthEntry};
use crate::domain::Status;
use crate::store::DbPool;
use crate::store::exec::{Arg, execute};

pub const FAULTS: [Fault; 6] = [
    Fault::MissingRemoteId,
    Fault::WorkerDied,
    Fault::NeverCaughtUp,
    Fault::RemoteForgot,
    Fault::MarkedButRunning,
    Fault::RemoteOnly,
];

const ERRORS: [&str; 9] = [
    "Query execution timeout after 900s",
    "Invalid or expired token for instance",
    "403 Forbidden: permission denied on dataset",
    "SQL syntax error near 'GROUP'",
    "Memory limit exceeded: 2048MB requested, 512MB allowed",
    "connection reset by peer while fetching results",
    "remote API returned 502 Bad Gateway",
    "{\"error\":\"States.Timeout\",\"cause\":\"Lambda timed out\"}",
    "worker exited with code 137",
];

pub const GROUPS: [&str; 4] = ["instance-a", "instance-b", "instance-c", "instance-d"];

pub struct Writer {
    pub pool: DbPool,
    pub shared: Arc<Shared>,
    pub seed: u64,
    /// Multiplies every run duration: 1.0 for demos, small for tests.
    pub time_scale: f64,
    pub fault_rate: f64,
    /// Remote ids are Step Functions execution ARNs, under a state machine
    /// named after the run's group.
    pub arn_ids: bool,
    /// See `SimOptions::recurring_jobs`.
    pub recurring_jobs: bool,
}

/// How many jobs recur where `recurring_jobs` is on: a seeded day of 240
/// runs gives each about 40, past the 20 succeeded runs learning needs.
const RECURRING: u64 = 6;

fn scaled(secs: f64, scale: f64) -> Cd {
    Cd::milliseconds((secs * scale * 1000.0) as i64)
}

/// A row as the workload writes it first.
struct NewRow<'a> {
    name: &'a str,
    group: &'a str,
    status: &'a str,
    created_at: DateTime<Utc>,
    remote_id: Option<String>,
    started_at: Option<DateTime<Utc>>,
    completed_at: Option<DateTime<Utc>>,
    error: Option<String>,
}

impl Writer {
    /// A run's remote id: `{kind}-{seed}-{n}`, or that as an execution ARN.
    fn remote_id(&self, kind: &str, n: impl std::fmt::Display, group: &str) -> String {
        let id = format!("{kind}-{}-{n}", self.seed);
        if self.arn_ids {
            super::sfn::execution_arn(group, &id)
        } else {
            id
        }
    }

    async fn insert(&self, row: NewRow<'_>) -> Result<String, String> {
        let NewRow {
            name,
            group,
            status,
            created_at,
            remote_id,
            started_at,
            completed_at,
            error,
        } = row;
        let updated = completed_at.or(started_at).unwrap_or(created_at);
        execute(
            &self.pool,
            "INSERT INTO exectop_executions (name, group_name, status, created_at, remote_id, started_at, \
             completed_at, error, updated_at, heartbeat_at) VALUES ({1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}, {9}, {10}) \
             RETURNING CAST(id AS TEXT)",
            vec![
                Arg::Text(Some(name.into())),
                Arg::Text(Some(group.into())),
                Arg::Text(Some(status.into())),
                Arg::Time(Some(created_at)),
                Arg::Text(remote_id),
                Arg::Time(started_at),
                Arg::Time(completed_at),
                Arg::Text(error),
                Arg::Time(Some(updated)),
                Arg::Time(started_at),
            ],
        )
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "insert returned no id".to_string())
    }

    async fn set_running(
        &self,
        id: &str,
        remote_id: &str,
        started: DateTime<Utc>,
    ) -> Result<(), String> {
        execute(
            &self.pool,
            "UPDATE exectop_executions SET remote_id = {1}, status = 'running', started_at = {2}, \
             updated_at = {3}, heartbeat_at = {3} WHERE id = CAST({4} AS INTEGER)",
            vec![
                Arg::Text(Some(remote_id.into())),
                Arg::Time(Some(started)),
                Arg::Time(Some(Utc::now())),
                Arg::Text(Some(id.into())),
            ],
        )
        .await
        .map(drop)
        .map_err(|e| e.to_string())
    }

    async fn heartbeat(&self, id: &str) -> Result<(), String> {
        execute(
            &self.pool,
            "UPDATE exectop_executions SET heartbeat_at = {1} WHERE id = CAST({2} AS INTEGER)",
            vec![Arg::Time(Some(Utc::now())), Arg::Text(Some(id.into()))],
        )
        .await
        .map(drop)
        .map_err(|e| e.to_string())
    }

    async fn finish(&self, id: &str, status: Status, error: Option<String>) -> Result<(), String> {
        let now = Utc::now();
        execute(
            &self.pool,
            "UPDATE exectop_executions SET status = {1}, completed_at = {2}, updated_at = {2}, error = {3} \
             WHERE id = CAST({4} AS INTEGER)",
            vec![Arg::Text(Some(status.as_str().into())), Arg::Time(Some(now)), Arg::Text(error), Arg::Text(Some(id.into()))],
        )
        .await
        .map(drop)
        .map_err(|e| e.to_string())
    }

    fn outcome(rng: &mut Rng) -> (Status, Option<String>) {
        let roll = rng.unit();
        if roll < 0.85 {
            (Status::Succeeded, None)
        } else if roll < 0.94 {
            (Status::Failed, Some(rng.pick(&ERRORS).to_string()))
        } else if roll < 0.97 {
            (Status::TimedOut, Some(ERRORS[0].to_string()))
        } else {
            (Status::Cancelled, None)
        }
    }

    fn record(&self, entry: TruthEntry) {
        self.shared.truth.lock().unwrap().push(entry);
    }

    fn note_remote_id_written(&self, id: &str) {
        let mut truth = self.shared.truth.lock().unwrap();
        if let Some(entry) = truth
            .iter_mut()
            .rev()
            .find(|e| e.execution_id.as_deref() == Some(id))
        {
            entry.remote_id_at = Some(Utc::now());
        }
    }

    /// Finished executions over the last day, and a few long-broken rows, so
    /// the first screen already has error rates and findings.
    pub async fn seed_history(&self, rng: &mut Rng) -> Result<(), String> {
        let now = Utc::now();
        for n in 0..240 {
            let ended = now - Cd::seconds((rng.unit() * 86_000.0) as i64 + 60);
            // Recurring jobs took what their runs today take (`live_one`).
            let started = if self.recurring_jobs {
                ended - scaled(rng.range(20.0, 120.0), self.time_scale)
            } else {
                ended - Cd::seconds(rng.range(20.0, 600.0) as i64)
            };
            let name = self.job_name(n, 23, "report");
            let (status, error) = Self::outcome(rng);
            let group = rng.pick(&GROUPS);
            let remote_id = self.remote_id("hist", n, group);
            self.insert(NewRow {
                name: &name,
                group,
                status: status.as_str(),
                created_at: started - Cd::seconds(2),
                remote_id: Some(remote_id.clone()),
                started_at: Some(started),
                completed_at: Some(ended),
                error,
            })
            .await?;
            self.shared.fleet.lock().unwrap().insert(RemoteRun {
                id: remote_id,
                name,
                group: group.to_string(),
                created_at: started,
                started_at: started,
                finishes_at: ended,
                outcome: status,
                stopped_at: None,
                forgotten: false,
            });
        }
        // (hours running, remote still running?, fault)
        let broken: [(i64, bool, Fault); 4] = [
            (22, true, Fault::LongStuck),
            (26, true, Fault::LongStuck),
            (5, false, Fault::LongStuck),
            (3, false, Fault::MissingRemoteId),
        ];
        for (i, (hours, remote_running, fault)) in broken.into_iter().enumerate() {
            let started = now - Cd::hours(hours);
            let remote_id =
                (fault != Fault::MissingRemoteId).then(|| self.remote_id("old", i, GROUPS[i % 4]));
            let status = if fault == Fault::MissingRemoteId {
                "pending"
            } else {
                "running"
            };
            let started_at = (status == "running").then_some(started);
            let id = self
                .insert(NewRow {
                    name: &format!("nightly-{i}"),
                    group: GROUPS[i % 4],
                    status,
                    created_at: started,
                    remote_id: remote_id.clone(),
                    started_at,
                    completed_at: None,
                    error: None,
                })
                .await?;
            let ends = if remote_running {
                now + Cd::hours(48)
            } else {
                started + Cd::minutes(30)
            };
            if let Some(rid) = &remote_id {
                self.shared.fleet.lock().unwrap().insert(RemoteRun {
                    id: rid.clone(),
                    name: format!("nightly-{i}"),
                    group: GROUPS[i % 4].to_string(),
                    created_at: started,
                    started_at: started,
                    finishes_at: ends,
                    outcome: Status::Succeeded,
                    stopped_at: None,
                    forgotten: false,
                });
            }
            self.record(TruthEntry {
                execution_id: Some(id),
                remote_id,
                fault,
                created_at: started,
                remote_ends_at: remote_id_end(fault, ends),
                fault_at: Some(started),
                remote_id_at: Some(started),
            });
        }
        Ok(())
    }

    /// `n` healthy executions that started over the last 40 minutes and run
    /// for another day, written in one statement (a benchmark wants 100 000
    /// of them in seconds, not one round trip each).
    pub async fn seed_steady(&self, n: usize) -> Result<(), String> {
        const SPREAD: i64 = 2_400;
        let now = Utc::now();
        // The remote id is `{1} || <group letter> || {4} || i` with ARNs
        // (`…:execution:instance-a:steady-7-0`), `{1} || i` without.
        let (before_group, after_group) = match self.arn_ids {
            true => (
                super::sfn::execution_arn("instance-", "")
                    .trim_end_matches(':')
                    .to_string(),
                format!(":steady-{}-", self.seed),
            ),
            false => (format!("steady-{}-", self.seed), String::new()),
        };
        let id_expr = |chr: &str| match self.arn_ids {
            true => format!("{{1}} || {chr}(97 + (i % 4)) || {{4}} || i"),
            false => "{1} || i".to_string(),
        };
        let pg_id = id_expr("chr");
        let sqlite_id = id_expr("char");
        let sql = match self.pool {
            DbPool::Postgres(_) => {
                "INSERT INTO exectop_executions (name, group_name, status, created_at, started_at, updated_at, \
                 heartbeat_at, remote_id) \
                 SELECT 'steady-' || (i % 97), 'instance-' || chr(CAST(97 + (i % 4) AS integer)), 'running', t, t, t, t, ID \
                 FROM (SELECT i, {2} - (i % 2400) * interval '1 second' AS t \
                       FROM generate_series(0, CAST({3} AS bigint) - 1) AS g(i)) AS s"
                    .replace("ID", &pg_id.replace("chr(", "chr(CAST(").replace("(i % 4))", "(i % 4) AS integer))"))
            }
            DbPool::Sqlite(_) => {
                "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < CAST({3} AS INTEGER)), \
                 s(i, t) AS (SELECT i, strftime('%Y-%m-%dT%H:%M:%fZ', {2}, '-' || (i % 2400) || ' seconds') FROM n) \
                 INSERT INTO exectop_executions (name, group_name, status, created_at, started_at, updated_at, \
                 heartbeat_at, remote_id) \
                 SELECT 'steady-' || (i % 97), 'instance-' || char(97 + (i % 4)), 'running', t, t, t, t, ID FROM s"
                    .replace("ID", &sqlite_id)
            }
        };
        execute(
            &self.pool,
            &sql,
            vec![
                Arg::Text(Some(before_group)),
                Arg::Time(Some(now)),
                Arg::Text(Some(n.to_string())),
                Arg::Text(Some(after_group)),
            ],
        )
        .await
        .map_err(|e| e.to_string())?;
        let mut fleet = self.shared.fleet.lock().unwrap();
        for i in 0..n {
            let started = now - Cd::seconds(i as i64 % SPREAD);
            fleet.insert(RemoteRun {
                id: self.remote_id("steady", i, GROUPS[i % 4]),
                name: format!("steady-{}", i % 97),
                group: GROUPS[i % 4].to_string(),
                created_at: started,
                started_at: started,
                finishes_at: now + Cd::days(1),
                outcome: Status::Succeeded,
                stopped_at: None,
                forgotten: false,
            });
        }
        Ok(())
    }

    /// The name of run `n`: one of the recurring jobs, or else one of
    /// `rare` names with `prefix`.
    fn job_name(&self, n: u64, rare: u64, prefix: &str) -> String {
        if self.recurring_jobs {
            format!("job-{}", n % RECURRING)
        } else {
            format!("{prefix}-{}", n % rare)
        }
    }

    /// One execution's life, with the fault chosen for it.
    pub async fn live_one(self: Arc<Self>, n: u64, mut rng: Rng) -> Result<(), String> {
        let fault = if rng.chance(self.fault_rate) {
            rng.pick(&FAULTS)
        } else {
            Fault::Healthy
        };
        let name = self.job_name(n, 97, "job");
        let group = rng.pick(&GROUPS).to_string();
        let scale = self.time_scale;
        let created = Utc::now();
        let duration = scaled(rng.range(20.0, 120.0), scale);
        // Orphans and runs marked while still going tend to run long.
        let duration = if matches!(fault, Fault::MarkedButRunning | Fault::RemoteOnly) {
            duration * 20
        } else {
            duration
        };
        let remote_id = self.remote_id("sim", n, &group);
        let started = created + scaled(rng.range(0.5, 2.0), scale);
        let (outcome, error) = Self::outcome(&mut rng);
        let run = RemoteRun {
            id: remote_id.clone(),
            name: name.clone(),
            group: group.clone(),
            created_at: created,
            started_at: started,
            finishes_at: started + duration,
            outcome,
            stopped_at: None,
            forgotten: false,
        };
        let ends = run.finishes_at;
        if fault == Fault::RemoteOnly {
            self.shared.fleet.lock().unwrap().insert(run);
            self.record(TruthEntry {
                execution_id: None,
                remote_id: Some(remote_id),
                fault,
                created_at: created,
                remote_ends_at: Some(ends),
                fault_at: None,
                remote_id_at: None,
            });
            return Ok(());
        }
        let id = self
            .insert(NewRow {
                name: &name,
                group: &group,
                status: "pending",
                created_at: created,
                remote_id: None,
                started_at: None,
                completed_at: None,
                error: None,
            })
            .await?;
        let fault_at = match fault {
            Fault::WorkerDied | Fault::RemoteForgot => Some(started + duration / 3),
            Fault::MarkedButRunning => Some(started + duration / 40),
            Fault::NeverCaughtUp => Some(ends),
            _ => None,
        };
        self.record(TruthEntry {
            execution_id: Some(id.clone()),
            remote_id: (fault != Fault::MissingRemoteId).then(|| remote_id.clone()),
            fault,
            created_at: created,
            remote_ends_at: (fault != Fault::MissingRemoteId).then_some(ends),
            fault_at,
            remote_id_at: None,
        });
        if fault == Fault::MissingRemoteId {
            return Ok(());
        }
        self.shared.fleet.lock().unwrap().insert(run);
        sleep_until(started).await;
        self.set_running(&id, &remote_id, started).await?;
        self.note_remote_id_written(&id);
        // The worker stops beating (and writing) at this moment.
        let stop_at = fault_at.unwrap_or(ends);
        let beat = Duration::from_secs_f64((10.0 * scale).clamp(0.5, 10.0));
        while Utc::now() + Cd::from_std(beat).unwrap_or_default() < stop_at {
            tokio::time::sleep(beat).await;
            self.heartbeat(&id).await?;
        }
        sleep_until(stop_at).await;
        match fault {
            Fault::Healthy => self.finish(&id, outcome, error).await,
            // Alive until this moment, then silent: the ground truth counts
            // the row's silence from here.
            Fault::WorkerDied | Fault::NeverCaughtUp => self.heartbeat(&id).await,
            Fault::RemoteForgot => {
                self.shared.fleet.lock().unwrap().forget(&remote_id);
                Ok(())
            }
            Fault::MarkedButRunning => {
                self.finish(
                    &id,
                    Status::Failed,
                    Some("marked failed by a clean-up script".into()),
                )
                .await
            }
            _ => Ok(()),
        }
    }
}

fn remote_id_end(fault: Fault, ends: DateTime<Utc>) -> Option<DateTime<Utc>> {
    (fault != Fault::MissingRemoteId).then_some(ends)
}

async fn sleep_until(at: DateTime<Utc>) {
    if let Ok(d) = (at - Utc::now()).to_std() {
        tokio::time::sleep(d).await;
    }
}

/// The number of rows in the native table (for tests and the simulator's log).
pub async fn count_rows(pool: &DbPool) -> Result<i64, String> {
    let n = execute(
        pool,
        "SELECT CAST(COUNT(*) AS TEXT) FROM exectop_executions",
        vec![],
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(n.and_then(|v| v.parse().ok()).unwrap_or(0))
}
