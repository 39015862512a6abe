-- One remote poller for every exectop instance watching a table through a
-- tracker (a scope): the instance holding the scope's advisory lock asks the
-- remote and writes what it answered here; the others read it and ask nothing.
CREATE TABLE IF NOT EXISTS exectop_remote_observations (
    seq           BIGSERIAL   PRIMARY KEY,
    scope         TEXT        NOT NULL,
    -- lookup: one answer of a round; list_begin, list_page, list_done, list_failed: a listing
    kind          TEXT        NOT NULL,
    round         BIGINT      NOT NULL,
    execution_id  TEXT,
    body          JSONB       NOT NULL,
    written_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS exectop_remote_observations_scope
    ON exectop_remote_observations (scope, seq);
CREATE INDEX IF NOT EXISTS exectop_remote_observations_written
    ON exectop_remote_observations (written_at);
-- Who polls each scope now, since when, its last beat and the tracker's health.
CREATE TABLE IF NOT EXISTS exectop_remote_pollers (
    scope    TEXT        PRIMARY KEY,
    holder   TEXT        NOT NULL,
    since    TIMESTAMPTZ NOT NULL,
    beat_at  TIMESTAMPTZ NOT NULL,
    health   JSONB
);
