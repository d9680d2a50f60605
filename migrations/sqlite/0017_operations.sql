-- Operations services (系统业务运营服务): the contract's service lines and the daily work
-- records of the operations staff, from which the support tables, statistics and monthly
-- reports are generated.
CREATE TABLE service_lines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    -- The platform served, as the contract names it.
    platform TEXT,
    description TEXT,
    -- JSON arrays: the named deliverables, the inventory systems served, the record types
    -- the line keeps, and the users (operations staff) who write its records.
    deliverables TEXT NOT NULL DEFAULT '[]',
    system_ids TEXT NOT NULL DEFAULT '[]',
    record_types TEXT NOT NULL DEFAULT '[]',
    staff_ids TEXT NOT NULL DEFAULT '[]',
    -- monthly or quarterly: how often the line's statistics are due.
    report_cadence TEXT NOT NULL DEFAULT 'monthly',
    -- Minutes within which a support request counts as handled in the agreed time.
    handle_minutes BIGINT NOT NULL DEFAULT 240,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE work_records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    line_id BIGINT NOT NULL REFERENCES service_lines(id),
    type TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    duration_minutes BIGINT,
    requester TEXT,
    organisation TEXT,
    org_level TEXT,
    channel TEXT,
    summary TEXT NOT NULL,
    answer TEXT,
    result TEXT,
    system_id BIGINT,
    ticket_id BIGINT,
    -- The type's own fields (counts, accounts, interfaces …), as JSON.
    data TEXT NOT NULL DEFAULT '{}',
    operator_id BIGINT NOT NULL,
    -- manual, import, or ticket (made when a consultation ticket was resolved).
    origin TEXT NOT NULL DEFAULT 'manual',
    rating TEXT,
    rating_comment TEXT,
    confirmed_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX work_records_line_time ON work_records(line_id, occurred_at);
CREATE INDEX work_records_time ON work_records(occurred_at);
CREATE INDEX work_records_operator ON work_records(operator_id, occurred_at);
-- A consultation ticket becomes one support record, once.
CREATE UNIQUE INDEX work_records_from_ticket ON work_records(ticket_id) WHERE origin = 'ticket';
