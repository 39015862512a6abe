#!/usr/bin/env bash
# Rows exectop already knows, on a long history: a one-row mark-failed as a
# whole process against psql running the same UPDATE (compare-and-set on the
# status) and audit INSERT, side by side in one run; and a 10 000-row
# clean-up. Seeds schema bench_known with 10 000 active and FINISHED
# finished executions over 30 days (seed_pg.sh).
#
#   scripts/bench/known_rows.sh [FINISHED] [RUNS]      # defaults: 10000000 7
#
# Targets: the one-row write within 1.5x of psql; the clean-up under 3 s.
set -euo pipefail
finished=${1:-10000000}
runs=${2:-7}
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=${EXECTOP_BIN:-$here/target/release/exectop}
base=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
url="$base?options=-c%20search_path%3Dbench_known"
work=$(mktemp -d /tmp/exectop-known.XXXXXX)
trap 'rm -rf "$work"' EXIT
: > "$work/exectop.toml"

"$here/scripts/bench/seed_pg.sh" bench_known 10000 "$finished" >/dev/null
echo "seeded: 10000 active, $finished finished over 30 days"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
ids=($(psql "$url" -qAt -c "SELECT id FROM exectop_executions WHERE status = 'running' ORDER BY id LIMIT $((2 * runs))"))
exectop_one() { EXECTOP_DATABASE_URL="$url" EXECTOP_OPERATOR=bench "$bin" mark-failed --id "$1" --reason bench --config "$work/exectop.toml"; }
psql_one() {
  psql "$url" -qAt -v ON_ERROR_STOP=1 -c "BEGIN" \
    -c "UPDATE exectop_executions SET status = 'failed', completed_at = now(), updated_at = now() WHERE id = $1 AND status = 'running' RETURNING id" \
    -c "INSERT INTO exectop_audit (at, operator, host, action, table_name, execution_id, before_status, after_status, reason) VALUES (now(), 'bench', 'bench', 'mark_failed', 'exectop_executions', '$1', 'running', 'failed', 'bench')" \
    -c "COMMIT"
}
e=$(for i in $(seq 0 $((runs - 1))); do ms exectop_one "${ids[$i]}"; done | median)
p=$(for i in $(seq "$runs" $((2 * runs - 1))); do ms psql_one "${ids[$i]}"; done | median)
echo "one-row mark-failed (median of $runs, whole processes): exectop $e ms, psql $p ms"
c=$(ms env EXECTOP_DATABASE_URL="$url" EXECTOP_OPERATOR=bench "$bin" cleanup --max-age 1m --fix --config "$work/exectop.toml")
echo "cleanup --fix of the active rows over a minute old: $c ms ($(psql "$url" -qAt -c "SELECT count(*) FROM exectop_audit WHERE action = 'cleanup'") rows)"
