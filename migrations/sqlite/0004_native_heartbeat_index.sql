-- A quiet poll reads the active rows whose heartbeat moved since the last
-- one: this index reads only the rows that beat, not every active row.
CREATE INDEX IF NOT EXISTS exectop_executions_heartbeat ON exectop_executions (heartbeat_at);
