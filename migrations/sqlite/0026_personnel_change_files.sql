-- Files attached to a personnel change (the written request, CVs, certificates), stored
-- under the data directory.
CREATE TABLE personnel_change_files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    change_id BIGINT NOT NULL REFERENCES personnel_changes(id) ON DELETE CASCADE,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    stored_path TEXT NOT NULL,
    uploaded_by BIGINT,
    uploaded_by_name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX personnel_change_files_change ON personnel_change_files(change_id);
