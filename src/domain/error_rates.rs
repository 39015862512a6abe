//! Error rates over the last hour and day, and the error classifier. An
//! execution counts in a window by when it finished: `completed_at` where
//! mapped, else `updated_at`, else `created_at` (see
//! [`Execution::finished_at`]). `failed` counts `failed` + `timed_out`;
//! the failure rate is failed / (succeeded + failed), `None` when both are 0.

use std::collections::HashMap;

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde::{Deserialize, Serialize};

use super::execution::Execution;
use super::status::Status;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    RemoteApi,
    Timeout,
    Authentication,
    Permission,
    Query,
    Resource,
    Network,
    Unknown,
}

impl ErrorClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::RemoteApi => "remote_api",
            ErrorClass::Timeout => "timeout",
            ErrorClass::Authentication => "authentication",
            ErrorClass::Permission => "permission",
            ErrorClass::Query => "query",
            ErrorClass::Resource => "resource",
            ErrorClass::Network => "network",
            ErrorClass::Unknown => "unknown",
        }
    }
}

/// Ordered rules: the first class with a pattern found in the lower-cased
/// error text wins. Configurable; these defaults follow the seed systems.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorClassifier {
    rules: Vec<(ErrorClass, Vec<String>)>,
}

impl Default for ErrorClassifier {
    fn default() -> Self {
        let rule = |class, words: &[&str]| (class, words.iter().map(|w| w.to_string()).collect());
        ErrorClassifier {
            rules: vec![
                rule(
                    ErrorClass::Timeout,
                    &["timeout", "timed out", "timed_out", "deadline exceeded"],
                ),
                rule(
                    ErrorClass::Authentication,
                    &[
                        "authentication",
                        "unauthorized",
                        "unauthenticated",
                        "token",
                        "credential",
                    ],
                ),
                rule(
                    ErrorClass::Permission,
                    &["permission", "forbidden", "access denied", "not allowed"],
                ),
                rule(ErrorClass::Query, &["syntax", "query", "sql"]),
                rule(
                    ErrorClass::Resource,
                    &[
                        "rate limit",
                        "quota",
                        "memory",
                        "resource",
                        "limit exceeded",
                        "throttl",
                    ],
                ),
                rule(
                    ErrorClass::Network,
                    &[
                        "network",
                        "connection",
                        "unreachable",
                        "dns",
                        "reset by peer",
                    ],
                ),
                rule(
                    ErrorClass::RemoteApi,
                    &[
                        "api error",
                        "api returned",
                        "status code",
                        "internal server error",
                        "bad gateway",
                        "service unavailable",
                        "remote",
                    ],
                ),
            ],
        }
    }
}

impl ErrorClassifier {
    /// Rules replace the defaults entirely; patterns are matched case-insensitively.
    pub fn new(rules: Vec<(ErrorClass, Vec<String>)>) -> Self {
        ErrorClassifier {
            rules: rules
                .into_iter()
                .map(|(c, words)| (c, words.into_iter().map(|w| w.to_lowercase()).collect()))
                .collect(),
        }
    }

    /// The rules in order: each class and its lower-case patterns.
    pub fn rules(&self) -> &[(ErrorClass, Vec<String>)] {
        &self.rules
    }

    pub fn classify(&self, error_text: &str) -> ErrorClass {
        let text = error_text.to_lowercase();
        self.rules
            .iter()
            .find(|(_, words)| words.iter().any(|w| text.contains(w.as_str())))
            .map_or(ErrorClass::Unknown, |(c, _)| *c)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct WindowStats {
    pub finished: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub cancelled: u64,
    /// failed / (succeeded + failed), rounded to 4 places; `None` with nothing to divide.
    pub failure_rate: Option<f64>,
}

impl WindowStats {
    fn add(&mut self, status: Status, count: u64) {
        match status {
            Status::Succeeded => self.succeeded += count,
            s if s.is_failure() => self.failed += count,
            Status::Cancelled => self.cancelled += count,
            _ => return,
        }
        self.finished += count;
    }

    fn close(mut self) -> Self {
        self.failure_rate = failure_rate(self.succeeded, self.failed);
        self
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupStats {
    pub group: String,
    pub finished: u64,
    #[serde(skip)]
    pub succeeded: u64,
    pub failed: u64,
    pub failure_rate: Option<f64>,
}

/// failed / (succeeded + failed), rounded to 4 places.
fn failure_rate(succeeded: u64, failed: u64) -> Option<f64> {
    let denominator = succeeded + failed;
    (denominator > 0).then(|| (failed as f64 / denominator as f64 * 10_000.0).round() / 10_000.0)
}

/// Width of one sparkline bucket, and how many cover the day.
pub const BUCKET_MINUTES: i64 = 30;
pub const BUCKETS: usize = 48;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ErrorRates {
    #[serde(rename = "1h")]
    pub hour: WindowStats,
    #[serde(rename = "24h")]
    pub day: WindowStats,
    /// Failures per 30-minute bucket over the day, oldest first.
    #[serde(skip)]
    pub failures_series: Vec<u64>,
    /// Finished executions per bucket, aligned with `failures_series`.
    #[serde(skip)]
    pub finished_series: Vec<u64>,
    /// Failures in the day by error class, most first.
    #[serde(skip)]
    pub by_class: Vec<(ErrorClass, u64)>,
    /// Groups (or names, where no group is mapped) by failures in the day, most first.
    #[serde(skip)]
    pub by_group: Vec<GroupStats>,
}

/// One finished execution as the error rates see it.
struct Finished<'a> {
    status: Status,
    group: Option<&'a str>,
    error: Option<&'a str>,
    /// 0..BUCKETS: which half hour of the last 24 h it finished in.
    bucket: usize,
    /// Finished within the last hour.
    in_hour: bool,
}

impl<'a> Finished<'a> {
    /// `None` when the execution is not terminal or did not finish within
    /// the day before `now`.
    fn of(e: &'a Execution, now: DateTime<Utc>) -> Option<Finished<'a>> {
        let day_start = now - ChronoDuration::hours(24);
        let at = e.finished_at();
        if !e.status.is_terminal() || at <= day_start || at > now {
            return None;
        }
        let bucket = ((at - day_start).num_minutes() / BUCKET_MINUTES).clamp(0, BUCKETS as i64 - 1);
        Some(Finished {
            status: e.status,
            group: e.group.as_deref().or(e.name.as_deref()),
            error: e.error.as_deref(),
            bucket: bucket as usize,
            in_hour: at > now - ChronoDuration::hours(1),
        })
    }
}

/// Finished executions of the day with one status, on one side of the hour
/// boundary, as a database counts them (`Store::finished_counts`): a one-shot
/// `check` reports the two windows without reading the day's rows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowCount {
    pub status: Status,
    /// Finished within the last hour.
    pub in_hour: bool,
    pub count: u64,
}

/// The 1 h and 24 h windows being counted, from rows or from counts alike.
#[derive(Default)]
struct Windows {
    hour: WindowStats,
    day: WindowStats,
}

impl Windows {
    fn add(&mut self, c: WindowCount) {
        self.day.add(c.status, c.count);
        if c.in_hour {
            self.hour.add(c.status, c.count);
        }
    }
}

/// The two windows from counts; the series and breakdowns, which counts
/// cannot give, stay empty.
pub fn windows(counts: impl IntoIterator<Item = WindowCount>) -> ErrorRates {
    let mut windows = Windows::default();
    counts.into_iter().for_each(|c| windows.add(c));
    ErrorRates {
        hour: windows.hour.close(),
        day: windows.day.close(),
        ..ErrorRates::default()
    }
}

/// Computes both windows, the series and the breakdowns from finished
/// executions. Rows outside the last 24 h, active and unknown rows are ignored.
pub fn compute<'a>(
    executions: impl IntoIterator<Item = &'a Execution>,
    now: DateTime<Utc>,
    classifier: &ErrorClassifier,
) -> ErrorRates {
    let mut windows = Windows::default();
    let mut failures_series = vec![0u64; BUCKETS];
    let mut finished_series = vec![0u64; BUCKETS];
    let mut by_class: HashMap<ErrorClass, u64> = HashMap::new();
    let mut by_group: HashMap<String, WindowStats> = HashMap::new();
    // A day holds thousands of failures and a handful of distinct texts:
    // each text is classified once per run, and each group named once.
    let mut classified: HashMap<&str, ErrorClass> = HashMap::new();

    for f in executions.into_iter().filter_map(|e| Finished::of(e, now)) {
        windows.add(WindowCount {
            status: f.status,
            in_hour: f.in_hour,
            count: 1,
        });
        finished_series[f.bucket] += 1;
        let group = f.group.unwrap_or("(none)");
        match by_group.get_mut(group) {
            Some(stats) => stats,
            None => by_group.entry(group.to_string()).or_default(),
        }
        .add(f.status, 1);
        if f.status.is_failure() {
            failures_series[f.bucket] += 1;
            let class = f.error.map_or(ErrorClass::Unknown, |e| {
                *classified
                    .entry(e)
                    .or_insert_with(|| classifier.classify(e))
            });
            *by_class.entry(class).or_default() += 1;
        }
    }

    let by_group = by_group
        .into_iter()
        .map(|(group, w)| GroupStats {
            group,
            finished: w.finished,
            succeeded: w.succeeded,
            failed: w.failed,
            failure_rate: failure_rate(w.succeeded, w.failed),
        })
        .collect();
    ErrorRates {
        hour: windows.hour.close(),
        day: windows.day.close(),
        failures_series,
        finished_series,
        by_class: by_class.into_iter().collect(),
        by_group,
    }
    .in_order()
}

impl ErrorRates {
    /// Classes and groups most failures first (ties by name): one order for
    /// rates counted from rows, from the database, or brought up to date.
    fn in_order(mut self) -> Self {
        self.by_class
            .sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        self.by_group
            .sort_by(|a, b| b.failed.cmp(&a.failed).then(a.group.cmp(&b.group)));
        self
    }
}

/// Finished rows of one status counted by a database: in one 30-minute
/// bucket of the day, on one side of the hour boundary, with one error class
/// (failures only).
#[derive(Debug, Clone, PartialEq)]
pub struct ClassCount {
    pub status: Status,
    pub bucket: usize,
    pub in_hour: bool,
    pub class: Option<ErrorClass>,
    pub count: u64,
}

/// One group's finished rows in the day, as a database counts them.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupCount {
    pub group: String,
    pub succeeded: u64,
    pub failed: u64,
    pub finished: u64,
}

/// The day's history as aggregates (`Store::finished_breakdown`): what the
/// error-rates pane shows, without one entry per execution.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Breakdown {
    pub counts: Vec<ClassCount>,
    /// The groups that failed most, most first.
    pub groups: Vec<GroupCount>,
}

impl Breakdown {
    pub fn rates(&self) -> ErrorRates {
        let mut windows = Windows::default();
        let mut failures_series = vec![0u64; BUCKETS];
        let mut finished_series = vec![0u64; BUCKETS];
        let mut by_class: HashMap<ErrorClass, u64> = HashMap::new();
        for c in &self.counts {
            windows.add(WindowCount {
                status: c.status,
                in_hour: c.in_hour,
                count: c.count,
            });
            let bucket = c.bucket.min(BUCKETS - 1);
            if c.status.is_terminal() {
                finished_series[bucket] += c.count;
            }
            if c.status.is_failure() {
                failures_series[bucket] += c.count;
                *by_class
                    .entry(c.class.unwrap_or(ErrorClass::Unknown))
                    .or_default() += c.count;
            }
        }
        let by_group = self
            .groups
            .iter()
            .map(|g| GroupStats {
                group: g.group.clone(),
                finished: g.finished,
                succeeded: g.succeeded,
                failed: g.failed,
                failure_rate: failure_rate(g.succeeded, g.failed),
            })
            .collect();
        ErrorRates {
            hour: windows.hour.close(),
            day: windows.day.close(),
            failures_series,
            finished_series,
            by_class: by_class.into_iter().collect(),
            by_group,
        }
        .in_order()
    }
}

/// `base` (counted as of a moment less than a minute ago) with the rows that
/// finished since added: all of them in the last hour and the last bucket.
/// Rows that left the windows since are dropped when `base` is counted anew.
pub fn with_recent<'a>(
    base: &ErrorRates,
    recent: impl IntoIterator<Item = &'a Execution>,
    classifier: &ErrorClassifier,
) -> ErrorRates {
    let mut rates = base.clone();
    if rates.failures_series.len() != BUCKETS {
        rates.failures_series = vec![0; BUCKETS];
        rates.finished_series = vec![0; BUCKETS];
    }
    let mut added = false;
    for e in recent.into_iter().filter(|e| e.status.is_terminal()) {
        added = true;
        rates.day.add(e.status, 1);
        rates.hour.add(e.status, 1);
        rates.finished_series[BUCKETS - 1] += 1;
        let group = e.group.as_deref().or(e.name.as_deref()).unwrap_or("(none)");
        let stats = match rates.by_group.iter_mut().find(|g| g.group == group) {
            Some(g) => g,
            None => {
                rates.by_group.push(GroupStats {
                    group: group.to_string(),
                    finished: 0,
                    succeeded: 0,
                    failed: 0,
                    failure_rate: None,
                });
                rates.by_group.last_mut().expect("just pushed")
            }
        };
        stats.finished += 1;
        if e.status == Status::Succeeded {
            stats.succeeded += 1;
        }
        if e.status.is_failure() {
            stats.failed += 1;
            rates.failures_series[BUCKETS - 1] += 1;
            let class = e
                .error
                .as_deref()
                .map_or(ErrorClass::Unknown, |t| classifier.classify(t));
            match rates.by_class.iter_mut().find(|(c, _)| *c == class) {
                Some((_, n)) => *n += 1,
                None => rates.by_class.push((class, 1)),
            }
        }
        stats.failure_rate = failure_rate(stats.succeeded, stats.failed);
    }
    if !added {
        return rates;
    }
    rates.hour = rates.hour.close();
    rates.day = rates.day.close();
    rates.in_order()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 14, 0, 0).unwrap()
    }

    fn done(id: &str, status: Status, minutes_ago: i64, error: Option<&str>) -> Execution {
        let at = now() - ChronoDuration::minutes(minutes_ago);
        Execution {
            id: id.into(),
            remote_id: None,
            name: Some("job".into()),
            group: Some(if id.starts_with('a') { "alpha" } else { "beta" }.into()),
            status,
            raw_status: status.as_str().into(),
            created_at: at - ChronoDuration::minutes(5),
            started_at: None,
            updated_at: None,
            completed_at: Some(at),
            heartbeat_at: None,
            error: error.map(str::to_string),
            error_count: None,
        }
    }

    #[test]
    fn windows_count_by_completion_time() {
        let rows = vec![
            done("a1", Status::Succeeded, 10, None),
            done(
                "a2",
                Status::Failed,
                20,
                Some("Query syntax error near SELECT"),
            ),
            done("a3", Status::TimedOut, 90, Some("States.Timeout")),
            done("b1", Status::Cancelled, 30, None),
            done("b2", Status::Succeeded, 23 * 60, None),
            done("b3", Status::Failed, 25 * 60, Some("too old")),
            done("b4", Status::Running, 5, None),
            done("b5", Status::Unknown, 5, None),
        ];
        let r = compute(&rows, now(), &ErrorClassifier::default());
        assert_eq!(
            (
                r.hour.finished,
                r.hour.succeeded,
                r.hour.failed,
                r.hour.cancelled
            ),
            (3, 1, 1, 1)
        );
        assert_eq!(r.hour.failure_rate, Some(0.5));
        assert_eq!(
            (
                r.day.finished,
                r.day.succeeded,
                r.day.failed,
                r.day.cancelled
            ),
            (5, 2, 2, 1)
        );
        assert_eq!(r.day.failure_rate, Some(0.5));
        assert_eq!(r.failures_series.iter().sum::<u64>(), 2);
        assert_eq!(r.finished_series.iter().sum::<u64>(), 5);
        assert_eq!(r.by_group[0].group, "alpha");
        assert_eq!(r.by_group[0].failed, 2);
        let classes: Vec<ErrorClass> = r.by_class.iter().map(|c| c.0).collect();
        assert!(classes.contains(&ErrorClass::Query) && classes.contains(&ErrorClass::Timeout));
    }

    #[test]
    fn the_window_edges_are_exclusive_at_the_start() {
        let rows = vec![
            done("a1", Status::Failed, 60, None),
            done("a2", Status::Failed, 24 * 60, None),
        ];
        let r = compute(&rows, now(), &ErrorClassifier::default());
        assert_eq!(r.hour.failed, 0, "exactly 1 h ago is outside the hour");
        assert_eq!(r.day.failed, 1, "exactly 24 h ago is outside the day");
    }

    #[test]
    fn no_finished_rows_means_no_rate() {
        let r = compute(&[], now(), &ErrorClassifier::default());
        assert_eq!(r.day.failure_rate, None);
        assert_eq!(r.failures_series.len(), BUCKETS);
    }

    #[test]
    fn classifier_follows_rule_order() {
        let c = ErrorClassifier::default();
        let cases = [
            ("Lambda.Timeout after 900s", ErrorClass::Timeout),
            ("Invalid or expired token", ErrorClass::Authentication),
            ("403 Forbidden", ErrorClass::Permission),
            (
                "Command '/usr/bin/rm' is not allowed",
                ErrorClass::Permission,
            ),
            ("SQL syntax error at line 3", ErrorClass::Query),
            (
                "Memory limit exceeded: 2048MB requested",
                ErrorClass::Resource,
            ),
            ("Rate limit reached", ErrorClass::Resource),
            ("connection refused", ErrorClass::Network),
            ("AMC API returned 502 Bad Gateway", ErrorClass::RemoteApi),
            (
                r#"{"error":"States.TaskFailed","cause":"boom"}"#,
                ErrorClass::Unknown,
            ),
            ("", ErrorClass::Unknown),
        ];
        for (text, class) in cases {
            assert_eq!(c.classify(text), class, "{text}");
        }
        let custom = ErrorClassifier::new(vec![(ErrorClass::Query, vec!["TaskFailed".into()])]);
        assert_eq!(custom.classify("States.TaskFailed"), ErrorClass::Query);
        assert_eq!(custom.classify("timeout"), ErrorClass::Unknown);
    }
}
