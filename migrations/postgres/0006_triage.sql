-- Shared triage of findings: who claimed, acknowledged, snoozed or noted a
-- finding, keyed by the watched table, the execution (or remote:<id>) and
-- the finding's kind. exectop never writes the operator's executions table
-- for it; every change is also in exectop_audit.
CREATE TABLE IF NOT EXISTS exectop_triage (
    table_name     TEXT        NOT NULL,
    subject        TEXT        NOT NULL,
    kind           TEXT        NOT NULL,
    claimed_by     TEXT,
    claimed_at     TIMESTAMPTZ,
    acked_by       TEXT,
    acked_at       TIMESTAMPTZ,
    acked_note     TEXT,
    snoozed_by     TEXT,
    snoozed_at     TIMESTAMPTZ,
    snoozed_until  TIMESTAMPTZ,
    noted_by       TEXT,
    noted_at       TIMESTAMPTZ,
    note           TEXT,
    severity       INTEGER,
    PRIMARY KEY (table_name, subject, kind)
);
