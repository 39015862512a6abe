-- exectop's own executions table, for greenfield users and the demo.
CREATE TABLE IF NOT EXISTS exectop_executions (
    id            BIGSERIAL PRIMARY KEY,
    remote_id     TEXT,
    name          TEXT,
    group_name    TEXT,
    status        TEXT        NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at    TIMESTAMPTZ,
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    completed_at  TIMESTAMPTZ,
    heartbeat_at  TIMESTAMPTZ,
    error         TEXT,
    error_count   INTEGER     NOT NULL DEFAULT 0
);
-- The poll reads the active set through this partial index, so its cost
-- follows the number of active rows, not the size of the history.
CREATE INDEX IF NOT EXISTS exectop_executions_active
    ON exectop_executions (status) WHERE status IN ('pending', 'running');
-- Rows changed since the last poll, and the 24 h error-rate window.
CREATE INDEX IF NOT EXISTS exectop_executions_updated_at ON exectop_executions (updated_at);
CREATE INDEX IF NOT EXISTS exectop_executions_completed_at ON exectop_executions (completed_at);
CREATE INDEX IF NOT EXISTS exectop_executions_remote_id ON exectop_executions (remote_id);
