#!/usr/bin/env bash
# Team mode: remote requests with one instance against eight on the same
# table, and how long a takeover takes after the poller is killed. Measured
# side by side in one run against the simulator's remote API (a steady fleet,
# so both minutes ask about the same runs):
#   1. one monitor for WINDOW seconds: requests the remote received;
#   2. eight instances (the agent, where `exectop agent` exists, plus seven
#      monitors in tmux) for WINDOW seconds: requests the remote received;
#   3. kill -9 the poller; seconds until another instance's header says
#      `remote direct`.
#
#   scripts/bench/shared_poller.sh [WINDOW] [STEADY]      # defaults: 60 300
#
# Uses schema shared_bench on $BENCH_DATABASE_URL (default the local
# cluster). Needs tmux, curl and a release build. Target: eight instances
# within 1.1x the requests of one; takeover within two remote intervals (30 s).
set -euo pipefail
window=${1:-60}
steady=${2:-300}
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=${EXECTOP_BIN:-$here/target/release/exectop}
base=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
url="$base?options=-c%20search_path%3Dshared_bench"
port=${BENCH_SIM_PORT:-8797}
work=$(mktemp -d /tmp/exectop-shared.XXXXXX)
prefix=exectop-shared-$$
cleanup() {
  for s in $(tmux ls -F '#S' 2>/dev/null | grep "^$prefix" || true); do tmux kill-session -t "$s"; done
  [ -n "${agent_pid:-}" ] && kill "$agent_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

psql "$base" -qc "DROP SCHEMA IF EXISTS shared_bench CASCADE; CREATE SCHEMA shared_bench" 2>/dev/null
tmux new -d -s "$prefix-sim" -x 200 -y 50 \
  "$bin simulate --db '$url' --listen 127.0.0.1:$port --rate 0 --steady $steady --no-history \
   --api-slow-rate 0 --api-throttle-rate 0 --api-error-rate 0 --api-malformed-rate 0 > $work/sim.out 2>&1"
for _ in $(seq 1 60); do grep -q '^\[database\]' "$work/sim.out" 2>/dev/null && break; sleep 0.5; done
sed -n '/^\[database\]/,$p' "$work/sim.out" > "$work/exectop.toml"
"$bin" --config "$work/exectop.toml" migrate >/dev/null
requests() { curl -s "127.0.0.1:$port/_sim/stats" | sed -E 's/.*"requests":([0-9]+).*/\1/'; }

monitor() { # monitor N: a live monitor in tmux session $prefix-N
  tmux new -d -s "$prefix-$1" -x 160 -y 30 "$bin --config $work/exectop.toml"
}
measure() { # requests the remote gets over WINDOW seconds, after a settling pause
  sleep 10
  local before after
  before=$(requests); sleep "$window"; after=$(requests)
  echo $(( after - before ))
}

monitor 1
one=$(measure)
echo "1 instance: $one requests in ${window}s"

if "$bin" agent --help >/dev/null 2>&1; then
  "$bin" --config "$work/exectop.toml" agent --listen 127.0.0.1:0 > "$work/agent.log" 2>&1 &
  agent_pid=$!
  others="the agent and 7 monitors"
else
  monitor 8
  others="8 monitors"
fi
for n in 2 3 4 5 6 7; do monitor "$n"; done
eight=$(measure)
echo "8 instances ($others): $eight requests in ${window}s"
awk -v a="$eight" -v b="$one" 'BEGIN { printf "ratio: %.2f (target <= 1.10)\n", (b > 0 ? a / b : 0) }'

poller_session() {
  for s in $(tmux ls -F '#S' | grep "^$prefix-[0-9]"); do
    tmux capture-pane -p -t "$s" | head -1 | grep -q 'remote direct' && { echo "$s"; return; }
  done
}
victim=$(poller_session)
if [ -z "$victim" ]; then
  echo "the poller is not a monitor (the agent polls): killing the agent"
  kill -9 "$agent_pid"; agent_pid=
else
  pid=$(tmux list-panes -t "$victim" -F '#{pane_pid}')
  kill -9 "$(pgrep -P "$pid" -f exectop || echo "$pid")"
  tmux kill-session -t "$victim" 2>/dev/null || true   # gone with its process
fi
start=$(date +%s%N)
while [ -z "$(poller_session)" ]; do
  sleep 0.2
  [ $(( ($(date +%s%N) - start) / 1000000000 )) -lt 60 ] || { echo "no takeover within 60 s"; exit 1; }
done
echo "takeover: $(( ($(date +%s%N) - start) / 1000000 )) ms after kill -9 of the poller"
