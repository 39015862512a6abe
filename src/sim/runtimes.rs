//! Jobs with different usual runtimes, from seconds to hours, and which of
//! their runs really hang: the ground truth that measures how well a
//! threshold tells a hung run from a slow one.
//!
//! A fleet of job kinds runs on a schedule. Its history (the runs that
//! finished in the weeks before the day measured) is what exectop learns
//! from; on the day itself each run either finishes after a duration drawn
//! for its job (healthy, however slow) or hangs and never finishes. A
//! healthy run reported stuck or overdue is a false alarm; a hung run not
//! reported before `max_runtime` would end it anyway is a miss. Pure and
//! deterministic for a seed: the measuring test writes the history into a
//! real table and runs the real store and findings over it.

use chrono::{DateTime, Duration as Cd, Utc};

use super::rng::Rng;

/// One kind of job: how long it usually takes and how often it starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JobKind {
    pub name: &'static str,
    /// The median runtime, seconds.
    pub typical: f64,
    /// The spread: a run takes `typical × e^(spread × z)`, z standard normal.
    pub spread: f64,
    /// Seconds between starts.
    pub every: i64,
    /// How many days of history it has (a new job has little).
    pub history_days: i64,
}

/// Seconds to hours; a job new this week; a slow nightly export; a job so
/// short the fixed threshold can never see it hang.
pub const CATALOGUE: [JobKind; 9] = [
    JobKind {
        name: "ping",
        typical: 4.0,
        spread: 0.3,
        every: 60,
        history_days: 14,
    },
    JobKind {
        name: "sync-users",
        typical: 30.0,
        spread: 0.25,
        every: 300,
        history_days: 14,
    },
    JobKind {
        name: "thumbnails",
        typical: 90.0,
        spread: 0.4,
        every: 120,
        history_days: 14,
    },
    JobKind {
        name: "report-hourly",
        typical: 480.0,
        spread: 0.2,
        every: 3_600,
        history_days: 14,
    },
    JobKind {
        name: "etl-orders",
        typical: 1_500.0,
        spread: 0.3,
        every: 3_600,
        history_days: 14,
    },
    JobKind {
        name: "backup-db",
        typical: 3_000.0,
        spread: 0.15,
        every: 21_600,
        history_days: 14,
    },
    JobKind {
        name: "nightly-export",
        typical: 10_800.0,
        spread: 0.12,
        every: 86_400 / 4,
        history_days: 14,
    },
    JobKind {
        name: "ml-train",
        typical: 18_000.0,
        spread: 0.1,
        every: 86_400 / 3,
        history_days: 14,
    },
    JobKind {
        name: "reindex-new",
        typical: 9_000.0,
        spread: 0.1,
        every: 86_400 / 2,
        history_days: 3,
    },
];

/// One run: when it started, and when it finished (`None`: it hangs).
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub id: u64,
    pub job: &'static str,
    pub started: DateTime<Utc>,
    pub finished: Option<DateTime<Utc>>,
}

impl Run {
    /// The ground truth: this run hangs and never finishes by itself.
    pub fn hung(&self) -> bool {
        self.finished.is_none()
    }

    /// Running at `t`.
    pub fn running_at(&self, t: DateTime<Utc>) -> bool {
        self.started <= t && self.finished.is_none_or(|f| t < f)
    }
}

/// The history before `day_start` and the measured days' runs after it.
#[derive(Debug, Clone)]
pub struct Workload {
    pub history: Vec<Run>,
    pub day: Vec<Run>,
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut Rng) -> f64 {
    let u = rng.unit().max(1e-12);
    let v = rng.unit();
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

fn duration(rng: &mut Rng, job: &JobKind) -> Cd {
    let mut seconds = job.typical * (job.spread * normal(rng)).exp();
    // One run in a hundred is slow for a reason (a big input, a retry):
    // healthy, just long. These are what a tight limit cries wolf on.
    if rng.chance(0.01) {
        seconds *= rng.range(1.5, 2.5);
    }
    Cd::milliseconds((seconds * 1000.0) as i64)
}

/// The workload of `jobs` for a seed: their history up to `day_start`
/// (runs that finished before it), and `days` of runs starting after it, a
/// `hang_rate` share of which hang.
pub fn workload(
    seed: u64,
    jobs: &[JobKind],
    day_start: DateTime<Utc>,
    days: i64,
    hang_rate: f64,
) -> Workload {
    let mut rng = Rng::new(seed);
    let mut history = Vec::new();
    let mut day = Vec::new();
    let mut id = 0;
    for job in jobs {
        let mut r = rng.fork(job.every as u64);
        let first = day_start - Cd::days(job.history_days);
        let jitter = (job.every / 10).max(1) as f64;
        let mut start = first + Cd::seconds(r.range(0.0, job.every as f64) as i64);
        while start < day_start + Cd::days(days) {
            id += 1;
            let at = start + Cd::milliseconds((r.range(0.0, jitter) * 1000.0) as i64);
            let took = duration(&mut r, job);
            if at < day_start {
                // History holds what had finished before the day began.
                if at + took < day_start {
                    history.push(Run {
                        id,
                        job: job.name,
                        started: at,
                        finished: Some(at + took),
                    });
                }
            } else {
                let hangs = r.chance(hang_rate);
                day.push(Run {
                    id,
                    job: job.name,
                    started: at,
                    finished: (!hangs).then_some(at + took),
                });
            }
            start += Cd::seconds(job.every);
        }
    }
    Workload { history, day }
}

/// How one way of judging did over a day.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Score {
    /// Healthy runs reported stuck or overdue at some moment.
    pub false_alarms: usize,
    /// Hung runs never reported.
    pub misses: usize,
    /// Hung runs reported.
    pub caught: usize,
    /// Healthy runs judged.
    pub healthy: usize,
    /// Seconds from a caught run's start to its first report, summed.
    pub detection_seconds: i64,
}

impl Score {
    /// The mean time from a hung run's start to its report, seconds.
    pub fn mean_detection(&self) -> Option<i64> {
        (self.caught > 0).then(|| self.detection_seconds / self.caught as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_workload_is_deterministic_and_holds_what_it_says() {
        let day = Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap();
        let a = workload(7, &CATALOGUE, day, 1, 0.03);
        let b = workload(7, &CATALOGUE, day, 1, 0.03);
        assert_eq!(a.day, b.day);
        assert!(
            a.history
                .iter()
                .all(|r| r.finished.is_some_and(|f| f < day))
        );
        assert!(a.day.iter().all(|r| r.started >= day));
        let hung = a.day.iter().filter(|r| r.hung()).count();
        assert!(
            hung > 10 && hung < a.day.len() / 10,
            "{hung} of {}",
            a.day.len()
        );
        // Every kind runs on the day; the new job has only days of history.
        for job in CATALOGUE {
            assert!(a.day.iter().any(|r| r.job == job.name), "{}", job.name);
        }
        let new = a.history.iter().filter(|r| r.job == "reindex-new").count();
        assert!(new < 20, "{new}");
        // Runtimes span seconds to hours.
        let took = |r: &Run| (r.finished.unwrap() - r.started).num_seconds();
        let ping = a
            .history
            .iter()
            .filter(|r| r.job == "ping")
            .map(took)
            .max()
            .unwrap();
        let ml = a
            .history
            .iter()
            .filter(|r| r.job == "ml-train")
            .map(took)
            .min()
            .unwrap();
        assert!(ping < 60 && ml > 3 * 3600, "{ping} {ml}");
    }
}
