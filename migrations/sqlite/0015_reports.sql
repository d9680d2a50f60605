-- Generated documents (报告): what was asked for, when, and the file itself, so that a
-- report once delivered can be downloaded again exactly as it was.
CREATE TABLE reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    period_label TEXT NOT NULL,
    period_from BIGINT NOT NULL,
    period_to BIGINT NOT NULL,
    format TEXT NOT NULL,
    params TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL,
    file_name TEXT NOT NULL,
    content BLOB NOT NULL,
    size BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX reports_kind_period ON reports(kind, period_from);
