-- exectop's own executions table, for greenfield users and the demo.
-- Timestamps are UTC ISO-8601 text, 'YYYY-MM-DDTHH:MM:SS.fffZ', so text order is time order.
CREATE TABLE IF NOT EXISTS exectop_executions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    remote_id     TEXT,
    name          TEXT,
    group_name    TEXT,
    status        TEXT    NOT NULL,
    created_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    started_at    TEXT,
    updated_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    completed_at  TEXT,
    heartbeat_at  TEXT,
    error         TEXT,
    error_count   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS exectop_executions_active
    ON exectop_executions (status) WHERE status IN ('pending', 'running');
CREATE INDEX IF NOT EXISTS exectop_executions_updated_at ON exectop_executions (updated_at);
CREATE INDEX IF NOT EXISTS exectop_executions_completed_at ON exectop_executions (completed_at);
CREATE INDEX IF NOT EXISTS exectop_executions_remote_id ON exectop_executions (remote_id);
