-- A quiet poll reads the active rows whose heartbeat moved since the last
-- one. Through the active-set index it visited every active row in the
-- heap, scattered over a long history (3 ms at 10 000 active among 10 M
-- rows); this index reads only the rows that beat.
CREATE INDEX IF NOT EXISTS exectop_executions_active_heartbeat
    ON exectop_executions (heartbeat_at) WHERE status IN ('pending', 'running');
