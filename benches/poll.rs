//! What one database poll cycle costs, against history size (docs/PERFORMANCE.md).
//!
//! ```sh
//! scripts/bench/seed_pg.sh bench_10k 10000 10000
//! scripts/bench/seed_pg.sh bench_1m 10000 1000000
//! BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo bench --bench poll
//! ```
//!
//! Or any databases with the native table, by name:
//! `BENCH_URLS=fleet=sqlite:///tmp/fleet.db,big=postgres://… cargo bench --bench poll`
//!
//! Each iteration is `Poller::database_cycle`, exactly as the live monitor
//! runs it every interval, folded into the monitor state, findings and error
//! rates computed, a snapshot made:
//! - `db_poll_cycle/<schema>`: the steady state on a quiet table, where a
//!   poll reads the rows written since the last one and the active count;
//! - `db_poll_whole/<schema>`: a poll that reads the whole active set (the
//!   first one, one a minute, and every `R`).
//!
//! The target: the 1 M-row figure within 1.5× of the 10 k-row one (the poll
//! does not scan history).

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use exectop::config::{Config, TableConfig};
use exectop::monitor::{DatabaseCycle, MonitorState, Poller};
use exectop::store::Store;

fn schema_url(base: &str, schema: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}

fn poll(c: &mut Criterion) {
    // BENCH_URLS: whole URLs (PostgreSQL or SQLite) to measure, by name=url;
    // else the seeded schemas on BENCH_DATABASE_URL.
    let targets: Vec<(String, String)> = match std::env::var("BENCH_URLS") {
        Ok(list) => list
            .split(',')
            .filter_map(|t| t.split_once('='))
            .map(|(n, u)| (n.to_string(), u.to_string()))
            .collect(),
        Err(_) => {
            let Ok(base) = std::env::var("BENCH_DATABASE_URL") else {
                eprintln!(
                    "poll bench skipped: set BENCH_DATABASE_URL and seed the schemas, or BENCH_URLS (see benches/poll.rs)"
                );
                return;
            };
            std::env::var("BENCH_SCHEMAS")
                .unwrap_or_else(|_| "bench_10k,bench_1m".into())
                .split(',')
                .map(|s| (s.to_string(), schema_url(&base, s)))
                .collect()
        }
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut group = c.benchmark_group("poll");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(15));
    for (schema, url) in &targets {
        let schema = schema.as_str();
        let config = Config::default();
        let (poller, mut cycle, mut state) = runtime.block_on(async {
            let store = Store::connect(url, &TableConfig::default())
                .await
                .unwrap_or_else(|e| {
                    panic!("{schema}: {e} (seed it with scripts/bench/seed_pg.sh)")
                });
            store.validate_schema().await.unwrap();
            let poller = Poller::new(store, None, &config);
            let mut cycle = DatabaseCycle::default();
            let mut state = MonitorState::default();
            // The first cycle reads the 24 h window; later ones follow changes.
            poller.database_cycle(&mut cycle, &mut state).await.unwrap();
            (poller, cycle, state)
        });
        group.bench_function(BenchmarkId::new("db_poll_cycle", schema), |b| {
            b.iter(|| {
                runtime
                    .block_on(poller.database_cycle(&mut cycle, &mut state))
                    .unwrap()
            })
        });
        group.bench_function(BenchmarkId::new("db_poll_whole", schema), |b| {
            b.iter(|| {
                cycle.read_whole_next();
                runtime
                    .block_on(poller.database_cycle(&mut cycle, &mut state))
                    .unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, poll);
criterion_main!(benches);
