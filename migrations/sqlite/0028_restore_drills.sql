-- Restore drills (issue 14, part 3): a backup policy's data restored somewhere as a test,
-- with how long it took (RTO) and the restore point it reached (RPO); and the evidence
-- files of drills and of runs recorded by hand, stored under the data directory.
CREATE TABLE restore_drills (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    policy_id BIGINT NOT NULL REFERENCES backup_policies(id),
    -- When the drill started.
    drilled_at BIGINT NOT NULL,
    -- What was restored (data set, tables, directories).
    scope TEXT NOT NULL,
    -- Where it was restored to.
    target TEXT NOT NULL,
    -- How long the restore took (RTO achieved).
    duration_seconds BIGINT,
    -- The time of the restored data (RPO = drilled_at - data_point).
    data_point BIGINT,
    -- passed, partial or failed.
    result TEXT NOT NULL,
    verifier TEXT,
    verifier_user_id BIGINT,
    note TEXT,
    created_by BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX restore_drills_policy ON restore_drills(policy_id, drilled_at);
CREATE INDEX restore_drills_drilled ON restore_drills(drilled_at);

-- A file belongs to one drill or to one run.
CREATE TABLE backup_evidence_files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    drill_id BIGINT REFERENCES restore_drills(id),
    run_id BIGINT REFERENCES backup_runs(id),
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    stored_path TEXT NOT NULL,
    uploaded_by BIGINT,
    uploaded_by_name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX backup_evidence_files_drill ON backup_evidence_files(drill_id);
CREATE INDEX backup_evidence_files_run ON backup_evidence_files(run_id);
