-- Requirements and improvements (需求和功能改进清单): what users, inspections, problem
-- tickets and the supervisor ask of the systems, through analysis, approval, scheduling,
-- development and delivery to verification (or rejection).
CREATE TABLE requirements (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The inventory system and the service line concerned, when known.
    system_id BIGINT,
    line_id BIGINT REFERENCES service_lines(id),
    -- user, inspection, problem_ticket or supervisor.
    source TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT,
    -- high, medium or low.
    priority TEXT NOT NULL,
    status TEXT NOT NULL,
    proposer_name TEXT,
    proposer_org TEXT,
    -- YYYY-MM-DD.
    planned_date TEXT,
    -- JSON array of the linked change tickets' ids.
    ticket_ids TEXT NOT NULL DEFAULT '[]',
    -- JSON array of the status changes: {from, to, reason, at, by}.
    history TEXT NOT NULL DEFAULT '[]',
    created_by BIGINT NOT NULL,
    -- When the status last changed.
    status_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX requirements_status ON requirements(status, created_at);
CREATE INDEX requirements_line ON requirements(line_id, created_at);
CREATE INDEX requirements_system ON requirements(system_id, created_at);
CREATE INDEX requirements_creator ON requirements(created_by, created_at);
