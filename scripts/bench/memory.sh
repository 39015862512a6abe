#!/usr/bin/env bash
# Peak memory (and CPU) of the live monitor with many active executions.
#
#   scripts/bench/memory.sh [ACTIVE] [SECONDS]      # defaults: 100000 120
#   MEMORY_DB_URL=postgres://…?options=-c%20search_path%3Dschema scripts/bench/memory.sh
#   MEMORY_REMOTE=none scripts/bench/memory.sh       # the database alone, no remote tracker
#
# Starts `exectop simulate` on a fresh SQLite file (or on MEMORY_DB_URL, whose
# native table must be empty or absent) with ACTIVE healthy running
# executions (and its remote API on loopback, answering at once), opens the
# TUI on them in a 250x70 tmux session, lets it poll for SECONDS while paging,
# sorting and filtering through the Running pane, then prints the peak RSS
# (VmHWM) and the CPU seconds the TUI used. Needs tmux and a release build
# (`cargo build --release`). Target: under 100 MB at 100 000.
set -euo pipefail
active=${1:-100000}
seconds=${2:-120}
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=${EXECTOP_BIN:-$here/target/release/exectop}
work=$(mktemp -d /tmp/exectop-memory.XXXXXX)
session=exectop-memory-$$
sim_pid=
cleanup() {
  tmux kill-session -t "$session" 2>/dev/null || true
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

db_url=${MEMORY_DB_URL:-sqlite://$work/fleet.db}
"$bin" simulate --db "$db_url" --listen 127.0.0.1:0 --rate 0 --no-history \
  --steady "$active" --api-slow-rate 0 --api-throttle-rate 0 --api-error-rate 0 \
  --api-malformed-rate 0 > "$work/sim.out" 2> "$work/sim.err" &
sim_pid=$!
for _ in $(seq 1 120); do grep -q '^\[database\]' "$work/sim.out" 2>/dev/null && break; sleep 0.5; done
# The simulator's configuration; its steady runs send no heartbeats.
# MEMORY_REMOTE=none: the database alone, without the remote tracker.
if [ "${MEMORY_REMOTE:-http}" = none ]; then
  sed -n '/^\[database\]/,/^$/p' "$work/sim.out" > "$work/exectop.toml"
else
  sed -n '/^\[database\]/,$p' "$work/sim.out" > "$work/exectop.toml"
fi
printf '\n[thresholds]\nheartbeat_stale = "1d"\n' >> "$work/exectop.toml"

tmux new-session -d -s "$session" -x 250 -y 70 -e "XDG_STATE_HOME=$work/state" ${MALLOC_ARENA_MAX:+-e MALLOC_ARENA_MAX=$MALLOC_ARENA_MAX} \
  "exec $bin --config $work/exectop.toml"
tmux set-option -s escape-time 0
pid=$(tmux list-panes -t "$session" -F '#{pane_pid}')
sleep 1
[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$(basename "$bin" | cut -c1-15)" ] || { echo "the TUI did not start" >&2; exit 1; }
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
start=$(ticks)
keys=(PageDown PageDown End Home s s S / j o b Escape Tab Tab)
for ((t = 0; t < seconds; t += 5)); do
  sleep 5
  tmux send-keys -t "$session" "${keys[$(( (t / 5) % ${#keys[@]} ))]}"
done
end=$(ticks)
shown=$(tmux capture-pane -p -t "$session" | sed -n 2p | grep -o '[0-9]* active' || true)
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
cpu=$(echo "scale=2; ($end - $start) / $hz" | bc)
echo "active executions: $active (TUI shows: ${shown:-?})"
echo "peak RSS (VmHWM): $((hwm / 1024)) MB   RSS at the end: $((rss / 1024)) MB"
echo "CPU over ${seconds} s: ${cpu} s ($(echo "scale=1; 100 * $cpu / $seconds" | bc)% of one core)"
