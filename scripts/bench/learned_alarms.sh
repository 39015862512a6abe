#!/usr/bin/env bash
# False alarms and misses with fixed thresholds only, and with learned
# limits, on the same simulated fleet (src/sim/runtimes.rs): jobs of
# seconds to hours, a fortnight of history learned by the store's aggregate
# from a real SQLite table, then three days of runs (5 % hung) judged every
# 5 minutes. Prints the table docs/PERFORMANCE.md records.
#
#   scripts/bench/learned_alarms.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo test --release --test learned_alarms -- --nocapture 2>&1 |
    grep -E '^(seed|job|all|[a-z-]+ +[0-9]+ )|test result'
