#!/usr/bin/env bash
# The wall screen's memory over a simulated day, compressed.
#
#   scripts/bench/wall_memory.sh [MINUTES] [RATE]      # defaults: 30 24
#
# The demo's fleet starts 0.5 executions a second, 43 200 a day. Here the
# simulator starts RATE a second (24: 48 times the demo's) with runs a tenth
# as long, so MINUTES of real time hold the churn of
# MINUTES * RATE / 0.5 / 1440 simulated days of executions, with their
# faults, findings appearing and clearing, remote answers, error rates and
# failing groups, on a fresh SQLite file that also holds the simulator's
# seeded day. Broken rows would pile up for ever at that pace, and a wall
# holding more findings is bigger without leaking; so, as the operators and
# the agent's scheduled clean-up do, every minute the script marks failed the
# rows still active 5 minutes after they were created. The live data then
# stays level after the first minutes, and growth beyond it is the wall's.
# `exectop --wall` watches it in a 250x70 tmux session (the largest
# figures), polling the database every second and each run's remote status
# every 15 s.
# Every minute the script reads the wall's resident
# memory (VmRSS) and, as the positive control, the simulator's: the simulator
# keeps every run it started for its remote API, so its memory must grow
# with the churn; a sampler that saw no growth there measured nothing.
# Prints one line per minute and a verdict on the wall's growth: the peak of
# the last third against the peak of the middle third (the first third is
# warm-up: caches, the day's aggregate, the allocator's arenas).
# Needs tmux and a release build (`cargo build --release`).
set -euo pipefail
minutes=${1:-30}
rate=${2:-24}
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=${EXECTOP_BIN:-$here/target/release/exectop}
work=$(mktemp -d /tmp/exectop-wall-memory.XXXXXX)
session=exectop-wall-memory-$$
sim_pid=
cleanup() {
  tmux kill-session -t "$session" 2>/dev/null || true
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null || true
  rm -rf "$work"
  [ -n "$schema" ] && psql "$base" -qc "DROP SCHEMA $schema CASCADE" 2>/dev/null || true
}
trap cleanup EXIT

# WALL_API_FAULTS=off: an API that always answers well. Its 503s, garbage
# and 429s are each a warning in the log, whose buffer (10 000 events, a few
# MB) fills over the first hour at this pace: growth, but bounded.
api_faults=()
[ "${WALL_API_FAULTS:-on}" = off ] && api_faults=(--api-slow-rate 0 --api-throttle-rate 0 \
  --api-error-rate 0 --api-malformed-rate 0)
# WALL_DATABASE=postgres: the fleet in a fresh schema of the PostgreSQL at
# $BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), as a
# team's wall watches it. On SQLite the database's page cache (2 MB for each
# of the pool's connections) lives in the wall's own process and fills as
# the file grows.
schema=
if [ "${WALL_DATABASE:-sqlite}" = postgres ]; then
  base=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
  schema=wall_memory_$$
  psql "$base" -qc "CREATE SCHEMA $schema"
  db_url="$base?options=-c%20search_path%3D$schema"
  sql() { PGOPTIONS="-c search_path=$schema" psql "$base" -qAtc "$1"; }
  ago_5m="now() - interval '5 minutes'" now_sql="now()"
  ago_10m="now() - interval '10 minutes'"
else
  db_url="sqlite://$work/fleet.db"
  sql() { sqlite3 "$work/fleet.db" ".timeout 5000" "$1"; }
  ago_5m="strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-5 minutes')"
  ago_10m="strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-10 minutes')"
  now_sql="strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
fi
"$bin" simulate --db "$db_url" --listen 127.0.0.1:0 --rate "$rate" --time-scale 0.1 \
  "${api_faults[@]}" > "$work/sim.out" 2> "$work/sim.err" &
sim_pid=$!
for _ in $(seq 1 240); do grep -q '^\[database\]' "$work/sim.out" 2>/dev/null && break; sleep 0.5; done
grep -q '^\[database\]' "$work/sim.out" || { echo "the simulator did not start:" >&2; cat "$work/sim.err" >&2; exit 1; }
sed -n '/^\[database\]/,$p' "$work/sim.out" > "$work/exectop.toml"
# Enough remote budget for the churn (about 1 300 active rows, each looked
# up every 15 s, and every run that finishes checked twice): a wall whose
# look-ups cannot keep up holds a growing queue, which is another test's.
printf '\n[poll]\ndatabase_interval = "1s"\nremote_interval = "15s"\nremote_rate = %s\nremote_concurrency = 20\n' "${WALL_REMOTE_RATE:-300}" >> "$work/exectop.toml"

tmux new-session -d -s "$session" -x 250 -y 70 -e "XDG_STATE_HOME=$work/state" \
  "exec $bin --wall --config $work/exectop.toml"
pid=$(tmux list-panes -t "$session" -F '#{pane_pid}')
sleep 2
[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$(basename "$bin" | cut -c1-15)" ] || {
  echo "the wall did not start:" >&2; tmux capture-pane -p -t "$session" >&2; exit 1; }

kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
rows() { sql "SELECT count(*) FROM exectop_executions WHERE status IN ('running', 'pending')" 2>/dev/null || echo '?'; }
# Marked as the agent's clean-up would: failed, with a reason, its time.
sweep() { sql "UPDATE exectop_executions
  SET status = 'failed', error = 'cleaned up: still active 5 minutes after it was created',
      completed_at = $now_sql, updated_at = $now_sql
  WHERE status IN ('running', 'pending') AND created_at < $ago_5m" >/dev/null
  # WALL_TABLE=level: rows created over 10 minutes ago are deleted, so the
  # table (and SQLite's page cache of it, in the wall's process) stays level.
  if [ "${WALL_TABLE:-grows}" = level ]; then
    sql "DELETE FROM exectop_executions WHERE created_at < $ago_10m" >/dev/null
  fi; }
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
start_ticks=$(ticks)
declare -a wall sim
logged() { cat "$work"/state/exectop/*.log 2>/dev/null | wc -l; }
echo "minute  wall RSS kB  simulator RSS kB  active rows  lines logged"
for ((m = 1; m <= minutes; m++)); do
  sleep 60
  sweep
  [ -e "/proc/$pid" ] || { echo "the wall exited" >&2; exit 1; }
  wall[m]=$(kb "$pid" VmRSS)
  sim[m]=$(kb "$sim_pid" VmRSS)
  printf '%6d  %11s  %16s  %11s  %s\n' "$m" "${wall[m]}" "${sim[m]}" "$(rows)" "$(logged)"
done
cpu=$(echo "scale=1; ($(ticks) - start_ticks) / $hz" | bc)
tmux capture-pane -p -t "$session" | sed -n 1,6p | cut -c1-200 > "$work/screen"

peak() { local from=$1 to=$2 arr=$3 max=0 v; for ((i = from; i <= to; i++)); do
  eval "v=\${$arr[i]}"; ((v > max)) && max=$v; done; echo "$max"; }
third=$((minutes / 3))
wall_mid=$(peak $((third + 1)) $((2 * third)) wall)
wall_end=$(peak $((2 * third + 1)) "$minutes" wall)
sim_first=${sim[1]}
sim_last=${sim[minutes]}
echo
echo "simulated: $(echo "scale=2; $minutes * $rate / 0.5 / 1440" | bc) days of the demo's churn in $minutes min"
echo "the wall's CPU: $cpu s; its peak RSS (VmHWM): $(kb "$pid" VmHWM) kB"
echo "positive control, the simulator: $sim_first → $sim_last kB ($(( (sim_last - sim_first) / 1024 )) MB)"
echo "the wall: peak of minutes $((third + 1))–$((2 * third)) $wall_mid kB, of minutes $((2 * third + 1))–$minutes $wall_end kB"
echo "the screen's top lines at the end:"; cat "$work/screen"
if ((sim_last - sim_first < 4096)); then
  echo "VERDICT: no verdict: the control did not grow, the sampler saw nothing"; exit 3
elif ((wall_end > wall_mid + wall_mid / 20)); then
  echo "VERDICT: the wall grew more than 5 % from the middle third to the last"; exit 1
else
  echo "VERDICT: no growth (within 5 %) while the control grew"
fi
