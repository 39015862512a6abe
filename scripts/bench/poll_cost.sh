#!/usr/bin/env bash
# Poll cost against history size, and exectop against the bare queries
# (docs/PERFORMANCE.md, measurements 1 and 2).
#
#   scripts/bench/poll_cost.sh [--seed]
#
# With --seed it first seeds two PostgreSQL schemas with the same 10 000
# active executions and 10 000 or 1 000 000 finished ones
# (scripts/bench/seed_pg.sh). Then, for each schema:
#   - one database poll cycle, as the live monitor runs it (criterion,
#     benches/poll.rs);
#   - `exectop check --json` and `psql` running the equivalent SQL (the active
#     set, the stuck counts, the 24 h failure rate), whole process against
#     whole process (hyperfine), with sslmode=prefer and disable: median and
#     fastest run of each, and exectop's ratio to psql.
# Environment: RUNS (default 40), SSLMODES (default "prefer disable"),
# EXECTOP_BASELINE_BIN (an older build to run alongside), EXECTOP_BIN.
# Connects with $BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test).
# Needs hyperfine and psql (installed with apt-get when missing) and a release build.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
base=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
bin=${EXECTOP_BIN:-$here/target/release/exectop}
export BENCH_DATABASE_URL=$base
for tool in hyperfine psql; do
  command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine postgresql-client >/dev/null; }
done
if [ "${1:-}" = --seed ]; then
  "$here/scripts/bench/seed_pg.sh" bench_10k 10000 10000
  "$here/scripts/bench/seed_pg.sh" bench_1m 10000 1000000
fi

echo "== one database poll cycle (criterion)"
(cd "$here" && cargo bench --bench poll 2>/dev/null | grep -E '^poll/|time:')

sql="SELECT id, remote_id, name, group_name, status, created_at, started_at, updated_at,
       completed_at, heartbeat_at, error, error_count
  FROM exectop_executions WHERE status IN ('pending', 'running');
SELECT count(*) FILTER (WHERE status = 'pending' AND created_at < now() - interval '1 hour') AS pending_stuck,
       count(*) FILTER (WHERE status = 'running'
                          AND coalesce(started_at, created_at) < now() - interval '2 hours') AS running_stuck,
       count(*) FILTER (WHERE created_at < now() - interval '24 hours') AS past_max_runtime
  FROM exectop_executions WHERE status IN ('pending', 'running');
SELECT count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
       count(*) FILTER (WHERE status IN ('failed', 'timed_out')) AS failed,
       round(count(*) FILTER (WHERE status IN ('failed', 'timed_out'))::numeric
             / nullif(count(*) FILTER (WHERE status IN ('succeeded', 'failed', 'timed_out')), 0), 4) AS failure_rate
  FROM exectop_executions
 WHERE status IN ('succeeded', 'failed', 'timed_out', 'cancelled')
   AND completed_at >= now() - interval '24 hours';"
printf '%s\n' "$sql" > /tmp/exectop-bench-equivalent.sql

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Both TLS settings: Debian's PostgreSQL has TLS on, and libpq's and sqlx's
# default (sslmode=prefer) uses it. EXECTOP_BASELINE_BIN adds an older build
# to the same runs, for a before and after.
for sslmode in ${SSLMODES:-prefer disable}; do
  for schema in bench_10k bench_1m; do
    url="${base}?sslmode=${sslmode}&options=-c%20search_path%3D${schema}"
    cmds=(-n "exectop" "$bin check --json")
    [ -n "${EXECTOP_BASELINE_BIN:-}" ] && cmds+=(-n "baseline" "$EXECTOP_BASELINE_BIN check --json")
    cmds+=(-n "psql" "psql -X -q -A $url -f /tmp/exectop-bench-equivalent.sql")
    # exectop exits 1 when there are findings: -i keeps hyperfine going.
    (cd "$work" && EXECTOP_DATABASE_URL="$url" hyperfine -N -i --warmup 3 --runs "${RUNS:-40}" \
        --export-json "$work/run.json" "${cmds[@]}" >/dev/null 2>"$work/stderr") \
      || { cat "$work/stderr" >&2; exit 1; }
    python3 - "$work/run.json" "$schema" "$sslmode" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
psql = results["psql"]
for name, r in results.items():
    ratio = "" if name == "psql" else \
        f"  x{r['median'] / psql['median']:.2f} of psql (min x{r['min'] / psql['min']:.2f})"
    print(f"{sys.argv[2]:10} sslmode={sys.argv[3]:8} {name:9} median {r['median'] * 1000:6.1f} ms"
          f"  min {r['min'] * 1000:6.1f} ms  user {r['user'] * 1000:5.1f} ms{ratio}")
PY
  done
done
