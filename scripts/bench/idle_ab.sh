#!/usr/bin/env bash
# Several exectop builds idle side by side (docs/PERFORMANCE.md §4): each in
# its own 160x48 tmux session on the same quiet database with a 5 s refresh,
# for SECONDS, so the machine's noise falls on all of them alike. Prints each
# build's CPU seconds (user + system, /usr/bin/time) and the bytes it wrote to
# its terminal (tmux pipe-pane).
#
#   scripts/bench/idle_ab.sh SECONDS SCHEMA NAME=BINARY[,ARG...] [NAME=BINARY[,ARG...]...]
#
# Arguments after a comma go to that build: `wall=target/release/exectop,--wall`
# idles the wall screen beside `monitor=target/release/exectop`.
# e.g. `scripts/bench/idle_ab.sh 180 bench_10k before=/tmp/exectop-old
# after=target/release/exectop`. SCHEMA is seeded by seed_pg.sh; connects with
# $BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test).
set -euo pipefail
[ $# -ge 3 ] || { sed -n '2,15p' "$0"; exit 2; }
seconds=$1 schema=$2
shift 2
base=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
work=$(mktemp -d /tmp/exectop-idle-ab.XXXXXX)
sessions=()
cleanup() {
  for s in "${sessions[@]}"; do tmux kill-session -t "$s" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
printf '[database]\nurl = "%s?options=-c%%20search_path%%3D%s"\n[ui]\nrefresh = "5s"\nread_only = true\n' \
  "$base" "$schema" > "$work/exectop.toml"
tmux start-server
tmux set-option -s escape-time 0 2>/dev/null || true
for pair in "$@"; do
  spec=${pair#*=}
  name=${pair%%=*} bin=$(realpath "${spec%%,*}") session=exectop-ab-${pair%%=*}-$$
  args=
  [ "$spec" != "${spec#*,}" ] && args=$(echo "${spec#*,}" | tr , ' ')
  sessions+=("$session")
  # As idle.sh: a second for pipe-pane to attach; the TUI in the foreground group.
  tmux new-session -d -s "$session" -x 160 -y 48 -e "XDG_STATE_HOME=$work/state-$name" \
    "sleep 1; /usr/bin/time -f '%U %S' -o $work/$name.cpu timeout --foreground -s TERM $seconds $bin $args --config $work/exectop.toml; sleep 600"
  tmux pipe-pane -o -t "$session" "cat > $work/$name.bytes"
done
sleep $((seconds + 3))
printf '%-12s %12s %16s\n' build "CPU seconds" "bytes to terminal"
for pair in "$@"; do
  name=${pair%%=*}
  for _ in $(seq 1 20); do [ -s "$work/$name.cpu" ] && break; sleep 0.5; done
  cpu=$(tail -n1 "$work/$name.cpu" 2>/dev/null | awk '{printf "%.2f", $1 + $2}')
  printf '%-12s %12s %16s\n' "$name" "$cpu" "$(stat -c %s "$work/$name.bytes" 2>/dev/null || echo '?')"
done
