-- SQLite cannot use the partial index of 0001 for the active-set read: the
-- poll binds the status spellings as parameters, and the planner cannot
-- prove a bound value matches the index's WHERE. A plain index on status
-- serves it. (PostgreSQL plans the statement with the values it is given, so
-- the partial index of 0001 serves there.)
CREATE INDEX IF NOT EXISTS exectop_executions_status ON exectop_executions (status);
DROP INDEX IF EXISTS exectop_executions_active;
-- The count of rows whose status no mapping covers reads the last 24 h of
-- rows by creation time.
CREATE INDEX IF NOT EXISTS exectop_executions_created_at ON exectop_executions (created_at);
