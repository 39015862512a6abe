-- Every write exectop makes is recorded here in the same transaction.
CREATE TABLE IF NOT EXISTS exectop_audit (
    id            BIGSERIAL PRIMARY KEY,
    at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    operator      TEXT        NOT NULL,
    host          TEXT        NOT NULL,
    action        TEXT        NOT NULL,
    table_name    TEXT        NOT NULL,
    execution_id  TEXT        NOT NULL,
    before_status TEXT,
    after_status  TEXT,
    reason        TEXT,
    remote_status TEXT,
    details       TEXT
);
CREATE INDEX IF NOT EXISTS exectop_audit_at ON exectop_audit (at);
CREATE INDEX IF NOT EXISTS exectop_audit_execution ON exectop_audit (table_name, execution_id);
-- One bulk action at a time across exectop instances (PostgreSQL also takes an advisory lock).
CREATE TABLE IF NOT EXISTS exectop_leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT        NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
