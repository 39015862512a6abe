-- The count of rows whose status no mapping covers reads the last 24 h of
-- rows by creation time.
CREATE INDEX IF NOT EXISTS exectop_executions_created_at ON exectop_executions (created_at);
