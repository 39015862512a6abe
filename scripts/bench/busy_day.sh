#!/usr/bin/env bash
# A busy day: 2 000 000 executions finished in the last 24 hours (23 a
# second) and 10 000 active. Measured side by side in one run:
#   - `exectop check --json` against psql running the active-set query and
#     a 24-hour aggregate (the least a script must read), median of RUNS;
#   - the live monitor's peak resident memory after its first minute.
#
#   scripts/bench/busy_day.sh [FINISHED] [RUNS]          # defaults: 2000000 5
#   EXECTOP_BASELINE_BIN=/path/to/older/exectop scripts/bench/busy_day.sh
#
# Seeds schema busy_day with seed_pg.sh ($BENCH_DATABASE_URL, default the
# local cluster). Needs tmux and a release build. Targets: check within 1.5x
# of psql; the monitor under 100 MB after a minute.
set -euo pipefail
finished=${1:-2000000}
runs=${2:-5}
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=${EXECTOP_BIN:-$here/target/release/exectop}
base=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
url="$base?options=-c%20search_path%3Dbusy_day"
work=$(mktemp -d /tmp/exectop-busy.XXXXXX)
session=exectop-busy-$$
cleanup() { tmux kill-session -t "$session" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
: > "$work/exectop.toml"   # the native schema, the URL from the environment

"$here/scripts/bench/seed_pg.sh" busy_day 10000 "$finished" '23 hours' >/dev/null
echo "seeded: 10000 active, $finished finished in the last 23 h"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms_of() { # runs a command RUNS times, prints the median wall time in ms
  for _ in $(seq 1 "$runs"); do
    s=$(date +%s%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s%N)
    echo $(( (e - s) / 1000000 ))
  done | median
}
psql_day() {
  psql "$url" -qAt -c "SELECT * FROM exectop_executions WHERE status IN ('pending','running')" \
    -c "SELECT status, completed_at > now() - interval '1 hour', count(*) FROM exectop_executions
        WHERE status IN ('succeeded','failed','cancelled','timed_out')
          AND completed_at > now() - interval '24 hours' GROUP BY 1, 2"
}
check() { EXECTOP_DATABASE_URL="$url" "$1" check --json --config "$work/exectop.toml"; }
printf 'check --json vs psql (median of %s, ms):\n' "$runs"
echo "  psql (active set + 24 h aggregate): $(ms_of psql_day)"
echo "  exectop check --json:               $(ms_of check "$bin")"
if [ -n "${EXECTOP_BASELINE_BIN:-}" ]; then
  echo "  baseline check --json:              $(ms_of check "$EXECTOP_BASELINE_BIN")"
fi

rss_after_a_minute() { # the TUI on the busy day for 65 s: peak RSS in MB, CPU s
  tmux new-session -d -s "$session" -x 250 -y 70 -e "XDG_STATE_HOME=$work/state" \
    -e "EXECTOP_DATABASE_URL=$url" "exec $1 --config $work/exectop.toml"
  local pid; pid=$(tmux list-panes -t "$session" -F '#{pane_pid}')
  sleep 65
  local hwm; hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  local cpu; cpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$pid/stat")
  tmux kill-session -t "$session"
  echo "peak RSS $((hwm / 1024)) MB, CPU ${cpu} s"
}
echo "live monitor after 65 s:"
echo "  exectop:  $(rss_after_a_minute "$bin")"
if [ -n "${EXECTOP_BASELINE_BIN:-}" ]; then
  echo "  baseline: $(rss_after_a_minute "$EXECTOP_BASELINE_BIN")"
fi
