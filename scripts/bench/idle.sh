#!/usr/bin/env bash
# The idle wall terminal (docs/PERFORMANCE.md, measurement 4): exectop's TUI,
# `watch -n 5 psql -c '<the active-executions query>'` and pg_activity, each
# in its own 160x48 tmux session on the same quiet PostgreSQL database with
# a 5 s refresh, side by side for SECONDS (default 300). For each: the CPU
# seconds it used (user + system, its children included, from
# /usr/bin/time) and the bytes it wrote to its terminal (tmux pipe-pane).
#
#   scripts/bench/idle.sh [SECONDS] [SCHEMA]     # defaults: 300 bench_10k
#
# SCHEMA must hold exectop's native table: seed it with
# `scripts/bench/seed_pg.sh bench_10k 10000 10000`. Connects with
# $BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test).
# Installs what it needs when missing: tmux, watch, time, psql (apt-get),
# pg_activity (pip). Needs a release build.
set -euo pipefail
seconds=${1:-300}
schema=${2:-bench_10k}
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=${EXECTOP_BIN:-$here/target/release/exectop}
base=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
url="${base}?options=-c%20search_path%3D${schema}"
for tool in tmux watch /usr/bin/time psql; do
  command -v "$tool" >/dev/null || {
    apt-get update -qq && apt-get install -y -qq tmux procps time postgresql-client >/dev/null
  }
done
command -v pg_activity >/dev/null || pip install -q pg_activity 'psycopg[binary]'

work=$(mktemp -d /tmp/exectop-idle.XXXXXX)
sessions=()
cleanup() {
  for s in "${sessions[@]}"; do tmux kill-session -t "$s" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
printf '[database]\nurl = "%s"\n[ui]\nrefresh = "5s"\nread_only = true\n' "$url" > "$work/exectop.toml"
query="SELECT id, name, group_name, status, remote_id, created_at, updated_at FROM exectop_executions WHERE status IN ('pending', 'running') ORDER BY created_at"
# Each command waits a second so pipe-pane is attached before its first frame.
# A TUI must stay in the terminal's foreground process group (hence
# `timeout --foreground`), or it is stopped the moment it touches the tty.
# libpq-style connection parameters for psql and pg_activity.
eval "$(python3 - "$base" <<'PY'
import sys, urllib.parse as u
p = u.urlparse(sys.argv[1])
print(f"pghost={p.hostname or '127.0.0.1'} pgport={p.port or 5432} pguser={p.username or 'postgres'} pgdb={(p.path or '/test')[1:]}")
PY
)"
printf '%s\n' "SET search_path = $schema;" "$query;" > "$work/active.sql"

run() { # name, command
  local name=$1 cmd=$2 session=exectop-idle-$1-$$
  sessions+=("$session")
  tmux new-session -d -s "$session" -x 160 -y 48 -e "XDG_STATE_HOME=$work/state" -e "PGOPTIONS=" \
    "sleep 1; /usr/bin/time -f '%U %S' -o $work/$name.cpu timeout --foreground -s TERM $seconds $cmd; sleep 600"
  tmux pipe-pane -o -t "$session" "cat > $work/$name.bytes"
}
tmux start-server
tmux set-option -s escape-time 0 2>/dev/null || true
run exectop "$bin --config $work/exectop.toml"
run watch-psql "watch -n 5 psql -X -h $pghost -p $pgport -U $pguser -d $pgdb -f $work/active.sql"
run pg_activity "pg_activity -h $pghost -p $pgport -U $pguser -d $pgdb --refresh 5"

sleep $((seconds + 3))
printf '%-12s %12s %16s\n' tool "CPU seconds" "bytes to terminal"
for name in exectop watch-psql pg_activity; do
  for _ in $(seq 1 20); do [ -s "$work/$name.cpu" ] && break; sleep 0.5; done
  # The last line: `time` notes timeout's exit status on a line before it.
  cpu=$(tail -n1 "$work/$name.cpu" 2>/dev/null | awk '{printf "%.2f", $1 + $2}')
  bytes=$(stat -c %s "$work/$name.bytes" 2>/dev/null || echo '?')
  printf '%-12s %12s %16s\n' "$name" "$cpu" "$bytes"
done
