#!/usr/bin/env bash
# Seeds a PostgreSQL schema with exectop's native table for the benchmarks:
# ACTIVE active executions and FINISHED finished ones spread over SPREAD
# (default 30 days), using generate_series so a million rows take seconds.
#
#   scripts/bench/seed_pg.sh SCHEMA ACTIVE FINISHED [SPREAD]
#   e.g. scripts/bench/seed_pg.sh bench_1m 10000 1000000
#        scripts/bench/seed_pg.sh busy_day 10000 2000000 '23 hours'   # a busy day
#
# Connects with $BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test).
set -euo pipefail
schema=${1:?schema name}
active=${2:?number of active executions}
finished=${3:?number of finished executions}
spread=${4:-30 days}
url=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
here=$(cd "$(dirname "$0")/../.." && pwd)

psql "$url" -v ON_ERROR_STOP=1 -q <<SQL
DROP SCHEMA IF EXISTS "$schema" CASCADE;
CREATE SCHEMA "$schema";
SET search_path = "$schema";
\i $here/migrations/postgres/0001_native_executions.sql
\i $here/migrations/postgres/0002_audit.sql
\i $here/migrations/postgres/0003_native_poll_indexes.sql
\i $here/migrations/postgres/0004_native_heartbeat_index.sql
INSERT INTO exectop_executions
    (remote_id, name, group_name, status, created_at, started_at, updated_at, completed_at, error)
SELECT 'r-done-' || g,
       'job-' || (g % 200),
       'group-' || (g % 17),
       CASE WHEN g % 20 = 0 THEN 'failed' WHEN g % 97 = 0 THEN 'timed_out'
            WHEN g % 50 = 0 THEN 'cancelled' ELSE 'succeeded' END,
       t - interval '10 minutes', t - interval '9 minutes', t, t,
       CASE WHEN g % 20 = 0 THEN 'query syntax error near line ' || (g % 9) END
FROM generate_series(1, $finished) AS g,
     LATERAL (SELECT now() - (g::double precision / $finished) * interval '$spread') AS x(t);
INSERT INTO exectop_executions
    (remote_id, name, group_name, status, created_at, started_at, updated_at, heartbeat_at)
SELECT CASE WHEN g % 101 = 0 THEN NULL ELSE 'r-active-' || g END,
       'job-' || (g % 200),
       'group-' || (g % 17),
       CASE WHEN g % 10 = 0 THEN 'pending' ELSE 'running' END,
       now() - (g % 7200) * interval '1 second',
       now() - (g % 7200) * interval '1 second',
       now() - (g % 7200) * interval '1 second',
       now() - (g % 60) * interval '1 second'
FROM generate_series(1, $active) AS g;
ANALYZE exectop_executions;
SQL
echo "seeded schema $schema: $active active, $finished finished"
echo "use: postgres URL ${url}?options=-c%20search_path%3D$schema"
