-- Backup oversight (issue 14): what each system's data sets are backed up by (policies,
-- with a secret report URL whose token is stored hashed), and the runs reported by the
-- jobs through that URL or recorded by hand.
CREATE TABLE backup_policies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    system_id BIGINT NOT NULL,
    data_set TEXT NOT NULL,
    description TEXT,
    -- database, files or both.
    scope TEXT NOT NULL,
    -- full, incremental or log.
    method TEXT NOT NULL,
    -- Five-field cron in Beijing time.
    schedule TEXT NOT NULL,
    grace_minutes BIGINT NOT NULL,
    retention_days BIGINT NOT NULL,
    -- local or offsite, with where.
    target TEXT NOT NULL,
    location TEXT,
    encrypted BIGINT NOT NULL DEFAULT 0,
    -- The expected size of a good run, in bytes.
    expected_min_bytes BIGINT,
    expected_max_bytes BIGINT,
    checksum_required BIGINT NOT NULL DEFAULT 0,
    -- A run smaller than the last good one by more than this percentage is flagged.
    shrink_percent BIGINT NOT NULL DEFAULT 30,
    -- none, monthly, quarterly, half_yearly or yearly.
    drill_cadence TEXT NOT NULL,
    note TEXT,
    -- SHA-256 (hex) of the report URL's token; the token is shown once.
    token_hash TEXT NOT NULL,
    created_by BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX backup_policies_data_set ON backup_policies(system_id, data_set);
CREATE UNIQUE INDEX backup_policies_token ON backup_policies(token_hash);

CREATE TABLE backup_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    policy_id BIGINT NOT NULL REFERENCES backup_policies(id),
    -- running, success or fail.
    status TEXT NOT NULL,
    -- report (through the policy's URL) or manual.
    source TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT,
    size_bytes BIGINT,
    duration_seconds DOUBLE PRECISION,
    checksum TEXT,
    location TEXT,
    log_tail TEXT,
    note TEXT,
    attachment_id BIGINT,
    created_by BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX backup_runs_policy ON backup_runs(policy_id, started_at);
CREATE INDEX backup_runs_started ON backup_runs(started_at);
