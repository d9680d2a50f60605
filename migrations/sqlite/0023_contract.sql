-- Contract and deliverables (issue 13, items 1-2): the contract record (one row, its
-- parties, periods, budget lines, payment milestones and quality targets as JSON), the
-- register of deliverables the contract names, the instances that have a version or a
-- review, their versions (files under the data directory) and the overdue alerts sent.
CREATE TABLE contract_record (
    id BIGINT PRIMARY KEY,
    -- JSON: domain::contract::ContractRecord.
    body TEXT NOT NULL,
    updated_by BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE TABLE deliverables (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The seed's section, e.g. 4.1.1 or 4.2.14.1.
    section TEXT NOT NULL,
    name TEXT NOT NULL,
    -- infrastructure, systems or operations.
    area TEXT NOT NULL,
    line_id BIGINT REFERENCES service_lines(id),
    -- once, monthly, quarterly, yearly, per_event or at_acceptance.
    cadence TEXT NOT NULL,
    -- period_end or period_start; days after it; 1 = working days on the working calendar.
    due_anchor TEXT NOT NULL,
    due_days BIGINT NOT NULL,
    due_working BIGINT NOT NULL,
    -- The report kind that generates it; NULL: uploaded.
    report_kind TEXT,
    -- The template outline of an authored document.
    outline TEXT,
    note TEXT,
    sort_order BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX deliverables_section ON deliverables(sort_order, id);
CREATE TABLE deliverable_instances (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    deliverable_id BIGINT NOT NULL REFERENCES deliverables(id) ON DELETE CASCADE,
    -- 2024-09 (month), 2024-Q4 (quarter), year, once, acceptance, or an event's date.
    period_key TEXT NOT NULL,
    -- submitted, accepted or returned.
    status TEXT NOT NULL,
    -- JSON array: {action, by, by_name, at, comment, version}.
    history TEXT NOT NULL DEFAULT '[]',
    updated_at BIGINT NOT NULL,
    UNIQUE (deliverable_id, period_key)
);
CREATE TABLE deliverable_versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id BIGINT NOT NULL REFERENCES deliverable_instances(id) ON DELETE CASCADE,
    number BIGINT NOT NULL,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    stored_path TEXT NOT NULL,
    -- The report it was generated as, when generated.
    report_id BIGINT,
    submitted_by BIGINT NOT NULL,
    submitted_by_name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (instance_id, number)
);
CREATE TABLE deliverable_alerts (
    deliverable_id BIGINT NOT NULL REFERENCES deliverables(id) ON DELETE CASCADE,
    period_key TEXT NOT NULL,
    alerted_at BIGINT NOT NULL,
    PRIMARY KEY (deliverable_id, period_key)
);
